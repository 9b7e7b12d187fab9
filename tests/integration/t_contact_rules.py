#!/usr/bin/env python3
"""t_contact_rules.py -- the contact rules and promises to pay (issue 13)
on the live stack with a scaled clock.

One ledger of inbound CloudEvents, written here, plays out through
arrears-publish --paced -> arrears-ingest -> arrears-scheduler on the real
Kafka + Redis of tests/integration/run (private topics and key prefixes,
the t_backtest_parity.py way), under a policy written here to a temp dir:

  ladder "short", due date D, local send times in the debtor's zone:
    step 0  -1d  reminder   email  09:00
    step 1  +1d  reminder   email  09:00
    step 2  +2d  reminder   sms    11:00
    step 3  +5d  escalation letter 22:00  (outside the window on purpose:
                                           an escalation is not a contact)
  contact_rules: window 08:00-21:00; caps [{email, max 2, days 7}]
  promises: grace_days 1

Every debtor but C-QUIET is in Europe/London; all dates are in April 2026,
British Summer Time (UTC+1) since 2026-03-29 and until 2026-10-25, and
Eastern Daylight Time (UTC-4) in New York since 2026-03-08 and until
2026-11-01: no DST change anywhere near. Every UTC instant below is worked
out by hand (and checked against tzdata at start, so a slip in the
arithmetic is named as one).

Debtors, one per behaviour:
  C-KEPT    promise.made, paid in full before promised_on: promise.kept on
            events, no further step, one thank-you;
  C-BROKE   promise.made, nothing paid: promise.broken at 00:00 local after
            promised_on + 1 grace day, then the missed steps collapsed into
            one at the next send time, then the escalation;
  C-CAP     three invoices due the same day: the third -1d email moves to
            the first day the 2-in-7-days cap allows (and what follows);
  C-QUIET   (America/New_York) paid at 23:30 local: its thank-you at 08:00
            local the next day;
  C-CEASE   contact.ceased (every channel): no reminder, no thank-you for
            a paid invoice, but the escalation command of the other one
            still comes (the step names no "to": no escalation.placed, and
            invoice.escalated is no longer published, issue 16);
  C-RES1    email ceased and sms opted out; contact.resumed on email: the
            next email step is sent again, the sms step stays held;
  C-RES2    everything ceased and sms opted out; contact.resumed without a
            channel: the next email and sms steps are sent again.

Asserted: per debtor, the exact set of (command_id, scheduled_at, kind,
channel, rules) on commands and of (type, id, time, data) of the
scheduler's own records on events (source arrears-scheduler), with every
event ingest or the scheduler rejected a failure, no command id twice, every
command fired at or after its scheduled_at and keyed tenant/customer_id.
On a difference the test prints, per debtor, what is missing and what is
unexpected, and what `arrears-scheduler backtest` makes of the same ledger
(diagnostic only: the expectations are the hand-worked ones below).

Timing: 1 simulated day = 3 s real (x28800), 15.3 simulated days. Every
event lies at least 12 simulated hours (1.5 s real) away from a timer of
its debtor, so the pipeline's latency cannot reorder an event and a step.

Environment: ARREARS_CR_FACTOR (28800) simulated seconds per real second.
"""
import datetime as dt
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import t_contract_lib as C  # noqa: E402 -- the services on private topics (Stack)
import t_scheduler_lib as L  # noqa: E402 -- Clock, iso, parse_iso, local_ms

T = "acme"
LON, NY = "Europe/London", "America/New_York"
FACTOR = int(os.environ.get("ARREARS_CR_FACTOR", "28800"))
SIM0 = "2026-04-12T12:00:00.000Z"
END = "2026-04-27T20:00:00.000Z"  # 12 h after the last expected record
LEAD_S = 6  # real seconds between starting the services and SIM0

