/* test_notifier_render.c -- the {{variable}} renderer and locale
 * formatting of the notifier: escaping, sections, missing variables,
 * rates and the legal basis of interest per locale (amounts, dates and
 * counts in words: test_common_format.c). Pure logic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "../../services/notifier/interest.h"
#include "../../services/notifier/render.h"

static char *render(const char *tpl, const char *vars_json, int html, char *err, size_t errlen)
{
    json_t *vars = json_loads(vars_json, 0, NULL);
    assert_non_null(vars);
    cm_buf out = CM_BUF_INIT;
    int rc = ntf_render(tpl, strlen(tpl), vars, html, &out, err, errlen);
    json_decref(vars);
    if (rc < 0) {
        cm_buf_free(&out);
        return NULL;
    }
    return cm_buf_take(&out, NULL);
}

static void test_variables(void **state)
{
    (void)state;
    char err[256];
    char *s = render("Dear {{ name }}, you owe {{total}} ({{n}} items).",
                     "{\"name\":\"Ada\",\"total\":\"\\u20ac12.00\",\"n\":3}", 0, err, sizeof err);
    assert_non_null(s);
    assert_string_equal(s, "Dear Ada, you owe \xe2\x82\xac"
                           "12.00 (3 items).");
    free(s);
}

static void test_html_escapes_every_variable(void **state)
{
    (void)state;
    char err[256];
    const char *vars = "{\"name\":\"<script>alert('x')</script> & \\\"Co\\\"\"}";
    char *s = render("<p>{{name}}</p>", vars, 1, err, sizeof err);
    assert_non_null(s);
    assert_string_equal(
        s, "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Co&quot;</p>");
    free(s);
    /* text parts are not escaped */
    s = render("{{name}}", vars, 0, err, sizeof err);
    assert_string_equal(s, "<script>alert('x')</script> & \"Co\"");
    free(s);
    /* no raw form: a triple mustache is not a way around escaping */
    s = render("{{{name}}}", vars, 1, err, sizeof err);
    assert_null(s);
    /* issue 18: an RTL override U+202E in a value is closed (PDF U+202C)
     * right after it, in text and HTML, so "," and the rest read as written */
    const char *rlo = "{\"name\":\"Mallory \\u202egnp.exe\"}";
    s = render("<p>Dear {{name}},</p>", rlo, 1, err, sizeof err);
    assert_string_equal(s, "<p>Dear Mallory \xE2\x80\xAEgnp.exe\xE2\x80\xAC,</p>");
    free(s);
    s = render("Dear {{name}},", rlo, 0, err, sizeof err);
    assert_string_equal(s, "Dear Mallory \xE2\x80\xAEgnp.exe\xE2\x80\xAC,");
    free(s);
}

static void test_missing_variable_is_an_error(void **state)
{
    (void)state;
    char err[256];
    char *s = render("line one\nPay: {{pay_link}}\n", "{\"name\":\"x\"}", 0, err, sizeof err);
    assert_null(s);
    assert_non_null(strstr(err, "missing variable 'pay_link'"));
    assert_non_null(strstr(err, "line 2"));
    s = render("{{x}}", "{\"x\":null}", 0, err, sizeof err);
    assert_null(s);
    s = render("{{x}}", "{\"x\":[1]}", 0, err, sizeof err);
    assert_null(s);
    assert_non_null(strstr(err, "list or object"));
    s = render("{{#x}}open", "{\"x\":true}", 0, err, sizeof err);
    assert_null(s);
    assert_non_null(strstr(err, "not closed"));
    s = render("{{x", "{\"x\":1}", 0, err, sizeof err);
    assert_null(s);
    assert_non_null(strstr(err, "unterminated"));
}

static void test_sections(void **state)
{
    (void)state;
    char err[256];
    const char *vars = "{\"who\":\"A\",\"invoices\":[{\"number\":\"1\",\"d\":3},"
                       "{\"number\":\"2\"}],\"empty\":[],\"link\":\"\"}";
    char *s = render("{{#invoices}}[{{number}} {{who}}{{#d}} d={{d}}{{/d}}]{{/invoices}}"
                     "{{^empty}}none{{/empty}}{{#link}}L{{/link}}{{^link}}no link{{/link}}"
                     "{{! a comment }}",
                     vars, 0, err, sizeof err);
    assert_non_null(s);
    assert_string_equal(s, "[1 A d=3][2 A]noneno link");
    free(s);
    /* a missing variable inside an item is still an error */
    s = render("{{#invoices}}{{d}}{{/invoices}}", vars, 0, err, sizeof err);
    assert_null(s);
    assert_non_null(strstr(err, "missing variable 'd'"));
}

static void test_standalone_lines(void **state)
{
    (void)state;
    char err[256];
    char *s = render("Head\n{{#xs}}\n  - {{.}}\n{{/xs}}\nTail\n", "{\"xs\":[\"a\",\"b\"]}", 0, err,
                     sizeof err);
    assert_non_null(s);
    assert_string_equal(s, "Head\n  - a\n  - b\nTail\n");
    free(s);
}

