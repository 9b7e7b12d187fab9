"""t_reporter_lib.py -- helpers of the reporter integration tests (not a
test itself: not executable, imported by t_reporter_*.py). Python stdlib
only; Kafka through kcat and bin/arrears-admin, Redis through harness.Resp."""
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sinks"))
import harness as h  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ARREARS_BIN", os.path.join(REPO, "bin"))
BROKERS = os.environ.get("ARREARS_KAFKA_BROKERS", "")
REDIS_URL = os.environ.get("ARREARS_REDIS_URL", "")
DATA = os.path.join(REPO, "tests", "data", "reporter")
sys.path.insert(0, DATA)
import compare  # noqa: E402  tests/data/reporter/compare.py

EXPONENT = {"EUR": 2, "USD": 2, "GBP": 2, "JPY": 0, "KWD": 3}


def skip(msg):
    print("SKIP:", msg)
    sys.exit(77)


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def require_stack():
    if not BROKERS or not REDIS_URL:
        skip("ARREARS_KAFKA_BROKERS / ARREARS_REDIS_URL not set")
    if not shutil.which("kcat"):
        skip("kcat not installed")
    for b in ("arrears-reporter", "arrears-admin"):
        if not os.access(os.path.join(BIN, b), os.X_OK):
            skip(os.path.join(BIN, b) + " not built")


def canonical(ce):
    """Inbound CloudEvent -> canonical event (docs/contracts.md), the way
    ingest would publish it; written here independently of the C code."""
    data = dict(ce["data"])
    cur = data.get("currency")

    def minor(a):
        q = Decimal(str(a)).scaleb(EXPONENT[cur])
        assert q == q.to_integral_value(), a
        return int(q)
    if "amount" in data:
        data["amount_minor"] = minor(data.pop("amount"))
    if "allocations" in data:
        data["allocations"] = [{"invoice_id": a["invoice_id"], "amount_minor": minor(a["amount"])}
                               for a in data["allocations"]]
    t = ce["time"].replace("Z", "")
    if "." not in t:
        t += ".000"
    return {"v": 1, "id": ce["id"], "source": ce["source"], "type": ce["type"],
            "tenant": ce.get("tenant", "default"), "time": t + "Z",
            "customer_id": data.get("customer_id"), "trace_id": "0" * 32, "data": data}


def ledger(name):
    """(canonical events, contacts) of tests/data/reporter/<name>; lines the
    reporter must reject (bad amounts) are kept as they are."""
    events = []
    for line in open(os.path.join(DATA, name, "events.jsonl")):
        if not line.strip():
            continue
        ce = json.loads(line)
        try:
            events.append(canonical(ce))
        except AssertionError:
            events.append(ce)  # a poison record: must be rejected, not fatal
    contacts = [json.loads(l) for l in open(os.path.join(DATA, name, "contacts.jsonl")) if l.strip()]
    expected = json.load(open(os.path.join(DATA, name, "expected.json")))
    return events, contacts, expected


