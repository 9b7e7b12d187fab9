#!/usr/bin/env python3
"""t_gateway_events.py -- arrears-gateway against the real Kafka, with
arrears-ingest behind it:

  * a batch of 3 valid and 1 invalid CloudEvents posted with a bearer token
    over one keep-alive connection: 202 with a result per event (202, 202,
    202, 400 with its reasons); a binary-mode event: 202; every answer
    carries the security headers;
  * the valid events reach `events`, normalized by ingest, with the
    credential's tenant and keyed tenant/customer_id;
  * a Standard Webhooks-signed event (no bearer token): 202, the secret's
    tenant;
  * a bad token: 401; another content type: 415; a body naming another
    tenant: 400 on `tenant`;
  * posting the same batch again is harmless: 202 again, and ingest's
    de-duplication leaves one of each on `events`;
  * SIGTERM: the gateway exits 0.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import t_contract_lib as C  # noqa: E402

TOKEN = "it-gateway-token-%d" % os.getpid()
WHSEC = "whsec_" + base64.b64encode(b"it-gateway-webhook-key-0123456789").decode()
SECURITY = {"content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            "x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}


def event(i, cust, **over):
    ev = {"specversion": "1.0", "id": "gw-%d" % i, "source": "it-gateway",
          "type": "contact.ceased", "time": "2026-03-01T09:00:00+01:00",
          "data": {"customer_id": cust}}
    ev.update(over)
    return ev


def answer_checked(r):
    """The body and lower-cased headers of response r; fails the test unless
    it carries every security header."""
    text = r.read().decode()
    hd = {k.lower(): v for k, v in r.getheaders()}
    for k, v in SECURITY.items():
        if hd.get(k) != v:
            C.fail("answer %d lacks %s: %s (headers %r)" % (r.status, k, v, hd))
    return text, hd


def post(conn, body, ctype, token=TOKEN, headers=None):
    h = {"Content-Type": ctype}
    if token is not None:
        h["Authorization"] = "Bearer " + token
    h.update(headers or {})
    conn.request("POST", "/v1/events", body=body.encode() if isinstance(body, str) else body,
                 headers=h)
    r = conn.getresponse()
    text, hd = answer_checked(r)
    try:
        return r.status, json.loads(text), hd
    except ValueError:
        C.fail("answer %d is not JSON: %r" % (r.status, text))


def main():
    C.require(["arrears-gateway", "arrears-ingest", "arrears-admin"])
    st = C.Stack("gateway")
    try:
        tokens = os.path.join(st.tmp, "tokens")
        with open(tokens, "w") as f:
            f.write("# it\nacme %s\n" % hashlib.sha256(TOKEN.encode()).hexdigest())
        secrets = os.path.join(st.tmp, "secrets")
        with open(secrets, "w") as f:
            f.write("acme %s\n" % WHSEC)
        gw_port = C.free_port()
        st.start("ingest", "")
        st.start("gateway", "", {"ARREARS_GATEWAY_ADDR": "127.0.0.1:%d" % gw_port,
                                 "ARREARS_GATEWAY_TOKENS_FILE": tokens,
                                 "ARREARS_GATEWAY_WEBHOOK_SECRETS_FILE": secrets})
        st.wait_ready(["ingest", "gateway"])

        conn = http.client.HTTPConnection("127.0.0.1", gw_port, timeout=30)
        batch = [event(1, "C-1"), event(2, "C-2"), event(3, "C-1"),
                 event(4, "C-3", time="yesterday")]
        status, body, _ = post(conn, json.dumps(batch), "application/cloudevents-batch+json")
        if status != 202 or body.get("accepted") != 3:
            C.fail("batch: %d %r" % (status, body))
        got = [(r["id"], r["status"]) for r in body["results"]]
        if got != [("gw-1", 202), ("gw-2", 202), ("gw-3", 202), ("gw-4", 400)]:
            C.fail("batch results %r" % got)
        reasons = body["results"][3]["errors"]
        if not any(e["field"] == "time" and e["rule"] and e["message"] for e in reasons):
            C.fail("no reason on time: %r" % reasons)

        # binary mode on the same connection (keep-alive)
        status, body, _ = post(conn, json.dumps({"customer_id": "C-4"}), "application/json",
                               headers={"ce-specversion": "1.0", "ce-id": "gw-5",
                                        "ce-source": "it-gateway", "ce-type": "contact.ceased",
                                        "ce-time": "2026-03-01T10:00:00Z"})
        if status != 202 or body != {"accepted": 1}:
            C.fail("binary: %d %r" % (status, body))

        # Standard Webhooks signature instead of a bearer token
        signed = json.dumps(event(8, "C-8"))
        ts = str(int(time.time()))
        mac = hmac.new(base64.b64decode(WHSEC[6:]), ("msg-8.%s.%s" % (ts, signed)).encode(),
                       hashlib.sha256).digest()
        status, body, _ = post(conn, signed, "application/cloudevents+json", token=None,
                               headers={"webhook-id": "msg-8", "webhook-timestamp": ts,
                                        "webhook-signature": "v1," + base64.b64encode(mac).decode()})
        if status != 202:
            C.fail("signed: %d %r" % (status, body))

        status, body, hd = post(conn, json.dumps(event(6, "C-6")),
                                "application/cloudevents+json", token="wrong")
        if status != 401:
            C.fail("bad token: %d %r" % (status, body))
        status, body, _ = post(conn, "hello", "text/plain")
        if status != 415:
            C.fail("text/plain: %d %r" % (status, body))
        status, body, _ = post(conn, json.dumps(event(7, "C-7", tenant="other")),
                               "application/cloudevents+json")
        if status != 400 or not any(e["field"] == "tenant" for e in body["errors"]):
            C.fail("other tenant: %d %r" % (status, body))

        # the same ids again: harmless
        status, body, _ = post(conn, json.dumps(batch), "application/cloudevents-batch+json")
        if status != 202 or body.get("accepted") != 3:
            C.fail("re-post: %d %r" % (status, body))
        conn.close()

        want = {"gw-1": "acme/C-1", "gw-2": "acme/C-2", "gw-3": "acme/C-1", "gw-5": "acme/C-4",
                "gw-8": "acme/C-8"}
        deadline = time.time() + 60
        while True:
            st.alive()
            m = st.metrics("ingest")
            done = (C.metric(m, 'arrears_ingest_messages_total{result="accepted"}') >= 5 and
                    C.metric(m, 'arrears_ingest_messages_total{result="duplicate"}') >= 3)
            if done:
                break
            if time.time() > deadline:
                C.fail("ingest did not take the gateway's records in 60 s:\n" + m)
            time.sleep(0.3)
        recs = st.consume("events")
        seen = {}
        for r in recs:
            b = r["body"] or {}
            if b.get("source") != "it-gateway":
                continue
            seen[b["id"]] = seen.get(b["id"], 0) + 1
            if b["tenant"] != "acme" or r["key"] != want.get(b["id"]):
                C.fail("event %s: tenant %s key %s" % (b["id"], b["tenant"], r["key"]))
            if b["id"] == "gw-1" and b["time"] != "2026-03-01T08:00:00.000Z":
                C.fail("gw-1 not normalized: %r" % b)
        if seen != {k: 1 for k in want}:
            C.fail("on events: %r, want one each of %r" % (seen, sorted(want)))

        gm = st.metrics("gateway")
        if C.metric(gm, 'arrears_gateway_events_total{result="accepted"}') != 8:
            C.fail("gateway accepted metric:\n" + gm)
        if C.metric(gm, 'arrears_gateway_requests_total{code="401"}') != 1:
            C.fail("gateway 401 metric:\n" + gm)

        p = st.procs["gateway"]
        p.send_signal(signal.SIGTERM)
        if p.wait(20) != 0:
            C.fail("gateway exited %d on SIGTERM:\n%s" % (p.returncode, st.log("gateway")))
        print("ok: batch 3+1, binary, webhook-signed, 401, 415, tenant, re-post de-duplicated, "
              "SIGTERM")
    finally:
        st.cleanup()


if __name__ == "__main__":
    main()
