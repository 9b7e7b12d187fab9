/* test_scheduler_cases.c -- the scheduler's state machine on data-driven
 * cases, without Redis.
 *
 * tests/data/scheduler/cases/<case>/:
 *   input.jsonl     one line each: a canonical event (applied at the current
 *                   simulated time), or {"until": "<RFC 3339>"} which fires
 *                   every timer due up to that instant, in time order, and
 *                   moves the clock there. The clock starts at "start" of
 *                   the first line if it is {"start": ...}, else 2026-03-01.
 *   expected.jsonl  every command and scheduler event published, in order;
 *                   each line lists the fields that must match (a subset).
 *   policy.json     optional; default deploy/config/policy.json.
 *   rejected        optional: how many input events are rejected (by
 *                   sch_event_decode, or by sch_apply_event); default 0.
 * The records live in one sch_map that plays the database: a fake load
 * marks new records as absent, a fake commit folds pending lists and
 * appends the way the Lua script does.
 *
 * Each case then runs again through the engine the service runs
 * (sch_engine_apply, sch_engine_fire) over a real store backend: the
 * memory backend always, and Redis too when ARREARS_TEST_REDIS_URL is set
 * (tests/integration/t_scheduler_backends.sh runs this binary so against
 * the stack's Redis). Every backend must publish exactly the records the
 * in-map double published, in the same order (an event's "time" is set to
 * the case's clock, as the double applies it at that instant). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../services/scheduler/apply.h"
#include "scheduler_decode_test.h"
#include "../../services/scheduler/engine.h"
#include "scheduler_engine_test.h"
#include "clock.h"
#include "command.h"
#include "map.h"
#include "../../services/scheduler/policy.h"
#include "../../services/scheduler/state.h"

#define DATA "tests/data/scheduler/cases"

typedef struct world {
    sch_map *m;
    sch_policy pol;
    json_t *out; /* published records, in order */
    int64_t now;
    int rejected;
} world;

static void fake_load(sch_map *m)
{
    for (size_t i = 0; i < sch_map_count(m); i++) {
        sch_rec *r = sch_map_at(m, i);
        if (r->loaded)
            continue;
        r->loaded = 1;
        r->exists = 0;
        if (r->type == SCH_T_PEND)
            r->u.pend.items = json_array();
    }
}

static void fake_commit(world *w, sch_ctx *c)
{
    for (size_t i = 0; i < sch_map_count(w->m); i++) {
        sch_rec *r = sch_map_at(w->m, i);
        if (!r->dirty)
            continue;
        r->dirty = 0;
        r->ver++;
        if (r->type == SCH_T_INV) {
            r->u.inv.old_part = r->u.inv.part;
            r->u.inv.old_next_ms = r->u.inv.next_kind ? r->u.inv.next_ms : 0;
        } else if (r->type == SCH_T_PEND) {
            if (r->u.pend.clear)
                json_array_clear(r->u.pend.items);
            r->u.pend.clear = 0;
            if (r->u.pend.add)
                json_array_extend(r->u.pend.items, r->u.pend.add);
            json_decref(r->u.pend.add);
            r->u.pend.add = NULL;
            r->exists = json_array_size(r->u.pend.items) > 0;
        } else if (r->type == SCH_T_CUST) {
            sch_strlist_free(&r->u.cust.gone);
        }
    }
    for (size_t i = 0; i < json_array_size(c->appends); i++) {
        json_t *op = json_array_get(c->appends, i);
        sch_rec *r = sch_map_get(w->m, json_string_value(json_array_get(op, 0)));
        assert_non_null(r);
        sch_str_append(&r->u.pay.alloc, json_string_value(json_array_get(op, 2)));
    }
    for (size_t i = 0; i < c->nouts; i++) {
        json_t *o = json_loads(c->outs[i].payload, 0, NULL);
        assert_non_null(o);
        /* a command's id is whole (the outbox's id) and within the contract's limit */
        if (c->outs[i].topic == 'c') {
            const char *cid = json_string_value(json_object_get(o, "command_id"));
            assert_non_null(cid);
            assert_string_equal(cid, c->outs[i].id);
            assert_true(strlen(cid) <= CT_COMMAND_ID_MAX);
        }
        json_array_append_new(w->out, o);
    }
}

static void apply_event(world *w, json_t *ev)
{
    sch_ctx c;
    char err[512];
    assert_int_equal(sch_ctx_init(&c, &w->pol, "t:", w->now, w->m), 0);
    sch_event se;
    int ck = sch_test_decode(ev, &se, err, sizeof err);
    if (ck < 0)
        w->rejected++;
    if (ck > 0) {
        assert_non_null(se.raw);
        assert_int_equal(sch_plan_event(&c, &se, 1), 0);
        fake_load(w->m);
        assert_int_equal(sch_plan_event(&c, &se, 2), 0);
        fake_load(w->m);
        assert_int_equal(sch_plan_event(&c, &se, 3), 0);
        fake_load(w->m);
        if (sch_apply_event(&c, &se, 0, err, sizeof err) < 0) {
            if (strncmp(err, "internal", 8) == 0)
                fail_msg("%s", err);
            w->rejected++;
        }
        fake_commit(w, &c);
    }
    sch_ctx_reset(&c);
}

static void run_until(world *w, int64_t until)
{
    for (;;) {
        int64_t t = INT64_MAX;
        for (size_t i = 0; i < sch_map_count(w->m); i++) {
            sch_rec *r = sch_map_at(w->m, i);
            if (r->type == SCH_T_INV && r->exists && r->u.inv.next_kind && r->u.inv.next_ms < t)
                t = r->u.inv.next_ms;
        }
        if (t > until)
            break;
        if (t > w->now)
            w->now = t;
        sch_ctx c;
        assert_int_equal(sch_ctx_init(&c, &w->pol, "t:", w->now, w->m), 0);
        size_t n = sch_map_count(w->m);
        for (size_t i = 0; i < n; i++) {
            sch_rec *r = sch_map_at(w->m, i);
            if (r->type != SCH_T_INV || !r->exists || !r->u.inv.next_kind ||
                r->u.inv.next_ms > w->now)
                continue;
            char ck[512];
            sch_key(ck, sizeof ck, "t:", 'c', r->tenant, r->u.inv.customer);
            sch_rec *cu = sch_map_get(w->m, ck);
            assert_true(sch_fire_invoice(&c, r, cu) >= 0);
        }
        assert_true(sch_fire_groups(&c) >= 0);
        fake_commit(w, &c);
        sch_ctx_reset(&c);
    }
    if (until > w->now)
        w->now = until;
}

/* every field of want is in got with the same value (objects recursively) */
static int subset(json_t *want, json_t *got, char *path, size_t plen)
{
    if (json_is_object(want)) {
        const char *k;
        json_t *v;
        json_object_foreach(want, k, v)
        {
            size_t l = strlen(path);
            snprintf(path + l, plen - l, ".%s", k);
            if (!subset(v, json_object_get(got, k), path, plen))
                return 0;
            path[l] = 0;
        }
        return 1;
    }
    if (json_is_array(want)) {
        if (!json_is_array(got) || json_array_size(got) != json_array_size(want))
            return 0;
        for (size_t i = 0; i < json_array_size(want); i++) {
            size_t l = strlen(path);
            snprintf(path + l, plen - l, "[%zu]", i);
            if (!subset(json_array_get(want, i), json_array_get(got, i), path, plen))
                return 0;
            path[l] = 0;
        }
        return 1;
    }
    return got && json_equal(want, got);
}

static json_t *read_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    json_t *a = json_array();
    char line[1 << 14];
    if (!f)
        return a;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '\n' || line[0] == '#')
            continue;
        json_error_t je;
        json_t *v = json_loads(line, 0, &je);
        if (!v)
            fail_msg("%s: bad JSON line: %s", path, je.text);
        json_array_append_new(a, v);
    }
    fclose(f);
    return a;
}

