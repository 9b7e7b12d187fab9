#!/usr/bin/env python3
"""cluster_notifier.py -- the notifier on a real Redis Cluster (run by
t_redis_cluster.sh with ARREARS_REDIS_URL=redis+cluster://... of the
cluster it started; ARREARS_KAFKA_BROKERS is the runner's broker).

40 email commands of 40 debtors go through one notifier to the SMTP sink.
Its claim and outcome scripts touch two keys of a command; on a cluster
they are named claim:{<id>} and out:{<id>} (one hash slot; without the
tag the client refuses the script, CROSSSLOT, and nothing is sent). It
checks: one contact.sent per command and one message each; each command's
out:{<id>} holds its gate ("sending" 1), its outcome and published 1, and
its claim is gone; and the outcomes sit on all three masters.
"""
import email
import os
import subprocess
import sys
import tempfile
import time
from email import policy

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sinks"))
import harness as h  # noqa: E402

brokers, redis_url, bindir = h.stack_env()
if not redis_url.startswith("redis+cluster://"):
    h.fail("cluster_notifier.py needs a redis+cluster:// ARREARS_REDIS_URL, got %s" % redis_url)
host, port = h.cluster_node(redis_url)
run = "%d" % os.getpid()
prefix = "it-ntf-cluster-%s." % run
tenant = "itcl%s" % run
keyp = "it:ntf:cluster:%s:" % run
work = tempfile.mkdtemp(prefix="cluster_notifier.")
sinks, procs = [], []


def cli(*args):
    """redis-cli against the cluster, following redirections (-c)."""
    r = subprocess.run(["redis-cli", "-c", "-h", host, "-p", port] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=30)
    return r.stdout


try:
    h.create_topics(bindir, prefix)
    smtp = h.Sink("smtp", work)
    sinks.append(smtp)
    env = {
        "ARREARS_TOPIC_PREFIX": prefix, "ARREARS_GROUP_ID": "it-ntf-cluster-" + run,
        "ARREARS_HTTP_ADDR": "", "ARREARS_LOG_LEVEL": "info",
        "ARREARS_NOTIFIER_KEY_PREFIX": keyp,
        "ARREARS_SMTP_URL": "smtp://127.0.0.1:%d" % smtp.port,
        "ARREARS_SMTP_FROM": "Acme Collections <ar@acme.test>",
        "ARREARS_SMTP_TLS": "none",
    }
    cmds = [h.command(tenant, "%s/inv/INV-%d/step/1/attempt/1" % (tenant, i),
                      customer_id="C-%d" % i, email="c%d@x.test" % i) for i in range(40)]
    ids = [c["command_id"] for c in cmds]
    h.publish_commands(brokers, prefix + "commands", cmds)
    n = h.Notifier(bindir, env, os.path.join(work, "notifier.log"))
    procs.append(n)
    h.wait_for(lambda: (lambda o: o if all(i in o for i in ids) else None)(
        h.outcomes(brokers, prefix + "contacts")), 90, "an outcome for every command",
        procs=procs)
    time.sleep(2)  # a second outcome would show up by now
    by = h.outcomes(brokers, prefix + "contacts")
    for cid in ids:
        evs = by.get(cid, [])
        if len(evs) != 1 or evs[0]["type"] != "contact.sent":
            h.fail("%s: want one contact.sent, got %s" % (cid, evs))
    print("ok   one contact.sent per command (40)")

    # one message per command, by the header the notifier puts on each
    sent = {}
    for f in smtp.files(".eml"):
        with open(f, "rb") as fh:
            msg = email.message_from_bytes(fh.read(), policy=policy.default)
        cid = msg["X-Arrears-Command-Id"]
        sent[cid] = sent.get(cid, 0) + 1
    if sorted(sent) != sorted(ids) or any(v != 1 for v in sent.values()):
        h.fail("want one message per command, got %s" % sent)
    print("ok   one message per command")

    # the keys: tagged, complete, on every master
    for cid in ids:
        out = cli("HMGET", keyp + "out:{%s}" % cid, "sending", "published").split()
        if out != ["1", "1"]:
            h.fail("%s: out:{id} sending/published %s, want 1 1" % (cid, out))
        if cli("EXISTS", keyp + "claim:{%s}" % cid).strip() != "0":
            h.fail("%s: its claim was not released" % cid)
    masters = [ln.split()[1].split("@")[0] for ln in cli("CLUSTER", "NODES").splitlines()
               if "master" in ln.split()[2].split(",") and "fail" not in ln.split()[2]]
    if len(masters) != 3:
        h.fail("want 3 masters, CLUSTER NODES shows %s" % masters)
    per = {}
    for m in masters:
        mh, mp = m.rsplit(":", 1)
        r = subprocess.run(["redis-cli", "-h", mh, "-p", mp, "--scan", "--pattern",
                            keyp + "out:*"], capture_output=True, text=True, timeout=30)
        per[m] = len(r.stdout.split())
    if sum(per.values()) != 40 or min(per.values()) == 0:
        h.fail("the 40 outcomes by master: %s; want all 40, on every master" % per)
    print("ok   out:{id} gated, published, claims released; outcomes by master %s" %
          sorted(per.values()))
finally:
    h.teardown(procs, sinks, work)
