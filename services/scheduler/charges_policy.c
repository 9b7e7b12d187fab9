/* charges_policy.c -- the policy's "fees" and "interest" sections and a
 * ladder step's "fee" and "offer", from jansson into charges.h.
 *
 * Design: the same error style as policy.c, "policy <json path>: <rule>",
 * so an operator fixes the file in one go. A section that is absent, null
 * or holds only "comment" keys (the shipped {"comment": "reserved"}) is
 * off: nothing is charged that the tenant did not configure. Percentages
 * are JSON numbers with at most four decimals, stored exactly in 1e-4
 * percent; jansson hands reals over as doubles, and a double within 1e-6
 * of a whole number of 1e-4 percent (any decimal up to four places is) is
 * that number. Dates are "YYYY-MM-DD" (cm_date_parse), offsets "+14d". */
#include "charges.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "money.h"

int sch_policy_fail(char *errstr, size_t errlen, const char *rule, const char *pathfmt, ...)
{
    char path[320];
    va_list ap;
    va_start(ap, pathfmt);
    vsnprintf(path, sizeof path, pathfmt, ap);
    va_end(ap);
    snprintf(errstr, errlen, "policy %s: %s", path, rule);
    return -1;
}

/* Absent, null, or an object of "comment" keys only. */
static int is_off(json_t *o)
{
    const char *key;
    json_t *v;
    if (!o || json_is_null(o))
        return 1;
    if (!json_is_object(o))
        return 0;
    json_object_foreach(o, key, v)
    {
        if (strcmp(key, "comment") != 0)
            return 0;
    }
    return 1;
}

/* Every key of o is in known (NULL-terminated); else the first unknown. */
static const char *unknown_key(json_t *o, const char *const *known)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        const char *const *k = known;
        while (*k && strcmp(*k, key) != 0)
            k++;
        if (!*k)
            return key;
    }
    return NULL;
}

/* 1 when o is off, 0 when it is an object of known keys only, else -1 with
 * the error. */
static int open_object(json_t *o, const char *const *known, const char *path, char *errstr,
                       size_t errlen)
{
    const char *bad;
    if (is_off(o))
        return 1;
    if (!json_is_object(o))
        return sch_policy_fail(errstr, errlen, "must be an object", "%s", path);
    if ((bad = unknown_key(o, known)))
        return sch_policy_fail(errstr, errlen, "unknown key (see docs/interest.md)", "%s.%s", path,
                               bad);
    return 0;
}

/* A JSON number in lo..hi percent with at most 4 decimals, to 1e-4 percent. */
static int pct_value(json_t *v, int lo, int hi, int32_t *out)
{
    double x;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < lo || i > hi)
            return -1;
        *out = (int32_t)(i * SCH_PCT_UNIT);
        return 0;
    }
    if (!json_is_real(v))
        return -1;
    x = json_real_value(v);
    if (!(x >= lo && x <= hi))
        return -1;
    x *= SCH_PCT_UNIT;
    double r = x < 0 ? (double)(long long)(x - 0.5) : (double)(long long)(x + 0.5);
    if (x - r > 1e-6 || r - x > 1e-6)
        return -1;
    *out = (int32_t)r;
    return 0;
}

static int get_pct(json_t *o, const char *key, int lo, int hi, int required, int32_t *out,
                   const char *path, char *errstr, size_t errlen)
{
    char rule[80];
    json_t *v = json_object_get(o, key);
    if (!v) {
        *out = 0;
        return required ? sch_policy_fail(errstr, errlen, "is required", "%s.%s", path, key) : 0;
    }
    snprintf(rule, sizeof rule, "must be a number in %d..%d with at most 4 decimals", lo, hi);
    if (pct_value(v, lo, hi, out) < 0)
        return sch_policy_fail(errstr, errlen, rule, "%s.%s", path, key);
    return 0;
}

