"""harness.py -- helpers shared by the integration tests, the benchmarks
and the demo: start the sinks and the notifier, publish records with kcat,
read topics back, talk to Redis, find a free port. Python stdlib only;
kcat on PATH.

    sys.path.insert(0, "tests/sinks"); import harness as h
    smtp = h.Sink("smtp", workdir, ["--tempfail-first", "1"])   # .port, .dir
    n = h.Notifier(env, log_path)                                # .proc
    h.produce(brokers, topic, [(key, json_text), ...])
    recs = h.consume(brokers, topic)                             # [{key, payload, headers}]
    recs = h.kcat_records(brokers, topic)                        # [{key, headers, value}]
    r = h.Resp(redis_url); r.cmd("GET", key)                     # RESP, no redis-cli
    port = h.free_port(); status, body = h.http_get(addr, "/readyz")
    env = h.private_stack(workdir); ...; h.stack_down(env)      # deploy/local/stack
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(77)


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def stack_env():
    brokers = os.environ.get("ARREARS_KAFKA_BROKERS")
    redis = os.environ.get("ARREARS_REDIS_URL")
    if not brokers or not redis:
        skip("no stack (ARREARS_KAFKA_BROKERS / ARREARS_REDIS_URL unset)")
    bindir = os.environ.get("ARREARS_BIN", os.path.join(REPO, "bin"))
    if not os.path.isabs(bindir):
        bindir = os.path.join(REPO, bindir)
    return brokers, redis, bindir


def private_stack(workdir):
    """A private local stack (deploy/local/stack up) in workdir/stack on free
    ports; its exports (ARREARS_KAFKA_BROKERS, ARREARS_REDIS_URL) are put
    in os.environ. Returns the env to give stack_down. Fails the run when
    the stack does not start."""
    env = dict(os.environ, ARREARS_STACK_DIR=os.path.join(workdir, "stack"),
               ARREARS_STACK_KAFKA_PORT=str(free_port()),
               ARREARS_STACK_CONTROLLER_PORT=str(free_port()),
               ARREARS_STACK_REDIS_PORT=str(free_port()))
    r = subprocess.run([os.path.join(REPO, "deploy", "local", "stack"), "up"], env=env,
                       capture_output=True, text=True, cwd=REPO)
    if r.returncode:
        fail("deploy/local/stack up:\n" + r.stderr[-3000:])
    for line in r.stdout.splitlines():
        if line.startswith("export ") and "=" in line:
            k, v = line[len("export "):].split("=", 1)
            os.environ[k] = env[k] = v.strip("'\"")
    return env


def stack_down(env):
    """Stops a stack private_stack started (env None: nothing to do)."""
    if env is not None:
        subprocess.run([os.path.join(REPO, "deploy", "local", "stack"), "down"], env=env,
                       capture_output=True, cwd=REPO)


def create_topics(bindir, prefix, partitions=6, brokers=None):
    env = dict(os.environ, ARREARS_TOPIC_PREFIX=prefix)
    if brokers:
        env["ARREARS_KAFKA_BROKERS"] = brokers
    for attempt in range(10):
        try:
            subprocess.run([os.path.join(bindir, "arrears-admin"), "create-topics",
                            "--partitions", str(partitions), "commands", "contacts", "tasks"],
                           env=env, check=True, stdout=subprocess.DEVNULL)
            return
        except (PermissionError, OSError):
            # bin/ is shared: a concurrent `make` may be relinking the tool
            if attempt == 9:
                raise
            time.sleep(0.5)


class Sink:
    """kind "smtp" (smtp_sink.py), "http" (http_sink.py) or "fast" (the C sink
    binary given as extra[0] with the rest as arguments)."""

    def __init__(self, kind, workdir, extra=(), name=None):
        name = name or kind
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        portfile = os.path.join(workdir, name + ".port")
        if os.path.exists(portfile):
            os.unlink(portfile)
        if kind == "fast":
            cmd = [extra[0], "--port-file", portfile] + list(extra[1:])
        else:
            script = "smtp_sink.py" if kind == "smtp" else "http_sink.py"
            cmd = [sys.executable, os.path.join(HERE, script), "--dir", self.dir,
                   "--port-file", portfile] + list(extra)
        self.log = open(os.path.join(workdir, name + ".log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(200):
            if os.path.exists(portfile):
                break
            if self.proc.poll() is not None:
                if self.proc.returncode == 77:
                    skip("%s sink cannot run (see %s.log)" % (kind, name))
                fail("%s sink exited %d" % (kind, self.proc.returncode))
            time.sleep(0.05)
        else:
            fail("%s sink did not start" % kind)
        self.port = int(open(portfile).read())
        self.url = "http://127.0.0.1:%d" % self.port

    def files(self, ext=".json"):
        return sorted(os.path.join(self.dir, f) for f in os.listdir(self.dir)
                      if f.endswith(ext))

    def records(self):
        out = []
        for f in self.files(".json"):
            with open(f) as fh:
                out.append(json.load(fh))
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Notifier:
    def __init__(self, bindir, env, log_path):
        self.log = open(log_path, "w")
        full = dict(os.environ)
        full.update(env)
        self.proc = subprocess.Popen([os.path.join(bindir, "arrears-notifier")], env=full,
                                     stdout=self.log, stderr=subprocess.STDOUT, cwd=REPO)

    def alive(self):
        return self.proc.poll() is None

    def kill9(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout=15):
        if self.alive():
            self.proc.terminate()
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode


# kcat producing a test's input. Idempotent, so that the records of one
# partition land in the order given: librdkafka's default producer keeps up
# to 1,000,000 requests in flight and retries a failed one after later ones
# succeeded (any retriable error: a leader not ready yet on a topic just
# created, a timed-out request), which reorders one debtor's events -- a
# test of per-debtor order then fails on its own input. The tests' kcat -P
# of many records start with this (t_services_lifecycle.sh, a shell test,
# passes the same -X itself).
KCAT_PRODUCE = ["kcat", "-P", "-X", "enable.idempotence=true"]


def produce(brokers, topic, records, headers=(), timeout=None):
    """records: [(key, value_text)]; keys and values must not contain tabs or
    newlines (compact JSON does not). headers: ["name=value"] on every record."""
    data = "".join("%s\t%s\n" % (k, v) for k, v in records)
    args = KCAT_PRODUCE + ["-b", brokers, "-t", topic, "-K", "\t"]
    for hd in headers:
        args += ["-H", hd]
    subprocess.run(args, input=data.encode(), check=True, timeout=timeout)


def consume(brokers, topic):
    """Every record of topic now: [{"key","payload","headers"}]."""
    p = subprocess.run(["kcat", "-C", "-b", brokers, "-t", topic, "-o", "beginning", "-e",
                        "-q", "-J"], capture_output=True, check=True)
    out = []
    for line in p.stdout.decode().splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out


def kcat_records(brokers, topic):
    """Every committed record of topic now, in partition order:
    [{"key", "headers": {name: value}, "value": text}]. Fails the test when
    kcat does."""
    r = subprocess.run(["kcat", "-C", "-b", brokers, "-t", topic, "-o", "beginning", "-e", "-q",
                        "-X", "isolation.level=read_committed", "-f", "%k\x1e%h\x1e%s\x1d"],
                       capture_output=True, timeout=120)
    if r.returncode:
        fail("kcat -C %s: %s" % (topic, r.stderr.decode(errors="replace")))
    out = []
    for rec in r.stdout.decode().split("\x1d"):
        if not rec.strip("\n"):
            continue
        k, hs, v = rec.lstrip("\n").split("\x1e", 2)
        hd = dict(x.split("=", 1) for x in hs.split(",") if "=" in x)
        out.append({"key": k, "headers": hd, "value": v})
    return out


def free_port():
    """A TCP port of 127.0.0.1 that nothing listened on a moment ago."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http_get(addr, path, timeout=2):
    """(status, body) of GET http://addr/path; (0, the error) on any failure
    (not listening yet, an HTTP error status, a timeout)."""
    try:
        with urllib.request.urlopen("http://%s%s" % (addr, path), timeout=timeout) as r:
            return r.status, r.read().decode()
    except Exception as e:  # noqa: BLE001 -- any failure means "not yet"
        return 0, str(e)


