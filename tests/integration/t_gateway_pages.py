#!/usr/bin/env python3
"""t_gateway_pages.py -- the gateway's debtor-facing pages on the live
stack (Kafka), with tokens signed here with Python's hmac in the format of
docs/gateway.md (JWT HS256, kid, exp), not with arrears' code:

  * GET /p/<token>: 200 HTML in the token's locale with the amounts, the
    security headers, and a promise form with its anti-forgery value;
  * POST the promise: 200 confirmation page, and promise.made is on
    arrears.inbound with the id page/<sha256(token)[:32]>/promise, keyed
    acme/C-1, with the token's invoices and total;
  * GET /u/<token> changes nothing; POST List-Unsubscribe=One-Click: 200,
    and contact.ceased with channel email is on inbound;
  * a tampered token: 403 page; an expired one: 410 page.
"""
import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import t_contract_lib as C  # noqa: E402

KEY = "it-pages-link-key-0123456789"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def sign(claims, kid="k2", key=KEY):
    head = b64u(json.dumps({"alg": "HS256", "kid": kid, "typ": "JWT"},
                           separators=(",", ":")).encode())
    body = b64u(json.dumps(claims, separators=(",", ":")).encode())
    mac = hmac.new(key.encode(), (head + "." + body).encode(), hashlib.sha256).digest()
    return head + "." + body + "." + b64u(mac)


