/* publish.c -- arrears-publish: the reference way for a billing system to
 * publish inbound events to arrears.
 *
 *   arrears-publish [--format auto|csv|jsonl] [--paced] [--tenant T]
 *                   [--source S] [--dry-run] [--progress SECONDS] [FILE...]
 *
 * Reads CloudEvents 1.0 JSON lines (structured mode, one event a line) or a
 * flat CSV with a header row and a `type` column (docs/publishing.md lists
 * the columns), and produces every event to <ARREARS_TOPIC_PREFIX>inbound
 * keyed `tenant/customer_id`, with an idempotent producer (acks=all), then
 * waits for every delivery report. No FILE, or "-", reads stdin.
 *
 * Design: the publisher checks what it needs to publish correctly (the
 * envelope, the key, and for CSV every value it converts: currency and the
 * amount's decimals, dates, RFC 3339 instants, E.164 phones, IANA zones);
 * the full contract is ingest's job, which answers with its DLQ. A bad line
 * is reported as "FILE:LINE: field: rule" on stderr and skipped; the run
 * goes on and exits 1 at the end if any line was rejected or any delivery
 * failed (naming the line). Each produced record carries its input line
 * number as the delivery opaque, so a failed delivery names its line.
 *
 * --paced: waits until the shared clock (ARREARS_CLOCK, scaled or wall)
 * reaches each event's `time` before producing it, so a ledger plays out
 * as a billing system would publish it. Events already in the past go out
 * at once. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "kafka.h"
#include "log.h"
#include "money.h"
#include "service.h"
#include "settings.h"
#include "tz.h"

#define TOOL_MAX_FIELDS 64
#define TOOL_MAX_RECORD (1 << 20)

/* ------------------------------------------------------------- CSV split */

/* Splits one CSV record (RFC 4180: comma separator, '"' quoting with ""
 * for a quote, quoted fields may hold commas and newlines) in place.
 * Unquoted fields have surrounding blanks trimmed. A trailing CR/LF is
 * ignored. fields[i] point into rec. Returns the number of fields, or -1
 * with errstr ("field 3: ..."). */
