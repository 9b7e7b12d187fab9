/* pipeline.h -- the scheduler's Kafka sink and its loop.
 *
 * The sink is sch_sink over an idempotent producer: commands carry a
 * command_id header, the scheduler's own events the CloudEvents headers.
 *
 * The loop: the batch just polled is parsed on a helper thread while
 * the previous one is applied (Redis round trips); batches are applied and
 * their offsets stored strictly in poll order, each only once its effects
 * are durable. The loop owns the messages handed to it; then it fires the
 * due timers. */
#ifndef SCH_PIPELINE_H
#define SCH_PIPELINE_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "engine.h"
#include "kafka.h"
#include "service.h"

typedef struct sch_kafka_sink {
    rd_kafka_t *rk;
    cm_kafka_dr *dr;
    const char *commands, *events; /* full topic names (borrowed) */
    const char *escalations;       /* case files (issue 16) */
    int timeout_ms;                /* delivery wait before a retry */
} sch_kafka_sink;

/* Points out (the engine's sink) at k, which must outlive it. */
void sch_kafka_sink_bind(sch_kafka_sink *k, sch_sink *out);
/* Asks for the topics' metadata now, not on the first record (a cold first
 * produce waits for a metadata round trip and makes that round late). */
void sch_kafka_warm_up(rd_kafka_t *producer, const char *const *topics, int n);

/* A polled batch and its parsed events. */
typedef struct sch_batch {
    rd_kafka_message_t **msgs;
    sch_event *evs; /* decoded once, by the parse thread */
    int *parts;
    size_t n;
    cm_json *js; /* the arena of its parsed events (cleared on release) */
} sch_batch;

/* The loop's state: three batches, the timer rounds' backoff. */
typedef struct sch_loop {
    sch_engine *eng;
    sch_batch cur, next; /* cur: parsed, applied by the next step */
    /* held: applied, its commit staged in the engine (engine.h
     * sch_engine_stage), its offsets stored once durable; held_state:
     * SCH_HELD_STAGED, or after a flush outside the loop (a rebalance)
     * SCH_HELD_DURABLE or SCH_HELD_AGAIN (to apply again) */
    sch_batch held;
    int held_state;
    int tick;          /* longest wait for events (ms) */
    int more;          /* the last round left due timers */
    int failures;      /* firing rounds failed in a row */
    int64_t last_fire; /* real ms */
} sch_loop;

enum { SCH_HELD_STAGED = 0, SCH_HELD_DURABLE, SCH_HELD_AGAIN };

/* Batches of at most max messages. 0, or -1 out of memory. */
int sch_loop_init(sch_loop *l, sch_engine *e, size_t max, int tick);
/* Frees both batches and the messages they still hold. */
void sch_loop_free(sch_loop *l);

/* The runtime's hooks (common/service.h), app = the sch_loop:
 * poll_wait  a tick at most, not past the next timer, 0 while a batch,
 *            a staged commit or timers are waiting;
 * on_batch   takes the polled messages, parses them while the current
 *            batch is applied (staged, when the engine pipelines: its
 *            commit runs while the next batch is decided) and the offsets
 *            of the batch made durable are stored; they become the
 *            current batch. -1 when a batch's effects are not durable
 *            (nothing stored; the group replays from the committed
 *            offsets);
 * on_tick    commits the staged batch, then fires the due timers, unless
 *            a parsed batch waits and a tick has not passed since the last
 *            round; a failed round is retried with a backoff, and clears
 *            ready.extra_ok meanwhile;
 * on_stop    applies the staged and the current batch, waits for the
 *            acknowledgements of what was published;
 * rebalance  commits the staged batch on a revocation; the engine's
 *            partition ownership. */
int sch_loop_poll_wait(cm_service *s, void *loop);
int sch_loop_on_batch(cm_service *s, void *loop, rd_kafka_message_t **msgs, size_t n);
int sch_loop_on_tick(cm_service *s, void *loop);
int sch_loop_on_stop(cm_service *s, void *loop, int failed);
void sch_loop_rebalance(void *loop, int assigned, const rd_kafka_topic_partition_list_t *parts);
/* Makes the staged batch durable and stores its offsets (before the
 * policies change). 0, or -1 when it cannot be applied. */
int sch_loop_flush(cm_service *s, void *loop);

/* Registers the engine's metrics. */
void sch_metrics_init(sch_engine *e);

#endif
