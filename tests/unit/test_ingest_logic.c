/* test_ingest_logic.c -- unit tests of ingest's field rules, byte scan,
 * encoders, the batch loop over a fake backend (to inject Redis and
 * delivery failures the real services cannot produce on demand), and the
 * de-duplication window's buckets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../services/ingest/backend.h"
#include "../../services/ingest/ingest.h"
#include "money.h"

static cm_json *jp;

static const cm_jv *jv(const char *text)
{
    char err[128];
    if (!jp)
        jp = cm_json_new();
    const cm_jv *v = cm_json_parse(jp, text, strlen(text), 8, err, sizeof err);
    if (!v)
        fail_msg("bad test JSON %s: %s", text, err);
    return v;
}

static int64_t amount_ok(const char *text, const char *cur)
{
    ct_reasons rs;
    memset(&rs, 0, sizeof rs);
    int64_t m = -1;
    int rc = ct_amount_minor(jv(text), cur, cm_money_exponent(cur), "data.amount", &m, &rs);
    if (rc != 0)
        fail_msg("amount %s rejected: %s", text, rs.r[0].message);
    return m;
}

static const char *amount_bad(const char *text, const char *cur)
{
    static ct_reasons rs;
    memset(&rs, 0, sizeof rs);
    int64_t m = -1;
    int rc = ct_amount_minor(jv(text), cur, cm_money_exponent(cur), "data.amount", &m, &rs);
    assert_int_equal(rc, -1);
    assert_int_equal(rs.n, 1);
    return rs.r[0].rule;
}

static void test_amounts(void **state)
{
    (void)state;
    assert_int_equal(amount_ok("\"12.30\"", "EUR"), 1230);
    assert_int_equal(amount_ok("\"12.3\"", "EUR"), 1230);
    assert_int_equal(amount_ok("\"12\"", "EUR"), 1200);
    assert_int_equal(amount_ok("\"0\"", "EUR"), 0);
    assert_int_equal(amount_ok("\"1500\"", "JPY"), 1500);
    assert_int_equal(amount_ok("\"1.005\"", "KWD"), 1005);
    assert_int_equal(amount_ok("12.3", "EUR"), 1230);
    assert_int_equal(amount_ok("0.1", "EUR"), 10);
    assert_int_equal(amount_ok("1234567.89", "USD"), 123456789);
    assert_int_equal(amount_ok("0.125", "KWD"), 125);
    assert_int_equal(amount_ok("42", "KWD"), 42000);
    assert_int_equal(amount_ok("\"92233720368547757.99\"", "EUR"), 9223372036854775799LL);

    assert_string_equal(amount_bad("\"12.345\"", "EUR"), "amount_decimals");
    assert_string_equal(amount_bad("\"1.5\"", "JPY"), "amount_decimals");
    assert_string_equal(amount_bad("12.345", "EUR"), "amount_decimals");
    assert_string_equal(amount_bad("0.5", "JPY"), "amount_decimals");
    assert_string_equal(amount_bad("-1.0", "EUR"), "amount_negative");
    assert_string_equal(amount_bad("-1", "EUR"), "amount_negative");
    assert_string_equal(amount_bad("\"-1\"", "EUR"), "amount_negative");
    assert_string_equal(amount_bad("\"1e3\"", "EUR"), "amount_format");
    assert_string_equal(amount_bad("\"NaN\"", "EUR"), "amount_format");
    assert_string_equal(amount_bad("\" 1\"", "EUR"), "amount_format");
    assert_string_equal(amount_bad("\"1.\"", "EUR"), "amount_format");
    assert_string_equal(amount_bad("\".5\"", "EUR"), "amount_format");
    assert_string_equal(amount_bad("\"\"", "EUR"), "amount_format");
    assert_string_equal(amount_bad("1e300", "EUR"), "amount_range");
    assert_string_equal(amount_bad("\"92233720368547758.08\"", "EUR"), "amount_range");
    assert_string_equal(amount_bad("true", "EUR"), "type");
    assert_string_equal(amount_bad("null", "EUR"), "required");
}

static void test_field_checks(void **state)
{
    (void)state;
    assert_true(ct_e164_valid("+447700900123"));
    assert_true(ct_e164_valid("+14155550100"));
    assert_false(ct_e164_valid("447700900123"));
    assert_false(ct_e164_valid("+0447700900"));
    assert_false(ct_e164_valid("+44 7700 900123"));
    assert_false(ct_e164_valid("+1234567"));          /* 7 digits */
    assert_false(ct_e164_valid("+1234567890123456")); /* 16 digits */
    assert_true(ct_email_valid("ap@ada.test"));
    assert_true(ct_email_valid("first.last+tag@sub.example.co.uk"));
    assert_false(ct_email_valid("nobody"));
    assert_false(ct_email_valid("a@b"));
    assert_false(ct_email_valid("a@@b.c"));
    assert_false(ct_email_valid("a b@c.d"));
    assert_false(ct_email_valid("a@b..c"));
    assert_false(ct_email_valid("a@b.c."));
    assert_true(ct_locale_valid("en"));
    assert_true(ct_locale_valid("en-GB"));
    assert_true(ct_locale_valid("zh-Hant-TW"));
    assert_false(ct_locale_valid("e"));
    assert_false(ct_locale_valid("en_GB"));
    assert_false(ct_locale_valid("en-"));
    assert_true(ct_tenant_valid("acme-eu_1.x"));
    assert_false(ct_tenant_valid(""));
    assert_false(ct_tenant_valid("a/b"));
    assert_false(ct_tenant_valid("a:b"));
    assert_true(ct_type_inbound(ct_type_parse("invoice.issued", 14)));
    assert_false(ct_type_inbound(ct_type_parse("invoice.paid", 12)));
    assert_false(ct_type_inbound(ct_type_parse("promise.kept", 12)));
}

