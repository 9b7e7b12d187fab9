#!/usr/bin/env python3
"""t_e2e_lib.py -- the end-to-end pipeline test (run by t_e2e_pipeline.sh).

A small generated ledger (arrears-genledger --mix simple) goes through the
whole pipeline on the real Kafka + Redis of tests/integration/run, with a
scaled clock: arrears-publish --paced -> ingest -> scheduler -> notifier ->
SMTP sink (email) and HTTP sink (SMS), and the reporter.

The expected results are worked out here, independently of the services,
from the ledger and deploy/config/policy.json only, by a small model of
the rules docs/policy.md states ("Steps", "Contact rules: the debtor's
clock"):

* messages: every invoice runs the `standard` ladder. A step's own instant
  is the due date + offset at the step's send_at (else the policy's
  default) in the customer's time zone. The model plays, per debtor and in
  time order, every send of every invoice of theirs and every payment that
  completes an invoice:
  - a debtor-facing send (a step other than an escalation, or a
    thank-you) due at t goes through `contact_rules`: outside the window,
    on a weekday not listed or on a holiday it moves to the first allowed
    instant (later the same day: the window's start; else the next allowed
    day at its send_at when inside the window, else at the start -- a
    thank-you has no send_at, so a thanks at a payment's time on a Sunday
    goes on Monday at 08:00); a send that would make more than a cap's max
    on its channels in the cap's days consecutive local days (the send's
    day included; the debtor's log of sends made so far, across all their
    invoices, thank-yous included) moves to the first later local day every
    cap holds, at its send_at (else the window's start), and through the
    clock again. A moved send is looked at again at its new instant (the
    log may have grown meanwhile). Its command's `scheduled_at` is the
    instant it goes, and its `rules` lists, in order, the first rule of
    each move (`weekday:moved`, `cap:sms,email:3/7d`, ...); a command
    nothing moved has no `rules`;
  - once a step goes, the next one is due at its own instant; when that
    instant has passed already (the step was moved past it), the next
    step fires at once, through the rules above, with its own instant as
    `scheduled_at` (a running ladder never skips). The scheduler fires in rounds: a round takes every
    timer due, in (instant, tenant/invoice id) order; a step armed by a
    round and already due goes in the next round at the same instant,
    after all of them. A command's `not_after` is `scheduled_at` + the
    step's valid_for (default 1d); the notifier does not send one past it;
  - a payment completing the invoice stops its ladder (a send moved past
    it never goes) and starts one payment_thanks email, under the id of
    that payment, due at the payment's time.
  The expected set is every such message on a channel that reaches a sink
  (email, sms) going out before the simulated end of the ledger, within its
  `not_after`. The observed set is every message the sinks stored,
  identified by its command id (email: X-Arrears-Command-Id; SMS:
  Idempotency-Key), leaving out the ones the model sends at or after the
  end (the clock runs on while the
  test collects, and a move can carry a message past the end). The two
  sets must be equal, no command id may be delivered twice (HTTP sink
  replays excepted: those are answered, not re-sent), and each command
  the model sends on those channels before the end must be on the
  commands topic with the model's `scheduled_at`, `rules` and `not_after`.
* the final aging report: per currency, count and amount of the invoices
  open at the report's as_of day in each bucket of days past due (current,
  1-30, 31-60, 61-90, 91+), plus total and overdue.

Why --mix simple: the ledger's payments fall at 17:00-19:00 local, six
simulated hours from any send hour (a moved send goes at 08:00, 09:00 or
11:00 too), so a reminder and a payment never race at the test's clock
factor; there are no promises, disputes, opt-outs or key accounts, whose
effects are the scheduler's own business rules. Ten invoices a debtor (8
customers, 80 invoices) make caps bite: under Monday-Saturday weekdays and
a cap of 3 SMS and emails in 7 days, with seed 1207 about a quarter of
the commands are moved, by the cap or off a Sunday, steps due meanwhile
follow at once, and some moves carry a message past the end.
The model knows `contact_rules` window, weekdays, holidays and caps
(it asserts the policy uses no more: jurisdictions, extra zones and
conversations are left to the scheduler's data-driven cases); a local
time in a DST gap is not modelled (asserted: the ladder's send times are
never in one).
"""
import collections
import datetime as dt
import email
import heapq
import itertools
import json
import os
import shutil
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

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]  # date.weekday() order
SINKS = ("email", "sms")  # the channels whose messages reach a sink


