/* test_scheduler_retention.c -- the scheduler's retention of closed
 * invoices, payments and waiting lists (services/scheduler/retention.h,
 * issue 18): the pure decisions, then a ledger through the engine the
 * service runs (sch_engine_apply, sch_engine_fire) over the memory store,
 * with every instant worked by hand from the rule "purged retention after
 * the record's last change; a waiting list after its first event", and
 * the answer to a late event about a purged record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/scheduler/apply.h"
#include "scheduler_decode_test.h"
#include "../../services/scheduler/engine.h"
#include "../../services/scheduler/retention.h"
#include "../../services/scheduler/store.h"
#include "scheduler_engine_test.h"
#include "clock.h"

#define DAY 86400000LL

static void test_parse(void **state)
{
    (void)state;
    char err[200];
    int64_t ms = -1;
    assert_int_equal(sch_retention_parse("400d", &ms, err, sizeof err), 0);
    assert_int_equal(ms, 400 * 86400000LL); /* 34 560 000 000 */
    assert_int_equal(sch_retention_parse("none", &ms, err, sizeof err), 0);
    assert_int_equal(ms, 0);
    ms = -1;
    assert_int_equal(sch_retention_parse("0", &ms, err, sizeof err), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(sch_retention_parse("1s", &ms, err, sizeof err), 0);
    assert_int_equal(ms, 1000);
    assert_int_equal(sch_retention_parse("3650d", &ms, err, sizeof err), 0);
    assert_int_equal(ms, 315360000000LL);
    /* outside 1s .. 3650d, or not a duration: refused, naming the rule */
    assert_int_equal(sch_retention_parse("999ms", &ms, err, sizeof err), -1);
    assert_non_null(strstr(err, "1s .. 3650d"));
    assert_int_equal(sch_retention_parse("3651d", &ms, err, sizeof err), -1);
    assert_int_equal(sch_retention_parse("forever", &ms, err, sizeof err), -1);
    assert_int_equal(sch_retention_parse("", &ms, err, sizeof err), -1);
}

static void test_member(void **state)
{
    (void)state;
    char m[64], t[32], id[32], k = 0;
    assert_int_equal(sch_gc_member(m, sizeof m, "acme", 'p', "P-1"), 0);
    assert_string_equal(m, "acme/\x1epP-1");
    assert_int_equal(sch_gc_parse(m, strlen(m), t, sizeof t, &k, id, sizeof id), 1);
    assert_string_equal(t, "acme");
    assert_int_equal(k, 'p');
    assert_string_equal(id, "P-1");
    /* an invoice's own timer is not a purge member */
    assert_int_equal(sch_gc_parse("acme/I-1", 8, t, sizeof t, &k, id, sizeof id), 0);
    /* an unknown kind letter neither */
    assert_int_equal(sch_gc_parse("acme/\x1ezI-1", 10, t, sizeof t, &k, id, sizeof id), 0);
    /* a tenant that does not fit the caller's buffer */
    assert_int_equal(sch_gc_parse("acme/\x1eiI-1", 10, t, 3, &k, id, sizeof id), -1);
    assert_int_equal(sch_gc_member(m, 8, "acme", 'i', "I-1"), -1);
}

static void test_ring(void **state)
{
    (void)state;
    /* the last max entries of "e,e,...,": where they start */
    assert_int_equal(sch_ring_keep("a,b,c,", 6, 3), 0);
    assert_int_equal(sch_ring_keep("a,b,c,", 6, 2), 2);  /* "b,c," */
    assert_int_equal(sch_ring_keep("a,bb,c,", 7, 1), 5); /* "c," */
    assert_int_equal(sch_ring_keep("a,b,c,", 6, 0), 6);  /* "" */
    assert_int_equal(sch_ring_keep("", 0, 16), 0);
    assert_true(sch_gc_tomb_has("p:P-1,i:I-1,", 'i', "I-1"));
    assert_true(sch_gc_tomb_has("p:P-1,i:I-1,", 'p', "P-1"));
    assert_false(sch_gc_tomb_has("p:P-1,i:I-1,", 'p', "I-1")); /* kind matters */
    assert_false(sch_gc_tomb_has("i:I-10,", 'i', "I-1"));      /* whole ids */
    assert_false(sch_gc_tomb_has("i:I-1,", 'i', "I-"));
    assert_false(sch_gc_tomb_has(NULL, 'i', "I-1"));
}

