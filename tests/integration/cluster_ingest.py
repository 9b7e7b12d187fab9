#!/usr/bin/env python3
"""cluster_ingest.py -- arrears-ingest on a real Redis Cluster (run by
t_redis_cluster.sh with ARREARS_REDIS_URL=redis+cluster://... of the
cluster it started).

Its de-duplication window issues single-key commands (SMISMEMBER per
bucket, SADD), routed by slot; its phone index script touches a
customer's key and a phone's set, which on a cluster share the tenant's
hash tag ({<tenant>}; without it the client refuses the script). It
checks: 30 events sent twice come out once each; two customers of one
phone get one contact.ceased each from an SMS STOP naming the phone; the
phone's set holds both customers under the tagged name.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sinks"))
import harness as h  # noqa: E402
import t_ingest_lib as L  # noqa: E402

L.require_stack()
url = L.REDIS_URL
if not url.startswith("redis+cluster://"):
    L.fail("cluster_ingest.py needs a redis+cluster:// ARREARS_REDIS_URL, got %s" % url)
PHONE = "+447700900777"


def ev(id_, type_, tenant, data, source="it-cluster"):
    return {"specversion": "1.0", "id": id_, "source": source, "type": type_,
            "time": "2026-03-01T09:00:00Z", "tenant": tenant, "data": data}


env = L.Env("cluster")
try:
    recs = []
    for i in range(30):
        e = ev("dup-%d" % i, "contact.ceased", "clt%d" % (i % 5), {"customer_id": "D-%d" % i})
        recs.append(("clt%d/D-%d" % (i % 5, i), json.dumps(e)))
    recs += recs  # every one twice
    ups = [ev("ph-u%d" % n, "customer.upserted", "clph",
              {"customer_id": "P-%d" % n, "name": "N", "phone": PHONE}, source="crm")
           for n in (1, 2)]
    stop = ev("sms/SM1", "contact.ceased", "clph", {"phone": PHONE, "channel": "sms"},
              source="arrears-gateway")
    recs += [("clph", json.dumps(r)) for r in ups + [stop]]
    env.produce_lines(recs)
    p = env.start(ARREARS_INGEST_BATCH=20)
    if not env.wait_committed(proc=p):
        print(env.logs())
        L.fail("ingest did not commit every inbound offset within 120 s")
    if env.stop(p) != 0:
        print(env.logs())
        L.fail("ingest did not exit 0 on SIGTERM")
    events = [json.loads(m["payload"]) for m in env.consume("events")]
    ids = sorted(e["id"] for e in events if e["id"].startswith("dup-"))
    if ids != sorted("dup-%d" % i for i in range(30)):
        L.fail("want each of the 30 events once, got %s" % ids)
    print("ok   30 events sent twice, on events once each")
    ceased = sorted(e["data"]["customer_id"] for e in events
                    if e["type"] == "contact.ceased" and e["tenant"] == "clph")
    if ceased != ["P-1", "P-2"]:
        print(env.logs())
        L.fail("the STOP by phone: want contact.ceased for P-1 and P-2, got %s" % ceased)
    host, port = h.cluster_node(url)
    key = "%s{clph}:p:%s" % (env.dedup_prefix + "phone:", PHONE)
    got = subprocess.run(["redis-cli", "-c", "-h", host, "-p", port, "SMEMBERS", key],
                         capture_output=True, text=True, timeout=30).stdout.split()
    if sorted(got) != ["P-1", "P-2"]:
        L.fail("%s: want P-1 and P-2, got %s" % (key, got))
    print("ok   the STOP by phone reached both customers; the phone index is tagged {tenant}")
finally:
    env.close()