static void test_scan(void **state)
{
    (void)state;
    ct_reasons rs;
    memset(&rs, 0, sizeof rs);
    assert_int_equal(ct_scan("{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}", 17, 4, "p", &rs),
                     0);
    assert_int_equal(ct_scan("[[[[]]]]", 8, 4, "p", &rs), 0);
    assert_int_equal(ct_scan("\"[[[[[[\"", 8, 2, "p", &rs), 0); /* brackets in a string */
    assert_int_equal(rs.n, 0);
    assert_int_equal(ct_scan("[[[[[]]]]]", 10, 4, "p", &rs), -1);
    assert_string_equal(rs.r[0].rule, "depth");
    assert_int_equal(ct_scan("\"\\\"[[[\"", 7, 1, "p", &rs), 0); /* escaped quote */
    assert_false(ct_utf8_valid("\xed\xa0\x80", 3));              /* surrogate */
    assert_false(ct_utf8_valid("\xf4\x90\x80\x80", 4));          /* > U+10FFFF */
    assert_false(ct_utf8_valid("\xe0\x80\xaf", 3));              /* overlong */
    assert_false(ct_utf8_valid("\xc3", 1));                      /* truncated */
    assert_true(ct_utf8_valid("\xf4\x8f\xbf\xbf", 4));
}

