#!/usr/bin/env bash
# t_redis_cluster.sh -- common/redis against a real Redis Cluster: starts
# `deploy/local/stack up --redis-cluster` (3 masters, 3 replicas) in the
# runner's stack dir on free ports below the ephemeral range (its Kafka
# is reused), runs it_redis_cluster (spread, pipelines, scripts, ASK,
# MOVED, failover, a killed master), checks that its log shows the
# redirections and a map reload, runs the notifier and ingest on it
# (cluster_notifier.py, cluster_ingest.py), and stops the cluster.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ -n ${ARREARS_STACK_DIR:-} ]] || { echo "skip: needs the runner's stack (ARREARS_STACK_DIR)"; exit 77; }

# 6 consecutive free ports for the nodes and 6 for their cluster bus, all
# below the ephemeral range (an outgoing connection cannot take one)
read -r base bus < <(python3 - <<'PY'
import random, socket
try:
    lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except Exception:
    lo = 32768
def free(b):
    socks = []
    try:
        for p in range(b, b + 6):
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()
picked = []
for lo_, hi in ((20000, lo - 6), (10000, 20000 - 6)):
    for _ in range(200):
        b = random.randrange(lo_, hi)
        if free(b):
            picked.append(b)
            break
print(*picked)
PY
)
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
rm -f "$out"
# the services on the cluster: the notifier (a command's claim and outcome
# keyed {<id>}) and ingest (its window; the phone index keyed {<tenant>})
python3 tests/integration/cluster_notifier.py || rc=1
python3 tests/integration/cluster_ingest.py || rc=1
exit "$rc"
