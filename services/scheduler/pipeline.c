/* pipeline.c -- the scheduler's Kafka sink and its loop (pipeline.h),
 * moved out of main.c with its behaviour unchanged: the service runtime
 * (common/service.c) polls, these functions do each turn's work. */
#include "pipeline.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "records.h"
#include "log.h"

static int add_header(rd_kafka_headers_t *h, const char *name, const char *v)
{
    if (!v)
        return 0;
    return rd_kafka_header_add(h, name, -1, v, -1) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

static int ks_publish(void *opaque, char topic, const char *key, const char *id,
                      const char *payload, size_t len, char *errstr, size_t errlen)
{
    sch_kafka_sink *k = opaque;
    rd_kafka_headers_t *h = rd_kafka_headers_new(4);
    if (!h) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    /* from what the outbox keeps of the record, never its payload */
    sch_headers hs;
    sch_record_headers(topic, key, id, &hs);
    for (size_t i = 0; i < hs.n; i++)
        add_header(h, hs.name[i], hs.value[i]);
    const char *to = topic == 'e' ? k->events : topic == 'x' ? k->escalations : k->commands;
    return cm_kafka_produce(k->rk, to, key, strlen(key), payload, len, h, errstr, errlen);
}

static int ks_inflight(void *opaque, int *failed)
{
    sch_kafka_sink *k = opaque;
    rd_kafka_poll(k->rk, 0);
    *failed = k->dr->failed > 0;
    if (*failed)
        k->dr->failed = 0;
    return rd_kafka_outq_len(k->rk);
}

static int ks_flush(void *opaque, char *errstr, size_t errlen)
{
    sch_kafka_sink *k = opaque;
    return cm_kafka_wait_delivered(k->rk, k->dr, k->timeout_ms, errstr, errlen);
}

void sch_kafka_sink_bind(sch_kafka_sink *k, sch_sink *out)
{
    out->publish = ks_publish;
    out->flush = ks_flush;
    out->inflight = ks_inflight;
    out->opaque = k;
}

void sch_kafka_warm_up(rd_kafka_t *producer, const char *const *topics, int n)
{
    for (int i = 0; i < n; i++) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(producer, topics[i], NULL);
        const struct rd_kafka_metadata *md = NULL;
        if (rkt && rd_kafka_metadata(producer, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR)
            rd_kafka_metadata_destroy(md);
        else
            cm_log_warn("no metadata yet for %s (the first records will wait for it)", topics[i]);
        if (rkt)
            rd_kafka_topic_destroy(rkt);
    }
}

typedef struct parse_job {
    sch_engine *e;
    sch_batch *b;
} parse_job;

static void *parse_thread(void *arg)
{
    parse_job *j = arg;
    sch_engine_parse(j->e, j->b->js, j->b->msgs, j->b->n, j->b->evs, j->b->parts);
    return NULL;
}

static int batch_alloc(sch_batch *b, size_t max)
{
    b->msgs = calloc(max, sizeof *b->msgs);
    b->evs = calloc(max, sizeof *b->evs);
    b->parts = calloc(max, sizeof *b->parts);
    b->js = cm_json_new();
    b->n = 0;
    return b->msgs && b->evs && b->parts && b->js ? 0 : -1;
}

static void batch_release(sch_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        b->evs[i].raw = NULL;
        rd_kafka_message_destroy(b->msgs[i]);
    }
    b->n = 0;
    if (b->js)
        cm_json_clear(b->js); /* its trees are gone */
}

static void batch_free(sch_batch *b)
{
    if (b->msgs)
        batch_release(b);
    free(b->msgs);
    free(b->evs);
    free(b->parts);
    cm_json_free(b->js);
    memset(b, 0, sizeof *b);
}

/* Stores the offsets of b, whose effects are durable. */
static void batch_durable(cm_service *s, sch_batch *b)
{
    char err[512];
    if (b->n && cm_kafka_store(s->consumer, b->msgs, b->n, err, sizeof err) != 0)
        cm_log_warn("store offsets: %s (the batch will be replayed)", err);
}

/* Applies a parsed batch and stores its offsets. A failure (Redis
 * restarting: LOADING, a reset connection; CAS tries used up) is retried in
 * place, backing off 100 ms to 2 s, for up to SCH_BATCH_RETRY_MS while the
 * service runs, /readyz saying so: every attempt starts from a fresh map
 * and the commit scripts are idempotent, so this is what a restart from
 * the committed offsets would do, without the restart. Then -1: the
 * caller stops the service (the group replays from the committed
 * offsets). */
