/* pipeline.c -- ingest's two-thread delivery pipeline (pipeline.h),
 * moved out of main.c with its behaviour unchanged. */
#include "pipeline.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "kafka.h"
#include "log.h"
#include "metric_catalog.h"
#include "metrics.h"
#include "service.h"

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
        for (size_t j = 0;
             rd_kafka_header_get_all(h, j, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; j++) {
            v->hdr[k].name = name;
            v->hdr[k].value = val;
            v->hdr[k].len = val ? size : 0;
            k++;
            in->nheaders++;
        }
    }
    return 0;
}

/* A batch moves through a slot: the loop polls and validates it (FILLED);
 * the sender thread looks its ids up, produces it, waits for its delivery
 * and records its ids (DONE), or gives up (FAILED: keep_going() stopped a
 * retry); the loop then stores its offsets (DONE only), counts it and releases
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
    int state;          /* guarded by pipeline.mu */
    ing_batch_stats st; /* the batch's outcome, written by the sender */
} slot;

struct ing_pipeline {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* any state change, filled or closing */
    slot slots[NSLOTS];
    uint64_t filled;       /* batches handed to the sender (batch i in slots[i % NSLOTS]) */
    int closing;           /* the loop hands over no more batches */
    const ing_backend *be; /* used by the sender thread only */
    char err[1024];        /* why the first FAILED slot failed */
    /* the loop's side */
    uint64_t released; /* batches released (stored or given up) */
    size_t batch;      /* most messages per batch */
    const ing_config *cfg;
    pthread_t sender_tid;
    int sender_started;
    cm_metric *m[CT_M_COUNT]; /* metric_catalog.h; the lag is the runtime's */
    ing_batch_stats st;       /* totals */
};

static void slot_release(slot *s)
{
    ing_batch_free(s->b);
    s->b = NULL;
    for (size_t i = 0; i < s->n; i++)
        rd_kafka_message_destroy(s->msgs[i]);
    s->n = 0;
}

static void set_state(ing_pipeline *p, slot *s, int state)
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
 * Ends when the loop closes and every handed-over batch is finished, or at the
 * first failure (that batch and every later one FAILED). Only this thread
 * uses the backend (Redis connection, producer's delivery reports). */
static void *sender(void *arg)
{
    ing_pipeline *p = arg;
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
    p->closing = 1; /* the loop hands over nothing more */
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
static int release_finished(ing_pipeline *p, uint64_t *released, uint64_t filled,
                            rd_kafka_t *consumer, int wait_ms)
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
        cm_metric_observe(p->m[CT_M_INGEST_BATCH_SECONDS], since(&s->t0));
        cm_metric_add(p->m[CT_M_INGEST_ACCEPTED], s->st.accepted);
        cm_metric_add(p->m[CT_M_INGEST_REJECTED], s->st.rejected);
        cm_metric_add(p->m[CT_M_INGEST_DUPLICATE], s->st.duplicates);
        cm_metric_add(p->m[CT_M_INGEST_RETRIES], s->st.retries);
        p->st.accepted += s->st.accepted;
        p->st.rejected += s->st.rejected;
        p->st.duplicates += s->st.duplicates;
        p->st.retries += s->st.retries;
        memset(&s->st, 0, sizeof s->st);
        slot_release(s);
        set_state(p, s, SLOT_FREE);
        (*released)++;
    }
    return rc;
}

/* A batch failed (p->err says why). Stopping anyway: the rest is FAILED
 * too, released unstored, and the group replays it (0). Running: -1. */
static int failed(ing_pipeline *p, rd_kafka_t *consumer)
{
    if (cm_service_run) {
        cm_log_error("batch failed: %s", p->err);
        return -1;
    }
    cm_log_warn("stopping with a batch not made durable (%s); it will be replayed", p->err);
    while (p->released < p->filled)
        release_finished(p, &p->released, p->filled, consumer, 100);
    return 0;
}

