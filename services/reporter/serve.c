/* serve.c -- the reporter service's protocol (serve.h), moved out of
 * main() with its behaviour unchanged: assignment at the snapshot's
 * offsets, records applied, requests answered once what was published
 * before them is read, periodic reports, snapshots and their commits. */
#include "serve.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "request.h"
#include "store.h"
#include "str.h"

static int rep_slot(rep_state *st, const char *topic, int32_t part)
{
    for (int i = 0; i < st->offsets.n; i++)
        if (st->offsets.part[i] == part && !strcmp(st->offsets.topic[i], topic))
            return i;
    if (st->offsets.n >= REP_MAX_PARTS)
        return -1;
    int i = st->offsets.n++;
    snprintf(st->offsets.topic[i], sizeof st->offsets.topic[i], "%s", topic);
    st->offsets.part[i] = part;
    st->offsets.next[i] = -1;
    return i;
}

static const char *rep_short(const rep_svc *s, const char *topic)
{
    if (!strcmp(topic, s->t_events))
        return "events";
    if (!strcmp(topic, s->t_contacts))
        return "contacts";
    if (!strcmp(topic, s->t_requests))
        return "requests";
    return NULL;
}

static const char *rep_full(rep_svc *s, const char *shortname)
{
    return !strcmp(shortname, "events")     ? s->t_events
           : !strcmp(shortname, "contacts") ? s->t_contacts
                                            : s->t_requests;
}

/* Assigns every partition of the three input topics, each at its stored
 * offset or the beginning. Returns 0, or -1 while a topic does not exist. */
static int rep_assign(rep_svc *s, char *errstr, size_t errlen)
{
    const char *topics[3] = {s->t_events, s->t_contacts, s->t_requests};
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(64);
    int rc = -1;
    for (int t = 0; t < CT_REP_COUNT; t++) {
        const rd_kafka_metadata_t *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(s->consumer, topics[t], NULL);
        rd_kafka_resp_err_t e = rd_kafka_metadata(s->consumer, 0, rkt, &md, 5000);
        rd_kafka_topic_destroy(rkt);
        if (e || md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0) {
            snprintf(errstr, errlen, "topic %s: %s", topics[t],
                     e                    ? rd_kafka_err2str(e)
                     : md->topic_cnt != 1 ? "no metadata"
                     : md->topics[0].err  ? rd_kafka_err2str(md->topics[0].err)
                                          : "no partitions");
            if (md)
                rd_kafka_metadata_destroy(md);
            goto cleanup;
        }
        for (int p = 0; p < md->topics[0].partition_cnt; p++) {
            int32_t part = md->topics[0].partitions[p].id;
            int slot = rep_slot(s->st, rep_short(s, topics[t]), part);
            if (slot < 0) {
                snprintf(errstr, errlen, "more than %d partitions", REP_MAX_PARTS);
                rd_kafka_metadata_destroy(md);
                goto cleanup;
            }
            int64_t lo = 0, hi = 0;
            if (rd_kafka_query_watermark_offsets(s->consumer, topics[t], part, &lo, &hi, 5000))
                lo = hi = -1; /* unknown: caught up once we have read anything past start */
            s->high[slot] = t == 2 ? 0 : hi;
            /* With no stored offset, the partition starts at the low
             * watermark just asked for rather than at the logical
             * BEGINNING: librdkafka would first resolve BEGINNING with a
             * ListOffsets per partition, and the partitions that resolve
             * first (the empty requests topic, typically) go out in a
             * Fetch that the broker holds for fetch.wait.max.ms (500 ms)
             * before the others join it. Measured: the first records came
             * 505 ms after the assignment with BEGINNING. Should retention
             * delete past lo meanwhile, the fetch is out of range and
             * auto.offset.reset (earliest) applies, as with BEGINNING. */
            int64_t next = s->st->offsets.next[slot];
            rd_kafka_topic_partition_list_add(l, topics[t], part)->offset =
                next >= 0 ? next
                : lo >= 0 ? lo
                          : RD_KAFKA_OFFSET_BEGINNING;
        }
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(s->consumer, l);
    if (e) {
        snprintf(errstr, errlen, "assign: %s", rd_kafka_err2str(e));
        goto cleanup;
    }
    cm_log_fields(CM_LOG_INFO, json_pack("{s:i}", "partitions", l->cnt), "partitions assigned");
    rc = 0;
cleanup:
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

/* The consumer's position on the i-th partition of the stored offsets
 * (the next offset it will read), or -1 when it has none. */
static int64_t rep_position(rep_svc *s, int i)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, rep_full(s, s->st->offsets.topic[i]),
                                      s->st->offsets.part[i]);
    int64_t pos = -1;
    if (!rd_kafka_position(s->consumer, l) && l->elems[0].offset >= 0)
        pos = l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    return pos;
}

