/* test_scheduler_policy.c -- policy parsing and errors, strategy/variant
 * assignment, step times in local zones, the event checks, and issue 17's
 * links.valid_days on the commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

#include "../../services/scheduler/apply.h"
#include "scheduler_decode_test.h"
#include "../../services/scheduler/policy.h"
#include "../../services/scheduler/records.h"
#include "../../services/scheduler/state.h"
#include "../../services/scheduler/store.h"
#include "clock.h"

static void test_shipped_policy(void **state)
{
    (void)state;
    sch_policy p;
    char err[512];
    assert_int_equal(sch_policy_load_file("deploy/config/policy.json", &p, err, sizeof err), 0);
    assert_int_equal(p.version, 1);
    assert_string_equal(p.default_tz, "Europe/London");
    assert_int_equal(p.nstrategies, 2);
    const sch_ladder *l = sch_policy_ladder(&p, "default", "A");
    assert_non_null(l);
    assert_int_equal(l->nsteps, 7);
    assert_int_equal(l->steps[0].offset_days, -3);
    assert_int_equal(l->steps[3].channel, CT_CH_SMS);
    assert_int_equal(l->steps[3].send_hour, 11);
    assert_int_equal(l->steps[0].send_hour, 9);
    /* an unknown strategy name falls back to the last (catch-all) strategy */
    assert_ptr_equal(sch_policy_ladder(&p, "gone", "Z"), l);
    sch_policy_free(&p);
}

static const struct {
    const char *json, *want;
} bad[] = {
    {"[]", "must be a JSON object"},
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\",\"channel\":"
     "\"sms\",\"channels\":[\"sms\"]}]}}",
     "ladders.a[0].channels: give channel or channels, not both"},
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\",\"channels\":"
     "[\"sms\",\"sms\"]}]}}",
     "ladders.a[0].channels: must be a non-empty array of distinct channels"},
    {"{\"version\":2}", "version: must be 1"},
    {"{\"version\":1,\"ladder\":{}}", "ladder: unknown top-level key"},
    {"{\"version\":1,\"ladders\":{}}", "ladders: must be a non-empty object"},
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"7\",\"template\":\"t\"}]},\"strategies\":[]"
     "}",
     "ladders.a[0].offset: must be whole days"},
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\"}]}}",
     "ladders.a[0].template: is required"},
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\",\"channel\":"
     "\"fax\"}]}}",
     "ladders.a[0].channel: must be email"},
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\",\"send_at\":\"25:"
     "00\"}]}}",
     "ladders.a[0].send_at: must be a local time"},
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+5d\",\"template\":\"t\"},{\"offset\":\"+"
     "1d\",\"template\":\"t\"}]}}",
     "ladders.a[1]: steps must be in order"},
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\"}]},\"strategies\":["
     "{\"name\":\"s\",\"ladder\":\"b\"}]}",
     "strategies[0].ladder: names no ladder"},
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\"}]},\"strategies\":["
     "{\"name\":\"s\",\"variants\":[{\"name\":\"A\",\"weight\":-1,\"ladder\":\"a\"}]}]}",
     "strategies[0].variants[0].weight: must be an integer"},
    {"{\"version\":1,\"defaults\":{\"timezone\":\"Mars/"
     "Olympus\"},\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\"}]},\"strategies\":[{"
     "\"name\":\"s\",\"ladder\":\"a\"}]}",
     "defaults.timezone: is not a known IANA time zone"},
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\"}]},\"strategies\":["
     "{\"name\":\"s\",\"ladder\":\"a\",\"segment\":{\"tags\":[\"x\"]}}]}",
     "strategies[0].segment.tags: unknown key"},
    {"{\"version\":1,\"fees\":3,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\"}]},"
     "\"strategies\":[{\"name\":\"s\",\"ladder\":\"a\"}]}",
     "policy fees: must be an object"},
    {"{\"version\":1,\"grouping\":3,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\"}]},"
     "\"strategies\":[{\"name\":\"s\",\"ladder\":\"a\"}]}",
     "policy grouping: must be an object"},
    {"{\"version\":1,\"grouping\":{\"one_message_per_debtor\":1},\"ladders\":{\"a\":[{"
     "\"offset\":\"+1d\",\"template\":\"t\"}]},\"strategies\":[{\"name\":\"s\",\"ladder\":\"a\"}]}",
     "policy grouping.one_message_per_debtor: must be true or false"},
    {"{\"version\":1,\"grouping\":{\"window\":\"1d\"},\"ladders\":{\"a\":[{"
     "\"offset\":\"+1d\",\"template\":\"t\"}]},\"strategies\":[{\"name\":\"s\",\"ladder\":\"a\"}]}",
     "policy grouping.window: unknown key"},
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\",\"fee\":{"
     "\"percent\":-1}}]},"
     "\"strategies\":[{\"name\":\"s\",\"ladder\":\"a\"}]}",
     "policy ladders.a[0].fee.percent:"},
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\"}],\"i\":[{"
     "\"offset\":\"-3d\",\"template\":\"t\"}]},\"strategies\":[{\"name\":\"s\",\"ladder\":\"a\"}],"
     "\"instalments\":{\"grace_days\":3}}",
     "policy instalments.ladder: is required"},
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\"}],\"i\":[{"
     "\"offset\":\"-3d\",\"template\":\"t\"}]},\"strategies\":[{\"name\":\"s\",\"ladder\":\"a\"}],"
     "\"instalments\":{\"ladder\":\"x\"}}",
     "policy instalments.ladder: names no ladder of \"ladders\""},
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\"}],\"i\":[{"
     "\"offset\":\"-3d\",\"template\":\"t\",\"action\":\"escalation\",\"channel\":\"letter\"}]},"
     "\"strategies\":[{\"name\":\"s\",\"ladder\":\"a\"}],\"instalments\":{\"ladder\":\"i\"}}",
     "policy ladders.i[0]: an instalment reminder cannot escalate"},
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\"}],\"i\":[{"
     "\"offset\":\"-3d\",\"template\":\"t\"}]},\"strategies\":[{\"name\":\"s\",\"ladder\":\"a\"}],"
     "\"instalments\":{\"ladder\":\"i\",\"max_active_per_debtor\":2}}",
     "policy instalments.max_active_per_debtor: must be an integer in 1..1"},
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\"}],\"i\":[{"
     "\"offset\":\"-3d\",\"template\":\"t\"}]},\"strategies\":[{\"name\":\"s\",\"ladder\":\"a\"}],"
     "\"instalments\":{\"ladder\":\"i\",\"interest\":\"pause\"}}",
     "policy instalments.interest: must be \"freeze\" or \"continue\""},
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\"}],\"i\":[{"
     "\"offset\":\"-3d\",\"template\":\"t\"}]},\"strategies\":[{\"name\":\"s\",\"ladder\":\"a\"}],"
     "\"instalments\":{\"ladder\":\"i\",\"grace\":3}}",
     "policy instalments.grace: unknown key"},
    /* links (issue 17): valid_days an integer 1..365, nothing else */
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\"}]},\"strategies\":["
     "{\"name\":\"s\",\"ladder\":\"a\"}],\"links\":3}",
     "policy links: must be an object"},
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\"}]},\"strategies\":["
     "{\"name\":\"s\",\"ladder\":\"a\"}],\"links\":{}}",
     "policy links.valid_days: is required"},
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\"}]},\"strategies\":["
     "{\"name\":\"s\",\"ladder\":\"a\"}],\"links\":{"
     "\"valid_days\":0}}",
     "policy links.valid_days: must be an integer in 1..365"},
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\"}]},\"strategies\":["
     "{\"name\":\"s\",\"ladder\":\"a\"}],\"links\":{"
     "\"valid_days\":366}}",
     "policy links.valid_days: must be an integer in 1..365"},
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\"}]},\"strategies\":["
     "{\"name\":\"s\",\"ladder\":\"a\"}],\"links\":{"
     "\"valid_days\":\"7\"}}",
     "policy links.valid_days: must be an integer in 1..365"},
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\"}]},\"strategies\":["
     "{\"name\":\"s\",\"ladder\":\"a\"}],\"links\":{"
     "\"valid_days\":7.5}}",
     "policy links.valid_days: must be an integer in 1..365"},
    {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\"}]},\"strategies\":["
     "{\"name\":\"s\",\"ladder\":\"a\"}],\"links\":{"
     "\"valid_days\":7,\"valid_day\":7}}",
     "policy links.valid_day: unknown key"},
    {"{\"version\":1,", "invalid JSON"},
};

