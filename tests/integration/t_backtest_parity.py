#!/usr/bin/env python3
"""t_backtest_parity.py -- the live scheduler and `arrears-scheduler
backtest` publish the same records for the same ledger.

One generated ledger (arrears-genledger --mix full: every behaviour and
event type, at least 2,000 invoices) runs two ways:

* live: arrears-publish --paced -> ingest -> scheduler on the real Kafka +
  Redis of tests/integration/run, with a scaled clock (ARREARS_CLOCK), on
  private topics and Redis key prefixes; at the end `commands` and
  `events` are read in full (of `events`, only the scheduler's own records,
  source "arrears-scheduler");
* backtest: bin/arrears-scheduler backtest over the same file, --until the
  end of the simulated period (T_cut, 00:00 UTC of the day after it).

Records whose scheduled instant (a command's `scheduled_at`, an event's
`time`) comes before T_cut must be the same multiset of (topic, key,
record bytes), byte for byte, except a command's `created_at`: the only
field that records when the record was really made (docs/backtest.md).
No command id may be published twice live (a fault-free run has no
at-least-once repeats).

The race, and why the ledger is filtered first. Live, an event is applied
a pipeline latency (publish -> ingest -> scheduler) after its time; a timer
fires within a tick of its due time. An event shortly before a timer of
its debtor can therefore be applied after the timer fired live, but before
it in the backtest (which applies it at its own time); an event shortly
after a timer can be applied first live when the timer fires late. Both
are races of a live pipeline, not bugs. The test removes them by
construction instead of comparing loosely: it drops from the ledger every
event that falls within W simulated ms (W = ARREARS_PARITY_MARGIN real
seconds x the clock factor) of an instant at which a timer of the same
debtor may fire:

* every record instant of that debtor in the backtest's output (commands,
  events and decisions), except the instant of the event that made the
  record (a payment and its thanks);
* every step instant of every invoice of that debtor, in its ladder (in
  every ladder of the policy when it published nothing), for the events
  that can close, reopen, pause or hold that invoice: the debtor's
  payments, reversals and contact.ceased, the invoice's own credit notes,
  voids and disputes, and the promises naming it (a payment just before a
  step cancels it, a promise defers it, a ceased channel holds it; none
  leaves a record at the step's instant in the output);
* the same local time on each of the MOVE_DAYS days after a decision
  that moved a step (a window, weekday, holiday or cap), for the events
  of that invoice as above: the step fires again at a later instant that
  the output names only if it fired (a promise just before it defers it,
  leaving no record);
* the catch-up instants (each send hour, that day and the next) after an
  event that may re-arm a ladder late (payment.reversed, dispute.resolved,
  an invoice.issued after one of its steps' instants), for every other
  event of the debtor.

The backtest runs again on the filtered ledger until nothing more is
dropped. The test prints what was dropped per type, and checks that every
event type and behaviour of genledger is still there and that at least
2,000 invoices remain. It also measures the live pipeline's latency from
the thanks commands (created_at - scheduled_at: publish -> ingest ->
scheduler -> fired) and says so when it exceeds the margin, since the
filter would then no longer rule the race out.

When the two sides differ, the first differences are printed side by side
with the ledger lines of their debtor.

Environment (defaults in brackets):
  ARREARS_PARITY_DAYS     simulated days [120] (the +90d escalation step needs ~104)
  ARREARS_PARITY_FACTOR   simulated seconds per real second [43200]
  ARREARS_PARITY_MARGIN   real seconds either side of a timer [0.5]
  ARREARS_PARITY_INVOICES invoices generated [2800]
  ARREARS_PARITY_SEED     genledger seed [20260105]
"""
import bisect
import collections
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import t_contract_lib as L  # noqa: E402

REPO = L.REPO
BIN = L.BIN if os.path.isabs(L.BIN) else os.path.join(REPO, L.BIN)
POLICY = os.path.join(REPO, "deploy", "config", "policy.json")
UTC = dt.timezone.utc

START = "2026-01-05"
DAYS = int(os.environ.get("ARREARS_PARITY_DAYS", "120"))
FACTOR = int(os.environ.get("ARREARS_PARITY_FACTOR", "43200"))
MARGIN_S = float(os.environ.get("ARREARS_PARITY_MARGIN", "0.5"))
CUSTOMERS = 400
INVOICES = int(os.environ.get("ARREARS_PARITY_INVOICES", "2800"))
SEED = os.environ.get("ARREARS_PARITY_SEED", "20260105")
MIN_INVOICES = 2000
W_MS = int(MARGIN_S * FACTOR * 1000)
MOVE_DAYS = 3  # days after a moved step's decision at which it may fire
LEAD_S = 6  # real seconds between starting the services and simulated day 0

