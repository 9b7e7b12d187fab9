/* test_scheduler_hotpath.c -- the scheduler's hot-path helpers: the
 * per-batch arena of parsed events (common/json.h's cm_json_parse_more),
 * the printf-free key, copy, command id and timestamp writers (same text as
 * the snprintf/clock.c versions they replace), and the commit's debtor
 * write, which leaves out the fields whose text a load read unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <limits.h>

#include "../../services/scheduler/records.h"
#include "str.h"
#include "json.h"
#include "../../services/scheduler/policy.h"
#include "../../services/scheduler/apply.h"
#include "../../services/scheduler/state.h"
#include "../../services/scheduler/store.h"
#include "redis_slot.h"
#include "clock.h"
#include "map.h"
#include "event.h"
#include "tz.h"
#include "event.h"
#include "event_decode_test.h"

/* A batch's events parsed one after another into one arena
 * (cm_json_parse_more, as the parse thread does) all stay readable until
 * the batch is cleared, while a second batch's arena is parsed into and
 * cleared many times. */
static void test_batch_arena(void **state)
{
    (void)state;
    char err[256];
    cm_json *keep = cm_json_new(), *cur = cm_json_new();
    assert_non_null(keep);
    assert_non_null(cur);
    const char *first =
        "{\"type\":\"invoice.issued\",\"data\":{\"invoice_id\":\"I1\",\"amount_minor\":12}}";
    const cm_jv *k = cm_json_parse_more(keep, first, strlen(first), 8, err, sizeof err);
    assert_non_null(k);
    for (int round = 0; round < 50; round++) {
        const cm_jv *evs[100];
        for (int i = 0; i < 100; i++) {
            char buf[128];
            int n = snprintf(buf, sizeof buf, "{\"id\":\"e-%d-%d\",\"n\":%d,\"a\":[1,2,3]}", round,
                             i, i);
            evs[i] = cm_json_parse_more(cur, buf, (size_t)n, 8, err, sizeof err);
            assert_non_null(evs[i]);
            memset(buf, 'x', sizeof buf); /* the tree is a copy: the record may go */
        }
        for (int i = 0; i < 100; i++) {
            char want[32];
            snprintf(want, sizeof want, "e-%d-%d", round, i);
            assert_string_equal(cm_jv_get(evs[i], "id")->u.s, want);
            assert_int_equal(cm_jv_get(evs[i], "n")->u.i, i);
            assert_int_equal(cm_jv_get(evs[i], "a")->n, 3);
        }
        cm_json_clear(cur);
    }
    /* a parse that fails leaves the earlier trees of the batch alone */
    assert_null(cm_json_parse_more(keep, "{\"a\":1,\"a\":2}", 13, 8, err, sizeof err));
    assert_string_equal(cm_jv_get(cm_jv_get(k, "data"), "invoice_id")->u.s, "I1");
    assert_int_equal(cm_jv_get(cm_jv_get(k, "data"), "amount_minor")->u.i, 12);
    cm_json_free(cur);
    cm_json_free(keep);
}

static void test_key_copy(void **state)
{
    (void)state;
    char k[64], small[8];
    sch_key(k, sizeof k, "sch:", 'i', "acme", "INV-1");
    assert_string_equal(k, "sch:i:acme/INV-1");
    sch_key(small, sizeof small, "sch:", 'c', "acme", "C1");
    assert_string_equal(small, "sch:c:a"); /* truncated like snprintf */
}

