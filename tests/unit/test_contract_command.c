/* test_contract_command.c -- the command codec (contract/command.h) and
 * its optional "rules": a command without rules encodes byte for byte as
 * it did before the field existed; rules encode last, decode back to the
 * same names and re-encode to the same bytes; the decoder refuses rules
 * that break the contract's limits (16 entries, 1..64 bytes of printable
 * ASCII), naming the field.
 *
 * Design: one command with every optional section but payment is built by
 * hand (fill); GOLDEN is its encoding as written by the encoder before
 * rules were added (checked against that encoder when this test was
 * written), so any later change to the bytes of a rule-less command shows
 * here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "buf.h"
#include "clock.h"
#include "command.h"

#define GOLDEN                                                                                     \
    "{\"v\":1,\"command_id\":\"acme/inv/INV-1/step/2/attempt/1\",\"kind\":\"reminder\","           \
    "\"tenant\":\"acme\",\"channel\":\"email\",\"template\":\"overdue_7\",\"locale\":\"en-GB\","   \
    "\"strategy\":\"default\",\"variant\":\"A\",\"created_at\":\"2026-03-08T09:00:00.000Z\","      \
    "\"scheduled_at\":\"2026-03-08T09:00:00.000Z\",\"customer\":{\"customer_id\":\"C-1\","         \
    "\"name\":\"Ada Ltd\",\"email\":\"ap@ada.test\"},\"currency\":\"EUR\",\"amounts\":{"           \
    "\"principal\":12000,\"fees\":0,\"interest\":0,\"compensation\":0,\"total\":12000},"           \
    "\"invoices\":[{\"invoice_id\":\"INV-1\",\"number\":\"2026-0001\",\"issued_on\":"              \
    "\"2026-02-01\",\"due_on\":\"2026-03-01\",\"days_overdue\":7,\"currency\":\"EUR\","            \
    "\"amount_minor\":12000,\"outstanding_minor\":12000}],\"step\":2,\"step_name\":\"+7d\","       \
    "\"attempt\":1,\"not_after\":\"2026-03-09T09:00:00.000Z\"}"

static void fill(ct_command *c)
{
    memset(c, 0, sizeof *c);
    c->v = CT_VERSION;
    c->command_id = "acme/inv/INV-1/step/2/attempt/1";
    c->kind = CT_KIND_REMINDER;
    c->tenant = "acme";
    c->channel = CT_CH_EMAIL;
    c->template_id = "overdue_7";
    c->locale = "en-GB";
    c->strategy = "default";
    c->variant = "A";
    assert_int_equal(cm_time_parse_rfc3339("2026-03-08T09:00:00Z", &c->created_at_ms), 0);
    c->scheduled_at_ms = c->created_at_ms;
    c->customer.customer_id = "C-1";
    c->customer.name = "Ada Ltd";
    c->customer.email = "ap@ada.test";
    c->currency = "EUR";
    c->amounts = (ct_command_amounts){12000, 0, 0, 0, 12000};
    c->ninvoices = 1;
    ct_command_invoice *in = &c->invoices[0];
    in->invoice_id = "INV-1";
    in->number = "2026-0001";
    assert_int_equal(cm_date_parse("2026-02-01", &in->issued_on), 0);
    assert_int_equal(cm_date_parse("2026-03-01", &in->due_on), 0);
    in->days_overdue = 7;
    in->currency = "EUR";
    in->amount_minor = in->outstanding_minor = 12000;
    c->has_step = 1;
    c->step = 2;
    c->step_name = "+7d";
    c->attempt = 1;
    c->has_not_after = 1;
    c->not_after_ms = c->created_at_ms + 86400000;
}

static char *encode(const ct_command *c)
{
    cm_buf b = CM_BUF_INIT;
    assert_int_equal(ct_command_encode(c, &b), 0);
    return cm_buf_take(&b, NULL);
}

static void test_no_rules_bytes(void **state)
{
    (void)state;
    ct_command c;
    fill(&c);
    char *js = encode(&c);
    assert_string_equal(js, GOLDEN);
    free(js);
    /* a rules pointer with nrules 0 writes nothing either */
    c.rules[0] = "window:moved";
    js = encode(&c);
    assert_string_equal(js, GOLDEN);

    /* and decodes with no rules */
    json_t *j = json_loads(js, 0, NULL);
    ct_command d;
    char err[256];
    assert_non_null(j);
    if (ct_command_decode(j, &d, err, sizeof err) != 0)
        fail_msg("golden command refused: %s", err);
    assert_int_equal(d.nrules, 0);
    json_decref(j);
    free(js);
}

