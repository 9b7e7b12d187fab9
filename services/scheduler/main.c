/* main.c -- arrears-scheduler: events -> commands (+ its own events).
 *
 * Settings and hooks of the service runtime (common/service.h). Each turn
 * polls a batch of events (at most a tick, not past the next timer),
 * parses it while the previous one is applied and its offsets stored, then
 * fires the due timers of the owned partitions (pipeline.c). */
#include "engine.h"
#include "jarena.h"
#include "backtest.h"
#include "explain.h"
#include "pipeline.h"
#include "policy.h"

#include "clock.h"
#include "log.h"
#include "metric_catalog.h"
#include "service.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    cm_settings_common c;
    const char *policy_file, *key_prefix, *fault;
    size_t batch;
    int fire_batch, tick, delivery_timeout;
    sch_policy pol; /* the running service */
    int pol_ok;
    sch_engine eng;
    sch_kafka_sink ks;
    sch_loop loop;
    char events[256], commands[256];
} app;

static int check_fault(const char *v, char *errstr, size_t errlen)
{
    if (!*v || (strncmp(v, "crash-after-claim:", 18) == 0 && atoi(v + 18) > 0))
        return 0;
    snprintf(errstr, errlen, "must be empty or crash-after-claim:N (N > 0)");
    return -1;
}

static cm_setting table[] = {
    CM_SETTINGS_COMMON_BOUND(&app.c, "127.0.0.1:9102", "arrears-scheduler"),
    CM_SETTING_PATH("ARREARS_POLICY", "deploy/config/policy.json",
                    "collection policy file (docs/policy.md)", &app.policy_file),
    CM_SETTING_STR("ARREARS_SCHEDULER_KEY_PREFIX",
                   "sch:", "prefix of every Redis key of the scheduler", &app.key_prefix),
    CM_SETTING_INT("ARREARS_SCHEDULER_BATCH", "1000", "most events applied per batch", 1, 100000,
                   &app.batch),
    CM_SETTING_INT("ARREARS_SCHEDULER_FIRE_BATCH", "1000",
                   "most timers fired per partition per round", 1, 100000, &app.fire_batch),
    CM_SETTING_DURATION("ARREARS_SCHEDULER_TICK", "20ms",
                        "longest wait for events before checking timers", 1, 5000, &app.tick),
    CM_SETTING_DURATION("ARREARS_SCHEDULER_DELIVERY_TIMEOUT", "30s",
                        "wait for delivery reports before retrying", 1000, 600000,
                        &app.delivery_timeout),
    CM_SETTING_CHECKED(
        "ARREARS_SCHEDULER_FAULT", "",
        "testing only: crash-after-claim:N exits (as if killed) after the Nth claimed round",
        &app.fault, check_fault),
    CM_SETTINGS_END};

/* --check-config too: the policy file must load */
static int configure(void *a, char *errstr, size_t errlen)
{
    char err[1024];
    if (sch_policy_load_file(app.policy_file, &app.pol, err, sizeof err) < 0) {
        snprintf(errstr, errlen, "ARREARS_POLICY: %s", err);
        return -1;
    }
    (void)a;
    app.pol_ok = 1;
    return 0;
}

static int init(cm_service *s, void *a, char *errstr, size_t errlen)
{
    /* batches allocate and free many megabytes: keep freed memory in the
     * heap instead of trimming it back to the kernel after every batch */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    app.eng = (sch_engine){.pol = &app.pol,
                           .fire_batch = app.fire_batch,
                           .now = cm_clock_now_ms,
                           .next_due = INT64_MAX,
                           .crash_after_claims = app.fault[0] ? atoi(app.fault + 18) : 0};
    snprintf(app.eng.prefix, sizeof app.eng.prefix, "%s", app.key_prefix);
    sch_metrics_init(&app.eng);
    s->batch_max = app.batch;
    cm_service_topic(s, "events", app.events, sizeof app.events);
    cm_service_topic(s, "commands", app.commands, sizeof app.commands);
    snprintf(errstr, errlen, "out of memory for batches of %zu", app.batch);
    return sch_loop_init(a, &app.eng, app.batch, app.tick);
}

static int start(cm_service *s, void *a, char *errstr, size_t errlen)
{
    (void)a, (void)errstr, (void)errlen;
    sch_store_redis(&app.eng.store, s->redis);
    const char *out[] = {app.commands, app.events};
    sch_kafka_warm_up(s->producer, out, 2);
    app.ks = (sch_kafka_sink){s->producer, &s->dr, app.commands, app.events, app.delivery_timeout};
    sch_kafka_sink_bind(&app.ks, &app.eng.sink);
    cm_log_info("scheduler started: %s -> %s (policy %s, key prefix %s)", app.events, app.commands,
                app.policy_file, app.eng.prefix);
    return 0;
}

static void cleanup(void *a)
{
    sch_loop_free(a);
    free(app.eng.pending);
    if (app.pol_ok)
        sch_policy_free(&app.pol);
}

int main(int argc, char **argv)
{
    /* before any jansson allocation: parsed event trees live in per-batch
     * regions (jarena.h); without it, the heap as before */
    if (sch_jarena_install() < 0)
        fprintf(stderr, "arrears-scheduler: no event arena (using malloc)\n");
    if (argc > 1 && strcmp(argv[1], "backtest") == 0) /* offline: no service */
        return sch_backtest_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "explain") == 0) /* one invoice's history */
        return sch_explain_main(argc - 1, argv + 1);
    static const cm_service_def def = {
        .name = "scheduler",
        .summary = "keeps every open invoice's collection state and fires its commands",
        .settings = table,
        .common = &app.c,
        .app = &app.loop,
        .life = {.configure = configure, .init = init, .start = start, .cleanup = cleanup},
        .io = {.inputs = "events",
               .on_rebalance = sch_loop_rebalance,
               .lag_metric = CT_LAG_SCHEDULER_NAME,
               .lag_help = CT_LAG_SCHEDULER_HELP},
        .loop = {.poll_wait = sch_loop_poll_wait,
                 .on_batch = sch_loop_on_batch,
                 .on_tick = sch_loop_on_tick,
                 .on_stop = sch_loop_on_stop}};
    return cm_service_main(&def, argc, argv);
}
