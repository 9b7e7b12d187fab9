#!/usr/bin/env python3
"""t_security.py -- authenticated transports (issue 18, "Security"):
SASL/SCRAM-SHA-512 over TLS to Kafka and a Redis ACL user limited to
arrears' key prefixes, on a private `deploy/local/stack up --secure` (its
own broker, Redis, throwaway CA and passwords, on free ports).

1. Every service (ingest, scheduler, notifier, reporter, gateway) starts
   with the stack's printed ARREARS_* exports only (the secrets given as
   *_FILE paths) and becomes ready.
2. An invoice published to inbound over SASL_SSL reaches `events` through
   ingest, and the scheduler keeps its state under sch:* through the ACL
   user (read back as the admin user).
3. A wrong Kafka password: readiness stays 503 and the log names the SASL
   authentication failure.
4. The ACL holds: ingest with a key prefix outside it is refused by Redis
   (NOPERM in its log) and its event is not on `events`; as the arrears
   user, SET other:x is NOPERM. A wrong Redis password is named in the log
   ("AUTH as arrears failed").
5. No log of the run holds the Kafka or Redis passwords.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import t_contract_lib as C  # noqa: E402

REPO = C.REPO
BIN = C.BIN if os.path.isabs(C.BIN) else os.path.join(REPO, C.BIN)
STACK = os.path.join(REPO, "deploy", "local", "stack")


def secure_stack(work):
    env = dict(os.environ)
    ports = [C.free_port() for _ in range(4)]
    env.update({"ARREARS_STACK_DIR": os.path.join(work, "stack"),
                "ARREARS_STACK_KAFKA_PORT": str(ports[0]),
                "ARREARS_STACK_CONTROLLER_PORT": str(ports[1]),
                "ARREARS_STACK_REDIS_PORT": str(ports[2]),
                "ARREARS_STACK_KAFKA_SECURE_PORT": str(ports[3]),
                "ARREARS_PARTITIONS": "3"})
    for k in ("ARREARS_KAFKA_BROKERS", "ARREARS_REDIS_URL"):
        env.pop(k, None)
    r = subprocess.run([STACK, "up", "--secure"], env=env, capture_output=True, text=True,
                       timeout=180)
    if r.returncode != 0:
        C.fail("stack up --secure: exit %d\n%s" % (r.returncode, r.stderr[-3000:]))
    exports = {}
    for line in r.stdout.splitlines():
        if not line.startswith("export "):
            C.fail("stack up --secure printed %r" % line)
        k, v = line[len("export "):].split("=", 1)
        exports[k] = v
    return env, exports, ports


def service_env(exports, **extra):
    """The environment of a service: no ARREARS_* but the stack's exports."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("ARREARS_")}
    e.update(exports)
    e.update(extra)
    return e


def kcat_args(exports, password=None):
    sec = os.path.dirname(exports["ARREARS_KAFKA_SSL_CA_LOCATION"])
    pw = password or open(os.path.join(sec, "kafka-password")).read()
    return ["-b", exports["ARREARS_KAFKA_BROKERS"], "-X", "security.protocol=SASL_SSL",
            "-X", "sasl.mechanism=SCRAM-SHA-512", "-X", "sasl.username=arrears",
            "-X", "sasl.password=" + pw, "-X",
            "ssl.ca.location=" + exports["ARREARS_KAFKA_SSL_CA_LOCATION"]]


def start(work, name, binary, env, procs):
    log = open(os.path.join(work, name + ".log"), "w")
    procs[name] = (subprocess.Popen([os.path.join(BIN, "arrears-" + binary)], env=env,
                                    stdout=log, stderr=subprocess.STDOUT, cwd=REPO),
                   env["ARREARS_HTTP_ADDR"])


