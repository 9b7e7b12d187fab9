#!/usr/bin/env bash
# tests/integration/t_stack.sh -- integration test of the local stack itself
# (deploy/local/stack), run by tests/integration/run.
#
# 1. The stack in the environment: kcat -L lists all 9 topics with the right
#    partition count; Redis answers PING with AOF on.
# 2. A second, private stack (own temp dir, other free ports): `up` prints
#    exactly the two export lines, a second `up` is harmless (same pids,
#    same output), `status` sees it, `down` leaves no process behind and
#    frees the ports.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STACK=$REPO/deploy/local/stack
PREFIX=${ARREARS_TOPIC_PREFIX-arrears.}
PARTITIONS=${ARREARS_PARTITIONS:-6}
TOPICS=(inbound events ingest.dlq commands contacts tasks escalations reports reports.requests)

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

for tool in kcat redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "skip: $tool not installed"; exit 77; }
done
[[ -n ${ARREARS_KAFKA_BROKERS:-} && -n ${ARREARS_REDIS_URL:-} ]] ||
  fail "ARREARS_KAFKA_BROKERS and ARREARS_REDIS_URL must be set (run me via tests/integration/run)"

# check_topics BROKERS -- every topic listed with $PARTITIONS partitions.
check_topics() {
  local md t line
  md=$(kcat -b "$1" -L -m 10) || fail "kcat -L -b $1 failed"
  for t in "${TOPICS[@]}"; do
    line=$(grep -F "topic \"$PREFIX$t\" with " <<<"$md") || fail "topic $PREFIX$t missing on $1"
    [[ $line == *" with $PARTITIONS partitions:"* ]] ||
      fail "topic $PREFIX$t: want $PARTITIONS partitions, kcat says: $line"
  done
  ok "$1 lists ${#TOPICS[@]} topics '$PREFIX*' with $PARTITIONS partitions each"
}

# check_redis URL -- PING answers PONG, appendonly is yes.
check_redis() {
  local pong aof
  pong=$(redis-cli -u "$1" ping 2>&1) || fail "redis-cli ping $1: $pong"
  [[ $pong == PONG ]] || fail "redis-cli ping $1 answered: $pong"
  aof=$(redis-cli -u "$1" config get appendonly | tail -n 1)
  [[ $aof == yes ]] || fail "appendonly is '$aof' on $1"
  ok "$1 answers PONG, appendonly yes"
}

# ---------------------------------------------------------------- 1. the given stack
check_topics "$ARREARS_KAFKA_BROKERS"
check_redis "$ARREARS_REDIS_URL"

# ---------------------------------------------------------------- 2. a second stack
DIR2=$(mktemp -d "${TMPDIR:-/tmp}/arrears-t_stack.XXXXXX")
cleanup() {
  ARREARS_STACK_DIR=$DIR2 "$STACK" down >/dev/null 2>&1 || true
  rm -rf "$DIR2"
}
trap cleanup EXIT

read -r KP CP RP < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')

stack2() {
  ARREARS_STACK_DIR=$DIR2 ARREARS_STACK_KAFKA_PORT=$KP ARREARS_STACK_CONTROLLER_PORT=$CP \
    ARREARS_STACK_REDIS_PORT=$RP "$STACK" "$@"
}

alive() { # pid -- running and not a zombie
  local stat
  read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

want="export ARREARS_KAFKA_BROKERS=127.0.0.1:$KP
export ARREARS_REDIS_URL=redis://127.0.0.1:$RP/0"

t0=$(date +%s%N)
out1=$(stack2 up 2>"$DIR2/up1.err") || { cat "$DIR2/up1.err" >&2; fail "second stack: up failed"; }
ms=$((($(date +%s%N) - t0) / 1000000))
[[ $out1 == "$want" ]] || fail "up printed on stdout:
$out1
want:
$want"
ok "second stack up in ${ms} ms on ports $KP/$CP/$RP; stdout is exactly the two export lines"

kpid=$(cat "$DIR2/kafka/kafka.pid")
rpid=$(cat "$DIR2/redis/redis.pid")
alive "$kpid" || fail "Kafka pid $kpid from the pid file is not running"
alive "$rpid" || fail "Redis pid $rpid from the pid file is not running"
check_topics "127.0.0.1:$KP"
check_redis "redis://127.0.0.1:$RP/0"

out2=$(stack2 up 2>"$DIR2/up2.err") || { cat "$DIR2/up2.err" >&2; fail "second up failed"; }
[[ $out2 == "$want" ]] || fail "second up printed: $out2"
[[ $(cat "$DIR2/kafka/kafka.pid") == "$kpid" && $(cat "$DIR2/redis/redis.pid") == "$rpid" ]] ||
  fail "second up changed the pids"
grep -q 'already running' "$DIR2/up2.err" || fail "second up did not reuse the running stack"
alive "$kpid" && alive "$rpid" || fail "second up lost a process"
ok "second up is harmless (same pids $kpid/$rpid, same output)"

st=$(stack2 status) || fail "status exited non-zero on a running stack: $st"
grep -Eq "^kafka +running +pid $kpid " <<<"$st" || fail "status: $st"
grep -Eq "^redis +running +pid $rpid " <<<"$st" || fail "status: $st"
ok "status reports both running"

stack2 down 2>"$DIR2/down.err" || { cat "$DIR2/down.err" >&2; fail "down failed"; }
for pid in "$kpid" "$rpid"; do
  ! alive "$pid" || fail "pid $pid still running after down: $(ps -o pid,cmd -p "$pid" | tail -n 1)"
done
for port in "$KP" "$CP" "$RP"; do
  ! port_open "$port" || fail "port $port still open after down"
done
left=$(find /proc -mindepth 2 -maxdepth 2 -name cwd -lname "$DIR2*" -printf '%h\n' 2>/dev/null || true)
[[ -z $left ]] || fail "processes still running in $DIR2 after down: $left"
rc=0
stack2 status >/dev/null || rc=$?
((rc == 3)) || fail "status after down exited $rc, want 3"
ok "down left no process behind (pids $kpid $rpid gone, ports free)"
