/* test_reporter_retention.c -- the facts' retention (issue 18, retain.c).
 *
 * test_hand: a small ledger worked by hand: which invoices, payments,
 * promises and contacts go at a horizon, what stays of them (per
 * customer, per row, per month), and the reports as of a day within the
 * retention identical to those of the state that kept everything
 * (countback DSO worked by hand: it reads a dropped month).
 *
 * test_ledgers: tests/data/reporter/ledger1..3 (their expected values are
 * worked independently by expected.py): for several report days D and
 * horizons H <= D - REP_LOOKBACK_DAYS, every report (aging, kpis,
 * effectiveness) of every tenant is the same with and without the
 * retention; retaining in two steps gives the same state as in one; a
 * snapshot round trip keeps what the retention left; and something was
 * dropped (the comparison is not vacuous).
 *
 * test_blocked: an undecided promise keeps its debtor's settled invoices;
 * a promise made after the horizon keeps the invoices it covers.
 *
 * test_contact_currency: a kept message of a dropped invoice is charged
 * in the same currency as before.
 *
 * test_deliverability: deliverability facts dropped, each debtor's last
 * message kept for later replies, the rows' counts unchanged.
 *
 * test_money_handoff: money and hand-off facts dropped, the KPI report's
 * money object and hand-off figures to date unchanged. */
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
#include "reporter_ledger.h"

static int32_t day(const char *s)
{
    int32_t d;
    assert_int_equal(cm_date_parse(s, &d), 0);
    return d;
}

static json_t *ev(const char *id, const char *type, const char *time, const char *data)
{
    json_t *e = rep_t_event(id, type, time, data);
    assert_non_null(e);
    return e;
}

/* Applies the event to every state in sts (n of them); each must apply it. */
static void must(rep_state **sts, int n, json_t *e)
{
    char err[256];
    for (int i = 0; i < n; i++) {
        int rc = rep_state_apply_event(sts[i], e, err, sizeof err);
        if (rc != 1)
            fail_msg("event %s: rc %d: %s", json_string_value(json_object_get(e, "id")), rc, err);
    }
    json_decref(e);
}

static void must_contact(rep_state **sts, int n, json_t *c)
{
    char err[256];
    for (int i = 0; i < n; i++)
        if (rep_state_apply_contact(sts[i], c, err, sizeof err) != 1)
            fail_msg("contact: %s", err);
    json_decref(c);
}

static void invoice(rep_state **sts, int n, const char *id, const char *cust, long long minor,
                    const char *issued, const char *due)
{
    must(sts, n, rep_t_invoice(id, cust, minor, issued, due));
}

static void payment(rep_state **sts, int n, const char *id, const char *cust, long long minor,
                    const char *inv, const char *at)
{
    must(sts, n, rep_t_payment(id, cust, minor, inv, at));
}

static void promise(rep_state **sts, int n, const char *id, const char *time, const char *cust,
                    long long minor, const char *on, const char *invs)
{
    char data[512];
    snprintf(data, sizeof data,
             "{\"customer_id\":\"%s\",\"invoice_ids\":[%s],\"currency\":\"EUR\","
             "\"amount_minor\":%lld,\"promised_on\":\"%s\"}",
             cust, invs, minor, on);
    must(sts, n, ev(id, "promise.made", time, data));
}

/* An email of strategy "s", variant "A", step 0 to debtor cust on inv. */
static json_t *sent(const char *id, const char *cust, const char *inv, const char *at, int ok)
{
    return json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:s, s:s, s:s, s:i, s:s}", "v", 1,
                     "type", ok ? "contact.sent" : "contact.failed", "id", id, "command_id", id,
                     "kind", "reminder", "tenant", "t1", "customer_id", cust, "invoice_ids", inv,
                     "channel", "email", "strategy", "s", "variant", "A", "step", 0, "at", at);
}

static int inv_known(const rep_state *st, const char *id)
{
    char key[128];
    int n = snprintf(key, sizeof key, "t1\x1f%s", id);
    return cm_map_get(&st->inv_ix, key, (size_t)n, NULL);
}

