/* validate.h -- the inbound validator and normalizer: one message billing
 * published on `inbound` in, one canonical event (or every reason it is
 * refused) out; and the dead-letter record of a refused message.
 *
 * Design: ct_validate is a pure function of the message bytes, headers and
 * source coordinates -- no Kafka, no Redis -- so ingest's batch loop, the
 * reporter's offline replay, arrears-publish, unit tests and the fuzzer all
 * run the one implementation of docs/events.md. The CloudEvents envelope
 * is read in either Kafka binding mode (binary when a `ce_specversion`
 * header is present, structured otherwise); checks run cheapest first
 * (size, bytes, JSON, attributes, data) and every problem found is kept as
 * a reason naming the field and the rule, so a publisher fixes them all in
 * one go. The hot path parses with the arena reader (common/json.h) and
 * writes with cm_buf: no malloc per message in the steady state except the
 * canonical event handed to the caller.
 *
 * Ownership: a ct_verdict owns its body (malloc'd); ct_verdict_clear frees
 * it. Everything a ct_message points to is borrowed. ct_validate keeps a
 * JSON reader, a buffer and a digest context per thread: a thread that
 * called it calls ct_thread_cleanup before it exits. */
#ifndef CT_VALIDATE_H
#define CT_VALIDATE_H

#include "buf.h"
#include "contract.h"
#include "json.h"

#include <stddef.h>
#include <stdint.h>

/* --- reasons: every problem found in one message, in order -------------- */

#define CT_MAX_REASONS 16
typedef struct ct_reason {
    char field[96];    /* "data.due_on", "time", "(message)" */
    char rule[32];     /* machine-readable rule name, e.g. "date" */
    char message[256]; /* "data.due_on: not a date (YYYY-MM-DD)" */
} ct_reason;

typedef struct ct_reasons {
    ct_reason r[CT_MAX_REASONS];
    size_t n;
    size_t dropped; /* reasons beyond CT_MAX_REASONS */
} ct_reasons;

