#!/usr/bin/env python3
"""expected.py -- the reporter's answers, worked out independently.

    tests/data/reporter/expected.py DIR            writes DIR/expected.json
    tests/data/reporter/expected.py DIR --check    compares, exit 1 on change

Reads DIR/events.jsonl (inbound CloudEvents lines, as billing publishes
them), DIR/contacts.jsonl (contact outcomes) and DIR/at.txt (the report
date) and computes, straight from the definitions in docs/reports.md, the
aging, kpis and effectiveness reports of every tenant as of the end of that
day. It shares no code with the C reporter: amounts are exact (Decimal ->
integer minor units), ratios are exact (Fraction) and rounded half away
from zero to 2 decimals only at the end. The output has the shape of the
published reports (without v/generated_at), so a test checks that every
value here appears, equal, in what the reporter publishes.
"""
import datetime as dt
import json
import math
import sys
from decimal import Decimal
from fractions import Fraction

EXPONENT = {"EUR": 2, "USD": 2, "GBP": 2, "JPY": 0, "KWD": 3, "CHF": 2}
DAY_MS = 86400000
WINDOW_DAYS = 7


def day_of(s):  # "YYYY-MM-DD" -> date
    return dt.date.fromisoformat(s)


def instant(s):  # RFC 3339 -> aware datetime (UTC)
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(dt.timezone.utc)


def end_of(d):  # last millisecond of day d
    return dt.datetime(d.year, d.month, d.day, 23, 59, 59, 999000, tzinfo=dt.timezone.utc)


def minor(amount, cur):
    a = Decimal(str(amount))
    q = a.scaleb(EXPONENT[cur])
    if q != q.to_integral_value() or a < 0:
        raise ValueError("amount %s not exact in %s" % (amount, cur))
    return int(q)


def r2(x):
    """Round half away from zero to 2 decimals (x: Fraction or float)."""
    if x is None:
        return None
    if isinstance(x, float):
        x = Fraction(x)
    sign = -1 if x < 0 else 1
    v = abs(x) * 100
    n = math.floor(v)
    if v - n >= Fraction(1, 2):
        n += 1
    out = sign * n / 100
    return 0.0 if out == 0 else out


def ratio(num, den, scale=1):
    if den == 0:
        return None
    return r2(Fraction(num, 1) / Fraction(den, 1) * scale)


