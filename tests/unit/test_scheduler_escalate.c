/* test_scheduler_escalate.c -- the hand-off's pure parts (escalate.c): the
 * cost-benefit gate at its boundaries, the case id, the response log, the
 * case file, and the policy's "escalation" section and steps' "to".
 *
 * Every figure is worked by hand from the rule in docs/policy.md
 * "Escalation": expected net = outstanding x recovery% x (100 -
 * commission%) / 10^4 - fixed cost, rounded once, half-up, to a minor
 * unit; the hand-off needs it to be at least 1. The case ids were
 * computed by an independent Python FNV-1a (offset basis
 * 1469598103934665603, prime 1099511628211). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/scheduler/escalate.h"
#include "../../services/scheduler/policy.h"
#include "clock.h"
#include "schema_check.h"

/* The agency: GBP minimum 200.00, 45% recovery, 25% commission,
 * GBP 15.00 fixed; EUR minimum 100.00 and 33.75 fixed (a factor of
 * 45 x 75 = 3375 per 10^4). */
static sch_esc_target agency(void)
{
    sch_esc_target t;
    memset(&t, 0, sizeof t);
    t.enabled = 1;
    t.recovery_pct = 45;
    t.commission_pct = 25;
    t.min.n = 2;
    memcpy(t.min.v[0].code, "GBP", 4);
    t.min.v[0].minor = 20000;
    memcpy(t.min.v[1].code, "EUR", 4);
    t.min.v[1].minor = 10000;
    t.fixed.n = 2;
    memcpy(t.fixed.v[0].code, "GBP", 4);
    t.fixed.v[0].minor = 1500;
    memcpy(t.fixed.v[1].code, "EUR", 4);
    t.fixed.v[1].minor = 3375;
    return t;
}

static void test_gate_threshold(void **state)
{
    (void)state;
    sch_esc_target t = agency();
    sch_esc_gate g;
    /* 199.99: one penny under the minimum. 19999 x 3375 = 67,496,625;
     * less 15,000,000 = 52,496,625 -> 5249.6625 -> 5250 (worth it, but
     * below the threshold decides first) */
    assert_string_equal(sch_esc_check(&t, "GBP", 19999, 0, &g), "escalation:below_threshold");
    assert_int_equal(g.min, 20000);
    assert_int_equal(g.expected_net, 5250);
    /* 200.00 exactly: 67,500,000 - 15,000,000 = 52,500,000 -> 5250 */
    assert_null(sch_esc_check(&t, "GBP", 20000, 0, &g));
    assert_int_equal(g.outstanding, 20000);
    assert_int_equal(g.fixed, 1500);
    assert_int_equal(g.expected_net, 5250);
    /* a currency without a minimum is never handed over */
    assert_string_equal(sch_esc_check(&t, "USD", 1000000, 0, &g), "escalation:below_threshold");
    assert_int_equal(g.min, -1);
    assert_int_equal(g.fixed, 0);
}

static void test_gate_worth(void **state)
{
    (void)state;
    sch_esc_target t = agency();
    sch_esc_gate g;
    /* EUR 100.00: 10000 x 3375 = 33,750,000 - 33,750,000 = 0 -> 0 */
    assert_string_equal(sch_esc_check(&t, "EUR", 10000, 0, &g), "escalation:not_worth_it");
    assert_int_equal(g.expected_net, 0);
    /* 100.01: 3375 / 10^4 = 0.3375 -> 0 */
    assert_string_equal(sch_esc_check(&t, "EUR", 10001, 0, &g), "escalation:not_worth_it");
    assert_int_equal(g.expected_net, 0);
    /* 100.02: 6750 / 10^4 = 0.675 -> 1: the smallest net that hands over */
    assert_null(sch_esc_check(&t, "EUR", 10002, 0, &g));
    assert_int_equal(g.expected_net, 1);
    /* half-up at exactly one half: 40 x 3375 = 135,000 -> 13.5 -> 14 */
    sch_esc_target z = t;
    z.min.n = 0;
    z.fixed.n = 0;
    memcpy(z.min.v[0].code, "GBP", 4);
    z.min.v[0].minor = 0;
    z.min.n = 1;
    assert_null(sch_esc_check(&z, "GBP", 40, 0, &g));
    assert_int_equal(g.expected_net, 14);
    /* 100% commission: nothing comes back */
    z.commission_pct = 100;
    assert_string_equal(sch_esc_check(&z, "GBP", 1000000, 0, &g), "escalation:not_worth_it");
    assert_int_equal(g.expected_net, 0);
    /* the legal target at its minimum: 500000 x 60 x 100 =
     * 3,000,000,000 - 450,000,000 = 2,550,000,000 -> 255000 */
    sch_esc_target l;
    memset(&l, 0, sizeof l);
    l.recovery_pct = 60;
    l.commission_pct = 0;
    l.min.n = l.fixed.n = 1;
    memcpy(l.min.v[0].code, "GBP", 4);
    l.min.v[0].minor = 500000;
    memcpy(l.fixed.v[0].code, "GBP", 4);
    l.fixed.v[0].minor = 45000;
    assert_null(sch_esc_check(&l, "GBP", 500000, 0, &g));
    assert_int_equal(g.expected_net, 255000);
    /* no overflow at 10^18 minor units: 10^18 x 3375 / 10^4 - 1500 */
    assert_null(sch_esc_check(&t, "GBP", 1000000000000000000LL, 0, &g));
    assert_int_equal(g.expected_net, 337500000000000000LL - 1500);
}

