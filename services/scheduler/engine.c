/* engine.c -- event batches and timer firing over Redis (see engine.h). */
#include "engine.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "vec.h"
#include "kafka.h"
#include "log.h"
#include "retention.h"
#include "store.h"

#define SCH_CAS_TRIES 5
/* batches applied one at a time after a pipelined one stalled */
#define SCH_PIPELINE_BACKOFF 8

void sch_engine_rebalance(void *opaque, int assigned, const rd_kafka_topic_partition_list_t *parts)
{
    sch_engine *e = opaque;
    for (int i = 0; i < parts->cnt; i++) {
        int p = parts->elems[i].partition;
        if (p < 0 || p >= SCH_MAX_PARTS)
            continue;
        e->owned[p] = (unsigned char)(assigned ? 1 : 0);
        /* a partition we take over may hold records its last owner claimed
         * but did not see delivered */
        if (assigned)
            e->recover[p] = 1;
    }
    cm_log_info("timers of %d partition(s) %s", parts->cnt, assigned ? "assigned" : "revoked");
}

static void add(cm_metric *m, long long n)
{
    if (m && n > 0)
        cm_metric_add(m, (uint64_t)n);
}

/* The money events a batch or round published (apply.h money[]). */
static void money_add(sch_engine *e, const sch_ctx *c)
{
    add(e->m[CT_M_SCHEDULER_FEE_CHARGED], c->money[0]);
    add(e->m[CT_M_SCHEDULER_FEE_WAIVED], c->money[1]);
    add(e->m[CT_M_SCHEDULER_INTEREST_CLAIMED], c->money[2]);
    add(e->m[CT_M_SCHEDULER_SETTLED], c->money[3]);
}

/* Counts what a committed ctx (an event batch or a firing round) did,
 * its fired steps apart (counted once published). */
static void count_ctx(sch_engine *e, const sch_ctx *c)
{
    add(e->m[CT_M_SCHEDULER_LATE], c->late);
    e->late_total += c->late;
    add(e->m[CT_M_SCHEDULER_KEPT], c->kept);
    add(e->m[CT_M_SCHEDULER_SKIPPED], c->skipped);
    add(e->m[CT_M_SCHEDULER_DEFERRED], c->deferred);
    add(e->m[CT_M_SCHEDULER_PURGED], c->purged);
    add(e->m[CT_M_SCHEDULER_EXPIRED], c->expired);
    e->purged_total += c->purged;
    e->expired_total += c->expired;
    add(e->m[CT_M_SCHEDULER_BROKEN], c->broken);
    add(e->m[CT_M_SCHEDULER_PLAN_COMPLETED], c->plans_completed);
    add(e->m[CT_M_SCHEDULER_PLAN_BROKEN], c->plans_broken);
    add(e->m[CT_M_SCHEDULER_ESC_PLACED], c->esc_placed);
    add(e->m[CT_M_SCHEDULER_ESC_HELD], c->esc_held);
    add(e->m[CT_M_SCHEDULER_ESC_RECALLED], c->esc_recalled);
    add(e->m[CT_M_SCHEDULER_ESC_REMITTED], c->esc_remitted);
    money_add(e, c);
}

int sch_engine_prefix(sch_engine *e, int part, char *out, size_t len, char *errstr, size_t errlen)
{
    if (e->layout_parts <= 0) {
        snprintf(out, len, "%s", e->prefix);
        return 0;
    }
    if (part < 0 || part >= e->layout_parts || part >= SCH_MAX_PARTS) {
        snprintf(errstr, errlen,
                 "partition %d of events is past the %d partitions the Redis Cluster key layout "
                 "was made for (docs/scheduler.md: changing the partition count is a migration)",
                 part, e->layout_parts);
        return -1;
    }
    if (sch_store_part_prefix(out, len, e->prefix, part, e->layout_parts) < 0) {
        snprintf(errstr, errlen, "no hash tag for partition %d of %d", part, e->layout_parts);
        return -1;
    }
    return 0;
}

/* Publishes a committed ctx's outs (durable in their rounds) and notes
 * the rounds as pending: they are acknowledged asynchronously, so the
 * next rounds claim and publish while these are in flight;
 * sch_engine_settle marks them done once the producer reports every
 * delivery. -1 leaves the rounds claimed (re-published later). */
static int publish_outs(sch_engine *e, sch_ctx *c, char *errstr, size_t errlen)
{
    for (size_t i = 0; i < c->nouts; i++) {
        sch_out *o = &c->outs[i];
        if (e->sink.publish(e->sink.opaque, o->topic, o->key, o->id, o->payload, strlen(o->payload),
                            errstr, errlen) < 0)
            return -1;
    }
    /* one pending entry per (partition, round): its key */
    unsigned char seen[SCH_MAX_PARTS] = {0};
    for (size_t i = 0; i < c->nouts; i++) {
        int part = c->outs[i].part;
        if (part < 0 || part >= SCH_MAX_PARTS || seen[part])
            continue;
        seen[part] = 1;
        if (CM_GROW(e->pending, e->cappending, e->npending + 1) < 0)
            return -1;
        char rk[300];
        sch_store_round_key(rk, sizeof rk, c->prefix, part, c->round);
        e->pending[e->npending].part = part;
        e->pending[e->npending].id = strdup(rk);
        if (!e->pending[e->npending].id)
            return -1;
        e->npending++;
    }
    e->pending_records += c->nouts;
    return 0;
}