static int rep_check_caught_up(rep_svc *s)
{
    if (s->caught_up)
        return 1;
    for (int i = 0; i < s->st->offsets.n; i++) {
        if (!strcmp(s->st->offsets.topic[i], "requests"))
            continue;
        int64_t next = s->st->offsets.next[i];
        if (s->high[i] > 0 && next < s->high[i]) {
            /* a partition whose start was deleted by retention: the low
             * watermark may exceed what we stored; position tells */
            if (rep_position(s, i) < s->high[i])
                return 0;
        }
    }
    s->caught_up = 1;
    atomic_store(&s->ready->extra_ok, 1);
    cm_log_fields(CM_LOG_INFO,
                  json_pack("{s:I, s:I, s:I}", "invoices", (json_int_t)s->st->ninvs, "applied",
                            (json_int_t)s->st->applied, "duplicates",
                            (json_int_t)s->st->duplicates),
                  "aggregates caught up");
    return 1;
}

/* The high watermarks of every events/contacts partition now (asked of the
 * broker), into want[slot]; -1 where unknown. A request is answered only
 * once the reporter has read up to them, so that its answer includes every
 * record published before the request. Caller frees. */
static int64_t *rep_targets(rep_svc *s)
{
    int n = s->st->offsets.n;
    int64_t *want = calloc((size_t)n + 1, sizeof *want); /* want[0] = n */
    if (!want)
        return NULL;
    want[0] = n;
    for (int i = 0; i < n; i++) {
        want[1 + i] = -1;
        if (!strcmp(s->st->offsets.topic[i], "requests"))
            continue;
        int64_t lo = 0, hi = 0;
        /* asked through the producer's connection: the consumer's is busy
         * with long-polling fetches, which would delay each query */
        if (!rd_kafka_query_watermark_offsets(s->producer, rep_full(s, s->st->offsets.topic[i]),
                                              s->st->offsets.part[i], &lo, &hi, 2000))
            want[1 + i] = hi;
    }
    return want;
}

/* 1 when the state reflects every record up to want (positions tell for
 * partitions whose start was deleted by retention). */
static int rep_reached(rep_svc *s, const int64_t *want)
{
    for (int i = 0; i < want[0] && i < s->st->offsets.n; i++) {
        int64_t w = want[1 + i];
        if (w <= 0 || s->st->offsets.next[i] >= w)
            continue;
        if (rep_position(s, i) < w)
            return 0;
    }
    return 1;
}

static int rep_produce(rep_svc *s, json_t *r, const char *request_id, char *errstr, size_t errlen)
{
    if (request_id)
        json_object_set_new(r, "request_id", json_string(request_id));
    char key[512];
    const char *tenant = json_string_value(json_object_get(r, "tenant"));
    const char *type = json_string_value(json_object_get(r, "type"));
    snprintf(key, sizeof key, "%s/%s", tenant ? tenant : "default", type ? type : "error");
    char *body = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    if (!body) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    rd_kafka_headers_t *h = rd_kafka_headers_new(3);
    rd_kafka_header_add(h, "report_type", -1, type ? type : "error", -1);
    rd_kafka_header_add(h, "tenant", -1, tenant ? tenant : "default", -1);
    if (request_id)
        rd_kafka_header_add(h, "request_id", -1, request_id, -1);
    int rc = cm_kafka_produce(s->producer, s->t_reports, key, strlen(key), body, strlen(body), h,
                              errstr, errlen);
    free(body);
    if (rc == 0)
        cm_metric_add(s->m[CT_M_REPORTER_REPORTS], 1);
    return rc;
}

