/* kafka.h -- librdkafka consumers and producers with at-least-once rules.
 *
 * Design: a service consumes a batch, makes its effects durable (Redis,
 * produced records with successful delivery reports), and only then stores
 * the batch's offsets (enable.auto.offset.store=false); librdkafka's
 * auto-commit commits stored offsets in the background, and the rebalance
 * and close paths commit synchronously. A message whose effects are not
 * durable is never committed, so a crash replays it; every consumer is
 * therefore idempotent (ids, de-duplication).
 *
 * Producers are idempotent (enable.idempotence=true, acks=all). Their
 * delivery reports are counted in a cm_kafka_dr the producer owns:
 * cm_kafka_wait_delivered() waits until every queued record has a report
 * and says whether any failed.
 *
 * Configuration: brokers plus every ARREARS_KAFKA_<PROP> variable in the
 * environment (ARREARS_KAFKA_SECURITY_PROTOCOL -> security.protocol), so
 * TLS and SASL need no code change. Every function fills errstr on -1/NULL. */
#ifndef CM_KAFKA_H
#define CM_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

/* A new conf with bootstrap.servers, client.id and the env pass-through.
 * The caller owns it until it is handed to rd_kafka_new(). */
rd_kafka_conf_t *cm_kafka_conf_new(const char *brokers, const char *client_id, char *errstr,
                                   size_t errlen);
/* The prefetch every consumer of arrears keeps (cm_kafka_consumer_conf),
 * in messages; ARREARS_KAFKA_QUEUED_MIN_MESSAGES overrides it. librdkafka
 * 2.0 (Debian 12) stops fetching once its queue holds queued.min.messages
 * (default 100,000) and looks again only on its broker thread's next
 * one-second tick (2.1's fetch.queue.backoff.ms makes that tunable): a
 * consumer that drains the queue faster than that, as ingest and the
 * reporter do on a backlog, then waits with nothing to read. ingest
 * measured 19 such gaps of 200-490 ms in 7.6 s (122,000-132,000 msg/s).
 * With this bound the byte bound, queued.max.messages.kbytes (64 MiB by
 * default), is the one that stops a fetch for records of more than about
 * 220 bytes, so memory stays what it was; a queue that large lasts about a
 * second at the rates measured. docs/operations.md, "Kafka consumers". */
#define CM_KAFKA_QUEUED_MIN_MESSAGES "300000"
/* Sets what every consumer conf of arrears carries on top of
 * cm_kafka_conf_new's (the prefetch above, unless set in the
 * environment). 0, or -1 with errstr. */
int cm_kafka_consumer_conf(rd_kafka_conf_t *conf, char *errstr, size_t errlen);
/* Validates a broker list "host:port[,host:port]". */
int cm_kafka_brokers_check(const char *brokers, char *errstr, size_t errlen);

/* Called from the rebalance callback before an assign (assigned=1) or after
 * a revoke has been committed (assigned=0), with the partitions concerned.
 * The scheduler uses it to know which partitions' timers it owns. */
typedef void (*cm_kafka_rebalance_fn)(void *opaque, int assigned,
                                      const rd_kafka_topic_partition_list_t *parts);

typedef struct cm_kafka_consumer_opts {
    const char *brokers;
    const char *group_id;
    const char *client_id;
    const char *const *topics; /* full names */
    int ntopics;
    cm_kafka_rebalance_fn on_rebalance; /* may be NULL */
    void *opaque;
    const char *auto_offset_reset; /* NULL = "earliest" */
} cm_kafka_consumer_opts;

/* A subscribed consumer (eager rebalance, manual offset store, auto
 * commit of stored offsets every second). Free with cm_kafka_consumer_close. */
rd_kafka_t *cm_kafka_consumer_new(const cm_kafka_consumer_opts *o, char *errstr, size_t errlen);
/* Commits stored offsets synchronously, closes and destroys. */
void cm_kafka_consumer_close(rd_kafka_t *rk);
/* Stores offset+1 of each message as the next to commit for its partition.
 * Call only when every effect of these messages (and of all earlier ones in
 * the same partitions) is durable. */
int cm_kafka_store(rd_kafka_t *rk, rd_kafka_message_t **msgs, size_t n, char *errstr,
                   size_t errlen);
/* Polls up to max messages, waiting at most timeout_ms for the first and
 * collecting what else is ready. Errors that are not messages (partition
 * EOF) are dropped and freed; returns the count. */
