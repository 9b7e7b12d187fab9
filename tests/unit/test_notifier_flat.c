/* test_notifier_flat.c -- the templates of deploy/config/templates read in
 * the nested layout and in the flat layout of a Kubernetes ConfigMap
 * ("<tenant>__<locale>__<channel>__<file>", mounted as symlinks into a
 * hidden ..data directory) are the same set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../services/notifier/templates.h"

#define SRC "deploy/config/templates"

static void make_flat(char *dir)
{
    char cmd[1024];
    assert_non_null(mkdtemp(dir));
    /* what the kubelet does: real files under ..data, symlinks beside it */
    snprintf(cmd, sizeof cmd,
             "set -e; mkdir '%s/..data'; cd " SRC "; find . -type f | sed 's|^\\./||' | "
             "while read -r f; do k=$(printf %%s \"$f\" | sed 's|/|__|g'); "
             "cp \"$f\" \"%s/..data/$k\"; ln -s \"..data/$k\" \"%s/$k\"; done",
             dir, dir, dir);
    assert_int_equal(system(cmd), 0);
}

static void test_flat_equals_nested(void **state)
{
    (void)state;
    char err[512], dir[] = "/tmp/ntf-flat-XXXXXX", cmd[600];
    ntf_templates *nested = ntf_templates_load(SRC, err, sizeof err);
    if (!nested)
        fail_msg("%s", err);
    make_flat(dir);
    ntf_templates *flat = ntf_templates_load(dir, err, sizeof err);
    if (!flat)
        fail_msg("%s", err);
    assert_true(ntf_templates_count(nested) > 10);
    assert_int_equal(ntf_templates_count(flat), ntf_templates_count(nested));
    const char *locales[] = {"en-GB", "de-DE"};
    const char *ids[] = {"overdue_1", "overdue_7", "payment_thanks", "due_soon"};
    for (size_t l = 0; l < 2; l++)
        for (size_t i = 0; i < 4; i++) {
            ntf_template_set a, b;
            int ra = ntf_templates_find(nested, "default", locales[l], "email", ids[i], &a, err,
                                        sizeof err);
            int rb = ntf_templates_find(flat, "default", locales[l], "email", ids[i], &b, err,
                                        sizeof err);
            assert_int_equal(ra, 0);
            assert_int_equal(rb, 0);
            assert_string_equal(a.subject, b.subject);
            assert_string_equal(a.text, b.text);
            assert_string_equal(a.html, b.html);
        }
    json_t *va = ntf_templates_vars(nested, "default");
    json_t *vb = ntf_templates_vars(flat, "default");
    assert_true(json_equal(va, vb));
    json_decref(va);
    json_decref(vb);
    ntf_templates_free(flat);
    ntf_templates_free(nested);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_flat_equals_nested)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
