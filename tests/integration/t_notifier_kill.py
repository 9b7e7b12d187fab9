#!/usr/bin/env python3
"""t_notifier_kill.py -- kill -9 of one of two replicas during a burst.

Two notifiers in one consumer group share 6 partitions of a private
<prefix>commands topic holding 10,000 webhook commands (1,000 debtors).
When the HTTP sink has seen a quarter of them, one replica is killed with
SIGKILL; the other takes its partitions over. Then:
  * every command has exactly one outcome event on <prefix>contacts (read
    committed, as kcat and every librdkafka consumer read by default), a
    contact.sent: outcomes and offsets commit in one Kafka transaction, so
    the killed replica's uncommitted outcomes vanish and the survivor
    publishes each of them once;
  * no message is sent twice: the sink saw exactly one first-time request
    per Idempotency-Key (= command id); requests repeated after the kill
    (the killed replica's sends whose outcome it never recorded in Redis)
    carry the same key and the same body, so an idempotent provider --
    like the sink -- answers them without sending again; there are at most
    as many as the killed replica held (its queue bound: only a command it
    had claimed and sent can be repeated);
  * the group's committed offsets reach the end of the topic.
"""
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sinks"))
import harness as h  # noqa: E402

N = int(os.environ.get("NTF_KILL_COMMANDS", "10000"))
INFLIGHT = 32
QUEUED = 64
brokers, redis_url, bindir = h.stack_env()
run = "%d" % os.getpid()
prefix = "it-ntf-kill-%s." % run
tenant = "itkill%s" % run
group = "it-ntf-kill-" + run
work = tempfile.mkdtemp(prefix="t_notifier_kill.")
sinks, procs = [], []

try:
    h.create_topics(bindir, prefix, partitions=6)
    # a short delay keeps requests inside the sink when the kill lands, so
    # the window in which a send is done but its outcome not recorded is hit
    sink = h.Sink("http", work, ["--mode", "slow", "--delay-ms", "30"])
    sinks.append(sink)
    env = {
        "ARREARS_TOPIC_PREFIX": prefix, "ARREARS_GROUP_ID": group, "ARREARS_HTTP_ADDR": "",
        "ARREARS_NOTIFIER_KEY_PREFIX": "it:ntf:kill:%s:" % run,
        "ARREARS_WEBHOOK_URL": sink.url + "/hook",
        "ARREARS_WEBHOOK_SECRET": "whsec_a2lsbC10ZXN0LXNlY3JldA==",
        "ARREARS_MAX_INFLIGHT": str(INFLIGHT), "ARREARS_MAX_QUEUED": str(QUEUED),
        "ARREARS_CLAIM_TTL": "3s", "ARREARS_RETRY_BASE": "200ms",
    }
    a = h.Notifier(bindir, env, os.path.join(work, "a.log"))
    b = h.Notifier(bindir, env, os.path.join(work, "b.log"))
    procs += [a, b]

    def assigned(p):
        with open(p.log.name) as f:
            return "partitions assigned" in f.read()
    h.wait_for(lambda: assigned(a) and assigned(b), 60, "both replicas assigned", procs=procs)
    time.sleep(3)  # let the group settle (eager rebalance)
    cmds = [h.command(tenant, "%s/inv/I%05d/step/1/attempt/1" % (tenant, i), channel="webhook",
                      customer_id="D%04d" % (i % 1000),
                      invoices=[{"invoice_id": "I%05d" % i, "number": "N%05d" % i,
                                 "issued_on": "2026-02-01", "due_on": "2026-03-01",
                                 "days_overdue": 7, "currency": "EUR",
                                 "outstanding_minor": 1000 + i}])
            for i in range(N)]
    h.publish_commands(brokers, prefix + "commands", cmds)
    h.wait_for(lambda: len(os.listdir(sink.dir)) >= N // 4, 120, "a quarter of the sends",
               interval=0.05, procs=procs)
    victim = a
    victim.kill9()
    killed_at = len(os.listdir(sink.dir))
    ids = {c["command_id"] for c in cmds}

    def all_outcomes():
        o = h.outcomes(brokers, prefix + "contacts")
        return o if ids <= set(o) else None
    by = h.wait_for(all_outcomes, 400, "an outcome for every command", interval=2,
                    procs=[b])
    time.sleep(3)
    raw = {}
    for r in h.consume(brokers, prefix + "contacts"):
        ev = json.loads(r["payload"])
        raw.setdefault(ev["id"], []).append(r["payload"])
    if set(raw) != ids:
        h.fail("outcomes for unknown ids: %s" % list(set(raw) - ids)[:5])
    dup_ids = [i for i, v in raw.items() if len(v) > 1]
    if dup_ids:
        h.fail("%d commands with more than one outcome event, e.g. %s: %s"
               % (len(dup_ids), dup_ids[0], raw[dup_ids[0]]))
    not_sent = [i for i, v in raw.items() if json.loads(v[0])["type"] != "contact.sent"]
    if not_sent:
        h.fail("%d commands not sent, e.g. %s" % (len(not_sent), raw[not_sent[0]][0]))

    first, replays = {}, {}
    for rec in sink.records():
        key = rec["headers"].get("idempotency-key")
        if rec["replay"]:
            replays.setdefault(key, []).append(rec)
        elif key in first:
            h.fail("%s sent twice as a new message (no replay)" % key)
        else:
            first[key] = rec
    if set(first) != ids:
        h.fail("sink saw %d distinct commands, want %d" % (len(first), len(ids)))
    nrep = sum(len(v) for v in replays.values())
    if nrep > QUEUED:
        h.fail("%d repeated requests, more than the killed replica held (%d)" % (nrep, QUEUED))
    if any(len(v) > 1 for v in replays.values()):
        h.fail("a command was repeated more than once")
    for key, rs in replays.items():
        for r in rs:
            if r["body"] != first[key]["body"]:
                h.fail("%s: a repeated request differs from the first" % key)

    def committed():
        o = h.group_offsets(bindir, prefix, group, "commands")
        return o.get("end", 0) > 0 and o.get("committed") == o.get("end")
    h.wait_for(committed, 30, "committed offsets at the end of the topic", procs=[b])
    rc = b.stop()
    if rc != 0:
        h.fail("surviving replica exited %s on SIGTERM" % rc)
    print("ok: %d commands, killed a replica after %d requests; every command exactly one "
          "outcome event, one send each (%d repeated requests with the same "
          "Idempotency-Key, answered as replays)" % (N, killed_at, nrep))
finally:
    h.teardown(procs, sinks, work)