static void test_command_text(void **state)
{
    (void)state;
    sch_policy pol;
    char err[512], id[512], want[512];
    assert_int_equal(sch_policy_load_file("deploy/config/policy.json", &pol, err, sizeof err), 0);
    const cm_tz *tz = cm_tz_get("Europe/London", err, sizeof err);
    assert_non_null(tz);
    sch_map *m = sch_map_new();
    sch_rec *inv = sch_map_add(m, "P:i:acme/INV-1", SCH_T_INV, "acme", "INV-1");
    inv->exists = 1;
    cm_strlcpy(inv->u.inv.customer, "C-1", sizeof inv->u.inv.customer);
    cm_strlcpy(inv->u.inv.number, "N-1", sizeof inv->u.inv.number);
    cm_strlcpy(inv->u.inv.currency, "EUR", sizeof inv->u.inv.currency);
    inv->u.inv.amount = 1234;
    const sch_ladder *l = sch_policy_ladder(&pol, "default", "A");
    assert_non_null(l);
    /* ms values around edges: epoch, before it, leap day, end of a year, far future */
    const int64_t when[] = {0,
                            5,
                            999,
                            1001,
                            86399999,
                            -1,
                            -86400001,
                            951782400123LL,
                            1798761599999LL,
                            4102444800007LL,
                            253402300799999LL,
                            253402300800000LL};
    for (size_t k = 0; k < sizeof when / sizeof when[0]; k++) {
        for (int step = 0; step < 2; step++) {
            inv->u.inv.attempt = (int)k + 1;
            inv->u.inv.issued = (int32_t)(when[k] / 86400000) - 30;
            inv->u.inv.due = (int32_t)(when[k] / 86400000) + step;
            char *js =
                sch_command_step(inv, NULL, &pol, tz, &l->steps[step], step, when[k] - 7, when[k]);
            assert_non_null(js);
            json_t *c = json_loads(js, 0, NULL);
            assert_non_null(c);
            cm_time_format_rfc3339(when[k], want, sizeof want);
            assert_string_equal(json_string_value(json_object_get(c, "created_at")), want);
            cm_time_format_rfc3339(when[k] - 7, want, sizeof want);
            assert_string_equal(json_string_value(json_object_get(c, "scheduled_at")), want);
            json_t *iv = json_array_get(json_object_get(c, "invoices"), 0);
            cm_date_format(inv->u.inv.due, want, sizeof want);
            assert_string_equal(json_string_value(json_object_get(iv, "due_on")), want);
            cm_date_format(inv->u.inv.issued, want, sizeof want);
            assert_string_equal(json_string_value(json_object_get(iv, "issued_on")), want);
            snprintf(want, sizeof want, "%s/inv/%s/step/%d/attempt/%d", "acme", "INV-1", step,
                     (int)k + 1);
            assert_string_equal(json_string_value(json_object_get(c, "command_id")), want);
            json_decref(c);
            free(js);
        }
    }
    /* command ids: one that does not fit is an error, never truncated */
    char small[26];
    assert_int_equal(sch_command_id_step(small, sizeof small, "acme", "INV-1", 3, 12), -1);
    assert_string_equal(small, "");
    assert_int_equal(sch_command_id_step(small, sizeof small, "t", "i", -2, 0), 0);
    assert_string_equal(small, "t/inv/i/step/-2/attempt/0"); /* 25 bytes: fits exactly */
    assert_int_equal(sch_command_id_thanks(small, 12, "acme", "INV-1", "P-1"), -1);
    assert_string_equal(small, "");
    assert_int_equal(sch_command_id_step(id, sizeof id, "t", "i", -2, 0), 0);
    assert_string_equal(id, "t/inv/i/step/-2/attempt/0");
    sch_map_free(m);
    sch_policy_free(&pol);
}

/* The longest ids (contract/command.h): a thanks id of a 64-byte tenant and
 * 200-byte invoice and payment ids is CT_COMMAND_ID_MAX bytes, intact; the
 * longest step id and an event id derived from it (the step id and a suffix
 * of SCH_EVENT_SUFFIX_MAX bytes) fit too; the command built
 * with the thanks id decodes (the notifier's ct_command_decode accepts it). */
