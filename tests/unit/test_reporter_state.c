/* test_reporter_state.c -- the reporter's state: idempotence, input rules,
 * normalization for replay, snapshots and requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../services/reporter/reporter.h"
#include "clock.h"
#include "request.h"
#include "contract.h"

#define LEDGER "tests/data/reporter/ledger1"

/* A canonical event; like ingest, it lifts data.customer_id into the
 * envelope (left out when data has none). */
static json_t *ev(const char *id, const char *type, const char *time, const char *data)
{
    json_t *d = json_loads(data, 0, NULL);
    assert_non_null(d);
    json_t *e = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s}", "v", 1, "id", id, "source", "t", "type",
                          type, "tenant", "t1", "time", time);
    json_t *cid = json_object_get(d, "customer_id");
    if (cid)
        json_object_set(e, "customer_id", cid);
    json_object_set_new(e, "data", d);
    return e;
}

static int apply(rep_state *st, json_t *e, char *err, size_t n)
{
    int rc = rep_state_apply_event(st, e, err, n);
    json_decref(e);
    return rc;
}

static int64_t total_ar(const rep_state *st, int32_t d)
{
    int64_t t = 0;
    for (uint32_t i = 0; i < st->ninvs; i++)
        t += rep_inv_outstanding(st, &st->invs[i], d);
    return t;
}

static int32_t day(const char *s)
{
    int32_t d;
    assert_int_equal(cm_date_parse(s, &d), 0);
    return d;
}

static void test_idempotent(void **state)
{
    (void)state;
    char err[256];
    rep_state *st = rep_state_new();
    const char *inv =
        "{\"invoice_id\":\"I1\",\"customer_id\":\"C1\",\"currency\":\"EUR\","
        "\"amount_minor\":10000,\"issued_on\":\"2026-03-01\",\"due_on\":\"2026-03-31\"}";
    assert_int_equal(
        apply(st, ev("e1", "invoice.issued", "2026-03-01T00:00:00Z", inv), err, sizeof err), 1);
    assert_int_equal(
        apply(st, ev("e1", "invoice.issued", "2026-03-01T00:00:00Z", inv), err, sizeof err), 0);
    const char *pay = "{\"payment_id\":\"P1\",\"customer_id\":\"C1\",\"currency\":\"EUR\","
                      "\"amount_minor\":2500,\"received_on\":\"2026-03-05\"}";
    assert_int_equal(
        apply(st, ev("e2", "payment.received", "2026-03-05T00:00:00Z", pay), err, sizeof err), 1);
    /* the same event again, and the same payment under a new event id */
    assert_int_equal(
        apply(st, ev("e2", "payment.received", "2026-03-05T00:00:00Z", pay), err, sizeof err), 0);
    assert_int_equal(
        apply(st, ev("e3", "payment.received", "2026-03-05T00:00:00Z", pay), err, sizeof err), 0);
    assert_int_equal(st->duplicates, 2);
    assert_int_equal(total_ar(st, day("2026-03-04")), 10000);
    assert_int_equal(total_ar(st, day("2026-03-05")), 7500);
    assert_int_equal(total_ar(st, day("2026-02-28")), 0); /* not issued yet */
    /* reversal restores the balance from its day on */
    assert_int_equal(apply(st,
                           ev("e4", "payment.reversed", "2026-03-07T10:00:00Z",
                              "{\"payment_id\":\"P1\",\"customer_id\":\"C1\",\"reason\":\"x\"}"),
                           err, sizeof err),
                     1);
    assert_int_equal(total_ar(st, day("2026-03-06")), 7500);
    assert_int_equal(total_ar(st, day("2026-03-07")), 10000);
    /* void closes it */
    assert_int_equal(apply(st,
                           ev("e5", "invoice.voided", "2026-03-09T10:00:00Z",
                              "{\"invoice_id\":\"I1\",\"customer_id\":\"C1\"}"),
                           err, sizeof err),
                     1);
    assert_int_equal(total_ar(st, day("2026-03-08")), 10000);
    assert_int_equal(total_ar(st, day("2026-03-09")), 0);
    rep_state_free(st);
}

