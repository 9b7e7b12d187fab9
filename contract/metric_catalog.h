/* metric_catalog.h -- every Prometheus metric arrears exposes, in one table.
 *
 * Design: metric names are an interface (dashboards, alerts and the
 * Kubernetes manifests read them), so they live in the contract beside the
 * record types: one row per metric with its service, kind, name (with its
 * fixed label set) and help, exactly as /metrics prints them. A service
 * registers its metrics with one call, ct_metrics_register(), into an
 * array indexed by ct_metric, and updates m[CT_M_...] with common/
 * metrics.h. docs/operations.md ("Health and metrics") lists the same
 * series; tests/unit/test_contract_metrics.c keeps the two together.
 *
 * Families: the notifier's sent and failed counters have one series per
 * channel, `arrears_notifier_sent_total{channel="<ct_channel_name>"}`;
 * their ids are ranges, CT_M_NOTIFIER_SENT + ct_channel.
 *
 * The consumer-lag gauges are in the table too, but common/service.c
 * registers them from the service definition's lag_metric and lag_help:
 * ct_metrics_register() skips them (ct_metric_runtime() is 1), and
 * ct_metric_name() and ct_metric_help() give their strings.
 *
 * Named metric_catalog.h, not metrics.h, so that `#include "metrics.h"`
 * keeps meaning common/metrics.h.
 *
 * Ownership: every string returned is static; nothing here allocates. The
 * cm_metric pointers registered belong to common/metrics.c's registry. */
#ifndef CT_METRIC_CATALOG_H
#define CT_METRIC_CATALOG_H

#include <stddef.h>

#include "contract.h"
#include "metrics.h"

typedef enum ct_service {
    CT_SVC_INGEST = 0,
    CT_SVC_SCHEDULER,
    CT_SVC_NOTIFIER,
    CT_SVC_REPORTER,
    CT_SVC_GATEWAY,
    CT_SVC_COUNT
} ct_service;

/* "ingest", "scheduler", "notifier", "reporter", "gateway"; "" when out of range. */
const char *ct_service_name(ct_service s);

typedef enum ct_metric_kind { CT_MK_COUNTER = 0, CT_MK_GAUGE, CT_MK_HISTOGRAM } ct_metric_kind;

/* "counter", "gauge", "histogram" (the # TYPE word); "" when out of range. */
const char *ct_metric_kind_name(ct_metric_kind k);

/* One id per series, grouped by service in registration order (the order
 * of /metrics). Append within a service; names never change. */
