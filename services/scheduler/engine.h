/* engine.h -- the scheduler's two loops over shared state: applying event
 * batches and firing due timers, with partition ownership.
 *
 * Firing a timer (exactly-once towards the notifier, by command id):
 *   1. peek: the due members of every owned partition's zset, with their
 *      invoice and customer (one Lua call per partition, pipelined);
 *   2. decide in memory (apply.c) and commit in one CAS script: the invoice
 *      advances to its next step AND the round's commands, written just
 *      before to P ob:<part>:<round> with a TTL, are made permanent and
 *      listed in the set P ob:<part> (store.h);
 *   3. produce every stored command (the next rounds go on meanwhile);
 *   4. once the producer reports every record delivered, forget the rounds
 *      (a failed delivery leaves them there, re-published).
 * A crash between 2 and 4 leaves the round listed in P ob:<part>; whoever owns the
 * partition next (this process after a restart, or another replica after a
 * rebalance) re-publishes the stored bytes, so a step is never published
 * with two different contents. A CAS conflict means someone else advanced
 * the invoice first: nothing is written, nothing published.
 *
 * An event batch also fires, in its own commit, the timers of its
 * invoices already due on the clock (apply.h sch_plan_due): steps 2-4
 * with the batch's commit as the claim, as a round right after the batch
 * would, without reading those invoices again.
 *
 * Publishing goes through sch_sink (function pointers), Kafka in the
 * service, a double in unit tests. */
#ifndef SCH_ENGINE_H
#define SCH_ENGINE_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "apply.h"
#include "metric_catalog.h"
#include "metrics.h"
#include "store.h"

#define SCH_MAX_PARTS 1024

typedef struct sch_sink {
    /* queues one record; topic 'c' commands, 'e' events, 'd' a decision
     * (only when the engine's decide is set) */
    int (*publish)(void *opaque, char topic, const char *key, const char *id, const char *payload,
                   size_t len, char *errstr, size_t errlen);
    /* waits until every queued record is acknowledged (0) or failed (-1) */
    int (*flush)(void *opaque, char *errstr, size_t errlen);
    /* serves delivery reports without waiting: records still in flight;
     * *failed = 1 if any failed since the last call */
    int (*inflight)(void *opaque, int *failed);
    void *opaque;
} sch_sink;

typedef struct sch_pending {
    int part;
    char *id; /* the round's key P ob:<part>:<round> (owned) */
} sch_pending;

typedef struct sch_staged sch_staged; /* engine.c "Two batches in flight" */

typedef struct sch_engine {
    sch_store store; /* Redis in the service, memory in the backtest */
    const sch_policy *pol;
    const struct sch_policy_set *pols; /* per-tenant policies (NULL: pol for all) */
    char prefix[128];
    /* The Redis Cluster layout (docs/scheduler.md): > 0, the number of
     * partitions of events the keys are tagged for -- every key of
     * partition p is <prefix>{<tag of p>}..., one slot per partition, and
     * each batch and firing round commits per partition; 0, one Redis:
     * <prefix>... for all, one commit per batch. */
    int layout_parts;
    sch_sink sink;
    int fire_batch;                       /* timers per partition per round */
    unsigned char owned[SCH_MAX_PARTS];   /* partitions of events owned now */
    unsigned char recover[SCH_MAX_PARTS]; /* P ob:<p> may list undelivered rounds */
    int64_t (*now)(void);                 /* simulated clock */
    sch_pending *pending;                 /* rounds published, not yet acknowledged */
    size_t npending, cappending;
    size_t pending_records; /* records in those rounds */
    int64_t next_due;       /* earliest later timer seen by the last round */
    int crash_after_claims; /* testing: _exit(137) after the Nth claim, 0 = off */
    int decide;             /* queue decisions as records of topic 'd' (backtest) */
    /* 1: an event batch leaves its invoices' due timers to the next firing
     * round instead of firing them in its own commit (sch_plan_due;
     * ARREARS_SCHEDULER_FIRE_ON_APPLY=no, for comparison) */
    int no_fire_on_apply;
    /* 1: event batches go through sch_engine_stage two at a time where the
     * store can (ARREARS_SCHEDULER_PIPELINE; engine.c "Two batches in
     * flight"); the batch staged (its commit built, not yet sent; owned,
     * NULL none), the one being read, a flush failed while reading */
    int pipeline;
    sch_staged *staged, *loading;
    int flush_failed;
    long long pipeline_waits; /* batches that read only after the staged commit ran */
    /* the last staged batch read after the one before was sent (firing on
     * apply, a blind write): the next pipeline_off batches are applied one
     * at a time (where batches fire on apply, as in a catch-up, the
     * pipeline only adds the overlay's cost) */
    int pipeline_stalled, pipeline_off;
    /* metrics (may be NULL) */
    cm_metric *m[CT_M_COUNT]; /* metric_catalog.h: m[CT_M_SCHEDULER_*] */
    long long fired_total, republished_total;
    long long not_applied_total; /* events that could not apply to the state */
    /* retention (retention.h): closed invoices, payments and waiting lists
     * are purged this long after their last change on the service clock
     * (ms; 0 keeps them for ever); records purged, held events expired */
    int64_t retention;
    long long purged_total, expired_total, late_total; /* late: about a purged record */
} sch_engine;

