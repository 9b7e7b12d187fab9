/* test_notifier_command.c -- command validation (errors name the field),
 * contact and task records, the tenants file, template lookup fallbacks,
 * the email/SMS/webhook requests built from a command and issue 14's
 * template variables (amounts, offer, legal basis) and issue 16's plan.
 * Pure logic (files in a temp directory, no servers). */
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
    /* a secret file is read whole up to 64 KiB (CM_SETTINGS_FILE_MAX),
     * one final newline dropped; a longer one is refused, never cut */
    {
        char *big = malloc(70001);
        assert_non_null(big);
        memset(big, 'p', 5000);
        big[5000] = '\n';
        big[5001] = 0;
        snprintf(path, sizeof path, "%s/smtp-pass", tmp);
        put(path, big);
        snprintf(body, sizeof body, "{\"acme\":{\"smtp_password_file\":\"%s\"}}", path);
        put(tf, body);
        memset(&cfg, 0, sizeof cfg);
        assert_int_equal(ntf_config_load_tenants(&cfg, tf, err, sizeof err), 0);
        const char *pw = ntf_config_tenant(&cfg, "acme")->smtp_password;
        assert_int_equal(strlen(pw), 5000);
        assert_int_equal(strspn(pw, "p"), 5000);
        ntf_config_free(&cfg);
        memset(big, 'p', 70000);
        big[70000] = 0;
        put(path, big);
        memset(&cfg, 0, sizeof cfg);
        assert_int_equal(ntf_config_load_tenants(&cfg, tf, err, sizeof err), -1);
        assert_non_null(strstr(err, "smtp-pass is larger than 65536 bytes"));
        ntf_config_free(&cfg);
        free(big);
    }
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
    assert_non_null(strstr(
        r.body,
        "Message-ID: <ntf.46ed9ca8f6736f0df79414fb1888a29a.Qy0x.b3ZlcmR1ZV83@acme.test>\r\n"));
    assert_non_null(strstr(r.body, "Date: Sun, 08 Mar 2026 09:00:00 +0000\r\n"));
    assert_non_null(strstr(r.body, "From: =?UTF-8?B?")); /* non-ASCII display name encoded */
    assert_non_null(strstr(r.body, "To: \"Ada Ltd\" <ap@ada.test>\r\n"));
    assert_non_null(strstr(r.body, "Subject: =?UTF-8?B?")); /* "€" in the subject */
    assert_non_null(strstr(r.body, "multipart/alternative"));
    for (const char *p = r.body; (p = strchr(p, '\n')); p++)
        assert_true(p > r.body && p[-1] == '\r'); /* CRLF only */
    ntf_request_free(&r);
    ntf_command_free(&c);

    /* issue 18: a name with CR LF "Bcc:" is one encoded word whose decoded
     * text has spaces for the controls (base64 of "Eve  Bcc: x@evil.test"
     * worked by hand), and no Bcc field exists */
    char *evil = variant("\"name\":\"Ada Ltd\"", "\"name\":\"Eve\\r\\nBcc: x@evil.test\"");
    assert_int_equal(ntf_command_parse(evil, strlen(evil), &c, err, sizeof err), 0);
    assert_int_equal(ntf_message_build(&cfg.global, tpl, &c, 1772960400000, &r, err, sizeof err),
                     0);
    assert_non_null(
        strstr(r.body, "To: =?UTF-8?B?RXZlICBCY2M6IHhAZXZpbC50ZXN0?= <ap@ada.test>\r\n"));
    assert_null(strstr(r.body, "\nBcc:"));
    assert_string_equal(r.rcpt, "<ap@ada.test>");
    ntf_request_free(&r);
    ntf_command_free(&c);
    free(evil);

    /* the SMS Body is capped at NTF_SMS_TEXT_MAX characters, not bytes:
     * two invoices numbered with 490 "é" each (1960 bytes, 980 characters
     * of numbers) go; two numbered with 900 "N" each (1800 characters of
     * numbers alone) fail before any request */
    ntf_config_set(&cfg.global, "sms_url", "http://127.0.0.1:9/sms");
    ntf_config_set(&cfg.global, "sms_account", "AC1");
    ntf_config_set(&cfg.global, "sms_from", "+447700900000");
    char num_e[981], num_a[901];
    for (int i = 0; i < 490; i++)
        memcpy(num_e + 2 * i, "\xc3\xa9", 2);
    num_e[980] = 0;
    memset(num_a, 'N', 900);
    num_a[900] = 0;
    const char *nums[2] = {num_e, num_a};
    for (int k = 0; k < 2; k++) {
        char *sms =
            variant("\"channel\":\"email\",\"template\":\"overdue_7\"",
                    "\"channel\":\"sms\",\"template\":\"overdue_1\""); /* it lists the numbers */
        char *p = strstr(sms, "\"invoices\":[");
        char two[4200];
        snprintf(two, sizeof two,
                 "%.*s\"invoices\":[{\"invoice_id\":\"INV-1\",\"number\":\"%sA\",\"due_on\":"
                 "\"2026-03-01\",\"days_overdue\":7,\"outstanding_minor\":6000},{\"invoice_id\":"
                 "\"INV-2\",\"number\":\"%sB\",\"due_on\":\"2026-03-01\",\"days_overdue\":7,"
                 "\"outstanding_minor\":6000}]}",
                 (int)(p - sms), sms, nums[k], nums[k]);
        if (ntf_command_parse(two, strlen(two), &c, err, sizeof err) != 0)
            fail_msg("parse: %s", err);
        int rc = ntf_message_build(&cfg.global, tpl, &c, 1772960400000, &r, err, sizeof err);
        if (k == 0) {
            if (rc != 0)
                fail_msg("980 characters of numbers: %s", err);
            ntf_request_free(&r);
        } else {
            assert_int_equal(rc, -1);
            if (!strstr(err, "sms text is ") || !strstr(err, "characters, more than 1600"))
                fail_msg("error '%s'", err);
        }
        ntf_command_free(&c);
        free(sms);
    }
    ntf_templates_free(tpl);
    ntf_config_free(&cfg);
}

