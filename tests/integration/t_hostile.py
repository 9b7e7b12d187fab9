#!/usr/bin/env python3
"""t_hostile.py -- hostile values end to end (issue 18, "Hostile values end
to end"), on the live stack of tests/integration/run:

  inbound (kcat) and the gateway's POST /v1/events -> arrears-ingest ->
  arrears-scheduler (a policy of one step a channel, picked by the
  invoice's tag) -> arrears-notifier -> the SMTP sink (email) and the HTTP
  sink (SMS form, webhook JSON); the pay link of each email is then opened
  on arrears-gateway's /p page, and a token signed here (Python hmac, the
  format of docs/gateway.md) carries hostile claims to the page directly.

The values: HTML in names and invoice numbers (`<script>`, `"><img
onerror>`), a header injection in a name (CR LF `Bcc:`), CR LF in an
email address, 64 KiB strings, invalid UTF-8, JSON nested 200 deep, `../`
in ids and in the tenant, and the RTL override U+202E.

Each value must end in one of two ways, checked here against the rules of
RFC 5322 / 2047, HTML and JSON, not against the services' own output:
  * rejected with a named reason: on <prefix>ingest.dlq with the field and
    the rule (docs/events.md), or a 400 from the gateway naming the field;
  * rendered inert: in the email the SMTP sink received no header that the
    value made (no Bcc, one To, the envelope's one recipient), the text
    part carries the value as it is and the HTML part only escaped (no raw
    `<` or `"` of the value); in the SMS form the Body decodes to the
    rendered text, one parameter; in the webhook the body is JSON whose
    parse gives the value back exactly; on the page only escaped; a bidi
    override is closed (isolated) before anything that follows it.
It prints a table of value -> outcome and fails on any value that got
through neither way.

Timing: a clock of x300 from 08:00Z on 2026-05-05 (Tuesday, UTC debtors):
the one step of each ladder (due date 2026-05-05, offset 0d, 09:00) fires
about 28 s after the services start. The run takes about 45 s.
"""
import base64
import datetime
import email
import hashlib
import http.client
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
from email import policy as email_policy

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import t_contract_lib as C  # noqa: E402
import harness as h  # noqa: E402 -- tests/sinks, on the path through t_contract_lib
import t_gateway_pages as P  # noqa: E402

TENANT = "hx"
KEY = "it-hostile-link-key-0123456789"  # the notifier's paylink secret = the gateway's k1
BEARER = "it-hostile-token-%d" % os.getpid()
WHSEC = "whsec_" + base64.b64encode(b"it-hostile-webhook-key-0123456").decode()
SIM0 = "2026-05-05T08:00:00Z"
FACTOR = 300
DUE = "2026-05-05"

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
BCC = "Eve\r\nBcc: x@evil.test"
RLO = "Mallory \u202egnp.exe"
DOTS = "../../etc/passwd"
BIG = "A" * 65536

