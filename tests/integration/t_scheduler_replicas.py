#!/usr/bin/env python3
# t_scheduler_replicas.py -- scale-out and crashes, on a scaled clock
# (1 simulated day = 0.4 s), 240 invoices of 120 debtors on 6 partitions,
# 7 ladder steps each (1680 commands):
#   A. two replicas in one group split the partitions and together fire
#      every timer exactly once (each fired some);
#   B. kill -9 of a replica in the middle of the firing: no timer is lost,
#      and every command id that appears twice has byte-identical content;
#   C. a replica that dies right after claiming a round (before publishing,
#      ARREARS_SCHEDULER_FAULT) leaves the claim to the new owner, which
#      re-publishes the same bytes.
import os
import re
import sys
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import t_scheduler_lib as L  # noqa: E402

L.require()
ZONES = ["Europe/London", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "Europe/Berlin",
         "America/Los_Angeles"]
NCUST, PER = 120, 2
pol = L.load_policy()
NSTEPS = len(pol["ladders"]["standard"])
END = L.parse_iso("2026-06-30T00:00:00.000Z")


def workload(clock):
    evs = []
    for c in range(NCUST):
        cid = "C-%03d" % c
        evs.append(L.event("customer.upserted", "rep", cid,
                           {"name": cid, "email": cid + "@x.test", "timezone": ZONES[c % len(ZONES)],
                            "locale": "en-GB", "country": "GB", "channels": ["email"], "opted_out": [],
                            "tags": []}, "cu-" + cid, clock.sim0))
    for c in range(NCUST):
        for k in range(PER):
            iid = "INV-%03d-%d" % (c, k)
            evs.append(L.event("invoice.issued", "rep", "C-%03d" % c,
                               {"invoice_id": iid, "number": iid, "currency": "EUR", "amount_minor": 1000 + c,
                                "issued_on": "2026-02-01", "due_on": "2026-03-%02d" % (10 + (c + k) % 15)},
                               "ev-" + iid, clock.sim0))
    return evs


def expected_ids():
    return {"rep/inv/INV-%03d-%d/step/%d/attempt/1" % (c, k, s)
            for c in range(NCUST) for k in range(PER) for s in range(NSTEPS)}


def check(env, allow_dup):
    cmds = env.consume("commands")
    by_id = {}
    for r in cmds:
        by_id.setdefault(r["body"]["command_id"], []).append(r["raw"])
    missing = expected_ids() - set(by_id)
    extra = set(by_id) - expected_ids()
    if missing:
        L.fail("%d timers never fired, e.g. %s" % (len(missing), sorted(missing)[:5]))
    if extra:
        L.fail("unexpected commands: %s" % sorted(extra)[:5])
    dups = {i: v for i, v in by_id.items() if len(v) > 1}
    if dups and not allow_dup:
        L.fail("%d commands published twice without a crash, e.g. %s" % (len(dups), sorted(dups)[:3]))
    for i, v in dups.items():
        if len(set(v)) != 1:
            L.fail("command %s published with different contents:\n%s" % (i, "\n".join(sorted(set(v)))))
    # timers all consumed, no claim left behind: no outbox set ob:<p> and
    # no round ob:<p>:<round> (claimed records) is left
    left = env.redis.keys(env.kprefix + "ob:*")
    if left:
        L.fail("claimed outbox rounds left behind: %s" % sorted(left)[:5])
    for k in env.redis.keys(env.kprefix + "due:*"):
        n = int(env.redis.cmd("ZCARD", k).strip() or 0)
        if n:
            L.fail("%s still holds %d timers" % (k, n))
    return len(cmds), len(dups)


def fired(env, p):
    m = re.findall(r'scheduler stopping: (\d+) fired, (\d+) re-published', env.log(p))
    if not m:
        L.fail("no stopping line in the log of a replica:\n" + env.log(p)[-3000:])
    return int(m[-1][0]), int(m[-1][1])


# ---------------------------------------------------------------- A
env = L.Env("repA")
try:
    clock = L.Clock("2026-03-01T00:00:00.000Z", 216000, delay_s=6)
    a, b = env.start(clock, "a"), env.start(clock, "b")
    env.produce(workload(clock), per_event_headers=False)
    clock.wait_until(END)
    env.stop(a)
    env.stop(b)
    n, d = check(env, allow_dup=False)
    fa, fb = fired(env, a), fired(env, b)
    if fa[0] == 0 or fb[0] == 0:
        L.fail("the replicas did not split the work: fired %d and %d" % (fa[0], fb[0]))
    if fa[0] + fb[0] != len(expected_ids()):
        L.fail("fired %d + %d, want %d" % (fa[0], fb[0], len(expected_ids())))
    print("A ok: %d commands, replicas fired %d + %d" % (n, fa[0], fb[0]))