/* Every report of tenant of a and b as of d is the same. */
static void same_reports(const rep_state *a, const rep_state *b, const char *tenant, int32_t d)
{
    static const char *const types[] = {"aging", "kpis", "effectiveness"};
    for (size_t t = 0; t < 3; t++) {
        json_t *x = rep_report_build(a, types[t], tenant, d, 0);
        json_t *y = rep_report_build(b, types[t], tenant, d, 0);
        assert_non_null(x);
        assert_non_null(y);
        if (!json_equal(x, y)) {
            char ds[16];
            cm_date_format(d, ds, sizeof ds);
            char *sx = json_dumps(x, JSON_SORT_KEYS), *sy = json_dumps(y, JSON_SORT_KEYS);
            fprintf(stderr, "kept: %s\nretained: %s\n", sx, sy);
            free(sx);
            free(sy);
            fail_msg("%s of %s as of %s differs after the retention", types[t], tenant, ds);
        }
        json_decref(x);
        json_decref(y);
    }
}

/* The end of a test of retained st against full: st after a snapshot
 * round trip still gives the same reports as of d and the same first
 * day; both freed. */
static void done(rep_state *full, rep_state *st, int32_t d)
{
    rep_state *back = rep_t_round_trip(st);
    assert_non_null(back);
    assert_int_equal(rep_state_exact_from(back), rep_state_exact_from(st));
    same_reports(full, back, "t1", d);
    rep_state_free(back);
    rep_state_free(full);
    rep_state_free(st);
}

/* Tenant t1, EUR, horizon H = 2025-06-01, reports as of 2026-02-28
 * (>= H + 31 = 2025-07-02, rep_state_exact_from):
 *   C1: A 100.00 issued 2025-01-10, due 02-09, paid in full 02-20 (PA):
 *         11 days late; all before H, balance 0: dropped with PA.
 *       B  50.00 issued 2025-01-15, due 02-14, voided 03-01: dropped.
 *       C  80.00 issued 2025-01-20, due 02-19, never paid: kept.
 *       email k1 sent 2025-02-15 09:00 on A (PA within 7 days: a
 *       response; PA's last contact before it), k2 failed 02-16: both
 *       dropped with A.
 *   C2: D  30.00 issued 2026-01-05, due 02-04, paid 2026-02-10: kept
 *       (issued after H).
 *   C3: E  20.00 issued 2025-01-05, due 02-04; a promise made
 *       2025-05-20 to pay 50.00 on 2025-06-15 for E; E paid 05-25 (PE,
 *       20.00 < 50.00): the promise is undecided at the end of 05-31 and
 *       PE could still count toward it, so E and PE stay (test_blocked
 *       has more).
 * Dropped: A, B (2 invoices), PA, k1, k2. What stays:
 *   C1 gone_first 2025-01-10, gone_lastpay 2025-02-20, gone_paid [A:
 *   paid 02-20, 11 late], gone_broken 0; row (s, A, 0, email): gone
 *   sent 1 (EUR), failed 1, contacted 1, responded 1, recovered 100.00,
 *   variant invoices 1, paid 1, days to recover {11: 1}; sales EUR
 *   2025-01: 100.00 + 50.00 = 150.00.
 * Countback DSO as of 2026-02-28: AR = C 80.00 (D paid, E paid).
 *   Feb 2026 to date (28 days): no sales; Jan 2026: D 30.00 < 80.00: 31
 *   days, 50.00 left; Dec 2025 .. Feb 2025 have no sales: 31+30+31+30+
 *   31+31+30+31+30+31+28 = 334 days; Jan 2025 sales A + B + C + E = 100 +
 *   50 + 80 + 20 = 250.00 >= 50.00: 28 + 31 + 334 + 31 x 50/250 = 393 +
 *   6.2 = 399.2 days. Without the sales of A and B it would be 393 + 31 x
 *   50/100 = 408.5. */