/* ---- the same case through the engine and a store backend ---- */

static int cap_publish(void *opaque, char topic, const char *key, const char *id,
                       const char *payload, size_t len, char *errstr, size_t errlen)
{
    (void)key, (void)id, (void)errstr, (void)errlen;
    if (topic == 'd')
        return 0; /* decisions are the backtest's */
    json_t *j = json_loadb(payload, len, 0, NULL);
    assert_non_null(j);
    json_array_append_new(opaque, j);
    return 0;
}

/* The memory backend with its commit in two halves (store.h
 * commit_send), so that the engine fires in two halves (engine.c
 * fire_halves) without Redis: the commit runs at the send, and the wait
 * returns its result. */
static sch_store halves_mem;
static int halves_rc;
static char halves_err[512];

static int halves_send(void *be, sch_ctx *c, char *errstr, size_t errlen)
{
    (void)errstr, (void)errlen;
    halves_rc = halves_mem.commit(be, c, halves_err, sizeof halves_err);
    return 0;
}

/* halves_lose_at > 0: that commit_wait (counting from 1 in halves_waits)
 * reports its reply lost, although the commit ran (a connection broken
 * after Redis ran it). */
static int halves_lose_at, halves_waits;

static int halves_wait(void *be, char *errstr, size_t errlen)
{
    (void)be;
    if (halves_lose_at && ++halves_waits == halves_lose_at) {
        snprintf(errstr, errlen, "commit: connection lost (test)");
        return -1;
    }
    if (halves_rc)
        snprintf(errstr, errlen, "%s", halves_err);
    return halves_rc;
}

/* Its load with the commit behind the reads (store.h load_seed): the
 * reads, then the commit runs, as Redis orders them. */
static int halves_load_seed(void *be, sch_map *m, sch_store *ov, sch_ctx *after, int *sent,
                            char *errstr, size_t errlen)
{
    int rc = halves_mem.load_seed(be, m, ov, NULL, NULL, errstr, errlen);
    if (after) {
        halves_send(be, after, errstr, errlen);
        *sent = 1;
    }
    return rc;
}

/* Its peek in two calls (store.h peek_fetch): the fetch keeps the
 * arguments, the finish peeks into m, after the engine has sent the other
 * half's commit. */
typedef struct halves_fetched {
    const char *prefix;
    int parts[4], nparts, limit;
    int64_t now;
} halves_fetched;

static int halves_fetch(void *be, const char *prefix, const int *parts, int nparts, int64_t now,
                        int limit, void **fetched, char *errstr, size_t errlen)
{
    (void)be, (void)errstr, (void)errlen;
    halves_fetched *h = calloc(1, sizeof *h);
    assert_non_null(h);
    assert_true(nparts <= 4);
    *h = (halves_fetched){prefix, {0}, nparts, limit, now};
    memcpy(h->parts, parts, (size_t)nparts * sizeof *parts);
    *fetched = h;
    return 0;
}

static int halves_finish(void *be, void *fetched, sch_map *m, int *counts, int64_t *next_due,
                         char *errstr, size_t errlen)
{
    halves_fetched *h = fetched;
    int rc = m ? halves_mem.peek(be, h->prefix, h->parts, h->nparts, h->now, h->limit, m, counts,
                                 next_due, errstr, errlen)
               : 0;
    free(h);
    return rc;
}

/* Makes the memory backend *mem commit and peek in two calls (the
 * doubles above). */
static void halves_bind(sch_store *mem)
{
    halves_mem = *mem;
    mem->commit_send = halves_send;
    mem->commit_wait = halves_wait;
    mem->load_seed = halves_load_seed;
    mem->peek_fetch = halves_fetch;
    mem->peek_finish = halves_finish;
}

/* Applies the batch evs[0..*n) as one, then empties it; events not
 * applied are added to *rejected. */
static void apply_batch(sch_engine *e, const sch_event *evs, const int *parts, int *n,
                        const char *name, int *rejected)
{
    char err[512];
    long long before = e->not_applied_total;
    /* pipelined: staged, committed while the next batch is decided */
    if (e->pipeline ? sch_engine_stage(e, evs, parts, (size_t)*n, err, sizeof err) != 0
                    : sch_engine_apply(e, evs, parts, (size_t)*n, err, sizeof err) < 0)
        fail_msg("case %s: apply: %s", name, err);
    *rejected += (int)(e->not_applied_total - before);
    *n = 0;
}

/* An engine over store under prefix, owning partition part, publishing
 * into the array out (borrowed). */
static void eng_setup(sch_engine *e, const sch_policy *pol, sch_store store, const char *prefix,
                      int part, json_t *out)
{
    memset(e, 0, sizeof *e);
    e->pol = pol;
    e->store = store;
    e->fire_batch = 1000;
    e->now = eng_now;
    e->next_due = INT64_MAX;
    e->owned[part] = 1;
    e->sink = (sch_sink){cap_publish, eng_flush, eng_inflight, out};
    snprintf(e->prefix, sizeof e->prefix, "%s", prefix);
}

/* Settles e (every delivery acknowledged), then frees its list of
 * rounds and the memory store mem. */
static void eng_done(sch_engine *e, sch_store *mem)
{
    char err[512];
    assert_int_equal(sch_engine_settle(e, 1, err, sizeof err), 0);
    for (size_t k = 0; k < e->npending; k++)
        free(e->pending[k].id);
    free(e->pending);
    sch_store_mem_free(mem);
}

/* Commits the staged batch of a pipelined engine. */
static void flush_staged(sch_engine *e, const char *name)
{
    char err[512];
    if (sch_engine_flush(e, err, sizeof err) < 0)
        fail_msg("case %s: flush: %s", name, err);
}

/* Runs case name over store; returns the published records (new ref). */
/* layout > 0: the Redis Cluster key layout over that many partitions,
 * the events in partition 2 (a tag other than the first). halves: the
 * engine also owns partitions 1-3, with no events, so that it fires in two
 * halves where the store can (partitions 0-1, then 2-3); 2: and applies
 * event batches two at a time (engine.h sch_engine_stage), where the
 * store can. */
static json_t *run_engine(const char *name, const sch_policy *pol, sch_store store,
                          const char *prefix, int layout, int halves, int *rejected)
{
    int epart = layout > 0 ? 2 : 0;
    char p[1024], err[512], t[40];
    json_t *out = json_array();
    sch_engine e;
    eng_setup(&e, pol, store, prefix, epart, out);
    for (int k = 1; halves && k < 4; k++)
        e.owned[k] = 1;
    e.layout_parts = layout;
    e.pipeline = halves == 2;
    if (halves == 2 && !sch_engine_pipelined(&e))
        fail_msg("case %s: the store cannot pipeline batches", name);
    cm_time_parse_rfc3339("2026-03-01T00:00:00Z", &eng_clock);
    snprintf(p, sizeof p, "%s/%s/input.jsonl", DATA, name);
    json_t *in = read_lines(p), *line;
    size_t i;
    /* halves: consecutive events go in batches (of at most 8, what
     * sch_test_decode keeps), of several debtors and partitions, as the
     * service applies them */
    sch_event batch[8];
    int bparts[8], bn = 0;
    *rejected = 0;
    json_array_foreach(in, i, line)
    {
        const char *s;
        int64_t u;
        int event = !json_object_get(line, "start") && !json_object_get(line, "until");
        if (bn > 0 && (!event || bn == 8))
            apply_batch(&e, batch, bparts, &bn, name, rejected);
        if ((s = json_string_value(json_object_get(line, "start")))) {
            assert_int_equal(cm_time_parse_rfc3339(s, &eng_clock), 0);
        } else if ((s = json_string_value(json_object_get(line, "until")))) {
            assert_int_equal(cm_time_parse_rfc3339(s, &u), 0);
            flush_staged(&e, name);
            eng_fire_until(&e, u);
        } else {
            json_t *ev = json_deep_copy(line);
            cm_time_format_rfc3339(eng_clock, t, sizeof t);
            if (json_is_string(json_object_get(ev, "time")))
                json_object_set_new(ev, "time", json_string(t));
            sch_event se;
            int ck = sch_test_decode(ev, &se, err, sizeof err), part = epart;
            if (halves && ck > 0 && se.ev.customer_id) /* a debtor's events in one partition */
                part = (int)(cm_fnv1a64(se.ev.customer_id, strlen(se.ev.customer_id)) % 4);
            long long before = e.not_applied_total;
            if (ck < 0)
                (*rejected)++;
            if (ck > 0 && halves) {
                batch[bn] = se;
                bparts[bn++] = part;
            } else if (ck > 0 && sch_engine_apply(&e, &se, &part, 1, err, sizeof err) < 0)
                fail_msg("case %s: apply: %s", name, err);
            *rejected += (int)(e.not_applied_total - before);
            json_decref(ev);
        }
    }
    if (bn > 0)
        apply_batch(&e, batch, bparts, &bn, name, rejected);
    flush_staged(&e, name);
    assert_int_equal(sch_engine_settle(&e, 1, err, sizeof err), 0);
    for (size_t k = 0; k < e.npending; k++)
        free(e.pending[k].id);
    free(e.pending);
    json_decref(in);
    return out;
}