TYPES = ["customer.upserted", "invoice.issued", "payment.received", "payment.reversed",
         "promise.made", "dispute.opened", "dispute.resolved", "credit_note.issued",
         "invoice.voided", "contact.ceased"]

# the events that may close, reopen or hold any invoice of their debtor (a
# payment without allocations goes to the oldest open ones; a reversal
# undoes one; a ceased channel holds every step that would use it)
DEBTOR_WIDE = ("payment.received", "payment.reversed", "contact.ceased")


def ms_of(s):
    return int(dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000)


def iso(ms):
    return dt.datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        "%03dZ" % (ms % 1000)


def local_ms(day, hhmm, zone):
    h, m = (int(x) for x in hhmm.split(":"))
    t = dt.datetime(day.year, day.month, day.day, h, m, tzinfo=zone)
    return int(t.timestamp() * 1000)


# ------------------------------------------------------------ the ledger

class Ledger:
    """The lines of a ledger file, each with its parsed event, debtor key
    (tenant/customer_id) and time in ms."""

    def __init__(self, path):
        self.lines = [l for l in open(path, encoding="utf-8").read().split("\n") if l]
        self.evs = [json.loads(l) for l in self.lines]
        self.keys = ["%s/%s" % (e["tenant"], e["data"]["customer_id"]) for e in self.evs]
        self.times = [ms_of(e["time"]) for e in self.evs]

    def write(self, path, keep):
        with open(path, "w", encoding="utf-8") as f:
            for i, l in enumerate(self.lines):
                if keep[i]:
                    f.write(l + "\n")


def load_policy():
    """-> ({ladder: [(offset days, "HH:MM")]}, {strategy: [ladder]}, send hours,
    default time zone)."""
    pol = json.load(open(POLICY))
    default_at = pol.get("defaults", {}).get("send_at", "09:00")
    ladders = {}
    for name, ladder in pol["ladders"].items():
        steps = []
        for st in ladder:
            off = st["offset"]
            assert off.endswith("d"), off
            steps.append((int(off[:-1]), st.get("send_at", default_at)))
        ladders[name] = steps
    strategies = {}
    for s in pol.get("strategies", []):
        names = [s["ladder"]] if "ladder" in s else []
        names += [v["ladder"] for v in s.get("variants", []) if "ladder" in v]
        strategies[s["name"]] = names
    hours = sorted({h for steps in ladders.values() for _, h in steps})
    return ladders, strategies, hours, pol.get("defaults", {}).get("timezone", "Europe/London")


