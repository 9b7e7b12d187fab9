/* test_reporter_state.c -- the reporter's state: idempotence, input rules,
 * logged contacts and stepless outcomes in the effectiveness rows, promise
 * outcomes (the scheduler's events against the inference from payments),
 * normalization for replay, snapshots and requests, and the money of the
 * scheduler's events (issue 14) in the KPI report: per currency and
 * period, worked by hand in test_money; the de-duplication window's
 * buckets, worked by hand in test_dedup_window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <math.h>

#include "../../services/reporter/reporter.h"
#include "clock.h"
#include "request.h"
#include "contract.h"
#include "reporter_ledger.h"
#include "schema_check.h"

#define LEDGER "tests/data/reporter/ledger1"

/* A canonical event of t1 (reporter_ledger.h). */
static json_t *ev(const char *id, const char *type, const char *time, const char *data)
{
    json_t *e = rep_t_event(id, type, time, data);
    assert_non_null(e);
    return e;
}

static int apply(rep_state *st, json_t *e, char *err, size_t n)
{
    int rc = rep_state_apply_event(st, e, err, n);
    json_decref(e);
    return rc;
}

/* ev() from another source (the scheduler's "arrears-scheduler"). */
static json_t *ev_from(const char *source, const char *id, const char *type, const char *time,
                       const char *data)
{
    json_t *e = ev(id, type, time, data);
    json_object_set_new(e, "source", json_string(source));
    return e;
}

/* Applies ev(), which must be applied (1); err names the event. */
static void must(rep_state *st, json_t *e)
{
    char err[256], id[64];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(e, "id")));
    int rc = apply(st, e, err, sizeof err);
    if (rc != 1)
        fail_msg("event %s: rc %d: %s", id, rc, err);
}

/* An invoice of tenant t1 in EUR, issued 2026-02-01 and due 2026-03-01. */
static void invoice(rep_state *st, const char *id, const char *cust, long long minor)
{
    must(st, rep_t_invoice(id, cust, minor, "2026-02-01", "2026-03-01"));
}

/* A payment in EUR received at at (its day is received_on), all of it
 * allocated to invoice inv. */
static void payment(rep_state *st, const char *id, const char *cust, long long minor,
                    const char *inv, const char *at)
{
    must(st, rep_t_payment(id, cust, minor, inv, at));
}

/* A promise event's data: EUR, amount, promised_on, invoice_ids (a JSON
 * array's inside). */
static json_t *promise_ev(const char *source, const char *id, const char *type, const char *time,
                          const char *cust, long long minor, const char *on, const char *invs)
{
    char data[512];
    snprintf(data, sizeof data,
             "{\"customer_id\":\"%s\",\"invoice_ids\":[%s],\"currency\":\"EUR\","
             "\"amount_minor\":%lld,\"promised_on\":\"%s\"}",
             cust, invs, minor, on);
    return ev_from(source, id, type, time, data);
}

static json_int_t jint(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_integer(v))
        fail_msg("%s: not an integer", k);
    return json_integer_value(v);
}

/* The promises object of a KPI period (0 day, 1 week, 2 month) of EUR. */
static const json_t *kpi_promises(const json_t *kpis, int period)
{
    const json_t *cur = json_array_get(json_object_get(kpis, "currencies"), 0);
    assert_string_equal(json_string_value(json_object_get(cur, "currency")), "EUR");
    return json_object_get(json_array_get(json_object_get(cur, "periods"), (size_t)period),
                           "promises");
}

/* kept, broken and kept_rate_percent (-1: null) of a KPI period. */
static void assert_promises(const json_t *kpis, int period, json_int_t kept, json_int_t broken,
                            double rate)
{
    const json_t *p = kpi_promises(kpis, period);
    assert_non_null(p);
    if (jint(p, "kept") != kept || jint(p, "broken") != broken)
        fail_msg("period %d: kept %lld broken %lld, expected %lld and %lld", period,
                 (long long)jint(p, "kept"), (long long)jint(p, "broken"), (long long)kept,
                 (long long)broken);
    const json_t *r = json_object_get(p, "kept_rate_percent");
    if (rate < 0)
        assert_true(json_is_null(r));
    else if (!json_is_number(r) || json_number_value(r) < rate - 0.001 ||
             json_number_value(r) > rate + 0.001)
        fail_msg("period %d: kept_rate_percent is not %.2f", period, rate);
}

/* Row i of an effectiveness report, which must be (strategy, variant,
 * step, channel). */
static const json_t *eff_row(const json_t *eff, size_t i, const char *strategy, const char *variant,
                             json_int_t step, const char *channel)
{
    const json_t *r = json_array_get(json_object_get(eff, "rows"), i);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "strategy")), strategy);
    assert_string_equal(json_string_value(json_object_get(r, "variant")), variant);
    assert_int_equal(jint(r, "step"), step);
    assert_string_equal(json_string_value(json_object_get(r, "channel")), channel);
    return r;
}

/* The EUR recovered of a row or variant (0 when none). */
static json_int_t recovered(const json_t *o)
{
    const json_t *r = json_array_get(json_object_get(o, "recovered"), 0);
    return r ? jint(r, "amount_minor") : 0;
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

/* A report of tenant t1 as of day s. */
static json_t *report(const rep_state *st, const char *type, const char *s)
{
    json_t *r = rep_report_build(st, type, "t1", day(s), 0);
    assert_non_null(r);
    return r;
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
    /* a scheduler's event with an id derived from a command id, longer
     * than CT_ID_MAX, of a type the reporter does not read (plan.completed):
     * read, remembered, ignored */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "t1/inv/%s/step/3/attempt/1", id200);
    json_t *e =
        json_pack("{s:i, s:s+, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:[s], s:s, s:i, s:i}}", "v",
                  1, "id", cmd, "/completed", "source", "arrears-scheduler", "type",
                  "plan.completed", "tenant", "t1", "time", "2026-03-10T00:00:00.000Z",
                  "customer_id", id200, "data", "customer_id", id200, "plan_id", "PL-1",
                  "invoice_ids", id200, "currency", "EUR", "total_minor", 100, "paid_minor", 100);
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

/* A contact outcome of tenant t1 and debtor C1 on one invoice, strategy
 * "default", variant "A"; step < 0: none (a payment.thanks). */
static json_t *outcome(const char *id, const char *kind, int step, const char *channel,
                       const char *inv, const char *at)
{
    json_t *c = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:s, s:s, s:s, s:s}", "v", 1,
                          "type", "contact.sent", "id", id, "command_id", id, "kind", kind,
                          "tenant", "t1", "customer_id", "C1", "invoice_ids", inv, "channel",
                          channel, "strategy", "default", "variant", "A", "at", at);
    assert_non_null(c);
    if (step >= 0)
        json_object_set_new(c, "step", json_integer(step));
    return c;
}