static void test_rules(void **state)
{
    (void)state;
    char err[256];
    rep_state *st = rep_state_new();
    struct {
        const char *type, *data, *field;
    } bad[] = {
        {"invoice.issued",
         "{\"invoice_id\":\"I\",\"customer_id\":\"C\",\"currency\":\"EUR\",\"issued_on\":\"2026-03-"
         "01\",\"due_on\":\"2026-03-31\"}",
         "data.amount_minor: required"},
        {"invoice.issued",
         "{\"invoice_id\":\"I\",\"customer_id\":\"C\",\"currency\":\"XXQ\",\"amount_minor\":1,"
         "\"issued_on\":\"2026-03-01\",\"due_on\":\"2026-03-31\"}",
         "data.currency: unknown"},
        {"invoice.issued",
         "{\"invoice_id\":\"I\",\"customer_id\":\"C\",\"currency\":\"EUR\",\"amount_minor\":1,"
         "\"issued_on\":\"2026-02-30\",\"due_on\":\"2026-03-31\"}",
         "data.issued_on: date"},
        {"invoice.issued",
         "{\"invoice_id\":\"I\",\"customer_id\":\"C\",\"currency\":\"EUR\",\"amount_minor\":-5,"
         "\"issued_on\":\"2026-03-01\",\"due_on\":\"2026-03-31\"}",
         "data.amount_minor: amount_negative"},
        {"payment.received",
         "{\"payment_id\":\"P\",\"customer_id\":\"C\",\"currency\":\"EUR\",\"amount_minor\":100,"
         "\"received_on\":\"2026-03-01\",\"allocations\":[{\"invoice_id\":\"I\",\"amount_minor\":"
         "200}]}",
         "data.allocations: allocations_sum"},
        {"payment.reversed", "{\"payment_id\":\"nope\",\"customer_id\":\"C\"}",
         "data.payment_id: unknown payment"},
        {"promise.made",
         "{\"customer_id\":\"C\",\"currency\":\"EUR\",\"amount_minor\":1,\"promised_on\":\"2026-03-"
         "01\",\"invoice_ids\":[3]}",
         "data.invoice_ids[0]"},
        {"invoice.issued", "{\"invoice_id\":\"I\",\"currency\":\"EUR\"}", "customer_id: required"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char id[16];
        snprintf(id, sizeof id, "b%zu", i);
        assert_int_equal(
            apply(st, ev(id, bad[i].type, "2026-03-01T00:00:00Z", bad[i].data), err, sizeof err),
            -1);
        if (!strstr(err, bad[i].field))
            fail_msg("case %zu: error \"%s\" does not name \"%s\"", i, err, bad[i].field);
    }
    /* an allocation to an invoice of another currency */
    assert_int_equal(apply(st,
                           ev("usd1", "invoice.issued", "2026-03-01T00:00:00Z",
                              "{\"invoice_id\":\"U1\",\"customer_id\":\"C\",\"currency\":\"USD\","
                              "\"amount_minor\":100,"
                              "\"issued_on\":\"2026-03-01\",\"due_on\":\"2026-03-31\"}"),
                           err, sizeof err),
                     1);
    assert_int_equal(apply(st,
                           ev("eur1", "payment.received", "2026-03-02T00:00:00Z",
                              "{\"payment_id\":\"PX\",\"customer_id\":\"C\",\"currency\":\"EUR\","
                              "\"amount_minor\":100,"
                              "\"received_on\":\"2026-03-02\",\"allocations\":[{\"invoice_id\":"
                              "\"U1\",\"amount_minor\":100}]}"),
                           err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "data.allocations[0].invoice_id: invoice is in USD"));
    assert_int_equal(rep_inv_outstanding(st, &st->invs[0], day("2026-03-31")), 100);
    /* a type no report uses (or one added later) is ignored, not rejected */
    uint64_t rejected = st->rejected;
    assert_int_equal(
        apply(st, ev("u1", "contact.ceased", "2026-03-01T00:00:00Z", "{\"customer_id\":\"C\"}"),
              err, sizeof err),
        0);
    assert_int_equal(apply(st,
                           ev("u2", "invoice.reminded.v2", "2026-03-01T00:00:00Z",
                              "{\"customer_id\":\"C\",\"x\":1}"),
                           err, sizeof err),
                     0);
    assert_int_equal(st->rejected, rejected);
    /* envelope errors */
    json_t *e = ev("x", "invoice.issued", "yesterday", "{}");
    assert_int_equal(rep_state_apply_event(st, e, err, sizeof err), -1);
    assert_non_null(strstr(err, "time"));
    json_decref(e);
    json_t *three = json_integer(3);
    assert_int_equal(rep_state_apply_event(st, three, err, sizeof err), -1);
    json_decref(three);
    json_t *c = json_loads(
        "{\"type\":\"contact.sent\",\"id\":\"k\",\"tenant\":\"t1\",\"at\":\"nope\"}", 0, NULL);
    assert_int_equal(rep_state_apply_contact(st, c, err, sizeof err), -1);
    assert_true(strncmp(err, "at: ", 4) == 0 && strstr(err, "RFC 3339"));
    json_decref(c);
    assert_int_equal(st->ninvs, 1);
    rep_state_free(st);
}

/* Every id up to CT_ID_MAX (200 bytes) is applied, one byte more is
 * refused naming the field; the scheduler's derived ids and command ids
 * may be longer. */
static void test_id_limit(void **state)
{
    (void)state;
    char err[256], id200[CT_ID_MAX + 1], id201[CT_ID_MAX + 2], data[2048];
    memset(id200, 'i', CT_ID_MAX);
    id200[CT_ID_MAX] = 0;
    memset(id201, 'j', CT_ID_MAX + 1);
    id201[CT_ID_MAX + 1] = 0;
    rep_state *st = rep_state_new();
    snprintf(data, sizeof data,
             "{\"invoice_id\":\"%s\",\"customer_id\":\"%s\",\"currency\":\"EUR\","
             "\"amount_minor\":10000,\"issued_on\":\"2026-03-01\",\"due_on\":\"2026-03-31\"}",
             id200, id200);
    assert_int_equal(
        apply(st, ev(id200, "invoice.issued", "2026-03-01T00:00:00Z", data), err, sizeof err), 1);
    snprintf(data, sizeof data,
             "{\"payment_id\":\"%s\",\"customer_id\":\"%s\",\"currency\":\"EUR\","
             "\"amount_minor\":2500,\"received_on\":\"2026-03-05\",\"allocations\":"
             "[{\"invoice_id\":\"%s\",\"amount_minor\":2500}]}",
             id200, id200, id200);
    assert_int_equal(
        apply(st, ev("p", "payment.received", "2026-03-05T00:00:00Z", data), err, sizeof err), 1);
    snprintf(data, sizeof data,
             "{\"customer_id\":\"%s\",\"invoice_ids\":[\"%s\"],\"currency\":\"EUR\","
             "\"amount_minor\":100,\"promised_on\":\"2026-03-20\"}",
             id200, id200);
    assert_int_equal(
        apply(st, ev("pm", "promise.made", "2026-03-06T00:00:00Z", data), err, sizeof err), 1);
    assert_int_equal(st->ninvs, 1);
    assert_int_equal(rep_inv_outstanding(st, &st->invs[0], day("2026-03-05")), 7500);
    snprintf(data, sizeof data,
             "{\"invoice_id\":\"%s\",\"customer_id\":\"C\",\"currency\":\"EUR\","
             "\"amount_minor\":1,\"issued_on\":\"2026-03-01\",\"due_on\":\"2026-03-31\"}",
             id201);
    assert_int_equal(
        apply(st, ev("x", "invoice.issued", "2026-03-01T00:00:00Z", data), err, sizeof err), -1);
    assert_non_null(strstr(err, "data.invoice_id: max_length"));
    assert_int_equal(apply(st,
                           ev(id201, "invoice.voided", "2026-03-01T00:00:00Z",
                              "{\"invoice_id\":\"I\",\"customer_id\":\"C\"}"),
                           err, sizeof err),
                     -1);
    assert_int_equal(strncmp(err, "id: max_length", 14), 0);
    /* the scheduler's invoice.escalated: an id derived from a command id,
     * longer than CT_ID_MAX; read, remembered, ignored */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "t1/inv/%s/step/3/attempt/1", id200);
    json_t *e =
        json_pack("{s:i, s:s+, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:i, s:s}}", "v", 1, "id", cmd,
                  "/escalated", "source", "arrears-scheduler", "type", "invoice.escalated",
                  "tenant", "t1", "time", "2026-03-10T00:00:00.000Z", "customer_id", id200, "data",
                  "invoice_id", id200, "customer_id", id200, "level", 1, "command_id", cmd);
    assert_non_null(e);
    uint64_t applied = st->applied;
    assert_int_equal(apply(st, e, err, sizeof err), 0);
    assert_int_equal(st->applied, applied + 1);
    /* a contact outcome of that command: id longer than 300 bytes */
    json_t *c =
        json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:[s], s:s, s:s, s:s, s:i, s:s}", "v", 1, "type",
                  "contact.sent", "id", cmd, "command_id", cmd, "tenant", "t1", "customer_id",
                  id200, "invoice_ids", id200, "channel", "email", "strategy", "default", "variant",
                  "A", "step", 3, "at", "2026-03-10T09:00:00.000Z");
    assert_non_null(c);
    assert_true(strlen(cmd) > 200);
    assert_int_equal(rep_state_apply_contact(st, c, err, sizeof err), 1);
    assert_int_equal(st->invs[0].ncontacts, 1);
    json_decref(c);
    rep_state_free(st);
}

