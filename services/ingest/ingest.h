/* ingest.h -- ingest's internal API: one inbound Kafka message in, one
 * canonical event or one DLQ record out, plus the batch loop around it.
 *
 * Design: the per-message work (ing_process) is a pure function of the
 * message bytes, headers and source coordinates, so unit tests and the
 * fuzzer drive it without Kafka or Redis. The batch loop (ing_batch_run)
 * adds what needs backends -- de-duplication in Redis and delivery to
 * Kafka -- through a small struct of function pointers (ing_backend), so a
 * test can inject faults the real backends cannot produce on demand.
 *
 * Ownership: ing_result owns its malloc'd strings; ing_result_clear frees
 * them. Everything passed in (ing_input and what it points to) is borrowed. */
#ifndef ING_INGEST_H
#define ING_INGEST_H

#include "json.h"

#include <stddef.h>
#include <stdint.h>

/* Length limits (bytes) of the contract; docs/events.md lists them. */
#define ING_TENANT_MAX 64
#define ING_ID_MAX 200      /* ids: id, source, *_id */
#define ING_TEXT_MAX 1000   /* names, reasons, terms, ... */
#define ING_LIST_MAX 100    /* items in tags, channels, invoice_ids, allocations */
#define ING_TYPE_MAX 64
#define ING_KEY_MAX (ING_TENANT_MAX + 1 + ING_ID_MAX + 1)

/* Rejection reasons: every problem found in one message, in order. */
#define ING_MAX_REASONS 16
typedef struct ing_reason {
    char field[96];   /* "data.due_on", "time", "(message)" */
    char rule[32];    /* machine-readable rule name, e.g. "date" */
    char message[256]; /* "data.due_on: not a date (YYYY-MM-DD)" */
} ing_reason;

typedef struct ing_reasons {
    ing_reason r[ING_MAX_REASONS];
    size_t n;
    size_t dropped; /* reasons beyond ING_MAX_REASONS */
} ing_reasons;

