/* report_int.h -- helpers shared by the report builders (not an API). */
#ifndef REP_REPORT_INT_H
#define REP_REPORT_INT_H

#include "reporter.h"

#define REP_RESPONSE_DAYS    7
#define REP_COUNTBACK_MONTHS 24

/* A JSON real rounded to 2 decimals, or null when not finite. */
json_t *rep_num2(double x);
/* num / den * scale rounded exactly (integer arithmetic) half away from
 * zero to 2 decimals, as a JSON real; null when den == 0. */
json_t *rep_ratio_json(int64_t num, int64_t den, int64_t scale);
/* Outcome of promise p as of day d: REP_PROMISE_KEPT/BROKEN with the day it
 * was decided in *day, REP_PROMISE_OPEN, or -1 when not made by d. Uses the
 * scheduler's promise.kept/broken when present, else the documented rule. */
int rep_promise_status(const rep_state *st, const rep_promise *p, int32_t d, int32_t *day);

/* Currency indices sorted by ISO code (reports list currencies in that
 * order); order must hold st->ncurs entries. */
void rep_cur_order(const rep_state *st, uint32_t *order);

/* Sorts v[0..n) and sets "median_days" (the mean of the two middle values
 * for an even n) and "p90_days" (nearest rank: the ceil(0.9 n)-th
 * smallest) on into, 2 decimals; both null when n == 0. */
void rep_days_stats(int32_t *v, uint32_t n, json_t *into);

/* The aging buckets by days past due (docs/reports.md "aging"): 0
 * current (<= 0), 1 1-30, 2 31-60, 3 61-90, 4 91+. */
#define REP_AGE_BUCKETS 5
extern const char *const rep_age_bucket_names[REP_AGE_BUCKETS];
int rep_age_bucket(int32_t dpd);

/* retain.c: the new index of a dropped entity. */
#define REP_GONE UINT32_MAX

/* The effectiveness report's share of the invoices dropped by the
 * retention (ni[i] == REP_GONE), all of whose facts lie on or before day
 * d (effect.c): what they add to each row and to each row's variant as of
 * any later day, computed by rep_eff_gone_new (NULL: out of memory) and
 * added to st's rows by rep_eff_gone_commit, which cannot fail and frees
 * it; rep_eff_gone_free drops it unused. */
typedef struct rep_eff_gone rep_eff_gone;
rep_eff_gone *rep_eff_gone_new(const rep_state *st, const uint32_t *ni, int32_t d);
void rep_eff_gone_commit(rep_state *st, rep_eff_gone *x);
void rep_eff_gone_free(rep_eff_gone *x);

#endif
