/* test_reporter_arms.c -- the arms of an experiment compared on cost as
 * well as recovery (issue 15; docs/reports.md "effectiveness" and "arms"):
 * the Wilson interval, the pooled two-proportion z-test, the median / p90
 * of days to recover, the channel costs file, and one effectiveness report
 * end to end with two variants, and the KPI report's per-arm figures
 * (docs/reports.md "kpis"), every figure worked by hand below.
 *
 * The reference values are computed from the formulas written out in the
 * comments (z = 1.96), not from the reporter's output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <math.h>

#include "../../services/reporter/report_int.h"
#include "../../services/reporter/reporter.h"
#include "clock.h"
#include "contract.h"

static void assert_near(double got, double want, double tol, const char *what)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("%s: %.6f, expected %.6f (+- %g)", what, got, want, tol);
}

/* A JSON number member (a real or an integer), which must be present. */
static double jnum(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_number(v))
        fail_msg("%s: not a number", k);
    return json_number_value(v);
}

static json_int_t jint(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_integer(v))
        fail_msg("%s: not an integer", k);
    return json_integer_value(v);
}

/* Wilson score interval, p^ = x/n, z = 1.96:
 *   centre = (p^ + z^2/2n) / (1 + z^2/n)
 *   half   = z / (1 + z^2/n) * sqrt(p^(1-p^)/n + z^2/4n^2)
 * 120/400: p^ = 0.3, z^2/n = 3.8416/400 = 0.009604, 1 + z^2/n = 1.009604;
 *   centre = (0.3 + 0.004802) / 1.009604 = 0.301903;
 *   half = 1.96 / 1.009604 * sqrt(0.000525 + 3.8416/640000)
 *        = 1.941355 * sqrt(0.0005310025) = 1.941355 * 0.0230435 = 0.044736;
 *   -> 0.257167 .. 0.346639.
 * 150/400: p^ = 0.375; centre = (0.375 + 0.004802) / 1.009604 = 0.376189;
 *   half = 1.941355 * sqrt(0.375 * 0.625 / 400 + 0.0000060025)
 *        = 1.941355 * sqrt(0.0005919400) = 1.941355 * 0.0243298 = 0.047233;
 *   -> 0.328956 .. 0.423422.
 * 0/10: centre = (0 + 0.19208) / 1.38416 = 0.138770, half the same (p^ = 0:
 *   z/(1.38416) * z/20 = 1.96 * 0.098 / 1.38416 = 0.138770) -> 0 .. 0.27754.
 * 10/10: the mirror image -> 0.72246 .. 1. */
static void test_wilson(void **state)
{
    (void)state;
    double lo, hi;
    assert_int_equal(rep_wilson95(120, 400, &lo, &hi), 0);
    assert_near(lo, 0.257167, 2e-6, "120/400 low");
    assert_near(hi, 0.346639, 2e-6, "120/400 high");
    assert_int_equal(rep_wilson95(150, 400, &lo, &hi), 0);
    assert_near(lo, 0.328956, 2e-6, "150/400 low");
    assert_near(hi, 0.423422, 2e-6, "150/400 high");
    assert_int_equal(rep_wilson95(0, 10, &lo, &hi), 0);
    assert_near(lo, 0.0, 1e-12, "0/10 low"); /* never below 0 */
    assert_near(hi, 0.27754, 1e-5, "0/10 high");
    assert_int_equal(rep_wilson95(10, 10, &lo, &hi), 0);
    assert_near(lo, 0.72246, 1e-5, "10/10 low");
    assert_near(hi, 1.0, 1e-12, "10/10 high"); /* never above 1 */
    assert_int_equal(rep_wilson95(0, 0, &lo, &hi), -1);
    assert_int_equal(rep_wilson95(3, 2, &lo, &hi), -1);
}

/* Pooled two-proportion z-test, 150/400 (challenger) vs 120/400 (champion):
 *   p1 = 0.375, p0 = 0.3, pooled p = 270/800 = 0.3375;
 *   se = sqrt(0.3375 * 0.6625 * (1/400 + 1/400)) = sqrt(0.22359375 * 0.005)
 *      = sqrt(0.00111796875) = 0.0334360;
 *   z = 0.075 / 0.0334360 = 2.24309;
 *   two-sided p = 2 (1 - Phi(2.24309)) = 2 * 0.012446 = 0.02489
 *   (Phi(2.24) = 0.98745, Phi(2.25) = 0.98778 in the normal table,
 *   interpolated 0.98755; erfc(2.24309 / sqrt 2) = 0.024891).
 * The other way round z is -2.24309 with the same p.
 * 3/4 vs 1/5 (docs/reports.md's ledger1 example): pooled 4/9,
 *   se = sqrt(4/9 * 5/9 * (1/4 + 1/5)) = sqrt(20/81 * 0.45) = sqrt(1/9) = 1/3;
 *   z = 0.55 * 3 = 1.65; p = 2 (1 - Phi(1.65)) = 2 * 0.04947 = 0.09894.
 * 0/5 vs 0/7: pooled 0, no variance: z 0, p 1. */
