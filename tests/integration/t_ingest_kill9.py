#!/usr/bin/env python3
"""t_ingest_kill9.py -- kill -9 arrears-ingest mid-stream, twice, restart it,
and check that nothing was lost:

  * every valid published event id is on events (duplicates from the replay
    are allowed: they carry the same id, and consumers de-duplicate by id);
  * every invalid published message is on the DLQ;
  * per customer, the first occurrences of the ids are in publish order;
  * at the end the group has committed every inbound offset.

The publisher runs while ingest works, and each kill happens while the
committed offset is strictly between the start and the end of the stream.
"""
import json
import os
import random
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import t_ingest_lib as L  # noqa: E402

L.require_stack()
N = int(os.environ.get("ARREARS_IT_KILL9_EVENTS", "30000"))
CUSTOMERS = 300
rnd = random.Random(7)


def make_events():
    recs, valid, invalid = [], [], []
    seq = {}
    for i in range(N):
        c = rnd.randrange(CUSTOMERS)
        seq[c] = seq.get(c, 0) + 1
        eid = "k9-%06d" % i
        amount = "%d.%02d" % (rnd.randrange(10, 5000), rnd.randrange(100))
        if i % 97 == 5:  # ~1% bad: an impossible due date
            due, bad = "2026-02-30", True
        else:
            due, bad = "2026-04-01", False
        ev = {"specversion": "1.0", "id": eid, "source": "billing-k9", "type": "invoice.issued",
              "time": "2026-03-01T09:00:00Z", "tenant": "k9",
              "data": {"invoice_id": "INV-%d" % i, "customer_id": "C-%d" % c, "number": str(i),
                       "currency": "EUR", "amount": amount, "issued_on": "2026-03-01",
                       "due_on": due}}
        recs.append(("k9/C-%d" % c, json.dumps(ev)))
        (invalid if bad else valid).append((eid, "C-%d" % c))
    return recs, valid, invalid


def main():
    env = L.Env("kill9")
    try:
        run(env)
    finally:
        env.close()


def run(env):
    recs, valid, invalid = make_events()
    chunks = [recs[i:i + N // 10] for i in range(0, N, N // 10)]
    # small batches so that a kill lands between many commit points
    opts = {"ARREARS_INGEST_BATCH": 250}
    p = env.start(**opts)

    def publish():
        for ch in chunks:
            env.produce_lines(ch)
            time.sleep(0.3)

    pub = threading.Thread(target=publish)
    pub.start()
    kills = 0
    last = 0
    for frac in (0.25, 0.6):
        deadline = time.time() + 180
        while time.time() < deadline:
            c, e = env.offsets()
            # mid-stream, and the restarted process has made progress
            if c >= frac * N and c > last and c < e:
                break
            if c >= N:
                break
            if p.poll() is not None:
                print(env.logs())
                L.fail("ingest exited early (%s)" % p.returncode)
            time.sleep(0.05)
        c, e = env.offsets()
        if 0 < c < e:
            p.kill()  # SIGKILL
            p.wait()
            kills += 1
            last = c
            print("killed -9 at committed=%d end=%d" % (c, e))
            p = env.start(**opts)
        else:
            print("note: could not catch ingest mid-stream (committed=%d end=%d)" % (c, e))
    pub.join()
    if not env.wait_committed(expect_end=N, timeout=300, proc=p):
        print(env.logs())
        L.fail("ingest did not commit all %d inbound messages after the restarts" % N)
    if env.stop(p) != 0:
        L.fail("ingest did not exit 0 on SIGTERM")
    if kills == 0:
        L.fail("never managed to kill ingest mid-stream; the test proved nothing")

    events = env.consume("events")
    dlq = env.consume("ingest.dlq")
    got = {}
    first_order = {}
    for m in events:
        body = json.loads(m["payload"])
        eid = body["id"]
        if eid not in got:
            first_order.setdefault(body["customer_id"], []).append(eid)
        got[eid] = got.get(eid, 0) + 1
        if m["key"] != "k9/" + body["customer_id"]:
            L.fail("event %s keyed %r" % (eid, m["key"]))
    missing = [eid for eid, _ in valid if eid not in got]
    if missing:
        L.fail("%d accepted events lost after kill -9, e.g. %s" % (len(missing), missing[:5]))
    extra = set(got) - {eid for eid, _ in valid}
    if extra:
        L.fail("unexpected ids on events: %s" % sorted(extra)[:5])
    dlq_ids = {json.loads(m["payload"])["event"].get("id") for m in dlq}
    lost_bad = [eid for eid, _ in invalid if eid not in dlq_ids]
    if lost_bad:
        L.fail("%d rejected messages missing from the DLQ, e.g. %s" % (len(lost_bad), lost_bad[:5]))
    want_order = {}
    for eid, c in valid:
        want_order.setdefault(c, []).append(eid)
    for c, ids in want_order.items():
        if first_order.get(c) != ids:
            L.fail("customer %s: order of first occurrences differs" % c)
    dups = sum(n - 1 for n in got.values())
    print("ok: %d kills, %d valid events all on events (%d re-emitted duplicates), "
          "%d rejected all on the DLQ (%d records)" % (kills, len(valid), dups, len(invalid), len(dlq)))


if __name__ == "__main__":
    main()
