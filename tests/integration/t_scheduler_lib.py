# t_scheduler_lib.py -- helpers of the scheduler's integration tests (not a
# test itself: not executable). Python 3 stdlib only; Kafka through kcat,
# topics through bin/arrears-admin, the scheduler as a subprocess. The kcat
# and RESP plumbing is tests/sinks/harness.py's.
import datetime
import fnmatch
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import zoneinfo

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sinks"))
from harness import fail, skip  # noqa: E402,F401 -- re-exported (L.fail)
import harness as h  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ARREARS_BIN", os.path.join(REPO, "bin"))
if not os.path.isabs(BIN):
    BIN = os.path.join(REPO, BIN)
BROKERS = os.environ.get("ARREARS_KAFKA_BROKERS", "")
REDIS_URL = os.environ.get("ARREARS_REDIS_URL", "")
UTC = datetime.timezone.utc


def require():
    if not BROKERS or not REDIS_URL:
        skip("ARREARS_KAFKA_BROKERS / ARREARS_REDIS_URL not set (run under tests/integration/run)")
    for tool in ("kcat", "redis-cli"):
        if subprocess.run(["sh", "-c", "command -v " + tool], capture_output=True).returncode:
            skip(tool + " not installed")
    if not os.access(os.path.join(BIN, "arrears-scheduler"), os.X_OK):
        fail("bin/arrears-scheduler is not built")


def iso(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def parse_iso(s):
    return int(datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp() * 1000)


def local_ms(day, hhmm, zone):
    """UTC ms of local wall time hhmm on date day (datetime.date) in zone."""
    h, m = map(int, hhmm.split(":"))
    dt = datetime.datetime(day.year, day.month, day.day, h, m, tzinfo=zoneinfo.ZoneInfo(zone))
    return int(dt.timestamp() * 1000)


class Clock:
    """The ARREARS_CLOCK shared with the scheduler."""

    def __init__(self, sim_start, factor, delay_s=2):
        self.sim0 = parse_iso(sim_start)
        self.real0 = int(time.time()) + delay_s
        self.factor = factor
        self.spec = "%s@%dx%s" % (sim_start.replace(".000Z", "Z"), self.real0, factor)

    def now(self):
        return self.sim0 + int((time.time() - self.real0) * 1000 * self.factor)

    def wait_until(self, sim_ms):
        while self.now() < sim_ms:
            time.sleep(min(0.2, max(0.01, (sim_ms - self.now()) / 1000 / self.factor)))


def wait_for(clock, pred, what, sim_deadline):
    """pred()'s first true value, polled until the simulated sim_deadline
    (then the test fails naming what)."""
    while clock.now() < sim_deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.1)
    fail("timed out waiting for " + what)


class Redis:
    """Redis through redis-cli, replies as its text; on a Redis Cluster
    (redis+cluster:// url) through harness.Resp, formatted the same way.
    On a cluster the scheduler's keys carry their partition's hash tag right
    after the prefix (docs/scheduler.md "Redis Cluster: the key layout"):
    tests name keys as on one Redis, and cmd() and keys() find the tagged
    key whose name, without its "{tag}", is the one asked for."""

    def __init__(self, url):
        self.cluster = url.startswith("redis+cluster://")
        if self.cluster:
            self.r = h.Resp(url, decode=True)
            return
        host, port, db, pw = h.redis_addr(url)
        self.args = ["redis-cli", "-h", host, "-p", port, "-n", db]
        if pw:
            self.args += ["-a", pw, "--no-auth-warning"]

    def cmd(self, *a):
        if self.cluster:
            a = list(a)
            if len(a) > 1:
                a[1] = self.tagged(a[1])
            got = self.r.cmd(*a)
            if isinstance(got, list):
                return "".join("%s\n" % ("" if x is None else x) for x in got)
            return "%s\n" % ("" if got is None else got)
        r = subprocess.run(self.args + [str(x) for x in a], capture_output=True, text=True, check=True)
        return r.stdout

    def keys(self, pattern):
        if self.cluster:
            head = pattern.split(":", 1)[0] + ":" if ":" in pattern else ""
            return [k for k in self.r.scan(head.replace("*", "") + "*")
                    if fnmatch.fnmatchcase(untag(k), pattern)]
        out = subprocess.run(self.args + ["--scan", "--pattern", pattern], capture_output=True,
                             text=True, check=True).stdout
        return [k for k in out.splitlines() if k]

    def tagged(self, key):
        """key itself when it exists, else the tagged key it names."""
        if self.r.cmd("EXISTS", key):
            return key
        got = self.keys(glob_escape(key))
        return got[0] if got else key


def part_tag(part, nparts):
    """The hash tag of partition part of nparts on a Redis Cluster: the
    shortest p<part>.<k> whose slot is in the part-th of nparts equal slot
    ranges (docs/scheduler.md "Redis Cluster: the key layout"; written
    again here from that rule, so a drift from sch_store_part_tag fails the
    tests that use it)."""
    lo, hi = part * 16384 // nparts, (part + 1) * 16384 // nparts
    k = 0
    while True:
        tag = "p%d.%d" % (part, k)
        if lo <= h.key_slot(tag) < hi:
            return tag
        k += 1


def untag(key):
    """key without its first "{...}" hash tag."""
    o = key.find("{")
    c = key.find("}", o + 1) if o >= 0 else -1
    return key[:o] + key[c + 1:] if c > o else key


def glob_escape(s):
    return "".join("[%s]" % ch if ch in "*?[]" else ch for ch in s)