def readyz(addr):
    """The status of GET /readyz (503 included); 0 when nothing answers."""
    try:
        with urllib.request.urlopen("http://%s/readyz" % addr, timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


def wait_ready(procs, names, timeout=60):
    deadline = time.time() + timeout
    for n in names:
        p, addr = procs[n]
        while readyz(addr) != 200:
            if p.poll() is not None:
                C.fail("%s exited %d before it was ready" % (n, p.returncode))
            if time.time() > deadline:
                C.fail("%s not ready in %d s (readyz %d)" % (n, timeout, readyz(addr)))
            time.sleep(0.3)


def log_of(work, name):
    with open(os.path.join(work, name + ".log"), errors="replace") as f:
        return f.read()


def main():
    C.require(["arrears-ingest", "arrears-scheduler", "arrears-notifier", "arrears-reporter",
               "arrears-gateway"], tools=("kcat", "openssl", "redis-cli"))
    work = tempfile.mkdtemp(prefix="t-security-")
    procs = {}
    env = None
    ok = False
    try:
        env, ex, ports = secure_stack(work)
        sec = os.path.dirname(ex["ARREARS_KAFKA_SSL_CA_LOCATION"])
        secrets = {n: open(os.path.join(sec, n)).read()
                   for n in ("kafka-password", "redis-password", "redis-admin-password")}
        want = {"ARREARS_KAFKA_BROKERS": "127.0.0.1:%d" % ports[3],
                "ARREARS_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "ARREARS_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                "ARREARS_KAFKA_SASL_USERNAME": "arrears"}
        for k, v in want.items():
            if ex.get(k) != v:
                C.fail("export %s=%r, want %r (all: %r)" % (k, ex.get(k), v, ex))
        if "ARREARS_REDIS_URL" in ex or "ARREARS_KAFKA_SASL_PASSWORD" in ex:
            C.fail("a secret printed in the exports: %r" % ex)
        admin = C.Resp("redis://:%s@127.0.0.1:%d/0" % (secrets["redis-admin-password"],
                                                       ports[2]), decode=True)

        # 1. every service ready on the secured transports
        tokens = os.path.join(work, "tokens")
        open(tokens, "w").close()
        extra = {"ingest": {}, "scheduler": {},
                 "notifier": {"ARREARS_SMTP_URL": "smtp://127.0.0.1:%d" % C.free_port(),
                              "ARREARS_SMTP_FROM": "ar@example.test"},
                 "reporter": {}, "gateway": {"ARREARS_GATEWAY_TOKENS_FILE": tokens,
                                             "ARREARS_GATEWAY_ADDR": "127.0.0.1:%d" %
                                             C.free_port()}}
        for svc, more in extra.items():
            start(work, svc, svc, service_env(ex, ARREARS_HTTP_ADDR="127.0.0.1:%d" %
                                              C.free_port(), **more), procs)
        wait_ready(procs, list(extra))
        print("ok: ingest, scheduler, notifier, reporter and gateway ready over SASL_SSL "
              "with the Redis ACL user")

        # 2. an invoice through ingest and the scheduler
        inv = C.ce("sec-inv-1", "invoice.issued", "2026-01-05T09:00:00Z",
                   {"invoice_id": "INV-S1", "customer_id": "C-S1", "number": "S-1",
                    "currency": "EUR", "amount": "100.00", "issued_on": "2026-01-05",
                    "due_on": "2026-02-04"})
        r = subprocess.run(["kcat"] + kcat_args(ex) + ["-P", "-t", "arrears.inbound", "-K",
                                                      "\t"],
                           input="acme/C-S1\t" + json.dumps(inv) + "\n", text=True,
                           capture_output=True, timeout=30)
        if r.returncode != 0:
            C.fail("kcat -P over SASL_SSL: %s" % r.stderr)

        def on_events(eid):
            r = subprocess.run(["kcat"] + kcat_args(ex) + ["-C", "-t", "arrears.events", "-e",
                                                          "-q", "-f", "%s\\n"],
                               capture_output=True, text=True, timeout=30)
            return [l for l in r.stdout.splitlines() if '"%s"' % eid in l]

        C.h.wait_for(lambda: on_events("sec-inv-1"), 60, "the invoice on events")
        C.h.wait_for(lambda: list(admin.scan("sch:*")), 60, "the scheduler's keys under sch:*")
        print("ok: an invoice over SASL_SSL reached events; the scheduler wrote sch:* keys "
              "through the ACL user")

        # 3. a wrong Kafka password
        bad = os.path.join(work, "wrong-password")
        with open(bad, "w") as f:
            f.write("not-the-password\n")
        start(work, "ingest-badpw", "ingest",
              service_env(ex, ARREARS_HTTP_ADDR="127.0.0.1:%d" % C.free_port(),
                          ARREARS_GROUP_ID="sec-badpw", ARREARS_KAFKA_SASL_PASSWORD_FILE=bad),
              procs)
        C.h.wait_for(lambda: "Authentication failed" in log_of(work, "ingest-badpw"), 30,
                   "the SASL failure in the log")
        addr = procs["ingest-badpw"][1]
        C.h.wait_for(lambda: readyz(addr), 30, "readyz of ingest with a wrong password")
        for _ in range(10):
            code = readyz(addr)
            if code != 503:
                C.fail("ingest with a wrong Kafka password answered readyz %d, want 503" % code)
            time.sleep(0.3)
        print("ok: a wrong Kafka password: readyz %d, the log names the SASL "
              "authentication failure" % code)

        # 4. the ACL holds
        url = open(ex["ARREARS_REDIS_URL_FILE"]).read()
        r = subprocess.run(["redis-cli", "-p", str(ports[2]), "--user", "arrears", "--pass",
                            secrets["redis-password"], "--no-auth-warning", "SET", "other:x",
                            "1"], capture_output=True, text=True, timeout=10)
        if "NOPERM" not in r.stdout + r.stderr:
            C.fail("SET other:x as arrears: %r, want NOPERM" % (r.stdout + r.stderr))
        start(work, "ingest-outside", "ingest",
              service_env(ex, ARREARS_HTTP_ADDR="127.0.0.1:%d" % C.free_port(),
                          ARREARS_GROUP_ID="sec-outside",
                          ARREARS_INGEST_DEDUP_PREFIX="other:dedup:"), procs)
        C.h.wait_for(lambda: "NOPERM" in log_of(work, "ingest-outside"), 45,
                     "ingest refused by the ACL (a prefix outside it)")
        time.sleep(2)
        if len(on_events("sec-inv-1")) != 1:
            C.fail("the invoice is on events %d times: ingest published past a refused "
                   "de-duplication" % len(on_events("sec-inv-1")))
        start(work, "ingest-redispw", "ingest",
              service_env(ex, ARREARS_HTTP_ADDR="127.0.0.1:%d" % C.free_port(),
                          ARREARS_GROUP_ID="sec-redispw", ARREARS_REDIS_URL_FILE="",
                          ARREARS_REDIS_URL=url.replace(secrets["redis-password"], "wrong")),
              procs)
        C.h.wait_for(lambda: "AUTH as arrears failed" in log_of(work, "ingest-redispw"), 30,
                   "the Redis AUTH failure in the log")
        print("ok: the ACL refuses other:x (NOPERM) and a prefix outside it; a wrong Redis "
              "password is named in the log")

        # 5. no secret in any log
        for name in procs:
            text = log_of(work, name)
            for what, value in secrets.items():
                if value and value in text:
                    C.fail("%s's log holds the %s" % (name, what))
        print("ok: no log holds a password (%d logs)" % len(procs))
        ok = True
    finally:
        for p, _ in procs.values():
            if p.poll() is None:
                p.terminate()
        for p, _ in procs.values():
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        if env:
            subprocess.run([STACK, "down"], env=env, capture_output=True, timeout=120)
        if ok and not os.environ.get("ARREARS_IT_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("kept " + work)


if __name__ == "__main__":
    main()
