/* ingest.h -- ingest's internal API: the batch loop that turns polled
 * inbound messages into canonical events and DLQ records, durably.
 *
 * Design: the per-message work is the contract's (contract/validate.h:
 * ct_validate, a pure function of the message bytes, headers and source
 * coordinates; ct_dlq_record). ing_process adds what only ingest does with
 * a refused message: the DLQ record becomes the result's body. The batch
 * loop (ing_batch_run) adds what needs backends -- de-duplication in Redis
 * and delivery to Kafka -- through a small struct of function pointers
 * (ing_backend), so a test can inject faults the real backends cannot
 * produce on demand.
 *
 * Ownership: ing_result owns its malloc'd body; ing_result_clear frees it.
 * Everything passed in (ing_input and what it points to) is borrowed. */
#ifndef ING_INGEST_H
#define ING_INGEST_H

#include "contract.h"
#include "validate.h"

#include <stddef.h>
#include <stdint.h>

/* The inbound message, its headers and limits are the contract's; ingest's
 * batch API spells them with its own prefix. */
typedef ct_header ing_header;
typedef ct_message ing_input;
typedef ct_limits ing_config;
#define ING_DEFAULT_MAX_BYTES CT_DEFAULT_MAX_BYTES
#define ING_DEFAULT_MAX_DEPTH CT_DEFAULT_MAX_DEPTH

/* ct_validate's verdict; when refused, body holds the DLQ record. */
typedef ct_verdict ing_result;

/* Validates and normalizes one message (ct_validate); a refused message's
 * body is its DLQ record (ct_dlq_record). Returns 0 with *out filled
 * (accepted or rejected: bad input is a result, not an error); -1 only when
 * memory runs out. The caller frees with ing_result_clear. */
int ing_process(const ing_config *cfg, const ing_input *in, ing_result *out, char *errstr,
                size_t errlen);
void ing_result_clear(ing_result *r);
/* Frees what ing_process keeps per thread (ct_thread_cleanup); a thread
 * that called ing_process calls this before it exits. */
void ing_thread_cleanup(void);

/* --- de-duplication keys ------------------------------------------------ */

/* "<prefix><tenant>:<strlen(source)>:<source>:<id>" into a malloc'd string. */
char *ing_dedup_key(const char *prefix, const char *tenant, const char *source, const char *id);

/* --- the batch loop ----------------------------------------------------- */

/* One message of a batch after ing_process: what the backends need. */
typedef struct ing_record ing_record;
/* issue 17: the canonical events of an event that named a phone, one per
 * customer with that phone (ing_batch_lookup; owned by its record). */
typedef struct ing_fanout {
    size_t n;
    ing_record *recs; /* n accepted records (body, key, id each owned/filled) */
} ing_fanout;

struct ing_record {
    int accepted; /* canonical event (1) or DLQ record (0) */
    int drop;     /* duplicate: nothing is produced */
    char *body;   /* owned JSON */
    size_t bodylen;
    char *dedup_key;      /* owned; accepted only */
    const ing_input *in;  /* borrowed: the source message */
    char key[CT_KEY_MAX]; /* accepted: tenant/customer_id */
    char tenant[CT_TENANT_MAX + 1];
    char source[CT_ID_MAX + 1];
    char id[CT_PHONE_EVENT_ID_MAX + 1]; /* a fan-out record's: "<id>/<customer_id>" */
    char type[CT_TYPE_MAX + 1];         /* as published */
    ct_type ev_type;                    /* accepted: the type (CT_EV_NONE otherwise) */
    char trace_id[33];
    char reason[256]; /* rejected: the first reason's message */
    /* issue 17: accepted with data.phone instead of a customer (the
     * verdict's phone and offsets); resolved by ing_batch_lookup into fan
     * (produced instead of body), or into a DLQ record */
    char phone[CT_PHONE_MAX + 1];
    size_t id_end, cust_at, dcust_at;
    char upsert_phone[CT_PHONE_MAX + 1]; /* customer.upserted: the verdict's */
    ing_fanout *fan;
};

