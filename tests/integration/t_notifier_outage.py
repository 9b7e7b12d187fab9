#!/usr/bin/env python3
"""t_notifier_outage.py -- a provider that is down: bounded memory, /readyz.

The webhook sink answers 503 to everything; 600 commands are published with
ARREARS_MAX_QUEUED=40. While it is down:
  * /readyz answers 503 naming the failing provider;
  * the notifier holds at most 40 commands (arrears_notifier_queued) and
    pauses consumption (arrears_notifier_consumer_paused 1): the rest waits
    in Kafka (the group's committed offset stays behind the end);
  * no outcome is published for a command still being retried.
Then the sink recovers (POST /_sink/config): every command is sent exactly
once (one first-time request per Idempotency-Key), has one contact.sent,
and /readyz answers 200 again.
"""
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sinks"))
import harness as h  # noqa: E402

N, QUEUED = 600, 40
brokers, redis_url, bindir = h.stack_env()
run = "%d" % os.getpid()
prefix = "it-ntf-outage-%s." % run
tenant = "itout%s" % run
group = "it-ntf-outage-" + run
work = tempfile.mkdtemp(prefix="t_notifier_outage.")
sinks, procs = [], []


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, OSError):
        return 0, ""  # not listening yet


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.split()[-1])
    return None


try:
    h.create_topics(bindir, prefix, partitions=3)
    sink = h.Sink("http", work, ["--mode", "500"])
    sinks.append(sink)
    # a fixed free port for the health listener
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    hport = s.getsockname()[1]
    s.close()
    env = {
        "ARREARS_TOPIC_PREFIX": prefix, "ARREARS_GROUP_ID": group,
        "ARREARS_HTTP_ADDR": "127.0.0.1:%d" % hport,
        "ARREARS_NOTIFIER_KEY_PREFIX": "it:ntf:outage:%s:" % run,
        "ARREARS_WEBHOOK_URL": sink.url + "/hook",
        "ARREARS_WEBHOOK_SECRET": "whsec_b3V0YWdlLXNlY3JldA==",
        "ARREARS_MAX_QUEUED": str(QUEUED), "ARREARS_MAX_INFLIGHT": "16",
        "ARREARS_RETRY_ATTEMPTS": "100", "ARREARS_RETRY_BASE": "100ms",
        "ARREARS_RETRY_MAX": "500ms", "ARREARS_UNHEALTHY_AFTER": "5",
    }
    cmds = [h.command(tenant, "%s/inv/I%04d/step/1/attempt/1" % (tenant, i), channel="webhook",
                      customer_id="D%03d" % (i % 100)) for i in range(N)]
    h.publish_commands(brokers, prefix + "commands", cmds)
    n = h.Notifier(bindir, env, os.path.join(work, "notifier.log"))
    procs.append(n)
    base = "http://127.0.0.1:%d" % hport

    def down_and_said_so():
        st, body = get(base + "/readyz")
        return (st, body) if st == 503 and "webhook provider failing" in body else None
    st, why = h.wait_for(down_and_said_so, 60, "/readyz to report the failing provider",
                         procs=procs)
    time.sleep(3)  # minutes in production; a few seconds of retries here
    _, mtext = get(base + "/metrics")
    queued = metric(mtext, "arrears_notifier_queued")
    paused = metric(mtext, "arrears_notifier_consumer_paused")
    if queued is None or queued > QUEUED:
        h.fail("%s commands held in memory, bound %d" % (queued, QUEUED))
    if paused != 1:
        h.fail("consumption not paused while the backlog is full (paused=%s)" % paused)
    offs = h.group_offsets(bindir, prefix, group, "commands")
    out = offs["line"]
    if offs["committed"] >= offs["end"] - QUEUED:
        h.fail("commands did not wait in Kafka: %s" % out)
    if h.consume(brokers, prefix + "contacts"):
        h.fail("outcomes published while every send is still being retried")
    print("down: /readyz 503 %r; %d held, consumer paused; %s" % (why.strip(), queued, out))

    # the provider comes back
    req = urllib.request.Request(sink.url + "/_sink/config", data=b'{"mode": "ok"}',
                                 method="POST")
    urllib.request.urlopen(req, timeout=5).read()
    ids = {c["command_id"] for c in cmds}
    by = h.wait_for(lambda: (lambda o: o if ids <= set(o) else None)(
        h.outcomes(brokers, prefix + "contacts")), 180, "every command sent after recovery",
        interval=1, procs=procs)
    bad = [i for i in ids if len(by[i]) != 1 or by[i][0]["type"] != "contact.sent"]
    if bad:
        h.fail("%d commands without exactly one contact.sent, e.g. %s" % (len(bad), by[bad[0]]))
    ok_first = {}
    for r in sink.records():
        if r["status"] == 200 and not r["replay"]:
            k = r["headers"]["idempotency-key"]
            if k in ok_first:
                h.fail("%s accepted twice" % k)
            ok_first[k] = r
    if set(ok_first) != ids:
        h.fail("sink accepted %d distinct commands, want %d" % (len(ok_first), N))
    h.wait_for(lambda: get(base + "/readyz")[0] == 200, 60, "/readyz 200 after recovery",
               procs=procs)
    rc = n.stop()
    if rc != 0:
        h.fail("notifier exited %s on SIGTERM" % rc)
    print("ok: outage held <= %d commands in memory with /readyz 503; after recovery %d sent once"
          % (QUEUED, N))
finally:
    h.teardown(procs, sinks, work)