class Env:
    """A private set of topics, consumer group and Redis key prefix."""

    def __init__(self, name, partitions=3):
        tag = "%s-%d-%d" % (name, os.getpid(), int(time.time()))
        self.prefix = "it-rep-%s." % tag
        self.group = "it-rep-%s" % tag
        self.tmp = tempfile.mkdtemp(prefix="it-rep-")
        self.procs = []
        self.env = dict(os.environ)
        self.env.update({
            "ARREARS_TOPIC_PREFIX": self.prefix,
            "ARREARS_GROUP_ID": self.group,
            "ARREARS_HTTP_ADDR": "127.0.0.1:0",
            "ARREARS_REPORTER_SNAPSHOT_INTERVAL": "500ms",
            "ARREARS_REPORT_INTERVAL": "366d",  # no periodic reports unless a test asks
            # the ledgers' report days (2026-03) stay within the fact retention
            # whatever the real date: the default 400d, longer once 2026-01-01
            # is more than 400 days ago (old settled invoices are still dropped)
            "ARREARS_REPORTER_FACT_RETENTION": "%dd" % max(
                400, (datetime.date.today() - datetime.date(2026, 1, 1)).days),
            "ARREARS_LOG_LEVEL": os.environ.get("ARREARS_LOG_LEVEL", "info"),
        })
        subprocess.run([os.path.join(BIN, "arrears-admin"), "create-topics", "--partitions",
                        str(partitions), "events", "contacts", "reports", "reports.requests"],
                       env=self.env, check=True, stdout=subprocess.DEVNULL)
        self.seen = 0  # reports already read

    def topic(self, suffix):
        return self.prefix + suffix

    def produce(self, suffix, records):
        """records: (key, value) pairs; value a dict or a raw string."""
        path = os.path.join(self.tmp, "batch")
        with open(path, "w") as f:
            for k, v in records:
                f.write("%s\t%s\n" % (k, v if isinstance(v, str) else json.dumps(v)))
        subprocess.run(h.KCAT_PRODUCE + ["-b", BROKERS, "-t", self.topic(suffix), "-K", "\t", "-l", path],
                       check=True)

    def key_order(self, suffix):
        """Each key's event ids on the topic, in the order it holds them (a
        key's records share one partition, which kcat reads in order)."""
        out = subprocess.run(["kcat", "-C", "-b", BROKERS, "-t", self.topic(suffix), "-o", "beginning",
                              "-e", "-q", "-f", "%k\t%s\n"], capture_output=True, text=True, check=True)
        ids = {}
        for line in out.stdout.splitlines():
            k, _, v = line.partition("\t")
            try:
                i = json.loads(v).get("id")
            except (ValueError, AttributeError):
                i = None
            ids.setdefault(k, []).append(i)
        return ids

    def publish_events(self, events):
        self.produce("events", [("%s/%s" % (e.get("tenant", "default"), e.get("customer_id") or
                                             e.get("data", {}).get("customer_id")), e) for e in events])

    def publish_contacts(self, contacts):
        self.produce("contacts", [("%s/%s" % (c["tenant"], c["customer_id"]), c) for c in contacts])

    def request(self, rid, tenant, as_of, types=None):
        req = {"v": 1, "id": rid, "tenant": tenant, "as_of": as_of}
        if types:
            req["types"] = types
        self.produce("reports.requests", [(tenant + "/" + rid, req)])

    def reports(self):
        """Every record on the reports topic: list of (key, dict)."""
        out = subprocess.run(["kcat", "-C", "-b", BROKERS, "-t", self.topic("reports"), "-o", "beginning",
                              "-e", "-q", "-f", "%k\t%s\n"], capture_output=True, text=True, timeout=60)
        res = []
        for line in out.stdout.splitlines():
            if "\t" in line:
                k, v = line.split("\t", 1)
                res.append((k, json.loads(v)))
        return res

    def wait_reports(self, pred, want, timeout=60, what="reports"):
        """Polls until `want` reports satisfy pred(key, report); returns them."""
        deadline = time.time() + timeout
        got = []
        while time.time() < deadline:
            got = [(k, r) for k, r in self.reports() if pred(k, r)]
            if len(got) >= want:
                return got
            for p in self.procs:
                if p.poll() is not None:
                    fail("reporter exited (%s) while waiting for %s; log:\n%s" % (p.returncode, what, self.log(p)))
            time.sleep(0.5)
        fail("timed out waiting for %s (got %d of %d)" % (what, len(got), want))

    # -- the service -------------------------------------------------------
    def start(self, extra=None, name="reporter", binary="arrears-reporter"):
        env = dict(self.env)
        env.update(extra or {})
        log = open(os.path.join(self.tmp, name + ".log"), "ab")
        p = subprocess.Popen([os.path.join(BIN, binary)], env=env, stdout=log, stderr=log)
        p.logname = os.path.join(self.tmp, name + ".log")
        self.procs.append(p)
        return p

    def log(self, p):
        try:
            return open(p.logname).read()[-4000:]
        except OSError:
            return ""

    def stop(self, p, sig=signal.SIGTERM):
        p.send_signal(sig)
        try:
            rc = p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            fail("%s still running 10 s after signal %d" % (p.args[0], sig))
        self.procs.remove(p)
        if sig == signal.SIGTERM and rc != 0:
            fail("%s exited %d on SIGTERM; log:\n%s" % (p.args[0], rc, self.log(p)))
        return rc

    def log_count(self, name, text):
        try:
            return open(os.path.join(self.tmp, name + ".log")).read().count(text)
        except OSError:
            return 0

    def cleanup(self):
        for p in self.procs:
            p.kill()
            p.wait()
        self.procs = []
        try:  # one Redis or a cluster (harness.Resp routes each key)
            r = h.Resp(REDIS_URL)
            for k in r.scan(self.prefix + "*"):
                r.cmd("DEL", k)
        except (OSError, RuntimeError):
            pass
        if os.environ.get("ARREARS_IT_KEEP") != "1":
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print("kept", self.tmp)


def check_order(want, have, what, exact):
    """Fails unless every key's ids in have keep want's order for that key:
    the same lists (exact), or want's with some left out (what a stage that
    drops duplicates and rejects may write) and with any id written again
    later (at least once: a consumer drops the repeat by its id). Names the
    first id out of order, so that a failure says which stage reordered a
    debtor's events."""
    if exact:
        for k in sorted(set(want) | set(have)):
            if have.get(k, []) != want.get(k, []):
                fail("%s: key %s holds %s, in the order sent %s"
                     % (what, k, have.get(k, []), want.get(k, [])))
    else:
        for k, ids in sorted(have.items()):
            ref, at, seen = want.get(k, []), 0, set()
            for i in ids:
                if i in seen:
                    continue
                seen.add(i)
                try:
                    at = ref.index(i, at) + 1
                except ValueError:
                    fail("%s: key %s holds %s out of the order sent %s" % (what, k, i, ref))
    print("ok: %s: every key's events in the order sent" % what)


def check(expected, reports, what):
    problems = compare.compare(expected, reports)
    if problems:
        fail("%s: %d differences:\n  %s" % (what, len(problems), "\n  ".join(problems[:40])))
    print("ok: %s: %d reports match the independently worked-out answers" % (what, len(expected["reports"])))
