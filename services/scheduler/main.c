/* main.c -- arrears-scheduler: events -> commands (+ its own events).
 *
 * Settings, signals, the loop and teardown. Each turn of the loop polls a
 * batch of events (waiting at most the tick), applies it atomically
 * (engine.c), stores its offsets, then fires the due timers of the owned
 * partitions; it fires again at once while timers are left over. */
#include "engine.h"
#include "jarena.h"
#include "policy.h"

#include "clock.h"
#include "http.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "redis.h"
#include "service.h"
#include "settings.h"

#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static cm_setting table[] = {
    CM_SETTINGS_COMMON("127.0.0.1:9102", "arrears-scheduler"),
    {"ARREARS_POLICY", "deploy/config/policy.json", "collection policy file (docs/policy.md)",
     CM_SET_PATH, 0, 0, 0, NULL, 0},
    {"ARREARS_SCHEDULER_KEY_PREFIX", "sch:", "prefix of every Redis key of the scheduler",
     CM_SET_STR, 0, 0, 0, NULL, 0},
    {"ARREARS_SCHEDULER_BATCH", "1000", "most events applied per batch", CM_SET_INT, 1, 100000, 0,
     NULL, 0},
    {"ARREARS_SCHEDULER_FIRE_BATCH", "1000", "most timers fired per partition per round",
     CM_SET_INT, 1, 100000, 0, NULL, 0},
    {"ARREARS_SCHEDULER_TICK", "20ms", "longest wait for events before checking timers",
     CM_SET_DURATION, 1, 5000, 0, NULL, 0},
    {"ARREARS_SCHEDULER_DELIVERY_TIMEOUT", "30s", "wait for delivery reports before retrying",
     CM_SET_DURATION, 1000, 600000, 0, NULL, 0},
    {"ARREARS_SCHEDULER_FAULT", "",
     "testing only: crash-after-claim:N exits (as if killed) after the Nth claimed round",
     CM_SET_STR, 0, 0, 0, NULL, 0},
    CM_SETTINGS_END};

typedef struct kafka_sink {
    rd_kafka_t *rk;
    cm_kafka_dr *dr;
    const char *commands, *events;
    int timeout_ms;
} kafka_sink;

