/* test_scheduler_plan.c -- an instalment plan's schedule (plan.c): how
 * payments fill the instalments in order (partial, exact, over), and the
 * break instant at exactly the grace boundary, in the debtor's zone
 * across a DST change. Worked by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/scheduler/plan.h"
#include "clock.h"
#include "tz.h"

static int32_t D(const char *s)
{
    int32_t d;
    assert_int_equal(cm_date_parse(s, &d), 0);
    return d;
}

static int64_t T(const char *s)
{
    int64_t ms;
    assert_int_equal(cm_time_parse_rfc3339(s, &ms), 0);
    return ms;
}

/* 300.00 due 10 March, 300.00 due 10 April, 300.00 due 10 May */
static char schedule[128];

static int setup(void **state)
{
    (void)state;
    snprintf(schedule, sizeof schedule, "%ld:30000;%ld:30000;%ld:30000;", (long)D("2026-03-10"),
             (long)D("2026-04-10"), (long)D("2026-05-10"));
    return 0;
}

static void test_filling(void **state)
{
    (void)state;
    sch_plan_pos p;
    /* nothing paid: the first, 300.00 short */
    assert_int_equal(sch_plan_position(schedule, 0, &p), 0);
    assert_int_equal(p.n, 3);
    assert_int_equal(p.k, 0);
    assert_int_equal(p.due, D("2026-03-10"));
    assert_int_equal(p.amount, 30000);
    assert_int_equal(p.paid, 0);
    assert_int_equal(p.total, 90000);
    /* 299.99: still the first, one penny short */
    assert_int_equal(sch_plan_position(schedule, 29999, &p), 0);
    assert_int_equal(p.k, 0);
    assert_int_equal(p.paid, 29999);
    /* exactly 300.00: the first is paid, the second is current */
    assert_int_equal(sch_plan_position(schedule, 30000, &p), 0);
    assert_int_equal(p.k, 1);
    assert_int_equal(p.due, D("2026-04-10"));
    assert_int_equal(p.paid, 0);
    /* 450.00: the first paid and 150.00 towards the second */
    assert_int_equal(sch_plan_position(schedule, 45000, &p), 0);
    assert_int_equal(p.k, 1);
    assert_int_equal(p.paid, 15000);
    /* 900.00: all paid */
    assert_int_equal(sch_plan_position(schedule, 90000, &p), 0);
    assert_int_equal(p.k, 3);
    /* 1,000.00: overpaid, all paid all the same */
    assert_int_equal(sch_plan_position(schedule, 100000, &p), 0);
    assert_int_equal(p.k, 3);
    assert_int_equal(p.total, 90000);
}

static void test_malformed(void **state)
{
    (void)state;
    sch_plan_pos p;
    assert_int_equal(sch_plan_position("", 0, &p), -1);
    assert_int_equal(sch_plan_position(NULL, 0, &p), -1);
    assert_int_equal(sch_plan_position("20000:0;", 0, &p), -1); /* a zero instalment */
    assert_int_equal(sch_plan_position("20000:100", 0, &p), -1);
    assert_int_equal(p.n, 0);
}

static void test_break_at_grace_boundary(void **state)
{
    (void)state;
    char err[128];
    const cm_tz *london = cm_tz_get("Europe/London", err, sizeof err);
    assert_non_null(london);
    /* due Tuesday 10 March 2026 (GMT), grace 3: 11, 12, 13 March are the
     * grace; it breaks as 14 March begins, 00:00 GMT = 00:00Z */
    int64_t b = sch_plan_break_at(london, D("2026-03-10"), 3);
    assert_int_equal(b, T("2026-03-14T00:00:00.000Z"));
    /* due 10 April (BST, UTC+1 since 29 March): 00:00 BST on 14 April is
     * 23:00Z on the 13th */
    assert_int_equal(sch_plan_break_at(london, D("2026-04-10"), 3), T("2026-04-13T23:00:00.000Z"));
    /* grace 0: the day after the due date */
    assert_int_equal(sch_plan_break_at(london, D("2026-03-10"), 0), T("2026-03-11T00:00:00.000Z"));
    /* New York, due 6 March 2026 (EST), grace 3: 10 March 00:00 EDT (the
     * clocks went forward on 8 March) = 04:00Z */
    const cm_tz *ny = cm_tz_get("America/New_York", err, sizeof err);
    assert_non_null(ny);
    assert_int_equal(sch_plan_break_at(ny, D("2026-03-06"), 3), T("2026-03-10T04:00:00.000Z"));
}

static void test_schedule_text(void **state)
{
    (void)state;
    ct_plan p;
    memset(&p, 0, sizeof p);
    p.ninstalments = 2;
    p.instalments[0] = (ct_instalment){{NULL, D("2026-03-10")}, 45000};
    p.instalments[1] = (ct_instalment){{NULL, D("2026-04-10")}, 40000};
    char *s = sch_plan_schedule(&p), want[64];
    assert_non_null(s);
    snprintf(want, sizeof want, "%ld:45000;%ld:40000;", (long)D("2026-03-10"),
             (long)D("2026-04-10"));
    assert_string_equal(s, want);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_filling, setup),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_break_at_grace_boundary),
        cmocka_unit_test(test_schedule_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
