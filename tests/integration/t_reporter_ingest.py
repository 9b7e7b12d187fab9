#!/usr/bin/env python3
"""t_reporter_ingest.py -- ledger1 through the real ingest, then the reporter.

The inbound CloudEvents lines of tests/data/reporter/ledger1 go to
`inbound` as billing would publish them; bin/arrears-ingest validates and
normalizes them onto `events`; the reporter's answers must equal the same
independently worked-out expected.json. This checks that the canonical
events ingest writes are the ones the reporter (and its replay normalizer)
understand. Skips (77) while arrears-ingest is not built."""
import json
import os
import subprocess
import time

from t_reporter_lib import BIN, DATA, Env, check, check_order, fail, ledger, require_stack, skip

require_stack()
if not os.access(os.path.join(BIN, "arrears-ingest"), os.X_OK):
    skip("arrears-ingest not built")
_, contacts, expected = ledger("ledger1")
env = Env("ingest")
try:
    subprocess.run([os.path.join(BIN, "arrears-admin"), "create-topics", "--partitions", "3", "inbound",
                    "ingest.dlq"], env=env.env, check=True, stdout=subprocess.DEVNULL)
    raw = [json.loads(l) for l in open(os.path.join(DATA, "ledger1", "events.jsonl")) if l.strip()]
    keyed = [("%s/%s" % (e.get("tenant", "default"), e["data"].get("customer_id")), e) for e in raw]
    sent = {}
    for k, e in keyed:
        sent.setdefault(k, []).append(e["id"])
    env.produce("inbound", keyed)
    env.publish_contacts(contacts)
    ingest = env.start({"ARREARS_INGEST_DEDUP_PREFIX": env.prefix + "dedup:",
                        "ARREARS_GROUP_ID": env.group + "-ingest"}, name="ingest", binary="arrears-ingest")
    rep = env.start()
    # wait until ingest has written every event it accepts (all but the bad line)
    deadline = time.time() + 60
    n = 0
    while time.time() < deadline:
        out = subprocess.run(["kcat", "-C", "-b", os.environ["ARREARS_KAFKA_BROKERS"], "-t", env.topic("events"),
                              "-o", "beginning", "-e", "-q", "-f", "%o\n"], capture_output=True, text=True)
        dlq = subprocess.run(["kcat", "-C", "-b", os.environ["ARREARS_KAFKA_BROKERS"], "-t",
                              env.topic("ingest.dlq"), "-o", "beginning", "-e", "-q", "-f", "%o\n"],
                             capture_output=True, text=True)
        n, d = len(out.stdout.split()), len(dlq.stdout.split())
        if n + d >= len(raw) - 1:  # the exact duplicate is dropped by ingest
            break
        time.sleep(0.5)
    print("ingest: %d canonical events, %d to the DLQ" % (n, d))
    # A debtor's events must reach the reporter in the order sent, or its
    # answers differ (an update applied before its issue). Checked at each
    # hop, so that a failure names the one that reordered them: the test's
    # own producer (inbound), or ingest (events).
    check_order(sent, env.key_order("inbound"), "inbound, as produced by the test", exact=True)
    check_order(sent, env.key_order("events"), "events, as written by ingest", exact=False)
    env.request("ing-1", "acme", "2026-03-31")
    env.request("ing-2", "globex", "2026-03-31")
    got = env.wait_reports(lambda k, r: r.get("request_id") in ("ing-1", "ing-2"), 6, what="answers")
    check(expected, [r for _, r in got], "ledger1 through the real ingest")
    env.stop(rep)
    env.stop(ingest)
finally:
    env.cleanup()
