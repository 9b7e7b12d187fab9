#!/usr/bin/env python3
"""t_gateway_browser_actions.py -- the self-service page's other four
actions in headless Chromium: pay, dispute, plan and stop (the promise and
the unsubscribe page are t_gateway_browser.py's, from a sent email).

Only the gateway runs, on the live Kafka of tests/integration/run; the
page token is signed here with Python's hmac (t_gateway_pages.sign, the
format of docs/gateway.md), and pay_url points at a plain HTTP server this
test runs on loopback, so that the browser follows the gateway's 303 to a
real page. Every choice is made with the page's own controls (select,
textarea, radio buttons, submit buttons), as a debtor would.

The token, worked by hand (en-GB, GBP; today = the gateway's UTC date T):

  I-1 "N-1" due 2 November 2026: outstanding 120.00, total 132.50
  I-2 "N-2" due 16 November 2026: outstanding 1,000.00, total 1,000.00
  total 132.50 + 1,000.00 = 1,132.50 (113250 minor units)
  offer: a plan, valid until T+30, two choices:
    1: 2 x 566.25 on T+10, T+40            (2 x 566.25 = 1,132.50)
    2: 3 x 377.50 on T+10, T+40, T+70      (3 x 377.50 = 1,132.50)
  channels: email, sms

Checked:
  * pay: the button's 303 takes the browser to pay_url with
    ref=N-1,N-2 (the numbers joined by ","), amount=113250 (no discount or
    settlement is open: the total), currency=GBP; the payment server's
    page is shown, and nothing is published;
  * dispute: N-2 chosen in the select, a reason with markup characters
    typed: main#confirmation; dispute.opened id
    page/<sha256(token)[:32]>/dispute/I-2, data {customer_id C-1,
    invoice_id I-2, reason as typed}; the confirmation names N-2;
  * plan: the second choice's label reads "377.50" three times with its
    dates; chosen: plan.agreed id page/<h>/plan, data {plan_id
    page-<h>, customer_id, invoice_ids [I-1, I-2], currency GBP,
    instalments 3 x {due_on, amount 377.50}, total 1132.50, source
    portal}; the confirmation lists the three instalments;
  * stop: "sms" chosen: contact.ceased id page/<h>/stop/sms, data
    {customer_id C-1, channel sms}; the confirmation names the channel as
    the page's label does;
  * on inbound, keyed acme/C-1, exactly these three events from the
    portal.

Screenshots (page.png, paid.png, dispute.png, plan.png, stop.png) go to
the test's temp dir, kept with ARREARS_IT_KEEP=1 or on failure, and copied
to $ARREARS_IT_OUT/t_gateway_browser_actions/ when that is set. Skips (77)
only when Chromium, chromedriver or selenium is missing.
"""
import datetime
import hashlib
import http.server
import os
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import t_browser_lib as B  # noqa: E402  (re-executes under Debian's python3 when needed)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

import t_contract_lib as C  # noqa: E402
from t_gateway_pages import on_inbound, sign, start_gateway  # noqa: E402

T = "acme"
KEY = "it-browser-actions-link-key-0123"
KID = "k7"
REASON = 'Goods returned on 3 Nov, RMA <77> & "box 2"'


class PayServer:
    """The payment provider's page: a plain HTTP server on loopback that
    keeps every path it was asked for."""

    def __init__(self):
        seen = self.seen = []

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 -- http.server's name
                seen.append(self.path)
                body = b"<!doctype html><title>pay</title><main id=\"paid\">paying</main>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        self.t = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.t.start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def portal(st):
    return [r for r in st.consume("inbound") if (r["body"] or {}).get("source") == "portal"]


def expect(rec, typ, data):
    b = rec["body"]
    if rec["key"] != T + "/C-1" or b["type"] != typ or b["tenant"] != T or b["data"] != data:
        C.fail("record key %r type %r tenant %r data %r;\nwant key %s/C-1, %s with %r"
               % (rec["key"], b["type"], b["tenant"], b["data"], T, typ, data))


def choose(br, url, action, fill):
    """Opens the page afresh, fills action's form (fill: what it returns
    must be in the confirmation), submits it with its button and waits for
    the confirmation; screenshot <action>.png."""
    br.d.get(url)
    br.wait("main#page")
    want = fill()
    br.one("button#%s-submit" % action).click()
    br.wait("main#confirmation")
    br.shot(action + ".png")
    msg = br.text("p#message")
    for w in want:
        if w not in msg:
            C.fail("%s: the confirmation %r lacks %r" % (action, msg, w))