static void test_bad_policies(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sch_policy p;
        char err[512] = "";
        assert_int_equal(sch_policy_parse(bad[i].json, &p, err, sizeof err), -1);
        if (!strstr(err, bad[i].want))
            fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, err, bad[i].want);
    }
}

static const char *ab_policy =
    "{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"ta\"}],"
    "\"b\":[{\"offset\":\"+2d\",\"template\":\"tb\",\"send_at\":\"18:30\"}]},"
    "\"strategies\":[{\"name\":\"big\",\"segment\":{\"min_amount_minor\":100000,\"countries\":["
    "\"DE\"]},\"ladder\":\"b\"},"
    "{\"name\":\"ab\",\"variants\":[{\"name\":\"A\",\"weight\":80,\"ladder\":\"a\"},{\"name\":"
    "\"B\",\"weight\":20,\"ladder\":\"b\"}]}]}";

static void test_assign(void **state)
{
    (void)state;
    sch_policy p;
    char err[512];
    assert_int_equal(sch_policy_parse(ab_policy, &p, err, sizeof err), 0);
    int s, v, counts[2] = {0, 0};
    sch_subject big = {.tenant = "t",
                       .customer_id = "C-1",
                       .country = "DE",
                       .currency = "EUR",
                       .amount_minor = 200000};
    assert_int_equal(sch_policy_assign(&p, &big, &s, &v), 0);
    assert_string_equal(p.strategies[s].name, "big");
    big.country = "FR";
    assert_int_equal(sch_policy_assign(&p, &big, &s, &v), 0);
    assert_string_equal(p.strategies[s].name, "ab");
    for (int i = 0; i < 10000; i++) {
        char id[32];
        snprintf(id, sizeof id, "C-%d", i);
        sch_subject x = {.tenant = "t",
                         .customer_id = id,
                         .country = "GB",
                         .currency = "EUR",
                         .amount_minor = 100};
        assert_int_equal(sch_policy_assign(&p, &x, &s, &v), 0);
        int v2;
        sch_policy_assign(&p, &x, &s, &v2);
        assert_int_equal(v, v2); /* deterministic */
        counts[v]++;
    }
    /* 80/20 split within a few percent */
    assert_true(counts[0] > 7600 && counts[0] < 8400);
    sch_policy_free(&p);
}

/* Variant shares (issue 15): over 100,000 debtors the live shares are
 * within 1 point of the weights, for ids of two shapes and three weights.
 * (The spread of a fair 50/30/20 draw over 100,000 is about 0.16 points,
 * so a failure here is a biased hash, not bad luck.) */
static void test_variant_shares(void **state)
{
    (void)state;
    static const char pol[] =
        "{\"version\": 1, \"ladders\": {\"a\": [{\"offset\": \"+1d\", \"template\": \"t\"}]},"
        " \"strategies\": [{\"name\": \"s\", \"variants\": ["
        "{\"name\": \"A\", \"weight\": 50, \"ladder\": \"a\"},"
        "{\"name\": \"B\", \"weight\": 30, \"ladder\": \"a\"},"
        "{\"name\": \"C\", \"weight\": 20, \"ladder\": \"a\"}]}]}";
    sch_policy p;
    char err[512];
    assert_int_equal(sch_policy_parse(pol, &p, err, sizeof err), 0);
    static const char *const shapes[] = {"C-%06d", "cust-%d@acme"};
    for (int k = 0; k < 2; k++) {
        int counts[3] = {0, 0, 0}, s, v;
        for (int i = 0; i < 100000; i++) {
            char id[32];
            snprintf(id, sizeof id, shapes[k], i);
            sch_subject x = {.tenant = "acme",
                             .customer_id = id,
                             .country = "GB",
                             .currency = "GBP",
                             .amount_minor = 100};
            assert_int_equal(sch_policy_assign(&p, &x, &s, &v), 0);
            counts[v]++;
        }
        static const int weight[3] = {50, 30, 20};
        for (int j = 0; j < 3; j++) { /* |share - weight| <= 1 point: 1,000 of 100,000 */
            if (counts[j] < weight[j] * 1000 - 1000 || counts[j] > weight[j] * 1000 + 1000)
                fail_msg("ids %s: variant %d has %d of 100000 for a weight of %d%%", shapes[k], j,
                         counts[j], weight[j]);
        }
    }
    sch_policy_free(&p);
}

/* The debtor's segment keys (issue 15), one strategy each, in order; a
 * subject that matches none of the first five falls to "rest". */