/* Issue 14's template variables: fees, interest and compensation only
 * when not 0 (false in an invoice, so a section there does not find the
 * command's), the invoice's own amounts, the offer, the legal basis. A
 * command of kind interest_claim is accepted on email, sms and letter. */
static void test_money_vars(void **state)
{
    (void)state;
    char err[512];
    ntf_command c;
    /* 1,250.00 + 22.50 fees on INV-1, 3.42 interest on INV-2 (0.00 + 3.42
     * = command interest 3.42); a settlement of 800.00 by 14 May 2026 */
    char *s = variant(
        "\"amounts\":{\"total\":12000},\"invoices\":[{\"invoice_id\":\"INV-1\",\"number\":"
        "\"2026-0001\",\"due_on\":\"2026-03-01\",\"days_overdue\":7,\"outstanding_minor\":12000}]",
        "\"amounts\":{\"principal\":250000,\"fees\":2250,\"interest\":342,\"compensation\":0,"
        "\"total\":252592},\"invoices\":[{\"invoice_id\":\"INV-1\",\"number\":\"N-1\","
        "\"due_on\":\"2026-03-01\",\"days_overdue\":7,\"outstanding_minor\":125000,"
        "\"amounts\":{\"principal\":125000,\"fees\":2250,\"interest\":0,\"compensation\":0,"
        "\"total\":127250}},{\"invoice_id\":\"INV-2\",\"number\":\"N-2\",\"due_on\":"
        "\"2026-03-01\",\"days_overdue\":7,\"outstanding_minor\":125000,\"amounts\":{"
        "\"principal\":125000,\"fees\":0,\"interest\":342,\"compensation\":0,\"total\":125342}},"
        "{\"invoice_id\":\"INV-3\",\"due_on\":\"2026-03-01\",\"outstanding_minor\":500}],"
        "\"offer\":{\"kind\":\"settlement\",\"amount_minor\":80000,\"forgiven_minor\":20000,"
        "\"valid_until\":\"2026-05-14\"},\"interest_basis\":{\"scheme\":\"eu_late_payment\","
        "\"annual_pct\":\"14.25\",\"country\":\"FR\"}");
    if (ntf_command_parse(s, strlen(s), &c, err, sizeof err) != 0)
        fail_msg("%s", err);
    json_t *v = ntf_command_vars(&c, NULL, NULL, err, sizeof err);
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(v, "principal")), "\xe2\x82\xac"
                                                                            "2,500.00");
    assert_string_equal(json_string_value(json_object_get(v, "fees")), "\xe2\x82\xac"
                                                                       "22.50");
    assert_string_equal(json_string_value(json_object_get(v, "interest")), "\xe2\x82\xac"
                                                                           "3.42");
    assert_null(json_object_get(v, "compensation")); /* 0: no line */
    assert_int_equal(json_integer_value(json_object_get(v, "compensation_minor")), 0);
    assert_string_equal(json_string_value(json_object_get(v, "total")), "\xe2\x82\xac"
                                                                        "2,525.92");
    json_t *inv = json_object_get(v, "invoices");
    json_t *i0 = json_array_get(inv, 0), *i1 = json_array_get(inv, 1), *i2 = json_array_get(inv, 2);
    assert_string_equal(json_string_value(json_object_get(i0, "fees")), "\xe2\x82\xac"
                                                                        "22.50");
    assert_true(json_is_false(json_object_get(i0, "interest")));
    assert_string_equal(json_string_value(json_object_get(i0, "total")), "\xe2\x82\xac"
                                                                         "1,272.50");
    assert_true(json_is_false(json_object_get(i1, "fees")));
    assert_string_equal(json_string_value(json_object_get(i1, "interest")), "\xe2\x82\xac"
                                                                            "3.42");
    /* no amounts: it owes its outstanding 5.00 and nothing else */
    assert_string_equal(json_string_value(json_object_get(i2, "total")), "\xe2\x82\xac"
                                                                         "5.00");
    assert_true(json_is_false(json_object_get(i2, "fees")));
    assert_true(json_is_false(json_object_get(i2, "interest")));
    assert_true(json_is_false(json_object_get(i2, "compensation")));
    json_t *of = json_object_get(v, "offer");
    assert_string_equal(json_string_value(json_object_get(of, "kind")), "settlement");
    assert_true(json_is_true(json_object_get(of, "settlement")));
    assert_true(json_is_false(json_object_get(of, "discount")));
    assert_string_equal(json_string_value(json_object_get(of, "amount")), "\xe2\x82\xac"
                                                                          "800.00");
    assert_string_equal(json_string_value(json_object_get(of, "forgiven")), "\xe2\x82\xac"
                                                                            "200.00");
    assert_string_equal(json_string_value(json_object_get(of, "valid_until")), "14 May 2026");
    assert_string_equal(json_string_value(json_object_get(of, "valid_until_iso")), "2026-05-14");
    assert_string_equal(json_string_value(json_object_get(v, "interest_scheme")),
                        "eu_late_payment");
    assert_string_equal(json_string_value(json_object_get(v, "interest_rate")), "14.25%");
    assert_string_equal(json_string_value(json_object_get(v, "interest_basis_text")),
                        "statutory interest under Directive 2011/7/EU (article L441-10 of the "
                        "French Commercial Code) at 14.25% a year");
    json_decref(v);
    /* formatted for the template's locale: de */
    v = ntf_command_vars(&c, NULL, "de-DE", err, sizeof err);
    assert_string_equal(json_string_value(json_object_get(v, "interest_rate")), "14,25\xc2\xa0%");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(v, "offer"), "valid_until")),
        "14. Mai 2026");
    json_decref(v);
    ntf_command_free(&c);
    free(s);

    /* without issue 14's members: no fees, interest, compensation, offer
     * or basis variables at all */
    assert_int_equal(ntf_command_parse(good, strlen(good), &c, err, sizeof err), 0);
    v = ntf_command_vars(&c, NULL, NULL, err, sizeof err);
    assert_non_null(v);
    const char *none[] = {
        "fees",          "interest",       "compensation", "offer", "interest_basis_text",
        "interest_rate", "interest_scheme"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        if (json_object_get(v, none[i]))
            fail_msg("%s set for a command without it", none[i]);
    json_decref(v);
    ntf_command_free(&c);

    /* kind interest_claim, like a reminder, on each debtor-facing channel */
    const char *chans[] = {"email", "sms", "letter"};
    for (int i = 0; i < 3; i++) {
        char to[64];
        snprintf(to, sizeof to,
                 "\"kind\":\"interest_claim\",\"tenant\":\"acme\",\"channel\":\"%s\"", chans[i]);
        s = variant("\"kind\":\"reminder\",\"tenant\":\"acme\",\"channel\":\"email\"", to);
        if (ntf_command_parse(s, strlen(s), &c, err, sizeof err) != 0)
            fail_msg("interest_claim on %s refused: %s", chans[i], err);
        assert_int_equal(c.c.kind, CT_KIND_INTEREST_CLAIM);
        ntf_command_free(&c);
        free(s);
    }
    /* a bad offer is answered (the command is identified) naming the field */
    expect_error("\"amounts\":{\"total\":12000}",
                 "\"amounts\":{\"total\":12000},\"offer\":{\"kind\":\"voucher\","
                 "\"amount_minor\":1,\"forgiven_minor\":1,\"valid_until\":\"2026-05-14\"}",
                 "offer.kind: must be discount, settlement or plan", 1);
    expect_error("\"amounts\":{\"total\":12000}",
                 "\"amounts\":{\"total\":12000},\"interest_basis\":{\"scheme\":\"uk_late_payment\","
                 "\"annual_pct\":\"13,25\"}",
                 "interest_basis.annual_pct", 1);
}

