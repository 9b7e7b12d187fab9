/* rules.c -- the rules of each inbound event type's data (ct_normalize_data).
 *
 * Design: one function per type family reads the inbound `data` object
 * field by field through small helpers; each helper checks one field,
 * records a reason naming the field and the rule when it is wrong, and
 * writes the normalized value to the output (a JSON writer; the output is
 * thrown away when any reason was added). Every problem of a
 * message is collected (not only the first), so a publisher fixes them all
 * in one go. Fields not in the contract are ignored. docs/events.md is the
 * prose form of this file; keep them together. */
#include "command.h"
#include "internal.h"
#include "validate.h"

#include "clock.h"
#include "money.h"
#include "tz.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int channel_known(const char *s)
{
    return ct_channel_parse(s, strlen(s)) != CT_CH_NONE;
}

typedef struct vctx {
    const cm_jv *in; /* borrowed inbound object */
    cm_buf *out;     /* normalized object being written */
    int first;       /* no member written yet */
    ct_reasons *rs;
    const char *prefix; /* "data" or "data.allocations" */
    size_t item;        /* > 0: the object is prefix[item - 1] */
} vctx;

static void fpath(const vctx *c, const char *name, char *buf, size_t len)
{
    if (c->item)
        snprintf(buf, len, "%s[%zu].%s", c->prefix, c->item - 1, name);
    else
        snprintf(buf, len, "%s.%s", c->prefix, name);
}

static void bad(vctx *c, const char *name, const char *rule, const char *msg)
{
    char f[128];
    fpath(c, name, f, sizeof f);
    ct_reason_add(c->rs, f, rule, "%s", msg);
}

static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static int absent(const cm_jv *v)
{
    return !v || v->type == CM_JV_NULL;
}

/* The string value of field name, or NULL (reason added when present but
 * wrong, or when required and absent). JSON null counts as absent. */
static const char *get_str(vctx *c, const char *name, int required, size_t maxlen, int is_id)
{
    const cm_jv *v = cm_jv_get(c->in, name);
    if (absent(v)) {
        if (required)
            bad(c, name, "required", "required");
        return NULL;
    }
    if (v->type != CM_JV_STRING) {
        bad(c, name, "type", "must be a string");
        return NULL;
    }
    if (v->n == 0) {
        bad(c, name, "non_empty", "must not be empty");
        return NULL;
    }
    if (v->n > maxlen) {
        char m[64];
        snprintf(m, sizeof m, "longer than %zu bytes", maxlen);
        bad(c, name, "max_length", m);
        return NULL;
    }
    if (is_id && has_control(v->u.s)) {
        bad(c, name, "chars", "must not contain control characters");
        return NULL;
    }
    return v->u.s;
}

/* Member names are the contract's own (plain ASCII, nothing to escape):
 * written as they are, in one piece. */
static void w_key(vctx *c, const char *name)
{
    size_t n = strlen(name);
    if (cm_buf_reserve(c->out, n + 4) != 0)
        return;
    char *o = c->out->p + c->out->len;
    if (!c->first)
        *o++ = ',';
    c->first = 0;
    *o++ = '"';
    memcpy(o, name, n);
    o += n;
    *o++ = '"';
    *o++ = ':';
    *o = 0;
    c->out->len = (size_t)(o - c->out->p);
}

static void w_int(vctx *c, const char *name, int64_t v)
{
    w_key(c, name);
    cm_buf_int(c->out, v);
}

static void put_str(vctx *c, const char *name, const char *s)
{
    w_key(c, name);
    cm_buf_json_str(c->out, s, strlen(s));
}

static const char *f_id(vctx *c, const char *name, int required)
{
    const char *s = get_str(c, name, required, CT_ID_MAX, 1);
    if (s)
        put_str(c, name, s);
    return s;
}

static const char *f_text(vctx *c, const char *name, int required)
{
    const char *s = get_str(c, name, required, CT_TEXT_MAX, 0);
    if (s)
        put_str(c, name, s);
    return s;
}

/* One line of text (an invoice number: printed in subjects and packed in
 * the scheduler's records): text's length, but no control characters. */
static const char *f_line(vctx *c, const char *name, int required)
{
    const char *s = get_str(c, name, required, CT_TEXT_MAX, 1);
    if (s)
        put_str(c, name, s);
    return s;
}

/* Returns 1 and *days when valid. */
static int f_date(vctx *c, const char *name, int required, int32_t *days)
{
    const char *s = get_str(c, name, required, 64, 0);
    if (!s)
        return 0;
    if (strlen(s) != 10 || cm_date_parse(s, days) != 0) {
        bad(c, name, "date", "not a date (YYYY-MM-DD)");
        return 0;
    }
    put_str(c, name, s); /* cm_date_parse is strict: s is already canonical */
    return 1;
}

static int f_instant(vctx *c, const char *name, int required, int64_t *ms)
{
    const char *s = get_str(c, name, required, 64, 0);
    if (!s)
        return 0;
    if (cm_time_parse_rfc3339(s, ms) != 0) {
        bad(c, name, "rfc3339", "not an RFC 3339 timestamp (2026-03-01T09:00:00Z)");
        return 0;
    }
    char buf[40];
    cm_time_format_rfc3339(*ms, buf, sizeof buf);
    put_str(c, name, buf);
    return 1;
}