ing_pipeline *ing_pipeline_new(size_t batch, const ing_config *cfg)
{
    ing_pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->batch = batch;
    p->cfg = cfg;
    ct_metrics_register(CT_SVC_INGEST, p->m);
    for (int i = 0; i < NSLOTS; i++) {
        slot *s = &p->slots[i];
        s->msgs = calloc(batch, sizeof *s->msgs);
        s->v.in = calloc(batch, sizeof *s->v.in);
        s->v.kh = calloc(batch, sizeof *s->v.kh);
        if (!s->msgs || !s->v.in || !s->v.kh) {
            ing_pipeline_free(p);
            return NULL;
        }
    }
    return p;
}

int ing_pipeline_start(ing_pipeline *p, const ing_backend *be)
{
    p->be = be;
    if (pthread_create(&p->sender_tid, NULL, sender, p) != 0)
        return -1;
    p->sender_started = 1;
    return 0;
}

int ing_pipeline_wait(ing_pipeline *p, rd_kafka_t *consumer)
{
    /* the next slot must be free: wait for its batch to be finished */
    uint64_t seq = p->filled;
    int full = seq - p->released >= NSLOTS;
    if (release_finished(p, &p->released, seq, consumer, full ? 100 : 0) != 0)
        return failed(p, consumer) < 0 ? CM_POLL_FAIL : CM_POLL_SKIP;
    if (seq - p->released >= NSLOTS)
        return CM_POLL_SKIP;
    /* a batch in flight: poll briefly, the sender's answer is near */
    return p->released < seq ? 5 : 100;
}

int ing_pipeline_hand(ing_pipeline *p, rd_kafka_message_t **msgs, size_t n, char *errstr,
                      size_t errlen)
{
    slot *sl = &p->slots[p->filled % NSLOTS];
    memcpy(sl->msgs, msgs, n * sizeof *msgs);
    sl->n = n;
    clock_gettime(CLOCK_MONOTONIC, &sl->t0);
    errstr[0] = 0;
    if (build_views(&sl->v, sl->msgs, n, cm_clock_real_ms()) != 0 ||
        !(sl->b = ing_batch_prepare(p->cfg, "", sl->v.in, n, errstr, errlen))) {
        if (!errstr[0])
            snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    pthread_mutex_lock(&p->mu);
    int handed = !p->closing;
    if (handed) {
        sl->state = SLOT_FILLED;
        p->filled++;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    if (!handed) /* the sender gave up: the FAILED batch is released by the next wait */
        slot_release(sl);
    return 0;
}

int ing_pipeline_drain(ing_pipeline *p, rd_kafka_t *consumer, int failed_before)
{
    if (failed_before) {
        ing_pipeline_stop(p); /* before the producer and Redis go */
        return 0;
    }
    /* the sender finishes what it was handed (retrying only while
     * keep_going() allows), then ends */
    pthread_mutex_lock(&p->mu);
    p->closing = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    while (p->released < p->filled)
        if (release_finished(p, &p->released, p->filled, consumer, 100) != 0) {
            if (failed(p, consumer) < 0) {
                ing_pipeline_stop(p);
                return -1;
            }
            break;
        }
    ing_pipeline_stop(p);
    cm_log_info("ingest stopping: %llu accepted, %llu rejected, %llu duplicates",
                (unsigned long long)p->st.accepted, (unsigned long long)p->st.rejected,
                (unsigned long long)p->st.duplicates);
    return 0;
}

void ing_pipeline_stop(ing_pipeline *p)
{
    if (!p || !p->sender_started)
        return;
    pthread_mutex_lock(&p->mu);
    p->closing = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->sender_tid, NULL);
    p->sender_started = 0;
}

void ing_pipeline_free(ing_pipeline *p)
{
    if (!p)
        return;
    ing_pipeline_stop(p);
    for (int i = 0; i < NSLOTS; i++) {
        slot_release(&p->slots[i]);
        free(p->slots[i].v.hdr);
        free(p->slots[i].v.in);
        free(p->slots[i].v.kh);
        free(p->slots[i].msgs);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
