/* main.c -- arrears-scheduler: events -> commands (+ its own events).
 *
 * Settings and hooks of the service runtime (common/service.h). Each turn
 * polls a batch of events (at most a tick, not past the next timer),
 * parses it while the previous one is applied and its offsets stored, then
 * fires the due timers of the owned partitions (pipeline.c). */
#include "engine.h"
#include "backtest.h"
#include "explain.h"
#include "pipeline.h"
#include "retention.h"
#include "policy.h"
#include "policy_set.h"

#include "clock.h"
#include "log.h"
#include "metric_catalog.h"
#include "service.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    cm_settings_common c;
    const char *policy_file, *policy_dir, *key_prefix, *fault, *retention;
    size_t batch;
    int fire_batch, tick, delivery_timeout, fire_on_apply, pipeline;
    sch_policy_set pols; /* the running policies: one file, or a directory */
    cm_service *svc;
    sch_engine eng;
    sch_kafka_sink ks;
    sch_loop loop;
    char events[256], commands[256], escalations[256];
} app;

static int check_fault(const char *v, char *errstr, size_t errlen)
{
    if (!*v || (strncmp(v, "crash-after-claim:", 18) == 0 && atoi(v + 18) > 0))
        return 0;
    snprintf(errstr, errlen, "must be empty or crash-after-claim:N (N > 0)");
    return -1;
}

static int check_retention(const char *v, char *errstr, size_t errlen)
{
    int64_t ms;
    return sch_retention_parse(v, &ms, errstr, errlen);
}

static cm_setting table[] = {
    CM_SETTINGS_COMMON_BOUND(&app.c, "127.0.0.1:9102", "arrears-scheduler"),
    CM_SETTING_PATH("ARREARS_POLICY", "deploy/config/policy.json",
                    "collection policy file (docs/policy.md)", &app.policy_file),
    CM_SETTING_STR("ARREARS_POLICY_DIR", "",
                   "directory of <tenant>.json policies plus default.json; set, it replaces "
                   "ARREARS_POLICY, and SIGHUP reloads it (docs/policy.md)",
                   &app.policy_dir),
    CM_SETTING_STR("ARREARS_SCHEDULER_KEY_PREFIX",
                   "sch:", "prefix of every Redis key of the scheduler", &app.key_prefix),
    CM_SETTING_INT("ARREARS_SCHEDULER_BATCH", "1000", "most events applied per batch", 1, 100000,
                   &app.batch),
    CM_SETTING_INT("ARREARS_SCHEDULER_FIRE_BATCH", "1000",
                   "most timers fired per partition per round", 1, 100000, &app.fire_batch),
    CM_SETTING_BOOL("ARREARS_SCHEDULER_FIRE_ON_APPLY", "yes",
                    "an event batch fires its invoices' timers already due in its own commit "
                    "(no: they wait for the next firing round)",
                    &app.fire_on_apply),
    CM_SETTING_BOOL("ARREARS_SCHEDULER_PIPELINE", "yes",
                    "an event batch is read and decided while Redis commits the one before "
                    "(no: one batch at a time; docs/scheduler.md \"Two batches in flight\")",
                    &app.pipeline),
    CM_SETTING_DURATION("ARREARS_SCHEDULER_TICK", "20ms",
                        "longest wait for events before checking timers", 1, 5000, &app.tick),
    CM_SETTING_DURATION("ARREARS_SCHEDULER_DELIVERY_TIMEOUT", "30s",
                        "wait for delivery reports before retrying", 1000, 600000,
                        &app.delivery_timeout),
    CM_SETTING_CHECKED("ARREARS_SCHEDULER_CLOSED_RETENTION", SCH_RETENTION_DEFAULT,
                       "how long closed invoices, payments and events waiting for an invoice or "
                       "payment that never came are kept after their last change, on the "
                       "service clock; none keeps them for ever (docs/scheduler.md \"Retention\")",
                       &app.retention, check_retention),
    CM_SETTING_CHECKED(
        "ARREARS_SCHEDULER_FAULT", "",
        "testing only: crash-after-claim:N exits (as if killed) after the Nth claimed round",
        &app.fault, check_fault),
    CM_SETTINGS_END};

/* Loads the policies (the directory when set, else the file) into *s. */
static int load_policies(sch_policy_set *s, char *errstr, size_t errlen)
{
    if (app.policy_dir[0])
        return sch_policy_set_load_dir(s, app.policy_dir, errstr, errlen);
    return sch_policy_set_load_file(s, app.policy_file, errstr, errlen);
}

/* Shows the loaded versions on /readyz and in the log. */
static void policies_loaded(const char *what)
{
    char desc[480], info[512];
    sch_policy_set_describe(&app.pols, desc, sizeof desc);
    snprintf(info, sizeof info, "policy %s", desc);
    if (app.svc)
        cm_service_ready_info(&app.svc->ready, info);
    cm_log_info("policies %s: %s", what, desc);
}

/* SIGHUP: reload the policy directory at the next turn */
static volatile sig_atomic_t reload_wanted;
static void on_hup(int sig)
{
    (void)sig;
    reload_wanted = 1;
}

/* A valid new set replaces the running one between batches (no batch
 * holds a policy pointer across turns); an invalid one is refused with
 * every error logged, and the running set stays. */