class Resp(h.Resp):
    """A persistent RESP connection, for polling faster than redis-cli;
    replies as str."""

    def __init__(self, url):
        super().__init__(url, decode=True)


class Env:
    """A private set of topics, Redis key prefix and consumer group."""

    def __init__(self, name, partitions=6):
        tag = "it-sch-%s-%d-%d" % (name, os.getpid(), int(time.time()) % 100000)
        self.prefix = tag + "."
        self.kprefix = tag + ":"
        self.group = tag
        self.work = tempfile.mkdtemp(prefix=tag + "-")
        self.procs = []
        self.partitions = partitions
        self.redis = Redis(REDIS_URL)
        env = dict(os.environ, ARREARS_TOPIC_PREFIX=self.prefix)
        r = subprocess.run([os.path.join(BIN, "arrears-admin"), "create-topics", "--partitions",
                            str(partitions)], env=env, capture_output=True, text=True)
        if r.returncode:
            fail("create-topics: " + r.stderr)

    def pkey(self, part, rest):
        """The scheduler's key rest of events partition part: its prefix,
        then on a Redis Cluster the partition's {tag}."""
        if not REDIS_URL.startswith("redis+cluster://"):
            return self.kprefix + rest
        return "%s{%s}%s" % (self.kprefix, part_tag(part, self.partitions), rest)

    def topic(self, suffix):
        return self.prefix + suffix

    def produce(self, events, per_event_headers=True):
        """Publishes canonical events on <prefix>events keyed tenant/customer_id."""
        if per_event_headers:
            for ev in events:
                self._kcat([ev], ["ce_type=" + ev["type"], "ce_id=" + ev["id"],
                                  "tenant=" + ev["tenant"], "trace_id=" + ev.get("trace_id", "0" * 32)])
            return
        groups = {}
        for ev in events:
            groups.setdefault((ev["type"], ev["tenant"]), []).append(ev)
        # keep per-key order: group only consecutive runs of one type
        run, key = [], None
        for ev in events:
            k = (ev["type"], ev["tenant"])
            if key is not None and k != key:
                self._kcat(run, ["ce_type=" + key[0], "tenant=" + key[1]])
                run = []
            key = k
            run.append(ev)
        if run:
            self._kcat(run, ["ce_type=" + key[0], "tenant=" + key[1]])

    def _kcat(self, evs, headers):
        h.produce(BROKERS, self.topic("events"),
                  [("%s/%s" % (e["tenant"], e["customer_id"]), json.dumps(e, separators=(",", ":")))
                   for e in evs], headers)

    def consume(self, suffix):
        """Every record of <prefix><suffix>: list of dicts key, headers, raw, body."""
        return [{"key": r["key"], "headers": r["headers"], "raw": r["value"],
                 "body": json.loads(r["value"])}
                for r in h.kcat_records(BROKERS, self.topic(suffix))]

    def start(self, clock, name="s", extra=None):
        env = dict(os.environ)
        env.update({
            "ARREARS_TOPIC_PREFIX": self.prefix,
            "ARREARS_SCHEDULER_KEY_PREFIX": self.kprefix,
            "ARREARS_GROUP_ID": self.group,
            "ARREARS_CLOCK": clock.spec,
            "ARREARS_HTTP_ADDR": "",
            "ARREARS_LOG_LEVEL": "info",
            "ARREARS_KAFKA_SESSION_TIMEOUT_MS": "6000",
            "ARREARS_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
        })
        env.update(extra or {})
        log = open(os.path.join(self.work, name + ".log"), "ab")
        p = subprocess.Popen([os.path.join(BIN, "arrears-scheduler")], cwd=REPO, env=env,
                             stdout=log, stderr=log)
        p.logname = log.name
        self.procs.append(p)
        return p

    def stop(self, p, timeout=10):
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            fail("scheduler did not stop within %ds of SIGTERM" % timeout)
        if rc != 0:
            fail("scheduler exited %d on SIGTERM; log:\n%s" % (rc, self.log(p)))

    def kill9(self, p):
        p.send_signal(signal.SIGKILL)
        p.wait()

    def log(self, p):
        with open(p.logname, "r", errors="replace") as f:
            return f.read()

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        try:
            for k in self.redis.keys(self.kprefix + "*"):
                self.redis.cmd("DEL", k)
        except Exception:
            pass


def event(etype, tenant, customer, data, eid, time_ms):
    d = dict(data)
    d.setdefault("customer_id", customer)
    return {"v": 1, "id": eid, "source": "billing-it", "type": etype, "tenant": tenant,
            "time": iso(time_ms), "customer_id": customer,
            "trace_id": "%032x" % (abs(hash(eid)) % (1 << 120)), "data": d}


def load_policy(path=None):
    with open(path or os.path.join(REPO, "deploy", "config", "policy.json")) as f:
        return json.load(f)


def without_calendar(policy, workdir):
    """The policy without the contact rules that move a step by the count
    of sends or the day of the week (weekdays, holidays, caps,
    after_conversation_days, jurisdictions): only the window stays. For a
    test of step instants, whose dates fall on Sundays and whose debtors
    get more than 3 reminders a week. Returns the path of the file
    written in workdir."""
    p = json.loads(json.dumps(policy))
    rules = p.get("contact_rules", {})
    for k in ("weekdays", "holidays", "caps", "after_conversation_days", "jurisdictions"):
        rules.pop(k, None)
    path = os.path.join(workdir, "policy.json")
    with open(path, "w") as f:
        json.dump(p, f)
    return path
