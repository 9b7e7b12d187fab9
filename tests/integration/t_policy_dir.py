#!/usr/bin/env python3
"""t_policy_dir.py -- per-tenant policies on the live stack (issue 15):
ARREARS_POLICY_DIR with default.json and acme.json, two tenants, then a
SIGHUP with a broken file (refused, the running set stays) and one with a
good file (applied).

ingest -> scheduler on private topics and key prefixes, scaled clock (1
simulated day = 2 s real from 2026-03-01T00:00Z). The policies are one +1d
email step in Europe/London (GMT in early March): default.json sends at
09:00, acme.json at 13:00, and the acme.json of the reload at 15:00.

  1. Tenants acme and beta each get an invoice due 2026-03-03: beta's +1d
     command is scheduled 2026-03-04T09:00Z (default.json), acme's
     2026-03-04T13:00Z (its own file).
  2. acme.json is replaced by broken JSON and the scheduler gets SIGHUP:
     the reload is refused (logged with the file's name, counted as
     result="refused"), /readyz still shows the same versions.
  3. acme.json is replaced by a good file (send_at 15:00), SIGHUP: applied
     (result="ok"), /readyz shows acme's new version, the FNV-1a 64 of the
     new file's bytes; a new acme invoice due 2026-03-13 gets its +1d
     command at 2026-03-14T15:00Z, a new beta one still 09:00.
"""
import json
import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from t_contract_lib import BIN, Stack, fail, http_get, metric, require  # noqa: E402

FACTOR = 43200  # 1 simulated day = 2 s
START = "2026-03-01T00:00:00Z"


def policy(send_at):
    return json.dumps({
        "version": 1,
        "defaults": {"timezone": "Europe/London", "locale": "en-GB", "send_at": send_at},
        "payment_thanks": {"enabled": False},
        "ladders": {"one": [{"name": "+1d", "offset": "+1d", "channel": "email",
                             "template": "overdue_1"}]},
        "strategies": [{"name": "all", "ladder": "one"}],
    }, indent=1)


def fnv1a64(data):
    """common/map.c cm_fnv1a64: FNV-1a 64 with the project's offset basis
    1469598103934665603 (one digit short of the published one; kept, since
    variant assignment and trace ids hash with it)."""
    h = 1469598103934665603
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def events(tenants, due, tag):
    out = []
    for t in tenants:
        out.append({"specversion": "1.0", "id": "%s-%s-c" % (tag, t), "source": "billing-it",
                    "type": "customer.upserted", "time": START, "tenant": t,
                    "data": {"customer_id": "C-1", "name": "Name", "email": "c@x.test",
                             "timezone": "Europe/London", "locale": "en-GB", "country": "GB"}})
        out.append({"specversion": "1.0", "id": "%s-%s-i" % (tag, t), "source": "billing-it",
                    "type": "invoice.issued", "time": START, "tenant": t,
                    "data": {"customer_id": "C-1", "invoice_id": "I-" + tag, "number": tag,
                             "currency": "GBP", "amount": "10.00", "issued_on": "2026-02-01",
                             "due_on": due}})
    return out


def main():
    require(["arrears-ingest", "arrears-scheduler", "arrears-admin", "arrears-publish"])
    st = Stack("poldir")
    try:
        return scenario(st)
    finally:
        st.cleanup()


