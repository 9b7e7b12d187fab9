#!/usr/bin/env bash
# t_reporter_replay.sh -- `arrears-reporter replay` on every ledger of
# tests/data/reporter: the printed reports equal expected.json (worked out
# by tests/data/reporter/expected.py), a bad line is named on stderr and
# skipped, bad options are refused. Needs no broker.
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
# bad usage
for bad in "--at 2026-03-31" "--events x --at 2026-02-30" "--events /nonexistent --at 2026-03-31" "--events x --at 2026-03-31 --type dso" "--bogus"; do
    # shellcheck disable=SC2086
    if "$BIN/arrears-reporter" replay $bad >/dev/null 2>&1; then fail "replay accepted: $bad"; fi
done
echo "ok: replay matches $n ledgers, names bad lines, prints tables, refuses bad usage"
