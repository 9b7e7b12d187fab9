#!/usr/bin/env bash
# t_notifier_claims.sh -- the notifier's claim protocol against the real
# Redis (it_notifier_claims.c): a claim held, a record lost to an earlier
# one, republish, the email gate, many commands in one pipeline.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec "${BUILD:-build}/tests/it_notifier_claims"
