/* risk.c -- the per-debtor risk score (risk.h; rules in docs/risk.md).
 *
 * Design: every factor reduces to a fraction num/den in [0, 1] of its
 * weight, and its points are weight x num / den rounded half-up in integer
 * arithmetic (no doubles, so a hand computation agrees to the point). The
 * value shown in a contribution is the one the points are computed from:
 * a percentage is rounded half-up to a whole percent first, and the
 * points follow from that whole percent. The parser's errors follow the
 * policy's style, "policy <json path>: <rule>". */
#include "risk.h"

#include <stdio.h>
#include <string.h>

static const char *const factor_names[CM_RISK_NFACTORS] = {
    "late_share",        "avg_days_late", "broken_promises",    "broken_plans",    "open_disputes",
    "unusable_contacts", "credit_use",    "days_since_payment", "relationship_age"};
static const int32_t default_weights[CM_RISK_NFACTORS] = {25, 15, 15, 10, 5, 5, 10, 10, 5};
static const char *const band_names[] = {"low", "medium", "high", "severe"};

cm_risk_weights cm_risk_defaults(void)
{
    cm_risk_weights w;
    memcpy(w.weight, default_weights, sizeof w.weight);
    w.band_medium = 25;
    w.band_high = 50;
    w.band_severe = 75;
    w.last_n = 10;
    return w;
}

const char *cm_risk_factor_name(cm_risk_factor f)
{
    return (unsigned)f < CM_RISK_NFACTORS ? factor_names[f] : "?";
}

const char *cm_risk_band_name(cm_risk_band b)
{
    return (unsigned)b <= CM_RISK_SEVERE ? band_names[b] : "?";
}

int cm_risk_band_parse(const char *s)
{
    for (int b = CM_RISK_LOW; b <= CM_RISK_SEVERE; b++)
        if (strcmp(s, band_names[b]) == 0)
            return b;
    return -1;
}

cm_risk_band cm_risk_band_of(const cm_risk_weights *w, int32_t score)
{
    return score >= w->band_severe   ? CM_RISK_SEVERE
           : score >= w->band_high   ? CM_RISK_HIGH
           : score >= w->band_medium ? CM_RISK_MEDIUM
                                     : CM_RISK_LOW;
}

/* weight x num / den, rounded half-up; num clamped to 0..den (den > 0). */
static int32_t points(int32_t weight, int64_t num, int64_t den)
{
    if (num < 0)
        num = 0;
    if (num > den)
        num = den;
    return (int32_t)((2 * (int64_t)weight * num + den) / (2 * den));
}

/* 100 x num / den rounded half-up to a whole percent (num >= 0, den > 0),
 * at most INT64_MAX. */
static int64_t percent(int64_t num, int64_t den)
{
    __int128 q = ((__int128)num * 200 + den) / (2 * (__int128)den);
    return q > INT64_MAX ? INT64_MAX : (int64_t)q;
}

static int32_t nonneg(int32_t v)
{
    return v < 0 ? 0 : v;
}

/* A fraction that rises from 0 at `from` to 1 at `full`, of x. */
static int32_t ramp(int32_t weight, int64_t x, int64_t from, int64_t full)
{
    return points(weight, x - from, full - from);
}

