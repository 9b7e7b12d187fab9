#!/usr/bin/env python3
"""t_e2e_lib.py -- the end-to-end pipeline test (run by t_e2e_pipeline.sh).

A small generated ledger (arrears-genledger --mix simple) goes through the
whole pipeline on the real Kafka + Redis of tests/integration/run, with a
scaled clock: arrears-publish --paced -> ingest -> scheduler -> notifier ->
SMTP sink (email) and HTTP sink (SMS), and the reporter.

The expected results are worked out here, independently of the services,
from the ledger and deploy/config/policy.json only:

* messages: for every invoice, each step of the `standard` ladder whose
  channel reaches a sink (email, sms) and whose instant -- due date + offset
  at the step's send_at (else the policy's default) in the customer's time
  zone -- comes before both the simulated end of the ledger and the instant
  the invoice was fully paid; plus one payment_thanks email per invoice
  fully paid, under the id of the payment that completed it. The observed
  set is every message the sinks stored, identified by its command id
  (email: X-Arrears-Command-Id; SMS: Idempotency-Key), leaving out step
  messages due at or after the simulated end (the clock runs on while the
  test collects). The two sets must be equal, and no command id may be
  delivered twice (HTTP sink replays excepted: those are answered, not
  re-sent).
* the final aging report: per currency, count and amount of the invoices
  open at the report's as_of day in each bucket of days past due (current,
  1-30, 31-60, 61-90, 91+), plus total and overdue.

Why --mix simple: the ledger's payments fall at 17:00-19:00 local, six
simulated hours from any send hour, so a reminder and a payment never race
at the test's clock factor; there are no promises, disputes, opt-outs or
key accounts, whose effects are the scheduler's own business rules.
"""
import datetime as dt
import email
import json
import os
import subprocess
import sys
import tempfile
import time
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sinks"))
from harness import free_port, http_get, skip  # noqa: E402
import harness  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ARREARS_BIN", os.path.join(REPO, "bin"))
SERVICES = ["ingest", "scheduler", "notifier", "reporter"]

START = "2026-01-05"
DAYS = int(os.environ.get("ARREARS_E2E_DAYS", "50"))
# simulated seconds per real second: one simulated hour = 0.18 s, so the
# six simulated hours between a send hour and a payment are about 1.1 s
FACTOR = int(os.environ.get("ARREARS_E2E_FACTOR", "20000"))
LEAD_S = 6  # real seconds between starting the services and simulated day 0


