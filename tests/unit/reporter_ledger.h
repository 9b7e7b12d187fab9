/* reporter_ledger.h -- a test ledger (tests/data/reporter/<case>/) into a
 * reporter state, as replay reads it: events.jsonl through the inbound
 * normalizer, then contacts.jsonl; lines the state refuses are skipped
 * (the ledgers hold some on purpose); a state through a snapshot; and
 * the events the reporter's unit tests build by hand.
 *
 * Ownership: the caller frees the state (rep_state_free). */
#ifndef REPORTER_LEDGER_H
#define REPORTER_LEDGER_H

#include "../../services/reporter/reporter.h"

/* dir: the case's directory, e.g. "tests/data/reporter/ledger1". A new
 * state, or NULL when a file cannot be read (or out of memory). */
rep_state *rep_t_ledger(const char *dir);

/* Canonical events of tenant "t1", source "t" (new references):
 * rep_t_event: of type at time with data (JSON text), lifting
 * data.customer_id into the envelope as ingest does (NULL: not JSON);
 * rep_t_invoice: invoice.issued of id for cust in EUR, at 08:00 of issued;
 * rep_t_payment: payment.received at `at` (its received_on: at's day) in
 * EUR, all of it allocated to invoice inv. */
json_t *rep_t_event(const char *id, const char *type, const char *time, const char *data);
json_t *rep_t_invoice(const char *id, const char *cust, long long minor, const char *issued,
                      const char *due);
json_t *rep_t_payment(const char *id, const char *cust, long long minor, const char *inv,
                      const char *at);

/* st through rep_snapshot_encode and rep_snapshot_decode: a new state, or
 * NULL (the reason on stderr). */
rep_state *rep_t_round_trip(const rep_state *st);

#endif