/* Backends of the batch loop. Every function returns 0, or -1 with errstr. */
typedef struct ing_backend {
    void *opaque;
    /* seen[i] = 1 when keys[i] is already recorded as delivered. One
     * round-trip for the whole array. */
    int (*dedup_seen)(void *opaque, char *const *keys, size_t n, unsigned char *seen, char *errstr,
                      size_t errlen);
    /* Records keys as delivered for the window. One round-trip. */
    int (*dedup_mark)(void *opaque, char *const *keys, size_t n, char *errstr, size_t errlen);
    /* Queues one record: a canonical event to events, or a DLQ record
     * (keyed like the source message) to the DLQ topic. */
    int (*produce)(void *opaque, const ing_record *r, char *errstr, size_t errlen);
    /* Waits for every queued record's delivery report; -1 if any failed. */
    int (*wait_delivered)(void *opaque, char *errstr, size_t errlen);
    /* Returns 0 to give up retrying (shutdown requested). */
    int (*keep_going)(void *opaque);
    /* Sleeps before retry number attempt (1, 2, ...). */
    void (*backoff)(void *opaque, int attempt);
    /* issue 17, the per-tenant phone index (docs/ingest.md; NULL: none,
     * and an event naming a phone goes to the DLQ). Records, in order,
     * customers[i]'s phone phones[i] ("" when it has none) in tenants[i]:
     * a change moves the customer from its old phone's entry. One
     * round-trip; idempotent. */
    int (*phone_index)(void *opaque, const char *const *tenants, const char *const *customers,
                       const char *const *phones, size_t n, char *errstr, size_t errlen);
    /* The customers with phone in tenant: *ids a malloc'd array of
     * malloc'd ids (the caller frees both), *n 0 when none. */
    int (*phone_lookup)(void *opaque, const char *tenant, const char *phone, char ***ids, size_t *n,
                        char *errstr, size_t errlen);
} ing_backend;

typedef struct ing_batch_stats {
    uint64_t accepted, rejected, duplicates, retries;
    uint64_t fanned; /* issue 17: events beyond one because a phone named several customers */
} ing_batch_stats;

/* Processes n messages: validates each, drops duplicates (earlier in the
 * batch or recorded in Redis), produces canonical events and DLQ records,
 * waits for every delivery report, then records the delivered ids. Backend
 * failures are retried (with backoff) while keep_going() says so. Returns 0
 * when every message's effects are durable (the caller may store the
 * offsets), -1 otherwise (the caller must not store them). Stats are added
 * to *st. */
int ing_batch_run(const ing_config *cfg, const char *dedup_prefix, const ing_backend *be,
                  const ing_input *msgs, size_t n, ing_batch_stats *st, char *errstr,
                  size_t errlen);

/* The same in stages, so that a service can validate the next batch while
 * earlier ones are looked up, in flight and being recorded:
 *   prepare  validates and drops in-batch duplicates (CPU only; NULL on out
 *            of memory); msgs must outlive the batch;
 *   lookup   drops ids that are among prev's (the previous batch, whose ids
 *            may not be recorded yet; NULL when every earlier batch is
 *            recorded) or already recorded in Redis; every batch before prev
 *            must be recorded; then, in message order, records the phones
 *            of customer.upserted in the phone index and resolves each
 *            event that named a phone (one event per customer, or the DLQ);
 *   produce  queues every surviving record, without waiting (a failure to
 *            queue is retried by deliver); for per-debtor order, only after
 *            the previous batch is delivered;
 *   deliver  waits for the delivery reports, re-producing the batch on
 *            failure;
 *   record   records the delivered ids; then the batch's offsets may be
 *            stored;
 *   send = lookup (prev NULL) + produce, finish = deliver + record +
 *   take_stats (adds the batch's stats to *st and clears them).
 * lookup, send, deliver, record and finish return -1 only when
 * keep_going() stopped a retry (or, for lookup, out of memory). */
typedef struct ing_batch ing_batch;
ing_batch *ing_batch_prepare(const ing_config *cfg, const char *dedup_prefix, const ing_input *msgs,
                             size_t n, char *errstr, size_t errlen);
int ing_batch_lookup(ing_batch *b, const ing_batch *prev, const ing_backend *be, char *errstr,
                     size_t errlen);
void ing_batch_produce(ing_batch *b, const ing_backend *be, char *errstr, size_t errlen);
int ing_batch_deliver(ing_batch *b, const ing_backend *be, char *errstr, size_t errlen);
int ing_batch_record(ing_batch *b, const ing_backend *be, char *errstr, size_t errlen);
void ing_batch_take_stats(ing_batch *b, ing_batch_stats *st);
int ing_batch_send(ing_batch *b, const ing_backend *be, char *errstr, size_t errlen);
int ing_batch_finish(ing_batch *b, const ing_backend *be, ing_batch_stats *st, char *errstr,
                     size_t errlen);
void ing_batch_free(ing_batch *b);
/* Threads that validate a batch (1..16; default 1). Call before any batch. */
void ing_batch_set_threads(int n);

#endif