static void test_segment_keys(void **state)
{
    (void)state;
    static const char pol[] =
        "{\"version\": 1, \"ladders\": {\"a\": [{\"offset\": \"+1d\", \"template\": \"t\"}]},"
        " \"strategies\": ["
        "{\"name\": \"ma\", \"segment\": {\"regions\": [\"US-MA\"]}, \"ladder\": \"a\"},"
        "{\"name\": \"consumer\", \"segment\": {\"kinds\": [\"consumer\"]}, \"ladder\": \"a\"},"
        "{\"name\": \"broken\", \"segment\": {\"min_broken_promises\": 2}, \"ladder\": \"a\"},"
        "{\"name\": \"late\", \"segment\": {\"min_late_share\": 0.5, \"min_avg_days_late\": 10},"
        " \"ladder\": \"a\"},"
        "{\"name\": \"new\", \"segment\": {\"new_debtor\": true}, \"ladder\": \"a\"},"
        "{\"name\": \"rest\", \"ladder\": \"a\"}]}";
    sch_policy p;
    char err[512];
    int si, vi;
    assert_int_equal(sch_policy_parse(pol, &p, err, sizeof err), 0);
    struct {
        const char *region;
        int consumer, has_paid, broken;
        double late_share, avg_late;
        const char *want;
    } cases[] = {
        {"US-MA", 0, 1, 0, 0, 0, "ma"},    {"US-NY", 1, 1, 0, 0, 0, "consumer"},
        {NULL, 0, 1, 2, 0, 0, "broken"},   {NULL, 0, 1, 1, 0, 0, "rest"}, /* 1 broken promise < 2 */
        {NULL, 0, 1, 0, 0.5, 10, "late"},  /* both at their minimum: match */
        {NULL, 0, 1, 0, 0.5, 9.9, "rest"}, /* late often, not by enough days */
        {NULL, 0, 1, 0, 0.4, 30, "rest"},  /* by enough days, not often enough */
        {NULL, 0, 0, 0, 0, 0, "new"},      /* no payment yet */
        {"US-MA", 1, 0, 5, 1, 99, "ma"},   /* the first match wins */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sch_subject x = {.tenant = "t",
                         .customer_id = "C-1",
                         .country = "US",
                         .currency = "USD",
                         .amount_minor = 100,
                         .region = cases[i].region,
                         .consumer = cases[i].consumer,
                         .has_paid = cases[i].has_paid,
                         .broken_promises = cases[i].broken,
                         .late_share = cases[i].late_share,
                         .avg_days_late = cases[i].avg_late};
        assert_int_equal(sch_policy_assign(&p, &x, &si, &vi), 0);
        if (strcmp(p.strategies[si].name, cases[i].want) != 0)
            fail_msg("case %zu: strategy %s, want %s", i, p.strategies[si].name, cases[i].want);
    }
    sch_policy_free(&p);
    /* bad values name the key and the rule */
    static const struct {
        const char *seg, *want;
    } bad_seg[] = {
        {"{\"kinds\": [\"robot\"]}", "segment.kinds: must be a non-empty array"},
        {"{\"new_debtor\": 1}", "segment.new_debtor: must be true or false"},
        {"{\"min_late_share\": 1.5}", "segment.min_late_share: must be a number 0..1"},
        {"{\"min_broken_promises\": -1}", "segment.min_broken_promises: must be an integer"},
        {"{\"regions\": \"US-MA\"}", "segment.regions"},
        {"{\"min_exposure_minor\": {\"XXX\": 1}}",
         "segment.min_exposure_minor.XXX: is not an ISO 4217 currency code"},
        {"{\"risk_bands\": [\"dire\"]}", "segment.risk_bands: must be a non-empty array"},
    };
    for (size_t i = 0; i < sizeof bad_seg / sizeof bad_seg[0]; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "{\"version\": 1, \"ladders\": {\"a\": [{\"offset\": \"+1d\", "
                 "\"template\": \"t\"}]}, \"strategies\": [{\"name\": \"s\", \"segment\": "
                 "%s, \"ladder\": \"a\"}]}",
                 bad_seg[i].seg);
        assert_int_equal(sch_policy_parse(text, &p, err, sizeof err), -1);
        if (!strstr(err, bad_seg[i].want))
            fail_msg("%s: error %s lacks %s", bad_seg[i].seg, err, bad_seg[i].want);
    }
}

/* The history behind min_late_share / min_avg_days_late: the last
 * SCH_HISTORY_N invoices paid in full. */
static void test_cust_history(void **state)
{
    (void)state;
    sch_cust c;
    double share, avg;
    memset(&c, 0, sizeof c);
    sch_cust_history(&c, &share, &avg);
    assert_true(share == 0 && avg == 0);
    int days[] = {0, 12, 0, 3}; /* 2 of 4 late, (12 + 3) / 2 = 7.5 days */
    for (int i = 0; i < 4; i++)
        assert_int_equal(sch_cust_history_add(&c, days[i]), 0);
    assert_string_equal(c.late_ring, "0,12,0,3");
    sch_cust_history(&c, &share, &avg);
    assert_true(share == 0.5 && avg == 7.5);
    for (int i = 0; i < 10; i++) /* ten on time push the late ones out of the last 10 */
        assert_int_equal(sch_cust_history_add(&c, -4), 0);
    sch_cust_history(&c, &share, &avg);
    assert_true(share == 0 && avg == 0);
    assert_string_equal(c.late_ring, "0,12,0,3,0,0,0,0,0,0,0,0,0,0");
    int paid, late;
    long long sum;
    sch_cust_history_n(&c, 0, &paid, &late, &sum); /* all it keeps */
    assert_true(paid == 14 && late == 2 && sum == 15);
    for (int i = 0; i < SCH_HISTORY_N; i++) /* it keeps the last SCH_HISTORY_N (20) */
        assert_int_equal(sch_cust_history_add(&c, 1), 0);
    sch_cust_history_n(&c, 0, &paid, &late, &sum);
    assert_true(paid == 20 && late == 20 && sum == 20);
    free(c.late_ring);
}

static void test_step_times(void **state)
{
    (void)state;
    sch_policy p;
    char err[512];
    assert_int_equal(sch_policy_parse(ab_policy, &p, err, sizeof err), 0);
    const cm_tz *tk = cm_tz_get("Asia/Tokyo", err, sizeof err);
    int32_t due;
    int64_t t, want;
    assert_int_equal(cm_date_parse("2026-03-10", &due), 0);
    /* ladder b: +2d at 18:30 Tokyo = 09:30 UTC */
    t = sch_step_time(&p.ladders[1].steps[0], tk, due);
    cm_time_parse_rfc3339("2026-03-12T09:30:00Z", &want);
    assert_true(t == want);
    /* next step from a time after it: exhausted without collapse, caught up with */
    int idx;
    int64_t when, now;
    cm_time_parse_rfc3339("2026-03-13T00:00:00Z", &now);
    assert_int_equal(sch_next_step(&p.ladders[1], tk, due, 0, now, 0, &idx, &when), -1);
    assert_int_equal(sch_next_step(&p.ladders[1], tk, due, 0, now, 1, &idx, &when), 0);
    cm_time_parse_rfc3339("2026-03-13T09:30:00Z", &want);
    assert_true(when == want);
    sch_policy_free(&p);
}