POLICY = {
    "version": 1,
    "comment": "t_contact_rules.py: a short ladder, the 08:00-21:00 window, a cap, promises",
    "defaults": {"timezone": LON, "locale": "en-GB", "send_at": "09:00"},
    "payment_thanks": {"enabled": True, "channel": "email", "template": "payment_thanks"},
    "ladders": {"short": [
        {"name": "-1d", "offset": "-1d", "channel": "email", "template": "due_soon"},
        {"name": "+1d", "offset": "+1d", "channel": "email", "template": "overdue_1"},
        {"name": "+2d", "offset": "+2d", "channel": "sms", "template": "overdue_2_sms",
         "send_at": "11:00"},
        {"name": "+5d", "offset": "+5d", "action": "escalation", "channel": "letter",
         "template": "agency_handoff", "level": 1, "send_at": "22:00"},
    ]},
    "strategies": [{"name": "default", "ladder": "short"}],
    "contact_rules": {
        "window": {"start": "08:00", "end": "21:00"},
        "caps": [{"channels": ["email"], "max": 2, "days": 7}],
    },
    "promises": {"grace_days": 1},
}


# ------------------------------------------------------------ the ledger

def ce(eid, etype, time_utc, data, source="billing"):
    return {"specversion": "1.0", "id": eid, "source": source, "type": etype,
            "time": time_utc, "tenant": T, "data": data}


def customer(cid, zone, opted_out=()):
    return ce("cu-" + cid, "customer.upserted", "2026-04-12T18:00:00Z",
              {"customer_id": cid, "name": "Name " + cid, "email": cid.lower() + "@x.test",
               "phone": "+447700900123", "timezone": zone, "locale": "en-GB",
               "country": "US" if zone == NY else "GB", "channels": ["email", "sms"],
               "opted_out": list(opted_out)}, source="crm")


def invoice(iid, cid, amount, due):
    return ce("inv-" + iid, "invoice.issued", "2026-04-12T18:00:00Z",
              {"invoice_id": iid, "customer_id": cid, "number": "N-" + iid, "currency": "EUR",
               "amount": amount, "issued_on": "2026-04-01", "due_on": due})


def payment(pid, cid, amount, iid, time_utc):
    return ce("pay-" + pid, "payment.received", time_utc,
              {"payment_id": pid, "customer_id": cid, "currency": "EUR", "amount": amount,
               "received_at": time_utc, "allocations": [{"invoice_id": iid, "amount": amount}]},
              source="bank")


def promise(eid, cid, iid, amount, promised_on, time_utc):
    return ce(eid, "promise.made", time_utc,
              {"customer_id": cid, "invoice_ids": [iid], "currency": "EUR", "amount": amount,
               "promised_on": promised_on}, source="portal")


def ceased(cid, channel, time_utc):
    d = {"customer_id": cid}
    if channel:
        d["channel"] = channel
    return ce("cease-" + cid, "contact.ceased", time_utc, d, source="crm")


def resumed(cid, channel, time_utc):
    d = {"customer_id": cid}
    if channel:
        d["channel"] = channel
    return ce("resume-" + cid, "contact.resumed", time_utc, d, source="sms-gateway")


def ledger():
    evs = [
        # 04-12 18:00Z: the debtors and their invoices (all due 04-16 but C-CAP's, due 04-14)
        customer("C-KEPT", LON), customer("C-BROKE", LON), customer("C-CAP", LON),
        customer("C-QUIET", NY), customer("C-CEASE", LON),
        customer("C-RES1", LON, ["sms"]), customer("C-RES2", LON, ["sms"]),
        invoice("I-K", "C-KEPT", "120.00", "2026-04-16"),
        invoice("I-B", "C-BROKE", "80.00", "2026-04-16"),
        invoice("I-1", "C-CAP", "10.00", "2026-04-14"),
        invoice("I-2", "C-CAP", "20.00", "2026-04-14"),
        invoice("I-3", "C-CAP", "30.00", "2026-04-14"),
        invoice("I-Q", "C-QUIET", "45.00", "2026-04-16"),
        invoice("I-C1", "C-CEASE", "50.00", "2026-04-16"),
        invoice("I-C2", "C-CEASE", "60.00", "2026-04-16"),
        invoice("I-R1", "C-RES1", "70.00", "2026-04-16"),
        invoice("I-R2", "C-RES2", "75.00", "2026-04-16"),
        # 04-12 20:00Z: ceases (more than two days before any step)
        ceased("C-CEASE", None, "2026-04-12T20:00:00Z"),
        ceased("C-RES1", "email", "2026-04-12T20:00:00Z"),
        ceased("C-RES2", None, "2026-04-12T20:00:00Z"),
        # 04-15 20:00Z (21:00 BST), 12 h after the -1d step, 36 h before the +1d one
        promise("pm-K", "C-KEPT", "I-K", "120.00", "2026-04-19", "2026-04-15T20:00:00Z"),
        promise("pm-B", "C-BROKE", "I-B", "80.00", "2026-04-17", "2026-04-15T20:00:00Z"),
        # 04-15 23:30 EDT = 04-16 03:30Z (EDT = UTC-4): after the window's end
        payment("PAY-Q", "C-QUIET", "45.00", "I-Q", "2026-04-16T03:30:00Z"),
        # 04-16 08:00Z: resumes, 24 h after the -1d step and 24 h before the +1d one
        resumed("C-RES1", "email", "2026-04-16T08:00:00Z"),
        resumed("C-RES2", None, "2026-04-16T08:00:00Z"),
        # 04-16 12:00Z: C-CEASE pays I-C1 in full (its thank-you is held)
        payment("PAY-C", "C-CEASE", "50.00", "I-C1", "2026-04-16T12:00:00Z"),
        # 04-18 13:00Z (14:00 BST): C-KEPT pays 120.00, before promised_on 04-19
        payment("PAY-K", "C-KEPT", "120.00", "I-K", "2026-04-18T13:00:00Z"),
    ]
    return sorted(evs, key=lambda e: e["time"])  # stable: same-time lines keep their order


