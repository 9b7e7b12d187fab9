/* test_notifier_command.c -- command validation (errors name the field),
 * contact and task records, the tenants file, template lookup fallbacks
 * and the email/SMS/webhook requests built from a command. Pure logic
 * (files in a temp directory, no servers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../services/notifier/vars.h"
#include "../../services/notifier/config.h"
#include "../../services/notifier/contact.h"
#include "../../services/notifier/message.h"
#include "../../services/notifier/templates.h"

static const char *good =
    "{\"v\":1,\"command_id\":\"acme/inv/INV-1/step/2/attempt/1\",\"kind\":\"reminder\","
    "\"tenant\":\"acme\",\"channel\":\"email\",\"template\":\"overdue_7\",\"locale\":\"en-GB\","
    "\"strategy\":\"default\",\"variant\":\"A\",\"step\":2,\"created_at\":\"2026-03-08T09:00:00."
    "000Z\","
    "\"customer\":{\"customer_id\":\"C-1\",\"name\":\"Ada Ltd\",\"email\":\"ap@ada.test\","
    "\"phone\":\"+447700900123\"},\"currency\":\"EUR\",\"amounts\":{\"total\":12000},"
    "\"invoices\":[{\"invoice_id\":\"INV-1\",\"number\":\"2026-0001\",\"due_on\":\"2026-03-01\","
    "\"days_overdue\":7,\"outstanding_minor\":12000}]}";

/* good with one substitution of from -> to */
static char *variant(const char *from, const char *to)
{
    const char *p = strstr(good, from);
    assert_non_null(p);
    char *s = malloc(strlen(good) + strlen(to) + 1);
    size_t a = (size_t)(p - good);
    memcpy(s, good, a);
    strcpy(s + a, to);
    strcat(s, p + strlen(from));
    return s;
}

static void expect_error(const char *from, const char *to, const char *field, int identified)
{
    char err[512];
    ntf_command c;
    char *s = variant(from, to);
    assert_int_equal(ntf_command_parse(s, strlen(s), &c, err, sizeof err), -1);
    if (!strstr(err, field))
        fail_msg("error '%s' does not name '%s'", err, field);
    assert_int_equal(c.c.command_id != NULL, identified);
    ntf_command_free(&c);
    free(s);
}

static void test_parse(void **state)
{
    (void)state;
    char err[512];
    ntf_command c;
    assert_int_equal(ntf_command_parse(good, strlen(good), &c, err, sizeof err), 0);
    assert_string_equal(c.c.command_id, "acme/inv/INV-1/step/2/attempt/1");
    assert_int_equal(c.c.channel, CT_CH_EMAIL);
    assert_int_equal(c.c.amounts.total, 12000);
    assert_int_equal(c.c.has_not_after, 0);
    ntf_command_free(&c);

    assert_int_equal(ntf_command_parse("nope", 4, &c, err, sizeof err), -1);
    assert_null(c.c.command_id);
    ntf_command_free(&c);
    expect_error("\"command_id\":\"acme/inv/INV-1/step/2/attempt/1\"", "\"command_id\":\"a b\"",
                 "command_id", 0);
    expect_error("\"kind\":\"reminder\"", "\"kind\":\"shout\"", "kind", 1);
    expect_error("\"channel\":\"email\"", "\"channel\":\"pigeon\"", "channel", 1);
    expect_error("\"email\":\"ap@ada.test\"", "\"email\":\"nobody\"", "customer.email", 1);
    expect_error("\"template\":\"overdue_7\"", "\"template\":\"../etc/passwd\"", "template", 1);
    expect_error("\"template\":\"overdue_7\"", "\"template\":\"_opt_out\"", "template", 1);
    expect_error("\"created_at\":\"2026-03-08T09:00:00.000Z\"", "\"created_at\":\"yesterday\"",
                 "created_at", 1);
    expect_error("\"v\":1", "\"v\":2", "v:", 1);
    expect_error("\"customer_id\":\"C-1\"", "\"customer_id\":\"\"", "customer.customer_id", 1);
}