/* Adds one reason; message is printf-formatted and prefixed "field: ". */
void ing_reason_add(ing_reasons *rs, const char *field, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

typedef struct ing_header {
    const char *name;  /* NUL-terminated */
    const void *value; /* may be NULL (a Kafka null header) */
    size_t len;
} ing_header;

typedef struct ing_input {
    const void *payload; /* may be NULL when len == 0 */
    size_t len;
    const void *key; /* may be NULL */
    size_t keylen;
    const ing_header *headers;
    size_t nheaders;
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t now_ms; /* wall clock for rejected_at */
} ing_input;

typedef struct ing_config {
    size_t max_bytes; /* payload + headers; larger is rejected */
    int max_depth;    /* JSON nesting; deeper is rejected */
} ing_config;

#define ING_DEFAULT_MAX_BYTES (256u * 1024u)
#define ING_DEFAULT_MAX_DEPTH 32

typedef struct ing_result {
    int accepted; /* 1: canonical event in body; 0: DLQ record in body */
    char *body;   /* malloc'd JSON (canonical event or DLQ record) */
    size_t bodylen;
    /* accepted only (empty strings otherwise, except where known) */
    char key[ING_KEY_MAX]; /* tenant/customer_id */
    char tenant[ING_TENANT_MAX + 1];
    char source[ING_ID_MAX + 1];
    char id[ING_ID_MAX + 1];
    char type[ING_TYPE_MAX + 1];
    char trace_id[33];
    /* rejected only */
    ing_reasons reasons;
} ing_result;

/* Validates and normalizes one message. Returns 0 with *out filled
 * (accepted or rejected: bad input is a result, not an error); -1 only when
 * memory runs out. The caller frees with ing_result_clear. */
int ing_process(const ing_config *cfg, const ing_input *in, ing_result *out, char *errstr,
                size_t errlen);
void ing_result_clear(ing_result *r);
/* Frees what ing_process keeps per thread (its JSON reader and buffers);
 * a thread that called ing_process calls this before it exits. */
void ing_thread_cleanup(void);
void ing_fields_thread_cleanup(void);

/* --- pieces of ing_process, exposed for tests --------------------------- */

/* Byte-level checks before JSON parsing. Returns 0, or -1 with a reason
 * added: "utf8" (with the byte offset) or "depth". */
int ing_scan(const char *p, size_t n, int max_depth, const char *field, ing_reasons *rs);
/* 1 when p[0..n) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int ing_utf8_valid(const char *p, size_t n);
/* Replaces every byte of s that is not part of valid UTF-8 with '?' (for
 * text built from untrusted input, e.g. a reason cut at a byte limit). */
void ing_utf8_sanitize(char *s);

/* Validates data (an object) of one event type and appends the normalized
 * object to out. Returns 0, or -1 when any reason was added (out then
 * holds garbage). */
int ing_type_known(const char *type);
/* Known types in contract order, NULL-terminated. */
extern const char *const ing_types[];
int ing_normalize_data(const char *type, const ing_jv *data, ing_buf *out, ing_reasons *rs);

/* Amount (JSON integer, JSON real or decimal string) to minor units with
 * the currency's exponent. 0, or -1 with a reason naming field. */
int ing_amount_minor(const ing_jv *v, const char *currency, int exponent, const char *field,
                     int64_t *minor, ing_reasons *rs);

/* Field checks (1 valid, 0 not). */
int ing_e164_valid(const char *s);
int ing_email_valid(const char *s);
int ing_locale_valid(const char *s);
int ing_tenant_valid(const char *s);

/* Trace id: from a W3C traceparent ("00-<32 hex>-<16 hex>-<2 hex>") or a
 * 32-hex trace id when given, else derived from (tenant, source, id) so a
 * re-emitted event carries the same trace id. out has 33 bytes. */
void ing_trace_id(const char *given, const char *tenant, const char *source, const char *id,
                  char out[33]);

/* Base64 (standard alphabet, padded) of p[0..n); malloc'd, caller frees. */
char *ing_base64(const void *p, size_t n);

/* Largest DLQ record written (below the broker's default 1 MB limit). */
#define ING_DLQ_MAX_RECORD (900u * 1024u)

/* Builds the DLQ record for in with the reasons (and what is known of the
 * event: tenant, id, source, type; may be empty strings). Returns malloc'd
 * JSON or NULL on out of memory. */
char *ing_dlq_record(const ing_config *cfg, const ing_input *in, const ing_reasons *rs,
                     const char *tenant, const char *source, const char *id, const char *type,
                     size_t *len);

/* --- de-duplication keys ------------------------------------------------ */

/* "<prefix><tenant>:<strlen(source)>:<source>:<id>" into a malloc'd string. */
char *ing_dedup_key(const char *prefix, const char *tenant, const char *source, const char *id);

/* --- the batch loop ----------------------------------------------------- */

/* One message of a batch after ing_process: what the backends need. */
typedef struct ing_record {
    int accepted;     /* canonical event (1) or DLQ record (0) */
    int drop;         /* duplicate: nothing is produced */
    char *body;       /* owned JSON */
    size_t bodylen;
    char *dedup_key;  /* owned; accepted only */
    const ing_input *in; /* borrowed: the source message */
    char key[ING_KEY_MAX]; /* accepted: tenant/customer_id */
    char tenant[ING_TENANT_MAX + 1];
    char id[ING_ID_MAX + 1];
    char type[ING_TYPE_MAX + 1];
    char trace_id[33];
    char reason[256]; /* rejected: the first reason's message */
} ing_record;

/* Backends of the batch loop. Every function returns 0, or -1 with errstr. */
typedef struct ing_backend {
    void *opaque;
    /* seen[i] = 1 when keys[i] is already recorded as delivered. One
     * round-trip for the whole array. */
    int (*dedup_seen)(void *opaque, char *const *keys, size_t n, unsigned char *seen,
                      char *errstr, size_t errlen);
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
} ing_backend;

typedef struct ing_batch_stats {
    uint64_t accepted, rejected, duplicates, retries;
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
 *            must be recorded;
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
ing_batch *ing_batch_prepare(const ing_config *cfg, const char *dedup_prefix,
                             const ing_input *msgs, size_t n, char *errstr, size_t errlen);
int ing_batch_lookup(ing_batch *b, const ing_batch *prev, const ing_backend *be,
                     char *errstr, size_t errlen);
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
