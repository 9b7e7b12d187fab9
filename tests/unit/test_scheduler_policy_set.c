/* test_scheduler_policy_set.c -- per-tenant policies (policy_set.c): a
 * directory of <tenant>.json plus default.json loads whole or not at all,
 * names every broken file, picks a tenant's policy or the default, and
 * versions each file by its bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../services/scheduler/policy_set.h"
#include "map.h"

/* A minimal valid policy whose default time zone tells the files apart. */
static const char *policy_text(const char *zone)
{
    static char buf[512];
    snprintf(buf, sizeof buf,
             "{\"version\": 1, \"defaults\": {\"timezone\": \"%s\"},"
             " \"ladders\": {\"a\": [{\"offset\": \"+1d\", \"template\": \"t\"}]},"
             " \"strategies\": [{\"name\": \"s\", \"ladder\": \"a\"}]}",
             zone);
    return buf;
}

static void put(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *fresh_dir(void)
{
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/arrears-polset-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void clean(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_dir_picks_tenant_or_default(void **state)
{
    (void)state;
    char *dir = fresh_dir();
    char err[4096];
    sch_policy_set s;
    put(dir, "default.json", policy_text("Europe/London"));
    put(dir, "acme.json", policy_text("America/New_York"));
    put(dir, "zeta.json", policy_text("Asia/Tokyo"));
    put(dir, "notes.txt", "not a policy: ignored");
    put(dir, ".acme.json.swp", "an editor's file: ignored");
    assert_int_equal(sch_policy_set_load_dir(&s, dir, err, sizeof err), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.v[0].tenant, ""); /* the default first */
    assert_string_equal(sch_policy_set_for(&s, "acme")->default_tz, "America/New_York");
    assert_string_equal(sch_policy_set_for(&s, "zeta")->default_tz, "Asia/Tokyo");
    assert_string_equal(sch_policy_set_for(&s, "other")->default_tz, "Europe/London");
    assert_string_equal(sch_policy_set_for(&s, "acm")->default_tz, "Europe/London");
    /* the version is FNV-1a 64 of the file's bytes */
    const char *t = policy_text("America/New_York");
    char want[64], desc[512];
    snprintf(want, sizeof want, "acme=%016llx", (unsigned long long)cm_fnv1a64(t, strlen(t)));
    sch_policy_set_describe(&s, desc, sizeof desc);
    assert_non_null(strstr(desc, want));
    assert_true(strncmp(desc, "default=", 8) == 0);
    sch_policy_set_free(&s);
    clean(dir);
}

static void test_dir_every_error_named(void **state)
{
    (void)state;
    char *dir = fresh_dir();
    char err[4096];
    sch_policy_set s;
    put(dir, "default.json", policy_text("Europe/London"));
    put(dir, "acme.json", "{\"version\": 2}");
    put(dir, "beta.json", "{");
    put(dir, "Bad Name.json", policy_text("UTC"));
    assert_int_equal(sch_policy_set_load_dir(&s, dir, err, sizeof err), -1);
    assert_int_equal(s.n, 0); /* nothing is kept */
    assert_non_null(strstr(err, "acme.json: policy version: must be 1"));
    assert_non_null(strstr(err, "beta.json: policy: invalid JSON"));
    assert_non_null(strstr(err, "Bad Name.json: the name must be <tenant>.json"));
    assert_null(strstr(err, "/default.json:")); /* the good file is not named */
    clean(dir);
}

static void test_dir_needs_default(void **state)
{
    (void)state;
    char *dir = fresh_dir();
    char err[4096];
    sch_policy_set s;
    put(dir, "acme.json", policy_text("Europe/London"));
    assert_int_equal(sch_policy_set_load_dir(&s, dir, err, sizeof err), -1);
    assert_non_null(strstr(err, "no default.json"));
    assert_int_equal(sch_policy_set_load_dir(&s, "/nonexistent/arrears", err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot open the directory"));
    clean(dir);
}

static void test_single_file(void **state)
{
    (void)state;
    char *dir = fresh_dir();
    char err[4096], path[512];
    sch_policy_set s;
    put(dir, "p.json", policy_text("Europe/Berlin"));
    snprintf(path, sizeof path, "%s/p.json", dir);
    assert_int_equal(sch_policy_set_load_file(&s, path, err, sizeof err), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(sch_policy_set_for(&s, "acme")->default_tz, "Europe/Berlin");
    sch_policy_set_free(&s);
    snprintf(path, sizeof path, "%s/missing.json", dir);
    assert_int_equal(sch_policy_set_load_file(&s, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "missing.json: cannot open"));
    clean(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dir_picks_tenant_or_default),
        cmocka_unit_test(test_dir_every_error_named),
        cmocka_unit_test(test_dir_needs_default),
        cmocka_unit_test(test_single_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