static void test_longest_ids(void **state)
{
    (void)state;
    char tenant[CT_TENANT_MAX + 1], iid[CT_ID_MAX + 1], pid[CT_ID_MAX + 1], want[1024];
    char id[SCH_CMD_ID_LEN];
    memset(tenant, 't', CT_TENANT_MAX);
    tenant[CT_TENANT_MAX] = 0;
    memset(iid, 'i', CT_ID_MAX);
    iid[CT_ID_MAX] = 0;
    memset(pid, 'p', CT_ID_MAX);
    pid[CT_ID_MAX] = 0;
    assert_int_equal(sch_command_id_thanks(id, sizeof id, tenant, iid, pid), 0);
    snprintf(want, sizeof want, "%s/inv/%s/thanks/%s", tenant, iid, pid);
    assert_string_equal(id, want);
    assert_int_equal(strlen(id), CT_COMMAND_ID_MAX);
    assert_int_equal(CT_COMMAND_ID_MAX, 477);
    /* exactly the room it needs: one byte less is an error */
    assert_int_equal(sch_command_id_thanks(id, CT_COMMAND_ID_MAX + 1, tenant, iid, pid), 0);
    assert_int_equal(sch_command_id_thanks(id, CT_COMMAND_ID_MAX, tenant, iid, pid), -1);
    assert_int_equal(sch_command_id_step(id, sizeof id, tenant, iid, INT_MIN, INT_MIN), 0);
    snprintf(want, sizeof want, "%s/inv/%s/step/%d/attempt/%d", tenant, iid, INT_MIN, INT_MIN);
    assert_string_equal(id, want);
    assert_true(strlen(id) + SCH_EVENT_SUFFIX_MAX <= CT_DERIVED_ID_MAX);
    assert_true(strlen(id) + SCH_EVENT_SUFFIX_MAX < SCH_CMD_ID_LEN);

    /* the whole thanks command, through the contract's decoder */
    sch_policy pol;
    char err[512];
    assert_int_equal(sch_policy_load_file("deploy/config/policy.json", &pol, err, sizeof err), 0);
    const cm_tz *tz = cm_tz_get("UTC", err, sizeof err);
    sch_map *m = sch_map_new();
    sch_rec *inv = sch_map_add(m, "P:i:x", SCH_T_INV, tenant, iid);
    assert_non_null(inv);
    inv->exists = 1;
    memset(inv->u.inv.customer, 'c', CT_ID_MAX);
    inv->u.inv.customer[CT_ID_MAX] = 0;
    cm_strlcpy(inv->u.inv.currency, "EUR", sizeof inv->u.inv.currency);
    inv->u.inv.amount = inv->u.inv.paid = 500;
    cm_strlcpy(inv->u.inv.thanks_pid, pid, sizeof inv->u.inv.thanks_pid);
    inv->u.inv.thanks_amt = 500;
    sch_rec *cust = sch_map_add(m, "P:c:x", SCH_T_CUST, tenant, inv->u.inv.customer);
    assert_non_null(cust);
    snprintf(want, sizeof want, "{\"customer_id\":\"%s\",\"email\":\"ap@x.test\"}",
             inv->u.inv.customer);
    assert_int_equal(sch_str_set(&cust->u.cust.contact, want), 0);
    char *js = sch_command_thanks(inv, cust, &pol, tz, 1000, 2000);
    assert_non_null(js);
    json_t *j = json_loads(js, 0, NULL);
    assert_non_null(j);
    ct_command c;
    if (ct_test_command_decode(j, &c, err, sizeof err) != 0)
        fail_msg("thanks command rejected: %s", err);
    snprintf(want, sizeof want, "%s/inv/%s/thanks/%s", tenant, iid, pid);
    assert_string_equal(c.command_id, want);
    assert_string_equal(c.payment.payment_id, pid);
    json_decref(j);
    free(js);
    sch_map_free(m);
    sch_policy_free(&pol);
}

/* The headers built from (topic, key, id) are those the payload says: an
 * escalation.placed event ("<case id>/placed", issue 16) gets its ce_type,
 * ce_id, tenant, a trace_id derived from its id and the case id, and
 * ce_source (by which the scheduler skips its own events); a case file its
 * case id; a command its id. */
