#!/usr/bin/env python3
"""gen.py -- writes ledger2: a seeded random ledger (two tenants, EUR, USD,
JPY and KWD, ~400 invoices, payments with and without allocations, partial,
over- and early payments, reversals, credit notes, voids, write-offs,
disputes, promises decided by the scheduler or not, invoice corrections,
duplicates, records after the report date, two strategies with two variants
each). Its answers come from ../expected.py, never from the reporter.
Deterministic: run it again and nothing changes."""
import datetime as dt
import json
import os
import random

R = random.Random(20260503)
# ledger2 as of Sunday 2026-03-29 (week and month to date inside March);
# ledger3, the same records as of Sunday 2026-03-01 (the week started in
# February; the month to date is one day)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = [(HERE, dt.date(2026, 3, 29)), (os.path.join(HERE, "..", "ledger3"), dt.date(2026, 3, 1))]
EXP = {"EUR": 2, "USD": 2, "JPY": 0, "KWD": 3}
events, contacts = [], []
n = [0]


def amount(cur, lo, hi):
    e = EXP[cur]
    v = R.randint(lo * 10 ** e, hi * 10 ** e)
    return v, ("%d" % v if e == 0 else "%d.%0*d" % (v // 10 ** e, e, v % 10 ** e))


def ce(tenant, typ, when, data, source="billing"):
    n[0] += 1
    e = {"specversion": "1.0", "id": "l2-%05d" % n[0], "source": source, "type": typ,
         "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "tenant": tenant, "data": data}
    events.append((when, n[0], e))
    return e


def at(day, h=9, m=0):
    return dt.datetime(day.year, day.month, day.day, h, m)


invoices = []
for tenant, curs, ncust in (("north", ["EUR", "USD", "KWD"], 30), ("south", ["JPY", "EUR"], 12)):
    for c in range(ncust):
        cust = "%s-C%02d" % (tenant[0].upper(), c)
        ce(tenant, "customer.upserted", dt.datetime(2025, 5, 1), {"customer_id": cust, "name": "Cust %s" % cust,
           "email": "x@y.test", "timezone": "UTC", "locale": "en-GB", "country": "GB", "channels": ["email"],
           "opted_out": [], "tags": []})
        cur = curs[c % len(curs)]
        for k in range(R.randint(4, 14)):
            issued = dt.date(2025, 6, 1) + dt.timedelta(days=R.randint(0, 350))
            due = issued + dt.timedelta(days=R.choice([14, 30, 30, 45, 60]))
            v, s = amount(cur, 50, 5000)
            iid = "%s-INV-%02d-%02d" % (tenant[0].upper(), c, k)
            inv = dict(tenant=tenant, cust=cust, cur=cur, id=iid, issued=issued, due=due, amount=v)
            invoices.append(inv)
            ce(tenant, "invoice.issued", at(issued, 8), {"invoice_id": iid, "customer_id": cust, "number": iid,
               "currency": cur, "amount": s if R.random() < 0.7 else float(s) if EXP[cur] else int(s),
               "issued_on": issued.isoformat(), "due_on": due.isoformat()})
            if R.random() < 0.08:  # a correction a few days later
                v2, s2 = amount(cur, 50, 5000)
                inv["amount"] = v2
                ce(tenant, "invoice.updated", at(issued + dt.timedelta(days=3), 8), {"invoice_id": iid,
                   "customer_id": cust, "number": iid, "currency": cur, "amount": s2,
                   "issued_on": issued.isoformat(), "due_on": (due + dt.timedelta(days=7)).isoformat()})

pay_no = [0]
for inv in invoices:
    t, cust, cur = inv["tenant"], inv["cust"], inv["cur"]
    r = R.random()
    e = EXP[cur]
    fmt = lambda v: "%d" % v if e == 0 else "%d.%0*d" % (v // 10 ** e, e, v % 10 ** e)
    if r < 0.45:  # paid, in full or in part, early or late
        day = inv["due"] + dt.timedelta(days=R.randint(-20, 90))
        day = max(day, inv["issued"])
        part = inv["amount"] if R.random() < 0.7 else R.randint(1, inv["amount"])
        pay_no[0] += 1
        d = {"payment_id": "%s-P%04d" % (t, pay_no[0]), "customer_id": cust, "currency": cur,
             "amount": fmt(part + (R.randint(1, 500) if R.random() < 0.05 else 0)),
             "received_on": day.isoformat()}
        if R.random() < 0.6:
            d["allocations"] = [{"invoice_id": inv["id"], "amount": fmt(part)}]
        if R.random() < 0.4:
            d["received_at"] = at(day, R.randint(0, 23), R.randint(0, 59)).strftime("%Y-%m-%dT%H:%M:%SZ")
        when = at(day, 12) if R.random() < 0.95 else at(inv["issued"], 7)  # rarely: before the invoice
        p = ce(t, "payment.received", when, d)
        if R.random() < 0.05:
            ce(t, "payment.reversed", at(day + dt.timedelta(days=R.randint(0, 10)), 15),
               {"payment_id": d["payment_id"], "customer_id": cust, "reason": "chargeback"})
        if R.random() < 0.05:
            events.append((when + dt.timedelta(seconds=1), n[0] + 0.5, dict(p)))  # duplicate delivery
    elif r < 0.52:
        ce(t, "credit_note.issued", at(inv["due"] + dt.timedelta(days=R.randint(-5, 40)), 11),
           {"credit_note_id": "CN-" + inv["id"], "customer_id": cust, "invoice_id": inv["id"], "currency": cur,
            "amount": fmt(R.randint(1, inv["amount"]))})
    elif r < 0.56:
        ce(t, "invoice.voided", at(inv["issued"] + dt.timedelta(days=R.randint(1, 60)), 10),
           {"invoice_id": inv["id"], "customer_id": cust})
    elif r < 0.60:
        ce(t, "invoice.written_off", at(inv["due"] + dt.timedelta(days=R.randint(30, 200)), 10),
           {"invoice_id": inv["id"], "customer_id": cust})
    if R.random() < 0.06:
        ce(t, "dispute.opened", at(inv["due"] + dt.timedelta(days=R.randint(-5, 60)), 14),
           {"customer_id": cust, "invoice_id": inv["id"], "reason": "quality"})
    if R.random() < 0.12:  # a promise, sometimes decided by the scheduler
        made = inv["due"] + dt.timedelta(days=R.randint(1, 40))
        by = made + dt.timedelta(days=R.randint(2, 15))
        pd = {"customer_id": cust, "invoice_ids": [inv["id"]], "currency": cur,
              "amount": fmt(R.randint(1, inv["amount"])), "promised_on": by.isoformat()}
        ce(t, "promise.made", at(made, 10, 30), pd)
        if R.random() < 0.5:
            ce(t, R.choice(["promise.kept", "promise.broken"]), at(by + dt.timedelta(days=1), 0, 5), pd,
               source="arrears-scheduler")

# customer-level payments without allocations (oldest due first)
for k in range(25):
    inv = R.choice(invoices)
    e = EXP[inv["cur"]]
    v = R.randint(100, 4000) * 10 ** e
    day = dt.date(2025, 9, 1) + dt.timedelta(days=R.randint(0, 240))
    pay_no[0] += 1
    ce(inv["tenant"], "payment.received", at(day, 13), {"payment_id": "%s-P%04d" % (inv["tenant"], pay_no[0]),
       "customer_id": inv["cust"], "currency": inv["cur"], "amount": "%d" % (v // 10 ** e) if e else "%d" % v,
       "received_on": day.isoformat()})

# contacts
strategies = {"default": ["A", "B"], "gentle": ["control", "test"]}
cno = 0
for inv in invoices:
    if R.random() < 0.5:
        continue
    strat = R.choice(list(strategies))
    variant = R.choice(strategies[strat])
    first = inv["due"] + dt.timedelta(days=R.randint(-3, 20))
    for step in range(1, R.randint(2, 4)):
        cno += 1
        when = dt.datetime(first.year, first.month, first.day, 9) + dt.timedelta(days=7 * (step - 1), minutes=R.randint(0, 600))
        ids = [inv["id"]]
        other = [i for i in invoices if i["cust"] == inv["cust"] and i is not inv]
        if other and R.random() < 0.15:
            ids.append(R.choice(other)["id"])
        ok = R.random() < 0.9
        c = {"v": 1, "type": "contact.sent" if ok else "contact.failed",
             "id": "%s/inv/%s/step/%d/attempt/1" % (inv["tenant"], inv["id"], step),
             "command_id": "%s/inv/%s/step/%d/attempt/1" % (inv["tenant"], inv["id"], step),
             "kind": "reminder", "tenant": inv["tenant"], "customer_id": inv["cust"], "invoice_ids": ids,
             "channel": R.choice(["email", "email", "sms", "webhook"]), "template": "t", "strategy": strat,
             "variant": variant, "step": step, "provider_status": "250" if ok else "",
             "attempts": 1, "latency_ms": 10, "at": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
             "currency": inv["cur"], "amount_total_minor": inv["amount"]}
        if not ok:
            c["reason"] = "bounced"
        contacts.append(c)
        if R.random() < 0.03:
            contacts.append(dict(c))

events.sort(key=lambda x: (x[0], x[1]))
contacts.sort(key=lambda c: c["at"])
for out, day in OUT:
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "events.jsonl"), "w") as f:
        for _, _, e in events:
            f.write(json.dumps(e) + "\n")
    with open(os.path.join(out, "contacts.jsonl"), "w") as f:
        for c in contacts:
            f.write(json.dumps(c) + "\n")
    with open(os.path.join(out, "at.txt"), "w") as f:
        f.write(day.isoformat() + "\n")
print(len(events), "events,", len(contacts), "contacts")
