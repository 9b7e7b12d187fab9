#!/usr/bin/env python3
"""t_chaos_cluster.py -- the short chaos run on a Redis Cluster inside
`make test` (issue 19's failover test): tests/chaos/run --short
--redis-cluster with a fixed seed (CHAOS_CLUSTER_SEED, 2), about 2 minutes
on its own private stack with a 3-master, 3-replica cluster: 2,000 invoices
over 40 simulated days through the gateway, ingest, 2 schedulers, 2
notifiers and the reporter, kill -9 of a random service every few seconds,
a Kafka restart, both sinks' outages, and one master killed -9 mid-run
(its replica promoted, the node started again as a replica). It fails when
a message is missing or duplicated, the final reports differ from the
backtest's, no master was replaced, or the scheduler's or the notifier's
keys are not within 15% of even over the three masters (docs/operations.md
"Chaos run"); `make test-cluster` runs the 10-minute version."""
import os
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RUN = os.path.join(REPO, "tests", "chaos", "run")
argv = [RUN, "--short", "--redis-cluster", "--seed", os.environ.get("CHAOS_CLUSTER_SEED", "2")]
sys.stdout.flush()
os.execv(sys.executable, [sys.executable] + argv)