/* A canonical envelope up to its type's closing quote; cases add tenant,
 * customer_id and data. */
#define ENV(type)                                                                                  \
    "{\"v\":1,\"id\":\"e1\",\"source\":\"billing\",\"time\":\"2026-03-01T00:00:00.000Z\","         \
    "\"type\":\"" type "\","
#define INV_DATA(amount, due)                                                                      \
    "\"data\":{\"invoice_id\":\"i\",\"currency\":\"EUR\",\"amount_minor\":" amount                 \
    ",\"issued_on\":\"2026-01-01\",\"due_on\":\"" due "\"}}"

/* Rejected: the contract's decoder names the field and the rule
 * ("field: rule (detail)"); the scheduler's own rules on top say
 * "field: what it must be". */
static const struct {
    const char *ev, *want;
} bad_events[] = {
    {"[1]", "(event): type"},
    {"{\"v\":1,\"id\":\"e1\",\"source\":\"billing\",\"time\":\"2026-03-01T00:00:00.000Z\","
     "\"tenant\":\"a\",\"customer_id\":\"c\",\"data\":{}}",
     "type: required"},
    {"{\"id\":\"e1\",\"source\":\"billing\",\"time\":\"2026-03-01T00:00:00.000Z\","
     "\"type\":\"invoice.issued\",\"tenant\":\"a\",\"customer_id\":\"c\",\"data\":{}}",
     "v: required"},
    {ENV("invoice.issued") "\"tenant\":\"a/b\",\"customer_id\":\"c\",\"data\":{}}",
     "tenant: tenant"},
    {ENV("invoice.issued") "\"tenant\":\"a\",\"data\":{}}", "customer_id: required"},
    {ENV("invoice.issued") "\"tenant\":\"a\",\"customer_id\":\"c\"," INV_DATA("0", "2026-01-02"),
     "data.amount_minor: must be an integer > 0"},
    {ENV("invoice.issued") "\"tenant\":\"a\",\"customer_id\":\"c\"," INV_DATA("5", "01/02/2026"),
     "data.due_on: date"},
    {ENV("invoice.issued") "\"tenant\":\"a\",\"customer_id\":\"c\"," INV_DATA("\"5\"",
                                                                              "2026-01-02"),
     "data.amount_minor: type"},
    {ENV("invoice.updated") "\"tenant\":\"a\",\"customer_id\":\"c\",\"data\":{\"invoice_id\":\"i\","
                            "\"number\":\"N\\u0001\",\"currency\":\"EUR\",\"amount_minor\":5,"
                            "\"issued_on\":\"2026-01-01\",\"due_on\":\"2026-01-02\"}}",
     "data.number: must not contain control characters"},
    {ENV("payment.received") "\"tenant\":\"a\",\"customer_id\":\"c\",\"data\":{\"payment_id\":"
                             "\"p\",\"currency\":\"EUR\",\"amount_minor\":5,\"received_on\":"
                             "\"2026-01-01\",\"allocations\":[{\"invoice_id\":\"i\","
                             "\"amount_minor\":6}]}}",
     "data.allocations: allocations_sum"},
    {ENV("payment.received") "\"tenant\":\"a\",\"customer_id\":\"c\",\"data\":{\"payment_id\":"
                             "\"p\",\"currency\":\"EUR\",\"amount_minor\":0,\"received_on\":"
                             "\"2026-01-01\"}}",
     "data.amount_minor: must be an integer > 0"},
    {ENV("customer.upserted") "\"tenant\":\"a\",\"customer_id\":\"c\",\"data\":{\"name\":\"N\","
                              "\"timezone\":\"Nowhere/Land\"}}",
     "data.timezone: must be a known IANA"},
    {ENV("customer.upserted") "\"tenant\":\"a\",\"customer_id\":\"c\",\"data\":{\"name\":\"N\","
                              "\"opted_out\":[\"pigeon\"]}}",
     "data.opted_out[0]: channel"},
    {ENV("credit_note.issued") "\"tenant\":\"a\",\"customer_id\":\"c\",\"data\":{\"customer_"
                               "id\":\"d\"}}",
     "data.customer_id: customer_id"},
    {ENV("contact.ceased") "\"tenant\":\"a\",\"customer_id\":\"c\",\"data\":{\"channel\":1}}",
     "data.channel: type"},
};