/* got must equal want record for record. */
static void same_records(const char *name, const char *what, json_t *want, json_t *got)
{
    for (size_t i = 0; i < json_array_size(want) || i < json_array_size(got); i++) {
        json_t *a = json_array_get(want, i), *b = json_array_get(got, i);
        if (a && b && json_equal(a, b))
            continue;
        char *as = a ? json_dumps(a, JSON_COMPACT) : NULL,
             *bs = b ? json_dumps(b, JSON_COMPACT) : NULL;
        fprintf(stderr, "case %s, %s, record %zu differs\n  double  %s\n  backend %s\n", name, what,
                i, as ? as : "(nothing)", bs ? bs : "(nothing)");
        free(as);
        free(bs);
        fail();
    }
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The records of a (an array) as compact texts in byte order, one a line:
 * the records of many debtors' partitions, whose order across debtors
 * depends on how partitions are grouped into rounds (freed by the caller). */
static char *sorted_text(json_t *a)
{
    size_t n = json_array_size(a), len = 1;
    char **v = calloc(n + 1, sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++) {
        v[i] = json_dumps(json_array_get(a, i), JSON_COMPACT | JSON_SORT_KEYS);
        assert_non_null(v[i]);
        len += strlen(v[i]) + 1;
    }
    qsort(v, n, sizeof *v, by_text);
    char *out = malloc(len), *p = out;
    assert_non_null(out);
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(v[i]);
        memcpy(p, v[i], l);
        p[l] = '\n';
        p += l + 1;
        free(v[i]);
    }
    *p = 0;
    free(v);
    return out;
}

/* got holds want's records, in any order across debtors. */
static void same_set(const char *name, const char *what, json_t *want, json_t *got)
{
    char *a = sorted_text(want), *b = sorted_text(got);
    if (strcmp(a, b) != 0)
        fail_msg("case %s, %s: %zu record(s) published, want %zu; sorted:\n%s\nwant:\n%s", name,
                 what, json_array_size(got), json_array_size(want), b, a);
    free(a);
    free(b);
}

/* The case through the memory backend, and Redis when configured. */
static void run_backends(const char *name, const sch_policy *pol, json_t *want, int want_rejected)
{
    sch_store mem;
    int rej = 0;
    assert_int_equal(sch_store_mem_new(&mem), 0);
    json_t *got = run_engine(name, pol, mem, "t:", 0, 0, &rej);
    sch_store_mem_free(&mem);
    if (rej != want_rejected)
        fail_msg("case %s, memory backend: %d event(s) rejected, want %d", name, rej,
                 want_rejected);
    same_records(name, "memory backend", want, got);
    json_decref(got);
    /* fired in two halves, one's commit sent before the other is decided */
    assert_int_equal(sch_store_mem_new(&mem), 0);
    halves_bind(&mem);
    got = run_engine(name, pol, mem, "t:", 0, 1, &rej);
    sch_store_mem_free(&mem);
    same_set(name, "memory backend, two halves", want, got);
    json_decref(got);
    /* and two event batches in flight: each read (through the overlay of
     * the one before) before the one before commits */
    assert_int_equal(sch_store_mem_new(&mem), 0);
    halves_bind(&mem);
    got = run_engine(name, pol, mem, "t:", 0, 2, &rej);
    sch_store_mem_free(&mem);
    same_set(name, "memory backend, two batches in flight", want, got);
    json_decref(got);
    /* the cluster key layout: the same records, every commit and peek on
     * one slot (the memory backend checks as Redis Cluster would) */
    assert_int_equal(sch_store_mem_new(&mem), 0);
    sch_store_mem_cluster(&mem);
    got = run_engine(name, pol, mem, "t:", 4, 0, &rej);
    sch_store_mem_free(&mem);
    if (rej != want_rejected)
        fail_msg("case %s, memory backend, cluster layout: %d event(s) rejected, want %d", name,
                 rej, want_rejected);
    same_records(name, "memory backend, cluster layout", want, got);
    json_decref(got);
    const char *url = getenv("ARREARS_TEST_REDIS_URL");
    if (!url || !*url)
        return;
    char err[512], prefix[128];
    cm_redis *r = cm_redis_connect(url, 5000, err, sizeof err);
    if (!r)
        fail_msg("ARREARS_TEST_REDIS_URL: %s", err);
    sch_store rs;
    sch_store_redis(&rs, r);
    const char *fixed = getenv("ARREARS_TEST_REDIS_PREFIX"); /* kept, for explain's test */
    if (fixed && *fixed)
        snprintf(prefix, sizeof prefix, "%s%s:", fixed, name);
    else
        snprintf(prefix, sizeof prefix, "ut:%ld:%s:", (long)getpid(), name);
    /* on a redis+cluster:// URL, the cluster layout (over 4 partitions),
     * recorded in <prefix>layout as the scheduler's start records it (what
     * `arrears-admin explain` reads: t_scheduler_backends.sh on a cluster) */
    int layout = cm_redis_is_cluster(r) ? 4 : 0, have = 0;
    if (layout && sch_store_redis_layout(r, prefix, layout, &have, err, sizeof err) < 0)
        fail_msg("case %s: %s", name, err);
    if (have && have != layout)
        fail_msg("case %s: %slayout holds %d partitions, want %d", name, prefix, have, layout);
    got = run_engine(name, pol, rs, prefix, layout, 0, &rej);
    if (rej != want_rejected)
        fail_msg("case %s, Redis backend: %d event(s) rejected, want %d", name, rej, want_rejected);
    same_records(name, "Redis backend", want, got);
    json_decref(got);
    if (!layout) { /* and in two halves, on keys of their own */
        size_t pl = strlen(prefix);
        snprintf(prefix + pl - 1, sizeof prefix - pl + 1, ":h:");
        got = run_engine(name, pol, rs, prefix, 0, 1, &rej);
        same_set(name, "Redis backend, two halves", want, got);
        json_decref(got);
        /* and two event batches in flight (the overlay seeded from Redis's
         * replies), on keys of their own */
        snprintf(prefix + pl - 1, sizeof prefix - pl + 1, ":p:");
        got = run_engine(name, pol, rs, prefix, 0, 2, &rej);
        same_set(name, "Redis backend, two batches in flight", want, got);
        json_decref(got);
    }
    cm_redis_free(r);
}