/* ISO 4217 code, upper-cased into code; returns the exponent or -1. */
static int currency_code(vctx *c, const char *name, int required, char code[4])
{
    const char *s = get_str(c, name, required, 16, 1);
    if (!s)
        return -1;
    if (strlen(s) != 3 || !isalpha((unsigned char)s[0]) || !isalpha((unsigned char)s[1]) ||
        !isalpha((unsigned char)s[2])) {
        bad(c, name, "currency", "not an ISO 4217 currency code (3 letters)");
        return -1;
    }
    for (int i = 0; i < 3; i++)
        code[i] = (char)toupper((unsigned char)s[i]);
    code[3] = 0;
    /* cm_money_exponent scans the ISO 4217 lists with strcmp (~2 500
     * instructions); its answer for a code never changes, so each thread
     * remembers it (0: not looked up yet, else exponent + 2). */
    static _Thread_local signed char exp_cache[26 * 26 * 26];
    int e;
    if (code[0] >= 'A' && code[0] <= 'Z' && code[1] >= 'A' && code[1] <= 'Z' && code[2] >= 'A' &&
        code[2] <= 'Z') {
        signed char *slot =
            &exp_cache[((code[0] - 'A') * 26 + (code[1] - 'A')) * 26 + (code[2] - 'A')];
        if (!*slot)
            *slot = (signed char)(cm_money_exponent(code) + 2);
        e = *slot - 2;
    } else {
        e = cm_money_exponent(code); /* isalpha of another locale */
    }
    if (e < 0) {
        char m[64];
        snprintf(m, sizeof m, "unknown ISO 4217 currency '%s'", code);
        bad(c, name, "currency", m);
        return -1;
    }
    return e;
}

static int f_currency(vctx *c, const char *name, int required, char code[4])
{
    int e = currency_code(c, name, required, code);
    if (e >= 0)
        put_str(c, name, code);
    return e;
}