/* A contact.logged of C1 (invs: the inside of its invoice_ids, "" for none). */
static json_t *logged(const char *id, const char *outcome_name, const char *at, const char *invs)
{
    char data[512];
    snprintf(data, sizeof data,
             "{\"customer_id\":\"C1\",\"channel\":\"call_task\",\"outcome\":\"%s\","
             "\"at\":\"%s\",\"invoice_ids\":[%s],\"agent\":\"j.doe\"}",
             outcome_name, at, invs);
    return ev(id, "contact.logged", at, data);
}

/* The effectiveness report of day of st after a snapshot round trip is
 * eff. */
static void same_after_snapshot(const rep_state *st, const json_t *eff, const char *day_s)
{
    rep_state *back = rep_t_round_trip(st);
    assert_non_null(back);
    json_t *again = report(back, "effectiveness", day_s);
    assert_true(json_equal(eff, again));
    json_decref(again);
    rep_state_free(back);
}

/* contact.logged in the contact history; a payment.thanks in no row.
 * Tenant t1, debtor C1, EUR, invoices issued 02-01, due 03-01 (2026):
 *   I1 1000.00, I2 500.00, I3 200.00 (paid 03-03), I4 300.00 issued 03-10
 *   03-02 09:00 k1  contact.sent (default, A, step 0, email) on I1
 *   03-05 14:00 L1  contact.logged call_task conversation, invoice_ids [I1]
 *   03-06 10:00 L2  contact.logged call_task no_answer, no invoice_ids
 *   03-07 10:00 P1  1000.00 to I1 (paid in full)
 *   03-10 11:00 L3  contact.logged call_task voicemail, no invoice_ids: filed
 *                   under C1's invoices open at the start of 03-10: I2
 *                   (500.00 at the end of 03-09) and I4 (issued that day);
 *                   not I1 (paid 03-07) nor I3 (paid 03-03)
 *   03-12 12:00 P2  100.00 to I2
 *   03-12 15:00 th  contact.sent payment.thanks (default, A, no step) on I2
 *   03-14 10:00 P3  400.00 to I2 (paid in full)
 * Effectiveness as of 03-31 (rows by strategy: "" first):
 *   ("", "", -1, call_task): sent 2 (L1, L3), failed 1 (L2: not reached,
 *     names no invoice); contacted I1, I2, I4 = 3; responded I1 (P1 is
 *     within 7 days after L1) and I2 (P2 within 7 days after L3), not I4:
 *     2 / 3 = 66.67; recovered P1 1000.00 (its last contact before is L1,
 *     not k1) + P2 100.00 + P3 400.00 (I2's only contact is L3) = 1500.00.
 *   (default, A, 0, email): sent 1 (k1), contacted 1 (I1), responded 1 (P1
 *     within 7 days after 03-02): 100.00; recovered 0.
 *   experiments: default / A: invoices 1 (I1; logged contacts have no
 *     variant, so I2 and I4 are in none), paid 1: 100.00; no "" strategy.
 * Filed under step 0 (as before), the thanks would have made that row sent
 * 2, contacted 2 (I2), responded 2 (P3), recovered 400.00 (P3's last
 * contact), variant A 2 invoices, and the logged row 1100.00. */
static void test_logged_contacts(void **state)
{
    (void)state;
    char err[256];
    rep_state *st = rep_state_new();
    invoice(st, "I1", "C1", 100000);
    invoice(st, "I2", "C1", 50000);
    invoice(st, "I3", "C1", 20000);
    must(st, ev("I4", "invoice.issued", "2026-03-10T08:00:00Z",
                "{\"invoice_id\":\"I4\",\"customer_id\":\"C1\",\"currency\":\"EUR\","
                "\"amount_minor\":30000,\"issued_on\":\"2026-03-10\",\"due_on\":\"2026-04-09\"}"));
    payment(st, "P0", "C1", 20000, "I3", "2026-03-03T10:00:00Z");
    json_t *k1 =
        outcome("t1/inv/I1/step/0/attempt/1", "reminder", 0, "email", "I1", "2026-03-02T09:00:00Z");
    assert_int_equal(rep_state_apply_contact(st, k1, err, sizeof err), 1);
    json_decref(k1);
    must(st, logged("L1", "conversation", "2026-03-05T14:00:00.000Z", "\"I1\""));
    assert_int_equal(apply(st, logged("L1", "conversation", "2026-03-05T14:00:00.000Z", "\"I1\""),
                           err, sizeof err),
                     0); /* the same event again */
    must(st, logged("L2", "no_answer", "2026-03-06T10:00:00.000Z", ""));
    payment(st, "P1", "C1", 100000, "I1", "2026-03-07T10:00:00Z");
    must(st, logged("L3", "voicemail", "2026-03-10T11:00:00.000Z", ""));
    payment(st, "P2", "C1", 10000, "I2", "2026-03-12T12:00:00Z");
    json_t *th =
        outcome("t1/inv/I2/thanks/P2", "payment.thanks", -1, "email", "I2", "2026-03-12T15:00:00Z");
    uint64_t applied = st->applied;
    assert_int_equal(rep_state_apply_contact(st, th, err, sizeof err), 0); /* in no row */
    assert_int_equal(st->applied, applied + 1);
    assert_int_equal(rep_state_apply_contact(st, th, err, sizeof err), 0); /* remembered */
    assert_int_equal(st->duplicates, 2);
    json_decref(th);
    payment(st, "P3", "C1", 40000, "I2", "2026-03-14T10:00:00Z");

    json_t *eff = report(st, "effectiveness", "2026-03-31");
    assert_int_equal(json_array_size(json_object_get(eff, "rows")), 2);
    const json_t *lg = eff_row(eff, 0, "", "", -1, "call_task");
    assert_int_equal(jint(lg, "sent"), 2);
    assert_int_equal(jint(lg, "failed"), 1);
    assert_int_equal(jint(lg, "contacted_invoices"), 3);
    assert_int_equal(jint(lg, "responded_invoices"), 2);
    assert_true(fabs(json_number_value(json_object_get(lg, "response_rate_percent")) - 66.67) <
                0.001);
    assert_int_equal(recovered(lg), 150000);
    const json_t *s0 = eff_row(eff, 1, "default", "A", 0, "email");
    assert_int_equal(jint(s0, "sent"), 1);
    assert_int_equal(jint(s0, "failed"), 0);
    assert_int_equal(jint(s0, "contacted_invoices"), 1);
    assert_int_equal(jint(s0, "responded_invoices"), 1);
    assert_int_equal(recovered(s0), 0);
    const json_t *exps = json_object_get(eff, "experiments");
    assert_int_equal(json_array_size(exps), 1);
    const json_t *x = json_array_get(exps, 0);
    assert_string_equal(json_string_value(json_object_get(x, "strategy")), "default");
    const json_t *va = json_array_get(json_object_get(x, "variants"), 0);
    assert_int_equal(json_array_size(json_object_get(x, "variants")), 1);
    assert_int_equal(jint(va, "invoices"), 1);
    assert_int_equal(jint(va, "paid_invoices"), 1);
    assert_int_equal(recovered(va), 0);

    /* as of 03-09: L3 and the payments after it are not there yet */
    json_t *early = report(st, "effectiveness", "2026-03-09");
    lg = eff_row(early, 0, "", "", -1, "call_task");
    assert_int_equal(jint(lg, "sent"), 1);
    assert_int_equal(jint(lg, "failed"), 1);
    assert_int_equal(jint(lg, "contacted_invoices"), 1);
    assert_int_equal(recovered(lg), 100000);
    json_decref(early);

    same_after_snapshot(st, eff, "2026-03-31"); /* a snapshot keeps the logged rows */
    json_decref(eff);
    rep_state_free(st);
}