static void test_normalize(void **state)
{
    (void)state;
    char err[256];
    struct {
        const char *cur, *amount;
        long long want; /* -1: rejected */
    } cases[] = {{"EUR", "\"12.30\"", 1230}, {"EUR", "12.3", 1230},
                 {"EUR", "2000", 200000},    {"JPY", "\"150000\"", 150000},
                 {"KWD", "\"1.005\"", 1005}, {"EUR", "\"10.001\"", -1},
                 {"JPY", "1.5", -1},         {"EUR", "\"-1\"", -1},
                 {"EUR", "-3.0", -1},        {"EUR", "true", -1},
                 {"XYZ", "\"1\"", -1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[512];
        snprintf(buf, sizeof buf,
                 "{\"specversion\":\"1.0\",\"id\":\"i\",\"source\":\"s\",\"type\":\"credit_note."
                 "issued\","
                 "\"time\":\"2026-03-01T10:00:00+02:00\",\"data\":{\"credit_note_id\":\"CN\","
                 "\"customer_id\":\"C\",\"invoice_"
                 "id\":\"I\","
                 "\"currency\":\"%s\",\"amount\":%s}}",
                 cases[i].cur, cases[i].amount);
        json_t *in = json_loads(buf, 0, NULL);
        assert_non_null(in);
        json_t *out = rep_normalize_inbound(in, err, sizeof err);
        if (cases[i].want < 0) {
            if (out)
                fail_msg("case %zu accepted", i);
            assert_true(strstr(err, "data.amount") || strstr(err, "data.currency"));
        } else {
            if (!out)
                fail_msg("case %zu: %s", i, err);
            assert_int_equal(
                json_integer_value(json_object_get(json_object_get(out, "data"), "amount_minor")),
                cases[i].want);
            assert_string_equal(json_string_value(json_object_get(out, "tenant")), "default");
            assert_string_equal(json_string_value(json_object_get(out, "time")),
                                "2026-03-01T08:00:00.000Z");
        }
        json_decref(out);
        json_decref(in);
    }
    /* a backtest command becomes a sent contact */
    json_t *cmd = json_loads(
        "{\"v\":1,\"command_id\":\"t/inv/I/step/1/attempt/1\",\"kind\":\"reminder\","
        "\"tenant\":\"t\",\"channel\":\"email\",\"strategy\":\"s\",\"variant\":\"B\",\"step\":1,"
        "\"created_at\":\"2026-03-08T09:00:00.000Z\",\"customer\":{\"customer_id\":\"C\"},"
        "\"currency\":\"EUR\",\"amounts\":{\"total\":5},\"invoices\":[{\"invoice_id\":\"I\"}]}",
        0, NULL);
    json_t *c = rep_normalize_contact(cmd, err, sizeof err);
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "type")), "contact.sent");
    assert_string_equal(json_string_value(json_object_get(c, "at")), "2026-03-08T09:00:00.000Z");
    assert_string_equal(json_string_value(json_array_get(json_object_get(c, "invoice_ids"), 0)),
                        "I");
    rep_state *st = rep_state_new();
    assert_int_equal(rep_state_apply_contact(st, c, err, sizeof err), 1);
    assert_int_equal(rep_state_apply_contact(st, c, err, sizeof err), 0);
    rep_state_free(st);
    json_decref(c);
    json_decref(cmd);
}

