#!/usr/bin/env python3
"""t_reporter_periodic.py -- periodic reports follow the shared clock.

With ARREARS_CLOCK scaled so that one simulated day lasts 16 real seconds
and ARREARS_REPORT_INTERVAL=1d, the reporter publishes, without being
asked, every report of every tenant at each simulated midnight, as of the
day that just ended: the first as of 2026-03-31 must match ledger1's
independently worked-out answers, and the next one is as of 2026-04-01."""
import time

from t_reporter_lib import Env, check, fail, ledger, require_stack

require_stack()
events, contacts, expected = ledger("ledger1")
env = Env("periodic")
try:
    env.publish_events(events)
    env.publish_contacts(contacts)
    start = int(time.time()) + 1
    clock = "2026-03-31T00:00:00Z@%dx5400" % start  # 1 simulated day = 16 real seconds
    p = env.start({"ARREARS_CLOCK": clock, "ARREARS_REPORT_INTERVAL": "1d"})
    periodic = lambda k, r: "request_id" not in r and r.get("as_of") == "2026-03-31"
    got = env.wait_reports(periodic, 6, timeout=60, what="the periodic reports as of 2026-03-31")
    if len(got) != 6:
        fail("expected one periodic report per tenant and type for 2026-03-31, got %d" % len(got))
    check(expected, [r for _, r in got], "periodic reports at simulated midnight")
    for k, r in got:
        if k != "%s/%s" % (r["tenant"], r["type"]):
            fail("key %r is not tenant/report-type" % k)
        if r["generated_at"] < "2026-04-01T00:00:00.000Z":  # never before the tick
            fail("generated_at %r is before the simulated midnight" % r["generated_at"])
    env.wait_reports(lambda k, r: "request_id" not in r and r.get("as_of") == "2026-04-01", 6, timeout=60,
                     what="the next day's periodic reports")
    env.stop(p)
    print("ok: periodic reports follow the scaled shared clock")
finally:
    env.cleanup()