static int tool_csv_split(char *rec, size_t len, char **fields, int maxfields, char *errstr,
                          size_t errlen)
{
    size_t i = 0;
    int n = 0;
    while (len > 0 && (rec[len - 1] == '\n' || rec[len - 1] == '\r'))
        len--;
    rec[len] = 0;
    for (;;) {
        char *out;
        if (n == maxfields) {
            snprintf(errstr, errlen, "more than %d fields", maxfields);
            return -1;
        }
        while (i < len && (rec[i] == ' ' || rec[i] == '\t'))
            i++;
        out = rec + i;
        fields[n] = out;
        if (i < len && rec[i] == '"') {
            size_t w = i;
            i++;
            for (;;) {
                if (i >= len) {
                    snprintf(errstr, errlen, "field %d: unterminated quoted field", n + 1);
                    return -1;
                }
                if (rec[i] == '"') {
                    if (i + 1 < len && rec[i + 1] == '"') {
                        rec[w++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                rec[w++] = rec[i++];
            }
            /* the value was compacted to start at the opening quote */
            while (i < len && (rec[i] == ' ' || rec[i] == '\t'))
                i++;
            if (i < len && rec[i] != ',') {
                snprintf(errstr, errlen, "field %d: characters after the closing quote", n + 1);
                return -1;
            }
            rec[w] = 0;
            n++;
            if (i >= len)
                return n;
            i++; /* the comma */
            continue;
        }
        while (i < len && rec[i] != ',') {
            if (rec[i] == '"') {
                snprintf(errstr, errlen,
                         "field %d: quote inside an unquoted field (quote the whole field)",
                         n + 1);
                return -1;
            }
            i++;
        }
        {
            size_t end = i;
            while (end > (size_t)(out - rec) && (rec[end - 1] == ' ' || rec[end - 1] == '\t'))
                end--;
            int last = i >= len;
            rec[end] = 0;
            n++;
            if (last)
                return n;
            i++;
        }
    }
}

/* Whether a record read so far is complete: an even number of quotes. */
static int tool_csv_complete(const char *s, size_t len)
{
    size_t q = 0;
    for (size_t i = 0; i < len; i++)
        q += s[i] == '"';
    return q % 2 == 0;
}

/* ----------------------------------------------------------- CSV columns */

enum {
    C_TYPE, C_ID, C_TIME, C_TENANT, C_SOURCE, C_CUSTOMER_ID, C_INVOICE_ID, C_NUMBER,
    C_CURRENCY, C_AMOUNT, C_ISSUED_ON, C_DUE_ON, C_TERMS, C_PO_NUMBER, C_TAGS, C_PAYMENT_ID,
    C_RECEIVED_ON, C_RECEIVED_AT, C_ALLOCATIONS, C_REASON, C_CREDIT_NOTE_ID, C_NAME, C_EMAIL,
    C_PHONE, C_TIMEZONE, C_LOCALE, C_COUNTRY, C_CHANNELS, C_OPTED_OUT, C_CREDIT_LIMIT,
    C_INVOICE_IDS, C_PROMISED_ON, C_CHANNEL, C_N
};
static const char *const tool_col_names[C_N] = {
    "type",        "id",          "time",        "tenant",         "source",
    "customer_id", "invoice_id",  "number",      "currency",       "amount",
    "issued_on",   "due_on",      "terms",       "po_number",      "tags",
    "payment_id",  "received_on", "received_at", "allocations",    "reason",
    "credit_note_id", "name",     "email",       "phone",          "timezone",
    "locale",      "country",     "channels",    "opted_out",      "credit_limit",
    "invoice_ids", "promised_on", "channel"};

/* How a column's value becomes a data field. */
enum { K_STR, K_MONEY, K_DATE, K_INSTANT, K_LIST, K_ALLOC, K_PHONE, K_TZ };
static const unsigned char tool_col_kind[C_N] = {
    [C_AMOUNT] = K_MONEY,     [C_CREDIT_LIMIT] = K_MONEY, [C_ISSUED_ON] = K_DATE,
    [C_DUE_ON] = K_DATE,      [C_RECEIVED_ON] = K_DATE,   [C_PROMISED_ON] = K_DATE,
    [C_RECEIVED_AT] = K_INSTANT, [C_TAGS] = K_LIST,       [C_CHANNELS] = K_LIST,
    [C_OPTED_OUT] = K_LIST,   [C_INVOICE_IDS] = K_LIST,   [C_ALLOCATIONS] = K_ALLOC,
    [C_PHONE] = K_PHONE,      [C_TIMEZONE] = K_TZ};

/* Per type: required columns, then '|', then optional ones (-1 ends). */
#define REQ_END (-2)
#define END (-1)
typedef struct tool_type_spec {
    const char *type;
    int cols[16];
} tool_type_spec;
static const tool_type_spec tool_types[] = {
    {"invoice.issued", {C_INVOICE_ID, C_CUSTOMER_ID, C_NUMBER, C_CURRENCY, C_AMOUNT, C_ISSUED_ON,
                        C_DUE_ON, REQ_END, C_TAGS, C_TERMS, C_PO_NUMBER, END}},
    {"invoice.updated", {C_INVOICE_ID, C_CUSTOMER_ID, C_NUMBER, C_CURRENCY, C_AMOUNT,
                         C_ISSUED_ON, C_DUE_ON, REQ_END, C_TAGS, C_TERMS, C_PO_NUMBER, END}},
    {"invoice.voided", {C_INVOICE_ID, C_CUSTOMER_ID, REQ_END, END}},
    {"invoice.written_off", {C_INVOICE_ID, C_CUSTOMER_ID, REQ_END, END}},
    {"payment.received", {C_PAYMENT_ID, C_CUSTOMER_ID, C_CURRENCY, C_AMOUNT, REQ_END,
                          C_RECEIVED_ON, C_RECEIVED_AT, C_ALLOCATIONS, END}},
    {"payment.reversed", {C_PAYMENT_ID, C_CUSTOMER_ID, C_REASON, REQ_END, END}},
    {"credit_note.issued", {C_CREDIT_NOTE_ID, C_CUSTOMER_ID, C_INVOICE_ID, C_CURRENCY, C_AMOUNT,
                            REQ_END, END}},
    {"customer.upserted", {C_CUSTOMER_ID, C_NAME, REQ_END, C_EMAIL, C_PHONE, C_TIMEZONE,
                           C_LOCALE, C_COUNTRY, C_CHANNELS, C_OPTED_OUT, C_CREDIT_LIMIT, C_TAGS,
                           END}},
    {"promise.made", {C_CUSTOMER_ID, C_INVOICE_IDS, C_CURRENCY, C_AMOUNT, C_PROMISED_ON, REQ_END,
                      END}},
    {"dispute.opened", {C_CUSTOMER_ID, C_INVOICE_ID, C_REASON, REQ_END, END}},
    {"dispute.resolved", {C_CUSTOMER_ID, C_INVOICE_ID, C_REASON, REQ_END, END}},
    {"contact.ceased", {C_CUSTOMER_ID, REQ_END, C_CHANNEL, END}},
};
#define TOOL_NTYPES ((int)(sizeof(tool_types) / sizeof(tool_types[0])))

/* A header row mapped to columns: col_of[field index] = column id. */
typedef struct tool_csv_header {
    int nfields;
    int col_of[TOOL_MAX_FIELDS];
    int field_of[C_N]; /* -1 when absent */
} tool_csv_header;

static int tool_csv_header_parse(char **fields, int n, tool_csv_header *h, char *errstr,
                                 size_t errlen)
{
    h->nfields = n;
    for (int c = 0; c < C_N; c++)
        h->field_of[c] = -1;
    for (int i = 0; i < n; i++) {
        int found = -1;
        for (int c = 0; c < C_N; c++)
            if (strcasecmp(fields[i], tool_col_names[c]) == 0)
                found = c;
        if (found < 0) {
            snprintf(errstr, errlen,
                     "header: unknown column '%s' (columns: type, id, time, tenant, source, "
                     "customer_id, invoice_id, number, currency, amount, issued_on, due_on, "
                     "terms, po_number, tags, payment_id, received_on, received_at, allocations, "
                     "reason, credit_note_id, name, email, phone, timezone, locale, country, "
                     "channels, opted_out, credit_limit, invoice_ids, promised_on, channel)",
                     fields[i]);
            return -1;
        }
        if (h->field_of[found] >= 0) {
            snprintf(errstr, errlen, "header: column '%s' appears twice", tool_col_names[found]);
            return -1;
        }
        h->field_of[found] = i;
        h->col_of[i] = found;
    }
    if (h->field_of[C_TYPE] < 0) {
        snprintf(errstr, errlen, "header: no 'type' column");
        return -1;
    }
    return 0;
}

/* +[1-9] then 6..14 digits. */
static int tool_e164_ok(const char *s)
{
    size_t n = 0;
    if (s[0] != '+' || s[1] < '1' || s[1] > '9')
        return 0;
    for (const char *p = s + 1; *p; p++, n++)
        if (!isdigit((unsigned char)*p))
            return 0;
    return n >= 7 && n <= 15;
}

/* Splits a '|' list into a JSON array of trimmed, non-empty strings. */
static json_t *tool_list_json(const char *v)
{
    json_t *a = json_array();
    const char *p = v;
    while (*p) {
        const char *e = strchr(p, '|');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        const char *s = p;
        while (len && isspace((unsigned char)*s))
            s++, len--;
        while (len && isspace((unsigned char)s[len - 1]))
            len--;
        if (len)
            json_array_append_new(a, json_stringn(s, len));
        if (!e)
            break;
        p = e + 1;
    }
    return a;
}

/* Checks an amount for currency cur (NULL when there is no currency column
 * value: only the decimal form is checked). */
static int tool_money_check(const char *v, const char *cur, const char *col, char *errstr,
                            size_t errlen)
{
    char e[160];
    int64_t minor;
    int exp = cur && *cur ? cm_money_exponent(cur) : 6;
    if (exp < 0)
        exp = 6; /* the currency column reports its own error */
    if (cm_money_parse(v, exp, &minor, e, sizeof(e)) != 0) {
        snprintf(errstr, errlen, "%s: %s ('%s'%s%s)", col, e, v, cur && *cur ? " in " : "",
                 cur && *cur ? cur : "");
        return -1;
    }
    return 0;
}

/* "INV-1:10.00|INV-2:5" -> [{invoice_id, amount}] */
static json_t *tool_alloc_json(const char *v, const char *cur, char *errstr, size_t errlen)
{
    json_t *a = json_array();
    const char *p = v;
    char item[512];
    while (*p) {
        const char *e = strchr(p, '|');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char *colon, *id, *amt;
        json_t *o;
        if (len >= sizeof(item)) {
            snprintf(errstr, errlen, "allocations: item too long");
            goto fail;
        }
        memcpy(item, p, len);
        item[len] = 0;
        colon = strrchr(item, ':');
        if (!colon) {
            snprintf(errstr, errlen,
                     "allocations: '%s' is not INVOICE_ID:AMOUNT (items separated by '|')", item);
            goto fail;
        }
        *colon = 0;
        id = item;
        amt = colon + 1;
        while (isspace((unsigned char)*id))
            id++;
        while (isspace((unsigned char)*amt))
            amt++;
        for (char *q = colon - 1; q >= id && isspace((unsigned char)*q); q--)
            *q = 0;
        for (size_t k = strlen(amt); k && isspace((unsigned char)amt[k - 1]); k--)
            amt[k - 1] = 0;
        if (!*id) {
            snprintf(errstr, errlen, "allocations: empty invoice_id in '%.*s'", (int)len, p);
            goto fail;
        }
        if (tool_money_check(amt, cur, "allocations", errstr, errlen) != 0)
            goto fail;
        o = json_object();
        json_object_set_new(o, "invoice_id", json_string(id));
        json_object_set_new(o, "amount", json_string(amt));
        json_array_append_new(a, o);
        if (!e)
            break;
        p = e + 1;
    }
    return a;
fail:
    json_decref(a);
    return NULL;
}

/* A deterministic CloudEvents id for a CSV row without one: "csv-" and the
 * first 24 hex digits of SHA-256 over the row's fields, so publishing the
 * same file twice is de-duplicated by ingest. */
static void tool_row_id(char **fields, int n, char *out, size_t outlen)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1) {
        for (int i = 0; i < n; i++) {
            EVP_DigestUpdate(ctx, fields[i], strlen(fields[i]));
            EVP_DigestUpdate(ctx, "\x1f", 1);
        }
        EVP_DigestFinal_ex(ctx, md, &mdlen);
    }
    EVP_MD_CTX_free(ctx);
    k = (size_t)snprintf(out, outlen, "csv-");
    for (unsigned i = 0; i < 12 && i < mdlen && k + 2 < outlen; i++) {
        out[k++] = hex[md[i] >> 4];
        out[k++] = hex[md[i] & 15];
    }
    out[k] = 0;
}

typedef struct tool_pub_opts {
    const char *tenant; /* default tenant */
    const char *source; /* default source for CSV rows */
    int tenant_given;
} tool_pub_opts;

/* Turns one CSV row into a CloudEvent. On success *out owns the event (the
 * caller decrefs). On a bad row: -1 with "column: rule" in errstr. */
static int tool_csv_to_event(const tool_csv_header *h, char **fields, int n,
                             const tool_pub_opts *o, json_t **out, char *errstr, size_t errlen)
{
    const tool_type_spec *spec = NULL;
    const char *v[C_N];
    json_t *ce = NULL, *d = NULL;
    char idbuf[64], tbuf[40];
    int64_t t = 0;
    int required = 1;

    *out = NULL;
    if (n != h->nfields) {
        snprintf(errstr, errlen, "row has %d fields, the header has %d", n, h->nfields);
        return -1;
    }
    for (int c = 0; c < C_N; c++)
        v[c] = h->field_of[c] >= 0 ? fields[h->field_of[c]] : "";
    for (int i = 0; i < TOOL_NTYPES; i++)
        if (strcmp(v[C_TYPE], tool_types[i].type) == 0)
            spec = &tool_types[i];
    if (!spec) {
        snprintf(errstr, errlen, "type: unknown event type '%s'", v[C_TYPE]);
        return -1;
    }
    if (*v[C_CURRENCY] && cm_money_exponent(v[C_CURRENCY]) < 0) {
        snprintf(errstr, errlen, "currency: not an ISO 4217 code we know: '%s'", v[C_CURRENCY]);
        return -1;
    }
    d = json_object();
    for (const int *c = spec->cols; *c != END; c++) {
        const char *x;
        json_t *j = NULL;
        int32_t day;
        int64_t ms;
        if (*c == REQ_END) {
            required = 0;
            continue;
        }
        x = v[*c];
        if (!*x) {
            if (required) {
                snprintf(errstr, errlen, "%s: required for %s%s", tool_col_names[*c], spec->type,
                         h->field_of[*c] < 0 ? " (no such column in the header)" : "");
                goto fail;
            }
            continue;
        }
        switch (tool_col_kind[*c]) {
        case K_MONEY:
            if (*c == C_CREDIT_LIMIT && !*v[C_CURRENCY]) {
                snprintf(errstr, errlen, "currency: required with credit_limit");
                goto fail;
            }
            if (tool_money_check(x, v[C_CURRENCY], tool_col_names[*c], errstr, errlen) != 0)
                goto fail;
            j = json_string(x);
            break;
        case K_DATE:
            if (cm_date_parse(x, &day) != 0) {
                snprintf(errstr, errlen, "%s: not a date (YYYY-MM-DD): '%s'", tool_col_names[*c],
                         x);
                goto fail;
            }
            j = json_string(x);
            break;
        case K_INSTANT:
            if (cm_time_parse_rfc3339(x, &ms) != 0) {
                snprintf(errstr, errlen, "%s: not an RFC 3339 timestamp: '%s'",
                         tool_col_names[*c], x);
                goto fail;
            }
            j = json_string(x);
            break;
        case K_LIST:
            j = tool_list_json(x);
            break;
        case K_ALLOC:
            j = tool_alloc_json(x, v[C_CURRENCY], errstr, errlen);
            if (!j)
                goto fail;
            break;
        case K_PHONE:
            if (!tool_e164_ok(x)) {
                snprintf(errstr, errlen, "phone: not an E.164 number (+ and 7 to 15 digits): '%s'",
                         x);
                goto fail;
            }
            j = json_string(x);
            break;
        case K_TZ:
            if (!cm_tz_valid(x)) {
                snprintf(errstr, errlen, "timezone: not an IANA time zone: '%s'", x);
                goto fail;
            }
            j = json_string(x);
            break;
        default:
            j = json_string(x);
            break;
        }
        if (!j) {
            snprintf(errstr, errlen, "%s: not valid UTF-8", tool_col_names[*c]);
            goto fail;
        }
        json_object_set_new(d, tool_col_names[*c], j);
    }
    if (!strcmp(spec->type, "payment.received") && !*v[C_RECEIVED_ON] && !*v[C_RECEIVED_AT]) {
        snprintf(errstr, errlen, "received_on: required for payment.received (or received_at)");
        goto fail;
    }
    if (!strcmp(spec->type, "customer.upserted") && *v[C_CREDIT_LIMIT])
        json_object_set_new(d, "credit_currency", json_string(v[C_CURRENCY]));
    if (!strcmp(spec->type, "contact.ceased") && *v[C_CHANNEL] && strcmp(v[C_CHANNEL], "email") &&
        strcmp(v[C_CHANNEL], "sms") && strcmp(v[C_CHANNEL], "webhook") &&
        strcmp(v[C_CHANNEL], "call_task") && strcmp(v[C_CHANNEL], "letter")) {
        snprintf(errstr, errlen, "channel: one of email, sms, webhook, call_task, letter: '%s'",
                 v[C_CHANNEL]);
        goto fail;
    }

    /* time: the column, else the row's business date at 00:00Z, else now. */
    if (*v[C_TIME]) {
        if (cm_time_parse_rfc3339(v[C_TIME], &t) != 0) {
            snprintf(errstr, errlen, "time: not an RFC 3339 timestamp: '%s'", v[C_TIME]);
            goto fail;
        }
        snprintf(tbuf, sizeof(tbuf), "%s", v[C_TIME]);
    } else {
        const char *date = *v[C_RECEIVED_AT] ? NULL
                           : *v[C_ISSUED_ON] && !strncmp(spec->type, "invoice.", 8)
                               ? v[C_ISSUED_ON]
                           : *v[C_RECEIVED_ON] && !strcmp(spec->type, "payment.received")
                               ? v[C_RECEIVED_ON]
                               : NULL;
        if (*v[C_RECEIVED_AT] && !strcmp(spec->type, "payment.received"))
            cm_time_parse_rfc3339(v[C_RECEIVED_AT], &t);
        else if (date) {
            int32_t day;
            cm_date_parse(date, &day);
            t = (int64_t)day * 86400000;
        } else
            t = cm_clock_now_ms();
        cm_time_format_rfc3339(t, tbuf, sizeof(tbuf));
    }
    if (*v[C_ID])
        snprintf(idbuf, sizeof(idbuf), "%s", v[C_ID]);
    else
        tool_row_id(fields, n, idbuf, sizeof(idbuf));
    if (*v[C_ID] && strlen(v[C_ID]) >= sizeof(idbuf)) {
        snprintf(errstr, errlen, "id: longer than %zu characters", sizeof(idbuf) - 1);
        goto fail;
    }

    ce = json_object();
    json_object_set_new(ce, "specversion", json_string("1.0"));
    json_object_set_new(ce, "id", json_string(idbuf));
    json_object_set_new(ce, "source", json_string(*v[C_SOURCE] ? v[C_SOURCE] : o->source));
    json_object_set_new(ce, "type", json_string(spec->type));
    json_object_set_new(ce, "time", json_string(tbuf));
    json_object_set_new(ce, "tenant", json_string(*v[C_TENANT] ? v[C_TENANT] : o->tenant));
    json_object_set_new(ce, "datacontenttype", json_string("application/json"));
    json_object_set_new(ce, "data", d);
    if (!json_is_string(json_object_get(ce, "source")) ||
        !json_is_string(json_object_get(ce, "tenant")) ||
        !json_is_string(json_object_get(ce, "id"))) {
        snprintf(errstr, errlen, "id, source or tenant: not valid UTF-8");
        json_decref(ce);
        return -1;
    }
    *out = ce;
    return 0;
fail:
    json_decref(d);
    return -1;
}

/* ------------------------------------------------------ JSON lines check */

/* Checks a CloudEvents JSON line enough to publish it: an object with
 * specversion "1.0", non-empty string id, source and type, an RFC 3339
 * time, a data object with a non-empty customer_id, and a string tenant if
 * any. On success *out owns the parsed event; *changed is set when the
 * default tenant was added (the caller re-serializes then). */
static int tool_jsonl_check(const char *line, size_t len, const tool_pub_opts *o, json_t **out,
                            int *changed, char *errstr, size_t errlen)
{
    json_error_t je;
    json_t *ce = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je), *x, *d;
    static const char *const req[] = {"id", "source", "type"};
    int64_t t;
    *out = NULL;
    *changed = 0;
    if (!ce) {
        snprintf(errstr, errlen, "not JSON: %s (column %d)", je.text, je.column);
        return -1;
    }
    if (!json_is_object(ce)) {
        snprintf(errstr, errlen, "not a JSON object");
        goto fail;
    }
    x = json_object_get(ce, "specversion");
    if (!json_is_string(x) || strcmp(json_string_value(x), "1.0") != 0) {
        snprintf(errstr, errlen, "specversion: must be \"1.0\"");
        goto fail;
    }
    for (size_t i = 0; i < 3; i++) {
        x = json_object_get(ce, req[i]);
        if (!json_is_string(x) || !*json_string_value(x)) {
            snprintf(errstr, errlen, "%s: required, a non-empty string", req[i]);
            goto fail;
        }
    }
    x = json_object_get(ce, "time");
    if (!json_is_string(x) || cm_time_parse_rfc3339(json_string_value(x), &t) != 0) {
        snprintf(errstr, errlen, "time: required, an RFC 3339 timestamp");
        goto fail;
    }
    d = json_object_get(ce, "data");
    if (!json_is_object(d)) {
        snprintf(errstr, errlen, "data: required, a JSON object");
        goto fail;
    }
    x = json_object_get(d, "customer_id");
    if (!json_is_string(x) || !*json_string_value(x)) {
        snprintf(errstr, errlen, "data.customer_id: required, a non-empty string (the key)");
        goto fail;
    }
    x = json_object_get(ce, "tenant");
    if (x && (!json_is_string(x) || !*json_string_value(x))) {
        snprintf(errstr, errlen, "tenant: must be a non-empty string");
        goto fail;
    }
    if (!x && o->tenant_given) {
        json_object_set_new(ce, "tenant", json_string(o->tenant));
        *changed = 1;
    }
    *out = ce;
    return 0;
fail:
    json_decref(ce);
    return -1;
}

