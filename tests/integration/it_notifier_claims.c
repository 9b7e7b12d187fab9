/* it_notifier_claims.c -- the notifier's claim protocol against a real Redis.
 *
 * Run by t_notifier_claims.sh with ARREARS_REDIS_URL set by
 * tests/integration/run (one Redis, or a cluster under make test-cluster).
 * Two owners on one command id, step by step (services/notifier/claims.h,
 * docs/notifier.md "No message sent twice"): the claim is exclusive, the
 * first recorded outcome wins and a later one gets it back, a published
 * outcome answers DONE, an unpublished one REPUBLISH, an email's gate
 * UNCONFIRMED; refresh and release act only on the owner's own claim. The
 * service tests check the same end to end; this one reaches the rare
 * branches (a lost record, a claim held) that a run only hits by chance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../services/notifier/claims.h"
#include "redis.h"

static const char *redis_url(void)
{
    const char *u = getenv("ARREARS_REDIS_URL");
    return u ? u : "redis://127.0.0.1:26379/0";
}

typedef struct fixture {
    cm_redis *r;
    ntf_claims *a, *b; /* two owners */
    char prefix[64];
} fixture;

static int setup(void **state)
{
    static int n;
    char err[512];
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->r = cm_redis_connect(redis_url(), 2000, err, sizeof err);
    if (!f->r) {
        fprintf(stderr, "redis: %s\n", err);
        free(f);
        return -1;
    }
    snprintf(f->prefix, sizeof f->prefix, "it-claims-%d-%d:", (int)getpid(), ++n);
    f->a = ntf_claims_new(f->r, f->prefix, "owner-a", 60000, 3600);
    f->b = ntf_claims_new(f->r, f->prefix, "owner-b", 60000, 3600);
    *state = f;
    return f->a && f->b ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ntf_claims_free(f->a);
    ntf_claims_free(f->b);
    cm_redis_free(f->r);
    free(f);
    return 0;
}

static ntf_claim_state claim(ntf_claims *c, const char *id, char **event)
{
    char err[512];
    ntf_claims_begin(c);
    int op = ntf_claims_add_claim(c, id);
    assert_true(op >= 0);
    assert_int_equal(ntf_claims_exec(c, NULL, NULL, err, sizeof err), 0);
    ntf_claim_res res;
    assert_int_equal(ntf_claims_claim_result(c, op, &res, err, sizeof err), 0);
    if (event)
        *event = res.event;
    else
        free(res.event);
    return res.st;
}

static ntf_record_res record(ntf_claims *c, const char *id, const char *event)
{
    char err[512];
    ntf_claims_begin(c);
    int op = ntf_claims_add_record(c, id, event);
    assert_true(op >= 0);
    assert_int_equal(ntf_claims_exec(c, NULL, NULL, err, sizeof err), 0);
    ntf_record_res res;
    assert_int_equal(ntf_claims_record_result(c, op, &res, err, sizeof err), 0);
    return res;
}

