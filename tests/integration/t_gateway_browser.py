#!/usr/bin/env python3
"""t_gateway_browser.py -- the debtor's self-service page in a real browser
(headless Chromium through chromedriver and python3-selenium, issue 17
"In a real browser"), opened from an email the notifier actually sent, on
the live stack of tests/integration/run with a scaled clock:

  arrears-publish --paced -> ingest -> scheduler -> notifier (SMTP sink,
  ARREARS_GATEWAY_URL = the gateway) ... email ... headless Chromium ->
  arrears-gateway /p/<token> -> promise.made on <prefix>inbound -> ingest
  -> scheduler (the ladder pauses)

every service on the same ARREARS_CLOCK. The ledger, worked by hand (all
in Europe/London, British Summer Time, UTC+1, in June 2026):

  C-1  "Ada <b>"Bold"</b> & 'Sons' Ltd" (en-GB), INV-1 numbered
       <i>2026</i>-0042 & "Q" (hostile-ish too: the page shows no name,
       a token carries none, docs/gateway.md; it prints the number),
       GBP 1,500.00 due Tue 2 June; 265.44 paid 2 June 19:00 BST:
       1,500.00 - 265.44 = 1,234.56 outstanding.
  C-2  the control: INV-2, GBP 800.00 due 2 June, nothing paid, no
       promise; its step 1 shows that the clock passed step 1's instant
       with the scheduler running, so C-1's missing step 1 is the pause
       and not a stopped scheduler.

  ladder: step 0 +1d email 09:00 with a fee of GBP 10.00 (fixed_minor
  1000), step 1 +3d email 09:00, step 2 +8d email 09:00; promises
  grace_days 2; the gateway's tenants file promise_max_days 30 (the
  policy has no max_days: the gateway bounds the date, docs/gateway.md).

  Step 0 goes Wed 3 June 09:00 BST = 08:00Z with the fee charged:
  outstanding £1,234.56, total £1,234.56 + £10.00 = £1,244.56 as of
  3 June 2026. Step 1 would go Fri 5 June 09:00 BST = 08:00Z.

Checked: the email to C-1 carries http://127.0.0.1:<gateway>/p/<token>
and a List-Unsubscribe <http://127.0.0.1:<gateway>/u/<token>>, and its
HTML part shows the name escaped; in Chromium the page shows the invoice
row (the number as text, 2 June 2026, £1,234.56, £1,244.56), "3 June
2026" and £1,244.56 in p#total, and no <i> or <b> element made of the
number; a promise dated within the
date input's min/max (10 days after min) is submitted with the page's own
form and answered by main#confirmation naming the amount and the date;
the /u/ link in the browser (a GET) shows main#unsubscribe with its
button, and nothing is published for it. On <prefix>inbound: exactly one
event from the portal, promise.made id page/<sha256(token)[:32]>/promise
keyed acme/C-1 with {customer_id C-1, invoice_ids [INV-1], currency GBP,
amount 1244.56, promised_on <the date chosen>}, and it passed ingest
(on <prefix>events). After the clock passed Fri 5 June 20:00 BST: C-2's
step 1 is on commands, C-1 has its step 0 only.

Screenshots (page.png, confirmation.png, unsubscribe.png) go to the
test's temp dir (printed), kept with ARREARS_IT_KEEP=1 or when the test
fails, and copied to $ARREARS_IT_OUT when that is set.

Runs under /usr/bin/python3 (Debian's, which has python3-selenium and
python3-aiosmtpd; a python3 earlier in PATH may have neither): it re-executes
itself there. Skips (77) only when Chromium, chromedriver or selenium is
missing (`make deps` installs them). Timing: 1 simulated day = 20 s real
(x4320); from step 0 to step 1 is 40 s real for the email, the browser
(about 10 s) and the promise to reach the scheduler.
"""
import datetime
import email
import hashlib
import json
import os
import re
import sys
import time
from email import policy as email_policy

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import t_browser_lib as B  # noqa: E402  (re-executes under Debian's python3 when needed)
from selenium.webdriver.common.by import By  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "sinks"))
import harness as h  # noqa: E402
import t_contract_lib as C  # noqa: E402
import t_scheduler_lib as L  # noqa: E402

