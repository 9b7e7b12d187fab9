/* charges.h -- the money of issue 14: late fees, contractual and statutory
 * interest, fixed compensation, offers, fee waivers and payment allocation.
 *
 * Design: pure arithmetic on int64 minor units, no I/O. Dates are day
 * numbers (days since 1970-01-01, the debtor's local date). Percentages and
 * rates are int32 in units of 1e-4 percent (5.25% -> 52500), so every
 * policy number with up to four decimals is exact. Every amount is rounded
 * once, half-up, from an exact integer (__int128) numerator: interest sums
 * balance x rate over the days late and divides by 365 x 10^6 at the end;
 * a daily figure is never rounded. docs/interest.md gives the semantics and
 * worked examples; charges_policy.c parses the policy's "fees" and
 * "interest" sections and a ladder step's "fee" and "offer" into these
 * structs.
 *
 * Ownership: sch_interest_policy owns its tables and rules (free with
 * sch_interest_free); a rule's table pointer points into them. Every other
 * struct here is plain data. */
#ifndef SCH_CHARGES_H
#define SCH_CHARGES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "contract.h"

#define SCH_PCT_UNIT        10000 /* 1 percent in the units of a rate or percentage */
#define SCH_CUR_MAX         16    /* currencies in one {"GBP": n, ...} map */
#define SCH_INT_PERIODS_MAX 24    /* rate periods listed in a result (12 years of half-years) */

/* ---- currency maps ----------------------------------------------------- */

/* {"GBP": 1000, "EUR": 1000}: amounts in minor units by ISO 4217 code. */
typedef struct sch_cur_map {
    int n;
    struct {
        char code[4];
        int64_t minor;
    } v[SCH_CUR_MAX];
} sch_cur_map;

/* 1 and *minor when the map has currency, else 0. */
int sch_cur_get(const sch_cur_map *m, const char *currency, int64_t *minor);
/* o[key], {"GBP": 1000, ...} (ISO 4217 codes to 0..10^15 minor units, at
 * most SCH_CUR_MAX), into *m (empty when absent). 0, or -1 with "policy
 * <path>.<key>[.<code>]: <rule>" (charges_policy.c). */
int sch_cur_map_parse(json_t *o, const char *key, sch_cur_map *m, const char *path, char *errstr,
                      size_t errlen);

/* ---- rate tables ------------------------------------------------------- */

typedef struct sch_rate_entry {
    int32_t from; /* day the rate takes effect */
    int32_t rate; /* 1e-4 percent; may be negative (Bundesbank 2016-2022: -0.88) */
} sch_rate_entry;

typedef struct sch_rate_table {
    char name[64];
    sch_rate_entry *e; /* strictly rising from */
    int n;
} sch_rate_table;

/* "The rate in force on day": the entry with the latest from not after day.
 * 0 with *rate, or -1 when the table starts after day. */
int sch_rate_at(const sch_rate_table *t, int32_t day, int32_t *rate);

/* ---- interest ---------------------------------------------------------- */

typedef enum sch_int_scheme {
    SCH_INT_NONE = 0,
    SCH_INT_CONTRACTUAL, /* pct a year, actual/365 */
    SCH_INT_UK,          /* uk_late_payment: Late Payment of Commercial Debts (Interest) Act 1998 */
    SCH_INT_EU           /* eu_late_payment: Directive 2011/7/EU as transposed */
} sch_int_scheme;

typedef struct sch_interest_rule {
    char country[4]; /* ISO 3166-1 alpha-2, or "*" */
    sch_int_scheme scheme;
    const sch_rate_table *table; /* UK, EU: the reference rates */
    int32_t margin;              /* UK, EU: points over the reference rate, 1e-4 percent */
    int32_t pct;                 /* contractual: the rate a year, 1e-4 percent */
} sch_interest_rule;

/* A payment applied to principal on day (the balance falls from day + 1:
 * the payment day itself still bears interest). */
typedef struct sch_reduction {
    int32_t day;
    int64_t amount;
} sch_reduction;

