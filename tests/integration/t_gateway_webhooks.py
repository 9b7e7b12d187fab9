#!/usr/bin/env python3
"""t_gateway_webhooks.py -- arrears-gateway's provider webhooks against the
real Kafka (no ingest: the records are read on `inbound` itself):

  * unsigned, wrongly signed, and another tenant's URL: 403, nothing
    published; a quiet status callback (sent): 200 TwiML, nothing published;
  * SMS signed as Twilio signs (HMAC-SHA1 over ARREARS_GATEWAY_PUBLIC_URL +
    path + query + sorted parameters, with the tenant's auth token):
    STOP -> contact.ceased, START -> contact.resumed, a reply ->
    contact.replied, each with data.phone = From and channel sms; answered
    200 with an empty TwiML <Response/> (text/xml);
  * a delivered status callback -> contact.delivered with the callback
    URL's customer_id, command_id and template, keyed tenant/customer_id;
  * every answer carries the security headers.

The gateway validates with the contract before it publishes: while the
contract does not know contact.replied (another branch adds the new types
and the phone form), the signature checks run and the test then skips
(ARREARS_IT_ASSUME_CONTRACT=1 runs it through regardless).
"""
import base64
import hashlib
import hmac
import http.client
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import t_contract_lib as C  # noqa: E402
from t_gateway_events import answer_checked  # noqa: E402  (the security headers)

TWILIO_TOKEN = "it0123456789abcdef0123456789abcd"
PUBLIC = "https://pay.example.test"
PHONE = "+447700900123"
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def twilio_signature(url, params):
    """Twilio's algorithm, written from its documentation, not the gateway's code."""
    s = url + "".join(k + v for k, v in sorted(params))
    return base64.b64encode(hmac.new(TWILIO_TOKEN.encode(), s.encode(), hashlib.sha1).digest()).decode()


def post(conn, path, query, params, signature="sign"):
    body = urllib.parse.urlencode(params)
    target = path + ("?" + query if query else "")
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature == "sign":
        h["X-Twilio-Signature"] = twilio_signature(PUBLIC + target, params)
    elif signature is not None:
        h["X-Twilio-Signature"] = signature
    conn.request("POST", target, body=body, headers=h)
    r = conn.getresponse()
    text, hd = answer_checked(r)
    return r.status, text, hd


def twiml_ok(what, status, text, hd):
    if status != 200 or hd.get("content-type") != "text/xml" or "<Response/>" not in text:
        C.fail("%s: %d %s %r" % (what, status, hd.get("content-type"), text))


def contract_knows_replied():
    for p in ("contract/contract.c", "contract/contract.h"):
        try:
            if "contact.replied" in open(os.path.join(REPO, p)).read():
                return True
        except OSError:
            pass
    return False