class Ledger:
    def __init__(self):
        self.seen = set()
        self.invoices = {}   # (tenant, id) -> dict
        self.payments = {}   # (tenant, id) -> dict
        self.promises = []   # dicts
        self.names = {}      # (tenant, customer) -> name
        self.seq = 0
        self.contacts = []
        self.contact_ids = set()

    def invoice(self, tenant, iid, cust):
        k = (tenant, iid)
        if k not in self.invoices:
            self.invoices[k] = dict(id=iid, tenant=tenant, cust=cust, known=False, amount=0,
                                    cur=None, issued=None, due=None, closed=None,
                                    allocs=[], credits=[], disputes=[], contacts=[])
        return self.invoices[k]

    def balance(self, inv, d):
        """Outstanding at the end of day d (d None = everything applied)."""
        if not inv["known"]:
            return 0
        if d is not None and (inv["issued"] > d or (inv["closed"] and inv["closed"] <= d)):
            return 0
        if d is None and inv["closed"]:
            return 0
        b = inv["amount"]
        for a in inv["allocs"]:
            p = self.payments[a["pay"]]
            if (d is None or p["day"] <= d) and (p["reversed"] is None or (d is not None and p["reversed"] > d)):
                b -= a["amount"]
        for day, amt, _ in inv["credits"]:
            if d is None or day <= d:
                b -= amt
        return max(b, 0)

    def live(self, pay, d):
        p = self.payments[pay]
        return p["day"] <= d and (p["reversed"] is None or p["reversed"] > d)

    def paid_day(self, inv, d):
        """Day the balance reached zero through a payment, on or before d."""
        if not inv["known"] or inv["amount"] <= 0:
            return None
        moves = [(a["day"], a["seq"], "pay", a["amount"]) for a in inv["allocs"] if self.live(a["pay"], d)]
        moves += [(day, seq, "credit", amt) for day, amt, seq in inv["credits"]]
        b = inv["amount"]
        for day, _, kind, amt in sorted(moves):
            if day > d or (inv["closed"] and day >= inv["closed"]):
                break
            b -= amt
            if b <= 0:
                return day if kind == "pay" else None
        return None

    def apply(self, ce):
        tenant = ce.get("tenant") or "default"
        key = (tenant, ce["source"], ce["id"])
        if key in self.seen:
            return
        self.seen.add(key)
        self.seq += 1
        t, data = ce["type"], ce["data"]
        when = instant(ce["time"])
        day = when.date()
        cust = data.get("customer_id")
        if t in ("invoice.issued", "invoice.updated"):
            inv = self.invoice(tenant, data["invoice_id"], cust)
            inv.update(known=True, cur=data["currency"], amount=minor(data["amount"], data["currency"]),
                       issued=day_of(data["issued_on"]), due=day_of(data["due_on"]))
        elif t in ("invoice.voided", "invoice.written_off"):
            inv = self.invoice(tenant, data["invoice_id"], cust)
            if not inv["closed"]:
                inv["closed"] = day
        elif t == "payment.received":
            pk = (tenant, data["payment_id"])
            if pk in self.payments:
                return
            cur = data["currency"]
            amount = minor(data["amount"], cur)
            pday = day_of(data["received_on"])
            at = instant(data["received_at"]) if data.get("received_at") else end_of(pday)
            self.payments[pk] = dict(day=pday, reversed=None, amount=amount, cur=cur, tenant=tenant, at=at,
                                     cust=cust)
            if "allocations" in data:
                allocs = [(a["invoice_id"], minor(a["amount"], cur)) for a in data["allocations"]]
            else:  # oldest due date first, over what is still open now
                open_ = [i for i in self.invoices.values()
                         if i["tenant"] == tenant and i["cust"] == cust and i["known"] and i["cur"] == cur
                         and self.balance(i, None) > 0]
                open_.sort(key=lambda i: (i["due"], i["issued"], i["id"]))
                left, allocs = amount, []
                for i in open_:
                    if left <= 0:
                        break
                    take = min(left, self.balance(i, None))
                    allocs.append((i["id"], take))
                    left -= take
            for iid, amt in allocs:
                self.invoice(tenant, iid, cust)["allocs"].append(
                    dict(pay=pk, amount=amt, day=pday, at=at, seq=self.seq))
        elif t == "payment.reversed":
            p = self.payments[(tenant, data["payment_id"])]
            if p["reversed"] is None:
                p["reversed"] = max(day, p["day"])
        elif t == "credit_note.issued":
            self.invoice(tenant, data["invoice_id"], cust)["credits"].append(
                (day, minor(data["amount"], data["currency"]), self.seq))
        elif t == "dispute.opened":
            self.invoice(tenant, data["invoice_id"], cust)["disputes"].append(day)
        elif t in ("promise.made", "promise.kept", "promise.broken"):
            ident = (tenant, cust, data["promised_on"], data["currency"], minor(data["amount"], data["currency"]))
            p = next((x for x in self.promises if x["ident"] == ident), None)
            if p is None:
                p = dict(ident=ident, tenant=tenant, cust=cust, cur=data["currency"],
                         amount=ident[4], promised_on=day_of(data["promised_on"]),
                         made=None, made_at=None, invoices=[], outcome=None, outcome_day=None)
                self.promises.append(p)
            if t == "promise.made":
                if p["made"] is None:
                    p.update(made=day, made_at=when, invoices=list(data.get("invoice_ids", [])))
            elif p["outcome"] is None:
                p.update(outcome="kept" if t == "promise.kept" else "broken", outcome_day=day)
        elif t == "customer.upserted":
            self.names[(tenant, cust)] = data.get("name")

    def apply_contact(self, c):
        k = (c["tenant"], c["id"])
        if k in self.contact_ids:
            return
        self.contact_ids.add(k)
        self.seq += 1
        rec = dict(at=instant(c["at"]), sent=c["type"] == "contact.sent", tenant=c["tenant"],
                   group=(c.get("strategy", ""), c.get("variant", ""), c.get("step", 0), c.get("channel", "")),
                   invoices=c.get("invoice_ids", []), seq=self.seq)
        self.contacts.append(rec)
        if rec["sent"]:
            for iid in rec["invoices"]:
                self.invoice(c["tenant"], iid, c.get("customer_id", ""))["contacts"].append(rec)

    def promise_status(self, p, d):
        """('kept'|'broken', day) or ('open', None) or (None, None)."""
        if p["outcome"] and p["outcome_day"] <= d:
            return p["outcome"], p["outcome_day"]
        if p["made"] is None or p["made"] > d:
            return None, None
        if p["promised_on"] >= d:
            return "open", None
        by_day = {}
        for inv in self.invoices.values():
            if inv["tenant"] != p["tenant"] or inv["cust"] != p["cust"] or inv["cur"] != p["cur"]:
                continue
            for a in inv["allocs"]:
                if p["made"] <= a["day"] <= p["promised_on"] and self.live(a["pay"], d):
                    by_day[a["day"]] = by_day.get(a["day"], 0) + a["amount"]
        total = 0
        for day in sorted(by_day):
            total += by_day[day]
            if total >= p["amount"]:
                return "kept", day
        return "broken", p["promised_on"] + dt.timedelta(days=1)


