#!/usr/bin/env bash
# t_redis_pipeline.sh -- pipelines of megabytes against the real Redis
# (it_redis_pipeline.c): every way a pipeline is sent writes 31 MB of SETs
# and reads each value back, byte for byte, in order.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec "${BUILD:-build}/tests/it_redis_pipeline"
