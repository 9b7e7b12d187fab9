/* main.c -- arrears-ingest: inbound -> events (+ ingest.dlq).
 *
 * Settings, signals, the poll loop and teardown. The work of a batch is in
 * batch.c (validation in process.c/types.c, backends in backend.c). This
 * thread polls and validates batches; a sender thread looks them up,
 * produces them, waits for their delivery and records their ids, in poll
 * order, two batches in flight. This thread stores a batch's offsets only
 * after the sender says every record derived from it was delivered and its
 * ids recorded. */
/* transitional, until this main is on the runtime: unbound positional rows */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include "backend.h"
#include "ingest.h"

#include "clock.h"
#include "http.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "redis.h"
#include "service.h"
#include "settings.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static cm_setting table[] = {
    CM_SETTINGS_COMMON("127.0.0.1:9101", "arrears-ingest"),
    {"ARREARS_INGEST_MAX_BYTES", "262144",
     "largest accepted message (payload + key + headers, bytes); larger goes to the DLQ",
     CM_SET_INT, 256, 64LL << 20, 0, NULL, 0},
    {"ARREARS_INGEST_MAX_DEPTH", "32", "deepest accepted JSON nesting; deeper goes to the DLQ",
     CM_SET_INT, 2, 1000, 0, NULL, 0},
    {"ARREARS_INGEST_DEDUP_WINDOW", "7d",
     "how long a (tenant, source, id) is remembered for de-duplication", CM_SET_DURATION, 1000,
     400LL * 86400 * 1000, 0, NULL, 0},
    {"ARREARS_INGEST_DEDUP_PREFIX", "arrears:ingest:dedup:",
     "Redis key prefix of the de-duplication window", CM_SET_STR, 0, 0, 0, NULL, 0},
    {"ARREARS_INGEST_BATCH", "4000", "most messages handled per batch", CM_SET_INT, 1, 100000, 0,
     NULL, 0},
    {"ARREARS_INGEST_BATCH_FILL", "20ms",
     "how long a started batch waits for more messages before it is processed",
     CM_SET_DURATION, 0, 1000, 0, NULL, 0},
    {"ARREARS_INGEST_THREADS", "1", "threads that validate a batch (1 = the loop alone)",
     CM_SET_INT, 1, 16, 0, NULL, 0},
    {"ARREARS_INGEST_DELIVERY_TIMEOUT", "30s", "wait for delivery reports before retrying",
     CM_SET_DURATION, 1000, 600000, 0, NULL, 0},
    CM_SETTINGS_END};

typedef struct metrics {
    cm_metric *accepted, *rejected, *duplicates, *retries, *batch_seconds, *lag;
} metrics;

static void metrics_init(metrics *m)
{
    m->accepted = cm_metrics_counter("arrears_ingest_messages_total{result=\"accepted\"}",
                                     "inbound messages by outcome");
    m->rejected = cm_metrics_counter("arrears_ingest_messages_total{result=\"rejected\"}",
                                     "inbound messages by outcome");
    m->duplicates = cm_metrics_counter("arrears_ingest_messages_total{result=\"duplicate\"}",
                                       "inbound messages by outcome");
    m->retries = cm_metrics_counter("arrears_ingest_retries_total",
                                    "retried Redis or delivery steps");
    m->batch_seconds =
        cm_metrics_histogram("arrears_ingest_batch_seconds", "time to make a batch durable");
    m->lag = cm_metrics_gauge("arrears_ingest_lag_messages", "consumer lag on inbound");
}

/* Per-batch views of the polled messages (headers point into them). */
typedef struct views {
    ing_input *in;
    rd_kafka_headers_t **kh; /* each message's headers (NULL: none) */
    ing_header *hdr;
    size_t hdrcap;
} views;

