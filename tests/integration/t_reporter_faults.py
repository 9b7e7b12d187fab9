#!/usr/bin/env python3
"""t_reporter_faults.py -- the reporter when things are not as they should be.

* Redis unreachable at start: it waits (not ready), and still exits 0 on
  SIGTERM within 10 s.
* Its topics do not exist yet: it waits, and once they are created it
  consumes, and answers a request.
* A corrupt snapshot in Redis: logged, the aggregates are rebuilt from the
  start of retention, and the answers still equal ledger1's expected ones.
* /healthz, /readyz and /metrics answer; the metrics count what was
  consumed and rejected (the ledger has one poison record)."""
import os
import socket
import subprocess
import sys
import time
import urllib.request

from t_reporter_lib import BIN, REDIS_URL, Env, check, fail, ledger, require_stack

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sinks"))
from harness import free_port  # noqa: E402

require_stack()
events, contacts, expected = ledger("ledger1")


def get(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return None, ""


env = Env("faults")
try:
    # 1. Redis unreachable: a port this test holds bound and never listens
    # on, so a connection is refused for sure (a second free_port() may
    # hand back the HTTP port itself, and the reporter then "reaches Redis"
    # at its own HTTP server: seen once in CI)
    port = free_port()
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    p = env.start({"ARREARS_REDIS_URL": "redis://127.0.0.1:%d/0" % dead.getsockname()[1],
                   "ARREARS_HTTP_ADDR": "127.0.0.1:%d" % port}, name="noredis")
    for _ in range(100):
        code, _ = get(port, "/healthz")
        if code == 200:
            break
        time.sleep(0.1)
    code, body = get(port, "/readyz")
    if code != 503:
        fail("/readyz without Redis answered %s %r" % (code, body))
    env.stop(p)  # must exit 0 within 10 s
    dead.close()
    print("ok: without Redis it waits, is not ready, and stops cleanly")

    # 2. topics created after the start
    late = Env("faults-late")
    late.prefix = env.prefix.replace("faults", "faults-nt")
    late.env["ARREARS_TOPIC_PREFIX"] = late.prefix
    late.env["ARREARS_GROUP_ID"] = late.prefix.rstrip(".")
    p = late.start()
    time.sleep(2)
    if p.poll() is not None:
        fail("the reporter exited while its topics did not exist:\n" + late.log(p))
    subprocess.run([os.path.join(BIN, "arrears-admin"), "create-topics", "--partitions", "2", "events",
                    "contacts", "reports", "reports.requests"], env=late.env, check=True,
                   stdout=subprocess.DEVNULL)
    late.publish_events(events)
    late.request("late-1", "acme", "2026-03-31", ["aging"])
    got = late.wait_reports(lambda k, r: r.get("request_id") == "late-1", 1, what="an answer once the topics exist")
    late.stop(p)
    late.cleanup()
    print("ok: it waits for its topics, then works")

    # 3. a corrupt snapshot, and the HTTP endpoints
    base = "%sreporter:%s:" % (env.prefix, env.group)
    for args in (["SET", base + "snap", '{"v":1,"gen":7,"chunks":1,"bytes":12}'],
                 ["SET", base + "snap:7:0", "REPSNAP1junk"]):
        subprocess.run(["redis-cli", "-u", REDIS_URL] + args, check=True, stdout=subprocess.DEVNULL)
    env.publish_events(events)
    env.publish_contacts(contacts)
    port = free_port()
    p = env.start({"ARREARS_HTTP_ADDR": "127.0.0.1:%d" % port})
    env.request("cs-1", "acme", "2026-03-31")
    env.request("cs-2", "globex", "2026-03-31")
    got = env.wait_reports(lambda k, r: r.get("request_id") in ("cs-1", "cs-2"), 6, what="answers after a corrupt snapshot")
    check(expected, [r for _, r in got], "rebuilt after a corrupt snapshot")
    if env.log_count("reporter", "snapshot not loaded") != 1:
        fail("the corrupt snapshot was not reported:\n" + env.log(p))
    code, body = get(port, "/readyz")
    if code != 200:
        fail("/readyz after catching up: %s %r" % (code, body))
    code, metrics = get(port, "/metrics")
    want = {"arrears_reporter_events_total": len(events), "arrears_reporter_contacts_total": len(contacts),
            "arrears_reporter_rejected_total": 1}
    for name, value in want.items():
        line = [l for l in metrics.splitlines() if l.startswith(name + " ")]
        if not line or float(line[0].split()[1]) != value:
            fail("/metrics %s: %r, expected %d" % (name, line, value))
    env.stop(p)
    print("ok: a corrupt snapshot is reported and the aggregates rebuilt; health, readiness and metrics answer")
finally:
    env.cleanup()