/* Key "tenant/customer_id" and event time of a checked event. */
static void tool_event_key(const json_t *ce, const tool_pub_opts *o, char *key, size_t keylen,
                           int64_t *t)
{
    const json_t *tn = json_object_get(ce, "tenant");
    const char *cid = json_string_value(json_object_get(json_object_get(ce, "data"),
                                                        "customer_id"));
    snprintf(key, keylen, "%s/%s", tn ? json_string_value(tn) : o->tenant, cid ? cid : "");
    if (cm_time_parse_rfc3339(json_string_value(json_object_get(ce, "time")), t) != 0)
        *t = 0;
}

/* --------------------------------------------------------------- output */

typedef struct tool_pub {
    tool_pub_opts o;
    int dry_run, paced;
    rd_kafka_t *rk;
    char topic[256];
    const char *fname;
    const char *fnames[256]; /* by input index, for delivery reports */
    int fidx;
    uint64_t read, published, rejected, delivered, failed;
    int progress_s;
    int64_t last_progress_ms, last_time_ms;
} tool_pub;

static void tool_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    tool_pub *p = opaque;
    (void)rk;
    if (m->err) {
        /* the opaque is (input index << 40) | line number */
        uint64_t o = (uint64_t)(uintptr_t)m->_private;
        p->failed++;
        if (p->failed <= 20)
            fprintf(stderr, "arrears-publish: %s:%" PRIu64 ": delivery failed: %s\n",
                    p->fnames[(o >> 40) & 0xff], o & ((UINT64_C(1) << 40) - 1),
                    rd_kafka_err2str(m->err));
    } else {
        p->delivered++;
    }
}