static void test_encoders(void **state)
{
    (void)state;
    char *k = ing_dedup_key("p:", "acme", "billing:eu", "evt-1");
    assert_string_equal(k, "p:acme:10:billing:eu:evt-1");
    free(k);
    char t[33];
    ct_trace_id("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "a", "s", "i", t);
    assert_string_equal(t, "4bf92f3577b34da6a3ce929d0e0e4736");
    /* all-zero trace ids are invalid: derived instead, deterministically */
    ct_trace_id("00-00000000000000000000000000000000-00f067aa0ba902b7-01", "a", "s", "i", t);
    char t2[33];
    ct_trace_id(NULL, "a", "s", "i", t2);
    assert_string_equal(t, t2);
    ct_trace_id(NULL, "a", "s", "j", t);
    assert_string_not_equal(t, t2);
    assert_int_equal(strlen(t), 32);
}

/* The reader agrees with jansson (JSON_REJECT_DUPLICATES) on what is JSON. */
static void test_json_reader(void **state)
{
    (void)state;
    const char *cases[] = {
        "{}",
        "[]",
        "{\"a\":1}",
        " {\"a\" : [1, 2.5, -0, 1e3, 1E-2, true, false, null]} ",
        "{\"a\":1,\"a\":2}",
        "{\"a\":1,}",
        "[1,]",
        "[01]",
        "[1.]",
        "[.5]",
        "[+1]",
        "[-]",
        "[1e]",
        "[\"\\u0000\"]",
        "[\"\\ud800\"]",
        "[\"\\udc00\"]",
        "[\"\\ud83d\\ude00\"]",
        "[\"\\x\"]",
        "[\"a\tb\"]",
        "[\"\\u00e9\"]",
        "[9223372036854775807]",
        "[9223372036854775808]",
        "[-9223372036854775808]",
        "[-9223372036854775809]",
        "[1e400]",
        "[1e-400]",
        "{\"a\":{\"b\":{}}} x",
        "",
        "   ",
        "[tru]",
        "[nul]",
        "{\"a\" 1}",
        "{1:2}",
        "[\"unterminated",
        "\"just a string\"",
        "42",
        "{\"\\u0041\":1,\"A\":2}",
    };
    cm_json *j = cm_json_new();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[128];
        json_error_t e;
        const cm_jv *mine = cm_json_parse(j, cases[i], strlen(cases[i]), 32, err, sizeof err);
        json_t *ref =
            json_loadb(cases[i], strlen(cases[i]), JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
        if ((mine != NULL) != (ref != NULL))
            fail_msg("case %zu %s: reader %s, jansson %s", i, cases[i], mine ? "accepts" : err,
                     ref ? "accepts" : e.text);
        json_decref(ref);
    }
    const char *t = "{\"k\":\"a\\u00e9\\ud83d\\ude00\\n\\\"\",\"n\":-12,\"d\":2.5}";
    char err[128];
    const cm_jv *v = cm_json_parse(j, t, strlen(t), 4, err, sizeof err);
    assert_non_null(v);
    assert_string_equal(cm_jv_get(v, "k")->u.s, "a\xc3\xa9\xf0\x9f\x98\x80\n\"");
    assert_int_equal(cm_jv_get(v, "n")->u.i, -12);
    assert_true(cm_jv_get(v, "d")->u.d == 2.5);
    assert_null(cm_jv_get(v, "missing"));
    /* depth limit */
    assert_null(cm_json_parse(j, "[[[[[]]]]]", 10, 4, err, sizeof err));
    assert_non_null(cm_json_parse(j, "[[[[]]]]", 8, 4, err, sizeof err));
    /* a large object with a duplicate key far apart (the sorted path) */
    cm_buf big = {NULL, 0, 0, 0};
    cm_buf_adds(&big, "{");
    for (int k = 0; k < 500; k++) {
        char m[32];
        snprintf(m, sizeof m, "%s\"k%d\":%d", k ? "," : "", k, k);
        cm_buf_adds(&big, m);
    }
    cm_buf_adds(&big, ",\"k7\":0}");
    assert_null(cm_json_parse(j, big.p, big.len, 4, err, sizeof err));
    assert_non_null(strstr(err, "duplicate"));
    cm_buf_free(&big);
    /* the writer escapes what jansson reads back */
    cm_buf b = {NULL, 0, 0, 0};
    const char raw[] = "q\"b\\s/\x01\x1f\t\n\xc3\xa9";
    cm_buf_json_str(&b, raw, sizeof raw - 1);
    json_error_t e;
    json_t *back = json_loadb(b.p, b.len, JSON_DECODE_ANY, &e);
    assert_non_null(back);
    assert_string_equal(json_string_value(back), raw);
    json_decref(back);
    cm_buf_free(&b);
    cm_json_free(j);
}

/* --- the batch loop over a fake backend --------------------------------- */

typedef struct fake {
    char marked[64][300];
    int nmarked;
    char produced[64][700]; /* "E <key> <id>" or "D <reason>" */
    int nproduced;
    int fail_seen, fail_deliver, fail_mark; /* failures left to inject */
    int stop_after_retries;                 /* keep_going false after this many */
    int retries;
    int seen_calls, mark_calls;
} fake;

static int f_seen(void *o, char *const *keys, size_t n, unsigned char *seen, char *e, size_t el)
{
    fake *f = o;
    f->seen_calls++;
    if (f->fail_seen > 0) {
        f->fail_seen--;
        snprintf(e, el, "injected redis failure");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        seen[i] = 0;
        for (int j = 0; j < f->nmarked; j++)
            if (strcmp(f->marked[j], keys[i]) == 0)
                seen[i] = 1;
    }
    return 0;
}

static int f_mark(void *o, char *const *keys, size_t n, char *e, size_t el)
{
    fake *f = o;
    f->mark_calls++;
    if (f->fail_mark > 0) {
        f->fail_mark--;
        snprintf(e, el, "injected redis failure");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        snprintf(f->marked[f->nmarked++], 300, "%s", keys[i]);
    return 0;
}

static int f_produce(void *o, const ing_record *r, char *e, size_t el)
{
    (void)e;
    (void)el;
    fake *f = o;
    if (r->accepted)
        snprintf(f->produced[f->nproduced++], 700, "E %s %s", r->key, r->id);
    else
        snprintf(f->produced[f->nproduced++], 700, "D %s", r->reason);
    return 0;
}

static int f_wait(void *o, char *e, size_t el)
{
    fake *f = o;
    if (f->fail_deliver > 0) {
        f->fail_deliver--;
        snprintf(e, el, "injected delivery failure");
        return -1;
    }
    return 0;
}

static int f_keep_going(void *o)
{
    fake *f = o;
    return f->stop_after_retries < 0 || f->retries < f->stop_after_retries;
}

static void f_backoff(void *o, int attempt)
{
    (void)attempt;
    ((fake *)o)->retries++;
}

static int count_produced;
static int f_produce_count(void *o, const ing_record *r, char *e, size_t el)
{
    (void)o;
    (void)r;
    (void)e;
    (void)el;
    count_produced++;
    return 0;
}

static int f_mark_count(void *o, char *const *keys, size_t n, char *e, size_t el)
{
    (void)o;
    (void)keys;
    (void)n;
    (void)e;
    (void)el;
    return 0;
}

static char *event(const char *id, const char *customer)
{
    char *s = malloc(512);
    snprintf(
        s, 512,
        "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"s\",\"type\":\"contact.ceased\","
        "\"time\":\"2026-03-01T09:00:00Z\",\"tenant\":\"t\",\"data\":{\"customer_id\":\"%s\"}}",
        id, customer);
    return s;
}

static void batch_inputs(ing_input *in, char **bodies, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memset(&in[i], 0, sizeof in[i]);
        in[i].payload = bodies[i];
        in[i].len = strlen(bodies[i]);
        in[i].topic = "inbound";
        in[i].offset = (int64_t)i;
    }
}

static ing_backend fake_backend(fake *f)
{
    ing_backend be = {f, f_seen, f_mark, f_produce, f_wait, f_keep_going, f_backoff, NULL, NULL};
    return be;
}

/* A fake that never gives up retrying. */
static void fake_reset(fake *f)
{
    memset(f, 0, sizeof *f);
    f->stop_after_retries = -1;
}

static void test_batch_dedup_and_order(void **state)
{
    (void)state;
    fake f;
    fake_reset(&f);
    ing_backend be = fake_backend(&f);
    ing_config cfg = {ING_DEFAULT_MAX_BYTES, ING_DEFAULT_MAX_DEPTH};
    char *bodies[6] = {event("e1", "A"),  event("e2", "B"), event("e1", "A"),
                       strdup("{broken"), event("e3", "A"), event("e4", "A")};
    ing_input in[6];
    batch_inputs(in, bodies, 6);
    ing_batch_stats st = {0};
    char err[256];
    /* e4 was delivered by an earlier run (recorded in the window) */
    snprintf(f.marked[f.nmarked++], 300, "x:t:1:s:e4");
    assert_int_equal(ing_batch_run(&cfg, "x:", &be, in, 6, &st, err, sizeof err), 0);
    assert_int_equal(f.nproduced, 4);
    assert_string_equal(f.produced[0], "E t/A e1");
    assert_string_equal(f.produced[1], "E t/B e2");
    assert_int_equal(strncmp(f.produced[2], "D (payload): not valid JSON: ", 29), 0);
    assert_string_equal(f.produced[3], "E t/A e3");
    assert_int_equal(st.accepted, 3);
    assert_int_equal(st.rejected, 1);
    assert_int_equal(st.duplicates, 2);
    assert_int_equal(f.seen_calls, 1); /* one round-trip per batch */
    assert_int_equal(f.mark_calls, 1);
    assert_int_equal(f.nmarked, 4); /* e4 + e1 e2 e3 */
    assert_string_equal(f.marked[1], "x:t:1:s:e1");

    /* The same batch again: everything accepted is now a duplicate. */
    f.nproduced = 0;
    assert_int_equal(ing_batch_run(&cfg, "x:", &be, in, 6, &st, err, sizeof err), 0);
    assert_int_equal(f.nproduced, 1); /* only the DLQ record again */
    assert_int_equal(f.produced[0][0], 'D');
    for (int i = 0; i < 6; i++)
        free(bodies[i]);
}

/* issue 17: a fake phone index, customer -> phone (what Redis's
 * <tenant>:c:<customer> keys hold; the sets are its inverse). */
static struct {
    char tenant[16][16], customer[16][16], phone[16][20];
    int n, index_calls, lookup_calls;
} pix;

static int f_phone_index(void *o, const char *const *t, const char *const *c, const char *const *ph,
                         size_t n, char *e, size_t el)
{
    (void)o;
    (void)e;
    (void)el;
    pix.index_calls++;
    for (size_t i = 0; i < n; i++) {
        int k = 0;
        while (k < pix.n &&
               !(strcmp(pix.tenant[k], t[i]) == 0 && strcmp(pix.customer[k], c[i]) == 0))
            k++;
        if (k == pix.n) {
            snprintf(pix.tenant[k], 16, "%s", t[i]);
            snprintf(pix.customer[k], 16, "%s", c[i]);
            pix.n++;
        }
        snprintf(pix.phone[k], 20, "%s", ph[i]);
    }
    return 0;
}

static int f_phone_lookup(void *o, const char *t, const char *ph, char ***ids, size_t *n, char *e,
                          size_t el)
{
    (void)o;
    (void)e;
    (void)el;
    pix.lookup_calls++;
    *ids = calloc(16, sizeof **ids);
    *n = 0;
    for (int k = pix.n - 1; k >= 0; k--) /* backwards: the batch sorts them */
        if (strcmp(pix.tenant[k], t) == 0 && strcmp(pix.phone[k], ph) == 0)
            (*ids)[(*n)++] = strdup(pix.customer[k]);
    return 0;
}

static char *upserted(const char *id, const char *customer, const char *phone)
{
    char *s = malloc(512);
    snprintf(s, 512,
             "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"crm\",\"type\":"
             "\"customer.upserted\",\"time\":\"2026-03-01T09:00:00Z\",\"tenant\":\"t\","
             "\"data\":{\"customer_id\":\"%s\",\"name\":\"N\"%s%s%s}}",
             id, customer, phone ? ",\"phone\":\"" : "", phone ? phone : "", phone ? "\"" : "");
    return s;
}

static char *stop_from(const char *id, const char *phone)
{
    char *s = malloc(512);
    snprintf(s, 512,
             "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"gw\",\"type\":"
             "\"contact.ceased\",\"time\":\"2026-03-01T09:00:00Z\",\"tenant\":\"t\","
             "\"data\":{\"phone\":\"%s\",\"channel\":\"sms\"}}",
             id, phone);
    return s;
}

/* issue 17: customer.upserted keeps the phone index, in message order; an
 * SMS STOP naming a phone is published once per customer with it (sorted
 * ids, id "<id>/<customer>", key "t/<customer>"), a phone nobody has goes
 * to the DLQ naming data.phone; a phone change moves the customer. */
static void test_batch_phone(void **state)
{
    (void)state;
    fake f;
    fake_reset(&f);
    memset(&pix, 0, sizeof pix);
    ing_backend be = fake_backend(&f);
    be.phone_index = f_phone_index;
    be.phone_lookup = f_phone_lookup;
    ing_config cfg = {ING_DEFAULT_MAX_BYTES, ING_DEFAULT_MAX_DEPTH};
    char *bodies[8] = {stop_from("sms/1", "+447700900123"),    /* before any customer: DLQ */
                       upserted("u1", "C-2", "+447700900123"), /* C-2 and C-1 share it */
                       upserted("u2", "C-1", "+447700900123"),
                       stop_from("sms/2", "+447700900123"),
                       upserted("u3", "C-1", "+447700900999"), /* C-1 moves away */
                       stop_from("sms/3", "+447700900123"),
                       stop_from("sms/4", "+447700900999"),
                       upserted("u4", "C-2", NULL)}; /* C-2 drops its phone */
    ing_input in[8];
    batch_inputs(in, bodies, 8);
    ing_batch_stats st = {0};
    char err[256];
    assert_int_equal(ing_batch_run(&cfg, "x:", &be, in, 8, &st, err, sizeof err), 0);
    assert_int_equal(f.nproduced, 9);
    assert_string_equal(f.produced[0], "D data.phone: no customer has this phone (+447700900123)");
    assert_string_equal(f.produced[1], "E t/C-2 u1");
    assert_string_equal(f.produced[2], "E t/C-1 u2");
    assert_string_equal(f.produced[3], "E t/C-1 sms/2/C-1");
    assert_string_equal(f.produced[4], "E t/C-2 sms/2/C-2");
    assert_string_equal(f.produced[5], "E t/C-1 u3");
    assert_string_equal(f.produced[6], "E t/C-2 sms/3/C-2");
    assert_string_equal(f.produced[7], "E t/C-1 sms/4/C-1");
    assert_string_equal(f.produced[8], "E t/C-2 u4");
    assert_int_equal(st.accepted, 7); /* u1 u2 sms/2 u3 sms/3 sms/4 u4 */
    assert_int_equal(st.rejected, 1);
    assert_int_equal(st.fanned, 1); /* sms/2's second customer */
    /* flushes: none before sms/1, u1+u2 before sms/2, u3 before sms/3, u4 at the end */
    assert_int_equal(pix.index_calls, 3);
    assert_int_equal(pix.lookup_calls, 4);
    assert_string_equal(pix.phone[0], "");              /* C-2, phone dropped */
    assert_string_equal(pix.phone[1], "+447700900999"); /* C-1 */
    for (int i = 0; i < 8; i++)
        free(bodies[i]);
}

/* The service's stages with two batches in flight: the second batch is
 * looked up before the first one's ids are recorded, so the lookup checks
 * the first batch's ids in memory. */
static void test_batch_pipelined_dedup(void **state)
{
    (void)state;
    fake f;
    fake_reset(&f);
    ing_backend be = fake_backend(&f);
    ing_config cfg = {ING_DEFAULT_MAX_BYTES, ING_DEFAULT_MAX_DEPTH};
    char *b1[3] = {event("e1", "A"), event("e2", "B"), event("e3", "A")};
    char *b2[4] = {event("e2", "B"), event("e5", "A"), event("e1", "A"), event("e6", "C")};
    ing_input in1[3], in2[4];
    batch_inputs(in1, b1, 3);
    batch_inputs(in2, b2, 4);
    ing_batch_stats st = {0};
    char err[256];
    /* e6 was delivered by an earlier run (recorded in the window) */
    snprintf(f.marked[f.nmarked++], 300, "x:t:1:s:e6");
    ing_batch *p = ing_batch_prepare(&cfg, "x:", in1, 3, err, sizeof err);
    ing_batch *q = ing_batch_prepare(&cfg, "x:", in2, 4, err, sizeof err);
    assert_non_null(p);
    assert_non_null(q);
    assert_int_equal(ing_batch_lookup(p, NULL, &be, err, sizeof err), 0);
    ing_batch_produce(p, &be, err, sizeof err);
    assert_int_equal(ing_batch_lookup(q, p, &be, err, sizeof err), 0); /* p not recorded */
    assert_int_equal(ing_batch_deliver(p, &be, err, sizeof err), 0);
    ing_batch_produce(q, &be, err, sizeof err);
    assert_int_equal(ing_batch_record(p, &be, err, sizeof err), 0);
    ing_batch_take_stats(p, &st);
    assert_int_equal(ing_batch_finish(q, &be, &st, err, sizeof err), 0);
    assert_int_equal(f.nproduced, 4);
    assert_string_equal(f.produced[0], "E t/A e1");
    assert_string_equal(f.produced[1], "E t/B e2");
    assert_string_equal(f.produced[2], "E t/A e3");
    assert_string_equal(f.produced[3], "E t/A e5");
    assert_int_equal(st.accepted, 4);
    assert_int_equal(st.duplicates, 3); /* e2, e1 (in memory), e6 (in the window) */
    assert_int_equal(f.nmarked, 5);     /* e6 + e1 e2 e3 + e5 */
    assert_string_equal(f.marked[4], "x:t:1:s:e5");
    ing_batch_free(p);
    ing_batch_free(q);
    for (int i = 0; i < 3; i++)
        free(b1[i]);
    for (int i = 0; i < 4; i++)
        free(b2[i]);
}

static void test_batch_retries(void **state)
{
    (void)state;
    fake f;
    memset(&f, 0, sizeof f);
    f.stop_after_retries = -1;
    f.fail_seen = 2;
    f.fail_deliver = 1;
    f.fail_mark = 1;
    ing_backend be = fake_backend(&f);
    ing_config cfg = {ING_DEFAULT_MAX_BYTES, ING_DEFAULT_MAX_DEPTH};
    char *bodies[2] = {event("r1", "A"), event("r2", "A")};
    ing_input in[2];
    batch_inputs(in, bodies, 2);
    ing_batch_stats st = {0};
    char err[256];
    assert_int_equal(ing_batch_run(&cfg, "x:", &be, in, 2, &st, err, sizeof err), 0);
    assert_int_equal(f.retries, 4);
    assert_int_equal(st.retries, 4);
    /* a failed delivery re-produces the whole batch (duplicates by id, no loss) */
    assert_int_equal(f.nproduced, 4);
    assert_int_equal(f.nmarked, 2);
    for (int i = 0; i < 2; i++)
        free(bodies[i]);
}

static void test_batch_gives_up_without_marking(void **state)
{
    (void)state;
    fake f;
    memset(&f, 0, sizeof f);
    f.fail_deliver = 1000;
    f.stop_after_retries = 3; /* shutdown requested while Kafka is down */
    ing_backend be = fake_backend(&f);
    ing_config cfg = {ING_DEFAULT_MAX_BYTES, ING_DEFAULT_MAX_DEPTH};
    char *bodies[1] = {event("g1", "A")};
    ing_input in[1];
    batch_inputs(in, bodies, 1);
    ing_batch_stats st = {0};
    char err[256];
    assert_int_equal(ing_batch_run(&cfg, "x:", &be, in, 1, &st, err, sizeof err), -1);
    assert_int_equal(f.nmarked, 0); /* never recorded as delivered */
    assert_int_equal(st.accepted, 0);
    assert_non_null(strstr(err, "injected delivery failure"));
    free(bodies[0]);
}

/* A DLQ record never outgrows what the broker accepts by default. */
static void test_dlq_record_cap(void **state)
{
    (void)state;
    ing_config cfg = {ING_DEFAULT_MAX_BYTES, ING_DEFAULT_MAX_DEPTH};
    size_t n = 200 * 1024; /* control characters: 6x when JSON-escaped */
    char *payload = malloc(n);
    memset(payload, 1, n);
    ing_input in = {payload, n, "k", 1, NULL, 0, "t", 0, 7, 0};
    ing_result r;
    char err[128];
    assert_int_equal(ing_process(&cfg, &in, &r, err, sizeof err), 0);
    assert_false(r.accepted);
    assert_true(r.bodylen <= CT_DLQ_MAX_RECORD);
    json_error_t e;
    json_t *j = json_loadb(r.body, r.bodylen, 0, &e);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "truncated")));
    assert_int_equal(json_integer_value(json_object_get(j, "payload_bytes")), n);
    json_decref(j);
    ing_result_clear(&r);
    free(payload);

    /* many headers within the size limit */
    enum { NH = 2000 };
    static ing_header h[NH];
    static char val[100];
    memset(val, '\x02', sizeof val);
    for (int i = 0; i < NH; i++)
        h[i] = (ing_header){"x-h", val, sizeof val};
    cfg.max_bytes = 1 << 20;
    ing_input in2 = {"{}", 2, NULL, 0, h, NH, "t", 0, 8, 0};
    assert_int_equal(ing_process(&cfg, &in2, &r, err, sizeof err), 0);
    assert_false(r.accepted);
    assert_true(r.bodylen <= CT_DLQ_MAX_RECORD);
    j = json_loadb(r.body, r.bodylen, 0, &e);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "headers_dropped")), NH - 64);
    json_decref(j);
    ing_result_clear(&r);
}