static void run_case(const char *name)
{
    char p[1024], err[512];
    world w;
    memset(&w, 0, sizeof w);
    snprintf(p, sizeof p, "%s/%s/policy.json", DATA, name);
    struct stat sb;
    const char *pp = stat(p, &sb) == 0 ? p : "deploy/config/policy.json";
    if (sch_policy_load_file(pp, &w.pol, err, sizeof err) < 0)
        fail_msg("%s: %s", name, err);
    w.m = sch_map_new();
    w.out = json_array();
    cm_time_parse_rfc3339("2026-03-01T00:00:00Z", &w.now);
    snprintf(p, sizeof p, "%s/%s/input.jsonl", DATA, name);
    json_t *in = read_lines(p);
    size_t i;
    json_t *line;
    json_array_foreach(in, i, line)
    {
        const char *s;
        int64_t t;
        if ((s = json_string_value(json_object_get(line, "start")))) {
            assert_int_equal(cm_time_parse_rfc3339(s, &w.now), 0);
        } else if ((s = json_string_value(json_object_get(line, "until")))) {
            assert_int_equal(cm_time_parse_rfc3339(s, &t), 0);
            run_until(&w, t);
        } else {
            apply_event(&w, line);
        }
    }
    if (getenv("SCH_CASES_DUMP")) { /* a reviewing aid: print what was published */
        json_array_foreach(w.out, i, line)
        {
            json_t *iv = json_array_get(json_object_get(line, "invoices"), 0);
            printf("%s "
                   "%s\t{\"command_id\":\"%s\",\"scheduled_at\":\"%s\",\"created_at\":\"%s\","
                   "\"amounts\":{\"total\":%lld}}  %s %s\n",
                   name, json_string_value(json_object_get(line, "type")) ? "EVENT" : "",
                   json_string_value(json_object_get(line, "command_id")),
                   json_string_value(json_object_get(line, "scheduled_at")),
                   json_string_value(json_object_get(line, "created_at")),
                   (long long)json_integer_value(
                       json_object_get(json_object_get(line, "amounts"), "total")),
                   json_string_value(json_object_get(line, "channel")),
                   json_string_value(json_object_get(iv, "invoice_id")));
        }
    }
    /* events rejected (bad, or not applicable): <case>/rejected, else none */
    int want_rejected = 0;
    snprintf(p, sizeof p, "%s/%s/rejected", DATA, name);
    FILE *rf = fopen(p, "r");
    if (rf) {
        assert_int_equal(fscanf(rf, "%d", &want_rejected), 1);
        fclose(rf);
    }
    if (w.rejected != want_rejected)
        fail_msg("case %s: %d event(s) rejected, want %d", name, w.rejected, want_rejected);
    snprintf(p, sizeof p, "%s/%s/expected.jsonl", DATA, name);
    json_t *want = read_lines(p);
    for (i = 0; i < json_array_size(want) || i < json_array_size(w.out); i++) {
        json_t *a = json_array_get(want, i), *b = json_array_get(w.out, i);
        char *bs = b ? json_dumps(b, JSON_COMPACT) : NULL;
        char path[512] = "";
        if (!a || !b || !subset(a, b, path, sizeof path)) {
            char *as = a ? json_dumps(a, JSON_COMPACT) : NULL;
            print_error("case %s, record %zu differs at %s\n  want %s\n  got  %s\n", name, i, path,
                        as ? as : "(nothing)", bs ? bs : "(nothing)");
            free(as);
            free(bs);
            fail();
        }
        free(bs);
    }
    json_decref(want);
    run_backends(name, &w.pol, w.out, want_rejected);
    json_decref(in);
    json_decref(w.out);
    sch_map_free(w.m);
    sch_policy_free(&w.pol);
}

static void test_case(void **state)
{
    run_case((const char *)*state);
}

/* ---- firing on apply (engine.c apply_one, apply.h sch_plan_due) ---- */

/* Two debtors' invoices applied in one batch as of their own time, weeks
 * before the clock, so that their first ladder steps are due on it. Runs
 * the engine over the memory backend with firing on apply on or off:
 * *at_apply is what the batch's commit published, *due_after whether a
 * timer was still due on the clock after it; returns every record
 * published once the ladder ran to its end. */
static json_t *foa_run(const sch_policy *pol, int off, size_t *at_apply, int *due_after)
{
    static const char *evs[] = {
        "{\"v\":1,\"id\":\"f1\",\"source\":\"billing\",\"type\":\"customer.upserted\","
        "\"tenant\":\"acme\",\"time\":\"2026-03-01T00:00:00.000Z\",\"customer_id\":\"C-1\","
        "\"data\":{\"name\":\"One\",\"email\":\"c-1@x.test\",\"timezone\":\"Europe/London\","
        "\"locale\":\"en-GB\",\"country\":\"GB\",\"channels\":[\"email\"],\"customer_id\":"
        "\"C-1\"}}",
        "{\"v\":1,\"id\":\"f2\",\"source\":\"billing\",\"type\":\"invoice.issued\",\"tenant\":"
        "\"acme\",\"time\":\"2026-03-01T00:00:00.000Z\",\"customer_id\":\"C-1\",\"data\":{"
        "\"invoice_id\":\"I-1\",\"number\":\"N-1\",\"currency\":\"EUR\",\"amount_minor\":"
        "12000,\"issued_on\":\"2026-02-20\",\"due_on\":\"2026-03-06\",\"customer_id\":\"C-1\"}}",
        "{\"v\":1,\"id\":\"f3\",\"source\":\"billing\",\"type\":\"invoice.issued\",\"tenant\":"
        "\"acme\",\"time\":\"2026-03-02T00:00:00.000Z\",\"customer_id\":\"C-2\",\"data\":{"
        "\"invoice_id\":\"I-2\",\"number\":\"N-2\",\"currency\":\"EUR\",\"amount_minor\":"
        "5000,\"issued_on\":\"2026-02-21\",\"due_on\":\"2026-03-07\",\"customer_id\":\"C-2\"}}",
    };
    char err[512];
    json_t *out = json_array();
    sch_store mem;
    sch_engine e;
    assert_int_equal(sch_store_mem_new(&mem), 0);
    eng_setup(&e, pol, mem, "t:", 0, out);
    e.no_fire_on_apply = off;
    assert_int_equal(cm_time_parse_rfc3339("2026-03-04T11:00:00Z", &eng_clock), 0);
    sch_event batch[3];
    int parts[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        json_t *ev = json_loads(evs[i], 0, NULL);
        assert_non_null(ev);
        assert_int_equal(sch_test_decode(ev, &batch[i], err, sizeof err), 1);
        json_decref(ev);
    }
    if (sch_engine_apply(&e, batch, parts, 3, err, sizeof err) < 0)
        fail_msg("apply: %s", err);
    assert_int_equal(e.not_applied_total, 0);
    *at_apply = json_array_size(out);
    sch_map *m = sch_map_new();
    int cnt = 0;
    int64_t nd = INT64_MAX;
    assert_non_null(m);
    assert_int_equal(
        mem.peek(mem.be, "t:", (int[]){0}, 1, INT64_MIN, 0, m, &cnt, &nd, err, sizeof err), 0);
    sch_map_free(m);
    *due_after = nd <= eng_clock;
    int64_t until;
    assert_int_equal(cm_time_parse_rfc3339("2026-07-01T00:00:00Z", &until), 0);
    eng_fire_until(&e, until);
    eng_done(&e, &mem);
    return out;
}