T = "acme"
LON = "Europe/London"
FACTOR = int(os.environ.get("ARREARS_BROWSER_FACTOR", "4320"))  # 1 day = 20 s
SIM0 = "2026-06-02T06:00:00.000Z"
LEAD_S = 8
LINK_KEY = "it-browser-link-key-0123456789"  # 16+ bytes, notifier and gateway
KID = "it1"
NAME = "Ada <b>\"Bold\"</b> & 'Sons' Ltd"
NUMBER = "<i>2026</i>-0042 & \"Q\""
MAIL = "ap@ada-sons.example.test"
STEP0 = C.at_local("2026-06-03T08:00:00.000Z", "2026-06-03 09:00", LON)
STEP1 = C.at_local("2026-06-05T08:00:00.000Z", "2026-06-05 09:00", LON)
UNTIL = C.at_local("2026-06-05T19:00:00.000Z", "2026-06-05 20:00", LON)
# worked by hand (module docstring)
OUTSTANDING, TOTAL = "\u00a31,234.56", "\u00a31,244.56"

POLICY = {
    "version": 1,
    "comment": "t_gateway_browser.py: a short ladder with a fee at step 0; promises",
    "defaults": {"timezone": LON, "locale": "en-GB", "send_at": "09:00"},
    "ladders": {
        "short": [
            {"name": "+1d", "offset": "+1d", "channel": "email", "template": "overdue_1",
             "fee": {"fixed_minor": {"GBP": 1000}}},
            {"name": "+3d", "offset": "+3d", "channel": "email", "template": "overdue_7"},
            {"name": "+8d", "offset": "+8d", "channel": "email", "template": "overdue_14"},
        ],
    },
    "strategies": [{"name": "default", "ladder": "short"}],
    "contact_rules": {"window": {"start": "08:00", "end": "21:00"}},
    "promises": {"grace_days": 2},
}


def ledger():
    ce = C.ce
    t = "2026-06-02T07:00:00Z"
    evs = [
        ce("cu-1", "customer.upserted", t,
           {"customer_id": "C-1", "name": NAME, "email": MAIL, "timezone": LON, "locale": "en-GB",
            "country": "GB"}, source="crm"),
        ce("cu-2", "customer.upserted", t,
           {"customer_id": "C-2", "name": "Control Ltd", "email": "ap@control.example.test",
            "timezone": LON, "locale": "en-GB", "country": "GB"}, source="crm"),
        ce("inv-1", "invoice.issued", t,
           {"invoice_id": "INV-1", "customer_id": "C-1", "number": NUMBER, "currency": "GBP",
            "amount": "1500.00", "issued_on": "2026-05-03", "due_on": "2026-06-02"}),
        ce("inv-2", "invoice.issued", t,
           {"invoice_id": "INV-2", "customer_id": "C-2", "number": "2026-0043", "currency": "GBP",
            "amount": "800.00", "issued_on": "2026-05-03", "due_on": "2026-06-02"}),
        ce("pay-1", "payment.received", "2026-06-02T18:00:00Z",
           {"payment_id": "P-1", "customer_id": "C-1", "currency": "GBP", "amount": "265.44",
            "received_on": "2026-06-02",
            "allocations": [{"invoice_id": "INV-1", "amount": "265.44"}]}, source="bank"),
    ]
    return sorted(evs, key=lambda e: e["time"])


def sent_email(smtp, rcpt):
    """The email to rcpt in the sink (parsed), or None."""
    for f in smtp.files(".eml"):
        with open(f[:-4] + ".json") as fh:
            if json.load(fh)["rcpt_tos"] != [rcpt]:
                continue
        with open(f, "rb") as fh:
            return email.message_from_bytes(fh.read(), policy=email_policy.default)
    return None