static void test_decide_and_score(void **state)
{
    (void)state;
    sch_rec r;
    memset(&r, 0, sizeof r);
    r.type = SCH_T_INV;
    r.loaded = r.exists = r.dirty = 1;
    r.u.inv.status = 'o';
    assert_int_equal(sch_gc_decide(&r), SCH_GC_DROP); /* open: still the job */
    assert_int_equal(sch_gc_score(&r, 1000, 5000), 0);
    r.u.inv.status = 'p';
    r.u.inv.next_kind = 't'; /* the thank-you still to send */
    assert_int_equal(sch_gc_decide(&r), SCH_GC_LATER);
    assert_int_equal(sch_gc_score(&r, 1000, 5000), 6000);
    r.u.inv.next_kind = 0;
    r.u.inv.status = 'v';
    assert_int_equal(sch_gc_decide(&r), SCH_GC_DELETE);
    assert_int_equal(sch_gc_score(&r, 1000, 0), 0); /* none: kept for ever */
    r.gone = 1;
    assert_int_equal(sch_gc_score(&r, 1000, 5000), 0);
    r.gone = 0;
    r.exists = 0;
    assert_int_equal(sch_gc_decide(&r), SCH_GC_DROP); /* already gone */

    memset(&r, 0, sizeof r);
    r.type = SCH_T_PAY;
    r.loaded = r.exists = r.dirty = 1;
    assert_int_equal(sch_gc_decide(&r), SCH_GC_DELETE);
    assert_int_equal(sch_gc_score(&r, 7, 3), 10);
    r.dirty = 0; /* not written by this commit: its score stays */
    assert_int_equal(sch_gc_score(&r, 7, 3), 0);

    memset(&r, 0, sizeof r);
    r.type = SCH_T_PEND;
    r.loaded = r.dirty = 1;
    r.u.pend.items = json_array();
    r.u.pend.add = json_array();
    json_array_append_new(r.u.pend.add, json_object());
    /* the first event held: scored */
    assert_int_equal(sch_gc_score(&r, 100, 50), 150);
    /* a second one: the score of the first stays */
    json_array_append_new(r.u.pend.items, json_object());
    r.exists = 1;
    assert_int_equal(sch_gc_score(&r, 100, 50), 0);
    assert_int_equal(sch_gc_decide(&r), SCH_GC_DELETE);
    json_decref(r.u.pend.items);
    json_decref(r.u.pend.add);
}

/* ---- a ledger through the engine over the memory store ---- */

static int pub(void *o, char topic, const char *key, const char *id, const char *payload,
               size_t len, char *errstr, size_t errlen)
{
    (void)o, (void)topic, (void)key, (void)id, (void)payload, (void)len, (void)errstr, (void)errlen;
    return 0;
}
static int64_t at(const char *s)
{
    int64_t ms;
    assert_int_equal(cm_time_parse_rfc3339(s, &ms), 0);
    return ms;
}

/* Applies one event at the clock (its "time" set to it). */
static void apply(sch_engine *e, const char *json)
{
    char err[512], t[40];
    json_t *ev = json_loads(json, 0, NULL);
    assert_non_null(ev);
    static int seq;
    char id[32];
    snprintf(id, sizeof id, "e%d", ++seq);
    cm_time_format_rfc3339(eng_clock, t, sizeof t);
    json_object_set_new(ev, "time", json_string(t));
    json_object_set_new(ev, "id", json_string(id));
    sch_event se;
    int part = 0;
    if (sch_test_decode(ev, &se, err, sizeof err) != 1)
        fail_msg("decode: %s", err);
    if (sch_engine_apply(e, &se, &part, 1, err, sizeof err) < 0)
        fail_msg("apply: %s", err);
    json_decref(ev);
}

