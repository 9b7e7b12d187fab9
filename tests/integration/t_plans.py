#!/usr/bin/env python3
"""t_plans.py -- instalment plans (issue 16) on the live stack with a
scaled clock.

A ledger of inbound CloudEvents written here plays out through
arrears-publish --paced -> arrears-ingest -> arrears-scheduler on the real
Kafka + Redis of tests/integration/run (private topics and key prefixes),
under this policy (all of it in Europe/London, British Summer Time, UTC+1,
in April 2026: no DST change near):

  ladder "short":      step 0 +1d email 09:00, step 1 +3d sms 11:00,
                       step 2 +6d email 09:00
  ladder "instalment": step 0 -1d email 09:00, step 1 +1d sms 11:00
  instalments: grace_days 1 (an instalment due D still short breaks the
  plan at 00:00 local on D+2), interest continue; window 08:00-21:00.

  C-PLAN  I-P1 300.00 due Mon 13 April. Its +1d email goes 14 April. Plan
          PL-A agreed 14 April 19:00: 100.00 due 16, 18 and 20 April. The
          ladder pauses (no +3d sms on the 16th). Reminder of instalment 1
          on the 15th at 09:00; 100.00 paid on the 15th at 19:00 fills it;
          instalment 2's reminder on the 17th; 100.00 paid on the 17th;
          instalment 3's reminder on the 19th; nothing paid: its +1d sms
          on the 21st at 11:00, then plan.broken at 00:00 on the 22nd
          (instalment 3, due 20 April, 100.00 short, 200.00 of 300.00
          paid); the ladder resumes: +3d and +6d were missed, collapsed
          into +6d (step 2) at 09:00 on the 22nd.
  C-DONE  I-D1 50.00 and I-D2 70.00 due 13 April, their +1d emails on the
          14th; plan PL-B (60.00 on the 16th and the 18th) agreed the 14th
          at 19:00; instalment 1's reminder lists both invoices; 120.00
          paid on the 15th at 19:00 pays the plan: plan.completed; nothing
          more.

Asserted: per debtor, the exact set of (command_id, scheduled_at, kind,
channel, plan) on commands and of (type, id, time, data) of the
scheduler's own events, every published event accepted, no command id
twice. Every UTC instant is worked out by hand and checked against tzdata.
Timing: 1 simulated day = 3 s real (x28800); every event is at least 10
simulated hours (1.25 s real) from a timer of its debtor.
"""
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import t_contract_lib as C  # noqa: E402
import t_scheduler_lib as L  # noqa: E402

T = "acme"
LON = "Europe/London"
FACTOR = int(os.environ.get("ARREARS_PLANS_FACTOR", "28800"))
SIM0 = "2026-04-12T12:00:00.000Z"
END = "2026-04-22T20:00:00.000Z"
LEAD_S = 6

POLICY = {
    "version": 1,
    "comment": "t_plans.py: a short ladder and instalment reminders",
    "defaults": {"timezone": LON, "locale": "en-GB", "send_at": "09:00"},
    "payment_thanks": {"enabled": False},
    "ladders": {
        "short": [
            {"name": "+1d", "offset": "+1d", "channel": "email", "template": "overdue_1"},
            {"name": "+3d", "offset": "+3d", "channel": "sms", "template": "overdue_14_sms",
             "send_at": "11:00"},
            {"name": "+6d", "offset": "+6d", "channel": "email", "template": "overdue_7"},
        ],
        "instalment": [
            {"name": "-1d", "offset": "-1d", "channel": "email", "template": "instalment_due"},
            {"name": "+1d", "offset": "+1d", "channel": "sms", "template": "sms_instalment_overdue",
             "send_at": "11:00"},
        ],
    },
    "strategies": [{"name": "default", "ladder": "short"}],
    "contact_rules": {"window": {"start": "08:00", "end": "21:00"}},
    "instalments": {"ladder": "instalment", "grace_days": 1, "interest": "continue"},
}


ce = C.ce  # tenant acme


