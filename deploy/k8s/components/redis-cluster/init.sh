#!/bin/sh
# init.sh -- create the example Redis Cluster once (the Job redis-cluster-init,
# components/redis-cluster; docs/deploy.md "Redis Cluster").
#   1. waits until each of the N nodes answers PING (the Job's
#      activeDeadlineSeconds bounds the wait);
#   2. if a node says cluster_state:ok, there is nothing to do: exit 0 (a
#      re-run, a re-created Job);
#   3. if a node already knows other nodes but the cluster is not ok (being
#      formed, or broken), it is left alone: exit 1, the Job retries with
#      backoff and an operator looks if it keeps failing;
#   4. otherwise: redis-cli --cluster create with --cluster-replicas 1
#      (N/2 masters, one replica each), by IP (CLUSTER MEET takes no
#      names), then waits for cluster_state:ok on every node.
set -u
N=${REDIS_CLUSTER_NODES:-6}
hosts=
i=0
while [ "$i" -lt "$N" ]; do
    hosts="$hosts redis-cluster-$i.redis-cluster"
    i=$((i + 1))
done
cli() { h=$1; shift; redis-cli --no-auth-warning --user arrears -h "$h" -p 6379 "$@"; }

for h in $hosts; do
    until [ "$(cli "$h" ping 2>/dev/null)" = PONG ]; do
        echo "init: waiting for $h"
        sleep 2
    done
done

for h in $hosts; do
    info=$(cli "$h" cluster info | tr -d '\r')
    case $info in
        *cluster_state:ok*)
            echo "init: $h says cluster_state:ok: the cluster exists, nothing to do"
            exit 0 ;;
    esac
    known=$(printf '%s\n' "$info" | sed -n 's/^cluster_known_nodes://p')
    if [ "$known" != 1 ]; then
        echo "init: $h knows $known nodes but the cluster is not ok: not touching it" >&2
        exit 1
    fi
done

addrs=
for h in $hosts; do
    ip=$(getent hosts "$h" | head -n 1 | cut -d ' ' -f 1)
    if [ -z "$ip" ]; then
        echo "init: cannot resolve $h" >&2
        exit 1
    fi
    addrs="$addrs $ip:6379"
done
echo "init: creating the cluster of$addrs"
# shellcheck disable=SC2086 # one argument per node
redis-cli --no-auth-warning --user arrears --cluster create $addrs \
    --cluster-replicas 1 --cluster-yes || exit 1

for h in $hosts; do
    until cli "$h" cluster info | tr -d '\r' | grep -q '^cluster_state:ok$'; do
        echo "init: waiting for $h to say cluster_state:ok"
        sleep 1
    done
done
echo "init: cluster created"
