/* test_common_risk.c -- unit tests of common/risk.c, the per-debtor risk
 * score: each factor's points at its breakpoints, the band thresholds at
 * their boundaries, the sum, the policy parser's errors and the defaults.
 *
 * Every expected number is worked out by hand from the rules in
 * docs/risk.md: points = weight x fraction, rounded half-up to a whole
 * point, with the arithmetic in the comments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "risk.h"

/* A debtor with no points at all under the defaults: 10 invoices paid, all
 * on time; paid 30 days ago (the last day before that factor starts); known
 * for 365 days (the first day the age scores nothing); no credit limit. */
static cm_risk_input clean(void)
{
    cm_risk_input in;
    memset(&in, 0, sizeof in);
    in.paid_count = 10;
    in.days_since_payment = 30;
    in.relationship_days = 365;
    return in;
}

static int32_t pts(const cm_risk_input *in, cm_risk_factor f)
{
    cm_risk_weights w = cm_risk_defaults();
    cm_risk_result r;
    cm_risk_score(&w, in, &r);
    return r.contrib[f].points;
}

static int64_t val(const cm_risk_input *in, cm_risk_factor f)
{
    cm_risk_weights w = cm_risk_defaults();
    cm_risk_result r;
    cm_risk_score(&w, in, &r);
    return r.contrib[f].value;
}

static void test_defaults(void **state)
{
    (void)state;
    cm_risk_weights w = cm_risk_defaults();
    const int32_t want[CM_RISK_NFACTORS] = {25, 15, 15, 10, 5, 5, 10, 10, 5};
    int32_t sum = 0;
    for (int f = 0; f < CM_RISK_NFACTORS; f++) {
        assert_int_equal(w.weight[f], want[f]);
        sum += w.weight[f];
    }
    assert_int_equal(sum, 100); /* 25+15+15+10+5+5+10+10+5 */
    assert_int_equal(w.band_medium, 25);
    assert_int_equal(w.band_high, 50);
    assert_int_equal(w.band_severe, 75);
    assert_int_equal(w.last_n, 10);
    assert_string_equal(cm_risk_factor_name(CM_RISK_LATE_SHARE), "late_share");
    assert_string_equal(cm_risk_factor_name(CM_RISK_RELATIONSHIP_AGE), "relationship_age");
    assert_int_equal(cm_risk_band_parse("severe"), CM_RISK_SEVERE);
    assert_int_equal(cm_risk_band_parse("low"), CM_RISK_LOW);
    assert_int_equal(cm_risk_band_parse("Low"), -1);

    cm_risk_input in = clean();
    cm_risk_result r;
    cm_risk_score(&w, &in, &r);
    assert_int_equal(r.score, 0);
    assert_int_equal(r.band, CM_RISK_LOW);
}

/* late_share: value = 100 x late / paid rounded half-up; points = 25 x
 * value / 100 rounded half-up. */
static void test_late_share(void **state)
{
    (void)state;
    cm_risk_input in = clean();
    in.paid_late = 0; /* 0% -> 0 */
    assert_int_equal(pts(&in, CM_RISK_LATE_SHARE), 0);
    in.paid_late = 10; /* 100% -> 25 */
    assert_int_equal(val(&in, CM_RISK_LATE_SHARE), 100);
    assert_int_equal(pts(&in, CM_RISK_LATE_SHARE), 25);
    in.paid_late = 4; /* 40% -> 25 x 0.40 = 10 */
    assert_int_equal(val(&in, CM_RISK_LATE_SHARE), 40);
    assert_int_equal(pts(&in, CM_RISK_LATE_SHARE), 10);
    in.paid_late = 1; /* 10% -> 2.5 -> 3 (half-up) */
    assert_int_equal(pts(&in, CM_RISK_LATE_SHARE), 3);
    in.paid_count = 3; /* 1 of 3: 33.33% -> 33; 25 x 0.33 = 8.25 -> 8 */
    assert_int_equal(val(&in, CM_RISK_LATE_SHARE), 33);
    assert_int_equal(pts(&in, CM_RISK_LATE_SHARE), 8);
    in.paid_late = 2; /* 2 of 3: 66.67% -> 67; 25 x 0.67 = 16.75 -> 17 */
    assert_int_equal(val(&in, CM_RISK_LATE_SHARE), 67);
    assert_int_equal(pts(&in, CM_RISK_LATE_SHARE), 17);
    in.paid_count = 8; /* 2 of 8 = 25%; 25 x 0.25 = 6.25 -> 6 */
    assert_int_equal(pts(&in, CM_RISK_LATE_SHARE), 6);
    in.paid_count = 0; /* no history: 0%, 0 points */
    in.paid_late = 0;
    assert_int_equal(val(&in, CM_RISK_LATE_SHARE), 0);
    assert_int_equal(pts(&in, CM_RISK_LATE_SHARE), 0);
    in.paid_count = 2; /* more late than paid is read as all late: 100% */
    in.paid_late = 5;
    assert_int_equal(pts(&in, CM_RISK_LATE_SHARE), 25);
}