static const char *str_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("%s is not a string", key);
    return json_string_value(v);
}

/* Issue 15's words and totals: in an invoice every key is there (false
 * when it does not apply, also without a days_overdue); in the command's
 * scope only those that apply; totals one per currency in the order the
 * invoices bring them. */
static void test_plural_vars(void **state)
{
    (void)state;
    char err[512];
    ntf_command c;
    /* INV-1 GBP 1 day overdue 100.00 + 5.00 fees; INV-2 EUR (the
     * command's currency) without days_overdue, 20.00; INV-3 GBP due in 2
     * days, 0.50. GBP 105.00 + 0.50 = 105.50 (fees 5.00); EUR 20.00. */
    char *s = variant(
        "\"currency\":\"EUR\",\"amounts\":{\"total\":12000},\"invoices\":[{\"invoice_id\":"
        "\"INV-1\",\"number\":\"2026-0001\",\"due_on\":\"2026-03-01\",\"days_overdue\":7,"
        "\"outstanding_minor\":12000}]",
        "\"currency\":\"EUR\",\"amounts\":{\"total\":2000},\"invoices\":["
        "{\"invoice_id\":\"INV-1\",\"due_on\":\"2026-03-07\",\"days_overdue\":1,\"currency\":"
        "\"GBP\",\"outstanding_minor\":10000,\"amounts\":{\"principal\":10000,\"fees\":500,"
        "\"interest\":0,\"compensation\":0,\"total\":10500}},"
        "{\"invoice_id\":\"INV-2\",\"outstanding_minor\":2000},"
        "{\"invoice_id\":\"INV-3\",\"due_on\":\"2026-03-10\",\"days_overdue\":-2,\"currency\":"
        "\"GBP\",\"outstanding_minor\":50}]");
    if (ntf_command_parse(s, strlen(s), &c, err, sizeof err) != 0)
        fail_msg("%s", err);
    json_t *v = ntf_command_vars(&c, NULL, NULL, err, sizeof err);
    assert_non_null(v);
    assert_string_equal(str_of(v, "invoice_count_text"), "3 invoices");
    assert_true(json_is_false(json_object_get(v, "one_invoice")));
    assert_true(json_is_true(json_object_get(v, "many_invoices")));
    /* the command's: the largest days_overdue (INV-1's) */
    assert_string_equal(str_of(v, "days_overdue_text"), "1 day overdue");
    assert_true(json_is_true(json_object_get(v, "one_day")));
    assert_null(json_object_get(v, "many_days"));
    assert_null(json_object_get(v, "due_in_text"));
    json_t *inv = json_object_get(v, "invoices");
    json_t *i0 = json_array_get(inv, 0), *i1 = json_array_get(inv, 1), *i2 = json_array_get(inv, 2);
    assert_string_equal(str_of(i0, "days_overdue_text"), "1 day overdue");
    assert_true(json_is_false(json_object_get(i0, "due_in_text")));
    assert_true(json_is_true(json_object_get(i0, "one_day")));
    assert_true(json_is_false(json_object_get(i0, "many_days")));
    const char *keys[] = {"days_overdue_text", "due_in_text", "one_day", "many_days"};
    for (size_t k = 0; k < 4; k++)
        if (!json_is_false(json_object_get(i1, keys[k])))
            fail_msg("invoice without days_overdue: %s is not false", keys[k]);
    assert_string_equal(str_of(i2, "due_in_text"), "due in 2 days");
    assert_true(json_is_false(json_object_get(i2, "days_overdue_text")));
    assert_true(json_is_false(json_object_get(i2, "one_day")));
    json_t *tot = json_object_get(v, "totals");
    assert_int_equal(json_array_size(tot), 2);
    json_t *gbp = json_array_get(tot, 0), *eur = json_array_get(tot, 1);
    assert_string_equal(str_of(gbp, "currency"), "GBP");
    assert_int_equal(json_integer_value(json_object_get(gbp, "total_minor")), 10550);
    assert_string_equal(str_of(gbp, "total"), "\xc2\xa3"
                                              "105.50");
    assert_string_equal(str_of(gbp, "fees"), "\xc2\xa3"
                                             "5.00");
    assert_true(json_is_false(json_object_get(gbp, "interest")));
    assert_string_equal(str_of(eur, "currency"), "EUR");
    assert_int_equal(json_integer_value(json_object_get(eur, "total_minor")), 2000);
    assert_true(json_is_false(json_object_get(eur, "fees")));
    assert_true(json_is_true(json_object_get(v, "many_currencies")));
    assert_string_equal(str_of(v, "totals_text"), "\xc2\xa3"
                                                  "105.50 + \xe2\x82\xac"
                                                  "20.00");
    json_decref(v);
    /* in German */
    v = ntf_command_vars(&c, NULL, "de-DE", err, sizeof err);
    assert_string_equal(str_of(v, "invoice_count_text"), "3 Rechnungen");
    assert_string_equal(str_of(json_array_get(json_object_get(v, "invoices"), 2), "due_in_text"),
                        "in 2 Tagen f\xc3\xa4llig");
    json_decref(v);
    ntf_command_free(&c);
    free(s);

    /* one invoice due in 4 days (one currency): due_in_text in the
     * command's scope, no days_overdue_text */
    s = variant("\"days_overdue\":7", "\"days_overdue\":-4");
    assert_int_equal(ntf_command_parse(s, strlen(s), &c, err, sizeof err), 0);
    v = ntf_command_vars(&c, NULL, NULL, err, sizeof err);
    assert_string_equal(str_of(v, "invoice_count_text"), "1 invoice");
    assert_true(json_is_true(json_object_get(v, "one_invoice")));
    assert_string_equal(str_of(v, "due_in_text"), "due in 4 days");
    assert_null(json_object_get(v, "days_overdue_text"));
    assert_null(json_object_get(v, "one_day"));
    assert_true(json_is_false(json_object_get(v, "many_currencies")));
    assert_string_equal(str_of(v, "totals_text"), "\xe2\x82\xac"
                                                  "120.00");
    json_decref(v);
    ntf_command_free(&c);
    free(s);
}

