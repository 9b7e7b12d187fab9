/* test_ingest_docs.c -- docs/events.md and schemas/ agree with ingest.
 *
 * Every `<!-- example: TYPE -->` JSON block of docs/events.md must be
 * accepted by ing_process with that type and must validate against
 * schemas/TYPE.json; every type has an example and a schema; every
 * `<!-- canonical: TYPE -->` block must equal what ingest makes of the
 * example of that type; the binary-mode example must be accepted too.
 * The accept cases of tests/data/ingest must validate against the schemas,
 * and a few rejected shapes must not. The JSON Schema checker is
 * schema_check.c's (the keywords schemas/ uses). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>

#include "../../services/ingest/ingest.h"
#include "schema_check.h"

static void assert_schema_ok(json_t *ev, const char *what)
{
    const char *type = json_string_value(json_object_get(ev, "type"));
    assert_non_null(type);
    json_t *s = tu_schema_load(type);
    char why[512] = "";
    if (!tu_schema_validate(s, ev, "$", why, sizeof why))
        fail_msg("%s does not validate against schemas/%s.json: %s", what, type, why);
    json_decref(s);
}

/* --- docs/events.md --------------------------------------------------------- */

static ing_config cfg = {ING_DEFAULT_MAX_BYTES, ING_DEFAULT_MAX_DEPTH};

static void test_doc_examples(void **state)
{
    (void)state;
    char *doc = tu_slurp("docs/events.md");
    tu_block b[64];
    size_t n = tu_doc_blocks(doc, b, 64);
    int have[32] = {0};
    int canon = 0, binary = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(b[i].kind, "example")) {
            ing_input in = {b[i].text, strlen(b[i].text), NULL, 0, NULL, 0, "t", 0, 0, 0};
            ing_result r;
            char err[128];
            assert_int_equal(ing_process(&cfg, &in, &r, err, sizeof err), 0);
            if (!r.accepted)
                fail_msg("docs example %s rejected: %s", b[i].name, r.reasons.r[0].message);
            assert_string_equal(r.type, b[i].name);
            ing_result_clear(&r);
            json_error_t e;
            json_t *ev = json_loads(b[i].text, 0, &e);
            assert_non_null(ev);
            assert_schema_ok(ev, "docs example");
            json_decref(ev);
            ct_type t = ct_type_parse(b[i].name, strlen(b[i].name));
            if (ct_type_inbound(t))
                have[t] = 1;
        } else if (!strcmp(b[i].kind, "canonical")) {
            /* equals what ingest makes of the same type's example */
            size_t j;
            for (j = 0; j < n; j++)
                if (!strcmp(b[j].kind, "example") && !strcmp(b[j].name, b[i].name))
                    break;
            assert_true(j < n);
            ing_input in = {b[j].text, strlen(b[j].text), NULL, 0, NULL, 0, "t", 0, 0, 0};
            ing_result r;
            char err[128];
            assert_int_equal(ing_process(&cfg, &in, &r, err, sizeof err), 0);
            assert_true(r.accepted);
            json_error_t e;
            json_t *got = json_loads(r.body, 0, &e), *want = json_loads(b[i].text, 0, &e);
            assert_non_null(want);
            if (!json_equal(got, want))
                fail_msg("docs canonical %s differs from ingest's output: %s", b[i].name, r.body);
            json_decref(got);
            json_decref(want);
            ing_result_clear(&r);
            canon++;
        } else if (!strcmp(b[i].kind, "example-binary")) {
            /* "name: value" header lines, a blank line, then the value */
            ing_header h[16];
            char *names[16];
            size_t nh = 0;
            char *line = b[i].text;
            while (*line && *line != '\n' && nh < 16) {
                char *eol = strchr(line, '\n');
                char *colon = strchr(line, ':');
                assert_true(colon && colon < eol);
                names[nh] = strndup(line, (size_t)(colon - line));
                h[nh].name = names[nh];
                h[nh].value = colon + 2;
                h[nh].len = (size_t)(eol - colon - 2);
                nh++;
                line = eol + 1;
            }
            line++;
            ing_input in = {line, strlen(line), NULL, 0, h, nh, "t", 0, 0, 0};
            ing_result r;
            char err[128];
            assert_int_equal(ing_process(&cfg, &in, &r, err, sizeof err), 0);
            if (!r.accepted)
                fail_msg("docs binary example rejected: %s", r.reasons.r[0].message);
            assert_string_equal(r.type, b[i].name);
            ing_result_clear(&r);
            for (size_t k = 0; k < nh; k++)
                free(names[k]);
            binary++;
        }
    }
    for (int t = 0; t < CT_EV_INBOUND_COUNT; t++) {
        if (!have[t])
            fail_msg("docs/events.md has no example of %s", ct_type_name((ct_type)t));
        json_decref(tu_schema_load(ct_type_name((ct_type)t)));
    }
    assert_true(canon >= 2);
    assert_int_equal(binary, 1);
    for (size_t i = 0; i < n; i++)
        free(b[i].text);
    free(doc);
}

