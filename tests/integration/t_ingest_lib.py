"""t_ingest_lib.py -- helpers of the ingest integration tests (not a test
itself: not executable, imported by t_ingest_*.py). Python stdlib and
tests/sinks/harness.py; Kafka through kcat and bin/arrears-admin, Redis
through redis-cli."""
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sinks"))
import harness as h  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ARREARS_BIN", os.path.join(REPO, "bin"))
BROKERS = os.environ.get("ARREARS_KAFKA_BROKERS", "")
REDIS_URL = os.environ.get("ARREARS_REDIS_URL", "")


def skip(msg):
    print("SKIP:", msg)
    sys.exit(77)


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def require_stack():
    if not BROKERS or not REDIS_URL:
        skip("ARREARS_KAFKA_BROKERS / ARREARS_REDIS_URL not set")
    for tool in ("kcat",):
        if not shutil.which(tool):
            skip(tool + " not installed")
    for b in ("arrears-ingest", "arrears-admin"):
        if not os.access(os.path.join(BIN, b), os.X_OK):
            skip(os.path.join(BIN, b) + " not built")


class Env:
    """A private set of topics, consumer group and Redis key prefix."""

    def __init__(self, name, partitions=3):
        tag = "%s-%d-%d" % (name, os.getpid(), int(time.time()))
        self.prefix = "it-ingest-%s." % tag
        self.group = "it-ingest-%s" % tag
        self.dedup_prefix = "it-ingest:%s:" % tag
        self.tmp = tempfile.mkdtemp(prefix="it-ingest-")
        self.procs = []
        self.env = dict(os.environ)
        self.env.update({
            "ARREARS_TOPIC_PREFIX": self.prefix,
            "ARREARS_GROUP_ID": self.group,
            "ARREARS_INGEST_DEDUP_PREFIX": self.dedup_prefix,
            "ARREARS_INGEST_PHONE_PREFIX": self.dedup_prefix + "phone:",
            "ARREARS_HTTP_ADDR": "127.0.0.1:0",
            "ARREARS_LOG_LEVEL": os.environ.get("ARREARS_LOG_LEVEL", "info"),
        })
        subprocess.run([os.path.join(BIN, "arrears-admin"), "create-topics", "--partitions",
                        str(partitions), "inbound", "events", "ingest.dlq"],
                       env=self.env, check=True, stdout=subprocess.DEVNULL)

    def topic(self, suffix):
        return self.prefix + suffix

    # -- producing ---------------------------------------------------------
    def produce_file(self, data, key=None, headers=()):
        """One message whose payload is the bytes `data` (not empty)."""
        path = os.path.join(self.tmp, "msg")
        with open(path, "wb") as f:
            f.write(data)
        cmd = h.KCAT_PRODUCE + ["-b", BROKERS, "-t", self.topic("inbound")]
        if key is not None:
            cmd += ["-k", key]
        for name, value in headers:
            cmd += ["-H", "%s=%s" % (name, value)]
        subprocess.run(cmd + [path], check=True)

    def produce_lines(self, records, topic="inbound"):
        """Many messages: (key, value) pairs; values one line of text each."""
        path = os.path.join(self.tmp, "lines")
        with open(path, "w") as f:
            for k, v in records:
                assert "\n" not in v and "\t" not in k
                f.write("%s\t%s\n" % (k, v))
        subprocess.run(h.KCAT_PRODUCE + ["-b", BROKERS, "-t", self.topic(topic), "-K", "\t",
                        "-l", path], check=True)

    # -- consuming ---------------------------------------------------------
    def consume(self, suffix):
        """Every message of a topic, in (partition, offset) order."""
        out = subprocess.run(["kcat", "-C", "-b", BROKERS, "-t", self.topic(suffix), "-o",
                              "beginning", "-e", "-q", "-J"], check=True,
                             stdout=subprocess.PIPE).stdout
        msgs = []
        for line in out.decode("utf-8", "replace").splitlines():
            if not line.strip():
                continue
            m = json.loads(line)
            h = m.get("headers") or []
            m["headers"] = [(h[i], h[i + 1]) for i in range(0, len(h), 2)]
            msgs.append(m)
        msgs.sort(key=lambda m: (m["partition"], m["offset"]))
        return msgs

    def offsets(self):
        """(committed, end) of the ingest group on inbound."""
        try:
            out = subprocess.run([os.path.join(BIN, "arrears-admin"), "offsets", self.group,
                                  "inbound"], env=self.env, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL).stdout.decode()
        except OSError:  # the binary is being rebuilt right now
            return -1, -1
        last = out.strip().splitlines()[-1] if out.strip() else ""
        try:
            parts = dict(p.split("=") for p in last.split()[1:])
            return int(parts["committed"]), int(parts["end"])
        except (ValueError, KeyError, IndexError):
            return -1, -1

    def wait_committed(self, expect_end=None, timeout=120, proc=None):
        deadline = time.time() + timeout
        while time.time() < deadline:
            c, e = self.offsets()
            if e > 0 and c == e and (expect_end is None or e >= expect_end):
                return True
            if proc is not None and proc.poll() is not None:
                fail("arrears-ingest exited with %s while we waited" % proc.returncode)
            time.sleep(0.5)
        return False

    # -- the service -------------------------------------------------------
    def start(self, **extra):
        env = dict(self.env)
        env.update({k: str(v) for k, v in extra.items()})
        log = open(os.path.join(self.tmp, "ingest-%d.log" % len(self.procs)), "wb")
        p = subprocess.Popen([os.path.join(BIN, "arrears-ingest")], env=env, stdout=log,
                             stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def stop(self, p, timeout=10):
        p.send_signal(signal.SIGTERM)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            fail("arrears-ingest did not exit within %d s of SIGTERM" % timeout)

    def logs(self):
        out = []
        for i in range(len(self.procs)):
            path = os.path.join(self.tmp, "ingest-%d.log" % i)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    out.append(f.read().decode("utf-8", "replace")[-3000:])
        return "\n".join(out)

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def header(msg, name):
    for k, v in msg["headers"]:
        if k == name:
            return v
    return None


def dlq_payload(rec):
    if "payload" in rec:
        return rec["payload"].encode("utf-8")
    return base64.b64decode(rec["payload_base64"])