/* A message of t1 sent (contact.sent; failed: contact.failed) to cust on
 * channel with template tpl at instant at, for the deliverability rows. */
static json_t *msg(const char *id, const char *cust, const char *channel, const char *tpl,
                   const char *at, int failed)
{
    json_t *c = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "v", 1, "type",
                          failed ? "contact.failed" : "contact.sent", "id", id, "command_id", id,
                          "kind", "reminder", "tenant", "t1", "customer_id", cust, "channel",
                          channel, "template", tpl, "strategy", "default", "at", at);
    assert_non_null(c);
    return c;
}

/* What a provider said of a message (contact.delivered, .bounced,
 * .complained) of template tpl to cust; extra: more data members. */
static json_t *said(const char *id, const char *type, const char *cust, const char *channel,
                    const char *tpl, const char *at, const char *extra)
{
    char data[512];
    snprintf(data, sizeof data,
             "{\"customer_id\":\"%s\",\"channel\":\"%s\",\"command_id\":\"c-%s\","
             "\"template\":\"%s\"%s}",
             cust, channel, id, tpl, extra);
    return ev(id, type, at, data);
}

/* Issue 17, deliverability per channel and template (t1, as of 03-31):
 *   email reminder-1 sent 03-02 09:00 to C1, C2, C3; sms sms-1 sent 03-03
 *   09:00 to C1, and to C2 failed (not sent); a call_task (no row).
 *   delivered: email C1, C2; sms C1. bounced hard: email C3. complained:
 *   email C1. replies: C1 sms 03-03 10:00 (after the sms to C1: sms-1),
 *   C2 sms 03-04 (its sms failed: unattributed), C2 email 03-01 (before
 *   any email: unattributed), C1 sms 04-01 (after D: not counted).
 * By hand, rates = count / sent x 100, rounded half up to 2 decimals in
 * integers ((2 x 10000 x num + sent) / (2 x sent) hundredths):
 *   email reminder-1: sent 3, delivered 2 -> 66.67, bounced 1 (hard 1) ->
 *     33.33, complained 1 -> 33.33, replied 0 -> 0.0;
 *   sms sms-1: sent 1, delivered 1 -> 100.0, bounced 0, complained 0,
 *     replied 1 -> 100.0; replies_unattributed 2.
 * On 03-02 only the three emails are sent and nothing came back: rates 0
 * for email, sms sent 0 (rates null). */
static void test_deliverability(void **state)
{
    (void)state;
    rep_state *st = rep_state_new();
    char err[256];
    const char *em = "reminder-1", *at2 = "2026-03-02T09:00:00.000Z";
    json_t *ms[] = {msg("m1", "C1", "email", em, at2, 0),
                    msg("m2", "C2", "email", em, at2, 0),
                    msg("m3", "C3", "email", em, at2, 0),
                    msg("m4", "C1", "sms", "sms-1", "2026-03-03T09:00:00.000Z", 0),
                    msg("m5", "C2", "sms", "sms-1", "2026-03-03T09:00:00.000Z", 1),
                    msg("m6", "C3", "call_task", "call", "2026-03-03T09:00:00.000Z", 0)};
    for (size_t i = 0; i < 6; i++) {
        assert_true(rep_state_apply_contact(st, ms[i], err, sizeof err) >= 0);
        json_decref(ms[i]);
    }
    const char *t3 = "2026-03-03T08:00:00.000Z";
    must(st, said("d1", "contact.delivered", "C1", "email", em, t3, ""));
    must(st, said("d2", "contact.delivered", "C2", "email", em, t3, ""));
    must(st, said("d3", "contact.delivered", "C1", "sms", "sms-1", "2026-03-03T09:01:00.000Z", ""));
    must(st, said("b1", "contact.bounced", "C3", "email", em, t3, ",\"kind\":\"hard\""));
    must(st, said("x1", "contact.complained", "C1", "email", em, t3, ""));
    must(st, ev("r1", "contact.replied", "2026-03-03T10:00:00.000Z",
                "{\"customer_id\":\"C1\",\"channel\":\"sms\",\"text\":\"ok\"}"));
    must(st, ev("r2", "contact.replied", "2026-03-04T10:00:00.000Z",
                "{\"customer_id\":\"C2\",\"channel\":\"sms\",\"text\":\"who?\"}"));
    must(st, ev("r3", "contact.replied", "2026-03-01T10:00:00.000Z",
                "{\"customer_id\":\"C2\",\"channel\":\"email\",\"text\":\"hi\"}"));
    must(st, ev("r4", "contact.replied", "2026-04-01T10:00:00.000Z",
                "{\"customer_id\":\"C1\",\"channel\":\"sms\",\"text\":\"late\"}"));
    /* a second copy changes nothing */
    assert_int_equal(
        apply(st, said("b1", "contact.bounced", "C3", "email", em, t3, ",\"kind\":\"hard\""), err,
              sizeof err),
        0);
    json_t *eff = report(st, "effectiveness", "2026-03-31");
    json_t *want =
        json_loads("[{\"channel\":\"email\",\"template\":\"reminder-1\",\"sent\":3,\"delivered\":2,"
                   "\"bounced\":1,\"hard_bounced\":1,\"complained\":1,\"replied\":0,"
                   "\"delivery_rate_percent\":66.67,\"bounce_rate_percent\":33.33,"
                   "\"complaint_rate_percent\":33.33,\"reply_rate_percent\":0.0},"
                   "{\"channel\":\"sms\",\"template\":\"sms-1\",\"sent\":1,\"delivered\":1,"
                   "\"bounced\":0,\"hard_bounced\":0,\"complained\":0,\"replied\":1,"
                   "\"delivery_rate_percent\":100.0,\"bounce_rate_percent\":0.0,"
                   "\"complaint_rate_percent\":0.0,\"reply_rate_percent\":100.0}]",
                   0, NULL);
    assert_non_null(want);
    if (!json_equal(json_object_get(eff, "deliverability"), want)) {
        char *g = json_dumps(json_object_get(eff, "deliverability"), JSON_COMPACT);
        fail_msg("deliverability: %s", g);
    }
    assert_int_equal(jint(eff, "replies_unattributed"), 2);
    json_decref(want);
    json_t *early = report(st, "effectiveness", "2026-03-02");
    const json_t *rows = json_object_get(early, "deliverability");
    assert_int_equal(json_array_size(rows), 2);
    assert_int_equal(jint(json_array_get(rows, 0), "sent"), 3);
    assert_true(
        json_real_value(json_object_get(json_array_get(rows, 0), "delivery_rate_percent")) == 0.0);
    assert_int_equal(jint(json_array_get(rows, 1), "sent"), 0);
    assert_true(json_is_null(json_object_get(json_array_get(rows, 1), "reply_rate_percent")));
    assert_int_equal(jint(early, "replies_unattributed"), 1); /* r3 only */
    json_decref(early);
    same_after_snapshot(st, eff, "2026-03-31"); /* a snapshot keeps the facts */
    json_decref(eff);
    rep_state_free(st);
}

