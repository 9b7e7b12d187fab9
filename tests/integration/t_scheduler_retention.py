#!/usr/bin/env python3
# t_scheduler_retention.py -- the scheduler's retention of closed invoices,
# payments and waiting lists (issue 18, docs/scheduler.md "Retention") with
# the service and Redis on a scaled clock (1 simulated day = 0.5 s) and
# ARREARS_SCHEDULER_CLOSED_RETENTION=10d:
#   - a payment's purge member is scored exactly its event's time + 10 d
#     (864 000 000 ms), on the service clock, in its partition's timer set;
#   - after the retention the paid invoice (i:), its payment (p:) and the
#     waiting list of a reversal of a payment that never came (r:) are gone,
#     the reversal logged as expired (retention_expired), and the debtor
#     remembers what was purged, in the timer set's order: both at the
#     payment's time + 10 d (the thank-you fired at it), so by member bytes,
#     "i:INV-1,p:PAY-1,";
#   - a late payment for the purged invoice is answered at once: logged with
#     the reason purged_after_retention naming INV-1, not held (no q:), its
#     500 kept as the debtor's credit (u:PAY-2 = EUR:500); a copy of the
#     purged payment is not applied again.
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import t_scheduler_lib as L  # noqa: E402

L.require()
env = L.Env("retention")
DAY = 86400000
RET = 10 * DAY
clock = L.Clock("2026-03-01T00:00:00.000Z", 172800, delay_s=3)
T, C = "acme", "C-1"
K = env.kprefix


def ev(etype, data, eid):
    return L.event(etype, T, C, data, eid, max(clock.now(), clock.sim0))


def exists(kind, rid):
    return env.redis.cmd("EXISTS", "%s%s:%s/%s" % (K, kind, T, rid)).strip() == "1"


def purge_score(kind, rid):
    """(partition key, score) of the purge member of kind:rid, or None."""
    member = "%s/\x1e%s%s" % (T, kind, rid)
    for k in env.redis.keys(K + "due:*"):
        s = env.redis.cmd("ZSCORE", k, member).strip()
        if s:
            return k, int(s)
    return None


def wait_for(pred, what, sim_deadline):
    return L.wait_for(clock, pred, what, sim_deadline)


def log_lines(p, msg):
    out = []
    for line in env.log(p).splitlines():
        if '"msg":"%s"' % msg in line:
            out.append(L.json.loads(line))
    return out


