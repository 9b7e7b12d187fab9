/* committer.c -- ends the notifier's Kafka transactions on a thread of
 * their own (committer.h).
 *
 * Design: a mutex, a condition variable and one slot. start() fills the
 * slot and wakes the thread; the thread runs the commit outside the lock
 * and posts the result; result() takes it. librdkafka's transactional
 * calls are thread-safe, and the pipeline produces nothing into the
 * producer while a commit is in progress (worker.c), as the transactional
 * API requires. */
#include "committer.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "outbox.h"
#include "str.h"

typedef enum { C_IDLE, C_QUEUED, C_RUNNING, C_DONE } cstate;

struct ntf_committer {
    rd_kafka_t *producer; /* borrowed */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    cstate st;
    /* the slot: in */
    rd_kafka_t *consumer;                     /* borrowed */
    rd_kafka_topic_partition_list_t *offsets; /* owned; may be NULL */
    int abort, timeout_ms;
    /* out */
    int rc;
    char err[512];
};

static void *committer_main(void *arg)
{
    ntf_committer *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->stop && c->st != C_QUEUED)
            pthread_cond_wait(&c->cv, &c->mu);
        if (c->st != C_QUEUED) /* stop, nothing queued */
            break;
        c->st = C_RUNNING;
        rd_kafka_t *consumer = c->consumer;
        rd_kafka_topic_partition_list_t *offs = c->offsets;
        int abort = c->abort, timeout_ms = c->timeout_ms;
        c->offsets = NULL;
        pthread_mutex_unlock(&c->mu);

        char err[512] = "";
        int rc = ntf_outbox_commit(c->producer, consumer, offs, abort, timeout_ms, err, sizeof err);
        if (offs)
            rd_kafka_topic_partition_list_destroy(offs);

        pthread_mutex_lock(&c->mu);
        c->rc = rc;
        cm_strlcpy(c->err, err, sizeof c->err);
        c->st = C_DONE;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

ntf_committer *ntf_committer_new(rd_kafka_t *producer, char *errstr, size_t errlen)
{
    ntf_committer *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(errstr, errlen, "out of memory");
        return NULL;
    }
    c->producer = producer;
    pthread_mutex_init(&c->mu, NULL);
    cm_mono_cond_init(&c->cv);
    if (pthread_create(&c->thread, NULL, committer_main, c) != 0) {
        snprintf(errstr, errlen, "committer thread: cannot start");
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cv);
        free(c);
        return NULL;
    }
    return c;
}

void ntf_committer_free(ntf_committer *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = 1; /* a queued commit still runs: the thread leaves when idle */
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    if (c->offsets)
        rd_kafka_topic_partition_list_destroy(c->offsets);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

int ntf_committer_start(ntf_committer *c, rd_kafka_t *consumer,
                        rd_kafka_topic_partition_list_t *offsets, int abort, int timeout_ms)
{
    pthread_mutex_lock(&c->mu);
    if (c->st != C_IDLE) {
        pthread_mutex_unlock(&c->mu);
        if (offsets)
            rd_kafka_topic_partition_list_destroy(offsets);
        return -1;
    }
    c->consumer = consumer;
    c->offsets = offsets;
    c->abort = abort;
    c->timeout_ms = timeout_ms;
    c->st = C_QUEUED;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

int ntf_committer_busy(ntf_committer *c)
{
    pthread_mutex_lock(&c->mu);
    int busy = c->st != C_IDLE;
    pthread_mutex_unlock(&c->mu);
    return busy;
}

int ntf_committer_result(ntf_committer *c, int wait_ms, int *rc, char *errstr, size_t errlen)
{
    struct timespec until;
    cm_mono_deadline(wait_ms > 0 ? wait_ms : 0, &until);
    pthread_mutex_lock(&c->mu);
    while (wait_ms != 0 && (c->st == C_QUEUED || c->st == C_RUNNING)) {
        if (wait_ms < 0)
            pthread_cond_wait(&c->cv, &c->mu);
        else if (pthread_cond_timedwait(&c->cv, &c->mu, &until) == ETIMEDOUT)
            break;
    }
    int done = c->st == C_DONE;
    if (done) {
        *rc = c->rc;
        cm_strlcpy(errstr, c->err, errlen);
        c->st = C_IDLE;
    }
    pthread_mutex_unlock(&c->mu);
    return done;
}
