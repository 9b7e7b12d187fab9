/* admin.c -- arrears-admin: small operator tasks against Kafka.
 *
 *   arrears-admin create-topics [--partitions N] [SUFFIX...]
 *
 * Creates ARREARS_TOPIC_PREFIX + each suffix (default: every topic of
 * docs/conventions.md) on ARREARS_KAFKA_BROKERS; existing topics are left
 * alone. Tests use it to give themselves a private set of topics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka.h"
#include "settings.h"

static const char *const all_topics[] = {"inbound",  "events", "ingest.dlq",
                                         "commands", "contacts", "tasks",
                                         "escalations", "reports", "reports.requests"};

static cm_setting settings[] = {CM_SETTINGS_COMMON("", "arrears-admin"), CM_SETTINGS_END};

int main(int argc, char **argv)
{
    char err[4096];
    int partitions = 6, first = 2;
    const char *names[64];
    char bufs[64][256];
    int n = 0;

    if (argc < 2 || strcmp(argv[1], "create-topics") != 0) {
        fprintf(stderr, "usage: arrears-admin create-topics [--partitions N] [SUFFIX...]\n");
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