def links(msg, base):
    """(the /p/ link of the text part, the https/http URL of List-Unsubscribe)."""
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    tok = r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"
    m = re.search(re.escape(base) + "/p/" + tok, text)
    if not m:
        C.fail("no %s/p/<token> link in the email's text part:\n%s" % (base, text))
    if m.group(0) not in html:
        C.fail("the HTML part lacks the same pay link %s" % m.group(0))
    esc = NAME
    for ch, ent in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#39;")):
        esc = esc.replace(ch, ent)
    if esc not in html or NAME in html:
        C.fail("the HTML part does not show the name %r escaped" % NAME)
    lu = str(msg["List-Unsubscribe"])
    u = re.search(r"<(" + re.escape(base) + "/u/" + tok + r")>", lu)
    if not u or msg["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click":
        C.fail("List-Unsubscribe %r (Post %r) does not point at %s/u/<token>"
               % (lu, msg["List-Unsubscribe-Post"], base))
    return m.group(0), u.group(1)


def set_date(br, el, iso):
    """Types the date as a user would (the browser's own field order is not
    known here: month-day-year in the default en-US, else day-month-year);
    sets it directly only when typing did not give iso."""
    y, m, d = iso.split("-")
    for keys in (m + d + y, d + m + y):
        el.clear()
        el.send_keys(keys)
        if el.get_attribute("value") == iso:
            return "typed"
    br.d.execute_script("arguments[0].value = arguments[1]", el, iso)
    if el.get_attribute("value") != iso:
        C.fail("cannot set input#promised_on to %s (value %r)" % (iso, el.get_attribute("value")))
    return "set"


def browse(st, br, pay, unsub):
    # ---- the page
    br.d.get(pay)
    br.wait("main#page")
    if br.d.find_element(By.TAG_NAME, "html").get_attribute("lang") != "en-GB":
        C.fail("page lang %r" % br.d.find_element(By.TAG_NAME, "html").get_attribute("lang"))
    rows = br.d.find_elements(By.CSS_SELECTOR, "table#invoices tr[id^='invoice-']")
    if [r.get_attribute("id") for r in rows] != ["invoice-1"]:
        C.fail("invoice rows %r, want [invoice-1]" % [r.get_attribute("id") for r in rows])
    got = {c: br.text("tr#invoice-1 ." + c) for c in ("number", "due", "outstanding", "total")}
    want = {"number": NUMBER, "due": "2 June 2026", "outstanding": OUTSTANDING, "total": TOTAL}
    if got != want:
        C.fail("invoice row %r, want %r" % (got, want))
    total = br.text("p#total")
    if "3 June 2026" not in total or TOTAL not in total:
        C.fail("p#total %r lacks 3 June 2026 and %s" % (total, TOTAL))
    if br.d.find_elements(By.CSS_SELECTOR, "main#page i, main#page b"):
        C.fail("the invoice number became markup: an <i> or <b> element on the page")
    if "C-1" not in br.text("p#customer"):
        C.fail("p#customer %r lacks the customer number C-1" % br.text("p#customer"))
    br.shot("page.png")

    # ---- promise to pay: a date within the input's own min/max
    el = br.one("form#form-promise input#promised_on")
    if el.get_attribute("type") != "date":
        C.fail("input#promised_on type %r" % el.get_attribute("type"))
    lo, hi = el.get_attribute("min"), el.get_attribute("max")
    try:
        lo_d, hi_d = datetime.date.fromisoformat(lo), datetime.date.fromisoformat(hi)
    except (TypeError, ValueError):
        C.fail("input#promised_on min %r max %r are not dates" % (lo, hi))
    # min: the later of the token's as_of (3 June) and the gateway's
    # yesterday; max: its today + promise_max_days 30 (docs/gateway.md)
    if lo_d < datetime.date(2026, 6, 3) or not 29 <= (hi_d - lo_d).days <= 31:
        C.fail("promise range %s..%s: want min >= 2026-06-03 and 30 days (+-1) to max" % (lo, hi))
    on = (lo_d + datetime.timedelta(days=10)).isoformat()
    how = set_date(br, el, on)
    br.one("button#promise-submit").click()
    br.wait("main#confirmation")
    msg = br.text("p#message")
    if TOTAL not in msg or B.en_gb_date(on) not in msg:
        C.fail("confirmation %r lacks %s and %s" % (msg, TOTAL, B.en_gb_date(on)))
    br.shot("confirmation.png")
    print("ok: promise of %s by %s submitted in Chromium (the date %s; range %s..%s)"
          % (TOTAL, on, how, lo, hi))

    # ---- the List-Unsubscribe URL, followed as a link scanner would (GET)
    br.d.get(unsub)
    br.wait("main#unsubscribe")
    br.one("form#form-unsubscribe")
    br.one("button#unsubscribe-submit")
    br.shot("unsubscribe.png")
    return on


def portal_events(st):
    return [r for r in st.consume("inbound") if (r["body"] or {}).get("source") == "portal"]


def run(st, out):
    policy, events = C.write_inputs(st, POLICY, ledger())
    smtp = h.Sink("smtp", st.tmp)
    st.smtp = smtp
    tokens = os.path.join(st.tmp, "tokens")
    open(tokens, "w").close()
    tenants = os.path.join(st.tmp, "gateway-tenants.json")
    C.write(tenants, json.dumps({T: {
        "link_keys": [{"kid": KID, "secret": LINK_KEY}],
        "pay_url": "https://pay.acme.example/pay?ref={reference}&amount={amount_minor}"
                   "&currency={currency}",
        "promise_max_days": 30, "locale": "en-GB"}}))
    gw_port = C.free_port()
    base = "http://127.0.0.1:%d" % gw_port
    clock = L.Clock(SIM0, FACTOR, delay_s=LEAD_S)
    print("clock %s (x%d: 1 simulated day = %.1f s); gateway %s" % (clock.spec, FACTOR,
                                                                   86400 / FACTOR, base))
    st.start("ingest", clock.spec, {"ARREARS_INGEST_BATCH_FILL": "2ms"})
    st.start("scheduler", clock.spec, {"ARREARS_SCHEDULER_TICK": "5ms", "ARREARS_POLICY": policy})
    st.start("notifier", clock.spec, {
        "ARREARS_SMTP_URL": "smtp://127.0.0.1:%d" % smtp.port, "ARREARS_SMTP_TLS": "none",
        "ARREARS_SMTP_FROM": "Acme Collections <ar@acme.example.test>",
        "ARREARS_PAYLINK_SECRET": LINK_KEY, "ARREARS_LINK_KEY_ID": KID,
        "ARREARS_GATEWAY_URL": base})
    st.start("gateway", clock.spec, {"ARREARS_GATEWAY_ADDR": "127.0.0.1:%d" % gw_port,
                                     "ARREARS_GATEWAY_TOKENS_FILE": tokens,
                                     "ARREARS_GATEWAY_TENANTS_FILE": tenants})
    st.wait_ready(["ingest", "scheduler", "notifier", "gateway"])
    if time.time() > clock.real0 - 0.5:
        C.fail("the services took too long to start: simulated time has begun")
    pub = st.start_raw("publish", [os.path.join(C.BIN, "arrears-publish"), "--paced", events],
                       dict(st.env, ARREARS_CLOCK=clock.spec))

    # ---- the step-0 email, as sent
    deadline = time.time() + 120
    msg = None
    while msg is None:
        st.alive()
        msg = sent_email(smtp, MAIL)
        if msg is None:
            if time.time() > deadline:
                C.fail("no email to %s in 120 s (simulated now %s); notifier log:\n%s"
                       % (MAIL, L.iso(clock.now()), st.log("notifier")))
            time.sleep(0.2)
    cmd_id = str(msg["X-Arrears-Command-Id"] or "")
    if cmd_id != "%s/inv/INV-1/step/0/attempt/1" % T:
        C.fail("the email to %s is for command %r, want step 0" % (MAIL, cmd_id))
    pay, unsub = links(msg, base)
    print("email %s at simulated %s: %s" % (cmd_id, L.iso(clock.now()), pay[:60] + "..."))

    # ---- the browser
    br = B.Browser(out)
    st.browser = br
    on = browse(st, br, pay, unsub)
    br.quit()
    if clock.now() >= L.parse_iso(STEP1):
        C.fail("the browser part ended at simulated %s, after step 1 (%s): the pause cannot be "
               "shown; lower ARREARS_BROWSER_FACTOR (now %d)" % (L.iso(clock.now()), STEP1, FACTOR))

    # ---- promise.made on inbound (kcat), then through ingest
    th = hashlib.sha256(pay.rsplit("/p/", 1)[1].encode()).hexdigest()
    pid = "page/%s/promise" % th[:32]
    want = {"customer_id": "C-1", "invoice_ids": ["INV-1"], "currency": "GBP",
            "amount": "1244.56", "promised_on": on}
    rec = h.wait_for(lambda: next((r for r in st.consume("inbound")
                                   if (r["body"] or {}).get("id") == pid), None),
                     30, "promise.made %s on inbound" % pid)
    b = rec["body"]
    if rec["key"] != "%s/C-1" % T or b["type"] != "promise.made" or b["tenant"] != T \
            or b["data"] != want:
        C.fail("promise record %r, want key %s/C-1, promise.made with %r" % (rec, T, want))
    h.wait_for(lambda: any((r["body"] or {}).get("id") == pid and r["body"]["type"] == "promise.made"
                           for r in st.consume("events")), 30, "promise.made on events (ingest)")
    if b["time"] >= STEP1:
        C.fail("promise.made time %s is not before step 1 (%s)" % (b["time"], STEP1))
    print("ok: %s on inbound keyed %s, time %s, data %s" % (pid, rec["key"], b["time"],
                                                            json.dumps(b["data"])))

    # ---- the ladder pauses: run the clock past step 1's instant
    clock.wait_until(L.parse_iso(UNTIL))
    st.alive()
    ctrl = "%s/inv/INV-2/step/1/attempt/1" % T

    def commands():
        return [r["body"]["command_id"] for r in st.consume("commands")]
    h.wait_for(lambda: ctrl in commands(), 30,
               "the control's step 1 (%s) on commands after %s" % (ctrl, STEP1))
    mine = sorted(c for c in commands() if "/INV-1/" in c)
    if mine != ["%s/inv/INV-1/step/0/attempt/1" % T]:
        C.fail("C-1's commands %r: want its step 0 only (the promise pauses step 1)" % mine)
    print("ok: by simulated %s the control's step 1 went, C-1 has its step 0 only" % UNTIL)

    # ---- the /u/ GET published nothing (checked after the wait above)
    portal = [(r["body"]["type"], r["body"]["id"]) for r in portal_events(st)]
    if portal != [("promise.made", pid)]:
        C.fail("events from the portal on inbound %r, want the promise only (a GET of /u/ "
               "publishes nothing)" % portal)
    ceased = [r["body"]["id"] for r in st.consume("events")
              if (r["body"] or {}).get("type") == "contact.ceased"]
    if ceased:
        C.fail("contact.ceased on events after a GET of /u/: %r" % ceased)
    st.alive()
    if pub.poll() not in (None, 0):
        C.fail("arrears-publish exited %d:\n%s" % (pub.returncode, st.log("publish")))
    print("ok: GET %s... showed main#unsubscribe and published nothing" % unsub[:40])


def main():
    B.require()
    C.require(["arrears-ingest", "arrears-scheduler", "arrears-notifier", "arrears-gateway",
               "arrears-publish", "arrears-admin"])
    st = C.Stack("gwbrowser")
    st.smtp = st.browser = None
    out = os.path.join(st.tmp, "screenshots")
    os.makedirs(out)
    print("output dir %s" % st.tmp)
    ok = False
    try:
        run(st, out)
        ok = True
    finally:
        if st.browser:
            st.browser.quit()
        if st.smtp:
            st.smtp.stop()
        B.keep_output(st, out, "t_gateway_browser", ok)
        st.cleanup()
    print("ok: pay link from a sent email opened in headless Chromium, amounts and the escaped number "
          "shown, promise submitted and confirmed, promise.made on inbound, ladder paused, "
          "/u/ GET published nothing")


if __name__ == "__main__":
    main()