static int build_views(views *v, rd_kafka_message_t **msgs, size_t n, int64_t now)
{
    /* rd_kafka_message_headers parses the headers on every call when a
     * message has none (~1 000 instructions): ask once per message. */
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        rd_kafka_headers_t *h = NULL;
        if (rd_kafka_message_headers(msgs[i], &h) != RD_KAFKA_RESP_ERR_NO_ERROR)
            h = NULL;
        v->kh[i] = h;
        if (h)
            total += rd_kafka_header_cnt(h);
    }
    if (total > v->hdrcap) {
        ing_header *nh = realloc(v->hdr, total * sizeof *nh);
        if (!nh)
            return -1;
        v->hdr = nh;
        v->hdrcap = total;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        rd_kafka_message_t *m = msgs[i];
        ing_input *in = &v->in[i];
        const rd_kafka_headers_t *h = v->kh[i];
        memset(in, 0, sizeof *in);
        in->payload = m->payload;
        in->len = m->payload ? m->len : 0;
        in->key = m->key;
        in->keylen = m->key ? m->key_len : 0;
        in->topic = rd_kafka_topic_name(m->rkt);
        in->partition = m->partition;
        in->offset = m->offset;
        in->now_ms = now;
        in->headers = v->hdr + k;
        if (!h)
            continue;
        const char *name;
        const void *val;
        size_t size;
        for (size_t j = 0; rd_kafka_header_get_all(h, j, &name, &val, &size) ==
                           RD_KAFKA_RESP_ERR_NO_ERROR;
             j++) {
            v->hdr[k].name = name;
            v->hdr[k].value = val;
            v->hdr[k].len = val ? size : 0;
            k++;
            in->nheaders++;
        }
    }
    return 0;
}

/* A batch moves through a slot: main polls and validates it (FILLED);
 * the sender thread looks its ids up, produces it, waits for its delivery
 * and records its ids (DONE), or gives up (FAILED: keep_going() stopped a
 * retry); main then stores its offsets (DONE only), counts it and releases
 * it (FREE). Slots are used round-robin, so batches are handed over,
 * finished and released in poll order. */
enum { SLOT_FREE, SLOT_FILLED, SLOT_DONE, SLOT_FAILED };
#define NSLOTS 4

typedef struct slot {
    rd_kafka_message_t **msgs; /* owned, n of them while not FREE */
    views v;
    size_t n;
    ing_batch *b; /* owned */
    struct timespec t0;
    int state; /* guarded by pipeline.mu */
    ing_batch_stats st; /* the batch's outcome, written by the sender */
} slot;

typedef struct pipeline {
    pthread_mutex_t mu;
    pthread_cond_t cv;     /* any state change, filled or closing */
    slot slots[NSLOTS];
    uint64_t filled;       /* batches handed to the sender (batch i in slots[i % NSLOTS]) */
    int closing;           /* main hands over no more batches */
    const ing_backend *be; /* used by the sender thread only */
    char err[1024];        /* why the first FAILED slot failed */
} pipeline;

static void slot_release(slot *s)
{
    ing_batch_free(s->b);
    s->b = NULL;
    for (size_t i = 0; i < s->n; i++)
        rd_kafka_message_destroy(s->msgs[i]);
    s->n = 0;
}