def run(st, out, pay):
    port = start_gateway(st, {T: {
        "link_keys": [{"kid": KID, "secret": KEY}],
        "pay_url": "http://127.0.0.1:%d/pay?ref={reference}&amount={amount_minor}"
                   "&currency={currency}" % pay.port,
        "promise_max_days": 30, "locale": "en-GB"}})

    now = int(time.time())
    today = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).date()
    day = [today + datetime.timedelta(days=n) for n in (10, 40, 70)]
    plans = [{"instalments": [{"due_on": day[0].isoformat(), "amount_minor": 56625},
                              {"due_on": day[1].isoformat(), "amount_minor": 56625}]},
             {"instalments": [{"due_on": d.isoformat(), "amount_minor": 37750} for d in day]}]
    claims = {"use": "page", "tenant": T, "customer_id": "C-1", "invoice_ids": ["I-1", "I-2"],
              "command_id": "acme/inv/I-1/step/2/attempt/0", "locale": "en-GB", "currency": "GBP",
              "as_of": today.isoformat(),
              "invoices": [{"invoice_id": "I-1", "number": "N-1", "due_on": "2026-11-02",
                            "outstanding_minor": 12000, "total_minor": 13250},
                           {"invoice_id": "I-2", "number": "N-2", "due_on": "2026-11-16",
                            "outstanding_minor": 100000, "total_minor": 100000}],
              "total_minor": 113250,
              "offer": {"kind": "plan", "amount_minor": 113250, "forgiven_minor": 0,
                        "valid_until": (today + datetime.timedelta(days=30)).isoformat(),
                        "plans": plans},
              "channels": ["email", "sms"], "iat": now - 60, "exp": now + 86400}
    tok = sign(claims, kid=KID, key=KEY)
    h = hashlib.sha256(tok.encode()).hexdigest()[:32]
    url = "http://127.0.0.1:%d/p/%s" % (port, tok)
    br = st.browser = B.Browser(out)

    # ---- the page: rows, total, the plan's choices in words
    br.d.get(url)
    br.wait("main#page")
    got = [(br.text("tr#invoice-%d .number" % i), br.text("tr#invoice-%d .due" % i),
            br.text("tr#invoice-%d .outstanding" % i), br.text("tr#invoice-%d .total" % i))
           for i in (1, 2)]
    want = [("N-1", "2 November 2026", "\u00a3120.00", "\u00a3132.50"),
            ("N-2", "16 November 2026", "\u00a31,000.00", "\u00a31,000.00")]
    if got != want:
        C.fail("invoice rows %r, want %r" % (got, want))
    if "\u00a31,132.50" not in br.text("p#total"):
        C.fail("p#total %r lacks \u00a31,132.50" % br.text("p#total"))
    words = br.text("label[for='plan-2']")
    for d in day:
        if "\u00a3377.50 (%s)" % B.en_gb_date(d.isoformat()) not in words:
            C.fail("plan 2's label %r lacks \u00a3377.50 (%s)" % (words, B.en_gb_date(d.isoformat())))
    if words.count("\u00a3377.50") != 3 or "\u00a3566.25" in words:
        C.fail("plan 2's label %r: want three instalments of \u00a3377.50" % words)
    if "\u00a31,132.50" not in br.text("button#pay-submit"):
        C.fail("pay button %r lacks the total \u00a31,132.50" % br.text("button#pay-submit"))
    br.shot("page.png")

    # ---- pay: the 303 to the payment server, followed by the browser
    br.one("button#pay-submit").click()
    br.wait("main#paid")
    got = urllib.parse.urlsplit(br.d.current_url)
    q = urllib.parse.parse_qs(got.query)
    if got.port != pay.port or got.path != "/pay" or \
            q != {"ref": ["N-1,N-2"], "amount": ["113250"], "currency": ["GBP"]}:
        C.fail("pay took the browser to %s, want /pay?ref=N-1,N-2&amount=113250&currency=GBP "
               "on port %d" % (br.d.current_url, pay.port))
    asked = [p for p in pay.seen if p != "/favicon.ico"]  # the browser's own ask
    if len(asked) != 1:
        C.fail("the payment server was asked %r, want one request" % pay.seen)
    br.shot("paid.png")
    print("ok: pay -> %s" % br.d.current_url)

    # ---- dispute: N-2, a reason typed with markup characters
    def dispute():
        Select(br.one("select#dispute-invoice")).select_by_visible_text("N-2")
        br.one("textarea#dispute-reason").send_keys(REASON)
        return ["N-2"]
    choose(br, url, "dispute", dispute)
    expect(on_inbound(st, "page/%s/dispute/I-2" % h), "dispute.opened",
           {"customer_id": "C-1", "invoice_id": "I-2", "reason": REASON})
    print("ok: dispute of N-2 -> dispute.opened")

    # ---- plan: the second choice
    choose(br, url, "plan", lambda: br.one("input#plan-2").click() or
           ["\u00a3377.50 (%s)" % B.en_gb_date(d.isoformat()) for d in day])
    expect(on_inbound(st, "page/%s/plan" % h), "plan.agreed",
           {"plan_id": "page-" + h, "customer_id": "C-1", "invoice_ids": ["I-1", "I-2"],
            "currency": "GBP", "instalments": [{"due_on": d.isoformat(), "amount": "377.50"}
                                               for d in day],
            "total": "1132.50", "source": "portal"})
    print("ok: plan 2 -> plan.agreed, 3 x 377.50")

    # ---- stop: sms
    def stop():
        label = br.text("label[for='stop-sms']")
        if not label:
            C.fail("the sms choice has no label")
        br.one("input#stop-sms").click()
        return [label]
    choose(br, url, "stop", stop)
    expect(on_inbound(st, "page/%s/stop/sms" % h), "contact.ceased",
           {"customer_id": "C-1", "channel": "sms"})
    print("ok: stop sms -> contact.ceased")

    ids = sorted(r["body"]["id"] for r in portal(st))
    want = sorted(["page/%s/dispute/I-2" % h, "page/%s/plan" % h, "page/%s/stop/sms" % h])
    if ids != want:
        C.fail("events from the portal on inbound %r, want %r (pay publishes nothing)" % (ids, want))
    if br.d.find_elements(By.CSS_SELECTOR, "main#error"):
        C.fail("an error page is showing")


def main():
    B.require()
    C.require(["arrears-gateway", "arrears-admin"])
    st = C.Stack("gwactions")
    st.browser = None
    pay = PayServer()
    out = os.path.join(st.tmp, "screenshots")
    os.makedirs(out)
    print("output dir %s" % st.tmp)
    ok = False
    try:
        run(st, out, pay)
        ok = True
    finally:
        if st.browser:
            st.browser.quit()
        pay.stop()
        B.keep_output(st, out, "t_gateway_browser_actions", ok)
        st.cleanup()
    print("ok: pay, dispute, plan and stop driven in headless Chromium; three events on inbound")


if __name__ == "__main__":
    main()