static void test_schemas_match_cases(void **state)
{
    (void)state;
    DIR *d = opendir("tests/data/ingest/accept");
    assert_non_null(d);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char p[512];
        snprintf(p, sizeof p, "tests/data/ingest/accept/%s/headers.json", de->d_name);
        FILE *f = fopen(p, "r");
        if (f) { /* binary mode: not a structured CloudEvent */
            fclose(f);
            continue;
        }
        snprintf(p, sizeof p, "tests/data/ingest/accept/%s/input.json", de->d_name);
        json_error_t e;
        json_t *ev = json_load_file(p, 0, &e);
        assert_non_null(ev);
        assert_schema_ok(ev, p);
        json_decref(ev);
        n++;
    }
    closedir(d);
    assert_true(n >= 12);

    /* shapes the schemas must refuse */
    const char *bad[] = {
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"s\",\"type\":\"invoice.voided\","
        "\"time\":\"2026-03-01T09:00:00Z\",\"data\":{\"invoice_id\":\"I\"}}",
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"s\",\"type\":\"customer.upserted\","
        "\"time\":\"2026-03-01T09:00:00Z\",\"data\":{\"customer_id\":\"C\",\"name\":\"N\","
        "\"phone\":\"07700 900123\"}}",
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"s\",\"type\":\"credit_note.issued\","
        "\"time\":\"2026-03-01T09:00:00Z\",\"data\":{\"credit_note_id\":\"N\",\"customer_id\":"
        "\"C\","
        "\"invoice_id\":\"I\",\"currency\":\"EUR\",\"amount\":\"-1\"}}",
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"s\",\"type\":\"customer.upserted\","
        "\"time\":\"2026-03-01\",\"data\":{\"customer_id\":\"C\",\"name\":\"N\"}}",
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"s\",\"type\":\"customer.upserted\","
        "\"time\":\"2026-03-01T09:00:00Z\",\"data\":{\"customer_id\":\"C\",\"name\":\"N\","
        "\"credit_limit\":5}}",
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"s\",\"type\":\"payment.received\","
        "\"time\":\"2026-03-01T09:00:00Z\",\"data\":{\"payment_id\":\"P\",\"customer_id\":\"C\","
        "\"currency\":\"EUR\",\"amount\":1}}",
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"s\",\"type\":\"customer.upserted\","
        "\"time\":\"2026-03-01T09:00:00Z\",\"data\":{\"customer_id\":\"C\",\"name\":\"N\","
        "\"region\":\"us-ma\"}}",
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"s\",\"type\":\"customer.upserted\","
        "\"time\":\"2026-03-01T09:00:00Z\",\"data\":{\"customer_id\":\"C\",\"name\":\"N\","
        "\"extra_timezones\":[\"UTC\",\"Europe/Paris\",\"Europe/Rome\",\"Europe/Berlin\","
        "\"Europe/Madrid\"]}}",
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"s\",\"type\":\"contact.logged\","
        "\"time\":\"2026-03-01T09:00:00Z\",\"data\":{\"customer_id\":\"C\",\"channel\":\"sms\","
        "\"outcome\":\"busy\",\"at\":\"2026-03-01T09:00:00Z\"}}",
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"s\",\"type\":\"contact.logged\","
        "\"time\":\"2026-03-01T09:00:00Z\",\"data\":{\"customer_id\":\"C\",\"channel\":\"sms\","
        "\"outcome\":\"voicemail\"}}",
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"s\",\"type\":\"contact.resumed\","
        "\"time\":\"2026-03-01T09:00:00Z\",\"data\":{\"customer_id\":\"C\",\"channel\":\"fax\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_error_t e;
        json_t *ev = json_loads(bad[i], 0, &e);
        assert_non_null(ev);
        json_t *s = tu_schema_load(json_string_value(json_object_get(ev, "type")));
        char why[256];
        if (tu_schema_validate(s, ev, "$", why, sizeof why))
            fail_msg("schema accepts bad shape %zu", i);
        /* and ingest rejects them too */
        ing_input in = {bad[i], strlen(bad[i]), NULL, 0, NULL, 0, "t", 0, 0, 0};
        ing_result r;
        char err[128];
        assert_int_equal(ing_process(&cfg, &in, &r, err, sizeof err), 0);
        assert_false(r.accepted);
        ing_result_clear(&r);
        json_decref(s);
        json_decref(ev);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doc_examples),
        cmocka_unit_test(test_schemas_match_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
