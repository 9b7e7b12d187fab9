#!/usr/bin/env bash
# t_tools_publish.sh -- arrears-publish and arrears-genledger against the
# real Kafka: CSV and CloudEvents JSON lines land on <prefix>inbound keyed
# tenant/customer_id with the CloudEvents content-type header, every line
# once; bad lines are named (file:line: field: rule) and give exit 1 while
# the good ones still go out; --paced follows the scaled clock's order.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${ARREARS_BIN:-bin}
for b in arrears-publish arrears-genledger arrears-admin; do
  [[ -x $BIN/$b ]] || { echo "skip: $BIN/$b not built"; exit 77; }
done
command -v kcat >/dev/null || { echo "skip: kcat not installed"; exit 77; }
: "${ARREARS_KAFKA_BROKERS:?needs the stack (tests/integration/run)}"

export ARREARS_TOPIC_PREFIX="it-tools-pub-$$-$(date +%s)."
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$BIN/arrears-admin" create-topics --partitions 3 inbound >/dev/null

consume() { # count -> key<TAB>headers<TAB>value lines
  kcat -C -b "$ARREARS_KAFKA_BROKERS" -t "${ARREARS_TOPIC_PREFIX}inbound" -o beginning \
    -c "$1" -e -q -f '%k\t%h\t%s\n' 2>/dev/null
}

# 1. CSV with one bad row among good ones.
cat >"$T/in.csv" <<'CSV'
type,id,time,customer_id,name,email,phone,timezone,invoice_id,number,currency,amount,issued_on,due_on,payment_id,received_on,allocations
customer.upserted,c1,2026-03-01T08:00:00Z,C-1,"Ada, Ltd",ap@ada.example.test,+447700900123,Europe/London,,,,,,,,,
invoice.issued,i1,2026-03-01T09:00:00Z,C-1,,,,,INV-1,2026-0001,GBP,120.50,2026-03-01,2026-03-31,,,
invoice.issued,i2,2026-03-01T09:00:00Z,C-1,,,,,INV-2,2026-0002,GBP,1.005,2026-03-01,2026-03-31,,,
payment.received,p1,2026-03-10T12:00:00Z,C-1,,,,,,,GBP,120.50,,,PAY-1,2026-03-10,INV-1:120.50
CSV
set +e
ARREARS_TOPIC_PREFIX=$ARREARS_TOPIC_PREFIX "$BIN/arrears-publish" --tenant acme "$T/in.csv" 2>"$T/err1"
rc=$?
set -e
cat "$T/err1"
[[ $rc == 1 ]] || fail "a rejected CSV row must give exit 1, got $rc"
grep -q "in.csv:4: amount: more than 2 decimal" "$T/err1" || fail "the bad row is not named by line and field"
grep -q "4 read, 3 published, 3 delivered, 1 rejected, 0 failed" "$T/err1" || fail "wrong summary"

consume 3 >"$T/out1"
[[ $(wc -l <"$T/out1") == 3 ]] || fail "expected 3 records, got $(wc -l <"$T/out1")"
python3 - "$T/out1" <<'PY' || fail "CSV records wrong"
import json, sys
recs = [l.rstrip("\n").split("\t", 2) for l in open(sys.argv[1])]
byid = {}
for key, hdrs, val in recs:
    ev = json.loads(val)
    assert key == "acme/C-1", key
    assert "content-type=application/cloudevents+json" in hdrs, hdrs
    assert ev["specversion"] == "1.0" and ev["tenant"] == "acme", ev
    byid[ev["id"]] = ev
assert set(byid) == {"c1", "i1", "p1"}, byid.keys()
assert byid["i1"]["data"]["amount"] == "120.50"
assert byid["c1"]["data"]["name"] == "Ada, Ltd"
assert byid["p1"]["data"]["allocations"] == [{"invoice_id": "INV-1", "amount": "120.50"}]
PY

# 2. JSON lines from genledger, paced by a fast scaled clock, plus a bad line.
"$BIN/arrears-genledger" -q --customers 5 --invoices 20 --days 20 --seed 9 --tenant t9 >"$T/l.jsonl"
n=$(wc -l <"$T/l.jsonl")
{ head -n 3 "$T/l.jsonl"; echo '{"specversion":"1.0","id":"x"}'; tail -n +4 "$T/l.jsonl"; } >"$T/l2.jsonl"
start=$(head -1 "$T/l.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["time"])')
set +e
ARREARS_CLOCK="$start@$(date +%s)x2000000" "$BIN/arrears-publish" --paced "$T/l2.jsonl" 2>"$T/err2"
rc=$?
set -e
cat "$T/err2"
[[ $rc == 1 ]] || fail "a rejected JSON line must give exit 1, got $rc"
grep -q "l2.jsonl:4: source: required" "$T/err2" || fail "bad JSON line not named"
consume $((3 + n)) >"$T/out2"
python3 - "$T/out2" "$T/l.jsonl" <<'PY' || fail "JSON lines records wrong"
import json, sys
recs = [l.rstrip("\n").split("\t", 2) for l in open(sys.argv[1])][3:]
src = [json.loads(l) for l in open(sys.argv[2])]
got = {}
for key, hdrs, val in recs:
    ev = json.loads(val)
    assert key == "t9/" + ev["data"]["customer_id"], key
    assert ev["id"] not in got, "duplicate " + ev["id"]
    got[ev["id"]] = ev
assert got == {e["id"]: e for e in src}, "published set differs from the ledger"
# per key (one partition), the order is the ledger's (time) order
order = {e["id"]: i for i, e in enumerate(src)}
last = {}
for key, hdrs, val in recs:
    i = order[json.loads(val)["id"]]
    assert last.get(key, -1) < i, "order broken for " + key
    last[key] = i
PY

# 3. Republishing the same CSV rows keeps their ids (ingest de-duplicates).
printf 'type,customer_id,invoice_id\ninvoice.voided,C-2,INV-9\n' >"$T/v.csv"
"$BIN/arrears-publish" --dry-run "$T/v.csv" 2>/dev/null >"$T/d1"
"$BIN/arrears-publish" --dry-run "$T/v.csv" 2>/dev/null >"$T/d2"
id1=$(cut -f2 "$T/d1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
id2=$(cut -f2 "$T/d2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
[[ $id1 == "$id2" && $id1 == csv-* ]] || fail "CSV row ids not stable: $id1 $id2"

# 4. A header with an unknown column is a usage error (exit 2), nothing sent.
printf 'type,customer_id,amuont\n' >"$T/h.csv"
set +e
"$BIN/arrears-publish" "$T/h.csv" 2>"$T/err4"; rc=$?
set -e
[[ $rc == 2 ]] && grep -q "unknown column 'amuont'" "$T/err4" || fail "unknown column not refused (rc $rc)"
# 5. A record that cannot be delivered (no such topic) names its line and
#    gives exit 1.
set +e
ARREARS_TOPIC_PREFIX="${ARREARS_TOPIC_PREFIX}missing." ARREARS_KAFKA_MESSAGE_TIMEOUT_MS=3000 \
  "$BIN/arrears-publish" "$T/v.csv" 2>"$T/err5"; rc=$?
set -e
cat "$T/err5"
[[ $rc == 1 ]] && grep -q "v.csv:2: delivery failed" "$T/err5" &&
  grep -q "1 read, 1 published, 0 delivered, 0 rejected, 1 failed" "$T/err5" ||
  fail "an undeliverable record must name its line and give exit 1 (rc $rc)"
echo "ok"
