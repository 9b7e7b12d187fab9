/* metric_catalog.c -- the one table of arrears' Prometheus metrics
 * (metric_catalog.h) and their registration.
 *
 * Design: the table is indexed by ct_metric. A family row (the notifier's
 * per-channel counters) sits at its first id and the ids after it, one per
 * channel, are empty slots that row_of() maps back to the row; the series
 * name adds `{channel="<ct_channel_name>"}`, so channel names stay spelt
 * only in contract.c. Names and help strings are byte for byte what the
 * services registered before the catalog existed. */
#include "metric_catalog.h"

#include <stdio.h>

typedef struct row {
    ct_service svc;
    ct_metric_kind kind;
    unsigned char per_channel; /* a family: id + ct_channel */
    unsigned char runtime;     /* registered by common/service.c (lag) */
    const char *name, *help;
} row;

#define COUNTER(s, n, h)                                                                           \
    {                                                                                              \
        CT_SVC_##s, CT_MK_COUNTER, 0, 0, n, h                                                      \
    }
#define GAUGE(s, n, h)                                                                             \
    {                                                                                              \
        CT_SVC_##s, CT_MK_GAUGE, 0, 0, n, h                                                        \
    }
#define HISTOGRAM(s, n, h)                                                                         \
    {                                                                                              \
        CT_SVC_##s, CT_MK_HISTOGRAM, 0, 0, n, h                                                    \
    }
#define PER_CHANNEL(s, n, h)                                                                       \
    {                                                                                              \
        CT_SVC_##s, CT_MK_COUNTER, 1, 0, n, h                                                      \
    }
#define LAG(s, n, h)                                                                               \
    {                                                                                              \
        CT_SVC_##s, CT_MK_GAUGE, 0, 1, n, h                                                        \
    }

