/* test_scheduler_contact.c -- the debtor's clock (contact.h): worked
 * examples built from tzdata and the regulations, not from the code.
 *
 * The zones' 2026 transitions (tzdata, /usr/share/zoneinfo):
 *   America/New_York  EST (UTC-5) -> EDT (UTC-4) on Sun 2026-03-08 at 02:00
 *                     local; back to EST on Sun 2026-11-01 at 02:00 EDT
 *                     (01:00-02:00 local occurs twice);
 *   Europe/London     GMT -> BST (UTC+1) on Sun 2026-03-29 at 01:00 GMT;
 *                     back on Sun 2026-10-25 at 02:00 BST;
 *   America/Phoenix   MST (UTC-7) all year, no DST.
 * The window is Regulation F's (12 CFR 1006.6(b)(1)(i)): no contact
 * before 08:00 or after 21:00 local; 08:00 is allowed, 21:00 is not.
 * 2026-01-01 is a Thursday, so 2026-12-06 is a Sunday, 2026-12-25 a
 * Friday, 2026-10-03 a Saturday. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/scheduler/contact.h"
#include "../../services/scheduler/policy.h"
#include "clock.h"

static int64_t at(const char *s)
{
    int64_t ms;
    assert_int_equal(cm_time_parse_rfc3339(s, &ms), 0);
    return ms;
}

static int32_t day(const char *ymd)
{
    char b[40];
    snprintf(b, sizeof b, "%sT00:00:00Z", ymd);
    return (int32_t)(at(b) / 86400000LL);
}

/* next(rules, zone, send instant, send_at minutes) must be want, moved by
 * rule why (NULL: allowed as it is). */
static void expect(const sch_clock_rules *r, const char *zone, const char *t, int send_min,
                   const char *want, const char *why)
{
    char err[200], got[40];
    const cm_tz *tz = cm_tz_get(zone, err, sizeof err);
    assert_non_null(tz);
    const char *rule = "unset";
    int64_t n = sch_clock_next(r, tz, at(t), send_min, &rule);
    cm_time_format_rfc3339(n, got, sizeof got);
    if (n != at(want) || (why ? !rule || strcmp(rule, why) != 0 : rule != NULL))
        fail_msg("%s %s (send_at %d): got %s (%s), want %s (%s)", zone, t, send_min, got,
                 rule ? rule : "allowed", want, why ? why : "allowed");
}

static const sch_clock_rules reg_f = {
    .start_min = 8 * 60, .end_min = 21 * 60, .weekdays = SCH_ALL_WEEKDAYS};

static void test_weekday(void **state)
{
    (void)state;
    assert_int_equal(sch_weekday(0), 3);                 /* 1970-01-01 Thursday */
    assert_int_equal(sch_weekday(day("2026-01-01")), 3); /* Thursday */
    assert_int_equal(sch_weekday(day("2026-12-06")), 6); /* Sunday */
    assert_int_equal(sch_weekday(day("2026-12-07")), 0); /* Monday */
    assert_int_equal(sch_weekday(day("1969-12-31")), 2); /* Wednesday, before the epoch */
}

static void test_window_boundaries(void **state)
{
    (void)state;
    /* 08:00 EDT = 12:00Z is allowed; 07:59:59 is not and waits a second */
    expect(&reg_f, "America/New_York", "2026-06-15T12:00:00Z", -1, "2026-06-15T12:00:00Z", NULL);
    expect(&reg_f, "America/New_York", "2026-06-15T11:59:59Z", -1, "2026-06-15T12:00:00Z",
           "window");
    /* 20:59:59 EDT is allowed; 21:00 EDT (01:00Z next day) is not: next
     * day 08:00 EDT */
    expect(&reg_f, "America/New_York", "2026-06-16T00:59:59Z", -1, "2026-06-16T00:59:59Z", NULL);
    expect(&reg_f, "America/New_York", "2026-06-16T01:00:00Z", -1, "2026-06-16T12:00:00Z",
           "window");
}