static void test_sms_phone_rule(void **state)
{
    (void)state;
    char err[512];
    ntf_command c;
    char *s = variant("\"channel\":\"email\"", "\"channel\":\"sms\"");
    assert_int_equal(ntf_command_parse(s, strlen(s), &c, err, sizeof err), 0);
    ntf_command_free(&c);
    free(s);
    s = variant("\"phone\":\"+447700900123\"", "\"phone\":\"07700 900123\"");
    char *t = strdup(s);
    free(s);
    s = t;
    char *sms = strstr(s, "\"channel\":\"email\"");
    memcpy(sms, "\"channel\":\"sms\"  ", 17);
    assert_int_equal(ntf_command_parse(s, strlen(s), &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "customer.phone"));
    ntf_command_free(&c);
    free(s);
}

static void test_contact_and_task(void **state)
{
    (void)state;
    char err[512];
    ntf_command c;
    assert_int_equal(ntf_command_parse(good, strlen(good), &c, err, sizeof err), 0);
    ntf_outcome o;
    memset(&o, 0, sizeof o);
    o.sent = 0;
    strcpy(o.provider_status, "550");
    o.attempts = 1;
    o.latency_ms = 12;
    o.at_ms = 1772960401000;
    strcpy(o.reason, "SMTP 550: no such user");
    char *ev = ntf_contact_json(&c, &o);
    json_t *j = json_loads(ev, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "contact.failed");
    assert_string_equal(json_string_value(json_object_get(j, "id")), c.c.command_id);
    assert_string_equal(json_string_value(json_object_get(j, "at")), "2026-03-08T09:00:01.000Z");
    assert_string_equal(json_string_value(json_object_get(j, "reason")), o.reason);
    assert_int_equal(json_integer_value(json_object_get(j, "step")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "amount_total_minor")), 12000);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "invoice_ids"), 0)),
                        "INV-1");
    json_decref(j);
    free(ev);
    o.sent = 1;
    ev = ntf_contact_json(&c, &o);
    assert_null(strstr(ev, "reason"));
    free(ev);
    char *task = ntf_task_json(&c);
    assert_non_null(strstr(task, "\"task_id\":\"acme/inv/INV-1/step/2/attempt/1\""));
    free(task);
    char key[128];
    ntf_contact_key(&c, key, sizeof key);
    assert_string_equal(key, "acme/C-1");
    ntf_command_free(&c);
}

static void put(const char *path, const char *text)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(dir, 0700);
            *p = '/';
        }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_tenants_and_templates(void **state)
{
    (void)state;
    char tmp[] = "/tmp/ntf-unit-XXXXXX", path[600], err[512];
    assert_non_null(mkdtemp(tmp));
    snprintf(path, sizeof path, "%s/secret", tmp);
    put(path, "whsec_dGVzdA==\n");
    char tf[600];
    snprintf(tf, sizeof tf, "%s/tenants.json", tmp);
    char body[1024];
    snprintf(body, sizeof body,
             "{\"acme\":{\"webhook_url\":\"http://h/acme\",\"webhook_secret_file\":\"%s\"}}", path);
    put(tf, body);
    ntf_config cfg;
    memset(&cfg, 0, sizeof cfg);
    ntf_config_set(&cfg.global, "webhook_url", "http://h/default");
    assert_int_equal(ntf_config_load_tenants(&cfg, tf, err, sizeof err), 0);
    const ntf_tenant_cfg *t = ntf_config_tenant(&cfg, "acme");
    assert_string_equal(t->webhook_url, "http://h/acme");
    assert_string_equal(t->webhook_secret, "whsec_dGVzdA==");
    assert_string_equal(ntf_config_tenant(&cfg, "other")->webhook_url, "http://h/default");
    ntf_config_free(&cfg);
    put(tf, "{\"acme\":{\"smtp_url_file\":\"x\"}}");
    memset(&cfg, 0, sizeof cfg);
    assert_int_equal(ntf_config_load_tenants(&cfg, tf, err, sizeof err), -1);
    assert_non_null(strstr(err, "smtp_url_file"));
    ntf_config_free(&cfg);
    put(tf, "{\"acme\":{\"webhook_secret\":\"plain\"}}");
    memset(&cfg, 0, sizeof cfg);
    assert_int_equal(ntf_config_load_tenants(&cfg, tf, err, sizeof err), -1);
    assert_non_null(strstr(err, "whsec_"));
    ntf_config_free(&cfg);

    /* template lookup: exact, same language, default tenant, en-GB */
    const char *files[] = {"default/en-GB/sms/a.txt",       "default/de-DE/sms/a.txt",
                           "acme/de-CH/sms/a.txt",          "acme/en-GB/sms/b.txt",
                           "default/en-GB/email/a.subject", "default/en-GB/email/a.txt",
                           "..data/en-GB/sms/a.txt"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/tpl/%s", tmp, files[i]);
        put(path, files[i]);
    }
    snprintf(path, sizeof path, "%s/tpl", tmp);
    ntf_templates *tpl = ntf_templates_load(path, err, sizeof err);
    assert_non_null(tpl);
    assert_int_equal(ntf_templates_count(tpl), 6); /* ..data skipped */
    ntf_template_set set;
    assert_int_equal(ntf_templates_find(tpl, "acme", "de-CH", "sms", "a", &set, err, sizeof err),
                     0);
    assert_string_equal(set.text, "acme/de-CH/sms/a.txt");
    assert_int_equal(ntf_templates_find(tpl, "acme", "de-AT", "sms", "a", &set, err, sizeof err),
                     0);
    assert_string_equal(set.text, "acme/de-CH/sms/a.txt");
    assert_int_equal(ntf_templates_find(tpl, "zed", "de-AT", "sms", "a", &set, err, sizeof err), 0);
    assert_string_equal(set.text, "default/de-DE/sms/a.txt");
    assert_int_equal(ntf_templates_find(tpl, "acme", "fr-FR", "sms", "b", &set, err, sizeof err),
                     0);
    assert_string_equal(set.text, "acme/en-GB/sms/b.txt");
    assert_int_equal(ntf_templates_find(tpl, "acme", "fr-FR", "sms", "c", &set, err, sizeof err),
                     -1);
    /* email needs all three parts */
    assert_int_equal(ntf_templates_find(tpl, "acme", "en-GB", "email", "a", &set, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "a.html is missing"));
    ntf_templates_free(tpl);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    assert_int_equal(system(cmd), 0);
}

