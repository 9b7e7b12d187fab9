#!/usr/bin/env python3
"""t_ingest_contract.py -- arrears-ingest against the real Kafka + Redis:

  * every accept case of tests/data/ingest (every event type, structured and
    binary mode) comes out on events exactly as expected.json, keyed
    tenant/customer_id, with headers ce_type, ce_id, tenant, trace_id;
  * every reject case (bad dates, decimals, currencies, zones, E.164, unknown
    types, invalid UTF-8, deep nesting, oversized, empty, not JSON, ...) is on
    the DLQ with its reasons (field and rule), original bytes, key, headers
    and origin (topic, partition, offset) -- and ingest goes on;
  * duplicate ids are dropped: in one batch, in a later batch, and after a
    restart (the window lives in Redis);
  * per-customer order is preserved on events;
  * SIGTERM: exit 0 with every offset committed.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import t_ingest_lib as L  # noqa: E402

L.require_stack()
DATA = os.path.join(L.REPO, "tests", "data", "ingest")
MAX_BYTES = 2048  # the oversized case's config.json


def load_case(kind, name):
    d = os.path.join(DATA, kind, name)
    p = os.path.join(d, "input.json")
    if not os.path.exists(p):
        p = os.path.join(d, "input.bin")
    with open(p, "rb") as f:
        payload = f.read()
    headers = []
    if os.path.exists(os.path.join(d, "headers.json")):
        with open(os.path.join(d, "headers.json")) as f:
            headers = [tuple(h) for h in json.load(f)]
    with open(os.path.join(d, "expected.json")) as f:
        expected = json.load(f)
    cfg = {}
    if os.path.exists(os.path.join(d, "config.json")):
        with open(os.path.join(d, "config.json")) as f:
            cfg = json.load(f)
    return payload, headers, expected, cfg


def ordering_records(n_customers=6, per_customer=40):
    recs = []
    for i in range(per_customer):
        for c in range(n_customers):
            ev = {"specversion": "1.0", "id": "ord-%d-%03d" % (c, i), "source": "it-order",
                  "type": "contact.ceased", "time": "2026-03-01T09:00:00Z", "tenant": "order",
                  "data": {"customer_id": "OC-%d" % c}}
            recs.append(("order/OC-%d" % c, json.dumps(ev)))
    return recs


PHONE = "+447700900555"


def stop_from(id_):
    return {"specversion": "1.0", "id": id_, "source": "arrears-gateway", "type": "contact.ceased",
            "time": "2026-03-01T09:00:00Z", "tenant": "ph",
            "data": {"phone": PHONE, "channel": "sms"}}


def phone_records():
    """A STOP before any customer has the phone (DLQ), two customers with it,
    a STOP again (one event each), written by hand."""
    ups = [{"specversion": "1.0", "id": "ph-u%d" % n, "source": "crm",
            "type": "customer.upserted", "time": "2026-03-01T08:00:00Z", "tenant": "ph",
            "data": {"customer_id": "P-%d" % n, "name": "N", "phone": PHONE}} for n in (2, 1)]
    return [stop_from("sms/SM0")] + ups + [stop_from("sms/SM1")]


def main():
    env = L.Env("contract")
    try:
        run(env)
    finally:
        env.close()


def run(env):
    accept = sorted(os.listdir(os.path.join(DATA, "accept")))
    reject = sorted(os.listdir(os.path.join(DATA, "reject")))
    cases = {}
    for name in accept:
        payload, headers, expected, _ = load_case("accept", name)
        if len(payload) > MAX_BYTES:
            L.fail("accept case %s is larger than the test's size limit" % name)
        cases[name] = expected
        env.produce_file(payload, key="acc-" + name, headers=headers)
    # a duplicate inside the same stream (same tenant, source, id)
    dup_payload, _, _, _ = load_case("accept", "invoice_issued")
    env.produce_file(dup_payload, key="dup-1")
    rejected = {}
    for name in reject:
        payload, headers, expected, cfg = load_case("reject", name)
        if "max_bytes" not in cfg and len(payload) > MAX_BYTES:
            # a case about another rule that needs the default size limit
            # (e.g. notes_too_long: 2,001 bytes of notes); the unit tier's
            # test_ingest_cases runs it with its own limits
            print("skip: reject case %s is larger than this test's %d-byte limit" % (name, MAX_BYTES))
            continue
        if cfg.get("max_bytes", MAX_BYTES) != MAX_BYTES or "max_depth" in cfg:
            L.fail("reject case %s needs a config this test does not run" % name)
        rejected["rej-" + name] = (payload, headers, expected)
        if payload:
            env.produce_file(payload, key="rej-" + name, headers=headers)
        else:
            env.produce_lines([("rej-" + name, "")])  # kcat skips empty files
    env.produce_lines(ordering_records())

    p = env.start(ARREARS_INGEST_MAX_BYTES=MAX_BYTES, ARREARS_INGEST_BATCH=50)
    if not env.wait_committed(proc=p):
        print(env.logs())
        L.fail("ingest did not commit every inbound offset within 120 s")
    # a later batch: the same id again, plus a marker
    env.produce_file(dup_payload, key="dup-2")
    marker = {"specversion": "1.0", "id": "marker-1", "source": "it", "type": "contact.ceased",
              "time": "2026-03-01T09:00:00Z", "tenant": "it", "data": {"customer_id": "M"}}
    env.produce_lines([("it/M", json.dumps(marker))])
    # issue 17: an SMS STOP names a phone; one Kafka key keeps these in order
    env.produce_lines([("ph", json.dumps(r)) for r in phone_records()])
    if not env.wait_committed(proc=p):
        print(env.logs())
        L.fail("ingest did not commit the second round")
    rc = env.stop(p)
    if rc != 0:
        print(env.logs())
        L.fail("ingest exited %s on SIGTERM" % rc)
    c, e = env.offsets()
    if c != e:
        L.fail("after SIGTERM committed=%d end=%d" % (c, e))

    # after a restart: the same id again is still a duplicate (Redis window)
    env.produce_file(dup_payload, key="dup-3")
    marker2 = dict(marker, id="marker-2")
    env.produce_lines([("it/M", json.dumps(marker2))])
    p = env.start(ARREARS_INGEST_MAX_BYTES=MAX_BYTES)
    if not env.wait_committed(proc=p):
        print(env.logs())
        L.fail("restarted ingest did not commit")
    if env.stop(p) != 0:
        L.fail("restarted ingest did not exit 0 on SIGTERM")

    events = env.consume("events")
    dlq = env.consume("ingest.dlq")
    errors = []

    # --- events: every accept case exactly once, as expected -----------------
    by_id = {}
    for m in events:
        body = json.loads(m["payload"])
        by_id.setdefault((body["tenant"], body["source"], body["id"]), []).append((m, body))
    for name, exp in cases.items():
        got = by_id.get((exp["tenant"], exp["source"], exp["id"]), [])
        if len(got) != 1:
            errors.append("%s: %d records on events (want 1)" % (name, len(got)))
            continue
        m, body = got[0]
        if body != exp:
            errors.append("%s: canonical event differs:\n  want %s\n  got  %s" %
                          (name, json.dumps(exp, sort_keys=True), json.dumps(body, sort_keys=True)))
        want_key = "%s/%s" % (exp["tenant"], exp["customer_id"])
        if m["key"] != want_key:
            errors.append("%s: key %r, want %r" % (name, m["key"], want_key))
        for h, v in (("ce_type", exp["type"]), ("ce_id", exp["id"]), ("tenant", exp["tenant"]),
                     ("trace_id", exp["trace_id"])):
            if L.header(m, h) != v:
                errors.append("%s: header %s=%r, want %r" % (name, h, L.header(m, h), v))
    for mk in ("marker-1", "marker-2"):
        if len(by_id.get(("it", "it", mk), [])) != 1:
            errors.append("%s not exactly once on events" % mk)
    # the phone: ph-u2, ph-u1, then sms/SM1 once per customer, ids in order
    for cust in ("P-1", "P-2"):
        got = by_id.get(("ph", "arrears-gateway", "sms/SM1/" + cust), [])
        if len(got) != 1:
            errors.append("sms/SM1 for %s: %d records (want 1)" % (cust, len(got)))
            continue
        m, body = got[0]
        want_data = {"customer_id": cust, "phone": PHONE, "channel": "sms"}
        if body["customer_id"] != cust or body["data"] != want_data or m["key"] != "ph/" + cust:
            errors.append("sms/SM1 for %s: key %r, body %s" % (cust, m["key"], body))
    ph_dlq = [json.loads(m["payload"]) for m in dlq if m["key"] == "ph"]
    if [[(r["field"], r["rule"]) for r in x["reasons"]] for x in ph_dlq] != \
            [[("data.phone", "unknown_phone")]]:
        errors.append("the STOP before any customer: DLQ %s" % ph_dlq)
    want_total = len(cases) + 2 + 6 * 40 + 4
    if len(events) != want_total:
        errors.append("%d records on events, want %d (duplicates not dropped?)" %
                      (len(events), want_total))

    # --- per-customer order --------------------------------------------------
    seq = {}
    for m in events:
        body = json.loads(m["payload"])
        if body["tenant"] == "order":
            seq.setdefault(body["customer_id"], []).append(body["id"])
    for c in range(6):
        ids = seq.get("OC-%d" % c, [])
        if ids != ["ord-%d-%03d" % (c, i) for i in range(40)]:
            errors.append("customer OC-%d out of order or incomplete: %s" % (c, ids[:8]))

    # --- DLQ: every reject case, with its reasons and original message -------
    dlq_by_key = {}
    for m in dlq:
        dlq_by_key.setdefault(m["key"], []).append(m)
    for key, (payload, headers, expected) in sorted(rejected.items()):
        got = dlq_by_key.get(key, [])
        if len(got) != 1:
            errors.append("%s: %d DLQ records (want 1)" % (key, len(got)))
            continue
        rec = json.loads(got[0]["payload"])
        pairs = [(r["field"], r["rule"]) for r in rec["reasons"]]
        want = [(r["field"], r["rule"]) for r in expected["reasons"]]
        if pairs != want:
            errors.append("%s: reasons %s, want %s" % (key, pairs, want))
        for r in rec["reasons"]:
            if not r["message"].startswith(r["field"] + ": "):
                errors.append("%s: message %r does not name its field" % (key, r["message"]))
        o = rec["origin"]
        if o["topic"] != env.topic("inbound") or o["partition"] < 0 or o["offset"] < 0:
            errors.append("%s: origin %s" % (key, o))
        if rec.get("key") != key:
            errors.append("%s: DLQ record key %r" % (key, rec.get("key")))
        if [(h["name"], h.get("value")) for h in rec["headers"]] != list(headers):
            errors.append("%s: headers %s, want %s" % (key, rec["headers"], headers))
        if rec.get("truncated"):
            if not L.dlq_payload(rec) == payload[:MAX_BYTES]:
                errors.append("%s: truncated payload is not the message's first bytes" % key)
        elif L.dlq_payload(rec) != payload:
            errors.append("%s: DLQ payload differs from the original bytes" % key)
        if rec["payload_bytes"] != len(payload):
            errors.append("%s: payload_bytes %s, want %d" % (key, rec["payload_bytes"], len(payload)))
        if not L.header(got[0], "dlq_reason"):
            errors.append("%s: no dlq_reason header" % key)
    if len(dlq) != len(rejected) + 1:  # + the STOP from an unknown phone
        errors.append("%d DLQ records, want %d" % (len(dlq), len(rejected) + 1))

    if errors:
        print(env.logs()[-2000:])
        L.fail("%d problem(s):\n" % len(errors) + "\n".join(errors))
    print("ok: %d accept cases, %d reject cases, duplicates dropped, order kept, "
          "%d events, %d DLQ records" % (len(cases), len(rejected), len(events), len(dlq)))


if __name__ == "__main__":
    main()