static void tool_progress(tool_pub *p, int force)
{
    int64_t now = cm_clock_real_ms();
    char sim[40] = "-";
    if (!p->progress_s && !force)
        return;
    if (!force && now - p->last_progress_ms < (int64_t)p->progress_s * 1000)
        return;
    p->last_progress_ms = now;
    if (p->last_time_ms)
        cm_time_format_rfc3339(p->last_time_ms, sim, sizeof(sim));
    fprintf(stderr,
            "arrears-publish: progress read=%" PRIu64 " published=%" PRIu64 " delivered=%" PRIu64
            " rejected=%" PRIu64 " failed=%" PRIu64 " last_event_time=%s\n",
            p->read, p->published, p->delivered, p->rejected, p->failed, sim);
}

/* Waits (serving delivery reports) until the clock reaches t. 0, or -1 if
 * interrupted. */
static int tool_pace(tool_pub *p, int64_t t)
{
    for (;;) {
        int64_t d = cm_clock_real_delay_ms(t);
        if (!cm_service_run)
            return -1;
        if (d <= 0)
            return 0;
        if (d > 200)
            d = 200;
        if (p->rk)
            rd_kafka_poll(p->rk, (int)d);
        else
            usleep((useconds_t)d * 1000);
        tool_progress(p, 0);
    }
}