/* Validation split over threads gives the same records in the same order. */
/* Worked by hand: bucket = max(window / 7, 1000) ms; lookups = the
 * current bucket + ceil(window / bucket). */
static void test_dedup_geometry(void **state)
{
    (void)state;
    assert_int_equal(ing_dedup_bucket_ms(604800000LL), 86400000LL); /* 7 d: a day */
    assert_int_equal(ing_dedup_lookups(604800000LL), 8);
    /* 10 s: 1428 ms; 7 * 1428 = 9996 < 10000, so 8 buckets before the
     * current one: an id of bucket 0 applied at 1427 ms is still found at
     * 11426 ms (bucket 8), 9999 ms later */
    assert_int_equal(ing_dedup_bucket_ms(10000), 1428);
    assert_int_equal(ing_dedup_lookups(10000), 9);
    assert_int_equal(ing_dedup_bucket_ms(2500), 1000); /* 357 ms: raised to 1 s */
    assert_int_equal(ing_dedup_lookups(2500), 4);      /* ceil(2.5) + 1 */
    assert_int_equal(ing_dedup_lookups(1000), 2);
    /* 400 d: 34560000000 / 7 = 4937142857 (7 times that is 1 ms short) */
    assert_int_equal(ing_dedup_bucket_ms(34560000000LL), 4937142857LL);
    assert_int_equal(ing_dedup_lookups(34560000000LL), 9);
}

