/* pipeline.h -- ingest's two-thread delivery pipeline.
 *
 * Design: the service loop polls and validates batches (this API's
 * ing_pipeline_hand, on the loop's thread); a sender thread looks them up,
 * produces them, waits for their delivery and records their ids, in poll
 * order, two batches in flight. The loop stores a batch's offsets only
 * after the sender says every record derived from it was delivered and its
 * ids recorded (ing_pipeline_wait and ing_pipeline_drain release finished
 * batches). Only the sender thread uses the backend (Redis connection,
 * producer's delivery reports).
 *
 * Ownership: the pipeline owns the messages handed to it and its batches;
 * it borrows the config, the backend and the consumer. */
#ifndef ING_PIPELINE_H
#define ING_PIPELINE_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "ingest.h"

typedef struct ing_pipeline ing_pipeline;

/* Batches of at most batch messages, validated with cfg (borrowed); NULL
 * out of memory. Registers the ingest metrics. */
ing_pipeline *ing_pipeline_new(size_t batch, const ing_config *cfg);
/* Starts the sender thread over be (borrowed). 0, or -1. */
int ing_pipeline_start(ing_pipeline *p, const ing_backend *be);
/* Before a poll: releases finished batches (storing the offsets of the
 * durable ones in consumer), waiting up to 100 ms for one when every slot
 * is taken. Returns how long the poll may wait (ms), CM_POLL_SKIP when no
 * slot is free, or CM_POLL_FAIL when a batch failed while running. */
int ing_pipeline_wait(ing_pipeline *p, rd_kafka_t *consumer);
/* Takes msgs[0..n) (n > 0), validates them and hands them to the sender.
 * -1 (errstr) when the batch cannot be prepared. */
int ing_pipeline_hand(ing_pipeline *p, rd_kafka_message_t **msgs, size_t n, char *errstr,
                      size_t errlen);
/* At shutdown (the runtime's on_stop): the sender finishes what it was
 * handed, every finished batch is released. 0, or -1 when a batch failed
 * while running (not stored; the group replays it). Logs the totals.
 * failed_before: the loop stopped on a failure; only the sender is
 * stopped. Either way the sender has ended on return. */
int ing_pipeline_drain(ing_pipeline *p, rd_kafka_t *consumer, int failed_before);
/* Stops and joins the sender (before the backend goes); idempotent. */
void ing_pipeline_stop(ing_pipeline *p);
/* Stops the sender, frees every batch. NULL is allowed. */
void ing_pipeline_free(ing_pipeline *p);

#endif
