/* outbox.c -- a Kafka producer with per-record delivery tickets. */
#include "outbox.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "kafka.h"

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    ntf_ticket *t = m->_private;
    if (!t)
        return;
    t->pending--;
    if (m->err) {
        t->failed++;
        ntf_strlcpy(t->error, rd_kafka_err2str(m->err), sizeof t->error);
    }
}

rd_kafka_t *ntf_outbox_new(const char *brokers, const char *client_id, int linger_ms,
                           char *errstr, size_t errlen)
{
    rd_kafka_conf_t *conf = cm_kafka_conf_new(brokers, client_id, errstr, errlen);
    char linger[32];
    if (!conf)
        return NULL;
    snprintf(linger, sizeof linger, "%d", linger_ms);
    if (rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, errlen) ||
        rd_kafka_conf_set(conf, "acks", "all", errstr, errlen) ||
        rd_kafka_conf_set(conf, "compression.codec", "lz4", errstr, errlen) ||
        rd_kafka_conf_set(conf, "message.timeout.ms", "60000", errstr, errlen) ||
        rd_kafka_conf_set(conf, "linger.ms", linger, errstr, errlen)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errlen);
    if (!rk)
        rd_kafka_conf_destroy(conf);
    return rk;
}

int ntf_outbox_produce(rd_kafka_t *rk, const char *topic, const char *key, const void *payload,
                       size_t len, rd_kafka_headers_t *headers, ntf_ticket *t, char *errstr,
                       size_t errlen)
{
    for (int tries = 0;; tries++) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
            RD_KAFKA_V_VALUE((void *)payload, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(t), RD_KAFKA_V_END);
        if (!err) {
            t->pending++;
            return 0;
        }
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && tries < 600) {
            rd_kafka_poll(rk, 100);
            continue;
        }
        snprintf(errstr, errlen, "produce to %s: %s", topic, rd_kafka_err2str(err));
        if (headers)
            rd_kafka_headers_destroy(headers);
        return -1;
    }
}