def scenario(st):
    suffix = st.token.replace("-", "")[-8:]
    acme, beta = "acme" + suffix, "beta" + suffix
    pdir = os.path.join(st.tmp, "policies")
    os.makedirs(pdir)

    def write(name, text):
        with open(os.path.join(pdir, name), "w") as f:
            f.write(text)

    write("default.json", policy("09:00"))
    write(acme + ".json", policy("13:00"))
    t0 = int(time.time()) + 4
    clock = "%s@%dx%d" % (START, t0, FACTOR)
    st.start("ingest", clock)
    sched = st.start("scheduler", clock, {"ARREARS_POLICY_DIR": pdir,
                                          "ARREARS_SCHEDULER_TICK": "5ms",
                                          "ARREARS_LOG_LEVEL": "info"})
    st.wait_ready(["ingest", "scheduler"])

    def ready_versions():
        code, body = http_get(st.addrs["scheduler"], "/readyz")
        if code != 200:
            fail("/readyz %s %r" % (code, body))
        lines = body.strip().splitlines()
        if len(lines) != 2 or not lines[1].startswith("policy "):
            fail("/readyz does not show the policy versions: %r" % body)
        return dict(kv.split("=") for kv in lines[1][len("policy "):].split())

    v0 = ready_versions()
    want0 = {"default": fnv1a64(policy("09:00").encode()), acme: fnv1a64(policy("13:00").encode())}
    if v0 != want0:
        fail("/readyz versions %r, want %r" % (v0, want0))

    def publish(evs, name):
        path = os.path.join(st.tmp, name)
        with open(path, "w") as f:
            for e in evs:
                f.write(json.dumps(e) + "\n")
        pub = st.start_raw("publish-" + name, [os.path.join(BIN, "arrears-publish"), path])
        if pub.wait(timeout=60) != 0:
            fail("arrears-publish exited %d" % pub.returncode)

    def wait_commands(want, what, timeout=60):
        deadline = time.time() + timeout
        got = {}
        while time.time() < deadline:
            st.alive()
            got = {r["body"]["command_id"]: r["body"]["scheduled_at"]
                   for r in st.consume("commands") if isinstance(r["body"], dict)}
            if all(k in got for k in want):
                break
            time.sleep(0.5)
        bad = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
        if bad:
            fail("%s: command scheduled_at (got, want): %r" % (what, bad))

    # 1. two tenants, two policies
    publish(events([acme, beta], "2026-03-03", "A"), "one.jsonl")
    wait_commands({"%s/inv/I-A/step/0/attempt/1" % acme: "2026-03-04T13:00:00.000Z",
                   "%s/inv/I-A/step/0/attempt/1" % beta: "2026-03-04T09:00:00.000Z"},
                  "two tenants")
    print("ok: %s runs its own policy (13:00), %s the default (09:00)" % (acme, beta))

    def metrics():
        text = st.metrics("scheduler")
        return (metric(text, 'arrears_scheduler_policy_reloads_total{result="ok"}'),
                metric(text, 'arrears_scheduler_policy_reloads_total{result="refused"}'))

    def wait_metrics(want, what):
        deadline = time.time() + 20
        while time.time() < deadline and metrics() != want:
            time.sleep(0.2)
        if metrics() != want:
            fail("%s: reload counters (ok, refused) %r, want %r\n%s" %
                 (what, metrics(), want, st.log("scheduler", 20)))

    # 2. a broken file: refused, the running set stays
    write(acme + ".json", "{ \"version\": 1, ")
    sched.send_signal(signal.SIGHUP)
    wait_metrics((0.0, 1.0), "a broken file")
    log = st.log("scheduler", 50)
    if "policy reload refused" not in log or acme + ".json" not in log:
        fail("the refused reload is not logged with the file's name:\n" + log)
    if ready_versions() != want0:
        fail("a refused reload changed the versions: %r" % ready_versions())
    print("ok: a broken %s.json is refused and logged; the running policies stay" % acme)

    # 3. a good file: applied
    write(acme + ".json", policy("15:00"))
    sched.send_signal(signal.SIGHUP)
    wait_metrics((1.0, 1.0), "a good file")
    want1 = dict(want0)
    want1[acme] = fnv1a64(policy("15:00").encode())
    if ready_versions() != want1:
        fail("/readyz versions after the reload %r, want %r" % (ready_versions(), want1))
    publish(events([acme, beta], "2026-03-13", "B"), "two.jsonl")
    wait_commands({"%s/inv/I-B/step/0/attempt/1" % acme: "2026-03-14T15:00:00.000Z",
                   "%s/inv/I-B/step/0/attempt/1" % beta: "2026-03-14T09:00:00.000Z"},
                  "after the reload")
    print("ok: SIGHUP with a good file: %s at 15:00 (version %s), %s still at 09:00" %
          (acme, want1[acme], beta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
