/* admin.c -- arrears-admin: small operator tasks against Kafka.
 *
 *   arrears-admin create-topics [--partitions N] [SUFFIX...]
 *   arrears-admin offsets GROUP SUFFIX
 *   arrears-admin reset-offsets GROUP SUFFIX
 *   arrears-admin accept-state-loss SERVICE GROUP KEY_PREFIX
 *   arrears-admin explain TENANT INVOICE_ID
 *
 * Creates ARREARS_TOPIC_PREFIX + each suffix (default: every topic of
 * docs/conventions.md) on ARREARS_KAFKA_BROKERS; existing topics are left
 * alone. Tests use it to give themselves a private set of topics.
 * `offsets` prints, per partition of ARREARS_TOPIC_PREFIX + SUFFIX, the
 * group's committed offset, the high watermark and the lag, then a total
 * line: "total committed=C end=E lag=L" (committed -1: none yet).
 * The two recoveries of a service that refuses to start because Redis lost
 * its state (common/statemark.h, docs/operations.md "State loss"):
 * `reset-offsets` deletes GROUP's committed offsets on the topic (every
 * member stopped), so the service starts as a first start, writes its
 * marker and rebuilds from the start of retention; `accept-state-loss`
 * writes the marker <KEY_PREFIX>marker, so it goes on from its offsets
 * with the state Redis has now.
 * `explain` prints an invoice's collection state and history in Redis: it
 * runs `arrears-scheduler explain` from the same directory, since the
 * scheduler owns that state's format (services/scheduler/explain.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka.h"
#include "redis.h"
#include "settings.h"
#include "statemark.h"

static const char *const all_topics[] = {"inbound",     "events",   "ingest.dlq",
                                         "commands",    "contacts", "tasks",
                                         "escalations", "reports",  "reports.requests"};

static cm_setting settings[] = {CM_SETTINGS_COMMON("", "arrears-admin"), CM_SETTINGS_END};

static int offsets(const char *brokers, const char *group, const char *topic)
{
    char err[512];
    rd_kafka_conf_t *conf = cm_kafka_conf_new(brokers, "arrears-admin", err, sizeof(err));
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    int ret = 1;

    if (!conf || rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err))) {
        fprintf(stderr, "arrears-admin: %s\n", err);
        if (conf)
            rd_kafka_conf_destroy(conf);
        return 1;
    }
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "arrears-admin: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    conf = NULL; /* now owned by rk */
    if (!(parts = cm_kafka_committed(rk, topic, 10000, err, sizeof(err)))) {
        fprintf(stderr, "arrears-admin: %s\n", err);
        goto cleanup;
    }
    if (parts->cnt == 0) {
        fprintf(stderr, "arrears-admin: topic %s: %s\n", topic,
                rd_kafka_err2str(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART));
        goto cleanup;
    }
    long long tc = 0, te = 0, tl = 0;
    int none = 1;
    for (int i = 0; i < parts->cnt; i++) {
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(rk, topic, parts->elems[i].partition, &lo, &hi, 10000);
        if (e) {
            fprintf(stderr, "arrears-admin: watermarks: %s\n", rd_kafka_err2str(e));
            goto cleanup;
        }
        int64_t c = parts->elems[i].offset;
        long long lag = c >= 0 ? hi - c : hi - lo;
        printf("partition=%d committed=%lld end=%lld lag=%lld\n", parts->elems[i].partition,
               (long long)c, (long long)hi, lag);
        if (c >= 0) {
            tc += c;
            none = 0;
        }
        te += hi;
        tl += lag;
    }
    printf("total committed=%lld end=%lld lag=%lld\n", none ? -1 : tc, te, tl);
    ret = 0;
cleanup:
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_destroy(rk);
    return ret;
}

/* accept-state-loss SERVICE GROUP KEY_PREFIX: the marker, written
 * knowingly (statemark.h). */
static int accept_state_loss(const char *redis_url, const char *service, const char *group,
                             const char *prefix)
{
    char err[512], key[320];
    cm_redis *r = cm_redis_connect(redis_url, 5000, err, sizeof(err));
    if (!r) {
        fprintf(stderr, "arrears-admin: redis: %s\n", err);
        return 1;
    }
    cm_statemark_key(prefix, key, sizeof key);
    int ret = cm_statemark_write(r, key, service, group, "accept-state-loss", err, sizeof(err));
    cm_redis_free(r);
    if (ret < 0) {
        fprintf(stderr, "arrears-admin: redis: %s\n", err);
        return 1;
    }
    printf("state marker %s written: %s (group %s) will start on the state Redis has now\n", key,
           service, group);
    return 0;
}