/* Promise outcomes: the scheduler's promise.kept / promise.broken decide a
 * promise from its day on; before it, and for promises that get none, the
 * reporter infers from payments. Tenant t1, EUR, invoices issued 02-01,
 * due 03-01 (2026):
 *   C1: A1 1000.00, A2 500.00. Promise made 03-02 for 03-10, 1000.00 on
 *       [A1, A2]; A1 paid 03-12 (in the scheduler's grace days). Payments
 *       alone: nothing from 03-02 through 03-10, broken on 03-11. The
 *       scheduler's promise.kept on 03-12 (its data lists A1 only: the
 *       match is by customer, promised_on, currency and amount): kept on
 *       03-12. Its promise.broken of 03-14 changes nothing (the first
 *       outcome to arrive stays).
 *   C2: B1 800.00, B2 800.00. Promise made 03-02 for 03-10, 800.00 on [B1];
 *       800.00 paid to B2 on 03-05. Payments alone (any payment of the
 *       customer in EUR): kept on 03-05. The scheduler (payments to B1
 *       only) publishes promise.broken on 03-13 00:00.
 *   C3: D1 600.00. Promise made 03-03 for 03-09, 600.00 on [D1]; D1 paid
 *       03-08; no event: inferred kept on 03-08.
 *   C4: E1 300.00. Promise made 03-03 for 03-09, 300.00 on [E1]; nothing
 *       paid, no event: inferred broken on 03-10.
 * KPIs, kept / broken (day; week from Monday 03-09; month from 03-01):
 *   as of 03-11: C1 inferred broken 03-11 (its event comes later), C2
 *     inferred kept 03-05, C3 kept 03-08, C4 broken 03-10. Day 0 / 1 =
 *     0.00; week 0 / 2 (C1, C4) = 0.00; month 2 / 2 = 50.00.
 *   as of 03-12: C1 kept 03-12 by its event. Day 1 / 0 = 100.00; week 1 /
 *     1 (C4) = 50.00; month 3 (C1, C2, C3) / 1 (C4) = 75.00 (payments
 *     alone: 2 / 2 = 50.00).
 *   as of 03-13: C2 broken 03-13 by its event. Day 0 / 1 = 0.00 (payments
 *     alone: nothing decided that day, null); week 1 (C1) / 2 (C4, C2) =
 *     33.33; month 2 (C1, C3) / 2 (C2, C4) = 50.00.
 * Aging as of 03-31, top_overdue_customers, each with the risk score of
 * docs/risk.md (default weights). Every invoice was issued 02-01 and is due
 * 03-01: first seen 58 days before 03-31, 5 x (365 - 58)/365 = 4.2 -> 4
 * points. Only invoices paid in full count for the late share.
 *   C2 (B1 800.00): B2 paid 03-05, 4 days late: 1 of 1 late, 25; 15 x 4/60
 *     = 1; it broke its promise (1 of 3: 5); paid 26 days ago: 0. 25 + 1 +
 *     5 + 4 = 35: "medium".
 *   C1 (A2 500.00): A1 paid 03-12, 11 days late: 25; 15 x 11/60 = 2.75 ->
 *     3; kept its promise: 0 (payments alone would say the reverse for C1
 *     and C2); paid 19 days ago: 0. 25 + 3 + 4 = 32: "medium".
 *   C4 (E1 300.00): nothing paid, no history: 0, 0; broken promise: 5;
 *     never paid, counted from first seen: 10 x (58 - 30)/90 = 3.1 -> 3.
 *     5 + 3 + 4 = 12: "low". */
