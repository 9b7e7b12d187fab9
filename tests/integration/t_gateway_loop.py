#!/usr/bin/env python3
"""t_gateway_loop.py -- issue 17's loop closed on the live stack: what the
notifier sends comes back through arrears-gateway (one-click unsubscribe,
SMS STOP / START / a reply, an SMS delivery callback, an email bounce) and
changes what the scheduler sends next and what the reporter counts.

Services (private topics and key prefixes, real Kafka + Redis of
tests/integration/run), all on one ARREARS_CLOCK (1 simulated day = 8 s
real, x10800; ARREARS_LOOP_FACTOR overrides): arrears-gateway, -ingest,
-scheduler, -notifier (SMTP sink for email, HTTP sink as its Twilio-shaped
SMS provider, ARREARS_GATEWAY_URL = the gateway, so its links and SMS
StatusCallback point there) and -reporter (answers report requests).
Billing's setup goes in through the gateway too (POST /v1/events, batch
mode, bearer token).

Policy (Europe/London; April 2026 is British Summer Time, UTC+1, the
clocks changed on 29 March and change next on 25 October): window
08:00-21:00 (no weekday rule), one ladder whose every step has
`channels: ["email","sms"]`:
  step 0 "+1d" 09:00 overdue_1, step 1 "+3d" 11:00 overdue_3_gentle,
  step 2 "+6d" 09:00 overdue_7.
Both invoices are due Monday 13 April 2026, so (checked against tzdata):
  step 0  Tue 14 April 09:00 BST = 2026-04-14T08:00:00.000Z
  step 1  Thu 16 April 11:00 BST = 2026-04-16T10:00:00.000Z
  step 2  Sun 19 April 09:00 BST = 2026-04-19T08:00:00.000Z
(all inside the window: nothing moves them).

C-ONE (email and phone +447700900201, no preference: email, then sms)
  step 0 goes by email, no rules. The test takes the one-click URL from
  the List-Unsubscribe header of that very email (SMTP sink) and POSTs
  List-Unsubscribe=One-Click to it: contact.ceased (email) for C-ONE on
  `events`; step 1 then goes by sms with rules ["channel:fallback:sms"].
  After step 1 the test POSTs a signed hard `bounced` email event for
  step 0's Message-ID: contact.bounced (email, overdue_1, hard) for C-ONE
  on `events`; step 2 goes by sms, ["channel:fallback:sms"] (email ceased
  and unusable).
C-TWO (phone +447700900202 only, preference ["sms"])
  step 0 goes by sms with ["channel:fallback:sms"] (sms is the step's
  second choice). A signed Twilio inbound "STOP" from its phone:
  contact.ceased (sms) on `events` with customer_id C-TWO (ingest resolved
  the phone; id sms/<MessageSid>/C-TWO); step 1 is held (no_channel: no
  command; the scheduler's skipped counter goes to 1). Then "START":
  contact.resumed (sms) for C-TWO; step 2 goes by sms again,
  ["channel:fallback:sms"]. After step 2 was sent, the reply "I will pay on
  Friday": contact.replied on `events`, a command of kind review (channel
  call_task, template review, id
  acme/cust/C-TWO/reply/<first 16 hex of sha256("sms/<Sid>/C-TWO")>,
  scheduled_at and reply.at = the reply's time, reply.text the text) on
  `commands`, and the same as a task on `tasks`.
  The StatusCallback the notifier sent with step 0's SMS (HTTP sink) gets a
  signed `delivered`: contact.delivered (sms, overdue_1, step 0's command)
  for C-TWO on `events`.

Reports (on-demand requests, answered with everything on events/contacts):
  after both step-0 sends, before any receipt: email/overdue_1 and
  sms/overdue_1 each sent 1, delivered 0, bounced 0.
  at the end, every row (cumulative, sorted by channel then template):
    email overdue_1        sent 1 delivered 0 bounced 1 (hard 1) replied 0
                           rates 0.0 / 100.0 / 0.0 / 0.0
    sms   overdue_1        sent 1 delivered 1 bounced 0 replied 0  100.0 / 0.0
    sms   overdue_3_gentle sent 1 (C-ONE step 1), nothing back
    sms   overdue_7        sent 2 (both step 2s), replied 1 (the reply
                           follows C-TWO's step-2 SMS): reply rate
                           (2*10000*1 + 2) / (2*2) = 5000 hundredths = 50.0
  replies_unattributed 0.

Asserted besides: per debtor the exact set of (command_id, scheduled_at,
kind, channel, rules, template) on `commands`, no command id twice; the
email and SMS reached the sinks. Two guards name a machine too slow for
the clock (the unsubscribe/STOP must be applied before step 1, START
before step 2): that is a failure with the advice to lower the factor,
not a timing assertion on the product.

Known to fail on main at 78870e2: the canonical decoder (contract/event.c
d_delivery) requires data.command_id, which an email event does not carry
(contract/rules.c makes it optional for email, and the gateway sends none),
so the scheduler and the reporter reject the email contact.bounced.
"""
import base64
import email
import email.policy
import glob
import hashlib
import hmac
import http.client
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import t_contract_lib as C  # noqa: E402
import t_scheduler_lib as L  # noqa: E402