# docs/risk.md: the default policy (the reporter reads none)
RISK_WEIGHTS = {"late_share": 25, "avg_days_late": 15, "broken_promises": 15, "broken_plans": 10,
                "open_disputes": 5, "unusable_contacts": 5, "credit_use": 10,
                "days_since_payment": 10, "relationship_age": 5}
RISK_BANDS = [(75, "severe"), (50, "high"), (25, "medium"), (0, "low")]
RISK_LAST_N = 10


def half_up(x):
    return math.floor(Fraction(x) + Fraction(1, 2))


def ramp(weight, x, lo, hi):
    """weight x a fraction rising from 0 at lo to 1 at hi, half-up."""
    return half_up(weight * min(max(Fraction(x - lo, hi - lo), 0), 1))


def risk_band(L, tenant, cust, D, nbroken):
    """docs/risk.md "In the aging report": the customer's score as of D."""
    W = RISK_WEIGHTS
    mine = [i for i in L.invoices.values()
            if i["tenant"] == tenant and i["cust"] == cust and i["known"] and i["issued"] <= D]
    hist, disputes = [], 0
    for i in mine:
        bal = L.balance(i, D)
        if bal > 0 and any(day <= D for day in i["disputes"]):
            disputes += 1
        paid = L.paid_day(i, D)
        if paid is not None:  # paid in full through a payment
            hist.append((paid, i["id"], max((paid - i["due"]).days, 0)))
    hist.sort(key=lambda h: (-h[0].toordinal(), h[1]))  # latest paid first
    hist = hist[:RISK_LAST_N]
    lates = [h[2] for h in hist if h[2] > 0]
    share = half_up(Fraction(100 * len(lates), len(hist))) if hist else 0
    avg = half_up(Fraction(sum(lates), len(lates))) if lates else 0
    paid_days = [p["day"] for k, p in L.payments.items()
                 if p["tenant"] == tenant and p["cust"] == cust and L.live(k, D)]
    age = (D - min(i["issued"] for i in mine)).days
    since = (D - max(paid_days)).days if paid_days else age  # never paid: since first seen
    score = (ramp(W["late_share"], share, 0, 100)
             + ramp(W["avg_days_late"], avg, 0, 60)
             + ramp(W["broken_promises"], nbroken, 0, 3)
             + 0  # broken plans: unknown to the reporter
             + ramp(W["open_disputes"], disputes, 0, 2)
             + 0  # unusable contacts: unknown
             + 0  # credit limit: unknown
             + ramp(W["days_since_payment"], since, 30, 120)
             + ramp(W["relationship_age"], 365 - min(age, 365), 0, 365))
    return next(name for floor, name in RISK_BANDS if score >= floor)


