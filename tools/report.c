/* report.c -- arrears-report: the latest reports on Kafka, for a person.
 *
 *   arrears-report [--tenant T] [--type aging|kpis|effectiveness]
 *                  [--request-id ID] [--depth N] [--json]
 *
 * Reads the last N (default 2000) records of every partition of
 * ARREARS_TOPIC_PREFIX + "reports" up to the current end, keeps the latest
 * report per key (tenant/report-type; one key lives on one partition, so
 * "latest" is the highest offset), and prints them as aligned tables
 * (rep_table_print), or as one JSON object per line with --json. With
 * --request-id only the answers to that request are kept. Exit 0 when at
 * least one report was printed, 3 when none matched, 1 on errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../services/reporter/reporter.h"
#include "kafka.h"
#include "log.h"
#include "settings.h"

static cm_setting tool_settings[] = {CM_SETTINGS_COMMON("", "arrears-report"), CM_SETTINGS_END};

static int tool_usage(void)
{
    fprintf(stderr, "usage: arrears-report [--tenant T] [--type aging|kpis|effectiveness] "
                    "[--request-id ID] [--depth N] [--json]\n"
                    "  reads ARREARS_TOPIC_PREFIX + \"reports\" on ARREARS_KAFKA_BROKERS\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *tenant = NULL, *type = NULL, *request_id = NULL;
    long depth = 2000;
    int as_json = 0, rc = 1;
    char err[4096], topic[512];
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    const rd_kafka_metadata_t *md = NULL;
    json_t *latest = json_object(); /* key -> report, insertion ordered */
    int64_t *hi = NULL;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            as_json = 1;
        else if (!strcmp(argv[i], "--tenant") && i + 1 < argc)
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
    int idle = 0;
    while (remaining > 0 && idle < 100) { /* 10 s without progress: give up */
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
        if (pi < np && m->offset < hi[pi]) {
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
    if (remaining > 0)
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
            rep_table_print(stdout, r);
        }
        printed++;
    }
    rc = printed ? 0 : 3;
    if (!printed)
        fprintf(stderr, "arrears-report: no report matched\n");
cleanup:
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