# ------------------------------------------------------------ expectations

def at(utc, local, zone=LON):
    """utc (worked out by hand) after a check that it is local ("YYYY-MM-DD
    HH:MM") in zone, per tzdata."""
    day, hhmm = local.split()
    if L.local_ms(dt.date.fromisoformat(day), hhmm, zone) != L.parse_iso(utc):
        C.fail("test data: %s is not %s in %s" % (utc, local, zone))
    return utc


def cmd(iid, what, sched, kind="reminder", channel="email", rules=""):
    """what: a step index or "thanks/<payment_id>"; rules: the command's
    "rules" (the rules that moved it), comma-separated, "" when absent."""
    cid = "%s/inv/%s/%s" % (T, iid, what if isinstance(what, str) else "step/%d/attempt/1" % what)
    return (cid, sched, kind, channel, "rules=[%s]" % rules)


def esc_cmd(iid, sched):
    return cmd(iid, 3, sched, "escalation", "letter")


def data_of(d):
    """An event's data as comparable text."""
    return json.dumps(d, sort_keys=True, separators=(",", ":"))


def promise_ev(kind, pid, cust, iid, amount_minor, promised_on, time_utc):
    return ("promise." + kind, "%s/%s" % (pid, kind), time_utc,
            data_of({"customer_id": cust, "invoice_ids": [iid], "currency": "EUR",
                     "amount_minor": amount_minor, "promised_on": promised_on}))


