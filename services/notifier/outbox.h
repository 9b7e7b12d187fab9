/* outbox.h -- the notifier's transactional producer: outcome and task
 * records, and the consumed offsets of the commands they answer, are
 * committed to Kafka together or not at all.
 *
 * Design: one Kafka transaction per batch (ARREARS_COMMIT_INTERVAL). The
 * worker produces a batch's records between ntf_outbox_begin() and
 * ntf_outbox_commit(), and hands the batch's next offsets to commit, which
 * sends them with the consumer's group metadata (KIP-447: a replica that
 * lost its partitions is fenced by the group generation) and commits.
 * read_committed readers of contacts and tasks (librdkafka's default) see
 * a batch's records exactly when the group sees its offsets, so a crash
 * can neither lose an outcome nor let one be published twice: the next
 * owner replays exactly the commands whose outcomes were never committed.
 *
 * The producer returned by ntf_outbox_new is owned by the caller (destroy
 * with rd_kafka_destroy, which aborts an open transaction). */
#ifndef NTF_OUTBOX_H
#define NTF_OUTBOX_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

/* A transactional producer (idempotent, acks=all, lz4, linger.ms) with
 * transactional.id txn_id (unique per process start) and
 * transaction.timeout.ms txn_timeout_ms, its transactions initialised
 * (blocks up to txn_timeout_ms + 20 s while the coordinator is found).
 * ARREARS_KAFKA_* pass-through as everywhere. */
rd_kafka_t *ntf_outbox_new(const char *brokers, const char *client_id, const char *txn_id,
                           int txn_timeout_ms, int linger_ms, char *errstr, size_t errlen);
/* Starts a transaction. -1 with errstr: the producer is unusable (fatal). */
int ntf_outbox_begin(rd_kafka_t *rk, char *errstr, size_t errlen);
/* Produces a copy of payload into the open transaction; headers are owned
 * by the call whatever it returns. -1 with errstr: the record is not part
 * of the transaction, which must then be aborted (ntf_outbox_commit with
 * abort set). */
int ntf_outbox_produce(rd_kafka_t *rk, const char *topic, const char *key, const void *payload,
                       size_t len, rd_kafka_headers_t *headers, char *errstr, size_t errlen);
/* Ends the open transaction. Unless abort is set, sends offsets (borrowed;
 * may be NULL or empty) for the group of consumer and commits. Returns
 *   0  committed: the records and offsets are durable and visible;
 *   1  aborted (asked for, or the commit failed in a way that requires it):
 *      none of it happened; the caller produces the records again in a
 *      new transaction;
 *  -1  fatal (e.g. fenced): the producer is unusable; the process exits
 *      and its commands are replayed by the group.
 * errstr says why for 1 and -1. */
int ntf_outbox_commit(rd_kafka_t *rk, rd_kafka_t *consumer,
                      const rd_kafka_topic_partition_list_t *offsets, int abort, int timeout_ms,
                      char *errstr, size_t errlen);

#endif