static void test_hand(void **state)
{
    (void)state;
    char err[256];
    rep_state *full = rep_state_new(), *st = rep_state_new();
    rep_state *sts[2] = {full, st};
    invoice(sts, 2, "A", "C1", 10000, "2025-01-10", "2025-02-09");
    invoice(sts, 2, "B", "C1", 5000, "2025-01-15", "2025-02-14");
    invoice(sts, 2, "C", "C1", 8000, "2025-01-20", "2025-02-19");
    invoice(sts, 2, "D", "C2", 3000, "2026-01-05", "2026-02-04");
    invoice(sts, 2, "E", "C3", 2000, "2025-01-05", "2025-02-04");
    must_contact(sts, 2, sent("k1", "C1", "A", "2025-02-15T09:00:00Z", 1));
    must_contact(sts, 2, sent("k2", "C1", "A", "2025-02-16T09:00:00Z", 0));
    payment(sts, 2, "PA", "C1", 10000, "A", "2025-02-20T10:00:00Z");
    payment(sts, 2, "PE", "C3", 2000, "E", "2025-05-25T10:00:00Z");
    must(sts, 2,
         ev("vB", "invoice.voided", "2025-03-01T12:00:00Z",
            "{\"invoice_id\":\"B\",\"customer_id\":\"C1\"}"));
    promise(sts, 2, "prE", "2025-05-20T10:00:00Z", "C3", 5000, "2025-06-15", "\"E\"");
    payment(sts, 2, "PD", "C2", 3000, "D", "2026-02-10T10:00:00Z");

    /* a customer keeps as many dropped paid invoices as the risk score reads */
    assert_int_equal(REP_GONE_PAID, cm_risk_defaults().last_n);
    assert_int_equal(rep_state_exact_from(st), INT32_MIN);
    assert_int_equal(rep_state_retain(st, day("2025-06-01"), err, sizeof err), 2);
    assert_int_equal(rep_state_exact_from(st), day("2025-07-02"));
    assert_int_equal(rep_state_retain(st, day("2025-06-01"), err, sizeof err), 0); /* no-op */
    assert_int_equal(st->ninvs, 3);
    assert_false(inv_known(st, "A"));
    assert_false(inv_known(st, "B"));
    assert_true(inv_known(st, "C") && inv_known(st, "D") && inv_known(st, "E"));
    assert_int_equal(st->npays, 2); /* PE, PD */
    assert_int_equal(st->ncontacts, 0);
    uint32_t c1 = 0;
    while (strcmp(st->custs[c1].id, "C1"))
        c1++;
    const rep_cust *cu = &st->custs[c1];
    assert_int_equal(cu->gone_first, day("2025-01-10"));
    assert_int_equal(cu->gone_lastpay, day("2025-02-20"));
    assert_int_equal(cu->gone_broken, 0);
    assert_int_equal(cu->ngone_paid, 1);
    assert_int_equal(cu->gone_paid[0].paid, day("2025-02-20"));
    assert_int_equal(cu->gone_paid[0].late, 11);
    assert_string_equal(cu->gone_paid[0].id, "A");
    assert_int_equal(st->ngroups, 1);
    const rep_group *g = &st->groups[0];
    assert_int_equal(g->gone_failed, 1);
    assert_int_equal(g->ngone_sent, 2); /* [none, EUR] */
    assert_int_equal(g->gone_sent[0], 0);
    assert_int_equal(g->gone_sent[1], 1);
    assert_int_equal(g->gone_contacted, 1);
    assert_int_equal(g->gone_responded, 1);
    assert_int_equal(g->gone_rec[0], 10000);
    assert_int_equal(g->gone_invoices, 1);
    assert_int_equal(g->gone_paid, 1);
    assert_int_equal(g->ngone_days, 1);
    assert_int_equal(g->gone_days[0].days, 11);
    assert_int_equal(g->gone_days[0].n, 1);
    int found = 0;
    for (uint32_t i = 0; i < st->nsales; i++)
        if (st->sales[i].month == day("2025-01-01")) {
            assert_int_equal(st->sales[i].amount, 15000);
            found++;
        }
    assert_int_equal(found, 1);

    /* the reports within the retention are those of the full state */
    same_reports(full, st, "t1", day("2026-02-28"));
    same_reports(full, st, "t1", day("2025-07-02"));
    json_t *k = rep_report_build(st, "kpis", "t1", day("2026-02-28"), 0);
    const json_t *eur = json_array_get(json_object_get(k, "currencies"), 0);
    assert_true(json_real_value(json_object_get(eur, "dso_countback_days")) == 399.2);
    json_decref(k);

    /* a payment after the retention finds the kept invoice C */
    payment(sts, 2, "PC", "C1", 3000, "C", "2026-02-20T10:00:00Z");
    assert_int_equal(rep_inv_outstanding(st, &st->invs[st->ninvs - 3], day("2026-02-28")), 5000);
    same_reports(full, st, "t1", day("2026-02-28"));

    /* a snapshot keeps what the retention left */
    assert_int_equal(rep_state_exact_from(st), day("2025-07-02"));
    done(full, st, day("2026-02-28"));
}

