/* worker.h -- the notifier's pipeline: commands in, sends, outcomes out.
 *
 * A job per consumed command moves through
 *   CLAIM -> (WAIT_CLAIM) -> READY -> INFLIGHT -> (BACKOFF -> READY ...)
 *   -> OUTCOME -> PUBLISH -> PUBLISHING -> MARK -> DONE
 * (call_task/letter and commands that cannot be sent skip straight from
 * CLAIM to OUTCOME). Each Redis step is taken once per loop iteration for
 * every job in that state (one pipeline). Outcomes are produced into a
 * Kafka transaction together with their commands' offsets, in offset order
 * per partition (outbox.h), committed every commit_interval_ms. Jobs in memory are bounded by
 * max_queued: when full, the consumer's partitions are paused, so a provider that is down keeps its
 * commands in Kafka, not in memory.
 *
 * Everything in the options is borrowed and must outlive the worker. */
#ifndef NTF_WORKER_H
#define NTF_WORKER_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "claims.h"
#include "config.h"
#include "kafka.h"
#include "retry.h"
#include "sender.h"
#include "service.h"
#include "templates.h"

typedef struct ntf_worker_opts {
    rd_kafka_t *producer; /* from ntf_outbox_new (transactional) */
    ntf_claims *claims;
    ntf_claims *gate_claims; /* the email gate's, used on the sender thread only */
    ntf_sender *sender;
    const ntf_config *cfg;
    const ntf_templates *tpl;
    const char *contacts_topic, *tasks_topic;
    int max_inflight, max_queued;
    ntf_retry_policy retry;
    double rate[3], burst[3];   /* per provider: email, sms, webhook (0 = unlimited) */
    int unhealthy_after;        /* consecutive transient failures that make /readyz say so */
    cm_service_ready *ready;    /* may be NULL */
    int64_t commit_interval_ms; /* how long a transaction collects outcomes */
    int txn_timeout_ms;         /* bound of one transaction call */
} ntf_worker_opts;

typedef struct ntf_worker ntf_worker;

ntf_worker *ntf_worker_new(const ntf_worker_opts *o, char *errstr, size_t errlen);
/* The consumer (borrowed), created with ntf_worker_on_rebalance and the
 * worker as opaque. */
void ntf_worker_set_consumer(ntf_worker *w, rd_kafka_t *consumer);
void ntf_worker_on_rebalance(void *opaque, int assigned,
                             const rd_kafka_topic_partition_list_t *parts);
/* The email gate's keeper and its second half (sender.h ntf_gate_fn and
 * ntf_gate_kept_fn; opaque: the worker):
 * runs on the sender thread, with o.gate_claims. */
int ntf_worker_gate(void *opaque, void *tag, int *ok);
void ntf_worker_gate_kept(void *opaque, void *tag);
/* One loop iteration; polls Kafka only when poll is set. Waits at most
 * ~100 ms. Returns -1 when the transactional producer failed fatally
 * (logged): main exits and the group replays this replica's commands. */
int ntf_worker_step(ntf_worker *w, int poll);
/* Shutdown: stops starting sends, lets transfers in flight finish (until
 * deadline, real ms), commits their outcomes with the offsets, and gives
 * back the claims of commands not sent or not committed. */
void ntf_worker_drain(ntf_worker *w, int64_t deadline_ms);
size_t ntf_worker_jobs(const ntf_worker *w);
void ntf_worker_free(ntf_worker *w);

#endif
