#!/usr/bin/env bash
# t_e2e_pipeline.sh -- a small generated ledger through the whole pipeline
# (publish -> ingest -> scheduler -> notifier -> sinks, and the reporter)
# with a scaled clock, asserting the exact set of messages the SMTP and
# HTTP sinks received and the final aging report. The logic and how the
# expected results are worked out: t_e2e_lib.py. Skips (77) while a service
# binary or a sink is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=python3
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3 # Debian's, with zoneinfo + tzdata
exec "$PY" tests/integration/t_e2e_lib.py "$@"
