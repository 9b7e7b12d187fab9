/* publish.c -- the Kafka backend: a request's records to inbound, and a
 * wait for their delivery reports.
 *
 * The producer is idempotent with acks=all (common/kafka.c). Each request
 * produces its records with one gw_wait as their opaque; the delivery
 * callback (served by the service loop's rd_kafka_poll) counts them down
 * and wakes the waiting threads when a request's last report is in: one
 * wake-up per request, not per record (a broadcast per record woke every
 * waiting request's thread 100 times per batch of 100, about a tenth of the
 * gateway's CPU in `make bench-gateway`). A request that stops waiting
 * (timeout) leaves the gw_wait to the last report, which frees it. */
#include "publish.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"

struct gw_wait {
    size_t pending, failed;
    int abandoned;
};

void gw_publisher_init(gw_publisher *p)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    cm_mono_cond_init(&p->cv);
}

void gw_publisher_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    gw_publisher *p = opaque;
    gw_wait *w = m->_private;
    (void)rk;
    if (!w)
        return;
    pthread_mutex_lock(&p->mu);
    if (m->err) {
        w->failed++;
        snprintf(p->last_error, sizeof p->last_error, "%s", rd_kafka_err2str(m->err));
    }
    if (--w->pending == 0) {
        if (w->abandoned)
            free(w);
        else
            pthread_cond_broadcast(&p->cv); /* only now can a waiter stop waiting */
    }
    pthread_mutex_unlock(&p->mu);
}

static int publish(void *opaque, const gw_record *recs, size_t n)
{
    gw_publisher *p = opaque;
    char err[256];
    gw_wait *w = calloc(1, sizeof *w);
    size_t produced = 0;
    int rc = 0;
    if (!w)
        return -1;
    pthread_mutex_lock(&p->mu);
    w->pending = n;
    pthread_mutex_unlock(&p->mu);
    for (; produced < n; produced++) {
        const gw_record *r = &recs[produced];
        if (cm_kafka_produce_opaque(p->rk, p->topic, r->key, strlen(r->key), r->value, r->len, NULL,
                                    w, err, sizeof err) != 0) {
            cm_log_warn("gateway: %s", err);
            rc = -1;
            break;
        }
    }
    struct timespec until;
    cm_mono_deadline(p->timeout_ms, &until);
    pthread_mutex_lock(&p->mu);
    w->pending -= n - produced; /* never produced: no report will come */
    while (w->pending > 0)
        if (pthread_cond_timedwait(&p->cv, &p->mu, &until) == ETIMEDOUT)
            break;
    if (w->pending > 0) {
        cm_log_warn("gateway: %zu of %zu records not acknowledged within %d ms", w->pending, n,
                    p->timeout_ms);
        w->abandoned = 1;
        rc = -1;
        w = NULL; /* the last report frees it */
    } else if (w->failed) {
        cm_log_warn("gateway: %zu of %zu records failed: %s", w->failed, n, p->last_error);
        rc = -1;
    }
    pthread_mutex_unlock(&p->mu);
    free(w);
    return rc;
}

void gw_publisher_backend(gw_publisher *p, gw_backend *be)
{
    be->opaque = p;
    be->publish = publish;
}

void gw_publisher_serve(gw_publisher *p, int wait_ms, atomic_int *up)
{
    rd_kafka_poll(p->rk, wait_ms);
    if (cm_mono_ms() - p->probed_ms < 2000)
        return;
    const struct rd_kafka_metadata *md = NULL;
    p->probed_ms = cm_mono_ms();
    int ok = rd_kafka_metadata(p->rk, 0, NULL, &md, 500) == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (md)
        rd_kafka_metadata_destroy(md);
    atomic_store(up, ok);
}
