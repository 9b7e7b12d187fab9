/* test_notifier_outcome.c -- the notifier's records through the contract:
 * contact outcomes are byte-identical to what the notifier wrote before the
 * contract existed (jansson's compact, order-preserving dump of the same
 * members, rebuilt here), the decoder reads them back and names the field
 * it refuses, task records keep unknown command members, and the fatal
 * producer policy (cm_kafka_fatal) reports librdkafka's fatal error, and a
 * task is queued until its not_after, then failed like an expired send, and
 * a provider's answer is logged with the debtor's contact details masked. Pure
 * logic: no broker (a producer is created but never connects). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/notifier/contact.h"
#include "../../services/notifier/vars.h"
#include "buf.h"
#include "clock.h"
#include "kafka.h"
#include "outcome.h"
#include "str.h"
#include "event.h"
#include "event_decode_test.h"

static const char *good =
    "{\"v\":1,\"command_id\":\"acme/inv/INV-1/step/2/attempt/1\",\"kind\":\"reminder\","
    "\"tenant\":\"acme\",\"channel\":\"email\",\"template\":\"overdue_7\",\"locale\":\"en-GB\","
    "\"strategy\":\"default\",\"variant\":\"A\",\"step\":2,\"created_at\":\"2026-03-08T09:00:00."
    "000Z\",\"customer\":{\"customer_id\":\"C-1\",\"name\":\"Ada \\\"Ltd\\\"\",\"email\":"
    "\"ap@ada.test\"},\"currency\":\"EUR\",\"amounts\":{\"total\":12000},"
    "\"invoices\":[{\"invoice_id\":\"INV-1\",\"due_on\":\"2026-03-01\"},"
    "{\"invoice_id\":\"INV-\\u00e9\\\"2\\\\\"}],\"future_member\":{\"x\":[1,2]}}";

/* The notifier's contact writer before the contract (contact.c at
 * 2b44526), over the command's JSON tree. */
static char *old_contact(json_t *cmd, const ntf_outcome *o)
{
    json_t *e = json_object();
    char at[40];
    json_t *ids = json_array(), *it;
    size_t i;
    cm_time_format_rfc3339(o->at_ms, at, sizeof at);
    json_array_foreach(json_object_get(cmd, "invoices"), i, it)
    {
        json_t *id = json_object_get(it, "invoice_id");
        if (json_is_string(id))
            json_array_append(ids, id);
    }
    static const char *const first[][2] = {
        {"id", "command_id"}, {"command_id", "command_id"}, {"kind", "kind"}, {"tenant", "tenant"}};
    json_object_set_new(e, "v", json_integer(1));
    json_object_set_new(e, "type", json_string(o->sent ? "contact.sent" : "contact.failed"));
    for (i = 0; i < 4; i++)
        json_object_set(e, first[i][0], json_object_get(cmd, first[i][1]));
    json_object_set(e, "customer_id",
                    json_object_get(json_object_get(cmd, "customer"), "customer_id"));
    json_object_set_new(e, "invoice_ids", ids);
    static const char *const then[] = {"channel", "template", "strategy", "variant", "step"};
    for (i = 0; i < 5; i++)
        if (json_object_get(cmd, then[i]))
            json_object_set(e, then[i], json_object_get(cmd, then[i]));
    json_object_set_new(e, "provider_status", json_string(o->provider_status));
    json_object_set_new(e, "attempts", json_integer(o->attempts));
    json_object_set_new(e, "latency_ms", json_integer(o->latency_ms));
    json_object_set_new(e, "at", json_string(at));
    json_object_set(e, "currency", json_object_get(cmd, "currency"));
    json_object_set(e, "amount_total_minor",
                    json_object_get(json_object_get(cmd, "amounts"), "total"));
    if (o->message_id[0])
        json_object_set_new(e, "message_id", json_string(o->message_id));
    if (!o->sent)
        json_object_set_new(e, "reason", json_string(o->reason));
    char *s = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(e);
    return s;
}