static void test_two_prop(void **state)
{
    (void)state;
    double z, p;
    assert_int_equal(rep_two_prop_z(150, 400, 120, 400, &z, &p), 0);
    assert_near(z, 2.24309, 1e-5, "z 150/400 vs 120/400");
    assert_near(p, 0.02489, 1e-5, "p 150/400 vs 120/400");
    assert_true(p < 0.05);
    assert_int_equal(rep_two_prop_z(120, 400, 150, 400, &z, &p), 0);
    assert_near(z, -2.24309, 1e-5, "z reversed");
    assert_near(p, 0.02489, 1e-5, "p reversed");
    assert_int_equal(rep_two_prop_z(3, 4, 1, 5, &z, &p), 0);
    assert_near(z, 1.65, 1e-9, "z 3/4 vs 1/5");
    assert_near(p, 0.09894, 1e-5, "p 3/4 vs 1/5");
    assert_true(p >= 0.05);
    assert_int_equal(rep_two_prop_z(0, 5, 0, 7, &z, &p), 0);
    assert_near(z, 0, 0, "z no variance");
    assert_near(p, 1, 0, "p no variance");
    assert_int_equal(rep_two_prop_z(1, 0, 1, 5, &z, &p), -1);
}

/* median: the middle value, or the mean of the two middle ones; p90: the
 * ceil(0.9 n)-th smallest (nearest rank). */
static void test_days_stats(void **state)
{
    (void)state;
    json_t *o = json_object();
    int32_t four[] = {9, -2, 5, 1}; /* sorted -2 1 5 9: (1 + 5) / 2 = 3; ceil(3.6) = 4th = 9 */
    rep_days_stats(four, 4, o);
    assert_near(jnum(o, "median_days"), 3.0, 0, "median of 4");
    assert_near(jnum(o, "p90_days"), 9.0, 0, "p90 of 4");
    int32_t ten[] = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1}; /* (5 + 6) / 2; ceil(9.0) = 9th = 9 */
    rep_days_stats(ten, 10, o);
    assert_near(jnum(o, "median_days"), 5.5, 0, "median of 10");
    assert_near(jnum(o, "p90_days"), 9.0, 0, "p90 of 10");
    int32_t eleven[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}; /* 6th; ceil(9.9) = 10th */
    rep_days_stats(eleven, 11, o);
    assert_near(jnum(o, "median_days"), 6.0, 0, "median of 11");
    assert_near(jnum(o, "p90_days"), 10.0, 0, "p90 of 11");
    int32_t one[] = {7};
    rep_days_stats(one, 1, o);
    assert_near(jnum(o, "median_days"), 7.0, 0, "median of 1");
    assert_near(jnum(o, "p90_days"), 7.0, 0, "p90 of 1");
    rep_days_stats(one, 0, o);
    assert_true(json_is_null(json_object_get(o, "median_days")));
    assert_true(json_is_null(json_object_get(o, "p90_days")));
    json_decref(o);
}

static int costs_of(const char *text, rep_costs *c, char *err, size_t n)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    int rc = rep_costs_parse(j, c, err, n);
    json_decref(j);
    return rc;
}

static void test_costs(void **state)
{
    (void)state;
    rep_costs c;
    char err[256];
    int64_t u = -1;
    /* the costs alone, or a policy with them under "costs" */
    assert_int_equal(costs_of("{\"sms_minor\":{\"GBP\":4,\"EUR\":5},\"letter_minor\":{\"GBP\":95}}",
                              &c, err, sizeof err),
                     0);
    assert_int_equal(c.n, 3);
    assert_int_equal(rep_costs_get(&c, CT_CH_SMS, "EUR", &u), 1);
    assert_int_equal(u, 5);
    assert_int_equal(rep_costs_get(&c, CT_CH_LETTER, "GBP", &u), 1);
    assert_int_equal(u, 95);
    assert_int_equal(rep_costs_get(&c, CT_CH_LETTER, "EUR", &u), 0); /* unknown, not free */
    assert_int_equal(rep_costs_get(&c, CT_CH_EMAIL, "GBP", &u), 0);
    assert_int_equal(rep_costs_get(NULL, CT_CH_SMS, "GBP", &u), 0);
    assert_int_equal(costs_of("{\"strategies\":[],\"costs\":{\"call_task_minor\":{\"GBP\":250}}}",
                              &c, err, sizeof err),
                     0);
    assert_int_equal(rep_costs_get(&c, CT_CH_CALL_TASK, "GBP", &u), 1);
    assert_int_equal(u, 250);
    /* errors name the path */
    assert_int_equal(costs_of("{\"fax_minor\":{\"GBP\":1}}", &c, err, sizeof err), -1);
    assert_int_equal(strncmp(err, "$.fax_minor: not a channel cost", 31), 0);
    assert_int_equal(costs_of("{\"costs\":{\"sms_minor\":{\"GBP\":-1}}}", &c, err, sizeof err), -1);
    assert_string_equal(err, "$.costs.sms_minor.GBP: an integer >= 0 (minor units)");
    assert_int_equal(costs_of("{\"sms_minor\":{\"gbp\":1}}", &c, err, sizeof err), -1);
    assert_string_equal(err, "$.sms_minor.gbp: not an ISO 4217 code");
    assert_int_equal(costs_of("{\"sms_minor\":4}", &c, err, sizeof err), -1);
    assert_string_equal(err, "$.sms_minor: an object of currency: minor units");
    assert_int_equal(costs_of("{\"costs\":[]}", &c, err, sizeof err), -1);
    assert_string_equal(err, "$.costs: an object");
}