static void test_fire_on_apply(void **state)
{
    (void)state;
    char err[512];
    sch_policy pol;
    if (sch_policy_load_file("deploy/config/policy.json", &pol, err, sizeof err) < 0)
        fail_msg("policy: %s", err);
    size_t on_n = 0, off_n = 0;
    int on_due = 0, off_due = 0;
    json_t *off = foa_run(&pol, 1, &off_n, &off_due);
    json_t *on = foa_run(&pol, 0, &on_n, &on_due);
    /* off: the batch publishes nothing, both steps wait for a round */
    assert_int_equal(off_n, 0);
    assert_true(off_due);
    /* on: the batch's commit sent both, and nothing is left due */
    assert_int_equal(on_n, 2);
    assert_false(on_due);
    /* and the same commands, in the same order, to the ladder's end */
    assert_true(json_array_size(off) > 2);
    same_records("fire_on_apply", "firing on apply", off, on);
    for (size_t i = 0; i < 2; i++) {
        const char *cid = json_string_value(json_object_get(json_array_get(on, i), "command_id"));
        assert_non_null(cid);
        assert_non_null(strstr(cid, i == 0 ? "/inv/I-1/" : "/inv/I-2/"));
        assert_string_equal(json_string_value(json_object_get(json_array_get(on, i), "created_at")),
                            "2026-03-04T11:00:00.000Z");
    }
    json_decref(off);
    json_decref(on);
    sch_policy_free(&pol);
}

/* ---- two halves: a commit whose reply is lost (engine.c fire_halves) ---- */

/* 24 debtors over partitions 0-3, an invoice each, fired in two halves
 * to the ladder's end, rounds of at most 2 timers a partition; the
 * lose_at-th commit's reply is lost (0: none). Returns every record
 * published; *failures: the rounds that failed; *recovering: a partition
 * was marked for recovery right after the first failure. */
static json_t *hl_run(const sch_policy *pol, int lose_at, int *failures, int *recovering)
{
    char err[512], js[1024];
    json_t *out = json_array();
    sch_store mem;
    sch_engine e;
    assert_int_equal(sch_store_mem_new(&mem), 0);
    halves_bind(&mem);
    halves_lose_at = lose_at;
    halves_waits = 0;
    eng_setup(&e, pol, mem, "t:", 0, out);
    for (int k = 1; k < 4; k++)
        e.owned[k] = 1;
    e.fire_batch = 2;
    assert_int_equal(cm_time_parse_rfc3339("2026-03-01T00:00:00Z", &eng_clock), 0);
    for (int i = 1; i <= 24; i++) {
        sch_event se[2];
        int parts[2];
        char cid[16];
        snprintf(cid, sizeof cid, "C-%d", i);
        int part = (int)(cm_fnv1a64(cid, strlen(cid)) % 4);
        for (int k = 0; k < 2; k++) {
            if (k == 0)
                snprintf(js, sizeof js,
                         "{\"v\":1,\"id\":\"u%d\",\"source\":\"billing\",\"type\":"
                         "\"customer.upserted\",\"tenant\":\"acme\",\"time\":"
                         "\"2026-03-01T00:00:00.000Z\",\"customer_id\":\"%s\",\"data\":{"
                         "\"name\":\"N\",\"email\":\"%s@x.test\",\"timezone\":"
                         "\"Europe/London\",\"locale\":\"en-GB\",\"country\":\"GB\","
                         "\"channels\":[\"email\"],\"customer_id\":\"%s\"}}",
                         i, cid, cid, cid);
            else
                snprintf(js, sizeof js,
                         "{\"v\":1,\"id\":\"i%d\",\"source\":\"billing\",\"type\":"
                         "\"invoice.issued\",\"tenant\":\"acme\",\"time\":"
                         "\"2026-03-01T00:00:00.000Z\",\"customer_id\":\"%s\",\"data\":{"
                         "\"invoice_id\":\"I-%d\",\"number\":\"N-%d\",\"currency\":"
                         "\"EUR\",\"amount_minor\":12000,\"issued_on\":\"2026-02-20\","
                         "\"due_on\":\"2026-03-12\",\"customer_id\":\"%s\"}}",
                         i, cid, i, i, cid);
            json_t *ev = json_loads(js, 0, NULL);
            assert_non_null(ev);
            assert_int_equal(sch_test_decode(ev, &se[k], err, sizeof err), 1);
            json_decref(ev);
            parts[k] = part;
        }
        if (sch_engine_apply(&e, se, parts, 2, err, sizeof err) < 0)
            fail_msg("apply: %s", err);
    }
    /* the first steps (-3d, a Monday) of all 24 fall due together:
     * rounds of two halves, the lost reply among them */
    int64_t t;
    assert_int_equal(cm_time_parse_rfc3339("2026-03-09T12:00:00Z", &t), 0);
    eng_clock = t;
    *failures = 0;
    *recovering = 0;
    for (int more = 1, guard = 0; more && guard < 1000; guard++)
        if (sch_engine_fire(&e, &more, err, sizeof err) < 0) {
            if (++*failures == 1)
                for (int p = 0; p < 4; p++)
                    *recovering |= e.recover[p];
            assert_non_null(strstr(err, "connection lost"));
            more = 1;
        }
    assert_int_equal(cm_time_parse_rfc3339("2026-07-01T00:00:00Z", &t), 0);
    eng_fire_until_counting(&e, t, failures);
    eng_done(&e, &mem);
    halves_lose_at = 0;
    return out;
}

/* A lost commit reply in the middle of the two halves: the round
 * committed before it is still published, the lost round's partitions are
 * recovered (its stored commands published from the outbox), and in the
 * end every command is published once, as without the loss. */
static void test_halves_commit_lost(void **state)
{
    (void)state;
    char err[512];
    sch_policy pol;
    if (sch_policy_load_file("deploy/config/policy.json", &pol, err, sizeof err) < 0)
        fail_msg("policy: %s", err);
    int failures = 0, recovering = 0;
    json_t *want = hl_run(&pol, 0, &failures, &recovering);
    assert_int_equal(failures, 0);
    assert_true(json_array_size(want) >= 24 * 3);
    for (int lose_at = 1; lose_at <= 4; lose_at++) {
        json_t *got = hl_run(&pol, lose_at, &failures, &recovering);
        char what[64];
        snprintf(what, sizeof what, "reply %d lost", lose_at);
        assert_int_equal(failures, 1);
        assert_true(recovering);
        same_set("halves_commit_lost", what, want, got);
        json_decref(got);
    }
    json_decref(want);
    sch_policy_free(&pol);
}

/* ---- two event batches in flight (engine.c sch_engine_stage) ---- */

/* Events of debtor C-1 (a payment left as credit, invoices that take it,
 * the payment reversed) and C-2, in three consecutive batches that share
 * records: pl_text(i) is event i, pl_batch[b] .. pl_batch[b + 1] batch b. */
