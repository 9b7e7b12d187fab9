/* risk.h -- the per-debtor risk score: 0..100, a band, and why.
 *
 * Design: one implementation for every service (the scheduler's segments
 * and commands, the reporter's aging report), so a debtor has one score
 * wherever it is shown. The score is explainable by construction: each of
 * nine factors turns its input into points with a piecewise linear rule on
 * fixed, documented breakpoints, scaled by the factor's weight (its most
 * points) and rounded once, half-up, to a whole point. The policy's weights
 * must sum to at most 100, so the score is exactly the sum of the points
 * (no clamp) and every contribution can be checked by hand. docs/risk.md
 * gives the rules, the defaults and a worked example.
 *
 * The caller gathers the inputs (a service knows its own state); what it
 * cannot know it passes as 0 (a count) or "unknown" (credit_limit 0), which
 * scores no points.
 *
 * Ownership: plain structs, nothing allocated; cm_risk_json appends to the
 * caller's buffer. */
#ifndef CM_RISK_H
#define CM_RISK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* The factors, in the order of the contributions. */
typedef enum {
    CM_RISK_LATE_SHARE,         /* % of the last N paid invoices paid late */
    CM_RISK_AVG_DAYS_LATE,      /* average days late of those paid late */
    CM_RISK_BROKEN_PROMISES,    /* count */
    CM_RISK_BROKEN_PLANS,       /* count */
    CM_RISK_OPEN_DISPUTES,      /* count */
    CM_RISK_UNUSABLE_CONTACTS,  /* count: bounced email, wrong_number phone */
    CM_RISK_CREDIT_USE,         /* outstanding as % of credit_limit; -1 unknown */
    CM_RISK_DAYS_SINCE_PAYMENT, /* days; -1 never paid */
    CM_RISK_RELATIONSHIP_AGE,   /* days since first seen */
    CM_RISK_NFACTORS
} cm_risk_factor;

typedef enum { CM_RISK_LOW, CM_RISK_MEDIUM, CM_RISK_HIGH, CM_RISK_SEVERE } cm_risk_band;

/* The breakpoints of the points rules (docs/risk.md "Factors"): a factor
 * scores weight x its fraction, the fraction rising linearly from 0 to 1
 * between the two breakpoints (falling, for the relationship's age). */
#define CM_RISK_DAYS_LATE_FULL 60  /* avg days late: 0 at 0, full at >= 60 */
#define CM_RISK_PROMISES_FULL  3   /* broken promises: full at >= 3 */
#define CM_RISK_PLANS_FULL     2   /* broken plans: full at >= 2 */
#define CM_RISK_DISPUTES_FULL  2   /* open disputes: full at >= 2 */
#define CM_RISK_CONTACTS_FULL  2   /* unusable contacts: full at >= 2 */
#define CM_RISK_CREDIT_FROM    50  /* credit use %: 0 at <= 50 */
#define CM_RISK_CREDIT_FULL    150 /* ... full at >= 150 */
#define CM_RISK_SILENCE_FROM   30  /* days since payment: 0 at <= 30 */
#define CM_RISK_SILENCE_FULL   120 /* ... full at >= 120 */
#define CM_RISK_AGE_ZERO       365 /* relationship age: full at 0, 0 at >= 365 */

/* What the caller knows of one debtor. Negative counts count as 0. */
typedef struct cm_risk_input {
    int32_t paid_count;         /* the last N invoices paid (N = weights.last_n): 0..N */
    int32_t paid_late;          /* of those, paid after their due date */
    int32_t avg_days_late;      /* whole days, of those paid late (0 when none) */
    int32_t broken_promises;    /* promises broken */
    int32_t broken_plans;       /* payment plans broken */
    int32_t open_disputes;      /* disputes not resolved */
    int32_t unusable_contacts;  /* bounced email addresses, wrong_number phones */
    int64_t outstanding_minor;  /* open balance, minor units of one currency */
    int64_t credit_limit_minor; /* same currency; 0 (or less) = unknown */
    int32_t days_since_payment; /* -1 = never paid */
    int32_t relationship_days;  /* since first seen (>= 0) */
} cm_risk_input;

/* Policy: the most points of each factor (sum <= 100), the band thresholds
 * (a score >= band_medium is medium, and so on; 0 < medium < high < severe
 * <= 100) and N of the last N invoices. */
typedef struct cm_risk_weights {
    int32_t weight[CM_RISK_NFACTORS];
    int32_t band_medium, band_high, band_severe;
    int32_t last_n;
} cm_risk_weights;

typedef struct cm_risk_contribution {
    cm_risk_factor factor;
    int64_t value;  /* the factor's value as docs/risk.md defines it */
    int32_t points; /* 0..weight */
} cm_risk_contribution;

typedef struct cm_risk_result {
    int32_t score; /* the sum of the points, 0..100 */
    cm_risk_band band;
    cm_risk_contribution contrib[CM_RISK_NFACTORS]; /* in cm_risk_factor order */
} cm_risk_result;

/* The documented defaults: weights 25 15 15 10 5 5 10 10 5 (factor order),
 * bands 25/50/75, last_n 10. */
cm_risk_weights cm_risk_defaults(void);

/* The policy's "risk" object into *out, starting from the defaults; absent
 * keys keep them. risk may be NULL or JSON null (all defaults). 0, or -1
 * with "policy risk.<path>: <rule>" in errstr (out then unspecified). */
int cm_risk_parse(const json_t *risk, cm_risk_weights *out, char *errstr, size_t errlen);

/* Scores in against w (valid weights, as cm_risk_parse or cm_risk_defaults
 * leave them). */
void cm_risk_score(const cm_risk_weights *w, const cm_risk_input *in, cm_risk_result *out);

/* The band of a score under w. */
cm_risk_band cm_risk_band_of(const cm_risk_weights *w, int32_t score);

/* "late_share", ... (the policy's weight keys and the contributions'
 * factor names); "low", "medium", "high", "severe". */
const char *cm_risk_factor_name(cm_risk_factor f);
const char *cm_risk_band_name(cm_risk_band b);
/* A band by name, or -1. */
int cm_risk_band_parse(const char *s);

/* Appends {"score":S,"band":"B","contributions":[{"factor":"F","value":V,
 * "points":P},...]} (every factor, in order). 0, or -1 when b ran out of
 * memory. */
int cm_risk_json(cm_buf *b, const cm_risk_result *r);

#endif