/* --- one report end to end -------------------------------------------------- */

static void must_event(rep_state *st, const char *id, const char *type, const char *time,
                       const char *data)
{
    char err[256];
    json_t *d = json_loads(data, 0, NULL);
    assert_non_null(d);
    json_t *e = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:O, s:o}", "v", 1, "id", id, "source",
                          "billing", "type", type, "tenant", "t1", "time", time, "customer_id",
                          json_object_get(d, "customer_id"), "data", d);
    int rc = rep_state_apply_event(st, e, err, sizeof err);
    json_decref(e);
    if (rc != 1)
        fail_msg("event %s: %s", id, err);
}

/* An invoice of customer C-<id>, issued 2026-02-01, due 2026-03-01. */
static void invoice(rep_state *st, const char *id, const char *cur, long long minor)
{
    char data[512];
    snprintf(data, sizeof data,
             "{\"invoice_id\":\"%s\",\"customer_id\":\"C-%s\",\"currency\":\"%s\","
             "\"amount_minor\":%lld,\"issued_on\":\"2026-02-01\",\"due_on\":\"2026-03-01\"}",
             id, id, cur, minor);
    must_event(st, id, "invoice.issued", "2026-02-01T08:00:00Z", data);
}

/* A GBP payment received on day on (noon UTC), all of it to invoice inv. */
static void payment(rep_state *st, const char *inv, long long minor, const char *on)
{
    char data[512], id[64], at[32];
    snprintf(id, sizeof id, "P-%s-%s", inv, on);
    snprintf(at, sizeof at, "%sT12:00:00Z", on);
    snprintf(data, sizeof data,
             "{\"payment_id\":\"%s\",\"customer_id\":\"C-%s\",\"currency\":\"GBP\","
             "\"amount_minor\":%lld,\"received_on\":\"%s\",\"received_at\":\"%s\","
             "\"allocations\":[{\"invoice_id\":\"%s\",\"amount_minor\":%lld}]}",
             id, inv, minor, on, at, inv, minor);
    must_event(st, id, "payment.received", at, data);
}

/* A sent ladder message of strategy "default" on day on (09:00 UTC). */
static void sent(rep_state *st, const char *inv, const char *variant, int step, const char *channel,
                 const char *on)
{
    char err[256], id[128], at[40];
    snprintf(id, sizeof id, "t1/inv/%s/step/%d/attempt/1", inv, step);
    snprintf(at, sizeof at, "%sT09:00:00.000Z", on);
    json_t *c =
        json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:s, s:s, s:s, s:s, s:i, "
                  "s:s, s:i, s:i, s:s}",
                  "v", 1, "type", "contact.sent", "id", id, "command_id", id, "kind", "reminder",
                  "tenant", "t1", "customer_id", "C-x", "invoice_ids", inv, "channel", channel,
                  "template", "t", "strategy", "default", "variant", variant, "step", step,
                  "provider_status", "ok", "attempts", 1, "latency_ms", 10, "at", at);
    assert_non_null(c);
    json_object_set_new(c, "customer_id", json_sprintf("C-%s", inv));
    int rc = rep_state_apply_contact(st, c, err, sizeof err);
    json_decref(c);
    if (rc != 1)
        fail_msg("contact %s: %s", id, err);
}

/* The entry of list (an array of objects) whose key is value, or fail. */
static const json_t *entry(const json_t *list, const char *key, const char *value)
{
    size_t i;
    const json_t *x;
    json_array_foreach(list, i,
                       x) if (!strcmp(json_string_value(json_object_get(x, key)), value)) return x;
    fail_msg("no %s %s", key, value);
    return NULL;
}

