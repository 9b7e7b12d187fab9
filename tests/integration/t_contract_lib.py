#!/usr/bin/env python3
"""t_contract_lib.py -- helpers of the contract tests (t_contract_ids.py,
t_schema_records.py) and of the live-ledger tests (t_plans.py,
t_escalation.py): services on private topics and key prefixes, Kafka
through kcat, Redis through a small RESP client, a JSON Schema validator,
and a ledger of CloudEvents played through publish -> ingest -> scheduler
on a scaled clock (play_ledger).

The stack plumbing (kcat, RESP, free ports, HTTP) is tests/sinks/harness.py's.

Validation uses python3-jsonschema (Draft 2020-12) when it is installed
(deploy/local/deps installs it), else a stdlib checker of the keywords
schemas/ uses (the same set as tests/unit/schema_check.c), so the
tests never skip for want of it."""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sinks"))
from harness import Resp, fail, free_port, http_get, skip  # noqa: E402,F401 -- re-exported
import harness as h  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ARREARS_BIN", os.path.join(REPO, "bin"))
BROKERS = os.environ.get("ARREARS_KAFKA_BROKERS", "")
REDIS_URL = os.environ.get("ARREARS_REDIS_URL", "")


def require(binaries, tools=("kcat",)):
    if not BROKERS or not REDIS_URL:
        fail("needs ARREARS_KAFKA_BROKERS and ARREARS_REDIS_URL (tests/integration/run)")
    for b in binaries:
        if not os.access(os.path.join(BIN, b), os.X_OK):
            skip("%s/%s is not built" % (BIN, b))
    for t in tools:
        if subprocess.run(["sh", "-c", "command -v " + t], capture_output=True).returncode:
            skip(t + " is not installed")