int sch_cur_map_parse(json_t *o, const char *key, sch_cur_map *m, const char *path, char *errstr,
                      size_t errlen)
{
    const char *code;
    json_t *v = json_object_get(o, key), *a;
    memset(m, 0, sizeof *m);
    if (!v)
        return 0;
    if (!json_is_object(v) || json_object_size(v) > SCH_CUR_MAX)
        return sch_policy_fail(errstr, errlen,
                               "must be an object of at most 16 currencies: {\"GBP\": 1000}",
                               "%s.%s", path, key);
    json_object_foreach(v, code, a)
    {
        if (cm_money_exponent(code) < 0)
            return sch_policy_fail(errstr, errlen, "is not an ISO 4217 currency code", "%s.%s.%s",
                                   path, key, code);
        if (!json_is_integer(a) || json_integer_value(a) < 0 ||
            json_integer_value(a) > 1000000000000000LL)
            return sch_policy_fail(errstr, errlen,
                                   "must be an integer amount in minor units, 0..10^15", "%s.%s.%s",
                                   path, key, code);
        snprintf(m->v[m->n].code, sizeof m->v[m->n].code, "%s", code);
        m->v[m->n++].minor = json_integer_value(a);
    }
    return 0;
}

static int get_bool(json_t *o, const char *key, int def, int *out, const char *path, char *errstr,
                    size_t errlen)
{
    json_t *v = json_object_get(o, key);
    if (v && !json_is_boolean(v))
        return sch_policy_fail(errstr, errlen, "must be true or false", "%s.%s", path, key);
    *out = v ? json_is_true(v) : def;
    return 0;
}

static int get_days(json_t *o, const char *key, int lo, int hi, int def, int *out, const char *path,
                    char *errstr, size_t errlen)
{
    char rule[64];
    json_t *v = json_object_get(o, key);
    if (!v) {
        *out = def;
        return 0;
    }
    snprintf(rule, sizeof rule, "must be an integer in %d..%d", lo, hi);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return sch_policy_fail(errstr, errlen, rule, "%s.%s", path, key);
    *out = (int)json_integer_value(v);
    return 0;
}

/* ---- fees -------------------------------------------------------------- */

int sch_fees_parse(json_t *o, sch_fees_policy *out, char *errstr, size_t errlen)
{
    static const char *const keys[] = {"waive_if_paid_within_days", "max_total_pct",
                                       "chase_unpaid_fees", "comment", NULL};
    out->waive_days = -1;
    out->max_total_pct = -1;
    out->chase_unpaid = 0;
    int rc = open_object(o, keys, "fees", errstr, errlen);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (get_days(o, "waive_if_paid_within_days", 0, 365, -1, &out->waive_days, "fees", errstr,
                 errlen) < 0)
        return -1;
    if (json_object_get(o, "max_total_pct") &&
        get_pct(o, "max_total_pct", 0, 100, 1, &out->max_total_pct, "fees", errstr, errlen) < 0)
        return -1;
    return get_bool(o, "chase_unpaid_fees", 0, &out->chase_unpaid, "fees", errstr, errlen);
}

int sch_fee_parse(json_t *o, const char *path, sch_fee *out, char *errstr, size_t errlen)
{
    static const char *const keys[] = {"fixed_minor", "percent", "max_minor", "comment", NULL};
    memset(out, 0, sizeof *out);
    int rc = open_object(o, keys, path, errstr, errlen);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (sch_cur_map_parse(o, "fixed_minor", &out->fixed, path, errstr, errlen) < 0 ||
        get_pct(o, "percent", 0, 100, 0, &out->pct, path, errstr, errlen) < 0 ||
        sch_cur_map_parse(o, "max_minor", &out->max, path, errstr, errlen) < 0)
        return -1;
    if (out->fixed.n == 0 && out->pct == 0)
        return sch_policy_fail(
            errstr, errlen, "charges nothing: give fixed_minor or a percent above 0", "%s", path);
    out->enabled = 1;
    return 0;
}

/* "+14d", "-5d", "0d": whole days, within ten years. */
static int parse_offset(const char *s, int *days)
{
    int64_t ms;
    size_t n = s ? strlen(s) : 0;
    int sign = n && s[0] == '-' ? -1 : 1;
    if (n && (s[0] == '-' || s[0] == '+'))
        s++, n--;
    if (n < 2 || s[n - 1] != 'd' || cm_duration_parse(s, &ms) < 0 || ms > 3650LL * 86400000)
        return -1;
    *days = sign * (int)(ms / 86400000);
    return 0;
}