def danger_instants(led, bt_recs):
    """{debtor key: {instant ms: [(scope, cause)]}}: the instants at which a
    timer of the debtor may fire (see the module's docstring). scope None:
    every event of the debtor races it; an invoice id: only the events
    that can close or reopen that invoice (DEBTOR_WIDE, and the events of
    that invoice) do. cause: the index of the ledger line that made the
    record at its own time (exempt), else None."""
    ladders, strategies, hours, default_tz = load_policy()
    tz, zones = {}, {}
    out = collections.defaultdict(lambda: collections.defaultdict(list))

    def zone(key):
        name = tz.get(key, default_tz)
        if name not in zones:
            zones[name] = ZoneInfo(name)
        return zones[name]

    # the ladder of each invoice that published anything; else every ladder
    inv_ladders = {}
    for rec in bt_recs:
        r = rec["record"]
        if rec["topic"] == "commands" and r.get("strategy") and r.get("kind") != "payment.thanks":
            inv_ladders[r["invoices"][0]["invoice_id"]] = strategies.get(r["strategy"])
    at_time = collections.defaultdict(list)  # (key, ms) -> line indexes
    for i, e in enumerate(led.evs):
        k, t, d = led.keys[i], led.times[i], e["data"]
        at_time[(k, t)].append(i)
        if e["type"] == "customer.upserted" and d.get("timezone"):
            tz[k] = d["timezone"]
        late = e["type"] in ("payment.reversed", "dispute.resolved")
        if e["type"] == "invoice.issued":
            due = dt.date.fromisoformat(d["due_on"])
            names = inv_ladders.get(d["invoice_id"]) or list(ladders)
            for name in names:
                for off, hhmm in ladders[name]:
                    T = local_ms(due + dt.timedelta(days=off), hhmm, zone(k))
                    out[k][T].append((d["invoice_id"], None))
                    late = late or T < t  # issued after a step's time
        if late:
            # a ladder re-armed late catches up at the next send hour
            day = dt.datetime.fromtimestamp(t / 1000, zone(k)).date()
            for n in (0, 1):
                for hhmm in hours:
                    T = local_ms(day + dt.timedelta(days=n), hhmm, zone(k))
                    if T >= t:
                        out[k][T].append((None, i))
    for rec in bt_recs:
        k, r = rec["key"], rec["record"]
        if rec["topic"] == "events":
            out[k][ms_of(r["time"])].append((None, None))
            continue
        t = ms_of(r["scheduled_at"])
        if rec["topic"] == "decisions" and moved(r.get("rule", "")) and r.get("invoice_id"):
            # re-armed for a later day the output does not name when an
            # event then paused or cancelled it: the same local time on
            # each of the next MOVE_DAYS days
            local = dt.datetime.fromtimestamp(t / 1000, zone(k))
            for n in range(1, MOVE_DAYS + 1):
                T = local_ms(local.date() + dt.timedelta(days=n), local.strftime("%H:%M"), zone(k))
                out[k][T].append((r["invoice_id"], None))
        cause = None
        if rec["topic"] == "commands" and r.get("kind") == "payment.thanks":
            pid, iid = r["payment"]["payment_id"], r["invoices"][0]["invoice_id"]
            for i in at_time.get((k, t), []):
                e = led.evs[i]
                if (e["type"] == "payment.received" and e["data"]["payment_id"] == pid) or \
                        (e["type"] == "invoice.issued" and e["data"]["invoice_id"] == iid):
                    cause = i
        out[k][t].append((None, cause))
    return out


def moved(rule):
    """Whether a decision's rule moved its step to a later instant (a
    window, weekday, holiday or cap) rather than holding or dropping it."""
    return rule.endswith(":moved") or rule.startswith("cap:")


def races(e, i, entries):
    """Whether line i (event e) races a timer at an instant with these entries."""
    for scope, cause in entries:
        if cause == i:
            continue
        if scope is None or touches(e, scope):
            return True
    return False


def touches(e, invoice_id):
    """Whether event e can close, reopen, pause or hold invoice_id's steps:
    a debtor-wide event, an event of that invoice, or a promise naming it
    (a promise naming no invoice covers all of them)."""
    d = e["data"]
    if e["type"] in DEBTOR_WIDE or d.get("invoice_id") == invoice_id:
        return True
    if e["type"] == "promise.made":
        return invoice_id in d.get("invoice_ids", [invoice_id])
    return False


def racy(led, danger):
    """Indexes of the lines within W of a danger instant of their debtor
    that they race."""
    sorted_inst = {k: sorted(v) for k, v in danger.items()}
    hit = []
    for i, e in enumerate(led.evs):
        k, t = led.keys[i], led.times[i]
        inst = sorted_inst.get(k)
        if not inst:
            continue
        j = bisect.bisect_left(inst, t - W_MS + 1)
        while j < len(inst) and inst[j] < t + W_MS:
            if races(e, i, danger[k][inst[j]]):
                hit.append(i)
                break
            j += 1
    return hit