static rep_state *load_ledger(void)
{
    char err[256], line[4096];
    rep_state *st = rep_state_new();
    FILE *f = fopen(LEDGER "/events.jsonl", "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        json_t *in = json_loads(line, 0, NULL);
        json_t *c = in ? rep_normalize_inbound(in, err, sizeof err) : NULL;
        if (c)
            rep_state_apply_event(st, c, err, sizeof err);
        json_decref(c);
        json_decref(in);
    }
    fclose(f);
    f = fopen(LEDGER "/contacts.jsonl", "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        json_t *c = json_loads(line, 0, NULL);
        rep_state_apply_contact(st, c, err, sizeof err);
        json_decref(c);
    }
    fclose(f);
    return st;
}

static void test_snapshot(void **state)
{
    (void)state;
    char err[256];
    rep_state *st = load_ledger();
    st->offsets.n = 2;
    strcpy(st->offsets.topic[0], "events");
    st->offsets.part[0] = 3;
    st->offsets.next[0] = 42;
    strcpy(st->offsets.topic[1], "contacts");
    st->offsets.part[1] = 0;
    st->offsets.next[1] = 7;
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(rep_snapshot_encode(st, &buf, &len, err, sizeof err), 0);
    rep_state *back = rep_snapshot_decode(buf, len, err, sizeof err);
    if (!back)
        fail_msg("%s", err);
    int32_t d = day("2026-03-31");
    const char *tenants[] = {"acme", "globex"};
    for (int t = 0; t < 2; t++)
        for (int k = 0; k < CT_REP_COUNT; k++) {
            json_t *a = rep_report_build(st, ct_report_name((ct_report)k), tenants[t], d, 0);
            json_t *b = rep_report_build(back, ct_report_name((ct_report)k), tenants[t], d, 0);
            assert_true(json_equal(a, b));
            if (t == 0) /* globex has no contacts */
                assert_true(json_array_size(json_object_get(a, k == 2 ? "rows" : "currencies")) >
                            0);
            json_decref(a);
            json_decref(b);
        }
    assert_int_equal(back->offsets.n, 2);
    assert_string_equal(back->offsets.topic[1], "contacts");
    assert_int_equal(back->offsets.next[0], 42);
    assert_int_equal(back->applied, st->applied);
    /* the restored state still de-duplicates: re-applying the ledger changes nothing */
    json_t *before = rep_report_build(back, "kpis", "acme", d, 0);
    char line[4096];
    FILE *f = fopen(LEDGER "/events.jsonl", "r");
    while (fgets(line, sizeof line, f)) {
        json_t *in = json_loads(line, 0, NULL);
        json_t *c = in ? rep_normalize_inbound(in, err, sizeof err) : NULL;
        if (c)
            assert_true(rep_state_apply_event(back, c, err, sizeof err) <= 0);
        json_decref(c);
        json_decref(in);
    }
    fclose(f);
    json_t *after = rep_report_build(back, "kpis", "acme", d, 0);
    assert_true(json_equal(before, after));
    json_decref(before);
    json_decref(after);
    /* truncated or damaged snapshots are refused, never crash */
    for (size_t cut = 0; cut < len; cut += len / 97 + 1) {
        rep_state *x = rep_snapshot_decode(buf, cut, err, sizeof err);
        assert_null(x);
    }
    buf[len / 2] ^= 0x10; /* one bit in the middle */
    assert_null(rep_snapshot_decode(buf, len, err, sizeof err));
    assert_non_null(strstr(err, "checksum"));
    buf[len / 2] ^= 0x10;
    rep_state *again = rep_snapshot_decode(buf, len, err, sizeof err);
    assert_non_null(again);
    rep_state_free(again);
    buf[0] = 'X';
    assert_null(rep_snapshot_decode(buf, len, err, sizeof err));
    free(buf);
    rep_state_free(back);
    rep_state_free(st);
}