/* An arm's counts, recovery % and its interval (percent). */
static void assert_arm(const json_t *v, json_int_t n, json_int_t paid, double rate, double lo,
                       double hi)
{
    const char *name = json_string_value(json_object_get(v, "variant"));
    if (jint(v, "invoices") != n || jint(v, "paid_invoices") != paid)
        fail_msg("%s: %lld of %lld paid, expected %lld of %lld", name,
                 (long long)jint(v, "paid_invoices"), (long long)jint(v, "invoices"),
                 (long long)paid, (long long)n);
    assert_near(jnum(v, "recovery_rate_percent"), rate, 1e-9, "rate");
    assert_near(jnum(v, "recovery_ci95_low_percent"), lo, 1e-9, "low");
    assert_near(jnum(v, "recovery_ci95_high_percent"), hi, 1e-9, "high");
}

/* An arm's days_to_recover. */
static void assert_days(const json_t *v, json_int_t count, double median, double p90)
{
    const json_t *d = json_object_get(v, "days_to_recover");
    assert_int_equal(jint(d, "count"), count);
    assert_near(jnum(d, "median_days"), median, 1e-9, "median");
    assert_near(jnum(d, "p90_days"), p90, 1e-9, "p90");
}

/* An arm's aging entry i: currency cur with one bucket b (0 current .. 4
 * 91+) holding count invoices of amount, the others empty. */
static void assert_aging(const json_t *v, size_t i, const char *cur, size_t b, json_int_t count,
                         json_int_t amount)
{
    static const char *const names[] = {"current", "1-30", "31-60", "61-90", "91+"};
    const json_t *a = json_array_get(json_object_get(v, "aging"), i);
    assert_non_null(a);
    assert_string_equal(json_string_value(json_object_get(a, "currency")), cur);
    const json_t *bk = json_object_get(a, "buckets");
    assert_int_equal(json_array_size(bk), 5);
    for (size_t k = 0; k < 5; k++) {
        const json_t *x = json_array_get(bk, k);
        assert_string_equal(json_string_value(json_object_get(x, "bucket")), names[k]);
        assert_int_equal(jint(x, "count"), k == b ? count : 0);
        assert_int_equal(jint(x, "amount_minor"), k == b ? amount : 0);
    }
}

/* Strategy "default", variants A and B, as of 2026-03-31; every invoice
 * due 2026-03-01. Costs: email 1, sms 4, letter 95, call_task 250 (GBP
 * minor units); nothing in EUR.
 *
 *   A: I1 GBP 100.00: email 03-02, sms 03-09; paid in full 03-05 (4 days
 *        after the due date; both messages count, the sms came later).
 *      I2 GBP 200.00: email 03-02; paid 50.00 03-10 (not in full).
 *      I3 GBP 300.00: email 03-02, letter 03-16; paid in full 03-20 (19).
 *      I6 EUR 100.00: email 03-02; nothing paid.
 *   B: I4 GBP 100.00: sms 03-02; paid in full 03-03 (2 days).
 *      I5 GBP 200.00: sms 03-02, call_task 03-09; paid in full 03-12 (11).
 *
 * A: invoices 4, paid 2 (I1, I3): 50.00%; Wilson 2/4: centre
 *    (0.5 + 0.4802) / 1.9604 = 0.5, half 1.96/1.9604 * sqrt(0.0625 +
 *    3.8416/64) = 0.99980 * 0.350036 = 0.349964 -> 15.00 .. 85.00.
 *    recovered GBP 100.00 + 50.00 + 300.00 = 45000 minor.
 *    messages email 4, letter 1, sms 1; cost GBP 3 emails x 1 + 4 + 95 =
 *    102; the EUR email has no price: unpriced 1, in an EUR entry of its
 *    own (cost 0, recovered 0, no ratio: its cost is not known).
 *    cost per 100 recovered = 100 x 102 / 45000 = 0.2267 -> 0.23.
 *    days to recover {4, 19}: median 11.50, p90 (2nd of 2) 19.00.
 *    aging: open at the end of 03-31, 30 days past due (1-30): I6 EUR
 *    100.00; I2 GBP 200.00 - 50.00 = 150.00.
 * B: invoices 2, paid 2: 100.00%; Wilson 2/2: centre (1 + 0.9604) / 2.9208
 *    = 0.671186, half 1.96/2.9208 * sqrt(3.8416/16) = 0.671049 * 0.49 =
 *    0.328814 -> 34.24 .. 100.00.
 *    recovered 100.00 + 200.00 = 30000; messages call_task 1, sms 2; cost
 *    4 + 4 + 250 = 258; per 100 = 100 x 258 / 30000 = 0.86.
 *    days {2, 11}: median 6.50, p90 11.00. aging: nothing open, [].
 * B vs A (A is the champion): difference 100 - 50 = 50.00 points; Wald
 *    interval 50 +- 1.96 x 100 x sqrt(0 + 0.25/4) = 50 +- 49 -> 1.00 ..
 *    99.00; pooled p = 4/6, se = sqrt(2/3 x 1/3 x (1/2 + 1/4)) =
 *    sqrt(1/6) = 0.408248, z = 0.5 / 0.408248 = 1.22474 -> 1.22;
 *    p = 2 (1 - Phi(1.2247)) = 2 x 0.11034 = 0.2207: not significant. */