static void test_dst_new_york(void **state)
{
    (void)state;
    /* 06:30Z on 03-08 is 01:30 EST (before the jump): 08:00 that day is
     * already EDT, 12:00Z */
    expect(&reg_f, "America/New_York", "2026-03-08T06:30:00Z", -1, "2026-03-08T12:00:00Z",
           "window");
    /* 05:30Z on 11-01 is 01:30 EDT, the first of the two 01:30s: 08:00 is
     * EST by then, 13:00Z */
    expect(&reg_f, "America/New_York", "2026-11-01T05:30:00Z", -1, "2026-11-01T13:00:00Z",
           "window");
    /* a window opening at 02:30, which does not exist on 03-08: it moves
     * forward to 03:00 EDT = 07:00Z */
    sch_clock_rules gap = {
        .start_min = 2 * 60 + 30, .end_min = 21 * 60, .weekdays = SCH_ALL_WEEKDAYS};
    expect(&gap, "America/New_York", "2026-03-08T06:00:00Z", -1, "2026-03-08T07:00:00Z", "window");
    /* a window opening at 01:30 on 11-01, which occurs twice: the first
     * (EDT, 05:30Z) */
    sch_clock_rules twice = {
        .start_min = 1 * 60 + 30, .end_min = 21 * 60, .weekdays = SCH_ALL_WEEKDAYS};
    expect(&twice, "America/New_York", "2026-11-01T04:00:00Z", -1, "2026-11-01T05:30:00Z",
           "window");
}

static void test_dst_london(void **state)
{
    (void)state;
    /* 07:30 GMT on Saturday 03-28 -> 08:00 GMT */
    expect(&reg_f, "Europe/London", "2026-03-28T07:30:00Z", -1, "2026-03-28T08:00:00Z", "window");
    /* 06:30Z on Sunday 03-29 is 07:30 BST -> 08:00 BST = 07:00Z */
    expect(&reg_f, "Europe/London", "2026-03-29T06:30:00Z", -1, "2026-03-29T07:00:00Z", "window");
    /* 07:30Z on 03-29 is 08:30 BST: allowed */
    expect(&reg_f, "Europe/London", "2026-03-29T07:30:00Z", -1, "2026-03-29T07:30:00Z", NULL);
    /* 07:30Z on 10-25 is 07:30 GMT (the clocks went back at 01:00Z) */
    expect(&reg_f, "Europe/London", "2026-10-25T07:30:00Z", -1, "2026-10-25T08:00:00Z", "window");
    /* 21:30 GMT Monday 01-12, a step with send_at 11:00: the next day at
     * its send_at */
    expect(&reg_f, "Europe/London", "2026-01-12T21:30:00Z", 11 * 60, "2026-01-13T11:00:00Z",
           "window");
    /* send_at outside the window (06:00): the next day at the window start */
    expect(&reg_f, "Europe/London", "2026-01-12T21:30:00Z", 6 * 60, "2026-01-13T08:00:00Z",
           "window");
}

static void test_phoenix(void **state)
{
    (void)state;
    /* MST all year: 07:00 MST on the day New York jumps is 14:00Z; 08:00
     * MST is 15:00Z, in March and in July alike */
    expect(&reg_f, "America/Phoenix", "2026-03-08T14:00:00Z", -1, "2026-03-08T15:00:00Z", "window");
    expect(&reg_f, "America/Phoenix", "2026-07-01T14:30:00Z", -1, "2026-07-01T15:00:00Z", "window");
    expect(&reg_f, "America/Phoenix", "2026-07-02T03:59:00Z", -1, "2026-07-02T03:59:00Z", NULL);
    expect(&reg_f, "America/Phoenix", "2026-07-02T04:00:00Z", -1, "2026-07-02T15:00:00Z", "window");
}

static void test_weekdays_holidays(void **state)
{
    (void)state;
    int32_t hol[2] = {day("2026-12-25"), day("2026-12-26")};
    /* mon..sat (no bit 6) */
    sch_clock_rules r = {.start_min = 8 * 60,
                         .end_min = 21 * 60,
                         .weekdays = 0x3fu,
                         .holidays = hol,
                         .nholidays = 2};
    /* Sunday 12-06 10:00 GMT, a 09:00 step: Monday 12-07 09:00 GMT */
    expect(&r, "Europe/London", "2026-12-06T10:00:00Z", 9 * 60, "2026-12-07T09:00:00Z", "weekday");
    /* Friday 12-25 (holiday) 09:00: Saturday 12-26 is a holiday, Sunday
     * 12-27 not a weekday: Monday 12-28 09:00 */
    expect(&r, "Europe/London", "2026-12-25T09:00:00Z", 9 * 60, "2026-12-28T09:00:00Z", "holiday");
    /* Thursday 12-24 22:00 (after the window): the next allowed day is
     * Monday 12-28; a send without send_at goes at the window start */
    expect(&r, "Europe/London", "2026-12-24T22:00:00Z", -1, "2026-12-28T08:00:00Z", "window");
    /* a working day inside the window: unchanged */
    expect(&r, "Europe/London", "2026-12-24T10:00:00Z", 9 * 60, "2026-12-24T10:00:00Z", NULL);
}

/* A send log of n sends on channel ch on local day d (sch_sendlog_add). */
static char *logged(char *log, int32_t d, int ch, int n)
{
    for (int i = 0; i < n; i++) {
        char *next = sch_sendlog_add(log, d, ch);
        assert_non_null(next);
        free(log);
        log = next;
    }
    return log;
}

