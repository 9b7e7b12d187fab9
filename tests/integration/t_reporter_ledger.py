#!/usr/bin/env python3
"""t_reporter_ledger.py -- the reporter against the real stack (issue 6).

Publishes tests/data/reporter/ledger1 (canonical events keyed
tenant/customer_id, a poison record, duplicates; contact outcomes) on a
private topic set, asks for the reports on reports.requests and checks
that the answers carry the request id and match expected.json (worked out
independently by tests/data/reporter/expected.py) to the cent and to 0.01
day. Then: restart with SIGTERM in the middle of the ledger, kill -9 with
records re-delivered, and a second reporter with a fresh group (no
snapshot) rebuilding from the start of retention -- each must give the same
answers, never double counting."""
import signal
import time

from t_reporter_lib import Env, check, fail, ledger, require_stack

require_stack()
events, contacts, expected = ledger("ledger1")
env = Env("ledger")
try:
    half = len(events) // 2
    # phase 1: the first half, then a restart by SIGTERM
    env.publish_events(events[:half])
    env.produce("events", [("acme/x", "poison {")])  # not JSON: rejected, not fatal
    env.publish_contacts(contacts[:5])
    p = env.start()
    env.request("req-1", "acme", "2026-03-31", ["aging"])
    got = env.wait_reports(lambda k, r: r.get("request_id") == "req-1", 1, what="the answer to req-1")
    k, r = got[0]
    if k != "acme/aging" or r["type"] != "aging" or r["v"] != 1:
        fail("answer to req-1 has key %r type %r" % (k, r.get("type")))
    time.sleep(1.5)  # a snapshot
    env.stop(p)

    # phase 2: the rest, plus the first half again (at-least-once re-delivery)
    p = env.start()
    env.publish_events(events[half:])
    env.publish_events(events[:half])
    env.publish_contacts(contacts[5:])
    env.publish_contacts(contacts[:3])
    env.request("req-2", "acme", "2026-03-31")
    env.request("req-3", "globex", "2026-03-31")
    got = env.wait_reports(lambda k, r: r.get("request_id") in ("req-2", "req-3"), 6, what="answers to req-2/3")
    check(expected, [r for _, r in got], "after a SIGTERM restart and re-delivered records")
    if env.log_count("reporter", "snapshot loaded") != 1:
        fail("the restarted reporter did not load its snapshot:\n" + env.log(p))
    for k, r in got:
        if k != "%s/%s" % (r["tenant"], r["type"]):
            fail("report key %r is not tenant/report-type" % k)

    # phase 3: kill -9 after a snapshot, re-deliver everything, restart
    time.sleep(1.5)
    env.stop(p, signal.SIGKILL)
    env.publish_events(events)
    env.publish_contacts(contacts)
    p = env.start()
    env.request("req-4", "acme", "2026-03-31")
    env.request("req-5", "globex", "2026-03-31")
    got = env.wait_reports(lambda k, r: r.get("request_id") in ("req-4", "req-5"), 6, what="answers to req-4/5")
    check(expected, [r for _, r in got], "after kill -9 and a full re-delivery")
    if env.log_count("reporter", "snapshot loaded") != 2:
        fail("the reporter restarted after kill -9 did not load its snapshot:\n" + env.log(p))
    env.stop(p)

    # phase 4: a fresh group (no snapshot) rebuilds from the start of retention
    p = env.start({"ARREARS_GROUP_ID": env.group + "-fresh"}, name="fresh")
    env.request("req-6", "acme", "2026-03-31")
    env.request("req-7", "globex", "2026-03-31")
    got = env.wait_reports(lambda k, r: r.get("request_id") in ("req-6", "req-7"), 6, what="answers to req-6/7")
    check(expected, [r for _, r in got], "rebuilt from the start of retention")
    if env.log_count("fresh", "snapshot loaded") != 0:
        fail("a fresh group found a snapshot")

    # bin/arrears-report: the latest answers, as JSON for scripts and as tables
    import json, os, subprocess
    from t_reporter_lib import BIN
    out = subprocess.run([os.path.join(BIN, "arrears-report"), "--json", "--request-id", "req-6"],
                         env=env.env, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        fail("arrears-report --json exited %d: %s" % (out.returncode, out.stderr))
    printed = [json.loads(l) for l in out.stdout.splitlines()]
    acme = {"as_of": expected["as_of"], "reports": [r for r in expected["reports"] if r["tenant"] == "acme"]}
    if len(printed) != 3:
        fail("arrears-report --json printed %d reports for req-6, not 3" % len(printed))
    check(acme, printed, "arrears-report --json")
    out = subprocess.run([os.path.join(BIN, "arrears-report"), "--tenant", "acme", "--type", "aging"],
                         env=env.env, capture_output=True, text=True, timeout=60)
    if out.returncode != 0 or "== aging  tenant acme  as of 2026-03-31" not in out.stdout \
            or "5650.50" not in out.stdout or "low" not in out.stdout:
        fail("arrears-report table output:\n" + out.stdout + out.stderr)

    # arrears-report --ask: sends a request and prints the answers
    out = subprocess.run([os.path.join(BIN, "arrears-report"), "--ask", "--tenant", "acme", "--as-of", "2026-03-31",
                          "--json", "--timeout", "60"], env=env.env, capture_output=True, text=True, timeout=90)
    if out.returncode != 0:
        fail("arrears-report --ask exited %d: %s" % (out.returncode, out.stderr))
    asked = [json.loads(l) for l in out.stdout.splitlines()]
    if len(asked) != 3 or len({r["request_id"] for r in asked}) != 1:
        fail("arrears-report --ask printed %r" % [(r.get("type"), r.get("request_id")) for r in asked])
    check(acme, asked, "arrears-report --ask")

    # a bad request is answered with an error naming the field
    env.request("req-8", "acme", "2026-02-30")
    got = env.wait_reports(lambda k, r: r.get("request_id") == "req-8", 1, what="the answer to req-8")
    if got[0][1].get("type") != "error" or "as_of" not in got[0][1].get("error", ""):
        fail("bad request answered with %r" % got[0][1])
    # a request over CT_REPORT_REQUEST_MAX (4096 bytes) is answered with an error, by its id
    big = {"v": 1, "id": "req-9", "tenant": "acme", "as_of": "2026-03-31", "types": ["aging"] * 600}
    if len(json.dumps(big)) <= 4096:
        fail("the oversized request is only %d bytes" % len(json.dumps(big)))
    env.produce("reports.requests", [("acme/req-9", big)])
    got = env.wait_reports(lambda k, r: r.get("request_id") == "req-9", 1, what="the answer to req-9")
    if got[0][1].get("type") != "error" or "more than 4096" not in got[0][1].get("error", ""):
        fail("oversized request answered with %r" % got[0][1])
    # issue 18: a day before the fact retention (t_reporter_lib sets it) is
    # refused, naming the field, the setting and the rule
    env.request("req-10", "acme", "2020-01-31")
    got = env.wait_reports(lambda k, r: r.get("request_id") == "req-10", 1, what="the answer to req-10")
    err = got[0][1].get("error", "")
    if got[0][1].get("type") != "error" or not err.startswith("as_of: 2020-01-31 is before ") \
            or "(ARREARS_REPORTER_FACT_RETENTION %s: reports as of today minus the retention or later)" \
            % env.env["ARREARS_REPORTER_FACT_RETENTION"] not in err:
        fail("a request before the retention answered with %r" % got[0][1])
    env.stop(p)
    print("ok: restart, kill -9, re-delivery and rebuild give the same answers; bad, oversized and "
          "too old requests answered")
finally:
    env.cleanup()
