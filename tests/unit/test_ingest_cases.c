/* test_ingest_cases.c -- data-driven cases of ing_process.
 *
 * tests/data/ingest/accept/<case>/: input (payload bytes: input.json or
 * input.bin), optional headers.json ([[name, value-or-null], ...]; a
 * ce_specversion header selects binary mode), expected.json (the canonical
 * event, compared as JSON). The record key must be tenant/customer_id.
 * tests/data/ingest/reject/<case>/: input, optional headers.json and
 * config.json ({"max_bytes": n, "max_depth": n}), expected.json
 * ({"reasons": [{"field", "rule", "message"?}, ...]}: the exact list of
 * (field, rule) pairs, and the message where given); the DLQ record must
 * carry the original bytes, headers, origin and the same reasons. */
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
#include <sys/stat.h>

#include "../../services/ingest/ingest.h"
#include "base64.h"

#define DATA "tests/data/ingest"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) {
        b[n] = 0;
        *len = (size_t)n;
    }
    return b;
}

typedef struct loaded {
    char *payload;
    size_t len;
    json_t *headers_json;
    ing_header hdr[32];
    size_t nhdr;
    ing_config cfg;
    json_t *expected;
} loaded;

static void load_case(const char *dir, loaded *c)
{
    char p[512];
    memset(c, 0, sizeof *c);
    snprintf(p, sizeof p, "%s/input.json", dir);
    c->payload = slurp(p, &c->len);
    if (!c->payload) {
        snprintf(p, sizeof p, "%s/input.bin", dir);
        c->payload = slurp(p, &c->len);
    }
    if (!c->payload)
        fail_msg("%s: no input.json or input.bin", dir);
    json_error_t e;
    snprintf(p, sizeof p, "%s/headers.json", dir);
    FILE *hf = fopen(p, "r");
    if (hf) {
        fclose(hf);
        c->headers_json = json_load_file(p, 0, &e);
        if (!c->headers_json)
            fail_msg("%s: %s", p, e.text);
        size_t i;
        json_t *h;
        json_array_foreach(c->headers_json, i, h)
        {
            json_t *val = json_array_get(h, 1);
            c->hdr[i].name = json_string_value(json_array_get(h, 0));
            c->hdr[i].value = json_is_string(val) ? json_string_value(val) : NULL;
            c->hdr[i].len = json_is_string(val) ? json_string_length(val) : 0;
            c->nhdr++;
        }
    }
    c->cfg.max_bytes = ING_DEFAULT_MAX_BYTES;
    c->cfg.max_depth = ING_DEFAULT_MAX_DEPTH;
    snprintf(p, sizeof p, "%s/config.json", dir);
    hf = fopen(p, "r");
    if (hf) {
        fclose(hf);
        json_t *cj = json_load_file(p, 0, &e);
        assert_non_null(cj);
        if (json_object_get(cj, "max_bytes"))
            c->cfg.max_bytes = (size_t)json_integer_value(json_object_get(cj, "max_bytes"));
        if (json_object_get(cj, "max_depth"))
            c->cfg.max_depth = (int)json_integer_value(json_object_get(cj, "max_depth"));
        json_decref(cj);
    }
    snprintf(p, sizeof p, "%s/expected.json", dir);
    c->expected = json_load_file(p, 0, &e);
    if (!c->expected)
        fail_msg("%s: %s", p, e.text);
}

static void free_case(loaded *c)
{
    free(c->payload);
    json_decref(c->headers_json);
    json_decref(c->expected);
}

static int run_dir(const char *kind, void (*one)(const char *dir, const char *name))
{
    char base[256];
    snprintf(base, sizeof base, "%s/%s", DATA, kind);
    DIR *d = opendir(base);
    if (!d)
        fail_msg("cannot open %s (run from the repository root)", base);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char dir[512];
        snprintf(dir, sizeof dir, "%s/%s", base, de->d_name);
        one(dir, de->d_name);
        n++;
    }
    closedir(d);
    return n;
}

