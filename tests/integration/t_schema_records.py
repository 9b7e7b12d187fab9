#!/usr/bin/env python3
"""t_schema_records.py -- records from a real pipeline run validate against
the JSON Schemas of schemas/ (docs/contracts.md, docs/reports.md).

Runs ingest, scheduler, notifier (SMTP and HTTP sinks) and reporter on
private topics with a scaled clock (one simulated hour per real second from
2026-03-31T06:00Z), publishes a small ledger with arrears-publish whose
invoices are due 1, 8, 15, 31, 61 and 91 days before the clock's day (so
the standard ladder of deploy/config/policy.json fires a reminder, an SMS,
a call task, a letter and an escalation, each at its next send time) and
one invoice paid in full (a payment.thanks), asks the reporter for its
reports and sends it one bad request. Then every record on `commands`,
`contacts`, `tasks` and `reports` must validate against its schema
(command.json, contact-outcome.json, task.json, report-<type>.json), be
keyed as docs say, and every command kind, a task, each report type and an
error answer must be there."""
import datetime as dt
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from t_contract_lib import (BIN, REPO, VALIDATOR, Stack, fail, free_port, load_schema,  # noqa: E402
                            require, skip, violation)

FACTOR = 3600
DAY = dt.date(2026, 3, 31)
ARRIVED = "2026-03-31T05:59:00Z"  # the clock starts at 06:00Z (scenario)
KINDS = ["reminder", "payment.thanks", "call_task", "letter", "escalation"]


def ledger(tenant):
    """CloudEvents lines: two customers, invoices due 1..91 days ago, one paid.
    The invoices and the payment arrive at ARRIVED, just before the clock
    starts: each ladder is armed late and its past steps collapse into the
    latest (docs/scheduler.md), so every kind of step goes out within the
    run. (Dated at their issue days instead, every past step would fire
    late at once, and the shipped policy's caps would defer most of
    them past the run's end.)"""
    evs = []

    def ev(n, etype, time_, data):
        evs.append({"specversion": "1.0", "id": "sr-%03d" % n, "source": "billing-schema",
                    "type": etype, "time": time_, "tenant": tenant, "data": data})

    for c in ("C-1", "C-2"):
        ev(len(evs), "customer.upserted", "2025-12-01T08:00:00Z",
           {"customer_id": c, "name": "Schema %s Ltd" % c, "email": "ap@%s.test" % c.lower(),
            "phone": "+447700900123", "timezone": "Europe/London", "locale": "en-GB",
            "country": "GB", "channels": ["email", "sms"]})
    n = 0
    for ago in (1, 8, 15, 31, 61, 91):
        n += 1
        due = DAY - dt.timedelta(days=ago)
        issued = due - dt.timedelta(days=30)
        ev(len(evs), "invoice.issued", ARRIVED,
           {"invoice_id": "INV-%d" % n, "customer_id": "C-%d" % (1 + n % 2),
            "number": "2026-%04d" % n, "currency": "EUR", "amount": "%d.50" % (100 * n),
            "issued_on": issued.isoformat(), "due_on": due.isoformat()})
    ev(len(evs), "invoice.issued", ARRIVED,
       {"invoice_id": "INV-PAID", "customer_id": "C-1", "number": "2026-0099",
        "currency": "EUR", "amount": "75.00", "issued_on": "2026-03-20",
        "due_on": "2026-04-19"})
    ev(len(evs), "payment.received", ARRIVED,
       {"payment_id": "PAY-1", "customer_id": "C-1", "currency": "EUR", "amount": "75.00",
        "received_on": "2026-03-30", "allocations": [{"invoice_id": "INV-PAID",
                                                      "amount": "75.00"}]})
    return evs


def main():
    require(["arrears-ingest", "arrears-scheduler", "arrears-notifier", "arrears-reporter",
             "arrears-admin", "arrears-publish"])
    py = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
    if subprocess.run([py, "-c", "import aiosmtpd"], capture_output=True).returncode != 0:
        skip("python3-aiosmtpd is not installed for " + py)
    st = Stack("schema")
    try:
        return scenario(st, py)
    finally:
        st.cleanup()


