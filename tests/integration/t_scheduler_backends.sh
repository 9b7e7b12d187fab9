#!/usr/bin/env bash
# t_scheduler_backends.sh -- the scheduler's data-driven cases
# (tests/data/scheduler/cases) through its engine over both store backends:
# the memory backend (the backtest's) and the real Redis of the stack. The
# unit binary test_scheduler_cases does the work (it runs the memory
# backend always, Redis when ARREARS_TEST_REDIS_URL is set) and requires
# both to publish exactly the records of its in-map double, in order.
set -euo pipefail
cd "$(dirname "$0")/../.."
T=${BUILD:-build}/tests/test_scheduler_cases
[[ -x $T ]] || { echo "skip: $T not built"; exit 77; }
: "${ARREARS_REDIS_URL:?needs the stack (tests/integration/run)}"
ARREARS_TEST_REDIS_URL=$ARREARS_REDIS_URL "$T"