/* 1 when the record of kind k ('i', 'p', 'q', 'r') id is stored. */
static int stored(sch_engine *e, char k, const char *id)
{
    char key[512], err[256];
    sch_key(key, sizeof key, e->prefix, k, "acme", id);
    sch_map *m = sch_map_new();
    sch_rec *r = sch_map_add(m, key,
                             k == 'i'   ? SCH_T_INV
                             : k == 'p' ? SCH_T_PAY
                                        : SCH_T_PEND,
                             "acme", id);
    assert_non_null(r);
    if (e->store.load(e->store.be, m, err, sizeof err) < 0)
        fail_msg("load: %s", err);
    int x = r->exists;
    sch_map_free(m);
    return x;
}

/* A field of the debtor C-1's hash, as stored ("" when absent). */
static const char *cust_field(sch_engine *e, const char *field)
{
    static char out[512];
    char key[512], err[256];
    sch_key(key, sizeof key, e->prefix, 'c', "acme", "C-1");
    sch_map *m = sch_map_new();
    sch_rec *r = sch_map_add(m, key, SCH_T_CUST, "acme", "C-1");
    assert_non_null(r);
    if (e->store.load(e->store.be, m, err, sizeof err) < 0)
        fail_msg("load: %s", err);
    out[0] = 0;
    if (!strcmp(field, "pg") && r->u.cust.purged)
        snprintf(out, sizeof out, "%s", r->u.cust.purged);
    for (int k = 0; k < r->u.cust.ncredit; k++)
        if (!strncmp(field, "u:", 2) && !strcmp(r->u.cust.credit[k].pid, field + 2))
            snprintf(out, sizeof out, "%s:%lld", r->u.cust.credit[k].currency,
                     (long long)r->u.cust.credit[k].amount);
    sch_map_free(m);
    return out;
}
static const char *ring(sch_engine *e)
{
    return cust_field(e, "pg");
}
static const char *credit(sch_engine *e, const char *pid)
{
    char f[64];
    snprintf(f, sizeof f, "u:%s", pid);
    return cust_field(e, f);
}

#define EV(type, data)                                                                             \
    "{\"v\":1,\"id\":\"x\",\"source\":\"billing\",\"type\":\"" type                                \
    "\",\"tenant\":\"acme\",\"time\":\"2026-03-01T00:00:00.000Z\",\"customer_id\":\"C-1\","        \
    "\"data\":" data "}"

static void ledger(sch_engine *e, sch_policy *pol, sch_store *st, int64_t retention)
{
    char err[512];
    memset(e, 0, sizeof *e);
    assert_int_equal(sch_policy_load_file("deploy/config/policy.json", pol, err, sizeof err), 0);
    assert_int_equal(sch_store_mem_new(st), 0);
    e->pol = pol;
    e->store = *st;
    e->fire_batch = 1000;
    e->now = eng_now;
    e->next_due = INT64_MAX;
    e->owned[0] = 1;
    e->retention = retention;
    e->sink = (sch_sink){pub, eng_flush, eng_inflight, NULL};
    snprintf(e->prefix, sizeof e->prefix, "rt:");
    /* 2026-03-01: the debtor, and I-1 (1000 EUR cents, due 2026-06-01,
     * so no step of the ladder is due before it is voided) */
    eng_clock = at("2026-03-01T00:00:00Z");
    apply(e, EV("customer.upserted",
                "{\"name\":\"N\",\"email\":\"c@x.test\",\"timezone\":\"Europe/London\","
                "\"locale\":\"en-GB\",\"country\":\"GB\",\"channels\":[\"email\"],"
                "\"opted_out\":[],\"tags\":[],\"customer_id\":\"C-1\"}"));
    apply(e, EV("invoice.issued",
                "{\"invoice_id\":\"I-1\",\"number\":\"N-1\",\"currency\":\"EUR\","
                "\"amount_minor\":1000,\"issued_on\":\"2026-03-01\",\"due_on\":\"2026-06-01\","
                "\"customer_id\":\"C-1\"}"));
    /* 2026-03-02: P-1 pays 400 of it (its last change: purged 04-01) */
    eng_fire_until(e, at("2026-03-02T00:00:00Z"));
    apply(e, EV("payment.received",
                "{\"payment_id\":\"P-1\",\"currency\":\"EUR\",\"amount_minor\":400,"
                "\"received_on\":\"2026-03-02\",\"allocations\":[{\"invoice_id\":\"I-1\","
                "\"amount_minor\":400}],\"customer_id\":\"C-1\"}"));
    /* 2026-03-05: I-1 voided (closed, nothing left to fire: purged 04-04) */
    eng_fire_until(e, at("2026-03-05T00:00:00Z"));
    apply(e, EV("invoice.voided", "{\"invoice_id\":\"I-1\",\"customer_id\":\"C-1\"}"));
}

