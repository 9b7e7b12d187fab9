#!/usr/bin/env python3
"""t_notifier_ratelimit.py -- the token bucket per provider.

ARREARS_RATE_SMS=5 (burst 5) and 20 SMS commands published at once: the
sink must not see them faster than the bucket allows -- at most 5 + 5*t
requests in the first t seconds, so the 20th arrives no earlier than 3 s
after the first (a lower bound the notifier must respect, not a speed
check). Webhooks (unlimited here) are not held back by the SMS bucket:
all 10 arrive before the SMS are done. Every command is sent once.
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sinks"))
import harness as h  # noqa: E402

brokers, redis_url, bindir = h.stack_env()
run = "%d" % os.getpid()
prefix = "it-ntf-rate-%s." % run
tenant = "itrate%s" % run
work = tempfile.mkdtemp(prefix="t_notifier_ratelimit.")
sinks, procs = [], []
try:
    h.create_topics(bindir, prefix, partitions=3)
    sink = h.Sink("http", work)
    sinks.append(sink)
    env = {
        "ARREARS_TOPIC_PREFIX": prefix, "ARREARS_GROUP_ID": "it-ntf-rate-" + run,
        "ARREARS_HTTP_ADDR": "", "ARREARS_NOTIFIER_KEY_PREFIX": "it:ntf:rate:%s:" % run,
        "ARREARS_SMS_URL": sink.url, "ARREARS_SMS_ACCOUNT": "AC1", "ARREARS_SMS_TOKEN": "t",
        "ARREARS_SMS_FROM": "+15005550006", "ARREARS_RATE_SMS": "5",
        "ARREARS_WEBHOOK_URL": sink.url + "/hook",
        "ARREARS_WEBHOOK_SECRET": "whsec_cmF0ZS1saW1pdC1zZWNyZXQ=",
    }
    sms = [h.command(tenant, "%s/inv/S%02d/step/1/attempt/1" % (tenant, i), channel="sms",
                     customer_id="S%02d" % i) for i in range(20)]
    hooks = [h.command(tenant, "%s/inv/W%02d/step/1/attempt/1" % (tenant, i), channel="webhook",
                       customer_id="W%02d" % i) for i in range(10)]
    h.publish_commands(brokers, prefix + "commands", sms + hooks)
    n = h.Notifier(bindir, env, os.path.join(work, "notifier.log"))
    procs.append(n)
    ids = {c["command_id"] for c in sms + hooks}
    by = h.wait_for(lambda: (lambda o: o if ids <= set(o) else None)(
        h.outcomes(brokers, prefix + "contacts")), 120, "every outcome", procs=procs)
    if any(len(by[i]) != 1 or by[i][0]["type"] != "contact.sent" for i in ids):
        h.fail("not exactly one contact.sent each")
    recs = sink.records()
    st = sorted(r["t"] for r in recs if "/Messages.json" in r["path"])
    wt = sorted(r["t"] for r in recs if r["path"] == "/hook")
    if len(st) != 20 or len(wt) != 10:
        h.fail("sink saw %d SMS and %d webhooks" % (len(st), len(wt)))
    for k in range(len(st)):
        allowed = 5 + 5 * (st[k] - st[0]) + 1  # +1: the bucket's first refill tick
        if k + 1 > allowed:
            h.fail("SMS %d arrived %.2f s after the first: faster than 5/s after a burst of 5"
                   % (k + 1, st[k] - st[0]))
    span = st[-1] - st[0]
    if span < 2.7:
        h.fail("20 SMS in %.2f s: the rate limit was not applied" % span)
    if wt[-1] > st[-1]:
        h.fail("webhooks waited for the SMS bucket")
    rc = n.stop()
    if rc != 0:
        h.fail("notifier exited %s on SIGTERM" % rc)
    print("ok: 20 SMS over %.1f s at 5/s (burst 5); webhooks unaffected; one send each" % span)
finally:
    h.teardown(procs, sinks, work)