/* good with a "plan" member (issue 16) of these numbers. */
static char *with_plan(int instalment, int instalments, long amount, long paid, long total,
                       long total_paid)
{
    char plan[400];
    snprintf(plan, sizeof plan,
             "\"plan\":{\"plan_id\":\"PL-9\",\"instalment\":%d,\"instalments\":%d,"
             "\"due_on\":\"2026-06-15\",\"amount_minor\":%ld,\"paid_minor\":%ld,"
             "\"total_minor\":%ld,\"total_paid_minor\":%ld},\"invoices\":",
             instalment, instalments, amount, paid, total, total_paid);
    return variant("\"invoices\":", plan);
}

/* The plan variables of s (command vars for locale), or a failure. */
static json_t *plan_vars(const char *s, const char *locale, ntf_command *c, json_t **v)
{
    char err[512];
    if (ntf_command_parse(s, strlen(s), c, err, sizeof err) != 0)
        fail_msg("%s", err);
    *v = ntf_command_vars(c, NULL, locale, err, sizeof err);
    if (!*v)
        fail_msg("%s", err);
    return json_object_get(*v, "plan");
}

/* Issue 16's plan: has_plan, and plan with the instalment's and the
 * plan's amounts formatted, paid and total_paid false when 0, what is left
 * never below 0, last on the last instalment. */