static const char *const pl_events[] = {
    "\"type\":\"customer.upserted\",\"customer_id\":\"C-1\",\"data\":{\"name\":\"N\",\"email\":"
    "\"c1@x.test\",\"timezone\":\"Europe/London\",\"locale\":\"en-GB\",\"country\":\"GB\","
    "\"channels\":[\"email\"],\"customer_id\":\"C-1\"}",
    "\"type\":\"payment.received\",\"customer_id\":\"C-1\",\"data\":{\"payment_id\":\"P-5\","
    "\"currency\":\"EUR\",\"amount_minor\":500,\"received_on\":\"2026-03-01\",\"customer_id\":"
    "\"C-1\"}",
    "\"type\":\"customer.upserted\",\"customer_id\":\"C-2\",\"data\":{\"name\":\"N\",\"email\":"
    "\"c2@x.test\",\"timezone\":\"Europe/London\",\"locale\":\"en-GB\",\"country\":\"GB\","
    "\"channels\":[\"email\"],\"customer_id\":\"C-2\"}",
    "\"type\":\"invoice.issued\",\"customer_id\":\"C-2\",\"data\":{\"invoice_id\":\"J-1\","
    "\"number\":\"N-J-1\",\"currency\":\"EUR\",\"amount_minor\":9000,\"issued_on\":"
    "\"2026-02-01\",\"due_on\":\"2026-03-10\",\"customer_id\":\"C-2\"}",
    /* the credit pays I-1 in part: an allocation appended to P-5, which
     * this batch does not read */
    "\"type\":\"invoice.issued\",\"customer_id\":\"C-1\",\"data\":{\"invoice_id\":\"I-1\","
    "\"number\":\"N-I-1\",\"currency\":\"EUR\",\"amount_minor\":300,\"issued_on\":"
    "\"2026-02-01\",\"due_on\":\"2026-03-10\",\"customer_id\":\"C-1\"}",
    "\"type\":\"payment.received\",\"customer_id\":\"C-2\",\"data\":{\"payment_id\":\"P-7\","
    "\"currency\":\"EUR\",\"amount_minor\":1000,\"received_on\":\"2026-03-01\",\"invoice_id\":"
    "\"J-1\",\"customer_id\":\"C-2\"}",
    /* reads P-5 (allocated in the batch before), and C-1, I-1, J-1 */
    "\"type\":\"payment.reversed\",\"customer_id\":\"C-1\",\"data\":{\"payment_id\":\"P-5\","
    "\"reason\":\"chargeback\",\"customer_id\":\"C-1\"}",
    "\"type\":\"invoice.issued\",\"customer_id\":\"C-1\",\"data\":{\"invoice_id\":\"I-2\","
    "\"number\":\"N-I-2\",\"currency\":\"EUR\",\"amount_minor\":400,\"issued_on\":"
    "\"2026-02-01\",\"due_on\":\"2026-03-10\",\"customer_id\":\"C-1\"}",
    "\"type\":\"payment.received\",\"customer_id\":\"C-2\",\"data\":{\"payment_id\":\"P-8\","
    "\"currency\":\"EUR\",\"amount_minor\":2000,\"received_on\":\"2026-03-01\",\"invoice_id\":"
    "\"J-1\",\"customer_id\":\"C-2\"}",
};
static const int pl_batch[] = {0, 4, 6, 9};
#define PL_BATCHES 3

/* Decodes event i of pl_events into *se (valid while 7 more are decoded:
 * scheduler_decode_test.h). */
static void pl_decode(int i, sch_event *se)
{
    char js[1024], err[256];
    snprintf(js, sizeof js,
             "{\"v\":1,\"id\":\"pl%d\",\"source\":\"billing\",\"tenant\":\"acme\",\"time\":"
             "\"2026-03-01T00:00:00.000Z\",%s}",
             i, pl_events[i]);
    json_t *ev = json_loads(js, 0, NULL);
    assert_non_null(ev);
    if (sch_test_decode(ev, se, err, sizeof err) != 1)
        fail_msg("event %d: %s", i, err);
    json_decref(ev);
}

/* What the pipelined run does to a batch (how): 0 staged as the service
 * does; 1 the same, but before it, another writer (a replica that has not
 * seen a rebalance) applies C-2's payment P-9 to J-1 through the store,
 * so that the staged batch's commit conflicts; 2 the staged batch's
 * commit reply is lost (it ran). */
static void pl_other_writer(sch_engine *e)
{
    char js[1024], err[256];
    snprintf(js, sizeof js,
             "{\"v\":1,\"id\":\"other\",\"source\":\"billing\",\"tenant\":\"acme\",\"time\":"
             "\"2026-03-01T00:00:00.000Z\",\"type\":\"payment.received\",\"customer_id\":"
             "\"C-2\",\"data\":{\"payment_id\":\"P-9\",\"currency\":\"EUR\",\"amount_minor\":"
             "100,\"received_on\":\"2026-03-01\",\"invoice_id\":\"J-1\",\"customer_id\":"
             "\"C-2\"}}");
    json_t *ev = json_loads(js, 0, NULL);
    sch_event se;
    int part = 0;
    assert_non_null(ev);
    assert_int_equal(sch_test_decode(ev, &se, err, sizeof err), 1);
    json_decref(ev);
    sch_engine other = *e;
    other.store = halves_mem; /* the same keys, committed at once */
    other.pipeline = 0;
    other.staged = other.loading = NULL;
    if (sch_engine_apply(&other, &se, &part, 1, err, sizeof err) < 0)
        fail_msg("the other writer: %s", err);
    e->pending = other.pending; /* the round lists it may have grown */
    e->npending = other.npending;
    e->cappending = other.cappending;
}

/* Runs the three batches (then fires to the ladder's end): pipelined
 * (how as above, at batch at) or one at a time (pipelined 0; other: the
 * other writer's payment applied first, as the conflict's replay orders
 * it). Returns the records published; *waits the batches that waited
 * for the staged commit; *replayed the batches applied again. */
static json_t *pl_run(const sch_policy *pol, int pipelined, int how, int at, int other,
                      long long *waits, int *replayed)
{
    char err[512];
    json_t *out = json_array();
    sch_store mem;
    sch_engine e;
    sch_event evs[PL_BATCHES][4];
    int parts[4] = {0, 0, 0, 0};
    assert_int_equal(sch_store_mem_new(&mem), 0);
    halves_bind(&mem);
    halves_lose_at = 0;
    halves_waits = 0;
    eng_setup(&e, pol, mem, "t:", 0, out);
    e.pipeline = pipelined;
    assert_int_equal(cm_time_parse_rfc3339("2026-03-01T00:00:00Z", &eng_clock), 0);
    if (other)
        pl_other_writer(&e);
    *replayed = 0;
    for (int b = 0; b < PL_BATCHES; b++) {
        size_t n = (size_t)(pl_batch[b + 1] - pl_batch[b]);
        for (size_t i = 0; i < n; i++)
            pl_decode(pl_batch[b] + (int)i, &evs[b][i]);
        if (!pipelined) {
            if (sch_engine_apply(&e, evs[b], parts, n, err, sizeof err) < 0)
                fail_msg("apply %d: %s", b, err);
            continue;
        }
        if (b == at && how == 1)
            pl_other_writer(&e);
        if (b == at && how == 2)
            halves_lose_at = halves_waits + 1;
        e.pipeline_off = 0; /* every batch pipelined, even after one stalled */
        int r = sch_engine_stage(&e, evs[b], parts, n, err, sizeof err);
        /* batch 1 fires on apply after batch 0's commit was sent, but
         * what it fires was read already: no wait. Batch 2 waits for
         * batch 0's blind append to P-5: the next batches would go one at
         * a time (the backoff, reset above). */
        if (how == 0 && b == 1)
            assert_false(e.pipeline_stalled);
        if (how == 0 && b == 2)
            assert_true(e.pipeline_stalled && e.pipeline_off > 0);
        if (r == -2) { /* as the service's loop: both again, in order */
            (*replayed) += 2;
            if (sch_engine_apply(&e, evs[b - 1], parts, (size_t)(pl_batch[b] - pl_batch[b - 1]),
                                 err, sizeof err) < 0 ||
                sch_engine_apply(&e, evs[b], parts, n, err, sizeof err) < 0)
                fail_msg("apply again %d: %s", b, err);
        } else if (r < 0) {
            fail_msg("stage %d: %s", b, err);
        }
    }
    if (sch_engine_flush(&e, err, sizeof err) < 0)
        fail_msg("flush: %s", err);
    *waits = e.pipeline_waits;
    /* nothing due on the day of the events; the first steps by the 20th */
    int due = -1;
    int64_t until, day = eng_clock;
    assert_int_equal(sch_engine_due(&e, &due, err, sizeof err), 0);
    assert_int_equal(due, 0);
    assert_int_equal(cm_time_parse_rfc3339("2026-03-20T00:00:00Z", &eng_clock), 0);
    assert_int_equal(sch_engine_due(&e, &due, err, sizeof err), 0);
    assert_int_equal(due, 1);
    eng_clock = day;
    assert_int_equal(cm_time_parse_rfc3339("2026-07-01T00:00:00Z", &until), 0);
    eng_fire_until(&e, until);
    eng_done(&e, &mem);
    halves_lose_at = 0;
    return out;
}

