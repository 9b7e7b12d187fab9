#!/usr/bin/env python3
"""t_notifier_retry.py -- the retry rules, against sinks that fail.

One tenant per behaviour (webhook URL per tenant via ARREARS_TENANTS_FILE),
ARREARS_RETRY_ATTEMPTS=4, base delay 100 ms:
  r500    first 2 answers 500, then 200   -> sent, attempts 3, 3 requests
  r429    first answer 429 Retry-After 2  -> sent, attempts 2; the retry
                                             came no earlier than 2 s later
  r400    always 400                      -> failed, attempts 1, 1 request
  rdown   always 500                      -> failed after 4 attempts, 4 requests
  rslow   answers after 3 s, timeout 1 s  -> failed after 4 attempts (timeouts)
  rconn   nothing listening               -> failed after 4 attempts, status ""
  SMTP    451 once, then 250              -> sent, attempts 2
  SMTP    550 on RCPT                     -> failed, attempts 1
Every request of one command carries the same Idempotency-Key and body.
"""
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sinks"))
import harness as h  # noqa: E402

brokers, redis_url, bindir = h.stack_env()
run = "%d" % os.getpid()
prefix = "it-ntf-retry-%s." % run
work = tempfile.mkdtemp(prefix="t_notifier_retry.")
sinks, procs = [], []


try:
    h.create_topics(bindir, prefix)
    cases = {
        "r500": ["--fail-first", "2", "--fail-status", "500"],
        "r429": ["--fail-first", "1", "--fail-status", "429", "--retry-after", "2"],
        "r400": ["--ok-status", "400"],
        "rdown": ["--mode", "500"],
        "rslow": ["--mode", "slow", "--delay-ms", "3000", "--no-idempotency"],
    }
    sk = {name: h.Sink("http", work, args, name=name) for name, args in cases.items()}
    sinks += list(sk.values())
    smtp = h.Sink("smtp", work, ["--tempfail-first", "1", "--reject-rcpt", "reject"])
    sinks.append(smtp)
    secret = "whsec_dGVzdC1zZWNyZXQtZm9yLXJldHJpZXM="
    tenants = {("%s%s" % (n, run)): {"webhook_url": s.url + "/hook", "webhook_secret": secret}
               for n, s in sk.items()}
    tenants["rconn%s" % run] = {"webhook_url": "http://127.0.0.1:%d/hook" % h.free_port(),
                                "webhook_secret": secret}
    tf = os.path.join(work, "tenants.json")
    with open(tf, "w") as f:
        json.dump(tenants, f)
    env = {
        "ARREARS_TOPIC_PREFIX": prefix, "ARREARS_GROUP_ID": "it-ntf-retry-" + run,
        "ARREARS_HTTP_ADDR": "", "ARREARS_NOTIFIER_KEY_PREFIX": "it:ntf:retry:%s:" % run,
        "ARREARS_TENANTS_FILE": tf, "ARREARS_RETRY_ATTEMPTS": "4",
        "ARREARS_RETRY_BASE": "100ms", "ARREARS_RETRY_MAX": "10s",
        "ARREARS_SEND_TIMEOUT": "1s", "ARREARS_CONNECT_TIMEOUT": "1s",
        "ARREARS_SMTP_URL": "smtp://127.0.0.1:%d" % smtp.port, "ARREARS_SMTP_TLS": "none",
        "ARREARS_SMTP_FROM": "ar@acme.test",
    }
    cmds = {}
    for name in list(cases) + ["rconn"]:
        t = "%s%s" % (name, run)
        cmds[name] = h.command(t, "%s/inv/I/step/1/attempt/1" % t, channel="webhook")
    t = "rmail%s" % run
    cmds["mail451"] = h.command(t, "%s/inv/M1/step/1/attempt/1" % t, customer_id="M1")
    cmds["mail550"] = h.command(t, "%s/inv/M2/step/1/attempt/1" % t, customer_id="M2",
                                email="reject@x.test")
    h.publish_commands(brokers, prefix + "commands", cmds.values())
    n = h.Notifier(bindir, env, os.path.join(work, "notifier.log"))
    procs.append(n)
    ids = [c["command_id"] for c in cmds.values()]
    h.wait_for(lambda: all(i in h.outcomes(brokers, prefix + "contacts") for i in ids), 120,
               "an outcome for every command", procs=procs)
    time.sleep(1)
    by = h.outcomes(brokers, prefix + "contacts")
    ev = {}
    for name, c in cmds.items():
        evs = by[c["command_id"]]
        if len(evs) != 1:
            h.fail("%s: %d outcome events" % (name, len(evs)))
        ev[name] = evs[0]

    def expect(name, typ, attempts, status=None, reason=None, requests=None):
        e = ev[name]
        if e["type"] != typ or e["attempts"] != attempts:
            h.fail("%s: want %s after %d attempts, got %s" % (name, typ, attempts, e))
        if status is not None and e["provider_status"] != status:
            h.fail("%s: provider_status %r want %r" % (name, e["provider_status"], status))
        if reason and reason not in e.get("reason", ""):
            h.fail("%s: reason %r lacks %r" % (name, e.get("reason"), reason))
        if requests is not None:
            rs = sk[name].records()
            if len(rs) != requests:
                h.fail("%s: sink got %d requests, want %d" % (name, len(rs), requests))
            if len({r["headers"]["idempotency-key"] for r in rs}) != 1 or \
                    len({r["body"] for r in rs}) != 1:
                h.fail("%s: retries differ in key or body" % name)
            return rs

    expect("r500", "contact.sent", 3, "200", requests=3)
    rs = expect("r429", "contact.sent", 2, "200", requests=2)
    gap = rs[1]["t"] - rs[0]["t"]
    if gap < 1.9:  # a lower bound the notifier must respect, not a speed check
        h.fail("r429: retried %.2f s after a Retry-After of 2 s" % gap)
    expect("r400", "contact.failed", 1, "400", reason="not retried", requests=1)
    expect("rdown", "contact.failed", 4, "500", reason="after 4 attempts", requests=4)
    expect("rslow", "contact.failed", 4, "", reason="after 4 attempts")
    if "timed out" not in ev["rslow"]["reason"]:
        h.fail("rslow: reason %r" % ev["rslow"]["reason"])
    expect("rconn", "contact.failed", 4, "", reason="after 4 attempts")
    expect("mail451", "contact.sent", 2)
    expect("mail550", "contact.failed", 1, reason="not retried")
    mails = smtp.files(".eml")
    if len(mails) != 1:
        h.fail("smtp sink stored %d messages, want 1" % len(mails))
    rc = n.stop()
    if rc != 0:
        h.fail("notifier exited %s on SIGTERM" % rc)
    print("ok: retries on 5xx/429/timeouts/refused/SMTP 4xx, none on 4xx/SMTP 5xx, "
          "Retry-After honoured (%.1f s)" % gap)
finally:
    h.teardown(procs, sinks, work)
