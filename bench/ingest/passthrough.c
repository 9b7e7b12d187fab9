/* passthrough.c -- the baseline of `make bench-ingest`: a plain librdkafka
 * consume-and-produce of the same messages with no processing.
 *
 *   passthrough BROKERS GROUP IN_TOPIC OUT_TOPIC COUNT
 *
 * Subscribes GROUP to IN_TOPIC from the beginning, produces every message
 * (key, value, headers) unchanged to OUT_TOPIC, and exits 0 once COUNT
 * messages were consumed and every produced record has a delivery report.
 * The producer uses exactly the settings of cm_kafka_producer_new
 * (idempotent, acks=all, lz4, linger 5 ms, message timeout 60 s), the
 * consumer librdkafka's defaults (auto commit).
 * Prints "passthrough: N messages in S s (R msg/s)" measured from the first
 * message consumed to the last delivery report. */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(c, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "passthrough: %s=%s: %s\n", k, v, err);
        exit(2);
    }
}

static long failed;
static void on_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err)
        failed++;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: passthrough BROKERS GROUP IN_TOPIC OUT_TOPIC COUNT\n");
        return 2;
    }
    const char *brokers = argv[1], *group = argv[2], *in = argv[3], *out = argv[4];
    long count = atol(argv[5]);
    char err[512];

    rd_kafka_conf_t *pc = rd_kafka_conf_new();
    set(pc, "bootstrap.servers", brokers);
    set(pc, "enable.idempotence", "true");
    set(pc, "acks", "all");
    set(pc, "compression.codec", "lz4");
    set(pc, "linger.ms", "5");
    set(pc, "message.timeout.ms", "60000"); /* as cm_kafka_producer_new */
    rd_kafka_conf_set_dr_msg_cb(pc, on_dr);
    rd_kafka_t *prod = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err);
    if (!prod) {
        fprintf(stderr, "passthrough: producer: %s\n", err);
        return 1;
    }

    rd_kafka_conf_t *cc = rd_kafka_conf_new();
    set(cc, "bootstrap.servers", brokers);
    set(cc, "group.id", group);
    set(cc, "auto.offset.reset", "earliest");
    /* the prefetch bound every arrears consumer sets (common/kafka.h,
     * CM_KAFKA_QUEUED_MIN_MESSAGES): without it librdkafka 2.0 stalls up
     * to a second each time a fast consumer drains its queue, and the
     * baseline would be held back by what ingest is not */
    set(cc, "queued.min.messages", "300000");
    rd_kafka_t *cons = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof err);
    if (!cons) {
        fprintf(stderr, "passthrough: consumer: %s\n", err);
        return 1;
    }
    rd_kafka_poll_set_consumer(cons);
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, in, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(cons, t);
    rd_kafka_topic_partition_list_destroy(t);

    long n = 0;
    double t0 = 0;
    while (n < count) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 100);
        rd_kafka_poll(prod, 0);
        if (!m)
            continue;
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (n == 0)
            t0 = now_s();
        rd_kafka_headers_t *h = NULL, *hc = NULL;
        if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR && h)
            hc = rd_kafka_headers_copy(h);
        for (;;) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                prod, RD_KAFKA_V_TOPIC(out), RD_KAFKA_V_KEY(m->key, m->key_len),
                RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_HEADERS(hc), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(prod, 10);
                continue;
            }
            if (e) {
                fprintf(stderr, "passthrough: produce: %s\n", rd_kafka_err2str(e));
                return 1;
            }
            break;
        }
        rd_kafka_message_destroy(m);
        n++;
    }
    rd_kafka_flush(prod, 60000);
    double secs = now_s() - t0;
    printf("passthrough: %ld messages in %.2f s (%.0f msg/s), %ld delivery failures\n", n, secs,
           (double)n / secs, failed);
    rd_kafka_consumer_close(cons);
    rd_kafka_destroy(cons);
    rd_kafka_destroy(prod);
    return failed ? 1 : 0;
}
