/* publish_lib.h -- arrears-publish's logic, without Kafka: the CSV reader,
 * CSV row -> CloudEvent conversion and the JSON-lines envelope check.
 *
 * Design: tools/publish.c is the binary (options, the producer, pacing,
 * progress); everything it decides about one input record is here, in
 * libtools, so that tests/unit/test_tools_csv.c tests the functions the
 * binary runs. Event types and channels are the contract's
 * (contract/contract.h); docs/publishing.md lists the CSV columns.
 *
 * Ownership: fields[] point into the caller's record buffer; events
 * returned through *out are new jansson references the caller decrefs. */
#ifndef TOOL_PUBLISH_LIB_H
#define TOOL_PUBLISH_LIB_H

#include <jansson.h>

#include "json.h"
#include <stddef.h>
#include <stdint.h>

#define TOOL_MAX_FIELDS 64
#define TOOL_MAX_RECORD (1 << 20)

/* The CSV columns (docs/publishing.md); a header maps its fields to them. */
enum tool_col {
    TOOL_COL_TYPE,
    TOOL_COL_ID,
    TOOL_COL_TIME,
    TOOL_COL_TENANT,
    TOOL_COL_SOURCE,
    TOOL_COL_CUSTOMER_ID,
    TOOL_COL_INVOICE_ID,
    TOOL_COL_NUMBER,
    TOOL_COL_CURRENCY,
    TOOL_COL_AMOUNT,
    TOOL_COL_ISSUED_ON,
    TOOL_COL_DUE_ON,
    TOOL_COL_TERMS,
    TOOL_COL_PO_NUMBER,
    TOOL_COL_TAGS,
    TOOL_COL_PAYMENT_ID,
    TOOL_COL_RECEIVED_ON,
    TOOL_COL_RECEIVED_AT,
    TOOL_COL_ALLOCATIONS,
    TOOL_COL_REASON,
    TOOL_COL_CREDIT_NOTE_ID,
    TOOL_COL_NAME,
    TOOL_COL_EMAIL,
    TOOL_COL_PHONE,
    TOOL_COL_TIMEZONE,
    TOOL_COL_LOCALE,
    TOOL_COL_COUNTRY,
    TOOL_COL_CHANNELS,
    TOOL_COL_OPTED_OUT,
    TOOL_COL_CREDIT_LIMIT,
    TOOL_COL_INVOICE_IDS,
    TOOL_COL_PROMISED_ON,
    TOOL_COL_CHANNEL,
    TOOL_COL_N
};

/* A header row mapped to columns: col_of[field index] = column id. */
typedef struct tool_csv_header {
    int nfields;
    int col_of[TOOL_MAX_FIELDS];
    int field_of[TOOL_COL_N]; /* -1 when absent */
} tool_csv_header;

typedef struct tool_pub_opts {
    const char *tenant; /* default tenant */
    const char *source; /* default source for CSV rows */
    int tenant_given;
} tool_pub_opts;

/* Splits one CSV record (RFC 4180) in place into at most maxfields
 * fields; the number of fields, or -1 with errstr ("field 3: ..."). */
int tool_csv_split(char *rec, size_t len, char **fields, int maxfields, char *errstr,
                   size_t errlen);
/* Whether a record read so far is complete: an even number of quotes. */
int tool_csv_complete(const char *s, size_t len);
/* Maps a header row; -1 with errstr on an unknown, repeated or missing
 * `type` column. */
int tool_csv_header_parse(char **fields, int n, tool_csv_header *h, char *errstr, size_t errlen);
/* One CSV row -> a CloudEvent in *out; -1 with "column: rule" in errstr. */
int tool_csv_to_event(const tool_csv_header *h, char **fields, int n, const tool_pub_opts *o,
                      json_t **out, char *errstr, size_t errlen);
/* Checks a CloudEvents JSON line enough to publish it, read with j (the
 * arena reader; nothing of it is kept): key "tenant/customer_id" and *t,
 * the event's time. *rewritten is NULL, or, when the line has no tenant and
 * --tenant was given, the line with "tenant" as its first member (the
 * caller frees it; else the line is published as it is). -1 with
 * errstr. */
int tool_jsonl_check(cm_json *j, const char *line, size_t len, const tool_pub_opts *o, char *key,
                     size_t keylen, int64_t *t, char **rewritten, char *errstr, size_t errlen);
/* Key "tenant/customer_id" and event time (0 when unparsable) of a checked
 * event. */
void tool_event_key(const json_t *ce, const tool_pub_opts *o, char *key, size_t keylen, int64_t *t);

#endif