/* Publishes the reports of `types` for one tenant (or every tenant when
 * tenant is NULL) as of day d. */
static int rep_publish(rep_svc *s, const char *tenant, int types, int32_t d, const char *request_id,
                       char *errstr, size_t errlen)
{
    int64_t now = cm_clock_now_ms();
    uint32_t n = tenant ? 1 : s->st->ntenants;
    for (uint32_t i = 0; i < n; i++) {
        const char *name = tenant ? tenant : s->st->tenants[i];
        for (int t = 0; t < CT_REP_COUNT; t++) {
            if (!(types & (1 << t)))
                continue;
            json_t *r = rep_report_build(s->st, ct_report_name((ct_report)t), name, d, now);
            if (!r) {
                snprintf(errstr, errlen, "out of memory building %s", ct_report_name((ct_report)t));
                return -1;
            }
            int rc = rep_produce(s, r, request_id, errstr, errlen);
            json_decref(r);
            if (rc < 0)
                return -1;
        }
    }
    return 0;
}

/* The first day a report may be asked for as of (issue 18): today minus
 * the fact retention, and never before what the state still holds
 * (rep_state_exact_from: a snapshot retained under a shorter retention).
 * INT32_MIN: any day. */
static int32_t rep_first_day(const rep_svc *s, int32_t today)
{
    int32_t from = rep_state_exact_from(s->st);
    if (s->retention_days > 0 && today - s->retention_days > from)
        from = today - s->retention_days;
    return from;
}

/* Drops the facts no report from rep_first_day on reads (retain.c), once
 * per day of the report clock. */
static void rep_retain(rep_svc *s)
{
    char errstr[256];
    if (s->retention_days <= 0)
        return;
    int32_t h = cm_time_day(cm_clock_now_ms()) - s->retention_days - REP_LOOKBACK_DAYS;
    if (h <= s->st->horizon)
        return;
    int64_t t0 = cm_clock_real_ms();
    uint32_t n0 = s->st->ninvs;
    long gone = rep_state_retain(s->st, h, errstr, sizeof errstr);
    if (gone < 0) {
        cm_log_error("%s", errstr);
        return;
    }
    char day[16];
    cm_date_format(h, day, sizeof day);
    s->dirty = 1;
    cm_metric_set(s->m[CT_M_REPORTER_INVOICES], (double)s->st->ninvs);
    cm_log_fields(gone ? CM_LOG_INFO : CM_LOG_DEBUG,
                  json_pack("{s:s, s:I, s:I, s:I}", "before", day, "invoices_dropped",
                            (json_int_t)gone, "invoices_kept", (json_int_t)(n0 - (uint32_t)gone),
                            "ms", (json_int_t)(cm_clock_real_ms() - t0)),
                  "facts of invoices settled before the retention dropped");
}