int main(int argc, char **argv)
{
    char err[4096];
    int partitions = 6, first = 2;
    const char *names[64];
    char bufs[64][256];
    int n = 0;

    if (argc == 4 && strcmp(argv[1], "explain") == 0) {
        char path[4096];
        const char *slash = strrchr(argv[0], '/');
        snprintf(path, sizeof path, "%.*sarrears-scheduler", slash ? (int)(slash - argv[0] + 1) : 0,
                 argv[0]);
        char *args[] = {path, "explain", argv[2], argv[3], NULL};
        execv(path, args);
        fprintf(stderr, "arrears-admin: explain: cannot run %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (argc < 2 || (strcmp(argv[1], "create-topics") != 0 &&
                     !((strcmp(argv[1], "offsets") == 0 || strcmp(argv[1], "reset-offsets") == 0) &&
                       argc == 4) &&
                     !(strcmp(argv[1], "accept-state-loss") == 0 && argc == 5))) {
        fprintf(stderr, "usage: arrears-admin create-topics [--partitions N] [SUFFIX...]\n"
                        "       arrears-admin offsets GROUP TOPIC-SUFFIX\n"
                        "       arrears-admin reset-offsets GROUP TOPIC-SUFFIX\n"
                        "       arrears-admin accept-state-loss SERVICE GROUP KEY_PREFIX\n"
                        "       arrears-admin explain TENANT INVOICE_ID\n");
        return 2;
    }
    if (argc > 3 && strcmp(argv[2], "--partitions") == 0) {
        partitions = atoi(argv[3]);
        first = 4;
        if (partitions < 1 || partitions > 1000) {
            fprintf(stderr, "arrears-admin: --partitions must be 1..1000\n");
            return 2;
        }
    }
    if (cm_settings_load(settings, err, sizeof(err)) != 0) {
        fprintf(stderr, "arrears-admin: configuration invalid:\n%s\n", err);
        return 1;
    }
    const char *prefix = cm_settings_str(settings, "ARREARS_TOPIC_PREFIX");
    if (strcmp(argv[1], "offsets") == 0) {
        char topic[256];
        snprintf(topic, sizeof(topic), "%s%s", prefix, argv[3]);
        return offsets(cm_settings_str(settings, "ARREARS_KAFKA_BROKERS"), argv[2], topic);
    }
    if (strcmp(argv[1], "reset-offsets") == 0) {
        char topic[256];
        snprintf(topic, sizeof(topic), "%s%s", prefix, argv[3]);
        if (cm_kafka_delete_offsets(cm_settings_str(settings, "ARREARS_KAFKA_BROKERS"), argv[2],
                                    topic, err, sizeof(err)) != 0) {
            fprintf(stderr, "arrears-admin: %s\n", err);
            return 1;
        }
        printf("committed offsets of group %s on %s deleted: its next start begins at the start "
               "of retention\n",
               argv[2], topic);
        return 0;
    }
    if (strcmp(argv[1], "accept-state-loss") == 0)
        return accept_state_loss(cm_settings_str(settings, "ARREARS_REDIS_URL"), argv[2], argv[3],
                                 argv[4]);
    if (first >= argc) {
        for (size_t i = 0; i < sizeof(all_topics) / sizeof(all_topics[0]); i++, n++) {
            snprintf(bufs[n], sizeof(bufs[n]), "%s%s", prefix, all_topics[i]);
            names[n] = bufs[n];
        }
    } else {
        for (int i = first; i < argc && n < 64; i++, n++) {
            snprintf(bufs[n], sizeof(bufs[n]), "%s%s", prefix, argv[i]);
            names[n] = bufs[n];
        }
    }
    if (cm_kafka_create_topics(cm_settings_str(settings, "ARREARS_KAFKA_BROKERS"), names, n,
                               partitions, err, sizeof(err)) != 0) {
        fprintf(stderr, "arrears-admin: %s\n", err);
        return 1;
    }
    for (int i = 0; i < n; i++)
        printf("%s\n", names[i]);
    return 0;
}
