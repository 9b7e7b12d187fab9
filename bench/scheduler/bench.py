#!/usr/bin/env python3
# bench.py -- `make bench-scheduler` (driven by bench/scheduler/run): the
# scheduler against BullMQ delayed jobs on the same Kafka + Redis.
#
# Scheduler (bench/out/arrears-scheduler, policy bench/scheduler/policy.json:
# one reminder per invoice on its due date at 09:00 local):
#   schedule  N invoices (N/10 debtors, 27 zones, 100 due dates) are put on
#             <prefix>events first; rate = N / (time from the first timer in
#             Redis to the last); Redis bytes per open invoice = INFO
#             used_memory delta / N.
#   fire      the scheduler restarts with a clock past every due date: all N
#             timers are due at once; rate = N / (last - first command's
#             Kafka timestamp).
#   late      M invoices whose timers fall evenly over W real seconds
#             (scaled clock, 100 days x 27 zones of 09:00 local); lateness =
#             Kafka timestamp of the command - real due time.
# BullMQ (bullmq-bench.mjs): the same three phases with delayed jobs, a
# worker of BULLMQ_CONCURRENCY (200) with an empty processor.
#
# Environment: ARREARS_KAFKA_BROKERS, ARREARS_REDIS_URL (set by run),
# ARREARS_BENCH_N (1000000), ARREARS_BENCH_LATE_N (100000),
# ARREARS_BENCH_LATE_WINDOW (20 s), ARREARS_BENCH_NODE_DIR.
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "sinks"))
import harness as h  # noqa: E402

OUT = os.path.join(REPO, "bench", "out")
BROKERS = os.environ["ARREARS_KAFKA_BROKERS"]
REDIS_URL = os.environ["ARREARS_REDIS_URL"]
N = int(os.environ.get("ARREARS_BENCH_N", "1000000"))
M = int(os.environ.get("ARREARS_BENCH_LATE_N", "100000"))
W = float(os.environ.get("ARREARS_BENCH_LATE_WINDOW", "20"))
NODE_DIR = os.environ["ARREARS_BENCH_NODE_DIR"]
# ARREARS_BENCH_ONLY=late (or schedule+fire) and ARREARS_BENCH_SKIP_BULLMQ=1
# are for working on one figure; the full run does everything.
# ARREARS_BENCH_WRAP (a command line, e.g. "valgrind --tool=callgrind
# --callgrind-out-file=/tmp/cg.%p") runs the scheduler under it in the
# phases named by ARREARS_BENCH_WRAP_PHASES (default "fire"): for profiles,
# never in a measured run. ARREARS_BENCH_COMMANDSTATS=1 logs, per timer
# fired, the commands Redis ran in the fire phase and their CPU (INFO
# commandstats, reset when the phase starts; a script's own calls counted
# as well as the EVALSHA), and the CPU per unit of every process on the
# machine and the machine's idle time (/proc): what shares the cores.
ONLY = os.environ.get("ARREARS_BENCH_ONLY", "")
SKIP_BULLMQ = os.environ.get("ARREARS_BENCH_SKIP_BULLMQ", "") == "1"
WRAP = os.environ.get("ARREARS_BENCH_WRAP", "").split()
CMDSTATS = os.environ.get("ARREARS_BENCH_COMMANDSTATS", "") == "1"
WRAP_PHASES = os.environ.get("ARREARS_BENCH_WRAP_PHASES", "fire").split(",")
PARTS = 6
TAG = "bench-sch-%d" % os.getpid()


def log(*a):
    print("bench-scheduler:", *a, file=sys.stderr, flush=True)


class Redis(h.Resp):
    """harness.Resp (replies as str) with a pipeline and the bench's
    memory and clean-up helpers."""

    def __init__(self, url):
        super().__init__(url, decode=True)

    def pipeline(self, cmds):
        for c in cmds:
            self.send(*c)
        return [self.read() for _ in cmds]

    def used_memory(self):
        info = self.cmd("INFO", "memory")
        for line in info.splitlines():
            if line.startswith("used_memory:"):
                return int(line.split(":")[1])
        raise RuntimeError("no used_memory")

    def delete_prefix(self, prefix):
        cursor = "0"
        while True:
            cursor, keys = self.cmd("SCAN", cursor, "MATCH", prefix + "*", "COUNT", 10000)
            if keys:
                self.cmd("UNLINK", *keys)
            if cursor == "0":
                break


def create_topics(prefix):
    env = dict(os.environ, ARREARS_TOPIC_PREFIX=prefix)
    subprocess.run([os.path.join(REPO, "bin", "arrears-admin"), "create-topics", "--partitions", str(PARTS),
                    "events", "commands"], env=env, check=True, capture_output=True)


