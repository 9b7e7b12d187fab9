#!/usr/bin/env python3
"""pipeline.py -- the short pipeline run of the valgrind tier
(tests/valgrind/run): ingest, scheduler, notifier and reporter, each under
valgrind, on a private local stack (deploy/local/stack on free ports, as
tests/integration/run starts it), with the SMTP and HTTP sinks.

A small generated ledger (arrears-genledger --mix simple, 6 customers, 40
invoices over 70 days) is published --paced with a clock scaled so that
the 70 days take ARREARS_VALGRIND_SECONDS (60) real seconds: reminders,
SMS, payments and thank-yous all happen within the run; then the services
get SIGTERM and shut down as in production. Each service passes when
valgrind exits 0: no memory error and no definitely-lost block
(VALGRIND_OPTS from tests/valgrind/run). One more check fails when the
sinks received no message at all (the send path would not have run). It
does not check what was delivered (t_e2e_pipeline does): under valgrind
the services are too slow for a scaled clock's exact results.

    pipeline.py LOGDIR      (last line: `pipeline: N passed, M failed`)
"""
import collections
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "sinks"))
import harness  # noqa: E402

BIN = os.environ.get("ARREARS_BIN", os.path.join(REPO, "bin"))
SERVICES = ["ingest", "scheduler", "notifier", "reporter"]
SECONDS = int(os.environ.get("ARREARS_VALGRIND_SECONDS", "60"))
START = "2026-01-05"
DAYS = 70
FACTOR = DAYS * 86400 // SECONDS  # simulated seconds per real second
# real seconds from starting the services to simulated day 0: start-up
# under valgrind takes most of a minute on a busy machine
LEAD_S = int(os.environ.get("ARREARS_VALGRIND_LEAD", "75"))


def stack_up(logdir):
    """Starts a private stack; -> the environment pointing at it."""
    env = dict(os.environ)
    env.update({
        "ARREARS_STACK_DIR": os.path.join(logdir, "stack"),
        "ARREARS_STACK_KAFKA_PORT": str(harness.free_port()),
        "ARREARS_STACK_CONTROLLER_PORT": str(harness.free_port()),
        "ARREARS_STACK_REDIS_PORT": str(harness.free_port()),
        "ARREARS_TOPIC_PREFIX": "vg.",
        "ARREARS_PARTITIONS": "3",
    })
    with open(os.path.join(logdir, "stack-up.log"), "w") as log:
        r = subprocess.run([os.path.join(REPO, "deploy", "local", "stack"), "up"], env=env,
                           stdout=subprocess.PIPE, stderr=log, text=True, cwd=REPO)
    if r.returncode != 0:
        return None, env
    for line in r.stdout.splitlines():
        m = re.match(r"export (\w+)=(.*)$", line)
        if m:
            env[m.group(1)] = m.group(2).strip("'\"")
    return env, env


def service_env(env, name, addr, clock, smtp_port, http_port):
    e = dict(env, ARREARS_CLOCK=clock, ARREARS_HTTP_ADDR=addr, ARREARS_LOG_LEVEL="warn",
             ARREARS_GROUP_ID="vg-" + name)
    if name == "notifier":
        e.update(harness.sink_notifier_env(smtp_port, http_port, "vg"))
    if name == "reporter":
        e["ARREARS_REPORT_INTERVAL"] = "1d"
    return e