static int tool_emit(tool_pub *p, const char *key, const char *payload, size_t len, int64_t t,
                     size_t lineno)
{
    rd_kafka_resp_err_t err;
    if (p->paced && tool_pace(p, t) != 0)
        return -1;
    p->last_time_ms = t;
    if (p->dry_run) {
        printf("%s\t%.*s\n", key, (int)len, payload);
        p->published++;
        p->delivered++;
        return 0;
    }
    for (;;) {
        err = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(p->topic), RD_KAFKA_V_KEY(key, strlen(key)),
            RD_KAFKA_V_VALUE((void *)payload, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADER("content-type", "application/cloudevents+json; charset=UTF-8",
                              -1),
            RD_KAFKA_V_OPAQUE((void *)(uintptr_t)(((uint64_t)p->fidx << 40) | lineno)),
            RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(p->rk, 50);
    }
    if (err) {
        fprintf(stderr, "arrears-publish: %s:%zu: produce failed: %s\n", p->fname, lineno,
                rd_kafka_err2str(err));
        p->failed++;
        return -1;
    }
    p->published++;
    rd_kafka_poll(p->rk, 0);
    tool_progress(p, 0);
    return 0;
}

static void tool_reject(tool_pub *p, size_t lineno, const char *why)
{
    p->rejected++;
    fprintf(stderr, "arrears-publish: %s:%zu: %s\n", p->fname, lineno, why);
}

/* Reads one input. Returns 0, or -1 on a fatal problem (unreadable file,
 * bad CSV header, interrupted, produce error). */
static int tool_publish_file(tool_pub *p, FILE *f, const char *format)
{
    char *line = NULL, *rec = NULL, err[1024];
    size_t cap = 0, reccap = 0, lineno = 0;
    ssize_t n;
    int is_csv = -1, have_header = 0, rc = 0;
    tool_csv_header h = {0};

    if (!strcmp(format, "csv"))
        is_csv = 1;
    else if (!strcmp(format, "jsonl"))
        is_csv = 0;
    while (cm_service_run && (n = getline(&line, &cap, f)) >= 0) {
        char *s = line;
        size_t len = (size_t)n, start = ++lineno;
        if (lineno == 1 && len >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
            s += 3, len -= 3; /* UTF-8 BOM */
        while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
            len--;
        {
            size_t k = 0;
            while (k < len && isspace((unsigned char)s[k]))
                k++;
            if (k == len)
                continue; /* blank line */
            if (is_csv < 0)
                is_csv = s[k] != '{';
        }
        if (!is_csv) {
            json_t *ce = NULL;
            int changed;
            char key[512];
            int64_t t;
            p->read++;
            if (tool_jsonl_check(s, len, &p->o, &ce, &changed, err, sizeof(err)) != 0) {
                tool_reject(p, start, err);
                continue;
            }
            tool_event_key(ce, &p->o, key, sizeof(key), &t);
            if (changed) {
                char *dump = json_dumps(ce, JSON_COMPACT | JSON_PRESERVE_ORDER);
                rc = dump ? tool_emit(p, key, dump, strlen(dump), t, start) : -1;
                free(dump);
            } else {
                rc = tool_emit(p, key, s, len, t, start);
            }
            json_decref(ce);
            if (rc != 0)
                break;
            continue;
        }
        /* CSV: gather physical lines until the quotes balance. */
        if (reccap < len + 2) {
            free(rec);
            reccap = len + 2 > 4096 ? len + 2 : 4096;
            if (!(rec = malloc(reccap))) {
                rc = -1;
                break;
            }
        }
        memcpy(rec, s, len);
        {
            size_t rlen = len;
            int toolong = 0;
            while (!tool_csv_complete(rec, rlen)) {
                if ((n = getline(&line, &cap, f)) < 0)
                    break;
                lineno++;
                if (rlen + (size_t)n + 2 > TOOL_MAX_RECORD) {
                    toolong = 1;
                    continue;
                }
                if (rlen + (size_t)n + 2 > reccap) {
                    char *r2;
                    reccap = (rlen + (size_t)n + 2) * 2;
                    if (!(r2 = realloc(rec, reccap))) {
                        rc = -1;
                        goto cleanup;
                    }
                    rec = r2;
                }
                rec[rlen++] = '\n';
                memcpy(rec + rlen, line, (size_t)n);
                rlen += (size_t)n;
                while (rlen && (rec[rlen - 1] == '\n' || rec[rlen - 1] == '\r'))
                    rlen--;
            }
            rec[rlen] = 0;
            char *fields[TOOL_MAX_FIELDS];
            int nf;
            if (toolong) {
                p->read++;
                tool_reject(p, start, "record longer than 1 MiB");
                continue;
            }
            nf = tool_csv_split(rec, rlen, fields, TOOL_MAX_FIELDS, err, sizeof(err));
            if (!have_header) {
                if (nf < 0 || tool_csv_header_parse(fields, nf, &h, err, sizeof(err)) != 0) {
                    fprintf(stderr, "arrears-publish: %s:%zu: %s\n", p->fname, start, err);
                    rc = -2;
                    goto cleanup;
                }
                have_header = 1;
                continue;
            }
            p->read++;
            if (nf < 0) {
                tool_reject(p, start, err);
                continue;
            }
            json_t *ce = NULL;
            if (tool_csv_to_event(&h, fields, nf, &p->o, &ce, err, sizeof(err)) != 0) {
                tool_reject(p, start, err);
                continue;
            }
            char key[512], *dump;
            int64_t t;
            tool_event_key(ce, &p->o, key, sizeof(key), &t);
            dump = json_dumps(ce, JSON_COMPACT | JSON_PRESERVE_ORDER);
            json_decref(ce);
            rc = dump ? tool_emit(p, key, dump, strlen(dump), t, start) : -1;
            free(dump);
            if (rc != 0)
                break;
        }
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "arrears-publish: %s: read error: %s\n", p->fname, strerror(errno));
        rc = -1;
    }
cleanup:
    free(rec);
    free(line);
    return rc;
}

static void tool_pub_usage(FILE *f)
{
    fprintf(f,
            "usage: arrears-publish [options] [FILE...]\n"
            "Publishes billing events (CloudEvents JSON lines or CSV) to\n"
            "<ARREARS_TOPIC_PREFIX>inbound, keyed tenant/customer_id. No FILE or '-': stdin.\n\n"
            "  --format auto|csv|jsonl  input format (auto: '{' first = JSON lines)\n"
            "  --paced                  wait until the clock (ARREARS_CLOCK) reaches each\n"
            "                           event's time before publishing it\n"
            "  --tenant T               tenant for events without one (default 'default')\n"
            "  --source S               CloudEvents source of CSV rows (default arrears-publish)\n"
            "  --dry-run                print 'key<TAB>event' lines instead of publishing\n"
            "  --progress SECONDS       a progress line on stderr every SECONDS\n"
            "  --help, --version\n\n"
            "Settings (environment): ARREARS_KAFKA_BROKERS, ARREARS_TOPIC_PREFIX,\n"
            "ARREARS_CLOCK, ARREARS_KAFKA_<PROPERTY>. CSV columns: docs/publishing.md.\n"
            "Exit: 0 all published; 1 some lines rejected or deliveries failed; 2 usage or\n"
            "configuration error.\n");
}

static cm_setting tool_pub_settings[] = {CM_SETTINGS_COMMON("", "arrears-publish"),
                                         CM_SETTINGS_END};

int main(int argc, char **argv)
{
    tool_pub p;
    const char *format = "auto", *files[256];
    int nfiles = 0, status = 0;
    char err[4096];
    rd_kafka_conf_t *conf = NULL;

    memset(&p, 0, sizeof(p));
    p.o.tenant = "default";
    p.o.source = "arrears-publish";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            tool_pub_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("arrears-publish %s\n", ARREARS_VERSION);
            return 0;
        } else if (!strcmp(a, "--paced")) {
            p.paced = 1;
        } else if (!strcmp(a, "--dry-run")) {
            p.dry_run = 1;
        } else if (!strcmp(a, "--format") || !strcmp(a, "--tenant") || !strcmp(a, "--source") ||
                   !strcmp(a, "--progress")) {
            if (!v || !*v) {
                fprintf(stderr, "arrears-publish: %s needs a value\n", a);
                return 2;
            }
            i++;
            if (!strcmp(a, "--format")) {
                if (strcmp(v, "auto") && strcmp(v, "csv") && strcmp(v, "jsonl")) {
                    fprintf(stderr, "arrears-publish: --format: auto, csv or jsonl, not '%s'\n", v);
                    return 2;
                }
                format = v;
            } else if (!strcmp(a, "--tenant")) {
                p.o.tenant = v;
                p.o.tenant_given = 1;
            } else if (!strcmp(a, "--source")) {
                p.o.source = v;
            } else {
                p.progress_s = atoi(v);
                if (p.progress_s < 1 || p.progress_s > 3600) {
                    fprintf(stderr, "arrears-publish: --progress: seconds in 1..3600\n");
                    return 2;
                }
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "arrears-publish: unknown option %s (see --help)\n", a);
            return 2;
        } else if (nfiles < 256) {
            files[nfiles++] = a;
        } else {
            fprintf(stderr, "arrears-publish: at most 256 files\n");
            return 2;
        }
    }
    if (cm_settings_load(tool_pub_settings, err, sizeof(err)) != 0) {
        fprintf(stderr, "arrears-publish: configuration invalid:\n%s\n", err);
        return 2;
    }
    cm_log_init("publish", cm_settings_str(tool_pub_settings, "ARREARS_LOG_LEVEL"));
    if (cm_clock_init(cm_settings_str(tool_pub_settings, "ARREARS_CLOCK"), err, sizeof(err)) !=
        0) {
        fprintf(stderr, "arrears-publish: ARREARS_CLOCK: %s\n", err);
        return 2;
    }
    cm_service_signals();
    cm_settings_topic(tool_pub_settings, "inbound", p.topic, sizeof(p.topic));
    if (!p.dry_run) {
        conf = cm_kafka_conf_new(cm_settings_str(tool_pub_settings, "ARREARS_KAFKA_BROKERS"),
                                 "arrears-publish", err, sizeof(err));
        if (!conf || rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err)) ||
            rd_kafka_conf_set(conf, "acks", "all", err, sizeof(err)) ||
            rd_kafka_conf_set(conf, "linger.ms", "20", err, sizeof(err)) ||
            rd_kafka_conf_set(conf, "compression.codec", "lz4", err, sizeof(err)) ||
            /* 60 s unless ARREARS_KAFKA_MESSAGE_TIMEOUT_MS says otherwise */
            (!getenv("ARREARS_KAFKA_MESSAGE_TIMEOUT_MS") &&
             rd_kafka_conf_set(conf, "message.timeout.ms", "60000", err, sizeof(err)))) {
            fprintf(stderr, "arrears-publish: Kafka configuration: %s\n", err);
            if (conf)
                rd_kafka_conf_destroy(conf);
            return 2;
        }
        rd_kafka_conf_set_opaque(conf, &p);
        rd_kafka_conf_set_dr_msg_cb(conf, tool_on_delivery);
        p.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!p.rk) {
            rd_kafka_conf_destroy(conf);
            fprintf(stderr, "arrears-publish: Kafka producer: %s\n", err);
            return 2;
        }
        conf = NULL; /* owned by p.rk */
    }
    if (nfiles == 0)
        files[nfiles++] = "-";
    for (int i = 0; i < nfiles && cm_service_run; i++) {
        FILE *f = strcmp(files[i], "-") ? fopen(files[i], "r") : stdin;
        int rc;
        p.fname = strcmp(files[i], "-") ? files[i] : "<stdin>";
        p.fnames[i] = p.fname;
        p.fidx = i;
        if (!f) {
            fprintf(stderr, "arrears-publish: %s: %s\n", files[i], strerror(errno));
            status = 2;
            break;
        }
        rc = tool_publish_file(&p, f, format);
        if (f != stdin)
            fclose(f);
        if (rc == -2) {
            status = 2;
            break;
        }
        if (rc != 0)
            break;
    }
    if (p.rk) {
        /* Every record queued so far gets its report (or times out). */
        int64_t deadline = cm_clock_real_ms() + 90000;
        while (rd_kafka_outq_len(p.rk) > 0 && cm_clock_real_ms() < deadline) {
            rd_kafka_flush(p.rk, 500);
            tool_progress(&p, 0);
        }
        if (rd_kafka_outq_len(p.rk) > 0) {
            fprintf(stderr, "arrears-publish: %d record(s) still undelivered after 90 s\n",
                    rd_kafka_outq_len(p.rk));
            p.failed += (uint64_t)rd_kafka_outq_len(p.rk);
        }
        rd_kafka_destroy(p.rk);
        p.rk = NULL;
    }
    fprintf(stderr,
            "arrears-publish: %" PRIu64 " read, %" PRIu64 " published, %" PRIu64
            " delivered, %" PRIu64 " rejected, %" PRIu64 " failed delivery%s\n",
            p.read, p.published, p.delivered, p.rejected, p.failed,
            cm_service_run ? "" : " (interrupted)");
    cm_tz_cache_free();
    if (status)
        return status;
    if (!cm_service_run)
        return 130;
    return p.rejected || p.failed || p.published != p.delivered ? 1 : 0;
}
