/* backend.c -- the real backends of the batch loop: Redis for the
 * de-duplication window, librdkafka for events and the DLQ.
 *
 * Design: each de-duplication call is one pipeline for the whole batch,
 * never a round-trip per event, over time-bucketed sets (see k_seen). Produced records carry the
 * contract's headers (ce_type, ce_id, tenant, trace_id); DLQ records carry dlq_reason (the first
 * reason) and keep the source message's key. */
#include "backend.h"

#include "clock.h"
#include "event.h"
#include "kafka.h"
#include "log.h"
#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The window is kept in time buckets: one Redis set per bucket
 * (<prefix><bucket number>) whose members are the batch's de-duplication
 * keys. A batch costs one SMISMEMBER per live bucket (8 for 7 days) and one
 * SADD + PEXPIREAT, instead of one command per event: Redis spends its time
 * on command dispatch, not on set lookups. An id is remembered for at least
 * the window and at most the window plus one bucket. */
long long ing_dedup_bucket_ms(long long window_ms)
{
    long long ms = window_ms / ING_DEDUP_BUCKETS;
    return ms < 1000 ? 1000 : ms;
}

int ing_dedup_lookups(long long window_ms)
{
    long long bm = ing_dedup_bucket_ms(window_ms);
    return (int)((window_ms + bm - 1) / bm) + 1;
}

static long long bucket_ms(const ing_kafka_redis *b)
{
    return ing_dedup_bucket_ms(b->window_ms);
}

static int vec_grow(ing_kafka_redis *b, size_t n)
{
    if (n <= b->argcap)
        return 0;
    const char **a = realloc(b->argv, n * sizeof *a);
    if (!a)
        return -1;
    b->argv = a;
    size_t *l = realloc(b->argvlen, n * sizeof *l);
    if (!l)
        return -1;
    b->argvlen = l;
    b->argcap = n;
    return 0;
}

/* Which buckets older than the previous one exist, refreshed once a
 * minute: they can only disappear (new members go to the current bucket),
 * so skipping the missing ones never misses a duplicate, and a batch
 * usually needs two SMISMEMBER, not eight. */