static void test_event_checks(void **state)
{
    (void)state;
    char err[512];
    sch_event se;
    for (size_t i = 0; i < sizeof bad_events / sizeof bad_events[0]; i++) {
        json_error_t je;
        json_t *ev = json_loads(bad_events[i].ev, JSON_DECODE_ANY, &je);
        if (!ev)
            fail_msg("case %zu: bad JSON: %s", i, je.text);
        err[0] = 0;
        if (sch_test_decode(ev, &se, err, sizeof err) != -1)
            fail_msg("case %zu accepted", i);
        if (!strstr(err, bad_events[i].want))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, bad_events[i].want);
        json_decref(ev);
    }
    /* an id over the contract's 200 bytes (the old scheduler dropped 128) */
    char big[1024], id[CT_ID_MAX + 2];
    memset(id, 'x', sizeof id - 1);
    id[sizeof id - 1] = 0;
    snprintf(big, sizeof big,
             ENV("invoice.voided") "\"tenant\":\"a\",\"customer_id\":\"c\",\"data\":{"
                                   "\"invoice_id\":\"%s\"}}",
             id);
    json_t *ev = json_loads(big, 0, NULL);
    assert_int_equal(sch_test_decode(ev, &se, err, sizeof err), -1);
    assert_non_null(strstr(err, "data.invoice_id: max_length"));
    json_decref(ev);
    id[CT_ID_MAX] = 0; /* 200 bytes: applied */
    snprintf(big, sizeof big,
             ENV("invoice.voided") "\"tenant\":\"a\",\"customer_id\":\"c\",\"data\":{"
                                   "\"invoice_id\":\"%s\"}}",
             id);
    ev = json_loads(big, 0, NULL);
    assert_int_equal(sch_test_decode(ev, &se, err, sizeof err), 1);
    assert_int_equal(se.ev.type, CT_EV_INVOICE_VOIDED);
    assert_string_equal(se.ev.data.invoice_ref.invoice_id, id);
    json_decref(ev);

    /* ignored, not errors: the scheduler's own events and unknown types
     * (their data is not checked) */
    const char *ignored[] = {
        "{\"v\":1,\"id\":\"case-0123456789abcdef/placed\",\"source\":\"arrears-scheduler\","
        "\"type\":\"escalation.placed\",\"tenant\":\"a\",\"time\":\"2026-03-01T00:00:00.000Z\","
        "\"customer_id\":\"c\",\"data\":{\"case_id\":\"case-0123456789abcdef\",\"to\":"
        "\"agency\",\"invoice_ids\":[\"i\"],\"currency\":\"GBP\",\"placed_minor\":25000,"
        "\"expected_net_minor\":6938,\"command_id\":\"a/inv/i/step/6/attempt/1\"}}",
        ENV("invoice.teleported") "\"tenant\":\"a\",\"customer_id\":\"c\",\"data\":{}}",
    };
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
        ev = json_loads(ignored[i], 0, NULL);
        assert_non_null(ev);
        if (sch_test_decode(ev, &se, err, sizeof err) != 0)
            fail_msg("ignored case %zu not ignored: %s", i, err);
        json_decref(ev);
    }
    /* promise.made is acted on (policy "promises"): its data is checked */
    ev = json_loads(ENV("promise.made") "\"tenant\":\"a\",\"customer_id\":\"c\",\"data\":{}}", 0,
                    NULL);
    assert_int_equal(sch_test_decode(ev, &se, err, sizeof err), -1);
    assert_non_null(strstr(err, "invoice_ids"));
    json_decref(ev);
    /* an unknown type without a readable envelope is rejected */
    ev = json_loads("{\"type\":\"invoice.teleported\",\"tenant\":\"a\"}", 0, NULL);
    assert_int_equal(sch_test_decode(ev, &se, err, sizeof err), -1);
    json_decref(ev);

    /* a good payment: typed fields from the contract's struct; an
     * allocation of 0 is valid (ingest writes it), and skipped when applied */
    ev = json_loads(ENV("payment.received") "\"tenant\":\"a\",\"customer_id\":\"c\",\"data\":{"
                                            "\"payment_id\":\"p\",\"currency\":\"EUR\","
                                            "\"amount_minor\":5,\"received_on\":\"2026-01-01\","
                                            "\"allocations\":[{\"invoice_id\":\"i\","
                                            "\"amount_minor\":0},{\"invoice_id\":\"j\","
                                            "\"amount_minor\":5}]}}",
                    0, NULL);
    assert_non_null(ev);
    assert_int_equal(sch_test_decode(ev, &se, err, sizeof err), 1);
    assert_non_null(se.raw); /* kept: a pending list stores the record as it came */
    assert_string_equal(se.ev.tenant, "a");
    assert_string_equal(se.ev.data.payment.payment_id, "p");
    assert_int_equal(se.ev.data.payment.nallocations, 2);
    assert_string_equal(se.ev.data.payment.allocations[1].invoice_id, "j");
    json_decref(ev);
}

/* Packs invoice r (fallbacks "default"/"A") and decodes the bytes, as a
 * Redis GET hands them back, into a new record of m (key, tenant, id). */
static sch_rec *inv_roundtrip(sch_map *m, const sch_rec *r, const char *key, const char *tenant,
                              const char *id)
{
    char *packed = sch_inv_encode(r, "default", "A");
    assert_non_null(packed);
    redisReply rep;
    memset(&rep, 0, sizeof rep);
    rep.type = REDIS_REPLY_STRING;
    rep.str = packed;
    rep.len = strlen(packed);
    sch_rec *b = sch_map_add(m, key, SCH_T_INV, tenant, id);
    char err[256];
    assert_int_equal(sch_rec_decode(b, &rep, err, sizeof err), 0);
    free(packed);
    return b;
}

/* A stored invoice of m in EUR: key, tenant, id, debtor and number. */
static sch_rec *inv_fixture(sch_map *m, const char *key, const char *tenant, const char *id,
                            const char *customer, const char *number)
{
    sch_rec *r = sch_map_add(m, key, SCH_T_INV, tenant, id);
    assert_non_null(r);
    r->exists = 1;
    snprintf(r->u.inv.customer, sizeof r->u.inv.customer, "%s", customer);
    snprintf(r->u.inv.number, sizeof r->u.inv.number, "%s", number);
    snprintf(r->u.inv.currency, sizeof r->u.inv.currency, "EUR");
    return r;
}

static redisReply str_reply(const char *s)
{
    redisReply r;
    memset(&r, 0, sizeof r);
    r.type = s ? REDIS_REPLY_STRING : REDIS_REPLY_NIL;
    r.str = (char *)s;
    r.len = s ? strlen(s) : 0;
    return r;
}

/* One due member through the peek's decoder into a fresh *m (the last
 * one freed): its invoice's record, counted once. */
static sch_rec *peeked(sch_map **m, const redisReply *mem, const redisReply *score,
                       const redisReply *inv)
{
    char err[256];
    int count = 0;
    sch_map_free(*m);
    *m = sch_map_new();
    assert_int_equal(
        sch_store_peek_item("P:", 2, *m, mem, score, inv, NULL, NULL, &count, err, sizeof err), 0);
    assert_int_equal(count, 1);
    sch_rec *got = sch_map_get(*m, "P:i:acme/I1");
    assert_non_null(got);
    return got;
}

/* The Redis peek reads a partition's due members, then their invoices, in
 * two round trips (store_redis.c rd_peek). A timer whose score is where its
 * record says keeps that score as the commit's "old" one (an unchanged
 * timer is not rewritten); one whose record has moved on since the zset
 * was read (another replica's commit in between) gets -1, so the commit
 * rewrites it wherever it computes it; a timer without a record keeps its
 * score (the commit drops it from there). Since 2026-12-07 the Redis peek
 * reads no score for an invoice's timer (NULL): the commit then rewrites a
 * timer with a record (-1) and drops one without (1, some time). A purge
 * member names its record, loaded later, and a member of no tenant is
 * skipped. */
