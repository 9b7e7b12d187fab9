#!/usr/bin/env python3
"""t_reporter_dedup_window.py -- the reporter's id de-duplication set stops
growing (docs/operations.md "Memory bounds").

ARREARS_REPORTER_DEDUP_WINDOW=2s: buckets of 1 s (at least 1 s), keep =
ceil(2000 / 1000) = 2, so an id is forgotten at most 3 s after it was
applied. Each round publishes 150 fresh ids, each one twice in a row (a
copy within the window: 150 duplicates), waits until the reporter has
applied all 300 records, then waits 3.5 s, more than the 3 s an id can be
kept. The first batch of the next round therefore forgets every id of the
previous one: the reporter logs "forgotten": 150, "kept": 0, so the set
holds one round's ids, not all of them. The last round republishes the
first round's ids: past the window, each is applied again, and only its
second copy is a duplicate (the documented cost of the bound).

The events carry a type not in the contract, which the reporter remembers
for de-duplication and otherwise ignores, so nothing but the id set moves.
Only lower bounds on time are used (the sleeps); nothing asserts that
something happens fast."""
import json
import os
import sys
import time
import urllib.request

from t_reporter_lib import Env, fail, require_stack

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sinks"))
from harness import free_port  # noqa: E402

require_stack()
N = 150


def metric(port, name):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    return None


def event(i):
    return {"v": 1, "id": "w-%d" % i, "source": "it", "type": "x.window.probe", "tenant": "t1",
            "time": "2026-03-01T00:00:00.000Z", "customer_id": "C%d" % (i % 7), "data": {}}


def forget_lines(env):
    """The reporter's "forgotten" log records, as dicts."""
    out = []
    for line in open(os.path.join(env.tmp, "reporter.log")):
        if "de-duplication window forgotten" in line:
            try:
                out.append(json.loads(line))
            except ValueError:
                fail("not a JSON log line: %r" % line)
    return out


env = Env("dedupwin", partitions=1)
try:
    port = free_port()
    p = env.start({"ARREARS_REPORTER_DEDUP_WINDOW": "2s", "ARREARS_HTTP_ADDR": "127.0.0.1:%d" % port})
    rounds = [range(r * N, (r + 1) * N) for r in range(3)] + [range(0, N)]  # the last repeats the first
    want_events = want_dups = 0
    for r, ids in enumerate(rounds):
        env.publish_events([event(i) for i in ids for _ in (0, 1)])
        want_events += 2 * N
        want_dups += N
        deadline = time.time() + 120
        while metric(port, "arrears_reporter_events_total") != want_events:
            if p.poll() is not None:
                fail("reporter exited (%s); log:\n%s" % (p.returncode, env.log(p)))
            if time.time() > deadline:
                fail("round %d: events_total %r, expected %d" %
                     (r, metric(port, "arrears_reporter_events_total"), want_events))
            time.sleep(0.2)
        dups = metric(port, "arrears_reporter_duplicates_total")
        if dups != want_dups:
            fail("round %d: duplicates_total %r, expected %d (each id's second copy only)" % (r, dups, want_dups))
        time.sleep(3.5)  # > keep + 1 = 3 buckets of 1 s: every id of this round is out of the window
    # rounds 1, 2 and 3 each forgot the whole round before, at their first batch
    lines = forget_lines(env)
    got = [(x.get("fields", {}).get("forgotten"), x.get("fields", {}).get("kept")) for x in lines]
    if got != [(N, 0)] * 3:
        fail("forgotten/kept per prune: %r, expected %r" % (got, [(N, 0)] * 3))
    env.stop(p)
    print("ok: the id set held one round (%d ids) at a time over %d rounds; a copy past the window "
          "was applied again" % (N, len(rounds)))
finally:
    env.cleanup()