/* avg_days_late: 15 x min(days, 60) / 60. */
static void test_avg_days_late(void **state)
{
    (void)state;
    cm_risk_input in = clean();
    in.avg_days_late = 0;
    assert_int_equal(pts(&in, CM_RISK_AVG_DAYS_LATE), 0);
    in.avg_days_late = 1; /* 15/60 = 0.25 -> 0 */
    assert_int_equal(pts(&in, CM_RISK_AVG_DAYS_LATE), 0);
    in.avg_days_late = 2; /* 30/60 = 0.5 -> 1 (half-up) */
    assert_int_equal(pts(&in, CM_RISK_AVG_DAYS_LATE), 1);
    in.avg_days_late = 30; /* 7.5 -> 8 */
    assert_int_equal(pts(&in, CM_RISK_AVG_DAYS_LATE), 8);
    in.avg_days_late = 59; /* 14.75 -> 15 */
    assert_int_equal(pts(&in, CM_RISK_AVG_DAYS_LATE), 15);
    in.avg_days_late = 60;
    assert_int_equal(pts(&in, CM_RISK_AVG_DAYS_LATE), 15);
    in.avg_days_late = 400; /* capped at 60 */
    assert_int_equal(val(&in, CM_RISK_AVG_DAYS_LATE), 400);
    assert_int_equal(pts(&in, CM_RISK_AVG_DAYS_LATE), 15);
}

/* The four counts: weight x min(n, full) / full. */
static void test_counts(void **state)
{
    (void)state;
    cm_risk_input in = clean();
    /* broken promises: 15, full at 3: 1 -> 5, 2 -> 10, 3 -> 15, 7 -> 15 */
    const int32_t prom[] = {0, 5, 10, 15, 15};
    for (int n = 0; n <= 4; n++) {
        in.broken_promises = n == 4 ? 7 : n;
        assert_int_equal(pts(&in, CM_RISK_BROKEN_PROMISES), prom[n]);
    }
    in.broken_promises = 0;
    /* broken plans: 10, full at 2: 1 -> 5, 2 -> 10, 3 -> 10 */
    in.broken_plans = 1;
    assert_int_equal(pts(&in, CM_RISK_BROKEN_PLANS), 5);
    in.broken_plans = 2;
    assert_int_equal(pts(&in, CM_RISK_BROKEN_PLANS), 10);
    in.broken_plans = 3;
    assert_int_equal(pts(&in, CM_RISK_BROKEN_PLANS), 10);
    /* open disputes and unusable contacts: 5, full at 2: 1 -> 2.5 -> 3 */
    in.open_disputes = 1;
    in.unusable_contacts = 1;
    assert_int_equal(pts(&in, CM_RISK_OPEN_DISPUTES), 3);
    assert_int_equal(pts(&in, CM_RISK_UNUSABLE_CONTACTS), 3);
    in.open_disputes = 2;
    in.unusable_contacts = 9;
    assert_int_equal(pts(&in, CM_RISK_OPEN_DISPUTES), 5);
    assert_int_equal(pts(&in, CM_RISK_UNUSABLE_CONTACTS), 5);
    assert_int_equal(val(&in, CM_RISK_UNUSABLE_CONTACTS), 9);
    in.open_disputes = -4; /* a negative count is 0 */
    assert_int_equal(pts(&in, CM_RISK_OPEN_DISPUTES), 0);
    assert_int_equal(val(&in, CM_RISK_OPEN_DISPUTES), 0);
}