static void test_peek_item_timer(void **state)
{
    (void)state;
    sch_map *src = sch_map_new();
    sch_rec *r = inv_fixture(src, "P:i:acme/I1", "acme", "I1", "C-7", "I1");
    r->u.inv.amount = 1000;
    r->u.inv.status = 'o';
    r->u.inv.attempt = 1;
    r->u.inv.next_kind = 's';
    r->u.inv.next_ms = 1800000000000LL;
    r->u.inv.part = 2;
    char *packed = sch_inv_encode(r, "default", "A");
    assert_non_null(packed);
    redisReply mem = str_reply("acme/I1"), inv = str_reply(packed), nil = str_reply(NULL);
    redisReply same = str_reply("1800000000000"), stale = str_reply("1799999000000");
    sch_map *m = NULL;
    sch_rec *got = peeked(&m, &mem, &same, &inv);
    assert_true(got->exists && got->fire_due);
    assert_true(got->u.inv.old_next_ms == 1800000000000LL);
    assert_int_equal(got->u.inv.old_part, 2);
    got = peeked(&m, &mem, &stale, &inv);
    assert_true(got->u.inv.old_next_ms == -1);
    got = peeked(&m, &mem, &stale, &nil);
    assert_false(got->exists);
    assert_true(got->u.inv.old_next_ms == 1799999000000LL);
    assert_int_equal(got->u.inv.part, 2);
    got = peeked(&m, &mem, NULL, &inv);
    assert_true(got->exists && got->fire_due);
    assert_true(got->u.inv.old_next_ms == -1);
    assert_int_equal(got->u.inv.old_part, 2);
    got = peeked(&m, &mem, NULL, &nil);
    assert_false(got->exists);
    assert_true(got->u.inv.old_next_ms == 1);
    sch_map_free(m);

    /* what the peek reads for a member: its record's key, or nothing */
    char key[64];
    assert_int_equal(sch_store_peek_inv_key("P:", "acme/I1", 7, key, sizeof key), 1);
    assert_string_equal(key, "P:i:acme/I1");
    assert_int_equal(sch_store_peek_inv_key("P:", "noslash", 7, key, sizeof key), -1);
    assert_int_equal(sch_store_peek_inv_key("P:", "acme/I1", 7, key, 10), -1);
    /* and the debtor it reads: the member's tenant, the record's customer */
    char ck[64];
    assert_int_equal(sch_store_peek_debtor("acme/I1", 7, packed, strlen(packed), ck, sizeof ck), 8);
    assert_string_equal(ck, "acme/C-7");
    assert_int_equal(sch_store_peek_debtor("acme/I1", 7, "1", 1, ck, sizeof ck), -1);
    free(packed);
    sch_map_free(src);
}

/* An outbox round as the Redis backend stores it: records framed as
 * "<id length> <value length>\n" id value, written from the format's
 * definition in store.h (not from the encoder's output), read back; a
 * payload with newlines and digits stays whole; a cut or bad frame is an
 * error naming the byte, the records before it kept. */
static void test_round_blob(void **state)
{
    (void)state;
    sch_out a = {.id = "cmd-1", .topic = 'c', .key = "acme/C-7", .payload = "{\"a\":1}"};
    sch_out b = {.id = "E-22", .topic = 'e', .key = "k", .payload = "12 3\nx\n"};
    cm_buf buf = CM_BUF_INIT;
    size_t la = sch_store_round_blob_len(&a), lb = sch_store_round_blob_len(&b);
    assert_int_equal(cm_buf_reserve(&buf, la + lb), 0);
    char *end = sch_store_round_blob_put(buf.p, &a);
    assert_ptr_equal(end, buf.p + la);
    end = sch_store_round_blob_put(end, &b);
    assert_ptr_equal(end, buf.p + la + lb);
    buf.len = la + lb;
    /* value a: "c\nacme/C-7\n{"a":1}" is 1+1+8+1+7 = 18 bytes; b: "e\nk\n12 3\nx\n"
     * is 1+1+1+1+7 = 11 */
    const char want[] = "5 18\ncmd-1c\nacme/C-7\n{\"a\":1}4 11\nE-22e\nk\n12 3\nx\n";
    assert_int_equal(buf.len, sizeof want - 1);
    assert_memory_equal(buf.p, want, sizeof want - 1);

    char err[128];
    size_t cap = 0;
    sch_outbox out = {0};
    assert_int_equal(sch_store_round_blob_parse(buf.p, buf.len, 3, &out, &cap, err, sizeof err), 0);
    assert_int_equal(out.nrecs, 2);
    assert_string_equal(out.recs[0].id, "cmd-1");
    assert_int_equal(out.recs[0].topic, 'c');
    assert_string_equal(out.recs[0].key, "acme/C-7");
    assert_string_equal(out.recs[0].payload, "{\"a\":1}");
    assert_int_equal(out.recs[0].part, 3);
    assert_string_equal(out.recs[1].id, "E-22");
    assert_string_equal(out.recs[1].key, "k");
    assert_string_equal(out.recs[1].payload, "12 3\nx\n");
    sch_outbox_free(&out);

    /* cut inside the second record: the first is kept */
    memset(&out, 0, sizeof out);
    cap = 0;
    assert_int_equal(sch_store_round_blob_parse(buf.p, buf.len - 1, 3, &out, &cap, err, sizeof err),
                     -1);
    assert_int_equal(out.nrecs, 1);
    assert_string_equal(err, "outbox round: malformed at byte 28");
    sch_outbox_free(&out);
    const char *cases[] = {"x 1\nab", "5\ncmd-1", "0 3\nabc", "2 2\nidxx", "99999999999999 1\na"};
    const char *why[] = {"malformed at byte 0", "malformed at byte 0", "malformed at byte 0",
                         "malformed record at byte 0", "malformed at byte 0"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        memset(&out, 0, sizeof out);
        cap = 0;
        assert_int_equal(
            sch_store_round_blob_parse(cases[i], strlen(cases[i]), 0, &out, &cap, err, sizeof err),
            -1);
        assert_int_equal(out.nrecs, 0);
        assert_non_null(strstr(err, why[i]));
        sch_outbox_free(&out);
    }
    cm_buf_free(&buf);
}

/* An open invoice's share of its debtor's exposure (counted): when it is
 * the outstanding, as exposure_sync leaves it, the status packs as "=" and
 * the share is left out with the empty fields before it. The bytes are
 * written out from the layout in docs/scheduler.md "State in Redis", field
 * by field: version 1, customer, number (empty: the id), currency, amount
 * 16324, paid and credited (empty: 0), issued 20454 and due 20843 (days),
 * status "=", disputed, step (0) and attempt (1) empty, next kind "s",
 * next time, partition 3; nothing after. */