/* Fires the invoices of map[0..nrec) whose own timer was due (fire_due),
 * then their groups: 0, or -1. */
static int fire_marked(sch_engine *e, sch_ctx *c, size_t nrec, char *errstr, size_t errlen)
{
    for (size_t i = 0; i < nrec; i++) {
        sch_rec *inv = sch_map_at(c->map, i);
        if (inv->type != SCH_T_INV || !inv->fire_due)
            continue; /* a purge member only (retention.h) */
        char ck[512];
        sch_key(ck, sizeof ck, c->prefix, 'c', inv->tenant, inv->u.inv.customer);
        sch_rec *cust = inv->exists ? sch_map_get(c->map, ck) : NULL;
        int64_t due = inv->u.inv.next_ms;
        int r = sch_fire_invoice(c, inv, cust);
        inv->gc_now = due > 0 ? due : 0; /* a retention from its due time (retention.h) */
        if (r < 0)
            goto failed;
        if (r > 0 && e->m[CT_M_SCHEDULER_LATENESS]) {
            int64_t late = -cm_clock_real_delay_ms(due);
            cm_metric_observe(e->m[CT_M_SCHEDULER_LATENESS],
                              late > 0 ? (double)late / 1000.0 : 0.0);
        }
    }
    if (sch_fire_groups(c) >= 0)
        return 0;
failed:
    snprintf(errstr, errlen, "building a command failed (out of memory, or its id did not fit)");
    return -1;
}

/* Firing on apply: the invoices of an applied batch whose own timer is
 * due on the clock fire in the batch's commit (apply.h sch_plan_due), as
 * a round right after it would. 0; -1 a load failed (the batch fails as
 * any load); -2 a step could not be decided (errstr). */
static int eng_load(sch_engine *e, sch_map *m, int carry, char *errstr, size_t errlen);

static int fire_on_apply(sch_engine *e, sch_ctx *c, int64_t clock, char *errstr, size_t errlen)
{
    c->now = clock;
    int due = sch_plan_due(c, 1);
    if (due <= 0) {
        if (due < 0)
            snprintf(errstr, errlen, "out of memory");
        return due < 0 ? -2 : 0;
    }
    if (eng_load(e, c->map, 0, errstr, errlen) < 0)
        return -1;
    if (sch_plan_due(c, 2) < 0) {
        snprintf(errstr, errlen, "out of memory");
        return -2;
    }
    return fire_marked(e, c, sch_map_count(c->map), errstr, errlen) < 0 ? -2 : 0;
}