/* Adds one reason; message is printf-formatted and prefixed "field: ". */
void ct_reason_add(ct_reasons *rs, const char *field, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* --- the inbound message ------------------------------------------------- */

typedef struct ct_header {
    const char *name;  /* NUL-terminated */
    const void *value; /* may be NULL (a Kafka null header) */
    size_t len;
} ct_header;

typedef struct ct_message {
    const void *payload; /* may be NULL when len == 0 */
    size_t len;
    const void *key; /* may be NULL */
    size_t keylen;
    const ct_header *headers;
    size_t nheaders;
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t now_ms; /* wall clock for the DLQ record's rejected_at */
} ct_message;

typedef struct ct_limits {
    size_t max_bytes; /* payload + key + headers; larger is rejected */
    int max_depth;    /* JSON nesting; deeper is rejected */
} ct_limits;

#define CT_DEFAULT_MAX_BYTES (256u * 1024u)
#define CT_DEFAULT_MAX_DEPTH 32

typedef struct ct_verdict {
    int accepted; /* 1: canonical event in body; 0: refused, see reasons */
    /* accepted: the canonical event (malloc'd JSON). Refused: NULL, for the
     * caller to fill with its own record if it wants (ingest puts the DLQ
     * record there); ct_verdict_clear frees whatever it holds. */
    char *body;
    size_t bodylen;
    ct_type ev_type; /* CT_EV_NONE when refused before or at the type */
    /* accepted: all filled; refused: what could be read (may be "") */
    char key[CT_KEY_MAX]; /* tenant/customer_id */
    char tenant[CT_TENANT_MAX + 1];
    char source[CT_ID_MAX + 1];
    char id[CT_ID_MAX + 1];
    char type[CT_TYPE_MAX + 1]; /* as published (may be unknown when refused) */
    char trace_id[33];
    ct_reasons reasons; /* refused only */
    /* Accepted with data.phone instead of data.customer_id (contact.ceased,
     * contact.resumed, contact.replied on sms; issue 17): the number, and
     * body is a template with no customer_id (key is "tenant/<phone>"):
     * it is not a canonical event until ct_verdict_for_customer names
     * the customer. "" otherwise. */
    char phone[CT_PHONE_MAX + 1];
    size_t id_end;   /* phone: offset in body of the closing quote of "id" */
    size_t cust_at;  /* phone: offset where ,"customer_id":... goes (before ,"trace_id") */
    size_t dcust_at; /* phone: offset just after the '{' of data */
    /* An accepted customer.upserted: its data.phone as body has it ("" when
     * the customer has none; "" for every other verdict). Ingest's phone
     * index reads it here rather than parsing body again. */
    char upsert_phone[CT_PHONE_MAX + 1];
} ct_verdict;

/* Validates and normalizes one message. Returns 0 with *out filled
 * (accepted or refused: bad input is a verdict, not an error); -1 with
 * errstr only when memory runs out. out needs no initialization. */
int ct_validate(const ct_limits *lim, const ct_message *in, ct_verdict *out, char *errstr,
                size_t errlen);
void ct_verdict_clear(ct_verdict *v);

/* The canonical event of a phone-addressed verdict (v->phone non-empty)
 * for one customer who has that phone (ingest resolves the phone; docs/
 * ingest.md): id "<id>/<customer_id>", customer_id in the envelope and
 * first in data, the rest as v->body. key receives "tenant/customer_id"
 * (CT_KEY_MAX), id the derived id (CT_ID_MAX * 2 + 2 bytes). Returns the
 * malloc'd event (caller frees) with its length in *len; NULL when
 * customer_id is empty or longer than CT_ID_MAX, v is not phone-addressed,
 * or memory runs out. */
#define CT_PHONE_EVENT_ID_MAX (CT_ID_MAX * 2 + 1)
char *ct_verdict_for_customer(const ct_verdict *v, const char *customer_id, size_t *len,
                              char key[CT_KEY_MAX], char id[CT_PHONE_EVENT_ID_MAX + 1]);
/* Frees what ct_validate keeps per thread. */
void ct_thread_cleanup(void);

/* --- pieces of ct_validate, exposed for tests ---------------------------- */

/* Byte-level checks before JSON parsing. Returns 0, or -1 with a reason
 * added: "utf8" (with the byte offset) or "depth". */
int ct_scan(const char *p, size_t n, int max_depth, const char *field, ct_reasons *rs);
/* 1 when p[0..n) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int ct_utf8_valid(const char *p, size_t n);
/* Replaces every byte of s that is not part of valid UTF-8 with '?' (for
 * text built from untrusted input, e.g. a reason cut at a byte limit). */
void ct_utf8_sanitize(char *s);

/* Validates data (an object) of an inbound type and appends the
 * normalized object to out. Returns 0, or -1 when any reason was added
 * (out then holds garbage). A type that is not inbound is a reason. */
int ct_normalize_data(ct_type type, const cm_jv *data, cm_buf *out, ct_reasons *rs);

/* Amount (JSON integer, JSON real or decimal string) to minor units with
 * the currency's exponent. 0, or -1 with a reason naming field. */
int ct_amount_minor(const cm_jv *v, const char *currency, int exponent, const char *field,
                    int64_t *minor, ct_reasons *rs);

/* Field checks (1 valid, 0 not). */
int ct_e164_valid(const char *s);
int ct_email_valid(const char *s);
int ct_locale_valid(const char *s);
int ct_tenant_valid(const char *s);

/* Trace id: from a W3C traceparent ("00-<32 hex>-<16 hex>-<2 hex>") or a
 * 32-hex trace id when given, else derived from (tenant, source, id) so a
 * re-emitted event carries the same trace id. out has 33 bytes. */
void ct_trace_id(const char *given, const char *tenant, const char *source, const char *id,
                 char out[33]);

/* --- the dead-letter record (topic ingest.dlq) --------------------------- */

/* Largest DLQ record written (below the broker's default 1 MB limit). */
#define CT_DLQ_MAX_RECORD (900u * 1024u)

/* Builds the DLQ record of in with its reasons and what is known of the
 * event (tenant, source, id, type; "" when unknown). docs/events.md and
 * schemas/dlq-record.json give the format. Returns malloc'd JSON (caller
 * frees) with its length in *len, or NULL on out of memory. */
char *ct_dlq_record(const ct_limits *lim, const ct_message *in, const ct_reasons *rs,
                    const char *tenant, const char *source, const char *id, const char *type,
                    size_t *len);

#endif
