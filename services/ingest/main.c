/* main.c -- arrears-ingest: inbound -> events (+ ingest.dlq).
 *
 * Settings and hooks of the service runtime (common/service.h). The loop
 * polls and validates batches; a sender thread looks them up, produces
 * them, waits for their delivery and records their ids, and a batch's
 * offsets are stored only once it is durable (pipeline.c). The work of a
 * batch is batch.c, its backends backend.c. */
#include "backend.h"
#include "ingest.h"
#include "pipeline.h"

#include "log.h"
#include "metric_catalog.h"
#include "service.h"

#include <stdio.h>
#include <string.h>

static struct {
    cm_settings_common c;
    size_t max_bytes, batch;
    int max_depth, threads, fill_ms, delivery_timeout;
    long long window_ms;
    const char *dedup_prefix;
    const char *phone_prefix;
    ing_config cfg; /* the running service */
    char inbound[256], events[256], dlq[256];
    cm_redis_pipe *pipe;
    ing_kafka_redis kr;
    ing_backend be;
    ing_pipeline *pl;
} app;

static cm_setting table[] = {
    CM_SETTINGS_COMMON_BOUND(&app.c, "127.0.0.1:9101", "arrears-ingest"),
    CM_SETTING_INT("ARREARS_INGEST_MAX_BYTES", "262144",
                   "largest accepted message (payload + key + headers, bytes); larger goes to "
                   "the DLQ",
                   256, 64LL << 20, &app.max_bytes),
    CM_SETTING_INT("ARREARS_INGEST_MAX_DEPTH", "32",
                   "deepest accepted JSON nesting; deeper goes to the DLQ", 2, 1000,
                   &app.max_depth),
    CM_SETTING_DURATION("ARREARS_INGEST_DEDUP_WINDOW", "7d",
                        "how long a (tenant, source, id) is remembered for de-duplication", 1000,
                        400LL * 86400 * 1000, &app.window_ms),
    CM_SETTING_STR("ARREARS_INGEST_DEDUP_PREFIX", "arrears:ingest:dedup:",
                   "Redis key prefix of the de-duplication window", &app.dedup_prefix),
    CM_SETTING_STR("ARREARS_INGEST_PHONE_PREFIX", "arrears:ingest:phone:",
                   "Redis key prefix of the per-tenant phone index (customer.upserted's phones; "
                   "an SMS that names a phone is published once per customer with it)",
                   &app.phone_prefix),
    CM_SETTING_INT("ARREARS_INGEST_BATCH", "4000", "most messages handled per batch", 1, 100000,
                   &app.batch),
    CM_SETTING_DURATION("ARREARS_INGEST_BATCH_FILL", "20ms",
                        "how long a started batch waits for more messages before it is "
                        "processed",
                        0, 1000, &app.fill_ms),
    CM_SETTING_INT("ARREARS_INGEST_THREADS", "1",
                   "threads that validate a batch (1 = the loop alone)", 1, 16, &app.threads),
    CM_SETTING_DURATION("ARREARS_INGEST_DELIVERY_TIMEOUT", "30s",
                        "wait for delivery reports before retrying", 1000, 600000,
                        &app.delivery_timeout),
    CM_SETTINGS_END};

static int init(cm_service *s, void *a, char *errstr, size_t errlen)
{
    (void)a;
    cm_service_topic(s, "inbound", app.inbound, sizeof app.inbound);
    cm_service_topic(s, "events", app.events, sizeof app.events);
    cm_service_topic(s, "ingest.dlq", app.dlq, sizeof app.dlq);
    app.cfg = (ing_config){app.max_bytes, app.max_depth};
    ing_batch_set_threads(app.threads);
    /* a batch pays a delivery wait and two Redis round-trips: fill it */
    s->batch_max = app.batch;
    s->fill_ms = app.fill_ms;
    app.pl = ing_pipeline_new(app.batch, &app.cfg);
    snprintf(errstr, errlen, "out of memory for batches of %zu", app.batch);
    return app.pl ? 0 : -1;
}

static int start(cm_service *s, void *a, char *errstr, size_t errlen)
{
    (void)a;
    if (cm_redis_prefix_check(cm_redis_is_cluster(s->redis), "ARREARS_INGEST_PHONE_PREFIX",
                              app.phone_prefix, "{<tenant>}", errstr, errlen) < 0)
        return -1;
    if (!(app.pipe = cm_redis_pipe_new())) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    app.kr = (ing_kafka_redis){.producer = s->producer,
                               .dr = &s->dr,
                               .redis = s->redis,
                               .pipe = app.pipe,
                               .events_topic = app.events,
                               .dlq_topic = app.dlq,
                               .window_ms = app.window_ms,
                               .delivery_timeout_ms = app.delivery_timeout,
                               .ready = &s->ready,
                               .prefix = app.dedup_prefix,
                               .phone_prefix = app.phone_prefix};
    ing_kafka_redis_backend(&app.kr, &app.be);
    cm_log_info("ingest started: %s -> %s, %s", app.inbound, app.events, app.dlq);
    snprintf(errstr, errlen, "cannot start the sender thread");
    return ing_pipeline_start(app.pl, &app.be);
}

static int poll_wait(cm_service *s, void *a)
{
    (void)a;
    return ing_pipeline_wait(app.pl, s->consumer);
}

static int on_batch(cm_service *s, void *a, rd_kafka_message_t **msgs, size_t n)
{
    char err[1024];
    (void)s, (void)a;
    if (n == 0)
        return CM_BATCH_DONE;
    if (ing_pipeline_hand(app.pl, msgs, n, err, sizeof err) == 0)
        return CM_BATCH_TAKEN;
    cm_log_error("batch failed: %s", err);
    return -1;
}

static int on_stop(cm_service *s, void *a, int failed)
{
    (void)a;
    return ing_pipeline_drain(app.pl, s->consumer, failed);
}

static void cleanup(void *a)
{
    (void)a;
    ing_pipeline_free(app.pl);
    ing_kafka_redis_free(&app.kr);
    cm_redis_pipe_free(app.pipe);
}

int main(int argc, char **argv)
{
    static const cm_service_def def = {
        .name = "ingest",
        .summary = "validates, normalizes and de-duplicates inbound billing/CRM events",
        .settings = table,
        .common = &app.c,
        .life = {.init = init, .start = start, .cleanup = cleanup},
        .io = {.inputs = "inbound",
               .lag_metric = CT_LAG_INGEST_NAME,
               .lag_help = CT_LAG_INGEST_HELP,
               .state_prefix = &app.dedup_prefix},
        .loop = {.poll_wait = poll_wait, .on_batch = on_batch, .on_stop = on_stop}};
    return cm_service_main(&def, argc, argv);
}
