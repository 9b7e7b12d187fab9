#!/usr/bin/env python3
"""t_soak_short.py -- the 2-minute soak inside `make test`: tests/soak/run
at 100 events/s with a sample every 10 s (12 samples) and 4 simulated
days a second (invoices written off 100 days past due leave by about 35 s,
so the open set is steady in the middle third), asserting that no
service's RSS and not Redis used_memory grow beyond the slack of
docs/operations.md "Soak" from the middle third of the run to the last
(memory per open invoice flat), for every process alike: closed
invoices, payments and the reporter's facts have retentions (set short
by tests/soak/run, so they turn over within the run); `make soak` is the
30-minute version at 500 events/s. SOAK_SHORT_RATE / SOAK_SHORT_MINUTES change the load here
(a loaded machine that cannot hold 100 events/s shows it as lag). It
first checks the verdict on hand-worked samples (--check-verdict)."""
import os
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# first the verdict itself, on hand-worked samples (no stack needed)
if subprocess.run([sys.executable, os.path.join(REPO, "tests", "soak", "run"),
                   "--check-verdict"]).returncode:
    print("FAIL: the soak's verdict is wrong on hand-worked samples")
    sys.exit(1)
argv = [os.path.join(REPO, "tests", "soak", "run"),
        "--minutes", os.environ.get("SOAK_SHORT_MINUTES", "2"),
        "--rate", os.environ.get("SOAK_SHORT_RATE", "100"),
        "--sample", "10", "--speed", "4"]
sys.stdout.flush()
os.execv(sys.executable, [sys.executable] + argv)