static void test_rules_round_trip(void **state)
{
    (void)state;
    ct_command c, d;
    char err[256];
    fill(&c);
    c.rules[0] = "window:moved";
    c.rules[1] = "cap:sms,email:3/7d";
    c.rules[2] = "channel:fallback:email";
    c.nrules = 3;
    char *js = encode(&c);
    const char *want_tail =
        ",\"rules\":[\"window:moved\",\"cap:sms,email:3/7d\",\"channel:fallback:email\"]}";
    char want[4096];
    snprintf(want, sizeof want, "%.*s%s", (int)strlen(GOLDEN) - 1, GOLDEN, want_tail);
    assert_string_equal(js, want);

    json_t *j = json_loads(js, 0, NULL);
    assert_non_null(j);
    if (ct_command_decode(j, &d, err, sizeof err) != 0)
        fail_msg("command with rules refused: %s", err);
    assert_int_equal(d.nrules, 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(d.rules[i], c.rules[i]);
    d.customer_json = NULL;
    char *again = encode(&d);
    assert_string_equal(again, js);
    free(again);
    json_decref(j);
    free(js);

    /* the limits themselves pass: 16 entries of 64 bytes, spaces and '~' */
    char big[CT_COMMAND_RULES_MAX][CT_COMMAND_RULE_MAX + 1];
    fill(&c);
    for (size_t i = 0; i < CT_COMMAND_RULES_MAX; i++) {
        memset(big[i], 'a' + (int)i, CT_COMMAND_RULE_MAX);
        big[i][0] = ' ';
        big[i][CT_COMMAND_RULE_MAX - 1] = '~';
        big[i][CT_COMMAND_RULE_MAX] = 0;
        c.rules[c.nrules++] = big[i];
    }
    js = encode(&c);
    j = json_loads(js, 0, NULL);
    assert_non_null(j);
    if (ct_command_decode(j, &d, err, sizeof err) != 0)
        fail_msg("16 rules of 64 bytes refused: %s", err);
    assert_int_equal(d.nrules, CT_COMMAND_RULES_MAX);
    assert_string_equal(d.rules[15], big[15]);
    json_decref(j);
    free(js);
}

/* GOLDEN with "rules": value; decoding must fail with err starting want
 * (want NULL: must succeed). */
static void decode_rules(const char *value, const char *want)
{
    char text[8192], err[256] = "";
    snprintf(text, sizeof text, "%.*s,\"rules\":%s}", (int)strlen(GOLDEN) - 1, GOLDEN, value);
    json_error_t je;
    json_t *j = json_loads(text, JSON_ALLOW_NUL, &je);
    if (!j)
        fail_msg("bad test JSON: %s: %s", je.text, text);
    ct_command d;
    int rc = ct_command_decode(j, &d, err, sizeof err);
    if (!want && rc != 0)
        fail_msg("rules %s refused: %s", value, err);
    if (want && (rc == 0 || strncmp(err, want, strlen(want)) != 0))
        fail_msg("rules %s: error \"%s\", expected it to start \"%s\"", value, err, want);
    /* the rest of the command is still decoded */
    assert_string_equal(d.command_id, "acme/inv/INV-1/step/2/attempt/1");
    json_decref(j);
}

static void test_rules_refused(void **state)
{
    (void)state;
    char many[1024] = "[";
    for (int i = 0; i <= CT_COMMAND_RULES_MAX; i++)
        strcat(many, i ? ",\"r\"" : "\"r\"");
    strcat(many, "]");
    decode_rules(many, "rules: more than 16 items");
    char long_rule[128];
    snprintf(long_rule, sizeof long_rule, "[\"%0*d\"]", CT_COMMAND_RULE_MAX + 1, 0);
    decode_rules(long_rule, "rules[0]: must be 1..64 bytes of printable ASCII");
    decode_rules("[\"ok\",\"\"]", "rules[1]: must be 1..64 bytes");
    decode_rules("[\"caf\\u00e9\"]", "rules[0]: must be 1..64 bytes");
    decode_rules("[\"a\\tb\"]", "rules[0]: must be 1..64 bytes");
    decode_rules("[\"a\\u0000b\"]", "rules[0]: must be 1..64 bytes");
    decode_rules("[7]", "rules[0]: must be 1..64 bytes");
    decode_rules("\"window:moved\"", "rules: must be a list");
    decode_rules("null", NULL);
    decode_rules("[]", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_rules_bytes),
        cmocka_unit_test(test_rules_round_trip),
        cmocka_unit_test(test_rules_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