int sch_offer_parse(json_t *o, const char *path, sch_offer *out, char *errstr, size_t errlen)
{
    static const char *const keys[] = {"kind",
                                       "percent",
                                       "valid_until_offset",
                                       "valid_days",
                                       "max_instalments",
                                       "interval_days",
                                       "min_instalment_minor",
                                       "comment",
                                       NULL};
    const char *kind;
    memset(out, 0, sizeof *out);
    int rc = open_object(o, keys, path, errstr, errlen);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    kind = json_string_value(json_object_get(o, "kind"));
    if (kind && strcmp(kind, "discount") == 0)
        out->kind = SCH_OFFER_DISCOUNT;
    else if (kind && strcmp(kind, "settlement") == 0)
        out->kind = SCH_OFFER_SETTLEMENT;
    else if (kind && strcmp(kind, "plan") == 0)
        out->kind = SCH_OFFER_PLAN;
    else
        return sch_policy_fail(errstr, errlen, "must be discount, settlement or plan", "%s.kind",
                               path);
    if (out->kind == SCH_OFFER_PLAN) {
        static const char *const other[] = {"percent", "valid_until_offset", "valid_days", NULL};
        for (int i = 0; other[i]; i++)
            if (json_object_get(o, other[i]))
                return sch_policy_fail(errstr, errlen, "is not a key of a plan offer", "%s.%s",
                                       path, other[i]);
        if (!json_object_get(o, "max_instalments") || !json_object_get(o, "interval_days"))
            return sch_policy_fail(
                errstr, errlen, "a plan offer needs max_instalments and interval_days", "%s", path);
        return get_days(o, "max_instalments", 2, 12, 0, &out->max_instalments, path, errstr,
                        errlen) < 0 ||
                       get_days(o, "interval_days", 1, 365, 0, &out->interval_days, path, errstr,
                                errlen) < 0 ||
                       sch_cur_map_parse(o, "min_instalment_minor", &out->min_instalment, path,
                                         errstr, errlen) < 0
                   ? -1
                   : 0;
    }
    for (int i = 0; i < 3; i++) {
        static const char *const plan_keys[] = {"max_instalments", "interval_days",
                                                "min_instalment_minor"};
        if (json_object_get(o, plan_keys[i]))
            return sch_policy_fail(errstr, errlen, "is for a plan offer", "%s.%s", path,
                                   plan_keys[i]);
    }
    if (get_pct(o, "percent", 0, 100, 1, &out->pct, path, errstr, errlen) < 0)
        return -1;
    if (out->pct == 0 || (out->kind == SCH_OFFER_DISCOUNT && out->pct == 100 * SCH_PCT_UNIT))
        return sch_policy_fail(errstr, errlen,
                               out->kind == SCH_OFFER_DISCOUNT
                                   ? "a discount must be above 0 and below 100"
                                   : "a settlement must be above 0",
                               "%s.percent", path);
    if (out->kind == SCH_OFFER_DISCOUNT) {
        json_t *v = json_object_get(o, "valid_until_offset");
        if (json_object_get(o, "valid_days"))
            return sch_policy_fail(errstr, errlen,
                                   "is for a settlement (a discount has valid_until_offset)",
                                   "%s.valid_days", path);
        if (v && (!json_is_string(v) ||
                  parse_offset(json_string_value(v), &out->valid_until_offset) < 0))
            return sch_policy_fail(
                errstr, errlen, "must be whole days relative to the due date, e.g. \"0d\", \"+3d\"",
                "%s.valid_until_offset", path);
        return 0;
    }
    if (json_object_get(o, "valid_until_offset"))
        return sch_policy_fail(errstr, errlen, "is for a discount (a settlement has valid_days)",
                               "%s.valid_until_offset", path);
    if (!json_object_get(o, "valid_days"))
        return sch_policy_fail(errstr, errlen, "is required", "%s.valid_days", path);
    return get_days(o, "valid_days", 1, 365, 0, &out->valid_days, path, errstr, errlen);
}

/* ---- interest ---------------------------------------------------------- */

void sch_interest_free(sch_interest_policy *ip)
{
    for (int i = 0; i < ip->ntables; i++)
        free(ip->tables[i].e);
    free(ip->tables);
    free(ip->rules);
    memset(ip, 0, sizeof *ip);
}

