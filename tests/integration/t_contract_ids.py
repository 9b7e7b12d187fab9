#!/usr/bin/env python3
"""t_contract_ids.py -- ids of exactly 200 bytes (CT_ID_MAX, docs/events.md)
through ingest, the scheduler and the reporter: every service applies them,
none drops them.

One debtor (tenant/customer_id, customer_id 200 bytes) gets one event of
every inbound type of docs/events.md, every id 200 bytes (event id, source,
customer_id, invoice_id, payment_id, credit_note_id, invoice_ids[],
allocations[].invoice_id, tags[]), published on `inbound` in order:

  customer.upserted C; invoice.issued I1 100.00 (due 03-01), I2, I3, I4
  (due 04-15); invoice.updated I1 -> 120.00; payment.received P1 20.00 on
  I1; credit_note.issued N1 10.00 on I1; promise.made [I1] 50.00 for 03-20;
  dispute.opened + dispute.resolved I1; contact.ceased sms; invoice.voided
  I2; invoice.written_off I3; payment.received P2 50.00 paying I4 in full;
  payment.reversed P1 (on 03-31).

Checks:
  ingest     every event is on `events` with its id and type, nothing on
             the DLQ;
  scheduler  no event rejected; its Redis state (keys of docs/scheduler.md)
             holds C's contact and ceased channel, I1 at 120.00 with the
             credit, I2 voided, I3 written off, I4 paid, P1 reversed; a
             payment.thanks command for I4/P2 on `commands`;
  reporter   no event rejected, 4 invoices held; the answers to a request
             as of 2026-03-31: aging holds only I1, 110.00 in 1-30, with C
             (its name, a broken promise) on top; kpis count the disputed
             invoice, the broken promise, March's invoiced 50.00 and
             collected 50.00, and the reversal (-20.00) on 03-31.
Until the scheduler's id limit is 200 bytes (issue 11), the scheduler part
fails: that is the point of the test."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from t_contract_lib import Resp, Stack, metric, require  # noqa: E402

ID_MAX = 200


def long_id(tag, token):
    s = "%s-%s-" % (tag, token)
    s += "0123456789abcdefghijklmnopqrstuvwxyz" * 6
    return s[:ID_MAX]


def main():
    require(["arrears-ingest", "arrears-scheduler", "arrears-reporter", "arrears-admin"])
    st = Stack("ctids")
    try:
        return scenario(st)
    finally:
        st.cleanup()


def scenario(st):
    tok = st.token.replace("-", "")[-12:]
    tenant = "t" + tok
    C = long_id("customer", tok)
    I1, I2, I3, I4 = (long_id("invoice%d" % i, tok) for i in (1, 2, 3, 4))
    P1, P2, N1 = long_id("payment1", tok), long_id("payment2", tok), long_id("credit1", tok)
    TAG, SOURCE = long_id("tag", tok), long_id("billing", tok)
    for x in (C, I1, I2, I3, I4, P1, P2, N1, TAG, SOURCE):
        assert len(x.encode()) == ID_MAX, x

    def inv(iid, amount, issued, due, number):
        return {"invoice_id": iid, "customer_id": C, "number": number, "currency": "EUR",
                "amount": amount, "issued_on": issued, "due_on": due, "tags": [TAG]}

    plan = [
        ("customer.upserted", "2026-02-01T08:00:00Z",
         {"customer_id": C, "name": "Long Ids Ltd", "email": "ap@long-ids.test",
          "phone": "+447700900123", "timezone": "Europe/London", "locale": "en-GB",
          "country": "GB", "channels": ["email", "sms"], "tags": [TAG]}),
        ("invoice.issued", "2026-02-01T09:00:00Z", inv(I1, "100.00", "2026-02-01", "2026-03-01",
                                                       "N-1")),
        ("invoice.issued", "2026-02-01T09:01:00Z", inv(I2, "30.00", "2026-02-01", "2026-03-01",
                                                       "N-2")),
        ("invoice.issued", "2026-02-01T09:02:00Z", inv(I3, "40.00", "2026-02-01", "2026-03-01",
                                                       "N-3")),
        ("invoice.issued", "2026-03-05T09:00:00Z", inv(I4, "50.00", "2026-03-05", "2026-04-15",
                                                       "N-4")),
        ("invoice.updated", "2026-02-02T09:00:00Z", inv(I1, "120.00", "2026-02-01",
                                                        "2026-03-01", "N-1")),
        ("payment.received", "2026-03-10T10:00:00Z",
         {"payment_id": P1, "customer_id": C, "currency": "EUR", "amount": "20.00",
          "received_on": "2026-03-10", "allocations": [{"invoice_id": I1, "amount": "20.00"}]}),
        ("credit_note.issued", "2026-03-12T10:00:00Z",
         {"credit_note_id": N1, "customer_id": C, "invoice_id": I1, "currency": "EUR",
          "amount": "10.00"}),
        ("promise.made", "2026-03-13T10:00:00Z",
         {"customer_id": C, "invoice_ids": [I1], "currency": "EUR", "amount": "50.00",
          "promised_on": "2026-03-20"}),
        ("dispute.opened", "2026-03-14T10:00:00Z",
         {"customer_id": C, "invoice_id": I1, "reason": "price differs from order"}),
        ("dispute.resolved", "2026-03-15T10:00:00Z",
         {"customer_id": C, "invoice_id": I1, "reason": "price confirmed"}),
        ("contact.ceased", "2026-03-16T10:00:00Z", {"customer_id": C, "channel": "sms"}),
        ("invoice.voided", "2026-03-17T10:00:00Z", {"invoice_id": I2, "customer_id": C}),
        ("invoice.written_off", "2026-03-18T10:00:00Z", {"invoice_id": I3, "customer_id": C}),
        ("payment.received", "2026-03-25T10:00:00Z",
         {"payment_id": P2, "customer_id": C, "currency": "EUR", "amount": "50.00",
          "received_on": "2026-03-25", "allocations": [{"invoice_id": I4, "amount": "50.00"}]}),
        ("payment.reversed", "2026-03-31T08:00:00Z",
         {"payment_id": P1, "customer_id": C, "reason": "chargeback"}),
    ]
    events = []
    for n, (etype, t, data) in enumerate(plan):
        eid = long_id("event%02d" % n, tok)
        assert len(eid.encode()) == ID_MAX
        events.append({"specversion": "1.0", "id": eid, "source": SOURCE, "type": etype,
                       "time": t, "tenant": tenant, "datacontenttype": "application/json",
                       "data": data})
    types = {e["type"] for e in events}
    inbound = {"invoice.issued", "invoice.updated", "invoice.voided", "invoice.written_off",
               "payment.received", "payment.reversed", "credit_note.issued",
               "customer.upserted", "promise.made", "dispute.opened", "dispute.resolved",
               "contact.ceased"}
    assert types == inbound, sorted(inbound - types)

    # a fixed simulated day: 2026-03-31 12:00 UTC, one simulated second per
    # real second (every event is in the past; nothing else fires meanwhile)
    clock = "2026-03-31T12:00:00Z@%dx1" % int(time.time())
    svcs = ["ingest", "scheduler", "reporter"]
    for s in svcs:
        st.start(s, clock, {"ARREARS_REPORT_INTERVAL": "1d"} if s == "reporter" else None)
    st.wait_ready(svcs)
    key = "%s/%s" % (tenant, C)
    st.produce("inbound", [(key, json.dumps(e, separators=(",", ":"))) for e in events])
    n = len(events)
    print("published %d events (%d types), every id %d bytes, key %d bytes" %
          (n, len(types), ID_MAX, len(key.encode())))

    # --- ingest: all on `events`, none on the DLQ --------------------------------
    deadline, got = time.time() + 60, []
    while time.time() < deadline:
        st.alive()
        got = st.consume("events")
        if len(got) >= n:
            break
        time.sleep(1)
    ok = True
    byid = {r["body"]["id"]: r for r in got if r["body"]}
    for e in events:
        r = byid.get(e["id"])
        if not r:
            ok = False
            print("FAIL ingest: %s (%s) is not on events" % (e["type"], e["id"][:24] + "..."))
        elif r["body"]["type"] != e["type"] or r["body"].get("customer_id") != C or \
                r["key"] != key:
            ok = False
            print("FAIL ingest: %s came out as %s" % (e["type"], r["value"][:200]))
    dlq = st.consume("ingest.dlq")
    if dlq:
        ok = False
        for r in dlq:
            print("FAIL ingest: on the DLQ: %s" % json.dumps(r["body"].get("reasons"))[:400])
    if ok:
        print("ingest: %d canonical events on events, DLQ empty" % n)

    # --- scheduler ----------------------------------------------------------------
    thanks_id = "%s/inv/%s/thanks/%s" % (tenant, I4, P2)
    deadline, cmds, m = time.time() + 60, [], ""
    while time.time() < deadline:
        st.alive()
        m = st.metrics("scheduler")
        applied = metric(m, 'arrears_scheduler_events_total{result="applied"}')
        rejected = metric(m, 'arrears_scheduler_events_total{result="rejected"}')
        cmds = st.consume("commands")
        # promise.made is reserved for the scheduler (counted neither way)
        if applied + rejected >= n - 1 and any(
                c["body"] and c["body"].get("command_id") == thanks_id for c in cmds) and \
                check_scheduler_state(st, tenant, C, I1, I2, I3, I4, P1, quiet=True):
            break
        time.sleep(1)
    applied = metric(m, 'arrears_scheduler_events_total{result="applied"}')
    rejected = metric(m, 'arrears_scheduler_events_total{result="rejected"}')
    print("scheduler: %d applied, %d rejected" % (applied, rejected))
    if rejected:
        ok = False
        print("FAIL scheduler: %d event(s) rejected:\n%s" % (rejected, st.log("scheduler", 20)))
    ok &= check_scheduler_state(st, tenant, C, I1, I2, I3, I4, P1)
    thanks = [c for c in cmds if c["body"] and c["body"].get("command_id") == thanks_id]
    if not thanks:
        ok = False
        print("FAIL scheduler: no payment.thanks command %s... on commands (%d commands)" %
              (thanks_id[:40], len(cmds)))
    else:
        b = thanks[0]["body"]
        if b.get("kind") != "payment.thanks" or b["customer"].get("customer_id") != C or \
                b.get("payment", {}).get("payment_id") != P2 or \
                b["invoices"][0]["invoice_id"] != I4 or thanks[0]["key"] != key or \
                thanks[0]["headers"].get("command_id") != thanks_id:
            ok = False
            print("FAIL scheduler: the thanks command is wrong: %s" % thanks[0]["value"][:600])
        else:
            print("scheduler: payment.thanks %d-byte command id, key and header right" %
                  len(thanks_id.encode()))

    # --- reporter -------------------------------------------------------------------
    deadline = time.time() + 60
    while time.time() < deadline:
        st.alive()
        m = st.metrics("reporter")
        if metric(m, "arrears_reporter_events_total") + \
                metric(m, "arrears_reporter_rejected_total") >= n:
            break
        time.sleep(1)
    rej, inv_held = metric(m, "arrears_reporter_rejected_total"), metric(m,
                                                                          "arrears_reporter_invoices")
    print("reporter: %d events, %d rejected, %d invoices held" %
          (metric(m, "arrears_reporter_events_total"), rej, inv_held))
    if rej or inv_held != 4:
        ok = False
        print("FAIL reporter: expected 0 rejected and 4 invoices:\n%s" % st.log("reporter", 20))
    ok &= check_reports(st, tenant, C)
    return 0 if ok else 1


def fields(packed):
    """A packed scheduler invoice (state.h): sch_inv_fields in order,
    0x1f-separated, defaults stored as "" and trailing ones dropped."""
    names = ["v", "c", "n", "cu", "a", "pd", "cr", "io", "du", "st", "ds", "s", "at", "nk",
             "nx", "p", "sg", "vr", "h", "cn", "tp", "ta"]
    return dict(zip(names, packed.decode(errors="replace").split("\x1f")))


def check_scheduler_state(st, tenant, C, I1, I2, I3, I4, P1, quiet=False):
    r = Resp()
    p = st.kprefix + "sch:"
    ok = True

    def want(what, cond, detail):
        nonlocal ok
        if not cond:
            ok = False
            if not quiet:
                print("FAIL scheduler state: %s (%s)" % (what, detail))

    contact = r.cmd("GET", p + "k:%s/%s" % (tenant, C))
    want("customer.upserted: the contact", contact and b"Long Ids Ltd" in contact, contact)
    cust = r.cmd("HGETALL", p + "c:%s/%s" % (tenant, C)) or []
    cust = dict(zip(cust[::2], cust[1::2]))
    want("contact.ceased: sms ceased", b"sms" in cust.get(b"cz", b""), cust.get(b"cz"))
    invs = {}
    for name, iid in (("I1", I1), ("I2", I2), ("I3", I3), ("I4", I4)):
        raw = r.cmd("GET", p + "i:%s/%s" % (tenant, iid))
        want("invoice %s stored" % name, raw is not None, "no key")
        invs[name] = fields(raw) if raw else {}
    i1 = invs["I1"]
    want("invoice.updated: I1 amount 12000", i1.get("a") == "12000", i1.get("a"))
    want("credit_note.issued: I1 credited 1000", i1.get("cr") == "1000", i1.get("cr"))
    want("payment.reversed: I1 paid 0 again", i1.get("pd", "0") in ("", "0"), i1.get("pd"))
    # open is status "" or, with its share of the debtor's balance its
    # outstanding (docs/scheduler.md "State in Redis"), "="; disputed 0 is
    # the default, stored as ""
    want("dispute.opened/resolved: I1 open, not disputed",
         i1.get("st", "") in ("", "=") and i1.get("ds", "0") in ("", "0"),
         (i1.get("st"), i1.get("ds")))
    want("invoice.voided: I2", invs["I2"].get("st") == "v", invs["I2"].get("st"))
    want("invoice.written_off: I3", invs["I3"].get("st") == "w", invs["I3"].get("st"))
    want("payment.received: I4 paid", invs["I4"].get("st") == "p", invs["I4"].get("st"))
    pay = r.cmd("HGETALL", p + "p:%s/%s" % (tenant, P1)) or []
    pay = dict(zip(pay[::2], pay[1::2]))
    want("payment.received + reversed: P1 reversed", pay.get(b"r") == b"1", pay)
    if ok and not quiet:
        print("scheduler: Redis state reflects every event (contact, ceased sms, I1 "
              "120.00 - 10.00 credit, P1 reversed, I2 voided, I3 written off, I4 paid)")
    return ok


def check_reports(st, tenant, C):
    rid = "ids-%s" % st.token
    req = {"v": 1, "id": rid, "tenant": tenant, "as_of": "2026-03-31"}
    st.produce("reports.requests", [("%s/%s" % (tenant, rid), json.dumps(req))])
    deadline, answers = time.time() + 60, {}
    while time.time() < deadline and len(answers) < 3:
        st.alive()
        for rec in st.consume("reports"):
            b = rec["body"]
            if b and b.get("request_id") == rid:
                answers[b["type"]] = b
        time.sleep(1)
    if len(answers) < 3:
        print("FAIL reporter: %d of 3 answers to %s:\n%s" % (len(answers), rid,
                                                             st.log("reporter", 20)))
        return False
    ok = True

    def want(what, got, exp):
        nonlocal ok
        if got != exp:
            ok = False
            print("FAIL reporter: %s: expected %r, got %r" % (what, exp, got))

    aging = answers["aging"]["currencies"]
    want("aging currencies", [c["currency"] for c in aging], ["EUR"])
    if aging:
        a = aging[0]
        want("aging total (only I1 open: I2 voided, I3 written off, I4 paid)",
             a["total"], {"count": 1, "amount_minor": 11000})
        want("aging 1-30 bucket", a["buckets"][1], {"bucket": "1-30", "count": 1,
                                                    "amount_minor": 11000})
        top = a["top_overdue_customers"]
        want("top customer id (200 bytes)", top[0]["customer_id"] if top else None, C)
        if top:
            want("top customer name", top[0]["name"], "Long Ids Ltd")
            want("broken promise", top[0]["broken_promise"], True)
    kpis = answers["kpis"]["currencies"]
    if kpis:
        per = {p["period"]: p for p in kpis[0]["periods"]}
        month, day = per["month"], per["day"]
        want("March invoiced (I4)", month["invoiced_minor"], 5000)
        want("March collected (P1 + P2 - P1 reversed)", month["collected_minor"], 5000)
        want("03-31 collected (the reversal of P1)", day["collected_minor"], -2000)
        want("March disputed invoices", month["disputes"]["disputed_invoices"], 1)
        want("March promises broken", month["promises"]["broken"], 1)
    else:
        ok = False
        print("FAIL reporter: the kpis report has no currency")
    if ok:
        print("reporter: aging and kpis as of 2026-03-31 count every event")
    return ok


if __name__ == "__main__":
    sys.exit(main())
