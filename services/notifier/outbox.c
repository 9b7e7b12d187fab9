/* outbox.c -- the notifier's transactional producer (outbox.h).
 *
 * Error handling follows librdkafka's transactional API contract: every
 * call returns an rd_kafka_error_t that is fatal (the producer is dead),
 * requires an abort (the transaction is lost, start another), or is
 * retriable (call again). Records are produced with cm_kafka_produce, as
 * every other producer's. */
#include "outbox.h"

#include <stdio.h>
#include <string.h>

#include "str.h"
#include "kafka.h"

/* Copies e's text into errstr with a prefix; destroys e; returns e's class:
 * -1 fatal, 1 abortable or other, 2 retriable. */
static int classify(rd_kafka_error_t *e, const char *what, char *errstr, size_t errlen)
{
    int cls = rd_kafka_error_is_fatal(e)             ? -1
              : rd_kafka_error_txn_requires_abort(e) ? 1
              : rd_kafka_error_is_retriable(e)       ? 2
                                                     : 1;
    snprintf(errstr, errlen, "%s: %s%s", what, rd_kafka_error_string(e), cls < 0 ? " (fatal)" : "");
    rd_kafka_error_destroy(e);
    return cls;
}

rd_kafka_t *ntf_outbox_new(const char *brokers, const char *client_id, const char *txn_id,
                           int txn_timeout_ms, int linger_ms, char *errstr, size_t errlen)
{
    rd_kafka_conf_t *conf = cm_kafka_conf_new(brokers, client_id, errstr, errlen);
    rd_kafka_t *rk = NULL;
    char linger[32], tto[32];
    if (!conf)
        return NULL;
    snprintf(linger, sizeof linger, "%d", linger_ms);
    snprintf(tto, sizeof tto, "%d", txn_timeout_ms);
    if (rd_kafka_conf_set(conf, "transactional.id", txn_id, errstr, errlen) ||
        rd_kafka_conf_set(conf, "transaction.timeout.ms", tto, errstr, errlen) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, errlen) ||
        rd_kafka_conf_set(conf, "acks", "all", errstr, errlen) ||
        rd_kafka_conf_set(conf, "compression.codec", "lz4", errstr, errlen) ||
        rd_kafka_conf_set(conf, "message.timeout.ms", tto, errstr, errlen) ||
        rd_kafka_conf_set(conf, "linger.ms", linger, errstr, errlen))
        goto fail;
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errlen);
    if (!rk)
        goto fail;
    conf = NULL; /* now owned by rk */
    rd_kafka_error_t *e = rd_kafka_init_transactions(rk, txn_timeout_ms + 20000);
    if (e) {
        classify(e, "init_transactions", errstr, errlen);
        rd_kafka_destroy(rk);
        return NULL;
    }
    return rk;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    return NULL;
}

int ntf_outbox_begin(rd_kafka_t *rk, char *errstr, size_t errlen)
{
    rd_kafka_error_t *e = rd_kafka_begin_transaction(rk);
    if (!e)
        return 0;
    classify(e, "begin_transaction", errstr, errlen);
    return -1;
}

int ntf_outbox_produce(rd_kafka_t *rk, const char *topic, const char *key, const void *payload,
                       size_t len, rd_kafka_headers_t *headers, char *errstr, size_t errlen)
{
    return cm_kafka_produce(rk, topic, key, strlen(key), payload, len, headers, errstr, errlen);
}

/* Aborts the open transaction. 1: aborted (errstr keeps the reason the
 * caller put there); -1: the abort failed too (errstr says why; fatal). */
static int do_abort(rd_kafka_t *rk, int timeout_ms, char *errstr, size_t errlen)
{
    for (int tries = 0; tries < 3; tries++) {
        rd_kafka_error_t *e = rd_kafka_abort_transaction(rk, timeout_ms);
        if (!e)
            return 1;
        char why[256];
        if (classify(e, "abort_transaction", why, sizeof why) != 2) {
            cm_strlcpy(errstr, why, errlen);
            return -1;
        }
    }
    snprintf(errstr, errlen, "abort_transaction: retries exhausted");
    return -1;
}

int ntf_outbox_commit(rd_kafka_t *rk, rd_kafka_t *consumer,
                      const rd_kafka_topic_partition_list_t *offsets, int abort, int timeout_ms,
                      char *errstr, size_t errlen)
{
    if (abort) {
        snprintf(errstr, errlen, "a record could not be produced");
        return do_abort(rk, timeout_ms, errstr, errlen);
    }
    int cls = 0;
    if (offsets && offsets->cnt > 0) {
        rd_kafka_consumer_group_metadata_t *md = rd_kafka_consumer_group_metadata(consumer);
        if (!md) {
            snprintf(errstr, errlen, "send_offsets_to_transaction: no group metadata");
            return do_abort(rk, timeout_ms, errstr, errlen);
        }
        for (int tries = 0; tries < 4; tries++) {
            rd_kafka_error_t *e = rd_kafka_send_offsets_to_transaction(rk, offsets, md, timeout_ms);
            cls = e ? classify(e, "send_offsets_to_transaction", errstr, errlen) : 0;
            if (cls != 2)
                break;
        }
        rd_kafka_consumer_group_metadata_destroy(md);
    }
    for (int tries = 0; cls == 0 && tries < 4; tries++) {
        rd_kafka_error_t *e = rd_kafka_commit_transaction(rk, timeout_ms);
        if (!e)
            return 0;
        cls = classify(e, "commit_transaction", errstr, errlen);
        if (cls == 2)
            cls = 0; /* retriable: commit again */
        else
            break;
    }
    if (cls < 0)
        return -1;
    return do_abort(rk, timeout_ms, errstr, errlen);
}