/* H = 2025-06-01:
 * C9: F 10.00 issued 2025-01-05, due 02-04; a promise made 2025-05-25
 *     for 20.00 on 2025-06-20 for F; F paid 05-28 (PF, 10.00): settled
 *     before H, but the promise is undecided at the end of 05-31 and PF
 *     (on or after the day it was made) could still count: F stays.
 *     F2 10.00 issued 2025-01-05, due 02-04, paid 02-10 (PF2, before the
 *     promise was made, so it never counts toward it): F2 goes.
 * C8: G 10.00 issued 2025-01-05, due 02-04, paid 02-10; a promise made
 *     2025-06-03 (after H) covering G: G stays.
 * At H 2025-06-10 both promises are undecided (promised on 06-20), but
 * C8's was made 06-03, after PG: G goes (its promise stays, undecided).
 * At H 2025-07-01 both are broken (C9 paid 10.00 < 20.00 from 05-25
 * through 06-20, C8 nothing from 06-03: broken on 06-21 < H): F goes with
 * PF, both promises go, and C9 and C8 keep 1 broken promise each. */
static void test_blocked(void **state)
{
    (void)state;
    char err[256];
    rep_state *st = rep_state_new();
    rep_state *sts[1] = {st};
    invoice(sts, 1, "F", "C9", 1000, "2025-01-05", "2025-02-04");
    invoice(sts, 1, "F2", "C9", 1000, "2025-01-05", "2025-02-04");
    payment(sts, 1, "PF2", "C9", 1000, "F2", "2025-02-10T10:00:00Z");
    promise(sts, 1, "prF", "2025-05-25T10:00:00Z", "C9", 2000, "2025-06-20", "\"F\"");
    payment(sts, 1, "PF", "C9", 1000, "F", "2025-05-28T10:00:00Z");
    invoice(sts, 1, "G", "C8", 1000, "2025-01-05", "2025-02-04");
    payment(sts, 1, "PG", "C8", 1000, "G", "2025-02-10T10:00:00Z");
    promise(sts, 1, "prG", "2025-06-03T10:00:00Z", "C8", 1000, "2025-06-20", "\"G\"");
    assert_int_equal(rep_state_retain(st, day("2025-06-01"), err, sizeof err), 1);
    assert_int_equal(st->ninvs, 2);
    assert_false(inv_known(st, "F2"));
    assert_true(inv_known(st, "F") && inv_known(st, "G"));
    assert_int_equal(st->npays, 2);
    assert_int_equal(rep_state_retain(st, day("2025-06-10"), err, sizeof err), 1);
    assert_false(inv_known(st, "G"));
    assert_int_equal(st->nproms, 2);
    assert_int_equal(rep_state_retain(st, day("2025-07-01"), err, sizeof err), 1);
    assert_int_equal(st->ninvs, 0);
    assert_int_equal(st->npays, 0);
    assert_int_equal(st->nproms, 0);
    for (uint32_t c = 0; c < st->ncusts; c++)
        assert_int_equal(st->custs[c].gone_broken, 1);
    rep_state_free(st);
}