finally:
    env.cleanup()

# ---------------------------------------------------------------- B
env = L.Env("repB")
try:
    clock = L.Clock("2026-03-01T00:00:00.000Z", 216000, delay_s=6)
    a, b = env.start(clock, "a"), env.start(clock, "b")
    env.produce(workload(clock), per_event_headers=False)
    # in the middle of a firing round: as soon as a claim is outstanding in
    # some ob:<p> (a round claimed, not yet acknowledged), or at the latest on
    # 2026-03-25 when most -3d..+14d steps are behind us
    clock.wait_until(L.parse_iso("2026-03-08T00:00:00.000Z"))
    r = L.Resp(L.REDIS_URL)
    outs = [env.pkey(p, "ob:%d" % p) for p in range(6)]
    latest = L.parse_iso("2026-03-25T00:00:00.000Z")
    mid_round = False
    while clock.now() < latest and not mid_round:
        mid_round = any(r.cmd("SCARD", k) for k in outs)
    env.kill9(a)
    clock.wait_until(END)
    env.stop(b)
    n, d = check(env, allow_dup=True)
    print("B ok: %d commands (killed %s), %d published twice, identically; survivor re-published %d" %
          (n, "with a claim outstanding" if mid_round else "between rounds", d, fired(env, b)[1]))
finally:
    env.cleanup()

# ---------------------------------------------------------------- C
env = L.Env("repC")
try:
    clock = L.Clock("2026-03-01T00:00:00.000Z", 216000, delay_s=6)
    a = env.start(clock, "a", {"ARREARS_SCHEDULER_FAULT": "crash-after-claim:3"})
    b = env.start(clock, "b")
    # the moment it dies, its claims are in the rounds listed in ob:<p> (the survivor takes them
    # over only after the session timeout): a watcher thread remembers their
    # exact bytes while events are still being produced
    claimed = {}

    def records(blob):
        """An outbox round's records (docs/scheduler.md "State in Redis"):
        "<id length> <value length>\\n", the id, the value; lengths in bytes."""
        at = 0
        while at < len(blob):
            head, rest = blob[at:].split(b"\n", 1)
            il, vl = (int(x) for x in head.split(b" "))
            start = at + len(head) + 1
            yield blob[start:start + il].decode(), blob[start + il:start + il + vl].decode()
            at = start + il + vl

    def snapshot():
        a.wait()
        r = L.Resp(L.REDIS_URL)
        raw = L.h.Resp(L.REDIS_URL, decode=False)
        for p in range(6):
            for rk in r.cmd("SMEMBERS", env.pkey(p, "ob:%d" % p)) or []:
                for cid, value in records(raw.cmd("GET", rk) or b""):
                    topic, _key, body = value.split("\n", 2)
                    if topic == "c":  # commands (escalation events go to events)
                        claimed[cid] = body

    watcher = threading.Thread(target=snapshot, daemon=True)
    watcher.start()
    env.produce(workload(clock), per_event_headers=False)
    while watcher.is_alive() and clock.now() < END:
        L.time.sleep(0.05)
    if a.poll() is None:
        L.fail("the faulty replica never crashed (did it own no partition?)")
    watcher.join()
    if not claimed:
        L.fail("the crashed replica left no claimed record to take over")
    clock.wait_until(END)
    env.stop(b)
    n, d = check(env, allow_dup=True)
    rb = fired(env, b)[1]
    if rb == 0:
        L.fail("the surviving replica re-published nothing after the crash")
    published = {}
    for r in env.consume("commands"):
        published.setdefault(r["body"]["command_id"], set()).add(r["raw"])
    for cid, body in claimed.items():
        if published.get(cid) != {body}:
            L.fail("claimed %s as\n%s\nbut published\n%s" % (cid, body, published.get(cid)))
    print("C ok: %d commands; the %d records claimed by the crashed replica were published "
          "byte-identical by the new owner" % (n, len(claimed)))
finally:
    env.cleanup()