static void test_promise_outcomes(void **state)
{
    (void)state;
    rep_state *st = rep_state_new();
    const char *sch = "arrears-scheduler";
    invoice(st, "A1", "C1", 100000);
    invoice(st, "A2", "C1", 50000);
    invoice(st, "B1", "C2", 80000);
    invoice(st, "B2", "C2", 80000);
    invoice(st, "D1", "C3", 60000);
    invoice(st, "E1", "C4", 30000);
    must(st, promise_ev("t", "pm-c1", "promise.made", "2026-03-02T10:00:00Z", "C1", 100000,
                        "2026-03-10", "\"A1\",\"A2\""));
    must(st, promise_ev("t", "pm-c2", "promise.made", "2026-03-02T10:00:00Z", "C2", 80000,
                        "2026-03-10", "\"B1\""));
    must(st, promise_ev("t", "pm-c3", "promise.made", "2026-03-03T10:00:00Z", "C3", 60000,
                        "2026-03-09", "\"D1\""));
    must(st, promise_ev("t", "pm-c4", "promise.made", "2026-03-03T10:00:00Z", "C4", 30000,
                        "2026-03-09", "\"E1\""));
    payment(st, "PB2", "C2", 80000, "B2", "2026-03-05T10:00:00Z");
    payment(st, "PD1", "C3", 60000, "D1", "2026-03-08T10:00:00Z");
    payment(st, "PA1", "C1", 100000, "A1", "2026-03-12T09:00:00Z");
    must(st, promise_ev(sch, "pm-c1/kept", "promise.kept", "2026-03-12T09:00:00Z", "C1", 100000,
                        "2026-03-10", "\"A1\""));
    must(st, promise_ev(sch, "pm-c2/broken", "promise.broken", "2026-03-13T00:00:00Z", "C2", 80000,
                        "2026-03-10", "\"B1\""));
    must(st, promise_ev(sch, "pm-c1/broken", "promise.broken", "2026-03-14T00:00:00Z", "C1", 100000,
                        "2026-03-10", "\"A1\""));
    assert_int_equal(st->nproms, 4);

    json_t *k = report(st, "kpis", "2026-03-11");
    assert_promises(k, 0, 0, 1, 0.0);
    assert_promises(k, 1, 0, 2, 0.0);
    assert_promises(k, 2, 2, 2, 50.0);
    json_decref(k);
    k = report(st, "kpis", "2026-03-12");
    assert_promises(k, 0, 1, 0, 100.0);
    assert_promises(k, 1, 1, 1, 50.0);
    assert_promises(k, 2, 3, 1, 75.0);
    json_decref(k);
    k = report(st, "kpis", "2026-03-13");
    assert_promises(k, 0, 0, 1, 0.0);
    assert_promises(k, 1, 1, 2, 33.33);
    assert_promises(k, 2, 2, 2, 50.0);
    json_decref(k);

    json_t *aging = report(st, "aging", "2026-03-31");
    const json_t *top = json_object_get(json_array_get(json_object_get(aging, "currencies"), 0),
                                        "top_overdue_customers");
    assert_int_equal(json_array_size(top), 3);
    const char *want[3][3] = {{"C2", "medium", "1"}, {"C1", "medium", "0"}, {"C4", "low", "1"}};
    for (size_t i = 0; i < 3; i++) {
        const json_t *c = json_array_get(top, i);
        assert_string_equal(json_string_value(json_object_get(c, "customer_id")), want[i][0]);
        assert_string_equal(json_string_value(json_object_get(c, "risk_band")), want[i][1]);
        assert_int_equal(json_is_true(json_object_get(c, "broken_promise")), want[i][2][0] == '1');
    }
    json_decref(aging);
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
    rep_state *st = rep_t_ledger(LEDGER);
    assert_non_null(st);
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

/* ---- the de-duplication window (docs/operations.md "Memory bounds") ---- */

/* The seen set's stamp of event id (tenant t1, source t): bucket + 1, or
 * -1 when the id is not in the set. */
static long long stamp_of(const rep_state *st, const char *id)
{
    char key[128];
    int n = snprintf(key, sizeof key, "e\x1ft1\x1ft\x1f%s", id);
    uint32_t v;
    return cm_map_get(&st->seen, key, (size_t)n, &v) ? (long long)v : -1;
}

static void test_dedup_window(void **state)
{
    (void)state;
    char err[256];
    const char *inv =
        "{\"invoice_id\":\"I1\",\"customer_id\":\"C1\",\"currency\":\"EUR\","
        "\"amount_minor\":10000,\"issued_on\":\"2026-03-01\",\"due_on\":\"2026-03-31\"}";
#define ISSUE(id) apply(st, ev(id, "invoice.issued", "2026-03-01T00:00:00Z", inv), err, sizeof err)
    /* 7 s: buckets of 7000 / 7 = 1000 ms; keep = ceil(7000 / 1000) = 7 */
    rep_state *st = rep_state_new();
    rep_state_dedup_window(st, 7000);
    assert_int_equal(st->dedup_bucket_ms, 1000);
    assert_int_equal(st->dedup_keep, 7);
    assert_int_equal(rep_state_dedup_at(st, 10500, err, sizeof err), 0); /* bucket 10 */
    assert_int_equal(ISSUE("e1"), 1);
    assert_int_equal(stamp_of(st, "e1"), 11);
    /* rep_state_apply_contact borrows o (const): one reference, dropped below */
    json_t *o = outcome("o1", "reminder", 0, "email", "I1", "2026-03-02T09:00:00Z");
    assert_int_equal(rep_state_apply_contact(st, o, err, sizeof err), 1);
    /* 17.999 s: bucket 17, 17 - 10 = 7 <= 7: still a duplicate, 7.499 s
     * after it was applied (at least the window, here more) */
    assert_int_equal(rep_state_dedup_at(st, 17999, err, sizeof err), 0);
    assert_int_equal(ISSUE("e1"), 0);
    assert_int_equal(rep_state_apply_contact(st, o, err, sizeof err), 0);
    assert_int_equal(st->duplicates, 2);
    assert_int_equal(ISSUE("e2"), 1);
    assert_int_equal(stamp_of(st, "e2"), 18);
    assert_int_equal(st->seen.len, 3);
    /* 18 s: bucket 18, 18 - 10 = 8 > 7: e1 and o1 are forgotten (8 s after:
     * at most keep + 1 = 8 buckets) and a copy is applied again */
    assert_int_equal(rep_state_dedup_at(st, 18000, err, sizeof err), 2);
    assert_int_equal(st->seen.len, 1);
    assert_int_equal(stamp_of(st, "e1"), -1);
    assert_int_equal(ISSUE("e1"), 1);
    assert_int_equal(rep_state_apply_contact(st, o, err, sizeof err), 1);
    assert_int_equal(ISSUE("e2"), 0); /* 1 bucket old */
    assert_int_equal(st->duplicates, 3);
    /* the same bucket again: nothing to do */
    assert_int_equal(rep_state_dedup_at(st, 18999, err, sizeof err), 0);
    /* the real clock stepped back: stamps ahead of it stay */
    assert_int_equal(rep_state_dedup_at(st, 5000, err, sizeof err), 0);
    assert_int_equal(ISSUE("e2"), 0);
    json_decref(o);

    /* stamps survive a snapshot; the window is configuration */
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(rep_snapshot_encode(st, &buf, &len, err, sizeof err), 0);
    rep_state *back = rep_snapshot_decode(buf, len, err, sizeof err);
    free(buf);
    if (!back)
        fail_msg("%s", err);
    assert_int_equal(stamp_of(back, "e2"), 18);
    assert_int_equal(stamp_of(back, "e1"), 19);
    assert_int_equal(back->dedup_bucket_ms, 0);
    rep_state_dedup_window(back, 7000);
    /* bucket 25: e2 (17) is 8 old, e1 and o1 (18) 7 */
    assert_int_equal(rep_state_dedup_at(back, 25000, err, sizeof err), 1);
    assert_int_equal(stamp_of(back, "e2"), -1);
    assert_int_equal(stamp_of(back, "e1"), 19);
    rep_state_free(back);
    rep_state_free(st);

    /* no window (replay, and ids applied before one is set): kept, and
     * stamped with the first window's bucket when one is set */
    st = rep_state_new();
    assert_int_equal(rep_state_dedup_at(st, 10500, err, sizeof err), 0);
    assert_int_equal(ISSUE("e9"), 1);
    assert_int_equal(stamp_of(st, "e9"), 0);
    rep_state_dedup_window(st, 7000);
    assert_int_equal(rep_state_dedup_at(st, 100500, err, sizeof err), 0); /* bucket 100 */
    assert_int_equal(stamp_of(st, "e9"), 101);
    assert_int_equal(rep_state_dedup_at(st, 107999, err, sizeof err), 0); /* 107 - 100 = 7 */
    assert_int_equal(ISSUE("e9"), 0);
    assert_int_equal(rep_state_dedup_at(st, 108000, err, sizeof err), 1); /* 8 */
    rep_state_free(st);

    /* 10 s: buckets of 10000 / 7 = 1428 ms, keep = ceil(10000 / 1428) = 8
     * (8 * 1428 = 11424 >= 10000); applied at 1427 ms (bucket 0), a copy
     * 9.999 s later (11426: bucket 8) is caught, one at 12852 ms (bucket 9,
     * 11.425 s later) is not */
    st = rep_state_new();
    rep_state_dedup_window(st, 10000);
    assert_int_equal(st->dedup_bucket_ms, 1428);
    assert_int_equal(st->dedup_keep, 8);
    assert_int_equal(rep_state_dedup_at(st, 1427, err, sizeof err), 0);
    assert_int_equal(ISSUE("e1"), 1);
    assert_int_equal(rep_state_dedup_at(st, 11426, err, sizeof err), 0);
    assert_int_equal(ISSUE("e1"), 0);
    assert_int_equal(rep_state_dedup_at(st, 12852, err, sizeof err), 1);
    assert_int_equal(ISSUE("e1"), 1);
    rep_state_free(st);

    /* a window under 7 s: buckets of at least 1 s (3 s: keep 3) */
    st = rep_state_new();
    rep_state_dedup_window(st, 3000);
    assert_int_equal(st->dedup_bucket_ms, 1000);
    assert_int_equal(st->dedup_keep, 3);
    rep_state_free(st);
#undef ISSUE
}

/* ---- money (issue 14): the scheduler's invoice.fee_charged, .fee_waived,
 * .interest_claimed and .settled summed per currency and KPI period ---- */

/* An event of the scheduler (source arrears-scheduler) on invoice inv of
 * customer cust in cur: "{" + the envelope's data members + rest + "}". */
static json_t *money_ev(const char *id, const char *type, const char *time, const char *cust,
                        const char *inv, const char *cur, const char *rest)
{
    char data[512];
    snprintf(data, sizeof data,
             "{\"customer_id\":\"%s\",\"invoice_id\":\"%s\",\"currency\":\"%s\",%s}", cust, inv,
             cur, rest);
    return ev_from("arrears-scheduler", id, type, time, data);
}

/* The KPI period (0 day, 1 week, 2 month) of currency cur, which must be
 * in the report. */
static const json_t *kpi_period(const json_t *kpis, const char *cur, int period)
{
    const json_t *curs = json_object_get(kpis, "currencies");
    for (size_t i = 0; i < json_array_size(curs); i++) {
        const json_t *c = json_array_get(curs, i);
        if (!strcmp(json_string_value(json_object_get(c, "currency")), cur))
            return json_array_get(json_object_get(c, "periods"), (size_t)period);
    }
    fail_msg("%s: not in the report", cur);
    return NULL;
}

/* The money object of a period: exactly these members, these sums. */
static void assert_money(const json_t *kpis, const char *cur, int period, json_int_t charged,
                         json_int_t waived, json_int_t interest, json_int_t compensation,
                         json_int_t forgiven, json_int_t discount, json_int_t settlement)
{
    const json_t *m = json_object_get(kpi_period(kpis, cur, period), "money");
    if (!json_is_object(m))
        fail_msg("%s period %d: no money object", cur, period);
    const json_t *by = json_object_get(m, "forgiven_by_offer");
    assert_int_equal(json_object_size(m), 6);
    assert_int_equal(json_object_size(by), 2);
    json_int_t got[] = {jint(m, "fees_charged_minor"),     jint(m, "fees_waived_minor"),
                        jint(m, "interest_claimed_minor"), jint(m, "compensation_claimed_minor"),
                        jint(m, "forgiven_minor"),         jint(by, "discount_minor"),
                        jint(by, "settlement_minor")};
    json_int_t want[] = {charged, waived, interest, compensation, forgiven, discount, settlement};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (got[i] != want[i])
            fail_msg("%s period %d: member %zu is %lld, expected %lld", cur, period, i,
                     (long long)got[i], (long long)want[i]);
}

/* Invoices of t1: G-1 GBP (C-1), E-1 EUR (C-2), U-1 USD (C-3). */
static void money_invoices(rep_state *st)
{
    must(st, ev("G-1", "invoice.issued", "2026-01-15T08:00:00Z",
                "{\"invoice_id\":\"G-1\",\"customer_id\":\"C-1\",\"currency\":\"GBP\","
                "\"amount_minor\":125000,\"issued_on\":\"2026-01-15\",\"due_on\":\"2026-02-14\"}"));
    invoice(st, "E-1", "C-2", 100000);
    must(st, ev("U-1", "invoice.issued", "2026-02-01T08:00:00Z",
                "{\"invoice_id\":\"U-1\",\"customer_id\":\"C-3\",\"currency\":\"USD\","
                "\"amount_minor\":50000,\"issued_on\":\"2026-02-01\",\"due_on\":\"2026-03-01\"}"));
}

/* The money events of test_money (t1, as of 2026-03-18, a Wednesday: day
 * = 03-18, week = 03-16..03-18, month = 03-01..03-18). A fee counts on
 * its charged_on, the others on their UTC day. */
static const struct money_row {
    const char *id, *type, *time, *cust, *inv, *cur, *rest;
} money_rows[] = {
    /* GBP */
    {"m9", "invoice.fee_charged", "2026-02-27T08:00:00.000Z", "C-1", "G-1", "GBP",
     "\"amount_minor\":999,\"step\":1,\"charged_on\":\"2026-02-27\""},
    {"m1", "invoice.fee_charged", "2026-03-02T08:00:00.000Z", "C-1", "G-1", "GBP",
     "\"amount_minor\":2250,\"step\":1,\"charged_on\":\"2026-03-02\""},
    {"m2", "invoice.fee_waived", "2026-03-05T10:00:00.000Z", "C-1", "G-1", "GBP",
     "\"amount_minor\":2250,\"reason\":\"paid_within\""},
    {"m3", "invoice.settled", "2026-03-10T09:00:00.000Z", "C-1", "G-2", "GBP",
     "\"paid_minor\":98000,\"forgiven_minor\":2000,\"offer\":\"discount\""},
    {"m4", "invoice.settled", "2026-03-16T15:20:00.000Z", "C-1", "G-3", "GBP",
     "\"paid_minor\":80000,\"forgiven_minor\":20000,\"offer\":\"settlement\""},
    /* sent at 00:30 on the 17th, the debtor's time (UTC+1): charged on the 17th */
    {"m5", "invoice.fee_charged", "2026-03-16T23:30:00.000Z", "C-1", "G-4", "GBP",
     "\"amount_minor\":1000,\"step\":1,\"charged_on\":\"2026-03-17\""},
    {"m6", "invoice.fee_charged", "2026-03-18T08:00:00.000Z", "C-1", "G-4", "GBP",
     "\"amount_minor\":500,\"step\":2,\"charged_on\":\"2026-03-18\""},
    {"m7", "invoice.fee_waived", "2026-03-18T12:00:00.000Z", "C-1", "G-4", "GBP",
     "\"amount_minor\":500,\"reason\":\"principal_paid\""},
    {"m8", "invoice.interest_claimed", "2026-03-18T13:00:00.000Z", "C-1", "G-5", "GBP",
     "\"interest_minor\":1815,\"compensation_minor\":7000,\"scheme\":\"uk_late_payment\","
     "\"days_late\":40"},
    {"m10", "invoice.fee_charged", "2026-03-19T08:00:00.000Z", "C-1", "G-6", "GBP",
     "\"amount_minor\":777,\"step\":1,\"charged_on\":\"2026-03-19\""},
    /* EUR */
    {"e1", "invoice.fee_charged", "2026-03-03T08:00:00.000Z", "C-2", "E-1", "EUR",
     "\"amount_minor\":1000,\"step\":1,\"charged_on\":\"2026-03-03\""},
    {"e2", "invoice.interest_claimed", "2026-03-17T10:00:00.000Z", "C-2", "E-1", "EUR",
     "\"interest_minor\":1234,\"compensation_minor\":4000,\"scheme\":\"eu_late_payment\","
     "\"days_late\":16"},
    {"e3", "invoice.settled", "2026-03-18T09:00:00.000Z", "C-2", "E-2", "EUR",
     "\"paid_minor\":20000,\"forgiven_minor\":5000,\"offer\":\"settlement\""},
    /* refused: a currency without an exponent, an amount the contract forbids */
    {"x1", "invoice.fee_charged", "2026-03-18T08:00:00.000Z", "C-1", "G-1", "ZZZ",
     "\"amount_minor\":100,\"step\":1,\"charged_on\":\"2026-03-18\""},
    {"x2", "invoice.fee_charged", "2026-03-18T08:00:00.000Z", "C-1", "G-1", "GBP",
     "\"amount_minor\":0,\"step\":1,\"charged_on\":\"2026-03-18\""},
};

/* The event of money_rows with that id. */
static json_t *money_row(const char *id)
{
    for (size_t i = 0; i < sizeof money_rows / sizeof money_rows[0]; i++) {
        const struct money_row *r = &money_rows[i];
        if (!strcmp(r->id, id))
            return money_ev(r->id, r->type, r->time, r->cust, r->inv, r->cur, r->rest);
    }
    fail_msg("no money row %s", id);
    return NULL;
}

/* Applies money_rows[] but the refused ones (x...). */
static void money_events(rep_state *st)
{
    for (size_t i = 0; i < sizeof money_rows / sizeof money_rows[0]; i++)
        if (money_rows[i].id[0] != 'x')
            must(st, money_row(money_rows[i].id));
}

static void test_money(void **state)
{
    (void)state;
    char err[256];
    rep_state *st = rep_state_new(), *plain = rep_state_new();
    money_invoices(st);
    money_invoices(plain);
    money_events(st);
    /* the same events again (the scheduler re-publishes with the same id):
     * duplicates, counted once */
    assert_int_equal(apply(st, money_row("m8"), err, sizeof err), 0);
    assert_int_equal(apply(st, money_row("e3"), err, sizeof err), 0);
    assert_int_equal(apply(st, money_row("x1"), err, sizeof err), -1);
    assert_non_null(strstr(err, "data.currency"));
    assert_int_equal(apply(st, money_row("x2"), err, sizeof err), -1);
    assert_non_null(strstr(err, "amount_minor"));

    json_t *k = report(st, "kpis", "2026-03-18");
    /*                   charged waived interest comp forgiven discount settlement
     * GBP day 03-18:    m6 500; m7 500; m8 1815 + 7000; nothing forgiven */
    assert_money(k, "GBP", 0, 500, 500, 1815, 7000, 0, 0, 0);
    /* GBP week 03-16..18: m5 1000 (charged_on 03-17) + m6 500 = 1500; m7 500;
     * m8; m4 settlement 20000 (03-16) */
    assert_money(k, "GBP", 1, 1500, 500, 1815, 7000, 20000, 0, 20000);
    /* GBP month 03-01..18: m1 2250 + m5 1000 + m6 500 = 3750 (m9 is
     * February's, m10 after D); m2 2250 + m7 500 = 2750; m8; m3 discount
     * 2000 + m4 settlement 20000 = 22000 */
    assert_money(k, "GBP", 2, 3750, 2750, 1815, 7000, 22000, 2000, 20000);
    /* EUR day: e3 5000 forgiven; week: + e2 1234 + 4000 (03-17); month: + e1
     * 1000 charged (03-03) */
    assert_money(k, "EUR", 0, 0, 0, 0, 0, 5000, 0, 5000);
    assert_money(k, "EUR", 1, 0, 0, 1234, 4000, 5000, 0, 5000);
    assert_money(k, "EUR", 2, 1000, 0, 1234, 4000, 5000, 0, 5000);
    /* USD had none: no money object */
    for (int p = 0; p < 3; p++)
        assert_null(json_object_get(kpi_period(k, "USD", p), "money"));
    json_t *schema = tu_schema_load("report-kpis");
    if (!tu_schema_validate(schema, k, "$", err, sizeof err))
        fail_msg("the kpis report with money: %s", err);
    json_decref(k);

    /* as of 03-16 (a Monday: week = day): m5, sent at 23:30 UTC on the
     * 16th, is charged on the 17th */
    k = report(st, "kpis", "2026-03-16");
    assert_money(k, "GBP", 0, 0, 0, 0, 0, 20000, 0, 20000);
    assert_money(k, "GBP", 1, 0, 0, 0, 0, 20000, 0, 20000);
    assert_money(k, "GBP", 2, 2250, 2250, 0, 0, 22000, 2000, 20000);
    assert_money(k, "EUR", 2, 1000, 0, 0, 0, 0, 0, 0);
    json_decref(k);

    /* as of 02-27: m9 only (month 02-01..27, day 02-27) */
    k = report(st, "kpis", "2026-02-27");
    assert_money(k, "GBP", 0, 999, 0, 0, 0, 0, 0, 0);
    assert_money(k, "GBP", 2, 999, 0, 0, 0, 0, 0, 0);
    assert_null(json_object_get(kpi_period(k, "EUR", 2), "money"));
    json_decref(k);

    /* as of 02-26, before every money fact: the bytes of the report
     * without the money events */
    json_t *a = report(st, "kpis", "2026-02-26"), *b = report(plain, "kpis", "2026-02-26");
    char *sa = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER),
         *sb = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_non_null(strstr(sa, "\"GBP\""));
    assert_null(strstr(sa, "money"));
    assert_string_equal(sa, sb);
    free(sa);
    free(sb);
    json_decref(a);
    json_decref(b);

    /* a snapshot keeps the money facts, and still de-duplicates them */
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(rep_snapshot_encode(st, &buf, &len, err, sizeof err), 0);
    rep_state *back = rep_snapshot_decode(buf, len, err, sizeof err);
    if (!back)
        fail_msg("%s", err);
    a = report(st, "kpis", "2026-03-18");
    b = report(back, "kpis", "2026-03-18");
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    assert_int_equal(apply(back, money_row("m1"), err, sizeof err), 0);
    k = report(back, "kpis", "2026-03-18");
    assert_money(k, "GBP", 2, 3750, 2750, 1815, 7000, 22000, 2000, 20000);
    json_decref(k);
    /* a snapshot of the format before the money facts is not read */
    memcpy(buf, "REPSNAP1", 8);
    assert_null(rep_snapshot_decode(buf, len, err, sizeof err));
    assert_non_null(strstr(err, "unknown format"));
    free(buf);
    json_decref(schema);
    rep_state_free(back);
    rep_state_free(plain);
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

/* An invoice of tenant t1 in EUR issued and due on the given days. */
static void invoice_on(rep_state *st, const char *id, const char *cust, long long minor,
                       const char *issued, const char *due)
{
    must(st, rep_t_invoice(id, cust, minor, issued, due));
}

/* The reporter's risk inputs (docs/risk.md "In the aging report") for
 * customer R as of 2026-06-30, default weights:
 *   R00 issued 2025-10-01, due 10-31, paid 12-30: 60 days late, but the
 *       earliest paid of 11 invoices paid in full, so not among the last 10;
 *   R01..R07 due 04-01..04-07, each paid on its due date: on time;
 *   R08 due 04-08, paid 04-18: 10 days late;
 *   R09 due 04-09, open (82 days past due): not paid, not counted;
 *   R10 due 04-10, voided 04-20: not counted;
 *   R11 issued 06-10, due 07-10, open; a dispute opened 06-15 on it: 1 open
 *       dispute;
 *   R12 due 04-12, paid 04-12: on time; its dispute of 04-05 is on a paid
 *       invoice: not open;
 *   R13 due 04-13, paid 05-13: 30 days late.
 *   last 10 paid, latest first: R13, R08, R12, R07..R01: 2 late of 10 =
 *       20%: 25 x 0.20 = 5; average (30 + 10) / 2 = 20 days: 15 x 20/60 = 5.
 *   broken promises (given: 2): 15 x 2/3 = 10; open disputes 1: 5 x 1/2 =
 *       2.5 -> 3; plans, contacts: 0; credit limit unknown: value -1, 0.
 *   last payment (given: 05-13): 18 + 30 = 48 days: 10 x (48 - 30)/90 = 2.
 *   first seen 2025-10-01: 92 days to 2026-01-01 + 180 to 06-30 = 272
 *       days: 5 x (365 - 272)/365 = 1.27 -> 1.
 *   score 5 + 5 + 10 + 0 + 3 + 0 + 0 + 2 + 1 = 26: medium.
 * Never paid (last_pay none): value -1, counted from first seen, 272
 * days: 10 points, score 26 - 2 + 10 = 34. */
static void test_risk_score(void **state)
{
    (void)state;
    rep_state *st = rep_state_new();
    char id[8], due[16], data[160];
    invoice_on(st, "R00", "R", 10000, "2025-10-01", "2025-10-31");
    payment(st, "P00", "R", 10000, "R00", "2025-12-30T10:00:00Z");
    for (int i = 1; i <= 10; i++) {
        snprintf(id, sizeof id, "R%02d", i);
        snprintf(due, sizeof due, "2026-04-%02d", i);
        invoice_on(st, id, "R", 10000, "2026-03-01", due);
    }
    for (int i = 1; i <= 7; i++) {
        char pid[8], at[32];
        snprintf(pid, sizeof pid, "P%02d", i);
        snprintf(id, sizeof id, "R%02d", i);
        snprintf(at, sizeof at, "2026-04-%02dT10:00:00Z", i);
        payment(st, pid, "R", 10000, id, at);
    }
    payment(st, "P08", "R", 10000, "R08", "2026-04-18T10:00:00Z");
    must(st, ev("v10", "invoice.voided", "2026-04-20T10:00:00Z",
                "{\"invoice_id\":\"R10\",\"customer_id\":\"R\"}"));
    invoice_on(st, "R11", "R", 10000, "2026-06-10", "2026-07-10");
    invoice_on(st, "R12", "R", 10000, "2026-03-01", "2026-04-12");
    invoice_on(st, "R13", "R", 10000, "2026-03-01", "2026-04-13");
    payment(st, "P13", "R", 10000, "R13", "2026-05-13T10:00:00Z");
    snprintf(data, sizeof data, "{\"invoice_id\":\"%s\",\"customer_id\":\"R\",\"reason\":\"x\"}",
             "R11");
    must(st, ev("d11", "dispute.opened", "2026-06-15T10:00:00Z", data));
    snprintf(data, sizeof data, "{\"invoice_id\":\"%s\",\"customer_id\":\"R\",\"reason\":\"x\"}",
             "R12");
    must(st, ev("d12", "dispute.opened", "2026-04-05T10:00:00Z", data));
    payment(st, "P12", "R", 10000, "R12", "2026-04-12T10:00:00Z");

    uint32_t r = 0;
    while (strcmp(st->custs[r].id, "R") != 0)
        r++;
    cm_risk_result res;
    rep_risk_score(st, r, day("2026-06-30"), 2, day("2026-05-13"), &res);
    const int64_t value[CM_RISK_NFACTORS] = {20, 20, 2, 0, 1, 0, -1, 48, 272};
    const int32_t points[CM_RISK_NFACTORS] = {5, 5, 10, 0, 3, 0, 0, 2, 1};
    for (int f = 0; f < CM_RISK_NFACTORS; f++) {
        if (res.contrib[f].value != value[f] || res.contrib[f].points != points[f])
            fail_msg("%s: value %lld points %d, want %lld and %d",
                     cm_risk_factor_name((cm_risk_factor)f), (long long)res.contrib[f].value,
                     (int)res.contrib[f].points, (long long)value[f], (int)points[f]);
    }
    assert_int_equal(res.score, 26);
    assert_int_equal(res.band, CM_RISK_MEDIUM);

    rep_risk_score(st, r, day("2026-06-30"), 2, REP_DAY_NONE, &res);
    assert_int_equal(res.contrib[CM_RISK_DAYS_SINCE_PAYMENT].value, -1);
    assert_int_equal(res.contrib[CM_RISK_DAYS_SINCE_PAYMENT].points, 10);
    assert_int_equal(res.score, 34);
    rep_state_free(st);
}

static void test_helpers(void **state)
{
    (void)state;
    assert_true(rep_round2(2.345) == 2.35 || rep_round2(2.345) == 2.34); /* binary: either */
    assert_true(rep_round2(1.125) == 1.13); /* exact in binary: half away from zero */
    assert_true(rep_round2(-1.125) == -1.13);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idempotent),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_id_limit),
        cmocka_unit_test(test_logged_contacts),
        cmocka_unit_test(test_promise_outcomes),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_snapshot),
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_risk_score),
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_money),
        cmocka_unit_test(test_deliverability),
        cmocka_unit_test(test_dedup_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