static void done(sch_engine *e, sch_policy *pol, sch_store *st)
{
    char err[256];
    assert_int_equal(sch_engine_settle(e, 1, err, sizeof err), 0);
    for (size_t k = 0; k < e->npending; k++)
        free(e->pending[k].id);
    free(e->pending);
    sch_store_mem_free(st);
    sch_policy_free(pol);
}

static void test_ledger_30d(void **state)
{
    (void)state;
    sch_engine e;
    sch_policy pol;
    sch_store st;
    ledger(&e, &pol, &st, 30 * DAY);
    /* P-1 written 2026-03-02T00:00Z + 30 d = 2026-04-01T00:00Z */
    eng_fire_until(&e, at("2026-04-01T00:00:00Z") - 1);
    assert_true(stored(&e, 'p', "P-1"));
    assert_true(stored(&e, 'i', "I-1"));
    eng_fire_until(&e, at("2026-04-01T00:00:00Z"));
    assert_false(stored(&e, 'p', "P-1"));
    assert_true(stored(&e, 'i', "I-1"));
    assert_int_equal(e.purged_total, 1);
    /* I-1 voided 2026-03-05T00:00Z + 30 d = 2026-04-04T00:00Z */
    eng_fire_until(&e, at("2026-04-04T00:00:00Z") - 1);
    assert_true(stored(&e, 'i', "I-1"));
    eng_fire_until(&e, at("2026-04-04T00:00:00Z"));
    assert_false(stored(&e, 'i', "I-1"));
    assert_int_equal(e.purged_total, 2);
    assert_int_equal(e.expired_total, 0);

    /* the debtor remembers both, in the order purged */
    assert_string_equal(ring(&e), "p:P-1,i:I-1,");

    /* 2026-04-10: a copy of P-1, a late payment P-2 for the purged I-1, a
     * reversal of the purged P-1: each answered at once, not applied
     * (late); P-2's 300, allocated to nothing open, is the debtor's
     * credit, and its own record is written (purged 2026-05-10). A
     * reversal of P-9, never seen and not remembered, is held (r:P-9)
     * from 2026-04-10: it expires 2026-05-10T00:00Z. */
    eng_fire_until(&e, at("2026-04-10T00:00:00Z"));
    apply(&e, EV("payment.received",
                 "{\"payment_id\":\"P-1\",\"currency\":\"EUR\",\"amount_minor\":400,"
                 "\"received_on\":\"2026-03-02\",\"allocations\":[{\"invoice_id\":\"I-1\","
                 "\"amount_minor\":400}],\"customer_id\":\"C-1\"}"));
    assert_false(stored(&e, 'p', "P-1")); /* not applied again */
    apply(&e, EV("payment.received",
                 "{\"payment_id\":\"P-2\",\"currency\":\"EUR\",\"amount_minor\":300,"
                 "\"received_on\":\"2026-04-10\",\"allocations\":[{\"invoice_id\":\"I-1\","
                 "\"amount_minor\":300}],\"customer_id\":\"C-1\"}"));
    apply(&e, EV("payment.reversed",
                 "{\"payment_id\":\"P-1\",\"reason\":\"x\",\"customer_id\":\"C-1\"}"));
    apply(&e, EV("payment.reversed",
                 "{\"payment_id\":\"P-9\",\"reason\":\"x\",\"customer_id\":\"C-1\"}"));
    assert_int_equal(e.late_total, 3);
    assert_false(stored(&e, 'q', "I-1"));
    assert_false(stored(&e, 'i', "I-1"));
    assert_true(stored(&e, 'p', "P-2"));
    assert_true(stored(&e, 'r', "P-9"));
    assert_string_equal(credit(&e, "P-2"), "EUR:300");
    eng_fire_until(&e, at("2026-05-10T00:00:00Z") - 1);
    assert_true(stored(&e, 'r', "P-9"));
    assert_int_equal(e.expired_total, 0);
    eng_fire_until(&e, at("2026-05-10T00:00:00Z"));
    assert_false(stored(&e, 'r', "P-9"));
    assert_false(stored(&e, 'p', "P-2"));
    assert_int_equal(e.purged_total, 4);
    assert_int_equal(e.expired_total, 1);
    assert_string_equal(ring(&e), "p:P-1,i:I-1,p:P-2,");
    done(&e, &pol, &st);
}

