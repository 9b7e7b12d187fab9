/* main.c -- arrears-reporter: events + contacts -> reports.
 *
 * Settings and hooks of the service runtime (common/service.h); the
 * protocol (assignment at the snapshot's offsets, requests, periodic
 * reports, snapshots) is serve.c.
 *
 *   arrears-reporter                 the service
 *   arrears-reporter replay ...      offline reports (replay.c) */
#include "clock.h"
#include "log.h"
#include "reporter.h"
#include "serve.h"
#include "metric_catalog.h"
#include "service.h"

#include <stdio.h>
#include <string.h>

static struct {
    cm_settings_common c;
    int64_t interval, max_age, snap_every, dedup_window, retention;
    const char *costs_path;
    rep_costs costs; /* from costs_path; st->costs points here when set */
    rep_svc svc;
} app;

static cm_setting table[] = {
    CM_SETTINGS_COMMON_BOUND(&app.c, "127.0.0.1:9104", "arrears-reporter"),
    CM_SETTING_DURATION("ARREARS_REPORT_INTERVAL", "1d",
                        "periodic reports every this much simulated time (shared clock)", 1000,
                        INT64_C(366) * 86400000, &app.interval),
    CM_SETTING_DURATION(
        "ARREARS_REPORTER_REQUEST_MAX_AGE", "1h",
        "requests older than this (Kafka timestamp, real time) are skipped, not answered", 1000,
        INT64_C(30) * 86400000, &app.max_age),
    CM_SETTING_DURATION("ARREARS_REPORTER_SNAPSHOT_INTERVAL", "10s",
                        "save the aggregates and their offsets to Redis this often (real time)",
                        100, 3600000, &app.snap_every),
    CM_SETTING_DURATION("ARREARS_REPORTER_DEDUP_WINDOW", "7d",
                        "event and outcome ids are remembered this long (real time) to drop "
                        "duplicates; a copy arriving later is counted again",
                        1000, INT64_C(400) * 86400000, &app.dedup_window),
    CM_SETTING_DURATION("ARREARS_REPORTER_FACT_RETENTION", "400d",
                        "reports can be asked for as of this far back (report clock, whole "
                        "days, 0 .. 3650 d); facts no such report reads (invoices settled "
                        "before it and 31 days more) are dropped, an older as_of is refused; "
                        "0: every fact kept for ever",
                        0, INT64_C(3650) * 86400000, &app.retention),
    CM_SETTING_PATH("ARREARS_REPORTER_COSTS", "",
                    "JSON file of the unit cost of a message per channel and currency "
                    "({\"sms_minor\": {\"GBP\": 4}, ...}, or a policy with them under \"costs\"), "
                    "for the effectiveness report's cost to collect; empty: costs unknown",
                    &app.costs_path),
    CM_SETTINGS_END};

static int init(cm_service *s, void *a, char *errstr, size_t errlen)
{
    rep_svc *r = a;
    if (app.costs_path && *app.costs_path &&
        rep_costs_load(app.costs_path, &app.costs, errstr, errlen) < 0)
        return -1;
    r->ready = &s->ready;
    r->interval = app.interval;
    r->max_age = app.max_age;
    r->snap_every = app.snap_every;
    r->dedup_window = app.dedup_window;
    /* whole days; a retention under a day is a day */
    r->retention_days = app.retention <= 0 ? 0
                        : app.retention < REP_MS_PER_DAY
                            ? 1
                            : (int32_t)(app.retention / REP_MS_PER_DAY);
    cm_service_topic(s, "events", r->t_events, sizeof r->t_events);
    cm_service_topic(s, "contacts", r->t_contacts, sizeof r->t_contacts);
    cm_service_topic(s, "reports.requests", r->t_requests, sizeof r->t_requests);
    cm_service_topic(s, "reports", r->t_reports, sizeof r->t_reports);
    snprintf(r->base, sizeof r->base, "%sreporter:%s:", app.c.topic_prefix, app.c.group_id);
    s->batch_max = REP_MAX_BATCH;
    s->poll_ms = 100;
    rep_serve_init(r);
    return 0;
}

static int start(cm_service *s, void *a, char *errstr, size_t errlen)
{
    rep_svc *r = a;
    r->consumer = s->consumer;
    r->producer = s->producer;
    r->dr = &s->dr;
    r->redis = s->redis;
    int rc = rep_serve_start(r, &cm_service_run, errstr, errlen);
    if (rc == 0 && r->st && app.costs_path && *app.costs_path)
        r->st->costs = &app.costs;
    return rc;
}

static int on_batch(cm_service *s, void *a, rd_kafka_message_t **msgs, size_t n)
{
    (void)s;
    rep_serve_records(a, msgs, n);
    return CM_BATCH_TAKEN; /* offsets go with the snapshot */
}

static int on_tick(cm_service *s, void *a)
{
    (void)s;
    rep_serve_tick(a);
    return 0;
}

static int on_stop(cm_service *s, void *a, int failed)
{
    (void)s, (void)failed;
    return rep_serve_stop(a);
}

static void cleanup(void *a)
{
    rep_serve_free(a);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "replay")) {
        cm_log_init("reporter", "warn");
        return rep_replay_main(argc - 1, argv + 1, stdout, stderr);
    }
    /* the group only holds the committed offsets: every partition is
     * assigned by start (serve.h) */
    static const cm_service_def def = {
        .name = "reporter",
        .summary = "aging, KPI and effectiveness reports from events and contacts "
                   "(also: arrears-reporter replay --help)",
        .settings = table,
        .common = &app.c,
        .app = &app.svc,
        .life = {.init = init, .start = start, .cleanup = cleanup},
        .io = {.inputs = "events,contacts,reports.requests",
               .manual_assign = 1,
               .lag_metric = CT_LAG_REPORTER_NAME,
               .lag_help = CT_LAG_REPORTER_HELP},
        .loop = {.on_batch = on_batch, .on_tick = on_tick, .on_stop = on_stop}};
    return cm_service_main(&def, argc, argv);
}