static void rep_answer(rep_svc *s, const rd_kafka_message_t *m)
{
    char errstr[512];
    ct_report_request rq;
    json_t *req = json_loadb(m->payload, m->len, 0, NULL);
    int32_t today = cm_time_day(cm_clock_now_ms());
    cm_metric_add(s->m[CT_M_REPORTER_REQUESTS], 1);
    int bad = !req || ct_report_request_decode(req, today, &rq, errstr, sizeof errstr) < 0;
    if (req && m->len > CT_REPORT_REQUEST_MAX) { /* id and tenant read above, if they could be */
        snprintf(errstr, sizeof errstr, "request: %zu bytes, more than %d (CT_REPORT_REQUEST_MAX)",
                 m->len, CT_REPORT_REQUEST_MAX);
        bad = 1;
    }
    int32_t first = bad ? INT32_MIN : rep_first_day(s, today);
    if (!bad && rq.as_of < first) {
        char asked[16], day[16];
        cm_date_format(rq.as_of, asked, sizeof asked);
        cm_date_format(first, day, sizeof day);
        snprintf(errstr, sizeof errstr,
                 "as_of: %s is before %s, the first day the reporter keeps the facts for "
                 "(ARREARS_REPORTER_FACT_RETENTION %lldd: reports as of today minus the "
                 "retention or later)",
                 asked, day, (long long)s->retention_days);
        bad = 1;
    }
    if (bad) {
        if (!req) {
            memset(&rq, 0, sizeof rq);
            cm_strlcpy(rq.tenant, "default", sizeof rq.tenant);
            snprintf(errstr, sizeof errstr, "request: not JSON");
        }
        cm_log_fields(CM_LOG_WARN, json_pack("{s:s, s:s}", "request_id", rq.id, "error", errstr),
                      "bad report request");
        json_t *e = json_pack("{s:i, s:s, s:s, s:s, s:s}", "v", 1, "type", "error", "tenant",
                              rq.tenant, "request_id", rq.id, "error", errstr);
        if (rep_produce(s, e, NULL, errstr, sizeof errstr) < 0)
            cm_log_error("answering a bad request: %s", errstr);
        json_decref(e);
        json_decref(req);
        return;
    }
    json_decref(req);
    if (rep_publish(s, rq.tenant, rq.types, rq.as_of, rq.id, errstr, sizeof errstr) < 0)
        cm_log_error("request %s: %s", rq.id, errstr);
    else
        cm_log_fields(CM_LOG_INFO,
                      json_pack("{s:s, s:s}", "request_id", rq.id, "tenant", rq.tenant),
                      "report request answered");
}