def backtest(ledger_path, until_day, out_path):
    """Runs the backtest; -> its output lines as (raw line, parsed)."""
    with open(out_path, "w") as out:
        r = subprocess.run([os.path.join(BIN, "arrears-scheduler"), "backtest", "--policy", POLICY,
                            "--events", ledger_path, "--until", until_day, "--strict"],
                           stdout=out, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        L.fail("backtest exited %d:\n%s" % (r.returncode, r.stderr))
    lines = []
    for raw in open(out_path, encoding="utf-8").read().split("\n"):
        if raw:
            lines.append((raw, json.loads(raw)))
    return lines, r.stderr


def filter_ledger(tmp, full_path, until_day):
    """Drops the racy events (see the docstring) until none is left; ->
    (filtered path, Ledger of the full file, keep flags, passes)."""
    led = Ledger(full_path)
    keep = [True] * len(led.lines)
    path = os.path.join(tmp, "ledger.jsonl")
    passes = 0
    while True:
        led.write(path, keep)
        lines, _ = backtest(path, until_day, os.path.join(tmp, "backtest.jsonl"))
        # instants of the kept ledger only: a dropped invoice has no steps
        kept = Ledger(path)
        hit = racy(kept, danger_instants(kept, [p for _, p in lines]))
        back = [i for i in range(len(led.lines)) if keep[i]]  # kept index -> full index
        passes += 1
        if not hit:
            return path, led, keep, passes
        for j in hit:
            keep[back[j]] = False
        if passes > 10:
            L.fail("the ledger filter does not converge after 10 passes")


def report_filter(led, keep):
    all_t = collections.Counter(e["type"] for e in led.evs)
    kept_t = collections.Counter(e["type"] for i, e in enumerate(led.evs) if keep[i])
    print("ledger: %d of %d events kept (W = %.2f s real = %s simulated)" %
          (sum(keep), len(keep), MARGIN_S, dt.timedelta(milliseconds=W_MS)))
    for t in sorted(all_t):
        print("  %-20s %5d of %5d dropped" % (t, all_t[t] - kept_t[t], all_t[t]))
    missing = [t for t in TYPES if kept_t[t] == 0 and (t != "credit_note.issued" or all_t[t])]
    if missing:
        L.fail("the filtered ledger lost every event of type %s: choose another seed, a "
               "smaller margin or a slower clock" % ", ".join(missing))
    if kept_t["invoice.issued"] < MIN_INVOICES:
        L.fail("only %d invoices left after filtering (at least %d wanted)" %
               (kept_t["invoice.issued"], MIN_INVOICES))
    # genledger's behaviours, as far as the ledger shows them (promises,
    # disputes and voids are their event types above)
    kept = [e for i, e in enumerate(led.evs) if keep[i]]
    due = {e["data"]["invoice_id"]: e["data"]["due_on"] for e in kept
           if e["type"] == "invoice.issued"}
    pays = collections.defaultdict(list)  # invoice -> [received_on]
    for e in kept:
        if e["type"] == "payment.received":
            for a in e["data"].get("allocations", []):
                pays[a["invoice_id"]].append(e["data"]["received_on"])
    seen = {
        "never paid": sum(1 for i in due if not pays[i]),
        "paid by the due date": sum(1 for i in due if pays[i] and max(pays[i]) <= due[i]),
        "paid late": sum(1 for i in due if pays[i] and max(pays[i]) > due[i]),
        "paid in parts": sum(1 for i in due if len(pays[i]) > 1),
    }
    print("  invoices: %d; %s" % (len(due), ", ".join("%s %d" % kv for kv in seen.items())))
    lacking = [k for k, n in seen.items() if not n]
    if lacking:
        L.fail("the filtered ledger has no invoice %s" % ", ".join(lacking))


# ------------------------------------------------------------ comparison

CREATED = re.compile(r',"created_at":"[0-9T:.Z+-]+"')


def normalise(topic, raw):
    """-> (record bytes without created_at (commands), scheduled instant ms)."""
    body = json.loads(raw)
    if topic == "commands":
        out, n = CREATED.subn("", raw)
        if n != 1:
            L.fail("a command without exactly one created_at: " + raw[:300])
        return out, ms_of(body["scheduled_at"])
    return raw, ms_of(body["time"])


def bt_record_bytes(raw):
    """The record's exact bytes in a backtest output line."""
    i = raw.index(',"record":')
    assert raw.endswith("}")
    return raw[i + len(',"record":'):-1]


def show_diff(only_live, only_bt, led, keep):
    """The first differences, grouped by debtor, with the debtor's ledger."""
    by_key = collections.defaultdict(lambda: ([], []))
    for (topic, key, rec), n in only_live.items():
        by_key[key][0].append((topic, rec, n))
    for (topic, key, rec), n in only_bt.items():
        by_key[key][1].append((topic, rec, n))
    print("%d debtor(s) differ; the first ones:" % len(by_key))
    for key in sorted(by_key)[:5]:
        lv, bt = by_key[key]
        print("=== %s" % key)
        for side, recs in (("live", lv), ("backtest", bt)):
            for topic, rec, n in sorted(recs, key=lambda x: x[1])[:6]:
                print("  %-8s %s x%d %s" % (side, topic, n, rec))
        print("  ledger of %s (- = dropped by the filter):" % key)
        for i, e in enumerate(led.evs):
            if led.keys[i] == key:
                print("   %s %s %s %s" % (" " if keep[i] else "-", e["time"], e["type"],
                                          json.dumps(e["data"], separators=(",", ":"))[:160]))


# ------------------------------------------------------------ the run

def main():
    L.require(["arrears-ingest", "arrears-scheduler", "arrears-genledger", "arrears-publish",
               "arrears-admin"])
    t_start = time.time()
    st = L.Stack("parity", partitions=3)
    try:
        return scenario(st, t_start)
    finally:
        st.cleanup()


def scenario(st, t_start):
    tmp = st.tmp
    tenant = "parity" + re.sub(r"\D", "", st.token)
    end = dt.date.fromisoformat(START) + dt.timedelta(days=DAYS)
    until_day = end.isoformat()
    t_cut = ms_of(until_day + "T00:00:00Z")
    full = os.path.join(tmp, "ledger-full.jsonl")
    subprocess.run([os.path.join(BIN, "arrears-genledger"), "--mix", "full", "--customers",
                    str(CUSTOMERS), "--invoices", str(INVOICES), "--days", str(DAYS), "--start",
                    START, "--seed", SEED, "--tenant", tenant, "--out", full, "--quiet"],
                   check=True)
    ledger, led, keep, passes = filter_ledger(tmp, full, until_day)
    print("filter: %d pass(es) of the backtest" % passes)
    report_filter(led, keep)
    nlines = sum(keep)

    # ---- live
    t0 = int(time.time()) + LEAD_S
    clock = "%sT00:00:00Z@%dx%d" % (START, t0, FACTOR)
    sim0 = ms_of(START + "T00:00:00Z")

    def sim_now():
        return sim0 + int((time.time() - t0) * FACTOR * 1000)

    st.start("ingest", clock, {"ARREARS_INGEST_BATCH_FILL": "2ms"})
    st.start("scheduler", clock, {"ARREARS_SCHEDULER_TICK": "5ms"})
    st.wait_ready(["ingest", "scheduler"])
    if time.time() > t0 - 1:
        L.fail("the services took too long to start: simulated day 0 has begun")
    pe = dict(st.env, ARREARS_CLOCK=clock)
    pub = st.start_raw("publish", [os.path.join(BIN, "arrears-publish"), "--paced", ledger], pe)
    print("live: %d events over %d simulated days, clock x%d (%.0f s)" %
          (nlines, DAYS, FACTOR, DAYS * 86400.0 / FACTOR))

    # the clock well past T_cut, every event through ingest and the scheduler
    settle_ms = max(2 * W_MS, 2 * FACTOR * 1000)
    while sim_now() < t_cut + settle_ms:
        st.alive()
        if pub.poll() not in (None, 0):
            L.fail("arrears-publish exited %d:\n%s" % (pub.returncode, st.log("publish")))
        time.sleep(1)
    if pub.wait(timeout=120) != 0:
        L.fail("arrears-publish exited %d:\n%s" % (pub.returncode, st.log("publish")))
    deadline = time.time() + 120
    while True:
        st.alive()
        mi, ms = st.metrics("ingest"), st.metrics("scheduler")
        acc = L.metric(mi, 'arrears_ingest_messages_total{result="accepted"}')
        rej = L.metric(mi, 'arrears_ingest_messages_total{result="rejected"}')
        lag_i = L.metric(mi, "arrears_ingest_lag_messages")
        lag_s = L.metric(ms, "arrears_scheduler_lag_messages")
        if rej:
            L.fail("ingest rejected %d event(s) of the ledger:\n%s" % (rej, st.log("ingest")))
        if acc >= nlines and lag_i == 0 and lag_s == 0:
            break
        if time.time() > deadline:
            L.fail("not caught up in 120 s: ingest accepted %d of %d, lag ingest %d scheduler %d"
                   % (acc, nlines, lag_i, lag_s))
        time.sleep(0.5)
    time.sleep(1.5)  # one more lag sample, and delivery of the last records
    live_s = time.time() - t0
    st.stop()

    # ---- collect
    live = collections.Counter()
    live_ids = collections.Counter()
    latency = []  # real seconds, thanks: publish -> fired
    lateness = []  # real seconds, other commands: fired in the backtest -> fired live
    live_fired = {}  # (topic, key, record) -> created_at ms, other commands
    # both topics as read, in the backtest's line format (ARREARS_IT_KEEP=1 keeps it)
    dump = open(os.path.join(tmp, "live.jsonl"), "w", encoding="utf-8")
    for topic in ("commands", "events"):
        for rec in st.consume(topic):
            dump.write('{"topic":"%s","key":%s,"record":%s}\n' % (topic, json.dumps(rec["key"]),
                                                                   rec["value"]))
            body = rec["body"]
            if body is None:
                L.fail("a record on %s is not JSON: %r" % (topic, rec["value"][:200]))
            if topic == "events" and body.get("source") != "arrears-scheduler":
                continue
            if body.get("tenant") != tenant:
                continue
            norm, when = normalise(topic, rec["value"])
            if topic == "commands":
                live_ids[body["command_id"]] += 1
                if body.get("kind") == "payment.thanks":
                    latency.append((ms_of(body["created_at"]) - when) / 1000.0 / FACTOR)
                else:
                    live_fired[(topic, rec["key"], norm)] = ms_of(body["created_at"])
            else:
                live_ids[body["id"]] += 1
            if when < t_cut:
                live[(topic, rec["key"], norm)] += 1

    dump.close()

    # ---- backtest over the same file
    bt_lines, bt_err = backtest(ledger, until_day, os.path.join(tmp, "backtest.jsonl"))
    bt = collections.Counter()
    for raw, p in bt_lines:
        if p["topic"] == "decisions":
            continue
        norm, when = normalise(p["topic"], bt_record_bytes(raw))
        if when >= t_cut:
            L.fail("the backtest printed a record at or after --until: " + raw[:300])
        bt[(p["topic"], p["key"], norm)] += 1
        fired = live_fired.get((p["topic"], p["key"], norm))
        if fired is not None:  # a step deferred by a cap or a promise fires late in both
            lateness.append((fired - ms_of(p["record"]["created_at"])) / 1000.0 / FACTOR)

    ok = True
    by_topic = collections.Counter(k[0] for k in live.elements())
    by_kind = collections.Counter(json.loads(k[2]).get("kind", json.loads(k[2]).get("type"))
                                  for k in live.elements())
    print("live: %d records before %s (%s); %s" % (
        sum(live.values()), iso(t_cut), ", ".join("%s %d" % kv for kv in sorted(by_topic.items())),
        ", ".join("%s %d" % kv for kv in sorted(by_kind.items()))))
    print("backtest: %d records before %s" % (sum(bt.values()), iso(t_cut)))

    def pct(xs, q):
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0.0

    print("live latency, event -> its thanks command: median %.3f s, p99 %.3f s, max %.3f s "
          "(margin %.2f s)" % (pct(latency, 0.5), pct(latency, 0.99), max(latency or [0]),
                              MARGIN_S))
    print("live lateness, fired in the backtest -> fired live: median %.3f s, p99 %.3f s, max %.3f s" %
          (pct(lateness, 0.5), pct(lateness, 0.99), max(lateness or [0])))
    dups = sorted(i for i, n in live_ids.items() if n > 1)
    if dups:
        ok = False
        print("FAIL: %d id(s) published more than once live (no fault was injected):" % len(dups))
        for i in dups[:10]:
            print("  %s x%d" % (i, live_ids[i]))
    only_live, only_bt = live - bt, bt - live
    if only_live or only_bt:
        ok = False
        print("FAIL: live and backtest differ: %d record(s) only live, %d only in the backtest" %
              (sum(only_live.values()), sum(only_bt.values())))
        show_diff(only_live, only_bt, led, keep)
    else:
        print("parity: the %d records are the same, byte for byte (but created_at)" %
              sum(live.values()))
    if not live:
        ok = False
        print("FAIL: no record at all: the comparison proves nothing")
    for topic in ("commands", "events"):
        if not by_topic[topic]:
            ok = False
            print("FAIL: nothing on %s before %s: the comparison does not cover it" %
                  (topic, iso(t_cut)))
    worst = max(latency + lateness or [0])
    if worst >= MARGIN_S:
        print("NOTE: the live pipeline took up to %.3f s, more than the %.2f s margin of the "
              "ledger filter: a difference above may be the race the filter is there to rule "
              "out (a slow machine: raise ARREARS_PARITY_MARGIN)" % (worst, MARGIN_S))
    print("run time: %.0f s (live %.0f s)" % (time.time() - t_start, live_s))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
