/* publish_lib.c -- arrears-publish's logic: CSV records to CloudEvents and
 * the JSON-lines envelope check (publish_lib.h).
 *
 * Design: the publisher checks what it needs to publish correctly (the
 * envelope, the key, and for CSV every value it converts: currency and the
 * amount's decimals, dates, RFC 3339 instants, E.164 phones, IANA zones);
 * the full contract is ingest's job, which answers with its DLQ. Which
 * columns an event type takes is the table tool_types below, keyed by the
 * contract's ct_type; type and channel names come from contract.c. */
#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "clock.h"
#include "contract.h"
#include "json.h"
#include "money.h"
#include "publish_lib.h"
#include "tz.h"
#include "validate.h"

/* ------------------------------------------------------------- CSV split */

/* Splits one CSV record (RFC 4180: comma separator, '"' quoting with ""
 * for a quote, quoted fields may hold commas and newlines) in place.
 * Unquoted fields have surrounding blanks trimmed. A trailing CR/LF is
 * ignored. fields[i] point into rec. Returns the number of fields, or -1
 * with errstr ("field 3: ..."). */
int tool_csv_split(char *rec, size_t len, char **fields, int maxfields, char *errstr, size_t errlen)
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
                         "field %d: quote inside an unquoted field (quote the whole field)", n + 1);
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
int tool_csv_complete(const char *s, size_t len)
{
    size_t q = 0;
    for (size_t i = 0; i < len; i++)
        q += s[i] == '"';
    return q % 2 == 0;
}

/* ----------------------------------------------------------- CSV columns */

static const char *const tool_col_names[TOOL_COL_N] = {
    "type",        "id",          "time",           "tenant",     "source",      "customer_id",
    "invoice_id",  "number",      "currency",       "amount",     "issued_on",   "due_on",
    "terms",       "po_number",   "tags",           "payment_id", "received_on", "received_at",
    "allocations", "reason",      "credit_note_id", "name",       "email",       "phone",
    "timezone",    "locale",      "country",        "channels",   "opted_out",   "credit_limit",
    "invoice_ids", "promised_on", "channel"};

/* How a column's value becomes a data field. */
enum { K_STR, K_MONEY, K_DATE, K_INSTANT, K_LIST, K_ALLOC, K_PHONE, K_TZ };
static const unsigned char tool_col_kind[TOOL_COL_N] = {
    [TOOL_COL_AMOUNT] = K_MONEY,        [TOOL_COL_CREDIT_LIMIT] = K_MONEY,
    [TOOL_COL_ISSUED_ON] = K_DATE,      [TOOL_COL_DUE_ON] = K_DATE,
    [TOOL_COL_RECEIVED_ON] = K_DATE,    [TOOL_COL_PROMISED_ON] = K_DATE,
    [TOOL_COL_RECEIVED_AT] = K_INSTANT, [TOOL_COL_TAGS] = K_LIST,
    [TOOL_COL_CHANNELS] = K_LIST,       [TOOL_COL_OPTED_OUT] = K_LIST,
    [TOOL_COL_INVOICE_IDS] = K_LIST,    [TOOL_COL_ALLOCATIONS] = K_ALLOC,
    [TOOL_COL_PHONE] = K_PHONE,         [TOOL_COL_TIMEZONE] = K_TZ};