/* A message on invoices in two currencies, one dropped: C5's I1 CHF
 * 100.00 issued 2025-01-10, due 02-09, paid 02-20 (goes at H =
 * 2025-06-01), and I2 EUR 50.00, same dates, open (stays); k1, an email
 * of 2025-02-15 on both, stays with I2. It is charged in CHF, the first
 * of its invoices' currencies (reports.md "arms"), before the retention
 * and after: the effectiveness report (no costs: 1 unpriced message in
 * CHF; 100.00 CHF recovered after it) is the same, and k1 remembers CHF. */
static void test_contact_currency(void **state)
{
    (void)state;
    char err[256];
    rep_state *full = rep_state_new(), *st = rep_state_new();
    rep_state *sts[2] = {full, st};
    must(sts, 2,
         ev("I1", "invoice.issued", "2025-01-10T08:00:00Z",
            "{\"invoice_id\":\"I1\",\"customer_id\":\"C5\",\"currency\":\"CHF\","
            "\"amount_minor\":10000,\"issued_on\":\"2025-01-10\",\"due_on\":\"2025-02-09\"}"));
    invoice(sts, 2, "I2", "C5", 5000, "2025-01-10", "2025-02-09");
    json_t *k1 = sent("k1", "C5", "I1", "2025-02-15T09:00:00Z", 1);
    json_array_append_new(json_object_get(k1, "invoice_ids"), json_string("I2"));
    must_contact(sts, 2, k1);
    must(sts, 2,
         ev("P1", "payment.received", "2025-02-20T10:00:00Z",
            "{\"payment_id\":\"P1\",\"customer_id\":\"C5\",\"currency\":\"CHF\","
            "\"amount_minor\":10000,\"received_on\":\"2025-02-20\","
            "\"allocations\":[{\"invoice_id\":\"I1\",\"amount_minor\":10000}]}"));
    assert_int_equal(rep_state_retain(st, day("2025-06-01"), err, sizeof err), 1);
    assert_int_equal(st->ncontacts, 1);
    assert_string_equal(st->curs[st->contacts[0].gone_cur - 1].code, "CHF");
    same_reports(full, st, "t1", day("2026-02-28"));
    json_t *eff = rep_report_build(st, "effectiveness", "t1", day("2026-02-28"), 0);
    const json_t *v = json_array_get(
        json_object_get(json_array_get(json_object_get(eff, "experiments"), 0), "variants"), 0);
    const json_t *cc = json_array_get(json_object_get(v, "collection_cost"), 0);
    assert_string_equal(json_string_value(json_object_get(cc, "currency")), "CHF");
    assert_int_equal(json_integer_value(json_object_get(cc, "unpriced_messages")), 1);
    assert_int_equal(json_integer_value(json_object_get(cc, "recovered_minor")), 10000);
    json_decref(eff);
    rep_state_free(full);
    rep_state_free(st);
}

/* An email of template tpl sent to cust at at (a deliverability fact). */
static json_t *email(const char *id, const char *cust, const char *tpl, const char *at)
{
    return json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "v", 1, "type",
                     "contact.sent", "id", id, "command_id", id, "kind", "reminder", "tenant", "t1",
                     "customer_id", cust, "channel", "email", "template", tpl, "strategy", "s",
                     "at", at);
}

/* Deliverability (issue 17) under the retention, H = 2025-06-01, as of
 * 2025-08-31 (t1, email):
 *   02-01 m1 template a to C1; 02-02 m2 template b to C1; 02-03 delivered
 *   (b); 02-04 bounced hard (a); 02-05 C1 replies by email: given to m2
 *   (b), the last email to C1 before it; 02-06 C2 replies by SMS: no SMS
 *   to C2, unattributed; 07-01 C1 replies by email: given to m2 (b).
 * Before H all go but m2 (C1's last email: the reply of 07-01 needs it):
 *   nfbs 2 (m2, the reply of 07-01); row a keeps sent 1, bounced 1 (hard
 *   1), row b delivered 1, replied 1; t1 1 unattributed reply.
 * The report: a sent 1, delivered 0, bounced 1, hard 1, replied 0; b sent
 * 1, delivered 1 (100.0%), replied 2 (200.0%); replies_unattributed 1:
 * the same as the full state's. */