/* credit_use: value = 100 x outstanding / limit rounded half-up; points =
 * 10 x (value - 50) / 100, 0 below 50%, 10 from 150%. */
static void test_credit_use(void **state)
{
    (void)state;
    cm_risk_input in = clean();
    in.outstanding_minor = 999999;
    in.credit_limit_minor = 0; /* unknown */
    assert_int_equal(val(&in, CM_RISK_CREDIT_USE), -1);
    assert_int_equal(pts(&in, CM_RISK_CREDIT_USE), 0);
    in.credit_limit_minor = 100000; /* GBP 1000.00 */
    in.outstanding_minor = 50000;   /* 50% -> 0 */
    assert_int_equal(val(&in, CM_RISK_CREDIT_USE), 50);
    assert_int_equal(pts(&in, CM_RISK_CREDIT_USE), 0);
    in.outstanding_minor = 55000; /* 55%: 10 x 5/100 = 0.5 -> 1 */
    assert_int_equal(pts(&in, CM_RISK_CREDIT_USE), 1);
    in.outstanding_minor = 54499; /* 54.499% -> 54; 0.4 -> 0 */
    assert_int_equal(val(&in, CM_RISK_CREDIT_USE), 54);
    assert_int_equal(pts(&in, CM_RISK_CREDIT_USE), 0);
    in.outstanding_minor = 54500; /* 54.5% -> 55 (half-up); 0.5 -> 1 */
    assert_int_equal(val(&in, CM_RISK_CREDIT_USE), 55);
    assert_int_equal(pts(&in, CM_RISK_CREDIT_USE), 1);
    in.outstanding_minor = 100000; /* 100%: 10 x 50/100 = 5 */
    assert_int_equal(pts(&in, CM_RISK_CREDIT_USE), 5);
    in.outstanding_minor = 150000; /* 150% -> 10 */
    assert_int_equal(pts(&in, CM_RISK_CREDIT_USE), 10);
    in.outstanding_minor = 900000; /* 900% -> 10 */
    assert_int_equal(val(&in, CM_RISK_CREDIT_USE), 900);
    assert_int_equal(pts(&in, CM_RISK_CREDIT_USE), 10);
    in.outstanding_minor = INT64_C(9000000000000000000); /* no overflow */
    in.credit_limit_minor = 3;
    assert_int_equal(pts(&in, CM_RISK_CREDIT_USE), 10);
}

/* days_since_payment: 10 x (days - 30) / 90, 0 to 30 days, 10 from 120;
 * never paid (-1) counts the relationship's age instead. */
static void test_days_since_payment(void **state)
{
    (void)state;
    cm_risk_input in = clean();
    in.days_since_payment = 0;
    assert_int_equal(pts(&in, CM_RISK_DAYS_SINCE_PAYMENT), 0);
    in.days_since_payment = 30;
    assert_int_equal(pts(&in, CM_RISK_DAYS_SINCE_PAYMENT), 0);
    in.days_since_payment = 34; /* 10 x 4/90 = 0.44 -> 0 */
    assert_int_equal(pts(&in, CM_RISK_DAYS_SINCE_PAYMENT), 0);
    in.days_since_payment = 35; /* 10 x 5/90 = 0.56 -> 1 */
    assert_int_equal(pts(&in, CM_RISK_DAYS_SINCE_PAYMENT), 1);
    in.days_since_payment = 75; /* 10 x 45/90 = 5 */
    assert_int_equal(pts(&in, CM_RISK_DAYS_SINCE_PAYMENT), 5);
    in.days_since_payment = 120;
    assert_int_equal(pts(&in, CM_RISK_DAYS_SINCE_PAYMENT), 10);
    in.days_since_payment = 5000;
    assert_int_equal(pts(&in, CM_RISK_DAYS_SINCE_PAYMENT), 10);
    in.days_since_payment = -1; /* never paid, known 365 days: as 365 -> 10 */
    assert_int_equal(val(&in, CM_RISK_DAYS_SINCE_PAYMENT), -1);
    assert_int_equal(pts(&in, CM_RISK_DAYS_SINCE_PAYMENT), 10);
    in.relationship_days = 12; /* never paid, new: as 12 -> 0 */
    assert_int_equal(pts(&in, CM_RISK_DAYS_SINCE_PAYMENT), 0);
    in.relationship_days = 60; /* as 60: 10 x 30/90 = 3.33 -> 3 */
    assert_int_equal(pts(&in, CM_RISK_DAYS_SINCE_PAYMENT), 3);
}

