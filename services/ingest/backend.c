/* backend.c -- the real backends of the batch loop: Redis for the
 * de-duplication window, librdkafka for events and the DLQ.
 *
 * Design: each de-duplication call is one pipeline for the whole batch
 * (EXISTS per key, then SET key <ms> PX <window> per delivered key), never
 * a round-trip per event. Produced records carry the contract's headers
 * (ce_type, ce_id, tenant, trace_id); DLQ records carry dlq_reason (the
 * first reason) and keep the source message's key. */
#include "backend.h"

#include "clock.h"
#include "kafka.h"
#include "log.h"
#include "service.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int k_seen(void *opaque, char *const *keys, size_t n, unsigned char *seen, char *errstr,
                  size_t errlen)
{
    ing_kafka_redis *b = opaque;
    cm_redis_pipe_reset(b->pipe);
    for (size_t i = 0; i < n; i++) {
        const char *argv[2] = {"EXISTS", keys[i]};
        size_t lens[2] = {6, strlen(keys[i])};
        if (cm_redis_pipe_add_argv(b->pipe, 2, argv, lens) != 0) {
            snprintf(errstr, errlen, "redis pipeline: out of memory");
            return -1;
        }
    }
    if (cm_redis_pipe_exec(b->redis, b->pipe, errstr, errlen) != 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        redisReply *r = cm_redis_pipe_reply(b->pipe, i);
        if (!r || r->type != REDIS_REPLY_INTEGER) {
            snprintf(errstr, errlen, "redis EXISTS: %s",
                     r && r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            goto fail;
        }
        seen[i] = r->integer > 0;
    }
    if (b->ready)
        atomic_store(&b->ready->redis_ok, 1);
    return 0;
fail:
    if (b->ready)
        atomic_store(&b->ready->redis_ok, 0);
    return -1;
}

static int k_mark(void *opaque, char *const *keys, size_t n, char *errstr, size_t errlen)
{
    ing_kafka_redis *b = opaque;
    char now[32], px[32];
    snprintf(now, sizeof now, "%lld", (long long)cm_clock_real_ms());
    snprintf(px, sizeof px, "%lld", (long long)b->window_ms);
    cm_redis_pipe_reset(b->pipe);
    for (size_t i = 0; i < n; i++) {
        const char *argv[5] = {"SET", keys[i], now, "PX", px};
        size_t lens[5] = {3, strlen(keys[i]), strlen(now), 2, strlen(px)};
        if (cm_redis_pipe_add_argv(b->pipe, 5, argv, lens) != 0) {
            snprintf(errstr, errlen, "redis pipeline: out of memory");
            return -1;
        }
    }
    if (cm_redis_pipe_exec(b->redis, b->pipe, errstr, errlen) != 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        redisReply *r = cm_redis_pipe_reply(b->pipe, i);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(errstr, errlen, "redis SET: %s", r ? r->str : "no reply");
            goto fail;
        }
    }
    if (b->ready)
        atomic_store(&b->ready->redis_ok, 1);
    return 0;
fail:
    if (b->ready)
        atomic_store(&b->ready->redis_ok, 0);
    return -1;
}

static int add_header(rd_kafka_headers_t *h, const char *name, const char *value)
{
    return rd_kafka_header_add(h, name, -1, value, -1) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

static int k_produce(void *opaque, const ing_record *r, char *errstr, size_t errlen)
{
    ing_kafka_redis *b = opaque;
    rd_kafka_headers_t *h = rd_kafka_headers_new(4);
    if (!h) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    if (r->accepted) {
        if (add_header(h, "ce_type", r->type) || add_header(h, "ce_id", r->id) ||
            add_header(h, "tenant", r->tenant) || add_header(h, "trace_id", r->trace_id)) {
            rd_kafka_headers_destroy(h);
            snprintf(errstr, errlen, "headers: out of memory");
            return -1;
        }
        return cm_kafka_produce(b->producer, b->events_topic, r->key, strlen(r->key), r->body,
                                r->bodylen, h, errstr, errlen);
    }
    if (add_header(h, "dlq_reason", r->reason) ||
        (r->tenant[0] && add_header(h, "tenant", r->tenant))) {
        rd_kafka_headers_destroy(h);
        snprintf(errstr, errlen, "headers: out of memory");
        return -1;
    }
    return cm_kafka_produce(b->producer, b->dlq_topic, r->in->key, r->in->keylen, r->body,
                            r->bodylen, h, errstr, errlen);
}

static int k_wait(void *opaque, char *errstr, size_t errlen)
{
    ing_kafka_redis *b = opaque;
    return cm_kafka_wait_delivered(b->producer, b->dr, b->delivery_timeout_ms, errstr, errlen);
}

static int k_keep_going(void *opaque)
{
    (void)opaque;
    return cm_service_run != 0;
}

static void k_backoff(void *opaque, int attempt)
{
    (void)opaque;
    long ms = 100;
    for (int i = 1; i < attempt && ms < 5000; i++)
        ms *= 2;
    if (ms > 5000)
        ms = 5000;
    /* Sleep in slices so a SIGTERM is noticed quickly. */
    for (long left = ms; left > 0 && cm_service_run; left -= 50) {
        struct timespec ts = {0, (left < 50 ? left : 50) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

void ing_kafka_redis_backend(ing_kafka_redis *b, ing_backend *be)
{
    be->opaque = b;
    be->dedup_seen = k_seen;
    be->dedup_mark = k_mark;
    be->produce = k_produce;
    be->wait_delivered = k_wait;
    be->keep_going = k_keep_going;
    be->backoff = k_backoff;
}