static void test_request(void **state)
{
    (void)state;
    char err[256];
    ct_report_request rq;
    json_t *j = json_loads(
        "{\"v\":1,\"id\":\"r1\",\"tenant\":\"acme\",\"types\":[\"kpis\"],\"as_of\":\"2026-03-31\"}",
        0, NULL);
    assert_int_equal(ct_report_request_decode(j, 5, &rq, err, sizeof err), 0);
    assert_string_equal(rq.id, "r1");
    assert_string_equal(rq.tenant, "acme");
    assert_int_equal(rq.types, 2);
    assert_int_equal(rq.as_of, day("2026-03-31"));
    json_decref(j);
    j = json_loads("{\"id\":\"r2\"}", 0, NULL);
    assert_int_equal(ct_report_request_decode(j, 5, &rq, err, sizeof err), 0);
    assert_int_equal(rq.types, 7);
    assert_int_equal(rq.as_of, 5);
    assert_string_equal(rq.tenant, "default");
    json_decref(j);
    const char *bad[][2] = {{"{\"tenant\":\"a\"}", "id: required"},
                            {"{\"id\":\"r\",\"as_of\":\"2026-13-01\"}", "as_of: not a date"},
                            {"{\"id\":\"r\",\"types\":[\"aging\",\"dso\"]}", "types[1]"},
                            {"{\"id\":\"r\",\"types\":[]}", "types: not a non-empty array"},
                            {"{\"id\":\"r\",\"tenant\":\"a b\"}", "tenant: not a tenant"},
                            {"[1]", "request: not a JSON object"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = json_loads(bad[i][0], 0, NULL);
        assert_int_equal(ct_report_request_decode(j, 5, &rq, err, sizeof err), -1);
        if (!strstr(err, bad[i][1]))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, bad[i][1]);
        json_decref(j);
    }
}

static void test_helpers(void **state)
{
    (void)state;
    assert_string_equal(rep_risk_band(0, 0), "low");
    assert_string_equal(rep_risk_band(30, 0), "low");
    assert_string_equal(rep_risk_band(31, 0), "medium");
    assert_string_equal(rep_risk_band(61, 0), "high");
    assert_string_equal(rep_risk_band(91, 0), "severe");
    assert_string_equal(rep_risk_band(10, 1), "medium");
    assert_string_equal(rep_risk_band(200, 1), "severe");
    assert_true(rep_round2(2.345) == 2.35 || rep_round2(2.345) == 2.34); /* binary: either */
    assert_true(rep_round2(1.125) == 1.13); /* exact in binary: half away from zero */
    assert_true(rep_round2(-1.125) == -1.13);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idempotent), cmocka_unit_test(test_rules),
        cmocka_unit_test(test_id_limit),   cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_snapshot),   cmocka_unit_test(test_request),
        cmocka_unit_test(test_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