#define SCH_BATCH_RETRY_MS 60000
static int batch_apply(sch_engine *e, cm_service *s, sch_batch *b, char *err, size_t errlen)
{
    if (b->n == 0)
        return 0;
    int64_t start = cm_mono_ms(), wait = 100;
    int ok;
    while (!(ok = sch_engine_apply(e, b->evs, b->parts, b->n, err, errlen) == 0) &&
           cm_service_run && cm_mono_ms() - start < SCH_BATCH_RETRY_MS) {
        atomic_store(&s->ready.redis_ok, 0);
        cm_log_warn("event batch not applied: %s (retrying in %lld ms)", err, (long long)wait);
        struct timespec ts = {(time_t)(wait / 1000), (long)(wait % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        wait = wait * 2 > 2000 ? 2000 : wait * 2;
    }
    if (ok)
        atomic_store(&s->ready.redis_ok, 1);
    if (ok)
        batch_durable(s, b);
    batch_release(b);
    return ok ? 0 : -1;
}

/* Makes the held batch durable: its staged commit, or it applied again
 * alone when that failed. -1 when it cannot be (as batch_apply). */
static int held_flush(sch_loop *l, cm_service *s, char *err, size_t errlen)
{
    if (!l->held.n)
        return 0;
    int r = l->held_state == SCH_HELD_STAGED    ? sch_engine_flush(l->eng, err, errlen)
            : l->held_state == SCH_HELD_DURABLE ? 0
                                                : -1;
    if (l->held_state == SCH_HELD_AGAIN)
        snprintf(err, errlen, "its staged commit failed at a revocation");
    l->held_state = SCH_HELD_STAGED;
    if (r == 0) {
        batch_durable(s, &l->held);
        batch_release(&l->held);
        return 0;
    }
    cm_log_warn("event batch: %s (applying it again)", err);
    return batch_apply(l->eng, s, &l->held, err, errlen);
}

/* Applies the current batch: staged, when the engine pipelines, while the
 * held one commits (engine.h sch_engine_stage); the batch that becomes
 * durable has its offsets stored. -1 as batch_apply. */
static int cur_apply(sch_loop *l, cm_service *s, char *err, size_t errlen)
{
    if (!l->cur.n)
        return held_flush(l, s, err, errlen);
    if (l->held.n && l->held_state != SCH_HELD_STAGED && held_flush(l, s, err, errlen) < 0)
        return -1;
    int r = sch_engine_stage(l->eng, l->cur.evs, l->cur.parts, l->cur.n, err, errlen);
    if (r == -2) {
        cm_log_warn("event batches: %s (applying them again, one at a time)", err);
        return batch_apply(l->eng, s, &l->held, err, errlen) < 0 ||
                       batch_apply(l->eng, s, &l->cur, err, errlen) < 0
                   ? -1
                   : 0;
    }
    if (l->held.n) {
        batch_durable(s, &l->held);
        batch_release(&l->held);
    }
    if (r == -1) {
        cm_log_warn("event batch: %s (applying it again)", err);
        return batch_apply(l->eng, s, &l->cur, err, errlen);
    }
    atomic_store(&s->ready.redis_ok, 1);
    if (l->eng->staged) { /* cur is held now; held's emptied buffers are the next cur */
        sch_batch tmp = l->held;
        l->held = l->cur;
        l->cur = tmp;
        l->held_state = SCH_HELD_STAGED;
    } else {
        batch_durable(s, &l->cur);
        batch_release(&l->cur);
    }
    return 0;
}

int sch_loop_flush(cm_service *s, void *loop)
{
    char err[1024];
    return held_flush(loop, s, err, sizeof err);
}

int sch_loop_init(sch_loop *l, sch_engine *e, size_t max, int tick)
{
    memset(l, 0, sizeof *l);
    l->eng = e;
    l->tick = tick;
    return batch_alloc(&l->cur, max) == 0 && batch_alloc(&l->next, max) == 0 &&
                   batch_alloc(&l->held, max) == 0
               ? 0
               : -1;
}

void sch_loop_free(sch_loop *l)
{
    batch_free(&l->cur);
    batch_free(&l->next);
    batch_free(&l->held);
}

int sch_loop_poll_wait(cm_service *s, void *loop)
{
    sch_loop *l = loop;
    (void)s;
    if (l->more || l->cur.n || l->held.n)
        return 0;
    if (l->eng->next_due == INT64_MAX)
        return l->tick;
    int64_t d = cm_clock_real_delay_ms(l->eng->next_due);
    return d < 0 ? 0 : d < l->tick ? (int)d : l->tick;
}

int sch_loop_on_batch(cm_service *s, void *loop, rd_kafka_message_t **msgs, size_t n)
{
    sch_loop *l = loop;
    char err[1024];
    rd_kafka_poll(s->producer, 0);
    memcpy(l->next.msgs, msgs, n * sizeof *msgs);
    l->next.n = n;
    pthread_t th;
    parse_job job = {l->eng, &l->next};
    int threaded = n > 0 && pthread_create(&th, NULL, parse_thread, &job) == 0;
    if (n > 0 && !threaded)
        parse_thread(&job);
    int ok = cur_apply(l, s, err, sizeof err) == 0;
    if (threaded)
        pthread_join(th, NULL);
    if (!ok) {
        /* not durable: do not commit; restart from the committed offsets */
        cm_log_error("event batch failed: %s", err);
        atomic_store(&s->ready.redis_ok, 0);
        return -1;
    }
    sch_batch tmp = l->cur;
    l->cur = l->next;
    l->next = tmp;
    return CM_BATCH_TAKEN;
}

int sch_loop_on_tick(cm_service *s, void *loop)
{
    sch_loop *l = loop;
    char err[1024];
    /* with a parsed batch waiting, apply it first (timers then see the
     * freshest state), but never starve the timers for longer than a tick */
    if (l->cur.n > 0 && cm_clock_real_ms() - l->last_fire < l->tick)
        return 0;
    l->last_fire = cm_clock_real_ms();
    if (l->held.n && l->held_state == SCH_HELD_STAGED) {
        /* a round would conflict with the staged commit on the debtors
         * they share: commit it first, but only when a round is due (so
         * that the next batch is still read while it commits) */
        int due = 1;
        if (!l->more && sch_engine_due(l->eng, &due, err, sizeof err) < 0) {
            cm_log_warn("due timers: %s (firing)", err);
            due = 1;
        }
        if (!due) {
            if (sch_engine_settle(l->eng, 0, err, sizeof err) < 0)
                cm_log_warn("settling published records: %s (re-publishing them)", err);
            return 0;
        }
        if (held_flush(l, s, err, sizeof err) < 0) {
            cm_log_error("event batch failed: %s", err);
            atomic_store(&s->ready.redis_ok, 0);
            return -1;
        }
    }
    if (sch_engine_fire(l->eng, &l->more, err, sizeof err) < 0) {
        l->failures++;
        cm_log_warn("firing timers: %s (retrying)", err);
        /* written before extra_ok is cleared, as service.h says */
        snprintf(s->ready.extra_why, sizeof s->ready.extra_why, "timers: %.110s", err);
        atomic_store(&s->ready.extra_ok, 0);
        l->more = 0;
        long ms = l->failures < 10 ? 100L * l->failures : 1000;
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    } else {
        if (l->failures)
            atomic_store(&s->ready.extra_ok, 1);
        l->failures = 0;
    }
    return 0;
}

int sch_loop_on_stop(cm_service *s, void *loop, int failed)
{
    sch_loop *l = loop;
    char err[1024];
    if (failed)
        return 0;
    if (held_flush(l, s, err, sizeof err) < 0 ||
        batch_apply(l->eng, s, &l->cur, err, sizeof err) < 0)
        cm_log_warn("last batch not applied: %s (it will be replayed)", err);
    if (sch_engine_settle(l->eng, 1, err, sizeof err) < 0)
        cm_log_warn("records not acknowledged at exit: %s (they stay claimed and are "
                    "re-published)",
                    err);
    cm_log_info("scheduler stopping: %lld fired, %lld re-published", l->eng->fired_total,
                l->eng->republished_total);
    return 0;
}

void sch_loop_rebalance(void *loop, int assigned, const rd_kafka_topic_partition_list_t *parts)
{
    sch_loop *l = loop;
    char err[1024];
    /* the staged commit runs now, before another owner applies these
     * partitions; the held batch's offsets are stored by the loop */
    if (!assigned && l->held.n && l->held_state == SCH_HELD_STAGED) {
        l->held_state =
            sch_engine_flush(l->eng, err, sizeof err) == 0 ? SCH_HELD_DURABLE : SCH_HELD_AGAIN;
        if (l->held_state == SCH_HELD_AGAIN)
            cm_log_warn("event batch at a revocation: %s (applying it again)", err);
    }
    sch_engine_rebalance(l->eng, assigned, parts);
}

void sch_metrics_init(sch_engine *e)
{
    ct_metrics_register(CT_SVC_SCHEDULER, e->m);
}