typedef struct sch_interest_period {
    int32_t from, to; /* days, inclusive */
    int32_t rate;     /* the annual rate applied (reference + margin, never below 0) */
} sch_interest_period;

typedef struct sch_interest_result {
    int64_t interest_minor; /* rounded once, half-up */
    int32_t days_late;      /* until - due_on (0 when not late) */
    int32_t rate;           /* the first period's rate (UK, contractual: the only one) */
    int32_t ref_day;        /* UK: the 30 June / 31 December the rate was taken on; else -1 */
    int nperiods;           /* runs of one rate, in order (UK, contractual: 1; the first 24) */
    sch_interest_period periods[SCH_INT_PERIODS_MAX];
} sch_interest_result;

/* Interest on an invoice due on due_on with original principal, reduced
 * by red[0..nred) (any order), for the days due_on + 1 .. until inclusive
 * (until: the debtor's local date of the computation or of the payment in
 * full). rule NULL or scheme none: 0. -1 with errstr when a table has no
 * rate in force on a day it is needed, or on a negative amount. */
/* Days on which no interest accrues (an instalment plan with interest
 * "freeze", issue 16): from .. to - 1 (to INT32_MAX: still running). */
typedef struct sch_frozen {
    int32_t from, to;
} sch_frozen;
/* sch_interest with frozen[0..nfrozen) left out: a frozen day bears no
 * interest and starts no period (the days late stay until - due_on). */
int sch_interest_frozen(const sch_interest_rule *rule, int32_t due_on, int64_t principal,
                        const sch_reduction *red, int nred, const sch_frozen *frozen, int nfrozen,
                        int32_t until, sch_interest_result *out, char *errstr, size_t errlen);
int sch_interest(const sch_interest_rule *rule, int32_t due_on, int64_t principal,
                 const sch_reduction *red, int nred, int32_t until, sch_interest_result *out,
                 char *errstr, size_t errlen);

/* "13.25" for 132500, "8" for 80000, "-0.88" for -8800 (buf >= 16 bytes). */
void sch_pct_format(int32_t pct, char *buf, size_t len);

/* ---- the policy's interest section ------------------------------------- */

typedef struct sch_interest_policy {
    int enabled; /* by_country has a rule whose scheme is not none */
    sch_rate_table *tables;
    int ntables;
    sch_interest_rule *rules; /* by_country, in file order */
    int nrules;
    int compensation; /* "compensation": true (default false) */
    sch_cur_map compensation_minor;
    sch_int_scheme consumers; /* SCH_INT_NONE (default) or SCH_INT_CONTRACTUAL */
    int claim_enabled;        /* claim_after_payment given */
    ct_channel claim_channel;
    char claim_template[64];
} sch_interest_policy;

/* The rule for a debtor: business -> by_country[country], else "*", else
 * NULL. consumer -> NULL when consumers is none; else the country's rule
 * (or "*") when it is contractual, else the "*" rule when contractual,
 * else NULL. NULL: no interest. */
const sch_interest_rule *sch_interest_rule_for(const sch_interest_policy *ip, const char *country,
                                               int consumer);

/* Fixed compensation for one invoice of original amount_minor in currency
 * under scheme (0 when ip->compensation is off or the scheme is not
 * statutory). UK, GBP: 4000 below 100000, 7000 below 1000000, else 10000
 * (SI 2002/1675 as amended); UK in another currency and EU:
 * compensation_minor[currency], for EUR 4000 when the map has no EUR, else 0. */
int64_t sch_compensation(const sch_interest_policy *ip, sch_int_scheme scheme, const char *currency,
                         int64_t amount_minor);

/* ---- fees -------------------------------------------------------------- */

typedef struct sch_fees_policy {
    int waive_days;        /* waive_if_paid_within_days; -1: never waived */
    int32_t max_total_pct; /* of the original amount; -1: no cap */
    int chase_unpaid;      /* chase_unpaid_fees */
} sch_fees_policy;

typedef struct sch_fee {
    int enabled;
    sch_cur_map fixed; /* fixed_minor; a currency absent: 0 */
    int32_t pct;       /* of the outstanding principal */
    sch_cur_map max;   /* max_minor; a currency absent: no cap */
} sch_fee;