def aging(L, tenant, D):
    invs = [i for i in L.invoices.values() if i["tenant"] == tenant and i["known"]]
    curs = sorted({i["cur"] for i in invs if L.balance(i, D) > 0})
    broken = {}
    for p in L.promises:
        if p["tenant"] == tenant and L.promise_status(p, D)[0] == "broken":
            broken[p["cust"]] = broken.get(p["cust"], 0) + 1
    out = []
    for cur in curs:
        names = ["current", "1-30", "31-60", "61-90", "91+"]
        b = {n: [0, 0] for n in names}
        per_cust = {}
        for i in invs:
            if i["cur"] != cur:
                continue
            bal = L.balance(i, D)
            if bal <= 0:
                continue
            dpd = (D - i["due"]).days
            name = "current" if dpd <= 0 else "1-30" if dpd <= 30 else "31-60" if dpd <= 60 else "61-90" if dpd <= 90 else "91+"
            b[name][0] += 1
            b[name][1] += bal
            if dpd > 0:
                c = per_cust.setdefault(i["cust"], [0, 0, 0])
                c[0] += bal
                c[1] += 1
                c[2] = max(c[2], dpd)
        top = sorted(per_cust.items(), key=lambda kv: (-kv[1][0], kv[0]))[:10]
        out.append({
            "currency": cur, "exponent": EXPONENT[cur],
            "buckets": [{"bucket": n, "count": b[n][0], "amount_minor": b[n][1]} for n in names],
            "total": {"count": sum(v[0] for v in b.values()), "amount_minor": sum(v[1] for v in b.values())},
            "overdue": {"count": sum(b[n][0] for n in names[1:]), "amount_minor": sum(b[n][1] for n in names[1:])},
            "top_overdue_customers": [
                {"customer_id": c, "name": L.names.get((tenant, c)), "overdue_minor": v[0],
                 "overdue_invoices": v[1], "max_days_past_due": v[2], "broken_promise": c in broken,
                 "risk_band": risk_band(L, tenant, c, D, broken.get(c, 0))} for c, v in top],
        })
    return {"type": "aging", "tenant": tenant, "as_of": D.isoformat(), "currencies": out}


def month_start(d, back):
    y, m = d.year, d.month - back
    while m <= 0:
        m += 12
        y -= 1
    return dt.date(y, m, 1)