def produce(prefix, n, first_due, ndays):
    t = time.time()
    r = subprocess.run([os.path.join(OUT, "sch-produce"), BROKERS, prefix + "events", "bench", str(n), "10",
                        first_due, str(ndays), "27"], check=True, capture_output=True, text=True)
    log("produced %s events in %.1fs" % (r.stdout.strip(), time.time() - t))


def start(prefix, kprefix, clock, name):
    env = dict(os.environ, ARREARS_TOPIC_PREFIX=prefix, ARREARS_SCHEDULER_KEY_PREFIX=kprefix,
               ARREARS_GROUP_ID=prefix + "g", ARREARS_CLOCK=clock, ARREARS_HTTP_ADDR="",
               ARREARS_LOG_LEVEL="warn", ARREARS_POLICY=os.path.join(REPO, "bench", "scheduler", "policy.json"))
    logf = open(os.path.join(OUT, "scheduler-%s.log" % name), "wb")
    wrap = WRAP if name in WRAP_PHASES else []
    return subprocess.Popen(wrap + [os.path.join(OUT, "arrears-scheduler")], env=env, stdout=logf, stderr=logf,
                            cwd=REPO)


def redis_main_cpu():
    """CPU seconds of Redis's main thread so far."""
    return h.redis_main_cpu(REDIS_URL)