def parse_rfc3339(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


# ------------------------------------------------------------ expectations

def policy_ladder(policy_path, name="standard"):
    pol = json.load(open(policy_path))
    default_at = pol.get("defaults", {}).get("send_at", "09:00")
    steps = []
    for st in pol["ladders"][name]:
        off = st["offset"]
        assert off.endswith("d"), off
        steps.append({
            "offset": int(off[:-1]),
            "channel": st.get("channel", "email"),
            "template": st["template"],
            "send_at": st.get("send_at", default_at),
        })
    thanks = pol.get("payment_thanks", {})
    return steps, thanks


def step_instant(due_on, step, tzname):
    d = dt.date.fromisoformat(due_on) + dt.timedelta(days=step["offset"])
    hh, mm = (int(x) for x in step["send_at"].split(":"))
    local = dt.datetime(d.year, d.month, d.day, hh, mm, tzinfo=ZoneInfo(tzname))
    return local.astimezone(dt.timezone.utc)


def expected(ledger_path, policy_path, end_utc):
    """-> (messages {command_id: (channel, template, instant)}, invoices, customers)."""
    steps, thanks = policy_ladder(policy_path)
    custs, invs = {}, {}
    events = [json.loads(l) for l in open(ledger_path)]
    tenant = events[0]["tenant"]
    for ev in events:
        d, t = ev["data"], parse_rfc3339(ev["time"])
        if ev["type"] == "customer.upserted":
            assert not d.get("opted_out") and "key-account" not in d.get("tags", []), \
                "the e2e ledger must be --mix simple"
            custs[d["customer_id"]] = d
        elif ev["type"] == "invoice.issued":
            invs[d["invoice_id"]] = {"data": d, "paid": 0, "paid_at": None, "paid_by": None,
                                     "payments": []}
        elif ev["type"] == "payment.received":
            for a in d["allocations"]:
                inv = invs[a["invoice_id"]]
                amt = minor(a["amount"], d["currency"])
                inv["paid"] += amt
                inv["payments"].append((d["received_on"], amt))
                if inv["paid_at"] is None and inv["paid"] >= minor(inv["data"]["amount"],
                                                                    inv["data"]["currency"]):
                    inv["paid_at"], inv["paid_by"] = t, d["payment_id"]
        else:
            raise AssertionError("unexpected type in a simple ledger: " + ev["type"])
    msgs = {}
    for iid, inv in invs.items():
        d = inv["data"]
        tz = custs[d["customer_id"]]["timezone"]
        for i, st in enumerate(steps):
            when = step_instant(d["due_on"], st, tz)
            if when >= end_utc or (inv["paid_at"] is not None and when >= inv["paid_at"]):
                continue
            if st["channel"] in ("email", "sms"):
                msgs["%s/inv/%s/step/%d/attempt/1" % (tenant, iid, i)] = (st["channel"],
                                                                         st["template"], when)
        if inv["paid_at"] is not None and thanks.get("enabled", True) and \
                thanks.get("channel", "email") in ("email", "sms"):
            msgs["%s/inv/%s/thanks/%s" % (tenant, iid, inv["paid_by"])] = (
                thanks.get("channel", "email"), thanks.get("template", "payment_thanks"),
                inv["paid_at"])
    return tenant, msgs, invs, custs, steps


EXP = {"JPY": 0}


def minor(amount, currency):
    e = EXP.get(currency, 2)
    if isinstance(amount, int):
        return amount * 10 ** e
    whole, _, frac = str(amount).partition(".")
    assert len(frac) <= e, amount
    return int(whole) * 10 ** e + int((frac + "0" * e)[:e] or 0)


def expected_aging(invs, as_of):
    day = dt.date.fromisoformat(as_of)
    out = {}
    for inv in invs.values():
        d = inv["data"]
        if dt.date.fromisoformat(d["issued_on"]) > day:
            continue
        amt = minor(d["amount"], d["currency"])
        paid = sum(a for on, a in inv["payments"] if dt.date.fromisoformat(on) <= day)
        open_ = amt - min(paid, amt)
        if open_ <= 0:
            continue
        dpd = (day - dt.date.fromisoformat(d["due_on"])).days
        b = 0 if dpd <= 0 else 1 if dpd <= 30 else 2 if dpd <= 60 else 3 if dpd <= 90 else 4
        cur = out.setdefault(d["currency"], [[0, 0] for _ in range(5)])
        cur[b][0] += 1
        cur[b][1] += open_
    return out


# ------------------------------------------------------------ observations

def observed(mail_dir, http_dir):
    """-> ({command_id: channel}, [duplicate ids])"""
    seen, dups = {}, []
    for f in sorted(os.listdir(mail_dir)):
        if not f.endswith(".eml"):
            continue
        msg = email.message_from_bytes(open(os.path.join(mail_dir, f), "rb").read())
        cid = msg.get("X-Arrears-Command-Id")
        if not cid:
            raise AssertionError("email %s has no X-Arrears-Command-Id" % f)
        cid = cid.strip()
        if cid in seen:
            dups.append(cid)
        seen[cid] = "email"
    for f in sorted(os.listdir(http_dir)):
        if not f.endswith(".json"):
            continue
        try:
            r = json.load(open(os.path.join(http_dir, f)))
        except ValueError:
            continue  # being written
        if r.get("replay") or not (200 <= int(r.get("status", 0)) < 300):
            continue
        h = r.get("headers", {})
        cid = h.get("idempotency-key") or h.get("webhook-id")
        if not cid:
            raise AssertionError("HTTP request %s has no Idempotency-Key" % f)
        ch = "sms" if "/Messages" in r.get("path", "") else "webhook"
        if cid in seen:
            dups.append(cid)
        seen[cid] = ch
    return seen, dups


# ------------------------------------------------------------ the run

class Run:
    def __init__(self):
        self.procs = []
        self.tmp = tempfile.mkdtemp(prefix="it-e2e-")

    def start(self, name, argv, env, **kw):
        log = open(os.path.join(self.tmp, name + ".log"), "w")
        p = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, **kw)
        self.procs.append((name, p))
        return p

    def stop_all(self):
        harness.stop_all(self.procs)

    def log_tail(self, name, n=30):
        try:
            return "".join(open(os.path.join(self.tmp, name + ".log")).readlines()[-n:])
        except OSError:
            return ""


