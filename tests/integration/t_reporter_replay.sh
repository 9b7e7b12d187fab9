#!/usr/bin/env bash
# t_reporter_replay.sh -- `arrears-reporter replay` on every ledger of
# tests/data/reporter: the printed reports equal expected.json (worked out
# by tests/data/reporter/expected.py), a bad line is named on stderr and
# skipped, the scheduler's backtest output is read (--backtest), bad options
# are refused. Needs no broker.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${ARREARS_BIN:-bin}
[ -x "$BIN/arrears-reporter" ] || { echo "SKIP: $BIN/arrears-reporter not built"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
n=0
for dir in tests/data/reporter/*/; do
    [ -f "$dir/expected.json" ] || continue
    args=(replay --events "$dir/events.jsonl" --at "$(cat "$dir/at.txt")")
    [ -f "$dir/contacts.jsonl" ] && args+=(--contacts "$dir/contacts.jsonl")
    "$BIN/arrears-reporter" "${args[@]}" >"$work/out.jsonl" 2>"$work/err" || { cat "$work/err"; fail "replay $dir exited non-zero"; }
    python3 tests/data/reporter/compare.py "$dir/expected.json" "$work/out.jsonl" || fail "replay $dir differs from expected.json"
    python3 tests/data/reporter/expected.py "$dir" --check || fail "$dir/expected.json is not what expected.py computes"
    n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no ledger found"
# ledger1 has one line with an amount more precise than EUR allows
"$BIN/arrears-reporter" replay --events tests/data/reporter/ledger1/events.jsonl --at 2026-03-31 >/dev/null 2>"$work/err"
grep -q 'events.jsonl:43: data.amount: ' "$work/err" || { cat "$work/err"; fail "the bad line is not named"; }
# tables
"$BIN/arrears-reporter" replay --events tests/data/reporter/ledger1/events.jsonl --at 2026-03-31 --tenant acme --type aging --table >"$work/t" 2>/dev/null
grep -q '^  1-30  *3  *1550.50$' "$work/t" || { cat "$work/t"; fail "table output"; }
# the scheduler's backtest output: commands are delivered contacts at their
# created_at, a scheduler event no report reads (plan.completed; an
# escalation step publishes only its command since invoice.escalated is
# gone) is applied, the decision is ignored, a bad line is named;
# --contacts takes the same lines
bt_cmd() { # customer invoice step channel variant created_at scheduled_at
    printf '{"at":"%s","topic":"commands","key":"acme/%s","record":{"v":1,"command_id":"acme/inv/%s/step/%s/attempt/1","kind":"reminder","tenant":"acme","channel":"%s","template":"t","strategy":"default","variant":"%s","step":%s,"created_at":"%s","scheduled_at":"%s","customer":{"customer_id":"%s"},"currency":"EUR","amounts":{"total":100},"invoices":[{"invoice_id":"%s"}]}}\n' \
        "$6" "$1" "$2" "$3" "$4" "$5" "$3" "$6" "$7" "$1" "$2"
}
{
    bt_cmd C-1 INV-1 1 email A 2026-03-02T09:00:00.000Z 2026-03-02T09:00:00.000Z
    bt_cmd C-2 INV-3 1 email B 2026-03-02T09:00:00.000Z 2026-03-02T09:00:00.000Z
    echo '{"at":"2026-03-09T09:00:00.000Z","topic":"decisions","key":"acme/C-2","record":{"invoice_id":"INV-3","step":2,"rule":"opted_out"}}'
    bt_cmd C-2 INV-3 2 sms B 2026-03-12T09:00:00.000Z 2026-03-09T09:00:00.000Z
    echo '{"at":"2026-03-16T09:00:00.000Z","topic":"events","key":"acme/C-2","record":{"v":1,"id":"PL-3/completed","source":"arrears-scheduler","type":"plan.completed","tenant":"acme","time":"2026-03-16T09:00:00.000Z","customer_id":"C-2","data":{"customer_id":"C-2","plan_id":"PL-3","invoice_ids":["INV-3"],"currency":"EUR","total_minor":100,"paid_minor":100}}}'
    echo '{"at":"2026-03-16T09:00:00.000Z","topic":"commands","key":"acme/C-2","record":{"v":1,"command_id":"acme/x","tenant":"acme"}}'
} >"$work/backtest.jsonl"
"$BIN/arrears-reporter" replay --events tests/data/reporter/ledger1/events.jsonl --backtest "$work/backtest.jsonl" \
    --at 2026-03-31 --tenant acme --type effectiveness --table >"$work/bt" 2>"$work/err" || { cat "$work/err"; fail "replay --backtest exited non-zero"; }
grep -q 'backtest.jsonl:6: record.created_at: required' "$work/err" || { cat "$work/err"; fail "the bad backtest line is not named"; }
grep -q 'backtest.jsonl:[35]:' "$work/err" && { cat "$work/err"; fail "a decision or a scheduler event line was refused"; }
grep -q '^replay: 1 decision line(s) ignored$' "$work/err" || { cat "$work/err"; fail "the decision is not counted"; }
grep -Eq '^  default +A +1 email +1 +0 +1 ' "$work/bt" || { cat "$work/bt"; fail "backtest: A step 1 email"; }
grep -Eq '^  default +B +1 email +1 +0 +1 ' "$work/bt" || { cat "$work/bt"; fail "backtest: B step 1 email"; }
grep -Eq '^  default +B +2 sms +1 +0 +1 ' "$work/bt" || { cat "$work/bt"; fail "backtest: B step 2 sms"; }
[ "$(grep -Ec '^  default ' "$work/bt")" -eq 3 ] || { cat "$work/bt"; fail "backtest: rows"; }
"$BIN/arrears-reporter" replay --events tests/data/reporter/ledger1/events.jsonl --contacts "$work/backtest.jsonl" \
    --at 2026-03-31 --tenant acme --type effectiveness --table >"$work/bt2" 2>/dev/null
cmp -s "$work/bt" "$work/bt2" || fail "--contacts reads the backtest lines differently from --backtest"
# bad usage
for bad in "--at 2026-03-31" "--backtest /nonexistent --at 2026-03-31" "--events x --at 2026-02-30" "--events /nonexistent --at 2026-03-31" "--events x --at 2026-03-31 --type dso" "--bogus"; do
    # shellcheck disable=SC2086
    if "$BIN/arrears-reporter" replay $bad >/dev/null 2>&1; then fail "replay accepted: $bad"; fi
done
echo "ok: replay matches $n ledgers, names bad lines, prints tables, reads backtest output, refuses bad usage"