/* The fee a step charges now: fixed[currency] + pct of outstanding
 * principal (half-up), capped by max[currency], then by what is left under
 * floor(max_total_pct x original_minor) after fees_charged (the invoice's
 * fees charged and not waived). Never negative; 0 when f is off. */
int64_t sch_fee_amount(const sch_fee *f, const sch_fees_policy *fp, const char *currency,
                       int64_t original_minor, int64_t outstanding_principal, int64_t fees_charged);

/* 1 when fees charged on charged_on are waived because the invoice was paid
 * in full on paid_on: paid_on <= charged_on + waive_days (inclusive). */
int sch_fee_waived(const sch_fees_policy *fp, int32_t charged_on, int32_t paid_on);

/* A payment goes to principal first, then fees; the rest is excess. */
typedef struct sch_split {
    int64_t principal, fees, excess;
} sch_split;
void sch_allocate(int64_t payment, int64_t principal_due, int64_t fees_due, sch_split *out);

/* ---- amounts and offers ------------------------------------------------ */

typedef struct sch_amounts {
    int64_t principal, fees, interest, compensation;
} sch_amounts;
int64_t sch_amounts_total(const sch_amounts *a);

typedef enum sch_offer_kind {
    SCH_OFFER_NONE = 0,
    SCH_OFFER_DISCOUNT,
    SCH_OFFER_SETTLEMENT,
    SCH_OFFER_PLAN /* instalment plans to choose from (issue 16) */
} sch_offer_kind;

typedef struct sch_offer {
    sch_offer_kind kind;
    int32_t pct;            /* discount: off the principal; settlement: of the balance to pay */
    int valid_until_offset; /* discount: days from the due date */
    int valid_days;         /* settlement: days from the send date */
    /* plan: plans of 2 .. max_instalments, instalments interval_days apart
     * (the first interval_days after the send), none below min_instalment
     * in the invoice's currency (none: no minimum) */
    int max_instalments, interval_days;
    sch_cur_map min_instalment;
} sch_offer;

typedef struct sch_offer_terms {
    int64_t pay_minor, forgiven_minor;
    int32_t valid_until; /* last local date a payment counts (inclusive) */
} sch_offer_terms;

/* Terms of an offer sent on send_day for an invoice due on due_on with
 * balance a. discount: forgiven = pct of a->principal (half-up), pay =
 * total - forgiven, valid until due_on + valid_until_offset. settlement:
 * pay = pct of the total (half-up), forgiven = total - pay, valid until
 * send_day + valid_days. -1 when o is off, there is nothing to pay or the
 * offer forgives nothing. */
int sch_offer_terms_for(const sch_offer *o, int32_t due_on, int32_t send_day, const sch_amounts *a,
                        sch_offer_terms *out);

/* ---- parsing (charges_policy.c) ---------------------------------------- */

/* "policy <path>: <rule>" into errstr, the path from pathfmt; returns -1.
 * The policy parsers' one error writer. */
__attribute__((format(printf, 4, 5))) int
sch_policy_fail(char *errstr, size_t errlen, const char *rule, const char *pathfmt, ...);
/* Each returns 0, or -1 with "policy <json path>: <rule>" in errstr. A NULL
 * object, JSON null or an object with only "comment" keys ({"comment":
 * "reserved"}) parses as off. path names o in errors (e.g.
 * "ladders.standard[1].fee"). */
int sch_fees_parse(json_t *o, sch_fees_policy *out, char *errstr, size_t errlen);
int sch_fee_parse(json_t *o, const char *path, sch_fee *out, char *errstr, size_t errlen);
int sch_offer_parse(json_t *o, const char *path, sch_offer *out, char *errstr, size_t errlen);
/* On success *out owns its tables and rules; on -1 nothing is left to free. */
int sch_interest_parse(json_t *o, sch_interest_policy *out, char *errstr, size_t errlen);
void sch_interest_free(sch_interest_policy *ip);

#endif