static void test_deliverability(void **state)
{
    (void)state;
    char err[256];
    rep_state *full = rep_state_new(), *st = rep_state_new();
    rep_state *sts[2] = {full, st};
    must_contact(sts, 2, email("m1", "C1", "a", "2025-02-01T09:00:00Z"));
    must_contact(sts, 2, email("m2", "C1", "b", "2025-02-02T09:00:00Z"));
    must(sts, 2,
         ev("d1", "contact.delivered", "2025-02-03T09:00:00Z",
            "{\"customer_id\":\"C1\",\"channel\":\"email\",\"command_id\":\"m2\","
            "\"template\":\"b\"}"));
    must(sts, 2,
         ev("b1", "contact.bounced", "2025-02-04T09:00:00Z",
            "{\"customer_id\":\"C1\",\"channel\":\"email\",\"command_id\":\"m1\","
            "\"template\":\"a\",\"kind\":\"hard\"}"));
    must(sts, 2,
         ev("r1", "contact.replied", "2025-02-05T10:00:00Z",
            "{\"customer_id\":\"C1\",\"channel\":\"email\",\"text\":\"ok\"}"));
    must(sts, 2,
         ev("r2", "contact.replied", "2025-02-06T10:00:00Z",
            "{\"customer_id\":\"C2\",\"channel\":\"sms\",\"text\":\"who?\"}"));
    must(sts, 2,
         ev("r3", "contact.replied", "2025-07-01T10:00:00Z",
            "{\"customer_id\":\"C1\",\"channel\":\"email\",\"text\":\"again\"}"));
    assert_int_equal(rep_state_retain(st, day("2025-06-01"), err, sizeof err), 0);
    assert_int_equal(st->nfbs, 2);
    assert_int_equal(st->ntmpls, 2);
    const rep_tmpl *a = &st->tmpls[0], *b = &st->tmpls[1];
    assert_string_equal(a->name, "a");
    assert_int_equal(a->gone_n[REP_FB_SENT], 1);
    assert_int_equal(a->gone_n[REP_FB_BOUNCED], 1);
    assert_int_equal(a->gone_hard, 1);
    assert_int_equal(b->gone_n[REP_FB_SENT], 0);
    assert_int_equal(b->gone_n[REP_FB_DELIVERED], 1);
    assert_int_equal(b->gone_n[REP_FB_REPLIED], 1);
    assert_int_equal(st->gone_unattr[0], 1);
    same_reports(full, st, "t1", day("2025-08-31"));
    json_t *eff = rep_report_build(st, "effectiveness", "t1", day("2025-08-31"), 0);
    const json_t *rows = json_object_get(eff, "deliverability");
    assert_int_equal(json_array_size(rows), 2);
    const json_t *rb = json_array_get(rows, 1);
    assert_string_equal(json_string_value(json_object_get(rb, "template")), "b");
    assert_int_equal(json_integer_value(json_object_get(rb, "sent")), 1);
    assert_int_equal(json_integer_value(json_object_get(rb, "delivered")), 1);
    assert_int_equal(json_integer_value(json_object_get(rb, "replied")), 2);
    assert_true(json_real_value(json_object_get(rb, "reply_rate_percent")) == 200.0);
    assert_int_equal(json_integer_value(json_object_get(eff, "replies_unattributed")), 1);
    json_decref(eff);
    done(full, st, day("2025-08-31"));
}

/* An event of the scheduler (money, placements) or of an agency. */
static json_t *ev_src(const char *source, const char *id, const char *type, const char *time,
                      const char *data)
{
    json_t *e = ev(id, type, time, data);
    json_object_set_new(e, "source", json_string(source));
    return e;
}