static void test_inv_pack_counted(void **state)
{
    (void)state;
    sch_map *m = sch_map_new();
    sch_rec *r = inv_fixture(m, "P:i:bench/I1", "bench", "I1", "C0001532", "I1");
    r->ver = 0;
    sch_inv *v = &r->u.inv;
    snprintf(v->strategy, sizeof v->strategy, "default");
    snprintf(v->variant, sizeof v->variant, "A");
    v->amount = 16324;
    v->issued = 20454;
    v->due = 20843;
    v->status = 'o';
    v->attempt = 1;
    v->next_kind = 's';
    v->next_ms = 1800838800000LL;
    v->part = 3;
    v->counted = 16324;
    char *packed = sch_inv_encode(r, "default", "A");
    assert_non_null(packed);
    assert_string_equal(packed, "1\x1f"
                                "C0001532\x1f\x1f"
                                "EUR\x1f"
                                "16324\x1f\x1f\x1f"
                                "20454\x1f"
                                "20843\x1f"
                                "=\x1f\x1f\x1f\x1f"
                                "s\x1f"
                                "1800838800000\x1f"
                                "3");
    free(packed);
    sch_rec *b = inv_roundtrip(m, r, "P:i:bench/I2", "bench", "I1");
    assert_int_equal(b->u.inv.status, 'o');
    assert_true(b->u.inv.counted == 16324);
    /* a fee charged since: the share follows the outstanding (amount + fees) */
    v->fees = 500;
    v->paid = 1000;
    v->counted = 16324 + 500 - 1000;
    b = inv_roundtrip(m, r, "P:i:bench/I3", "bench", "I1");
    assert_true(b->u.inv.counted == 15824);
    /* not yet in step (only inside a batch): written out, status "" */
    v->counted = 7;
    packed = sch_inv_encode(r, "default", "A");
    assert_non_null(packed);
    assert_null(strstr(packed, "\x1f=\x1f"));
    size_t n = strlen(packed);
    assert_true(n > 2 && strcmp(packed + n - 2, "\x1f"
                                                "7") == 0);
    free(packed);
    b = inv_roundtrip(m, r, "P:i:bench/I4", "bench", "I1");
    assert_int_equal(b->u.inv.status, 'o');
    assert_true(b->u.inv.counted == 7);
    /* a record packed before the "=" (status "", the share written or,
     * older still, absent: 0) reads as it was written */
    /* version 1, debtor C, EUR 100, issued day 1, due day 2, status "" (open),
     * next step at 5 ms, partition 0 */
#define OLD_HEAD                                                                                   \
    "1\x1f"                                                                                        \
    "C\x1f\x1f"                                                                                    \
    "EUR\x1f"                                                                                      \
    "100\x1f\x1f\x1f"                                                                              \
    "1\x1f"                                                                                        \
    "2\x1f\x1f\x1f\x1f\x1f"                                                                        \
    "s\x1f"                                                                                        \
    "5\x1f"                                                                                        \
    "0"
    const char *old[] = {
        OLD_HEAD "\x1f\x1f\x1f\x1f\x1f\x1f\x1f\x1f\x1f\x1f\x1f\x1f\x1f\x1f\x1f\x1f\x1f\x1f\x1f"
                 "\x1f\x1f\x1f\x1f\x1f\x1f"
                 "100",
        OLD_HEAD};
#undef OLD_HEAD
    const int64_t want[] = {100, 0};
    for (int k = 0; k < 2; k++) {
        redisReply rep;
        memset(&rep, 0, sizeof rep);
        rep.type = REDIS_REPLY_STRING;
        rep.str = (char *)old[k];
        rep.len = strlen(old[k]);
        sch_rec *o = sch_map_add(m, k ? "P:i:a/O2" : "P:i:a/O1", SCH_T_INV, "a", "O");
        char err[256];
        assert_int_equal(sch_rec_decode(o, &rep, err, sizeof err), 0);
        assert_int_equal(o->u.inv.status, 'o');
        assert_true(o->u.inv.amount == 100);
        assert_true(o->u.inv.counted == want[k]);
    }
    sch_map_free(m);
}

/* The packed invoice record survives a round trip, defaults elided. */
static void test_inv_pack(void **state)
{
    (void)state;
    sch_map *m = sch_map_new();
    sch_rec *r = inv_fixture(m, "P:i:acme/INV-1", "acme", "INV-1", "C-1", "2026-0001");
    r->ver = 41;
    sch_inv *v = &r->u.inv;
    v->amount = 12000;
    v->paid = 500;
    v->issued = 20485;
    v->due = 20522;
    v->status = 'p';
    v->disputed = 1;
    v->step = 3;
    v->attempt = 2;
    v->next_kind = 't';
    v->next_ms = 1773306000123LL;
    v->part = 4;
    snprintf(v->strategy, sizeof v->strategy, "key_accounts");
    snprintf(v->variant, sizeof v->variant, "B");
    sch_str_set(&v->history, "0.1@1;1.1@2!hold;");
    sch_str_set(&v->credits, ";CN-1;");
    snprintf(v->thanks_pid, sizeof v->thanks_pid, "PAY-9");
    v->thanks_amt = 11500;
    sch_rec *b = inv_roundtrip(m, r, "P:i:acme/INV-2", "acme", "INV-1");
    sch_inv *w = &b->u.inv;
    assert_true(b->exists);
    assert_int_equal(b->ver, 42); /* encode writes the next version */
    assert_string_equal(w->customer, "C-1");
    assert_string_equal(w->number, "2026-0001");
    assert_string_equal(w->currency, "EUR");
    assert_true(w->amount == 12000 && w->paid == 500 && w->credited == 0);
    assert_true(w->issued == 20485 && w->due == 20522);
    assert_int_equal(w->status, 'p');
    assert_int_equal(w->disputed, 1);
    assert_int_equal(w->step, 3);
    assert_int_equal(w->attempt, 2);
    assert_int_equal(w->next_kind, 't');
    assert_true(w->next_ms == 1773306000123LL);
    assert_int_equal(w->part, 4);
    assert_int_equal(w->old_part, 4);
    assert_true(w->old_next_ms == 1773306000123LL);
    assert_string_equal(w->strategy, "key_accounts");
    assert_string_equal(w->variant, "B");
    assert_string_equal(w->history, "0.1@1;1.1@2!hold;");
    assert_string_equal(w->credits, ";CN-1;");
    assert_string_equal(w->thanks_pid, "PAY-9");
    assert_true(w->thanks_amt == 11500);
    /* an open invoice on the fallback strategy packs small */
    sch_rec *c = sch_map_add(m, "P:i:acme/INV-3", SCH_T_INV, "acme", "INV-3");
    c->exists = 1;
    snprintf(c->u.inv.customer, sizeof c->u.inv.customer, "C-1");
    snprintf(c->u.inv.number, sizeof c->u.inv.number, "INV-3");
    snprintf(c->u.inv.currency, sizeof c->u.inv.currency, "EUR");
    snprintf(c->u.inv.strategy, sizeof c->u.inv.strategy, "default");
    snprintf(c->u.inv.variant, sizeof c->u.inv.variant, "A");
    c->u.inv.amount = 1;
    c->u.inv.part = 0;
    char *packed = sch_inv_encode(c, "default", "A");
    assert_non_null(packed);
    assert_null(strstr(packed, "default"));
    assert_true(strlen(packed) < 40);
    free(packed);
    /* absent */
    redisReply rep;
    memset(&rep, 0, sizeof rep);
    rep.type = REDIS_REPLY_NIL;
    char err[256];
    sch_rec *d = sch_map_add(m, "P:i:acme/INV-4", SCH_T_INV, "acme", "INV-4");
    assert_int_equal(sch_rec_decode(d, &rep, err, sizeof err), 0);
    assert_false(d->exists);
    sch_map_free(m);
}

