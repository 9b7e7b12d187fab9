/* statemark.h -- the state marker: noticing that Redis came back empty.
 *
 * Design (docs/operations.md "State loss"): a service whose state lives in
 * Redis (scheduler, ingest) writes the key <prefix>marker the first time it
 * starts against a Redis with no marker while its consumer group has no
 * committed offset on its input. From then on the marker lives as long as
 * the state does. At each start, committed offsets without the marker mean
 * the state is gone while Kafka remembers having consumed into it (a lost
 * volume, a FLUSHALL, a Redis without persistence that restarted): the
 * service refuses to start rather than go on from an empty state, and the
 * operator chooses a recovery with arrears-admin (reset-offsets: rebuild
 * from the retained input; accept-state-loss: write the marker knowingly).
 * A running service checks the marker every few seconds and stops (exit 1)
 * when it is gone, so the restart refuses.
 *
 * The key sits under the service's own Redis prefix (the scheduler's
 * ARREARS_SCHEDULER_KEY_PREFIX, ingest's ARREARS_INGEST_DEDUP_PREFIX), so
 * that it shares the fate of the state it vouches for. Its value is a
 * JSON object: service, group, created (RFC 3339 wall time) and how
 * ("first start" or "accept-state-loss").
 *
 * Ownership: nothing is allocated for the caller. */
#ifndef CM_STATEMARK_H
#define CM_STATEMARK_H

#include <stddef.h>

#include "kafka.h"
#include "redis.h"

typedef enum cm_statemark_verdict {
    CM_STATEMARK_START,  /* the marker is there: the state is the one the offsets go with */
    CM_STATEMARK_WRITE,  /* no marker and nothing committed: a first start, write it */
    CM_STATEMARK_REFUSE, /* no marker but offsets committed: the state was lost */
} cm_statemark_verdict;

/* The pure decision. marker: the key exists; committed: the group has a
 * committed offset on at least one partition of its input. */
cm_statemark_verdict cm_statemark_decide(int marker, int committed);

/* <prefix>marker into out. */
void cm_statemark_key(const char *prefix, char *out, size_t outlen);

/* 1 when the key exists, 0 when not, -1 with errstr. */
int cm_statemark_exists(cm_redis *r, const char *key, char *errstr, size_t errlen);

/* Writes the marker if it is not there (SET NX); how says why. 0, or -1. */
int cm_statemark_write(cm_redis *r, const char *key, const char *service, const char *group,
                       const char *how, char *errstr, size_t errlen);

/* The check at start: reads the marker and the group's committed offsets
 * on topic (consumer: the service's, with its group.id), writes the marker
 * on a first start. Returns the verdict; on CM_STATEMARK_REFUSE errstr
 * holds the message for the operator (the key, the group, the recovery
 * commands). -1 with errstr when Redis or Kafka did not answer (the caller
 * retries). topic_suffix is the input without ARREARS_TOPIC_PREFIX, for the
 * message. */
int cm_statemark_check(cm_redis *r, rd_kafka_t *consumer, const char *key, const char *service,
                       const char *group, const char *topic, const char *topic_suffix,
                       const char *prefix, char *errstr, size_t errlen);

#endif
