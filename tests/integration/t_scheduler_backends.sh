#!/usr/bin/env bash
# t_scheduler_backends.sh -- the scheduler's data-driven cases
# (tests/data/scheduler/cases) through its engine over both store backends:
# the memory backend (the backtest's) and the real Redis of the stack. The
# unit binary test_scheduler_cases does the work (it runs the memory
# backend always, Redis when ARREARS_TEST_REDIS_URL is set) and requires
# both to publish exactly the records of its in-map double, in order.
# Then `arrears-admin explain` reads what one case left in Redis and must
# tell that invoice's story: sent, held, moved, and why.
set -euo pipefail
cd "$(dirname "$0")/../.."
T=${BUILD:-build}/tests/test_scheduler_cases
BIN=${ARREARS_BIN:-bin}
[[ -x $T ]] || { echo "skip: $T not built"; exit 77; }
: "${ARREARS_REDIS_URL:?needs the stack (tests/integration/run)}"
PREFIX="it-backends-$$-"
ARREARS_TEST_REDIS_URL=$ARREARS_REDIS_URL ARREARS_TEST_REDIS_PREFIX=$PREFIX "$T"

[[ -x $BIN/arrears-admin && -x $BIN/arrears-scheduler ]] || { echo "skip: explain: binaries not built"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
explain() { # case invoice -> stdout
  ARREARS_SCHEDULER_KEY_PREFIX="${PREFIX}$1:" ARREARS_POLICY="tests/data/scheduler/cases/$1/policy.json" \
    "$BIN/arrears-admin" explain acme "$2"
}
out=$(explain contact_outcomes I-3) || fail "explain exited non-zero: $out"
want() { grep -qF -- "$2" <<<"$1" || { echo "$1"; fail "explain does not say: $2"; }; }
want "$out" "invoice acme/I-3 (number N-I-3), debtor D-3"
want "$out" "2026-03-16T09:00:00.000Z  step 0 0d (attempt 1; email, due): sent"
want "$out" "2026-03-18T10:00:00.000Z  step 2 +2d (attempt 1; call_task, call): moved by after_conversation:7d"
want "$out" "2026-03-22T10:00:00.000Z  step 2 +2d (attempt 1; call_task, call): sent"
want "$out" "last conversation 2026-03-15"
out=$(explain contact_outcomes I-2) || fail "explain exited non-zero: $out"
want "$out" "2026-03-17T11:00:00.000Z  step 1 +1d (attempt 1; sms, sms_1): held"
out=$(explain promises I-3) || fail "explain exited non-zero: $out"
want "$out" "2026-03-15T00:00:00.000Z  promise broken: the ladder resumes"
out=$(explain promise_broken_notice I-3) || fail "explain exited non-zero: $out"
want "$out" "2026-03-15T08:00:00.000Z  promise-broken notice: sent"
out=$(explain interest_claim I-A) || fail "explain exited non-zero: $out"
want "$out" "2026-04-19T10:00:00.000Z  interest claim: sent"
# the hand-off (issue 16): held by the gate, placed on a retry, recalled
out=$(explain escalation I-2) || fail "explain exited non-zero: $out"
want "$out" "2026-03-31T08:00:00.000Z  step 1 +30d (attempt 1; letter, agency_handoff): held by the hand-off's gate (escalation:below_threshold)"
want "$out" "2026-03-31T12:00:00.000Z  step 1 +30d (attempt 1; letter, agency_handoff): handed to agency"
want "$out" "2026-03-31T12:00:00.000Z  hand-off: placed:case-a9b018380c4e22b9"
want "$out" "case case-a9b018380c4e22b9 with agency (placed): placed GBP 25000, remitted 0, commission 0"
out=$(explain escalation I-1) || fail "explain exited non-zero: $out"
want "$out" "2026-04-10T12:00:00.000Z  hand-off: recalled:case-4fe0a5c1b543b7d3"
want "$out" "2026-04-15T08:00:00.000Z  step 2 +45d (attempt 1; email, final_notice): sent"
# issue 17: a complaint ceases email and makes the address unusable
out=$(explain contact_feedback I-3) || fail "explain exited non-zero: $out"
want "$out" "unusable addresses (bounced or complained) ,f-3@x.test,"
want "$out" "2026-03-30T09:00:00.000Z  step 2 14d (attempt 1; email, final): held (opted out, ceased, wrong number, unusable address or no channel)"
# a customer.upserted with a new email drops the bounced one
out=$(explain contact_feedback I-1) || fail "explain exited non-zero: $out"
grep -qF "unusable addresses" <<<"$out" && fail "F-1's new email is usable: $out"
want "$out" "2026-03-30T09:00:00.000Z  step 2 14d (attempt 1; email, final): sent"
set +e
explain promises I-404 >/dev/null 2>&1
rc=$?
set -e
[[ $rc != 0 ]] || fail "explain of an unknown invoice must fail"
echo "ok: cases equal over memory and Redis; explain tells sent, held, moved, broken, handed over and unusable"
