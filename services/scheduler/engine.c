/* engine.c -- event batches and timer firing over Redis (see engine.h). */
#include "engine.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "vec.h"
#include "jarena.h"
#include "log.h"
#include "store.h"

#define SCH_CAS_TRIES 5

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

int sch_engine_apply(sch_engine *e, const sch_event *evs, const int *parts, size_t n, char *errstr,
                     size_t errlen)
{
    int rc = -1;
    for (int attempt = 0; attempt < SCH_CAS_TRIES; attempt++) {
        sch_map *m = sch_map_new();
        sch_ctx c;
        if (!m || sch_ctx_init(&c, e->pol, e->prefix, e->now(), m) < 0) {
            sch_map_free(m);
            snprintf(errstr, errlen, "out of memory");
            return -1;
        }
        int ok = 1;
        for (int phase = 1; phase <= 2 && ok; phase++) {
            for (size_t i = 0; i < n && ok; i++)
                if (evs[i].json && sch_plan_event(&c, &evs[i], phase) < 0)
                    ok = 0;
            if (ok && sch_store_load(e->redis, m, errstr, errlen) < 0)
                ok = 0;
        }
        for (size_t i = 0; i < n && ok; i++) {
            char why[512];
            if (!evs[i].json)
                continue;
            if (sch_apply_event(&c, &evs[i], parts[i], why, sizeof why) < 0) {
                cm_log_fields(CM_LOG_WARN,
                              json_pack("{s:s?,s:s?,s:s}", "type", evs[i].ev.type_name, "id",
                                        evs[i].ev.id, "error", why),
                              "event not applied");
                add(e->m[CT_M_SCHEDULER_REJECTED], 1);
            }
        }
        int cr = ok ? sch_store_commit(e->redis, &c, errstr, errlen) : -1;
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

void sch_engine_parse(sch_engine *e, rd_kafka_message_t **msgs, size_t n, sch_event *evs,
                      int *parts)
{
    for (size_t i = 0; i < n; i++) {
        rd_kafka_message_t *m = msgs[i];
        json_error_t je;
        char why[512];
        parts[i] = m->partition;
        evs[i].json = NULL;
        if (!m->payload)
            continue;
        sch_jarena_begin(); /* the tree only: checks and logs allocate from the heap */
        json_t *ev = json_loadb(m->payload, m->len, 0, &je);
        sch_jarena_end();
        /* decoded once: plan and apply (and a recomputed batch) read evs[i].ev */
        int ck = ev ? sch_event_decode(ev, &evs[i], why, sizeof why) : -1;
        if (!ev)
            snprintf(why, sizeof why, "not JSON: %s (line %d)", je.text, je.line);
        if (ck < 0) {
            cm_log_fields(CM_LOG_WARN,
                          json_pack("{s:s,s:i,s:I,s:s}", "topic", rd_kafka_topic_name(m->rkt),
                                    "partition", (int)m->partition, "offset", (json_int_t)m->offset,
                                    "error", why),
                          "event rejected");
            add(e->m[CT_M_SCHEDULER_REJECTED], 1);
        }
        if (ck <= 0) {
            evs[i].json = NULL;
            json_decref(ev);
            continue;
        }
        add(e->m[CT_M_SCHEDULER_APPLIED], 1);
    }
}

int sch_engine_events(sch_engine *e, rd_kafka_message_t **msgs, size_t n, char *errstr,
                      size_t errlen)
{
    sch_event *evs = calloc(n ? n : 1, sizeof *evs);
    int *parts = calloc(n ? n : 1, sizeof *parts);
    int rc = -1;
    if (!evs || !parts) {
        snprintf(errstr, errlen, "out of memory");
        goto cleanup;
    }
    sch_engine_parse(e, msgs, n, evs, parts);
    rc = sch_engine_apply(e, evs, parts, n, errstr, errlen);
cleanup:
    for (size_t i = 0; evs && i < n; i++)
        json_decref(evs[i].json);
    free(evs);
    free(parts);
    return rc;
}

/* Queues UNLINK of each round key and SREM from its partition's set. */
static int forget_round(cm_redis_pipe *pipe, const char *prefix, int part, const char *rk)
{
    char set[200];
    sch_store_out_key(set, sizeof set, prefix, part);
    const char *ul[2] = {"UNLINK", rk}, *sr[3] = {"SREM", set, rk};
    return cm_redis_pipe_add_argv(pipe, 2, ul, NULL) < 0 ||
                   cm_redis_pipe_add_argv(pipe, 3, sr, NULL) < 0
               ? -1
               : 0;
}

/* Publishes every record of every round claimed in partition p and not
 * acknowledged (after a crash, a rebalance or a failed delivery), then,
 * once all are delivered, forgets those rounds. */
static int republish(sch_engine *e, int p, char *errstr, size_t errlen)
{
    char set[200];
    /* settle what is in flight first, so that the flush below reports on
     * the re-published records only */
    if (sch_engine_settle(e, 1, errstr, errlen) < 0)
        return -1;
    int rc = -1, n = 0;
    sch_store_out_key(set, sizeof set, e->prefix, p);
    redisReply *rounds = cm_redis_cmd(e->redis, errstr, errlen, "SMEMBERS %s", set);
    cm_redis_pipe *get = NULL, *pipe = NULL;
    if (!rounds)
        return -1;
    if (rounds->type != REDIS_REPLY_ARRAY) {
        snprintf(errstr, errlen, "SMEMBERS %s: unexpected reply", set);
        goto cleanup;
    }
    if (rounds->elements == 0) {
        rc = 0;
        goto cleanup;
    }
    get = cm_redis_pipe_new();
    pipe = cm_redis_pipe_new();
    if (!get || !pipe) {
        snprintf(errstr, errlen, "out of memory");
        goto cleanup;
    }
    for (size_t r = 0; r < rounds->elements; r++) {
        const char *hg[2] = {"HGETALL", rounds->element[r]->str};
        if (cm_redis_pipe_add_argv(get, 2, hg, NULL) < 0 ||
            forget_round(pipe, e->prefix, p, rounds->element[r]->str) < 0) {
            snprintf(errstr, errlen, "out of memory");
            goto cleanup;
        }
    }
    if (cm_redis_pipe_exec(e->redis, get, errstr, errlen) < 0)
        goto cleanup;
    for (size_t r = 0; r < rounds->elements; r++) {
        redisReply *rep = cm_redis_pipe_reply(get, r);
        if (!rep || rep->type != REDIS_REPLY_ARRAY) {
            snprintf(errstr, errlen, "HGETALL %s: unexpected reply", rounds->element[r]->str);
            goto cleanup;
        }
        for (size_t i = 0; i + 1 < rep->elements; i += 2) {
            const char *id = rep->element[i]->str, *v = rep->element[i + 1]->str;
            const char *nl1 = strchr(v, '\n'), *nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;
            if (!nl1 || !nl2)
                continue;
            char k[512];
            snprintf(k, sizeof k, "%.*s", (int)(nl2 - nl1 - 1), nl1 + 1);
            if (e->sink.publish(e->sink.opaque, v[0], k, id, nl2 + 1,
                                rep->element[i + 1]->len - (size_t)(nl2 + 1 - v), errstr,
                                errlen) < 0)
                goto cleanup;
            n++;
        }
    }
    if (n > 0 && e->sink.flush(e->sink.opaque, errstr, errlen) < 0)
        goto cleanup;
    /* every record delivered (or the rounds were empty): forget them */
    if (cm_redis_pipe_exec(e->redis, pipe, errstr, errlen) < 0)
        goto cleanup;
    if (n > 0) {
        cm_log_info("partition %d: re-published %d claimed record(s)", p, n);
        e->republished_total += n;
        add(e->m[CT_M_SCHEDULER_REPUBLISHED], n);
    }
    rc = 0;
cleanup:
    cm_redis_pipe_free(get);
    cm_redis_pipe_free(pipe);
    freeReplyObject(rounds);
    return rc;
}

/* Forgets the acknowledged rounds: UNLINK (freed off Redis's main thread)
 * and SREM from the partition's set, one pipeline. */
static int forget_pending(sch_engine *e, char *errstr, size_t errlen)
{
    cm_redis_pipe *pipe = cm_redis_pipe_new();
    int rc = -1;
    if (!pipe) {
        snprintf(errstr, errlen, "out of memory");
        goto cleanup;
    }
    for (size_t k = 0; k < e->npending; k++)
        if (forget_round(pipe, e->prefix, e->pending[k].part, e->pending[k].id) < 0) {
            snprintf(errstr, errlen, "out of memory");
            goto cleanup;
        }
    rc = cm_redis_pipe_len(pipe) ? cm_redis_pipe_exec(e->redis, pipe, errstr, errlen) : 0;
cleanup:
    cm_redis_pipe_free(pipe);
    return rc;
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

int sch_engine_fire(sch_engine *e, int *more, char *errstr, size_t errlen)
{
    int parts[SCH_MAX_PARTS], counts[SCH_MAX_PARTS], np = 0, rc = -1, published = 0;
    sch_map *m = NULL;
    sch_ctx c;
    int ctx_ok = 0;
    cm_redis_pipe *pipe = NULL;
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
    if (np == 0) {
        e->next_due = INT64_MAX;
        return 0;
    }
    int64_t now = e->now();
    m = sch_map_new();
    if (!m || sch_ctx_init(&c, e->pol, e->prefix, now, m) < 0) {
        snprintf(errstr, errlen, "out of memory");
        goto cleanup;
    }
    ctx_ok = 1;
    e->next_due = INT64_MAX;
    if (sch_store_peek(e->redis, e->prefix, parts, np, now, e->fire_batch, m, counts, &e->next_due,
                       errstr, errlen) < 0)
        goto cleanup;
    for (int i = 0; i < np; i++)
        if (counts[i] >= e->fire_batch)
            *more = 1;
    size_t nrec = sch_map_count(m);
    if (nrec == 0) {
        rc = 0;
        goto cleanup;
    }
    for (size_t i = 0; i < nrec; i++) {
        sch_rec *inv = sch_map_at(m, i);
        if (inv->type != SCH_T_INV)
            continue;
        char ck[512];
        sch_key(ck, sizeof ck, e->prefix, 'c', inv->tenant, inv->u.inv.customer);
        sch_rec *cust = inv->exists ? sch_map_get(m, ck) : NULL;
        int64_t due = inv->u.inv.next_ms;
        int r = sch_fire_invoice(&c, inv, cust);
        if (r < 0) {
            snprintf(errstr, errlen,
                     "building a command failed (out of memory, or its id did not fit)");
            goto cleanup;
        }
        if (r > 0 && e->m[CT_M_SCHEDULER_LATENESS]) {
            int64_t late = -cm_clock_real_delay_ms(due);
            cm_metric_observe(e->m[CT_M_SCHEDULER_LATENESS],
                              late > 0 ? (double)late / 1000.0 : 0.0);
        }
    }
    int cr = sch_store_commit(e->redis, &c, errstr, errlen);
    if (cr == 1) { /* someone else advanced these invoices: publish nothing */
        add(e->m[CT_M_SCHEDULER_CONFLICTS], 1);
        cm_log_warn("fire: %s; skipped this round", errstr);
        rc = 0;
        goto cleanup;
    }
    if (cr < 0)
        goto cleanup;
    add(e->m[CT_M_SCHEDULER_SKIPPED], c.skipped);
    if (c.nouts && e->crash_after_claims > 0 && --e->crash_after_claims == 0) {
        cm_log_warn("ARREARS_SCHEDULER_FAULT: exiting after a claim, before publishing");
        _exit(137); /* as if killed: nothing flushed, nothing committed */
    }
    /* committed: the records are durable in their rounds; publish them */
    for (size_t i = 0; i < c.nouts; i++) {
        sch_out *o = &c.outs[i];
        if (e->sink.publish(e->sink.opaque, o->topic, o->key, o->id, o->payload, strlen(o->payload),
                            errstr, errlen) < 0) {
            e->recover[o->part] = 1;
            goto failed;
        }
    }
    /* the records are acknowledged asynchronously: the next rounds claim
     * and publish while these are in flight; sch_engine_settle marks them
     * done once the producer reports every delivery */
    /* one pending entry per (partition, round): its key */
    unsigned char seen[SCH_MAX_PARTS] = {0};
    for (size_t i = 0; i < c.nouts; i++) {
        int part = c.outs[i].part;
        if (part < 0 || part >= SCH_MAX_PARTS || seen[part])
            continue;
        seen[part] = 1;
        if (CM_GROW(e->pending, e->cappending, e->npending + 1) < 0)
            goto failed;
        char rk[300];
        sch_store_round_key(rk, sizeof rk, e->prefix, part, c.round);
        e->pending[e->npending].part = part;
        e->pending[e->npending].id = strdup(rk);
        if (!e->pending[e->npending].id)
            goto failed;
        e->npending++;
    }
    e->pending_records += c.nouts;
    published = (int)c.nouts;
    e->fired_total += c.fired;
    add(e->m[CT_M_SCHEDULER_FIRED], c.fired);
    rc = published;
    goto cleanup;
failed:
    /* leave the rounds claimed; the next round re-publishes the stored bytes */
    for (size_t i = 0; i < c.nouts; i++)
        e->recover[c.outs[i].part] = 1;
    rc = -1;
cleanup:
    cm_redis_pipe_free(pipe);
    if (ctx_ok)
        sch_ctx_reset(&c);
    sch_map_free(m);
    return rc;
}
