#!/usr/bin/env python3
"""t_escalation.py -- the agency hand-off (issue 16) on the live stack with
a scaled clock.

A ledger of inbound CloudEvents written here plays out through
arrears-publish --paced -> arrears-ingest -> arrears-scheduler on the real
Kafka + Redis of tests/integration/run (private topics and key prefixes),
under this policy (all of it in Europe/London, British Summer Time, UTC+1,
May-June 2026: no DST change near; 09:00 local = 08:00Z):

  ladder "standard": step 0 +1d email overdue_1, step 1 +30d escalation
                     letter agency_handoff to "agency", step 2 +33d email
                     final_notice (09:00)
  escalation.agency: min_outstanding_minor GBP 20000, expected_recovery_pct
                     45, commission_pct 25, cost_fixed_minor GBP 1500
  promises grace_days 1; payment_thanks enabled (email); risk: defaults.

  C-A  I-A1 GBP 212.32 due Sat 2 May, I-A2 GBP 150.00 due Tue 5 May.
       +1d emails 05-03 and 05-06. promise.made pm-A (50.00 by 05-15) on
       05-10, a logged call cl-A on 05-12, 50.00 paid on 05-14 (promise.kept),
       dispute on I-A2 opened 05-20 and resolved 05-25. I-A1's +30d
       (06-01 09:00 local) asks the gate: outstanding 162.32 + 150.00 =
       31232; 31232 x 45 x 75 / 10^4 = 10540.8 -> 10541 (half-up, once)
       - 1500 = 9041 >= 1: placed. The case file and escalation.placed
       come out; both invoices pause (no I-A1 +33d or I-A2 +30d on 06-04,
       no I-A2 +33d on 06-07). escalation.accepted 06-02 12:00Z;
       escalation.remitted 06-06 12:00Z of 312.32 (commission 78.08, 25 %)
       pays I-A1 then I-A2 (oldest due first): both close, the case ends in
       the same event (apply.c esc_settle: all its invoices closed), so the
       thank-you of each invoice, due at the remittance's instant, is no
       longer held by escalation:placed and goes (what the code does; the
       test asserts it).
  C-B  I-B1 GBP 150.00 due 05-02: +1d email 05-03; its +30d is held
       (escalation:below_threshold: 15000 < 20000), nothing is placed, the
       ladder goes on: +33d email 06-04 09:00 local.

Asserted: the case file on <prefix>escalations field by field against the
events that made it (the case id computed here: FNV-1a 64 over tenant NUL
customer NUL command_id with the project's offset basis); the
escalation.placed event; per debtor the exact set of commands (id,
scheduled_at, kind, channel, template) and of the scheduler's own events;
no command of C-A between the placement and the remittance; both invoices
paid and I-B1 open (arrears-scheduler explain on the Redis state).
created_at of the case is the instant the step fired on the scaled clock,
not an exact instant: it is checked to equal the escalation.placed event's
time and to lie in the local hour 09:00-10:00 of 1 June (the step's due
instant is 09:00; no event of C-A is within 12 simulated hours of it).
Timing: 1 simulated day = 3 s real (x28800), 37.3 simulated days; every
event is at least 12 simulated hours (1.5 s real) from a timer of its
debtor.
"""
import datetime as dt
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import t_contract_lib as C  # noqa: E402
import t_scheduler_lib as L  # noqa: E402

T = "acme"
LON = "Europe/London"
FACTOR = int(os.environ.get("ARREARS_ESC_FACTOR", "28800"))
SIM0 = "2026-05-01T12:00:00.000Z"
END = "2026-06-07T20:00:00.000Z"  # 12 h after I-A2's +33d would have fired
LEAD_S = 6

MIN_GBP, RECOVERY, COMMISSION, FIXED_GBP = 20000, 45, 25, 1500