/* Two batches in flight publish what one at a time does: a batch reads
 * the keys the staged one wrote from its overlay, waits for its commit
 * before reading a payment it appended to without reading it, and when
 * the staged commit conflicts or its reply is lost, both batches are
 * applied again, with the same outcome. */
static void test_pipeline(void **state)
{
    (void)state;
    char err[512];
    sch_policy pol;
    if (sch_policy_load_file("deploy/config/policy.json", &pol, err, sizeof err) < 0)
        fail_msg("policy: %s", err);
    long long waits = 0;
    int replayed = 0;
    json_t *want = pl_run(&pol, 0, 0, 0, 0, &waits, &replayed);
    assert_true(json_array_size(want) >= 6);
    json_t *got = pl_run(&pol, 1, 0, 0, 0, &waits, &replayed);
    assert_int_equal(waits, 1); /* the reversal read P-5 after the staged commit */
    assert_int_equal(replayed, 0);
    same_records("pipeline", "two batches in flight", want, got);
    json_decref(got);
    /* the reply of batch 0's commit lost while batch 1 is decided */
    got = pl_run(&pol, 1, 2, 1, 0, &waits, &replayed);
    assert_int_equal(replayed, 2);
    same_records("pipeline", "a staged commit's reply lost", want, got);
    json_decref(got);
    json_decref(want);
    /* another writer commits J-1 before the staged batch 0 */
    want = pl_run(&pol, 0, 0, 0, 1, &waits, &replayed);
    got = pl_run(&pol, 1, 1, 1, 0, &waits, &replayed);
    assert_int_equal(replayed, 2);
    same_records("pipeline", "a staged commit in conflict", want, got);
    json_decref(got);
    json_decref(want);
    sch_policy_free(&pol);
}

/* An overlay seeded by a load and written as a commit would: it serves a
 * record written in part with every field it read, one deleted as
 * absent, and not one it only read; and what it serves is its own copy,
 * not the store's it was seeded from. */
static void test_overlay(void **state)
{
    (void)state;
    char err[512], k1[256], k2[256], kj[256];
    sch_policy pol;
    if (sch_policy_load_file("deploy/config/policy.json", &pol, err, sizeof err) < 0)
        fail_msg("policy: %s", err);
    json_t *out = json_array();
    sch_store mem, ov;
    sch_engine e;
    sch_event evs[4];
    int parts[4] = {0, 0, 0, 0};
    assert_int_equal(sch_store_mem_new(&mem), 0);
    eng_setup(&e, &pol, mem, "t:", 0, out);
    assert_int_equal(cm_time_parse_rfc3339("2026-03-01T00:00:00Z", &eng_clock), 0);
    for (int i = 0; i < 4; i++) /* C-1, its credit P-5, C-2 and its invoice J-1 */
        pl_decode(i, &evs[i]);
    if (sch_engine_apply(&e, evs, parts, 4, err, sizeof err) < 0)
        fail_msg("apply: %s", err);
    sch_key(k1, sizeof k1, "t:", 'c', "acme", "C-1");
    sch_key(k2, sizeof k2, "t:", 'c', "acme", "C-2");
    sch_key(kj, sizeof kj, "t:", 'i', "acme", "J-1");

    assert_int_equal(sch_store_mem_overlay_new(&ov), 0);
    sch_map *m = sch_map_new(), *m2 = sch_map_new();
    assert_non_null(m);
    assert_non_null(m2);
    sch_map_add(m, k1, SCH_T_CUST, "acme", "C-1");
    sch_map_add(m, k2, SCH_T_CUST, "acme", "C-2");
    sch_map_add(m, kj, SCH_T_INV, "acme", "J-1");
    if (mem.load_seed(mem.be, m, &ov, NULL, NULL, err, sizeof err) < 0)
        fail_msg("load: %s", err);
    sch_rec *c1 = sch_map_get(m, k1);
    assert_true(c1->loaded && c1->exists);
    assert_string_equal(c1->u.cust.tz, "Europe/London");
    assert_true(sch_map_get(m, kj)->exists);

    /* no checks (four empty lists); C-1's conversation day set (in part), J-1 deleted */
    sch_ops a = {0};
    const char *ops[] = {"0", "0", "0", "0", "h", k1, "1", "cv", "42", "d", kj};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        sch_ops_push(&a, ops[i], strlen(ops[i]));
    if (sch_store_mem_overlay_write(&ov, &a, err, sizeof err) < 0)
        fail_msg("overlay write: %s", err);
    sch_ops_free(&a);
    /* the memory store moves on: what the overlay holds is its own */
    sch_store_mem_free(&mem);

    sch_map_add(m2, k1, SCH_T_CUST, "acme", "C-1");
    sch_map_add(m2, k2, SCH_T_CUST, "acme", "C-2");
    sch_map_add(m2, kj, SCH_T_INV, "acme", "J-1");
    assert_int_equal(sch_store_mem_overlay_load(&ov, m2, NULL, err, sizeof err), 0);
    sch_rec *o1 = sch_map_get(m2, k1), *o2 = sch_map_get(m2, k2), *oj = sch_map_get(m2, kj);
    assert_true(o1->loaded && o1->exists);
    assert_int_equal(o1->ver, c1->ver); /* the version is the commit's to bump */
    assert_int_equal(o1->u.cust.conversation, 42);
    assert_string_equal(o1->u.cust.tz, "Europe/London");
    assert_string_equal(o1->u.cust.locale, "en-GB");
    assert_non_null(o1->u.cust.contact);
    assert_string_equal(o1->u.cust.contact, c1->u.cust.contact);
    assert_true(oj->loaded && !oj->exists);
    assert_false(o2->loaded); /* only read: Redis answers */

    sch_map_free(m2);
    sch_map_free(m);
    sch_store_mem_free(&ov);
    for (size_t k = 0; k < e.npending; k++)
        free(e.pending[k].id);
    free(e.pending);
    json_decref(out);
    sch_policy_free(&pol);
}

/* Two writers read invoice I-1 as absent (version 0); the first commit
 * creates it; the second, which also creates I-2, conflicts on I-1 and
 * writes nothing: the op stream's "must not exist" list (store.h), over
 * the memory backend and, when ARREARS_TEST_REDIS_URL is set, Redis's
 * commit script. Then I-1 is read at version 1 and I-2 is still absent. */
static sch_map *fresh_load(sch_store *s, const char *prefix, int two)
{
    char err[512], k[256];
    sch_map *m = sch_map_new();
    assert_non_null(m);
    for (int i = 0; i < 1 + two; i++) {
        sch_key(k, sizeof k, prefix, 'i', "acme", i ? "I-2" : "I-1");
        assert_non_null(sch_map_add(m, k, SCH_T_INV, "acme", i ? "I-2" : "I-1"));
    }
    if (s->load(s->be, m, err, sizeof err) < 0)
        fail_msg("load: %s", err);
    return m;
}

static int fresh_commit(sch_store *s, const sch_policy *pol, const char *prefix, sch_map *m,
                        char *err, size_t errlen)
{
    for (size_t i = 0; i < sch_map_count(m); i++) {
        sch_rec *r = sch_map_at(m, i);
        assert_true(r->loaded && !r->exists && r->ver == 0);
        r->exists = r->dirty = 1;
        r->u.inv.amount = 1000;
        memcpy(r->u.inv.currency, "EUR", 4);
    }
    sch_ctx c;
    assert_int_equal(sch_ctx_init(&c, pol, prefix, 0, m), 0);
    int rc = s->commit(s->be, &c, err, errlen);
    sch_ctx_reset(&c);
    return rc;
}