static void test_gate_disputed(void **state)
{
    (void)state;
    sch_esc_target t = agency();
    sch_esc_gate g;
    /* a disputed (or planned, or promised) invoice holds the case first */
    assert_string_equal(sch_esc_check(&t, "GBP", 1000000, 1, &g), "escalation:disputed");
    assert_string_equal(sch_esc_check(&t, "GBP", 100, 1, &g), "escalation:disputed");
}

static void test_case_id(void **state)
{
    (void)state;
    char id[22];
    sch_esc_case_id(id, "acme", "C-1", "acme/inv/I-1/step/1/attempt/1");
    assert_string_equal(id, "case-4fe0a5c1b543b7d3");
    sch_esc_case_id(id, "acme", "C-2", "acme/inv/I-2/step/1/attempt/1");
    assert_string_equal(id, "case-a9b018380c4e22b9");
    /* the separators count: "ac" + "me/C-1" is not "acme" + "/C-1" */
    char other[22];
    sch_esc_case_id(other, "ac", "me\0", "acme/inv/I-1/step/1/attempt/1");
    assert_string_not_equal(other, "case-4fe0a5c1b543b7d3");
}

static void test_response_log(void **state)
{
    (void)state;
    char *log = NULL;
    assert_int_equal(sch_esc_log_response(&log, CT_EV_PROMISE_MADE, 1000, "P-1", "50 GBP"), 0);
    assert_string_equal(log, "promise.made\x1e"
                             "1000\x1eP-1\x1e"
                             "50 GBP\x1d");
    /* control characters become spaces (0x1e and 0x1d separate) */
    free(log);
    log = NULL;
    assert_int_equal(sch_esc_log_response(&log, CT_EV_DISPUTE_OPENED, 5, "I\x1e-1", "a\nb"), 0);
    assert_string_equal(log, "dispute.opened\x1e"
                             "5\x1eI -1\x1e"
                             "a b\x1d");
    /* at most SCH_RESPONSES_MAX: the oldest go */
    for (int i = 0; i < SCH_RESPONSES_MAX + 3; i++) {
        char id[16];
        snprintf(id, sizeof id, "L-%d", i);
        assert_int_equal(sch_esc_log_response(&log, CT_EV_CONTACT_LOGGED, i, id, NULL), 0);
    }
    int n = 0;
    for (const char *p = log; *p; p++)
        n += *p == 0x1d;
    assert_int_equal(n, SCH_RESPONSES_MAX);
    assert_non_null(strstr(log, "L-3\x1e"));
    assert_null(strstr(log, "L-2\x1e"));
    assert_null(strstr(log, "dispute.opened"));
    free(log);
}

static int64_t T(const char *s)
{
    int64_t ms;
    assert_int_equal(cm_time_parse_rfc3339(s, &ms), 0);
    return ms;
}

static int32_t D(const char *s)
{
    int32_t d;
    assert_int_equal(cm_date_parse(s, &d), 0);
    return d;
}