/* An invoice closed, then open again (a reversal) before its retention ran
 * out: its purge member, when due, is dropped and the invoice stays. */
static void test_reopened(void **state)
{
    (void)state;
    sch_engine e;
    sch_policy pol;
    sch_store st;
    ledger(&e, &pol, &st, 30 * DAY);
    /* 2026-03-06T00:00Z, one instant: I-2 (100, due 2026-09-01), paid in
     * full by P-3 (closed: purge member 04-05T00:00Z), P-3 reversed (I-2
     * open again, its member left; P-3 rescored 04-05T00:00Z) */
    eng_fire_until(&e, at("2026-03-06T00:00:00Z"));
    apply(&e, EV("invoice.issued",
                 "{\"invoice_id\":\"I-2\",\"number\":\"N-2\",\"currency\":\"EUR\","
                 "\"amount_minor\":100,\"issued_on\":\"2026-03-06\",\"due_on\":\"2026-09-01\","
                 "\"customer_id\":\"C-1\"}"));
    apply(&e, EV("payment.received",
                 "{\"payment_id\":\"P-3\",\"currency\":\"EUR\",\"amount_minor\":100,"
                 "\"received_on\":\"2026-03-06\",\"allocations\":[{\"invoice_id\":\"I-2\","
                 "\"amount_minor\":100}],\"customer_id\":\"C-1\"}"));
    apply(&e, EV("payment.reversed",
                 "{\"payment_id\":\"P-3\",\"reason\":\"x\",\"customer_id\":\"C-1\"}"));
    eng_fire_until(&e, at("2026-04-05T00:00:00Z") - 1);
    assert_true(stored(&e, 'p', "P-3"));
    assert_int_equal(e.purged_total, 2); /* P-1 04-01, I-1 04-04 */
    eng_fire_until(&e, at("2026-04-05T00:00:00Z"));
    assert_false(stored(&e, 'p', "P-3"));
    assert_true(stored(&e, 'i', "I-2")); /* open: the member went, not it */
    assert_int_equal(e.purged_total, 3);
    assert_string_equal(ring(&e), "p:P-1,i:I-1,p:P-3,");
    eng_fire_until(&e, at("2026-08-01T00:00:00Z"));
    assert_true(stored(&e, 'i', "I-2"));
    assert_int_equal(e.purged_total, 3);
    done(&e, &pol, &st);
}

static void test_ledger_none(void **state)
{
    (void)state;
    sch_engine e;
    sch_policy pol;
    sch_store st;
    ledger(&e, &pol, &st, 0); /* none: kept for ever, as before issue 18 */
    eng_fire_until(&e, at("2027-03-01T00:00:00Z"));
    assert_true(stored(&e, 'p', "P-1"));
    assert_true(stored(&e, 'i', "I-1"));
    assert_int_equal(e.purged_total, 0);
    done(&e, &pol, &st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),       cmocka_unit_test(test_member),
        cmocka_unit_test(test_ring),        cmocka_unit_test(test_decide_and_score),
        cmocka_unit_test(test_ledger_30d),  cmocka_unit_test(test_reopened),
        cmocka_unit_test(test_ledger_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