static void set_state(pipeline *p, slot *s, int state)
{
    pthread_mutex_lock(&p->mu);
    s->state = state;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* The sender: for batch k (cur) and k-1 (prev), in this order: look k up
 * (checking k-1's ids in memory: they are not recorded yet; k-2's are),
 * wait until k-1 is delivered (so one debtor's records keep their order
 * across batches), produce k, record k-1's ids (while k is in flight).
 * k-1 is then durable. When no batch k is ready, k-1 is finished at once.
 * Ends when main closes and every handed-over batch is finished, or at the
 * first failure (that batch and every later one FAILED). Only this thread
 * uses the backend (Redis connection, producer's delivery reports). */
static void *sender(void *arg)
{
    pipeline *p = arg;
    const ing_backend *be = p->be;
    char err[1024] = "";
    slot *prev = NULL, *cur = NULL;
    for (uint64_t seq = 0;;) {
        pthread_mutex_lock(&p->mu);
        while (!prev && p->filled == seq && !p->closing)
            pthread_cond_wait(&p->cv, &p->mu);
        cur = p->filled > seq ? &p->slots[seq % NSLOTS] : NULL;
        int end = !cur && p->closing;
        pthread_mutex_unlock(&p->mu);
        if (cur && ing_batch_lookup(cur->b, prev ? prev->b : NULL, be, err, sizeof err) != 0)
            goto failed;
        if (prev && ing_batch_deliver(prev->b, be, err, sizeof err) != 0)
            goto failed;
        if (cur)
            ing_batch_produce(cur->b, be, err, sizeof err);
        if (prev) {
            if (ing_batch_record(prev->b, be, err, sizeof err) != 0)
                goto failed;
            ing_batch_take_stats(prev->b, &prev->st);
            set_state(p, prev, SLOT_DONE);
        }
        /* no next batch yet: prev was finished now rather than waiting */
        prev = cur;
        if (cur)
            seq++;
        else if (end)
            return NULL;
    }
failed:
    /* prev, cur and every later handed-over batch (all still FILLED): not
     * durable. */
    pthread_mutex_lock(&p->mu);
    snprintf(p->err, sizeof p->err, "%s", err);
    for (size_t i = 0; i < NSLOTS; i++)
        if (p->slots[i].state == SLOT_FILLED) {
            ing_batch_take_stats(p->slots[i].b, &p->slots[i].st);
            p->slots[i].state = SLOT_FAILED;
        }
    p->closing = 1; /* main hands over nothing more */
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static double since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Releases finished batches in order from *released on: stores the
 * offsets of DONE ones, counts them. Waits up to wait_ms for the oldest
 * one when it is not finished yet (0: no wait). 0, or -1 when a batch
 * FAILED (not stored; the rest of the pipeline is FAILED or FREE). */
static int release_finished(pipeline *p, uint64_t *released, uint64_t filled,
                            rd_kafka_t *consumer, metrics *m, ing_batch_stats *st, int wait_ms)
{
    int rc = 0;
    while (*released < filled) {
        slot *s = &p->slots[*released % NSLOTS];
        pthread_mutex_lock(&p->mu);
        if (s->state == SLOT_FILLED && wait_ms > 0) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += (long)wait_ms * 1000000L;
            until.tv_sec += until.tv_nsec / 1000000000L;
            until.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&p->cv, &p->mu, &until);
            wait_ms = 0;
        }
        int state = s->state;
        pthread_mutex_unlock(&p->mu);
        if (state == SLOT_FILLED)
            break;
        char err[256];
        if (state == SLOT_DONE && cm_kafka_store(consumer, s->msgs, s->n, err, sizeof err) != 0)
            cm_log_warn("store offsets: %s (the batch will be replayed)", err);
        if (state == SLOT_FAILED)
            rc = -1;
        cm_metric_observe(m->batch_seconds, since(&s->t0));
        cm_metric_add(m->accepted, s->st.accepted);
        cm_metric_add(m->rejected, s->st.rejected);
        cm_metric_add(m->duplicates, s->st.duplicates);
        cm_metric_add(m->retries, s->st.retries);
        st->accepted += s->st.accepted;
        st->rejected += s->st.rejected;
        st->duplicates += s->st.duplicates;
        st->retries += s->st.retries;
        memset(&s->st, 0, sizeof s->st);
        slot_release(s);
        set_state(p, s, SLOT_FREE);
        (*released)++;
    }
    return rc;
}

int main(int argc, char **argv)
{
    int code = 0;
    if (cm_settings_main(argc, argv, "arrears-ingest",
                         "validates, normalizes and de-duplicates inbound billing/CRM events",
                         table, &code))
        return code;

    char err[1024] = "";
    int rc = 1;
    rd_kafka_t *consumer = NULL, *producer = NULL;
    cm_redis *redis = NULL;
    cm_redis_pipe *pipe = NULL;
    cm_http *http = NULL;
    static pipeline pl; /* static: NSLOTS slots with their views */
    pthread_t sender_tid;
    int sender_started = 0;
    uint64_t released = 0;
    memset(&pl, 0, sizeof pl);
    pthread_mutex_init(&pl.mu, NULL);
    pthread_cond_init(&pl.cv, NULL);
    slot *slots = pl.slots;
    cm_kafka_dr dr;
    cm_service_ready ready;
    metrics m;
    ing_batch_stats st = {0, 0, 0, 0};
    ing_kafka_redis kr;
    memset(&kr, 0, sizeof kr);

    cm_log_init("ingest", cm_settings_str(table, "ARREARS_LOG_LEVEL"));
    if (cm_clock_init(cm_settings_str(table, "ARREARS_CLOCK"), err, sizeof err) != 0) {
        cm_log_error("ARREARS_CLOCK: %s", err);
        return 1;
    }
    cm_service_signals();
    cm_service_ready_init(&ready);
    metrics_init(&m);

    const char *brokers = cm_settings_str(table, "ARREARS_KAFKA_BROKERS");
    char inbound[256], events[256], dlq[256];
    cm_settings_topic(table, "inbound", inbound, sizeof inbound);
    cm_settings_topic(table, "events", events, sizeof events);
    cm_settings_topic(table, "ingest.dlq", dlq, sizeof dlq);
    ing_config cfg = {(size_t)cm_settings_int(table, "ARREARS_INGEST_MAX_BYTES"),
                      (int)cm_settings_int(table, "ARREARS_INGEST_MAX_DEPTH")};
    size_t batch = (size_t)cm_settings_int(table, "ARREARS_INGEST_BATCH");
    const char *prefix = cm_settings_str(table, "ARREARS_INGEST_DEDUP_PREFIX");
    int64_t fill_ms = cm_settings_int(table, "ARREARS_INGEST_BATCH_FILL");
    ing_batch_set_threads((int)cm_settings_int(table, "ARREARS_INGEST_THREADS"));

    http = cm_http_start(cm_settings_str(table, "ARREARS_HTTP_ADDR"), cm_service_ready_fn, &ready,
                         err, sizeof err);
    if (!http && err[0]) {
        cm_log_error("http listener: %s", err);
        goto cleanup;
    }

    /* Redis may come up after us: retry until it answers or we are told to stop. */
    redis = cm_redis_connect_until(cm_settings_str(table, "ARREARS_REDIS_URL"), &cm_service_run,
                                   err, sizeof err);
    if (!redis)
        goto stopped;
    atomic_store(&ready.redis_ok, 1);
    pipe = cm_redis_pipe_new();
    producer = cm_kafka_producer_new(brokers, "arrears-ingest", &dr, 5, err, sizeof err);
    if (!pipe || !producer) {
        cm_log_error("producer: %s", pipe ? err : "out of memory");
        goto cleanup;
    }
    const char *topics[] = {inbound};
    cm_kafka_consumer_opts co = {brokers,
                                 cm_settings_str(table, "ARREARS_GROUP_ID"),
                                 "arrears-ingest",
                                 topics,
                                 1,
                                 NULL,
                                 NULL,
                                 NULL};
    consumer = cm_kafka_consumer_new(&co, err, sizeof err);
    if (!consumer) {
        cm_log_error("consumer: %s", err);
        goto cleanup;
    }
    for (int i = 0; i < NSLOTS; i++) {
        slots[i].msgs = calloc(batch, sizeof *slots[i].msgs);
        slots[i].v.in = calloc(batch, sizeof *slots[i].v.in);
        slots[i].v.kh = calloc(batch, sizeof *slots[i].v.kh);
        if (!slots[i].msgs || !slots[i].v.in || !slots[i].v.kh) {
            cm_log_error("out of memory for batches of %zu", batch);
            goto cleanup;
        }
    }

    kr.producer = producer;
    kr.dr = &dr;
    kr.redis = redis;
    kr.pipe = pipe;
    kr.events_topic = events;
    kr.dlq_topic = dlq;
    kr.window_ms = cm_settings_int(table, "ARREARS_INGEST_DEDUP_WINDOW");
    kr.delivery_timeout_ms = (int)cm_settings_int(table, "ARREARS_INGEST_DELIVERY_TIMEOUT");
    kr.ready = &ready;
    kr.prefix = prefix;
    ing_backend be;
    ing_kafka_redis_backend(&kr, &be);
    cm_log_info("ingest started: %s -> %s, %s", inbound, events, dlq);

    /* While the sender thread looks up, produces and records the batches
     * handed over, this thread polls and validates the next one. */
    pl.be = &be;
    if (pthread_create(&sender_tid, NULL, sender, &pl) != 0) {
        cm_log_error("cannot start the sender thread");
        goto cleanup;
    }
    sender_started = 1;
    int64_t last_lag = 0;
    while (cm_service_run) {
        /* the next slot must be free: wait for its batch to be finished */
        uint64_t seq = pl.filled;
        int full = seq - released >= NSLOTS;
        if (release_finished(&pl, &released, seq, consumer, &m, &st, full ? 100 : 0) != 0)
            goto failed;
        if (seq - released >= NSLOTS)
            continue;
        slot *sl = &slots[seq % NSLOTS];
        /* Fill the batch for up to fill_ms once something arrived: every
         * batch pays one delivery wait and two Redis round-trips, so tiny
         * batches would cap the throughput. */
        size_t n = cm_kafka_poll_batch(consumer, sl->msgs, batch, released < seq ? 5 : 100);
        if (n > 0 && n < batch) {
            int64_t until = cm_clock_real_ms() + fill_ms;
            while (n < batch && cm_clock_real_ms() < until)
                n += cm_kafka_poll_batch(consumer, sl->msgs + n, batch - n, 2);
        }
        int64_t now = cm_clock_real_ms();
        if (now - last_lag >= 1000) {
            last_lag = now;
            atomic_store(&ready.kafka_ok, cm_kafka_assigned_count(consumer) > 0);
            int64_t lag = cm_kafka_lag(consumer);
            if (lag >= 0)
                cm_metric_set(m.lag, (double)lag);
        }
        sl->n = n;
        if (n == 0)
            continue;
        atomic_store(&ready.kafka_ok, 1);
        clock_gettime(CLOCK_MONOTONIC, &sl->t0);
        if (build_views(&sl->v, sl->msgs, n, now) != 0 ||
            !(sl->b = ing_batch_prepare(&cfg, "", sl->v.in, n, err, sizeof err))) {
            cm_log_error("batch failed: %s", err[0] ? err : "out of memory");
            goto cleanup;
        }
        pthread_mutex_lock(&pl.mu);
        int handed = !pl.closing;
        if (handed) {
            sl->state = SLOT_FILLED;
            pl.filled++;
            pthread_cond_broadcast(&pl.cv);
        }
        pthread_mutex_unlock(&pl.mu);
        if (!handed) /* the sender gave up: the FAILED batch is released above */
            slot_release(sl);
    }
    /* Draining: the sender finishes what it was handed (retrying only
     * while keep_going() allows), then ends. */
    pthread_mutex_lock(&pl.mu);
    pl.closing = 1;
    pthread_cond_broadcast(&pl.cv);
    pthread_mutex_unlock(&pl.mu);
    while (released < pl.filled)
        if (release_finished(&pl, &released, pl.filled, consumer, &m, &st, 100) != 0)
            goto failed;
    goto stopped;

failed:
    if (!cm_service_run) {
        cm_log_warn("stopping with a batch not made durable (%s); it will be replayed", pl.err);
        while (released < pl.filled) /* the rest is FAILED too */
            release_finished(&pl, &released, pl.filled, consumer, &m, &st, 100);
    } else {
        cm_log_error("batch failed: %s", pl.err);
        goto cleanup;
    }

stopped:
    rc = 0;
    cm_log_info("ingest stopping: %llu accepted, %llu rejected, %llu duplicates",
                (unsigned long long)st.accepted, (unsigned long long)st.rejected,
                (unsigned long long)st.duplicates);

cleanup:
    if (sender_started) {
        pthread_mutex_lock(&pl.mu);
        pl.closing = 1;
        pthread_cond_broadcast(&pl.cv);
        pthread_mutex_unlock(&pl.mu);
        pthread_join(sender_tid, NULL);
    }
    if (consumer)
        cm_kafka_consumer_close(consumer); /* commits stored offsets */
    if (producer) {
        rd_kafka_flush(producer, 5000);
        rd_kafka_destroy(producer);
    }
    ing_kafka_redis_free(&kr);
    for (int i = 0; i < NSLOTS; i++) {
        slot_release(&slots[i]);
        free(slots[i].v.hdr);
        free(slots[i].v.in);
        free(slots[i].v.kh);
        free(slots[i].msgs);
    }
    cm_redis_pipe_free(pipe);
    if (redis)
        cm_redis_free(redis);
    if (http)
        cm_http_stop(http);
    pthread_cond_destroy(&pl.cv);
    pthread_mutex_destroy(&pl.mu);
    return rc;
}
