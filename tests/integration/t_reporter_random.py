#!/usr/bin/env python3
"""t_reporter_random.py -- a seeded random ledger over 6 partitions.

tests/data/reporter/ledger2 (two tenants, four currencies, ~800 events and
~380 contact outcomes: partial, early, late, over- and unallocated
payments, reversals, credit notes, voids, write-offs, disputes, promises,
corrections, duplicates) is published keyed tenant/customer_id on 6
partitions; the answers to a request as of 2026-03-29 must equal
expected.json, worked out by tests/data/reporter/expected.py, though the
reporter has dropped the facts of invoices settled before its fact
retention (issue 18)."""
from t_reporter_lib import Env, check, fail, ledger, require_stack

require_stack()
events, contacts, expected = ledger("ledger2")
env = Env("random", partitions=6)
try:
    env.publish_events(events)
    env.publish_contacts(contacts)
    p = env.start()
    tenants = sorted({r["tenant"] for r in expected["reports"]})
    for t in tenants:
        env.request("rnd-" + t, t, expected["as_of"])
    got = env.wait_reports(lambda k, r: r.get("request_id", "").startswith("rnd-"), 3 * len(tenants),
                           what="answers for every tenant")
    check(expected, [r for _, r in got], "ledger2 over 6 partitions")
    env.stop(p)
    # issue 18: with the default fact retention (400d before the real clock)
    # the reporter dropped the ledger's old settled invoices before
    # answering, and the answers are still those of every fact
    if env.log_count("reporter", "facts of invoices settled before the retention dropped") < 1:
        fail("the reporter dropped no facts:\n" + env.log(p))
finally:
    env.cleanup()
