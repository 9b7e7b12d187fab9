/* statemark.c -- the state marker: noticing that Redis came back empty
 * (statemark.h).
 *
 * The decision is a pure function so that its four cases are unit tested
 * without Redis or Kafka; the rest is one EXISTS, one SET NX and the
 * group's committed offsets (cm_kafka_committed). */
#include "statemark.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

cm_statemark_verdict cm_statemark_decide(int marker, int committed)
{
    if (marker)
        return CM_STATEMARK_START;
    return committed ? CM_STATEMARK_REFUSE : CM_STATEMARK_WRITE;
}

void cm_statemark_key(const char *prefix, char *out, size_t outlen)
{
    snprintf(out, outlen, "%smarker", prefix);
}

int cm_statemark_exists(cm_redis *r, const char *key, char *errstr, size_t errlen)
{
    redisReply *rep = cm_redis_cmd(r, errstr, errlen, "EXISTS %s", key);
    if (!rep)
        return -1;
    int ret = rep->type == REDIS_REPLY_INTEGER ? rep->integer > 0 : -1;
    if (ret < 0)
        snprintf(errstr, errlen, "EXISTS %s: unexpected reply type %d", key, rep->type);
    freeReplyObject(rep);
    return ret;
}

int cm_statemark_write(cm_redis *r, const char *key, const char *service, const char *group,
                       const char *how, char *errstr, size_t errlen)
{
    char created[40];
    cm_time_format_rfc3339(cm_clock_real_ms(), created, sizeof created);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "service", service, "group", group, "created",
                          created, "how", how);
    char *v = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!v) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    redisReply *rep = cm_redis_cmd(r, errstr, errlen, "SET %s %s NX", key, v);
    free(v);
    if (!rep)
        return -1;
    freeReplyObject(rep); /* OK, or nil when it was there already: both fine */
    return 0;
}

int cm_statemark_check(cm_redis *r, rd_kafka_t *consumer, const char *key, const char *service,
                       const char *group, const char *topic, const char *topic_suffix,
                       const char *prefix, char *errstr, size_t errlen)
{
    int marker = cm_statemark_exists(r, key, errstr, errlen);
    if (marker < 0)
        return -1;
    if (marker)
        return CM_STATEMARK_START; /* no need to ask Kafka */
    rd_kafka_topic_partition_list_t *parts =
        cm_kafka_committed(consumer, topic, 10000, errstr, errlen);
    if (!parts)
        return -1;
    int committed = 0;
    for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].offset >= 0)
            committed++;
    int total = parts->cnt;
    rd_kafka_topic_partition_list_destroy(parts);
    cm_statemark_verdict v = cm_statemark_decide(marker, committed > 0);
    if (v == CM_STATEMARK_WRITE)
        return cm_statemark_write(r, key, service, group, "first start", errstr, errlen) < 0
                   ? -1
                   : (int)v;
    snprintf(errstr, errlen,
             "state lost: Redis has no state marker %s, but consumer group %s has committed "
             "offsets on %d of the %d partitions of %s, so Redis lost the state those offsets "
             "went with (an empty or replaced Redis). Refusing to start. Recover "
             "(docs/operations.md, State loss) with either `arrears-admin reset-offsets %s %s` "
             "(rebuild from what %s retains) or `arrears-admin accept-state-loss %s %s %s` "
             "(go on without the lost state), then start again",
             key, group, committed, total, topic, group, topic_suffix, topic, service, group,
             prefix);
    return (int)v;
}
