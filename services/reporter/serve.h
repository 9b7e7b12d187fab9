/* serve.h -- the reporter service's protocol: partitions, records,
 * requests, periodic reports and snapshots.
 *
 * Design: the reporter needs every partition of `events` and `contacts` to
 * aggregate per tenant, so it assigns them all itself (no group rebalance;
 * run one replica) and starts each partition at the offset stored in its
 * Redis snapshot, or at the beginning of retention when there is none. The
 * snapshot holds the state and exactly the offsets it reflects; it is
 * saved every snapshot interval (when anything changed) and at shutdown,
 * and only then are those offsets committed to the consumer group (for
 * operators' lag tools). Reports go out when the reporter has caught up
 * with the high watermarks it saw at start: at every report interval of
 * the shared clock, and for each request on reports.requests (answered
 * with its id), once what was published before the request is read.
 *
 * The service runtime (common/service.h) owns the connections; a rep_svc
 * borrows them. */
#ifndef REP_SERVE_H
#define REP_SERVE_H

#include <stdint.h>

#include "metric_catalog.h"
#include "reporter.h"
#include "service.h"

#define REP_MAX_BATCH 1000 /* records per poll; also the most pending requests */

typedef struct rep_svc {
    rep_state *st; /* owned */
    rd_kafka_t *consumer, *producer;
    cm_kafka_dr *dr;
    cm_redis *redis;
    cm_service_ready *ready;
    int64_t interval, snap_every, max_age; /* ms: report, snapshot, request age */
    int64_t dedup_window;                  /* ms: ids remembered (rep_state_dedup_window) */
    int32_t retention_days;                /* facts kept (retain.c); 0: for ever */
    char base[512];                        /* Redis key base */
    char t_events[256], t_contacts[256], t_requests[256], t_reports[256];
    int64_t high[REP_MAX_PARTS]; /* high watermarks at start, by offsets slot */
    int caught_up, dirty;
    int64_t next_tick, last_snap, snap_gap;
    /* requests read, answered in order once caught up (owned) */
    rd_kafka_message_t *pending[REP_MAX_BATCH];
    int64_t *pending_want[REP_MAX_BATCH];
    int64_t pending_since[REP_MAX_BATCH];
    size_t npending;
    cm_metric *m[CT_M_COUNT]; /* metric_catalog.h: m[CT_M_REPORTER_*] */
} rep_svc;

/* Registers the metrics; readiness waits for the aggregates. */
void rep_serve_init(rep_svc *s);
/* Loads the snapshot (or starts empty) and assigns every partition of the
 * three input topics at its stored offset, waiting while a topic does not
 * exist and *run is set. 0, or -1 (errstr). */
int rep_serve_start(rep_svc *s, volatile sig_atomic_t *run, char *errstr, size_t errlen);
/* Applies polled records (takes them): events and contacts now, requests
 * held until they can be answered. */
void rep_serve_records(rep_svc *s, rd_kafka_message_t **msgs, size_t n);
/* Once caught up: answers the requests that can be, publishes the periodic
 * reports when due, waits for their delivery, saves a snapshot when due. */
void rep_serve_tick(rep_svc *s);
/* At shutdown: drops unanswered requests (read again after a restart),
 * waits for deliveries, saves the snapshot. -1 when it could not be. */
int rep_serve_stop(rep_svc *s);
void rep_serve_free(rep_svc *s);

#endif