static void test_case_file(void **state)
{
    (void)state;
    sch_esc_target t = agency();
    sch_esc_invoice inv[2];
    memset(inv, 0, sizeof inv);
    inv[0] = (sch_esc_invoice){"I-1", "INV-1", D("2026-01-01"),         D("2026-01-31"), 90, 30000,
                               5000,  0,       {25000, 1000, 250, 4000}};
    inv[1] = (sch_esc_invoice){"I-2", NULL, D("2026-02-01"), D("2026-03-03"), 59, 20000,
                               0,     2000, {18000, 0, 0, 0}};
    sch_esc_contact ct[2];
    memset(ct, 0, sizeof ct);
    ct[0].invoice_id = "I-1";
    snprintf(ct[0].command_id, sizeof ct[0].command_id, "acme/inv/I-1/step/0/attempt/1");
    ct[0].at = T("2026-02-01T09:00:00.000Z");
    ct[0].step = 0;
    ct[0].step_name = "+1d";
    ct[0].template_id = "overdue_1";
    ct[0].kind = CT_KIND_REMINDER;
    ct[0].channel = CT_CH_EMAIL;
    ct[1] = ct[0];
    snprintf(ct[1].command_id, sizeof ct[1].command_id, "acme/inv/I-1/step/1/attempt/1");
    ct[1].at = T("2026-02-08T09:00:00.000Z");
    ct[1].step = 1;
    ct[1].step_name = "+7d";
    ct[1].channel = CT_CH_SMS;
    snprintf(ct[1].rule, sizeof ct[1].rule, "opted_out");
    char *log = NULL;
    assert_int_equal(sch_esc_log_response(&log, CT_EV_PROMISE_MADE, T("2026-02-10T10:00:00.000Z"),
                                          "P-1", "100 GBP by 2026-02-20"),
                     0);
    assert_int_equal(
        sch_esc_log_response(&log, CT_EV_PROMISE_BROKEN, T("2026-02-24T00:00:00.000Z"), "P-1", ""),
        0);
    json_t *risk = json_pack("{s:i,s:s,s:[]}", "score", 35, "band", "medium", "contributions");
    /* outstanding: 25000+1000+250+4000 = 30250 and 18000: 48250; net
     * 48250 x 3375 = 162,843,750 - 15,000,000 = 147,843,750 -> 14784.375
     * -> 14784 */
    sch_esc_gate g;
    assert_null(sch_esc_check(&t, "GBP", 48250, 0, &g));
    assert_int_equal(g.expected_net, 14784);
    sch_esc_case k = {"case-4fe0a5c1b543b7d3",
                      "acme",
                      "C-1",
                      T("2026-05-01T08:00:00.000Z"),
                      CT_TO_AGENCY,
                      "GBP",
                      "default",
                      "A",
                      "+90d",
                      "acme/inv/I-1/step/3/attempt/1",
                      3,
                      &t,
                      g,
                      "{\"customer_id\":\"C-1\",\"name\":\"Ada\",\"email\":\"ada@x.test\"}",
                      risk,
                      inv,
                      2,
                      ct,
                      2,
                      log};
    json_t *f = sch_esc_case_file(&k);
    assert_non_null(f);
    char *s = json_dumps(f, JSON_COMPACT);
    assert_string_equal(
        s, "{\"v\":1,\"case_id\":\"case-4fe0a5c1b543b7d3\",\"tenant\":\"acme\",\"customer_id\":"
           "\"C-1\",\"created_at\":\"2026-05-01T08:00:00.000Z\",\"to\":\"agency\",\"currency\":"
           "\"GBP\",\"rule\":{\"strategy\":\"default\",\"variant\":\"A\",\"step\":3,\"step_name\":"
           "\"+90d\",\"command_id\":\"acme/inv/I-1/step/3/attempt/1\"},\"gate\":{"
           "\"outstanding_minor\":48250,\"min_outstanding_minor\":20000,"
           "\"expected_recovery_pct\":45,\"commission_pct\":25,\"cost_fixed_minor\":1500,"
           "\"expected_net_minor\":14784},\"debtor\":{\"customer_id\":\"C-1\",\"name\":\"Ada\","
           "\"email\":\"ada@x.test\"},\"risk\":{\"score\":35,\"band\":\"medium\","
           "\"contributions\":[]},\"invoices\":[{\"invoice_id\":\"I-1\",\"number\":\"INV-1\","
           "\"issued_on\":\"2026-01-01\",\"due_on\":\"2026-01-31\",\"days_overdue\":90,"
           "\"amount_minor\":30000,\"paid_minor\":5000,\"credited_minor\":0,"
           "\"principal_minor\":25000,\"fees_minor\":1000,\"interest_minor\":250,"
           "\"compensation_minor\":4000,\"total_minor\":30250},{\"invoice_id\":\"I-2\","
           "\"issued_on\":\"2026-02-01\",\"due_on\":\"2026-03-03\",\"days_overdue\":59,"
           "\"amount_minor\":20000,\"paid_minor\":0,\"credited_minor\":2000,"
           "\"principal_minor\":18000,\"fees_minor\":0,\"interest_minor\":0,"
           "\"compensation_minor\":0,\"total_minor\":18000}],\"contacts\":[{\"command_id\":"
           "\"acme/inv/I-1/step/0/attempt/1\",\"at\":\"2026-02-01T09:00:00.000Z\","
           "\"invoice_id\":\"I-1\",\"step\":0,\"step_name\":\"+1d\",\"kind\":\"reminder\","
           "\"channel\":\"email\",\"template\":\"overdue_1\",\"result\":\"issued\"},{"
           "\"command_id\":\"acme/inv/I-1/step/1/attempt/1\",\"at\":"
           "\"2026-02-08T09:00:00.000Z\",\"invoice_id\":\"I-1\",\"step\":1,\"step_name\":\"+7d\","
           "\"kind\":\"reminder\",\"channel\":\"sms\",\"template\":\"overdue_1\",\"result\":"
           "\"held\",\"rule\":\"opted_out\"}],\"responses\":[{\"type\":\"promise.made\",\"at\":"
           "\"2026-02-10T10:00:00.000Z\",\"id\":\"P-1\",\"detail\":\"100 GBP by 2026-02-20\"},{"
           "\"type\":\"promise.broken\",\"at\":\"2026-02-24T00:00:00.000Z\",\"id\":\"P-1\"}]}");
    free(s);
    /* the case file obeys its schema (schemas/case.json) */
    json_t *schema = tu_schema_load("case");
    char why[256] = "";
    if (!tu_schema_validate(schema, f, "$", why, sizeof why))
        fail_msg("case file against schemas/case.json: %s", why);
    json_decref(f);
    /* no debtor contact kept: the customer id alone; no risk: no member */
    k.debtor_json = NULL;
    k.risk = NULL;
    k.responses = NULL;
    f = sch_esc_case_file(&k);
    assert_non_null(f);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(f, "debtor"), "customer_id")), "C-1");
    assert_null(json_object_get(f, "risk"));
    assert_int_equal(json_array_size(json_object_get(f, "responses")), 0);
    if (!tu_schema_validate(schema, f, "$", why, sizeof why))
        fail_msg("minimal case file against schemas/case.json: %s", why);
    json_decref(schema);
    json_decref(f);
    json_decref(risk);
    free(log);
}