static void test_requests(void **state)
{
    (void)state;
    char err[512];
    ntf_command c;
    ntf_config cfg;
    memset(&cfg, 0, sizeof cfg);
    ntf_templates *tpl = ntf_templates_load("deploy/config/templates", err, sizeof err);
    assert_non_null(tpl);
    ntf_request r;
    /* email without a provider: a clear permanent error */
    assert_int_equal(ntf_command_parse(good, strlen(good), &c, err, sizeof err), 0);
    assert_int_equal(ntf_message_build(&cfg.global, tpl, &c, 0, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "email provider not configured"));
    ntf_config_set(&cfg.global, "smtp_url", "smtp://127.0.0.1:2525");
    ntf_config_set(&cfg.global, "smtp_from", "Zoë AR <ar@acme.test>");
    assert_int_equal(ntf_message_build(&cfg.global, tpl, &c, 1772960400000, &r, err, sizeof err),
                     0);
    assert_string_equal(r.mail_from, "<ar@acme.test>");
    assert_string_equal(r.rcpt, "<ap@ada.test>");
    assert_non_null(
        strstr(r.body, "Message-ID: <ntf.46ed9ca8f6736f0df79414fb1888a29a@acme.test>\r\n"));
    assert_non_null(strstr(r.body, "Date: Sun, 08 Mar 2026 09:00:00 +0000\r\n"));
    assert_non_null(strstr(r.body, "From: =?UTF-8?B?")); /* non-ASCII display name encoded */
    assert_non_null(strstr(r.body, "To: \"Ada Ltd\" <ap@ada.test>\r\n"));
    assert_non_null(strstr(r.body, "Subject: =?UTF-8?B?")); /* "€" in the subject */
    assert_non_null(strstr(r.body, "multipart/alternative"));
    for (const char *p = r.body; (p = strchr(p, '\n')); p++)
        assert_true(p > r.body && p[-1] == '\r'); /* CRLF only */
    ntf_request_free(&r);
    ntf_command_free(&c);
    ntf_templates_free(tpl);
    ntf_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_sms_phone_rule),
        cmocka_unit_test(test_contact_and_task),
        cmocka_unit_test(test_tenants_and_templates),
        cmocka_unit_test(test_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