typedef enum ct_metric {
    /* ingest (services/ingest/pipeline.c) */
    CT_M_INGEST_ACCEPTED = 0,  /* arrears_ingest_messages_total{result="accepted"} */
    CT_M_INGEST_REJECTED,      /* arrears_ingest_messages_total{result="rejected"} */
    CT_M_INGEST_DUPLICATE,     /* arrears_ingest_messages_total{result="duplicate"} */
    CT_M_INGEST_RETRIES,       /* arrears_ingest_retries_total */
    CT_M_INGEST_BATCH_SECONDS, /* arrears_ingest_batch_seconds */
    CT_M_INGEST_LAG,           /* arrears_ingest_lag_messages (runtime) */
    /* scheduler (services/scheduler/engine.c) */
    CT_M_SCHEDULER_APPLIED,        /* arrears_scheduler_events_total{result="applied"} */
    CT_M_SCHEDULER_REJECTED,       /* arrears_scheduler_events_total{result="rejected"} */
    CT_M_SCHEDULER_FIRED,          /* arrears_scheduler_fired_total */
    CT_M_SCHEDULER_SKIPPED,        /* arrears_scheduler_skipped_total */
    CT_M_SCHEDULER_DEFERRED,       /* arrears_scheduler_deferred_total */
    CT_M_SCHEDULER_PURGED,         /* arrears_scheduler_purged_total (retention) */
    CT_M_SCHEDULER_EXPIRED,        /* arrears_scheduler_expired_total (retention) */
    CT_M_SCHEDULER_LATE,           /* arrears_scheduler_late_total (retention) */
    CT_M_SCHEDULER_KEPT,           /* arrears_scheduler_promises_total{outcome="kept"} */
    CT_M_SCHEDULER_BROKEN,         /* arrears_scheduler_promises_total{outcome="broken"} */
    CT_M_SCHEDULER_PLAN_COMPLETED, /* arrears_scheduler_plans_total{outcome="completed"} */
    CT_M_SCHEDULER_PLAN_BROKEN,    /* arrears_scheduler_plans_total{outcome="broken"} */
    /* arrears_scheduler_escalations_total{outcome}: the hand-off (issue 16) */
    CT_M_SCHEDULER_ESC_PLACED,   /* {outcome="placed"}: cases handed over */
    CT_M_SCHEDULER_ESC_HELD,     /* {outcome="held"}: escalations held by the gate */
    CT_M_SCHEDULER_ESC_RECALLED, /* {outcome="recalled"} */
    CT_M_SCHEDULER_ESC_REMITTED, /* {outcome="remitted"}: remittances applied */
    /* arrears_scheduler_money_events_total{type}: the money events published */
    CT_M_SCHEDULER_FEE_CHARGED,      /* {type="invoice.fee_charged"} */
    CT_M_SCHEDULER_FEE_WAIVED,       /* {type="invoice.fee_waived"} */
    CT_M_SCHEDULER_INTEREST_CLAIMED, /* {type="invoice.interest_claimed"} */
    CT_M_SCHEDULER_SETTLED,          /* {type="invoice.settled"} */
    CT_M_SCHEDULER_POLICY_RELOADED,  /* arrears_scheduler_policy_reloads_total{result="ok"} */
    CT_M_SCHEDULER_POLICY_REFUSED,   /* arrears_scheduler_policy_reloads_total{result="refused"} */
    CT_M_SCHEDULER_CONFLICTS,        /* arrears_scheduler_conflicts_total */
    CT_M_SCHEDULER_REPUBLISHED,      /* arrears_scheduler_republished_total */
    CT_M_SCHEDULER_LATENESS,         /* arrears_scheduler_lateness_seconds */
    CT_M_SCHEDULER_LAG,              /* arrears_scheduler_lag_messages (runtime) */
    /* notifier (services/notifier/worker.c); SENT and FAILED + ct_channel */
    CT_M_NOTIFIER_SENT, /* arrears_notifier_sent_total{channel} */
    CT_M_NOTIFIER_FAILED = CT_M_NOTIFIER_SENT + CT_CH_COUNT,    /* ..._failed_total{channel} */
    CT_M_NOTIFIER_RETRIES = CT_M_NOTIFIER_FAILED + CT_CH_COUNT, /* ..._retries_total */
    CT_M_NOTIFIER_INVALID,      /* arrears_notifier_invalid_commands_total */
    CT_M_NOTIFIER_REPLAYED,     /* arrears_notifier_replayed_total */
    CT_M_NOTIFIER_REPUBLISHED,  /* arrears_notifier_republished_total */
    CT_M_NOTIFIER_CLAIM_WAITS,  /* arrears_notifier_claim_waits_total */
    CT_M_NOTIFIER_INFLIGHT,     /* arrears_notifier_inflight */
    CT_M_NOTIFIER_QUEUED,       /* arrears_notifier_queued */
    CT_M_NOTIFIER_PAUSED,       /* arrears_notifier_consumer_paused */
    CT_M_NOTIFIER_SEND_SECONDS, /* arrears_notifier_send_seconds */
    /* reporter (services/reporter/serve.c) */
    CT_M_REPORTER_EVENTS,           /* arrears_reporter_events_total */
    CT_M_REPORTER_CONTACTS,         /* arrears_reporter_contacts_total */
    CT_M_REPORTER_REJECTED,         /* arrears_reporter_rejected_total */
    CT_M_REPORTER_DUPLICATES,       /* arrears_reporter_duplicates_total */
    CT_M_REPORTER_REPORTS,          /* arrears_reporter_reports_total */
    CT_M_REPORTER_REQUESTS,         /* arrears_reporter_requests_total */
    CT_M_REPORTER_SNAPSHOT_SECONDS, /* arrears_reporter_snapshot_seconds */
    CT_M_REPORTER_SNAPSHOT_BYTES,   /* arrears_reporter_snapshot_bytes */
    CT_M_REPORTER_INVOICES,         /* arrears_reporter_invoices */
    CT_M_REPORTER_LAG,              /* arrears_reporter_lag (runtime) */
    /* gateway (services/gateway/handle.c): answers by status code (every
     * code the events endpoint, the pages and the webhooks give), events */
    CT_M_GATEWAY_REQ_200,  /* arrears_gateway_requests_total{code="200"} */
    CT_M_GATEWAY_REQ_202,  /* arrears_gateway_requests_total{code="202"} */
    CT_M_GATEWAY_REQ_303,  /* arrears_gateway_requests_total{code="303"} */
    CT_M_GATEWAY_REQ_400,  /* arrears_gateway_requests_total{code="400"} */
    CT_M_GATEWAY_REQ_401,  /* arrears_gateway_requests_total{code="401"} */
    CT_M_GATEWAY_REQ_403,  /* arrears_gateway_requests_total{code="403"} */
    CT_M_GATEWAY_REQ_404,  /* arrears_gateway_requests_total{code="404"} */
    CT_M_GATEWAY_REQ_405,  /* arrears_gateway_requests_total{code="405"} */
    CT_M_GATEWAY_REQ_409,  /* arrears_gateway_requests_total{code="409"} */
    CT_M_GATEWAY_REQ_410,  /* arrears_gateway_requests_total{code="410"} */
    CT_M_GATEWAY_REQ_413,  /* arrears_gateway_requests_total{code="413"} */
    CT_M_GATEWAY_REQ_415,  /* arrears_gateway_requests_total{code="415"} */
    CT_M_GATEWAY_REQ_429,  /* arrears_gateway_requests_total{code="429"} */
    CT_M_GATEWAY_REQ_500,  /* arrears_gateway_requests_total{code="500"} */
    CT_M_GATEWAY_REQ_503,  /* arrears_gateway_requests_total{code="503"} */
    CT_M_GATEWAY_ACCEPTED, /* arrears_gateway_events_total{result="accepted"} */
    CT_M_GATEWAY_REJECTED, /* arrears_gateway_events_total{result="rejected"} */
    CT_M_COUNT
} ct_metric;