T = "acme"
LON = "Europe/London"
FACTOR = int(os.environ.get("ARREARS_LOOP_FACTOR", "10800"))  # 1 day = 8 s
SIM0 = "2026-04-12T12:00:00.000Z"
LEAD_S = 8
LINK_KEY = "it-loop-link-key-0123456789abcdef"
TWILIO_TOKEN = "itloop0123456789abcdef0123456789"
WHSEC_KEY = b"it-loop-email-webhook-key-0123456789"
BEARER = "it-loop-billing-bearer-token"
PHONE1, PHONE2 = "+447700900201", "+447700900202"
REPLY = "I will pay on Friday"
WAIT = 60  # real seconds any one expected record may take

STEP0 = C.at_local("2026-04-14T08:00:00.000Z", "2026-04-14 09:00", LON)
STEP1 = C.at_local("2026-04-16T10:00:00.000Z", "2026-04-16 11:00", LON)
STEP2 = C.at_local("2026-04-19T08:00:00.000Z", "2026-04-19 09:00", LON)
TPL = ["overdue_1", "overdue_3_gentle", "overdue_7"]

POLICY = {
    "version": 1,
    "comment": "t_gateway_loop.py: every step email, else sms",
    "defaults": {"timezone": LON, "locale": "en-GB", "send_at": "09:00"},
    "payment_thanks": {"enabled": False},
    "ladders": {"short": [
        {"name": "+1d", "offset": "+1d", "channels": ["email", "sms"], "template": TPL[0]},
        {"name": "+3d", "offset": "+3d", "channels": ["email", "sms"], "template": TPL[1],
         "send_at": "11:00"},
        {"name": "+6d", "offset": "+6d", "channels": ["email", "sms"], "template": TPL[2]},
    ]},
    "strategies": [{"name": "default", "ladder": "short"}],
    "contact_rules": {"window": {"start": "08:00", "end": "21:00"}},
}


def setup_events():
    def ev(eid, etype, data):
        return {"specversion": "1.0", "id": eid, "source": "billing", "type": etype,
                "time": "2026-04-12T12:00:00Z", "data": data}
    base = {"timezone": LON, "locale": "en-GB", "country": "GB"}
    return [
        ev("cu-C-ONE", "customer.upserted", dict(base, customer_id="C-ONE", name="One Ltd",
                                                 email="ap@one.test", phone=PHONE1)),
        ev("cu-C-TWO", "customer.upserted", dict(base, customer_id="C-TWO", name="Two Ltd",
                                                 phone=PHONE2, channels=["sms"])),
        ev("inv-I-ONE", "invoice.issued", {"invoice_id": "I-ONE", "customer_id": "C-ONE",
                                           "number": "N-ONE", "currency": "GBP",
                                           "amount": "120.00", "issued_on": "2026-04-01",
                                           "due_on": "2026-04-13"}),
        ev("inv-I-TWO", "invoice.issued", {"invoice_id": "I-TWO", "customer_id": "C-TWO",
                                           "number": "N-TWO", "currency": "GBP",
                                           "amount": "80.00", "issued_on": "2026-04-01",
                                           "due_on": "2026-04-13"}),
    ]


def cid(inv, n):
    return "%s/inv/%s/step/%d/attempt/1" % (T, inv, n)


FB = ("channel:fallback:sms",)