/* An invoice number is text (docs/events.md: up to 1000 bytes, no control
 * characters): what ingest accepts the scheduler applies and packs intact
 * (it used to keep 200 bytes and drop longer numbers). */
static void test_long_number(void **state)
{
    (void)state;
    char number[CT_TEXT_MAX + 2], ev[CT_TEXT_MAX + 512], err[512];
    memset(number, '7', sizeof number - 1);
    number[sizeof number - 1] = 0; /* 1001 bytes */
    sch_event se;
    for (int ok = 0; ok <= 1; ok++) {
        if (ok)
            number[CT_TEXT_MAX] = 0; /* 1000 bytes */
        snprintf(ev, sizeof ev,
                 ENV("invoice.issued") "\"tenant\":\"a\",\"customer_id\":\"c\",\"data\":{"
                                       "\"invoice_id\":\"i\",\"number\":\"%s\",\"currency\":"
                                       "\"EUR\",\"amount_minor\":5,\"issued_on\":\"2026-01-01\","
                                       "\"due_on\":\"2026-01-02\"}}",
                 number);
        json_t *j = json_loads(ev, 0, NULL);
        assert_non_null(j);
        err[0] = 0;
        int rc = sch_test_decode(j, &se, err, sizeof err);
        if (ok) {
            assert_int_equal(rc, 1);
            assert_string_equal(se.ev.data.invoice.number, number);
        } else {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(err, "data.number: max_length"));
        }
        json_decref(j);
    }
    sch_map *m = sch_map_new();
    sch_rec *r = sch_map_add(m, "P:i:a/i", SCH_T_INV, "a", "i");
    r->exists = 1;
    sch_inv *v = &r->u.inv;
    snprintf(v->customer, sizeof v->customer, "c");
    memcpy(v->number, number, CT_TEXT_MAX + 1);
    snprintf(v->currency, sizeof v->currency, "EUR");
    v->amount = 5;
    snprintf(v->strategy, sizeof v->strategy, "default");
    snprintf(v->variant, sizeof v->variant, "A");
    sch_rec *b = inv_roundtrip(m, r, "P:i:a/j", "a", "i");
    assert_int_equal(strlen(b->u.inv.number), CT_TEXT_MAX);
    assert_string_equal(b->u.inv.number, number);
    sch_map_free(m);
}

/* links.valid_days (issue 17): parsed, and written last on every command
 * as link_valid_days; a policy without links writes no member at all, so
 * its commands keep their bytes. */
static void test_links(void **state)
{
    (void)state;
    static const char *const head =
        "{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\"}]},"
        "\"strategies\":[{\"name\":\"s\",\"ladder\":\"a\"}]";
    char text[512], err[512];
    const int days[] = {7, 1, 365};
    sch_policy p;
    for (size_t i = 0; i < sizeof days / sizeof days[0]; i++) {
        snprintf(text, sizeof text, "%s,\"links\":{\"valid_days\":%d,\"comment\":\"terms\"}}", head,
                 days[i]);
        if (sch_policy_parse(text, &p, err, sizeof err) != 0)
            fail_msg("%s: %s", text, err);
        assert_int_equal(p.link_valid_days, days[i]);
        sch_policy_free(&p);
    }
    /* the command of step 0 under each policy: the same but for the member */
    sch_policy with, without;
    snprintf(text, sizeof text, "%s,\"links\":{\"valid_days\":7}}", head);
    assert_int_equal(sch_policy_parse(text, &with, err, sizeof err), 0);
    snprintf(text, sizeof text, "%s}", head);
    assert_int_equal(sch_policy_parse(text, &without, err, sizeof err), 0);
    assert_int_equal(without.link_valid_days, 0);
    const cm_tz *tz = cm_tz_get("UTC", err, sizeof err);
    assert_non_null(tz);
    sch_map *m = sch_map_new();
    sch_rec *inv = sch_map_add(m, "P:i:acme/INV-1", SCH_T_INV, "acme", "INV-1");
    inv->exists = 1;
    snprintf(inv->u.inv.customer, sizeof inv->u.inv.customer, "C-1");
    snprintf(inv->u.inv.currency, sizeof inv->u.inv.currency, "EUR");
    inv->u.inv.amount = 12000; /* no strategy stored: the fallback's, as in a single file */
    assert_int_equal(cm_date_parse("2026-03-01", &inv->u.inv.due), 0);
    inv->u.inv.issued = inv->u.inv.due - 28;
    int64_t now = (int64_t)(inv->u.inv.due + 1) * 86400000 + 9 * 3600000;
    char *a = sch_command_step(inv, NULL, &with, tz, &with.ladders[0].steps[0], 0, now, now);
    char *b = sch_command_step(inv, NULL, &without, tz, &without.ladders[0].steps[0], 0, now, now);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(strstr(b, "link_valid_days"));
    const char *tail = ",\"link_valid_days\":7}";
    size_t na = strlen(a), nb = strlen(b);
    assert_int_equal(na, nb - 1 + strlen(tail));
    assert_string_equal(a + nb - 1, tail);
    assert_memory_equal(a, b, nb - 1);
    free(a);
    free(b);
    sch_map_free(m);
    sch_policy_free(&with);
    sch_policy_free(&without);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_policy),  cmocka_unit_test(test_bad_policies),
        cmocka_unit_test(test_assign),          cmocka_unit_test(test_variant_shares),
        cmocka_unit_test(test_segment_keys),    cmocka_unit_test(test_cust_history),
        cmocka_unit_test(test_step_times),      cmocka_unit_test(test_event_checks),
        cmocka_unit_test(test_inv_pack),        cmocka_unit_test(test_inv_pack_counted),
        cmocka_unit_test(test_peek_item_timer), cmocka_unit_test(test_round_blob),
        cmocka_unit_test(test_long_number),     cmocka_unit_test(test_links),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
