#!/usr/bin/env bash
# t_redis_cluster.sh -- common/redis against a real Redis Cluster: starts
# `deploy/local/stack up --redis-cluster` (3 masters, 3 replicas) in the
# runner's stack dir on free ports below the ephemeral range (its Kafka
# is reused), runs it_redis_cluster (spread, pipelines, scripts, ASK,
# MOVED, failover, a killed master), checks that its log shows the
# redirections and a map reload, runs the notifier and ingest on it
# (cluster_notifier.py, cluster_ingest.py), the scheduler's data-driven
# cases through its engine in the cluster key layout (test_scheduler_cases:
# every commit and peek one script on one slot, the records published equal
# to its in-map double's) and `arrears-admin explain` of one of them, and
# stops the cluster.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ -n ${ARREARS_STACK_DIR:-} ]] || { echo "skip: needs the runner's stack (ARREARS_STACK_DIR)"; exit 77; }

# 6 consecutive free ports for the nodes and 6 for their cluster bus, all
# below the ephemeral range (an outgoing connection cannot take one)
read -r base bus < <(PYTHONPATH=tests/sinks python3 -c 'import harness; print(*harness.cluster_ports())')
[[ -n ${bus:-} ]] || { echo "no free ports for the cluster"; exit 1; }
export ARREARS_STACK_REDIS_CLUSTER_PORT=$base ARREARS_STACK_REDIS_CLUSTER_BUS_PORT=$bus
trap 'deploy/local/stack down --redis-cluster' EXIT
exports=$(deploy/local/stack up --redis-cluster)
eval "$exports"
echo "cluster: $ARREARS_REDIS_URL (bus from $bus)"
redis-cli -p "$base" cluster nodes | head -n 2
out=$(mktemp "${TMPDIR:-/tmp}/it_redis_cluster.XXXXXX")
rc=0
"${BUILD:-build}/tests/it_redis_cluster" >"$out" 2>&1 || rc=$?
cat "$out"
# the paths under test were taken, not skipped by luck
for want in '"redis cluster: ASK slot' '"redis cluster: MOVED slot' 'redis cluster: slot map reloaded'; do
  grep -qF "$want" "$out" || { echo "FAIL: no log line with $want"; rc=1; }
done
# the services on the cluster: the notifier (a command's claim and outcome
# keyed {<id>}) and ingest (its window; the phone index keyed {<tenant>})
python3 tests/integration/cluster_notifier.py || rc=1
python3 tests/integration/cluster_ingest.py || rc=1
# the scheduler's engine in the cluster layout (tagged per partition)
T=${BUILD:-build}/tests/test_scheduler_cases BIN=${ARREARS_BIN:-bin}
SPFX="it-cluster-$$-"
if ARREARS_TEST_REDIS_URL=$ARREARS_REDIS_URL ARREARS_TEST_REDIS_PREFIX=$SPFX "$T" >"$out" 2>&1; then
  grep -E '^\[ +PASSED' "$out" || true
else
  grep -vF '"level":"warn"' "$out" | tail -n 30
  echo "FAIL: the scheduler's cases on the cluster"
  rc=1
fi
# a case's invoice is in partition 2's tag; explain finds it by the layout
live=$base # the failover tests killed a node: a live one
for ((p = base; p < base + 6; p++)); do
  [[ $(redis-cli -h 127.0.0.1 -p "$p" ping 2>/dev/null) == PONG ]] && { live=$p; break; }
done
redis-cli -c -h 127.0.0.1 -p "$live" set "${SPFX}contact_outcomes:layout" 4 >/dev/null
ex=$(ARREARS_SCHEDULER_KEY_PREFIX="${SPFX}contact_outcomes:" \
  ARREARS_POLICY=tests/data/scheduler/cases/contact_outcomes/policy.json \
  "$BIN/arrears-admin" explain acme I-3 2>&1) || true
for want in "keys ${SPFX}contact_outcomes:{p2." "invoice acme/I-3 (number N-I-3), debtor D-3" \
  "2026-03-22T10:00:00.000Z  step 2 +2d (attempt 1; call_task, call): sent"; do
  grep -qF -- "$want" <<<"$ex" || { echo "$ex"; echo "FAIL: explain on the cluster does not say: $want"; rc=1; }
done
rm -f "$out"
exit "$rc"