def expected():
    """{customer: (set of commands, set of scheduler events)}."""
    # due 04-16 in London: -1d = 04-15 09:00 BST = 08:00Z, +1d = 04-17 08:00Z,
    # +2d = 04-18 11:00 BST = 10:00Z, +5d = 04-21 22:00 BST = 21:00Z
    s0 = at("2026-04-15T08:00:00.000Z", "2026-04-15 09:00")
    s1 = at("2026-04-17T08:00:00.000Z", "2026-04-17 09:00")
    s2 = at("2026-04-18T10:00:00.000Z", "2026-04-18 11:00")
    s3 = at("2026-04-21T21:00:00.000Z", "2026-04-21 22:00")
    exp = {}

    # C-KEPT: -1d goes; the promise (04-15 21:00 BST) pauses +1d; the
    # payment at 04-18 13:00Z reaches 120.00 before the break (00:00 BST on
    # 04-21 = 04-19 + 1 grace day + 1): promise.kept at the payment's time,
    # the invoice is paid: thanks at once (14:00 BST is inside the window;
    # the cap counts 1 email in 04-12..04-18, so a second is allowed); no
    # +1d, +2d, +5d.
    paid_k = at("2026-04-18T13:00:00.000Z", "2026-04-18 14:00")
    exp["C-KEPT"] = ({cmd("I-K", 0, s0),
                      cmd("I-K", "thanks/PAY-K", paid_k, "payment.thanks")},
                     {promise_ev("kept", "pm-K", "C-KEPT", "I-K", 12000, "2026-04-19", paid_k)})

    # C-BROKE: -1d goes; promised_on 04-17 + 1 grace day: broken at 00:00
    # BST on 04-19 = 04-18 23:00Z. +1d (04-17 08:00Z) and +2d (04-18
    # 10:00Z) were missed: they collapse into the latest, +2d, at its next
    # send time, 11:00 BST on 04-19 = 10:00Z (+5d, 04-21, comes later at its
    # own time, 22:00 BST: not moved by the window, it is an escalation).
    broken = at("2026-04-18T23:00:00.000Z", "2026-04-19 00:00")
    exp["C-BROKE"] = ({cmd("I-B", 0, s0),
                       cmd("I-B", 2, at("2026-04-19T10:00:00.000Z", "2026-04-19 11:00"),
                           channel="sms"),
                       esc_cmd("I-B", s3)},
                      {promise_ev("broken", "pm-B", "C-BROKE", "I-B", 8000, "2026-04-17", broken)})

    # C-CAP: I-1, I-2, I-3 due 04-14: -1d = 04-13 09:00 BST (08:00Z), +1d =
    # 04-15 08:00Z, +2d = 04-16 11:00 BST (10:00Z), +5d = 04-19 22:00 BST
    # (21:00Z). Cap: a send on local day d is allowed while fewer than 2
    # emails were sent on d-6..d. Timers due together fire in invoice id order.
    c0 = at("2026-04-13T08:00:00.000Z", "2026-04-13 09:00")
    c1 = at("2026-04-15T08:00:00.000Z", "2026-04-15 09:00")
    c2 = at("2026-04-16T10:00:00.000Z", "2026-04-16 11:00")
    c3 = at("2026-04-19T21:00:00.000Z", "2026-04-19 22:00")
    # 04-13: I-1 and I-2 -1d go (2 emails on 04-13). I-3's -1d is the third:
    #   the first day d whose d-6..d leaves 04-13 out is 04-20 -> 04-20 09:00
    #   BST (08:00Z, its send_at).
    # 04-15: I-1 and I-2 +1d: 04-09..04-15 holds the two of 04-13 -> both
    #   move to 04-20 09:00 BST as well.
    # 04-20 08:00Z, in id order: I-1 +1d goes, I-2 +1d goes (04-14..04-20: 0
    #   then 1 email); I-3 -1d is the third again: the first day leaving
    #   04-20 out is 04-27 -> 04-27 09:00 BST (08:00Z). I-1's and I-2's next
    #   steps, +2d (sms, no cap) and +5d, are already past: they fire at once,
    #   with their own instants as scheduled_at.
    # 04-27 08:00Z: I-3 -1d goes (04-21..04-27: 0), then its +1d, already
    #   past, at once (1 email on 04-21..04-27: allowed), +2d and +5d.
    c20 = at("2026-04-20T08:00:00.000Z", "2026-04-20 09:00")
    c27 = at("2026-04-27T08:00:00.000Z", "2026-04-27 09:00")
    cap = "cap:email:2/7d"  # the rule a cap move names in the command
    exp["C-CAP"] = ({cmd("I-1", 0, c0), cmd("I-2", 0, c0),
                     cmd("I-1", 1, c20, rules=cap), cmd("I-2", 1, c20, rules=cap),
                     cmd("I-1", 2, c2, channel="sms"), cmd("I-2", 2, c2, channel="sms"),
                     esc_cmd("I-1", c3), esc_cmd("I-2", c3),
                     cmd("I-3", 0, c27, rules=cap),  # moved twice by the one cap: named once
                     cmd("I-3", 1, c1), cmd("I-3", 2, c2, channel="sms"),
                     esc_cmd("I-3", c3)},
                    set())

    # C-QUIET (New York, EDT = UTC-4): -1d = 04-15 09:00 EDT = 13:00Z; paid
    # in full at 23:30 EDT on 04-15 (04-16 03:30Z), after the window's end:
    # the thank-you moves to the next allowed instant, 08:00 EDT on 04-16 =
    # 12:00Z (a thank-you has no send_at: the window's start). 1 email on
    # 04-10..04-16 before it: the cap allows it.
    exp["C-QUIET"] = ({cmd("I-Q", 0, at("2026-04-15T13:00:00.000Z", "2026-04-15 09:00", NY)),
                       cmd("I-Q", "thanks/PAY-Q",
                           at("2026-04-16T12:00:00.000Z", "2026-04-16 08:00", NY),
                           "payment.thanks", rules="window:moved")},
                      set())

    # C-CEASE: every channel ceased: no -1d/+1d/+2d for I-C1 or I-C2, no
    # thank-you for I-C1 (paid 04-16); I-C2's escalation at 22:00 BST on
    # 04-21 goes, through the cease and outside the window.
    exp["C-CEASE"] = ({esc_cmd("I-C2", s3)}, set())

    # C-RES1: email ceased, sms opted out: -1d held; contact.resumed on email
    # (04-16): +1d is sent again; +2d (sms) stays held; +5d.
    exp["C-RES1"] = ({cmd("I-R1", 1, s1), esc_cmd("I-R1", s3)}, set())

    # C-RES2: everything ceased, sms opted out: -1d held; contact.resumed
    # without a channel (04-16) lifts the cease and the opt-out: +1d (email)
    # and +2d (sms) are sent; +5d.
    exp["C-RES2"] = ({cmd("I-R2", 1, s1), cmd("I-R2", 2, s2, channel="sms"),
                      esc_cmd("I-R2", s3)},
                     set())
    return exp