def scenario(st, py):
    tenant = "sr" + st.token.replace("-", "")[-10:]
    print("validating with " + VALIDATOR)
    mail, http = os.path.join(st.tmp, "mail"), os.path.join(st.tmp, "http")
    os.makedirs(mail)
    os.makedirs(http)
    smtp_port, http_port = free_port(), free_port()
    st.start_raw("smtp-sink", [py, "tests/sinks/smtp_sink.py", "--dir", mail, "--port",
                               str(smtp_port)])
    st.start_raw("http-sink", [py, "tests/sinks/http_sink.py", "--dir", http, "--port",
                               str(http_port)])
    t0 = int(time.time()) + 4
    clock = "2026-03-31T06:00:00Z@%dx%d" % (t0, FACTOR)
    notifier = {
        "ARREARS_SMTP_URL": "smtp://127.0.0.1:%d" % smtp_port,
        "ARREARS_SMTP_TLS": "none",
        "ARREARS_SMTP_FROM": "ar@schema.example.test",
        "ARREARS_SMS_URL": "http://127.0.0.1:%d/sms" % http_port,
        "ARREARS_SMS_ACCOUNT": "ACschema",
        "ARREARS_SMS_TOKEN": "schema-token",
        "ARREARS_SMS_FROM": "+447700900000",
        "ARREARS_PAYLINK_URL": "https://pay.schema.example.test/{token}",
        "ARREARS_PAYLINK_SECRET": "schema-paylink-secret-01",
        "ARREARS_RETRY_BASE": "100ms",
        "ARREARS_RETRY_MAX": "2s",
    }
    svcs = ["ingest", "scheduler", "notifier", "reporter"]
    for s in svcs:
        st.start(s, clock, notifier if s == "notifier" else
                 {"ARREARS_REPORT_INTERVAL": "1d"} if s == "reporter" else None)
    st.wait_ready(svcs)
    path = os.path.join(st.tmp, "ledger.jsonl")
    with open(path, "w") as f:
        for e in ledger(tenant):
            f.write(json.dumps(e) + "\n")
    pub = st.start_raw("publish", [os.path.join(BIN, "arrears-publish"), path], dict(st.env))
    if pub.wait(timeout=60) != 0:
        fail("arrears-publish exited %d:\n%s" % (pub.returncode, st.log("publish")))

    # 40 real seconds = 40 simulated hours: every catch-up step's send time
    # (the next 09:00 or 11:00 local) has passed, and a daily report too
    deadline = time.time() + 40
    while time.time() < deadline:
        st.alive()
        time.sleep(1)
    good = {"v": 1, "id": "schema-req", "tenant": tenant, "as_of": "2026-03-31"}
    bad = {"v": 1, "id": "schema-bad", "tenant": tenant, "as_of": "31/03/2026"}
    st.produce("reports.requests", [("%s/schema-req" % tenant, json.dumps(good)),
                                    ("%s/schema-bad" % tenant, json.dumps(bad))])
    for r in (good, bad):
        e = violation(load_schema("report-request"), r)
        if (e is None) != (r is good):
            fail("schemas/report-request.json: %s request judged wrongly (%s)" %
                 ("a good" if r is good else "a bad", e))

    # wait (bounded) until each command has its outcome and both answers are in
    deadline = time.time() + 60
    while time.time() < deadline:
        st.alive()
        cmds, contacts = st.consume("commands"), st.consume("contacts")
        reports = st.consume("reports")
        answered = {r["body"].get("request_id") for r in reports if r["body"]}
        if cmds and len(contacts) >= len(cmds) and {"schema-req", "schema-bad"} <= answered:
            break
        time.sleep(1)
    topics = {"commands": ("command", st.consume("commands")),
              "contacts": ("contact-outcome", st.consume("contacts")),
              "tasks": ("task", st.consume("tasks")),
              "reports": (None, st.consume("reports"))}
    ok = True
    seen = {"kind": set(), "type": set(), "report": set()}
    for topic, (schema, recs) in topics.items():
        if not recs:
            ok = False
            print("FAIL: nothing on %s" % topic)
        for r in recs:
            b = r["body"]
            if not isinstance(b, dict):
                ok = False
                print("FAIL: %s: not a JSON object: %s" % (topic, r["value"][:200]))
                continue
            name = schema or "report-%s" % b.get("type")
            if not os.path.exists(os.path.join(REPO, "schemas", name + ".json")):
                ok = False
                print("FAIL: %s: no schema %s.json for %s" % (topic, name, r["value"][:200]))
                continue
            e = violation(load_schema(name), b)
            if e:
                ok = False
                print("FAIL: %s record does not validate against schemas/%s.json: %s\n  %s" %
                      (topic, name, e, r["value"][:600]))
            want_key = "%s/%s" % (b.get("tenant"), b.get("type")) if topic == "reports" else \
                "%s/%s" % (b.get("tenant"), (b.get("customer") or {}).get("customer_id")
                           if topic in ("commands", "tasks") else b.get("customer_id"))
            if r["key"] != want_key:
                ok = False
                print("FAIL: %s record keyed %r, not %r" % (topic, r["key"], want_key))
            if topic == "commands":
                seen["kind"].add(b.get("kind"))
                if r["headers"].get("command_id") != b.get("command_id"):
                    ok = False
                    print("FAIL: command header command_id %r != body %r" %
                          (r["headers"].get("command_id"), b.get("command_id")))
            elif topic == "contacts":
                seen["type"].add(b.get("type"))
            elif topic == "reports":
                seen["report"].add(b.get("type"))
        print("%s: %d record(s) checked against schemas/%s.json" %
              (topic, len(recs), schema or "report-<type>"))
    for what, want in (("kind", set(KINDS)), ("type", {"contact.sent"}),
                       ("report", {"aging", "kpis", "effectiveness", "error"})):
        if not want <= seen[what]:
            ok = False
            print("FAIL: no record of %s %s (seen %s)" % (what, sorted(want - seen[what]),
                                                          sorted(seen[what])))
    print("command kinds %s; outcomes %s; reports %s" % (sorted(seen["kind"]),
                                                          sorted(seen["type"]),
                                                          sorted(seen["report"])))
    if not ok:
        for s in ("scheduler", "notifier", "reporter"):
            print("--- %s log (last lines)\n%s" % (s, st.log(s, 10)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