def expected_commands(review_id, reply_at):
    return {
        "C-ONE": {(cid("I-ONE", 0), STEP0, "reminder", "email", (), TPL[0]),
                  (cid("I-ONE", 1), STEP1, "reminder", "sms", FB, TPL[1]),
                  (cid("I-ONE", 2), STEP2, "reminder", "sms", FB, TPL[2])},
        "C-TWO": {(cid("I-TWO", 0), STEP0, "reminder", "sms", FB, TPL[0]),
                  (cid("I-TWO", 2), STEP2, "reminder", "sms", FB, TPL[2]),
                  (review_id, reply_at, "review", "call_task", (), "review")},
    }


def row(channel, template, sent, delivered=0, bounced=0, hard=0, complained=0, replied=0):
    def rate(n):  # (2 * 10000 * n + sent) / (2 * sent) hundredths, docs/reports.md
        return None if sent == 0 else ((2 * 10000 * n + sent) // (2 * sent)) / 100.0
    return {"channel": channel, "template": template, "sent": sent, "delivered": delivered,
            "bounced": bounced, "hard_bounced": hard, "complained": complained,
            "replied": replied, "delivery_rate_percent": rate(delivered),
            "bounce_rate_percent": rate(bounced), "complaint_rate_percent": rate(complained),
            "reply_rate_percent": rate(replied)}


# ------------------------------------------------------------ plumbing

class Loop:
    def __init__(self, st):
        self.st = st
        self.clock = None
        self.gw = None
        self.mail = os.path.join(st.tmp, "mail")
        self.http = os.path.join(st.tmp, "http")

    # -- waiting -----------------------------------------------------------
    def until(self, what, probe, timeout=WAIT, info=None):
        """Polls probe() until it returns something true (returned); else
        fails naming what was awaited, with the services' log tails."""
        deadline = time.time() + timeout
        while True:
            self.st.alive()
            got = probe()
            if got:
                return got
            if time.time() > deadline:
                tails = "\n".join("--- %s\n%s" % (s, self.st.log(s, 15))
                                  for s in ("gateway", "ingest", "scheduler", "notifier",
                                            "reporter"))
                C.fail("%s: not within %d s (simulated now %s)\n%s%s"
                       % (what, timeout, L.iso(self.clock.now()), info() if info else "",
                          tails))
            time.sleep(0.3)

    def records(self, topic):
        return [r for r in self.st.consume(topic) if isinstance(r.get("body"), dict)]

    def event(self, pred):
        return [r["body"] for r in self.records("events") if pred(r["body"])]

    def caught_up(self):
        """The scheduler has applied every record now on `events`, but those
        it skips uncounted: its own, and contact.delivered, on which it does
        not act (docs/events.md)."""
        n = len(self.event(lambda b: b.get("source") != "arrears-scheduler" and
                           b.get("type") != "contact.delivered"))

        def probe():
            m = self.st.metrics("scheduler")
            if C.metric(m, 'arrears_scheduler_events_total{result="rejected"}'):
                C.fail("the scheduler rejected an event on events:\n%s"
                       % self.rejections("scheduler"))
            return (C.metric(m, 'arrears_scheduler_events_total{result="applied"}') >= n and
                    C.metric(m, "arrears_scheduler_lag_messages") == 0)
        self.until("the scheduler applying the %d records on events" % n, probe,
                   info=lambda: "".join(l + "\n" for l in self.st.metrics("scheduler").splitlines()
                                        if l.startswith(("arrears_scheduler_events_total",
                                                         "arrears_scheduler_lag"))))

    def rejections(self, svc):
        return "".join(l for l in self.st.log(svc, 400).splitlines(True) if "reject" in l)

    def guard(self, before_ms, what):
        now, before_ms = self.clock.now(), L.parse_iso(before_ms)
        if now >= before_ms:
            C.fail("machine too slow for x%d: %s only at simulated %s, after %s (set "
                   "ARREARS_LOOP_FACTOR lower)" % (FACTOR, what, L.iso(now), L.iso(before_ms)))

    # -- the sinks ---------------------------------------------------------
    def mails(self):
        out = []
        for path in sorted(glob.glob(os.path.join(self.mail, "*.eml"))):
            with open(path, "rb") as f:
                out.append(email.message_from_binary_file(f, policy=email.policy.default))
        return out

    def mail_of(self, command_id):
        got = [m for m in self.mails()
               if str(m.get("X-Arrears-Command-Id", "")).strip() == command_id]
        return got[0] if got else None

    def sms_requests(self):
        out = []
        for path in sorted(glob.glob(os.path.join(self.http, "*.json"))):
            try:
                r = json.load(open(path))
            except ValueError:
                continue  # being written
            if "/Messages" in r.get("path", "") and not r.get("replay"):
                out.append(r)
        return out

    def sms_of(self, command_id):
        got = [r for r in self.sms_requests()
               if r.get("headers", {}).get("idempotency-key") == command_id]
        return got[0] if got else None

    def outcome(self, command_id):
        got = [r["body"] for r in self.records("contacts")
               if r["body"].get("command_id") == command_id]
        return got[0] if got else None

    # -- the gateway -------------------------------------------------------
    def post(self, target, body, headers):
        conn = http.client.HTTPConnection("127.0.0.1", self.gw, timeout=30)
        conn.request("POST", target, body=body.encode() if isinstance(body, str) else body,
                     headers=headers)
        r = conn.getresponse()
        text = r.read().decode(errors="replace")
        conn.close()
        return r.status, text

    def twilio(self, target, params):
        """POST a form to target (path?query) signed as Twilio signs:
        base64(HMAC-SHA1(token, URL + sorted name+value)), URL as public."""
        url = "http://127.0.0.1:%d%s" % (self.gw, target)
        s = url + "".join(k + v for k, v in sorted(params))
        sig = base64.b64encode(hmac.new(TWILIO_TOKEN.encode(), s.encode(),
                                        hashlib.sha1).digest()).decode()
        status, text = self.post(target, urllib.parse.urlencode(params),
                                 {"Content-Type": "application/x-www-form-urlencoded",
                                  "X-Twilio-Signature": sig})
        if status != 200 or "<Response/>" not in text:
            C.fail("POST %s %r: %d %s" % (target.split("?")[0], params, status, text))

    def sms_in(self, sid, phone, text):
        self.twilio("/v1/sms/inbound?tenant=" + T,
                    [("MessageSid", sid), ("AccountSid", "ACloop"), ("From", phone),
                     ("To", "+447700900000"), ("Body", text)])

    def email_event(self, item):
        body = json.dumps(item, separators=(",", ":"))
        wid, ts = "msg_" + hashlib.sha256(body.encode()).hexdigest()[:24], str(int(time.time()))
        mac = hmac.new(WHSEC_KEY, ("%s.%s.%s" % (wid, ts, body)).encode(), hashlib.sha256)
        status, text = self.post("/v1/email/events", body, {
            "Content-Type": "application/json", "webhook-id": wid, "webhook-timestamp": ts,
            "webhook-signature": "v1," + base64.b64encode(mac.digest()).decode()})
        if status != 202:
            C.fail("POST /v1/email/events %s: %d %s" % (body, status, text))

    # -- the reporter --------------------------------------------------------
    def report(self, rid):
        """The effectiveness report answering request rid (as_of: today)."""
        if C.metric(self.st.metrics("reporter"), "arrears_reporter_rejected_total"):
            C.fail("the reporter rejected a record:\n%s" % self.rejections("reporter"))
        req = {"v": 1, "id": rid, "tenant": T, "types": ["effectiveness"]}
        self.st.produce("reports.requests", [(T + "/" + rid, json.dumps(req))])

        def probe():
            got = [r["body"] for r in self.records("reports")
                   if r["body"].get("request_id") == rid]
            return got[-1] if got else None
        rep = self.until("the answer to report request " + rid, probe)
        if rep.get("type") != "effectiveness" or "deliverability" not in rep:
            C.fail("report %s: %s" % (rid, json.dumps(rep)[:2000]))
        return rep


def sha256_hex(s):
    return hashlib.sha256(s.encode()).hexdigest()


# ------------------------------------------------------------ the run

def start(lp, py):
    st = lp.st
    os.makedirs(lp.mail)
    os.makedirs(lp.http)
    smtp_port, http_port = C.free_port(), C.free_port()
    st.start_raw("smtp-sink", [py, "tests/sinks/smtp_sink.py", "--dir", lp.mail, "--port",
                               str(smtp_port)])
    st.start_raw("http-sink", [py, "tests/sinks/http_sink.py", "--dir", lp.http, "--port",
                               str(http_port)])

    def write(name, text):
        path = os.path.join(st.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path
    tokens = write("tokens", "%s %s\n" % (T, sha256_hex(BEARER)))
    tenants = write("tenants.json", json.dumps(
        {T: {"link_keys": [{"kid": "k1", "secret": LINK_KEY}], "locale": "en-GB"}}))
    twilio = write("twilio", "%s %s\n" % (T, TWILIO_TOKEN))
    whsec = write("whsec", "%s whsec_%s\n" % (T, base64.b64encode(WHSEC_KEY).decode()))
    policy = write("policy.json", json.dumps(POLICY, indent=1))

    lp.clock = L.Clock(SIM0, FACTOR, delay_s=LEAD_S)
    spec = lp.clock.spec
    lp.gw = C.free_port()
    gw_url = "http://127.0.0.1:%d" % lp.gw
    st.start("gateway", spec, {"ARREARS_GATEWAY_ADDR": "127.0.0.1:%d" % lp.gw,
                               "ARREARS_GATEWAY_TOKENS_FILE": tokens,
                               "ARREARS_GATEWAY_TENANTS_FILE": tenants,
                               "ARREARS_GATEWAY_TWILIO_FILE": twilio,
                               "ARREARS_GATEWAY_WEBHOOK_SECRETS_FILE": whsec,
                               "ARREARS_GATEWAY_PUBLIC_URL": gw_url})
    st.start("ingest", spec, {"ARREARS_INGEST_BATCH_FILL": "2ms"})
    st.start("scheduler", spec, {"ARREARS_SCHEDULER_TICK": "5ms", "ARREARS_POLICY": policy})
    st.start("notifier", spec, {
        "ARREARS_SMTP_URL": "smtp://127.0.0.1:%d" % smtp_port,
        "ARREARS_SMTP_TLS": "none",
        "ARREARS_SMTP_FROM": "ar@loop.example.test",
        "ARREARS_SMS_URL": "http://127.0.0.1:%d/sms" % http_port,
        "ARREARS_SMS_ACCOUNT": "ACloop",
        "ARREARS_SMS_TOKEN": "loop-token",
        "ARREARS_SMS_FROM": "+447700900000",
        "ARREARS_PAYLINK_SECRET": LINK_KEY,
        "ARREARS_GATEWAY_URL": gw_url,
        "ARREARS_RETRY_BASE": "100ms",
        "ARREARS_RETRY_MAX": "2s",
    })
    st.start("reporter", spec, {"ARREARS_REPORT_INTERVAL": "1d",
                                "ARREARS_REPORTER_SNAPSHOT_INTERVAL": "500ms"})
    st.wait_ready(["gateway", "ingest", "scheduler", "notifier", "reporter"], timeout=90)
    return gw_url


def scenario(lp, py):
    st = lp.st
    gw_url = start(lp, py)
    print("live: x%d from %s; gateway %s" % (FACTOR, SIM0, gw_url))
    while time.time() < lp.clock.real0:
        time.sleep(0.1)

    # billing's setup over HTTP (batch mode, bearer token)
    status, text = lp.post("/v1/events", json.dumps(setup_events()),
                           {"Content-Type": "application/cloudevents-batch+json",
                            "Authorization": "Bearer " + BEARER})
    if status != 202 or json.loads(text).get("accepted") != 4:
        C.fail("setup batch: %d %s" % (status, text))
    lp.until("the 4 setup events on events", lambda: len(lp.event(
        lambda b: b.get("id") in {"cu-C-ONE", "cu-C-TWO", "inv-I-ONE", "inv-I-TWO"})) == 4)
    lp.caught_up()
    lp.guard(STEP0, "the setup applied")

    # ---- step 0: C-ONE by email, C-TWO by sms
    mail1 = lp.until("C-ONE's step-0 email at the SMTP sink",
                     lambda: lp.mail_of(cid("I-ONE", 0)))
    sms2 = lp.until("C-TWO's step-0 SMS at the HTTP sink", lambda: lp.sms_of(cid("I-TWO", 0)))
    if PHONE2 not in urllib.parse.unquote_plus(sms2["body"]):
        C.fail("step-0 SMS not to %s: %s" % (PHONE2, sms2["body"]))
    for c in (cid("I-ONE", 0), cid("I-TWO", 0)):
        o = lp.until("the outcome of %s on contacts" % c, lambda c=c: lp.outcome(c))
        if o["type"] != "contact.sent":
            C.fail("%s: %s" % (c, json.dumps(o)))
    before = lp.report("loop-before")
    rows = {(r["channel"], r["template"]): r for r in before["deliverability"]}
    for key in (("email", TPL[0]), ("sms", TPL[0])):
        want = row(key[0], key[1], 1)
        if rows.get(key) != want:
            C.fail("report before the receipts, %s/%s: %s, want %s"
                   % (key[0], key[1], rows.get(key), want))
    print("ok: step 0 sent (email C-ONE, sms C-TWO); report before receipts: sent 1, "
          "delivered 0, bounced 0 for each")

    # ---- C-ONE: one-click unsubscribe from the email's own header
    lu = str(mail1.get("List-Unsubscribe", ""))
    if str(mail1.get("List-Unsubscribe-Post", "")).strip() != "List-Unsubscribe=One-Click":
        C.fail("step-0 email: List-Unsubscribe-Post %r" % mail1.get("List-Unsubscribe-Post"))
    m = re.search(r"<(https?://[^>]+)>", lu)
    if not m or not m.group(1).startswith(gw_url + "/u/"):
        C.fail("step-0 email: List-Unsubscribe %r does not point at %s/u/" % (lu, gw_url))
    utok = m.group(1)[len(gw_url) + 3:]
    status, text = lp.post("/u/" + utok, "List-Unsubscribe=One-Click",
                           {"Content-Type": "application/x-www-form-urlencoded"})
    if status != 200:
        C.fail("one-click POST: %d\n%s" % (status, text))
    ceased1_id = "page/%s/unsubscribe" % sha256_hex(utok)[:32]

    # ---- C-TWO: STOP from its phone
    tag = "%d%d" % (os.getpid(), int(time.time()) % 100000)
    sid_stop, sid_start, sid_reply = ("SMloop%s%s" % (tag, x) for x in ("a1", "a2", "a3"))
    lp.sms_in(sid_stop, PHONE2, "STOP")
    ev1 = lp.until("contact.ceased %s (C-ONE, email) on events" % ceased1_id,
                   lambda: lp.event(lambda b: b.get("id") == ceased1_id))[0]
    ev2 = lp.until("contact.ceased sms/%s/C-TWO on events" % sid_stop,
                   lambda: lp.event(lambda b: b.get("id") == "sms/%s/C-TWO" % sid_stop))[0]
    for ev, cust, ch in ((ev1, "C-ONE", "email"), (ev2, "C-TWO", "sms")):
        if ev["type"] != "contact.ceased" or ev.get("customer_id") != cust or \
                ev["data"].get("customer_id") != cust or ev["data"].get("channel") != ch:
            C.fail("want contact.ceased for %s on %s: %s" % (cust, ch, json.dumps(ev)))
    if ev2["data"].get("phone") != PHONE2:
        C.fail("the STOP's phone is not kept: %s" % json.dumps(ev2))
    stray = lp.event(lambda b: b.get("id", "").startswith("sms/%s/" % sid_stop) and
                     b["customer_id"] != "C-TWO")
    if stray:
        C.fail("the STOP reached another customer: %s" % json.dumps(stray))
    lp.caught_up()
    lp.guard(STEP1, "the unsubscribe and the STOP applied")
    print("ok: one-click -> contact.ceased email C-ONE; STOP -> contact.ceased sms C-TWO "
          "(phone resolved)")

    # ---- step 1: C-ONE falls back to sms, C-TWO is held
    lp.until("C-ONE's step-1 command on commands", lambda: [
        r for r in lp.records("commands") if r["body"].get("command_id") == cid("I-ONE", 1)])
    lp.until("the scheduler holding C-TWO's step 1 (arrears_scheduler_skipped_total 1)",
             lambda: C.metric(st.metrics("scheduler"), "arrears_scheduler_skipped_total") >= 1)
    lp.until("C-ONE's step-1 SMS at the HTTP sink", lambda: lp.sms_of(cid("I-ONE", 1)))
    ex = subprocess.run([os.path.join(C.BIN, "arrears-admin"), "explain", T, "I-TWO"],
                        env=dict(st.env, ARREARS_SCHEDULER_KEY_PREFIX=st.kprefix + "sch:",
                                 ARREARS_POLICY=os.path.join(st.tmp, "policy.json")),
                        capture_output=True, text=True, timeout=60)
    if ex.returncode or not re.search(r"step 1 \+3d \(attempt 1; [^)]*\): held \(", ex.stdout):
        C.fail("arrears-admin explain %s I-TWO (exit %d) does not show step 1 held:\n%s%s"
               % (T, ex.returncode, ex.stdout, ex.stderr))
    print("ok: C-ONE's step 1 by sms; C-TWO's step 1 held (explain):\n" +
          "".join("    " + l + "\n" for l in ex.stdout.splitlines() if "step" in l))

    # ---- receipts: the SMS callback the notifier asked for, the email bounce
    form = urllib.parse.parse_qs(sms2["body"])
    cb = form.get("StatusCallback", [""])[0]
    if not cb.startswith(gw_url + "/v1/sms/status?"):
        C.fail("step-0 SMS: StatusCallback %r does not point at %s" % (cb, gw_url))
    q = urllib.parse.parse_qs(cb.split("?", 1)[1])
    if {k: v[0] for k, v in q.items()} != {"tenant": T, "customer_id": "C-TWO",
                                           "command_id": cid("I-TWO", 0), "template": TPL[0]}:
        C.fail("StatusCallback query %r" % q)
    sid_sms0 = "SMloop%sd0" % tag
    lp.twilio(cb[len(gw_url):], [("MessageSid", sid_sms0), ("MessageStatus", "delivered"),
                                 ("To", PHONE2), ("From", "+447700900000"),
                                 ("AccountSid", "ACloop")])
    msgid = str(mail1.get("Message-ID", "")).strip()
    o1 = lp.outcome(cid("I-ONE", 0))
    if o1.get("message_id") != msgid:
        C.fail("outcome message_id %r, the email's Message-ID %r" % (o1.get("message_id"), msgid))
    h = sha256_hex(cid("I-ONE", 0))[:32]
    want_mid = "<ntf.%s.%s.%s@loop.example.test>" % (
        h, base64.urlsafe_b64encode(b"C-ONE").rstrip(b"=").decode(),
        base64.urlsafe_b64encode(TPL[0].encode()).rstrip(b"=").decode())
    if msgid != want_mid:
        C.fail("step-0 Message-ID %r, want %r" % (msgid, want_mid))
    bounce_at = L.iso(lp.clock.now() // 1000 * 1000)
    lp.email_event({"message_id": msgid, "event": "bounced", "kind": "hard",
                    "at": bounce_at.replace(".000Z", "Z")})
    dv = lp.until("contact.delivered sms/%s/status/delivered on events" % sid_sms0,
                  lambda: lp.event(lambda b: b.get("id") == "sms/%s/status/delivered"
                                   % sid_sms0))[0]
    want = {"customer_id": "C-TWO", "channel": "sms", "command_id": cid("I-TWO", 0),
            "template": TPL[0], "provider_id": sid_sms0}
    if dv["type"] != "contact.delivered" or dv["customer_id"] != "C-TWO" or \
            {k: dv["data"].get(k) for k in want} != want:
        C.fail("contact.delivered: %s, want data %s" % (json.dumps(dv), want))
    bid = "email/%s/bounced" % h
    bo = lp.until("contact.bounced %s on events" % bid,
                  lambda: lp.event(lambda b: b.get("id") == bid))[0]
    want = {"customer_id": "C-ONE", "channel": "email", "template": TPL[0], "kind": "hard"}
    if bo["type"] != "contact.bounced" or bo["customer_id"] != "C-ONE" or \
            {k: bo["data"].get(k) for k in want} != want or bo["time"] != bounce_at:
        C.fail("contact.bounced: %s, want data %s at %s" % (json.dumps(bo), want, bounce_at))
    print("ok: delivered callback -> contact.delivered C-TWO; hard bounce -> contact.bounced "
          "C-ONE")

    # ---- C-TWO: START
    lp.sms_in(sid_start, PHONE2, "START")
    rs = lp.until("contact.resumed sms/%s/C-TWO on events" % sid_start,
                  lambda: lp.event(lambda b: b.get("id") == "sms/%s/C-TWO" % sid_start))[0]
    if rs["type"] != "contact.resumed" or rs["customer_id"] != "C-TWO" or \
            rs["data"].get("channel") != "sms":
        C.fail("START: %s" % json.dumps(rs))
    lp.caught_up()
    lp.guard(STEP2, "the START applied")
    print("ok: START -> contact.resumed sms C-TWO")

    # ---- step 2 for both, then C-TWO's reply
    for c in (cid("I-ONE", 2), cid("I-TWO", 2)):
        lp.until("the SMS of %s at the HTTP sink" % c, lambda c=c: lp.sms_of(c))
        o = lp.until("the outcome of %s on contacts" % c, lambda c=c: lp.outcome(c))
        if o["type"] != "contact.sent":
            C.fail("%s: %s" % (c, json.dumps(o)))
    lp.sms_in(sid_reply, PHONE2, REPLY)
    reply_eid = "sms/%s/C-TWO" % sid_reply
    rp = lp.until("contact.replied %s on events" % reply_eid,
                  lambda: lp.event(lambda b: b.get("id") == reply_eid))[0]
    if rp["type"] != "contact.replied" or rp["customer_id"] != "C-TWO" or \
            rp["data"].get("text") != REPLY or rp["data"].get("channel") != "sms":
        C.fail("reply: %s" % json.dumps(rp))
    review_id = "%s/cust/C-TWO/reply/%s" % (T, sha256_hex(reply_eid)[:16])
    rv = lp.until("the review command %s on commands" % review_id, lambda: [
        r["body"] for r in lp.records("commands")
        if r["body"].get("command_id") == review_id])[0]
    want_reply = {"channel": "sms", "text": REPLY, "event_id": reply_eid, "at": rp["time"]}
    if rv.get("kind") != "review" or rv.get("channel") != "call_task" or \
            rv.get("reply") != want_reply:
        C.fail("review command: %s, want reply %s" % (json.dumps(rv), want_reply))
    task = lp.until("the review task %s on tasks" % review_id, lambda: [
        r["body"] for r in lp.records("tasks") if r["body"].get("task_id") == review_id])[0]
    if task.get("kind") != "review" or task.get("reply") != want_reply or \
            task["customer"]["customer_id"] != "C-TWO":
        C.fail("review task: %s" % json.dumps(task))
    print("ok: reply -> contact.replied -> review command and task with the text")

    # ---- the reports after the receipts
    lp.caught_up()
    after = lp.report("loop-after")
    want_rows = [row("email", TPL[0], 1, bounced=1, hard=1),
                 row("sms", TPL[0], 1, delivered=1),
                 row("sms", TPL[1], 1),
                 row("sms", TPL[2], 2, replied=1)]
    if after["deliverability"] != want_rows or after.get("replies_unattributed") != 0:
        C.fail("deliverability after the receipts:\n  got  %s (unattributed %s)\n  want %s"
               % (json.dumps(after["deliverability"]), after.get("replies_unattributed"),
                  json.dumps(want_rows)))
    print("ok: deliverability rows: email/overdue_1 bounced 1 (hard), sms/overdue_1 "
          "delivered 1, sms/overdue_7 replied 1")

    # ---- every command, exactly
    exp = expected_commands(review_id, rp["time"])
    got, ids = {}, {}
    for r in lp.records("commands"):
        b = r["body"]
        ids[b["command_id"]] = ids.get(b["command_id"], 0) + 1
        got.setdefault(b["customer"]["customer_id"], set()).add(
            (b["command_id"], b["scheduled_at"], b["kind"], b["channel"],
             tuple(b.get("rules", [])), b.get("template")))
    problems = ["%s published %d times" % (i, n) for i, n in sorted(ids.items()) if n > 1]
    for cust in sorted(set(exp) | set(got)):
        w, g = exp.get(cust, set()), got.get(cust, set())
        lines = ["  missing  %s" % (x,) for x in sorted(w - g)]
        lines += ["  extra    %s" % (x,) for x in sorted(g - w)]
        if lines:
            problems.append("%s: commands differ:\n%s" % (cust, "\n".join(lines)))
    if problems:
        C.fail("\n".join(problems))
    print("ok: commands as worked out by hand (C-ONE 3, C-TWO 2 + review; C-TWO step 1 held)")


def main():
    C.require(["arrears-gateway", "arrears-ingest", "arrears-scheduler", "arrears-notifier",
               "arrears-reporter", "arrears-admin"])
    py = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
    if subprocess.run([py, "-c", "import aiosmtpd"], capture_output=True).returncode != 0:
        C.skip("python3-aiosmtpd is not installed for " + py)
    st = C.Stack("gwloop")
    lp = Loop(st)
    try:
        scenario(lp, py)
    finally:
        try:
            r = C.Resp()
            for k in r.scan(st.prefix + "reporter:*"):
                r.cmd("DEL", k)
        except OSError:
            pass
        st.cleanup()


if __name__ == "__main__":
    main()