POLICY = {
    "version": 1,
    "comment": "t_escalation.py: +1d email, +30d hand-off to an agency, +33d email",
    "defaults": {"timezone": LON, "locale": "en-GB", "send_at": "09:00"},
    "payment_thanks": {"enabled": True, "channel": "email", "template": "payment_thanks"},
    "ladders": {
        "standard": [
            {"name": "+1d", "offset": "+1d", "channel": "email", "template": "overdue_1"},
            {"name": "+30d", "offset": "+30d", "action": "escalation", "channel": "letter",
             "template": "agency_handoff", "to": "agency"},
            {"name": "+33d", "offset": "+33d", "channel": "email", "template": "final_notice"},
        ],
    },
    "escalation": {
        "agency": {"min_outstanding_minor": {"GBP": MIN_GBP}, "expected_recovery_pct": RECOVERY,
                   "commission_pct": COMMISSION, "cost_fixed_minor": {"GBP": FIXED_GBP}},
    },
    "promises": {"grace_days": 1},
    "risk": {},
    "strategies": [{"name": "default", "ladder": "standard"}],
}

CUSTOMERS = {
    cid: {"customer_id": cid, "name": "Name " + cid, "email": cid.lower() + "@x.test",
          "phone": phone, "timezone": LON, "locale": "en-GB", "country": "GB"}
    for cid, phone in (("C-A", "+447700900101"), ("C-B", "+447700900102"))}
# invoice id -> (customer, amount as published, minor, issued_on, due_on)
INVOICES = {
    "I-A1": ("C-A", "212.32", 21232, "2026-04-20", "2026-05-02"),
    "I-A2": ("C-A", "150.00", 15000, "2026-04-20", "2026-05-05"),
    "I-B1": ("C-B", "150.00", 15000, "2026-04-20", "2026-05-02"),
}
PAID_A1 = 5000  # the promised payment of 05-14
REMIT, REMIT_COMMISSION = ("312.32", 31232), ("78.08", 7808)


ce = C.ce  # tenant acme
def ledger():
    t0 = "2026-05-01T18:00:00Z"
    evs = [ce("cu-" + c, "customer.upserted", t0, dict(d), source="crm")
           for c, d in sorted(CUSTOMERS.items())]
    evs += [ce("inv-" + i, "invoice.issued", t0,
               {"invoice_id": i, "customer_id": c, "number": "N-" + i, "currency": "GBP",
                "amount": a, "issued_on": iss, "due_on": due})
            for i, (c, a, _, iss, due) in sorted(INVOICES.items())]
    evs += [
        ce("pm-A", "promise.made", "2026-05-10T12:00:00Z",
           {"customer_id": "C-A", "invoice_ids": ["I-A1"], "currency": "GBP", "amount": "50.00",
            "promised_on": "2026-05-15"}, source="portal"),
        ce("cl-A", "contact.logged", "2026-05-12T10:00:00Z",
           {"customer_id": "C-A", "channel": "call_task", "outcome": "conversation",
            "at": "2026-05-12T09:30:00Z", "invoice_ids": ["I-A1"], "agent": "Agent Smith"},
           source="crm"),
        ce("pay-A1", "payment.received", "2026-05-14T12:00:00Z",
           {"payment_id": "P-A1", "customer_id": "C-A", "currency": "GBP", "amount": "50.00",
            "received_at": "2026-05-14T12:00:00Z",
            "allocations": [{"invoice_id": "I-A1", "amount": "50.00"}]}, source="bank"),
        ce("dsp-A2", "dispute.opened", "2026-05-20T12:00:00Z",
           {"customer_id": "C-A", "invoice_id": "I-A2", "reason": "wrong quantity"}),
        ce("dsr-A2", "dispute.resolved", "2026-05-25T12:00:00Z",
           {"customer_id": "C-A", "invoice_id": "I-A2", "reason": "quantity explained"}),
        ce("acc-A", "escalation.accepted", "2026-06-02T12:00:00Z",
           {"case_id": CASE_A, "customer_id": "C-A", "agency_ref": "AG-2026/0007"},
           source="agency-portal"),
        ce("rem-A", "escalation.remitted", "2026-06-06T12:00:00Z",
           {"case_id": CASE_A, "customer_id": "C-A", "currency": "GBP", "amount": REMIT[0],
            "commission": REMIT_COMMISSION[0]}, source="agency-portal"),
    ]
    return sorted(evs, key=lambda e: e["time"])