static int rep_snapshot(rep_svc *s)
{
    char errstr[512];
    size_t bytes = 0;
    int64_t t0 = cm_clock_real_ms();
    if (rep_store_save(s->redis, s->base, s->st, &bytes, errstr, sizeof errstr) < 0) {
        atomic_store(&s->ready->redis_ok, 0);
        cm_log_error("snapshot not saved: %s", errstr);
        return -1;
    }
    atomic_store(&s->ready->redis_ok, 1);
    cm_metric_observe(s->m[CT_M_REPORTER_SNAPSHOT_SECONDS],
                      (double)(cm_clock_real_ms() - t0) / 1000.0);
    cm_metric_set(s->m[CT_M_REPORTER_SNAPSHOT_BYTES], (double)bytes);
    /* the snapshot is durable: commit its offsets to the group */
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(s->st->offsets.n);
    for (int i = 0; i < s->st->offsets.n; i++)
        if (s->st->offsets.next[i] >= 0)
            rd_kafka_topic_partition_list_add(l, rep_full(s, s->st->offsets.topic[i]),
                                              s->st->offsets.part[i])
                ->offset = s->st->offsets.next[i];
    if (l->cnt) {
        rd_kafka_resp_err_t e = rd_kafka_commit(s->consumer, l, 0);
        if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
            cm_log_warn("commit: %s", rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(l);
    s->dirty = 0;
    return 0;
}

void rep_serve_init(rep_svc *s)
{
    atomic_store(&s->ready->extra_ok, 0);
    snprintf(s->ready->extra_why, sizeof s->ready->extra_why, "rebuilding aggregates");
    ct_metrics_register(CT_SVC_REPORTER, s->m);
}

int rep_serve_start(rep_svc *s, volatile sig_atomic_t *run, char *errstr, size_t errlen)
{
    int lr = rep_store_load(s->redis, s->base, &s->st, errstr, errlen);
    if (lr < 0) {
        cm_log_error("snapshot not loaded, rebuilding from the start of retention: %s", errstr);
    } else if (lr > 0) {
        cm_log_fields(CM_LOG_INFO,
                      json_pack("{s:I, s:I}", "invoices", (json_int_t)s->st->ninvs, "applied",
                                (json_int_t)s->st->applied),
                      "snapshot loaded");
    }
    if (!s->st)
        s->st = rep_state_new();
    if (!s->st) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    rep_state_dedup_window(s->st, s->dedup_window);
    while (*run && rep_assign(s, errstr, errlen) < 0) {
        cm_log_warn("waiting for topics: %s", errstr);
        sleep(1);
    }
    if (!*run)
        return 0;
    atomic_store(&s->ready->kafka_ok, 1);
    s->next_tick = (cm_clock_now_ms() / s->interval + 1) * s->interval;
    s->last_snap = cm_clock_real_ms();
    s->snap_gap = s->snap_every;
    return 0;
}

void rep_serve_records(rep_svc *s, rd_kafka_message_t **msgs, size_t n)
{
    char errstr[1024];
    uint64_t dups0 = s->st->duplicates;
    /* the window moves when records come (an idle reporter's set does
     * not grow either) */
    long gone = n ? rep_state_dedup_at(s->st, cm_clock_real_ms(), errstr, sizeof errstr) : 0;
    if (gone < 0)
        cm_log_warn("%s", errstr);
    else if (gone > 0) {
        s->dirty = 1; /* the next snapshot holds the smaller set */
        cm_log_fields(CM_LOG_INFO,
                      json_pack("{s:I, s:I}", "forgotten", (json_int_t)gone, "kept",
                                (json_int_t)s->st->seen.len),
                      "ids out of the de-duplication window forgotten");
    }
    for (size_t i = 0; i < n; i++) {
        rd_kafka_message_t *m = msgs[i];
        const char *topic = rep_short(s, rd_kafka_topic_name(m->rkt));
        int slot = topic ? rep_slot(s->st, topic, m->partition) : -1;
        if (slot < 0) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (!strcmp(topic, "requests")) {
            if (s->npending < REP_MAX_BATCH) {
                /* answered once what was published before it is read;
                 * its offset advances once answered */
                int64_t tq = cm_clock_real_ms();
                s->pending_want[s->npending] = rep_targets(s);
                cm_log_debug("request read; watermarks asked in %lld ms",
                             (long long)(cm_clock_real_ms() - tq));
                s->pending_since[s->npending] = cm_clock_real_ms();
                s->pending[s->npending++] = m;
                continue;
            }
            cm_log_error("too many pending requests; dropping one at offset %lld",
                         (long long)m->offset);
            s->st->offsets.next[slot] = m->offset + 1;
            rd_kafka_message_destroy(m);
            continue;
        }
        int r;
        if (!strcmp(topic, "events")) { /* the arena reader: no jansson tree */
            r = rep_state_apply_event_bytes(s->st, m->payload ? m->payload : "", m->len, errstr,
                                            sizeof errstr);
            cm_metric_add(s->m[CT_M_REPORTER_EVENTS], 1);
        } else {
            r = rep_state_apply_contact_bytes(s->st, m->payload ? m->payload : "", m->len, errstr,
                                              sizeof errstr);
            cm_metric_add(s->m[CT_M_REPORTER_CONTACTS], 1);
        }
        if (s->st->duplicates > dups0) {
            cm_metric_add(s->m[CT_M_REPORTER_DUPLICATES], s->st->duplicates - dups0);
            dups0 = s->st->duplicates;
        }
        if (r < 0) {
            cm_metric_add(s->m[CT_M_REPORTER_REJECTED], 1);
            cm_log_fields(CM_LOG_WARN,
                          json_pack("{s:s, s:i, s:I, s:s}", "topic", rd_kafka_topic_name(m->rkt),
                                    "partition", (int)m->partition, "offset", (json_int_t)m->offset,
                                    "error", errstr),
                          "record rejected");
        }
        s->st->offsets.next[slot] = m->offset + 1;
        s->dirty = 1;
        rd_kafka_message_destroy(m);
    }
    cm_metric_set(s->m[CT_M_REPORTER_INVOICES], (double)s->st->ninvs);
}

void rep_serve_tick(rep_svc *s)
{
    char errstr[1024];
    if (!rep_check_caught_up(s))
        return;
    rep_retain(s);
    /* requests: answered in order, then their offsets advance */
    size_t done_req = 0;
    for (; done_req < s->npending; done_req++) {
        size_t i = done_req;
        /* wait (at most 30 s) until the records published before it are read */
        if (s->pending_want[i] && !rep_reached(s, s->pending_want[i]) &&
            cm_clock_real_ms() - s->pending_since[i] < 30000)
            break;
        int64_t ts = rd_kafka_message_timestamp(s->pending[i], NULL);
        if (ts > 0 && cm_clock_real_ms() - ts > s->max_age)
            cm_log_fields(CM_LOG_INFO,
                          json_pack("{s:i, s:I}", "partition", (int)s->pending[i]->partition,
                                    "offset", (json_int_t)s->pending[i]->offset),
                          "stale report request skipped");
        else
            rep_answer(s, s->pending[i]);
        int slot = rep_slot(s->st, "requests", s->pending[i]->partition);
        if (slot >= 0)
            s->st->offsets.next[slot] = s->pending[i]->offset + 1;
        rd_kafka_message_destroy(s->pending[i]);
        free(s->pending_want[i]);
        s->dirty = 1;
    }
    int published = done_req > 0;
    for (size_t i = done_req; i < s->npending; i++) {
        s->pending[i - done_req] = s->pending[i];
        s->pending_want[i - done_req] = s->pending_want[i];
        s->pending_since[i - done_req] = s->pending_since[i];
    }
    s->npending -= done_req;
    int64_t now = cm_clock_now_ms();
    if (now >= s->next_tick) {
        int32_t d = cm_time_day(s->next_tick - 1);
        if (rep_publish(s, NULL, 7, d, NULL, errstr, sizeof errstr) < 0)
            cm_log_error("periodic reports: %s", errstr);
        else
            cm_log_fields(CM_LOG_INFO, json_pack("{s:I}", "tenants", (json_int_t)s->st->ntenants),
                          "periodic reports published");
        s->next_tick = (now / s->interval + 1) * s->interval;
        published = 1;
    }
    /* answers must be delivered before their request offsets are saved */
    if (published && cm_kafka_wait_delivered(s->producer, s->dr, 10000, errstr, sizeof errstr) < 0)
        cm_log_error("report delivery: %s", errstr);
    if (s->dirty && cm_clock_real_ms() - s->last_snap >= s->snap_gap) {
        int64_t t0 = cm_clock_real_ms();
        rep_snapshot(s);
        s->last_snap = cm_clock_real_ms();
        /* a large state: keep snapshots under ~5% of the time */
        s->snap_gap =
            20 * (s->last_snap - t0) > s->snap_every ? 20 * (s->last_snap - t0) : s->snap_every;
    }
}

int rep_serve_stop(rep_svc *s)
{
    char errstr[1024];
    int rc = 0;
    cm_log_info("shutting down");
    for (size_t i = 0; i < s->npending; i++) { /* unanswered: read again after a restart */
        rd_kafka_message_destroy(s->pending[i]);
        free(s->pending_want[i]);
    }
    s->npending = 0;
    if (cm_kafka_wait_delivered(s->producer, s->dr, 5000, errstr, sizeof errstr) < 0)
        cm_log_error("report delivery at shutdown: %s", errstr);
    if (s->st && s->dirty && rep_snapshot(s) < 0)
        rc = -1;
    return rc;
}

void rep_serve_free(rep_svc *s)
{
    rep_state_free(s->st);
    s->st = NULL;
}