def hhmm(s):
    hh, mm = (int(x) for x in s.split(":"))
    return hh * 60 + mm


def local_instant(day, minute, tz):
    """The UTC instant of local time minute (past midnight) on day in tz."""
    local = dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=tz)
    u = local.astimezone(dt.timezone.utc)
    back = u.astimezone(tz)  # a DST gap (resolved by tzdata to the jump) is not modelled
    assert (back.date(), back.hour * 60 + back.minute) == (day, minute), (day, minute, tz)
    return u


def duration(s):
    """A policy duration ("3d", "12h", "0") as a timedelta."""
    num = s.rstrip("dhms")
    unit = {"d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001, "": 0.001}[s[len(num):]]
    return dt.timedelta(seconds=int(num) * unit)


def policy_ladder(policy_path, name="standard"):
    pol = json.load(open(policy_path))
    default_at = pol.get("defaults", {}).get("send_at", "09:00")
    steps = []
    for st in pol["ladders"][name]:
        off = st["offset"]
        assert off.endswith("d"), off
        assert "channels" not in st and "conditions" not in st, \
            "the model knows a step's single channel only"
        steps.append({
            "offset": int(off[:-1]),
            "action": st.get("action", "reminder"),
            "channel": st.get("channel", "email"),
            "template": st["template"],
            "send_at": st.get("send_at", default_at),
            "valid_for": duration(st.get("valid_for", "1d")),  # 0: no not_after
        })
    thanks = pol.get("payment_thanks", {})
    return steps, thanks, ContactRules(pol.get("contact_rules", {}))


def step_instant(due_on, step, tzname):
    """A step's own instant: due date + offset at its send_at, local."""
    d = dt.date.fromisoformat(due_on) + dt.timedelta(days=step["offset"])
    return local_instant(d, hhmm(step["send_at"]), ZoneInfo(tzname))


class ContactRules:
    """The policy's contact_rules as docs/policy.md states them: when a
    debtor-facing send may go, in the debtor's zone."""

    KNOWN = {"window", "weekdays", "holidays", "caps", "comment",
             # no effect on the e2e ledger (expected() checks): it logs no
             # conversation, and no debtor is in a jurisdiction of the policy
             "after_conversation_days", "jurisdictions"}

    def __init__(self, rules):
        assert set(rules) <= self.KNOWN, "the model knows only %s of contact_rules, not %s" % (
            sorted(self.KNOWN), sorted(set(rules) - self.KNOWN))
        w = rules.get("window", {"start": "00:00", "end": "24:00"})
        self.start, self.end = hhmm(w["start"]), hhmm(w["end"])
        self.weekdays = set(rules.get("weekdays", WEEKDAYS))
        self.holidays = {dt.date.fromisoformat(h) for h in rules.get("holidays", [])}
        # (channels, max, days, name): the name is the rule a command carries
        self.jurisdictions = set(rules.get("jurisdictions", {}))
        self.caps = [(set(c["channels"]), c["max"], c["days"],
                      "cap:%s:%d/%dd" % (",".join(c["channels"]), c["max"], c["days"]))
                     for c in rules.get("caps", [])]

    def day_rule(self, day):
        """None when sends are allowed on local day, else the rule against it."""
        if WEEKDAYS[day.weekday()] not in self.weekdays:
            return "weekday"
        return "holiday" if day in self.holidays else None

    def at(self, send_min):
        """Where a send lands on a later day: its send_at inside the window,
        else the window's start (send_min None: a thank-you)."""
        return send_min if send_min is not None and self.start <= send_min < self.end \
            else self.start

    def clock(self, t, tz, send_min):
        """-> (t, None) when a send may go at t, else (where it moves, rule)."""
        loc = t.astimezone(tz)
        day, minute = loc.date(), loc.hour * 60 + loc.minute
        rule = self.day_rule(day)
        if rule is None and self.start <= minute < self.end:
            return t, None
        if rule is None and minute < self.start:  # later the same day
            return local_instant(day, self.start, tz), "window"
        day += dt.timedelta(days=1)
        while self.day_rule(day):
            day += dt.timedelta(days=1)
        return local_instant(day, self.at(send_min), tz), rule or "window"

    def over(self, log, channel, day):
        """The name of the first cap that one more send on channel on local
        day would exceed, given log [(local day, channel)] of sends so far."""
        for chans, most, days, name in self.caps:
            if channel in chans and sum(1 for d, ch in log if ch in chans and
                                        0 <= (day - d).days < days) >= most:
                return name
        return None

    def place(self, t, tz, send_min, channel, log):
        """-> (the first instant from t at which the send may go, the first
        rule that moved it or None)."""
        first = None
        while True:
            n, why = self.clock(t, tz, send_min)
            if why:
                first, t = first or why + ":moved", n
                continue
            day = t.astimezone(tz).date()
            cap = self.over(log, channel, day)
            if cap is None:
                return t, first
            day += dt.timedelta(days=1)
            while self.over(log, channel, day):
                day += dt.timedelta(days=1)
            first, t = first or cap, local_instant(day, self.at(send_min), tz)


# one command the model's scheduler sends: at = when it goes; scheduled =
# its scheduled_at; rules = its rules; not_after = its not_after (None: none)
Msg = collections.namedtuple("Msg", "channel template at scheduled rules not_after")


def delivered(m):
    """Whether the notifier sends m: not when its not_after has passed by
    the time it goes (a step gone late behind a moved one, docs/policy.md
    valid_for)."""
    return m.channel in SINKS and (m.not_after is None or m.at < m.not_after)


def simulate(tenant, invs, custs, steps, thanks, rules):
    """-> {command_id: Msg}: every message of every channel the scheduler
    sends for the ledger, also after its end (module docstring)."""
    heap, seq, msgs = [], itertools.count(), {}
    logs = collections.defaultdict(list)  # customer -> [(local day, channel)]

    def arm(iid, score, what, now=None, rnd=0):
        # a timer due at score (what: a step index or "thanks"). The
        # scheduler fires in rounds: a round takes every timer due, in
        # (score, tenant/invoice id) order; a timer armed by a round at now
        # and due already goes in the next round at the same instant
        inv = invs[iid]
        inv["timer"] = next(seq)
        key = (now, rnd + 1) if now is not None and score <= now else (score, 0)
        heapq.heappush(heap, key + (score, tenant + "/" + iid, inv["timer"], iid, what))

    for iid, inv in invs.items():
        d = inv["data"]
        inv["rules"] = []
        first = step_instant(d["due_on"], steps[0], custs[d["customer_id"]]["timezone"])
        assert first > inv["issued_at"], "%s: a step before the invoice (not modelled)" % iid
        arm(iid, first, 0)
        if inv["paid_at"] is not None:  # applied before a timer due at the same instant
            heapq.heappush(heap, (inv["paid_at"], -1, inv["paid_at"], "", next(seq), iid, "paid"))
    while heap:
        at, rnd, score, _, token, iid, what = heapq.heappop(heap)
        inv = invs[iid]
        cust = inv["data"]["customer_id"]
        tz = ZoneInfo(custs[cust]["timezone"])
        if what == "paid":  # the ladder stops, a moved step with it; thanks
            inv["timer"], inv["rules"] = None, []
            if thanks.get("enabled", True):
                arm(iid, at, "thanks")
            continue
        if token != inv["timer"]:
            continue  # stopped by the payment
        if what == "thanks":
            cid = "%s/inv/%s/thanks/%s" % (tenant, iid, inv["paid_by"])
            channel, template = thanks.get("channel", "email"), thanks.get("template",
                                                                            "payment_thanks")
            send_min, facing, valid, nxt = None, True, None, None
        else:
            st = steps[what]
            cid = "%s/inv/%s/step/%d/attempt/1" % (tenant, iid, what)
            channel, template, send_min = st["channel"], st["template"], hhmm(st["send_at"])
            facing = st["action"] != "escalation"  # handing over is not a contact
            valid = st["valid_for"] or None
            nxt = step_instant(inv["data"]["due_on"], steps[what + 1], tz.key) \
                if what + 1 < len(steps) else None
        if facing:
            t, rule = rules.place(at, tz, send_min, channel, logs[cust])
            if t > at:
                if rule not in inv["rules"]:
                    inv["rules"].append(rule)
                arm(iid, t, what)
                continue
            logs[cust].append((at.astimezone(tz).date(), channel))
        msgs[cid] = Msg(channel, template, at, score, inv["rules"], valid and score + valid)
        inv["rules"], inv["timer"] = [], None
        if nxt:
            arm(iid, nxt, what + 1, at, rnd)
    return msgs


def expected(ledger_path, policy_path):
    """-> (tenant, commands {command_id: Msg} on the sink channels, also
    those after the end, invoices, customers)."""
    steps, thanks, rules = policy_ladder(policy_path)
    custs, invs = {}, {}
    events = [json.loads(l) for l in open(ledger_path)]
    tenant = events[0]["tenant"]
    for ev in sorted(events, key=lambda e: parse_rfc3339(e["time"])):
        d, t = ev["data"], parse_rfc3339(ev["time"])
        if ev["type"] == "customer.upserted":
            assert not d.get("opted_out") and "key-account" not in d.get("tags", []), \
                "the e2e ledger must be --mix simple"
            assert not d.get("extra_timezones"), "extra zones are not modelled"
            assert not {d.get("region"), d.get("country")} & rules.jurisdictions, \
                "jurisdictions are not modelled: no debtor of the ledger may be in one"
            custs[d["customer_id"]] = d
        elif ev["type"] == "invoice.issued":
            invs[d["invoice_id"]] = {"data": d, "issued_at": t, "paid": 0, "paid_at": None,
                                     "paid_by": None, "payments": []}
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
    msgs = simulate(tenant, invs, custs, steps, thanks, rules)
    return tenant, {c: m for c, m in msgs.items() if m.channel in SINKS}, invs, custs


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


def read_topic(env, topic, key):
    """-> {record[key]: record} of a topic, read once (None without kcat)."""
    if not shutil.which("kcat"):
        return None
    out = {}
    r = subprocess.run(["kcat", "-C", "-b", env["ARREARS_KAFKA_BROKERS"], "-t",
                        env["ARREARS_TOPIC_PREFIX"] + topic, "-o", "beginning", "-e",
                        "-q", "-f", "%s\\n"], capture_output=True, text=True)
    for line in r.stdout.splitlines():
        try:
            rec = json.loads(line)
            out[rec[key]] = rec
        except (ValueError, KeyError, TypeError):
            pass
    return out


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
                    "8", "--invoices", "80", "--days", str(DAYS), "--start", START, "--seed",
                    "1207", "--tenant", tenant, "--out", ledger, "--quiet"], check=True)
    end_utc = dt.datetime.fromisoformat(START).replace(tzinfo=dt.timezone.utc) + \
        dt.timedelta(days=DAYS)
    _, all_msgs, invs, custs = expected(ledger, os.path.join(REPO, "deploy", "config",
                                                            "policy.json"))
    sent = {c: m for c, m in all_msgs.items() if m.at < end_utc}  # commands
    exp_msgs = {c: m for c, m in sent.items() if delivered(m)}
    moved = collections.Counter(r.split(":")[0] for m in sent.values() for r in m.rules[:1])
    print("ledger: %d customers, %d invoices; %d messages expected before %s (moved: %s; "
          "%d more commands past their not_after)" %
          (len(custs), len(invs), len(exp_msgs), end_utc.isoformat(),
           ", ".join("%s %d" % kv for kv in sorted(moved.items())) or "none",
           len(sent) - len(exp_msgs)))
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
            "ARREARS_INGEST_PHONE_PREFIX": "it-e2e:%s:phone:" % token,
            "ARREARS_SCHEDULER_KEY_PREFIX": "it-e2e:%s:sch:" % token,
            "ARREARS_NOTIFIER_KEY_PREFIX": "it-e2e:%s:ntf:" % token,
        })
        if s == "notifier":
            e.update(harness.sink_notifier_env(smtp_port, http_port, "e2e"))
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
        # leave out what the model sends at or after the end; an id it does
        # not know stays (an extra, which the comparison shows)
        got, dups = observed(mail, http)
        keep = {c: ch for c, ch in got.items() if c not in all_msgs or all_msgs[c].at < end_utc}
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
    want = {cid: m.channel for cid, m in exp_msgs.items()}
    missing = sorted(set(want) - set(keep))
    extra = sorted(set(keep) - set(want))
    wrong_channel = sorted(c for c in set(want) & set(keep) if want[c] != keep[c])
    cmds = read_topic(env, "commands", "command_id")
    ok = True
    if cmds is None:
        print("commands: not checked (no kcat)")
        cmds = {}
    if missing or extra or wrong_channel or dups:
        ok = False
        print("FAIL: messages at the sinks differ from the expected set")
        for c in missing:
            m = exp_msgs[c]
            print("  missing  %s (%s %s at %s%s)" % (c, m.channel, m.template, m.at.isoformat(),
                                                    " moved by " + ",".join(m.rules)
                                                    if m.rules else ""))
        for c in extra:
            print("  extra    %s (%s)" % (c, keep[c]))
        for c in wrong_channel:
            print("  channel  %s: expected %s, got %s" % (c, want[c], keep[c]))
        for c in dups:
            print("  twice    %s" % c)
        # where were they lost? the scheduler's commands topic tells
        print("  of the missing, %d are on the commands topic (lost after the scheduler), "
              "%d are not (never fired)" % (len(set(missing) & set(cmds)),
                                            len(set(missing) - set(cmds))))
        # and the notifier's outcome of each (contacts topic)
        outcomes = read_topic(env, "contacts", "command_id") or {}
        for c in missing:
            o = outcomes.get(c)
            print("  %s: %s" % (c, json.dumps({k: o.get(k) for k in ("type", "reason",
                                                                  "provider_status", "at")})
                                 if o else "no outcome on the contacts topic"))
        print("notifier log (last lines):\n" + run.log_tail("notifier", 8))
    else:
        print("messages: the %d expected (%d email, %d sms) arrived, nothing else, none twice" %
              (len(want), sum(1 for v in want.values() if v == "email"),
               sum(1 for v in want.values() if v == "sms")))
    # each command as the model has it: scheduled_at (the instant a moved
    # send goes), the rules that moved it, not_after (a step gone late may
    # be past it: on the topic, not at a sink)
    bad = []
    for c in sorted(sent):
        m, cmd = sent[c], cmds.get(c)
        if cmd is None:
            if cmds and c not in exp_msgs:
                bad.append("  command  %s: not on the commands topic" % c)
            continue  # else a missing message, shown above
        na = cmd.get("not_after")
        got = (parse_rfc3339(cmd.get("scheduled_at", "")), cmd.get("rules", []),
               parse_rfc3339(na) if na else None)
        if got != (m.scheduled, m.rules, m.not_after):
            bad.append("  command  %s: scheduled_at %s rules %s not_after %s, expected %s %s %s"
                       % (c, got[0].isoformat(), got[1], got[2] and got[2].isoformat(),
                          m.scheduled.isoformat(), m.rules,
                          m.not_after and m.not_after.isoformat()))
    if bad:
        ok = False
        print("FAIL: %d command(s) differ from the model's" % len(bad))
        print("\n".join(bad))
    elif cmds:
        print("commands: scheduled_at, rules and not_after of the %d as the model has them "
              "(%d moved, %d past their not_after)" %
              (len(set(sent) & set(cmds)), sum(1 for m in sent.values() if m.rules),
               len(sent) - len(exp_msgs)))

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
