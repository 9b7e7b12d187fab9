#!/usr/bin/env python3
"""t_state_loss.py -- Redis comes back empty (issue 18, docs/operations.md
"State loss"): the scheduler and ingest notice it through their state
marker (<prefix>marker, common/statemark.h) and the committed offsets of
their group, refuse to run on the empty state, and start again after an
arrears-admin recovery.

  1. ingest + scheduler start on private topics and key prefixes: each
     writes its marker ("how": "first start"); one debtor with two invoices
     goes through them; the scheduler's state has both invoices, both
     groups have committed offsets.
  2. Every key under the test's Redis prefix is deleted while they run (a
     lost volume as this test's keyspace sees it; not FLUSHALL, which would
     also wipe any other test on a shared stack): both notice the missing
     marker within the 5 s period of the check and exit 1 naming it.
  3. Started again, each refuses: exit 1, the log names the marker key, the
     group and both recovery commands, and /readyz never answered 200.
  4. Recovery: `arrears-admin reset-offsets <scheduler group> events` -> the
     scheduler starts, writes its marker and rebuilds both invoices from
     `events`; `arrears-admin accept-state-loss ingest <group> <prefix>`
     -> ingest starts on the empty de-duplication window (its marker says
     "accept-state-loss"), and a new invoice goes through the pipeline.
  5. reset-offsets while a member of the group runs is refused (exit 1)."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from t_contract_lib import BIN, Resp, Stack, fail, http_get, require  # noqa: E402


def main():
    require(["arrears-ingest", "arrears-scheduler", "arrears-admin"])
    st = Stack("stloss", partitions=2)
    try:
        scenario(st)
    finally:
        st.cleanup()
    print("ok")


def admin(st, *args):
    return subprocess.run([os.path.join(BIN, "arrears-admin")] + list(args), env=st.env,
                          capture_output=True, text=True)


def committed(st, group, suffix):
    r = admin(st, "offsets", group, suffix)
    line = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    return int(line.split("committed=")[1].split()[0]) if "committed=" in line else -1


def wait(pred, timeout, what, st=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if st:
            st.alive()
        if pred():
            return
        time.sleep(0.3)
    fail("timed out after %d s waiting for %s" % (timeout, what))


def inbound(tenant, eid, etype, t, data):
    return json.dumps({"specversion": "1.0", "id": eid, "source": "billing", "type": etype,
                       "time": t, "tenant": tenant, "datacontenttype": "application/json",
                       "data": data}, separators=(",", ":"))


def invoice(tenant, iid, cust, amount):
    return inbound(tenant, "ev-" + iid, "invoice.issued", "2026-03-01T09:00:00Z",
                   {"invoice_id": iid, "customer_id": cust, "number": "N-" + iid,
                    "currency": "EUR", "amount": amount, "issued_on": "2026-03-01",
                    "due_on": "2026-05-01"})


def refused(st, svc, group, marker, suffix, kprefix):
    """Starts svc, which must exit 1 with the state-loss message and never
    be ready."""
    p = st.start(svc, st.clock)
    ready = False
    deadline = time.time() + 40
    while p.poll() is None and time.time() < deadline:
        ready |= http_get(st.addrs[svc], "/readyz")[0] == 200
        time.sleep(0.2)
    if p.poll() is None:
        p.kill()
        p.wait()
        fail("arrears-%s did not refuse to start within 40 s:\n%s" % (svc, st.log(svc)))
    log = st.log(svc)
    if p.returncode != 1:
        fail("arrears-%s exited %d, not 1, on a lost state:\n%s" % (svc, p.returncode, log))
    if ready:
        fail("arrears-%s answered /readyz 200 on a lost state" % svc)
    for want in ("state lost", marker, "consumer group " + group,
                 "arrears-admin reset-offsets %s %s" % (group, suffix),
                 "arrears-admin accept-state-loss %s %s %s" % (svc, group, kprefix)):
        if want not in log:
            fail("arrears-%s's refusal does not say %r:\n%s" % (svc, want, log))
    print("%s: refused to start (exit 1, never ready), naming %s and group %s" %
          (svc, marker, group))


def scenario(st):
    r = Resp(decode=True)
    tok = st.token.replace("-", "")[-10:]
    tenant, cust = "t" + tok, "C-" + tok
    key = "%s/%s" % (tenant, cust)
    sch_prefix, ing_prefix = st.kprefix + "sch:", st.kprefix + "dedup:"
    sch_marker, ing_marker = sch_prefix + "marker", ing_prefix + "marker"
    sch_group, ing_group = "it-%s-scheduler" % st.token, "it-%s-ingest" % st.token
    st.clock = "2026-03-31T12:00:00Z@%dx1" % int(time.time())

    def state(iid):
        return r.cmd("EXISTS", "%si:%s/%s" % (sch_prefix, tenant, iid)) == 1

    def marker(k):
        v = r.cmd("GET", k)
        return json.loads(v) if v else None

    # 1. first start: markers written, state built, offsets committed
    for s in ("ingest", "scheduler"):
        st.start(s, st.clock)
    st.wait_ready(["ingest", "scheduler"])
    for k, svc, g in ((sch_marker, "scheduler", sch_group), (ing_marker, "ingest", ing_group)):
        m = marker(k)
        if not m or m.get("service") != svc or m.get("group") != g or \
                m.get("how") != "first start" or not m.get("created", "").startswith("20"):
            fail("%s's marker %s is %r, not a first start of group %s" % (svc, k, m, g))
    st.produce("inbound", [(key, inbound(tenant, "ev-c-" + tok, "customer.upserted",
                                         "2026-03-01T08:00:00Z",
                                         {"customer_id": cust, "name": "Lost Volume Ltd",
                                          "email": "ap@lost-volume.test",
                                          "timezone": "Europe/London", "locale": "en-GB",
                                          "country": "GB"})),
                           (key, invoice(tenant, "I1", cust, "100.00")),
                           (key, invoice(tenant, "I2", cust, "50.00"))])
    wait(lambda: state("I1") and state("I2"), 30, "the scheduler's state of I1 and I2", st)
    wait(lambda: committed(st, ing_group, "inbound") >= 3 and
         committed(st, sch_group, "events") >= 3, 30, "committed offsets of both groups", st)
    print("first start: markers written, I1 and I2 in the scheduler's state, offsets committed")

    # 2. the state goes while they run
    def wipe():
        for k in r.scan(st.kprefix + "*"):
            r.cmd("DEL", k)
    wipe()
    for s in ("ingest", "scheduler"):
        p = st.procs[s]
        try:
            rc = p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            fail("arrears-%s still runs 20 s after its state marker was deleted:\n%s" %
                 (s, st.log(s)))
        if rc != 1 or "disappeared while running" not in st.log(s):
            fail("arrears-%s exited %d after the wipe, without saying the marker "
                 "disappeared:\n%s" % (s, rc, st.log(s)))
    wipe()  # whatever was written between the wipe and the stop
    print("while running: both stopped (exit 1) when their marker disappeared")

    # 3. started again: refused
    refused(st, "scheduler", sch_group, sch_marker, "events", sch_prefix)
    refused(st, "ingest", ing_group, ing_marker, "inbound", ing_prefix)
    if marker(sch_marker) or marker(ing_marker) or state("I1"):
        fail("a refused start wrote to Redis")

    # 4. recovery: the scheduler rebuilds from events, ingest accepts the loss
    a = admin(st, "reset-offsets", sch_group, "events")
    if a.returncode:
        fail("reset-offsets exited %d: %s" % (a.returncode, a.stderr))
    if committed(st, sch_group, "events") != -1:
        fail("reset-offsets left committed offsets on events")
    a = admin(st, "accept-state-loss", "ingest", ing_group, ing_prefix)
    if a.returncode or (marker(ing_marker) or {}).get("how") != "accept-state-loss":
        fail("accept-state-loss exited %d (%s); marker %r" %
             (a.returncode, a.stderr, marker(ing_marker)))
    for s in ("ingest", "scheduler"):
        st.start(s, st.clock)
    st.wait_ready(["ingest", "scheduler"])
    wait(lambda: state("I1") and state("I2"), 30, "the scheduler to rebuild I1 and I2 from events",
         st)
    if (marker(sch_marker) or {}).get("how") != "first start":
        fail("the scheduler's marker after reset-offsets is %r" % marker(sch_marker))
    print("recovered: the scheduler rebuilt I1 and I2 from events; ingest accepted the loss")
    st.produce("inbound", [(key, invoice(tenant, "I3", cust, "25.00"))])
    wait(lambda: state("I3"), 30, "a new invoice through ingest and the scheduler", st)
    print("after the recovery a new invoice went through ingest and the scheduler")

    # 5. reset-offsets with a member running is refused
    a = admin(st, "reset-offsets", sch_group, "events")
    if a.returncode != 1 or "arrears-admin:" not in a.stderr:
        fail("reset-offsets with the scheduler running exited %d: %s%s" %
             (a.returncode, a.stdout, a.stderr))
    print("reset-offsets refused while the group has a member: " + a.stderr.strip()[:160])
    st.stop()
    for s in ("ingest", "scheduler"):
        if st.procs[s].returncode != 0:
            fail("arrears-%s exited %d on SIGTERM:\n%s" % (s, st.procs[s].returncode, st.log(s)))


if __name__ == "__main__":
    main()
