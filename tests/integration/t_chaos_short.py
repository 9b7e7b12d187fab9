#!/usr/bin/env python3
"""t_chaos_short.py -- the short chaos run inside `make test`: first
tests/chaos/run --self-check (the verdict on hand-made data: a message
missing, one sent twice or a report figure changed must fail the run),
then tests/chaos/run --short with a fixed seed (CHAOS_SHORT_SEED, 1): about
2 minutes on its own private stack, 2,000 invoices over 40 simulated days
through the gateway, ingest, 2 schedulers, 2 notifiers and the reporter,
with kill -9 of a random service every few seconds, a Redis kill -9, a
Kafka restart and both sinks' outages. It fails when a message is missing
or duplicated or the final aging / KPI reports differ from the backtest's
(docs/operations.md "Chaos run"); `make chaos` is the 10-minute version."""
import os
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RUN = os.path.join(REPO, "tests", "chaos", "run")
# first the verdict itself, on hand-made data (no stack needed)
if subprocess.run([sys.executable, RUN, "--self-check"]).returncode:
    print("FAIL: the chaos run's verdict is wrong on hand-made data")
    sys.exit(1)
argv = [RUN, "--short", "--seed", os.environ.get("CHAOS_SHORT_SEED", "1")]
sys.stdout.flush()
os.execv(sys.executable, [sys.executable] + argv)