def main():
    for b in ["arrears-" + s for s in SERVICES] + ["arrears-genledger", "arrears-publish",
                                                     "arrears-admin", "arrears-report"]:
        if not os.access(os.path.join(BIN, b), os.X_OK):
            skip("%s/%s is not built yet" % (BIN, b))
    for s in ("smtp_sink.py", "http_sink.py"):
        if not os.path.exists(os.path.join(REPO, "tests", "sinks", s)):
            skip("tests/sinks/%s is missing" % s)
    py = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
    if subprocess.run([py, "-c", "import aiosmtpd"], capture_output=True).returncode != 0:
        skip("python3-aiosmtpd is not installed for " + py)
    brokers = os.environ.get("ARREARS_KAFKA_BROKERS")
    redis_url = os.environ.get("ARREARS_REDIS_URL")
    if not brokers or not redis_url:
        print("FAIL: needs ARREARS_KAFKA_BROKERS and ARREARS_REDIS_URL (tests/integration/run)")
        return 1

    token = "%d%d" % (os.getpid(), int(time.time()))
    tenant = "e2e" + token
    env = dict(os.environ)
    env.update({
        "ARREARS_TOPIC_PREFIX": "it-e2e-%s." % token,
        "ARREARS_LOG_LEVEL": "warn",
    })
    run = Run()
    try:
        return scenario(run, env, tenant, token, py)
    finally:
        run.stop_all()
        if os.environ.get("ARREARS_IT_KEEP") != "1":
            subprocess.run(["rm", "-rf", run.tmp])
        else:
            print("kept " + run.tmp)


