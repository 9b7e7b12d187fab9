/* service.h -- the runtime every service's main() shares.
 *
 * Design: a service is a table of settings bound to its own variables
 * (settings.h) and a few hooks; cm_service_main() does the rest, in the
 * same order for every service:
 *
 *   settings   load, validate at once, --help/--version/--check-config,
 *              then the service's configure hook (policy files, provider
 *              settings that must agree): all before anything starts
 *   bring-up   log, clock, signals (SIGINT/SIGTERM clear cm_service_run),
 *              init hook, HTTP (/healthz /readyz /metrics), Redis,
 *              producer, consumer, start hook
 *   loop       while cm_service_run: poll a batch with a short wait,
 *              on_batch, on_tick (a service that consumes nothing waits
 *              in on_tick: the loop then only calls the hooks); readiness and lag every second; a
 * fatal Kafka error stops the service (cm_kafka_fatal: kafka.h) teardown   on_stop (drain),
 * consumer close (commits stored offsets), producer flush, cleanup hook, Redis, HTTP
 *
 * Offsets: a batch's offsets are stored only after its effects are
 * durable. on_batch returns CM_BATCH_DONE when they are (the runtime
 * stores the offsets and frees the messages), or CM_BATCH_TAKEN when the
 * hook keeps the messages and stores their offsets itself once durable
 * (cm_service_store), as ingest's pipeline and the scheduler's two-batch
 * overlap do. A service whose work polls the consumer itself (the
 * notifier's transactional worker) sets own_poll and does it in on_tick.
 *
 * State marker: a service with io.state_prefix refuses to start (exit 1)
 * when its Redis lost its state (statemark.h), and stops (exit 1) when the
 * marker disappears while it runs.
 *
 * Exit status: 0 after a signal and a clean on_stop; 1 when the settings
 * are invalid, a bring-up step fails, a hook returns -1, or on_stop does.
 *
 * cm_service_signals() traps SIGTERM (Kubernetes) and SIGINT, clearing
 * cm_service_run, and ignores SIGPIPE; tools use it alone. */
#ifndef CM_SERVICE_H
#define CM_SERVICE_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>

#include "http.h"
#include "kafka.h"
#include "metrics.h"
#include "redis.h"
#include "settings.h"

extern volatile sig_atomic_t cm_service_run;

void cm_service_signals(void);

/* Readiness published by the loop and read by the HTTP thread. */
typedef struct cm_service_ready {
    atomic_int kafka_ok; /* partitions assigned or producer connected */
    atomic_int redis_ok;
    atomic_int extra_ok; /* service-specific (1 when unused) */
    char extra_why[128]; /* written before extra_ok is cleared */
    /* what a ready answer adds after "ready" (e.g. the scheduler's policy
     * versions): two buffers, the writer fills the one not shown, then
     * flips info_cur (cm_service_ready_info) */
    char info[2][512];
    atomic_int info_cur;
} cm_service_ready;

void cm_service_ready_init(cm_service_ready *r);
/* Sets the text a ready /readyz shows after "ready" (one writer: the
 * service's loop). */
void cm_service_ready_info(cm_service_ready *r, const char *text);
/* A cm_http_ready_fn over a cm_service_ready. */
int cm_service_ready_fn(void *opaque, char *why, size_t whylen);

/* on_batch results */
#define CM_BATCH_DONE  0 /* durable: the runtime stores the offsets, frees the messages */
#define CM_BATCH_TAKEN 1 /* the hook owns the messages and stores their offsets */
/* poll_wait results besides a wait in ms */
#define CM_POLL_SKIP (-1) /* do not poll this turn */
#define CM_POLL_FAIL (-2) /* stop: exit 1 */

typedef struct cm_service cm_service;

/* What a service is. Every hook may be NULL; each gets def->app. Hooks
 * that return int return 0, or -1 (fatal, with errstr filled when it has
 * one) unless said otherwise. */
