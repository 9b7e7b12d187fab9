/* publish.h -- the Kafka gw_backend (publish.c). */
#ifndef GW_PUBLISH_H
#define GW_PUBLISH_H

#include <pthread.h>
#include <stdatomic.h>

#include "gateway.h"
#include "kafka.h"

typedef struct gw_wait gw_wait;

typedef struct gw_publisher {
    rd_kafka_t *rk;    /* made with gw_publisher_on_delivery and this as opaque */
    const char *topic; /* <prefix>inbound */
    int timeout_ms;    /* longest wait for a request's reports */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char last_error[256];
    int64_t probed_ms; /* last readiness probe (monotonic) */
} gw_publisher;

void gw_publisher_init(gw_publisher *p);
/* The producer's delivery-report callback (cm_kafka_producer_new_cb). */
void gw_publisher_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
void gw_publisher_backend(gw_publisher *p, gw_backend *be);
/* Serves delivery reports for up to wait_ms; every 2 s a metadata request
 * sets *up to whether a broker answers (readiness). */
void gw_publisher_serve(gw_publisher *p, int wait_ms, atomic_int *up);

#endif