static const row rows[CT_M_COUNT] = {
    [CT_M_INGEST_ACCEPTED] = COUNTER(INGEST, "arrears_ingest_messages_total{result=\"accepted\"}",
                                     "inbound messages by outcome"),
    [CT_M_INGEST_REJECTED] = COUNTER(INGEST, "arrears_ingest_messages_total{result=\"rejected\"}",
                                     "inbound messages by outcome"),
    [CT_M_INGEST_DUPLICATE] = COUNTER(INGEST, "arrears_ingest_messages_total{result=\"duplicate\"}",
                                      "inbound messages by outcome"),
    [CT_M_INGEST_RETRIES] =
        COUNTER(INGEST, "arrears_ingest_retries_total", "retried Redis or delivery steps"),
    [CT_M_INGEST_BATCH_SECONDS] =
        HISTOGRAM(INGEST, "arrears_ingest_batch_seconds", "time to make a batch durable"),
    [CT_M_INGEST_LAG] = LAG(INGEST, CT_LAG_INGEST_NAME, CT_LAG_INGEST_HELP),

    [CT_M_SCHEDULER_APPLIED] = COUNTER(
        SCHEDULER, "arrears_scheduler_events_total{result=\"applied\"}", "events by outcome"),
    [CT_M_SCHEDULER_REJECTED] = COUNTER(
        SCHEDULER, "arrears_scheduler_events_total{result=\"rejected\"}", "events by outcome"),
    [CT_M_SCHEDULER_FIRED] =
        COUNTER(SCHEDULER, "arrears_scheduler_fired_total", "timers fired (commands)"),
    [CT_M_SCHEDULER_SKIPPED] = COUNTER(SCHEDULER, "arrears_scheduler_skipped_total",
                                       "ladder steps skipped by a hold or a condition"),
    [CT_M_SCHEDULER_DEFERRED] =
        COUNTER(SCHEDULER, "arrears_scheduler_deferred_total",
                "sends moved by a contact rule (window, weekday, holiday, cap, conversation)"),
    [CT_M_SCHEDULER_PURGED] =
        COUNTER(SCHEDULER, "arrears_scheduler_purged_total",
                "closed invoices, payments and waiting lists deleted after the retention"),
    [CT_M_SCHEDULER_EXPIRED] =
        COUNTER(SCHEDULER, "arrears_scheduler_expired_total",
                "held events dropped: their invoice or payment was not known within the retention"),
    [CT_M_SCHEDULER_LATE] =
        COUNTER(SCHEDULER, "arrears_scheduler_late_total",
                "events about an invoice or payment purged after the retention: not applied"),
    [CT_M_SCHEDULER_KEPT] = COUNTER(SCHEDULER, "arrears_scheduler_promises_total{outcome=\"kept\"}",
                                    "promises to pay decided"),
    [CT_M_SCHEDULER_BROKEN] =
        COUNTER(SCHEDULER, "arrears_scheduler_promises_total{outcome=\"broken\"}",
                "promises to pay decided"),
    [CT_M_SCHEDULER_PLAN_COMPLETED] =
        COUNTER(SCHEDULER, "arrears_scheduler_plans_total{outcome=\"completed\"}",
                "instalment plans ended (plan.completed, plan.broken published)"),
    [CT_M_SCHEDULER_PLAN_BROKEN] =
        COUNTER(SCHEDULER, "arrears_scheduler_plans_total{outcome=\"broken\"}",
                "instalment plans ended (plan.completed, plan.broken published)"),
#define ESC(o)                                                                                     \
    COUNTER(SCHEDULER, "arrears_scheduler_escalations_total{outcome=\"" o "\"}",                   \
            "hand-offs to an agency or legal: cases placed, escalations held by the gate, cases "  \
            "recalled, remittances applied")
    [CT_M_SCHEDULER_ESC_PLACED] = ESC("placed"),
    [CT_M_SCHEDULER_ESC_HELD] = ESC("held"),
    [CT_M_SCHEDULER_ESC_RECALLED] = ESC("recalled"),
    [CT_M_SCHEDULER_ESC_REMITTED] = ESC("remitted"),
#undef ESC
#define MONEY(t)                                                                                   \
    COUNTER(SCHEDULER, "arrears_scheduler_money_events_total{type=\"" t "\"}",                     \
            "fees charged and waived, interest claimed, invoices settled (events published)")
    [CT_M_SCHEDULER_FEE_CHARGED] = MONEY("invoice.fee_charged"),
    [CT_M_SCHEDULER_FEE_WAIVED] = MONEY("invoice.fee_waived"),
    [CT_M_SCHEDULER_INTEREST_CLAIMED] = MONEY("invoice.interest_claimed"),
    [CT_M_SCHEDULER_SETTLED] = MONEY("invoice.settled"),
#undef MONEY
    [CT_M_SCHEDULER_POLICY_RELOADED] =
        COUNTER(SCHEDULER, "arrears_scheduler_policy_reloads_total{result=\"ok\"}",
                "policy directory reloads on SIGHUP (refused: an invalid set, the old one stays)"),
    [CT_M_SCHEDULER_POLICY_REFUSED] =
        COUNTER(SCHEDULER, "arrears_scheduler_policy_reloads_total{result=\"refused\"}",
                "policy directory reloads on SIGHUP (refused: an invalid set, the old one stays)"),
    [CT_M_SCHEDULER_CONFLICTS] = COUNTER(SCHEDULER, "arrears_scheduler_conflicts_total",
                                         "batches recomputed after a version conflict"),
    [CT_M_SCHEDULER_REPUBLISHED] = COUNTER(SCHEDULER, "arrears_scheduler_republished_total",
                                           "claimed records published again after a failure"),
    [CT_M_SCHEDULER_LATENESS] = HISTOGRAM(SCHEDULER, "arrears_scheduler_lateness_seconds",
                                          "real time from a timer's due time to its firing"),
    [CT_M_SCHEDULER_LAG] = LAG(SCHEDULER, CT_LAG_SCHEDULER_NAME, CT_LAG_SCHEDULER_HELP),

    [CT_M_NOTIFIER_SENT] =
        PER_CHANNEL(NOTIFIER, "arrears_notifier_sent_total", "contact.sent outcomes published"),
    [CT_M_NOTIFIER_FAILED] =
        PER_CHANNEL(NOTIFIER, "arrears_notifier_failed_total", "contact.failed outcomes published"),
    [CT_M_NOTIFIER_RETRIES] = COUNTER(NOTIFIER, "arrears_notifier_retries_total",
                                      "attempts scheduled again after a transient failure"),
    [CT_M_NOTIFIER_INVALID] = COUNTER(NOTIFIER, "arrears_notifier_invalid_commands_total",
                                      "records on commands without a usable command_id"),
    [CT_M_NOTIFIER_REPLAYED] = COUNTER(NOTIFIER, "arrears_notifier_replayed_total",
                                       "commands whose outcome was already published"),
    [CT_M_NOTIFIER_REPUBLISHED] =
        COUNTER(NOTIFIER, "arrears_notifier_republished_total",
                "recorded outcomes published again after their publisher stopped"),
    [CT_M_NOTIFIER_CLAIM_WAITS] = COUNTER(NOTIFIER, "arrears_notifier_claim_waits_total",
                                          "times a command was claimed by another owner"),
    [CT_M_NOTIFIER_INFLIGHT] = GAUGE(NOTIFIER, "arrears_notifier_inflight", "sends in flight"),
    [CT_M_NOTIFIER_QUEUED] = GAUGE(NOTIFIER, "arrears_notifier_queued", "commands in memory"),
    [CT_M_NOTIFIER_PAUSED] = GAUGE(NOTIFIER, "arrears_notifier_consumer_paused",
                                   "1 while consumption is paused (backlog full for a second)"),
    [CT_M_NOTIFIER_SEND_SECONDS] =
        HISTOGRAM(NOTIFIER, "arrears_notifier_send_seconds", "duration of one send attempt"),

    [CT_M_REPORTER_EVENTS] =
        COUNTER(REPORTER, "arrears_reporter_events_total", "canonical events consumed"),
    [CT_M_REPORTER_CONTACTS] =
        COUNTER(REPORTER, "arrears_reporter_contacts_total", "contact outcomes consumed"),
    [CT_M_REPORTER_REJECTED] = COUNTER(REPORTER, "arrears_reporter_rejected_total",
                                       "input records rejected (logged with the reason)"),
    [CT_M_REPORTER_DUPLICATES] = COUNTER(REPORTER, "arrears_reporter_duplicates_total",
                                         "input records ignored as duplicates of an applied id"),
    [CT_M_REPORTER_REPORTS] =
        COUNTER(REPORTER, "arrears_reporter_reports_total", "reports published"),
    [CT_M_REPORTER_REQUESTS] =
        COUNTER(REPORTER, "arrears_reporter_requests_total", "report requests received"),
    [CT_M_REPORTER_SNAPSHOT_SECONDS] =
        HISTOGRAM(REPORTER, "arrears_reporter_snapshot_seconds", "time to save a snapshot"),
    [CT_M_REPORTER_SNAPSHOT_BYTES] =
        GAUGE(REPORTER, "arrears_reporter_snapshot_bytes", "size of the last snapshot"),
    [CT_M_REPORTER_INVOICES] =
        GAUGE(REPORTER, "arrears_reporter_invoices", "invoices held in the aggregates"),
    [CT_M_REPORTER_LAG] = LAG(REPORTER, CT_LAG_REPORTER_NAME, CT_LAG_REPORTER_HELP),

    [CT_M_GATEWAY_REQ_200] = COUNTER(GATEWAY, "arrears_gateway_requests_total{code=\"200\"}",
                                     "HTTP answers of the public listener by status code"),
    [CT_M_GATEWAY_REQ_202] = COUNTER(GATEWAY, "arrears_gateway_requests_total{code=\"202\"}",
                                     "HTTP answers of the public listener by status code"),
    [CT_M_GATEWAY_REQ_303] = COUNTER(GATEWAY, "arrears_gateway_requests_total{code=\"303\"}",
                                     "HTTP answers of the public listener by status code"),
    [CT_M_GATEWAY_REQ_400] = COUNTER(GATEWAY, "arrears_gateway_requests_total{code=\"400\"}",
                                     "HTTP answers of the public listener by status code"),
    [CT_M_GATEWAY_REQ_401] = COUNTER(GATEWAY, "arrears_gateway_requests_total{code=\"401\"}",
                                     "HTTP answers of the public listener by status code"),
    [CT_M_GATEWAY_REQ_403] = COUNTER(GATEWAY, "arrears_gateway_requests_total{code=\"403\"}",
                                     "HTTP answers of the public listener by status code"),
    [CT_M_GATEWAY_REQ_404] = COUNTER(GATEWAY, "arrears_gateway_requests_total{code=\"404\"}",
                                     "HTTP answers of the public listener by status code"),
    [CT_M_GATEWAY_REQ_405] = COUNTER(GATEWAY, "arrears_gateway_requests_total{code=\"405\"}",
                                     "HTTP answers of the public listener by status code"),
    [CT_M_GATEWAY_REQ_409] = COUNTER(GATEWAY, "arrears_gateway_requests_total{code=\"409\"}",
                                     "HTTP answers of the public listener by status code"),
    [CT_M_GATEWAY_REQ_410] = COUNTER(GATEWAY, "arrears_gateway_requests_total{code=\"410\"}",
                                     "HTTP answers of the public listener by status code"),
    [CT_M_GATEWAY_REQ_413] = COUNTER(GATEWAY, "arrears_gateway_requests_total{code=\"413\"}",
                                     "HTTP answers of the public listener by status code"),
    [CT_M_GATEWAY_REQ_415] = COUNTER(GATEWAY, "arrears_gateway_requests_total{code=\"415\"}",
                                     "HTTP answers of the public listener by status code"),
    [CT_M_GATEWAY_REQ_429] = COUNTER(GATEWAY, "arrears_gateway_requests_total{code=\"429\"}",
                                     "HTTP answers of the public listener by status code"),
    [CT_M_GATEWAY_REQ_500] = COUNTER(GATEWAY, "arrears_gateway_requests_total{code=\"500\"}",
                                     "HTTP answers of the public listener by status code"),
    [CT_M_GATEWAY_REQ_503] = COUNTER(GATEWAY, "arrears_gateway_requests_total{code=\"503\"}",
                                     "HTTP answers of the public listener by status code"),
    [CT_M_GATEWAY_ACCEPTED] = COUNTER(GATEWAY, "arrears_gateway_events_total{result=\"accepted\"}",
                                      "events posted by outcome"),
    [CT_M_GATEWAY_REJECTED] = COUNTER(GATEWAY, "arrears_gateway_events_total{result=\"rejected\"}",
                                      "events posted by outcome"),
};

