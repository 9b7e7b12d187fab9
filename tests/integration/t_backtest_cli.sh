#!/usr/bin/env bash
# t_backtest_cli.sh -- `arrears-scheduler backtest` from the command line
# (docs/backtest.md): the output is byte-identical under another TZ and
# locale; bad, out-of-order and ignored lines are named by line number and
# counted while the run goes on, and --strict stops at the first; the
# --json-summary counts; --compare of a policy with itself differs by
# nothing; --from/--until bound every record's `at`; the worked example of
# docs/backtest.md is what the binary prints today; arrears-reporter replay
# reads the output. Needs no broker and no Redis.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${ARREARS_BIN:-bin}
for b in arrears-scheduler arrears-genledger arrears-reporter; do
  [[ -x $BIN/$b ]] || { echo "skip: $BIN/$b not built"; exit 77; }
done
command -v python3 >/dev/null || { echo "skip: python3 not installed"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
POLICY=deploy/config/policy.json
EXAMPLE=docs/examples/backtest-ledger.jsonl
bt() { "$BIN/arrears-scheduler" backtest "$@"; }

"$BIN/arrears-genledger" -q --customers 50 --invoices 300 --days 40 --mix full >"$T/ledger.jsonl"

# 1. determinism: the same ledger twice, the second time under another zone
# and locale, gives the same bytes.
other_locale=C.UTF-8
if locale -a 2>/dev/null | grep -qix 'de_DE\.utf-\?8'; then other_locale=de_DE.UTF-8; fi
TZ=UTC LC_ALL=C bt --policy "$POLICY" --events "$T/ledger.jsonl" >"$T/run1" 2>"$T/err1" ||
  { cat "$T/err1"; fail "backtest of the generated ledger exited non-zero"; }
TZ=America/New_York LC_ALL=$other_locale bt --policy "$POLICY" --events "$T/ledger.jsonl" \
  >"$T/run2" 2>"$T/err2" || { cat "$T/err2"; fail "backtest under TZ=America/New_York exited non-zero"; }
[[ -s $T/run1 ]] || fail "backtest of the generated ledger printed nothing"
grep -q '"topic":"commands"' "$T/run1" || fail "no command in the generated ledger's backtest"
grep -q '"topic":"decisions"' "$T/run1" || fail "no decision in the generated ledger's backtest (full mix has opt-outs)"
cmp -s "$T/run1" "$T/run2" ||
  fail "stdout differs between TZ=UTC LC_ALL=C and TZ=America/New_York LC_ALL=$other_locale (first difference: $(cmp "$T/run1" "$T/run2" | head -1))"

# 2. a ledger with problems: bad JSON (line 5), a missing field (6), an
# unknown type (7), an out-of-order line (10) and a promise.made (12).
{
  sed -n 1,4p "$EXAMPLE"
  echo '{"specversion":"1.0","id":"broken",'
  sed -n 5p "$EXAMPLE" | sed 's/"source":"billing",//'
  sed -n 6p "$EXAMPLE" | sed 's/"type":"invoice.issued"/"type":"invoice.frobbed"/'
  sed -n 6,7p "$EXAMPLE"
  sed -n 4p "$EXAMPLE" | sed 's/"id":"bt-ex-04"/"id":"bt-ex-04-again"/'
  sed -n '8,$p' "$EXAMPLE"
} >"$T/bad.jsonl"
grep -q '"type":"promise.made"' <(sed -n 12p "$T/bad.jsonl") || fail "test setup: line 12 is not the promise.made"
set +e
bt --policy "$POLICY" --events "$T/bad.jsonl" --json-summary "$T/bad-summary.json" >"$T/bad.out" 2>"$T/bad.err"
rc=$?
set -e
[[ $rc == 0 ]] || { cat "$T/bad.err"; fail "problem lines must not stop a run without --strict (exit $rc)"; }
expect_err() { # line regex what
  grep -Eq "bad\.jsonl:$1: $2" "$T/bad.err" || { cat "$T/bad.err"; fail "stderr does not name $3 on line $1"; }
}
expect_err 5 '.*not valid JSON' "the line that is not JSON"
expect_err 6 'source: required' "the missing source"
expect_err 7 "type: unknown event type 'invoice\.frobbed'" "the unknown type"
expect_err 10 'time: out of order' "the out-of-order line"
grep -Eq 'bad\.jsonl:(1|2|3|4|8|9|11|12|13|14|15|16):' "$T/bad.err" &&
  { cat "$T/bad.err"; fail "a good line (or the promise.made) was reported as a problem"; }
grep -q '"topic":"commands"' "$T/bad.out" || fail "the run with problem lines printed no command"
grep -q 'acme/inv/INV-103/step/0/attempt/1' "$T/bad.out" || fail "a good invoice after the bad lines got no reminder"
set +e
bt --policy "$POLICY" --events "$T/bad.jsonl" --strict >"$T/strict.out" 2>"$T/strict.err"
rc=$?
set -e
[[ $rc == 1 ]] || { cat "$T/strict.err"; fail "--strict must exit 1 at the first problem, got $rc"; }
grep -q 'bad\.jsonl:5: ' "$T/strict.err" || { cat "$T/strict.err"; fail "--strict does not name the first problem (line 5)"; }
grep -Eq 'bad\.jsonl:(6|7|10):' "$T/strict.err" && { cat "$T/strict.err"; fail "--strict went on past the first problem"; }

# 3. --json-summary: valid JSON whose counts match the ledger and stdout.
python3 - "$T/bad-summary.json" "$T/bad.out" <<'PY' || fail "--json-summary counts are wrong"
import json, sys
s = json.load(open(sys.argv[1]))
want = {"lines": 16, "rejected": 3, "out_of_order": 1, "ignored": 0, "other_tenant": 0,
        "after_until": 0, "not_applicable": 0, "applied": 12}
for k, v in want.items():
    assert s[k] == v, f"{k}: {s[k]} != {v}"
parts = ("rejected", "out_of_order", "ignored", "other_tenant", "after_until", "applied", "not_applicable")
assert sum(s[k] for k in parts) == s["lines"], "the outcomes do not add up to lines"
recs = [json.loads(l) for l in open(sys.argv[2])]
cmds = [r for r in recs if r["topic"] == "commands"]
decs = [r for r in recs if r["topic"] == "decisions"]
assert s["commands"] == len(cmds), (s["commands"], len(cmds))
assert sum(s["by_kind_channel"].values()) == len(cmds)
assert sum(s["decisions"].values()) == len(decs), (s["decisions"], len(decs))
assert s["events"] == sum(r["topic"] == "events" for r in recs)
assert s["debtors_contacted"] == len({r["key"] for r in cmds})
assert isinstance(s["wall_s"], (int, float))
PY

# 4. --compare of a policy with itself: B - A is 0 on every row; --json parses
# and its two sides are equal.
bt --policy "$POLICY" --events "$T/ledger.jsonl" --compare "$POLICY" >"$T/cmp.txt" 2>"$T/cmp.err" ||
  { cat "$T/cmp.err"; fail "--compare exited non-zero"; }
python3 - "$T/cmp.txt" <<'PY' || { cat "$T/cmp.txt"; fail "--compare of a policy with itself shows a difference"; }
import re, sys
rows = [l for l in open(sys.argv[1]) if re.search(r"\s[+-]\d+$", l.rstrip("\n"))]
assert len(rows) >= 8, f"only {len(rows)} table rows"
for l in rows:
    a, b, d = l.split()[-3:]
    assert a == b and d == "+0", l
assert any(l.startswith("commands ") and int(l.split()[-3]) > 0 for l in rows), "no commands row"
PY
bt --policy "$POLICY" --events "$T/ledger.jsonl" --compare "$POLICY" --json >"$T/cmp.json" 2>/dev/null ||
  fail "--compare --json exited non-zero"
python3 - "$T/cmp.json" <<'PY' || { cat "$T/cmp.json"; fail "--compare --json is not {\"a\",\"b\"} with equal sides"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert set(d) == {"a", "b"} and d["a"] == d["b"] and d["a"]["commands"] > 0, d
assert "wall_s" not in d["a"]
PY

# 5. --from/--until: every record's `at` is in [from, until).
bt --policy "$POLICY" --events "$T/ledger.jsonl" --from 2026-01-20 --until 2026-02-01 \
  --json-summary "$T/window.json" >"$T/window.out" 2>"$T/window.err" ||
  { cat "$T/window.err"; fail "backtest --from --until exited non-zero"; }
python3 - "$T/window.out" "$T/window.json" <<'PY' || fail "--from/--until: a record outside the window"
import json, sys
ats = [json.loads(l)["at"] for l in open(sys.argv[1])]
assert ats, "nothing printed in the window"
lo, hi = "2026-01-20T00:00:00.000Z", "2026-02-01T00:00:00.000Z"
bad = [a for a in ats if not lo <= a < hi]
assert not bad, f"{len(bad)} record(s) outside [{lo}, {hi}): {bad[:3]}"
s = json.load(open(sys.argv[2]))
assert s["after_until"] > 0, "no event left out after --until (the ledger runs to mid-February)"
assert s["period"] == {"from": lo, "until": hi}, s["period"]
PY

# 6. docs/backtest.md: the documented runs print what the page shows.
block() { # marker -> the fenced block right after <!-- marker -->
  python3 - docs/backtest.md "$1" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
i = lines.index(f"<!-- {sys.argv[2]} -->")
assert lines[i + 1].startswith("```"), "no fenced block after the marker"
j = lines.index("```", i + 2)
sys.stdout.write("".join(l + "\n" for l in lines[i + 2:j]))
PY
}
block backtest-example-output >"$T/doc.out" || fail "docs/backtest.md has no <!-- backtest-example-output --> block"
bt --policy "$POLICY" --events "$EXAMPLE" --json-summary "$T/ex-summary.json" >"$T/ex.out" 2>/dev/null ||
  fail "the documented backtest command exited non-zero"
cmp -s "$T/doc.out" "$T/ex.out" ||
  { diff "$T/doc.out" "$T/ex.out" | head -20; fail "docs/backtest.md's example output is stale: run the command and paste its stdout"; }
block backtest-example-summary >"$T/doc-summary.json" || fail "docs/backtest.md has no <!-- backtest-example-summary --> block"
python3 - "$T/doc-summary.json" "$T/ex-summary.json" <<'PY' || fail "docs/backtest.md's --json-summary example is stale"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
a.pop("wall_s"); b.pop("wall_s")
assert a == b, (a, b)
PY
block backtest-example-compare >"$T/doc-cmp.txt" || fail "docs/backtest.md has no <!-- backtest-example-compare --> block"
bt --policy "$POLICY" --events "$EXAMPLE" --compare docs/examples/backtest-policy-b.json >"$T/ex-cmp.txt" 2>/dev/null ||
  fail "the documented --compare command exited non-zero"
cmp -s "$T/doc-cmp.txt" "$T/ex-cmp.txt" ||
  { diff "$T/doc-cmp.txt" "$T/ex-cmp.txt" | head -20; fail "docs/backtest.md's --compare table is stale"; }

# 7. arrears-reporter replay reads the output, with its decisions ignored.
last_day=$(tail -n 1 "$T/ledger.jsonl" | python3 -c 'import json, sys; print(json.load(sys.stdin)["time"][:10])')
"$BIN/arrears-reporter" replay --backtest "$T/run1" --events "$T/ledger.jsonl" --at "$last_day" \
  >"$T/reports" 2>"$T/reports.err" || { cat "$T/reports.err"; fail "reporter replay --backtest exited non-zero"; }
python3 - "$T/reports" "$T/run1" "$T/reports.err" <<'PY' || { cat "$T/reports.err"; fail "reporter replay --backtest: wrong reports"; }
import json, sys
reps = [json.loads(l) for l in open(sys.argv[1])]
types = {r["type"] for r in reps}
assert {"aging", "kpis", "effectiveness"} <= types, types
eff = [r for r in reps if r["type"] == "effectiveness"]
sent = sum(row["sent"] for r in eff for row in r["rows"])
recs = [json.loads(l) for l in open(sys.argv[2])]
# every ladder step's command is a sent contact of its step's row; a
# payment thanks has no step and is in no row (docs/reports.md)
cmds = sum(r["topic"] == "commands" and "step" in r["record"] for r in recs)
assert sent == cmds, f"effectiveness counts {sent} sent, the backtest printed {cmds} step commands"
decs = sum(json.loads(l)["topic"] == "decisions" for l in open(sys.argv[2]))
assert f"replay: {decs} decision line(s) ignored" in open(sys.argv[3]).read()
PY

# 8. usage errors exit 2.
for bad in "" "--policy $POLICY" "--policy $POLICY --events $EXAMPLE --json" \
  "--policy $POLICY --events $EXAMPLE --from 2026-02-30" \
  "--policy $POLICY --events $EXAMPLE --from 2026-03-10 --until 2026-03-10" \
  "--policy $POLICY --events $EXAMPLE --bogus"; do
  set +e
  # shellcheck disable=SC2086  # word splitting on purpose
  bt $bad >/dev/null 2>&1
  rc=$?
  set -e
  [[ $rc == 2 ]] || fail "backtest $bad: expected exit 2 (usage), got $rc"
done

echo "ok: backtest deterministic (TZ=America/New_York LC_ALL=$other_locale), names and counts bad lines, --strict, --json-summary, --compare, --from/--until, docs example current, replay --backtest reads it"
