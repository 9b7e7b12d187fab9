/* test_common_statemark.c -- unit tests of common/statemark.c's decision:
 * the four cases of (marker present or not) x (offsets committed or not),
 * from docs/operations.md "State loss", and the marker's key.
 *
 * Expected verdicts are the table of the doc: a marker means the state is
 * the one the offsets go with (start, whatever the offsets); no marker and
 * no offsets is a first start (write the marker); no marker but committed
 * offsets is a lost state (refuse). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "statemark.h"

/* every (marker, committed) pair, with the verdict of the doc's table;
 * a marker with no offsets: expired (an idle group) or deleted by
 * reset-offsets while the state stayed, and replaying is idempotent */
static void test_verdicts(void **state)
{
    (void)state;
    static const struct {
        int marker, committed;
        cm_statemark_verdict want;
    } cases[] = {
        {1, 1, CM_STATEMARK_START},
        {1, 0, CM_STATEMARK_START},
        {0, 0, CM_STATEMARK_WRITE},
        {0, 1, CM_STATEMARK_REFUSE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(cm_statemark_decide(cases[i].marker, cases[i].committed), cases[i].want);
}

/* the marker sits under the service's own prefix, so that it shares the
 * fate of the state it vouches for */
static void test_key_under_the_prefix(void **state)
{
    (void)state;
    char key[64];
    cm_statemark_key("sch:", key, sizeof key);
    assert_string_equal(key, "sch:marker");
    cm_statemark_key("arrears:ingest:dedup:", key, sizeof key);
    assert_string_equal(key, "arrears:ingest:dedup:marker");
    cm_statemark_key("", key, sizeof key);
    assert_string_equal(key, "marker");
    char small[8];
    cm_statemark_key("abcdefgh", small, sizeof small); /* truncated, still terminated */
    assert_string_equal(small, "abcdefg");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_key_under_the_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