def fnv1a64_case(tenant, customer, command_id):
    """The case id, computed here: FNV-1a 64 (offset basis 1469598103934665603,
    the project's, prime 1099511628211) over tenant NUL customer NUL
    command_id."""
    h = 1469598103934665603
    for b in tenant.encode() + b"\0" + customer.encode() + b"\0" + command_id.encode():
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "case-%016x" % h


def at(utc, local):
    return C.at_local(utc, local, LON)


ESC_CMD_A = "%s/inv/I-A1/step/1/attempt/1" % T
CASE_A = fnv1a64_case(T, "C-A", ESC_CMD_A)
D03 = at("2026-05-03T08:00:00.000Z", "2026-05-03 09:00")
D06 = at("2026-05-06T08:00:00.000Z", "2026-05-06 09:00")
PLACE = at("2026-06-01T08:00:00.000Z", "2026-06-01 09:00")
PLACE_END = at("2026-06-01T09:00:00.000Z", "2026-06-01 10:00")
D0604 = at("2026-06-04T08:00:00.000Z", "2026-06-04 09:00")
REMIT_AT = at("2026-06-06T12:00:00.000Z", "2026-06-06 13:00")


def half_up_net(outstanding):
    """outstanding x recovery x (100 - commission) / 10^4 - fixed, rounded
    half-up once, in integers."""
    num = outstanding * RECOVERY * (100 - COMMISSION) - FIXED_GBP * 10000
    return (num + 5000) // 10000 if num > 0 else 0


def days(a, b):
    return (dt.date.fromisoformat(a) - dt.date.fromisoformat(b)).days


def step_cmd(iid, n, sched, template, channel="email", kind="reminder"):
    return ("%s/inv/%s/step/%d/attempt/1" % (T, iid, n), sched, kind, channel, template)


def thanks_cmd(iid, pid, sched):
    return ("%s/inv/%s/thanks/%s" % (T, iid, pid), sched, "payment.thanks", "email",
            "payment_thanks")


def expected_commands():
    return {
        "C-A": {step_cmd("I-A1", 0, D03, "overdue_1"), step_cmd("I-A2", 0, D06, "overdue_1"),
                # the remittance closes both invoices and ends the case in the
                # same event: the thank-yous are not held (see the docstring)
                thanks_cmd("I-A1", "rem-A", REMIT_AT), thanks_cmd("I-A2", "rem-A", REMIT_AT)},
        "C-B": {step_cmd("I-B1", 0, D03, "overdue_1"),
                step_cmd("I-B1", 2, D0604, "final_notice")},
    }


def placed_data(outstanding, net):
    return {"case_id": CASE_A, "customer_id": "C-A", "to": "agency",
            "invoice_ids": ["I-A1", "I-A2"], "currency": "GBP", "placed_minor": outstanding,
            "expected_net_minor": net, "command_id": ESC_CMD_A}


class Checker:
    def __init__(self):
        self.problems = []

    def eq(self, what, got, want):
        if got != want:
            self.problems.append("%s: got %s, want %s" % (what, json.dumps(got, sort_keys=True),
                                                           json.dumps(want, sort_keys=True)))

    def true(self, what, cond):
        if not cond:
            self.problems.append(what)