/* relationship_age: 5 x (365 - days) / 365, 0 from 365 days. */
static void test_relationship_age(void **state)
{
    (void)state;
    cm_risk_input in = clean();
    in.relationship_days = 0;
    assert_int_equal(pts(&in, CM_RISK_RELATIONSHIP_AGE), 5);
    in.relationship_days = 36; /* 5 x 329/365 = 4.51 -> 5 */
    assert_int_equal(pts(&in, CM_RISK_RELATIONSHIP_AGE), 5);
    in.relationship_days = 37; /* 5 x 328/365 = 4.49 -> 4 */
    assert_int_equal(pts(&in, CM_RISK_RELATIONSHIP_AGE), 4);
    in.relationship_days = 200; /* 5 x 165/365 = 2.26 -> 2 */
    assert_int_equal(pts(&in, CM_RISK_RELATIONSHIP_AGE), 2);
    in.relationship_days = 364; /* 5/365 = 0.01 -> 0 */
    assert_int_equal(pts(&in, CM_RISK_RELATIONSHIP_AGE), 0);
    in.relationship_days = 3650;
    assert_int_equal(pts(&in, CM_RISK_RELATIONSHIP_AGE), 0);
}

/* The worked example of docs/risk.md: every factor, their sum, the band. */
static void test_worked_example(void **state)
{
    (void)state;
    cm_risk_weights w = cm_risk_defaults();
    cm_risk_input in;
    memset(&in, 0, sizeof in);
    in.paid_count = 10;
    in.paid_late = 4;               /* 40%: 25 x 0.40 = 10 */
    in.avg_days_late = 21;          /* 15 x 21/60 = 5.25 -> 5 */
    in.broken_promises = 1;         /* 15 x 1/3 = 5 */
    in.broken_plans = 0;            /* 0 */
    in.open_disputes = 1;           /* 5 x 1/2 = 2.5 -> 3 */
    in.unusable_contacts = 0;       /* 0 */
    in.outstanding_minor = 750000;  /* GBP 7,500.00 */
    in.credit_limit_minor = 500000; /* of 5,000.00: 150% -> 10 */
    in.days_since_payment = 75;     /* 10 x 45/90 = 5 */
    in.relationship_days = 200;     /* 5 x 165/365 = 2.26 -> 2 */
    cm_risk_result r;
    cm_risk_score(&w, &in, &r);
    const int32_t want[CM_RISK_NFACTORS] = {10, 5, 5, 0, 3, 0, 10, 5, 2};
    for (int f = 0; f < CM_RISK_NFACTORS; f++) {
        assert_int_equal(r.contrib[f].factor, f);
        assert_int_equal(r.contrib[f].points, want[f]);
    }
    assert_int_equal(r.score, 40); /* 10+5+5+0+3+0+10+5+2 */
    assert_int_equal(r.band, CM_RISK_MEDIUM);

    cm_buf b = CM_BUF_INIT;
    assert_int_equal(cm_risk_json(&b, &r), 0);
    assert_string_equal(b.p, "{\"score\":40,\"band\":\"medium\",\"contributions\":["
                             "{\"factor\":\"late_share\",\"value\":40,\"points\":10},"
                             "{\"factor\":\"avg_days_late\",\"value\":21,\"points\":5},"
                             "{\"factor\":\"broken_promises\",\"value\":1,\"points\":5},"
                             "{\"factor\":\"broken_plans\",\"value\":0,\"points\":0},"
                             "{\"factor\":\"open_disputes\",\"value\":1,\"points\":3},"
                             "{\"factor\":\"unusable_contacts\",\"value\":0,\"points\":0},"
                             "{\"factor\":\"credit_use\",\"value\":150,\"points\":10},"
                             "{\"factor\":\"days_since_payment\",\"value\":75,\"points\":5},"
                             "{\"factor\":\"relationship_age\",\"value\":200,\"points\":2}]}");
    cm_buf_free(&b);

    /* the worst debtor scores every weight: 100, severe */
    memset(&in, 0, sizeof in);
    in.paid_count = in.paid_late = 10;
    in.avg_days_late = 90;
    in.broken_promises = in.broken_plans = in.open_disputes = in.unusable_contacts = 5;
    in.outstanding_minor = 300;
    in.credit_limit_minor = 100;
    in.days_since_payment = -1; /* never paid, and new: age 0 -> 0 silence points */
    in.relationship_days = 0;
    cm_risk_score(&w, &in, &r);
    assert_int_equal(r.score, 90); /* 100 - the 10 of days_since_payment */
    in.days_since_payment = 200;
    cm_risk_score(&w, &in, &r);
    assert_int_equal(r.score, 100);
    assert_int_equal(r.band, CM_RISK_SEVERE);
}