def cluster_ports():
    """(first of 6 free consecutive ports, first of 6 more) for a local
    Redis Cluster's nodes and their cluster bus, below the ephemeral range
    (an outgoing connection cannot take one); fails the test if none."""
    import random
    try:
        lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    except (OSError, ValueError):
        lo = 32768

    def free(b):
        socks = []
        try:
            for p in range(b, b + 6):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return True
        except OSError:
            return False
        finally:
            for s in socks:
                s.close()
    picked = []
    for lo_, hi in ((20000, lo - 6), (10000, 20000 - 6)):
        for _ in range(200):
            b = random.randrange(lo_, hi)
            if free(b) and not (picked and abs(b - picked[0]) < 6):
                picked.append(b)
                break
    if len(picked) < 2:
        fail("no free ports for a Redis Cluster")
    return picked[0], picked[1]


def cluster_node(url):
    """(host, port) of the first seed of a redis+cluster:// url that answers
    PING (a failover test may have killed a node); fails the test if none."""
    for seed in url[len("redis+cluster://"):].rsplit("@", 1)[-1].split(","):
        host, port = seed.rsplit(":", 1)
        r = subprocess.run(["redis-cli", "-h", host, "-p", port, "PING"], capture_output=True,
                           text=True, timeout=10)
        if r.stdout.strip() == "PONG":
            return host, port
    fail("no seed node of %s answers PING" % url)