def cpu_by_command():
    """CPU seconds so far of every process on the machine, summed by command
    name (threads included), the seconds their threads waited for a core
    ("waited <name>", schedstat), and the machine's busy (steal apart),
    idle, iowait and steal seconds (/proc/stat)."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        name, rest = st[st.index("(") + 1:st.rindex(")")], st.rsplit(")", 1)[1].split()
        out[name] = out.get(name, 0) + (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")
        # the time its threads were ready to run and waited for a core
        for t in (os.listdir("/proc/%s/task" % d) if os.path.isdir("/proc/%s/task" % d) else []):
            try:
                with open("/proc/%s/task/%s/schedstat" % (d, t)) as f:
                    w = int(f.read().split()[1]) / 1e9
            except (OSError, IndexError, ValueError):
                continue
            out["waited " + name] = out.get("waited " + name, 0) + w
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    out[" idle"], out[" iowait"], out[" steal"] = v[3] / hz, v[4] / hz, v[7] / hz
    out[" busy"] = (sum(v[:7]) - v[3] - v[4]) / hz
    return out


_cpu0 = {}


def cmdstats(r, phase):
    """ARREARS_BENCH_COMMANDSTATS: with phase None, resets Redis's command
    statistics; else logs the phase's commands per unit and their CPU, and
    the CPU per unit of each process on the machine (the broker, the
    sinks, this driver: what shares the cores)."""
    global _cpu0
    if not CMDSTATS:
        return
    if phase is None:
        r.pipeline([("CONFIG", "RESETSTAT")])
        _cpu0 = cpu_by_command()
        return
    c1 = cpu_by_command()
    for k, v in sorted(c1.items(), key=lambda kv: -(kv[1] - _cpu0.get(kv[0], 0))):
        d = v - _cpu0.get(k, 0)
        if d * 1e6 / N >= 0.2:
            log("%s: cpu %-16s %7.2f us per unit" % (phase, k.strip() or k, d * 1e6 / N))
    for m in re.finditer(r"cmdstat_([^:]+):calls=(\d+),usec=(\d+)", h.redis_info(REDIS_URL, "commandstats")):
        if int(m.group(3)) * 1000 >= N:
            log("%s: %-14s %7.3f calls %7.3f us per unit" % (phase, m.group(1), int(m.group(2)) / N,
                                                             int(m.group(3)) / N))


def cpu_us(res, key, proc_s, redis_s, n):
    """Records CPU per unit of work: the process, Redis's main thread, and
    both together, in microseconds."""
    res[key] = {"process": round(proc_s * 1e6 / n, 2), "redis": round(redis_s * 1e6 / n, 2),
                "total": round((proc_s + redis_s) * 1e6 / n, 2)}


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def timers(r, kprefix):
    return sum(r.pipeline([("ZCARD", "%sdue:%d" % (kprefix, p)) for p in range(PARTS)]))


def claimed(r, kprefix):
    """Outbox rounds claimed and not yet acknowledged (docs/scheduler.md)."""
    return sum(r.pipeline([("SCARD", "%sob:%d" % (kprefix, p)) for p in range(PARTS)]))


def iso_ms(s):
    return int(datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp() * 1000)


def pct(xs, p):
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def kcat(topic, fmt):
    return subprocess.run(["kcat", "-C", "-b", BROKERS, "-t", topic, "-o", "beginning", "-e", "-q", "-f", fmt],
                          check=True, capture_output=True, text=True).stdout.splitlines()


def ours():
    r = Redis(REDIS_URL)
    res = {}
    if ONLY == "late":
        res["schedule_rate"] = 5000.0
        return late(r, res)
    # ---------------- schedule
    prefix, kp = TAG + "-a.", TAG + "a:"
    create_topics(prefix)
    produce(prefix, N, "2027-01-01", 100)
    time.sleep(1)
    m0 = r.used_memory()
    cmdstats(r, None)
    rc0 = redis_main_cpu()
    p = start(prefix, kp, "2026-06-01T00:00:00Z@%dx1" % int(time.time()), "schedule")
    first = None
    deadline = time.time() + 1800
    while time.time() < deadline:
        n = timers(r, kp)
        now = time.time()
        if n and first is None:
            first = now
        if n >= N:
            break
        time.sleep(0.05)
    else:
        raise SystemExit("scheduler: timers never reached N")
    t_all = time.time()
    cmdstats(r, "schedule")
    cpu_us(res, "schedule_cpu_us", h.cpu_seconds(p.pid), redis_main_cpu() - rc0, N)
    time.sleep(1)
    m1 = r.used_memory()
    stop(p)
    res["schedule_rate"] = N / (t_all - first)
    res["bytes_per_invoice"] = (m1 - m0) / N
    log("scheduler: schedule %.0f/s, %.0f bytes/invoice" % (res["schedule_rate"], res["bytes_per_invoice"]))
    # ---------------- fire: every timer due at once
    cmdstats(r, None)
    rc0 = redis_main_cpu()
    p = start(prefix, kp, "2027-08-01T00:00:00Z@%dx1" % int(time.time()), "fire")
    deadline = time.time() + 1800
    while time.time() < deadline and (timers(r, kp) or claimed(r, kp)):
        time.sleep(0.2)
    cpu_us(res, "fire_cpu_us", h.cpu_seconds(p.pid), redis_main_cpu() - rc0, N)
    cmdstats(r, "fire")
    stop(p)
    ts = [int(x) for x in kcat(prefix + "commands", "%T\n") if x]
    if len(ts) < N:
        raise SystemExit("scheduler: %d commands for %d timers" % (len(ts), N))
    res["fire_rate"] = N / ((max(ts) - min(ts)) / 1000)
    res["fired"] = len(ts)
    log("scheduler: fire %.0f/s" % res["fire_rate"])
    log("scheduler: CPU per invoice scheduled %(total).1f us (process %(process).1f, Redis %(redis).1f)"
        % res["schedule_cpu_us"])
    log("scheduler: CPU per timer fired %(total).1f us (process %(process).1f, Redis %(redis).1f)"
        % res["fire_cpu_us"])
    r.delete_prefix(kp)
    if ONLY == "schedule+fire":
        return res
    return late(r, res)


def late(r, res):
    # ---------------- lateness: M timers over W seconds
    prefix, kp = TAG + "-l.", TAG + "l:"
    create_topics(prefix)
    produce(prefix, M, "2027-01-01", 100)
    factor = 100 * 86400 / W
    sim0 = "2026-12-31T19:00:00Z"  # 09:00 on 2027-01-01 in Etc/GMT-14, the first timer
    lead = M / res["schedule_rate"] * 2 + 8
    real0 = int(time.time() + lead)
    p = start(prefix, kp, "%s@%dx%s" % (sim0, real0, factor), "late")
    sim0_ms = iso_ms("2026-12-31T19:00:00.000Z")
    time.sleep(max(0, real0 - time.time()))
    deadline = time.time() + W + 600
    while time.time() < deadline and (timers(r, kp) or claimed(r, kp)):
        time.sleep(0.2)
    stop(p)
    late = []
    early = 0
    for line in kcat(prefix + "commands", "%T\t%s\n"):
        if not line:
            continue
        t, body = line.split("\t", 1)
        due = real0 * 1000 + (iso_ms(json.loads(body)["scheduled_at"]) - sim0_ms) / factor
        d = int(t) - due
        late.append(max(0.0, d))
        early += d < -1
    late.sort()
    if len(late) < M:
        raise SystemExit("scheduler: %d commands for %d late timers" % (len(late), M))
    res.update(late_p50_ms=pct(late, 50), late_p99_ms=pct(late, 99), late_max_ms=late[-1], early=early)
    log("scheduler: lateness p50 %.1f p99 %.1f max %.1f ms" % (res["late_p50_ms"], res["late_p99_ms"],
                                                                res["late_max_ms"]))
    r.delete_prefix(kp)
    return res


def bullmq(sched_rate_hint):
    url = REDIS_URL
    res = {}

    def node(*a):
        out = subprocess.run(["node", "bullmq-bench.mjs", url] + [str(x) for x in a], cwd=NODE_DIR, check=True,
                             capture_output=True, text=True).stdout
        return json.loads(out.strip().splitlines()[-1])

    s = node("schedule", N)
    res["schedule_rate"], res["bytes_per_invoice"] = s["rate"], s["bytes_per_job"]
    cpu_us(res, "schedule_cpu_us", s["cpu_s"], s["redis_cpu_s"], N)
    log("bullmq: schedule %.0f/s, %.0f bytes/job" % (s["rate"], s["bytes_per_job"]))
    at = int((time.time() + N / s["rate"] * 1.5 + 10) * 1000)
    f = node("fire", N, at)
    res["fire_rate"] = f["rate"]
    res["fire_warning"] = f.get("warning")
    cpu_us(res, "fire_cpu_us", f["cpu_s"], f["redis_cpu_s"], N)
    log("bullmq: fire %.0f/s" % f["rate"])
    log("bullmq: CPU per job scheduled %(total).1f us (node %(process).1f, Redis %(redis).1f)"
        % res["schedule_cpu_us"])
    log("bullmq: CPU per job fired %(total).1f us (node %(process).1f, Redis %(redis).1f)" % res["fire_cpu_us"])
    start_ms = int((time.time() + M / s["rate"] * 1.5 + 8) * 1000)
    l = node("late", M, start_ms, int(W * 1000))
    res.update(late_p50_ms=l["p50_ms"], late_p99_ms=l["p99_ms"], late_max_ms=l["max_ms"], late_warning=l.get("warning"))
    log("bullmq: lateness p50 %s p99 %s max %s ms" % (l["p50_ms"], l["p99_ms"], l["max_ms"]))
    return res


def main():
    a = ours()
    if SKIP_BULLMQ:
        print(json.dumps(a, indent=2))
        return
    b = bullmq(a["schedule_rate"])
    ratio = {"schedule_rate": a["schedule_rate"] / b["schedule_rate"], "fire_rate": a["fire_rate"] / b["fire_rate"],
             # CPU: ours over BullMQ's, per unit (below 1 is less CPU)
             "schedule_cpu": a["schedule_cpu_us"]["total"] / b["schedule_cpu_us"]["total"],
             "fire_cpu": a["fire_cpu_us"]["total"] / b["fire_cpu_us"]["total"]}
    result = {"n": N, "late_n": M, "late_window_s": W, "scheduler": a, "bullmq": b, "ratio": ratio,
              "targets": {"rate_ratio_min": 3, "late_p99_ms_max": 100, "bytes_per_invoice_max": 400},
              "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "cpus": os.cpu_count(), "loadavg": os.getloadavg()}
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "scheduler.json"), "w") as f:
        json.dump(result, f, indent=2)
    print("%-28s %14s %14s %8s" % ("", "arrears", "BullMQ", "ratio"))
    print("%-28s %14.0f %14.0f %8.2f" % ("schedule rate (/s)", a["schedule_rate"], b["schedule_rate"], ratio["schedule_rate"]))
    print("%-28s %14.0f %14.0f %8.2f" % ("fire rate (/s)", a["fire_rate"], b["fire_rate"], ratio["fire_rate"]))
    for k, lbl in (("schedule", "CPU per invoice (us)"), ("fire", "CPU per timer fired (us)")):
        print("%-28s %14.1f %14.1f %8.2f" % (lbl, a[k + "_cpu_us"]["total"], b[k + "_cpu_us"]["total"],
                                             ratio[k + "_cpu"]))
    for k, lbl in (("late_p50_ms", "lateness p50 (ms)"), ("late_p99_ms", "lateness p99 (ms)"), ("late_max_ms", "lateness max (ms)")):
        if k in a and k in b:  # not measured under ARREARS_BENCH_ONLY=schedule+fire
            print("%-28s %14.1f %14.1f" % (lbl, a[k], b[k]))
    print("%-28s %14.0f %14.0f" % ("Redis bytes per invoice/job", a["bytes_per_invoice"], b["bytes_per_invoice"]))
    print("N=%d, lateness over %d timers in %.0f s; written to bench/out/scheduler.json" % (N, M, W))


if __name__ == "__main__":
    main()