def request(port, method, path, body=None, ctype=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = {"Content-Type": ctype} if ctype else {}
    conn.request(method, path, body=body.encode() if body else None, headers=h)
    r = conn.getresponse()
    text = r.read().decode()
    hd = {k.lower(): v for k, v in r.getheaders()}
    conn.close()
    csp = hd.get("content-security-policy", "")
    for want in ("default-src 'none'", "frame-ancestors 'none'", "form-action 'self'"):
        if want not in csp:
            C.fail("%s %s: CSP %r lacks %s" % (method, path[:20], csp, want))
    if hd.get("x-content-type-options") != "nosniff" or hd.get("referrer-policy") != "no-referrer":
        C.fail("%s %s: security headers %r" % (method, path[:20], hd))
    return r.status, text, hd


def start_gateway(st, tenants):
    """The gateway alone on st's stack (real clock, no API tokens), with
    the tenants file tenants (a dict); its port once it is ready."""
    path = os.path.join(st.tmp, "tokens")
    open(path, "w").close()
    tpath = os.path.join(st.tmp, "tenants.json")
    C.write(tpath, json.dumps(tenants))
    port = C.free_port()
    st.start("gateway", "", {"ARREARS_GATEWAY_ADDR": "127.0.0.1:%d" % port,
                             "ARREARS_GATEWAY_TOKENS_FILE": path,
                             "ARREARS_GATEWAY_TENANTS_FILE": tpath})
    st.wait_ready(["gateway"])
    return port


def on_inbound(st, want_id, timeout=30):
    deadline = time.time() + timeout
    while True:
        for r in st.consume("inbound"):
            if (r["body"] or {}).get("id") == want_id:
                return r
        if time.time() > deadline:
            C.fail("%s not on inbound in %d s" % (want_id, timeout))
        time.sleep(0.5)


def main():
    C.require(["arrears-gateway", "arrears-admin"])
    st = C.Stack("gwpages")
    try:
        port = start_gateway(st, {"acme": {
            "link_keys": [{"kid": "k2", "secret": KEY}],
            "pay_url": "https://pay.acme.test/?ref={reference}&amount={amount_minor}&currency={currency}",
            "promise_max_days": 30, "locale": "en-GB"}})

        now = int(time.time())
        today = datetime.datetime.utcfromtimestamp(now).date()
        claims = {"use": "page", "tenant": "acme", "customer_id": "C-1",
                  "invoice_ids": ["I-1"], "command_id": "acme/inv/I-1/step/2/attempt/0",
                  "locale": "en-GB", "currency": "GBP", "as_of": today.isoformat(),
                  "invoices": [{"invoice_id": "I-1", "number": "N-1", "due_on": "2026-02-01",
                                "outstanding_minor": 120000, "total_minor": 132550}],
                  "total_minor": 132550, "channels": ["email"], "iat": now - 60,
                  "exp": now + 86400}
        tok = sign(claims)
        status, page, hd = request(port, "GET", "/p/" + tok)
        if status != 200 or not hd.get("content-type", "").startswith("text/html"):
            C.fail("page: %d %r\n%s" % (status, hd, page))
        for want in ('<html lang="en-GB">', "\u00a31,200.00", "\u00a31,325.50",
                     'id="promised_on" name="promised_on"', 'id="form-promise"'):
            if want not in page:
                C.fail("page lacks %r:\n%s" % (want, page))
        m = re.search(r'<form id="form-promise" method="post" action="([^"]+)">\s*'
                      r'<input type="hidden" name="action" value="promise">\s*'
                      r'<input type="hidden" name="csrf" value="([0-9a-f]{64})">', page)
        if not m:
            C.fail("no promise form:\n" + page)
        th = hashlib.sha256(tok.encode()).hexdigest()
        want_csrf = hmac.new(KEY.encode(), ("csrf|promise|" + th).encode(),
                             hashlib.sha256).hexdigest()
        if m.group(2) != want_csrf or m.group(1) != tok:
            C.fail("promise form action/csrf %r, want %s" % (m.groups(), want_csrf))

        on = (today + datetime.timedelta(days=7)).isoformat()
        form = urllib.parse.urlencode({"action": "promise", "csrf": m.group(2),
                                       "promised_on": on})
        for _ in range(2):  # a double submit is one event id
            status, text, _ = request(port, "POST", "/p/" + tok, form,
                                      "application/x-www-form-urlencoded")
            if status != 200 or 'id="confirmation"' not in text or "1,325.50" not in text:
                C.fail("promise: %d\n%s" % (status, text))
        r = on_inbound(st, "page/%s/promise" % th[:32])
        b = r["body"]
        if r["key"] != "acme/C-1" or b["type"] != "promise.made" or b["tenant"] != "acme":
            C.fail("promise record %r" % r)
        if b["data"] != {"customer_id": "C-1", "invoice_ids": ["I-1"], "currency": "GBP",
                         "amount": "1325.50", "promised_on": on}:
            C.fail("promise data %r" % b["data"])

        # one-click unsubscribe: GET changes nothing, POST ceases email
        utok = sign({"use": "unsubscribe", "tenant": "acme", "customer_id": "C-1",
                     "command_id": "acme/inv/I-1/step/2/attempt/0", "channel": "email",
                     "iat": now - 60, "exp": now + 86400})
        uth = hashlib.sha256(utok.encode()).hexdigest()
        status, text, _ = request(port, "GET", "/u/" + utok)
        if status != 200 or 'id="unsubscribe-submit"' not in text:
            C.fail("unsubscribe GET: %d\n%s" % (status, text))
        status, text, _ = request(port, "POST", "/u/" + utok, "List-Unsubscribe=One-Click",
                                  "application/x-www-form-urlencoded")
        if status != 200:
            C.fail("one-click: %d\n%s" % (status, text))
        r = on_inbound(st, "page/%s/unsubscribe" % uth[:32])
        if r["body"]["type"] != "contact.ceased" or \
                r["body"]["data"] != {"customer_id": "C-1", "channel": "email"}:
            C.fail("unsubscribe record %r" % r)
        ids = [(x["body"] or {}).get("id") for x in st.consume("inbound")]
        if ids.count("page/%s/promise" % th[:32]) < 1 or \
                ids.count("page/%s/unsubscribe" % uth[:32]) != 1:
            C.fail("inbound ids %r" % ids)

        # refusals: a plain page, never a trace
        head, body, mac = tok.split(".")
        forged = head + "." + b64u(json.dumps(dict(claims, customer_id="C-2"),
                                              separators=(",", ":")).encode()) + "." + mac
        status, text, _ = request(port, "GET", "/p/" + forged)
        if status != 403 or 'id="error"' not in text:
            C.fail("forged: %d\n%s" % (status, text))
        status, text, _ = request(port, "GET", "/p/" + sign(dict(claims, exp=now - 1)))
        if status != 410 or "expired" not in text:
            C.fail("expired: %d\n%s" % (status, text))
        status, text, _ = request(port, "GET", "/v1/nothing")
        if status != 404 or json.loads(text) != {"error": "not found"}:
            C.fail("json 404: %d %s" % (status, text))
        print("ok: page, promise -> promise.made on inbound (double submit one id), "
              "one-click -> contact.ceased email, 403 forged, 410 expired, headers")
    finally:
        st.cleanup()


if __name__ == "__main__":
    main()