/* A fresh ctx over a fresh map (*m) for a batch under prefix. */
static int ctx_open(sch_engine *e, sch_ctx *c, sch_map **m, const char *prefix, int64_t clock,
                    char *errstr, size_t errlen)
{
    *m = sch_map_new();
    if (!*m || sch_ctx_init(c, e->pol, prefix, clock, *m) < 0) {
        sch_map_free(*m);
        *m = NULL;
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    c->decide = e->decide;
    c->pols = e->pols;
    c->retention = e->retention;
    return 0;
}

/* Plans evs[0..n) in three phases, loading what each names (eng_load);
 * the staged batch's commit, if any, rides behind the reads of the last
 * phase that can read (sch_plan_last_phase). */
static int batch_load(sch_engine *e, sch_ctx *c, const sch_event *evs, size_t n, char *errstr,
                      size_t errlen)
{
    int last = 1;
    for (size_t i = 0; i < n && last < 3; i++)
        if (evs[i].raw) {
            int l = sch_plan_last_phase(c, &evs[i]);
            last = l > last ? l : last;
        }
    for (int phase = 1; phase <= 3; phase++) {
        for (size_t i = 0; i < n; i++)
            if (evs[i].raw && sch_plan_event(c, &evs[i], phase) < 0) {
                snprintf(errstr, errlen, "out of memory");
                return -1;
            }
        if (eng_load(e, c->map, phase == last, errstr, errlen) < 0)
            return -1;
    }
    return 0;
}

/* Applies the loaded batch in c; an event that cannot apply is logged
 * and counted, never fatal. */
static void batch_decide(sch_engine *e, sch_ctx *c, const sch_event *evs, const int *parts,
                         size_t n, int64_t clock)
{
    for (size_t i = 0; i < n; i++) {
        char why[512];
        if (!evs[i].raw)
            continue;
        /* an event is applied as of its own time (never later than the
         * clock): its decisions do not depend on how long it took to
         * arrive, so the live service and the backtest agree */
        c->now = evs[i].ev.time_ms > 0 && evs[i].ev.time_ms < clock ? evs[i].ev.time_ms : clock;
        if (sch_apply_event(c, &evs[i], parts[i], why, sizeof why) < 0) {
            cm_log_fields(CM_LOG_WARN,
                          json_pack("{s:s?,s:s?,s:s}", "type", evs[i].ev.type_name, "id",
                                    evs[i].ev.id, "error", why),
                          "event not applied");
            add(e->m[CT_M_SCHEDULER_REJECTED], 1);
            e->not_applied_total++;
        }
    }
}

/* What a batch's commit leaves to do once it is durable: count, publish
 * its outs (a kept promise, the steps fired on apply, the backtest's
 * decisions). -1 when publishing failed: the outs stay in their rounds,
 * which are marked for recovery (re-published by the next firing round). */
static int batch_done(sch_engine *e, sch_ctx *c, char *errstr, size_t errlen)
{
    count_ctx(e, c);
    if (c->nouts && publish_outs(e, c, errstr, errlen) < 0) {
        for (size_t i = 0; i < c->nouts; i++)
            e->recover[c->outs[i].part] = 1;
        return -1;
    }
    e->fired_total += c->fired;
    add(e->m[CT_M_SCHEDULER_FIRED], c->fired);
    return 0;
}

/* Applies evs[0..n) in one commit over the keys under prefix. */
static int apply_one(sch_engine *e, const sch_event *evs, const int *parts, size_t n,
                     const char *prefix, int64_t clock, char *errstr, size_t errlen)
{
    int rc = -1, foa = !e->no_fire_on_apply;
    for (int attempt = 0; attempt < SCH_CAS_TRIES; attempt++) {
        sch_map *m;
        sch_ctx c;
        if (ctx_open(e, &c, &m, prefix, clock, errstr, errlen) < 0)
            return -1;
        int ok = batch_load(e, &c, evs, n, errstr, errlen) == 0;
        if (ok)
            batch_decide(e, &c, evs, parts, n, clock);
        int f = ok && foa ? fire_on_apply(e, &c, clock, errstr, errlen) : 0;
        if (f == -2) { /* the batch goes again without them; the round fires them */
            cm_log_warn("firing on apply: %s; the batch's due timers are left to the timer loop",
                        errstr);
            foa = 0;
            attempt--;
            sch_ctx_reset(&c);
            sch_map_free(m);
            continue;
        }
        ok = ok && f == 0;
        int cr = ok ? e->store.commit(e->store.be, &c, errstr, errlen) : -1;
        if (cr == 0 && batch_done(e, &c, errstr, errlen) < 0)
            cr = -1;
        sch_ctx_reset(&c);
        sch_map_free(m);
        if (cr == 0) {
            rc = 0;
            break;
        }
        if (cr < 0)
            break;
        add(e->m[CT_M_SCHEDULER_CONFLICTS], 1);
        cm_log_warn("event batch: %s; recomputing", errstr);
    }
    return rc;
}

/* ---- Two batches in flight ----
 *
 * One Redis runs one command at a time, and a batch's commit is most of
 * what Redis does for it. So that Redis commits batch k while the
 * scheduler decides batch k+1, batch k's commit is staged (built, not
 * sent) and k+1 is read first; k's commit goes in the same write as
 * the reads of k+1's last phase that can read (sch_plan_last_phase), so
 * that Redis runs it while k+1's replies are decoded:
 *
 *   k+1: plan, read + send k's commit -> decode, decide k+1, stage its
 *        commit -> k's reply -> k published, durable
 *
 * k+1 is read before Redis has k's writes. So every batch keeps an
 * overlay (store.h sch_store_mem_overlay_new): what it read, as Redis
 * replied, then its writes applied as the commit script applies them.
 * k+1 reads a key k wrote from k's overlay (what Redis will hold once k
 * commits: the value and its version), and every other key from Redis.
 * A key k wrote in part without reading it (an allocation appended to a
 * payment, a purge noted in a debtor's ring) is not known: when k+1
 * needs one, k's commit is sent and awaited first, and k+1 reads Redis.
 *
 * If k's commit fails (a version conflict, a lost connection), k+1 was
 * decided on writes that did not happen: both are dropped and applied
 * again, one at a time (sch_engine_apply), by the caller, in order. k+1's
 * commit is never sent before k's reply, so the order of commits, and of
 * published records, is the order of batches. */
struct sch_staged {
    sch_map *m;
    sch_ctx c;
    sch_store ov; /* what the batch read, then its writes */
    int sent;     /* its commit sent (store.commit_send) */
};

static void staged_free(sch_staged *b)
{
    if (!b)
        return;
    if (b->m) {
        sch_ctx_reset(&b->c);
        sch_map_free(b->m);
    }
    sch_store_mem_free(&b->ov);
    free(b);
}

/* Loads through the pipeline (above) while a batch is being read
 * (e->loading): the staged batch's overlay first, then Redis, seeding the
 * reading batch's overlay; else straight from the store. */
static int eng_load(sch_engine *e, sch_map *m, int carry, char *errstr, size_t errlen)
{
    sch_staged *cur = e->loading, *prev = e->staged;
    if (!cur)
        return e->store.load(e->store.be, m, errstr, errlen);
    if (prev && prev->sent) { /* a read after it was sent waits for it */
        size_t n = sch_map_count(m), i = 0;
        while (i < n && sch_map_at(m, i)->loaded)
            i++;
        if (i < n)
            e->pipeline_stalled = 1;
    }
    if (prev && !prev->sent) {
        int r = sch_store_mem_overlay_load(&prev->ov, m, &cur->ov, errstr, errlen);
        if (r < 0)
            return -1;
        if (r == 1) {
            e->pipeline_waits++;
            e->pipeline_stalled = 1;
            if (sch_engine_flush(e, errstr, errlen) < 0) {
                e->flush_failed = 1;
                return -1;
            }
            prev = NULL; /* committed and freed */
        }
    }
    if (carry && prev && !prev->sent) /* Redis commits it while we decode */
        return e->store.load_seed(e->store.be, m, &cur->ov, &prev->c, &prev->sent, errstr, errlen);
    return e->store.load_seed(e->store.be, m, &cur->ov, NULL, NULL, errstr, errlen);
}

int sch_engine_pipelined(const sch_engine *e)
{
    return e->pipeline && e->layout_parts <= 0 && e->store.load_seed && e->store.commit_send &&
           e->store.commit_wait;
}

/* Sends b's commit if not sent, waits for it, and finishes b (batch_done),
 * then frees it: 0 durable, -1 not (its rounds marked for recovery when
 * its reply was lost). */
static int staged_finish(sch_engine *e, sch_staged *b, char *errstr, size_t errlen)
{
    if (!b->sent)
        e->store.commit_send(e->store.be, &b->c, errstr, errlen);
    b->sent = 1;
    int r = e->store.commit_wait(e->store.be, errstr, errlen);
    if (r == 0 && batch_done(e, &b->c, errstr, errlen) < 0)
        cm_log_warn("event batch committed, publishing failed: %s (its records are re-published "
                    "by the next firing round)",
                    errstr);
    if (r < 0) /* it may have run: what it claimed is re-published */
        for (size_t i = 0; i < b->c.nouts; i++)
            e->recover[b->c.outs[i].part] = 1;
    if (r > 0)
        add(e->m[CT_M_SCHEDULER_CONFLICTS], 1);
    staged_free(b);
    return r == 0 ? 0 : -1;
}

int sch_engine_flush(sch_engine *e, char *errstr, size_t errlen)
{
    sch_staged *b = e->staged;
    e->staged = NULL;
    return b ? staged_finish(e, b, errstr, errlen) : 0;
}

int sch_engine_stage(sch_engine *e, const sch_event *evs, const int *parts, size_t n, char *errstr,
                     size_t errlen)
{
    if (!sch_engine_pipelined(e) || e->pipeline_off > 0) {
        if (e->pipeline_off > 0)
            e->pipeline_off--;
        if (sch_engine_flush(e, errstr, errlen) < 0)
            return -2;
        return sch_engine_apply(e, evs, parts, n, errstr, errlen) < 0 ? -1 : 0;
    }
    e->pipeline_stalled = 0;
    int64_t clock = e->now();
    sch_staged *cur = calloc(1, sizeof *cur);
    sch_ops ops = {0};
    int ok = 0;
    char perr[512];
    e->flush_failed = 0;
    if (!cur || sch_store_mem_overlay_new(&cur->ov) < 0 ||
        ctx_open(e, &cur->c, &cur->m, e->prefix, clock, errstr, errlen) < 0) {
        snprintf(errstr, errlen, "out of memory");
        goto cleanup;
    }
    e->loading = cur;
    if (batch_load(e, &cur->c, evs, n, errstr, errlen) < 0)
        goto cleanup;
    if (e->staged && !e->staged->sent) { /* Redis commits it while this batch is decided */
        e->store.commit_send(e->store.be, &e->staged->c, errstr, errlen);
        e->staged->sent = 1;
    }
    batch_decide(e, &cur->c, evs, parts, n, clock);
    if (!e->no_fire_on_apply && fire_on_apply(e, &cur->c, clock, errstr, errlen) != 0)
        goto cleanup; /* applied again alone (there, without them if they fail again) */
    e->loading = NULL;
    /* the overlay runs the op stream the staged commit carries (built once),
     * or one of its own when the store prepared none */
    const sch_ops *built = NULL;
    if (e->store.commit_stage)
        e->store.commit_stage(e->store.be, &cur->c, &built);
    if ((!built && sch_ops_build(&cur->c, NULL, &ops) < 0) ||
        sch_store_mem_overlay_write(&cur->ov, built ? built : &ops, errstr, errlen) < 0) {
        snprintf(errstr, errlen, "overlay: out of memory");
        goto cleanup;
    }
    ok = 1;
cleanup:
    e->loading = NULL;
    sch_ops_free(&ops);
    if (e->flush_failed) { /* the staged batch failed while this one read */
        staged_free(cur);
        return -2;
    }
    /* the batch before: durable, or not (then neither is this one) */
    if (sch_engine_flush(e, perr, sizeof perr) < 0) {
        snprintf(errstr, errlen, "%s", perr);
        staged_free(cur);
        return -2;
    }
    if (!ok) {
        staged_free(cur);
        return -1;
    }
    e->staged = cur;
    /* a batch that had to wait for the one before (firing on apply read
     * after its commit was sent, or a blind write) gained nothing from the
     * overlay: the next ones go one at a time for a while */
    if (e->pipeline_stalled)
        e->pipeline_off = SCH_PIPELINE_BACKOFF;
    return 0;
}

int sch_engine_apply(sch_engine *e, const sch_event *evs, const int *parts, size_t n, char *errstr,
                     size_t errlen)
{
    int64_t clock = e->now();
    char prefix[200];
    if (e->layout_parts <= 0)
        return apply_one(e, evs, parts, n, e->prefix, clock, errstr, errlen);
    /* the cluster layout: one commit per partition, each on its own slot
     * (a partition's events, in their order); a failed partition fails the
     * batch, and its replay finds the committed partitions' events already
     * applied (each event is applied once: apply.c) */
    sch_event *sub = malloc((n ? n : 1) * sizeof *sub);
    int *subp = malloc((n ? n : 1) * sizeof *subp);
    unsigned char *done = calloc(n ? n : 1, 1);
    int rc = -1;
    if (!sub || !subp || !done) {
        snprintf(errstr, errlen, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        if (done[i])
            continue;
        size_t k = 0;
        for (size_t j = i; j < n; j++)
            if (!done[j] && parts[j] == parts[i]) {
                sub[k] = evs[j];
                subp[k++] = parts[j];
                done[j] = 1;
            }
        if (sch_engine_prefix(e, parts[i], prefix, sizeof prefix, errstr, errlen) < 0 ||
            apply_one(e, sub, subp, k, prefix, clock, errstr, errlen) < 0)
            goto cleanup;
    }
    rc = 0;
cleanup:
    free(sub);
    free(subp);
    free(done);
    return rc;
}

void sch_engine_parse(sch_engine *e, cm_json *js, rd_kafka_message_t **msgs, size_t n,
                      sch_event *evs, int *parts)
{
    for (size_t i = 0; i < n; i++) {
        rd_kafka_message_t *m = msgs[i];
        char why[512];
        parts[i] = m->partition;
        evs[i].raw = NULL;
        if (!m->payload)
            continue;
        char src[32];
        if (cm_kafka_header(m, "ce_source", src, sizeof src) == 0 &&
            strcmp(src, CT_SCHEDULER_SOURCE) == 0)
            continue; /* its own event (records.h): not read, not acted on */
        /* decoded once: plan and apply (and a recomputed batch) read evs[i].ev */
        int ck = sch_event_decode_bytes(js, m->payload, m->len, &evs[i], why, sizeof why);
        if (ck < 0) {
            cm_log_fields(CM_LOG_WARN,
                          json_pack("{s:s,s:i,s:I,s:s}", "topic", rd_kafka_topic_name(m->rkt),
                                    "partition", (int)m->partition, "offset", (json_int_t)m->offset,
                                    "error", why),
                          "event rejected");
            add(e->m[CT_M_SCHEDULER_REJECTED], 1);
        }
        if (ck <= 0)
            continue;
        add(e->m[CT_M_SCHEDULER_APPLIED], 1);
    }
}

int sch_engine_events(sch_engine *e, rd_kafka_message_t **msgs, size_t n, char *errstr,
                      size_t errlen)
{
    sch_event *evs = calloc(n ? n : 1, sizeof *evs);
    int *parts = calloc(n ? n : 1, sizeof *parts);
    cm_json *js = cm_json_new();
    int rc = -1;
    if (!evs || !parts || !js) {
        snprintf(errstr, errlen, "out of memory");
        goto cleanup;
    }
    sch_engine_parse(e, js, msgs, n, evs, parts);
    rc = sch_engine_apply(e, evs, parts, n, errstr, errlen);
cleanup:
    cm_json_free(js);
    free(evs);
    free(parts);
    return rc;
}

/* Publishes every record of every round claimed in partition p and not
 * acknowledged (after a crash, a rebalance or a failed delivery), then,
 * once all are delivered, forgets those rounds. */
static int republish(sch_engine *e, int p, char *errstr, size_t errlen)
{
    /* settle what is in flight first, so that the flush below reports on
     * the re-published records only */
    if (sch_engine_settle(e, 1, errstr, errlen) < 0)
        return -1;
    sch_outbox ob;
    int rc = -1;
    char prefix[200];
    if (sch_engine_prefix(e, p, prefix, sizeof prefix, errstr, errlen) < 0 ||
        e->store.outbox(e->store.be, prefix, p, &ob, errstr, errlen) < 0)
        return -1;
    for (size_t i = 0; i < ob.nrecs; i++) {
        sch_out *o = &ob.recs[i];
        if (e->sink.publish(e->sink.opaque, o->topic, o->key, o->id, o->payload, strlen(o->payload),
                            errstr, errlen) < 0)
            goto cleanup;
    }
    if (ob.nrecs > 0 && e->sink.flush(e->sink.opaque, errstr, errlen) < 0)
        goto cleanup;
    /* every record delivered (or the rounds were empty): forget them */
    if (e->store.forget(e->store.be, prefix, p, ob.rounds, ob.nrounds, errstr, errlen) < 0)
        goto cleanup;
    if (ob.nrecs > 0) {
        cm_log_info("partition %d: re-published %zu claimed record(s)", p, ob.nrecs);
        e->republished_total += (long long)ob.nrecs;
        add(e->m[CT_M_SCHEDULER_REPUBLISHED], (long long)ob.nrecs);
    }
    rc = 0;
cleanup:
    sch_outbox_free(&ob);
    return rc;
}

/* Forgets the acknowledged rounds. */
static int forget_pending(sch_engine *e, char *errstr, size_t errlen)
{
    char prefix[200];
    for (size_t k = 0; k < e->npending; k++)
        if (sch_engine_prefix(e, e->pending[k].part, prefix, sizeof prefix, errstr, errlen) < 0 ||
            e->store.forget(e->store.be, prefix, e->pending[k].part, &e->pending[k].id, 1, errstr,
                            errlen) < 0)
            return -1;
    return 0;
}

static void pending_clear(sch_engine *e)
{
    for (size_t i = 0; i < e->npending; i++)
        free(e->pending[i].id);
    e->npending = 0;
    e->pending_records = 0;
}

/* Settles published rounds: once the producer has no record in flight,
 * either every delivery succeeded (forget their rounds) or some failed
 * (leave them claimed and re-publish them next round). With block, waits for
 * the delivery reports first. Returns -1 when a failure was seen. */
int sch_engine_settle(sch_engine *e, int block, char *errstr, size_t errlen)
{
    if (e->npending == 0)
        return 0;
    int failed = 0;
    if (block) {
        failed = e->sink.flush(e->sink.opaque, errstr, errlen) < 0;
    } else {
        int inflight = e->sink.inflight(e->sink.opaque, &failed);
        if (!failed && inflight > 0)
            return 0; /* not yet */
        if (failed)
            snprintf(errstr, errlen, "a delivery failed");
    }
    if (failed) {
        for (size_t i = 0; i < e->npending; i++)
            e->recover[e->pending[i].part] = 1;
        pending_clear(e);
        return -1;
    }
    if (forget_pending(e, errstr, errlen) < 0)
        return -1; /* kept: re-published later */
    pending_clear(e);
    return 0;
}

/* A firing round over some partitions, in one commit over the keys under
 * one prefix, in four steps: round_peek (the due timers and their
 * records), round_decide (the steps, grouping, retention: the commit's
 * contents), the commit, round_finish (metrics, publish). */
typedef struct fire_round {
    sch_map *m;
    sch_ctx c;
    int ctx_ok;
    /* the peek (round_fetch): fetched, not yet decoded (store.h
     * peek_fetch), or its result when the store has only peek */
    void *fetched;
    int (*fetched_free)(void *be, void *fetched, sch_map *m, int *counts, int64_t *next_due,
                        char *errstr, size_t errlen);
    void *be;
    int np, peek_rc;
    int counts[SCH_MAX_PARTS];
} fire_round;

static void round_free(fire_round *f)
{
    char err[64];
    if (f->fetched) /* fetched and never decoded: only freed */
        f->fetched_free(f->be, f->fetched, NULL, NULL, NULL, err, sizeof err);
    if (f->ctx_ok)
        sch_ctx_reset(&f->c);
    sch_map_free(f->m);
    *f = (fire_round){0};
}

/* The peek of parts[0..np) into f, in two calls when the store has them
 * (store.h peek_fetch): round_fetch reads, round_fetched decodes and
 * returns how many records (or -1), *more set when a partition had more
 * than fire_batch. Between the two the caller may send a commit. */
static int round_fetch(sch_engine *e, fire_round *f, const int *parts, int np, const char *prefix,
                       int64_t now, char *errstr, size_t errlen)
{
    *f = (fire_round){0};
    f->np = np;
    f->m = sch_map_new();
    if (!f->m || sch_ctx_init(&f->c, e->pol, prefix, now, f->m) < 0) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    f->ctx_ok = 1;
    f->c.decide = e->decide;
    f->c.pols = e->pols;
    f->c.retention = e->retention;
    if (e->store.peek_fetch) {
        f->fetched_free = e->store.peek_finish;
        f->be = e->store.be;
        return e->store.peek_fetch(e->store.be, prefix, parts, np, now, e->fire_batch, &f->fetched,
                                   errstr, errlen);
    }
    f->peek_rc = e->store.peek(e->store.be, prefix, parts, np, now, e->fire_batch, f->m, f->counts,
                               &e->next_due, errstr, errlen);
    return 0;
}

static long round_fetched(sch_engine *e, fire_round *f, int *more, char *errstr, size_t errlen)
{
    if (e->store.peek_fetch) {
        void *fetched = f->fetched;
        f->fetched = NULL; /* freed by peek_finish */
        f->peek_rc = e->store.peek_finish(e->store.be, fetched, f->m, f->counts, &e->next_due,
                                          errstr, errlen);
    }
    if (f->peek_rc < 0)
        return -1;
    for (int i = 0; i < f->np; i++)
        if (f->counts[i] >= e->fire_batch)
            *more = 1;
    return (long)sch_map_count(f->m);
}

static long round_peek(sch_engine *e, fire_round *f, const int *parts, int np, const char *prefix,
                       int64_t now, int *more, char *errstr, size_t errlen)
{
    if (round_fetch(e, f, parts, np, prefix, now, errstr, errlen) < 0)
        return -1;
    return round_fetched(e, f, more, errstr, errlen);
}

/* The steps of a peeked round, its groups and its retention: 0, or -1. */
static int round_decide(sch_engine *e, fire_round *f, char *errstr, size_t errlen)
{
    sch_ctx *c = &f->c;
    sch_map *m = f->m;
    size_t nrec = sch_map_count(m);
    /* grouping: the debtors of due steps whole, with their open invoices */
    int whole = sch_plan_fire(c, nrec, 1);
    if (whole < 0 || (whole > 0 && (e->store.load(e->store.be, m, errstr, errlen) < 0 ||
                                    sch_plan_fire(c, nrec, 2) < 0 ||
                                    e->store.load(e->store.be, m, errstr, errlen) < 0))) {
        if (whole < 0)
            snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    if (fire_marked(e, c, nrec, errstr, errlen) < 0)
        return -1;
    /* the records whose retention ran out (retention.h), as they are after
     * this round's steps */
    if (e->store.load(e->store.be, m, errstr, errlen) < 0)
        return -1;
    if (sch_purge_round(c) < 0) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* round_peek, then round_decide when something was due: 1 with a commit
 * to make, 0 with nothing due, -1 on error. */
static int round_prepare(sch_engine *e, fire_round *f, const int *parts, int np, const char *prefix,
                         int64_t now, int *more, char *errstr, size_t errlen)
{
    long n = round_peek(e, f, parts, np, prefix, now, more, errstr, errlen);
    if (n < 0 || (n > 0 && round_decide(e, f, errstr, errlen) < 0))
        return -1;
    return n > 0;
}

/* After the commit (its result cr): the number of records published, or
 * -1. A commit that failed may have run (its reply lost): its partitions
 * are recovered (republish) before they fire again. */
static int round_finish(sch_engine *e, fire_round *f, int cr, char *errstr, size_t errlen)
{
    sch_ctx *c = &f->c;
    if (cr == 1) { /* someone else advanced these invoices: publish nothing */
        add(e->m[CT_M_SCHEDULER_CONFLICTS], 1);
        cm_log_warn("fire: %s; skipped this round", errstr);
        return 0;
    }
    if (cr < 0)
        goto failed;
    count_ctx(e, c);
    if (c->nouts && e->crash_after_claims > 0 && --e->crash_after_claims == 0) {
        cm_log_warn("ARREARS_SCHEDULER_FAULT: exiting after a claim, before publishing");
        _exit(137); /* as if killed: nothing flushed, nothing committed */
    }
    if (publish_outs(e, c, errstr, errlen) < 0)
        goto failed;
    e->fired_total += c->fired;
    add(e->m[CT_M_SCHEDULER_FIRED], c->fired);
    return (int)c->nouts;
failed:
    /* leave the rounds claimed; the next round re-publishes the stored bytes */
    for (size_t i = 0; i < c->nouts; i++)
        e->recover[c->outs[i].part] = 1;
    return -1;
}

/* One firing round over parts[0..np), in one commit over the keys under
 * prefix: the number of records published, or -1. */
static int fire_parts(sch_engine *e, const int *parts, int np, const char *prefix, int64_t now,
                      int *more, char *errstr, size_t errlen)
{
    fire_round f;
    int rc = round_prepare(e, &f, parts, np, prefix, now, more, errstr, errlen);
    if (rc > 0)
        rc =
            round_finish(e, &f, e->store.commit(e->store.be, &f.c, errstr, errlen), errstr, errlen);
    round_free(&f);
    return rc;
}

/* Two halves. On one Redis the firing loop is otherwise serial: Redis
 * runs a round's commit while the scheduler waits, and the scheduler
 * decides the next round while Redis waits. With the owned partitions in
 * two halves, one half's commit is in flight (store.h commit_send) while
 * the other half's round is decided, and the scheduler does all it can
 * while Redis runs a commit:
 *
 *   read B's peek | send A's commit | decode B's peek, publish and free the
 *   round committed before A, decide B, build B's commit (Redis: A's
 *   commit) | A's result |
 *   read A's peek | send B's commit | decode A's peek, publish A, decide A,
 *   build A's commit (Redis: B's commit) | B's result | ...
 *
 * A half is peeked only after its own last commit completed, and before
 * the other's commit is sent (the peek's reads would otherwise queue
 * behind that commit in Redis). The halves' keys are disjoint (a
 * debtor's records are all in its partition), and every commit still
 * checks the versions of what it read. Rounds are published in the
 * order they committed, by one producer; a committed round is published
 * (or its partitions marked for recovery) on every way out. Rounds alternate while a half has more
 * due timers, for at most FIRE_SLICE_MS, then the loop applies events
 * again. Returns the number of records published, or -1. */
#define FIRE_SLICE_MS 200

static int fire_halves(sch_engine *e, const int *parts, int np, int64_t now, int *more,
                       char *errstr, size_t errlen)
{
    const int *hp[2] = {parts, parts + np / 2};
    int hn[2] = {np / 2, np - np / 2};
    fire_round f[2] = {{0}}, done = {0};
    int ready[2] = {0, 0}, hmore[2] = {0, 0}, published = 0, rc = -1, have_done = 0, done_cr = 0;
    char done_err[256] = "";
    int64_t until = cm_mono_ms() + FIRE_SLICE_MS;
    if ((ready[0] =
             round_prepare(e, &f[0], hp[0], hn[0], e->prefix, now, &hmore[0], errstr, errlen)) < 0)
        goto cleanup;
    long n = 0;
    int k = 0, first = 1;
    for (;;) {
        int o = k ^ 1, left = cm_mono_ms() < until;
        int next = first || (hmore[o] && left) ? o : hmore[k] && left ? k : -1;
        first = 0;
        if (next == o) {
            hmore[o] = 0;
            round_free(&f[o]);
            if (round_fetch(e, &f[o], hp[o], hn[o], e->prefix, now, errstr, errlen) < 0)
                goto cleanup;
        }
        if (ready[k] && e->store.commit_send(e->store.be, &f[k].c, errstr, errlen) < 0)
            goto cleanup;
        /* while Redis runs k's commit: o's peek decoded, the round
         * committed before k (published, freed), and o's decision */
        n = next == o ? round_fetched(e, &f[o], &hmore[o], errstr, errlen) : 0;
        int failed = n < 0;
        if (have_done) {
            int r = round_finish(e, &done, done_cr, done_err, sizeof done_err);
            round_free(&done);
            have_done = 0;
            if (r < 0 && !failed)
                snprintf(errstr, errlen, "%s", done_err);
            failed |= r < 0;
            published += r > 0 ? r : 0;
        }
        if (!failed && next == o && n > 0) {
            failed = round_decide(e, &f[o], errstr, errlen) < 0;
            if (!failed && e->store.commit_stage)
                e->store.commit_stage(e->store.be, &f[o].c, NULL);
        }
        if (ready[k]) {
            char err2[sizeof done_err] = "";
            int cr = e->store.commit_wait(e->store.be, err2, sizeof err2);
            ready[k] = 0;
            if (cr < 0 || failed) { /* k's outcome now, then stop */
                (void)round_finish(e, &f[k], cr, err2, sizeof err2); /* publishes or recovers */
                if (!failed)
                    snprintf(errstr, errlen, "%s", err2);
                goto cleanup;
            }
            done = f[k]; /* finished during the next commit */
            f[k] = (fire_round){0};
            done_cr = cr;
            memcpy(done_err, err2, sizeof done_err);
            have_done = 1;
        }
        if (failed)
            goto cleanup;
        round_free(&f[k]);
        if (next == o) {
            ready[o] = n > 0;
            k = o;
        } else if (next == k) { /* only this half has more: round by round */
            hmore[k] = 0;
            if ((ready[k] = round_prepare(e, &f[k], hp[k], hn[k], e->prefix, now, &hmore[k], errstr,
                                          errlen)) < 0)
                goto cleanup;
        } else {
            break;
        }
    }
    *more = hmore[0] || hmore[1];
    rc = 0;
cleanup:
    /* a committed round not finished yet is published (or its partitions
     * marked for recovery) whatever happened since */
    if (have_done) {
        int r = round_finish(e, &done, done_cr, done_err, sizeof done_err);
        if (r < 0 && rc == 0)
            snprintf(errstr, errlen, "%s", done_err);
        rc = r < 0 ? -1 : rc;
        published += r > 0 ? r : 0;
    }
    rc = rc == 0 ? published : -1;
    round_free(&done);
    round_free(&f[0]);
    round_free(&f[1]);
    return rc;
}

int sch_engine_due(sch_engine *e, int *due, char *errstr, size_t errlen)
{
    int parts[SCH_MAX_PARTS], np = 0;
    *due = !e->store.due_any || e->layout_parts > 0;
    for (int p = 0; p < SCH_MAX_PARTS && !*due; p++) {
        if (e->owned[p])
            parts[np++] = p;
        *due = e->owned[p] && e->recover[p];
    }
    if (*due || np == 0)
        return 0;
    return e->store.due_any(e->store.be, e->prefix, parts, np, e->now(), due, errstr, errlen);
}

int sch_engine_fire(sch_engine *e, int *more, char *errstr, size_t errlen)
{
    int parts[SCH_MAX_PARTS], np = 0;
    char prefix[200];
    *more = 0;
    if (sch_engine_settle(e, e->pending_records > 50000, errstr, errlen) < 0)
        cm_log_warn("settling published records: %s (re-publishing them)", errstr);
    for (int p = 0; p < SCH_MAX_PARTS; p++) {
        if (!e->owned[p])
            continue;
        if (e->recover[p]) {
            if (republish(e, p, errstr, errlen) < 0)
                return -1;
            e->recover[p] = 0;
        }
        parts[np++] = p;
    }
    e->next_due = INT64_MAX;
    if (np == 0)
        return 0;
    int64_t now = e->now();
    if (e->layout_parts <= 0)
        return np >= 2 && e->store.commit_send
                   ? fire_halves(e, parts, np, now, more, errstr, errlen)
                   : fire_parts(e, parts, np, e->prefix, now, more, errstr, errlen);
    /* the cluster layout: a round per partition, each on its own slot */
    int published = 0;
    for (int i = 0; i < np; i++) {
        int r = sch_engine_prefix(e, parts[i], prefix, sizeof prefix, errstr, errlen) < 0
                    ? -1
                    : fire_parts(e, &parts[i], 1, prefix, now, more, errstr, errlen);
        if (r < 0)
            return -1;
        published += r;
    }
    return published;
}