static void test_record_headers(void **state)
{
    (void)state;
    char long_id[201], cid[SCH_CMD_ID_LEN], key[CT_KEY_MAX], trace[33];
    memset(long_id, 'x', 200);
    long_id[200] = 0;
    snprintf(key, sizeof key, "acme/%s", long_id);
    const char *eid = "case-0123456789abcdef/placed";
    snprintf(trace, sizeof trace, "%016llx%016llx",
             (unsigned long long)cm_fnv1a64(eid, strlen(eid)),
             (unsigned long long)cm_fnv1a64("case-0123456789abcdef", 21));
    sch_headers h;
    sch_record_headers('e', key, eid, &h);
    assert_int_equal(h.n, 5);
    const char *want[5][2] = {{"ce_type", "escalation.placed"},
                              {"ce_id", eid},
                              {"tenant", "acme"},
                              {"trace_id", trace},
                              {"ce_source", "arrears-scheduler"}};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(h.name[i], want[i][0]);
        assert_string_equal(h.value[i], want[i][1]);
    }
    /* "/placed" alone is no placement */
    sch_record_headers('e', key, "/placed", &h);
    assert_int_equal(h.n, 3);
    assert_string_equal(h.name[0], "ce_id");
    assert_string_equal(h.name[1], "tenant");
    assert_string_equal(h.name[2], "ce_source"); /* every event of the scheduler's */
    /* a case file: its case id */
    sch_record_headers('x', key, "case-0123456789abcdef", &h);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.name[0], "case_id");
    assert_string_equal(h.value[0], "case-0123456789abcdef");
    sch_command_id_step(cid, sizeof cid, "acme", long_id, 6, 2);
    sch_record_headers('c', key, cid, &h);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.name[0], "command_id");
    assert_string_equal(h.value[0], cid);
}

/* The Redis Cluster tags per partition (docs/scheduler.md): each in its
 * range, so that N partitions over masters of equal ranges spread evenly. */
static void test_part_tags(void **state)
{
    (void)state;
    char tag[16], key[64];
    /* one partition: any slot will do, so the first candidate */
    assert_int_equal(sch_store_part_tag(0, 1, tag, sizeof tag), 0);
    assert_string_equal(tag, "p0.0");
    const int ns[] = {2, 3, 6, 12, 64, 1024};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        int n = ns[k], per[3] = {0};
        for (int p = 0; p < n; p++) {
            assert_int_equal(sch_store_part_tag(p, n, tag, sizeof tag), 0);
            snprintf(key, sizeof key, "sch:{%s}i:t/1", tag);
            int slot = cm_redis_key_slot(key, strlen(key));
            assert_true(slot >= p * 16384 / n && slot < (p + 1) * 16384 / n);
            /* the ranges redis-cli --cluster create gives three masters */
            per[slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2]++;
        }
        if (n % 3 == 0)
            for (int m = 0; m < 3; m++)
                assert_int_equal(per[m], n / 3);
    }
    assert_int_equal(sch_store_part_tag(3, 3, tag, sizeof tag), -1);
    assert_int_equal(sch_store_part_tag(-1, 3, tag, sizeof tag), -1);
    assert_int_equal(sch_store_part_tag(0, 16385, tag, sizeof tag), -1);
    assert_int_equal(sch_store_part_tag(0, 3, tag, 8), -1);
}

/* The commit's arguments for one debtor loaded from the HGETALL reply
 * kv[0..n) (field, value pairs), then changed by change(): the fields of
 * its "h" op ("f=v" each, space-separated, in order) into out, and those
 * of its "x" (HDEL) op into del. */
