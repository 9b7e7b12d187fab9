/* test_scheduler_charges.c -- the money of issue 14 (charges.h): statutory
 * and contractual interest, compensation, fees and their caps, offers,
 * waivers, allocation, and the parser of fees/interest/fee/offer.
 *
 * Every expected figure is worked by hand from the law (UK: Late Payment
 * of Commercial Debts (Interest) Act 1998 ss. 4 and 5A and the Rate of
 * Interest (No. 3) Order 2002, SI 2002/1675; EU: Directive 2011/7/EU arts.
 * 2(6)-(7) and 6, BGB ss. 247 and 288, Code de commerce L441-10) and the
 * semantics of docs/interest.md, with the arithmetic in the comment, never
 * taken from the code's output. Rates are written in percent; the code
 * holds them in 1e-4 percent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/scheduler/charges.h"
#include "clock.h"
#include "money.h"

static int32_t D(const char *s)
{
    int32_t d;
    if (cm_date_parse(s, &d) < 0)
        fail_msg("bad date %s", s);
    return d;
}

/* JSON with ' for " so the cases read. */
static json_t *J(const char *s)
{
    char buf[4096];
    size_t n = strlen(s);
    assert_true(n < sizeof buf);
    for (size_t i = 0; i <= n; i++)
        buf[i] = s[i] == '\'' ? '"' : s[i];
    json_error_t je;
    json_t *j = json_loads(buf, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        fail_msg("test JSON: %s: %s", je.text, buf);
    return j;
}

static sch_interest_policy parse_interest_ok(const char *json)
{
    sch_interest_policy ip;
    char err[256] = "";
    json_t *j = J(json);
    if (sch_interest_parse(j, &ip, err, sizeof err) < 0)
        fail_msg("%s", err);
    json_decref(j);
    return ip;
}

static sch_interest_result interest(const sch_interest_rule *r, const char *due, int64_t principal,
                                    const sch_reduction *red, int nred, const char *until)
{
    sch_interest_result res;
    char err[256] = "";
    if (sch_interest(r, D(due), principal, red, nred, D(until), &res, err, sizeof err) < 0)
        fail_msg("%s", err);
    return res;
}

/* A table that changes on each reference date and the day after it, so a
 * rule that takes the wrong date picks a different rate. */
static const char *ref_table =
    "{'by_country':{'GB':{'scheme':'uk_late_payment','rates':'t','margin_pct':8}},"
    "'rates':{'t':[{'from':'2022-12-31','pct':1},{'from':'2023-06-30','pct':2},"
    "{'from':'2023-07-01','pct':7},{'from':'2023-12-31','pct':3},{'from':'2024-01-01','pct':9}]}}";

static void test_uk_reference_dates(void **state)
{
    (void)state;
    sch_interest_policy ip = parse_interest_ok(ref_table);
    const sch_interest_rule *gb = sch_interest_rule_for(&ip, "GB", 0);
    assert_non_null(gb);
    /* SI 2002/1675 art. 4: interest starting 1 Jul..31 Dec takes the rate
     * in force on 30 June; starting 1 Jan..30 Jun, on 31 December before.
     * Interest starts the day after the due date. Principal 3,650.00 GBP,
     * 10 days late: 365000 x r x 10 / 365 = 10000 x r (r a fraction). */
    /* due 2023-12-30: starts 2023-12-31 (second half) -> 30 June 2023:
     * 2 + 8 = 10% -> 1000; fixed for life although the 10 days run into
     * January 2024 (table 9% then). */
    sch_interest_result r = interest(gb, "2023-12-30", 365000, NULL, 0, "2024-01-09");
    assert_int_equal(r.ref_day, D("2023-06-30"));
    assert_int_equal(r.rate, 100000);
    assert_int_equal(r.days_late, 10);
    assert_int_equal(r.interest_minor, 1000);
    /* due 2023-12-31: starts 2024-01-01 (first half) -> 31 December 2023:
     * 3 + 8 = 11% -> 1100 */
    r = interest(gb, "2023-12-31", 365000, NULL, 0, "2024-01-10");
    assert_int_equal(r.ref_day, D("2023-12-31"));
    assert_int_equal(r.rate, 110000);
    assert_int_equal(r.interest_minor, 1100);
    /* due 2023-06-29: starts 2023-06-30 (first half) -> 31 December 2022:
     * 1 + 8 = 9% -> 900 */
    r = interest(gb, "2023-06-29", 365000, NULL, 0, "2023-07-09");
    assert_int_equal(r.ref_day, D("2022-12-31"));
    assert_int_equal(r.interest_minor, 900);
    /* due 2023-06-30: starts 2023-07-01 (second half) -> 30 June 2023:
     * 2 + 8 = 10% (not the 7% from 1 July) -> 1000 */
    r = interest(gb, "2023-06-30", 365000, NULL, 0, "2023-07-10");
    assert_int_equal(r.ref_day, D("2023-06-30"));
    assert_int_equal(r.interest_minor, 1000);
    /* not late: paid on the due date or before -> nothing */
    r = interest(gb, "2023-06-30", 365000, NULL, 0, "2023-06-30");
    assert_int_equal(r.days_late, 0);
    assert_int_equal(r.interest_minor, 0);
    sch_interest_free(&ip);
}

static void test_compensation(void **state)
{
    (void)state;
    sch_interest_policy ip = parse_interest_ok("{'compensation':true,'compensation_minor':{"
                                               "'USD':4500,'KWD':12000},'by_country':{'GB':{"
                                               "'scheme':'contractual','pct':0}}}");
    /* SI 2002/1675 as amended (s.5A of the Act): GBP 40 below 1,000.00,
     * 70 from 1,000.00 to below 10,000.00, 100 from 10,000.00 */
    assert_int_equal(sch_compensation(&ip, SCH_INT_UK, "GBP", 99999), 4000);
    assert_int_equal(sch_compensation(&ip, SCH_INT_UK, "GBP", 100000), 7000);
    assert_int_equal(sch_compensation(&ip, SCH_INT_UK, "GBP", 999999), 7000);
    assert_int_equal(sch_compensation(&ip, SCH_INT_UK, "GBP", 1000000), 10000);
    /* UK scheme, another currency: the policy's map, else nothing */
    assert_int_equal(sch_compensation(&ip, SCH_INT_UK, "USD", 99999), 4500);
    assert_int_equal(sch_compensation(&ip, SCH_INT_UK, "EUR", 99999), 0);
    /* EU (art. 6: at least EUR 40): EUR 40 by default, the map otherwise */
    assert_int_equal(sch_compensation(&ip, SCH_INT_EU, "EUR", 5000000), 4000);
    assert_int_equal(sch_compensation(&ip, SCH_INT_EU, "KWD", 1), 12000); /* 12.000 KWD */
    assert_int_equal(sch_compensation(&ip, SCH_INT_EU, "JPY", 100000), 0);
    /* not a statutory scheme, or compensation off */
    assert_int_equal(sch_compensation(&ip, SCH_INT_CONTRACTUAL, "GBP", 99999), 0);
    ip.compensation = 0;
    assert_int_equal(sch_compensation(&ip, SCH_INT_UK, "GBP", 99999), 0);
    sch_interest_free(&ip);
}

static void test_eu_half_years(void **state)
{
    (void)state;
    sch_interest_policy ip = parse_interest_ok(
        "{'by_country':{'DE':{'scheme':'eu_late_payment','rates':'bb','margin_pct':9},"
        "'FR':{'scheme':'eu_late_payment','rates':'ecb','margin_pct':10}},"
        "'rates':{'bb':[{'from':'2024-01-01','pct':3.62},{'from':'2024-07-01','pct':3.37}],"
        "'ecb':[{'from':'2024-06-12','pct':4.25},{'from':'2024-09-18','pct':3.65}]}}");
    const sch_interest_rule *de = sch_interest_rule_for(&ip, "DE", 0);
    const sch_interest_rule *fr = sch_interest_rule_for(&ip, "FR", 0);
    /* DE, EUR 10,000.00 due 2024-06-20, until 2024-07-10:
     * 21..30 June = 10 days at 3.62 + 9 = 12.62% (rate on 1 January),
     * 1..10 July  = 10 days at 3.37 + 9 = 12.37% (rate on 1 July):
     * 1,000,000 x (0.1262 x 10 + 0.1237 x 10) / 365 = 2,499,000 / 365
     * = 6846.575... -> 6847 (one rate for all 20 days would give
     * 2,524,000 / 365 = 6915.07 -> 6915) */
    sch_interest_result r = interest(de, "2024-06-20", 1000000, NULL, 0, "2024-07-10");
    assert_int_equal(r.interest_minor, 6847);
    assert_int_equal(r.nperiods, 2);
    assert_int_equal(r.periods[0].from, D("2024-06-21"));
    assert_int_equal(r.periods[0].to, D("2024-06-30"));
    assert_int_equal(r.periods[0].rate, 126200);
    assert_int_equal(r.periods[1].from, D("2024-07-01"));
    assert_int_equal(r.periods[1].to, D("2024-07-10"));
    assert_int_equal(r.periods[1].rate, 123700);
    /* the same with 4,000.00 paid on 1 July, the first day of a half-year:
     * the payment day still bears interest on the whole principal:
     * 21..30 June: 1,000,000 x 0.1262 x 10 = 1,262,000
     * 1 July:      1,000,000 x 0.1237 x 1  =   123,700
     * 2..10 July:    600,000 x 0.1237 x 9  =   667,980
     * 2,053,680 / 365 = 5626.52 -> 5627 (a balance falling on 1 July would
     * give (1,262,000 + 742,200) / 365 = 5490.96 -> 5491) */
    sch_reduction jul1 = {D("2024-07-01"), 400000};
    r = interest(de, "2024-06-20", 1000000, &jul1, 1, "2024-07-10");
    assert_int_equal(r.interest_minor, 5627);
    /* FR, 3,650.00 due 2024-09-10, until 2024-09-30 (20 days): the second
     * half of 2024 takes the ECB rate in force on 1 July (4.25); the cut
     * to 3.65 on 18 September waits for the next half-year:
     * 365000 x 0.1425 x 20 / 365 = 142.5 a day x 20 = 2850 (applying the
     * cut from 18 Sep would give 142.5 x 7 + 136.5 x 13 = 2772) */
    r = interest(fr, "2024-09-10", 365000, NULL, 0, "2024-09-30");
    assert_int_equal(r.interest_minor, 2850);
    assert_int_equal(r.nperiods, 1);
    sch_interest_free(&ip);
}

static const char *contractual8 = "{'by_country':{'*':{'scheme':'contractual','pct':8}}}";

static void test_frozen_days(void **state)
{
    (void)state;
    sch_interest_policy ip = parse_interest_ok(contractual8);
    const sch_interest_rule *r8 = sch_interest_rule_for(&ip, "NL", 0);
    char err[256] = "";
    sch_interest_result r;
    /* 1,000.00 due 2025-03-01 at 8% as of 31 March: 30 days late. A plan
     * with interest "freeze" ran 11..20 March (agreed on the 11th, broken
     * on the 21st): 10 days bear nothing, 20 do: 100000 x 0.08 x 20 / 365
     * = 438.36 -> 438 (30 days: 657.53 -> 658) */
    sch_frozen fz[] = {{D("2025-03-11"), D("2025-03-21")}};
    assert_int_equal(sch_interest_frozen(r8, D("2025-03-01"), 100000, NULL, 0, fz, 1,
                                         D("2025-03-31"), &r, err, sizeof err),
                     0);
    assert_int_equal(r.interest_minor, 438);
    assert_int_equal(r.days_late, 30);
    assert_int_equal(r.nperiods, 2); /* 2..10 March and 21..31 March */
    assert_int_equal(r.periods[0].to, D("2025-03-10"));
    assert_int_equal(r.periods[1].from, D("2025-03-21"));
    assert_int_equal(interest(r8, "2025-03-01", 100000, NULL, 0, "2025-03-31").interest_minor, 658);
    /* a plan still running (to INT32_MAX) from 11 March: 9 days, 197.26 -> 197 */
    fz[0].to = INT32_MAX;
    assert_int_equal(sch_interest_frozen(r8, D("2025-03-01"), 100000, NULL, 0, fz, 1,
                                         D("2025-03-31"), &r, err, sizeof err),
                     0);
    assert_int_equal(r.interest_minor, 197);
    sch_interest_free(&ip);
}

static void test_partial_payments(void **state)
{
    (void)state;
    sch_interest_policy ip = parse_interest_ok(contractual8);
    const sch_interest_rule *r8 = sch_interest_rule_for(&ip, "NL", 0);
    assert_non_null(r8);
    /* 1,000.00 due 2025-03-01 at 8%; 400.00 paid on 11 March, the rest
     * (600.00) on 21 March. Days late = payment date - due date, so the
     * payment day bears interest: 2..11 March = 10 days on 100000, 12..21
     * March = 10 days on 60000: (1,000,000 + 600,000) x 0.08 / 365 =
     * 128,000 / 365 = 350.68 -> 351 (a balance falling on the payment day
     * would give (900,000 + 660,000) x 0.08 / 365 = 341.9 -> 342) */
    sch_reduction red[] = {{D("2025-03-21"), 60000}, {D("2025-03-11"), 40000}};
    sch_interest_result r = interest(r8, "2025-03-01", 100000, red, 2, "2025-03-21");
    assert_int_equal(r.interest_minor, 351);
    /* one rate throughout: the payment splits no period */
    assert_int_equal(r.nperiods, 1);
    assert_int_equal(r.periods[0].from, D("2025-03-02"));
    assert_int_equal(r.periods[0].to, D("2025-03-21"));
    /* later days add nothing once the balance is 0 */
    r = interest(r8, "2025-03-01", 100000, red, 2, "2025-04-30");
    assert_int_equal(r.interest_minor, 351);
    /* as of 15 March (before the second payment): 10 days on 100000 and
     * 12..15 March = 4 days on 60000: 1,240,000 x 0.08 / 365 = 271.78 -> 272 */
    r = interest(r8, "2025-03-01", 100000, red + 1, 1, "2025-03-15");
    assert_int_equal(r.interest_minor, 272);
    sch_interest_free(&ip);
}

/* The shipped tables: interest.rates of deploy/config/policy.json. */
static sch_interest_policy shipped_rates(void)
{
    json_error_t je;
    json_t *pol = json_load_file("deploy/config/policy.json", JSON_REJECT_DUPLICATES, &je);
    if (!pol)
        fail_msg("deploy/config/policy.json: %s", je.text);
    json_t *rates = json_incref(json_object_get(json_object_get(pol, "interest"), "rates"));
    json_decref(pol);
    if (!rates)
        fail_msg("deploy/config/policy.json: no interest.rates");
    json_t *o = json_object();
    json_t *gb = json_pack("{s:{s:s,s:s,s:i}}", "GB", "scheme", "uk_late_payment", "rates",
                           "boe_bank_rate", "margin_pct", 8);
    json_object_set_new(o, "rates", rates);
    json_object_set_new(o, "by_country", gb);
    sch_interest_policy ip;
    char err[256] = "";
    if (sch_interest_parse(o, &ip, err, sizeof err) < 0)
        fail_msg("%s", err);
    json_decref(o);
    return ip;
}

static void test_leap_year(void **state)
{
    (void)state;
    sch_interest_policy ip = parse_interest_ok("{'by_country':{'*':{'scheme':'contractual','pct':"
                                               "10}}}");
    /* 3,650.00 at 10% for all of 2024 (366 days), actual/365 also in a
     * leap year: a day is 365000 x 0.10 / 365 = 100 minor, x 366 = 36600
     * (dividing by 366 would give 36500) */
    sch_interest_result r =
        interest(sch_interest_rule_for(&ip, "US", 0), "2023-12-31", 365000, NULL, 0, "2024-12-31");
    assert_int_equal(r.days_late, 366);
    assert_int_equal(r.interest_minor, 36600);
    sch_interest_free(&ip);
    /* UK with the shipped Bank Rate: due 2023-12-31, interest starts
     * 2024-01-01 -> rate on 31 December 2023 = 5.25 (since 3 August 2023)
     * + 8 = 13.25%; 1,000.00 to 2024-12-31 (366 days):
     * 100000 x 0.1325 x 366 / 365 = 4,849,500 / 365 = 13286.30 -> 13286 */
    ip = shipped_rates();
    r = interest(sch_interest_rule_for(&ip, "GB", 0), "2023-12-31", 100000, NULL, 0, "2024-12-31");
    assert_int_equal(r.rate, 132500);
    assert_int_equal(r.interest_minor, 13286);
    char pct[16];
    sch_pct_format(r.rate, pct, sizeof pct);
    assert_string_equal(pct, "13.25"); /* "... at 13.25% a year" */
    sch_interest_free(&ip);
}

static void test_zero_and_three_decimals(void **state)
{
    (void)state;
    char buf[32];
    sch_interest_policy ip = parse_interest_ok("{'by_country':{'JP':{'scheme':'contractual','pct':"
                                               "5},'KW':{'scheme':'contractual','pct':7}}}");
    /* JPY has no minor unit (exponent 0): 1,234,567 yen at 5% for 30 days
     * = 1,234,567 x 0.05 x 30 / 365 = 1,851,850.5 / 365 = 5073.56 -> 5074 yen */
    assert_int_equal(cm_money_exponent("JPY"), 0);
    sch_interest_result r =
        interest(sch_interest_rule_for(&ip, "JP", 0), "2025-01-31", 1234567, NULL, 0, "2025-03-02");
    assert_int_equal(r.days_late, 30);
    assert_int_equal(r.interest_minor, 5074);
    cm_money_format(r.interest_minor, cm_money_exponent("JPY"), buf, sizeof buf);
    assert_string_equal(buf, "5074");
    /* KWD has 3 decimals: 1,000.500 KWD = 1000500 fils at 7% for 45 days
     * = 1000500 x 0.07 x 45 / 365 = 3,151,575 / 365 = 8634.45 -> 8634 fils */
    assert_int_equal(cm_money_exponent("KWD"), 3);
    r = interest(sch_interest_rule_for(&ip, "KW", 0), "2025-01-01", 1000500, NULL, 0, "2025-02-15");
    assert_int_equal(r.days_late, 45);
    assert_int_equal(r.interest_minor, 8634);
    cm_money_format(r.interest_minor, 3, buf, sizeof buf);
    assert_string_equal(buf, "8.634");
    sch_interest_free(&ip);
    /* a fee in yen: fixed 1000 yen (minor units already) + 1.5% of
     * 1,234,567 = 18518.505 -> 18519; 19519 in all, capped at 15000 */
    sch_fee f = {0};
    char err[256];
    json_t *j = J("{'fixed_minor':{'JPY':1000,'KWD':2500},'percent':1.5,'max_minor':{'JPY':"
                  "15000}}");
    assert_int_equal(sch_fee_parse(j, "fee", &f, err, sizeof err), 0);
    json_decref(j);
    sch_fees_policy nocap = {-1, -1, 0};
    assert_int_equal(sch_fee_amount(&f, &nocap, "JPY", 1234567, 1234567, 0), 15000);
    f.max.n = 0;
    assert_int_equal(sch_fee_amount(&f, &nocap, "JPY", 1234567, 1234567, 0), 19519);
    /* in KWD: 2.500 + 1.5% of 1.000 KWD (1000 fils) = 2500 + 15 = 2515 fils */
    assert_int_equal(sch_fee_amount(&f, &nocap, "KWD", 1000, 1000, 0), 2515);
}

static void test_rounding_trap(void **state)
{
    (void)state;
    sch_interest_policy ip = shipped_rates();
    /* 1,000.00 GBP due 2024-01-31: interest starts 1 February, rate on 31
     * December 2023 = 5.25 + 8 = 13.25%. Until 1 March 2024: 29 days of
     * February (a leap year) + 1 = 30 days. A day's interest is
     * 100000 x 0.1325 / 365 = 36.3014 minor:
     *   rounding each day first: 36 x 30 = 1080 (wrong);
     *   rounding once: 100000 x 0.1325 x 30 / 365 = 397,500 / 365 = 1089.04 -> 1089. */
    sch_interest_result r =
        interest(sch_interest_rule_for(&ip, "GB", 0), "2024-01-31", 100000, NULL, 0, "2024-03-01");
    assert_int_equal(r.days_late, 30);
    assert_int_equal(r.interest_minor, 1089);
    assert_int_not_equal(r.interest_minor, 1080);
    sch_interest_free(&ip);
    /* half-up at .5 exactly: 18.25 at 10% for one day = 1825 x 0.10 / 365
     * = 0.5 -> 1; 18.24 -> 0.4997 -> 0 */
    ip = parse_interest_ok("{'by_country':{'*':{'scheme':'contractual','pct':10}}}");
    const sch_interest_rule *r10 = sch_interest_rule_for(&ip, "US", 0);
    assert_int_equal(interest(r10, "2025-01-01", 1825, NULL, 0, "2025-01-02").interest_minor, 1);
    assert_int_equal(interest(r10, "2025-01-01", 1824, NULL, 0, "2025-01-02").interest_minor, 0);
    sch_interest_free(&ip);
}

static void test_shipped_tables(void **state)
{
    (void)state;
    sch_interest_policy ip = shipped_rates();
    assert_int_equal(ip.ntables, 3);
    const sch_rate_table *boe = NULL, *ecb = NULL, *bb = NULL;
    for (int i = 0; i < ip.ntables; i++) {
        if (strcmp(ip.tables[i].name, "boe_bank_rate") == 0)
            boe = &ip.tables[i];
        if (strcmp(ip.tables[i].name, "ecb_mro") == 0)
            ecb = &ip.tables[i];
        if (strcmp(ip.tables[i].name, "bundesbank_base") == 0)
            bb = &ip.tables[i];
    }
    assert_non_null(boe);
    assert_non_null(ecb);
    assert_non_null(bb);
    /* published figures, each the rate in force on a day */
    static const struct {
        int table; /* 0 boe, 1 ecb, 2 bundesbank */
        const char *day;
        int rc;
        int32_t want;
    } pub[] = {
        /* Bank Rate 0.75 from 2 Aug 2018, 0.10 from 19 Mar 2020, 5.25 from
         * 3 Aug 2023, 5.00 from 1 Aug 2024; nothing before 2 Aug 2018 */
        {0, "2019-01-01", 0, 7500},
        {0, "2020-06-30", 0, 1000},
        {0, "2024-07-31", 0, 52500},
        {0, "2024-08-01", 0, 50000},
        {0, "2018-08-01", -1, 0},
        /* MRO 4.25 from 12 Jun 2024, 3.65 from 18 Sep 2024 (spread to the
         * deposit rate cut to 15 bp), 0.00 through 2019 */
        {1, "2024-07-01", 0, 42500},
        {1, "2024-09-18", 0, 36500},
        {1, "2019-07-01", 0, 0},
        /* Basiszinssatz -0.88 (1 Jul 2016 .. 31 Dec 2022), 3.62 from 1 Jan 2024 */
        {2, "2022-12-31", 0, -8800},
        {2, "2024-01-01", 0, 36200},
    };
    const sch_rate_table *tabs[] = {boe, ecb, bb};
    for (size_t i = 0; i < sizeof pub / sizeof pub[0]; i++) {
        int32_t v = 0;
        int rc = sch_rate_at(tabs[pub[i].table], D(pub[i].day), &v);
        if (rc != pub[i].rc || (rc == 0 && v != pub[i].want))
            fail_msg("%s on %s: rc %d rate %d, want rc %d rate %d", tabs[pub[i].table]->name,
                     pub[i].day, rc, v, pub[i].rc, pub[i].want);
    }
    /* a debt older than the table: an error names the table and date */
    sch_interest_result r;
    char err[256] = "";
    assert_int_equal(sch_interest(sch_interest_rule_for(&ip, "GB", 0), D("2010-01-01"), 100, NULL,
                                  0, D("2010-02-01"), &r, err, sizeof err),
                     -1);
    assert_string_equal(err, "interest: no boe_bank_rate rate in force on 2009-12-31");
    sch_interest_free(&ip);
}

static void test_pct_format(void **state)
{
    (void)state;
    char b[16];
    sch_pct_format(132500, b, sizeof b);
    assert_string_equal(b, "13.25");
    sch_pct_format(80000, b, sizeof b);
    assert_string_equal(b, "8");
    sch_pct_format(-8800, b, sizeof b);
    assert_string_equal(b, "-0.88");
    sch_pct_format(5, b, sizeof b);
    assert_string_equal(b, "0.0005");
}

/* The issue's step fee: GBP/EUR 10.00 + 1% of the outstanding principal,
 * at most GBP 50.00. */
static sch_fee issue_fee(void)
{
    sch_fee f;
    char err[256] = "";
    json_t *j = J("{'fixed_minor':{'GBP':1000,'EUR':1000},'percent':1.0,'max_minor':{'GBP':5000}}");
    if (sch_fee_parse(j, "ladders.standard[1].fee", &f, err, sizeof err) < 0)
        fail_msg("%s", err);
    json_decref(j);
    return f;
}

static void test_fees(void **state)
{
    (void)state;
    sch_fee f = issue_fee();
    sch_fees_policy nocap = {-1, -1, 0}, cap15 = {7, 150000, 0};
    /* 1,000.00 outstanding: 1000 + 1% x 100000 = 1000 + 1000 = 2000 */
    assert_int_equal(sch_fee_amount(&f, &nocap, "GBP", 100000, 100000, 0), 2000);
    /* 8,000.00: 1000 + 8000 = 9000, capped by max_minor GBP 5000 */
    assert_int_equal(sch_fee_amount(&f, &nocap, "GBP", 800000, 800000, 0), 5000);
    /* EUR has no max_minor: 9000 */
    assert_int_equal(sch_fee_amount(&f, &nocap, "EUR", 800000, 800000, 0), 9000);
    /* USD has no fixed part: 1% of 800000 = 8000 */
    assert_int_equal(sch_fee_amount(&f, &nocap, "USD", 800000, 800000, 0), 8000);
    /* half-up on the percent: 1% of 150 = 1.5 -> 2, of 149 = 1.49 -> 1 */
    assert_int_equal(sch_fee_amount(&f, &nocap, "USD", 150, 150, 0), 2);
    assert_int_equal(sch_fee_amount(&f, &nocap, "USD", 149, 149, 0), 1);
    /* max_total_pct 15 of the original 200.00 = 30.00; 20.00 charged
     * already leaves 10.00 of this step's 10.00 + 2.00 = 12.00 */
    assert_int_equal(sch_fee_amount(&f, &cap15, "GBP", 20000, 20000, 2000), 1000);
    assert_int_equal(sch_fee_amount(&f, &cap15, "GBP", 20000, 20000, 3000), 0);
    /* floor: 15% of 33.33 = 4.9995 -> 4.99 (499 minor); half-up would give
     * 5.00, which is 15.0015% of 33.33 */
    assert_int_equal(sch_fee_amount(&f, &cap15, "GBP", 3333, 3333, 0), 499);
    /* off */
    sch_fee off = {0};
    assert_int_equal(sch_fee_amount(&off, &nocap, "GBP", 100000, 100000, 0), 0);
}

static void test_waiver_and_allocation(void **state)
{
    (void)state;
    sch_fees_policy fp = {7, -1, 0}, never = {-1, -1, 0};
    /* charged 15 March, 7 days: paid in full by 22 March (inclusive) */
    assert_true(sch_fee_waived(&fp, D("2025-03-15"), D("2025-03-15")));
    assert_true(sch_fee_waived(&fp, D("2025-03-15"), D("2025-03-22")));
    assert_false(sch_fee_waived(&fp, D("2025-03-15"), D("2025-03-23")));
    assert_false(sch_fee_waived(&never, D("2025-03-15"), D("2025-03-15")));
    /* principal first, then fees, then excess */
    sch_split s;
    sch_allocate(105000, 100000, 2000, &s);
    assert_int_equal(s.principal, 100000);
    assert_int_equal(s.fees, 2000);
    assert_int_equal(s.excess, 3000);
    sch_allocate(101000, 100000, 2000, &s);
    assert_int_equal(s.principal, 100000);
    assert_int_equal(s.fees, 1000);
    assert_int_equal(s.excess, 0);
    sch_allocate(50000, 100000, 2000, &s);
    assert_int_equal(s.principal, 50000);
    assert_int_equal(s.fees, 0);
    assert_int_equal(s.excess, 0);
}

static void test_offers(void **state)
{
    (void)state;
    sch_offer disc = {
        .kind = SCH_OFFER_DISCOUNT, .pct = 20000, .valid_until_offset = 0, .valid_days = 0};
    sch_offer sett = {
        .kind = SCH_OFFER_SETTLEMENT, .pct = 800000, .valid_until_offset = 0, .valid_days = 14};
    sch_offer_terms t;
    /* discount 2% of 125.25 = 2.505 -> 2.51 (half-up at .5); pay 122.74,
     * valid until the due date (offset 0d) */
    sch_amounts a = {12525, 0, 0, 0};
    assert_int_equal(sch_offer_terms_for(&disc, D("2025-04-30"), D("2025-04-25"), &a, &t), 0);
    assert_int_equal(t.forgiven_minor, 251);
    assert_int_equal(t.pay_minor, 12274);
    assert_int_equal(t.valid_until, D("2025-04-30"));
    /* settlement 80% of the balance 1,000.00 + 20.00 fees + 10.89
     * interest + 40.00 compensation = 1,070.89: 856.712 -> 856.71,
     * forgiven 214.18, valid 14 days from the send date */
    sch_amounts b = {100000, 2000, 1089, 4000};
    assert_int_equal(sch_amounts_total(&b), 107089);
    assert_int_equal(sch_offer_terms_for(&sett, D("2025-06-29"), D("2025-08-28"), &b, &t), 0);
    assert_int_equal(t.pay_minor, 85671);
    assert_int_equal(t.forgiven_minor, 21418);
    assert_int_equal(t.valid_until, D("2025-09-11"));
    /* 50% of 1,070.89 = 535.445 -> 535.45 (half-up), forgiven 535.44 */
    sett.pct = 500000;
    assert_int_equal(sch_offer_terms_for(&sett, D("2025-06-29"), D("2025-08-28"), &b, &t), 0);
    assert_int_equal(t.pay_minor, 53545);
    assert_int_equal(t.forgiven_minor, 53544);
    /* nothing owed, or no offer */
    sch_amounts z = {0, 0, 0, 0};
    assert_int_equal(sch_offer_terms_for(&sett, D("2025-06-29"), D("2025-08-28"), &z, &t), -1);
    sch_offer none = {.kind = SCH_OFFER_NONE, .pct = 0, .valid_until_offset = 0, .valid_days = 0};
    assert_int_equal(sch_offer_terms_for(&none, D("2025-06-29"), D("2025-08-28"), &b, &t), -1);
}

/* The issue's example, section by section. */
static void test_parse_issue_example(void **state)
{
    (void)state;
    char err[256] = "";
    sch_fees_policy fp;
    json_t *j = J("{'waive_if_paid_within_days':7,'max_total_pct':15,'chase_unpaid_fees':false}");
    assert_int_equal(sch_fees_parse(j, &fp, err, sizeof err), 0);
    json_decref(j);
    assert_int_equal(fp.waive_days, 7);
    assert_int_equal(fp.max_total_pct, 150000);
    assert_int_equal(fp.chase_unpaid, 0);

    static const struct {
        const char *json;
        sch_offer want;
    } offers[] = {
        {"{'kind':'discount','percent':2.0,'valid_until_offset':'0d'}",
         {.kind = SCH_OFFER_DISCOUNT, .pct = 20000, .valid_until_offset = 0, .valid_days = 0}},
        {"{'kind':'discount','percent':2.5,'valid_until_offset':'-2d'}",
         {.kind = SCH_OFFER_DISCOUNT, .pct = 25000, .valid_until_offset = -2, .valid_days = 0}},
        {"{'kind':'discount','percent':2}",
         {.kind = SCH_OFFER_DISCOUNT, .pct = 20000, .valid_until_offset = 0, .valid_days = 0}},
        {"{'kind':'settlement','percent':80.0,'valid_days':14}",
         {.kind = SCH_OFFER_SETTLEMENT, .pct = 800000, .valid_until_offset = 0, .valid_days = 14}},
    };
    for (size_t i = 0; i < sizeof offers / sizeof offers[0]; i++) {
        sch_offer o;
        j = J(offers[i].json);
        if (sch_offer_parse(j, "ladders.standard[0].offer", &o, err, sizeof err) < 0)
            fail_msg("%s: %s", offers[i].json, err);
        json_decref(j);
        if (o.kind != offers[i].want.kind || o.pct != offers[i].want.pct ||
            o.valid_until_offset != offers[i].want.valid_until_offset ||
            o.valid_days != offers[i].want.valid_days)
            fail_msg("%s: kind %d pct %d offset %d days %d", offers[i].json, (int)o.kind, o.pct,
                     o.valid_until_offset, o.valid_days);
    }
    /* a plan offer (issue 16): the issue's example */
    {
        sch_offer o;
        int64_t min = 0;
        j = J("{'kind':'plan','max_instalments':3,'interval_days':30,"
              "'min_instalment_minor':{'GBP':5000}}");
        assert_int_equal(sch_offer_parse(j, "ladders.s[0].offer", &o, err, sizeof err), 0);
        json_decref(j);
        assert_int_equal(o.kind, SCH_OFFER_PLAN);
        assert_int_equal(o.max_instalments, 3);
        assert_int_equal(o.interval_days, 30);
        assert_int_equal(sch_cur_get(&o.min_instalment, "GBP", &min), 1);
        assert_int_equal(min, 5000);
        static const char *const bad[][2] = {
            {"{'kind':'plan','max_instalments':3,'interval_days':30,'percent':2}",
             "policy ladders.s[0].offer.percent: is not a key of a plan offer"},
            {"{'kind':'plan','max_instalments':3}",
             "policy ladders.s[0].offer: a plan offer needs max_instalments and interval_days"},
            {"{'kind':'plan','max_instalments':13,'interval_days':30}",
             "policy ladders.s[0].offer.max_instalments: must be an integer in 2..12"},
            {"{'kind':'settlement','percent':80,'valid_days':14,'interval_days':30}",
             "policy ladders.s[0].offer.interval_days: is for a plan offer"},
            {"{'kind':'instalments'}",
             "policy ladders.s[0].offer.kind: must be discount, settlement or plan"},
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            j = J(bad[i][0]);
            err[0] = 0;
            assert_int_equal(sch_offer_parse(j, "ladders.s[0].offer", &o, err, sizeof err), -1);
            json_decref(j);
            if (strcmp(err, bad[i][1]) != 0)
                fail_msg("%s: got \"%s\", want \"%s\"", bad[i][0], err, bad[i][1]);
        }
    }

    sch_fee f = issue_fee();
    assert_int_equal(f.enabled, 1);
    assert_int_equal(f.pct, 10000);
    assert_int_equal(f.fixed.n, 2);
    assert_int_equal(f.max.n, 1);

    sch_interest_policy ip = parse_interest_ok(
        "{'by_country':{"
        "'GB':{'scheme':'uk_late_payment','rates':'boe_bank_rate','margin_pct':8},"
        "'DE':{'scheme':'eu_late_payment','rates':'bundesbank_base','margin_pct':9},"
        "'FR':{'scheme':'eu_late_payment','rates':'ecb_mro','margin_pct':10},"
        "'*':{'scheme':'contractual','pct':0}},"
        "'rates':{"
        "'boe_bank_rate':[{'from':'2023-08-03','pct':5.25},{'from':'2024-08-01','pct':5.00}],"
        "'ecb_mro':[{'from':'2023-09-20','pct':4.50},{'from':'2024-06-12','pct':4.25}],"
        "'bundesbank_base':[{'from':'2024-01-01','pct':3.62}]},"
        "'compensation':true,'compensation_minor':{'EUR':4000},'consumers':'contractual',"
        "'claim_after_payment':{'template':'interest_claim','channel':'email'}}");
    assert_int_equal(ip.enabled, 1);
    assert_int_equal(ip.ntables, 3);
    assert_int_equal(ip.nrules, 4);
    assert_int_equal(ip.compensation, 1);
    assert_int_equal(ip.consumers, SCH_INT_CONTRACTUAL);
    assert_int_equal(ip.claim_enabled, 1);
    assert_int_equal(ip.claim_channel, CT_CH_EMAIL);
    assert_string_equal(ip.claim_template, "interest_claim");
    const sch_interest_rule *gb = sch_interest_rule_for(&ip, "GB", 0);
    assert_int_equal(gb->scheme, SCH_INT_UK);
    assert_string_equal(gb->table->name, "boe_bank_rate");
    assert_int_equal(gb->margin, 80000);
    assert_int_equal(sch_interest_rule_for(&ip, "FR", 0)->margin, 100000);
    assert_int_equal(sch_interest_rule_for(&ip, "US", 0)->scheme, SCH_INT_CONTRACTUAL);
    /* consumers: statutory schemes are between businesses only; a GB
     * consumer falls to the contractual "*" rule */
    const sch_interest_rule *c = sch_interest_rule_for(&ip, "GB", 1);
    assert_non_null(c);
    assert_string_equal(c->country, "*");
    ip.consumers = SCH_INT_NONE;
    assert_null(sch_interest_rule_for(&ip, "GB", 1));
    sch_interest_free(&ip);
}

static void test_parse_reserved_is_off(void **state)
{
    (void)state;
    char err[256] = "";
    /* what the shipped policy holds today */
    json_t *fees = J("{'comment':'reserved'}");
    json_t *inte = J("{'comment':'reserved: UK Late Payment Act / EU 2011/7 statutory interest "
                     "and compensation'}");
    sch_fees_policy fp;
    sch_interest_policy ip;
    sch_fee f;
    sch_offer o;
    assert_int_equal(sch_fees_parse(fees, &fp, err, sizeof err), 0);
    assert_int_equal(fp.waive_days, -1);
    assert_int_equal(fp.max_total_pct, -1);
    assert_int_equal(sch_interest_parse(inte, &ip, err, sizeof err), 0);
    assert_int_equal(ip.enabled, 0);
    assert_null(sch_interest_rule_for(&ip, "GB", 0));
    assert_int_equal(sch_compensation(&ip, SCH_INT_UK, "GBP", 100), 0);
    sch_interest_free(&ip);
    assert_int_equal(sch_fee_parse(fees, "f", &f, err, sizeof err), 0);
    assert_int_equal(f.enabled, 0);
    assert_int_equal(sch_offer_parse(NULL, "o", &o, err, sizeof err), 0);
    assert_int_equal(o.kind, SCH_OFFER_NONE);
    assert_int_equal(sch_interest_parse(NULL, &ip, err, sizeof err), 0);
    assert_int_equal(ip.enabled, 0);
    json_decref(fees);
    json_decref(inte);
}

enum { K_FEES, K_FEE, K_OFFER, K_INTEREST };

static const struct {
    int kind;
    const char *json, *want;
} bad[] = {
    {K_INTEREST,
     "{'rates':{'boe_bank_rate':[{'from':'2024-08-01','pct':5},{'from':'2023-08-03','pct':5.25}]}"
     "}",
     "policy interest.rates.boe_bank_rate[1].from: dates must rise"},
    {K_INTEREST, "{'rates':{'t':[{'from':'2024-01-01','pct':1},{'from':'2024-01-01','pct':2}]}}",
     "policy interest.rates.t[1].from: dates must rise"},
    {K_INTEREST, "{'rates':{'t':[{'from':'2024-02-30','pct':1}]}}",
     "policy interest.rates.t[0].from: must be a date YYYY-MM-DD"},
    {K_INTEREST, "{'by_country':{'GB':{'scheme':'uk_late','rates':'t','margin_pct':8}}}",
     "policy interest.by_country.GB.scheme: must be none, contractual, uk_late_payment or "
     "eu_late_payment"},
    {K_INTEREST, "{'by_country':{'GB':{'scheme':'uk_late_payment','margin_pct':8}}}",
     "policy interest.by_country.GB.rates: is required: the name of a table in interest.rates"},
    {K_INTEREST,
     "{'by_country':{'GB':{'scheme':'uk_late_payment','rates':'boe','margin_pct':8}},"
     "'rates':{'boe_bank_rate':[{'from':'2024-01-01','pct':5}]}}",
     "policy interest.by_country.GB.rates: names no table in interest.rates"},
    {K_INTEREST, "{'by_country':{'*':{'scheme':'contractual','pct':-2}}}",
     "policy interest.by_country.*.pct: must be a number in 0..100 with at most 4 decimals"},
    {K_INTEREST, "{'by_country':{'*':{'scheme':'contractual','pct':1.00005}}}",
     "policy interest.by_country.*.pct: must be a number in 0..100 with at most 4 decimals"},
    {K_INTEREST, "{'by_country':{'*':{'scheme':'contractual','pct':2,'margin_pct':8}}}",
     "policy interest.by_country.*.margin_pct: does not apply to this scheme"},
    {K_INTEREST, "{'by_country':{'gb':{'scheme':'none'}}}",
     "policy interest.by_country.gb: must be an ISO 3166-1 alpha-2 country (GB) or \"*\""},
    {K_INTEREST, "{'compensation_minor':{'EURO':4000}}",
     "policy interest.compensation_minor.EURO: is not an ISO 4217 currency code"},
    {K_INTEREST, "{'consumers':'statutory'}",
     "policy interest.consumers: must be contractual or "
     "none"},
    {K_INTEREST, "{'compensation':'yes'}", "policy interest.compensation: must be true or false"},
    {K_INTEREST, "{'regime':'uk'}", "policy interest.regime: unknown key (see docs/interest.md)"},
    {K_FEE, "{'fixed_minor':{'GPB':1000},'percent':1}",
     "policy ladders.standard[1].fee.fixed_minor.GPB: is not an ISO 4217 currency code"},
    {K_FEE, "{'fixed_minor':{'GBP':10.5}}",
     "policy ladders.standard[1].fee.fixed_minor.GBP: must be an integer amount in minor units"},
    {K_FEE, "{'percent':-1}",
     "policy ladders.standard[1].fee.percent: must be a number in 0..100 with at most 4 "
     "decimals"},
    {K_FEE, "{'percent':0}",
     "policy ladders.standard[1].fee: charges nothing: give fixed_minor or a percent above 0"},
    {K_FEES, "{'max_total_pct':-5}",
     "policy fees.max_total_pct: must be a number in 0..100 with at most 4 decimals"},
    {K_FEES, "{'waive_if_paid_within_days':'7d'}",
     "policy fees.waive_if_paid_within_days: must be an integer in 0..365"},
    {K_OFFER, "{'kind':'coupon','percent':2}",
     "policy ladders.standard[1].offer.kind: must be discount, settlement or plan"},
    {K_OFFER, "{'kind':'settlement','percent':80}",
     "policy ladders.standard[1].offer.valid_days: is required"},
    {K_OFFER, "{'kind':'discount','percent':100}",
     "policy ladders.standard[1].offer.percent: a discount must be above 0 and below 100"},
    {K_OFFER, "{'kind':'discount','percent':2,'valid_until_offset':'2 days'}",
     "policy ladders.standard[1].offer.valid_until_offset: must be whole days"},
};

static void test_parse_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[512] = "";
        int rc = 0;
        json_t *j = J(bad[i].json);
        sch_fees_policy fp;
        sch_fee f;
        sch_offer o;
        sch_interest_policy ip;
        if (bad[i].kind == K_FEES)
            rc = sch_fees_parse(j, &fp, err, sizeof err);
        else if (bad[i].kind == K_FEE)
            rc = sch_fee_parse(j, "ladders.standard[1].fee", &f, err, sizeof err);
        else if (bad[i].kind == K_OFFER)
            rc = sch_offer_parse(j, "ladders.standard[1].offer", &o, err, sizeof err);
        else
            rc = sch_interest_parse(j, &ip, err, sizeof err);
        json_decref(j);
        if (rc != -1)
            fail_msg("case %zu: accepted", i);
        if (strncmp(err, bad[i].want, strlen(bad[i].want)) != 0)
            fail_msg("case %zu: error \"%s\", want \"%s\"", i, err, bad[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uk_reference_dates),
        cmocka_unit_test(test_compensation),
        cmocka_unit_test(test_eu_half_years),
        cmocka_unit_test(test_partial_payments),
        cmocka_unit_test(test_leap_year),
        cmocka_unit_test(test_zero_and_three_decimals),
        cmocka_unit_test(test_rounding_trap),
        cmocka_unit_test(test_shipped_tables),
        cmocka_unit_test(test_pct_format),
        cmocka_unit_test(test_fees),
        cmocka_unit_test(test_waiver_and_allocation),
        cmocka_unit_test(test_offers),
        cmocka_unit_test(test_parse_issue_example),
        cmocka_unit_test(test_parse_reserved_is_off),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_frozen_days),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