void cm_risk_score(const cm_risk_weights *w, const cm_risk_input *in, cm_risk_result *out)
{
    int64_t v[CM_RISK_NFACTORS];
    int32_t p[CM_RISK_NFACTORS];
    const int32_t *wt = w->weight;

    int32_t paid = nonneg(in->paid_count), late = nonneg(in->paid_late);
    if (late > paid)
        late = paid;
    v[CM_RISK_LATE_SHARE] = paid ? percent(late, paid) : 0;
    p[CM_RISK_LATE_SHARE] = points(wt[CM_RISK_LATE_SHARE], v[CM_RISK_LATE_SHARE], 100);

    v[CM_RISK_AVG_DAYS_LATE] = nonneg(in->avg_days_late);
    p[CM_RISK_AVG_DAYS_LATE] =
        ramp(wt[CM_RISK_AVG_DAYS_LATE], v[CM_RISK_AVG_DAYS_LATE], 0, CM_RISK_DAYS_LATE_FULL);

    static const struct {
        cm_risk_factor f;
        int32_t full;
    } counts[] = {{CM_RISK_BROKEN_PROMISES, CM_RISK_PROMISES_FULL},
                  {CM_RISK_BROKEN_PLANS, CM_RISK_PLANS_FULL},
                  {CM_RISK_OPEN_DISPUTES, CM_RISK_DISPUTES_FULL},
                  {CM_RISK_UNUSABLE_CONTACTS, CM_RISK_CONTACTS_FULL}};
    const int32_t count_in[] = {in->broken_promises, in->broken_plans, in->open_disputes,
                                in->unusable_contacts};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        v[counts[i].f] = nonneg(count_in[i]);
        p[counts[i].f] = ramp(wt[counts[i].f], v[counts[i].f], 0, counts[i].full);
    }

    if (in->credit_limit_minor > 0) {
        int64_t o = in->outstanding_minor < 0 ? 0 : in->outstanding_minor;
        v[CM_RISK_CREDIT_USE] = percent(o, in->credit_limit_minor);
        p[CM_RISK_CREDIT_USE] = ramp(wt[CM_RISK_CREDIT_USE], v[CM_RISK_CREDIT_USE],
                                     CM_RISK_CREDIT_FROM, CM_RISK_CREDIT_FULL);
    } else {
        v[CM_RISK_CREDIT_USE] = -1;
        p[CM_RISK_CREDIT_USE] = 0;
    }

    /* never paid: silent since first seen */
    int32_t age = nonneg(in->relationship_days);
    v[CM_RISK_DAYS_SINCE_PAYMENT] = in->days_since_payment < 0 ? -1 : in->days_since_payment;
    p[CM_RISK_DAYS_SINCE_PAYMENT] = ramp(wt[CM_RISK_DAYS_SINCE_PAYMENT],
                                         in->days_since_payment < 0 ? age : in->days_since_payment,
                                         CM_RISK_SILENCE_FROM, CM_RISK_SILENCE_FULL);

    v[CM_RISK_RELATIONSHIP_AGE] = age;
    p[CM_RISK_RELATIONSHIP_AGE] =
        points(wt[CM_RISK_RELATIONSHIP_AGE], CM_RISK_AGE_ZERO - (int64_t)age, CM_RISK_AGE_ZERO);

    int32_t score = 0;
    for (int f = 0; f < CM_RISK_NFACTORS; f++) {
        out->contrib[f].factor = (cm_risk_factor)f;
        out->contrib[f].value = v[f];
        out->contrib[f].points = p[f];
        score += p[f];
    }
    out->score = score;
    out->band = cm_risk_band_of(w, score);
}

int cm_risk_json(cm_buf *b, const cm_risk_result *r)
{
    cm_buf_adds(b, "{\"score\":");
    cm_buf_int(b, r->score);
    cm_buf_adds(b, ",\"band\":\"");
    cm_buf_adds(b, cm_risk_band_name(r->band));
    cm_buf_adds(b, "\",\"contributions\":[");
    for (int f = 0; f < CM_RISK_NFACTORS; f++) {
        cm_buf_adds(b, f ? ",{\"factor\":\"" : "{\"factor\":\"");
        cm_buf_adds(b, cm_risk_factor_name(r->contrib[f].factor));
        cm_buf_adds(b, "\",\"value\":");
        cm_buf_int(b, r->contrib[f].value);
        cm_buf_adds(b, ",\"points\":");
        cm_buf_int(b, r->contrib[f].points);
        cm_buf_addc(b, '}');
    }
    cm_buf_adds(b, "]}");
    return b->oom ? -1 : 0;
}

/* ---- the policy's "risk" object ---- */