/* Bands: a score >= the threshold is in it; exactly at each boundary. */
static void test_bands(void **state)
{
    (void)state;
    cm_risk_weights w = cm_risk_defaults();
    assert_int_equal(cm_risk_band_of(&w, 0), CM_RISK_LOW);
    assert_int_equal(cm_risk_band_of(&w, 24), CM_RISK_LOW);
    assert_int_equal(cm_risk_band_of(&w, 25), CM_RISK_MEDIUM);
    assert_int_equal(cm_risk_band_of(&w, 49), CM_RISK_MEDIUM);
    assert_int_equal(cm_risk_band_of(&w, 50), CM_RISK_HIGH);
    assert_int_equal(cm_risk_band_of(&w, 74), CM_RISK_HIGH);
    assert_int_equal(cm_risk_band_of(&w, 75), CM_RISK_SEVERE);
    assert_int_equal(cm_risk_band_of(&w, 100), CM_RISK_SEVERE);
    assert_string_equal(cm_risk_band_name(CM_RISK_HIGH), "high");

    /* through the score: 10 of 10 paid late = 25 points, exactly medium;
     * 9 of 10 = 90% -> 22.5 -> 23, still low */
    cm_risk_input in = clean();
    cm_risk_result r;
    in.paid_late = 10;
    cm_risk_score(&w, &in, &r);
    assert_int_equal(r.score, 25);
    assert_int_equal(r.band, CM_RISK_MEDIUM);
    in.paid_late = 9;
    cm_risk_score(&w, &in, &r);
    assert_int_equal(r.score, 23);
    assert_int_equal(r.band, CM_RISK_LOW);
    /* + 60 days late on average (15) + 2 broken plans (10) = 50: high */
    in.paid_late = 10;
    in.avg_days_late = 60;
    in.broken_plans = 2;
    cm_risk_score(&w, &in, &r);
    assert_int_equal(r.score, 50);
    assert_int_equal(r.band, CM_RISK_HIGH);
    /* + 3 broken promises (15) + 2 disputes (5) + 2 bounced (5) = 75: severe */
    in.broken_promises = 3;
    in.open_disputes = 2;
    in.unusable_contacts = 2;
    cm_risk_score(&w, &in, &r);
    assert_int_equal(r.score, 75);
    assert_int_equal(r.band, CM_RISK_SEVERE);
}

static int parse(const char *text, cm_risk_weights *w, char *err, size_t errlen)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    assert_non_null(j);
    int rc = cm_risk_parse(j, w, err, errlen);
    json_decref(j);
    return rc;
}

static void expect_error(const char *text, const char *want)
{
    cm_risk_weights w;
    char err[256] = "";
    assert_int_equal(parse(text, &w, err, sizeof err), -1);
    assert_string_equal(err, want);
}

