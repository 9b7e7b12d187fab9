#!/usr/bin/env python3
"""t_notifier_http.py -- webhooks, SMS and task hand-offs.

Against the HTTP sink (tests/sinks/http_sink.py) on loopback:
  * webhook: one signed POST per command; the Standard Webhooks signature
    is verified here with an independent implementation (python hmac +
    base64 over "webhook-id.webhook-timestamp.body" with the decoded
    whsec_ key); a tampered body or another secret does not verify;
    webhook-id and Idempotency-Key carry the command id; the body is the
    command (plus its pay link);
  * per-tenant webhook URL and secret from ARREARS_TENANTS_FILE;
  * sms: Twilio form -- POST {base}/Accounts/{sid}/Messages.json, basic auth
    sid:token, form fields To, From, Body, and StatusCallback (the gateway's
    /v1/sms/status with tenant, customer_id, command_id and template,
    percent-encoded) since ARREARS_GATEWAY_URL is set;
  * call_task and letter: the command plus task_id on <prefix>tasks and a
    contact.sent with provider_status "queued"; once their not_after has
    passed (the notifier's clock is real time here, after 2026-03-09), a
    contact.failed "not sent: not_after has passed" and no task record;
  * a command published twice is sent once and has one outcome.
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import tempfile
import time
from urllib.parse import parse_qs, quote

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sinks"))
import harness as h  # noqa: E402

brokers, redis_url, bindir = h.stack_env()
run = "%d" % os.getpid()
prefix = "it-ntf-http-%s." % run
tenant = "ithttp%s" % run
other = "ithttpb%s" % run
work = tempfile.mkdtemp(prefix="t_notifier_http.")
sinks, procs = [], []


def verify(secret, hdrs, body):
    """Standard Webhooks verification, written from the spec."""
    key = base64.b64decode(secret[len("whsec_"):])
    signed = "%s.%s.%s" % (hdrs["webhook-id"], hdrs["webhook-timestamp"], body)
    want = base64.b64encode(hmac.new(key, signed.encode(), hashlib.sha256).digest()).decode()
    for sig in hdrs["webhook-signature"].split(" "):
        ver, _, val = sig.partition(",")
        if ver == "v1" and hmac.compare_digest(val, want):
            return True
    return False


try:
    h.create_topics(bindir, prefix)
    sink = h.Sink("http", work)
    sink_b = h.Sink("http", work, name="http_b")
    sinks += [sink, sink_b]
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    secret_b = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    secret_file = os.path.join(work, "secret_b")
    with open(secret_file, "w") as f:
        f.write(secret_b + "\n")
    tenants = os.path.join(work, "tenants.json")
    with open(tenants, "w") as f:
        json.dump({other: {"webhook_url": sink_b.url + "/tenant-b/hook",
                           "webhook_secret_file": secret_file}}, f)
    env = {
        "ARREARS_TOPIC_PREFIX": prefix, "ARREARS_GROUP_ID": "it-ntf-http-" + run,
        "ARREARS_HTTP_ADDR": "", "ARREARS_NOTIFIER_KEY_PREFIX": "it:ntf:http:%s:" % run,
        "ARREARS_WEBHOOK_URL": sink.url + "/hooks/arrears",
        "ARREARS_WEBHOOK_SECRET": secret,
        "ARREARS_TENANTS_FILE": tenants,
        "ARREARS_SMS_URL": sink.url + "/2010-04-01",
        "ARREARS_SMS_ACCOUNT": "AC%s" % run, "ARREARS_SMS_TOKEN": "tok-%s" % run,
        "ARREARS_SMS_FROM": "+15005550006",
        "ARREARS_PAYLINK_URL": "https://pay.example/{tenant}/{token}",
        "ARREARS_PAYLINK_SECRET": "s3-0123456789abcdef",
        "ARREARS_GATEWAY_URL": "http://127.0.0.1:8480",
    }
    hooks = [h.command(tenant, "%s/inv/W-%d/step/2/attempt/1" % (tenant, i), channel="webhook",
                       customer_id="W%d" % i) for i in range(5)]
    hook_b = h.command(other, "%s/inv/WB-1/step/2/attempt/1" % other, channel="webhook")
    smss = [h.command(tenant, "%s/inv/S-%d/step/3/attempt/1" % (tenant, i), channel="sms",
                      template="overdue_14_sms", customer_id="S%d" % i,
                      phone="+4477009001%02d" % i) for i in range(3)]
    tasks = [h.command(tenant, "%s/inv/T-1/step/5/attempt/1" % tenant, channel="call_task",
                       kind="call_task", template="call_30", customer_id="T1"),
             h.command(tenant, "%s/inv/T-2/step/6/attempt/1" % tenant, channel="letter",
                       kind="letter", template="final_notice", customer_id="T2",
                       not_after="2099-01-01T00:00:00.000Z")]
    # past their not_after: answered like an expired send, never queued
    late = [h.command(tenant, "%s/inv/T-3/step/5/attempt/1" % tenant, channel="call_task",
                      kind="call_task", template="call_30", customer_id="T3",
                      not_after="2026-03-09T09:00:00.000Z"),
            h.command(tenant, "%s/inv/T-4/step/6/attempt/1" % tenant, channel="letter",
                      kind="letter", template="final_notice", customer_id="T4",
                      not_after="2026-03-09T09:00:00.000Z")]
    cmds = hooks + [hook_b] + smss + tasks + late + [hooks[0], smss[0], tasks[0], late[0]]
    h.publish_commands(brokers, prefix + "commands", cmds)  # four replays
    n = h.Notifier(bindir, env, os.path.join(work, "notifier.log"))
    procs.append(n)
    ids = {c["command_id"]: c for c in hooks + [hook_b] + smss + tasks + late}
    late_ids = {c["command_id"] for c in late}
    h.wait_for(lambda: all(i in h.outcomes(brokers, prefix + "contacts") for i in ids), 90,
               "an outcome for every command", procs=procs)
    time.sleep(2)
    by = h.outcomes(brokers, prefix + "contacts")
    for cid in ids:
        if len(by.get(cid, [])) != 1:
            h.fail("%s: %d outcome events, want 1" % (cid, len(by.get(cid, []))))
        ev = by[cid][0]
        if cid in late_ids:
            if ev["type"] != "contact.failed" or ev.get("reason") != \
                    "not sent: not_after has passed" or ev.get("provider_status") != "":
                h.fail("%s past not_after: %s" % (cid, ev))
        elif ev["type"] != "contact.sent":
            h.fail("%s: %s" % (cid, ev))
        for k in ("strategy", "variant", "step", "template", "channel", "kind"):
            want = ids[cid]["step"] if k == "step" else ids[cid][k]
            if ev.get(k) != want:
                h.fail("%s: outcome %s=%r want %r" % (cid, k, ev.get(k), want))

    reqs = sink.records()
    reqs_b = sink_b.records()
    # webhooks
    got = {}
    for r in reqs:
        if r["path"] != "/hooks/arrears":
            continue
        hd = r["headers"]
        cid = hd.get("webhook-id")
        if cid in got:
            h.fail("webhook %s received twice" % cid)
        got[cid] = r
        if not verify(secret, hd, r["body"]):
            h.fail("webhook %s: signature does not verify: %s" % (cid, hd.get("webhook-signature")))
        if verify(secret, hd, r["body"] + " "):
            h.fail("a tampered body verifies: the check is broken")
        if verify(secret_b, hd, r["body"]):
            h.fail("another secret verifies: the check is broken")
        if abs(int(hd["webhook-timestamp"]) - time.time()) > 300:
            h.fail("webhook %s: timestamp %s far from now" % (cid, hd["webhook-timestamp"]))
        if hd.get("idempotency-key") != cid or hd.get("content-type") != "application/json":
            h.fail("webhook %s: headers %s" % (cid, hd))
        body = json.loads(r["body"])
        if body["type"] != "arrears.reminder" or body["data"]["command_id"] != cid or \
                not body["data"].get("pay_link", "").startswith("https://pay.example/%s/" % tenant):
            h.fail("webhook %s: body %s" % (cid, r["body"][:300]))
        if by[cid][0]["provider_status"] != "200":
            h.fail("webhook %s: provider_status %s" % (cid, by[cid][0]["provider_status"]))
    if set(got) != {c["command_id"] for c in hooks}:
        h.fail("webhooks received for %s" % sorted(got))
    if len(reqs_b) != 1 or reqs_b[0]["path"] != "/tenant-b/hook" or \
            reqs_b[0]["headers"]["webhook-id"] != hook_b["command_id"] or \
            not verify(secret_b, reqs_b[0]["headers"], reqs_b[0]["body"]) or \
            verify(secret, reqs_b[0]["headers"], reqs_b[0]["body"]):
        h.fail("tenant override: %s" % reqs_b)

    # sms
    sms = [r for r in reqs if "/Messages.json" in r["path"]]
    if len(sms) != len(smss):
        h.fail("%d SMS requests, want %d" % (len(sms), len(smss)))
    want_auth = "Basic " + base64.b64encode(("AC%s:tok-%s" % (run, run)).encode()).decode()
    by_key = {}
    for r in sms:
        if r["path"] != "/2010-04-01/Accounts/AC%s/Messages.json" % run:
            h.fail("sms path %s" % r["path"])
        if r["headers"].get("authorization") != want_auth:
            h.fail("sms auth %s" % r["headers"].get("authorization"))
        if r["headers"].get("content-type") != "application/x-www-form-urlencoded":
            h.fail("sms content type %s" % r["headers"].get("content-type"))
        form = parse_qs(r["body"], strict_parsing=True)
        by_key[r["headers"]["idempotency-key"]] = form
    for c in smss:
        form = by_key.get(c["command_id"])
        if not form:
            h.fail("no SMS for %s" % c["command_id"])
        if form["To"] != [c["customer"]["phone"]] or form["From"] != ["+15005550006"]:
            h.fail("sms To/From %s" % form)
        cb = "http://127.0.0.1:8480/v1/sms/status?" + "&".join(
            "%s=%s" % (k, quote(v, safe="")) for k, v in (
                ("tenant", tenant), ("customer_id", c["customer"]["customer_id"]),
                ("command_id", c["command_id"]), ("template", c["template"])))
        if form.get("StatusCallback") != [cb]:
            h.fail("sms StatusCallback %s, want %s" % (form.get("StatusCallback"), cb))
        body = form["Body"][0]
        if "€120.00" not in body or "7 days overdue" not in body or "Reply STOP" not in body \
                or "https://pay.example/" not in body:
            h.fail("sms body %r" % body)

    # tasks
    trecs = [json.loads(r["payload"]) for r in h.consume(brokers, prefix + "tasks")]
    tids = sorted(t["task_id"] for t in trecs)
    if tids != sorted(c["command_id"] for c in tasks):
        h.fail("tasks %s" % tids)
    for t in trecs:
        if t["command_id"] != t["task_id"] or t["channel"] not in ("call_task", "letter"):
            h.fail("task record %s" % t)
        if by[t["task_id"]][0]["provider_status"] != "queued":
            h.fail("task outcome %s" % by[t["task_id"]][0])
    rc = n.stop()
    if rc != 0:
        h.fail("notifier exited %s on SIGTERM" % rc)
    print("ok: %d webhooks (signatures verified independently), %d SMS, %d tasks, one each;"
          " %d tasks past not_after failed, not queued" % (len(got) + 1, len(sms), len(trecs), len(late)))
finally:
    h.teardown(procs, sinks, work)