#define STRAT "\"strategies\":[{\"name\":\"s\",\"ladder\":\"a\"}]"
#define POLICY_HEAD                                                                                \
    "{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\"},{\"offset\":"      \
    "\"+30d\",\"template\":\"h\",\"action\":\"escalation\",\"channel\":\"letter\""

static void test_policy(void **state)
{
    (void)state;
    static const struct {
        const char *json, *want;
    } bad[] = {
        {POLICY_HEAD ",\"to\":\"agency\"}]},\"strategies\":[{\"name\":\"s\",\"ladder\":\"a\"}]}",
         "policy ladders.a[1].to: names a target \"escalation\" does not define"},
        {POLICY_HEAD ",\"to\":\"court\"}]}," STRAT "}",
         "ladders.a[1].to: must be \"agency\" or \"legal\""},
        {"{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\",\"to\":"
         "\"agency\"}]}}",
         "ladders.a[0].to: only an escalation step hands a case over"},
        {POLICY_HEAD "}]}," STRAT ",\"escalation\":{\"agency\":{\"expected_recovery_pct\":45,"
                     "\"commission_pct\":25}}}",
         "policy escalation.agency.min_outstanding_minor: is required"},
        {POLICY_HEAD "}]}," STRAT
                     ",\"escalation\":{\"agency\":{\"min_outstanding_minor\":{\"GBP\":1},"
                     "\"expected_recovery_pct\":101,\"commission_pct\":25}}}",
         "policy escalation.agency.expected_recovery_pct: must be a whole percentage, 0..100"},
        {POLICY_HEAD "}]}," STRAT
                     ",\"escalation\":{\"agency\":{\"min_outstanding_minor\":{\"GBP\":1},"
                     "\"expected_recovery_pct\":45}}}",
         "policy escalation.agency.commission_pct: is required"},
        {POLICY_HEAD "}]}," STRAT
                     ",\"escalation\":{\"agency\":{\"min_outstanding_minor\":{\"XXX\":1},"
                     "\"expected_recovery_pct\":45,\"commission_pct\":25}}}",
         "policy escalation.agency.min_outstanding_minor.XXX: is not an ISO 4217 currency code"},
        {POLICY_HEAD "}]}," STRAT
                     ",\"escalation\":{\"agency\":{\"min_outstanding_minor\":{\"GBP\":1},"
                     "\"expected_recovery_pct\":45,\"commission_pct\":25,\"fee\":1}}}",
         "policy escalation.agency.fee: unknown key"},
        {POLICY_HEAD "}]}," STRAT ",\"escalation\":{\"court\":{}}}",
         "policy escalation.court: unknown key"},
        {POLICY_HEAD "}]}," STRAT ",\"escalation\":{\"on_recall\":\"pause\"}}",
         "policy escalation.on_recall: must be \"resume\" or \"stop\""},
        {POLICY_HEAD "}]}," STRAT ",\"escalation\":[]}", "policy escalation: must be an object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sch_policy p;
        char err[512] = "";
        assert_int_equal(sch_policy_parse(bad[i].json, &p, err, sizeof err), -1);
        if (!strstr(err, bad[i].want))
            fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, err, bad[i].want);
    }
    /* a good one: both targets, on_recall stop; the placeholder {comment} is off */
    sch_policy p;
    char err[512] = "";
    const char *good =
        POLICY_HEAD ",\"to\":\"legal\"}]},\"strategies\":[{\"name\":\"s\",\"ladder\":\"a\"}],"
                    "\"escalation\":{\"agency\":{\"min_outstanding_minor\":{\"GBP\":20000},"
                    "\"expected_recovery_pct\":45,\"commission_pct\":25,\"cost_fixed_minor\":{"
                    "\"GBP\":1500}},\"legal\":{\"min_outstanding_minor\":{\"GBP\":500000},"
                    "\"expected_recovery_pct\":60,\"commission_pct\":0,\"cost_fixed_minor\":{"
                    "\"GBP\":45000}},\"on_recall\":\"stop\"}}";
    assert_int_equal(sch_policy_parse(good, &p, err, sizeof err), 0);
    assert_true(p.escalation.enabled);
    assert_int_equal(p.escalation.resume_on_recall, 0);
    assert_int_equal(p.escalation.to[CT_TO_LEGAL].recovery_pct, 60);
    assert_int_equal(p.escalation.to[CT_TO_AGENCY].fixed.v[0].minor, 1500);
    assert_int_equal(p.ladders[0].steps[1].to, CT_TO_LEGAL);
    assert_int_equal(p.ladders[0].steps[0].to, CT_TO_NONE);
    sch_policy_free(&p);
    const char *off = POLICY_HEAD "}]},\"strategies\":[{\"name\":\"s\",\"ladder\":\"a\"}],"
                                  "\"escalation\":{\"comment\":\"reserved\"}}";
    assert_int_equal(sch_policy_parse(off, &p, err, sizeof err), 0);
    assert_false(p.escalation.enabled);
    assert_int_equal(p.escalation.resume_on_recall, 1);
    sch_policy_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gate_threshold), cmocka_unit_test(test_gate_worth),
        cmocka_unit_test(test_gate_disputed),  cmocka_unit_test(test_case_id),
        cmocka_unit_test(test_response_log),   cmocka_unit_test(test_case_file),
        cmocka_unit_test(test_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
