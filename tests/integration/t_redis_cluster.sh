#!/usr/bin/env bash
# t_redis_cluster.sh -- common/redis against a real Redis Cluster: starts
# `deploy/local/stack up --redis-cluster` (3 masters, 3 replicas) in the
# runner's stack dir on 6 free ports (its Kafka is reused), runs
# it_redis_cluster (spread, pipelines, scripts, ASK, MOVED, failover, a
# killed master) and stops the cluster.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ -n ${ARREARS_STACK_DIR:-} ]] || { echo "skip: needs the runner's stack (ARREARS_STACK_DIR)"; exit 77; }

# 6 consecutive free ports whose cluster-bus ports (+10000) are free too
base=$(python3 - <<'PY'
import random, socket
for _ in range(200):
    b = random.randrange(20000, 30000)
    socks = []
    try:
        for p in list(range(b, b + 6)) + list(range(b + 10000, b + 10006)):
            s = socket.socket()
            s.bind(("127.0.0.1", p))
            socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(b)
    break
PY
)
[[ -n $base ]] || { echo "no 6 free ports"; exit 1; }
export ARREARS_STACK_REDIS_CLUSTER_PORT=$base
trap 'deploy/local/stack down --redis-cluster' EXIT
exports=$(deploy/local/stack up --redis-cluster)
eval "$exports"
echo "cluster: $ARREARS_REDIS_URL"
out=$(mktemp "${TMPDIR:-/tmp}/it_redis_cluster.XXXXXX")
rc=0
"${BUILD:-build}/tests/it_redis_cluster" >"$out" 2>&1 || rc=$?
cat "$out"
# the paths under test were taken, not skipped by luck
for want in '"redis cluster: ASK slot' '"redis cluster: MOVED slot' 'redis cluster: slot map reloaded'; do
  grep -qF "$want" "$out" || { echo "FAIL: no log line with $want"; rc=1; }
done
rm -f "$out"
exit "$rc"