/* Rates and the legal basis of interest (issue 14): every row of the
 * table, the fallbacks (another country, no country, another language),
 * an unknown scheme. */
static void test_interest_basis(void **state)
{
    (void)state;
    char buf[512], err[128];
    /* rates keep the command's decimals; de puts a no-break space before % */
    const struct {
        int32_t e4;
        const char *loc, *want;
    } pcts[] = {{132500, "en-GB", "13.25%"},
                {126200, "de-DE", "12,62\xc2\xa0%"},
                {120000, "en-GB", "12.00%"},
                {81250, "de-DE", "8,125\xc2\xa0%"},
                {142500, "fr-FR", "14,25\xc2\xa0%"},
                {50000, "nl-NL", "5,00%"},
                {50000, "xx", "5.00%"}};
    for (size_t i = 0; i < sizeof pcts / sizeof pcts[0]; i++) {
        ntf_format_pct(pcts[i].e4, pcts[i].loc, buf, sizeof buf);
        assert_string_equal(buf, pcts[i].want);
    }

    const struct {
        ct_interest_scheme scheme;
        int32_t e4;
        const char *country, *loc, *want;
    } rows[] = {
        {CT_SCHEME_UK_LATE_PAYMENT, 132500, "GB", "en-GB",
         "statutory interest under the Late Payment of Commercial Debts (Interest) Act 1998 at "
         "13.25% a year"},
        {CT_SCHEME_EU_LATE_PAYMENT, 126200, "DE", "de-DE",
         "gesetzliche Verzugszinsen nach \xc2\xa7 288 Abs. 2 BGB in H\xc3\xb6he von "
         "12,62\xc2\xa0% p. a."},
        {CT_SCHEME_EU_LATE_PAYMENT, 126200, "DE", "en-GB",
         "statutory interest under Directive 2011/7/EU (German Civil Code s. 288(2)) at 12.62% "
         "a year"},
        {CT_SCHEME_EU_LATE_PAYMENT, 142500, "FR", "en-GB",
         "statutory interest under Directive 2011/7/EU (article L441-10 of the French "
         "Commercial Code) at 14.25% a year"},
        {CT_SCHEME_EU_LATE_PAYMENT, 142500, "FR", "de-DE",
         "gesetzliche Verzugszinsen nach Artikel L441-10 des franz\xc3\xb6sischen "
         "Handelsgesetzbuchs (Richtlinie 2011/7/EU) in H\xc3\xb6he von 14,25\xc2\xa0% p. a."},
        {CT_SCHEME_EU_LATE_PAYMENT, 120000, "NL", "en-GB",
         "statutory interest under Directive 2011/7/EU at 12.00% a year"},
        {CT_SCHEME_EU_LATE_PAYMENT, 120000, NULL, "en-GB",
         "statutory interest under Directive 2011/7/EU at 12.00% a year"},
        {CT_SCHEME_EU_LATE_PAYMENT, 120000, "AT", "de-AT",
         "gesetzliche Verzugszinsen nach der Richtlinie 2011/7/EU in H\xc3\xb6he von "
         "12,00\xc2\xa0% p. a."},
        {CT_SCHEME_UK_LATE_PAYMENT, 130000, "GB", "de-DE",
         "gesetzliche Verzugszinsen nach dem Late Payment of Commercial Debts (Interest) Act "
         "1998 in H\xc3\xb6he von 13,00\xc2\xa0% p. a."},
        {CT_SCHEME_CONTRACTUAL, 50000, NULL, "en-GB", "contractual interest at 5.00% a year"},
        {CT_SCHEME_CONTRACTUAL, 50000, "DE", "de-DE",
         "vertragliche Zinsen in H\xc3\xb6he von 5,00\xc2\xa0% p. a."},
        /* a language without its own text reads English, with its numbers */
        {CT_SCHEME_CONTRACTUAL, 81250, "FR", "fr-FR",
         "contractual interest at 8,125\xc2\xa0% a year"},
        {CT_SCHEME_UK_LATE_PAYMENT, 132500, "GB", NULL,
         "statutory interest under the Late Payment of Commercial Debts (Interest) Act 1998 at "
         "13.25% a year"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_int_equal(ntf_format_interest_basis(rows[i].scheme, rows[i].e4, rows[i].country,
                                                   rows[i].loc, buf, sizeof buf, err, sizeof err),
                         0);
        assert_string_equal(buf, rows[i].want);
    }
    assert_int_equal(ntf_format_interest_basis(CT_SCHEME_NONE, 50000, NULL, "en-GB", buf,
                                               sizeof buf, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "unknown interest scheme"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_variables),
        cmocka_unit_test(test_html_escapes_every_variable),
        cmocka_unit_test(test_missing_variable_is_an_error),
        cmocka_unit_test(test_sections),
        cmocka_unit_test(test_standalone_lines),
        cmocka_unit_test(test_interest_basis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