static int parse_table(json_t *a, sch_rate_table *t, char *errstr, size_t errlen)
{
    static const char *const keys[] = {"from", "pct", "comment", NULL};
    size_t i;
    json_t *en;
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > 1000)
        return sch_policy_fail(errstr, errlen,
                               "must be an array of 1..1000 {\"from\": \"YYYY-MM-DD\", \"pct\": N}",
                               "interest.rates.%s", t->name);
    t->e = calloc(json_array_size(a), sizeof *t->e);
    if (!t->e)
        return sch_policy_fail(errstr, errlen, "out of memory", "interest.rates.%s", t->name);
    json_array_foreach(a, i, en)
    {
        const char *bad;
        char p[128];
        snprintf(p, sizeof p, "interest.rates.%s[%zu]", t->name, i);
        if (!json_is_object(en))
            return sch_policy_fail(errstr, errlen, "must be {\"from\": \"YYYY-MM-DD\", \"pct\": N}",
                                   "%s", p);
        if ((bad = unknown_key(en, keys)))
            return sch_policy_fail(errstr, errlen, "unknown key", "%s.%s", p, bad);
        sch_rate_entry *e = &t->e[t->n];
        if (cm_date_parse(json_string_value(json_object_get(en, "from")), &e->from) < 0)
            return sch_policy_fail(errstr, errlen, "must be a date YYYY-MM-DD", "%s.from", p);
        if (t->n > 0 && e->from <= t->e[t->n - 1].from)
            return sch_policy_fail(errstr, errlen, "dates must rise", "%s.from", p);
        if (get_pct(en, "pct", -100, 100, 1, &e->rate, p, errstr, errlen) < 0)
            return -1;
        t->n++;
    }
    return 0;
}

static const char *const scheme_names[] = {"none", "contractual", "uk_late_payment",
                                           "eu_late_payment", NULL};

static int parse_rule(json_t *o, const char *country, const sch_interest_policy *ip,
                      sch_interest_rule *r, char *errstr, size_t errlen)
{
    static const char *const stat_keys[] = {"scheme", "rates", "margin_pct", "comment", NULL};
    static const char *const con_keys[] = {"scheme", "pct", "comment", NULL};
    static const char *const none_keys[] = {"scheme", "comment", NULL};
    char p[64];
    const char *s, *bad;
    int k = 0;
    snprintf(p, sizeof p, "interest.by_country.%s", country);
    if (!json_is_object(o))
        return sch_policy_fail(errstr, errlen, "must be an object with a scheme", "%s", p);
    s = json_string_value(json_object_get(o, "scheme"));
    while (s && scheme_names[k] && strcmp(s, scheme_names[k]) != 0)
        k++;
    if (!s || !scheme_names[k])
        return sch_policy_fail(errstr, errlen,
                               "must be none, contractual, uk_late_payment or eu_late_payment",
                               "%s.scheme", p);
    snprintf(r->country, sizeof r->country, "%s", country);
    r->scheme = (sch_int_scheme)k;
    bad = unknown_key(o, r->scheme == SCH_INT_NONE          ? none_keys
                         : r->scheme == SCH_INT_CONTRACTUAL ? con_keys
                                                            : stat_keys);
    if (bad)
        return sch_policy_fail(errstr, errlen, "does not apply to this scheme", "%s.%s", p, bad);
    if (r->scheme == SCH_INT_CONTRACTUAL)
        return get_pct(o, "pct", 0, 100, 1, &r->pct, p, errstr, errlen);
    if (r->scheme == SCH_INT_NONE)
        return 0;
    const char *tn = json_string_value(json_object_get(o, "rates"));
    if (!tn)
        return sch_policy_fail(errstr, errlen, "is required: the name of a table in interest.rates",
                               "%s.rates", p);
    for (int i = 0; i < ip->ntables; i++)
        if (strcmp(ip->tables[i].name, tn) == 0)
            r->table = &ip->tables[i];
    if (!r->table)
        return sch_policy_fail(errstr, errlen, "names no table in interest.rates", "%s.rates", p);
    return get_pct(o, "margin_pct", 0, 100, 1, &r->margin, p, errstr, errlen);
}

static int country_key_ok(const char *k)
{
    return strcmp(k, "*") == 0 ||
           (strlen(k) == 2 && k[0] >= 'A' && k[0] <= 'Z' && k[1] >= 'A' && k[1] <= 'Z');
}

