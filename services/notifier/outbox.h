/* outbox.h -- a Kafka producer whose delivery reports land in per-record
 * tickets, so the loop never blocks waiting for acknowledgements.
 *
 * common/kafka.h's producer counts reports per producer and its
 * cm_kafka_wait_delivered() blocks; the notifier keeps sends in flight
 * while its outcomes are acknowledged, so it needs to know, without
 * waiting, which records are delivered. Each record carries a pointer to
 * the caller's ticket (rd_kafka per-message opaque); the ticket must stay
 * alive until its report arrived (poll) or the producer is destroyed. */
#ifndef NTF_OUTBOX_H
#define NTF_OUTBOX_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

typedef struct ntf_ticket {
    int pending; /* records produced and not yet reported */
    int failed;  /* reports with an error */
    char error[128];
} ntf_ticket;

/* An idempotent producer (acks=all, lz4, linger.ms=linger_ms) with the
 * ticket delivery callback; ARREARS_KAFKA_* pass-through as everywhere. */
rd_kafka_t *ntf_outbox_new(const char *brokers, const char *client_id, int linger_ms,
                           char *errstr, size_t errlen);
/* Produces a copy of payload; headers are owned by the call. The ticket's
 * pending count goes up now and down when the report arrives. */
int ntf_outbox_produce(rd_kafka_t *rk, const char *topic, const char *key, const void *payload,
                       size_t len, rd_kafka_headers_t *headers, ntf_ticket *t, char *errstr,
                       size_t errlen);

#endif
