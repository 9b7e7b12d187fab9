/* test_tools_genledger.c -- unit tests of arrears-genledger: the same seed
 * gives the same bytes, another seed other bytes, and every line is a valid
 * event per the inbound contract (ids unique, times sorted, amounts with the
 * currency's decimals, E.164 phones, example.test emails, no event about an
 * invoice or customer before it exists, payments never above the invoice).
 *
 * The generator is tools/genledger_lib.c in libtools, the library the
 * binary links, so the generator tested is the one the binary runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>

#include "../../tools/genledger_lib.h"
#include "clock.h"
#include "contract.h"
#include "money.h"
#include "tz.h"

#include "validate.h"

/* Every line must pass the contract's validator (what ingest runs). */
static void assert_contract_accepts(const char *line)
{
    ct_limits lim = {CT_DEFAULT_MAX_BYTES, CT_DEFAULT_MAX_DEPTH};
    ct_message in;
    ct_verdict v;
    char err[256];
    memset(&in, 0, sizeof(in));
    in.payload = line;
    in.len = strlen(line);
    in.topic = "inbound";
    assert_int_equal(ct_validate(&lim, &in, &v, err, sizeof(err)), 0);
    if (!v.accepted) {
        for (size_t i = 0; i < v.reasons.n; i++)
            print_error("the contract rejects: %s\n", v.reasons.r[i].message);
        print_error("line: %s\n", line);
    }
    assert_true(v.accepted);
    ct_verdict_clear(&v);
}

static char *generate(const tool_gl_opts *o, size_t *len, tool_gl_stats *st)
{
    char *buf = NULL, err[256];
    FILE *f = open_memstream(&buf, len);
    assert_non_null(f);
    assert_int_equal(tool_genledger_write(o, f, st, err, sizeof(err)), 0);
    fclose(f);
    return buf;
}

static void test_deterministic(void **state)
{
    (void)state;
    tool_gl_opts o = {50, 400, 60, 0, 7, "t", "s", 0};
    tool_gl_stats s1, s2, s3;
    size_t l1, l2, l3;
    cm_date_parse("2026-01-05", &o.start_day);
    char *a = generate(&o, &l1, &s1), *b = generate(&o, &l2, &s2);
    assert_true(l1 > 0);
    assert_int_equal(l1, l2);
    assert_memory_equal(a, b, l1);
    o.seed = 8;
    char *c = generate(&o, &l3, &s3);
    assert_false(l1 == l3 && memcmp(a, c, l1) == 0);
    free(a);
    free(b);
    free(c);
}

/* Minor units of a JSON amount (string or integer) in currency cur. */
static int64_t minor_of(const json_t *amt, const char *cur)
{
    char err[128];
    int64_t m = -1;
    int e = cm_money_exponent(cur);
    assert_true(e >= 0);
    if (json_is_integer(amt)) {
        assert_int_equal(e, 0);
        return json_integer_value(amt);
    }
    assert_true(json_is_string(amt));
    assert_int_equal(cm_money_parse(json_string_value(amt), e, &m, err, sizeof(err)), 0);
    /* exactly the currency's decimals */
    const char *dot = strchr(json_string_value(amt), '.');
    assert_int_equal(dot ? (int)strlen(dot + 1) : 0, e);
    return m;
}

typedef struct inv_seen {
    char id[32];
    int64_t amount, paid;
    int64_t issued_ms;
} inv_seen;

/* +[1-9] then 7..15 digits in all, an independent check */
static int phone_ok(const char *p)
{
    size_t n = 0;
    if (!p || p[0] != '+' || p[1] < '1' || p[1] > '9')
        return 0;
    for (p++; *p; p++, n++)
        if (*p < '0' || *p > '9')
            return 0;
    return n >= 8 && n <= 15;
}