/* Zeroed room for one struct per member of object o (at most max); NULL
 * when o is not such an object (or out of memory). */
static void *members(json_t *o, size_t max, size_t size)
{
    if (!json_is_object(o) || json_object_size(o) > max)
        return NULL;
    return calloc(json_object_size(o) + 1, size);
}

static int parse_interest(json_t *o, sch_interest_policy *ip, char *errstr, size_t errlen)
{
    static const char *const keys[] = {"by_country",   "rates",
                                       "compensation", "compensation_minor",
                                       "consumers",    "claim_after_payment",
                                       "comment",      NULL};
    const char *key;
    json_t *v, *rates = json_object_get(o, "rates"), *bc = json_object_get(o, "by_country");
    int rc = open_object(o, keys, "interest", errstr, errlen);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (rates) {
        ip->tables = members(rates, 64, sizeof *ip->tables);
        if (!ip->tables)
            return sch_policy_fail(errstr, errlen,
                                   "must be an object of at most 64 name -> [rates]",
                                   "interest.rates");
        json_object_foreach(rates, key, v)
        {
            sch_rate_table *t = &ip->tables[ip->ntables++];
            if (!key[0] || strlen(key) >= sizeof t->name)
                return sch_policy_fail(errstr, errlen, "name must be 1..63 characters",
                                       "interest.rates.%s", key);
            snprintf(t->name, sizeof t->name, "%s", key);
            if (parse_table(v, t, errstr, errlen) < 0)
                return -1;
        }
    }
    if (bc) {
        ip->rules = members(bc, 300, sizeof *ip->rules);
        if (!ip->rules)
            return sch_policy_fail(errstr, errlen,
                                   "must be an object of at most 300 country -> {scheme}",
                                   "interest.by_country");
        json_object_foreach(bc, key, v)
        {
            if (!country_key_ok(key))
                return sch_policy_fail(errstr, errlen,
                                       "must be an ISO 3166-1 alpha-2 country (GB) or \"*\"",
                                       "interest.by_country.%s", key);
            sch_interest_rule *r = &ip->rules[ip->nrules++];
            if (parse_rule(v, key, ip, r, errstr, errlen) < 0)
                return -1;
            ip->enabled |= r->scheme != SCH_INT_NONE;
        }
    }
    if (get_bool(o, "compensation", 0, &ip->compensation, "interest", errstr, errlen) < 0 ||
        sch_cur_map_parse(o, "compensation_minor", &ip->compensation_minor, "interest", errstr,
                          errlen) < 0)
        return -1;
    v = json_object_get(o, "consumers");
    ip->consumers = SCH_INT_NONE;
    if (v) {
        const char *c = json_string_value(v);
        if (!c || (strcmp(c, "none") != 0 && strcmp(c, "contractual") != 0))
            return sch_policy_fail(errstr, errlen, "must be contractual or none",
                                   "interest.consumers");
        ip->consumers = strcmp(c, "none") == 0 ? SCH_INT_NONE : SCH_INT_CONTRACTUAL;
    }
    v = json_object_get(o, "claim_after_payment");
    if (v) {
        const char *ch = json_string_value(json_object_get(v, "channel"));
        const char *tp = json_string_value(json_object_get(v, "template"));
        if (!json_is_object(v) || json_object_size(v) != 2 || !ch || !tp || !tp[0] ||
            strlen(tp) >= sizeof ip->claim_template ||
            ct_channel_parse(ch, strlen(ch)) == CT_CH_NONE)
            return sch_policy_fail(
                errstr, errlen,
                "must be {\"template\": \"...\", \"channel\": \"email\"|\"letter\"|...}",
                "interest.claim_after_payment");
        ip->claim_enabled = 1;
        ip->claim_channel = ct_channel_parse(ch, strlen(ch));
        snprintf(ip->claim_template, sizeof ip->claim_template, "%s", tp);
    }
    return 0;
}

int sch_interest_parse(json_t *o, sch_interest_policy *out, char *errstr, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->claim_channel = CT_CH_NONE;
    if (is_off(o))
        return 0;
    if (parse_interest(o, out, errstr, errlen) < 0) {
        sch_interest_free(out);
        return -1;
    }
    return 0;
}