def kpis_period(L, tenant, cur, start, D, name):
    invs = [i for i in L.invoices.values() if i["tenant"] == tenant and i["known"] and i["cur"] == cur]
    before = start - dt.timedelta(days=1)
    days = (D - start).days + 1
    invoiced = sum(i["amount"] for i in invs if start <= i["issued"] <= D)
    collected = 0
    for p in L.payments.values():
        if p["tenant"] != tenant or p["cur"] != cur:
            continue
        if start <= p["day"] <= D:
            collected += p["amount"]
        if p["reversed"] and start <= p["reversed"] <= D:
            collected -= p["amount"]
    beg = sum(L.balance(i, before) for i in invs)
    end = sum(L.balance(i, D) for i in invs)
    cur_ar = sum(L.balance(i, D) for i in invs if i["due"] >= D)
    base = recovered = 0
    for i in invs:
        if i["due"] < start:
            b, after = L.balance(i, before), before
        elif i["due"] < D:
            b, after = L.balance(i, i["due"]), i["due"]
        else:
            continue
        if b <= 0:
            continue
        base += b
        for a in i["allocs"]:
            if after < a["day"] <= D and L.live(a["pay"], D) and not (i["closed"] and a["day"] >= i["closed"]):
                recovered += a["amount"]
    late = sorted((L.paid_day(i, D) - i["due"]).days for i in invs
                  if L.paid_day(i, D) and start <= L.paid_day(i, D) and L.paid_day(i, D) > i["due"])
    if late:
        n = len(late)
        median = Fraction(late[n // 2]) if n % 2 else Fraction(late[n // 2 - 1] + late[n // 2], 2)
        p90 = late[math.ceil(0.9 * n) - 1]
        lp = {"count": n, "mean_days": r2(Fraction(sum(late), n)), "median_days": r2(median), "p90_days": r2(Fraction(p90))}
    else:
        lp = {"count": 0, "mean_days": None, "median_days": None, "p90_days": None}
    kept = broken = 0
    for p in L.promises:
        if p["tenant"] != tenant or p["cur"] != cur:
            continue
        s, day = L.promise_status(p, D)
        if s in ("kept", "broken") and start <= day <= D:
            kept += s == "kept"
            broken += s == "broken"
    disputed = sum(1 for i in invs if any(start <= x <= D for x in i["disputes"]))
    active = sum(1 for i in invs if i["issued"] <= D and (L.balance(i, before) > 0 or i["issued"] >= start))
    return {
        "period": name, "from": start.isoformat(), "to": D.isoformat(), "days": days,
        "invoiced_minor": invoiced, "collected_minor": collected,
        "beginning_ar_minor": beg, "ending_ar_minor": end, "ending_current_ar_minor": cur_ar,
        "ending_overdue_ar_minor": end - cur_ar,
        "dso_simple_days": ratio(end * days, invoiced), "best_possible_dso_days": ratio(cur_ar * days, invoiced),
        "add_days": ratio((end - cur_ar) * days, invoiced),
        "cei_percent": ratio(beg + invoiced - end, beg + invoiced - cur_ar, 100),
        "recovery_base_minor": base, "recovered_minor": recovered,
        "recovery_rate_percent": ratio(recovered, base, 100),
        "late_payments": lp,
        "promises": {"kept": kept, "broken": broken, "kept_rate_percent": ratio(kept, kept + broken, 100)},
        "disputes": {"disputed_invoices": disputed, "active_invoices": active,
                     "dispute_rate_percent": ratio(disputed, active, 100)},
    }


def countback(L, tenant, cur, D):
    invs = [i for i in L.invoices.values() if i["tenant"] == tenant and i["known"] and i["cur"] == cur]
    ar = sum(L.balance(i, D) for i in invs)
    if ar <= 0:
        return 0.0
    rem, dso = Fraction(ar), Fraction(0)
    for k in range(24):
        start = month_start(D, k)
        end = D if k == 0 else month_start(D, k - 1) - dt.timedelta(days=1)
        days = (end - start).days + 1
        sales = sum(i["amount"] for i in invs if start <= i["issued"] <= end)
        if rem > sales:
            rem -= sales
            dso += days
        else:
            dso += rem / sales * days
            return r2(dso)
    return r2(dso)


def kpis(L, tenant, D):
    month = D.replace(day=1)
    week = D - dt.timedelta(days=D.weekday())
    curs = set()
    for i in L.invoices.values():
        if i["tenant"] == tenant and i["known"] and (i["issued"] <= D or L.balance(i, month - dt.timedelta(days=1))):
            curs.add(i["cur"])
    for p in L.payments.values():
        if p["tenant"] == tenant and p["day"] <= D:
            curs.add(p["cur"])
    out = []
    for cur in sorted(curs):
        out.append({"currency": cur, "exponent": EXPONENT[cur], "dso_countback_days": countback(L, tenant, cur, D),
                    "periods": [kpis_period(L, tenant, cur, D, D, "day"),
                                kpis_period(L, tenant, cur, week, D, "week"),
                                kpis_period(L, tenant, cur, month, D, "month")]})
    return {"type": "kpis", "tenant": tenant, "as_of": D.isoformat(), "currencies": out}


def effectiveness(L, tenant, D):
    E = end_of(D)
    window = dt.timedelta(days=WINDOW_DAYS)
    contacts = [c for c in L.contacts if c["tenant"] == tenant and c["at"] <= E]
    groups = sorted({c["group"] for c in L.contacts if c["tenant"] == tenant})
    rows = {g: dict(sent=0, failed=0, contacted=set(), responded=set(), recovered={}) for g in groups}
    for c in contacts:
        rows[c["group"]]["sent" if c["sent"] else "failed"] += 1
    strategies = {}
    for inv in L.invoices.values():
        if inv["tenant"] != tenant:
            continue
        cs = sorted((c for c in inv["contacts"] if c["at"] <= E), key=lambda c: (c["at"], c["seq"]))
        if not cs:
            continue
        responses = [L.payments[a["pay"]]["at"] for a in inv["allocs"] if L.live(a["pay"], D)]
        responses += [p["made_at"] for p in L.promises
                      if p["tenant"] == tenant and p["made"] and p["made_at"] <= E and inv["id"] in p["invoices"]]
        for c in cs:
            r = rows[c["group"]]
            r["contacted"].add(inv["id"])
            limit = min(c["at"] + window, E)
            if any(c["at"] < x <= limit for x in responses):
                r["responded"].add(inv["id"])
        for a in inv["allocs"]:
            p = L.payments[a["pay"]]
            if not L.live(a["pay"], D) or a["day"] > D or p["at"] > E:
                continue
            before = [c for c in cs if c["at"] < p["at"]]
            if before:
                rec = rows[before[-1]["group"]]["recovered"]
                rec[p["cur"]] = rec.get(p["cur"], 0) + a["amount"]
        paid = L.paid_day(inv, D)
        firsts = {}
        for c in cs:
            firsts.setdefault(c["group"][0], c)
        for strat, c in firsts.items():
            v = strategies.setdefault(strat, {}).setdefault(c["group"][1], dict(n=0, paid=0))
            v["n"] += 1
            if paid is not None and paid >= c["at"].date():
                v["paid"] += 1
    out_rows = []
    for g in groups:
        r = rows[g]
        out_rows.append({"strategy": g[0], "variant": g[1], "step": g[2], "channel": g[3],
                         "sent": r["sent"], "failed": r["failed"],
                         "contacted_invoices": len(r["contacted"]), "responded_invoices": len(r["responded"]),
                         "response_rate_percent": ratio(len(r["responded"]), len(r["contacted"]), 100),
                         "recovered": [{"currency": k, "amount_minor": v} for k, v in sorted(r["recovered"].items()) if v]})
    exps = []
    for strat in sorted({g[0] for g in groups}):
        variants = sorted({g[1] for g in groups if g[0] == strat})
        base = "A" if "A" in variants else variants[0]
        vs, cmps = [], []
        for v in variants:
            acc = strategies.get(strat, {}).get(v, dict(n=0, paid=0))
            rec = {}
            for g in groups:
                if g[0] == strat and g[1] == v:
                    for k, x in rows[g]["recovered"].items():
                        rec[k] = rec.get(k, 0) + x
            vs.append({"variant": v, "invoices": acc["n"], "paid_invoices": acc["paid"],
                       "recovery_rate_percent": ratio(acc["paid"], acc["n"], 100),
                       "recovered": [{"currency": k, "amount_minor": x} for k, x in sorted(rec.items()) if x]})
        b = strategies.get(strat, {}).get(base, dict(n=0, paid=0))
        for v in variants:
            if v == base:
                continue
            a = strategies.get(strat, {}).get(v, dict(n=0, paid=0))
            if a["n"] and b["n"]:
                p1, p0 = a["paid"] / a["n"], b["paid"] / b["n"]
                se = math.sqrt(p1 * (1 - p1) / a["n"] + p0 * (1 - p0) / b["n"])
                diff = Fraction(a["paid"], a["n"]) - Fraction(b["paid"], b["n"])
                cmps.append({"variant": v, "baseline": base, "difference_points": r2(diff * 100),
                             "ci95_low_points": r2((float(diff) - 1.96 * se) * 100),
                             "ci95_high_points": r2((float(diff) + 1.96 * se) * 100)})
            else:
                cmps.append({"variant": v, "baseline": base, "difference_points": None,
                             "ci95_low_points": None, "ci95_high_points": None})
        exps.append({"strategy": strat, "baseline": base, "variants": vs, "comparisons": cmps})
    return {"type": "effectiveness", "tenant": tenant, "as_of": D.isoformat(),
            "response_window_days": WINDOW_DAYS, "rows": out_rows, "experiments": exps}


def main():
    d = sys.argv[1]
    L = Ledger()
    with open(d + "/events.jsonl") as f:
        for line in f:
            if not line.strip():
                continue
            ce = json.loads(line)
            try:
                for a in [ce["data"].get("amount")] + [x.get("amount") for x in ce["data"].get("allocations", [])]:
                    if a is not None:
                        minor(a, ce["data"]["currency"])
            except ValueError:
                continue  # rejected line (the reporter must skip it too)
            L.apply(ce)
    try:
        with open(d + "/contacts.jsonl") as f:
            for line in f:
                if line.strip():
                    L.apply_contact(json.loads(line))
    except FileNotFoundError:
        pass
    D = day_of(open(d + "/at.txt").read().strip())
    tenants = sorted({i["tenant"] for i in L.invoices.values()} | {c["tenant"] for c in L.contacts})
    out = {"as_of": D.isoformat(),
           "reports": [r for t in tenants for r in (aging(L, t, D), kpis(L, t, D), effectiveness(L, t, D))]}
    text = json.dumps(out, indent=1, sort_keys=False) + "\n"
    if "--check" in sys.argv:
        old = open(d + "/expected.json").read()
        if old != text:
            print("expected.json is out of date", file=sys.stderr)
            sys.exit(1)
        return
    with open(d + "/expected.json", "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