static void test_report_two_arms(void **state)
{
    (void)state;
    rep_state *st = rep_state_new();
    rep_costs costs;
    char err[256];
    assert_int_equal(costs_of("{\"costs\":{\"email_minor\":{\"GBP\":1},\"sms_minor\":{\"GBP\":4},"
                              "\"letter_minor\":{\"GBP\":95},\"call_task_minor\":{\"GBP\":250}}}",
                              &costs, err, sizeof err),
                     0);
    st->costs = &costs;
    invoice(st, "I1", "GBP", 10000);
    invoice(st, "I2", "GBP", 20000);
    invoice(st, "I3", "GBP", 30000);
    invoice(st, "I4", "GBP", 10000);
    invoice(st, "I5", "GBP", 20000);
    invoice(st, "I6", "EUR", 10000);
    sent(st, "I1", "A", 0, "email", "2026-03-02");
    sent(st, "I2", "A", 0, "email", "2026-03-02");
    sent(st, "I3", "A", 0, "email", "2026-03-02");
    sent(st, "I6", "A", 0, "email", "2026-03-02");
    sent(st, "I4", "B", 0, "sms", "2026-03-02");
    sent(st, "I5", "B", 0, "sms", "2026-03-02");
    payment(st, "I4", 10000, "2026-03-03");
    payment(st, "I1", 10000, "2026-03-05");
    sent(st, "I1", "A", 1, "sms", "2026-03-09");
    sent(st, "I5", "B", 1, "call_task", "2026-03-09");
    payment(st, "I2", 5000, "2026-03-10");
    payment(st, "I5", 20000, "2026-03-12");
    sent(st, "I3", "A", 2, "letter", "2026-03-16");
    payment(st, "I3", 30000, "2026-03-20");

    int32_t d;
    assert_int_equal(cm_date_parse("2026-03-31", &d), 0);
    json_t *r = rep_report_build(st, "effectiveness", "t1", d, 0);
    assert_non_null(r);
    const json_t *exp = json_array_get(json_object_get(r, "experiments"), 0);
    assert_non_null(exp);
    assert_int_equal(json_array_size(json_object_get(r, "experiments")), 1);
    assert_string_equal(json_string_value(json_object_get(exp, "baseline")), "A");
    const json_t *vs = json_object_get(exp, "variants");
    const json_t *a = entry(vs, "variant", "A"), *b = entry(vs, "variant", "B");

    assert_arm(a, 4, 2, 50.0, 15.0, 85.0);
    const json_t *am = json_object_get(a, "messages");
    assert_int_equal(json_object_size(am), 3);
    assert_int_equal(jint(am, "email"), 4);
    assert_int_equal(jint(am, "sms"), 1);
    assert_int_equal(jint(am, "letter"), 1);
    assert_int_equal(jint(a, "unpriced_messages"), 1);
    const json_t *acl = json_object_get(a, "collection_cost");
    assert_int_equal(json_array_size(acl), 2); /* EUR (unpriced), GBP */
    const json_t *ae = json_array_get(acl, 0), *ac = json_array_get(acl, 1);
    assert_string_equal(json_string_value(json_object_get(ae, "currency")), "EUR");
    assert_int_equal(jint(ae, "cost_minor"), 0);
    assert_int_equal(jint(ae, "unpriced_messages"), 1);
    assert_int_equal(jint(ae, "recovered_minor"), 0);
    assert_true(json_is_null(json_object_get(ae, "cost_per_100_recovered")));
    assert_string_equal(json_string_value(json_object_get(ac, "currency")), "GBP");
    assert_int_equal(jint(ac, "cost_minor"), 102);
    assert_int_equal(jint(ac, "unpriced_messages"), 0);
    assert_int_equal(jint(ac, "recovered_minor"), 45000);
    assert_near(jnum(ac, "cost_per_100_recovered"), 0.23, 1e-9, "A per 100");
    assert_days(a, 2, 11.5, 19.0);
    assert_int_equal(json_array_size(json_object_get(a, "aging")), 2);
    assert_aging(a, 0, "EUR", 1, 1, 10000);
    assert_aging(a, 1, "GBP", 1, 1, 15000);

    assert_arm(b, 2, 2, 100.0, 34.24, 100.0);
    const json_t *bm = json_object_get(b, "messages");
    assert_int_equal(json_object_size(bm), 2);
    assert_int_equal(jint(bm, "sms"), 2);
    assert_int_equal(jint(bm, "call_task"), 1);
    assert_int_equal(jint(b, "unpriced_messages"), 0);
    const json_t *bc = entry(json_object_get(b, "collection_cost"), "currency", "GBP");
    assert_int_equal(jint(bc, "cost_minor"), 258);
    assert_int_equal(jint(bc, "recovered_minor"), 30000);
    assert_near(jnum(bc, "cost_per_100_recovered"), 0.86, 1e-9, "B per 100");
    assert_days(b, 2, 6.5, 11.0);
    assert_int_equal(json_array_size(json_object_get(b, "aging")), 0);

    const json_t *cmp = json_object_get(exp, "comparisons");
    assert_int_equal(json_array_size(cmp), 1);
    const json_t *c = json_array_get(cmp, 0);
    assert_string_equal(json_string_value(json_object_get(c, "variant")), "B");
    assert_string_equal(json_string_value(json_object_get(c, "baseline")), "A");
    assert_near(jnum(c, "difference_points"), 50.0, 1e-9, "difference");
    assert_near(jnum(c, "ci95_low_points"), 1.0, 1e-9, "Wald low");
    assert_near(jnum(c, "ci95_high_points"), 99.0, 1e-9, "Wald high");
    assert_near(jnum(c, "z_score"), 1.22, 1e-9, "z");
    assert_near(jnum(c, "p_value"), 0.2207, 1e-9, "p");
    assert_true(json_is_false(json_object_get(c, "significant")));
    assert_string_equal(json_string_value(json_object_get(c, "verdict")),
                        "B recovers 50.00 points more than A; not significant at 95% (p = 0.221)");

    /* without costs: every message unpriced, so no cost is known */
    st->costs = NULL;
    json_t *r2 = rep_report_build(st, "effectiveness", "t1", d, 0);
    const json_t *a2 =
        entry(json_object_get(json_array_get(json_object_get(r2, "experiments"), 0), "variants"),
              "variant", "A");
    assert_int_equal(jint(a2, "unpriced_messages"), 6);
    const json_t *ac2 = entry(json_object_get(a2, "collection_cost"), "currency", "GBP");
    assert_int_equal(jint(ac2, "cost_minor"), 0);
    assert_int_equal(jint(ac2, "unpriced_messages"), 5);
    assert_true(json_is_null(json_object_get(ac2, "cost_per_100_recovered")));
    json_decref(r2);
    json_decref(r);
    rep_state_free(st);
}