static void one_accept(const char *dir, const char *name)
{
    loaded c;
    load_case(dir, &c);
    ing_input in = {c.payload, c.len,          "k", 1, c.hdr, c.nhdr, "arrears.inbound", 2,
                    77,        1772355600000LL};
    ing_result r;
    char err[256];
    assert_int_equal(ing_process(&c.cfg, &in, &r, err, sizeof err), 0);
    if (!r.accepted)
        fail_msg("%s: rejected: %s", name, r.reasons.n ? r.reasons.r[0].message : "?");
    json_error_t e;
    json_t *got = json_loadb(r.body, r.bodylen, 0, &e);
    assert_non_null(got);
    if (!json_equal(got, c.expected)) {
        char *x = json_dumps(c.expected, JSON_COMPACT | JSON_SORT_KEYS);
        char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        fprintf(stderr, "%s:\n expected %s\n got      %s\n", name, x, g);
        free(x);
        free(g);
        fail_msg("%s: canonical event differs", name);
    }
    char key[512];
    snprintf(key, sizeof key, "%s/%s", json_string_value(json_object_get(c.expected, "tenant")),
             json_string_value(json_object_get(c.expected, "customer_id")));
    assert_string_equal(r.key, key);
    assert_string_equal(r.trace_id, json_string_value(json_object_get(c.expected, "trace_id")));
    assert_string_equal(r.type, json_string_value(json_object_get(c.expected, "type")));
    json_decref(got);
    ing_result_clear(&r);
    free_case(&c);
}

static void one_reject(const char *dir, const char *name)
{
    loaded c;
    load_case(dir, &c);
    ing_input in = {c.payload, c.len, "key-1",        5, c.hdr, c.nhdr, "arrears.inbound",
                    3,         1234,  1772355600000LL};
    ing_result r;
    char err[256];
    assert_int_equal(ing_process(&c.cfg, &in, &r, err, sizeof err), 0);
    if (r.accepted)
        fail_msg("%s: accepted but should be rejected: %s", name, r.body);
    json_t *want = json_object_get(c.expected, "reasons");
    int same = json_array_size(want) == r.reasons.n;
    for (size_t i = 0; same && i < r.reasons.n; i++) {
        json_t *w = json_array_get(want, i);
        const char *msg = json_string_value(json_object_get(w, "message"));
        same = strcmp(json_string_value(json_object_get(w, "field")), r.reasons.r[i].field) == 0 &&
               strcmp(json_string_value(json_object_get(w, "rule")), r.reasons.r[i].rule) == 0 &&
               (!msg || strcmp(msg, r.reasons.r[i].message) == 0);
    }
    if (!same) {
        fprintf(stderr, "%s: got reasons:\n", name);
        for (size_t i = 0; i < r.reasons.n; i++)
            fprintf(stderr, "  {\"field\": \"%s\", \"rule\": \"%s\"}  %s\n", r.reasons.r[i].field,
                    r.reasons.r[i].rule, r.reasons.r[i].message);
        fail_msg("%s: reasons differ", name);
    }

    /* The DLQ record: origin, reasons, headers and the original bytes. */
    json_error_t e;
    json_t *dlq = json_loadb(r.body, r.bodylen, 0, &e);
    assert_non_null(dlq);
    json_t *origin = json_object_get(dlq, "origin");
    assert_string_equal(json_string_value(json_object_get(origin, "topic")), "arrears.inbound");
    assert_int_equal(json_integer_value(json_object_get(origin, "partition")), 3);
    assert_int_equal(json_integer_value(json_object_get(origin, "offset")), 1234);
    assert_int_equal(json_array_size(json_object_get(dlq, "reasons")), r.reasons.n);
    assert_string_equal(json_string_value(json_object_get(dlq, "key")), "key-1");
    assert_int_equal(json_array_size(json_object_get(dlq, "headers")), c.nhdr);
    assert_int_equal(json_integer_value(json_object_get(dlq, "payload_bytes")), c.len);
    json_t *pl = json_object_get(dlq, "payload");
    json_t *pb = json_object_get(dlq, "payload_base64");
    int truncated = json_is_true(json_object_get(dlq, "truncated"));
    if (truncated) {
        assert_non_null(pb);
        assert_true(json_string_length(pb) <= (c.cfg.max_bytes + 2) / 3 * 4);
    } else if (ct_utf8_valid(c.payload, c.len)) {
        assert_non_null(pl);
        assert_int_equal(json_string_length(pl), c.len);
        assert_memory_equal(json_string_value(pl), c.payload, c.len);
    } else {
        assert_null(pl);
        char *b = cm_base64_dup(c.payload, c.len);
        assert_string_equal(json_string_value(pb), b);
        free(b);
    }
    json_decref(dlq);
    ing_result_clear(&r);
    free_case(&c);
}

static void test_accept_cases(void **state)
{
    (void)state;
    assert_true(run_dir("accept", one_accept) >= 12);
}

static void test_reject_cases(void **state)
{
    (void)state;
    assert_true(run_dir("reject", one_reject) >= 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_cases),
        cmocka_unit_test(test_reject_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
