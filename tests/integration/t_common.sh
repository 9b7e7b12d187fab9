#!/usr/bin/env bash
# t_common.sh -- common/ against the real Kafka and Redis (it_common.c).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec "${BUILD:-build}/tests/it_common"