/* Per type: required columns, then '|', then optional ones (-1 ends). */
#define REQ_END (-2)
#define END     (-1)
typedef struct tool_type_spec {
    ct_type type;
    int cols[16];
} tool_type_spec;
static const tool_type_spec tool_types[] = {
    {CT_EV_INVOICE_ISSUED,
     {TOOL_COL_INVOICE_ID, TOOL_COL_CUSTOMER_ID, TOOL_COL_NUMBER, TOOL_COL_CURRENCY,
      TOOL_COL_AMOUNT, TOOL_COL_ISSUED_ON, TOOL_COL_DUE_ON, REQ_END, TOOL_COL_TAGS, TOOL_COL_TERMS,
      TOOL_COL_PO_NUMBER, END}},
    {CT_EV_INVOICE_UPDATED,
     {TOOL_COL_INVOICE_ID, TOOL_COL_CUSTOMER_ID, TOOL_COL_NUMBER, TOOL_COL_CURRENCY,
      TOOL_COL_AMOUNT, TOOL_COL_ISSUED_ON, TOOL_COL_DUE_ON, REQ_END, TOOL_COL_TAGS, TOOL_COL_TERMS,
      TOOL_COL_PO_NUMBER, END}},
    {CT_EV_INVOICE_VOIDED, {TOOL_COL_INVOICE_ID, TOOL_COL_CUSTOMER_ID, REQ_END, END}},
    {CT_EV_INVOICE_WRITTEN_OFF, {TOOL_COL_INVOICE_ID, TOOL_COL_CUSTOMER_ID, REQ_END, END}},
    {CT_EV_PAYMENT_RECEIVED,
     {TOOL_COL_PAYMENT_ID, TOOL_COL_CUSTOMER_ID, TOOL_COL_CURRENCY, TOOL_COL_AMOUNT, REQ_END,
      TOOL_COL_RECEIVED_ON, TOOL_COL_RECEIVED_AT, TOOL_COL_ALLOCATIONS, END}},
    {CT_EV_PAYMENT_REVERSED,
     {TOOL_COL_PAYMENT_ID, TOOL_COL_CUSTOMER_ID, TOOL_COL_REASON, REQ_END, END}},
    {CT_EV_CREDIT_NOTE_ISSUED,
     {TOOL_COL_CREDIT_NOTE_ID, TOOL_COL_CUSTOMER_ID, TOOL_COL_INVOICE_ID, TOOL_COL_CURRENCY,
      TOOL_COL_AMOUNT, REQ_END, END}},
    {CT_EV_CUSTOMER_UPSERTED,
     {TOOL_COL_CUSTOMER_ID, TOOL_COL_NAME, REQ_END, TOOL_COL_EMAIL, TOOL_COL_PHONE,
      TOOL_COL_TIMEZONE, TOOL_COL_LOCALE, TOOL_COL_COUNTRY, TOOL_COL_CHANNELS, TOOL_COL_OPTED_OUT,
      TOOL_COL_CREDIT_LIMIT, TOOL_COL_TAGS, END}},
    {CT_EV_PROMISE_MADE,
     {TOOL_COL_CUSTOMER_ID, TOOL_COL_INVOICE_IDS, TOOL_COL_CURRENCY, TOOL_COL_AMOUNT,
      TOOL_COL_PROMISED_ON, REQ_END, END}},
    {CT_EV_DISPUTE_OPENED,
     {TOOL_COL_CUSTOMER_ID, TOOL_COL_INVOICE_ID, TOOL_COL_REASON, REQ_END, END}},
    {CT_EV_DISPUTE_RESOLVED,
     {TOOL_COL_CUSTOMER_ID, TOOL_COL_INVOICE_ID, TOOL_COL_REASON, REQ_END, END}},
    {CT_EV_CONTACT_CEASED, {TOOL_COL_CUSTOMER_ID, REQ_END, TOOL_COL_CHANNEL, END}},
};
#define TOOL_NTYPES ((int)(sizeof(tool_types) / sizeof(tool_types[0])))

/* The types whose row time defaults to issued_on. */
static int tool_type_invoice(ct_type t)
{
    return t == CT_EV_INVOICE_ISSUED || t == CT_EV_INVOICE_UPDATED || t == CT_EV_INVOICE_VOIDED ||
           t == CT_EV_INVOICE_WRITTEN_OFF;
}

