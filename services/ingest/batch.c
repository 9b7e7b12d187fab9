/* batch.c -- one polled batch from validation to durable effects.
 *
 * Design (at-least-once, no loss):
 *   1. every message is validated (ing_process): canonical event or DLQ;
 *   2. duplicates are dropped: the same (tenant, source, id) earlier in the
 *      batch, in the previous batch (not recorded yet while this one is
 *      looked up), or recorded in Redis (one pipeline for the batch);
 *   3. every surviving record is produced, and the loop waits until every
 *      delivery report is in (a failure re-produces the whole batch);
 *   4. the ids just delivered are recorded in Redis (one pipeline for the
 *      batch);
 *   5. only then may the caller store the batch's offsets.
 * A crash before 4 replays the batch and re-emits its events under the
 * same ids and trace ids; consumers of events de-duplicate by id. A crash
 * between 4 and 5 replays a batch whose ids are recorded: they are dropped
 * as duplicates, which is right because they were delivered. Claiming an id
 * before delivery would instead lose the event if the process died between
 * the claim and the delivery. */
#include "ingest.h"

#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double ms_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

char *ing_dedup_key(const char *prefix, const char *tenant, const char *source, const char *id)
{
    size_t lp = strlen(prefix), lt = strlen(tenant), ls = strlen(source), li = strlen(id);
    char num[24], *e = num + sizeof num, *q = e;
    size_t v = ls;
    do {
        *--q = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    size_t ln = (size_t)(e - q);
    char *k = malloc(lp + lt + ln + ls + li + 4), *o = k;
    if (!k)
        return NULL;
    memcpy(o, prefix, lp);
    o += lp;
    memcpy(o, tenant, lt);
    o += lt;
    *o++ = ':';
    memcpy(o, q, ln);
    o += ln;
    *o++ = ':';
    memcpy(o, source, ls);
    o += ls;
    *o++ = ':';
    memcpy(o, id, li + 1);
    return k;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

/* Marks the records of recs whose dedup key is among prev's live keys
 * (prev: a batch whose ids are not recorded yet; NULL for none) or appeared
 * earlier in recs. Records already dropped are skipped. 0, or -1 (no
 * memory). */
static int drop_seen(ing_record *recs, size_t n, const ing_record *prev, size_t pn, uint64_t *dups)
{
    size_t cap = 16;
    while (cap < 2 * (n + pn))
        cap <<= 1;
    const char **slots = calloc(cap, sizeof *slots); /* owned; borrows the keys */
    if (!slots)
        return -1;
    for (size_t pass = 0; pass < 2; pass++) {
        ing_record *r = pass ? recs : (ing_record *)prev;
        size_t m = pass ? n : pn;
        for (size_t i = 0; i < m; i++) {
            if (!r[i].accepted || r[i].drop)
                continue;
            size_t h = (size_t)fnv1a(r[i].dedup_key) & (cap - 1);
            while (slots[h] && strcmp(slots[h], r[i].dedup_key) != 0)
                h = (h + 1) & (cap - 1);
            if (!slots[h]) {
                slots[h] = r[i].dedup_key;
            } else if (pass) {
                r[i].drop = 1;
                (*dups)++;
            }
        }
    }
    free(slots);
    return 0;
}

/* Runs op until it succeeds or keep_going says stop; -1 then. */
#define RETRY(be, st, what, call)                                                                  \
    do {                                                                                           \
        for (int attempt_ = 1;; attempt_++) {                                                      \
            if ((call) == 0)                                                                       \
                break;                                                                             \
            cm_log_warn("ingest: %s failed (attempt %d): %s", (what), attempt_, errstr);           \
            if (!(be)->keep_going((be)->opaque))                                                   \
                goto cleanup;                                                                      \
            (st)->retries++;                                                                       \
            (be)->backoff((be)->opaque, attempt_);                                                 \
        }                                                                                          \
    } while (0)

static int produce_all(const ing_backend *be, ing_record *recs, size_t n, char *errstr,
                       size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        if (recs[i].drop)
            continue;
        if (recs[i].fan) { /* an event that named a phone: one per customer */
            for (size_t k = 0; k < recs[i].fan->n; k++)
                if (be->produce(be->opaque, &recs[i].fan->recs[k], errstr, errlen) != 0)
                    return -1;
        } else if (be->produce(be->opaque, &recs[i], errstr, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

static void fan_free(ing_fanout *f)
{
    if (!f)
        return;
    for (size_t k = 0; k < f->n; k++)
        free(f->recs[k].body);
    free(f->recs);
    free(f);
}

static int produce_and_wait(const ing_backend *be, ing_record *recs, size_t n, char *errstr,
                            size_t errlen)
{
    if (produce_all(be, recs, n, errstr, errlen) != 0)
        return -1;
    return be->wait_delivered(be->opaque, errstr, errlen);
}

struct ing_batch {
    const ing_config *cfg; /* borrowed: for the DLQ record of an unknown phone */
    ing_record *recs;
    char **keys;
    unsigned char *seen;
    size_t *idx;
    size_t n, cap;
    int produced; /* produce_all succeeded once */
    ing_batch_stats st;
    double t_validate, t_lookup, t_wait;
};

/* Freed batches are kept for reuse (two: one in flight, one being
 * prepared), so the steady state allocates no per-batch arrays. */
static _Thread_local ing_batch *spare[2];

static void batch_destroy(ing_batch *b)
{
    free(b->idx);
    free(b->seen);
    free(b->keys);
    free(b->recs);
    free(b);
}

void ing_batch_free(ing_batch *b)
{
    if (!b)
        return;
    if (b->recs)
        for (size_t i = 0; i < b->n; i++) {
            free(b->recs[i].body);
            free(b->recs[i].dedup_key);
            fan_free(b->recs[i].fan);
            b->recs[i].body = NULL;
            b->recs[i].dedup_key = NULL;
            b->recs[i].fan = NULL;
        }
    for (int i = 0; i < 2; i++)
        if (!spare[i] && b->recs && b->keys && b->seen && b->idx) {
            spare[i] = b;
            return;
        }
    batch_destroy(b);
}

static ing_batch *batch_new(size_t n)
{
    for (int i = 0; i < 2; i++) {
        ing_batch *b = spare[i];
        if (b && b->cap >= n) {
            spare[i] = NULL;
            memset(&b->st, 0, sizeof b->st);
            b->produced = 0;
            b->n = n;
            return b;
        }
    }
    ing_batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    size_t c = n ? n : 1;
    b->cap = c;
    b->recs = calloc(c, sizeof *b->recs);
    b->keys = calloc(c, sizeof *b->keys);
    b->seen = calloc(c, 1);
    b->idx = calloc(c, sizeof *b->idx);
    if (!b->recs || !b->keys || !b->seen || !b->idx) {
        batch_destroy(b);
        return NULL;
    }
    b->n = n;
    return b;
}

/* Validates msgs[from..to) into recs. 0, or -1 with errstr (no memory). */
typedef struct range_job {
    const ing_config *cfg;
    const char *prefix;
    const ing_input *msgs;
    ing_record *recs;
    size_t from, to;
    int rc;
    char err[128];
} range_job;

static void *prepare_range(void *arg)
{
    range_job *j = arg;
    ing_result r;
    memset(&r, 0, sizeof r);
    j->rc = -1;
    for (size_t i = j->from; i < j->to; i++) {
        ing_record *rec = &j->recs[i];
        rec->in = &j->msgs[i];
        rec->drop = 0;
        rec->body = NULL;
        rec->dedup_key = NULL;
        rec->fan = NULL;
        rec->reason[0] = 0;
        if (ing_process(j->cfg, &j->msgs[i], &r, j->err, sizeof j->err) != 0)
            goto out;
        rec->accepted = r.accepted;
        rec->body = r.body;
        rec->bodylen = r.bodylen;
        r.body = NULL;
        memcpy(rec->key, r.key, sizeof rec->key);
        memcpy(rec->tenant, r.tenant, sizeof rec->tenant);
        memcpy(rec->source, r.source, sizeof rec->source);
        memcpy(rec->id, r.id, sizeof r.id);
        memcpy(rec->phone, r.phone, sizeof rec->phone);
        memcpy(rec->upsert_phone, r.upsert_phone, sizeof rec->upsert_phone);
        rec->id_end = r.id_end;
        rec->cust_at = r.cust_at;
        rec->dcust_at = r.dcust_at;
        memcpy(rec->type, r.type, sizeof rec->type);
        rec->ev_type = r.ev_type;
        memcpy(rec->trace_id, r.trace_id, sizeof rec->trace_id);
        if (r.accepted) {
            rec->dedup_key = ing_dedup_key(j->prefix, r.tenant, r.source, r.id);
            if (!rec->dedup_key) {
                snprintf(j->err, sizeof j->err, "out of memory");
                goto out;
            }
        } else {
            snprintf(rec->reason, sizeof rec->reason, "%s",
                     r.reasons.n ? r.reasons.r[0].message : "rejected");
            if (cm_log_enabled(CM_LOG_DEBUG))
                cm_log_debug("ingest: rejected %s[%d]@%lld: %s",
                             j->msgs[i].topic ? j->msgs[i].topic : "", (int)j->msgs[i].partition,
                             (long long)j->msgs[i].offset, rec->reason);
        }
        ing_result_clear(&r);
    }
    j->rc = 0;
out:
    ing_result_clear(&r);
    return NULL;
}

static void *prepare_thread(void *arg)
{
    prepare_range(arg);
    ing_thread_cleanup(); /* the thread ends with the batch */
    return NULL;
}

static int prepare_threads = 1;

void ing_batch_set_threads(int n)
{
    prepare_threads = n < 1 ? 1 : n > 16 ? 16 : n;
}

ing_batch *ing_batch_prepare(const ing_config *cfg, const char *dedup_prefix, const ing_input *msgs,
                             size_t n, char *errstr, size_t errlen)
{
    double t0 = ms_now();
    ing_batch *b = batch_new(n);
    if (!b) {
        snprintf(errstr, errlen, "out of memory for a batch of %zu", n);
        return NULL;
    }
    b->cfg = cfg;
    /* Validation is independent per message: split big batches over
     * threads (the last slice runs here). Records keep their order. */
    int k = prepare_threads;
    if ((size_t)k > n / 64)
        k = (int)(n / 64) > 0 ? (int)(n / 64) : 1;
    range_job jobs[16];
    pthread_t tid[16];
    int started[16] = {0};
    for (int i = 0; i < k; i++) {
        jobs[i] = (range_job){cfg,
                              dedup_prefix,
                              msgs,
                              b->recs,
                              n * (size_t)i / (size_t)k,
                              n * (size_t)(i + 1) / (size_t)k,
                              -1,
                              ""};
        if (i < k - 1)
            started[i] = pthread_create(&tid[i], NULL, prepare_thread, &jobs[i]) == 0;
    }
    prepare_range(&jobs[k - 1]);
    int rc = jobs[k - 1].rc;
    const char *err = jobs[k - 1].err;
    for (int i = 0; i < k - 1; i++) {
        if (started[i])
            pthread_join(tid[i], NULL);
        else
            prepare_range(&jobs[i]); /* no thread: do it here */
        if (jobs[i].rc != 0) {
            rc = -1;
            err = jobs[i].err;
        }
    }
    if (rc == 0 && drop_seen(b->recs, n, NULL, 0, &b->st.duplicates) != 0) {
        rc = -1;
        err = "out of memory";
    }
    if (rc != 0) {
        snprintf(errstr, errlen, "%s", err);
        ing_batch_free(b);
        return NULL;
    }
    b->t_validate = ms_now() - t0;
    return b;
}

/* --- issue 17: the phone index ------------------------------------------ */

/* The pending index updates: customer.upserted records since the last
 * flush (their tenant, customer and phone). */
typedef struct pending {
    const char **tenants, **customers, **phones;
    size_t n;
} pending;

static int flush_index(const ing_backend *be, pending *p, char *errstr, size_t errlen)
{
    if (p->n == 0 || !be->phone_index)
        return p->n = 0, 0;
    int rc = be->phone_index(be->opaque, p->tenants, p->customers, p->phones, p->n, errstr, errlen);
    if (rc == 0)
        p->n = 0;
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Turns phone-addressed r into its fan-out over ids[0..n) (sorted), or,
 * when n is 0, into a DLQ record naming data.phone. 0, or -1 (no memory). */
static int resolve_one(const ing_config *cfg, ing_record *r, char **ids, size_t n, uint64_t *extra)
{
    if (n == 0) {
        ct_reasons rs;
        rs.n = rs.dropped = 0;
        ct_reason_add(&rs, "data.phone", "unknown_phone", "no customer has this phone (%s)",
                      r->phone);
        size_t len = 0;
        char *dlq = ct_dlq_record(cfg, r->in, &rs, r->tenant, r->source, r->id, r->type, &len);
        if (!dlq)
            return -1;
        free(r->body);
        r->body = dlq;
        r->bodylen = len;
        r->accepted = 0;
        snprintf(r->reason, sizeof r->reason, "%s", rs.r[0].message);
        return 0;
    }
    qsort(ids, n, sizeof *ids, cmp_str);
    ing_fanout *f = calloc(1, sizeof *f);
    if (!f || !(f->recs = calloc(n, sizeof *f->recs)))
        return free(f), -1;
    ct_verdict v; /* the parts of r's verdict ct_verdict_for_customer reads */
    v.accepted = 1;
    v.body = r->body;
    v.bodylen = r->bodylen;
    memcpy(v.phone, r->phone, sizeof v.phone);
    memcpy(v.tenant, r->tenant, sizeof v.tenant);
    memcpy(v.id, r->id, sizeof v.id - 1); /* an inbound id: at most CT_ID_MAX */
    v.id[sizeof v.id - 1] = 0;
    v.id_end = r->id_end;
    v.cust_at = r->cust_at;
    v.dcust_at = r->dcust_at;
    for (size_t k = 0; k < n; k++) {
        ing_record *o = &f->recs[f->n];
        *o = *r;
        o->fan = NULL;
        o->body = ct_verdict_for_customer(&v, ids[k], &o->bodylen, o->key, o->id);
        if (!o->body) {
            if (strlen(ids[k]) == 0 || strlen(ids[k]) > CT_ID_MAX)
                continue; /* not an id this index could hold: skipped */
            fan_free(f);
            return -1;
        }
        f->n++;
    }
    r->fan = f;
    *extra += f->n ? f->n - 1 : 0;
    return 0;
}

/* In message order: records the phone of every customer.upserted in the
 * index, and resolves every event that named a phone against the index
 * as it stands after the records before it. One round-trip per run of
 * upserts and one per phone event (rare: SMS keywords and replies). */
static int resolve_phones(ing_batch *b, const ing_backend *be, char *errstr, size_t errlen)
{
    pending p = {0};
    int rc = -1;
    size_t cap = 0;
    for (size_t i = 0; i < b->n; i++)
        cap += b->recs[i].accepted && !b->recs[i].drop &&
               b->recs[i].ev_type == CT_EV_CUSTOMER_UPSERTED;
    if (cap) {
        p.tenants = calloc(cap, sizeof *p.tenants);
        p.customers = calloc(cap, sizeof *p.customers);
        p.phones = calloc(cap, sizeof *p.phones);
        if (!p.tenants || !p.customers || !p.phones) {
            snprintf(errstr, errlen, "out of memory");
            goto cleanup;
        }
    }
    ing_batch_stats *stp = &b->st;
    for (size_t i = 0; i < b->n; i++) {
        ing_record *r = &b->recs[i];
        if (!r->accepted || r->drop)
            continue;
        if (r->ev_type == CT_EV_CUSTOMER_UPSERTED) {
            p.tenants[p.n] = r->tenant;
            p.customers[p.n] = r->key + strlen(r->tenant) + 1;
            p.phones[p.n] = r->upsert_phone;
            p.n++;
            continue;
        }
        if (!r->phone[0] || r->fan)
            continue;
        RETRY(be, stp, "phone index", flush_index(be, &p, errstr, errlen));
        char **ids = NULL;
        size_t nids = 0;
        if (be->phone_lookup)
            RETRY(be, stp, "phone lookup",
                  be->phone_lookup(be->opaque, r->tenant, r->phone, &ids, &nids, errstr, errlen));
        int ok = resolve_one(b->cfg, r, ids, nids, &b->st.fanned) == 0;
        for (size_t k = 0; k < nids; k++)
            free(ids[k]);
        free(ids);
        if (!ok) {
            snprintf(errstr, errlen, "out of memory");
            goto cleanup;
        }
    }
    RETRY(be, stp, "phone index", flush_index(be, &p, errstr, errlen));
    rc = 0;
cleanup:
    free(p.tenants);
    free(p.customers);
    free(p.phones);
    return rc;
}

int ing_batch_lookup(ing_batch *b, const ing_batch *prev, const ing_backend *be, char *errstr,
                     size_t errlen)
{
    double t0 = ms_now();
    size_t nk = 0;
    ing_batch_stats *stp = &b->st;
    if (prev && drop_seen(b->recs, b->n, prev->recs, prev->n, &b->st.duplicates) != 0) {
        snprintf(errstr, errlen, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < b->n; i++)
        if (b->recs[i].accepted && !b->recs[i].drop) {
            b->idx[nk] = i;
            b->keys[nk++] = b->recs[i].dedup_key;
        }
    if (nk > 0) {
        RETRY(be, stp, "de-duplication lookup",
              be->dedup_seen(be->opaque, b->keys, nk, b->seen, errstr, errlen));
        for (size_t k = 0; k < nk; k++)
            if (b->seen[k]) {
                b->recs[b->idx[k]].drop = 1;
                b->st.duplicates++;
            }
    }
    if (resolve_phones(b, be, errstr, errlen) != 0)
        goto cleanup;
    b->t_lookup = ms_now() - t0;
    return 0;
cleanup:
    return -1;
}

void ing_batch_produce(ing_batch *b, const ing_backend *be, char *errstr, size_t errlen)
{
    /* A failure to queue is retried by ing_batch_deliver (re-producing all). */
    b->produced = produce_all(be, b->recs, b->n, errstr, errlen) == 0;
    if (!b->produced)
        cm_log_warn("ingest: produce failed: %s (retrying)", errstr);
}

int ing_batch_send(ing_batch *b, const ing_backend *be, char *errstr, size_t errlen)
{
    if (ing_batch_lookup(b, NULL, be, errstr, errlen) != 0)
        return -1;
    ing_batch_produce(b, be, errstr, errlen);
    return 0;
}

int ing_batch_deliver(ing_batch *b, const ing_backend *be, char *errstr, size_t errlen)
{
    double t0 = ms_now();
    ing_batch_stats *stp = &b->st;
    if (!(b->produced && be->wait_delivered(be->opaque, errstr, errlen) == 0)) {
        if (b->produced)
            cm_log_warn("ingest: delivery failed: %s (re-producing the batch)", errstr);
        stp->retries++;
        be->backoff(be->opaque, 1);
        RETRY(be, stp, "delivery", produce_and_wait(be, b->recs, b->n, errstr, errlen));
        b->produced = 1;
    }
    b->t_wait = ms_now() - t0;
    return 0;
cleanup:
    return -1;
}

int ing_batch_record(ing_batch *b, const ing_backend *be, char *errstr, size_t errlen)
{
    double t0 = ms_now();
    size_t nk = 0;
    uint64_t accepted = 0, rejected = 0;
    ing_batch_stats *stp = &b->st;
    for (size_t i = 0; i < b->n; i++) {
        if (b->recs[i].drop)
            continue;
        if (b->recs[i].accepted) {
            b->keys[nk++] = b->recs[i].dedup_key;
            accepted++;
        } else {
            rejected++;
        }
    }
    if (nk > 0)
        RETRY(be, stp, "de-duplication record",
              be->dedup_mark(be->opaque, b->keys, nk, errstr, errlen));
    b->st.accepted += accepted;
    b->st.rejected += rejected;
    if (cm_log_enabled(CM_LOG_DEBUG))
        cm_log_debug("ingest: batch of %zu: validate %.1f ms, dedup lookup %.1f ms, "
                     "delivery wait %.1f ms, dedup record %.1f ms",
                     b->n, b->t_validate, b->t_lookup, b->t_wait, ms_now() - t0);
    return 0;
cleanup:
    return -1;
}

void ing_batch_take_stats(ing_batch *b, ing_batch_stats *st)
{
    st->accepted += b->st.accepted;
    st->rejected += b->st.rejected;
    st->duplicates += b->st.duplicates;
    st->retries += b->st.retries;
    st->fanned += b->st.fanned;
    memset(&b->st, 0, sizeof b->st);
}

int ing_batch_finish(ing_batch *b, const ing_backend *be, ing_batch_stats *st, char *errstr,
                     size_t errlen)
{
    int rc = ing_batch_deliver(b, be, errstr, errlen) == 0 &&
                     ing_batch_record(b, be, errstr, errlen) == 0
                 ? 0
                 : -1;
    ing_batch_take_stats(b, st);
    return rc;
}

int ing_batch_run(const ing_config *cfg, const char *dedup_prefix, const ing_backend *be,
                  const ing_input *msgs, size_t n, ing_batch_stats *st, char *errstr, size_t errlen)
{
    if (n == 0)
        return 0;
    ing_batch *b = ing_batch_prepare(cfg, dedup_prefix, msgs, n, errstr, errlen);
    if (!b)
        return -1;
    int rc = ing_batch_send(b, be, errstr, errlen) == 0 &&
                     ing_batch_finish(b, be, st, errstr, errlen) == 0
                 ? 0
                 : -1;
    if (rc != 0) /* count what was learnt before giving up */
        ing_batch_take_stats(b, st);
    ing_batch_free(b);
    return rc;
}