def scenario(run, env, tenant, token, py):
    tmp = run.tmp
    ledger = os.path.join(tmp, "ledger.jsonl")
    subprocess.run([os.path.join(BIN, "arrears-admin"), "create-topics", "--partitions", "3"],
                   env=env, check=True, capture_output=True)
    subprocess.run([os.path.join(BIN, "arrears-genledger"), "--mix", "simple", "--customers",
                    "16", "--invoices", "60", "--days", str(DAYS), "--start", START, "--seed",
                    "1207", "--tenant", tenant, "--out", ledger, "--quiet"], check=True)
    end_utc = dt.datetime.fromisoformat(START).replace(tzinfo=dt.timezone.utc) + \
        dt.timedelta(days=DAYS)
    _, exp_msgs, invs, custs, steps = expected(ledger, os.path.join(REPO, "deploy", "config",
                                                                   "policy.json"), end_utc)
    print("ledger: %d customers, %d invoices; %d messages expected before %s" %
          (len(custs), len(invs), len(exp_msgs), end_utc.isoformat()))
    assert exp_msgs, "the expected message set is empty: the test would prove nothing"

    mail, http = os.path.join(tmp, "mail"), os.path.join(tmp, "http")
    os.makedirs(mail)
    os.makedirs(http)
    smtp_port, http_port = free_port(), free_port()
    run.start("smtp-sink", [py, "tests/sinks/smtp_sink.py", "--dir", mail, "--port",
                            str(smtp_port)], env)
    run.start("http-sink", [py, "tests/sinks/http_sink.py", "--dir", http, "--port",
                            str(http_port)], env)

    t0 = int(time.time()) + LEAD_S
    clock = "%sT00:00:00Z@%dx%d" % (START, t0, FACTOR)
    sim0 = dt.datetime.fromisoformat(START).replace(tzinfo=dt.timezone.utc)

    def sim_now():
        return sim0 + dt.timedelta(seconds=(time.time() - t0) * FACTOR)

    addrs = {}
    for s in SERVICES:
        addrs[s] = "127.0.0.1:%d" % free_port()
        e = dict(env)
        e.update({
            "ARREARS_CLOCK": clock,
            "ARREARS_HTTP_ADDR": addrs[s],
            "ARREARS_GROUP_ID": "it-e2e-%s-%s" % (token, s),
            "ARREARS_INGEST_DEDUP_PREFIX": "it-e2e:%s:dedup:" % token,
            "ARREARS_SCHEDULER_KEY_PREFIX": "it-e2e:%s:sch:" % token,
            "ARREARS_NOTIFIER_KEY_PREFIX": "it-e2e:%s:ntf:" % token,
        })
        if s == "notifier":
            e.update({
                "ARREARS_SMTP_URL": "smtp://127.0.0.1:%d" % smtp_port,
                "ARREARS_SMTP_TLS": "none",
                "ARREARS_SMTP_FROM": "ar@e2e.example.test",
                "ARREARS_SMS_URL": "http://127.0.0.1:%d/sms" % http_port,
                "ARREARS_SMS_ACCOUNT": "ACe2e",
                "ARREARS_SMS_TOKEN": "e2e-token",
                "ARREARS_SMS_FROM": "+447700900000",
                "ARREARS_PAYLINK_URL": "https://pay.e2e.example.test/{token}",
                "ARREARS_PAYLINK_SECRET": "e2e-secret",
                "ARREARS_RETRY_BASE": "100ms",
                "ARREARS_RETRY_MAX": "2s",
            })
        if s == "reporter":
            e["ARREARS_REPORT_INTERVAL"] = "1d"
        run.start(s, [os.path.join(BIN, "arrears-" + s)], e)

    deadline = time.time() + 60
    for s in SERVICES:
        while True:
            p = dict(run.procs)[s]
            if p.poll() is not None:
                print("FAIL: arrears-%s exited %d at start:\n%s" % (s, p.returncode,
                                                                  run.log_tail(s)))
                return 1
            if http_get(addrs[s], "/readyz")[0] == 200:
                break
            if time.time() > deadline:
                print("FAIL: arrears-%s not ready in 60 s: %s" % (s, http_get(addrs[s],
                                                                           "/readyz")))
                return 1
            time.sleep(0.2)

    pe = dict(env)
    pe["ARREARS_CLOCK"] = clock
    pub = run.start("publish", [os.path.join(BIN, "arrears-publish"), "--paced", ledger], pe)

    # play the period out, then half a simulated day more
    while sim_now() < end_utc + dt.timedelta(hours=12):
        for s in SERVICES:
            p = dict(run.procs)[s]
            if p.poll() is not None:
                print("FAIL: arrears-%s died (exit %d):\n%s" % (s, p.returncode,
                                                              run.log_tail(s)))
                return 1
        time.sleep(1)
    if pub.wait(timeout=120) != 0:
        print("FAIL: arrears-publish exited %d:\n%s" % (pub.returncode, run.log_tail("publish")))
        return 1

    def restricted():
        got, dups = observed(mail, http)
        keep = {}
        for cid, ch in got.items():
            if "/step/" in cid:
                parts = cid.split("/")
                iid, i = parts[2], int(parts[4])
                d = invs[iid]["data"] if iid in invs else None
                if d is None:
                    keep[cid] = ch  # unknown invoice: an error the comparison shows
                    continue
                when = step_instant(d["due_on"], steps[i], custs[d["customer_id"]]["timezone"])
                if when >= end_utc:
                    continue
            keep[cid] = ch
        return keep, dups

    # wait (bounded) for the expected messages to arrive, then a moment for
    # any stray extra or duplicate to show up
    deadline = time.time() + 90
    while time.time() < deadline:
        keep, dups = restricted()
        if set(exp_msgs) <= set(keep):
            break
        time.sleep(1)
    time.sleep(3)
    keep, dups = restricted()
    want = {cid: v[0] for cid, v in exp_msgs.items()}
    missing = sorted(set(want) - set(keep))
    extra = sorted(set(keep) - set(want))
    wrong_channel = sorted(c for c in set(want) & set(keep) if want[c] != keep[c])
    ok = True
    if missing or extra or wrong_channel or dups:
        ok = False
        print("FAIL: messages at the sinks differ from the expected set")
        for c in missing:
            print("  missing  %s (%s %s due %s)" % (c, exp_msgs[c][0], exp_msgs[c][1],
                                                   exp_msgs[c][2].isoformat()))
        for c in extra:
            print("  extra    %s (%s)" % (c, keep[c]))
        for c in wrong_channel:
            print("  channel  %s: expected %s, got %s" % (c, want[c], keep[c]))
        for c in dups:
            print("  twice    %s" % c)
        # where were they lost? the scheduler's commands topic tells
        cmds = set()
        r = subprocess.run(["kcat", "-C", "-b", env["ARREARS_KAFKA_BROKERS"], "-t",
                            env["ARREARS_TOPIC_PREFIX"] + "commands", "-o", "beginning", "-e",
                            "-q", "-f", "%s\\n"], capture_output=True, text=True)
        for line in r.stdout.splitlines():
            try:
                cmds.add(json.loads(line)["command_id"])
            except (ValueError, KeyError):
                pass
        print("  of the missing, %d are on the commands topic (lost after the scheduler), "
              "%d are not (never fired)" % (len(set(missing) & cmds), len(set(missing) - cmds)))
        print("notifier log (last lines):\n" + run.log_tail("notifier", 8))
    else:
        print("messages: the %d expected (%d email, %d sms) arrived, nothing else, none twice" %
              (len(want), sum(1 for v in want.values() if v == "email"),
               sum(1 for v in want.values() if v == "sms")))

    # the final aging report: one generated after everything was processed
    last_day = (end_utc.date() + dt.timedelta(days=1)).isoformat()
    rep, deadline = None, time.time() + 60
    while time.time() < deadline:
        r = subprocess.run([os.path.join(BIN, "arrears-report"), "--tenant", tenant, "--type",
                            "aging", "--json"], env=env, capture_output=True, text=True)
        for line in r.stdout.splitlines():
            try:
                x = json.loads(line)
            except ValueError:
                continue
            if x.get("type") == "aging" and x.get("as_of", "") >= last_day:
                rep = x
        if rep:
            break
        time.sleep(1)
    if rep is None:
        print("FAIL: no aging report as of %s or later for tenant %s" % (last_day, tenant))
        print(run.log_tail("reporter"))
        return 1
    want_aging = expected_aging(invs, rep["as_of"])
    got_aging = {}
    for c in rep.get("currencies", []):
        got_aging[c["currency"]] = [[b["count"], b["amount_minor"]] for b in c["buckets"]]
        if c["total"]["count"] != sum(b[0] for b in got_aging[c["currency"]]) or \
                c["total"]["amount_minor"] != sum(b[1] for b in got_aging[c["currency"]]):
            ok = False
            print("FAIL: aging %s: total differs from the sum of its buckets" % c["currency"])
        if c["overdue"]["amount_minor"] != sum(b[1] for b in got_aging[c["currency"]][1:]):
            ok = False
            print("FAIL: aging %s: overdue differs from the sum of buckets 1-30..91+"
                  % c["currency"])
    if got_aging != want_aging:
        ok = False
        print("FAIL: aging as of %s differs\n  expected %s\n  got      %s" %
              (rep["as_of"], json.dumps(want_aging, sort_keys=True),
               json.dumps(got_aging, sort_keys=True)))
    else:
        print("aging as of %s: %s" % (rep["as_of"], json.dumps(want_aging, sort_keys=True)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