size_t cm_kafka_poll_batch(rd_kafka_t *rk, rd_kafka_message_t **msgs, size_t max, int timeout_ms);
/* Number of partitions assigned to this consumer now. */
int cm_kafka_assigned_count(rd_kafka_t *rk);
/* Sum over assigned partitions of (high watermark - position), from cached
 * watermarks; a partition not consumed from since its assignment counts
 * from the group's committed offset (asked of the broker, 50 ms at most).
 * Partitions whose lag is not known count 0; -1 when the assignment
 * cannot be read. */
int64_t cm_kafka_lag(rd_kafka_t *rk);

/* Delivery report accounting, owned by the producer's opaque. */
typedef struct cm_kafka_dr {
    uint64_t ok, failed;
    char last_error[256];
} cm_kafka_dr;

/* An idempotent producer whose delivery reports update *dr (which must
 * outlive the producer). linger_ms < 0 = librdkafka default. */
rd_kafka_t *cm_kafka_producer_new(const char *brokers, const char *client_id, cm_kafka_dr *dr,
                                  int linger_ms, char *errstr, size_t errlen);
/* The same producer with its own delivery-report callback and opaque
 * (librdkafka's dr_msg_cb; m->_private is the record's msg_opaque from
 * cm_kafka_produce_opaque): a caller that waits for its own records (the
 * gateway answers each HTTP request once its records are acknowledged). */
typedef void (*cm_kafka_delivery_fn)(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
rd_kafka_t *cm_kafka_producer_new_cb(const char *brokers, const char *client_id,
                                     cm_kafka_delivery_fn on_report, void *opaque, int linger_ms,
                                     char *errstr, size_t errlen);
/* Produces a copy of payload. headers (may be NULL) is owned by the call on
 * success and on failure. Retries internally while the queue is full. The
 * record may belong to an open transaction of a transactional producer. */
int cm_kafka_produce(rd_kafka_t *rk, const char *topic, const char *key, size_t keylen,
                     const void *payload, size_t len, rd_kafka_headers_t *headers, char *errstr,
                     size_t errlen);
/* The same with a per-record opaque handed to the delivery report. */
int cm_kafka_produce_opaque(rd_kafka_t *rk, const char *topic, const char *key, size_t keylen,
                            const void *payload, size_t len, rd_kafka_headers_t *headers,
                            void *msg_opaque, char *errstr, size_t errlen);
/* Serves delivery reports until the out queue is empty or timeout_ms pass.
 * Returns 0 when every record queued since the last call was delivered,
 * -1 on timeout or when any failed (errstr says which). Resets dr->failed. */
int cm_kafka_wait_delivered(rd_kafka_t *rk, cm_kafka_dr *dr, int timeout_ms, char *errstr,
                            size_t errlen);

/* The fatal-error policy, the same in every service. librdkafka raises a
 * fatal error when a producer can never deliver again (an idempotent
 * producer's sequence is broken, a transactional producer was fenced) or a
 * consumer's static membership was fenced; the error callback every
 * cm_kafka client has logs it once, at error level, with its reason.
 *
 * cm_kafka_fatal() returns 0 while rk (a producer or consumer; NULL is
 * allowed and is never fatal) is healthy and -1, with the underlying error's
 * reason in errstr, from the moment one has happened; it stays -1. Every
 * service's loop checks it for each of its Kafka clients once per iteration;
 * on -1 the service logs errstr, stops taking input, does not store or
 * commit the offsets of the batch in hand (the group replays it after the
 * restart) and exits with code 1. Cheap (a lock and an int), thread-safe. */
int cm_kafka_fatal(rd_kafka_t *rk, char *errstr, size_t errlen);

/* Reads one header's value as a NUL-terminated copy into out; -1 if absent. */
int cm_kafka_header(const rd_kafka_message_t *m, const char *name, char *out, size_t outlen);

/* The group's committed offset of every partition of topic (rk: a
 * consumer handle with group.id; it need not be subscribed). A topic that
 * does not exist yet has no partitions: an empty list. Partitions without
 * a commit have offset < 0. The caller destroys the list
 * (rd_kafka_topic_partition_list_destroy); NULL with errstr on failure. */
rd_kafka_topic_partition_list_t *cm_kafka_committed(rd_kafka_t *rk, const char *topic,
                                                    int timeout_ms, char *errstr, size_t errlen);
/* Deletes group's committed offsets for every partition of topic, so that
 * its next consumer starts from auto.offset.reset (earliest: the start of
 * retention). The group must have no active member. 0, or -1 with errstr. */
int cm_kafka_delete_offsets(const char *brokers, const char *group, const char *topic, char *errstr,
                            size_t errlen);

/* Creates topics (ignoring "already exists"); used by tests and tools. */
int cm_kafka_create_topics(const char *brokers, const char *const *names, int n, int partitions,
                           char *errstr, size_t errlen);

#endif
