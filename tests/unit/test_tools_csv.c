/* test_tools_csv.c -- unit tests of arrears-publish's pure logic: the CSV
 * splitter, the header mapping, CSV row -> CloudEvent conversion and the
 * JSON-lines envelope check.
 *
 * The logic is tools/publish_lib.c in libtools, the library the binary
 * links: the functions tested are the ones the binary runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../tools/publish_lib.h"

#include "validate.h"

/* A converted row must pass the contract's validator (what ingest runs). */
static void assert_contract_accepts(json_t *ce)
{
    ct_limits lim = {CT_DEFAULT_MAX_BYTES, CT_DEFAULT_MAX_DEPTH};
    ct_message in;
    ct_verdict v;
    char err[256], *line = json_dumps(ce, JSON_COMPACT);
    memset(&in, 0, sizeof(in));
    in.payload = line;
    in.len = strlen(line);
    in.topic = "inbound";
    assert_int_equal(ct_validate(&lim, &in, &v, err, sizeof(err)), 0);
    if (!v.accepted)
        for (size_t i = 0; i < v.reasons.n; i++)
            print_error("the contract rejects: %s in %s\n", v.reasons.r[i].message, line);
    assert_true(v.accepted);
    ct_verdict_clear(&v);
    free(line);
}

static int split(const char *in, char **f, char *buf, size_t buflen)
{
    char err[256];
    size_t n = strlen(in);
    assert_true(n < buflen);
    memcpy(buf, in, n + 1);
    return tool_csv_split(buf, n, f, TOOL_MAX_FIELDS, err, sizeof(err));
}

static void test_split(void **state)
{
    (void)state;
    char buf[512], *f[TOOL_MAX_FIELDS], err[256];
    assert_int_equal(split("a,b,c\r\n", f, buf, sizeof(buf)), 3);
    assert_string_equal(f[0], "a");
    assert_string_equal(f[2], "c");
    assert_int_equal(split("a,,", f, buf, sizeof(buf)), 3);
    assert_string_equal(f[1], "");
    assert_string_equal(f[2], "");
    assert_int_equal(split(" x , \"y, z\" ,\"q\"\"uote\"", f, buf, sizeof(buf)), 3);
    assert_string_equal(f[0], "x");
    assert_string_equal(f[1], "y, z");
    assert_string_equal(f[2], "q\"uote");
    assert_int_equal(split("\"multi\nline\",2", f, buf, sizeof(buf)), 2);
    assert_string_equal(f[0], "multi\nline");
    assert_string_equal(f[1], "2");
    assert_int_equal(split("\"\"", f, buf, sizeof(buf)), 1);
    assert_string_equal(f[0], "");
    /* errors name the field */
    strcpy(buf, "a,\"open");
    assert_int_equal(tool_csv_split(buf, strlen(buf), f, TOOL_MAX_FIELDS, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "field 2: unterminated"));
    strcpy(buf, "a,b\"c");
    assert_int_equal(tool_csv_split(buf, strlen(buf), f, TOOL_MAX_FIELDS, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "field 2: quote inside"));
    strcpy(buf, "\"a\"x,b");
    assert_int_equal(tool_csv_split(buf, strlen(buf), f, TOOL_MAX_FIELDS, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "field 1: characters after"));
    assert_int_equal(tool_csv_complete("\"a\nb", 4), 0);
    assert_int_equal(tool_csv_complete("\"a\"\"b\"", 6), 1);
}