typedef struct cm_service_def {
    const char *name;                 /* "ingest": log name; binary and client id arrears-<name> */
    const char *summary;              /* one line for --help */
    cm_setting *settings;             /* CM_SETTINGS_COMMON_BOUND(common, ...) first */
    const cm_settings_common *common; /* what those rows are bound to */
    void *app;

    /* Life cycle, in the order they run. */
    struct {
        /* After the table loads, for --check-config too: checks across
         * settings and builds what depends only on them (kept for the
         * run; cleanup frees it). Every problem, one per line, in errstr. */
        int (*configure)(void *app, char *errstr, size_t errlen);
        /* After log, clock and signals, before any connection: metrics,
         * buffers, s->batch_max/poll_ms/fill_ms. */
        int (*init)(cm_service *s, void *app, char *errstr, size_t errlen);
        /* Redis, producer and consumer are up. */
        int (*start)(cm_service *s, void *app, char *errstr, size_t errlen);
        /* Last, after the consumer and producer are gone; also after
         * --check-config. Must accept a partly built app. */
        void (*cleanup)(void *app);
    } life;

    /* Connections: Redis, the producer, what is consumed. */
    struct {
        int redis_once; /* 1: one attempt at start, failure is fatal; 0: wait for Redis */
        int no_redis;   /* 1: the service uses no Redis (s->redis stays NULL) */
        /* NULL: an idempotent producer (linger 5 ms) counting into s->dr,
         * flushed at teardown. A hook's producer is only destroyed. */
        rd_kafka_t *(*producer_new)(cm_service *s, void *app, char *errstr, size_t errlen);
        /* topic suffixes consumed, comma-separated ("events,contacts"; the
         * prefix is added); NULL: none */
        const char *inputs;
        int manual_assign;                  /* in the group only to commit; start() assigns */
        cm_kafka_rebalance_fn on_rebalance; /* its opaque is app */
        const char *lag_metric, *lag_help;  /* gauge of consumer lag; NULL: none */
        /* The service's Redis key prefix (the address of its setting's
         * variable): its state marker <prefix>marker is checked against the
         * group's committed offsets on the first input before start, and
         * every 5 s while running (statemark.h). NULL: no marker. */
        const char *const *state_prefix;
    } io;

    /* The loop. */
    struct {
        int own_poll; /* the hooks poll the consumer and publish readiness */
        /* Before each poll: the longest wait in ms, CM_POLL_SKIP or
         * CM_POLL_FAIL. NULL: s->poll_ms. */
        int (*poll_wait)(cm_service *s, void *app);
        /* Every turn, with what was polled (n may be 0, so that a
         * pipelined service finishes its previous batch): CM_BATCH_DONE,
         * CM_BATCH_TAKEN or -1 (nothing stored). */
        int (*on_batch)(cm_service *s, void *app, rd_kafka_message_t **msgs, size_t n);
        /* Every turn after on_batch: timers, periodic work. */
        int (*on_tick)(cm_service *s, void *app);
        /* After the loop, before the consumer closes, when start
         * succeeded: drain what is in flight. failed: a hook stopped the
         * loop. */
        int (*on_stop)(cm_service *s, void *app, int failed);
    } loop;
} cm_service_def;

/* The running service, handed to every hook. */
struct cm_service {
    const cm_service_def *def;
    const cm_settings_common *cfg;
    char prog[64]; /* arrears-<name> */
    cm_service_ready ready;
    cm_http *http;
    cm_redis *redis;
    rd_kafka_t *producer;
    cm_kafka_dr dr; /* the default producer's delivery reports */
    rd_kafka_t *consumer;
    size_t batch_max; /* most messages per poll (default 1000) */
    int poll_ms;      /* default longest wait per poll (default 100) */
    int fill_ms;      /* once a poll got something, fill the batch this long (0: no) */
    cm_metric *m_lag;
    char marker[320];     /* the state marker's key (io.state_prefix) */
    cm_redis *mark_redis; /* its own connection for the periodic check */
    int64_t mark_last;    /* when it was last checked (wall ms) */
};

/* Runs the service; returns main()'s exit status. */
int cm_service_main(const cm_service_def *def, int argc, char **argv);

/* prefix + suffix into out. */
void cm_service_topic(const cm_service *s, const char *suffix, char *out, size_t outlen);
/* Stores the offsets of messages whose effects are durable (a failure is
 * logged: the batch will be replayed). */
void cm_service_store(cm_service *s, rd_kafka_message_t **msgs, size_t n);

#endif
