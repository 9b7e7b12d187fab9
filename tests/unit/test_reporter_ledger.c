/* test_reporter_ledger.c -- data-driven ledgers through the replay path.
 *
 * tests/data/reporter/<case>/: events.jsonl (inbound CloudEvents),
 * optional contacts.jsonl, at.txt (the report date) and expected.json,
 * which tests/data/reporter/expected.py works out independently of this
 * code. Every expected value must be present and equal in the reports that
 * rep_replay_main prints: integers (money in minor units) exactly, reals
 * to 0.001 (they are rounded to 0.01 by both), strings, booleans and null
 * exactly, arrays element by element. */
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
#include <math.h>
#include <sys/stat.h>

#include "../../services/reporter/reporter.h"

#define DATA "tests/data/reporter"

static int rep_t_diff(const json_t *e, const json_t *a, const char *path)
{
    char sub[512];
    int bad = 0;
    if (json_is_object(e)) {
        const char *k;
        json_t *v;
        if (!json_is_object(a)) {
            fprintf(stderr, "%s: expected an object\n", path);
            return 1;
        }
        json_object_foreach((json_t *)e, k, v)
        {
            snprintf(sub, sizeof sub, "%s.%s", path, k);
            json_t *av = json_object_get(a, k);
            if (!av) {
                fprintf(stderr, "%s: missing\n", sub);
                bad++;
            } else {
                bad += rep_t_diff(v, av, sub);
            }
        }
        return bad;
    }
    if (json_is_array(e)) {
        if (!json_is_array(a) || json_array_size(a) != json_array_size(e)) {
            fprintf(stderr, "%s: expected %zu elements, got %zu\n", path, json_array_size(e),
                    json_array_size(a));
            return 1;
        }
        for (size_t i = 0; i < json_array_size(e); i++) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            bad += rep_t_diff(json_array_get(e, i), json_array_get(a, i), sub);
        }
        return bad;
    }
    if (json_is_integer(e)) {
        if (!json_is_integer(a) || json_integer_value(a) != json_integer_value(e)) {
            fprintf(stderr, "%s: expected %lld, got %s\n", path, (long long)json_integer_value(e),
                    json_is_number(a) ? "another number" : "?");
            return 1;
        }
        return 0;
    }
    if (json_is_real(e)) {
        if (!json_is_number(a) || fabs(json_number_value(a) - json_real_value(e)) > 0.001) {
            fprintf(stderr, "%s: expected %.4f, got %.4f\n", path, json_real_value(e),
                    json_number_value(a));
            return 1;
        }
        return 0;
    }
    if (!json_equal((json_t *)e, (json_t *)a)) {
        fprintf(stderr, "%s: values differ\n", path);
        return 1;
    }
    return 0;
}

static int rep_t_case(const char *dir)
{
    char ev[1100], co[1100], at[1100], ex[1100];
    snprintf(ev, sizeof ev, "%s/events.jsonl", dir);
    snprintf(co, sizeof co, "%s/contacts.jsonl", dir);
    snprintf(at, sizeof at, "%s/at.txt", dir);
    snprintf(ex, sizeof ex, "%s/expected.json", dir);
    char date[32] = "";
    FILE *f = fopen(at, "r");
    assert_non_null(f);
    assert_non_null(fgets(date, sizeof date, f));
    fclose(f);
    date[strcspn(date, "\r\n")] = 0;
    struct stat sb;
    int has_contacts = stat(co, &sb) == 0;
    char *argv[] = {"replay", "--events", ev, "--at", date, "--contacts", co, NULL};
    FILE *out = tmpfile(), *err = tmpfile();
    assert_non_null(out);
    assert_int_equal(rep_replay_main(has_contacts ? 7 : 5, argv, out, err), 0);
    rewind(out);
    json_t *reports = json_object(); /* "tenant/type" -> report */
    json_error_t je;
    json_t *r;
    while ((r = json_loadf(out, JSON_DISABLE_EOF_CHECK, &je))) {
        char key[300];
        snprintf(key, sizeof key, "%s/%s", json_string_value(json_object_get(r, "tenant")),
                 json_string_value(json_object_get(r, "type")));
        json_object_set_new(reports, key, r);
        int c;
        while ((c = fgetc(out)) == '\n')
            ;
        if (c == EOF)
            break;
        ungetc(c, out);
    }
    json_t *exp = json_load_file(ex, 0, &je);
    assert_non_null(exp);
    int bad = 0;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(exp, "reports"), i, e)
    {
        char key[300];
        snprintf(key, sizeof key, "%s/%s", json_string_value(json_object_get(e, "tenant")),
                 json_string_value(json_object_get(e, "type")));
        json_t *a = json_object_get(reports, key);
        if (!a) {
            fprintf(stderr, "%s: %s: no report\n", dir, key);
            bad++;
            continue;
        }
        char path[1400];
        snprintf(path, sizeof path, "%s:%s", dir, key);
        bad += rep_t_diff(e, a, path);
    }
    assert_true(json_array_size(json_object_get(exp, "reports")) > 0);
    json_decref(exp);
    json_decref(reports);
    fclose(out);
    fclose(err);
    return bad;
}

static void test_ledgers(void **state)
{
    (void)state;
    DIR *d = opendir(DATA);
    assert_non_null(d);
    struct dirent *de;
    int cases = 0, bad = 0;
    while ((de = readdir(d))) {
        char dir[512], ex[600];
        struct stat sb;
        if (de->d_name[0] == '.')
            continue;
        snprintf(dir, sizeof dir, DATA "/%s", de->d_name);
        snprintf(ex, sizeof ex, "%s/expected.json", dir);
        if (stat(ex, &sb) != 0)
            continue;
        cases++;
        bad += rep_t_case(dir);
    }
    closedir(d);
    assert_true(cases >= 1);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_ledgers)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