static const char *const service_names[CT_SVC_COUNT] = {
    [CT_SVC_INGEST] = "ingest",     [CT_SVC_SCHEDULER] = "scheduler",
    [CT_SVC_NOTIFIER] = "notifier", [CT_SVC_REPORTER] = "reporter",
    [CT_SVC_GATEWAY] = "gateway",
};

static const char *const kind_names[] = {
    [CT_MK_COUNTER] = "counter",
    [CT_MK_GAUGE] = "gauge",
    [CT_MK_HISTOGRAM] = "histogram",
};

/* The row of id and, for a family, the channel (else CT_CH_NONE); NULL
 * when id is out of range. */
static const row *row_of(ct_metric id, ct_channel *ch)
{
    if ((int)id < 0 || id >= CT_M_COUNT)
        return NULL;
    int base = (int)id;
    while (base > 0 && !rows[base].name)
        base--;
    const row *r = &rows[base];
    if (!r->name || (base != (int)id && !r->per_channel) || (int)id - base >= CT_CH_COUNT)
        return NULL;
    if (ch)
        *ch = r->per_channel ? (ct_channel)((int)id - base) : CT_CH_NONE;
    return r;
}

const char *ct_service_name(ct_service s)
{
    return (int)s >= 0 && s < CT_SVC_COUNT ? service_names[s] : "";
}

