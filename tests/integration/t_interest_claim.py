#!/usr/bin/env python3
"""t_interest_claim.py -- statutory interest on the live stack (issue 14):
a GB business debtor pays 40 simulated days late and receives the claim of
interest and compensation by email, with the exact amounts.

arrears-publish --paced -> ingest -> scheduler -> notifier -> the SMTP sink
(tests/sinks/smtp_sink.py), on private topics and key prefixes, with a
scaled clock (1 simulated day = 0.5 s real). The policy, written here, is
one +1d email and the UK Late Payment Act with the shipped Bank of England
table (interest.rates of deploy/config/policy.json, as shipped), compensation on, and
claim_after_payment by email with the shipped interest_claim template.

Worked by hand (SI 2002/1675 and the Act, s.6): invoice GBP 1,500.00 due
2026-03-10, interest runs from 2026-03-11. The rate is fixed at the Bank
Rate in force on 31 December 2025 (the 31 December before interest
starts): 3.75% (cut on 2025-12-18) + 8 = 11.75% a year. Paid in full on
2026-04-19: 40 days late. Interest = 150000 x 11.75% x 40 / 365 =
705000 / 365 = 1931.51 minor units -> 1932 (GBP 19.32). Compensation for
an invoice of 1,000.00 to 9,999.99: GBP 70.00. Total claimed: GBP 89.32.

Asserted: one email of the claim to the debtor, whose subject carries the
total and whose text carries the interest, the compensation, the total and
the legal basis "...(Interest) Act 1998 at 11.75% a year"; the command
(kind interest_claim, id <tenant>/inv/I-GB/claim/P-GB) with amounts
{principal 0, fees 0, interest 1932, compensation 7000, total 8932}; and
invoice.interest_claimed on events with the same figures and 40 days late.
"""
import datetime as dt
import email
import email.policy
import glob
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from t_contract_lib import BIN, REPO, Stack, fail, free_port, require, skip  # noqa: E402

FACTOR = 172800  # 1 simulated day = 0.5 s
START = "2026-03-01T00:00:00Z"


def policy():
    rates = json.load(open(os.path.join(REPO, "deploy", "config", "policy.json")))["interest"]["rates"]
    return {
        "version": 1,
        "comment": "t_interest_claim: UK Late Payment Act interest and the claim after payment",
        "defaults": {"timezone": "Europe/London", "locale": "en-GB", "send_at": "09:00"},
        "payment_thanks": {"enabled": True, "channel": "email", "template": "payment_thanks"},
        "ladders": {"standard": [{"name": "+1d", "offset": "+1d", "channel": "email",
                                  "template": "overdue_1"}]},
        "strategies": [{"name": "default", "variants": [{"name": "A", "weight": 100,
                                                         "ladder": "standard"}]}],
        "contact_rules": {"window": {"start": "08:00", "end": "21:00"}},
        "interest": {
            "by_country": {"GB": {"scheme": "uk_late_payment", "rates": "boe_bank_rate",
                                  "margin_pct": 8},
                           "*": {"scheme": "contractual", "pct": 0}},
            "rates": {"boe_bank_rate": rates["boe_bank_rate"]},
            "compensation": True,
            "claim_after_payment": {"template": "interest_claim", "channel": "email"},
        },
    }


def ledger(tenant):
    def ev(n, etype, time_, data):
        return {"specversion": "1.0", "id": "ic-%02d" % n, "source": "billing-it",
                "type": etype, "time": time_, "tenant": tenant, "data": data}
    return [
        ev(1, "customer.upserted", "2026-03-01T01:00:00Z",
           {"customer_id": "C-GB", "name": "Late Payer Ltd", "email": "ap@late-payer.test",
            "timezone": "Europe/London", "locale": "en-GB", "country": "GB",
            "kind": "business"}),
        ev(2, "invoice.issued", "2026-03-01T01:00:00Z",
           {"invoice_id": "I-GB", "customer_id": "C-GB", "number": "INV-2026-0042",
            "currency": "GBP", "amount": "1500.00", "issued_on": "2026-02-08",
            "due_on": "2026-03-10"}),
        # 11:00 BST on 2026-04-19, 40 days after the due date
        ev(3, "payment.received", "2026-04-19T10:00:00Z",
           {"payment_id": "P-GB", "customer_id": "C-GB", "currency": "GBP", "amount": "1500.00",
            "received_on": "2026-04-19", "allocations": [{"invoice_id": "I-GB",
                                                          "amount": "1500.00"}]}),
    ]


def mails(d):
    out = []
    for path in sorted(glob.glob(os.path.join(d, "*.eml"))):
        with open(path, "rb") as f:
            m = email.message_from_binary_file(f, policy=email.policy.default)
        part = m.get_body(preferencelist=("plain",))
        out.append((str(m["To"]), str(m["Subject"]), part.get_content() if part else ""))
    return out


