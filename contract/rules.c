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

/* An array of distinct non-empty strings (ids or tags). Absent: [] unless
 * required (then also non-empty). check: extra rule per item (NULL: none). */
static int f_list(vctx *c, const char *name, int required, size_t itemmax,
                  int (*check)(const char *), const char *check_rule, const char *check_msg)
{
    /* the field's path is only formatted when a reason needs it */
    char f[128] = "", fi[160];
#define F() (f[0] ? f : (fpath(c, name, f, sizeof f), f))
    const cm_jv *v = cm_jv_get(c->in, name);
    if (absent(v) && !required) {
        w_key(c, name);
        cm_buf_add(c->out, "[]", 2);
        return 1;
    }
    if (absent(v)) {
        if (required) {
            ct_reason_add(c->rs, F(), "required", "required");
            return 0;
        }
        w_key(c, name);
        cm_buf_add(c->out, "[]", 2);
        return 1;
    }
    if (v->type != CM_JV_ARRAY) {
        ct_reason_add(c->rs, F(), "type", "must be an array of strings");
        return 0;
    }
    if (required && v->n == 0) {
        ct_reason_add(c->rs, F(), "non_empty", "must not be empty");
        return 0;
    }
    if (v->n > CT_LIST_MAX) {
        ct_reason_add(c->rs, F(), "max_items", "more than %d items", CT_LIST_MAX);
        return 0;
    }
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

    const cm_jv *al = cm_jv_get(c->in, "allocations");
    if (absent(al))
        return;
    /* paths are only formatted when a reason needs them */
    char f[128] = "";
#define F() (f[0] ? f : (fpath(c, "allocations", f, sizeof f), f))
    if (al->type != CM_JV_ARRAY) {
        ct_reason_add(c->rs, F(), "type", "must be an array of {invoice_id, amount}");
        return;
    }
    if (al->n > CT_LIST_MAX) {
        ct_reason_add(c->rs, F(), "max_items", "more than %d items", CT_LIST_MAX);
        return;
    }
    const char *alpath = strcmp(c->prefix, "data") == 0 && !c->item ? "data.allocations" : F();
    int ok = 1;
    int64_t sum = 0;
    size_t i = 0;
    w_key(c, "allocations");
    cm_buf_add(c->out, "[", 1);
    for (const cm_jv *it = al->u.first; it; it = it->next, i++) {
        char p[160];
        if (it->type != CM_JV_OBJECT) {
            snprintf(p, sizeof p, "%s[%zu]", alpath, i);
            ct_reason_add(c->rs, p, "type", "must be an object {invoice_id, amount}");
            ok = 0;
            continue;
        }
        if (i > 0)
            cm_buf_add(c->out, ",", 1);
        cm_buf_add(c->out, "{", 1);
        vctx sub = {it, c->out, 1, c->rs, alpath, i + 1};
        size_t before = c->rs->n + c->rs->dropped;
        const char *inv = f_id(&sub, "invoice_id", 1);
        int64_t m = 0;
        f_amount(&sub, "amount", "amount_minor", cur, e, &m);
        cm_buf_add(c->out, "}", 1);
        if (c->rs->n + c->rs->dropped != before) {
            ok = 0;
            continue;
        }
        for (const cm_jv *prev = al->u.first; prev != it && inv; prev = prev->next) {
            const cm_jv *pi = cm_jv_get(prev, "invoice_id");
            if (pi && pi->type == CM_JV_STRING && strcmp(pi->u.s, inv) == 0) {
                char q[200];
                snprintf(q, sizeof q, "%s[%zu].invoice_id", alpath, i);
                ct_reason_add(c->rs, q, "unique", "invoice '%s' allocated twice", inv);
                ok = 0;
                break;
            }
        }
        if (m > INT64_MAX - sum)
            sum = INT64_MAX;
        else
            sum += m;
    }
    cm_buf_add(c->out, "]", 1);
    if (ok && amount_ok && sum > amount)
        ct_reason_add(c->rs, F(), "allocations_sum", "allocated %lld exceeds amount %lld",
                      (long long)sum, (long long)amount);
}
#undef F

static void t_payment_reversed(vctx *c)
{
    f_id(c, "payment_id", 1);
    f_id(c, "customer_id", 1);
    f_text(c, "reason", 1);
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
    const char *kind = get_str(c, "kind", 0, 16, 1);
    if (kind) {
        if (ct_debtor_kind_parse(kind, strlen(kind)) == CT_DEBTOR_NONE)
            bad(c, "kind", "kind", "must be business or consumer");
        else
            put_str(c, "kind", kind);
    }

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

/* contact.ceased and contact.resumed: a channel, or (absent) all. */
static void t_contact_consent(vctx *c)
{
    f_id(c, "customer_id", 1);
    f_channel(c, "channel", 0);
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
        t_payment_reversed(&c);
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
    default:
        ct_reason_add(rs, "type", "type", "unknown event type '%s'", ct_type_name(type));
    }
    cm_buf_add(out, "}", 1);
    return rs->n + rs->dropped == before ? 0 : -1;
}