static int refresh_old(ing_kafka_redis *b, long long cur, int nb, long long now, char *errstr,
                       size_t errlen)
{
    if (b->old_cur == cur && now - b->old_at < 60000 && b->old_at > 0)
        return 0;
    cm_redis_pipe_reset(b->pipe);
    for (int k = 2; k < nb; k++) {
        char name[320];
        snprintf(name, sizeof name, "%s%lld", b->prefix, cur - k);
        const char *argv[2] = {"EXISTS", name};
        size_t lens[2] = {6, strlen(name)};
        if (cm_redis_pipe_add_argv(b->pipe, 2, argv, lens) != 0) {
            snprintf(errstr, errlen, "redis pipeline: out of memory");
            return -1;
        }
    }
    if (nb > 2 && cm_redis_pipe_exec(b->redis, b->pipe, errstr, errlen) != 0)
        return -1;
    for (int k = 2; k < nb; k++) {
        redisReply *r = cm_redis_pipe_reply(b->pipe, (size_t)(k - 2));
        if (!r || r->type != REDIS_REPLY_INTEGER) {
            snprintf(errstr, errlen, "redis EXISTS: %s",
                     r && r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            return -1;
        }
        b->old_exists[k] = r->integer > 0;
    }
    b->old_cur = cur;
    b->old_at = now;
    return 0;
}

static int k_seen(void *opaque, char *const *keys, size_t n, unsigned char *seen, char *errstr,
                  size_t errlen)
{
    ing_kafka_redis *b = opaque;
    long long now = cm_clock_real_ms(), bm = bucket_ms(b), cur = now / bm;
    int nb = ing_dedup_lookups(b->window_ms), nq = 0;
    char names[ING_DEDUP_BUCKETS * 4 + 2][320];
    if (nb > (int)(sizeof names / sizeof names[0]))
        nb = (int)(sizeof names / sizeof names[0]);
    if (vec_grow(b, n + 2) != 0) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    if (refresh_old(b, cur, nb, now, errstr, errlen) != 0)
        goto fail;
    cm_redis_pipe_reset(b->pipe);
    for (int k = 0; k < nb; k++) {
        if (k >= 2 && !b->old_exists[k])
            continue;
        snprintf(names[nq++], sizeof names[0], "%s%lld", b->prefix, cur - k);
        b->argv[0] = "SMISMEMBER";
        b->argvlen[0] = 10;
        b->argv[1] = names[nq - 1];
        b->argvlen[1] = strlen(names[nq - 1]);
        for (size_t i = 0; i < n; i++) {
            b->argv[i + 2] = keys[i];
            b->argvlen[i + 2] = strlen(keys[i]);
        }
        if (cm_redis_pipe_add_argv(b->pipe, (int)n + 2, b->argv, b->argvlen) != 0) {
            snprintf(errstr, errlen, "redis pipeline: out of memory");
            return -1;
        }
    }
    if (cm_redis_pipe_exec(b->redis, b->pipe, errstr, errlen) != 0)
        goto fail;
    memset(seen, 0, n);
    for (int k = 0; k < nq; k++) {
        redisReply *r = cm_redis_pipe_reply(b->pipe, (size_t)k);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != n) {
            snprintf(errstr, errlen, "redis SMISMEMBER: %s",
                     r && r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            goto fail;
        }
        for (size_t i = 0; i < n; i++)
            if (r->element[i]->type == REDIS_REPLY_INTEGER && r->element[i]->integer > 0)
                seen[i] = 1;
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
    long long bm = bucket_ms(b), cur = cm_clock_real_ms() / bm;
    char name[320], at[32];
    snprintf(name, sizeof name, "%s%lld", b->prefix, cur);
    /* the bucket lives until its last member is a window old */
    snprintf(at, sizeof at, "%lld", (cur + 1) * bm + b->window_ms);
    if (vec_grow(b, n + 2) != 0) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    cm_redis_pipe_reset(b->pipe);
    b->argv[0] = "SADD";
    b->argvlen[0] = 4;
    b->argv[1] = name;
    b->argvlen[1] = strlen(name);
    for (size_t i = 0; i < n; i++) {
        b->argv[i + 2] = keys[i];
        b->argvlen[i + 2] = strlen(keys[i]);
    }
    const char *exp[3] = {"PEXPIREAT", name, at};
    size_t explen[3] = {9, strlen(name), strlen(at)};
    if (cm_redis_pipe_add_argv(b->pipe, (int)n + 2, b->argv, b->argvlen) != 0 ||
        cm_redis_pipe_add_argv(b->pipe, 3, exp, explen) != 0) {
        snprintf(errstr, errlen, "redis pipeline: out of memory");
        return -1;
    }
    if (cm_redis_pipe_exec(b->redis, b->pipe, errstr, errlen) != 0)
        goto fail;
    for (size_t i = 0; i < 2; i++) {
        redisReply *r = cm_redis_pipe_reply(b->pipe, i);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(errstr, errlen, "redis %s: %s", i ? "PEXPIREAT" : "SADD",
                     r ? r->str : "no reply");
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

/* --- issue 17: the phone index (docs/ingest.md) ----------------------------
 * <phone_prefix><tenant>:p:<phone>        set of the customer ids with that phone
 * <phone_prefix><tenant>:c:<customer_id>  the customer's phone (string)
 * One script per customer.upserted moves the customer from its old phone's
 * set to its new one (or out, when the phone went), atomically; replaying
 * the same upsert changes nothing. The set key is built in the script from
 * ARGV; on a Redis Cluster every key of a tenant's index carries the hash
 * tag {<tenant>} (<phone_prefix>{<tenant>}:p:<phone>, ...:c:<id>), so the
 * script's keys share a slot; on one Redis the names are as above. */
static void phone_key(const ing_kafka_redis *b, char *out, size_t len, const char *tenant,
                      const char *kind, const char *rest)
{
    const char *fmt = cm_redis_is_cluster(b->redis) ? "%s{%s}:%s:%s" : "%s%s:%s:%s";
    snprintf(out, len, fmt, b->phone_prefix, tenant, kind, rest);
}

static cm_redis_script phone_script = CM_REDIS_SCRIPT(
    "local old = redis.call('GET', KEYS[1])\n"
    "if old and old ~= ARGV[3] then redis.call('SREM', ARGV[1] .. old, ARGV[2]) end\n"
    "if ARGV[3] ~= '' then\n"
    "  redis.call('SADD', ARGV[1] .. ARGV[3], ARGV[2])\n"
    "  redis.call('SET', KEYS[1], ARGV[3])\n"
    "else\n"
    "  redis.call('DEL', KEYS[1])\n"
    "end\n"
    "return 1\n");

static int k_phone_index(void *opaque, const char *const *tenants, const char *const *customers,
                         const char *const *phones, size_t n, char *errstr, size_t errlen)
{
    ing_kafka_redis *b = opaque;
    if (cm_redis_script_load(b->redis, &phone_script, errstr, errlen) != 0)
        goto fail;
    cm_redis_pipe_reset(b->pipe);
    for (size_t i = 0; i < n; i++) {
        char ckey[CT_TENANT_MAX + CT_ID_MAX + 320], pset[CT_TENANT_MAX + 320];
        phone_key(b, ckey, sizeof ckey, tenants[i], "c", customers[i]);
        phone_key(b, pset, sizeof pset, tenants[i], "p", "");
        const char *args[4] = {ckey, pset, customers[i], phones[i]};
        size_t lens[4] = {strlen(ckey), strlen(pset), strlen(customers[i]), strlen(phones[i])};
        if (cm_redis_pipe_eval(b->pipe, &phone_script, 1, 4, args, lens) != 0) { /* 4: key + 3 */
            snprintf(errstr, errlen, "redis pipeline: out of memory");
            return -1;
        }
    }
    if (cm_redis_pipe_exec(b->redis, b->pipe, errstr, errlen) != 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        redisReply *r = cm_redis_pipe_reply(b->pipe, i);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(errstr, errlen, "redis phone index: %s", r ? r->str : "no reply");
            goto fail;
        }
    }
    return 0;
fail:
    if (b->ready)
        atomic_store(&b->ready->redis_ok, 0);
    return -1;
}

static int k_phone_lookup(void *opaque, const char *tenant, const char *phone, char ***ids,
                          size_t *n, char *errstr, size_t errlen)
{
    ing_kafka_redis *b = opaque;
    *ids = NULL;
    *n = 0;
    char pset[CT_TENANT_MAX + 320];
    phone_key(b, pset, sizeof pset, tenant, "p", phone);
    const char *argv[2] = {"SMEMBERS", pset};
    size_t lens[2] = {8, strlen(pset)};
    redisReply *r = cm_redis_cmd_argv(b->redis, 2, argv, lens, errstr, errlen);
    if (!r)
        goto fail;
    if (r->type != REDIS_REPLY_ARRAY) {
        snprintf(errstr, errlen, "redis SMEMBERS %s: %s", pset,
                 r->type == REDIS_REPLY_ERROR ? r->str : "not a set");
        freeReplyObject(r);
        goto fail;
    }
    if (r->elements > 0 && !(*ids = calloc(r->elements, sizeof **ids))) {
        freeReplyObject(r);
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_STRING)
            continue;
        if (!((*ids)[*n] = strndup(e->str, e->len))) {
            for (size_t k = 0; k < *n; k++)
                free((*ids)[k]);
            free(*ids);
            *ids = NULL;
            *n = 0;
            freeReplyObject(r);
            snprintf(errstr, errlen, "out of memory");
            return -1;
        }
        (*n)++;
    }
    freeReplyObject(r);
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
        ct_kv ce[CT_EVENT_HEADERS];
        ct_event_headers_of(r->ev_type, r->id, r->tenant, r->trace_id, ce);
        for (int i = 0; i < CT_EVENT_HEADERS; i++)
            if (add_header(h, ce[i].name, ce[i].value)) {
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
    ing_kafka_redis *b = opaque;
    char why[256];
    /* An idempotent producer in a fatal state never delivers again: give
     * up so that main exits non-zero and a restart replays the batch. */
    if (b->producer && rd_kafka_fatal_error(b->producer, why, sizeof why)) {
        cm_log_error("kafka producer fatal error: %s", why);
        return 0;
    }
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

void ing_kafka_redis_free(ing_kafka_redis *b)
{
    free(b->argv);
    free(b->argvlen);
    b->argv = NULL;
    b->argvlen = NULL;
    b->argcap = 0;
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
    be->phone_index = b->phone_prefix ? k_phone_index : NULL;
    be->phone_lookup = b->phone_prefix ? k_phone_lookup : NULL;
}
