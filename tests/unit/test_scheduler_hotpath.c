/* test_scheduler_hotpath.c -- the scheduler's hot-path helpers: the
 * per-batch jansson regions of parsed events (services/scheduler/jarena.h),
 * the printf-free key, copy, command id and timestamp writers (same text as
 * the snprintf/clock.c versions they replace). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/scheduler/records.h"
#include "str.h"
#include "../../services/scheduler/jarena.h"
#include "../../services/scheduler/policy.h"
#include "../../services/scheduler/state.h"
#include "clock.h"
#include "tz.h"

static json_t *parse(const char *s)
{
    sch_jarena_begin();
    json_t *j = json_loads(s, 0, NULL);
    sch_jarena_end();
    return j;
}

static void test_regions(void **state)
{
    (void)state;
    assert_int_equal(sch_jarena_install(), 0);
    assert_int_equal(sch_jarena_install(), 0); /* idempotent */
    /* a tree in slot 1 survives slot 0 being reset and reused */
    sch_jarena_arm(1);
    json_t *keep =
        parse("{\"type\":\"invoice.issued\",\"data\":{\"invoice_id\":\"I1\",\"amount_minor\":12}}");
    assert_non_null(keep);
    for (int round = 0; round < 50; round++) {
        sch_jarena_arm(0);
        json_t *evs[100];
        for (int i = 0; i < 100; i++) {
            char buf[128];
            snprintf(buf, sizeof buf, "{\"id\":\"e-%d-%d\",\"n\":%d,\"a\":[1,2,3]}", round, i, i);
            evs[i] = parse(buf);
            assert_non_null(evs[i]);
        }
        sch_jarena_arm(-1);
        for (int i = 0; i < 100; i++) {
            char want[32];
            snprintf(want, sizeof want, "e-%d-%d", round, i);
            assert_string_equal(json_string_value(json_object_get(evs[i], "id")), want);
            assert_int_equal(json_integer_value(json_object_get(evs[i], "n")), i);
            /* heap parts added to a region tree are freed by decref */
            json_object_set_new(evs[i], "extra", json_string("heap"));
            json_decref(evs[i]);
        }
        sch_jarena_reset(0);
    }
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(keep, "data"), "invoice_id")), "I1");
    /* outside begin/end, even with a slot armed: the heap, free()-able as jansson documents */
    sch_jarena_arm(0);
    char *dump = json_dumps(keep, JSON_COMPACT);
    sch_jarena_arm(-1);
    assert_non_null(dump);
    assert_non_null(strstr(dump, "\"amount_minor\":12"));
    free(dump);
    json_decref(keep);
    sch_jarena_reset(1);
    /* nothing armed: begin/end change nothing */
    json_t *h = parse("[1,2]");
    assert_int_equal(json_array_size(h), 2);
    json_decref(h);
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
    /* command ids: truncated like snprintf */
    char small[12];
    sch_command_id_step(small, sizeof small, "acme", "INV-1", 3, 12);
    snprintf(want, sizeof want, "%s/inv/%s/step/%d/attempt/%d", "acme", "INV-1", 3, 12);
    assert_int_equal(strncmp(small, want, sizeof small - 1), 0);
    assert_int_equal(strlen(small), sizeof small - 1);
    sch_command_id_step(id, sizeof id, "t", "i", -2, 0);
    assert_string_equal(id, "t/inv/i/step/-2/attempt/0");
    sch_map_free(m);
    sch_policy_free(&pol);
}

/* The headers built from (topic, key, id) are those the payload says: the
 * escalation event's ce_type, ce_id, tenant, trace_id; a command's id. */
static void test_record_headers(void **state)
{
    (void)state;
    sch_map *m = sch_map_new();
    char long_id[201], cid[SCH_CMD_ID_LEN], eid[SCH_CMD_ID_LEN], key[CT_KEY_MAX];
    memset(long_id, 'x', 200);
    long_id[200] = 0;
    sch_rec *inv = sch_map_add(m, "P:i:acme/x", SCH_T_INV, "acme", long_id);
    cm_strlcpy(inv->u.inv.customer, long_id, sizeof inv->u.inv.customer);
    sch_command_id_step(cid, sizeof cid, "acme", long_id, 6, 2);
    json_t *ev = sch_event_escalated(inv, cid, 1, 1700000000000LL);
    assert_non_null(ev);
    sch_event_id_escalated(eid, sizeof eid, cid);
    assert_string_equal(eid, json_string_value(json_object_get(ev, "id")));
    snprintf(key, sizeof key, "acme/%s", long_id);
    sch_headers h;
    sch_record_headers('e', key, eid, &h);
    assert_int_equal(h.n, 4);
    const char *want[4][2] = {
        {"ce_type", "type"}, {"ce_id", "id"}, {"tenant", "tenant"}, {"trace_id", "trace_id"}};
    for (int i = 0; i < 4; i++) {
        assert_string_equal(h.name[i], want[i][0]);
        assert_string_equal(h.value[i], json_string_value(json_object_get(ev, want[i][1])));
    }
    json_decref(ev);
    sch_record_headers('c', key, cid, &h);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.name[0], "command_id");
    assert_string_equal(h.value[0], cid);
    sch_map_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regions),
        cmocka_unit_test(test_key_copy),
        cmocka_unit_test(test_command_text),
        cmocka_unit_test(test_record_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