def customer(cid):
    return ce("cu-" + cid, "customer.upserted", "2026-04-12T18:00:00Z",
              {"customer_id": cid, "name": "Name " + cid, "email": cid.lower() + "@x.test",
               "phone": "+447700900123", "timezone": LON, "locale": "en-GB", "country": "GB"},
              source="crm")


def invoice(iid, cid, amount):
    return ce("inv-" + iid, "invoice.issued", "2026-04-12T18:00:00Z",
              {"invoice_id": iid, "customer_id": cid, "number": "N-" + iid, "currency": "EUR",
               "amount": amount, "issued_on": "2026-04-01", "due_on": "2026-04-13"})


def plan(pid, cid, iids, inst, time_utc):
    return ce("plan-" + pid, "plan.agreed", time_utc,
              {"plan_id": pid, "customer_id": cid, "invoice_ids": iids, "currency": "EUR",
               "instalments": [{"due_on": d, "amount": a} for d, a in inst], "source": "agent"},
              source="portal")


def payment(pid, cid, allocs, time_utc):
    total = "%.2f" % sum(float(a) for _, a in allocs)
    return ce("pay-" + pid, "payment.received", time_utc,
              {"payment_id": pid, "customer_id": cid, "currency": "EUR", "amount": total,
               "received_at": time_utc,
               "allocations": [{"invoice_id": i, "amount": a} for i, a in allocs]}, source="bank")


def ledger():
    evs = [
        customer("C-PLAN"), customer("C-DONE"),
        invoice("I-P1", "C-PLAN", "300.00"),
        invoice("I-D1", "C-DONE", "50.00"), invoice("I-D2", "C-DONE", "70.00"),
        plan("PL-A", "C-PLAN", ["I-P1"],
             [("2026-04-16", "100.00"), ("2026-04-18", "100.00"), ("2026-04-20", "100.00")],
             "2026-04-14T18:00:00Z"),
        plan("PL-B", "C-DONE", ["I-D1", "I-D2"], [("2026-04-16", "60.00"), ("2026-04-18", "60.00")],
             "2026-04-14T18:00:00Z"),
        payment("P-A1", "C-PLAN", [("I-P1", "100.00")], "2026-04-15T18:00:00Z"),
        payment("P-B1", "C-DONE", [("I-D1", "50.00"), ("I-D2", "70.00")], "2026-04-15T18:00:00Z"),
        payment("P-A2", "C-PLAN", [("I-P1", "100.00")], "2026-04-17T18:00:00Z"),
    ]
    return sorted(evs, key=lambda e: e["time"])


def at(utc, local):
    return C.at_local(utc, local, LON)


def step(iid, n, sched, channel="email"):
    return ("%s/inv/%s/step/%d/attempt/1" % (T, iid, n), sched, "reminder", channel, "-")


def inst(pid, k, s, sched, channel, plan_fields):
    return ("%s/plan/%s/instalment/%d/step/%d" % (T, pid, k, s), sched, "reminder", channel,
            json.dumps(plan_fields, sort_keys=True))


data_of = C.data_of


def pl(pid, k, n, due, amount, paid, total, total_paid):
    return {"plan_id": pid, "instalment": k, "instalments": n, "due_on": due,
            "amount_minor": amount, "paid_minor": paid, "total_minor": total,
            "total_paid_minor": total_paid}