static void test_caps(void **state)
{
    (void)state;
    /* Regulation F, 12 CFR 1006.14(b)(2)(i): more than seven calls within
     * seven consecutive days is presumed harassment: {call_task} 7 / 7d */
    sch_clock_rules r = {.start_min = 8 * 60, .end_min = 21 * 60, .weekdays = SCH_ALL_WEEKDAYS};
    r.caps[0] = (sch_cap){1u << CT_CH_CALL_TASK, 7, 7, "cap:call_task:7/7d"};
    r.caps[1] = (sch_cap){(1u << CT_CH_SMS) | (1u << CT_CH_EMAIL), 3, 7, "cap:sms,email:3/7d"};
    r.ncaps = 2;
    int32_t d = day("2026-06-01"), ok;
    const sch_cap *hit;
    char *log = logged(NULL, d, CT_CH_CALL_TASK, 6);
    /* the 7th call on the same day is allowed */
    assert_int_equal(sch_caps_check(&r, log, CT_CH_CALL_TASK, d, &ok, &hit), 0);
    log = logged(log, d, CT_CH_CALL_TASK, 1);
    /* the 8th is not: the first day whose 7-day period (the day included)
     * leaves 06-01 out is 06-08 */
    assert_int_equal(sch_caps_check(&r, log, CT_CH_CALL_TASK, d, &ok, &hit), 1);
    assert_int_equal(ok, day("2026-06-08"));
    assert_string_equal(hit->name, "cap:call_task:7/7d");
    assert_int_equal(sch_caps_check(&r, log, CT_CH_CALL_TASK, day("2026-06-07"), &ok, &hit), 1);
    assert_int_equal(sch_caps_check(&r, log, CT_CH_CALL_TASK, day("2026-06-08"), &ok, &hit), 0);
    /* calls do not count against the sms/email cap */
    assert_int_equal(sch_caps_check(&r, log, CT_CH_EMAIL, d, &ok, &hit), 0);
    /* two emails on 06-01 and an sms on 06-03: a third message on 06-05 is
     * refused until 06-08, when 06-01 leaves the period */
    free(log);
    log = logged(NULL, d, CT_CH_EMAIL, 2);
    log = logged(log, day("2026-06-03"), CT_CH_SMS, 1);
    assert_int_equal(sch_caps_check(&r, log, CT_CH_EMAIL, day("2026-06-05"), &ok, &hit), 1);
    assert_int_equal(ok, day("2026-06-08"));
    assert_string_equal(hit->name, "cap:sms,email:3/7d");
    /* a letter is on no cap */
    assert_int_equal(sch_caps_check(&r, log, CT_CH_LETTER, day("2026-06-05"), &ok, &hit), 0);
    free(log);
    /* Massachusetts, 940 CMR 7.04(1)(f): two calls or texts in seven days */
    sch_clock_rules ma = r;
    ma.caps[0] =
        (sch_cap){(1u << CT_CH_CALL_TASK) | (1u << CT_CH_SMS), 2, 7, "cap:call_task,sms:2/7d"};
    ma.ncaps = 1;
    log = logged(NULL, d, CT_CH_CALL_TASK, 1);
    log = logged(log, day("2026-06-02"), CT_CH_SMS, 1);
    assert_int_equal(sch_caps_check(&ma, log, CT_CH_CALL_TASK, day("2026-06-04"), &ok, &hit), 1);
    assert_int_equal(ok, day("2026-06-08"));
    free(log);
}

static void test_sendlog(void **state)
{
    (void)state;
    int32_t d = day("2026-06-01");
    char *log = logged(NULL, d - 40, CT_CH_SMS, 1); /* beyond the 31 days kept */
    log = logged(log, d - 5, CT_CH_EMAIL, 1);
    char *next = sch_sendlog_add(log, d, CT_CH_SMS);
    char want[64];
    snprintf(want, sizeof want, "%ld:%d;%ld:%d;", (long)(d - 5), CT_CH_EMAIL, (long)d, CT_CH_SMS);
    assert_string_equal(next, want);
    free(log);
    free(next);
}