/* Money and hand-off facts (issues 14, 16) under the retention, t1 EUR, H
 * = 2025-06-01, KPIs as of 2025-08-31:
 *   02-01 fee charged 5.00; 02-10 case K1 placed with an agency, 100.00;
 *   03-01 K1 remits 30.00 (commission 6.00); 03-05 K2 remits 10.00
 *   (commission 1.00) but K2 is not placed (yet); 07-10 K3 placed, 50.00.
 * Before H the fee, K1's placement and remittance go; K2's remittance
 * stays (a later placement of K2 decides where it counts); K3's is after
 * H. What stays: EUR money seen, hand-off seen, placed 100.00, remitted
 * 30.00, commission 6.00 to date.
 * Month of August: placed to date 100 + 50 = 150.00, remitted to date
 * 30.00 (K2 unplaced), net 24.00, recovery 20.0%, net 16.0%; the money
 * object is there (all 0 in August). Then K2 is placed on 08-01 (20.00):
 * placed 170.00 to date, remitted 40.00 (23.53%). Both as the full
 * state's. */
static void test_money_handoff(void **state)
{
    (void)state;
    char err[256];
    rep_state *full = rep_state_new(), *st = rep_state_new();
    rep_state *sts[2] = {full, st};
    must(sts, 2,
         ev_src("arrears-scheduler", "f1", "invoice.fee_charged", "2025-02-01T08:00:00Z",
                "{\"customer_id\":\"C1\",\"invoice_id\":\"I1\",\"currency\":\"EUR\","
                "\"amount_minor\":500,\"step\":1,\"charged_on\":\"2025-02-01\"}"));
    must(sts, 2,
         ev_src("arrears-scheduler", "p1", "escalation.placed", "2025-02-10T09:00:00Z",
                "{\"case_id\":\"K1\",\"customer_id\":\"C1\",\"to\":\"agency\","
                "\"invoice_ids\":[\"I1\"],\"currency\":\"EUR\",\"placed_minor\":10000,"
                "\"expected_net_minor\":3000,\"command_id\":\"t1/inv/I1/esc\"}"));
    must(sts, 2,
         ev_src("agency", "m1", "escalation.remitted", "2025-03-01T15:00:00Z",
                "{\"case_id\":\"K1\",\"customer_id\":\"C1\",\"currency\":\"EUR\","
                "\"amount_minor\":3000,\"commission_minor\":600}"));
    must(sts, 2,
         ev_src("agency", "m2", "escalation.remitted", "2025-03-05T15:00:00Z",
                "{\"case_id\":\"K2\",\"customer_id\":\"C2\",\"currency\":\"EUR\","
                "\"amount_minor\":1000,\"commission_minor\":100}"));
    must(sts, 2,
         ev_src("arrears-scheduler", "p3", "escalation.placed", "2025-07-10T09:00:00Z",
                "{\"case_id\":\"K3\",\"customer_id\":\"C3\",\"to\":\"legal\","
                "\"invoice_ids\":[\"I3\"],\"currency\":\"EUR\",\"placed_minor\":5000,"
                "\"expected_net_minor\":1000,\"command_id\":\"t1/inv/I3/esc\"}"));
    assert_int_equal(rep_state_retain(st, day("2025-06-01"), err, sizeof err), 0);
    assert_int_equal(st->nmoney, 0);
    assert_int_equal(st->nescs, 2);
    assert_int_equal(st->nsales, 1);
    assert_int_equal(st->sales[0].month, INT32_MIN);
    assert_true(st->sales[0].money && st->sales[0].esc);
    assert_int_equal(st->sales[0].placed, 10000);
    assert_int_equal(st->sales[0].remitted, 3000);
    assert_int_equal(st->sales[0].commission, 600);
    same_reports(full, st, "t1", day("2025-08-31"));
    json_t *k = rep_report_build(st, "kpis", "t1", day("2025-08-31"), 0);
    const json_t *month = json_array_get(
        json_object_get(json_array_get(json_object_get(k, "currencies"), 0), "periods"), 2);
    const json_t *esc = json_object_get(month, "escalations");
    assert_int_equal(json_integer_value(json_object_get(esc, "placed_to_date_minor")), 15000);
    assert_int_equal(json_integer_value(json_object_get(esc, "remitted_to_date_minor")), 3000);
    assert_int_equal(json_integer_value(json_object_get(esc, "net_remitted_to_date_minor")), 2400);
    assert_true(json_real_value(json_object_get(esc, "recovery_rate_percent")) == 20.0);
    assert_true(json_real_value(json_object_get(esc, "net_recovery_rate_percent")) == 16.0);
    assert_non_null(json_object_get(month, "money"));
    json_decref(k);
    must(sts, 2,
         ev_src("arrears-scheduler", "p2", "escalation.placed", "2025-08-01T09:00:00Z",
                "{\"case_id\":\"K2\",\"customer_id\":\"C2\",\"to\":\"agency\","
                "\"invoice_ids\":[\"I2\"],\"currency\":\"EUR\",\"placed_minor\":2000,"
                "\"expected_net_minor\":500,\"command_id\":\"t1/inv/I2/esc\"}"));
    same_reports(full, st, "t1", day("2025-08-31"));
    k = rep_report_build(st, "kpis", "t1", day("2025-08-31"), 0);
    month = json_array_get(
        json_object_get(json_array_get(json_object_get(k, "currencies"), 0), "periods"), 2);
    esc = json_object_get(month, "escalations");
    assert_int_equal(json_integer_value(json_object_get(esc, "placed_to_date_minor")), 17000);
    assert_int_equal(json_integer_value(json_object_get(esc, "remitted_to_date_minor")), 4000);
    assert_true(json_real_value(json_object_get(esc, "recovery_rate_percent")) == 23.53);
    json_decref(k);
    done(full, st, day("2025-08-31"));
}

