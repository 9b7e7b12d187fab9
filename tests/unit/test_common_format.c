/* test_common_format.c -- common/format.c: amounts, dates and counts in
 * words per locale, as the notifier's messages and the gateway's pages
 * print them. Expected strings are written from the locales' conventions
 * (CLDR: grouping, decimal separator, symbol placement, month names), not
 * from the code's output. Pure logic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "format.h"

static void test_money(void **state)
{
    (void)state;
    char buf[64], err[128];
    assert_int_equal(cm_format_money(123456, "EUR", "en-GB", buf, sizeof buf, err, sizeof err), 0);
    assert_string_equal(buf, "\xe2\x82\xac"
                             "1,234.56");
    cm_format_money(123456, "EUR", "de-DE", buf, sizeof buf, err, sizeof err);
    assert_string_equal(buf, "1.234,56\xc2\xa0\xe2\x82\xac");
    cm_format_money(100000000, "GBP", "en-GB", buf, sizeof buf, err, sizeof err);
    assert_string_equal(buf, "\xc2\xa3"
                             "1,000,000.00");
    cm_format_money(5, "EUR", "fr-FR", buf, sizeof buf, err, sizeof err);
    assert_string_equal(buf, "0,05\xc2\xa0\xe2\x82\xac");
    cm_format_money(1200, "JPY", "en-GB", buf, sizeof buf, err, sizeof err);
    assert_string_equal(buf, "\xc2\xa5"
                             "1,200");
    cm_format_money(-1500, "CHF", "de-CH", buf, sizeof buf, err, sizeof err);
    assert_string_equal(buf, "-15,00\xc2\xa0"
                             "CHF");
    cm_format_money(1500, "USD", "en-US", buf, sizeof buf, err, sizeof err);
    assert_string_equal(buf, "$15.00");
    cm_format_money(1234, "KWD", "xx", buf, sizeof buf, err, sizeof err);
    assert_string_equal(buf, "KWD\xc2\xa0"
                             "1.234");
    assert_int_equal(cm_format_money(1, "XYZ", "en-GB", buf, sizeof buf, err, sizeof err), -1);
    assert_non_null(strstr(err, "XYZ"));
}

static void test_dates(void **state)
{
    (void)state;
    char buf[64], err[128];
    assert_int_equal(cm_format_date("2026-03-01", "en-GB", buf, sizeof buf, err, sizeof err), 0);
    assert_string_equal(buf, "1 March 2026");
    cm_format_date("2026-03-01", "de-DE", buf, sizeof buf, err, sizeof err);
    assert_string_equal(buf, "1. M\xc3\xa4rz 2026");
    cm_format_date("2026-12-24", "en-US", buf, sizeof buf, err, sizeof err);
    assert_string_equal(buf, "December 24, 2026");
    cm_format_date("2026-08-15", "fr-FR", buf, sizeof buf, err, sizeof err);
    assert_string_equal(buf, "15 ao\xc3\xbbt 2026");
    assert_int_equal(cm_format_date("2026-02-30", "en-GB", buf, sizeof buf, err, sizeof err), -1);
}

/* The locale row: by language subtag, with "-" or "_", else en. */
static void test_locale_lookup(void **state)
{
    (void)state;
    assert_string_equal(cm_format_locale("de-AT")->lang, "de");
    assert_string_equal(cm_format_locale("nl_BE")->lang, "nl");
    assert_string_equal(cm_format_locale("deu")->lang, "en"); /* not the subtag "de" */
    assert_string_equal(cm_format_locale(NULL)->lang, "en");
    assert_string_equal(cm_format_locale("fr-FR")->decimal, ",");
    assert_int_equal(cm_format_locale("en-GB")->symbol_after, 0);
}

/* Counts in words (issue 15): every row of the table, 0 and 1 and a
 * plural, another locale of the language (de-AT), a language without
 * rows (fr reads English), no locale. */
static void test_counts(void **state)
{
    (void)state;
    char buf[64];
    const struct {
        cm_count_kind kind;
        long long n;
        const char *loc, *want;
    } rows[] = {
        {CM_COUNT_DAYS_OVERDUE, 1, "en-GB", "1 day overdue"},
        {CM_COUNT_DAYS_OVERDUE, 3, "en-GB", "3 days overdue"},
        {CM_COUNT_DAYS_OVERDUE, 1, "de-DE",
         "1 Tag \xc3\xbc"
         "berf\xc3\xa4llig"},
        {CM_COUNT_DAYS_OVERDUE, 3, "de-DE",
         "3 Tage \xc3\xbc"
         "berf\xc3\xa4llig"},
        {CM_COUNT_DAYS_OVERDUE, 21, "de-AT",
         "21 Tage \xc3\xbc"
         "berf\xc3\xa4llig"},
        {CM_COUNT_DUE_IN, 0, "en-GB", "due today"},
        {CM_COUNT_DUE_IN, 1, "en-GB", "due tomorrow"},
        {CM_COUNT_DUE_IN, 3, "en-GB", "due in 3 days"},
        {CM_COUNT_DUE_IN, 0, "de-DE", "heute f\xc3\xa4llig"},
        {CM_COUNT_DUE_IN, 1, "de-DE", "morgen f\xc3\xa4llig"},
        {CM_COUNT_DUE_IN, 3, "de-DE", "in 3 Tagen f\xc3\xa4llig"},
        {CM_COUNT_INVOICES, 0, "en-GB", "0 invoices"},
        {CM_COUNT_INVOICES, 1, "en-GB", "1 invoice"},
        {CM_COUNT_INVOICES, 2, "en-GB", "2 invoices"},
        {CM_COUNT_INVOICES, 1, "de-DE", "1 Rechnung"},
        {CM_COUNT_INVOICES, 5, "de-DE", "5 Rechnungen"},
        {CM_COUNT_INVOICES, 2, "fr-FR", "2 invoices"},
        {CM_COUNT_DUE_IN, 2, NULL, "due in 2 days"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cm_format_count(rows[i].kind, rows[i].n, rows[i].loc, buf, sizeof buf);
        assert_string_equal(buf, rows[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_money),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_locale_lookup),
        cmocka_unit_test(test_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