def check_case(k, rec, cmds_by_id, placed_ev):
    """The case file rec (body k) field by field."""
    today = "2026-06-01"  # local day of the placement (09:00 BST)
    # invoices: the published ones, less the payment of 05-14 on I-A1
    invs = []
    for iid, paid in (("I-A1", PAID_A1), ("I-A2", 0)):  # oldest due first
        _, _, amount, issued, due = INVOICES[iid]
        invs.append({"invoice_id": iid, "number": "N-" + iid, "issued_on": issued,
                     "due_on": due, "days_overdue": days(today, due), "amount_minor": amount,
                     "paid_minor": paid, "credited_minor": 0, "principal_minor": amount - paid,
                     "fees_minor": 0, "interest_minor": 0, "compensation_minor": 0,
                     "total_minor": amount - paid})
    outstanding = sum(i["total_minor"] for i in invs)
    net = half_up_net(outstanding)
    if (outstanding, net) != (31232, 9041):  # the docstring's arithmetic
        C.fail("test arithmetic: outstanding %d, net %d" % (outstanding, net))
    ck = Checker()
    ck.eq("escalations key", rec["key"], "%s/C-A" % T)
    ck.eq("escalations header case_id", rec["headers"].get("case_id"), CASE_A)
    ck.eq("case keys", sorted(k), sorted(["v", "case_id", "tenant", "customer_id", "created_at",
                                          "to", "currency", "rule", "gate", "debtor", "risk",
                                          "invoices", "contacts", "responses"]))
    ck.eq("v", k.get("v"), 1)
    ck.eq("case_id", k.get("case_id"), CASE_A)
    ck.eq("tenant", k.get("tenant"), T)
    ck.eq("customer_id", k.get("customer_id"), "C-A")
    # created_at: the instant the +30d step fired on the scaled clock, so not
    # an exact instant: the same as escalation.placed's time, at or after the
    # step's due instant and within its local hour
    ca = k.get("created_at", "")
    ck.eq("created_at == escalation.placed time", ca, placed_ev.get("time"))
    ck.true("created_at %s not in [%s, %s)" % (ca, PLACE, PLACE_END),
            PLACE <= ca < PLACE_END and L.iso(L.parse_iso(ca)) == ca)
    ck.eq("to", k.get("to"), "agency")
    ck.eq("currency", k.get("currency"), "GBP")
    ck.eq("rule", k.get("rule"), {"strategy": "default", "variant": "A", "step": 1,
                                  "step_name": "+30d", "command_id": ESC_CMD_A})
    ck.eq("gate", k.get("gate"), {"outstanding_minor": outstanding,
                                  "min_outstanding_minor": MIN_GBP,
                                  "expected_recovery_pct": RECOVERY,
                                  "commission_pct": COMMISSION, "cost_fixed_minor": FIXED_GBP,
                                  "expected_net_minor": net})
    ck.eq("debtor", k.get("debtor"), CUSTOMERS["C-A"])
    # risk on 06-01 (docs/risk.md, default weights): no invoice paid in
    # full, no promise broken, no dispute open, no credit limit, paid 05-14
    # (18 days: <= 30, 0 points), first seen 05-01 (31 days: 5 x 334 / 365
    # = 4.58 -> 5 points)
    contributions = [("late_share", 0, 0), ("avg_days_late", 0, 0), ("broken_promises", 0, 0),
                     ("broken_plans", 0, 0), ("open_disputes", 0, 0),
                     ("unusable_contacts", 0, 0), ("credit_use", -1, 0),
                     ("days_since_payment", days(today, "2026-05-14"), 0),
                     ("relationship_age", days(today, "2026-05-01"), (5 * 334 * 2 + 365) // 730)]
    ck.eq("risk", k.get("risk"),
          {"score": 5, "band": "low",
           "contributions": [{"factor": f, "value": v, "points": p} for f, v, p in contributions]})
    ck.eq("invoices", k.get("invoices"), invs)
    # contacts: the +1d commands actually published, oldest first
    want_contacts = []
    for iid in ("I-A1", "I-A2"):
        cid = "%s/inv/%s/step/0/attempt/1" % (T, iid)
        cmd = cmds_by_id.get(cid)
        if cmd is None:
            ck.problems.append("command %s not on commands" % cid)
            continue
        want_contacts.append({"command_id": cid, "at": cmd["created_at"], "invoice_id": iid,
                              "step": 0, "step_name": "+1d", "kind": cmd["kind"],
                              "channel": cmd["channel"], "template": "overdue_1",
                              "result": "issued"})
    ck.eq("contacts", k.get("contacts"), want_contacts)
    # responses: the debtor's promise (made, then kept by the payment of
    # 05-14: the scheduler's promise.kept, no detail), logged call and
    # dispute, in order; a dispute is named by its invoice, a promise by the
    # promise.made's event id, a logged contact by its event id at its "at"
    ck.eq("responses", k.get("responses"), [
        {"type": "promise.made", "at": "2026-05-10T12:00:00.000Z", "id": "pm-A",
         "detail": "5000 GBP by 2026-05-15"},
        {"type": "contact.logged", "at": "2026-05-12T09:30:00.000Z", "id": "cl-A",
         "detail": "call_task conversation by Agent Smith"},
        {"type": "promise.kept", "at": "2026-05-14T12:00:00.000Z", "id": "pm-A"},
        {"type": "dispute.opened", "at": "2026-05-20T12:00:00.000Z", "id": "I-A2",
         "detail": "wrong quantity"},
        {"type": "dispute.resolved", "at": "2026-05-25T12:00:00.000Z", "id": "I-A2",
         "detail": "quantity explained"},
    ])
    # the escalation.placed event
    ck.eq("escalation.placed id", placed_ev.get("id"), CASE_A + "/placed")
    ck.eq("escalation.placed customer_id", placed_ev.get("customer_id"), "C-A")
    ck.eq("escalation.placed tenant", placed_ev.get("tenant"), T)
    ck.eq("escalation.placed data", placed_ev.get("data"), placed_data(outstanding, net))
    return ck.problems, ca


def explain(st, policy, iid):
    env = dict(st.env, ARREARS_POLICY=policy,
               ARREARS_SCHEDULER_KEY_PREFIX=st.kprefix + "sch:")
    r = subprocess.run([os.path.join(C.BIN, "arrears-scheduler"), "explain", T, iid], env=env,
                       capture_output=True, text=True, timeout=30)
    if r.returncode:
        C.fail("explain %s exited %d: %s" % (iid, r.returncode, r.stderr))
    return r.stdout


def run(st):
    led = ledger()
    policy, events = C.write_inputs(st, POLICY, led)
    t_real = time.time()
    clock = L.Clock(SIM0, FACTOR, delay_s=LEAD_S)
    end_ms = L.parse_iso(END)
    print("live: %d events, %s .. %s at x%d (%.0f s real); case id %s"
          % (len(led), SIM0, END, FACTOR, (end_ms - clock.sim0) / 1000.0 / FACTOR, CASE_A))
    C.play_ledger(st, policy, events, len(led), clock, end_ms)

    problems = []
    # ---- commands
    cmds, ids = {"C-A": set(), "C-B": set()}, {}
    by_id, created = {}, {}
    for rec in st.consume("commands"):
        b = rec["body"]
        cust = b["customer"]["customer_id"]
        ids[b["command_id"]] = ids.get(b["command_id"], 0) + 1
        by_id[b["command_id"]] = b
        created[b["command_id"]] = b["created_at"]
        if rec["key"] != "%s/%s" % (T, cust):
            problems.append("key of %s: %s" % (b["command_id"], rec["key"]))
        cmds.setdefault(cust, set()).add((b["command_id"], b["scheduled_at"], b["kind"],
                                          b["channel"], b.get("template")))
    problems += ["%s published %d times" % (i, n) for i, n in sorted(ids.items()) if n > 1]
    # ---- the scheduler's events
    evs, placed = {"C-A": set(), "C-B": set()}, []
    for rec in st.consume("events"):
        b = rec["body"]
        if b.get("source") != "arrears-scheduler":
            continue
        evs.setdefault(b["customer_id"], set()).add((b["type"], b["id"], b["time"]))
        if b["type"] == "escalation.placed":
            placed.append(b)
            if rec["key"] != "%s/%s" % (T, b["customer_id"]):
                problems.append("key of %s: %s" % (b["id"], rec["key"]))
    # ---- the case files
    cases = st.consume("escalations")
    if len(cases) != 1 or len(placed) != 1:
        C.fail("want exactly 1 case file (C-A) and 1 escalation.placed, got %d and %d:\n%s\n%s"
               % (len(cases), len(placed), "\n".join(r["value"] for r in cases),
                  "\n".join(json.dumps(p) for p in placed)))
    case = cases[0]["body"]
    if case is None:
        C.fail("the case file is not JSON: %s" % cases[0]["value"])
    print("case file: %s" % cases[0]["value"])
    bad = C.violation(C.load_schema("case"), case)
    if bad:
        problems.append("the case file does not validate against schemas/case.json: " + bad)
    p, placed_at = check_case(case, cases[0], by_id, placed[0])
    problems += p

    # ---- per debtor: commands and the scheduler's events, exactly
    want_c = expected_commands()
    want_e = {"C-A": {("promise.kept", "pm-A/kept", "2026-05-14T12:00:00.000Z"),
                      ("escalation.placed", CASE_A + "/placed", placed_at)},
              "C-B": set()}
    for cust in sorted(set(cmds) | set(evs)):
        lines = ["  missing  " + " ".join(map(str, x))
                 for x in sorted(want_c.get(cust, set()) - cmds.get(cust, set()))]
        lines += ["  extra    " + " ".join(map(str, x))
                  for x in sorted(cmds.get(cust, set()) - want_c.get(cust, set()))]
        lines += ["  missing  " + " ".join(x)
                  for x in sorted(want_e.get(cust, set()) - evs.get(cust, set()))]
        lines += ["  extra    " + " ".join(x)
                  for x in sorted(evs.get(cust, set()) - want_e.get(cust, set()))]
        if lines:
            problems.append("%s: live differs from the expectation:\n%s" % (cust, "\n".join(lines)))
    # nothing goes to C-A from the placement until the remittance ends the
    # case (the paused +33d of I-A1 and +30d of I-A2 on 06-04 would)
    for cid, b in sorted(by_id.items()):
        if b["customer"]["customer_id"] == "C-A" and placed_at <= b["created_at"] < REMIT_AT:
            problems.append("command %s for C-A at %s, after the placement at %s"
                            % (cid, b["created_at"], placed_at))
    # ---- the invoices closed by the remittance (the scheduler's Redis state)
    # (and in their histories: both invoices in the case, C-B's +30d held
    # by the gate's threshold)
    placed_h = "hand-off: placed:" + CASE_A
    closed_h = "hand-off: closed:" + CASE_A
    held_h = ("step 1 +30d (attempt 1; letter, agency_handoff): held by the hand-off's gate "
              "(escalation:below_threshold)")
    for iid, wants in (("I-A1", ("GBP 21232, paid 21232, credited 0, outstanding 0",
                                 "status paid", placed_h, closed_h)),
                       ("I-A2", ("GBP 15000, paid 15000, credited 0, outstanding 0",
                                 "status paid", placed_h, closed_h)),
                       ("I-B1", ("GBP 15000, paid 0, credited 0, outstanding 15000",
                                 "status open", held_h))):
        out = explain(st, policy, iid)
        print("explain %s:\n%s" % (iid, out.rstrip()))
        for want in wants:
            if want not in out:
                problems.append("explain %s: want %r in:\n%s" % (iid, want, out))
    if problems:
        C.fail("%d problem(s):\n%s" % (len(problems), "\n".join(problems)))
    print("ok: case %s placed at %s and checked field by field; C-A %d command(s), C-B %d; "
          "%.1f s real" % (CASE_A, placed_at, len(cmds["C-A"]), len(cmds["C-B"]),
                           time.time() - t_real))


def main():
    C.require(["arrears-ingest", "arrears-scheduler", "arrears-publish", "arrears-admin"])
    st = C.Stack("esc", partitions=3)
    try:
        run(st)
    finally:
        st.cleanup()


if __name__ == "__main__":
    main()