static rep_state *load(const char *dir)
{
    char path[256];
    snprintf(path, sizeof path, "tests/data/reporter/%s", dir);
    rep_state *st = rep_t_ledger(path);
    assert_non_null(st);
    return st;
}

static void test_ledgers(void **state)
{
    (void)state;
    static const char *const dirs[] = {"ledger1", "ledger2", "ledger3"};
    static const char *const days[] = {"2025-09-30", "2025-12-31", "2026-01-15",
                                       "2026-03-29", "2026-06-30", "2026-12-31"};
    char err[256];
    uint32_t dropped_any = 0, contacts_dropped = 0, fbs_dropped = 0;
    for (size_t l = 0; l < 3; l++) {
        rep_state *full = load(dirs[l]);
        for (size_t k = 0; k < sizeof days / sizeof *days; k++) {
            int32_t d = day(days[k]);
            for (int back = REP_LOOKBACK_DAYS; back <= REP_LOOKBACK_DAYS + 120; back += 60) {
                rep_state *one = load(dirs[l]), *two = load(dirs[l]);
                int32_t h = d - back;
                long n = rep_state_retain(one, h, err, sizeof err);
                assert_true(n >= 0);
                dropped_any += (uint32_t)n;
                contacts_dropped += full->ncontacts - one->ncontacts;
                fbs_dropped += full->nfbs - one->nfbs;
                /* in two steps: the same */
                assert_true(rep_state_retain(two, h - 45, err, sizeof err) >= 0);
                assert_true(rep_state_retain(two, h, err, sizeof err) >= 0);
                assert_int_equal(one->ninvs, two->ninvs);
                rep_state *back_st = rep_t_round_trip(one);
                assert_non_null(back_st);
                for (uint32_t t = 0; t < full->ntenants; t++) {
                    same_reports(full, one, full->tenants[t], d);
                    same_reports(full, two, full->tenants[t], d);
                    same_reports(full, back_st, full->tenants[t], d);
                }
                rep_state_free(back_st);
                rep_state_free(one);
                rep_state_free(two);
            }
        }
        rep_state_free(full);
    }
    /* not vacuous: the ledgers' old settled invoices and their messages went */
    assert_true(dropped_any > 100);
    assert_true(contacts_dropped > 50);
    assert_true(fbs_dropped > 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand),
        cmocka_unit_test(test_blocked),
        cmocka_unit_test(test_contact_currency),
        cmocka_unit_test(test_deliverability),
        cmocka_unit_test(test_money_handoff),
        cmocka_unit_test(test_ledgers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