static void test_contact_bytes(void **state)
{
    (void)state;
    char err[512];
    ntf_command c;
    assert_int_equal(ntf_command_parse(good, strlen(good), &c, err, sizeof err), 0);
    ntf_outcome sent = {1, "250", 1, 41, 1772960401000, "", "<ntf.1@acme.test>"};
    ntf_outcome failed = {0, "550", 3, 900, 1772960401123, "SMTP 550: \"no\" such\tuser", ""};
    const ntf_outcome *os[] = {&sent, &failed};
    json_t *cj = json_loads(good, 0, NULL);
    assert_non_null(cj);
    for (size_t i = 0; i < 2; i++) {
        char *now = ntf_contact_json(&c, os[i]), *before = old_contact(cj, os[i]);
        assert_non_null(now);
        assert_string_equal(now, before);
        free(now);
        free(before);
    }
    json_decref(cj);
    ntf_command_free(&c);
}

static void test_contact_decode(void **state)
{
    (void)state;
    char err[512];
    ntf_command c;
    assert_int_equal(ntf_command_parse(good, strlen(good), &c, err, sizeof err), 0);
    ntf_outcome o = {0, "", 2, 7, 1772960401000, "timeout", ""};
    char *s = ntf_contact_json(&c, &o);
    json_t *j = json_loads(s, 0, NULL);
    assert_non_null(j);
    ct_contact k;
    assert_int_equal(ct_test_contact_decode(j, &k, err, sizeof err), 0);
    assert_int_equal(k.type, CT_OUT_FAILED);
    assert_string_equal(k.id, "acme/inv/INV-1/step/2/attempt/1");
    assert_int_equal(k.kind, CT_KIND_REMINDER);
    assert_int_equal(k.channel, CT_CH_EMAIL);
    assert_int_equal(k.ninvoice_ids, 2);
    assert_string_equal(k.invoice_ids[1], "INV-\xc3\xa9\"2\\");
    assert_true(k.has_step && k.step == 2);
    assert_int_equal(k.at_ms, 1772960401000);
    assert_true(k.has_amount && k.amount_total_minor == 12000);
    assert_string_equal(k.provider_status, "");
    assert_string_equal(k.reason, "timeout");
    /* re-encoding what was decoded gives the same bytes */
    cm_buf b = CM_BUF_INIT;
    assert_int_equal(ct_contact_encode(&k, &b), 0);
    assert_string_equal(b.p, s);
    cm_buf_free(&b);
    json_decref(j);
    free(s);
    ntf_command_free(&c);

    /* each refusal names its field */
    static const char *const bad[][2] = {
        {"{\"type\":\"contact.lost\",\"id\":\"x\",\"tenant\":\"t\",\"at\":\"2026-03-08T09:00:"
         "00Z\"}",
         "type"},
        {"{\"type\":\"contact.sent\",\"tenant\":\"t\",\"at\":\"2026-03-08T09:00:00Z\"}", "id"},
        {"{\"type\":\"contact.sent\",\"id\":\"x\",\"at\":\"2026-03-08T09:00:00Z\"}", "tenant"},
        {"{\"type\":\"contact.sent\",\"id\":\"x\",\"tenant\":\"t\",\"at\":\"yesterday\"}", "at"},
        {"{\"type\":\"contact.sent\",\"id\":\"x\",\"tenant\":\"t\",\"at\":\"2026-03-08T09:00:00Z\","
         "\"channel\":\"pigeon\"}",
         "channel"},
        {"{\"type\":\"contact.sent\",\"id\":\"x\",\"tenant\":\"t\",\"at\":\"2026-03-08T09:00:00Z\","
         "\"invoice_ids\":[\"a\",7]}",
         "invoice_ids[1]"},
        {"{\"type\":\"contact.sent\",\"id\":\"x\",\"tenant\":\"t\",\"at\":\"2026-03-08T09:00:00Z\","
         "\"step\":\"two\"}",
         "step"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = json_loads(bad[i][0], 0, NULL);
        assert_non_null(j);
        assert_int_equal(ct_test_contact_decode(j, &k, err, sizeof err), -1);
        if (strncmp(err, bad[i][1], strlen(bad[i][1])) != 0 || err[strlen(bad[i][1])] != ':')
            fail_msg("'%s' should name %s, says '%s'", bad[i][0], bad[i][1], err);
        json_decref(j);
    }
    /* a 201-byte customer id is over CT_ID_MAX; 200 bytes is not */
    char big[600];
    for (int n = 200; n <= 201; n++) {
        snprintf(big, sizeof big,
                 "{\"type\":\"contact.sent\",\"command_id\":\"x\",\"tenant\":\"t\","
                 "\"at\":\"2026-03-08T09:00:00Z\",\"customer_id\":\"%0*d\",\"step\":\"3\"}",
                 n, 0);
        j = json_loads(big, 0, NULL);
        assert_int_equal(ct_test_contact_decode(j, &k, err, sizeof err), n == 200 ? 0 : -1);
        if (n == 200) {
            assert_string_equal(k.id, "x"); /* from command_id */
            assert_true(k.has_step && k.step == 3);
        } else {
            assert_non_null(strstr(err, "customer_id"));
        }
        json_decref(j);
    }
}

static void test_task(void **state)
{
    (void)state;
    char err[512];
    ntf_command c;
    const char *task_cmd_from = "\"channel\":\"email\"";
    const char *p = strstr(good, task_cmd_from);
    char s[2048];
    snprintf(s, sizeof s, "%.*s\"channel\":\"call_task\"%s", (int)(p - good), good,
             p + strlen(task_cmd_from));
    assert_int_equal(ntf_command_parse(s, strlen(s), &c, err, sizeof err), 0);
    char *t = ntf_task_json(&c);
    assert_non_null(t);
    /* the command as received, unknown members too, plus task_id */
    assert_non_null(strstr(t, "\"future_member\":{\"x\":[1,2]}"));
    assert_non_null(strstr(t, ",\"task_id\":\"acme/inv/INV-1/step/2/attempt/1\"}"));
    json_t *j = json_loads(t, 0, NULL);
    ct_task k;
    ct_command kc;
    assert_int_equal(ct_task_decode(ct_test_jv(j), &k, &kc, err, sizeof err), 0);
    assert_string_equal(k.task_id, kc.command_id);
    assert_int_equal(kc.channel, CT_CH_CALL_TASK);
    json_object_set_new(j, "task_id", json_string("other"));
    assert_int_equal(ct_task_decode(ct_test_jv(j), &k, &kc, err, sizeof err), -1);
    assert_non_null(strstr(err, "task_id"));
    json_decref(j);
    free(t);
    ntf_command_free(&c);
}

/* A call_task (and a letter) is queued until its not_after, then answered
 * as an expired send is: contact.failed, the not_after reason, no task.
 * not_after 2026-03-08T17:00:00Z worked by hand: 2026-01-01 is day 20454
 * (2024-01-01 = 19723, + 366 + 365), + 31 + 28 + 7 days = 20520;
 * 20520 * 86400 + 17 * 3600 = 1772989200 s. */
static void test_task_not_after(void **state)
{
    (void)state;
    const int64_t na = 1772989200000;
    char err[512];
    const char *from = "\"channel\":\"email\"";
    const char *p = strstr(good, from);
    static const char *const chans[] = {"call_task", "letter"};
    for (int k = 0; k < 2; k++) {
        char s[2048];
        ntf_command c;
        snprintf(s, sizeof s, "%.*s\"channel\":\"%s\",\"not_after\":\"2026-03-08T17:00:00.000Z\"%s",
                 (int)(p - good), good, chans[k], p + strlen(from));
        assert_int_equal(ntf_command_parse(s, strlen(s), &c, err, sizeof err), 0);
        assert_int_equal(c.c.has_not_after, 1);
        assert_true(c.c.not_after_ms == na);
        /* 16:59:59.999 and 17:00:00.000 itself: not passed, queued */
        const int64_t before[] = {na - 1, na};
        for (int i = 0; i < 2; i++) {
            ntf_outcome o;
            memset(&o, 0, sizeof o);
            assert_int_equal(ntf_not_after_passed(&c, before[i]), 0);
            ntf_task_outcome(&c, before[i], &o);
            assert_int_equal(o.sent, 1);
            assert_string_equal(o.provider_status, "queued");
            assert_string_equal(o.reason, "");
        }
        /* 17:00:00.001 and a day later: failed, like an expired send */
        const int64_t after[] = {na + 1, na + 86400000};
        for (int i = 0; i < 2; i++) {
            ntf_outcome o;
            memset(&o, 0, sizeof o);
            cm_strlcpy(o.provider_status, "stale", sizeof o.provider_status);
            assert_int_equal(ntf_not_after_passed(&c, after[i]), 1);
            ntf_task_outcome(&c, after[i], &o);
            assert_int_equal(o.sent, 0);
            assert_string_equal(o.provider_status, "");
            assert_string_equal(o.reason, "not sent: not_after has passed");
            o.at_ms = after[i];
            char *e = ntf_contact_json(&c, &o);
            assert_non_null(e);
            assert_non_null(strstr(e, "\"type\":\"contact.failed\""));
            assert_non_null(strstr(e, "\"reason\":\"not sent: not_after has passed\""));
            free(e);
        }
        ntf_command_free(&c);
    }
    /* no not_after: queued whenever it is taken */
    {
        char s[2048];
        ntf_command c;
        ntf_outcome o;
        memset(&o, 0, sizeof o);
        snprintf(s, sizeof s, "%.*s\"channel\":\"call_task\"%s", (int)(p - good), good,
                 p + strlen(from));
        assert_int_equal(ntf_command_parse(s, strlen(s), &c, err, sizeof err), 0);
        assert_int_equal(ntf_not_after_passed(&c, na + 86400000), 0);
        ntf_task_outcome(&c, na + 86400000, &o);
        assert_int_equal(o.sent, 1);
        assert_string_equal(o.provider_status, "queued");
        ntf_command_free(&c);
    }
}

/* A provider's answer logged with the debtor's e-mail and phone masked
 * (masks worked by hand: "ap@ada.test" -> "a***@ada.test", 12 digits
 * "+447700900123" -> "+4477" + 6 stars + "23"). */
static void test_log_scrub(void **state)
{
    (void)state;
    char err[512], out[512];
    const char *from = "\"email\":\"ap@ada.test\"";
    const char *p = strstr(good, from);
    char s[2048];
    snprintf(s, sizeof s, "%.*s\"email\":\"ap@ada.test\",\"phone\":\"+447700900123\"%s",
             (int)(p - good), good, p + strlen(from));
    ntf_command c;
    assert_int_equal(ntf_command_parse(s, strlen(s), &c, err, sizeof err), 0);
    ntf_log_scrub(&c,
                  "HTTP 400: {\"message\":\"The 'To' number +447700900123 is not valid\","
                  "\"to\":\"447700900123\"} for ap@ada.test",
                  out, sizeof out);
    assert_string_equal(out, "HTTP 400: {\"message\":\"The 'To' number +4477******23 is not "
                             "valid\",\"to\":\"4477******23\"} for a***@ada.test");
    ntf_log_scrub(&c, "SMTP 550 (not retried)", out, sizeof out);
    assert_string_equal(out, "SMTP 550 (not retried)");
    ntf_log_scrub(&c, "x ap@ada.test", out, 12); /* 11 bytes and the NUL */
    assert_string_equal(out, "x a***@ada.");
    ntf_command_free(&c);
    /* no phone in the command: only the e-mail is masked */
    assert_int_equal(ntf_command_parse(good, strlen(good), &c, err, sizeof err), 0);
    ntf_log_scrub(&c, "<ap@ada.test> +447700900123", out, sizeof out);
    assert_string_equal(out, "<a***@ada.test> +447700900123");
    ntf_command_free(&c);
}

static void test_kafka_fatal(void **state)
{
    (void)state;
    char err[512];
    cm_kafka_dr dr;
    assert_int_equal(cm_kafka_fatal(NULL, err, sizeof err), 0);
    rd_kafka_t *rk = cm_kafka_producer_new("127.0.0.1:9", "test", &dr, 0, err, sizeof err);
    assert_non_null(rk);
    assert_int_equal(cm_kafka_fatal(rk, err, sizeof err), 0);
    assert_int_equal(rd_kafka_test_fatal_error(rk, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                                               "sequence broken"),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    for (int i = 0; i < 2; i++) { /* and it stays */
        err[0] = 0;
        assert_int_equal(cm_kafka_fatal(rk, err, sizeof err), -1);
        assert_non_null(strstr(err, "producer"));
        assert_non_null(strstr(err, "sequence broken"));
    }
    rd_kafka_destroy(rk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contact_bytes), cmocka_unit_test(test_contact_decode),
        cmocka_unit_test(test_task),          cmocka_unit_test(test_task_not_after),
        cmocka_unit_test(test_log_scrub),     cmocka_unit_test(test_kafka_fatal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