static void test_policy_rules(void **state)
{
    (void)state;
    const char *doc =
        "{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\"}]},"
        "\"strategies\":[{\"name\":\"s\",\"ladder\":\"a\"}],\"contact_rules\":{\"window\":{"
        "\"start\":\"08:00\",\"end\":\"21:00\"},"
        "\"weekdays\":[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\",\"sat\"],"
        "\"holidays\":[\"2026-12-26\",\"2026-12-25\"],"
        "\"caps\":[{\"channels\":[\"sms\"],\"max\":3,\"days\":7}],"
        "\"jurisdictions\":{\"DE\":{\"weekdays\":[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\"],"
        "\"holidays\":[\"2026-10-03\"]},\"US-MA\":{\"window\":{\"start\":\"09:00\",\"end\":"
        "\"20:00\"}}}}}";
    sch_policy p;
    char err[512];
    if (sch_policy_parse(doc, &p, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_true(p.contact.enabled);
    const sch_clock_rules *base = sch_contact_rules_for(&p.contact, NULL, "FR");
    assert_ptr_equal(base, &p.contact.base);
    assert_int_equal(base->start_min, 480);
    assert_int_equal(base->end_min, 1260);
    assert_int_equal(base->weekdays, 0x3f);
    assert_int_equal(base->nholidays, 2);
    assert_true(base->holidays[0] < base->holidays[1]); /* sorted */
    assert_int_equal(base->ncaps, 1);
    assert_string_equal(base->caps[0].name, "cap:sms:3/7d");
    assert_int_equal(base->caps[0].channels, 1u << CT_CH_SMS);
    assert_true(p.contact.any_caps);
    const sch_clock_rules *de = sch_contact_rules_for(&p.contact, NULL, "DE");
    assert_int_equal(de->weekdays, 0x1f);
    assert_int_equal(de->nholidays, 1);
    assert_int_equal(de->holidays[0], day("2026-10-03"));
    assert_int_equal(de->start_min, 480); /* the tenant's window: DE does not replace it */
    /* Saturday 2026-10-03 in Berlin (CEST, UTC+2), 10:00 local: not a DE
     * weekday (and a DE holiday): Monday 10-05 at 09:00 CEST = 07:00Z */
    expect(de, "Europe/Berlin", "2026-10-03T08:00:00Z", 9 * 60, "2026-10-05T07:00:00Z", "weekday");
    /* a region entry beats the country */
    const sch_clock_rules *ma = sch_contact_rules_for(&p.contact, "US-MA", "US");
    assert_int_equal(ma->start_min, 540);
    assert_int_equal(ma->end_min, 1200);
    assert_int_equal(ma->weekdays, 0x3f); /* inherited */
    sch_policy_free(&p);
}

static void test_policy_errors(void **state)
{
    (void)state;
    static const struct {
        const char *rules, *want;
    } bad[] = {
        {"{\"window\":{\"start\":\"21:00\",\"end\":\"08:00\"}}",
         "contact_rules.window: start must be before end"},
        {"{\"window\":{\"start\":\"8:00\",\"end\":\"21:00\"}}", "contact_rules.window: must be"},
        {"{\"weekdays\":[\"mon\",\"mon\"]}", "contact_rules.weekdays: must list distinct days"},
        {"{\"weekdays\":[]}", "contact_rules.weekdays: must be a non-empty array"},
        {"{\"holidays\":[\"2026-02-30\"]}", "contact_rules.holidays: must be an array of dates"},
        {"{\"quiet_hours\":{}}", "contact_rules.quiet_hours: unknown key"},
        {"{\"caps\":[{\"channels\":[\"fax\"],\"max\":3,\"days\":7}]}",
         "contact_rules.caps[0]: channels must be distinct channels"},
        {"{\"caps\":[{\"channels\":[\"sms\"],\"max\":3,\"days\":40}]}",
         "contact_rules.caps[0]: days must be 1..31"},
        {"{\"jurisdictions\":{\"germany\":{}}}", "contact_rules.jurisdictions.germany: must be"},
        {"{\"jurisdictions\":{\"DE\":{\"on_cease\":{}}}}",
         "contact_rules.jurisdictions.DE.on_cease: unknown key"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char doc[1024], err[512];
        sch_policy p;
        snprintf(doc, sizeof doc,
                 "{\"version\":1,\"ladders\":{\"a\":[{\"offset\":\"+1d\",\"template\":\"t\"}]},"
                 "\"strategies\":[{\"name\":\"s\",\"ladder\":\"a\"}],\"contact_rules\":%s}",
                 bad[i].rules);
        assert_int_equal(sch_policy_parse(doc, &p, err, sizeof err), -1);
        if (!strstr(err, bad[i].want))
            fail_msg("%s: got '%s', want '%s'", bad[i].rules, err, bad[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weekday),      cmocka_unit_test(test_window_boundaries),
        cmocka_unit_test(test_dst_new_york), cmocka_unit_test(test_dst_london),
        cmocka_unit_test(test_phoenix),      cmocka_unit_test(test_weekdays_holidays),
        cmocka_unit_test(test_caps),         cmocka_unit_test(test_sendlog),
        cmocka_unit_test(test_policy_rules), cmocka_unit_test(test_policy_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