static void mark(ntf_claims *c, const char *id)
{
    char err[512];
    ntf_claims_begin(c);
    int op = ntf_claims_add_mark(c, id);
    assert_true(op >= 0);
    assert_int_equal(ntf_claims_exec(c, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(ntf_claims_ok_result(c, op, err, sizeof err), 0);
}

static int refresh(ntf_claims *c, const char *id)
{
    char err[512];
    ntf_claims_begin(c);
    int op = ntf_claims_add_refresh(c, id);
    assert_true(op >= 0);
    assert_int_equal(ntf_claims_exec(c, NULL, NULL, err, sizeof err), 0);
    return ntf_claims_refresh_result(c, op, err, sizeof err);
}

static void release(ntf_claims *c, const char *id)
{
    char err[512];
    const char *ids[1] = {id};
    assert_int_equal(ntf_claims_release(c, ids, 1, err, sizeof err), 0);
}

/* The usual path, and a replay after it. */
static void test_claim_send_record_mark(void **state)
{
    fixture *f = *state;
    const char *id = "t/inv/I-1/step/1/attempt/1";
    assert_int_equal(claim(f->a, id, NULL), NTF_CLAIM_OK);
    assert_int_equal(claim(f->b, id, NULL), NTF_CLAIM_HELD); /* a holds it */
    assert_int_equal(refresh(f->a, id), 1);
    assert_int_equal(refresh(f->b, id), 0); /* not b's */
    ntf_record_res r = record(f->a, id, "{\"outcome\":\"a\"}");
    assert_true(r.first);
    assert_null(r.event);
    assert_int_equal(claim(f->b, id, NULL), NTF_CLAIM_HELD); /* still a's until published */
    mark(f->a, id);
    assert_int_equal(claim(f->b, id, NULL), NTF_CLAIM_DONE); /* a replay sends nothing */
}

/* Two owners both sent (the first one's claim expired mid-send): the first
 * record wins, the second gets it back, and publishes it, not its own. */
static void test_second_record_gets_the_first(void **state)
{
    fixture *f = *state;
    const char *id = "t/inv/I-2/step/1/attempt/1";
    assert_int_equal(claim(f->a, id, NULL), NTF_CLAIM_OK);
    ntf_record_res ra = record(f->a, id, "{\"outcome\":\"a\"}");
    assert_true(ra.first);
    ntf_record_res rb = record(f->b, id, "{\"outcome\":\"b\"}");
    assert_false(rb.first);
    assert_false(rb.published);
    assert_non_null(rb.event);
    assert_string_equal(rb.event, "{\"outcome\":\"a\"}");
    free(rb.event);
    mark(f->a, id);
    rb = record(f->b, id, "{\"outcome\":\"b\"}");
    assert_false(rb.first);
    assert_true(rb.published); /* nothing left to publish */
    free(rb.event);
}

/* An owner died between record and publish: the next owner, once the
 * claim is gone, republishes the stored outcome byte for byte. */
static void test_republish_after_owner_died(void **state)
{
    fixture *f = *state;
    const char *id = "t/inv/I-3/step/1/attempt/1";
    const char *ev = "{\"outcome\":\"a\",\"bytes\":\"\\u00e9\"}";
    assert_int_equal(claim(f->a, id, NULL), NTF_CLAIM_OK);
    ntf_record_res r = record(f->a, id, ev);
    assert_true(r.first);
    release(f->b, id); /* not b's: nothing released */
    assert_int_equal(claim(f->b, id, NULL), NTF_CLAIM_HELD);
    release(f->a, id); /* as if a's claim expired */
    char *got = NULL;
    assert_int_equal(claim(f->b, id, &got), NTF_CLAIM_REPUBLISH);
    assert_non_null(got);
    assert_string_equal(got, ev);
    free(got);
}

/* An email past its gate whose owner died: answered, never sent again. */
static void test_unconfirmed_after_gate(void **state)
{
    fixture *f = *state;
    char err[512];
    const char *id = "t/inv/I-4/step/1/attempt/1";
    assert_int_equal(claim(f->a, id, NULL), NTF_CLAIM_OK);
    assert_int_equal(ntf_claims_gate_send(f->a, id, err, sizeof err), 0);
    assert_int_equal(ntf_claims_gate_recv(f->a, err, sizeof err), 0);
    release(f->a, id);
    assert_int_equal(claim(f->b, id, NULL), NTF_CLAIM_UNCONFIRMED);
}

/* Steps of many commands in one pipeline read their own replies. */
static void test_one_pipeline_many_commands(void **state)
{
    fixture *f = *state;
    char err[512], id[64], ev[64];
    int ops[40];
    ntf_claims_begin(f->a);
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "t/inv/P-%d/step/1/attempt/1", i);
        ops[i] = ntf_claims_add_claim(f->a, id);
    }
    assert_int_equal(ntf_claims_pending(f->a), 20);
    assert_int_equal(ntf_claims_exec(f->a, NULL, NULL, err, sizeof err), 0);
    for (int i = 0; i < 20; i++) {
        ntf_claim_res res;
        assert_int_equal(ntf_claims_claim_result(f->a, ops[i], &res, err, sizeof err), 0);
        assert_int_equal(res.st, NTF_CLAIM_OK);
    }
    /* b records the even ones first; then a records all, marks the odd */
    ntf_claims_begin(f->b);
    for (int i = 0; i < 20; i += 2) {
        snprintf(id, sizeof id, "t/inv/P-%d/step/1/attempt/1", i);
        snprintf(ev, sizeof ev, "{\"by\":\"b\",\"i\":%d}", i);
        ops[i] = ntf_claims_add_record(f->b, id, ev);
    }
    assert_int_equal(ntf_claims_exec(f->b, NULL, NULL, err, sizeof err), 0);
    ntf_claims_begin(f->a);
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "t/inv/P-%d/step/1/attempt/1", i);
        snprintf(ev, sizeof ev, "{\"by\":\"a\",\"i\":%d}", i);
        ops[i] = ntf_claims_add_record(f->a, id, ev);
        if (i % 2)
            ops[20 + i] = ntf_claims_add_mark(f->a, id);
    }
    assert_int_equal(ntf_claims_exec(f->a, NULL, NULL, err, sizeof err), 0);
    for (int i = 0; i < 20; i++) {
        ntf_record_res res;
        assert_int_equal(ntf_claims_record_result(f->a, ops[i], &res, err, sizeof err), 0);
        if (i % 2) {
            assert_true(res.first);
            assert_int_equal(ntf_claims_ok_result(f->a, ops[20 + i], err, sizeof err), 0);
        } else {
            snprintf(ev, sizeof ev, "{\"by\":\"b\",\"i\":%d}", i);
            assert_false(res.first);
            assert_string_equal(res.event, ev);
        }
        free(res.event);
    }
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "t/inv/P-%d/step/1/attempt/1", i);
        assert_int_equal(claim(f->b, id, NULL), i % 2 ? NTF_CLAIM_DONE : NTF_CLAIM_HELD);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_claim_send_record_mark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_record_gets_the_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_republish_after_owner_died, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unconfirmed_after_gate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_pipeline_many_commands, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