static void test_plan_vars(void **state)
{
    (void)state;
    ntf_command c;
    json_t *v;
    assert_null(plan_vars(good, NULL, &c, &v));
    assert_true(json_is_false(json_object_get(v, "has_plan")));
    json_decref(v);
    ntf_command_free(&c);
    /* instalment 3 of 3 of 1,200.00, 150.00 of its 400.00 paid, 950.00 of
     * the plan: 250.00 left of each */
    char *s = with_plan(3, 3, 40000, 15000, 120000, 95000);
    json_t *p = plan_vars(s, NULL, &c, &v);
    assert_true(json_is_true(json_object_get(v, "has_plan")));
    assert_string_equal(str_of(p, "plan_id"), "PL-9");
    assert_int_equal(json_integer_value(json_object_get(p, "instalment")), 3);
    assert_int_equal(json_integer_value(json_object_get(p, "instalments")), 3);
    assert_true(json_is_true(json_object_get(p, "last")));
    assert_string_equal(str_of(p, "due_on"), "15 June 2026");
    assert_string_equal(str_of(p, "due_on_iso"), "2026-06-15");
    const char *want[][2] = {{"amount", "400.00"},      {"paid", "150.00"},
                             {"outstanding", "250.00"}, {"total", "1,200.00"},
                             {"total_paid", "950.00"},  {"total_outstanding", "250.00"}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char euro[32];
        snprintf(euro, sizeof euro, "\xe2\x82\xac%s", want[i][1]);
        assert_string_equal(str_of(p, want[i][0]), euro);
    }
    assert_int_equal(json_integer_value(json_object_get(p, "outstanding_minor")), 25000);
    assert_int_equal(json_integer_value(json_object_get(p, "total_outstanding_minor")), 25000);
    json_decref(v);
    ntf_command_free(&c);
    p = plan_vars(s, "de-DE", &c, &v);
    assert_string_equal(str_of(p, "due_on"), "15. Juni 2026");
    json_decref(v);
    ntf_command_free(&c);
    free(s);
    /* the first of 4, nothing paid: paid and total_paid false */
    s = with_plan(1, 4, 500, 0, 2000, 0);
    p = plan_vars(s, NULL, &c, &v);
    assert_true(json_is_false(json_object_get(p, "last")));
    assert_true(json_is_false(json_object_get(p, "paid")));
    assert_true(json_is_false(json_object_get(p, "total_paid")));
    assert_int_equal(json_integer_value(json_object_get(p, "paid_minor")), 0);
    assert_string_equal(str_of(p, "outstanding"), "\xe2\x82\xac"
                                                  "5.00");
    json_decref(v);
    ntf_command_free(&c);
    free(s);
    /* more paid than the instalment: nothing left, not a negative amount */
    s = with_plan(1, 4, 500, 700, 2000, 700);
    p = plan_vars(s, NULL, &c, &v);
    assert_int_equal(json_integer_value(json_object_get(p, "outstanding_minor")), 0);
    assert_string_equal(str_of(p, "outstanding"), "\xe2\x82\xac"
                                                  "0.00");
    json_decref(v);
    ntf_command_free(&c);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_sms_phone_rule),
        cmocka_unit_test(test_contact_and_task),
        cmocka_unit_test(test_tenants_and_templates),
        cmocka_unit_test(test_requests),
        cmocka_unit_test(test_money_vars),
        cmocka_unit_test(test_plural_vars),
        cmocka_unit_test(test_plan_vars),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