int ct_amount_minor(const cm_jv *v, const char *currency, int exponent, const char *field,
                    int64_t *minor, ct_reasons *rs)
{
    static const double pow10[] = {1, 10, 100, 1000, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    if (absent(v)) {
        ct_reason_add(rs, field, "required", "required");
        return -1;
    }
    if (exponent < 0 || exponent > 9)
        return -1; /* the currency's own reason was added */
    char buf[64], err[128];
    const char *s;
    if (v->type == CM_JV_INT) {
        int64_t x = v->u.i;
        if (x < 0) {
            ct_reason_add(rs, field, "amount_negative", "must not be negative");
            return -1;
        }
        snprintf(buf, sizeof buf, "%lld", (long long)x);
        s = buf;
    } else if (v->type == CM_JV_REAL) {
        double x = v->u.d;
        if (!isfinite(x)) {
            ct_reason_add(rs, field, "amount_finite", "must be a finite number");
            return -1;
        }
        if (x < 0) {
            ct_reason_add(rs, field, "amount_negative", "must not be negative");
            return -1;
        }
        if (x * pow10[exponent] >= 9007199254740992.0) { /* 2^53 */
            ct_reason_add(rs, field, "amount_range",
                          "too large for an exact JSON number; send a decimal string");
            return -1;
        }
        /* A JSON number with at most `exponent` decimals prints back to the
         * same double with that many decimals; one with more does not. */
        snprintf(buf, sizeof buf, "%.*f", exponent, x == 0 ? 0.0 : x);
        if (strtod(buf, NULL) != x) {
            ct_reason_add(rs, field, "amount_decimals", "more decimals than %s allows (%d)",
                          currency, exponent);
            return -1;
        }
        s = buf;
    } else if (v->type == CM_JV_STRING) {
        s = v->u.s;
        if (s[0] == '-') {
            ct_reason_add(rs, field, "amount_negative", "must not be negative");
            return -1;
        }
        size_t i = 0, digits = 0, decimals = 0;
        while (isdigit((unsigned char)s[i]))
            i++, digits++;
        if (s[i] == '.') {
            i++;
            while (isdigit((unsigned char)s[i]))
                i++, decimals++;
            if (decimals == 0)
                digits = 0;
        }
        if (digits == 0 || s[i] != 0 || i != v->n) {
            ct_reason_add(rs, field, "amount_format",
                          "not a decimal amount (digits with an optional '.' and decimals)");
            return -1;
        }
        if ((int)decimals > exponent) {
            ct_reason_add(rs, field, "amount_decimals", "more decimals than %s allows (%d)",
                          currency, exponent);
            return -1;
        }
    } else {
        ct_reason_add(rs, field, "type", "must be a number or a decimal string");
        return -1;
    }
    if (cm_money_parse(s, exponent, minor, err, sizeof err) != 0) {
        ct_reason_add(rs, field, "amount_range", "not representable in minor units (%s)", err);
        return -1;
    }
    return 0;
}

static int f_amount(vctx *c, const char *name, const char *outname, const char *currency,
                    int exponent, int64_t *minor)
{
    const cm_jv *v = cm_jv_get(c->in, name);
    if (exponent < 0) {
        /* Still report a missing amount even when the currency is bad. */
        if (absent(v))
            bad(c, name, "required", "required");
        return 0;
    }
    ct_reasons tmp;
    tmp.n = tmp.dropped = 0;
    if (ct_amount_minor(v, currency, exponent, "", minor, &tmp) != 0) {
        char f[128];
        fpath(c, name, f, sizeof f);
        for (size_t i = 0; i < tmp.n; i++) /* "": the message starts ": " */
            ct_reason_add(c->rs, f, tmp.r[i].rule, "%s", tmp.r[i].message + 2);
        return 0;
    }
    w_int(c, outname, *minor);
    return 1;
}

/* f_amount, and more than 0 (rule amount_positive). */
static int f_amount_positive(vctx *c, const char *name, const char *outname, const char *currency,
                             int exponent, int64_t *minor)
{
    if (!f_amount(c, name, outname, currency, exponent, minor))
        return 0;
    if (*minor == 0) {
        bad(c, name, "amount_positive", "must be greater than 0");
        return 0;
    }
    return 1;
}

/* The array `name`, or NULL: absent (a reason when required), not an
 * array ("must be an array of <what>"), more than max items, or empty when
 * required. f[flen] receives the field's path only when a reason names it
 * (callers format it lazily; the hot path reads tags and invoice_ids). */
static const cm_jv *get_array(vctx *c, const char *name, int required, size_t max, const char *what,
                              char *f, size_t flen)
{
    const cm_jv *v = cm_jv_get(c->in, name);
    char m[96];
    const char *rule = NULL;
    if (absent(v)) {
        if (!required)
            return NULL;
        rule = "required";
        snprintf(m, sizeof m, "required");
    } else if (v->type != CM_JV_ARRAY) {
        rule = "type";
        snprintf(m, sizeof m, "must be an array of %s", what);
    } else if (v->n > max) {
        rule = "max_items";
        snprintf(m, sizeof m, "more than %zu items", max);
    } else if (required && v->n == 0) {
        rule = "non_empty";
        snprintf(m, sizeof m, "must not be empty");
    }
    if (!rule)
        return v;
    fpath(c, name, f, flen);
    ct_reason_add(c->rs, f, rule, "%s", m);
    return NULL;
}

/* An array of distinct non-empty strings (ids or tags). Absent: [] unless
 * required (then also non-empty). check: extra rule per item (NULL: none). */
static int f_list(vctx *c, const char *name, int required, size_t itemmax,
                  int (*check)(const char *), const char *check_rule, const char *check_msg)
{
    /* the field's path is only formatted when a reason needs it */
    char f[128] = "", fi[160];
#define F() (f[0] ? f : (fpath(c, name, f, sizeof f), f))
    if (!required && absent(cm_jv_get(c->in, name))) {
        w_key(c, name);
        cm_buf_add(c->out, "[]", 2);
        return 1;
    }
    const cm_jv *v = get_array(c, name, required, CT_LIST_MAX, "strings", f, sizeof f);
    if (!v)
        return 0;
    int ok = 1;
    size_t i = 0;
    w_key(c, name);
    cm_buf_add(c->out, "[", 1);
    for (const cm_jv *it = v->u.first; it; it = it->next, i++) {
#define ITEM_PATH() snprintf(fi, sizeof fi, "%s[%zu]", F(), i)
        if (it->type != CM_JV_STRING) {
            ITEM_PATH();
            ct_reason_add(c->rs, fi, "type", "must be a string");
            ok = 0;
            continue;
        }
        const char *s = it->u.s;
        if (it->n == 0 || it->n > itemmax || has_control(s)) {
            ITEM_PATH();
            ct_reason_add(c->rs, fi, "item", "must be 1 to %zu bytes without control characters",
                          itemmax);
            ok = 0;
            continue;
        }
        if (check && !check(s)) {
            ITEM_PATH();
            ct_reason_add(c->rs, fi, check_rule, "%s", check_msg);
            ok = 0;
            continue;
        }
        for (const cm_jv *prev = v->u.first; prev != it; prev = prev->next) {
            if (prev->type == CM_JV_STRING && strcmp(prev->u.s, s) == 0) {
                ITEM_PATH();
                ct_reason_add(c->rs, fi, "unique", "duplicate item '%s'", s);
                ok = 0;
                break;
            }
        }
        if (i > 0)
            cm_buf_add(c->out, ",", 1);
        cm_buf_json_str(c->out, s, it->n);
    }
#undef ITEM_PATH
#undef F
    cm_buf_add(c->out, "]", 1);
    return ok;
}

/* An array of objects, each read and written by item(sub, arr, i, arg)
 * through a vctx of its own (paths "<name>[i].field"). Absent: nothing
 * written (a reason when required); more than max items, or empty when
 * required: a reason and nothing written. shape ("{invoice_id, amount}")
 * goes in the type messages. Returns 1 when present and no item added a
 * reason. */
typedef void (*item_fn)(vctx *sub, const cm_jv *arr, size_t i, void *arg);

static int f_objects(vctx *c, const char *name, int required, size_t max, const char *shape,
                     item_fn item, void *arg)
{
    char f[128];
    const cm_jv *a = get_array(c, name, required, max, shape, f, sizeof f);
    if (!a)
        return 0;
    fpath(c, name, f, sizeof f);
    int ok = 1;
    size_t i = 0;
    w_key(c, name);
    cm_buf_add(c->out, "[", 1);
    for (const cm_jv *it = a->u.first; it; it = it->next, i++) {
        if (it->type != CM_JV_OBJECT) {
            char p[160];
            snprintf(p, sizeof p, "%s[%zu]", f, i);
            ct_reason_add(c->rs, p, "type", "must be an object %s", shape);
            ok = 0;
            continue;
        }
        if (i > 0)
            cm_buf_add(c->out, ",", 1);
        cm_buf_add(c->out, "{", 1);
        vctx sub = {it, c->out, 1, c->rs, f, i + 1};
        size_t before = c->rs->n + c->rs->dropped;
        item(&sub, a, i, arg);
        cm_buf_add(c->out, "}", 1);
        if (c->rs->n + c->rs->dropped != before)
            ok = 0;
    }
    cm_buf_add(c->out, "]", 1);
    return ok;
}

/* --- per-type rules ------------------------------------------------------ */

static void t_invoice(vctx *c, int full)
{
    f_id(c, "invoice_id", 1);
    f_id(c, "customer_id", 1);
    if (!full)
        return;
    f_line(c, "number", 1);
    char cur[4] = "";
    int e = f_currency(c, "currency", 1, cur);
    int64_t minor;
    f_amount(c, "amount", "amount_minor", cur, e, &minor);
    int32_t issued, due;
    int ok_i = f_date(c, "issued_on", 1, &issued);
    int ok_d = f_date(c, "due_on", 1, &due);
    if (ok_i && ok_d && due < issued)
        bad(c, "due_on", "due_after_issue", "before issued_on");
    f_list(c, "tags", 0, CT_ID_MAX, NULL, NULL, NULL);
    f_text(c, "terms", 0);
    f_text(c, "po_number", 0);
}

/* payment.received's allocations: the sum of the valid ones. */
typedef struct alloc_acc {
    const char *cur;
    int e;
    int64_t sum;
} alloc_acc;

/* One allocation {invoice_id, amount}: an invoice not allocated before. */
static void allocation(vctx *sub, const cm_jv *arr, size_t i, void *arg)
{
    alloc_acc *acc = arg;
    size_t before = sub->rs->n + sub->rs->dropped;
    const char *inv = f_id(sub, "invoice_id", 1);
    int64_t m = 0;
    f_amount(sub, "amount", "amount_minor", acc->cur, acc->e, &m);
    if (sub->rs->n + sub->rs->dropped != before)
        return;
    for (const cm_jv *prev = arr->u.first; prev != sub->in; prev = prev->next) {
        const cm_jv *pi = cm_jv_get(prev, "invoice_id");
        if (pi && pi->type == CM_JV_STRING && strcmp(pi->u.s, inv) == 0) {
            char q[200];
            snprintf(q, sizeof q, "%s[%zu].invoice_id", sub->prefix, i);
            ct_reason_add(sub->rs, q, "unique", "invoice '%s' allocated twice", inv);
            return;
        }
    }
    acc->sum = m > INT64_MAX - acc->sum ? INT64_MAX : acc->sum + m;
}

static void t_payment_received(vctx *c)
{
    f_id(c, "payment_id", 1);
    f_id(c, "customer_id", 1);
    char cur[4] = "";
    int e = f_currency(c, "currency", 1, cur);
    int64_t amount = 0;
    int amount_ok = f_amount(c, "amount", "amount_minor", cur, e, &amount);

    const cm_jv *on = cm_jv_get(c->in, "received_on");
    const cm_jv *at = cm_jv_get(c->in, "received_at");
    int have_on = !absent(on), have_at = !absent(at);
    int32_t day = 0;
    int64_t ms = 0;
    if (!have_on && !have_at) {
        bad(c, "received_on", "required", "required (or data.received_at)");
    } else {
        if (have_on)
            f_date(c, "received_on", 1, &day);
        if (have_at && f_instant(c, "received_at", 1, &ms) && !have_on) {
            char buf[16];
            cm_date_format(cm_time_day(ms), buf, sizeof buf);
            put_str(c, "received_on", buf);
        }
    }

    alloc_acc acc = {cur, e, 0};
    int ok = f_objects(c, "allocations", 0, CT_LIST_MAX, "{invoice_id, amount}", allocation, &acc);
    if (ok && amount_ok && acc.sum > amount) {
        char f[128];
        fpath(c, "allocations", f, sizeof f);
        ct_reason_add(c->rs, f, "allocations_sum", "allocated %lld exceeds amount %lld",
                      (long long)acc.sum, (long long)amount);
    }
}

/* An identifier, the customer and one text, all required:
 * payment.reversed (payment_id, reason), plan.cancelled (plan_id, reason),
 * escalation.accepted (case_id, agency_ref), escalation.recalled
 * (case_id, reason). */
static void t_id_text(vctx *c, const char *idname, const char *textname)
{
    f_id(c, idname, 1);
    f_id(c, "customer_id", 1);
    f_text(c, textname, 1);
}

static void t_credit_note(vctx *c)
{
    f_id(c, "credit_note_id", 1);
    f_id(c, "customer_id", 1);
    f_id(c, "invoice_id", 1);
    char cur[4] = "";
    int e = f_currency(c, "currency", 1, cur);
    int64_t m;
    f_amount(c, "amount", "amount_minor", cur, e, &m);
}

static int country_ok(const char *s)
{
    return strlen(s) == 2 && isalpha((unsigned char)s[0]) && isalpha((unsigned char)s[1]);
}

/* ISO 3166-2 shape: two upper-case letters (the country), '-', one to
 * three upper-case letters or digits ("US-MA", "GB-ENG", "FR-75C"). Not
 * checked against the ISO list, nor against country. */
static int region_ok(const char *s)
{
    size_t n = strlen(s), i;
    if (n < 4 || n > CT_REGION_MAX || s[2] != '-')
        return 0;
    for (i = 0; i < n; i++)
        if (i != 2 && !((s[i] >= 'A' && s[i] <= 'Z') || (i > 2 && s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

#define CHANNEL_MSG "unknown channel (email, sms, webhook, call_task, letter)"

/* An optional member naming one of names[0..count) (at most 16 bytes),
 * written as it is; rule and msg ("must be a, b or c") otherwise. */
static void f_enum(vctx *c, const char *name, const char *const *names, int count, const char *rule,
                   const char *msg)
{
    const char *s = get_str(c, name, 0, 16, 1);
    if (!s)
        return;
    if (ct_name_lookup(names, count, s, strlen(s)) < 0)
        bad(c, name, rule, msg);
    else
        put_str(c, name, s);
}

/* A channel name, written as it is. */
static void f_channel(vctx *c, const char *name, int required)
{
    const char *ch = get_str(c, name, required, 16, 1);
    if (ch) {
        if (!channel_known(ch))
            bad(c, name, "channel", CHANNEL_MSG);
        else
            put_str(c, name, ch);
    }
}

static void t_customer(vctx *c)
{
    f_id(c, "customer_id", 1);
    f_text(c, "name", 1);
    /* written only when given (issue 14): absent means business */
    f_enum(c, "kind", ct_debtor_kind_names, CT_DEBTOR_COUNT, "kind",
           "must be business or consumer");

    const char *email = get_str(c, "email", 0, 254, 1);
    if (email) {
        if (!ct_email_valid(email))
            bad(c, "email", "email", "not an e-mail address (local@domain.tld)");
        else
            put_str(c, "email", email);
    }
    const char *phone = get_str(c, "phone", 0, 16, 1);
    if (phone) {
        if (!ct_e164_valid(phone))
            bad(c, "phone", "e164",
                "not an E.164 number (+ and 8 to 15 digits, e.g. +447700900123)");
        else
            put_str(c, "phone", phone);
    }
    const char *tz = get_str(c, "timezone", 0, CT_ZONE_MAX, 1);
    if (tz) {
        if (!cm_tz_valid(tz))
            bad(c, "timezone", "timezone", "not an IANA time zone name (e.g. Europe/London)");
        else
            put_str(c, "timezone", tz);
    } else if (absent(cm_jv_get(c->in, "timezone"))) {
        put_str(c, "timezone", "UTC");
    }
    const char *loc = get_str(c, "locale", 0, 35, 1);
    if (loc) {
        if (!ct_locale_valid(loc))
            bad(c, "locale", "locale", "not a BCP 47 language tag (e.g. en-GB)");
        else
            put_str(c, "locale", loc);
    } else if (absent(cm_jv_get(c->in, "locale"))) {
        put_str(c, "locale", "en");
    }
    const char *country = get_str(c, "country", 0, 2, 1);
    if (country) {
        if (!country_ok(country)) {
            bad(c, "country", "country", "not an ISO 3166-1 alpha-2 code (2 letters)");
        } else {
            char cc[3] = {(char)toupper((unsigned char)country[0]),
                          (char)toupper((unsigned char)country[1]), 0};
            put_str(c, "country", cc);
        }
    }
    const char *region = get_str(c, "region", 0, 16, 1);
    if (region) {
        if (!region_ok(region))
            bad(c, "region", "region",
                "not an ISO 3166-2 subdivision code (e.g. US-MA: 2 upper-case letters, '-', "
                "1 to 3 upper-case letters or digits)");
        else
            put_str(c, "region", region);
    }
    /* written only when given: the canonical form of a customer without
     * it stays what it was before the field existed */
    const cm_jv *xz = cm_jv_get(c->in, "extra_timezones");
    if (!absent(xz) && xz->type == CM_JV_ARRAY && xz->n > CT_ZONES_MAX) {
        char m[32];
        snprintf(m, sizeof m, "more than %d items", CT_ZONES_MAX);
        bad(c, "extra_timezones", "max_items", m);
    } else if (!absent(xz)) {
        f_list(c, "extra_timezones", 0, CT_ZONE_MAX, cm_tz_valid, "timezone",
               "not an IANA time zone name (e.g. America/New_York)");
    }
    if (!absent(cm_jv_get(c->in, "channels"))) {
        f_list(c, "channels", 0, 16, channel_known, "channel", CHANNEL_MSG);
    } else {
        /* Default preference: the channels the customer can be reached on. */
        int em = email && ct_email_valid(email), ph = phone && ct_e164_valid(phone);
        w_key(c, "channels");
        cm_buf_adds(c->out, em && ph ? "[\"email\",\"sms\"]"
                            : em     ? "[\"email\"]"
                            : ph     ? "[\"sms\"]"
                                     : "[]");
    }
    f_list(c, "opted_out", 0, 16, channel_known, "channel", CHANNEL_MSG);
    if (!absent(cm_jv_get(c->in, "credit_limit"))) {
        char cur[4] = "";
        int e = currency_code(c, "credit_currency", 1, cur);
        if (e >= 0) {
            int64_t m;
            if (f_amount(c, "credit_limit", "credit_limit_minor", cur, e, &m))
                put_str(c, "credit_currency", cur);
        }
    }
    f_list(c, "tags", 0, CT_ID_MAX, NULL, NULL, NULL);
}

static void t_promise(vctx *c)
{
    f_id(c, "customer_id", 1);
    f_list(c, "invoice_ids", 1, CT_ID_MAX, NULL, NULL, NULL);
    char cur[4] = "";
    int e = f_currency(c, "currency", 1, cur);
    int64_t m;
    f_amount(c, "amount", "amount_minor", cur, e, &m);
    int32_t d;
    f_date(c, "promised_on", 1, &d);
}

static void t_dispute(vctx *c)
{
    f_id(c, "customer_id", 1);
    f_id(c, "invoice_id", 1);
    f_text(c, "reason", 1);
}

/* The debtor of contact.ceased, contact.resumed and contact.replied:
 * data.customer_id, or (issue 17) data.phone, an E.164 number ingest
 * resolves to the customers who have it (an SMS reply names the number,
 * not the customer). Exactly one of the two; the phone is written first
 * (ct_verdict_for_customer puts customer_id before it). Returns the phone
 * when the event names one, else NULL. */
static const char *f_debtor(vctx *c)
{
    int has_c = !absent(cm_jv_get(c->in, "customer_id"));
    int has_p = !absent(cm_jv_get(c->in, "phone"));
    if (!has_p) {
        if (!has_c)
            bad(c, "customer_id", "required", "required (or data.phone, for sms)");
        else
            f_id(c, "customer_id", 1);
        return NULL;
    }
    if (has_c) {
        bad(c, "phone", "one_of", "give data.customer_id or data.phone, not both");
        return NULL;
    }
    const char *phone = get_str(c, "phone", 1, CT_PHONE_MAX, 1);
    if (!phone)
        return NULL;
    if (!ct_e164_valid(phone)) {
        bad(c, "phone", "e164", "not an E.164 number (+ and 8 to 15 digits, e.g. +447700900123)");
        return NULL;
    }
    put_str(c, "phone", phone);
    return phone;
}

/* A channel member that must be one of the channels allowed[0..n)
 * (rule "channel", message msg); returns it, or CT_CH_NONE. */
static ct_channel f_channel_of(vctx *c, int required, const ct_channel *allowed, size_t n,
                               const char *msg)
{
    const char *s = get_str(c, "channel", required, 16, 1);
    if (!s)
        return CT_CH_NONE;
    ct_channel ch = ct_channel_parse(s, strlen(s));
    for (size_t i = 0; ch != CT_CH_NONE && i < n; i++)
        if (allowed[i] == ch) {
            put_str(c, "channel", s);
            return ch;
        }
    bad(c, "channel", "channel", msg);
    return CT_CH_NONE;
}

/* A debtor named by phone is an SMS debtor: data.channel must be sms (ch
 * is CT_CH_NONE when absent or already refused with a reason). */
static void phone_needs_sms(vctx *c, const char *phone, ct_channel ch)
{
    if (!phone || ch == CT_CH_SMS)
        return;
    if (absent(cm_jv_get(c->in, "channel")))
        bad(c, "channel", "required", "required (sms) when data.phone names the debtor");
    else if (ch != CT_CH_NONE)
        bad(c, "channel", "phone_sms", "must be sms when data.phone names the debtor");
}

/* contact.ceased and contact.resumed: a channel, or (absent) all. */
static void t_contact_consent(vctx *c)
{
    const char *phone = f_debtor(c);
    const char *s = get_str(c, "channel", 0, 16, 1);
    ct_channel ch = CT_CH_NONE;
    if (s) {
        ch = ct_channel_parse(s, strlen(s));
        if (ch == CT_CH_NONE)
            bad(c, "channel", "channel", CHANNEL_MSG);
        else
            put_str(c, "channel", s);
    }
    phone_needs_sms(c, phone, ch);
}

/* contact.replied (issue 17): what the debtor wrote back, up to
 * CT_REPLY_MAX bytes of UTF-8 (newlines kept). */
static void t_contact_replied(vctx *c)
{
    static const ct_channel ok[] = {CT_CH_SMS, CT_CH_EMAIL};
    const char *phone = f_debtor(c);
    ct_channel ch = f_channel_of(c, 1, ok, 2, "must be sms or email");
    if (!absent(cm_jv_get(c->in, "channel"))) /* else "required" was said */
        phone_needs_sms(c, phone, ch);
    const char *text = get_str(c, "text", 1, CT_REPLY_MAX, 0);
    if (text && !ct_utf8_valid(text, strlen(text)))
        bad(c, "text", "utf8", "not valid UTF-8");
    else if (text)
        put_str(c, "text", text);
    f_id(c, "provider_id", 0);
}

/* A template name as the notifier reads one (contract/command_decode.c):
 * no control characters or spaces, no '/', not starting with '.' or '_'. */
static int template_ok(const char *t)
{
    if (t[0] == '.' || t[0] == '_' || strchr(t, '/'))
        return 0;
    for (; *t; t++)
        if (*t == ' ')
            return 0;
    return 1;
}

/* contact.delivered, contact.bounced, contact.complained (issue 17): a
 * provider's word on one message: its template and, for sms, its command
 * (the gateway reads both from the callback URL). An email event names
 * the message by its Message-ID, which holds only a hash of the command
 * id, so command_id is optional there. */
static void t_contact_delivery(vctx *c, ct_type t)
{
    static const ct_channel both[] = {CT_CH_SMS, CT_CH_EMAIL}, email[] = {CT_CH_EMAIL};
    f_id(c, "customer_id", 1);
    ct_channel ch = t == CT_EV_CONTACT_COMPLAINED
                        ? f_channel_of(c, 1, email, 1, "must be email")
                        : f_channel_of(c, 1, both, 2, "must be sms or email");
    const char *cmd = get_str(c, "command_id", ch != CT_CH_EMAIL, CT_COMMAND_ID_MAX, 1);
    if (cmd && strchr(cmd, ' '))
        bad(c, "command_id", "chars", "must not contain spaces");
    else if (cmd)
        put_str(c, "command_id", cmd);
    const char *tpl = get_str(c, "template", 1, CT_ID_MAX, 1);
    if (tpl && !template_ok(tpl))
        bad(c, "template", "template",
            "a template name: no spaces or '/', not starting with '.' or '_'");
    else if (tpl)
        put_str(c, "template", tpl);
    f_id(c, "provider_id", 0);
    const char *mid = get_str(c, "message_id", 0, 998, 1);
    if (mid)
        put_str(c, "message_id", mid);
    if (t != CT_EV_CONTACT_BOUNCED)
        return;
    const char *k = get_str(c, "kind", 1, 16, 1);
    if (k && ct_bounce_kind_parse(k, strlen(k)) == CT_BOUNCE_NONE)
        bad(c, "kind", "kind", "must be hard or soft");
    else if (k)
        put_str(c, "kind", k);
    const char *a = get_str(c, "address", 0, 254, 1);
    if (!a)
        return;
    if (ch == CT_CH_EMAIL && !ct_email_valid(a))
        bad(c, "address", "email", "not an e-mail address (local@domain.tld)");
    else if (ch == CT_CH_SMS && !ct_e164_valid(a))
        bad(c, "address", "e164", "not an E.164 number (+ and 8 to 15 digits, e.g. +447700900123)");
    else if (ch != CT_CH_NONE)
        put_str(c, "address", a);
}

static void t_contact_logged(vctx *c)
{
    f_id(c, "customer_id", 1);
    f_channel(c, "channel", 1);
    const char *o = get_str(c, "outcome", 1, 32, 1);
    if (o) {
        if (ct_call_outcome_parse(o, strlen(o)) == CT_CALL_NONE)
            bad(c, "outcome", "outcome",
                "unknown call outcome (conversation, voicemail, no_answer, wrong_number)");
        else
            put_str(c, "outcome", o);
    }
    int64_t ms;
    f_instant(c, "at", 1, &ms);
    f_list(c, "invoice_ids", 0, CT_ID_MAX, NULL, NULL, NULL);
    f_text(c, "agent", 0);
    const char *notes = get_str(c, "notes", 0, CT_NOTES_MAX, 0);
    if (notes)
        put_str(c, "notes", notes);
}

/* plan.agreed's instalments (issue 16): their sum, and the previous valid
 * due date. */
typedef struct plan_acc {
    const char *cur;
    int e;
    int64_t sum;
    int sum_ok;       /* every amount read, the sum in range */
    int32_t prev_day; /* due_on of item prev (prev >= 0) */
    long prev;        /* -1: no valid due_on yet */
} plan_acc;

/* One instalment {due_on, amount}: due after the one before it, amount > 0. */
static void instalment(vctx *sub, const cm_jv *arr, size_t i, void *arg)
{
    plan_acc *p = arg;
    (void)arr;
    int32_t day;
    if (f_date(sub, "due_on", 1, &day)) {
        if (p->prev >= 0 && day <= p->prev_day) {
            char m[192];
            snprintf(m, sizeof m, "must be after %s[%ld].due_on", sub->prefix, p->prev);
            bad(sub, "due_on", "rising", m);
        }
        p->prev_day = day;
        p->prev = (long)i;
    }
    int64_t m = 0;
    if (!f_amount_positive(sub, "amount", "amount_minor", p->cur, p->e, &m)) {
        p->sum_ok = 0;
    } else if (m > INT64_MAX - p->sum) {
        p->sum_ok = 0;
        p->sum = INT64_MAX;
    } else {
        p->sum += m;
    }
}

/* plan.agreed (issue 16): instalments written as [{due_on, amount_minor}];
 * total_minor always: the given total (which the instalments must sum to
 * exactly), else their sum. */
static void t_plan_agreed(vctx *c)
{
    f_id(c, "plan_id", 1);
    f_id(c, "customer_id", 1);
    f_list(c, "invoice_ids", 1, CT_ID_MAX, NULL, NULL, NULL);
    char cur[4] = "";
    int e = f_currency(c, "currency", 1, cur);
    plan_acc p = {cur, e, 0, 1, 0, -1};
    int ok =
        f_objects(c, "instalments", 1, CT_PLAN_INSTALMENTS_MAX, "{due_on, amount}", instalment, &p);
    if (ok && !p.sum_ok)
        bad(c, "instalments", "amount_range",
            "the amounts sum to more than a 64-bit count of minor units");
    ok = ok && p.sum_ok;
    if (absent(cm_jv_get(c->in, "total"))) {
        if (ok)
            w_int(c, "total_minor", p.sum);
    } else {
        int64_t total = 0;
        if (f_amount(c, "total", "total_minor", cur, e, &total) && ok && total != p.sum) {
            char m[160];
            snprintf(m, sizeof m, "must equal the sum of data.instalments (%lld, not %lld)",
                     (long long)p.sum, (long long)total);
            bad(c, "total", "instalments_sum", m);
        }
    }
    f_enum(c, "source", ct_plan_source_names, CT_PLAN_SRC_COUNT, "source",
           "must be portal, agent or billing");
}

/* escalation.remitted (issue 16): what the agency collected (amount > 0)
 * and kept (commission, 0 to amount); commission_minor always written, 0
 * when absent. */
static void t_escalation_remitted(vctx *c)
{
    f_id(c, "case_id", 1);
    f_id(c, "customer_id", 1);
    char cur[4] = "";
    int e = f_currency(c, "currency", 1, cur);
    int64_t amount = 0, commission = 0;
    int ok = f_amount_positive(c, "amount", "amount_minor", cur, e, &amount);
    if (absent(cm_jv_get(c->in, "commission")))
        w_int(c, "commission_minor", 0);
    else if (f_amount(c, "commission", "commission_minor", cur, e, &commission) && ok &&
             commission > amount)
        bad(c, "commission", "commission_le_amount", "must not be more than data.amount");
}

int ct_normalize_data(ct_type type, const cm_jv *data, cm_buf *out, ct_reasons *rs)
{
    vctx c = {data, out, 1, rs, "data", 0};
    size_t before = rs->n + rs->dropped;
    cm_buf_add(out, "{", 1);
    switch (type) {
    case CT_EV_INVOICE_ISSUED:
    case CT_EV_INVOICE_UPDATED:
        t_invoice(&c, 1);
        break;
    case CT_EV_INVOICE_VOIDED:
    case CT_EV_INVOICE_WRITTEN_OFF:
        t_invoice(&c, 0);
        break;
    case CT_EV_PAYMENT_RECEIVED:
        t_payment_received(&c);
        break;
    case CT_EV_PAYMENT_REVERSED:
        t_id_text(&c, "payment_id", "reason");
        break;
    case CT_EV_CREDIT_NOTE_ISSUED:
        t_credit_note(&c);
        break;
    case CT_EV_CUSTOMER_UPSERTED:
        t_customer(&c);
        break;
    case CT_EV_PROMISE_MADE:
        t_promise(&c);
        break;
    case CT_EV_DISPUTE_OPENED:
    case CT_EV_DISPUTE_RESOLVED:
        t_dispute(&c);
        break;
    case CT_EV_CONTACT_CEASED:
    case CT_EV_CONTACT_RESUMED:
        t_contact_consent(&c);
        break;
    case CT_EV_CONTACT_LOGGED:
        t_contact_logged(&c);
        break;
    case CT_EV_PLAN_AGREED:
        t_plan_agreed(&c);
        break;
    case CT_EV_PLAN_CANCELLED:
        t_id_text(&c, "plan_id", "reason");
        break;
    case CT_EV_ESCALATION_ACCEPTED:
        t_id_text(&c, "case_id", "agency_ref"); /* the agency took the case */
        break;
    case CT_EV_ESCALATION_RECALLED:
        t_id_text(&c, "case_id", "reason"); /* the case came back */
        break;
    case CT_EV_ESCALATION_REMITTED:
        t_escalation_remitted(&c);
        break;
    case CT_EV_CONTACT_REPLIED:
        t_contact_replied(&c);
        break;
    case CT_EV_CONTACT_DELIVERED:
    case CT_EV_CONTACT_BOUNCED:
    case CT_EV_CONTACT_COMPLAINED:
        t_contact_delivery(&c, type);
        break;
    default:
        ct_reason_add(rs, "type", "type", "unknown event type '%s'", ct_type_name(type));
    }
    cm_buf_add(out, "}", 1);
    return rs->n + rs->dropped == before ? 0 : -1;
}