static void test_parse(void **state)
{
    (void)state;
    cm_risk_weights w;
    char err[256] = "";
    /* absent and null: the defaults */
    assert_int_equal(cm_risk_parse(NULL, &w, err, sizeof err), 0);
    assert_int_equal(w.weight[CM_RISK_LATE_SHARE], 25);
    assert_int_equal(parse("null", &w, err, sizeof err), 0);
    assert_int_equal(w.band_severe, 75);
    assert_int_equal(parse("{}", &w, err, sizeof err), 0);
    assert_int_equal(w.last_n, 10);

    /* a redistribution: late_share 40 needs 15 taken elsewhere
     * (40+15+15+10+5+5+0+5+5 = 100) */
    assert_int_equal(
        parse("{\"comment\": \"ours\", \"last_n\": 20, \"weights\": {\"late_share\": 40,"
              " \"credit_use\": 0, \"days_since_payment\": 5},"
              " \"bands\": {\"medium\": 20, \"high\": 40, \"severe\": 60}}",
              &w, err, sizeof err),
        0);
    assert_int_equal(w.last_n, 20);
    assert_int_equal(w.weight[CM_RISK_LATE_SHARE], 40);
    assert_int_equal(w.weight[CM_RISK_CREDIT_USE], 0);
    assert_int_equal(w.weight[CM_RISK_DAYS_SINCE_PAYMENT], 5);
    assert_int_equal(w.weight[CM_RISK_AVG_DAYS_LATE], 15); /* kept */
    assert_int_equal(w.band_medium, 20);
    assert_int_equal(cm_risk_band_of(&w, 59), CM_RISK_HIGH);
    assert_int_equal(cm_risk_band_of(&w, 60), CM_RISK_SEVERE);
    /* a lower sum is fine: the score then tops out below 100 */
    assert_int_equal(parse("{\"weights\": {\"late_share\": 0}}", &w, err, sizeof err), 0);
    /* one band alone, still rising against the defaults (25 < 30 < 75) */
    assert_int_equal(parse("{\"bands\": {\"high\": 30}}", &w, err, sizeof err), 0);
    assert_int_equal(w.band_high, 30);

    expect_error("[]", "policy risk: must be an object");
    expect_error("{\"lastn\": 3}", "policy risk.lastn: unknown key (see docs/risk.md)");
    expect_error("{\"last_n\": 0}", "policy risk.last_n: must be an integer 1..100");
    expect_error("{\"last_n\": 101}", "policy risk.last_n: must be an integer 1..100");
    expect_error("{\"last_n\": \"10\"}", "policy risk.last_n: must be an integer 1..100");
    expect_error("{\"weights\": 5}", "policy risk.weights: must be an object");
    expect_error("{\"weights\": {\"late\": 5}}",
                 "policy risk.weights.late: unknown key (see docs/risk.md)");
    expect_error("{\"weights\": {\"late_share\": -1}}",
                 "policy risk.weights.late_share: must be an integer 0..100");
    expect_error("{\"weights\": {\"late_share\": 12.5}}",
                 "policy risk.weights.late_share: must be an integer 0..100");
    /* 40 + the other defaults (75) = 115 */
    expect_error("{\"weights\": {\"late_share\": 40}}",
                 "policy risk.weights: must sum to at most 100 with the defaults of the keys not "
                 "given (they sum to 115)");
    expect_error("{\"bands\": {\"low\": 0}}",
                 "policy risk.bands.low: unknown key (see docs/risk.md)");
    expect_error("{\"bands\": {\"severe\": 0}}",
                 "policy risk.bands.severe: must be an integer 1..100");
    expect_error("{\"bands\": {\"medium\": 50}}",
                 "policy risk.bands: must rise: medium < high < severe (with the defaults of the "
                 "keys not given: 50, 50, 75)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_late_share),
        cmocka_unit_test(test_avg_days_late),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_credit_use),
        cmocka_unit_test(test_days_since_payment),
        cmocka_unit_test(test_relationship_age),
        cmocka_unit_test(test_worked_example),
        cmocka_unit_test(test_bands),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