def expected():
    d14 = at("2026-04-14T08:00:00.000Z", "2026-04-14 09:00")
    d15 = at("2026-04-15T08:00:00.000Z", "2026-04-15 09:00")
    d17 = at("2026-04-17T08:00:00.000Z", "2026-04-17 09:00")
    d19 = at("2026-04-19T08:00:00.000Z", "2026-04-19 09:00")
    d21 = at("2026-04-21T10:00:00.000Z", "2026-04-21 11:00")
    brk = at("2026-04-21T23:00:00.000Z", "2026-04-22 00:00")
    d22 = at("2026-04-22T08:00:00.000Z", "2026-04-22 09:00")
    paid_b = at("2026-04-15T18:00:00.000Z", "2026-04-15 19:00")
    exp = {}
    exp["C-PLAN"] = (
        {step("I-P1", 0, d14),
         inst("PL-A", 1, 0, d15, "email", pl("PL-A", 1, 3, "2026-04-16", 10000, 0, 30000, 0)),
         inst("PL-A", 2, 0, d17, "email", pl("PL-A", 2, 3, "2026-04-18", 10000, 0, 30000, 10000)),
         inst("PL-A", 3, 0, d19, "email", pl("PL-A", 3, 3, "2026-04-20", 10000, 0, 30000, 20000)),
         inst("PL-A", 3, 1, d21, "sms", pl("PL-A", 3, 3, "2026-04-20", 10000, 0, 30000, 20000)),
         step("I-P1", 2, d22)},
        {("plan.broken", "PL-A/broken", brk,
          data_of({"customer_id": "C-PLAN", "plan_id": "PL-A", "invoice_ids": ["I-P1"],
                   "currency": "EUR", "total_minor": 30000, "paid_minor": 20000,
                   "instalment": 3, "due_on": "2026-04-20", "short_minor": 10000}))})
    exp["C-DONE"] = (
        {step("I-D1", 0, d14), step("I-D2", 0, d14),
         inst("PL-B", 1, 0, d15, "email", pl("PL-B", 1, 2, "2026-04-16", 6000, 0, 12000, 0))},
        {("plan.completed", "PL-B/completed", paid_b,
          data_of({"customer_id": "C-DONE", "plan_id": "PL-B", "invoice_ids": ["I-D1", "I-D2"],
                   "currency": "EUR", "total_minor": 12000, "paid_minor": 12000}))})
    return exp


def run(st):
    led = ledger()
    policy, events = C.write_inputs(st, POLICY, led)
    exp = expected()
    clock = L.Clock(SIM0, FACTOR, delay_s=LEAD_S)
    end_ms = L.parse_iso(END)
    print("live: %d events, %s .. %s at x%d" % (len(led), SIM0, END, FACTOR))
    C.play_ledger(st, policy, events, len(led), clock, end_ms)
    got = {c: (set(), set()) for c in exp}
    ids, problems = {}, []
    for rec in st.consume("commands"):
        b = rec["body"]
        cust = b["customer"]["customer_id"]
        ids[b["command_id"]] = ids.get(b["command_id"], 0) + 1
        if rec["key"] != "%s/%s" % (T, cust):
            problems.append("key of %s: %s" % (b["command_id"], rec["key"]))
        got.setdefault(cust, (set(), set()))[0].add(
            (b["command_id"], b["scheduled_at"], b["kind"], b["channel"],
             json.dumps(b["plan"], sort_keys=True) if "plan" in b else "-"))
    for rec in st.consume("events"):
        b = rec["body"]
        if b.get("source") != "arrears-scheduler":
            continue
        got.setdefault(b["customer_id"], (set(), set()))[1].add(
            (b["type"], b["id"], b["time"], data_of(b["data"])))
    problems += ["%s published %d times" % (i, n) for i, n in sorted(ids.items()) if n > 1]
    for cust in sorted(got):
        want_c, want_e = exp.get(cust, (set(), set()))
        have_c, have_e = got[cust]
        lines = ["  missing  " + " ".join(map(str, x)) for x in sorted(want_c - have_c)]
        lines += ["  extra    " + " ".join(map(str, x)) for x in sorted(have_c - want_c)]
        lines += ["  missing  " + " ".join(x) for x in sorted(want_e - have_e)]
        lines += ["  extra    " + " ".join(x) for x in sorted(have_e - want_e)]
        if lines:
            problems.append("%s: live differs from the expectation:\n%s" % (cust, "\n".join(lines)))
        else:
            print("ok %-7s %d command(s), %d scheduler event(s)" % (cust, len(have_c), len(have_e)))
    if problems:
        C.fail("%d problem(s):\n%s" % (len(problems), "\n".join(problems)))
    print("ok: instalment plans as worked out by hand")


def main():
    C.require(["arrears-ingest", "arrears-scheduler", "arrears-publish"])
    st = C.Stack("pl", partitions=3)
    try:
        run(st)
    finally:
        st.cleanup()


if __name__ == "__main__":
    main()