static void fresh_conflict_on(sch_store *s, const sch_policy *pol, const char *prefix)
{
    char err[512] = "", k1[256];
    sch_key(k1, sizeof k1, prefix, 'i', "acme", "I-1");
    sch_map *a = fresh_load(s, prefix, 0), *b = fresh_load(s, prefix, 1);
    assert_int_equal(fresh_commit(s, pol, prefix, a, err, sizeof err), 0);
    assert_int_equal(fresh_commit(s, pol, prefix, b, err, sizeof err), 1);
    if (!strstr(err, k1))
        fail_msg("the conflict names %s, want %s", err, k1);
    sch_map_free(a);
    sch_map_free(b);
    sch_map *m = sch_map_new();
    char k[256];
    assert_non_null(m);
    assert_non_null(sch_map_add(m, k1, SCH_T_INV, "acme", "I-1"));
    sch_key(k, sizeof k, prefix, 'i', "acme", "I-2");
    assert_non_null(sch_map_add(m, k, SCH_T_INV, "acme", "I-2"));
    if (s->load(s->be, m, err, sizeof err) < 0)
        fail_msg("load: %s", err);
    sch_rec *r1 = sch_map_get(m, k1), *r2 = sch_map_get(m, k);
    assert_true(r1->exists);
    assert_int_equal(r1->ver, 1);
    assert_int_equal(r1->u.inv.amount, 1000);
    assert_false(r2->exists);
    sch_map_free(m);
}

static void test_fresh_conflict(void **state)
{
    (void)state;
    char err[512], prefix[128];
    sch_policy pol;
    if (sch_policy_load_file("deploy/config/policy.json", &pol, err, sizeof err) < 0)
        fail_msg("policy: %s", err);
    sch_store mem;
    assert_int_equal(sch_store_mem_new(&mem), 0);
    fresh_conflict_on(&mem, &pol, "t:");
    sch_store_mem_free(&mem);
    const char *url = getenv("ARREARS_TEST_REDIS_URL");
    if (url && *url) {
        cm_redis *r = cm_redis_connect(url, 5000, err, sizeof err);
        if (!r)
            fail_msg("ARREARS_TEST_REDIS_URL: %s", err);
        sch_store rs;
        sch_store_redis(&rs, r);
        /* one hash tag: on a cluster every key of the commit is in the
         * slot of its KEYS[1], the prefix (store_redis.c commit_build) */
        snprintf(prefix, sizeof prefix, "ut:{fresh%ld}:", (long)getpid());
        fresh_conflict_on(&rs, &pol, prefix);
        cm_redis_free(r);
    }
    sch_policy_free(&pol);
}

/* The outbox as the Redis backend reads it after a crash (rd_outbox): a
 * round as this version writes it (one string), a round left by a replica
 * of before 2026-12-07 (a hash of command id -> value: an upgrade may find
 * one), and a round listed but gone (expired) all read; every record
 * comes back whole, and forget drops the rounds. Redis only: the memory
 * backend keeps rounds in its own form. */
static void test_outbox_formats(void **state)
{
    (void)state;
    const char *url = getenv("ARREARS_TEST_REDIS_URL");
    if (!url || !*url)
        return;
    char err[512], prefix[128], set[256], k1[256], k2[256], k3[256];
    cm_redis *r = cm_redis_connect(url, 5000, err, sizeof err);
    if (!r)
        fail_msg("ARREARS_TEST_REDIS_URL: %s", err);
    sch_store rs;
    sch_store_redis(&rs, r);
    snprintf(prefix, sizeof prefix, "ut:{ob%ld}:", (long)getpid());
    sch_store_out_key(set, sizeof set, prefix, 2);
    sch_store_round_key(k1, sizeof k1, prefix, 2, "new");
    sch_store_round_key(k2, sizeof k2, prefix, 2, "old");
    sch_store_round_key(k3, sizeof k3, prefix, 2, "gone");
    const char blob[] = "5 18\ncmd-1c\nacme/C-7\n{\"a\":1}";
    redisReply *x = cm_redis_cmd(r, err, sizeof err, "SET %s %b", k1, blob, sizeof blob - 1);
    assert_non_null(x);
    freeReplyObject(x);
    x = cm_redis_cmd(r, err, sizeof err, "HSET %s cmd-2 %s cmd-3 %s", k2, "c\nacme/C-8\n{}",
                     "e\nacme/C-9\n[1]");
    assert_non_null(x);
    freeReplyObject(x);
    x = cm_redis_cmd(r, err, sizeof err, "SADD %s %s %s %s", set, k1, k2, k3);
    assert_non_null(x);
    freeReplyObject(x);

    sch_outbox out;
    if (rs.outbox(rs.be, prefix, 2, &out, err, sizeof err) < 0)
        fail_msg("outbox: %s", err);
    assert_int_equal(out.nrounds, 3);
    assert_int_equal(out.nrecs, 3);
    int seen = 0;
    for (size_t i = 0; i < out.nrecs; i++) {
        const sch_out *o = &out.recs[i];
        assert_int_equal(o->part, 2);
        if (strcmp(o->id, "cmd-1") == 0 && o->topic == 'c' && strcmp(o->key, "acme/C-7") == 0 &&
            strcmp(o->payload, "{\"a\":1}") == 0)
            seen |= 1;
        if (strcmp(o->id, "cmd-2") == 0 && o->topic == 'c' && strcmp(o->key, "acme/C-8") == 0 &&
            strcmp(o->payload, "{}") == 0)
            seen |= 2;
        if (strcmp(o->id, "cmd-3") == 0 && o->topic == 'e' && strcmp(o->key, "acme/C-9") == 0 &&
            strcmp(o->payload, "[1]") == 0)
            seen |= 4;
    }
    assert_int_equal(seen, 7);
    assert_int_equal(rs.forget(rs.be, prefix, 2, out.rounds, out.nrounds, err, sizeof err), 0);
    sch_outbox_free(&out);
    x = cm_redis_cmd(r, err, sizeof err, "EXISTS %s %s %s", set, k1, k2);
    assert_non_null(x);
    assert_int_equal(x->integer, 0);
    freeReplyObject(x);

    /* a round cut short is an error naming it, not records lost unsaid */
    x = cm_redis_cmd(r, err, sizeof err, "SET %s %b", k1, blob, sizeof blob - 3);
    freeReplyObject(x);
    x = cm_redis_cmd(r, err, sizeof err, "SADD %s %s", set, k1);
    freeReplyObject(x);
    assert_int_equal(rs.outbox(rs.be, prefix, 2, &out, err, sizeof err), -1);
    if (!strstr(err, "malformed") || !strstr(err, k1))
        fail_msg("outbox of a cut round: %s", err);
    x = cm_redis_cmd(r, err, sizeof err, "DEL %s %s", set, k1);
    freeReplyObject(x);
    cm_redis_free(r);
}

int main(void)
{
    DIR *d = opendir(DATA);
    struct CMUnitTest tests[133];
    static char names[128][256];
    int n = 0;
    struct dirent *de;
    if (!d) {
        fprintf(stderr, "%s: not found (run from the repository root)\n", DATA);
        return 1;
    }
    while ((de = readdir(d)) && n < 128) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(names[n], sizeof names[n], "%s", de->d_name);
        n++;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    for (int i = 0; i < n; i++) {
        struct CMUnitTest t = {names[i], test_case, NULL, NULL, names[i]};
        tests[i] = t;
    }
    tests[n++] = (struct CMUnitTest){"fire_on_apply", test_fire_on_apply, NULL, NULL, NULL};
    tests[n++] =
        (struct CMUnitTest){"halves_commit_lost", test_halves_commit_lost, NULL, NULL, NULL};
    tests[n++] = (struct CMUnitTest){"pipeline", test_pipeline, NULL, NULL, NULL};
    tests[n++] = (struct CMUnitTest){"overlay", test_overlay, NULL, NULL, NULL};
    tests[n++] = (struct CMUnitTest){"fresh_conflict", test_fresh_conflict, NULL, NULL, NULL};
    tests[n++] = (struct CMUnitTest){"outbox_formats", test_outbox_formats, NULL, NULL, NULL};
    return _cmocka_run_group_tests("scheduler_cases", tests, (size_t)n, NULL, NULL);
}