static void debtor_write(const char *const *kv, size_t n, void (*change)(sch_cust *), char *out,
                         size_t outlen, char *del, size_t dellen)
{
    char err[256];
    sch_policy pol;
    assert_int_equal(sch_policy_load_file("deploy/config/policy.json", &pol, err, sizeof err), 0);
    sch_map *m = sch_map_new();
    sch_rec *r = sch_map_add(m, "t:c:acme:C-1", SCH_T_CUST, "acme", "C-1");
    assert_non_null(r);
    redisReply el[64], *elp[64], rep = {.type = REDIS_REPLY_ARRAY, .elements = n, .element = elp};
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++) {
        el[i] =
            (redisReply){.type = REDIS_REPLY_STRING, .str = (char *)kv[i], .len = strlen(kv[i])};
        elp[i] = &el[i];
    }
    assert_int_equal(sch_rec_decode(r, &rep, err, sizeof err), 0);
    change(&r->u.cust);
    r->dirty = 1;
    sch_ctx c;
    assert_int_equal(sch_ctx_init(&c, &pol, "t:", 0, m), 0);
    sch_rounds rounds = {0};
    sch_ops a = {0};
    assert_int_equal(sch_ops_build(&c, &rounds, &a), 0);
    out[0] = del[0] = 0;
    for (size_t i = 0; i + 2 < a.n; i++) {
        const char *op = a.buf + a.off[i];
        if ((strcmp(op, "h") && strcmp(op, "x")) || strcmp(a.buf + a.off[i + 1], "t:c:acme:C-1"))
            continue;
        int h = op[0] == 'h';
        long cnt = atol(a.buf + a.off[i + 2]);
        for (long k = 0; k < cnt; k++) {
            char *to = h ? out : del;
            size_t len = h ? outlen : dellen, at = strlen(to);
            if (h)
                snprintf(to + at, len - at, "%s%s=%s", at ? " " : "", a.buf + a.off[i + 3 + 2 * k],
                         a.buf + a.off[i + 4 + 2 * k]);
            else
                snprintf(to + at, len - at, "%s%s", at ? " " : "", a.buf + a.off[i + 3 + k]);
        }
    }
    sch_ops_free(&a);
    sch_ctx_reset(&c);
    sch_map_free(m);
    sch_policy_free(&pol);
}

static void no_change(sch_cust *c)
{
    (void)c;
}
static void new_exposure(sch_cust *c)
{
    assert_int_equal(sch_str_set(&c->exposure, "EUR:2500"), 0);
    c->first_seen = 20000; /* an integer field, written as text */
}
static void clear_tags(sch_cust *c)
{
    assert_int_equal(sch_str_set(&c->tags, NULL), 0);
}

/* A debtor's write leaves out every field whose text the load read: the
 * commit's version check ("v") guarantees Redis still holds it. A changed
 * field is written, a cleared one deleted, the version always written. */
static void test_debtor_write_changed_only(void **state)
{
    (void)state;
    const char *kv[] = {"v",  "7",   "tz", "Europe/Paris", "lo", "fr-FR", "co",    "FR",
                        "tg", "vip", "ex", "EUR:1000",     "fs", "19999", "o:I-1", "1"};
    size_t n = sizeof kv / sizeof *kv;
    char out[512], del[256];
    debtor_write(kv, n, no_change, out, sizeof out, del, sizeof del);
    assert_string_equal(out, "v=8");
    assert_string_equal(del, "");
    debtor_write(kv, n, new_exposure, out, sizeof out, del, sizeof del);
    assert_string_equal(out, "v=8 fs=20000 ex=EUR:2500");
    assert_string_equal(del, "");
    debtor_write(kv, n, clear_tags, out, sizeof out, del, sizeof del);
    assert_string_equal(out, "v=8");
    assert_string_equal(del, "tg");
    /* a debtor not stored yet: every field it has is written */
    debtor_write(kv, 0, new_exposure, out, sizeof out, del, sizeof del);
    assert_string_equal(out, "v=1 fs=20000 ex=EUR:2500");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_arena),
        cmocka_unit_test(test_key_copy),
        cmocka_unit_test(test_command_text),
        cmocka_unit_test(test_record_headers),
        cmocka_unit_test(test_longest_ids),
        cmocka_unit_test(test_part_tags),
        cmocka_unit_test(test_debtor_write_changed_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