/* The key prefix of partition part's records, timers and outbox: the
 * engine's prefix, with the partition's hash tag under the cluster layout.
 * 0, or -1 with errstr when part is outside the layout (events grew past
 * the partitions the layout was made for). */
int sch_engine_prefix(sch_engine *e, int part, char *out, size_t len, char *errstr, size_t errlen);

/* Rebalance hook for cm_kafka_consumer_new (opaque = the engine). */
void sch_engine_rebalance(void *opaque, int assigned, const rd_kafka_topic_partition_list_t *parts);

/* Applies a batch of consumed events atomically. Bad events are logged
 * and counted (never fatal). Returns 0 when every effect is durable (the
 * caller may store the offsets), -1 to retry the batch later. */
int sch_engine_events(sch_engine *e, rd_kafka_message_t **msgs, size_t n, char *errstr,
                      size_t errlen);
/* The parsing half of sch_engine_events: parses msgs[i] into js (the
 * batch's arena: its trees stay until the caller clears js) and decodes it
 * once into evs[i] (sch_event_decode_bytes); evs[i].raw is NULL when it was
 * rejected (logged, counted) or ignored. evs[i] borrows from js and from
 * msgs[i]. parts[i] is its partition. Touches no Redis and no engine state
 * but metrics, so it may run on another thread while the previous batch
 * is applied. */
void sch_engine_parse(sch_engine *e, cm_json *js, rd_kafka_message_t **msgs, size_t n,
                      sch_event *evs, int *parts);
/* The applying half: evs[i] (skipped when evs[i].raw is NULL) with
 * partition parts[i]. */
int sch_engine_apply(sch_engine *e, const sch_event *evs, const int *parts, size_t n, char *errstr,
                     size_t errlen);

/* Two batches in flight (engine.c): whether this engine and its store
 * pipeline batches (pipeline set, one Redis, a store with load_seed and
 * the commit in two halves). */
int sch_engine_pipelined(const sch_engine *e);
/* Applies a batch as sch_engine_apply does, but leaves its commit staged
 * (e->staged): Redis runs it while the next batch is decided, the next
 * call (or sch_engine_flush) waits for it. evs and parts stay the
 * caller's and are not read after the call. Without pipelining (above),
 * applies the batch at once (nothing staged). Returns:
 *    0  this batch staged (or applied), and the one staged before durable;
 *   -1  this batch not applied; the one staged before durable;
 *   -2  neither applied (the one before failed): apply both again, in
 *       order, with sch_engine_apply.
 * Flush the staged batch before firing (the service's loop first asks
 * sch_engine_due, and leaves the batch staged when no round is due),
 * settling with block, at exit, and before changing the engine's
 * policies. A round run while a batch is staged is correct (it sees the
 * state without the batch; a staged commit that conflicts with the
 * round's fails, -2 on the next call, and both batches are applied
 * again), but the conflicts cost two batches applied again each. */
int sch_engine_stage(sch_engine *e, const sch_event *evs, const int *parts, size_t n, char *errstr,
                     size_t errlen);
/* Commits the staged batch, if any: 0 durable (or none), -1 not (apply it
 * again with sch_engine_apply). */
int sch_engine_flush(sch_engine *e, char *errstr, size_t errlen);

/* Marks published records done once acknowledged (see engine.c); block =
 * wait for the acknowledgements. Call with block at shutdown. */
int sch_engine_settle(sch_engine *e, int block, char *errstr, size_t errlen);

/* Whether a firing round has anything to do now (*due 1): a timer or
 * purge member due in an owned partition, or a partition to recover;
 * 1 as well when the store cannot tell (no due_any, the cluster layout).
 * One round trip. */
int sch_engine_due(sch_engine *e, int *due, char *errstr, size_t errlen);

/* One firing round over the owned partitions. *more = 1 when some
 * partition had more due timers than fire_batch. Returns the number of
 * records published, or -1 on error (state stays consistent). */
int sch_engine_fire(sch_engine *e, int *more, char *errstr, size_t errlen);

#endif