/* "policy <path>: <rule>"; path is "risk", "risk.<k>" or "risk.<k>.<k2>". */
static int fail(char *errstr, size_t errlen, const char *k, const char *k2, const char *rule)
{
    snprintf(errstr, errlen, "policy risk%s%s%s%s: %s", k ? "." : "", k ? k : "", k2 ? "." : "",
             k2 ? k2 : "", rule);
    return -1;
}

/* An integer member in lo..hi into *out (absent: *out kept). */
static int get_int(const json_t *o, const char *k, const char *k2, int32_t lo, int32_t hi,
                   int32_t *out, char *errstr, size_t errlen)
{
    const json_t *v = json_object_get(o, k2 ? k2 : k);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        char rule[64];
        snprintf(rule, sizeof rule, "must be an integer %d..%d", (int)lo, (int)hi);
        return fail(errstr, errlen, k, k2, rule);
    }
    *out = (int32_t)json_integer_value(v);
    return 0;
}

/* o is an object whose keys are all in known[0..n) or "comment". */
static int check_keys(const json_t *o, const char *k, const char *const *known, size_t n,
                      char *errstr, size_t errlen)
{
    const char *key;
    json_t *v;
    if (!json_is_object(o))
        return fail(errstr, errlen, k, NULL, "must be an object");
    json_object_foreach((json_t *)o, key, v)
    {
        size_t i = 0;
        while (i < n && strcmp(known[i], key) != 0)
            i++;
        if (i == n && strcmp(key, "comment") != 0)
            return fail(errstr, errlen, k ? k : key, k ? key : NULL,
                        "unknown key (see docs/risk.md)");
    }
    return 0;
}

int cm_risk_parse(const json_t *risk, cm_risk_weights *out, char *errstr, size_t errlen)
{
    static const char *const top[] = {"last_n", "weights", "bands"};
    static const char *const bands[] = {"medium", "high", "severe"};
    *out = cm_risk_defaults();
    if (!risk || json_is_null(risk))
        return 0;
    if (check_keys(risk, NULL, top, 3, errstr, errlen) < 0)
        return -1;
    if (get_int(risk, "last_n", NULL, 1, 100, &out->last_n, errstr, errlen) < 0)
        return -1;

    const json_t *w = json_object_get(risk, "weights");
    if (w) {
        if (check_keys(w, "weights", factor_names, CM_RISK_NFACTORS, errstr, errlen) < 0)
            return -1;
        int32_t sum = 0;
        for (int f = 0; f < CM_RISK_NFACTORS; f++) {
            if (get_int(w, "weights", factor_names[f], 0, 100, &out->weight[f], errstr, errlen) < 0)
                return -1;
            sum += out->weight[f];
        }
        if (sum > 100) {
            char rule[120];
            snprintf(rule, sizeof rule,
                     "must sum to at most 100 with the defaults of the keys not given (they sum "
                     "to %d)",
                     (int)sum);
            return fail(errstr, errlen, "weights", NULL, rule);
        }
    }

    const json_t *b = json_object_get(risk, "bands");
    if (b) {
        if (check_keys(b, "bands", bands, 3, errstr, errlen) < 0)
            return -1;
        if (get_int(b, "bands", "medium", 1, 100, &out->band_medium, errstr, errlen) < 0 ||
            get_int(b, "bands", "high", 1, 100, &out->band_high, errstr, errlen) < 0 ||
            get_int(b, "bands", "severe", 1, 100, &out->band_severe, errstr, errlen) < 0)
            return -1;
        if (!(out->band_medium < out->band_high && out->band_high < out->band_severe)) {
            char rule[120];
            snprintf(rule, sizeof rule,
                     "must rise: medium < high < severe (with the defaults of the keys not "
                     "given: %d, %d, %d)",
                     (int)out->band_medium, (int)out->band_high, (int)out->band_severe);
            return fail(errstr, errlen, "bands", NULL, rule);
        }
    }
    return 0;
}