const char *ct_metric_kind_name(ct_metric_kind k)
{
    return (int)k >= 0 && (size_t)k < sizeof kind_names / sizeof kind_names[0] ? kind_names[k] : "";
}

int ct_metric_series(ct_metric id, char *buf, size_t len)
{
    ct_channel ch;
    const row *r = row_of(id, &ch);
    int n = -1;
    if (len == 0)
        return -1;
    if (r && ch == CT_CH_NONE)
        n = snprintf(buf, len, "%s", r->name);
    else if (r)
        n = snprintf(buf, len, "%s{channel=\"%s\"}", r->name, ct_channel_name(ch));
    if (n < 0 || (size_t)n >= len) {
        buf[0] = 0;
        return -1;
    }
    return 0;
}

const char *ct_metric_name(ct_metric id)
{
    const row *r = row_of(id, NULL);
    return r ? r->name : "";
}

const char *ct_metric_help(ct_metric id)
{
    const row *r = row_of(id, NULL);
    return r ? r->help : "";
}

ct_metric_kind ct_metric_kind_of(ct_metric id)
{
    const row *r = row_of(id, NULL);
    return r ? r->kind : CT_MK_COUNTER;
}

ct_service ct_metric_service(ct_metric id)
{
    const row *r = row_of(id, NULL);
    return r ? r->svc : CT_SVC_COUNT;
}

int ct_metric_runtime(ct_metric id)
{
    const row *r = row_of(id, NULL);
    return r ? r->runtime : 0;
}

void ct_metrics_register(ct_service svc, cm_metric *m[CT_M_COUNT])
{
    for (int id = 0; id < CT_M_COUNT; id++) {
        const row *r = row_of((ct_metric)id, NULL);
        char name[256];
        if (!r || r->svc != svc || r->runtime ||
            ct_metric_series((ct_metric)id, name, sizeof name) < 0)
            continue;
        switch (r->kind) {
        case CT_MK_COUNTER:
            m[id] = cm_metrics_counter(name, r->help);
            break;
        case CT_MK_GAUGE:
            m[id] = cm_metrics_gauge(name, r->help);
            break;
        case CT_MK_HISTOGRAM:
            m[id] = cm_metrics_histogram(name, r->help);
            break;
        }
    }
}