def main():
    C.require(["arrears-gateway", "arrears-admin"])
    st = C.Stack("gwhooks")
    try:
        tokens = os.path.join(st.tmp, "tokens")
        with open(tokens, "w") as f:
            f.write("# no bearer tokens\n")
        twilio = os.path.join(st.tmp, "twilio")
        with open(twilio, "w") as f:
            f.write("acme %s\n" % TWILIO_TOKEN)
        gw_port = C.free_port()
        st.start("gateway", "", {"ARREARS_GATEWAY_ADDR": "127.0.0.1:%d" % gw_port,
                                 "ARREARS_GATEWAY_TOKENS_FILE": tokens,
                                 "ARREARS_GATEWAY_TWILIO_FILE": twilio,
                                 "ARREARS_GATEWAY_PUBLIC_URL": PUBLIC})
        st.wait_ready(["gateway"])
        conn = http.client.HTTPConnection("127.0.0.1", gw_port, timeout=30)
        tag = str(os.getpid())

        stop = [("MessageSid", "SMit%s1" % tag), ("From", PHONE), ("To", "+441234567890"),
                ("Body", "STOP")]
        for sig, query in ((None, "tenant=acme"), ("bm90IGEgc2lnbmF0dXJlIGF0IGFsbA==", "tenant=acme")):
            status, text, _ = post(conn, "/v1/sms/inbound", query, stop, signature=sig)
            if status != 403:
                C.fail("signature %r: %d %s" % (sig, status, text))
        # signed for tenant acme, posted to another tenant's URL
        body = urllib.parse.urlencode(stop)
        conn.request("POST", "/v1/sms/inbound?tenant=other", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(PUBLIC + "/v1/sms/inbound?tenant=acme", stop)})
        r = conn.getresponse()
        r.read()
        if r.status != 403:
            C.fail("another tenant's URL: %d" % r.status)
        cb = urllib.parse.urlencode([("tenant", "acme"), ("customer_id", "C-it-1"),
                                     ("command_id", "acme/inv/I-1/step/0/attempt/0"),
                                     ("template", "reminder_1")])
        twiml_ok("sent", *post(conn, "/v1/sms/status", cb,
                               [("MessageSid", "SMit%s9" % tag), ("MessageStatus", "sent")]))

        if not contract_knows_replied() and not os.environ.get("ARREARS_IT_ASSUME_CONTRACT"):
            conn.close()
            print("skip: the contract does not know contact.replied yet (403s and the quiet "
                  "callback passed)")
            sys.exit(77)

        twiml_ok("STOP", *post(conn, "/v1/sms/inbound", "tenant=acme", stop))
        start = [("MessageSid", "SMit%s2" % tag), ("From", PHONE), ("Body", " start ")]
        twiml_ok("START", *post(conn, "/v1/sms/inbound", "tenant=acme", start))
        reply = [("MessageSid", "SMit%s3" % tag), ("From", PHONE),
                 ("Body", "stop please, I paid \u20ac5 yesterday")]
        twiml_ok("reply", *post(conn, "/v1/sms/inbound", "tenant=acme", reply))
        twiml_ok("delivered", *post(conn, "/v1/sms/status", cb,
                                    [("MessageSid", "SMit%s4" % tag),
                                     ("MessageStatus", "delivered"), ("To", PHONE)]))
        conn.close()

        want = {
            "sms/SMit%s1" % tag: ("contact.ceased", {"phone": PHONE, "channel": "sms"}),
            "sms/SMit%s2" % tag: ("contact.resumed", {"phone": PHONE, "channel": "sms"}),
            "sms/SMit%s3" % tag: ("contact.replied", {
                "channel": "sms", "phone": PHONE,
                "text": "stop please, I paid \u20ac5 yesterday", "provider_id": "SMit%s3" % tag}),
            "sms/SMit%s4/status/delivered" % tag: ("contact.delivered", {
                "customer_id": "C-it-1", "channel": "sms",
                "command_id": "acme/inv/I-1/step/0/attempt/0", "template": "reminder_1",
                "provider_id": "SMit%s4" % tag}),
        }
        deadline = time.time() + 60
        while True:
            st.alive()
            got = {r["body"]["id"]: r for r in st.consume("inbound") if r["body"]}
            if set(got) >= set(want) or time.time() > deadline:
                break
            time.sleep(0.5)
        if set(got) != set(want):
            C.fail("on inbound: %r, want %r" % (sorted(got), sorted(want)))
        for id_, (typ, data) in want.items():
            b = got[id_]["body"]
            if b["type"] != typ or b["tenant"] != "acme" or b["source"] != "arrears-gateway/sms":
                C.fail("%s: %r" % (id_, b))
            if b["data"] != data:
                C.fail("%s data %r, want %r" % (id_, b["data"], data))
        if got["sms/SMit%s4/status/delivered" % tag]["key"] != "acme/C-it-1":
            C.fail("delivered key %r" % got["sms/SMit%s4/status/delivered" % tag]["key"])
        print("ok: 403 x3, quiet callback, STOP, START, reply, delivered on inbound")
    finally:
        st.cleanup()


if __name__ == "__main__":
    main()