/* rep_replay_main with args; its stdout and stderr (malloc'd). */
/* --- the KPI report per arm ----------------------------------------------------- */

/* The period named name of the currency cur in a "currencies" array. */
static const json_t *kpi_period(const json_t *curs, const char *cur, const char *name)
{
    const json_t *c = entry(curs, "currency", cur);
    return entry(json_object_get(c, "periods"), "period", name);
}

static void test_kpis_arms(void **state)
{
    (void)state;
    rep_state *st = rep_state_new();
    int32_t d;
    assert_int_equal(cm_date_parse("2026-03-31", &d), 0);

    /* No contacts yet: no "arms" key (the report as before issue 15). */
    invoice(st, "I7", "GBP", 40000);
    json_t *r = rep_report_build(st, "kpis", "t1", d, 0);
    assert_non_null(r);
    assert_null(json_object_get(r, "arms"));
    json_decref(r);

    /* All invoices issued 2026-02-01, due 2026-03-01; strategy "default".
     * Arm A: I1 (10000, paid 03-05), I2 (20000, 5000 paid 03-10); I1's
     * later B message does not move it (the first contact decides).
     * Arm B: I4 (10000, paid 03-03), I5 (20000, unpaid). I8 (5000) is
     * first contacted on 04-02, after D: in no arm. I7 (40000): never. */
    invoice(st, "I1", "GBP", 10000);
    invoice(st, "I2", "GBP", 20000);
    invoice(st, "I4", "GBP", 10000);
    invoice(st, "I5", "GBP", 20000);
    invoice(st, "I8", "GBP", 5000);
    sent(st, "I1", "A", 0, "email", "2026-03-02");
    sent(st, "I2", "A", 0, "email", "2026-03-02");
    sent(st, "I4", "B", 0, "sms", "2026-03-02");
    sent(st, "I5", "B", 0, "sms", "2026-03-02");
    payment(st, "I4", 10000, "2026-03-03");
    payment(st, "I1", 10000, "2026-03-05");
    sent(st, "I1", "B", 1, "sms", "2026-03-09");
    payment(st, "I2", 5000, "2026-03-10");
    sent(st, "I8", "B", 0, "sms", "2026-04-02");

    r = rep_report_build(st, "kpis", "t1", d, 0);
    assert_non_null(r);
    /* tenant-wide, month [03-01, 03-31]: beginning AR (end of 02-28) =
     * 10000 + 20000 + 10000 + 20000 + 40000 + 5000 = 105000; ending =
     * 0 + 15000 + 0 + 20000 + 40000 + 5000 = 80000; collected 25000 */
    const json_t *m = kpi_period(json_object_get(r, "currencies"), "GBP", "month");
    assert_int_equal(jint(m, "beginning_ar_minor"), 105000);
    assert_int_equal(jint(m, "ending_ar_minor"), 80000);
    assert_int_equal(jint(m, "collected_minor"), 25000);

    const json_t *arms = json_object_get(r, "arms");
    assert_int_equal(json_array_size(arms), 2);
    const json_t *a = json_array_get(arms, 0), *b = json_array_get(arms, 1);
    assert_string_equal(json_string_value(json_object_get(a, "strategy")), "default");
    assert_string_equal(json_string_value(json_object_get(a, "variant")), "A");
    assert_string_equal(json_string_value(json_object_get(b, "variant")), "B");
    assert_int_equal(json_array_size(json_object_get(a, "currencies")), 1);

    /* arm A, month: invoiced 0 (issued in February); beginning AR 10000 +
     * 20000 = 30000; ending 0 + 15000 = 15000, all overdue (due 03-01 <
     * 03-31), so current 0; DSO / best / ADD null (nothing invoiced);
     * CEI = (30000 + 0 - 15000) / (30000 + 0 - 0) = 50.00%; recovery: both
     * fall due in the period, base = their balances on 03-01 = 30000,
     * recovered 10000 + 5000 = 15000 -> 50.00%; late payers: I1 paid in
     * full 03-05, 4 days after due -> count 1, mean 4.00; active 2, no
     * disputes -> 0.00%. */
    m = kpi_period(json_object_get(a, "currencies"), "GBP", "month");
    assert_int_equal(jint(m, "invoiced_minor"), 0);
    assert_int_equal(jint(m, "beginning_ar_minor"), 30000);
    assert_int_equal(jint(m, "ending_ar_minor"), 15000);
    assert_int_equal(jint(m, "ending_current_ar_minor"), 0);
    assert_int_equal(jint(m, "ending_overdue_ar_minor"), 15000);
    assert_true(json_is_null(json_object_get(m, "dso_simple_days")));
    assert_near(jnum(m, "cei_percent"), 50.0, 1e-9, "A cei");
    assert_int_equal(jint(m, "recovery_base_minor"), 30000);
    assert_int_equal(jint(m, "recovered_minor"), 15000);
    assert_near(jnum(m, "recovery_rate_percent"), 50.0, 1e-9, "A recovery");
    const json_t *late = json_object_get(m, "late_payments");
    assert_int_equal(jint(late, "count"), 1);
    assert_near(jnum(late, "mean_days"), 4.0, 1e-9, "A late mean");
    assert_int_equal(jint(json_object_get(m, "disputes"), "active_invoices"), 2);
    /* the tenant-wide figures are not repeated per arm */
    assert_null(json_object_get(m, "collected_minor"));
    assert_null(json_object_get(m, "promises"));
    assert_null(json_object_get(m, "money"));
    assert_null(
        json_object_get(json_array_get(json_object_get(a, "currencies"), 0), "dso_countback_days"));

    /* arm A, week [03-30, 03-31] (D is a Tuesday): beginning AR (end of
     * 03-29) 0 + 15000 = 15000 = ending; CEI = (15000 - 15000) / 15000 =
     * 0.00%; recovery: overdue before the week, base = beginning 15000,
     * nothing recovered -> 0.00%; no late payer; active: I2 only (I1 had
     * nothing owed and was issued before the week). */
    m = kpi_period(json_object_get(a, "currencies"), "GBP", "week");
    assert_string_equal(json_string_value(json_object_get(m, "from")), "2026-03-30");
    assert_int_equal(jint(m, "beginning_ar_minor"), 15000);
    assert_near(jnum(m, "cei_percent"), 0.0, 1e-9, "A week cei");
    assert_int_equal(jint(m, "recovery_base_minor"), 15000);
    assert_int_equal(jint(json_object_get(m, "late_payments"), "count"), 0);
    assert_int_equal(jint(json_object_get(m, "disputes"), "active_invoices"), 1);

    /* arm B, month: I8 is not in it (first contact after D). Beginning
     * 10000 + 20000 = 30000; ending 0 + 20000 = 20000; CEI = (30000 -
     * 20000) / 30000 = 33.33%; recovery base 30000, recovered 10000 (I4 on
     * 03-03) -> 33.33%; late payer I4, 2 days after due. */
    m = kpi_period(json_object_get(b, "currencies"), "GBP", "month");
    assert_int_equal(jint(m, "beginning_ar_minor"), 30000);
    assert_int_equal(jint(m, "ending_ar_minor"), 20000);
    assert_near(jnum(m, "cei_percent"), 33.33, 1e-9, "B cei");
    assert_int_equal(jint(m, "recovered_minor"), 10000);
    assert_near(jnum(m, "recovery_rate_percent"), 33.33, 1e-9, "B recovery");
    late = json_object_get(m, "late_payments");
    assert_int_equal(jint(late, "count"), 1);
    assert_near(jnum(late, "mean_days"), 2.0, 1e-9, "B late mean");
    json_decref(r);
    rep_state_free(st);
}