static void test_batch_threads(void **state)
{
    (void)state;
    enum { N = 600 };
    static char *bodies[N];
    static ing_input in[N];
    for (int i = 0; i < N; i++) {
        char id[32], cust[16];
        snprintf(id, sizeof id, "th-%d", i % 550); /* some duplicates */
        snprintf(cust, sizeof cust, "C%d", i % 7);
        bodies[i] = i % 37 == 3 ? strdup("{\"specversion\":\"1.0\"}") : event(id, cust);
    }
    batch_inputs(in, bodies, N);
    ing_config cfg = {ING_DEFAULT_MAX_BYTES, ING_DEFAULT_MAX_DEPTH};
    static fake f1, f4;
    memset(&f1, 0, sizeof f1);
    memset(&f4, 0, sizeof f4);
    f1.stop_after_retries = f4.stop_after_retries = -1;
    char err[256];
    /* the fake keeps 64 records: compare the first 64 and the counts */
    ing_backend b1 = fake_backend(&f1), b4 = fake_backend(&f4);
    ing_batch_stats s1 = {0}, s4 = {0};
    ing_batch_set_threads(1);
    assert_int_equal(ing_batch_run(&cfg, "x:", &b1, in, 60, &s1, err, sizeof err), 0);
    ing_batch_set_threads(4);
    assert_int_equal(ing_batch_run(&cfg, "x:", &b4, in, 60, &s4, err, sizeof err), 0);
    assert_int_equal(f1.nproduced, f4.nproduced);
    for (int i = 0; i < f1.nproduced; i++)
        assert_string_equal(f1.produced[i], f4.produced[i]);
    /* a big batch: every message is accounted for exactly once */
    ing_batch *b = ing_batch_prepare(&cfg, "x:", in, N, err, sizeof err);
    assert_non_null(b);
    ing_batch_free(b);
    ing_batch_stats st = {0};
    fake big;
    memset(&big, 0, sizeof big);
    big.stop_after_retries = -1;
    ing_backend bb = fake_backend(&big);
    bb.produce = f_produce_count;
    bb.dedup_mark = f_mark_count;
    assert_int_equal(ing_batch_run(&cfg, "y:", &bb, in, N, &st, err, sizeof err), 0);
    assert_int_equal(st.accepted + st.rejected + st.duplicates, N);
    assert_int_equal(st.rejected, 17); /* i % 37 == 3 for i < 600 */
    /* ids th-0..th-49 come again at 550..599; 4 of those 100 are rejected */
    assert_int_equal(st.duplicates, 46);
    ing_batch_set_threads(1);
    for (int i = 0; i < N; i++)
        free(bodies[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amounts),
        cmocka_unit_test(test_field_checks),
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_encoders),
        cmocka_unit_test(test_json_reader),
        cmocka_unit_test(test_batch_dedup_and_order),
        cmocka_unit_test(test_batch_phone),
        cmocka_unit_test(test_batch_pipelined_dedup),
        cmocka_unit_test(test_batch_retries),
        cmocka_unit_test(test_batch_gives_up_without_marking),
        cmocka_unit_test(test_batch_threads),
        cmocka_unit_test(test_dlq_record_cap),
        cmocka_unit_test(test_dedup_geometry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