try:
    # the policy's window only (no weekday rule: 2026-03-01 is a Sunday), so
    # the thank-you due at the payment's instant (12:00 London) fires then
    sched = env.start(clock, extra={"ARREARS_SCHEDULER_CLOSED_RETENTION": "10d",
                                    "ARREARS_POLICY": L.without_calendar(L.load_policy(), env.work)})
    # events stamped once the clock runs: the service applies an event as
    # of its own time only when that is not ahead of its clock
    clock.wait_until(clock.sim0 + DAY // 2)
    cust = ev("customer.upserted", {"name": "Name", "email": "c1@x.test", "timezone": "Europe/London",
                                    "locale": "en-GB", "country": "GB", "channels": ["email"],
                                    "opted_out": [], "tags": []}, "cu-1")
    issued = ev("invoice.issued", {"invoice_id": "INV-1", "number": "N-1", "currency": "EUR",
                                   "amount_minor": 12000, "issued_on": "2026-02-01",
                                   "due_on": "2026-06-01"}, "inv-1")
    pay1 = ev("payment.received", {"payment_id": "PAY-1", "currency": "EUR", "amount_minor": 12000,
                                   "received_on": "2026-03-01",
                                   "allocations": [{"invoice_id": "INV-1", "amount_minor": 12000}]}, "pay-1")
    rev9 = ev("payment.reversed", {"payment_id": "PAY-9", "reason": "chargeback"}, "rev-9")
    env.produce([cust, issued, pay1, rev9])
    pay_at = L.parse_iso(pay1["time"])

    # applied: the paid invoice, its payment and the held reversal are kept
    wait_for(lambda: exists("p", "PAY-1") and exists("r", "PAY-9"), "PAY-1 and PAY-9's list stored",
             pay_at + 5 * DAY)
    if not exists("i", "INV-1"):
        L.fail("INV-1 not stored")
    got = purge_score("p", "PAY-1")
    if not got or got[1] != pay_at + RET:
        L.fail("PAY-1's purge member: %s, want score %d (%s + 10 d)" % (got, pay_at + RET, pay1["time"]))
    # INV-1, paid in full: written by the payment, then by its thank-you,
    # due at the payment's instant: pay_at + 10 d as well
    got = purge_score("i", "INV-1")
    if not got or got[1] != pay_at + RET:
        L.fail("INV-1's purge member: %s, want score %d" % (got, pay_at + RET))
    # the reversal's list: from its first event (its own time) + 10 d
    got = purge_score("r", "PAY-9")
    if not got or got[1] != L.parse_iso(rev9["time"]) + RET:
        L.fail("PAY-9's list purge member: %s, want %d" % (got, L.parse_iso(rev9["time"]) + RET))
    if env.redis.cmd("HGET", "%sc:%s/%s" % (K, T, C), "pg").strip():
        L.fail("a purge noted before the retention")

    # after the retention: all three gone (the invoice's runs from its last
    # change, the thank-you fired after the payment)
    wait_for(lambda: not exists("p", "PAY-1") and not exists("i", "INV-1") and not exists("r", "PAY-9"),
             "INV-1, PAY-1 and PAY-9's list purged", pay_at + RET + 20 * DAY)
    if purge_score("p", "PAY-1") or purge_score("i", "INV-1") or purge_score("r", "PAY-9"):
        L.fail("purge members left in the timer sets")
    ring = env.redis.cmd("HGET", "%sc:%s/%s" % (K, T, C), "pg").strip()
    # one instant: the timer set's order, member bytes ("acme/\x1ei..." first)
    if ring != "i:INV-1,p:PAY-1,":
        L.fail("the debtor's purged ring: %r, want 'i:INV-1,p:PAY-1,'" % ring)
    exp = [x["fields"] for x in log_lines(sched, "held event expired")]
    if [(f.get("waiting_for"), f.get("type"), f.get("reason")) for f in exp] != \
            [("PAY-9", "payment.reversed", "retention_expired")]:
        L.fail("expired held events: %s" % exp)

    # a late payment for the purged invoice, and a copy of the purged payment
    late = ev("payment.received", {"payment_id": "PAY-2", "currency": "EUR", "amount_minor": 500,
                                   "received_on": L.iso(clock.now())[:10],
                                   "allocations": [{"invoice_id": "INV-1", "amount_minor": 500}]}, "pay-2")
    copy = dict(pay1, id="pay-1-again", time=L.iso(max(clock.now(), clock.sim0)))
    env.produce([late, copy])
    ck = "%sc:%s/%s" % (K, T, C)
    wait_for(lambda: env.redis.cmd("HGET", ck, "u:PAY-2").strip(), "PAY-2 applied",
             clock.now() + 10 * DAY)
    credit = env.redis.cmd("HGET", ck, "u:PAY-2").strip()
    if credit != "EUR:500":
        L.fail("PAY-2's 500 for the purged INV-1: credit %r, want 'EUR:500'" % credit)
    if exists("q", "INV-1"):
        L.fail("the late payment's share was held for the purged INV-1")
    if exists("p", "PAY-1"):
        L.fail("the copy of the purged PAY-1 was applied again")
    wait_for(lambda: [x["fields"] for x in log_lines(sched, "event about a purged record")
                           if x["fields"].get("id") == "pay-1-again"],
                  "the copy of PAY-1 answered", clock.now() + 10 * DAY)
    answered = [x["fields"] for x in log_lines(sched, "event about a purged record")]
    want = [("pay-2", "invoice_id", "INV-1"), ("pay-1-again", "payment_id", "PAY-1")]
    seen = [(f.get("id"), "invoice_id" if "invoice_id" in f else "payment_id",
             f.get("invoice_id") or f.get("payment_id")) for f in answered]
    if seen != want or any(f.get("reason") != "purged_after_retention" or
                           "ARREARS_SCHEDULER_CLOSED_RETENTION" not in f.get("error", "") for f in answered):
        L.fail("late events answered: %s, want %s with reason purged_after_retention" % (answered, want))
    env.stop(sched)
    print("ok: INV-1, PAY-1 and PAY-9's list purged after 10 d; 2 late events answered")
finally:
    env.cleanup()