def main():
    require(["arrears-ingest", "arrears-scheduler", "arrears-notifier", "arrears-admin",
             "arrears-publish"])
    py = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
    if subprocess.run([py, "-c", "import aiosmtpd"], capture_output=True).returncode != 0:
        skip("python3-aiosmtpd is not installed for " + py)
    st = Stack("interest")
    try:
        return scenario(st, py)
    finally:
        st.cleanup()


def scenario(st, py):
    tenant = "ic" + st.token.replace("-", "")[-10:]
    mail = os.path.join(st.tmp, "mail")
    os.makedirs(mail)
    smtp_port = free_port()
    st.start_raw("smtp-sink", [py, "tests/sinks/smtp_sink.py", "--dir", mail, "--port",
                               str(smtp_port)])
    pol = os.path.join(st.tmp, "policy.json")
    with open(pol, "w") as f:
        json.dump(policy(), f)
    t0 = int(time.time()) + 5
    clock = "%s@%dx%d" % (START, t0, FACTOR)
    notifier = {
        "ARREARS_SMTP_URL": "smtp://127.0.0.1:%d" % smtp_port,
        "ARREARS_SMTP_TLS": "none",
        "ARREARS_SMTP_FROM": "ar@interest.example.test",
        "ARREARS_RETRY_BASE": "100ms",
        "ARREARS_RETRY_MAX": "2s",
    }
    svcs = ["ingest", "scheduler", "notifier"]
    st.start("ingest", clock)
    st.start("scheduler", clock, {"ARREARS_POLICY": pol, "ARREARS_SCHEDULER_TICK": "5ms"})
    st.start("notifier", clock, notifier)
    st.wait_ready(svcs)
    path = os.path.join(st.tmp, "ledger.jsonl")
    with open(path, "w") as f:
        for e in ledger(tenant):
            f.write(json.dumps(e) + "\n")
    pub = st.start_raw("publish", [os.path.join(BIN, "arrears-publish"), "--paced", path],
                       dict(st.env, ARREARS_CLOCK=clock))
    # the payment is at simulated day 49.4 (~25 s real); then thanks, claim
    claim_id = "%s/inv/I-GB/claim/P-GB" % tenant
    deadline = time.time() + 120
    claim = None
    while time.time() < deadline:
        st.alive()
        got = [m for m in mails(mail) if "89.32" in m[1]]
        cmds = [r["body"] for r in st.consume("commands")
                if isinstance(r["body"], dict) and r["body"].get("command_id") == claim_id]
        if got and cmds:
            claim = (got, cmds)
            break
        time.sleep(1)
    if pub.wait(timeout=60) != 0:
        fail("arrears-publish exited %d:\n%s" % (pub.returncode, st.log("publish")))
    if not claim:
        for s in svcs:
            print("--- %s log\n%s" % (s, st.log(s, 15)))
        print("mails: %s" % [(m[0], m[1]) for m in mails(mail)])
        fail("no interest claim (command %s and an email with GBP 89.32) within 120 s" % claim_id)
    got, cmds = claim
    ok = True

    def check(cond, what):
        nonlocal ok
        if not cond:
            ok = False
            print("FAIL: " + what)

    check(len(got) == 1, "one claim email, not %d" % len(got))
    to, subject, text = got[0]
    print("claim email to %s: %s" % (to, subject))
    check("ap@late-payer.test" in to, "the claim goes to the debtor, not %r" % to)
    check(subject == "Interest and compensation on late payment: \u00a389.32",
          "subject %r" % subject)
    for want in ("Interest: \u00a319.32",
                 "Fixed sum for the costs of recovery: \u00a370.00",
                 "Total now due: \u00a389.32",
                 "Late Payment of Commercial Debts (Interest) Act 1998 at 11.75% a year",
                 "INV-2026-0042"):
        check(want in text, "the claim's text lacks %r:\n%s" % (want, text))
    check("Late payment fees still owed" not in text, "no fees were charged:\n" + text)
    c = cmds[0]
    check(len(cmds) == 1, "the claim command once, not %d times" % len(cmds))
    check(c.get("kind") == "interest_claim", "kind %r" % c.get("kind"))
    check(c.get("amounts") == {"principal": 0, "fees": 0, "interest": 1932,
                               "compensation": 7000, "total": 8932},
          "amounts %r" % c.get("amounts"))
    check(c.get("interest_basis", {}).get("annual_pct") == "11.75",
          "interest_basis %r" % c.get("interest_basis"))
    evs = [r["body"] for r in st.consume("events")
           if isinstance(r["body"], dict) and r["body"].get("type") == "invoice.interest_claimed"]
    check(len(evs) == 1, "one invoice.interest_claimed, not %d" % len(evs))
    if evs:
        d = evs[0]["data"]
        check((d.get("interest_minor"), d.get("compensation_minor"), d.get("days_late"),
               d.get("scheme")) == (1932, 7000, 40, "uk_late_payment"), "event data %r" % d)
    if ok:
        print("ok: GB debtor 40 days late: claim of GBP 19.32 interest (11.75%%) + 70.00 "
              "compensation = 89.32 emailed, command and event agree")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