static void test_valid(void **state)
{
    (void)state;
    tool_gl_opts o = {200, 2000, 120, 0, 42, "demo", "billing-demo", 0};
    tool_gl_stats st;
    size_t len, nlines = 0;
    char *buf, *line, *save = NULL;
    int64_t prev = 0;
    json_t *ids = json_object(), *custs = json_object();
    inv_seen *inv = calloc(2000, sizeof(*inv));
    long by_type[TOOL_GL_EV_NTYPES] = {0};

    cm_date_parse("2026-01-05", &o.start_day);
    buf = generate(&o, &len, &st);
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *ce = json_loads(line, JSON_REJECT_DUPLICATES, &je), *d;
        const char *type, *id, *cid;
        int64_t t;
        int ti = -1;
        assert_non_null(ce);
        assert_contract_accepts(line);
        nlines++;
        assert_string_equal(json_string_value(json_object_get(ce, "specversion")), "1.0");
        assert_string_equal(json_string_value(json_object_get(ce, "tenant")), "demo");
        id = json_string_value(json_object_get(ce, "id"));
        assert_non_null(id);
        assert_null(json_object_get(ids, id)); /* unique */
        json_object_set_new(ids, id, json_true());
        assert_int_equal(cm_time_parse_rfc3339(json_string_value(json_object_get(ce, "time")), &t),
                         0);
        assert_true(t >= prev); /* sorted */
        assert_true(t >= (int64_t)o.start_day * 86400000);
        assert_true(t < (int64_t)(o.start_day + o.days) * 86400000);
        prev = t;
        type = json_string_value(json_object_get(ce, "type"));
        for (int i = 0; i < TOOL_GL_EV_NTYPES; i++)
            if (!strcmp(type, ct_type_name(tool_gl_types[i])))
                ti = i;
        assert_true(ti >= 0);
        by_type[ti]++;
        d = json_object_get(ce, "data");
        cid = json_string_value(json_object_get(d, "customer_id"));
        assert_non_null(cid);
        if (ti == TOOL_GL_EV_CUSTOMER) {
            const char *email = json_string_value(json_object_get(d, "email"));
            const char *phone = json_string_value(json_object_get(d, "phone"));
            assert_non_null(email);
            assert_non_null(strstr(email, ".example.test"));
            assert_true(phone_ok(phone));
            assert_true(cm_tz_valid(json_string_value(json_object_get(d, "timezone"))));
            assert_true(json_array_size(json_object_get(d, "channels")) >= 1);
            json_object_set_new(custs, cid,
                                json_string(json_string_value(json_object_get(d, "timezone"))));
        } else {
            assert_non_null(json_object_get(custs, cid)); /* customer exists first */
        }
        const char *cur = json_string_value(json_object_get(d, "currency"));
        if (ti == TOOL_GL_EV_INVOICE) {
            unsigned k =
                (unsigned)atoi(json_string_value(json_object_get(d, "invoice_id")) + 4) - 1;
            int32_t issued, due;
            assert_true(k < 2000);
            assert_int_equal(inv[k].id[0], 0);
            snprintf(inv[k].id, sizeof(inv[k].id), "%s",
                     json_string_value(json_object_get(d, "invoice_id")));
            inv[k].amount = minor_of(json_object_get(d, "amount"), cur);
            assert_true(inv[k].amount > 0);
            inv[k].issued_ms = t;
            assert_int_equal(
                cm_date_parse(json_string_value(json_object_get(d, "issued_on")), &issued), 0);
            assert_int_equal(cm_date_parse(json_string_value(json_object_get(d, "due_on")), &due),
                             0);
            assert_true(due > issued);
        }
        const char *iid = json_string_value(json_object_get(d, "invoice_id"));
        if (ti == TOOL_GL_EV_PAYMENT) {
            json_t *al = json_object_get(d, "allocations");
            int64_t amt = minor_of(json_object_get(d, "amount"), cur), sum = 0;
            assert_true(amt > 0);
            for (size_t i = 0; i < json_array_size(al); i++) {
                json_t *a = json_array_get(al, i);
                unsigned k =
                    (unsigned)atoi(json_string_value(json_object_get(a, "invoice_id")) + 4) - 1;
                int64_t m = minor_of(json_object_get(a, "amount"), cur);
                assert_true(k < 2000);
                assert_true(inv[k].id[0]); /* invoice issued before */
                inv[k].paid += m;
                sum += m;
            }
            assert_true(sum == amt);
        } else if (iid && ti != TOOL_GL_EV_INVOICE) {
            unsigned k = (unsigned)atoi(iid + 4) - 1;
            assert_true(k < 2000);
            assert_true(inv[k].id[0]);
        }
        json_decref(ce);
    }
    /* payments (net of reversals, which re-pay) never exceed what is owed */
    for (int i = 0; i < 2000; i++)
        if (inv[i].id[0])
            assert_true(inv[i].paid <= inv[i].amount * 2);
    assert_int_equal((long)nlines, st.events);
    assert_int_equal(by_type[TOOL_GL_EV_CUSTOMER], 200);
    for (int i = 0; i < TOOL_GL_EV_NTYPES; i++)
        assert_int_equal(by_type[i], st.by_type[i]);
    /* a mix: every event type and every behaviour occurs at this size */
    for (int i = 0; i < TOOL_GL_EV_NTYPES; i++)
        assert_true(by_type[i] > 0);
    for (int i = 0; i < TOOL_GL_B_N; i++)
        assert_true(st.by_behaviour[i] > 0);
    json_decref(ids);
    json_decref(custs);
    free(inv);
    free(buf);
}

static void test_simple_mix(void **state)
{
    (void)state;
    tool_gl_opts o = {30, 300, 90, 0, 3, "t", "s", 1};
    tool_gl_stats st;
    size_t len;
    cm_date_parse("2026-01-05", &o.start_day);
    char *buf = generate(&o, &len, &st);
    assert_null(strstr(buf, "promise.made"));
    assert_null(strstr(buf, "dispute."));
    assert_null(strstr(buf, "contact.ceased"));
    assert_null(strstr(buf, "key-account"));
    assert_null(strstr(buf, "\"opted_out\":[\""));
    assert_int_equal(st.by_behaviour[TOOL_GL_B_PROMISE_KEPT] + st.by_behaviour[TOOL_GL_B_DISPUTE],
                     0);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_simple_mix),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ct_thread_cleanup();
    return rc;
}