# ------------------------------------------------------------ the run

def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def backtest(policy, events):
    """The backtest's records of the same ledger up to the end of END's
    day, by debtor (diagnostic)."""
    until = (dt.date.fromisoformat(END[:10]) + dt.timedelta(days=1)).isoformat()
    r = subprocess.run([os.path.join(C.BIN, "arrears-scheduler"), "backtest", "--policy", policy,
                        "--events", events, "--until", until],
                       capture_output=True, text=True)
    by = {}
    if r.returncode:
        return {"*": ["backtest exited %d: %s" % (r.returncode, r.stderr.strip())]}
    for line in r.stdout.splitlines():
        o = json.loads(line)
        rec = o["record"]
        cust = o["key"].split("/", 1)[1]
        if o["topic"] == "commands":
            s = "command  %s %s %s/%s" % (rec["command_id"], rec["scheduled_at"], rec["kind"],
                                          rec["channel"])
        elif o["topic"] == "events":
            s = "event    %s %s %s" % (rec["type"], rec["id"], rec["time"])
        else:
            s = "decision %s step %s %s at %s" % (rec["rule"], rec.get("step_name"),
                                                  rec.get("invoice_id"), rec.get("scheduled_at"))
        by.setdefault(cust, []).append(s)
    return by


def run(st):
    tmp = st.tmp
    policy, events = os.path.join(tmp, "policy.json"), os.path.join(tmp, "ledger.jsonl")
    write(policy, json.dumps(POLICY, indent=1) + "\n")
    led = ledger()
    write(events, "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in led))
    exp = expected()

    clock = L.Clock(SIM0, FACTOR, delay_s=LEAD_S)
    t_real = time.time()
    st.start("ingest", clock.spec, {"ARREARS_INGEST_BATCH_FILL": "2ms"})
    st.start("scheduler", clock.spec, {"ARREARS_SCHEDULER_TICK": "5ms", "ARREARS_POLICY": policy})
    st.wait_ready(["ingest", "scheduler"])
    if time.time() > clock.real0 - 0.5:
        C.fail("the services took too long to start: simulated time has begun")
    pub = st.start_raw("publish", [os.path.join(C.BIN, "arrears-publish"), "--paced", events],
                       dict(st.env, ARREARS_CLOCK=clock.spec))
    end_ms = L.parse_iso(END)
    print("live: %d events, %s .. %s at x%d (%.0f s real)"
          % (len(led), SIM0, END, FACTOR, (end_ms - clock.sim0) / 1000.0 / FACTOR))
    clock.wait_until(end_ms)
    st.alive()
    if pub.wait(timeout=30) != 0:
        C.fail("arrears-publish exited %d:\n%s" % (pub.returncode, st.log("publish")))
    deadline = time.time() + 30
    while True:  # every event through ingest and the scheduler
        st.alive()
        mi, ms = st.metrics("ingest"), st.metrics("scheduler")
        acc = C.metric(mi, 'arrears_ingest_messages_total{result="accepted"}')
        rej = C.metric(mi, 'arrears_ingest_messages_total{result="rejected"}')
        srej = C.metric(ms, 'arrears_scheduler_events_total{result="rejected"}')
        lag = (C.metric(mi, "arrears_ingest_lag_messages")
               + C.metric(ms, "arrears_scheduler_lag_messages"))
        if rej or srej:
            C.fail("%d event(s) rejected by ingest, %d by the scheduler:\n%s\n%s"
                   % (rej, srej, st.log("ingest"), st.log("scheduler")))
        if acc >= len(led) and lag == 0:
            break
        if time.time() > deadline:
            C.fail("not caught up in 30 s: ingest accepted %d of %d, lag %d" % (acc, len(led), lag))
        time.sleep(0.3)
    st.stop()  # SIGTERM: the scheduler waits for its deliveries
    for name, p in st.procs.items():
        if p.returncode not in (0, None):
            C.fail("%s exited %d:\n%s" % (name, p.returncode, st.log(name)))

    # ---- what was published
    got = {c: (set(), set()) for c in exp}
    ids, problems = {}, []
    for rec in st.consume("commands"):
        b = rec["body"]
        cust = b["customer"]["customer_id"]
        ids[b["command_id"]] = ids.get(b["command_id"], 0) + 1
        if rec["key"] != "%s/%s" % (T, cust) or rec["headers"].get("command_id") != b["command_id"]:
            problems.append("key/header of %s: %s %s" % (b["command_id"], rec["key"], rec["headers"]))
        if L.parse_iso(b["created_at"]) < L.parse_iso(b["scheduled_at"]):
            problems.append("%s fired before its time: created_at %s"
                            % (b["command_id"], b["created_at"]))
        got.setdefault(cust, (set(), set()))[0].add(
            (b["command_id"], b["scheduled_at"], b["kind"], b["channel"],
             "rules=[%s]" % ",".join(b.get("rules", []))))
    nev = 0
    for rec in st.consume("events"):
        b = rec["body"]
        if b.get("source") != "arrears-scheduler":
            continue
        nev += 1
        cust = b["customer_id"]
        if rec["key"] != "%s/%s" % (T, cust):
            problems.append("key of event %s: %s" % (b["id"], rec["key"]))
        got.setdefault(cust, (set(), set()))[1].add((b["type"], b["id"], b["time"],
                                                     data_of(b["data"])))
    problems += ["%s published %d times" % (i, n) for i, n in sorted(ids.items()) if n > 1]

    # ---- compare
    bt = None
    for cust in sorted(got):
        want_c, want_e = exp.get(cust, (set(), set()))
        have_c, have_e = got[cust]
        lines = ["  missing  " + " ".join(map(str, x)) for x in sorted(want_c - have_c)]
        lines += ["  extra    " + " ".join(map(str, x)) for x in sorted(have_c - want_c)]
        lines += ["  missing  " + " ".join(x) for x in sorted(want_e - have_e)]
        lines += ["  extra    " + " ".join(x) for x in sorted(have_e - want_e)]
        if lines:
            if bt is None:
                bt = backtest(policy, events)
            seen = bt.get(cust, bt.get("*", ["(nothing)"]))
            problems.append("%s: live differs from the expectation:\n%s\n"
                            "  backtest of the same ledger (diagnostic):\n%s"
                            % (cust, "\n".join(lines), "\n".join("    " + x for x in seen)))
        else:
            print("ok %-8s %2d command(s), %d scheduler event(s)" % (cust, len(have_c), len(have_e)))
    if problems:
        C.fail("%d problem(s):\n%s" % (len(problems), "\n".join(problems)))
    print("ok: %d commands, %d scheduler events as worked out by hand, in %.1f s real"
          % (sum(ids.values()), nev, time.time() - t_real))


def main():
    C.require(["arrears-ingest", "arrears-scheduler", "arrears-publish", "arrears-admin"])
    st = C.Stack("cr", partitions=3)
    try:
        run(st)
    finally:
        st.cleanup()


if __name__ == "__main__":
    main()