static void header(tool_csv_header *h, const char *line)
{
    char buf[1024], *f[TOOL_MAX_FIELDS], err[1024];
    int n = split(line, f, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(tool_csv_header_parse(f, n, h, err, sizeof(err)), 0);
}

/* Converts one row; returns the event or NULL with err filled. */
static json_t *row(const tool_csv_header *h, const char *line, char *err, size_t errlen)
{
    static char buf[2048];
    char *f[TOOL_MAX_FIELDS];
    tool_pub_opts o = {"acme", "erp", 1};
    json_t *ce = NULL;
    int n = split(line, f, buf, sizeof(buf));
    if (tool_csv_to_event(h, f, n, &o, &ce, err, errlen) != 0)
        return NULL;
    assert_contract_accepts(ce);
    return ce;
}

static void test_header(void **state)
{
    (void)state;
    char buf[256], *f[TOOL_MAX_FIELDS], err[1024];
    tool_csv_header h;
    int n = split("Type,customer_id,amount", f, buf, sizeof(buf));
    assert_int_equal(tool_csv_header_parse(f, n, &h, err, sizeof(err)), 0);
    assert_int_equal(h.field_of[TOOL_COL_TYPE], 0);
    assert_int_equal(h.field_of[TOOL_COL_AMOUNT], 2);
    assert_int_equal(h.field_of[TOOL_COL_DUE_ON], -1);
    n = split("type,amount,amuont", f, buf, sizeof(buf));
    assert_int_equal(tool_csv_header_parse(f, n, &h, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unknown column 'amuont'"));
    n = split("customer_id,amount", f, buf, sizeof(buf));
    assert_int_equal(tool_csv_header_parse(f, n, &h, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no 'type' column"));
    n = split("type,amount,AMOUNT", f, buf, sizeof(buf));
    assert_int_equal(tool_csv_header_parse(f, n, &h, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "twice"));
}

static void test_invoice_row(void **state)
{
    (void)state;
    tool_csv_header h;
    char err[512];
    json_t *ce, *d;
    header(&h, "type,id,customer_id,invoice_id,number,currency,amount,issued_on,due_on,tags");
    ce = row(&h, "invoice.issued,e-1,C-1,INV-1,2026-0001,EUR,120.50,2026-03-01,2026-03-31,a|b", err,
             sizeof(err));
    assert_non_null(ce);
    assert_string_equal(json_string_value(json_object_get(ce, "id")), "e-1");
    assert_string_equal(json_string_value(json_object_get(ce, "tenant")), "acme");
    assert_string_equal(json_string_value(json_object_get(ce, "source")), "erp");
    assert_string_equal(json_string_value(json_object_get(ce, "time")), "2026-03-01T00:00:00.000Z");
    d = json_object_get(ce, "data");
    assert_string_equal(json_string_value(json_object_get(d, "amount")), "120.50");
    assert_int_equal(json_array_size(json_object_get(d, "tags")), 2);
    json_decref(ce);

    /* JPY has no decimals; the rule is named, never rounded */
    assert_null(
        row(&h, "invoice.issued,,C-1,INV-2,n,JPY,100.5,2026-03-01,2026-03-31,", err, sizeof(err)));
    assert_non_null(strstr(err, "amount: more than 0 decimal"));
    assert_null(
        row(&h, "invoice.issued,,C-1,INV-2,n,XXQ,1,2026-03-01,2026-03-31,", err, sizeof(err)));
    assert_non_null(strstr(err, "currency:"));
    assert_null(
        row(&h, "invoice.issued,,C-1,INV-2,n,EUR,-1,2026-03-01,2026-03-31,", err, sizeof(err)));
    assert_non_null(strstr(err, "amount: negative"));
    assert_null(
        row(&h, "invoice.issued,,C-1,INV-2,n,EUR,1,2026-03-01,2026-13-31,", err, sizeof(err)));
    assert_non_null(strstr(err, "due_on: not a date"));
    assert_null(row(&h, "invoice.issued,,C-1,,n,EUR,1,2026-03-01,2026-03-31,", err, sizeof(err)));
    assert_non_null(strstr(err, "invoice_id: required for invoice.issued"));
    assert_null(row(&h, "invoice.issued,,C-1,INV-2,n,EUR,1,2026-03-01", err, sizeof(err)));
    assert_non_null(strstr(err, "row has 8 fields, the header has 10"));
    assert_null(
        row(&h, "invoice.paid,,C-1,INV-2,n,EUR,1,2026-03-01,2026-03-31,", err, sizeof(err)));
    assert_non_null(strstr(err, "type: unknown event type 'invoice.paid'"));
}

static void test_other_rows(void **state)
{
    (void)state;
    tool_csv_header h;
    char err[512], id1[64];
    json_t *ce, *a;
    header(&h, "type,customer_id,currency,amount,payment_id,received_on,allocations,phone,"
               "timezone,name,invoice_ids,promised_on,channel");
    ce = row(&h, "payment.received,C-1,GBP,30,P-1,2026-03-05,INV-1:10.00|INV-2 : 20,,,,,,", err,
             sizeof(err));
    assert_non_null(ce);
    a = json_object_get(json_object_get(ce, "data"), "allocations");
    assert_int_equal(json_array_size(a), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 1), "invoice_id")),
                        "INV-2");
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 1), "amount")), "20");
    /* no id column: a content hash, stable across runs */
    snprintf(id1, sizeof(id1), "%s", json_string_value(json_object_get(ce, "id")));
    assert_int_equal(strncmp(id1, "csv-", 4), 0);
    json_decref(ce);
    ce = row(&h, "payment.received,C-1,GBP,30,P-1,2026-03-05,INV-1:10.00|INV-2 : 20,,,,,,", err,
             sizeof(err));
    assert_string_equal(json_string_value(json_object_get(ce, "id")), id1);
    json_decref(ce);
    assert_null(row(&h, "payment.received,C-1,GBP,30,P-1,,,,,,,,", err, sizeof(err)));
    assert_non_null(strstr(err, "received_on: required"));
    assert_null(
        row(&h, "payment.received,C-1,GBP,30,P-1,2026-03-05,INV-1=10,,,,,,", err, sizeof(err)));
    assert_non_null(strstr(err, "allocations:"));
    assert_null(row(&h, "customer.upserted,C-1,,,,,,447700900123,,Ada,,,", err, sizeof(err)));
    assert_non_null(strstr(err, "phone: not an E.164"));
    assert_null(row(&h, "customer.upserted,C-1,,,,,,,Mars/Olympus,Ada,,,", err, sizeof(err)));
    assert_non_null(strstr(err, "timezone: not an IANA"));
    ce = row(&h, "customer.upserted,C-1,,,,,,+447700900123,Europe/London,Ada,,,", err, sizeof(err));
    assert_non_null(ce);
    json_decref(ce);
    ce = row(&h, "promise.made,C-1,EUR,10,,,,,,,INV-1|INV-2,2026-04-01,", err, sizeof(err));
    assert_non_null(ce);
    assert_int_equal(json_array_size(json_object_get(json_object_get(ce, "data"), "invoice_ids")),
                     2);
    json_decref(ce);
    assert_null(row(&h, "contact.ceased,C-1,,,,,,,,,,,fax", err, sizeof(err)));
    assert_non_null(strstr(err, "channel:"));
}