def metric(text, name):
    """The value of one metric line (name with its labels), or 0."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


class Stack:
    """Private topics (prefix), consumer groups and Redis key prefixes for
    one test, and the services it runs."""

    def __init__(self, name, partitions=3):
        self.token = "%s-%d-%d" % (name, os.getpid(), int(time.time()) % 100000)
        self.prefix = "it-%s." % self.token
        self.kprefix = "it-%s:" % self.token
        self.tmp = tempfile.mkdtemp(prefix="it-%s-" % self.token)
        self.procs = {}
        self.addrs = {}
        self.env = dict(os.environ, ARREARS_TOPIC_PREFIX=self.prefix, ARREARS_LOG_LEVEL="warn")
        r = subprocess.run([os.path.join(BIN, "arrears-admin"), "create-topics", "--partitions",
                            str(partitions)], env=self.env, capture_output=True, text=True)
        if r.returncode:
            fail("create-topics: " + r.stderr)

    def topic(self, suffix):
        return self.prefix + suffix

    def start(self, svc, clock, extra=None):
        addr = "127.0.0.1:%d" % free_port()
        e = dict(self.env)
        e.update({
            "ARREARS_CLOCK": clock,
            "ARREARS_HTTP_ADDR": addr,
            "ARREARS_GROUP_ID": "it-%s-%s" % (self.token, svc),
            "ARREARS_INGEST_DEDUP_PREFIX": self.kprefix + "dedup:",
            "ARREARS_INGEST_PHONE_PREFIX": self.kprefix + "phone:",
            "ARREARS_SCHEDULER_KEY_PREFIX": self.kprefix + "sch:",
            "ARREARS_NOTIFIER_KEY_PREFIX": self.kprefix + "ntf:",
        })
        e.update(extra or {})
        log = open(os.path.join(self.tmp, svc + ".log"), "w")
        p = subprocess.Popen([os.path.join(BIN, "arrears-" + svc)], env=e, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        self.procs[svc] = p
        self.addrs[svc] = addr
        return p

    def start_raw(self, name, argv, env=None):
        log = open(os.path.join(self.tmp, name + ".log"), "w")
        p = subprocess.Popen(argv, env=env or self.env, stdout=log, stderr=subprocess.STDOUT,
                             cwd=REPO)
        self.procs[name] = p
        return p

    def wait_ready(self, svcs, timeout=60):
        deadline = time.time() + timeout
        for s in svcs:
            while http_get(self.addrs[s], "/readyz")[0] != 200:
                p = self.procs[s]
                if p.poll() is not None:
                    fail("arrears-%s exited %d at start:\n%s" % (s, p.returncode, self.log(s)))
                if time.time() > deadline:
                    fail("arrears-%s not ready in %d s" % (s, timeout))
                time.sleep(0.2)

    def alive(self):
        for s, p in self.procs.items():
            if p.poll() is not None and s in self.addrs:
                fail("arrears-%s died (exit %d):\n%s" % (s, p.returncode, self.log(s)))

    def metrics(self, svc):
        return http_get(self.addrs[svc], "/metrics")[1]

    def log(self, name, n=40):
        try:
            return "".join(open(os.path.join(self.tmp, name + ".log")).readlines()[-n:])
        except OSError:
            return ""

    def produce(self, topic, records, headers=()):
        """records: [(key, value)] on <prefix><topic>, in order."""
        h.produce(BROKERS, self.topic(topic), records, headers, timeout=60)

    def consume(self, topic):
        """Every committed record of <prefix><topic>: [{key, headers, value, body}]."""
        out = h.kcat_records(BROKERS, self.topic(topic))
        for rec in out:
            try:
                rec["body"] = json.loads(rec["value"])
            except ValueError:
                rec["body"] = None
        return out

    def stop(self):
        h.stop_all(list(self.procs.items()))

    def cleanup(self):
        self.stop()
        try:
            r = Resp()
            for k in r.scan(self.kprefix + "*"):
                r.cmd("DEL", k)
        except OSError:
            pass
        if os.environ.get("ARREARS_IT_KEEP") == "1":
            print("kept " + self.tmp)
        else:
            subprocess.run(["rm", "-rf", self.tmp])


# ------------------------------------------------------------ JSON Schema

def load_schema(name):
    with open(os.path.join(REPO, "schemas", name + ".json")) as f:
        return json.load(f)


def _type_is(v, t):
    return {"string": lambda: isinstance(v, str),
            "integer": lambda: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda: isinstance(v, (int, float)) and not isinstance(v, bool),
            "object": lambda: isinstance(v, dict),
            "array": lambda: isinstance(v, list),
            "boolean": lambda: isinstance(v, bool),
            "null": lambda: v is None}[t]()


def _errors(s, v, path):
    """The first violation of schema s by v, or None (the keywords of schemas/)."""
    t = s.get("type")
    if t is not None and not any(_type_is(v, x) for x in ([t] if isinstance(t, str) else t)):
        return "%s: not of type %s" % (path, t)
    if "const" in s and v != s["const"]:
        return "%s: not %r" % (path, s["const"])
    if "enum" in s and v not in s["enum"]:
        return "%s: %r not in %r" % (path, v, s["enum"])
    if isinstance(v, str):
        if len(v) < s.get("minLength", 0):
            return "%s: too short" % path
        if "maxLength" in s and len(v) > s["maxLength"]:
            return "%s: too long" % path
        if "pattern" in s and not re.search(s["pattern"], v):
            return "%s: does not match %s" % (path, s["pattern"])
    if _type_is(v, "number") and "minimum" in s and v < s["minimum"]:
        return "%s: below %s" % (path, s["minimum"])
    if isinstance(v, dict):
        for r in s.get("required", []):
            if r not in v:
                return "%s.%s: required" % (path, r)
        for k, ps in s.get("properties", {}).items():
            if k in v:
                e = _errors(ps, v[k], path + "." + k)
                if e:
                    return e
        for k, deps in s.get("dependentRequired", {}).items():
            if k in v:
                for d in deps:
                    if d not in v:
                        return "%s.%s: required with %s" % (path, d, k)
    if isinstance(v, list):
        if len(v) < s.get("minItems", 0):
            return "%s: too few items" % path
        if "maxItems" in s and len(v) > s["maxItems"]:
            return "%s: too many items" % path
        if s.get("uniqueItems"):
            seen = [json.dumps(x, sort_keys=True) for x in v]
            if len(set(seen)) != len(seen):
                return "%s: duplicate items" % path
        if "items" in s:
            for i, x in enumerate(v):
                e = _errors(s["items"], x, "%s[%d]" % (path, i))
                if e:
                    return e
    if "anyOf" in s and all(_errors(a, v, path) for a in s["anyOf"]):
        return "%s: matches no alternative" % path
    return None


try:
    import jsonschema  # python3-jsonschema (Debian)

    def violation(schema, v):
        v_ = jsonschema.Draft202012Validator(schema)
        errs = sorted(v_.iter_errors(v), key=lambda e: list(e.path))
        if not errs:
            return None
        e = errs[0]
        return "$%s: %s" % ("".join("[%r]" % p for p in e.path), e.message)

    try:
        from importlib.metadata import version
        VALIDATOR = "python3-jsonschema " + version("jsonschema")
    except Exception:  # noqa: BLE001 -- the version is only printed
        VALIDATOR = "python3-jsonschema"
except ImportError:
    def violation(schema, v):
        return _errors(schema, v, "$")

    VALIDATOR = "the stdlib checker (python3-jsonschema not installed)"


# ------------------------------------------------------------ a ledger played live

def ce(eid, etype, time_utc, data, source="billing", tenant="acme"):
    """An inbound CloudEvent."""
    return {"specversion": "1.0", "id": eid, "source": source, "type": etype,
            "time": time_utc, "tenant": tenant, "data": data}


def at_local(utc, local, zone):
    """utc ("...T08:00:00.000Z"), checked to be local ("2026-04-14 09:00")
    in zone by tzdata: a slip in a hand-worked instant is named as one."""
    import datetime
    import zoneinfo
    want = datetime.datetime.strptime(local, "%Y-%m-%d %H:%M").replace(
        tzinfo=zoneinfo.ZoneInfo(zone)).astimezone(datetime.timezone.utc)
    if want.strftime("%Y-%m-%dT%H:%M:%S.000Z") != utc:
        fail("test data: %s is not %s in %s" % (utc, local, zone))
    return utc


def data_of(d):
    """A scheduler event's data as comparable text."""
    return json.dumps(d, sort_keys=True, separators=(",", ":"))


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def write_inputs(st, policy_doc, events):
    """The policy and the ledger of CloudEvents (one a line) as files in the
    test's temp dir: (policy path, ledger path)."""
    policy, ledger = os.path.join(st.tmp, "policy.json"), os.path.join(st.tmp, "ledger.jsonl")
    write(policy, json.dumps(policy_doc, indent=1) + "\n")
    write(ledger, "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events))
    return policy, ledger


def play_ledger(st, policy, events, n_events, clock, end_ms, catch_up_s=30):
    """Plays the CloudEvents file `events` (n_events lines) through
    arrears-publish --paced -> arrears-ingest -> arrears-scheduler (policy
    file `policy`) under `clock` (t_scheduler_lib.Clock) until the simulated
    instant end_ms; waits until every event went through ingest and the
    scheduler (any event rejected by either is a failure), then stops the
    services (SIGTERM: the scheduler waits for its deliveries) and fails on
    a service that did not exit 0. Used by t_plans.py and t_escalation.py."""
    st.start("ingest", clock.spec, {"ARREARS_INGEST_BATCH_FILL": "2ms"})
    st.start("scheduler", clock.spec, {"ARREARS_SCHEDULER_TICK": "5ms", "ARREARS_POLICY": policy})
    st.wait_ready(["ingest", "scheduler"])
    if time.time() > clock.real0 - 0.5:
        fail("the services took too long to start: simulated time has begun")
    pub = st.start_raw("publish", [os.path.join(BIN, "arrears-publish"), "--paced", events],
                       dict(st.env, ARREARS_CLOCK=clock.spec))
    clock.wait_until(end_ms)
    st.alive()
    if pub.wait(timeout=30) != 0:
        fail("arrears-publish exited %d:\n%s" % (pub.returncode, st.log("publish")))
    deadline = time.time() + catch_up_s
    while True:  # every event through ingest and the scheduler
        st.alive()
        mi, ms = st.metrics("ingest"), st.metrics("scheduler")
        acc = metric(mi, 'arrears_ingest_messages_total{result="accepted"}')
        rej = metric(mi, 'arrears_ingest_messages_total{result="rejected"}')
        srej = metric(ms, 'arrears_scheduler_events_total{result="rejected"}')
        lag = (metric(mi, "arrears_ingest_lag_messages")
               + metric(ms, "arrears_scheduler_lag_messages"))
        if rej or srej:
            fail("%d event(s) rejected by ingest, %d by the scheduler:\n%s\n%s"
                 % (rej, srej, st.log("ingest"), st.log("scheduler")))
        if acc >= n_events and lag == 0:
            break
        if time.time() > deadline:
            fail("not caught up in %d s: ingest accepted %d of %d, lag %d"
                 % (catch_up_s, acc, n_events, lag))
        time.sleep(0.3)
    st.stop()
    for name, p in st.procs.items():
        if p.returncode not in (0, None):
            fail("%s exited %d:\n%s" % (name, p.returncode, st.log(name)))