def redis_addr(url):
    """redis://[:password@]host:port[/db] -> (host, port, db, password or None),
    port and db as strings."""
    rest = url[len("redis://"):]
    pw = None
    if "@" in rest:
        auth, rest = rest.rsplit("@", 1)
        pw = auth.lstrip(":")
    hostport, _, db = rest.partition("/")
    host, _, port = hostport.rpartition(":")
    return host, port, db or "0", pw


def key_slot(key):
    """Redis Cluster's hash slot of key (CRC16-XMODEM of its hash tag, the
    text between the first "{" and the next "}" when not empty)."""
    k = key if isinstance(key, bytes) else str(key).encode()
    o = k.find(b"{")
    if o >= 0:
        c = k.find(b"}", o + 1)
        if c > o + 1:
            k = k[o + 1:c]
    crc = 0
    for b in k:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc % 16384


# Commands whose keys do not start at their first argument, or have none:
# where the key is (an index), or None for "any master".
_KEYLESS = {"PING", "INFO", "DBSIZE", "FLUSHDB", "FLUSHALL", "SCAN", "CONFIG", "CLUSTER",
            "SCRIPT", "TIME", "CLIENT", "MEMORY STATS", "SLOWLOG", "COMMAND"}


def cpu_seconds(pid):
    """CPU seconds (user + system, every thread) of process pid so far, from
    /proc; None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read().rsplit(")", 1)[1].split()
        return (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def redis_info(url, section):
    """INFO section of a one-node Redis (a redis:// url) as text; "" when
    it cannot be read (a cluster url, Redis down)."""
    if not url.startswith("redis://"):
        return ""
    try:
        r = Resp(url, decode=True)
        info = r.cmd("INFO", section)
        r.s.close()
    except (OSError, RuntimeError, ValueError):
        return ""
    return info


def redis_cpu(url):
    """INFO cpu of a one-node Redis as {field: seconds}; {} when it cannot
    be read (redis_info)."""
    out = {}
    for line in redis_info(url, "cpu").splitlines():
        k, _, v = line.partition(":")
        try:
            out[k] = float(v)
        except ValueError:
            pass
    return out


def redis_main_cpu(url):
    """CPU seconds of a one-node Redis's main thread so far (redis_cpu);
    0 when it cannot be read."""
    f = redis_cpu(url)
    return f.get("used_cpu_user_main_thread", 0) + f.get("used_cpu_sys_main_thread", 0)


def redis_calls(url):
    """Commands a one-node Redis has run so far, from INFO commandstats:
    {command: calls}; a script's own calls are counted as well as the
    EVALSHA that ran them. {} when it cannot be read (redis_info)."""
    out = {}
    for m in re.finditer(r"cmdstat_([^:]+):calls=(\d+)", redis_info(url, "commandstats")):
        out[m.group(1)] = int(m.group(2))
    return out


def notifier_key(url, prefix, kind, command_id):
    """The notifier's claim: or out: key of a command (services/notifier/
    claims.c): tagged {<command id>} on a Redis Cluster url."""
    if url.startswith("redis+cluster://"):
        return "%s%s:{%s}" % (prefix, kind, command_id)
    return "%s%s:%s" % (prefix, kind, command_id)


class Resp:
    """A RESP connection to url (default ARREARS_REDIS_URL), stdlib only.
    Arguments may be bytes or anything str() takes. Bulk replies come back
    as bytes, or with decode=True as str (invalid UTF-8 replaced); an error
    reply raises RuntimeError.

    A redis+cluster://[:password@]host:port[,host:port...] url talks to a
    Redis Cluster: each command goes to the master of its key's slot (the
    map from CLUSTER SLOTS, refreshed on MOVED; ASK followed once),
    keyless ones to any master; scan() walks every master. Pipelines
    (send, then read) keep their order per command."""

    def __init__(self, url=None, decode=False):
        url = url or os.environ["ARREARS_REDIS_URL"]
        self.decode = decode
        self.nodes = None
        if url.startswith("redis+cluster://"):
            rest = url[len("redis+cluster://"):]
            self.pw = rest.rsplit("@", 1)[0].lstrip(":") if "@" in rest else None
            self.seeds = [tuple(x.rsplit(":", 1)) for x in rest.rsplit("@", 1)[-1].split(",")]
            self.nodes, self.pending = {}, []
            self._slots()
            return
        host, port, db, pw = redis_addr(url)
        self.s = socket.create_connection((host, int(port)))
        self.f = self.s.makefile("rb")
        if pw:
            self.cmd("AUTH", pw)
        self.cmd("SELECT", db)

    # -- one node
    @staticmethod
    def _write(sock, args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        sock.sendall(b"".join(out))

    def _read(self, f):
        line = f.readline()
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = f.read(n + 2)[:-2]
            return data.decode(errors="replace") if self.decode else data
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._read(f) for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)

    # -- a cluster
    def _node(self, addr):
        if addr not in self.nodes:
            sock = socket.create_connection((addr[0], int(addr[1])), timeout=30)
            f = sock.makefile("rb")
            if self.pw:
                self._write(sock, ("AUTH", self.pw))
                self._read(f)
            self.nodes[addr] = (sock, f)
        return self.nodes[addr]

    def _slots(self):
        """The slot map from the first seed or known node that answers."""
        err = None
        for addr in list(self.seeds) + [a for a in self.nodes if a not in self.seeds]:
            try:
                sock, f = self._node(addr)
                self._write(sock, ("CLUSTER", "SLOTS"))
                got = self._read(f)
            except (OSError, RuntimeError) as e:
                self.nodes.pop(addr, None)
                err = e
                continue
            self.slot_map = [None] * 16384
            self.masters = []
            for lo, hi, master, *_ in got:
                host = master[0].decode() if isinstance(master[0], bytes) else master[0]
                a = (host or addr[0], str(master[1]))
                self.masters.append(a)
                for i in range(lo, hi + 1):
                    self.slot_map[i] = a
            return
        raise OSError("no node of the cluster answers: %s" % err)

    def _route(self, args):
        name = str(args[0].decode() if isinstance(args[0], bytes) else args[0]).upper()
        key = None
        if name in ("EVAL", "EVALSHA", "FCALL"):
            if len(args) > 3 and int(args[2]) > 0:
                key = args[3]
        elif name not in _KEYLESS and len(args) > 1:
            key = args[1]
        if key is None:
            return self.masters[0]
        return self.slot_map[key_slot(key)] or self.masters[0]

    def send(self, *args):
        if self.nodes is None:
            self._write(self.s, args)
            return
        addr = self._route(args)
        self._write(self._node(addr)[0], args)
        self.pending.append(addr)

    def read(self):
        if self.nodes is None:
            return self._read(self.f)
        return self._read(self._node(self.pending.pop(0))[1])

    def cmd(self, *args):
        if self.nodes is None:
            self.send(*args)
            return self.read()
        for attempt in range(20):
            addr = self._route(args)
            try:
                sock, f = self._node(addr)
                self._write(sock, args)
                return self._read(f)
            except RuntimeError as e:
                msg = str(e)
                if msg.startswith("MOVED"):
                    self._slots()
                elif msg.startswith("ASK"):
                    a = tuple(msg.split()[2].rsplit(":", 1))
                    sock, f = self._node(a)
                    self._write(sock, ("ASKING",))
                    self._read(f)
                    self._write(sock, args)
                    return self._read(f)
                elif msg.startswith(("TRYAGAIN", "CLUSTERDOWN")):
                    time.sleep(0.2)
                else:
                    raise
            except OSError:  # a node went away (a failover test): a new map
                self.nodes.pop(addr, None)
                time.sleep(0.5)
                self._slots()
        raise RuntimeError("cluster: %s kept being redirected" % (args[0],))

    def scan(self, pattern, count=1000):
        """Every key matching pattern (SCAN, so the server is not blocked;
        on a cluster, on every master)."""
        keys = []
        for addr in ([None] if self.nodes is None else list(self.masters)):
            cur = "0"
            while True:
                if addr is None:
                    cur, batch = self.cmd("SCAN", cur, "MATCH", pattern, "COUNT", count)
                else:
                    sock, f = self._node(addr)
                    self._write(sock, ("SCAN", cur, "MATCH", pattern, "COUNT", count))
                    cur, batch = self._read(f)
                keys += batch
                if cur in (b"0", "0"):
                    break
        return keys


def sink_notifier_env(smtp_port, http_port, tag):
    """The notifier's settings that point it at the SMTP sink (email) and the
    HTTP sink's /sms (SMS), with fast retries; tag names the run in the
    From: address, the SMS account and token and the pay link."""
    return {
        "ARREARS_SMTP_URL": "smtp://127.0.0.1:%d" % smtp_port,
        "ARREARS_SMTP_TLS": "none",
        "ARREARS_SMTP_FROM": "ar@%s.example.test" % tag,
        "ARREARS_SMS_URL": "http://127.0.0.1:%d/sms" % http_port,
        "ARREARS_SMS_ACCOUNT": "AC" + tag,
        "ARREARS_SMS_TOKEN": tag + "-token",
        "ARREARS_SMS_FROM": "+447700900000",
        "ARREARS_PAYLINK_URL": "https://pay.%s.example.test/{token}" % tag,
        "ARREARS_PAYLINK_SECRET": tag + "-paylink-secret-0001",
        "ARREARS_RETRY_BASE": "100ms",
        "ARREARS_RETRY_MAX": "2s",
    }


def stop_all(named, timeout=15):
    """named: [(name, Popen)] in the order they started. SIGTERM to every one
    still running, last started first, then waits for each up to timeout s;
    one that does not stop is killed, and said so."""
    for name, p in reversed(named):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for name, p in reversed(named):
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            print("%s did not stop in %d s; killed" % (name, timeout))
            p.kill()
            p.wait()


def teardown(procs, sinks, work):
    """A test's finally: kills what still runs, stops the sinks, removes the
    work dir (kept, and said, with ARREARS_IT_KEEP=1)."""
    for p in procs:
        if p.alive():
            p.kill9()
    for s in sinks:
        s.stop()
    if os.environ.get("ARREARS_IT_KEEP"):
        print("kept " + work)
    else:
        shutil.rmtree(work, ignore_errors=True)


def group_offsets(bindir, prefix, group, suffix):
    """`arrears-admin offsets GROUP SUFFIX` under topic prefix: its total line
    as {"committed", "end", "lag": int, "line": str} (committed -1: none)."""
    out = subprocess.run([os.path.join(bindir, "arrears-admin"), "offsets", group, suffix],
                         env=dict(os.environ, ARREARS_TOPIC_PREFIX=prefix),
                         capture_output=True, text=True).stdout.strip().splitlines()
    line = out[-1] if out else ""
    res = {k: int(v) for k, v in (p.split("=") for p in line.split()[1:] if "=" in p)}
    res["line"] = line
    return res


def wait_for(pred, timeout, what, interval=0.3, procs=()):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        for p in procs:
            if p.proc.poll() is not None and p.proc.returncode not in (0, -9):
                fail("%s: a notifier exited %s while waiting" % (what, p.proc.returncode))
        time.sleep(interval)
    fail("timed out after %ds waiting for %s" % (timeout, what))


def outcomes(brokers, topic):
    """Contact events by id: {id: [event, ...]}."""
    by = {}
    for r in consume(brokers, topic):
        ev = json.loads(r["payload"])
        by.setdefault(ev["id"], []).append(ev)
    return by


def command(tenant, cid, channel="email", template="overdue_7", locale="en-GB", name="Ada Ltd",
            email="ap@ada.test", phone="+447700900123", invoices=None, currency="EUR",
            kind="reminder", **extra):
    invoices = invoices or [{"invoice_id": "INV-1", "number": "2026-0001",
                             "issued_on": "2026-02-01", "due_on": "2026-03-01",
                             "days_overdue": 7, "currency": currency,
                             "outstanding_minor": 12000}]
    total = sum(i["outstanding_minor"] for i in invoices)
    c = {"v": 1, "command_id": cid, "kind": kind, "tenant": tenant, "channel": channel,
         "template": template, "locale": locale, "strategy": "default", "variant": "B",
         "step": 2, "step_name": "+7d", "created_at": "2026-03-08T09:00:00.000Z",
         "customer": {"customer_id": extra.pop("customer_id", "C-1"), "name": name,
                      "email": email, "phone": phone, "timezone": "Europe/London",
                      "locale": locale, "country": "GB"},
         "currency": currency,
         "amounts": {"principal": total, "fees": 0, "interest": 0, "compensation": 0,
                     "total": total},
         "invoices": invoices}
    c.update(extra)
    return c


def key_of(c):
    return "%s/%s" % (c["tenant"], c["customer"]["customer_id"])


def publish_commands(brokers, topic, cmds):
    produce(brokers, topic, [(key_of(c), json.dumps(c, separators=(",", ":"))) for c in cmds])
