/* report.c -- arrears-report: the latest reports on Kafka, for a person.
 *
 *   arrears-report [--tenant T] [--type aging|kpis|effectiveness]
 *                  [--request-id ID] [--depth N] [--json] [--by variant]
 *   arrears-report --ask [--tenant T] [--type T] [--as-of YYYY-MM-DD]
 *                  [--timeout SECONDS] [--json] [--by variant]
 *
 * Reads the last N (default 2000) records of every partition of
 * ARREARS_TOPIC_PREFIX + "reports" up to the current end, keeps the latest
 * report per key (tenant/report-type; one key lives on one partition, so
 * "latest" is the highest offset), and prints them as aligned tables
 * (cm_table_report), or as one JSON object per line with --json. With
 * --by variant each effectiveness report is followed by its arms table
 * (cm_table_arms: per strategy and variant the recovery with its interval,
 * messages, cost, days to recover and the open invoices by age, and each
 * challenger's verdict against its champion), and each kpis report with
 * arms by the month's KPIs per strategy/variant. With
 * --request-id only the answers to that request are kept. With --ask it
 * publishes a request on reports.requests (tenant default "default", as of
 * today by default) and prints the answers as they arrive (waiting at most
 * --timeout seconds, default 30). Exit 0 when at least one report was
 * printed (with --ask: every requested one), 3 when none matched or the
 * answers did not come in time, 1 on errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "clock.h"
#include "kafka.h"
#include "log.h"
#include "settings.h"
#include "table.h"

static cm_setting tool_settings[] = {CM_SETTINGS_COMMON("", "arrears-report"), CM_SETTINGS_END};

static int tool_usage(void)
{
    fprintf(stderr, "usage: arrears-report [--tenant T] [--type aging|kpis|effectiveness] "
                    "[--request-id ID] [--depth N] [--json] [--by variant]\n"
                    "       arrears-report --ask [--tenant T] [--type T] [--as-of YYYY-MM-DD] "
                    "[--timeout SECONDS] [--json] [--by variant]\n"
                    "  reads ARREARS_TOPIC_PREFIX + \"reports\" on ARREARS_KAFKA_BROKERS\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *tenant = NULL, *type = NULL, *request_id = NULL;
    const char *as_of = NULL;
    long depth = 2000, timeout_s = 30;
    int as_json = 0, ask = 0, by_variant = 0, rc = 1;
    char ask_id[64] = "";
    rd_kafka_t *prod = NULL;
    cm_kafka_dr dr = {0, 0, {0}};
    char err[4096], topic[512];
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    const rd_kafka_metadata_t *md = NULL;
    json_t *latest = json_object(); /* key -> report, insertion ordered */
    int64_t *hi = NULL;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            tool_usage();
            return 0;
        } else if (!strcmp(argv[i], "--json"))
            as_json = 1;
        else if (!strcmp(argv[i], "--ask"))
            ask = 1;
        else if (!strcmp(argv[i], "--by") && i + 1 < argc) {
            if (strcmp(argv[++i], "variant")) {
                fprintf(stderr, "arrears-report: --by: only variant\n");
                return 2;
            }
            by_variant = 1;
        } else if (!strcmp(argv[i], "--as-of") && i + 1 < argc)
            as_of = argv[++i];
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
            timeout_s = strtol(argv[++i], NULL, 10);
            if (timeout_s < 1)
                return tool_usage();
        } else if (!strcmp(argv[i], "--tenant") && i + 1 < argc)
            tenant = argv[++i];
        else if (!strcmp(argv[i], "--type") && i + 1 < argc)
            type = argv[++i];
        else if (!strcmp(argv[i], "--request-id") && i + 1 < argc)
            request_id = argv[++i];
        else if (!strcmp(argv[i], "--depth") && i + 1 < argc) {
            depth = strtol(argv[++i], NULL, 10);
            if (depth < 1)
                return tool_usage();
        } else
            return tool_usage();
    }
    int32_t asof_day;
    if (as_of && (!ask || cm_date_parse(as_of, &asof_day) < 0)) {
        fprintf(stderr, "arrears-report: --as-of: not a date (YYYY-MM-DD), and only with --ask\n");
        return 2;
    }
    if (type && strcmp(type, "aging") && strcmp(type, "kpis") && strcmp(type, "effectiveness")) {
        fprintf(stderr, "arrears-report: --type: one of aging, kpis, effectiveness\n");
        return 2;
    }
    if (ask) {
        if (!tenant)
            tenant = "default";
        snprintf(ask_id, sizeof ask_id, "arrears-report-%ld-%lld", (long)getpid(),
                 (long long)cm_clock_real_ms());
        request_id = ask_id;
    }
    cm_log_init("report", "warn");
    if (cm_settings_load(tool_settings, err, sizeof err) != 0) {
        fprintf(stderr, "arrears-report: configuration invalid:\n%s\n", err);
        return 1;
    }
    cm_settings_topic(tool_settings, "reports", topic, sizeof topic);
    rd_kafka_conf_t *conf = cm_kafka_conf_new(
        cm_settings_str(tool_settings, "ARREARS_KAFKA_BROKERS"), "arrears-report", err, sizeof err);
    if (!conf || rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err) ||
        rd_kafka_conf_set(conf, "group.id", "arrears-report-reader", err, sizeof err)) {
        fprintf(stderr, "arrears-report: %s\n", err);
        if (conf)
            rd_kafka_conf_destroy(conf);
        goto cleanup;
    }
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "arrears-report: %s\n", err);
        goto cleanup;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    rd_kafka_topic_destroy(rkt);
    if (e || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "arrears-report: topic %s: %s\n", topic,
                rd_kafka_err2str(e               ? e
                                 : md->topic_cnt ? md->topics[0].err
                                                 : e));
        goto cleanup;
    }
    int np = md->topics[0].partition_cnt;
    parts = rd_kafka_topic_partition_list_new(np);
    hi = calloc((size_t)np + 1, sizeof *hi);
    int64_t remaining = 0;
    for (int i = 0; i < np; i++) {
        int32_t p = md->topics[0].partitions[i].id;
        int64_t lo = 0, h = 0;
        if ((e = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &h, 10000))) {
            fprintf(stderr, "arrears-report: watermarks: %s\n", rd_kafka_err2str(e));
            goto cleanup;
        }
        hi[i] = h;
        if (ask) { /* only what is published from now on */
            rd_kafka_topic_partition_list_add(parts, topic, p)->offset = h;
            continue;
        }
        if (h > lo) {
            int64_t from = h - depth > lo ? h - depth : lo;
            rd_kafka_topic_partition_list_add(parts, topic, p)->offset = from;
            remaining += h - from;
        }
    }
    if (parts->cnt && (e = rd_kafka_assign(rk, parts))) {
        fprintf(stderr, "arrears-report: assign: %s\n", rd_kafka_err2str(e));
        goto cleanup;
    }
    int want = type ? 1 : 3;
    int64_t deadline = cm_clock_real_ms() + timeout_s * 1000;
    if (ask) {
        json_t *req = json_pack("{s:i, s:s, s:s}", "v", 1, "id", ask_id, "tenant", tenant);
        if (type)
            json_object_set_new(req, "types", json_pack("[s]", type));
        if (as_of)
            json_object_set_new(req, "as_of", json_string(as_of));
        char *body = json_dumps(req, JSON_COMPACT);
        json_decref(req);
        char rtopic[512], key[300];
        cm_settings_topic(tool_settings, "reports.requests", rtopic, sizeof rtopic);
        snprintf(key, sizeof key, "%s/%s", tenant, ask_id);
        prod = cm_kafka_producer_new(cm_settings_str(tool_settings, "ARREARS_KAFKA_BROKERS"),
                                     "arrears-report", &dr, 0, err, sizeof err);
        if (!prod || !body ||
            cm_kafka_produce(prod, rtopic, key, strlen(key), body, strlen(body), NULL, err,
                             sizeof err) < 0 ||
            cm_kafka_wait_delivered(prod, &dr, 10000, err, sizeof err) < 0) {
            fprintf(stderr, "arrears-report: request not sent: %s\n", err);
            free(body);
            goto cleanup;
        }
        free(body);
        remaining = 1; /* until the answers arrive */
    }
    int idle = 0;
    while (ask ? (json_object_size(latest) < (size_t)want && cm_clock_real_ms() < deadline)
               : (remaining > 0 && idle < 100)) { /* 10 s without progress: give up */
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            idle++;
            continue;
        }
        idle = 0;
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        int pi = 0;
        while (pi < np && md->topics[0].partitions[pi].id != m->partition)
            pi++;
        if (pi < np && (ask || m->offset < hi[pi])) {
            if (!ask)
                remaining--;
            json_t *r = json_loadb(m->payload, m->len, 0, NULL);
            const char *rt = json_string_value(json_object_get(r, "type"));
            const char *tn = json_string_value(json_object_get(r, "tenant"));
            const char *rq = json_string_value(json_object_get(r, "request_id"));
            if (r && rt && tn && (!tenant || !strcmp(tenant, tn)) && (!type || !strcmp(type, rt)) &&
                (!request_id || (rq && !strcmp(request_id, rq)))) {
                char key[600];
                snprintf(key, sizeof key, "%s/%s", tn, rt);
                json_object_del(latest, key); /* re-insert at the end */
                json_object_set(latest, key, r);
            }
            json_decref(r);
        }
        rd_kafka_message_destroy(m);
    }
    if (ask && json_object_size(latest) < (size_t)want)
        fprintf(stderr, "arrears-report: %zu of %d answers to %s within %ld s\n",
                json_object_size(latest), want, ask_id, timeout_s);
    else if (!ask && remaining > 0)
        fprintf(stderr, "arrears-report: %lld record(s) not read before the timeout\n",
                (long long)remaining);
    const char *k;
    json_t *r;
    int printed = 0;
    json_object_foreach(latest, k, r)
    {
        if (as_json) {
            char *s = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
            if (s)
                printf("%s\n", s);
            free(s);
        } else {
            cm_table_report(stdout, r);
            const char *rt = json_string_value(json_object_get(r, "type"));
            if (by_variant && rt && (!strcmp(rt, "effectiveness") || !strcmp(rt, "kpis")))
                cm_table_arms(stdout, r);
        }
        printed++;
    }
    rc = printed && (!ask || printed >= want) ? 0 : 3;
    if (!printed)
        fprintf(stderr, "arrears-report: no report matched\n");
cleanup:
    if (prod)
        rd_kafka_destroy(prod);
    free(hi);
    json_decref(latest);
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    return rc;
}