static void test_jsonl(void **state)
{
    (void)state;
    tool_pub_opts o = {"dflt", "x", 1};
    char err[512], key[256], *rw = NULL;
    int64_t t;
    cm_json *j = cm_json_new();
    assert_non_null(j);
    const char *ok =
        "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"invoice.voided\","
        "\"time\":\"2026-03-01T10:00:00+01:00\",\"data\":{\"customer_id\":\"C-9\","
        "\"invoice_id\":\"I\"}}";
    assert_int_equal(
        tool_jsonl_check(j, ok, strlen(ok), &o, key, sizeof(key), &t, &rw, err, sizeof(err)), 0);
    assert_string_equal(key, "dflt/C-9");
    assert_true(t == 1772355600000LL); /* 10:00+01:00 = 09:00Z */
    /* the default tenant added as the first member, the rest byte for byte */
    assert_non_null(rw);
    assert_string_equal(rw, "{\"tenant\":\"dflt\",\"specversion\":\"1.0\",\"id\":\"1\","
                            "\"source\":\"s\",\"type\":\"invoice.voided\","
                            "\"time\":\"2026-03-01T10:00:00+01:00\",\"data\":{\"customer_id\":"
                            "\"C-9\",\"invoice_id\":\"I\"}}");
    json_error_t je;
    json_t *back = json_loads(rw, JSON_REJECT_DUPLICATES, &je);
    assert_non_null(back); /* still one valid object */
    json_decref(back);
    free(rw);
    /* a tenant of its own: the line is kept as it is */
    const char *own = "  {\"tenant\":\"t\\\"q\",\"specversion\":\"1.0\",\"id\":\"1\","
                      "\"source\":\"s\",\"type\":\"t\",\"time\":\"2026-03-01T10:00:00Z\","
                      "\"data\":{\"customer_id\":\"C\"}}";
    assert_int_equal(
        tool_jsonl_check(j, own, strlen(own), &o, key, sizeof(key), &t, &rw, err, sizeof(err)), 0);
    assert_null(rw);
    assert_string_equal(key, "t\"q/C");
    /* no tenant and no --tenant: kept, keyed by the default */
    tool_pub_opts nodef = {"default", "x", 0};
    assert_int_equal(
        tool_jsonl_check(j, ok, strlen(ok), &nodef, key, sizeof(key), &t, &rw, err, sizeof(err)),
        0);
    assert_null(rw);
    assert_string_equal(key, "default/C-9");
    const char *nocust = "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"t\","
                         "\"time\":\"2026-03-01T10:00:00Z\",\"data\":{}}";
    assert_int_equal(tool_jsonl_check(j, nocust, strlen(nocust), &o, key, sizeof(key), &t, &rw, err,
                                      sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "data.customer_id"));
    const char *badtime = "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"t\","
                          "\"time\":\"yesterday\",\"data\":{\"customer_id\":\"C\"}}";
    assert_int_equal(tool_jsonl_check(j, badtime, strlen(badtime), &o, key, sizeof(key), &t, &rw,
                                      err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "time:"));
    const char *bad[] = {
        "{\"a\":1,\"a\":2}",            /* duplicate key */
        "{\"specversion\":\"1.0\"} x",  /* trailing garbage */
        "{\"specversion\":\"1.\xff\"}", /* not UTF-8 */
        "[1]",                          /* not an object */
        "{\"specversion\":\"1.0\",",    /* cut short */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(tool_jsonl_check(j, bad[i], strlen(bad[i]), &o, key, sizeof(key), &t, &rw,
                                          err, sizeof(err)),
                         -1);
        assert_null(rw);
        assert_true(strstr(err, "not JSON") || strstr(err, "not a JSON object"));
    }
    const char *v2 = "{\"specversion\":\"2.0\"}";
    assert_int_equal(
        tool_jsonl_check(j, v2, strlen(v2), &o, key, sizeof(key), &t, &rw, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "specversion"));
    cm_json_free(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),       cmocka_unit_test(test_header),
        cmocka_unit_test(test_invoice_row), cmocka_unit_test(test_other_rows),
        cmocka_unit_test(test_jsonl),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ct_thread_cleanup();
    return rc;
}