/* Registers every metric of svc that the service updates itself (all but
 * the runtime's lag gauge) with common/metrics.h, in id order, and stores
 * each in m[id]; other slots are left as they are. Call once per process,
 * at start (the registry is not thread-safe). */
void ct_metrics_register(ct_service svc, cm_metric *m[CT_M_COUNT]);

/* The series name exactly as /metrics prints it, label set included
 * (`arrears_notifier_sent_total{channel="sms"}`), into buf. Returns 0, or
 * -1 when id is out of range or buf is too small (buf then holds ""). */
int ct_metric_series(ct_metric id, char *buf, size_t len);

/* The row of id: the name of a series without a family (for a notifier
 * family, the base name, `arrears_notifier_sent_total`), its help, kind
 * and service. Name and help are "", the kind CT_MK_COUNTER and the
 * service CT_SVC_COUNT when id is out of range. */
const char *ct_metric_name(ct_metric id);
const char *ct_metric_help(ct_metric id);
ct_metric_kind ct_metric_kind_of(ct_metric id);
ct_service ct_metric_service(ct_metric id);
/* 1 when common/service.c registers id (consumer lag), not the service. */
int ct_metric_runtime(ct_metric id);

/* The consumer-lag gauges, by name: common/service.c registers them from
 * each main.c's cm_service_def (a static initializer, so a constant), and
 * the table above lists the same strings. */
#define CT_LAG_INGEST_NAME    "arrears_ingest_lag_messages"
#define CT_LAG_INGEST_HELP    "consumer lag on inbound"
#define CT_LAG_SCHEDULER_NAME "arrears_scheduler_lag_messages"
#define CT_LAG_SCHEDULER_HELP "consumer lag on events"
#define CT_LAG_REPORTER_NAME  "arrears_reporter_lag"
#define CT_LAG_REPORTER_HELP  "records behind the high watermarks"

#endif