static void reload(void)
{
    static char err[16384];
    sch_policy_set next;
    reload_wanted = 0;
    if (load_policies(&next, err, sizeof err) < 0) {
        cm_log_error("policy reload refused, the running policies stay:\n%s", err);
        cm_metric_add(app.eng.m[CT_M_SCHEDULER_POLICY_REFUSED], 1);
        return;
    }
    sch_policy_set old = app.pols;
    app.pols = next;
    app.eng.pol = app.pols.v[0].pol;
    app.eng.pols = &app.pols;
    sch_policy_set_free(&old);
    cm_metric_add(app.eng.m[CT_M_SCHEDULER_POLICY_RELOADED], 1);
    policies_loaded("reloaded");
}

static int poll_wait(cm_service *s, void *loop)
{
    if (reload_wanted) {
        if (sch_loop_flush(s, loop) < 0) /* no staged batch holds the old policies */
            return CM_POLL_FAIL;
        reload();
    }
    return sch_loop_poll_wait(s, loop);
}

/* --check-config too: the policies must load */
static int configure(void *a, char *errstr, size_t errlen)
{
    static char err[16384];
    if (load_policies(&app.pols, err, sizeof err) < 0) {
        snprintf(errstr, errlen, "%s: %s",
                 app.policy_dir[0] ? "ARREARS_POLICY_DIR" : "ARREARS_POLICY", err);
        return -1;
    }
    (void)a;
    return 0;
}

static int init(cm_service *s, void *a, char *errstr, size_t errlen)
{
    /* batches allocate and free many megabytes: keep freed memory in the
     * heap instead of trimming it back to the kernel after every batch */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    app.svc = s;
    app.eng = (sch_engine){.pol = app.pols.v[0].pol,
                           .pols = app.policy_dir[0] ? &app.pols : NULL,
                           .fire_batch = app.fire_batch,
                           .no_fire_on_apply = !app.fire_on_apply,
                           .pipeline = app.pipeline,
                           .now = cm_clock_now_ms,
                           .next_due = INT64_MAX,
                           .crash_after_claims = app.fault[0] ? atoi(app.fault + 18) : 0};
    sch_retention_parse(app.retention, &app.eng.retention, errstr, errlen); /* checked */
    snprintf(app.eng.prefix, sizeof app.eng.prefix, "%s", app.key_prefix);
    sch_metrics_init(&app.eng);
    s->batch_max = app.batch;
    cm_service_topic(s, "events", app.events, sizeof app.events);
    cm_service_topic(s, "commands", app.commands, sizeof app.commands);
    cm_service_topic(s, "escalations", app.escalations, sizeof app.escalations);
    snprintf(errstr, errlen, "out of memory for batches of %zu", app.batch);
    return sch_loop_init(a, &app.eng, app.batch, app.tick);
}

/* On a redis+cluster:// URL: the key layout tagged per partition of
 * events (engine.h layout_parts), for the partition count that events has
 * now, recorded in <prefix>layout by the first scheduler; a later start
 * with another count is refused (the timers and records would be under
 * other tags). */
static int cluster_layout(cm_service *s, char *errstr, size_t errlen)
{
    if (cm_redis_prefix_check(1, "ARREARS_SCHEDULER_KEY_PREFIX", app.eng.prefix,
                              "{<tag of the partition>}", errstr, errlen) < 0)
        return -1;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(s->producer, app.events, NULL);
    int n = -1, have = 0;
    if (rkt && rd_kafka_metadata(s->producer, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
        n = md->topics[0].partition_cnt;
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (n < 1 || n > SCH_MAX_PARTS) {
        snprintf(errstr, errlen,
                 "Redis Cluster layout: cannot learn the partition count of %s (%d; 1 to %d "
                 "supported)",
                 app.events, n, SCH_MAX_PARTS);
        return -1;
    }
    if (sch_store_redis_layout(s->redis, app.eng.prefix, n, &have, errstr, errlen) < 0)
        return -1;
    if (have != n) {
        snprintf(errstr, errlen,
                 "Redis Cluster layout: %slayout says the keys are tagged for %d partitions of "
                 "%s, which has %d now; changing the partition count is a migration "
                 "(docs/scheduler.md)",
                 app.eng.prefix, have, app.events, n);
        return -1;
    }
    app.eng.layout_parts = n;
    cm_log_info("Redis Cluster: keys tagged per partition of %s (%d partitions)", app.events, n);
    return 0;
}

static int start(cm_service *s, void *a, char *errstr, size_t errlen)
{
    (void)a;
    sch_store_redis(&app.eng.store, s->redis);
    if (cm_redis_is_cluster(s->redis) && cluster_layout(s, errstr, errlen) < 0)
        return -1;
    const char *out[] = {app.commands, app.events, app.escalations};
    sch_kafka_warm_up(s->producer, out, 3);
    app.ks = (sch_kafka_sink){s->producer, &s->dr,          app.commands,
                              app.events,  app.escalations, app.delivery_timeout};
    sch_kafka_sink_bind(&app.ks, &app.eng.sink);
    cm_log_info("scheduler started: %s -> %s (policy %s, key prefix %s)", app.events, app.commands,
                app.policy_dir[0] ? app.policy_dir : app.policy_file, app.eng.prefix);
    policies_loaded("loaded");
    if (app.policy_dir[0]) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_hup;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGHUP, &sa, NULL);
    }
    return 0;
}

static void cleanup(void *a)
{
    sch_loop_free(a);
    free(app.eng.pending);
    sch_policy_set_free(&app.pols);
}

int main(int argc, char **argv)
{
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
               .lag_help = CT_LAG_SCHEDULER_HELP,
               .state_prefix = &app.key_prefix},
        .loop = {.poll_wait = poll_wait,
                 .on_batch = sch_loop_on_batch,
                 .on_tick = sch_loop_on_tick,
                 .on_stop = sch_loop_on_stop}};
    return cm_service_main(&def, argc, argv);
}
