#!/usr/bin/env bash
# t_services_lifecycle.sh -- what every service owes an operator (issue 2):
#   * --help, --version answer; --check-config accepts a good environment and
#     rejects, naming the setting, a malformed broker list, an invalid Redis
#     URL and an unknown ARREARS_CLOCK format;
#   * started against the real stack, it consumes its input (poison included),
#     commits, and on SIGTERM exits 0 within 10 s with every offset committed.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${ARREARS_BIN:-bin}
: "${ARREARS_KAFKA_BROKERS:?}" "${ARREARS_REDIS_URL:?}"
export ARREARS_HTTP_ADDR=127.0.0.1:0 ARREARS_LOG_LEVEL=${ARREARS_LOG_LEVEL:-warn}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# service input-topic (the one whose offsets we check)
declare -A INPUT=([ingest]=inbound [scheduler]=events [notifier]=commands [reporter]=contacts)
tested=0
for svc in ingest scheduler notifier reporter; do
    bin=$BIN/arrears-$svc
    if [ ! -x "$bin" ]; then echo "note: $bin not built, skipped"; continue; fi
    tested=$((tested + 1))
    "$bin" --help >/dev/null || fail "$svc --help"
    "$bin" --version | grep -q "arrears-$svc" || fail "$svc --version"
    "$bin" --check-config >"$work/ok.out" 2>&1 || { cat "$work/ok.out"; fail "$svc rejects a good configuration"; }
    grep -q '^configuration OK$' "$work/ok.out" || fail "$svc --check-config does not say 'configuration OK'"
    ARREARS_REDIS_URL="redis://:pw-must-not-show@127.0.0.1:1/0" "$bin" --check-config >"$work/pw.out" 2>&1 || true
    if grep -q pw-must-not-show "$work/pw.out"; then fail "$svc --check-config prints the Redis password"; fi
    for bad in "ARREARS_KAFKA_BROKERS=localhost" "ARREARS_KAFKA_BROKERS=a:1,b" \
               "ARREARS_REDIS_URL=http://x:6379" "ARREARS_REDIS_URL=redis://h:notaport/0" \
               "ARREARS_CLOCK=fast" "ARREARS_CLOCK=2026-01-01T00:00:00Z@xyzx10"; do
        name=${bad%%=*}
        if env "$bad" "$bin" --check-config >"$work/bad.out" 2>&1; then
            fail "$svc accepted $bad"
        fi
        grep -q "$name" "$work/bad.out" || { cat "$work/bad.out"; fail "$svc: the error for $bad does not name $name"; }
    done
    # several problems at once are all named
    env ARREARS_KAFKA_BROKERS=x ARREARS_CLOCK=y "$bin" --check-config >"$work/bad.out" 2>&1 && fail "$svc accepted two bad settings"
    grep -q ARREARS_KAFKA_BROKERS "$work/bad.out" && grep -q ARREARS_CLOCK "$work/bad.out" \
        || fail "$svc does not name every bad setting at once"

    # Run it on private topics.
    prefix="it-life-$svc-$$."
    export ARREARS_TOPIC_PREFIX=$prefix ARREARS_GROUP_ID="it-life-$svc-$$"
    "$BIN/arrears-admin" create-topics --partitions 3 >/dev/null
    input="${prefix}${INPUT[$svc]}"
    produce() { # n
        for i in $(seq 1 "$1"); do
            case $((i % 3)) in
                0) echo "poison $i {";;
                1) printf '{"v":1,"id":"life-%s-%s","type":"customer.upserted","tenant":"life","source":"t","time":"2026-03-01T00:00:00.000Z","customer_id":"C%s","data":{"customer_id":"C%s","name":"N","email":"a@example.test","timezone":"UTC","locale":"en-GB","country":"GB","channels":["email"],"opted_out":[],"tags":[]}}\n' "$svc" "$RANDOM$i" "$i" "$i";;
                2) printf '{"specversion":"1.0","id":"x%s","source":"t","type":"nonsense","time":"2026-03-01T00:00:00Z"}\n' "$i";;
            esac
        done | kcat -P -X enable.idempotence=true -b "$ARREARS_KAFKA_BROKERS" -t "$input"
    }
    committed_all() {
        local line
        line=$("$BIN/arrears-admin" offsets "$ARREARS_GROUP_ID" "${INPUT[$svc]}" | tail -1)
        local c e
        c=$(sed 's/.*committed=\(-\{0,1\}[0-9]*\).*/\1/' <<<"$line")
        e=$(sed 's/.* end=\([0-9]*\).*/\1/' <<<"$line")
        [ "$e" -gt 0 ] && [ "$c" = "$e" ]
    }
    "$bin" >"$work/$svc.log" 2>&1 &
    pid=$!; pids+=("$pid")
    produce 20
    for _ in $(seq 1 120); do committed_all && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null || { tail -20 "$work/$svc.log"; fail "$svc died on its input (poison included)"; }
    committed_all || { tail -20 "$work/$svc.log"; "$BIN/arrears-admin" offsets "$ARREARS_GROUP_ID" "${INPUT[$svc]}"; fail "$svc did not commit its input within 60 s"; }
    produce 20
    sleep 3
    start=$(date +%s%N)
    kill -TERM "$pid"
    rc=0
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then fail "$svc still running 10 s after SIGTERM"; fi
    wait "$pid" || rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    [ "$rc" -eq 0 ] || { tail -20 "$work/$svc.log"; fail "$svc exited $rc on SIGTERM"; }
    committed_all || { "$BIN/arrears-admin" offsets "$ARREARS_GROUP_ID" "${INPUT[$svc]}"; fail "$svc exited without committing what it consumed"; }
    echo "ok: $svc: check-config rules, poison survived, SIGTERM exit 0 in ${ms} ms, offsets committed"
    unset ARREARS_TOPIC_PREFIX ARREARS_GROUP_ID
done
[ "$tested" -gt 0 ] || { echo "no service built yet"; exit 77; }
