/* test_service.c -- unit tests of the settings table bound to variables
 * (common/settings.h) and of the service runtime's settings step
 * (common/service.h: --check-config, configure, cleanup). No servers: the
 * runtime is run only as far as it goes without Kafka and Redis. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "service.h"
#include "settings.h"

static struct {
    cm_settings_common c;
    int n;
    size_t batch;
    long long window;
    const char *mode, *secret;
    int flag;
} cfg;

static int check_mode(const char *v, char *errstr, size_t errlen)
{
    if (!strcmp(v, "a") || !strcmp(v, "b"))
        return 0;
    snprintf(errstr, errlen, "must be a or b");
    return -1;
}

static cm_setting table[] = {
    CM_SETTINGS_COMMON_BOUND(&cfg.c, "127.0.0.1:0", "grp"),
    CM_SETTING_INT("ARREARS_T_N", "5", "n", 1, 10, &cfg.n),
    CM_SETTING_INT("ARREARS_T_BATCH", "4000", "batch", 1, 100000, &cfg.batch),
    CM_SETTING_DURATION("ARREARS_T_WINDOW", "7d", "window", 1000, 400LL * 86400000, &cfg.window),
    CM_SETTING_CHECKED("ARREARS_T_MODE", "a", "mode", &cfg.mode, check_mode),
    CM_SETTING_SECRET("ARREARS_T_SECRET", "", "secret", &cfg.secret),
    CM_SETTING_BOOL("ARREARS_T_FLAG", "no", "flag", &cfg.flag),
    CM_SETTINGS_END};

static const char *const names[] = {"ARREARS_T_N",      "ARREARS_T_BATCH",  "ARREARS_T_WINDOW",
                                    "ARREARS_T_MODE",   "ARREARS_T_SECRET", "ARREARS_T_FLAG",
                                    "ARREARS_GROUP_ID", "ARREARS_CLOCK"};

static int reset(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unsetenv(names[i]);
    memset(&cfg, 0, sizeof cfg);
    return 0;
}

static void test_defaults_bound(void **state)
{
    (void)state;
    char err[1024];
    assert_int_equal(cm_settings_load(table, err, sizeof err), 0);
    assert_int_equal(cfg.n, 5);
    assert_int_equal(cfg.batch, 4000);
    assert_int_equal(cfg.window, 7LL * 86400000);
    assert_string_equal(cfg.mode, "a");
    assert_string_equal(cfg.secret, "");
    assert_int_equal(cfg.flag, 0);
    assert_string_equal(cfg.c.group_id, "grp");
    assert_string_equal(cfg.c.topic_prefix, "arrears.");
    assert_string_equal(cfg.c.http_addr, "127.0.0.1:0");
}

static void test_environment_bound(void **state)
{
    (void)state;
    char err[1024];
    setenv("ARREARS_T_N", "9", 1);
    setenv("ARREARS_T_WINDOW", "90s", 1);
    setenv("ARREARS_T_MODE", "b", 1);
    setenv("ARREARS_T_FLAG", "yes", 1);
    setenv("ARREARS_GROUP_ID", "other", 1);
    assert_int_equal(cm_settings_load(table, err, sizeof err), 0);
    assert_int_equal(cfg.n, 9);
    assert_int_equal(cfg.window, 90000);
    assert_string_equal(cfg.mode, "b");
    assert_int_equal(cfg.flag, 1);
    assert_string_equal(cfg.c.group_id, "other");
}

/* every problem at once, the row's own check included; nothing is stored */
static void test_problems_not_stored(void **state)
{
    (void)state;
    char err[1024];
    cfg.n = -1;
    setenv("ARREARS_T_N", "11", 1);
    setenv("ARREARS_T_MODE", "c", 1);
    setenv("ARREARS_CLOCK", "soon", 1);
    assert_int_equal(cm_settings_load(table, err, sizeof err), -1);
    assert_non_null(strstr(err, "ARREARS_T_N: 11 is outside [1, 10]"));
    assert_non_null(strstr(err, "ARREARS_T_MODE: must be a or b"));
    assert_non_null(strstr(err, "ARREARS_CLOCK:"));
    assert_int_equal(cfg.n, -1);
    assert_null(cfg.mode);
}

/* an int bound to a value it cannot hold is reported, not truncated */
static void test_does_not_fit(void **state)
{
    (void)state;
    int small = 7;
    char err[512];
    cm_setting t[] = {CM_SETTING_DURATION("ARREARS_T_WINDOW", "30d", "w", 0, 0, &small),
                      CM_SETTINGS_END};
    assert_int_equal(cm_settings_load(t, err, sizeof err), -1);
    assert_non_null(strstr(err, "ARREARS_T_WINDOW: 2592000000 does not fit"));
    assert_int_equal(small, 7);
}

static int configured, cleaned, configure_rc;

static int configure(void *app, char *errstr, size_t errlen)
{
    assert_ptr_equal(app, &cfg);
    configured++;
    if (configure_rc)
        snprintf(errstr, errlen, "ARREARS_T_MODE: disagrees with ARREARS_T_N");
    return configure_rc;
}

static void cleanup(void *app)
{
    assert_ptr_equal(app, &cfg);
    cleaned++;
}

static int run_check_config(void)
{
    char prog[] = "x", opt[] = "--check-config";
    char *argv[] = {prog, opt, NULL};
    cm_service_def def = {.name = "test",
                          .summary = "a test",
                          .settings = table,
                          .common = &cfg.c,
                          .app = &cfg,
                          .life = {.configure = configure, .cleanup = cleanup}};
    configured = cleaned = 0;
    return cm_service_main(&def, 2, argv);
}

static void test_check_config(void **state)
{
    (void)state;
    configure_rc = 0;
    assert_int_equal(run_check_config(), 0);
    assert_int_equal(configured, 1);
    assert_int_equal(cleaned, 1);
    /* a check across settings fails --check-config */
    configure_rc = -1;
    assert_int_equal(run_check_config(), 1);
    assert_int_equal(configured, 1);
    assert_int_equal(cleaned, 1);
    /* a bad row: configure is not reached */
    configure_rc = 0;
    setenv("ARREARS_T_N", "0", 1);
    assert_int_equal(run_check_config(), 1);
    assert_int_equal(configured, 0);
    assert_int_equal(cleaned, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults_bound, reset),
        cmocka_unit_test_setup(test_environment_bound, reset),
        cmocka_unit_test_setup(test_problems_not_stored, reset),
        cmocka_unit_test_setup(test_does_not_fit, reset),
        cmocka_unit_test_setup(test_check_config, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