def main():
    logdir = sys.argv[1]
    os.makedirs(logdir, exist_ok=True)
    for b in ["arrears-" + s for s in SERVICES] + ["arrears-genledger", "arrears-publish"]:
        if not os.access(os.path.join(BIN, b), os.X_OK):
            print("FAIL: %s/%s is not built" % (BIN, b))
            print("pipeline: 0 passed, 1 failed")
            return 1
    py = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
    valgrind = os.environ.get("VALGRIND", "valgrind")
    procs, sinks, failed, passed = [], [], 0, 0
    env, stack_env = stack_up(logdir)
    try:
        if env is None:
            print("FAIL: the stack did not start (%s/stack-up.log)" % logdir)
            print(open(os.path.join(logdir, "stack-up.log")).read()[-2000:])
            failed = 1
            return 1
        ledger = os.path.join(logdir, "ledger.jsonl")
        subprocess.run([os.path.join(BIN, "arrears-genledger"), "--mix", "simple",
                        "--customers", "6", "--invoices", "40", "--days", str(DAYS), "--start",
                        START, "--seed", "1207", "--tenant", "vg", "--out", ledger, "--quiet"],
                       check=True)
        for kind in ("smtp", "http"):
            d = os.path.join(logdir, kind)
            os.makedirs(d, exist_ok=True)
            port = harness.free_port()
            log = open(os.path.join(logdir, kind + "-sink.log"), "w")
            sinks.append((kind, port, subprocess.Popen(
                [py, "tests/sinks/%s_sink.py" % kind, "--dir", d, "--port", str(port)],
                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)))
        smtp_port, http_port = sinks[0][1], sinks[1][1]
        addrs, t_start = {}, time.time()
        for s in SERVICES:
            addrs[s] = "127.0.0.1:%d" % harness.free_port()
        ready_deadline = time.time() + 240
        t0 = int(time.time()) + LEAD_S
        clock = "%sT00:00:00Z@%dx%d" % (START, t0, FACTOR)
        for s in SERVICES:
            log = open(os.path.join(logdir, s + ".log"), "w")
            procs.append((s, subprocess.Popen(
                [valgrind, "--log-file=" + os.path.join(logdir, s + ".vg"),
                 os.path.join(BIN, "arrears-" + s)],
                env=service_env(env, s, addrs[s], clock, smtp_port, http_port),
                stdout=log, stderr=subprocess.STDOUT, cwd=REPO)))
        for s, p in procs:
            while harness.http_get(addrs[s], "/readyz", timeout=5)[0] != 200:
                if p.poll() is not None or time.time() > ready_deadline:
                    break
                time.sleep(1)
        print("pipeline: services ready after %d s" % (time.time() - t_start))
        pub_env = dict(env, ARREARS_CLOCK=clock)
        pub = subprocess.Popen([os.path.join(BIN, "arrears-publish"), "--paced", ledger],
                               env=pub_env, stdout=open(os.path.join(logdir, "publish.log"), "w"),
                               stderr=subprocess.STDOUT, cwd=REPO)
        run_until = max(time.time(), t0) + SECONDS
        while time.time() < run_until and all(p.poll() is None for _, p in procs):
            time.sleep(1)
        if pub.poll() is None:
            pub.terminate()
        pub.wait()
        for _, p in procs:
            if p.poll() is None:
                p.send_signal(15)
        for s, p in procs:
            try:
                rc = p.wait(timeout=120)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = p.wait()
                print("FAIL  arrears-%s did not stop in 120 s after SIGTERM" % s)
            vg = open(os.path.join(logdir, s + ".vg")).read()
            m = re.search(r"ERROR SUMMARY: (\d+) errors", vg)
            errs = int(m.group(1)) if m else -1
            lost = re.search(r"definitely lost: ([\d,]+) bytes in ([\d,]+) blocks", vg)
            what = "%s errors, definitely lost %s" % (
                errs, ("%s bytes in %s blocks" % lost.groups()) if lost else "0")
            if rc == 0:
                passed += 1
                print("PASS  arrears-%s under valgrind (%s)" % (s, what))
            else:
                failed += 1
                print("FAIL  arrears-%s under valgrind (exit %d; %s)" % (s, rc, what))
                print("\n".join("    | " + ln for ln in vg.splitlines()
                                if not re.match(r"^==\d+== *$", ln))[:12000])
                print("    service log (last lines):")
                print("".join("    | " + ln for ln in
                              open(os.path.join(logdir, s + ".log")).readlines()[-15:]))
        # the SMTP sink stores <n>.eml and <n>.json a message, the HTTP sink <n>.json
        sent = [sum(1 for f in os.listdir(os.path.join(logdir, k)) if f.endswith(ext))
                for k, ext in (("smtp", ".eml"), ("http", ".json"))]
        outcomes = collections.Counter(
            json.loads(r["value"]).get("type") for r in
            harness.kcat_records(env["ARREARS_KAFKA_BROKERS"], env["ARREARS_TOPIC_PREFIX"] + "contacts"))
        print("pipeline: the sinks stored %d email(s) and %d HTTP request(s); outcomes on "
              "contacts: %s" % (sent[0], sent[1], dict(outcomes)))
        if sum(sent) == 0:
            failed += 1
            print("FAIL  no message reached a sink: the send path did not run")
        else:
            passed += 1
        return 1 if failed else 0
    finally:
        harness.stop_all([(s, p) for s, p in procs])
        for _, _, p in sinks:
            p.terminate()
            p.wait()
        subprocess.run([os.path.join(REPO, "deploy", "local", "stack"), "down"], env=stack_env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
        print("pipeline: %d passed, %d failed" % (passed, failed))


if __name__ == "__main__":
    sys.exit(main())