int tool_csv_header_parse(char **fields, int n, tool_csv_header *h, char *errstr, size_t errlen)
{
    h->nfields = n;
    for (int c = 0; c < TOOL_COL_N; c++)
        h->field_of[c] = -1;
    for (int i = 0; i < n; i++) {
        int found = -1;
        for (int c = 0; c < TOOL_COL_N; c++)
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
    if (h->field_of[TOOL_COL_TYPE] < 0) {
        snprintf(errstr, errlen, "header: no 'type' column");
        return -1;
    }
    return 0;
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

/* Turns one CSV row into a CloudEvent. On success *out owns the event (the
 * caller decrefs). On a bad row: -1 with "column: rule" in errstr. */
int tool_csv_to_event(const tool_csv_header *h, char **fields, int n, const tool_pub_opts *o,
                      json_t **out, char *errstr, size_t errlen)
{
    const tool_type_spec *spec = NULL;
    const char *v[TOOL_COL_N];
    json_t *ce = NULL, *d = NULL;
    char idbuf[CT_ID_MAX + 1], tbuf[40];
    int64_t t = 0;
    int required = 1;

    *out = NULL;
    if (n != h->nfields) {
        snprintf(errstr, errlen, "row has %d fields, the header has %d", n, h->nfields);
        return -1;
    }
    for (int c = 0; c < TOOL_COL_N; c++)
        v[c] = h->field_of[c] >= 0 ? fields[h->field_of[c]] : "";
    ct_type type = ct_type_parse(v[TOOL_COL_TYPE], strlen(v[TOOL_COL_TYPE]));
    for (int i = 0; i < TOOL_NTYPES; i++)
        if (type != CT_EV_NONE && tool_types[i].type == type)
            spec = &tool_types[i];
    if (!spec) {
        snprintf(errstr, errlen, "type: unknown event type '%s'", v[TOOL_COL_TYPE]);
        return -1;
    }
    if (*v[TOOL_COL_CURRENCY] && cm_money_exponent(v[TOOL_COL_CURRENCY]) < 0) {
        snprintf(errstr, errlen, "currency: not an ISO 4217 code we know: '%s'",
                 v[TOOL_COL_CURRENCY]);
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
                snprintf(errstr, errlen, "%s: required for %s%s", tool_col_names[*c],
                         ct_type_name(spec->type),
                         h->field_of[*c] < 0 ? " (no such column in the header)" : "");
                goto fail;
            }
            continue;
        }
        switch (tool_col_kind[*c]) {
        case K_MONEY:
            if (*c == TOOL_COL_CREDIT_LIMIT && !*v[TOOL_COL_CURRENCY]) {
                snprintf(errstr, errlen, "currency: required with credit_limit");
                goto fail;
            }
            if (tool_money_check(x, v[TOOL_COL_CURRENCY], tool_col_names[*c], errstr, errlen) != 0)
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
                snprintf(errstr, errlen, "%s: not an RFC 3339 timestamp: '%s'", tool_col_names[*c],
                         x);
                goto fail;
            }
            j = json_string(x);
            break;
        case K_LIST:
            j = tool_list_json(x);
            break;
        case K_ALLOC:
            j = tool_alloc_json(x, v[TOOL_COL_CURRENCY], errstr, errlen);
            if (!j)
                goto fail;
            break;
        case K_PHONE:
            if (!ct_e164_valid(x)) {
                snprintf(errstr, errlen, "phone: not an E.164 number (+ and 8 to 15 digits): '%s'",
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
    if (spec->type == CT_EV_PAYMENT_RECEIVED && !*v[TOOL_COL_RECEIVED_ON] &&
        !*v[TOOL_COL_RECEIVED_AT]) {
        snprintf(errstr, errlen, "received_on: required for payment.received (or received_at)");
        goto fail;
    }
    if (spec->type == CT_EV_CUSTOMER_UPSERTED && *v[TOOL_COL_CREDIT_LIMIT])
        json_object_set_new(d, "credit_currency", json_string(v[TOOL_COL_CURRENCY]));
    if (spec->type == CT_EV_CONTACT_CEASED && *v[TOOL_COL_CHANNEL] &&
        ct_channel_parse(v[TOOL_COL_CHANNEL], strlen(v[TOOL_COL_CHANNEL])) == CT_CH_NONE) {
        snprintf(errstr, errlen, "channel: one of email, sms, webhook, call_task, letter: '%s'",
                 v[TOOL_COL_CHANNEL]);
        goto fail;
    }

    /* time: the column, else the row's business date at 00:00Z, else now. */
    if (*v[TOOL_COL_TIME]) {
        if (cm_time_parse_rfc3339(v[TOOL_COL_TIME], &t) != 0) {
            snprintf(errstr, errlen, "time: not an RFC 3339 timestamp: '%s'", v[TOOL_COL_TIME]);
            goto fail;
        }
        snprintf(tbuf, sizeof(tbuf), "%s", v[TOOL_COL_TIME]);
    } else {
        const char *date = *v[TOOL_COL_RECEIVED_AT] ? NULL
                           : *v[TOOL_COL_ISSUED_ON] && tool_type_invoice(spec->type)
                               ? v[TOOL_COL_ISSUED_ON]
                           : *v[TOOL_COL_RECEIVED_ON] && spec->type == CT_EV_PAYMENT_RECEIVED
                               ? v[TOOL_COL_RECEIVED_ON]
                               : NULL;
        if (*v[TOOL_COL_RECEIVED_AT] && spec->type == CT_EV_PAYMENT_RECEIVED)
            cm_time_parse_rfc3339(v[TOOL_COL_RECEIVED_AT], &t);
        else if (date) {
            int32_t day;
            cm_date_parse(date, &day);
            t = (int64_t)day * 86400000;
        } else
            t = cm_clock_now_ms();
        cm_time_format_rfc3339(t, tbuf, sizeof(tbuf));
    }
    if (*v[TOOL_COL_ID])
        snprintf(idbuf, sizeof(idbuf), "%s", v[TOOL_COL_ID]);
    else
        tool_row_id(fields, n, idbuf, sizeof(idbuf));
    if (*v[TOOL_COL_ID] && strlen(v[TOOL_COL_ID]) >= sizeof(idbuf)) {
        snprintf(errstr, errlen, "id: longer than %zu bytes", sizeof(idbuf) - 1);
        goto fail;
    }

    ce = json_object();
    json_object_set_new(ce, "specversion", json_string("1.0"));
    json_object_set_new(ce, "id", json_string(idbuf));
    json_object_set_new(ce, "source",
                        json_string(*v[TOOL_COL_SOURCE] ? v[TOOL_COL_SOURCE] : o->source));
    json_object_set_new(ce, "type", json_string(ct_type_name(spec->type)));
    json_object_set_new(ce, "time", json_string(tbuf));
    json_object_set_new(ce, "tenant",
                        json_string(*v[TOOL_COL_TENANT] ? v[TOOL_COL_TENANT] : o->tenant));
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
 * any. Read with the arena reader (common/json.h: strict like jansson with
 * JSON_REJECT_DUPLICATES, no malloc per line); the line itself is what is
 * published. Without a tenant and with --tenant given, *rewritten is the
 * line with "tenant" added as the first member (malloc'd). */
int tool_jsonl_check(cm_json *j, const char *line, size_t len, const tool_pub_opts *o, char *key,
                     size_t keylen, int64_t *t, char **rewritten, char *errstr, size_t errlen)
{
    static const char *const req[] = {"id", "source", "type"};
    char jerr[200];
    const cm_jv *ce, *x, *d, *cid;
    *rewritten = NULL;
    if (!ct_utf8_valid(line, len)) {
        snprintf(errstr, errlen, "not JSON: not valid UTF-8");
        return -1;
    }
    if (!(ce = cm_json_parse(j, line, len, 64, jerr, sizeof jerr))) {
        snprintf(errstr, errlen, "not JSON: %s", jerr);
        return -1;
    }
    if (ce->type != CM_JV_OBJECT) {
        snprintf(errstr, errlen, "not a JSON object");
        return -1;
    }
    x = cm_jv_get(ce, "specversion");
    if (!x || x->type != CM_JV_STRING || strcmp(x->u.s, "1.0") != 0) {
        snprintf(errstr, errlen, "specversion: must be \"1.0\"");
        return -1;
    }
    for (size_t i = 0; i < 3; i++) {
        x = cm_jv_get(ce, req[i]);
        if (!x || x->type != CM_JV_STRING || x->n == 0) {
            snprintf(errstr, errlen, "%s: required, a non-empty string", req[i]);
            return -1;
        }
    }
    x = cm_jv_get(ce, "time");
    if (!x || x->type != CM_JV_STRING || cm_time_parse_rfc3339(x->u.s, t) != 0) {
        snprintf(errstr, errlen, "time: required, an RFC 3339 timestamp");
        return -1;
    }
    d = cm_jv_get(ce, "data");
    if (!d || d->type != CM_JV_OBJECT) {
        snprintf(errstr, errlen, "data: required, a JSON object");
        return -1;
    }
    cid = cm_jv_get(d, "customer_id");
    if (!cid || cid->type != CM_JV_STRING || cid->n == 0) {
        snprintf(errstr, errlen, "data.customer_id: required, a non-empty string (the key)");
        return -1;
    }
    x = cm_jv_get(ce, "tenant");
    if (x && (x->type != CM_JV_STRING || x->n == 0)) {
        snprintf(errstr, errlen, "tenant: must be a non-empty string");
        return -1;
    }
    snprintf(key, keylen, "%s/%s", x ? x->u.s : o->tenant, cid->u.s);
    if (!x && o->tenant_given) {
        cm_buf b = {0};
        const char *brace = memchr(line, '{', len); /* the object's own: it is one */
        size_t rest = len - (size_t)(brace + 1 - line);
        if (cm_buf_adds(&b, "{\"tenant\":") < 0 ||
            cm_buf_json_str(&b, o->tenant, strlen(o->tenant)) < 0 || cm_buf_addc(&b, ',') < 0 ||
            cm_buf_add(&b, brace + 1, rest) < 0) {
            cm_buf_free(&b);
            snprintf(errstr, errlen, "out of memory");
            return -1;
        }
        *rewritten = cm_buf_take(&b, NULL);
        if (!*rewritten) {
            snprintf(errstr, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* Key "tenant/customer_id" and event time of a checked event. */
void tool_event_key(const json_t *ce, const tool_pub_opts *o, char *key, size_t keylen, int64_t *t)
{
    const json_t *tn = json_object_get(ce, "tenant");
    const char *cid =
        json_string_value(json_object_get(json_object_get(ce, "data"), "customer_id"));
    snprintf(key, keylen, "%s/%s", tn ? json_string_value(tn) : o->tenant, cid ? cid : "");
    if (cm_time_parse_rfc3339(json_string_value(json_object_get(ce, "time")), t) != 0)
        *t = 0;
}
