/* backend.h -- ing_backend over a real Redis and Kafka producer.
 *
 * Ownership: the struct borrows everything it points to except its scratch
 * vectors; main owns the producer, delivery counters, Redis connection and
 * pipeline. */
#ifndef ING_BACKEND_H
#define ING_BACKEND_H

#include "ingest.h"
#include "kafka.h"
#include "redis.h"
#include "service.h"

/* The window is split into this many buckets (plus the current one). */
#define ING_DEDUP_BUCKETS 7

typedef struct ing_kafka_redis {
    rd_kafka_t *producer;
    cm_kafka_dr *dr;
    cm_redis *redis;
    cm_redis_pipe *pipe;
    const char *events_topic;
    const char *dlq_topic;
    long long window_ms;      /* de-duplication window */
    int delivery_timeout_ms;  /* per wait for delivery reports */
    cm_service_ready *ready;  /* may be NULL; redis_ok is updated */
    const char *prefix;       /* Redis key prefix of the window's buckets */
    const char *phone_prefix; /* Redis key prefix of the phone index (issue 17); NULL: none */
    /* scratch argument vectors, owned; freed by ing_kafka_redis_free */
    const char **argv;
    size_t *argvlen;
    size_t argcap;
    /* which buckets older than the previous one exist (see backend.c) */
    long long old_cur, old_at;
    unsigned char old_exists[ING_DEDUP_BUCKETS * 4 + 2];
} ing_kafka_redis;

/* The window's geometry: buckets of window / ING_DEDUP_BUCKETS ms (at
 * least 1 s), and how many buckets a lookup reads: the current one and the
 * ceil(window / bucket) before it. With each bucket's set expiring at the
 * bucket's end plus the window, an id is found for at least the window and
 * at most the window plus one bucket, whether or not the bucket divides
 * the window. */
long long ing_dedup_bucket_ms(long long window_ms);
int ing_dedup_lookups(long long window_ms);

void ing_kafka_redis_free(ing_kafka_redis *b);

/* Fills be with functions over b (which must outlive be). */
void ing_kafka_redis_backend(ing_kafka_redis *b, ing_backend *be);

#endif