# inert HTML: what an escaping renderer writes for the value (& < > " ')
def html_escaped(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


BIDI_OPEN = "\u202a\u202b\u202d\u202e"  # LRE RLE LRO RLO: closed by PDF or PDI
ISOLATES = "\u2066\u2067\u2068"          # LRI RLI FSI: closed by PDI


def bidi_closed(text):
    """1 when every embedding/override/isolate opened in text is closed on
    the same line (PDF U+202C, PDI U+2069, or a PDI closing everything an
    enclosing isolate opened, UBA X6a); a paragraph break closes all."""
    for line in text.replace("\r", "\n").split("\n"):
        stack = []
        for ch in line:
            if ch in BIDI_OPEN:
                stack.append("e")
            elif ch in ISOLATES:
                stack.append("i")
            elif ch == "\u202c":
                if stack and stack[-1] == "e":
                    stack.pop()
            elif ch == "\u2069":
                while stack and stack[-1] == "e":
                    stack.pop()
                if stack:
                    stack.pop()
        if stack:
            return 0
    return 1


def ce(eid, etype, data, tenant=TENANT, source="it-hostile"):
    return {"specversion": "1.0", "id": eid, "source": source, "type": etype,
            "time": "2026-05-04T10:00:00Z", "tenant": tenant, "data": data}


def customer(cid, name="Ada Ltd", mail=None, **extra):
    d = {"customer_id": cid, "name": name, "email": mail or "%s@hx.test" % cid.lower(),
         "phone": "+447700900123", "timezone": "UTC", "locale": "en-GB", "country": "gb"}
    d.update(extra)
    return d


def invoice(cid, iid, tag, number=None):
    return {"invoice_id": iid, "customer_id": cid, "number": number or "N-" + iid,
            "currency": "GBP", "amount": "120.50", "issued_on": "2026-04-05",
            "due_on": DUE, "tags": [tag]}


# The cases. kind "accept": the customer's three invoices (email, sms,
# webhook) must come out inert at every sink; kind "reject": the record
# must be on the DLQ (or answered 400 by the gateway) with field and rule.
# value: how the table names it.
ACCEPT = [
    # (label, customer id, name, invoice number, via)
    ("name <script>", "H-1", SCRIPT, "N-1", "kcat"),
    ('name+number "><img onerror>', "H-2", IMG, IMG, "gateway"),
    ("name CRLF Bcc:", "H-3", BCC, "N-3", "kcat"),
    ("RTL override U+202E", "H-4", RLO, "N-\u202e4-TAD", "kcat"),
    ("../ in customer_id", DOTS, "Dot Dot", "../N-5", "kcat"),
]


def nested(depth):
    v = {}
    for _ in range(depth):
        v = {"x": v}
    return v


def named(got, want):
    """1 when every (field, "rule rule...") of want is among the reasons
    got ([(field, rule)]): that field, one of those rules."""
    return all(any(f == wf and r in wr.split() for f, r in got) for wf, wr in want)


def reject_cases():
    """(label, raw bytes of one inbound message, [(field, "rules")]) -- the
    field and the rule(s) docs/events.md names for each."""
    big = ce("r-big", "customer.upserted", customer("R-1", name=BIG))
    bignum = ce("r-bignum", "invoice.issued", invoice("R-2", "I-R2", "ch-email", number="N" * 65536))
    crlf = ce("r-crlf", "customer.upserted", customer("R-3", mail="r3@hx.test\r\nBcc: x@evil.test"))
    utf8 = json.dumps(ce("r-utf8", "customer.upserted", customer("R-4", name="NAME"))).encode()
    utf8 = utf8.replace(b"NAME", b"Bad \xff\xfe name")
    deep = ce("r-deep", "customer.upserted", dict(customer("R-5"), extra=nested(200)))
    tenant = ce("r-tenant", "customer.upserted", customer("R-6"), tenant="../" + TENANT)
    dots_id = ce("r-dots-ctl", "customer.upserted", customer("../R-7\r\n"))
    out = [
        ("64 KiB name", big, [("data.name", "max_length")]),
        ("64 KiB invoice number", bignum, [("data.number", "max_length")]),
        ("CRLF Bcc: in email", crlf, [("data.email", "chars email")]),
        ("invalid UTF-8 in name", utf8, [("(payload)", "utf8")]),
        ("JSON nested 200 deep", deep, [("(payload)", "depth")]),
        ("../ in tenant", tenant, [("tenant", "tenant")]),
        ("../ + CRLF in customer_id", dots_id, [("data.customer_id", "chars")]),
    ]
    res = []
    for label, ev, want in out:
        raw = ev if isinstance(ev, bytes) else json.dumps(ev).encode()
        res.append((label, raw, want))
    return res


class Table:
    def __init__(self):
        self.rows, self.bad = [], []

    def add(self, value, where, outcome, ok):
        self.rows.append((value, where, outcome, "ok" if ok else "FAIL"))
        if not ok:
            self.bad.append("%s @ %s: %s" % (value, where, outcome))

    def show(self):
        w0 = max(len(r[0]) for r in self.rows)
        w1 = max(len(r[1]) for r in self.rows)
        print("%-*s  %-*s  %-4s  %s" % (w0, "value", w1, "where", "", "outcome"))
        for v, wh, o, ok in self.rows:
            print("%-*s  %-*s  %-4s  %s" % (w0, v, w1, wh, ok, o))


def sign(claims):
    """A page token for claims under the gateway's k1, as docs/gateway.md
    says (t_gateway_pages.sign: Python's hmac, not arrears' code)."""
    return P.sign(claims, kid="k1", key=KEY)


def http_req(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


def post_events(port, raw, batch=False):
    ctype = "application/cloudevents-batch+json" if batch else "application/cloudevents+json"
    st, data = http_req(port, "POST", "/v1/events", raw,
                        {"Content-Type": ctype, "Authorization": "Bearer " + BEARER})
    try:
        return st, json.loads(data)
    except ValueError:
        return st, data.decode(errors="replace")


def produce_raw(topic, records):
    """records: [(key, raw bytes)] on topic; the values may hold any byte
    but newline (kcat -D '\\n' splits on it: compact JSON has none)."""
    data = b"".join(k.encode() + b"\t" + v + b"\n" for k, v in records)
    for _, v in records:
        assert b"\n" not in v
    subprocess.run(h.KCAT_PRODUCE + ["-b", C.BROKERS, "-t", topic, "-K", "\t"], input=data,
                   check=True, timeout=60)


def page_checks(tab, label, port, url, values):
    """Opens the pay link url on the gateway: 200 and every value only
    escaped."""
    path = urllib.parse.urlsplit(url).path
    status, body = http_req(port, "GET", path)
    page = body.decode("utf-8", "replace")
    if status != 200:
        tab.add(label, "page", "GET %s... -> %d" % (path[:16], status), 0)
        return
    raw = [v for v in values if any(c in v for c in "<>\"'&") and v in page]
    esc = [v for v in values if html_escaped(v) in page or v in page]
    ok = not raw and len(esc) == len(values) and bidi_closed(page)
    closed = any("\u202e" in v for v in values) and ok
    tab.add(label, "page", "200, %s" % ("escaped" + (", U+202E closed" if closed else "")
                                        if ok else "RAW %r" % raw if raw else
                                        "value missing" if len(esc) != len(values)
                                        else "bidi override left open"), ok)


def main():
    C.require(["arrears-gateway", "arrears-ingest", "arrears-scheduler", "arrears-notifier",
               "arrears-admin"])
    py = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
    if subprocess.run([py, "-c", "import aiosmtpd"], capture_output=True).returncode:
        C.skip("python3-aiosmtpd is not installed")
    st = C.Stack("hostile")
    sinks = []
    try:
        run(st, sinks)
    finally:
        for s in sinks:
            s.stop()
        st.cleanup()


def run(st, sinks):
    tab = Table()
    smtp = h.Sink("smtp", st.tmp)
    sinks.append(smtp)
    web = h.Sink("http", st.tmp)
    sinks.append(web)

    policy = {"version": 1,
              "defaults": {"timezone": "UTC", "locale": "en-GB", "send_at": "09:00"},
              "ladders": {ch: [{"name": "0d", "offset": "0d", "channel": ch,
                                "template": "overdue_1"}] for ch in ("email", "sms", "webhook")},
              "strategies": [{"name": "s-sms", "segment": {"tags_any": ["ch-sms"]}, "ladder": "sms"},
                             {"name": "s-hook", "segment": {"tags_any": ["ch-webhook"]},
                              "ladder": "webhook"},
                             {"name": "default", "ladder": "email"}]}
    ppath = os.path.join(st.tmp, "policy.json")
    C.write(ppath, json.dumps(policy))
    tokens = os.path.join(st.tmp, "tokens")
    C.write(tokens, "%s %s\n" % (TENANT, hashlib.sha256(BEARER.encode()).hexdigest()))
    gtenants = os.path.join(st.tmp, "gw-tenants.json")
    C.write(gtenants, json.dumps({TENANT: {"link_keys": [{"kid": "k1", "secret": KEY}],
                                           "pay_url": "https://pay.hx.test/?ref={reference}",
                                           "promise_max_days": 30, "locale": "en-GB"}}))
    # one clock for every service: the pay links' tokens carry simulated
    # instants (iat = the command's created_at), which the gateway checks
    real0 = int(time.time()) + 16
    clock = "%s@%dx%d" % (SIM0, real0, FACTOR)
    fire_at = real0 + 3600 / FACTOR  # 09:00 simulated
    gw_port = C.free_port()
    st.start("gateway", clock, {"ARREARS_GATEWAY_ADDR": "127.0.0.1:%d" % gw_port,
                                "ARREARS_GATEWAY_TOKENS_FILE": tokens,
                                "ARREARS_GATEWAY_TENANTS_FILE": gtenants,
                                "ARREARS_GATEWAY_PAGE_RATE": "1000"})
    st.wait_ready(["gateway"])

    # --- the pipeline's inputs ---------------------------------------------
    inbound = []
    gw_events = []
    for label, cid, name, number, via in ACCEPT:
        evs = [ce("c-" + cid, "customer.upserted", customer(cid, name=name))]
        for ch in ("email", "sms", "webhook"):
            iid = "I-%s-%s" % (cid, ch)
            evs.append(ce("i-%s-%s" % (cid, ch), "invoice.issued",
                          invoice(cid, iid, "ch-" + ch, number=number)))
        if via == "gateway":
            gw_events += evs
        else:
            inbound += [("%s/%s" % (TENANT, cid), json.dumps(e).encode()) for e in evs]
    rejects = reject_cases()
    for label, raw, _ in rejects:
        inbound.append(("rej-" + label.replace(" ", "_"), raw))
    produce_raw(st.topic("inbound"), inbound)

    st.start("ingest", clock, {"ARREARS_INGEST_BATCH_FILL": "2ms"})
    st.start("scheduler", clock, {"ARREARS_SCHEDULER_TICK": "20ms", "ARREARS_POLICY": ppath})
    st.start("notifier", clock, {
        "ARREARS_SMTP_URL": "smtp://127.0.0.1:%d" % smtp.port, "ARREARS_SMTP_TLS": "none",
        "ARREARS_SMTP_FROM": "Hx Collections <ar@hx.test>",
        "ARREARS_SMS_URL": "%s/sms" % web.url, "ARREARS_SMS_ACCOUNT": "AChx",
        "ARREARS_SMS_TOKEN": "hx-sms-token", "ARREARS_SMS_FROM": "+447700900000",
        "ARREARS_WEBHOOK_URL": "%s/hook" % web.url, "ARREARS_WEBHOOK_SECRET": WHSEC,
        "ARREARS_PAYLINK_URL": "http://127.0.0.1:%d/p/{token}" % gw_port,
        "ARREARS_PAYLINK_SECRET": KEY,
        "ARREARS_UNSUBSCRIBE_URL": "https://hx.test/{tenant}/unsubscribe/{customer}",
        "ARREARS_RETRY_BASE": "100ms", "ARREARS_RETRY_MAX": "1s"})
    st.wait_ready(["ingest", "scheduler", "notifier"])
    status, ans = post_events(gw_port, json.dumps(gw_events), batch=True)
    if status != 202 or ans.get("accepted") != len(gw_events):
        C.fail("gateway batch of the accepted events: %d %r" % (status, ans))
    if time.time() > fire_at - 2:
        C.fail("the services took too long to start: the steps' 09:00 is near")

    # --- the gateway: rejections answered 400 naming the field -------------
    for label, raw, want in rejects:
        if label == "../ in tenant":
            continue  # the credential names the tenant: a body naming another is refused
        status, ans = post_events(gw_port, raw)
        errs = ans.get("errors", []) if isinstance(ans, dict) else []
        got = [(e.get("field"), e.get("rule")) for e in errs]
        ok = status == 400 and named(got, want)
        tab.add(label, "gateway", "%d %s" % (status, got[:3]), ok)
    status, ans = post_events(gw_port, json.dumps(ce("g-ten", "customer.upserted",
                                                     customer("R-6"), tenant="../" + TENANT)))
    got = [(e.get("field"), e.get("rule")) for e in ans.get("errors", [])] \
        if isinstance(ans, dict) else []
    tab.add("../ in tenant", "gateway", "%d %s" % (status, got[:3]),
            status == 400 and any(f == "tenant" for f, _ in got))


    n_msgs = 3 * len(ACCEPT)
    deadline = fire_at + 40
    while True:
        st.alive()
        outs = [r["body"] for r in st.consume("contacts") if r["body"]]
        if len(outs) >= n_msgs or time.time() > deadline:
            break
        time.sleep(1)
    time.sleep(1)
    outs = {}
    for r in st.consume("contacts"):
        b = r["body"] or {}
        outs.setdefault(b.get("customer_id"), []).append(b)

    # --- ingest's DLQ: every rejected record with its field and rule -------
    dlq = {}
    for r in st.consume("ingest.dlq"):
        dlq.setdefault(r["key"], []).append(r["body"] or {})
    for label, _, want in rejects:
        recs = dlq.get("rej-" + label.replace(" ", "_"), [])
        got = [(x.get("field"), x.get("rule")) for rec in recs for x in rec.get("reasons", [])]
        ok = len(recs) == 1 and named(got, want)
        tab.add(label, "ingest.dlq", "%d record(s) %s" % (len(recs), got[:3]), ok)

    # --- what the sinks received -------------------------------------------
    mails = {}
    for f in smtp.files(".eml"):
        with open(f, "rb") as fh:
            raw = fh.read()
        with open(f[:-4] + ".json") as fh:
            meta = json.load(fh)
        msg = email.message_from_bytes(raw, policy=email_policy.default)
        mails[(msg["X-Arrears-Command-Id"] or "").strip()] = (raw, msg, meta)
    reqs = {}
    for rec in web.records():
        if rec.get("replay"):
            continue
        reqs[rec["headers"].get("idempotency-key", "")] = rec

    for label, cid, name, number, via in ACCEPT:
        sent = {o.get("channel"): o for o in outs.get(cid, []) if o.get("type") == "contact.sent"}
        other = [(o.get("channel"), o.get("type"), o.get("reason")) for o in outs.get(cid, [])
                 if o.get("type") != "contact.sent"]
        # email
        o = sent.get("email")
        m = mails.get(o.get("command_id")) if o else None
        if not m:
            tab.add(label, "email", "not delivered (%s)" % (other or "no outcome"), 0)
        else:
            raw, msg, meta = m
            check_email(tab, label, cid, name, number, raw, msg, meta, gw_port)
        # sms
        o = sent.get("sms")
        rq = reqs.get(o.get("command_id")) if o else None
        if not rq:
            tab.add(label, "sms", "not delivered (%s)" % (other or "no outcome"), 0)
        else:
            form = urllib.parse.parse_qs(rq["body"], keep_blank_values=True, strict_parsing=True)
            keys = sorted(form)
            body = form.get("Body", [""])
            ok = keys == ["Body", "From", "To"] and len(body) == 1 and number in body[0] \
                and form["To"] == ["+447700900123"] and bidi_closed(body[0])
            tab.add(label, "sms", "form %s, number %s in Body%s" %
                    (keys, "verbatim" if number in body[0] else "MISSING",
                     ", bidi override left open" if not bidi_closed(body[0]) else
                     ", U+202E closed after it" if "\u202e" in number else ""), ok)
        # webhook
        o = sent.get("webhook")
        rq = reqs.get(o.get("command_id")) if o else None
        if not rq:
            tab.add(label, "webhook", "not delivered (%s)" % (other or "no outcome"), 0)
        else:
            try:
                doc = json.loads(rq["body"])
                cust = doc["data"]["customer"]
                inv = doc["data"]["invoices"][0]
                ok = cust["name"] == name and cust["customer_id"] == cid and \
                    inv["number"] == number and rq["headers"].get("content-type", "") \
                    .startswith("application/json")
                tab.add(label, "webhook", "JSON, parses back to the exact values" if ok else
                        "values differ: %r %r" % (cust.get("name"), inv.get("number")), ok)
            except (ValueError, KeyError, IndexError) as e:
                tab.add(label, "webhook", "body is not the JSON of the command: %s" % e, 0)

    # --- the page, from a token signed here with hostile claims -----------
    sim0 = int(datetime.datetime.fromisoformat(SIM0.replace("Z", "+00:00")).timestamp())
    now = sim0 + int((time.time() - real0) * FACTOR)  # the gateway's clock
    claims = {"use": "page", "tenant": TENANT, "customer_id": IMG,
              "invoice_ids": ["I-1"], "command_id": "hx/inv/I-1/step/0/attempt/0",
              "locale": "en-GB", "currency": "GBP", "as_of": "2026-05-05",
              "invoices": [{"invoice_id": SCRIPT, "number": "</td>" + SCRIPT + RLO,
                            "due_on": "2026-05-05", "outstanding_minor": 12050,
                            "total_minor": 12050}],
              "total_minor": 12050, "channels": ["email"], "iat": now - 60, "exp": now + 86400}
    page_checks(tab, "token claims <script>, onerror, U+202E", gw_port,
                "http://x/p/" + sign(claims), [IMG, "</td>" + SCRIPT + RLO])
    for loc in ("../../etc/passwd", '"><script>'):
        status, body = http_req(gw_port, "GET", "/p/" + sign(dict(claims, locale=loc)))
        text = body.decode("utf-8", "replace")
        ok = status in (200, 400) and '"><script>' not in text and "root:" not in text
        tab.add("token locale %s" % loc, "page", "%d, %s" % (
            status, "no raw value" if ok else "RAW value in the page"), ok)
    big = sign(dict(claims, customer_id=BIG))
    status, body = http_req(gw_port, "GET", "/p/" + big)
    tab.add("64 KiB token", "page", "%d" % status, status in (400, 403, 414, 431))

    tab.show()
    if tab.bad:
        print(st.log("notifier", 20))
        C.fail("%d hostile value(s) got through un-neutralised:\n  %s" %
               (len(tab.bad), "\n  ".join(tab.bad)))
    print("ok: %d rows, every value rejected with a named reason or rendered inert" %
          len(tab.rows))


def check_email(tab, label, cid, name, number, raw, msg, meta, gw_port):
    head = raw.split(b"\r\n\r\n", 1)[0]
    problems = []
    # header block: only printable ASCII (RFC 5322 2.2, non-ASCII as RFC 2047)
    # and every line either a field or a fold
    for line in head.split(b"\r\n"):
        if any(c < 0x20 and c != 0x09 or c > 0x7e for c in line):
            problems.append("raw byte in header %r" % line[:40])
        if line and line[:1] not in (b" ", b"\t") and b":" not in line:
            problems.append("broken header line %r" % line[:40])
    names = [k.lower() for k in msg.keys()]
    if "bcc" in names or "cc" in names or names.count("to") != 1:
        problems.append("injected header: %s" % names)
    if meta.get("rcpt_tos") != ["%s@hx.test" % cid.lower()]:
        problems.append("envelope %s" % meta.get("rcpt_tos"))
    try:
        to = msg["To"].addresses
    except ValueError as e:  # e.g. a decoded display name holding CR LF
        to = []
        problems.append("To does not parse (%s)" % e)
    if not to:
        pass
    elif len(to) != 1 or to[0].addr_spec != "%s@hx.test" % cid.lower():
        problems.append("To %r" % str(msg["To"]))
    elif " ".join(to[0].display_name.split()) != " ".join(name.split()):
        # the name, its control characters (CR LF) as spaces: compared with
        # runs of white space as one (RFC 5322 unfolding)
        problems.append("To name %r" % to[0].display_name)
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for v in (name, number):
        if v not in text:
            problems.append("text lacks %r" % v[:20])
        if html_escaped(v) not in html:
            problems.append("HTML lacks the escaped %r" % v[:20])
        if any(c in v for c in "<>\"'&") and v in html:
            problems.append("HTML has the raw %r" % v[:20])
    for part, t in (("text", text), ("HTML", html), ("subject", str(msg["Subject"]))):
        if not bidi_closed(t):
            problems.append("bidi override left open in the %s" % part)
    # ids in links and headers: percent-encoded (RFC 3986) and base64url
    lu = str(msg["List-Unsubscribe"])
    want_lu = "<https://hx.test/%s/unsubscribe/%s>" % (TENANT, urllib.parse.quote(cid, safe=""))
    if not lu.startswith(want_lu):
        problems.append("List-Unsubscribe %r, want %s" % (lu[:80], want_lu))
    mid = str(msg["Message-ID"])
    if mid.count("/") or mid.count("<") != 1 or not mid.endswith("@hx.test>"):
        problems.append("Message-ID %r" % mid)
    notes = ["headers clean (one To, no Bcc)", "text verbatim", "HTML escaped"]
    if "/" in cid:
        notes.append("id percent-encoded in List-Unsubscribe")
    if any(c in BIDI_OPEN for c in name + number):
        notes.append("U+202E closed after the value")
    tab.add(label, "email", "; ".join(problems) if problems else ", ".join(notes), not problems)
    m = re.search(r"http://127\.0\.0\.1:%d/p/[A-Za-z0-9_.\-]+" % gw_port, text)
    if not m:
        tab.add(label, "page", "no pay link in the email", 0)
    else:
        page_checks(tab, label, gw_port, m.group(0), [cid, number])


if __name__ == "__main__":
    main()