static int add_header(rd_kafka_headers_t *h, const char *name, const char *v) {
    if (!v) return 0;
    return rd_kafka_header_add(h, name, -1, v, -1) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

static int ks_publish(void *opaque, char topic, const char *key, const char *id,
                      const char *payload, size_t len, char *errstr, size_t errlen) {
    kafka_sink *k = opaque;
    rd_kafka_headers_t *h = rd_kafka_headers_new(4);
    if (!h) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    if (topic == 'e') {
        json_t *ev = json_loadb(payload, len, 0, NULL);
        add_header(h, "ce_type", json_string_value(json_object_get(ev, "type")));
        add_header(h, "ce_id", json_string_value(json_object_get(ev, "id")));
        add_header(h, "tenant", json_string_value(json_object_get(ev, "tenant")));
        add_header(h, "trace_id", json_string_value(json_object_get(ev, "trace_id")));
        json_decref(ev);
    } else {
        add_header(h, "command_id", id);
    }
    return cm_kafka_produce(k->rk, topic == 'e' ? k->events : k->commands, key, strlen(key),
                            payload, len, h, errstr, errlen);
}

static int ks_inflight(void *opaque, int *failed) {
    kafka_sink *k = opaque;
    rd_kafka_poll(k->rk, 0);
    *failed = k->dr->failed > 0;
    if (*failed) k->dr->failed = 0;
    return rd_kafka_outq_len(k->rk);
}

static int ks_flush(void *opaque, char *errstr, size_t errlen) {
    kafka_sink *k = opaque;
    return cm_kafka_wait_delivered(k->rk, k->dr, k->timeout_ms, errstr, errlen);
}

static int64_t now_ms(void) { return cm_clock_now_ms(); }

/* A polled batch and its parsed events. */
typedef struct batch {
    rd_kafka_message_t **msgs;
    json_t **evs;
    int *parts;
    size_t n;
    int slot; /* jarena slot of its parsed events */
} batch;

typedef struct parse_job {
    sch_engine *e;
    batch *b;
} parse_job;

static void *parse_thread(void *arg) {
    parse_job *j = arg;
    sch_jarena_arm(j->b->slot);
    sch_engine_parse(j->e, j->b->msgs, j->b->n, j->b->evs, j->b->parts);
    sch_jarena_arm(-1);
    return NULL;
}

static int batch_alloc(batch *b, size_t max, int slot) {
    b->slot = slot;
    b->msgs = calloc(max, sizeof *b->msgs);
    b->evs = calloc(max, sizeof *b->evs);
    b->parts = calloc(max, sizeof *b->parts);
    b->n = 0;
    return b->msgs && b->evs && b->parts ? 0 : -1;
}

static void batch_release(batch *b) {
    for (size_t i = 0; i < b->n; i++) {
        json_decref(b->evs[i]);
        b->evs[i] = NULL;
        rd_kafka_message_destroy(b->msgs[i]);
    }
    b->n = 0;
    sch_jarena_reset(b->slot); /* its trees are gone */
}

static void batch_free(batch *b) {
    batch_release(b);
    free(b->msgs);
    free(b->evs);
    free(b->parts);
}

/* Applies a parsed batch and stores its offsets. -1 when not durable. */
static int batch_apply(sch_engine *e, rd_kafka_t *consumer, batch *b, char *err, size_t errlen) {
    if (b->n == 0) return 0;
    int ok = sch_engine_apply_json(e, b->evs, b->parts, b->n, err, errlen) == 0;
    if (ok && cm_kafka_store(consumer, b->msgs, b->n, err, errlen) != 0)
        cm_log_warn("store offsets: %s (the batch will be replayed)", err);
    batch_release(b);
    return ok ? 0 : -1;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
    int code = 0;
    /* before any jansson allocation: parsed event trees live in per-batch
     * regions (jarena.h); without it, the heap as before */
    if (sch_jarena_install() < 0) fprintf(stderr, "arrears-scheduler: no event arena (using malloc)\n");
    if (cm_settings_main(argc, argv, "arrears-scheduler",
                         "keeps every open invoice's collection state and fires its commands",
                         table, &code)) {
        /* --check-config also validates the policy file */
        if (code == 0 && argc > 1 && strcmp(argv[1], "--check-config") == 0) {
            sch_policy p;
            char perr[1024];
            if (sch_policy_load_file(cm_settings_str(table, "ARREARS_POLICY"), &p, perr,
                                     sizeof perr) < 0) {
                fprintf(stderr, "ARREARS_POLICY: %s\n", perr);
                return 1;
            }
            sch_policy_free(&p);
        }
        return code;
    }

    char err[1024] = "";
    int rc = 1;
    rd_kafka_t *consumer = NULL, *producer = NULL;
    cm_redis *redis = NULL;
    cm_http *http = NULL;
    batch cur = {0}, next = {0};
    sch_policy pol;
    int pol_ok = 0;
    cm_kafka_dr dr;
    cm_service_ready ready;
    static sch_engine eng; /* large: keep it off the stack */

    memset(&dr, 0, sizeof dr);
    /* batches allocate and free many megabytes: keep freed memory in the
     * heap instead of trimming it back to the kernel after every batch */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    cm_log_init("scheduler", cm_settings_str(table, "ARREARS_LOG_LEVEL"));
    if (cm_clock_init(cm_settings_str(table, "ARREARS_CLOCK"), err, sizeof err) != 0) {
        cm_log_error("ARREARS_CLOCK: %s", err);
        return 1;
    }
    if (sch_policy_load_file(cm_settings_str(table, "ARREARS_POLICY"), &pol, err, sizeof err) < 0) {
        cm_log_error("%s", err);
        return 1;
    }
    pol_ok = 1;
    cm_service_signals();
    cm_service_ready_init(&ready);

    const char *brokers = cm_settings_str(table, "ARREARS_KAFKA_BROKERS");
    char events[256], commands[256];
    cm_settings_topic(table, "events", events, sizeof events);
    cm_settings_topic(table, "commands", commands, sizeof commands);
    size_t batch_max = (size_t)cm_settings_int(table, "ARREARS_SCHEDULER_BATCH");
    int tick = (int)cm_settings_int(table, "ARREARS_SCHEDULER_TICK");

    memset(&eng, 0, sizeof eng);
    eng.pol = &pol;
    snprintf(eng.prefix, sizeof eng.prefix, "%s",
             cm_settings_str(table, "ARREARS_SCHEDULER_KEY_PREFIX"));
    eng.fire_batch = (int)cm_settings_int(table, "ARREARS_SCHEDULER_FIRE_BATCH");
    eng.now = now_ms;
    eng.next_due = INT64_MAX;
    const char *fault = cm_settings_str(table, "ARREARS_SCHEDULER_FAULT");
    if (fault[0]) {
        if (strncmp(fault, "crash-after-claim:", 18) != 0 || atoi(fault + 18) <= 0) {
            cm_log_error("ARREARS_SCHEDULER_FAULT: must be empty or crash-after-claim:N (N > 0)");
            return 1;
        }
        eng.crash_after_claims = atoi(fault + 18);
    }
    eng.m_events = cm_metrics_counter("arrears_scheduler_events_total{result=\"applied\"}",
                                      "events by outcome");
    eng.m_bad = cm_metrics_counter("arrears_scheduler_events_total{result=\"rejected\"}",
                                   "events by outcome");
    eng.m_fired = cm_metrics_counter("arrears_scheduler_fired_total", "timers fired (commands)");
    eng.m_skipped = cm_metrics_counter("arrears_scheduler_skipped_total",
                                       "ladder steps skipped by a hold or a condition");
    eng.m_conflicts = cm_metrics_counter("arrears_scheduler_conflicts_total",
                                         "batches recomputed after a version conflict");
    eng.m_republished = cm_metrics_counter("arrears_scheduler_republished_total",
                                           "claimed records published again after a failure");
    eng.m_late = cm_metrics_histogram("arrears_scheduler_lateness_seconds",
                                      "real time from a timer's due time to its firing");
    cm_metric *m_lag = cm_metrics_gauge("arrears_scheduler_lag_messages", "consumer lag on events");

    http = cm_http_start(cm_settings_str(table, "ARREARS_HTTP_ADDR"), cm_service_ready_fn, &ready,
                         err, sizeof err);
    if (!http && err[0]) {
        cm_log_error("http listener: %s", err);
        goto cleanup;
    }
    redis = cm_redis_connect_until(cm_settings_str(table, "ARREARS_REDIS_URL"), &cm_service_run,
                                   err, sizeof err);
    if (!redis) goto stopped;
    atomic_store(&ready.redis_ok, 1);
    eng.redis = redis;

    producer = cm_kafka_producer_new(brokers, "arrears-scheduler", &dr, 5, err, sizeof err);
    if (!producer) {
        cm_log_error("producer: %s", err);
        goto cleanup;
    }
    /* warm up: topic metadata now, not on the first command (a cold first
     * produce waits for a metadata round trip and makes that round late) */
    const char *out_topics[] = {commands, events};
    for (int i = 0; i < 2; i++) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(producer, out_topics[i], NULL);
        const struct rd_kafka_metadata *md = NULL;
        if (rkt && rd_kafka_metadata(producer, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR)
            rd_kafka_metadata_destroy(md);
        else
            cm_log_warn("no metadata yet for %s (the first records will wait for it)", out_topics[i]);
        if (rkt) rd_kafka_topic_destroy(rkt);
    }
    kafka_sink ks = {producer, &dr, commands, events,
                     (int)cm_settings_int(table, "ARREARS_SCHEDULER_DELIVERY_TIMEOUT")};
    eng.sink.publish = ks_publish;
    eng.sink.flush = ks_flush;
    eng.sink.inflight = ks_inflight;
    eng.sink.opaque = &ks;

    const char *topics[] = {events};
    cm_kafka_consumer_opts co = {brokers,
                                 cm_settings_str(table, "ARREARS_GROUP_ID"),
                                 "arrears-scheduler",
                                 topics,
                                 1,
                                 sch_engine_rebalance,
                                 &eng,
                                 NULL};
    consumer = cm_kafka_consumer_new(&co, err, sizeof err);
    if (!consumer) {
        cm_log_error("consumer: %s", err);
        goto cleanup;
    }
    if (batch_alloc(&cur, batch_max, 0) < 0 || batch_alloc(&next, batch_max, 1) < 0) {
        cm_log_error("out of memory for batches of %zu", batch_max);
        goto cleanup;
    }
    cm_log_info("scheduler started: %s -> %s (policy %s, key prefix %s)", events, commands,
                cm_settings_str(table, "ARREARS_POLICY"), eng.prefix);

    int64_t last_lag = 0, last_fire = 0;
    int more = 0, failures = 0;
    /* Pipelined: the next batch is parsed on a helper thread while the
     * current one is applied (Redis round trips); batches are applied and
     * their offsets stored strictly in poll order. */
    while (cm_service_run) {
        /* wait for events at most a tick, and not past the next timer */
        int wait = tick;
        if (eng.next_due != INT64_MAX) {
            int64_t d = cm_clock_real_delay_ms(eng.next_due);
            if (d < wait) wait = d < 0 ? 0 : (int)d;
        }
        next.n = cm_kafka_poll_batch(consumer, next.msgs, batch_max, (more || cur.n) ? 0 : wait);
        rd_kafka_poll(producer, 0);
        int64_t real = cm_clock_real_ms();
        if (real - last_lag >= 1000) {
            last_lag = real;
            atomic_store(&ready.kafka_ok, cm_kafka_assigned_count(consumer) > 0);
            int64_t lag = cm_kafka_lag(consumer);
            if (lag >= 0) cm_metric_set(m_lag, (double)lag);
        }
        pthread_t th;
        parse_job job = {&eng, &next};
        int threaded = next.n > 0 && pthread_create(&th, NULL, parse_thread, &job) == 0;
        if (next.n > 0 && !threaded) parse_thread(&job);
        int ok = batch_apply(&eng, consumer, &cur, err, sizeof err) == 0;
        if (threaded) pthread_join(th, NULL);
        if (!ok) {
            /* not durable: do not commit; restart from the committed offsets */
            cm_log_error("event batch failed: %s", err);
            atomic_store(&ready.redis_ok, 0);
            goto cleanup;
        }
        batch tmp = cur;
        cur = next;
        next = tmp;
        /* with a parsed batch waiting, apply it first (timers then see the
         * freshest state), but never starve the timers for longer than a tick */
        if (cur.n > 0 && cm_clock_real_ms() - last_fire < tick) continue;
        last_fire = cm_clock_real_ms();
        if (sch_engine_fire(&eng, &more, err, sizeof err) < 0) {
            failures++;
            cm_log_warn("firing timers: %s (retrying)", err);
            atomic_store(&ready.extra_ok, 0);
            more = 0;
            sleep_ms(failures < 10 ? 100L * failures : 1000);
        } else {
            if (failures) atomic_store(&ready.extra_ok, 1);
            failures = 0;
        }
    }

    if (batch_apply(&eng, consumer, &cur, err, sizeof err) < 0)
        cm_log_warn("last batch not applied: %s (it will be replayed)", err);
    if (sch_engine_settle(&eng, 1, err, sizeof err) < 0)
        cm_log_warn("records not acknowledged at exit: %s (they stay claimed and are re-published)", err);
stopped:
    rc = 0;
    cm_log_info("scheduler stopping: %lld fired, %lld re-published", eng.fired_total,
                eng.republished_total);
cleanup:
    if (consumer) cm_kafka_consumer_close(consumer);
    if (producer) {
        rd_kafka_flush(producer, 5000);
        rd_kafka_destroy(producer);
    }
    batch_free(&cur);
    batch_free(&next);
    free(eng.pending);
    if (redis) cm_redis_free(redis);
    if (http) cm_http_stop(http);
    if (pol_ok) sch_policy_free(&pol);
    return rc;
}