static int run_replay(const char *const *args, int n, char **out, char **err)
{
    char *argv[32];
    argv[0] = "replay";
    for (int i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    size_t no, ne;
    FILE *fo = open_memstream(out, &no), *fe = open_memstream(err, &ne);
    int rc = rep_replay_main(n + 1, argv, fo, fe);
    fclose(fo);
    fclose(fe);
    return rc;
}

/* replay --costs on ledger1 (docs/reports.md "arms", worked there): email
 * 50 and sms 200 EUR minor; A 4 emails + 1 sms = 400 for 1000.00
 * recovered: 100 x 400 / 100000 = 0.40; B 3 emails + 1 sms = 350 for
 * 1600.00: 0.21875 -> 0.22. --table --by variant prints the verdict. */
static void test_replay_costs(void **state)
{
    (void)state;
    char path[] = "/tmp/test_reporter_arms_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("{\"costs\":{\"email_minor\":{\"EUR\":50},\"sms_minor\":{\"EUR\":200}}}\n", f);
    fclose(f);
    const char *args[] = {"--events",   "tests/data/reporter/ledger1/events.jsonl",
                          "--contacts", "tests/data/reporter/ledger1/contacts.jsonl",
                          "--at",       "2026-03-31",
                          "--tenant",   "acme",
                          "--type",     "effectiveness",
                          "--costs",    path,
                          "--table",    "--by",
                          "variant"};
    char *out, *err;
    assert_int_equal(run_replay(args, 12, &out, &err), 0);
    json_t *r = json_loads(out, 0, NULL);
    assert_non_null(r);
    const json_t *vs =
        json_object_get(json_array_get(json_object_get(r, "experiments"), 0), "variants");
    const json_t *a =
        entry(json_object_get(entry(vs, "variant", "A"), "collection_cost"), "currency", "EUR");
    const json_t *b =
        entry(json_object_get(entry(vs, "variant", "B"), "collection_cost"), "currency", "EUR");
    assert_int_equal(jint(a, "cost_minor"), 400);
    assert_near(jnum(a, "cost_per_100_recovered"), 0.40, 1e-9, "A per 100");
    assert_int_equal(jint(b, "cost_minor"), 350);
    assert_near(jnum(b, "cost_per_100_recovered"), 0.22, 1e-9, "B per 100");
    json_decref(r);
    free(out);
    free(err);
    assert_int_equal(run_replay(args, 15, &out, &err), 0);
    assert_non_null(strstr(out, "== arms  tenant acme  as of 2026-03-31\n"));
    assert_non_null(strstr(out, "B vs A: B recovers 55.00 points more than A; not significant "
                                "at 95% (p = 0.099)"));
    assert_non_null(strstr(out, "4.00 EUR (0.40)"));
    free(out);
    free(err);
    /* --by without --table, or by something else: refused */
    const char *bad[] = {"--events", "x", "--at", "2026-03-31", "--by", "variant"};
    assert_int_equal(run_replay(bad, 6, &out, &err), 2);
    assert_non_null(strstr(err, "--by: only variant, with --table"));
    free(out);
    free(err);
    /* a bad costs file: named, exit 2 */
    f = fopen(path, "w");
    fputs("{\"sms_minor\":{\"EUR\":1.5}}", f);
    fclose(f);
    assert_int_equal(run_replay(args, 12, &out, &err), 2);
    assert_non_null(strstr(err, "$.sms_minor.EUR: an integer >= 0 (minor units)"));
    free(out);
    free(err);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wilson),          cmocka_unit_test(test_two_prop),
        cmocka_unit_test(test_days_stats),      cmocka_unit_test(test_costs),
        cmocka_unit_test(test_report_two_arms), cmocka_unit_test(test_replay_costs),
        cmocka_unit_test(test_kpis_arms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
