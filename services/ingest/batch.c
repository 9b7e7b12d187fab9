/* batch.c -- one polled batch from validation to durable effects.
 *
 * Design (at-least-once, no loss):
 *   1. every message is validated (ing_process): canonical event or DLQ;
 *   2. duplicates are dropped: the same (tenant, source, id) earlier in the
 *      batch, or recorded in Redis (one pipelined EXISTS for the batch);
 *   3. every surviving record is produced, and the loop waits until every
 *      delivery report is in (a failure re-produces the whole batch);
 *   4. the ids just delivered are recorded in Redis (one pipelined SET ... PX
 *      for the batch);
 *   5. only then may the caller store the batch's offsets.
 * A crash before 4 replays the batch and re-emits its events under the
 * same ids and trace ids; consumers of events de-duplicate by id. A crash
 * between 4 and 5 replays a batch whose ids are recorded: they are dropped
 * as duplicates, which is right because they were delivered. Claiming an id
 * before delivery would instead lose the event if the process died between
 * the claim and the delivery. */
#include "ingest.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

/* Marks later records whose dedup key appeared earlier in the batch. */
static int drop_batch_duplicates(ing_record *recs, size_t n, uint64_t *dups)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap <<= 1;
    size_t *slots = malloc(cap * sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < cap; i++)
        slots[i] = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        if (!recs[i].accepted)
            continue;
        size_t h = (size_t)fnv1a(recs[i].dedup_key) & (cap - 1);
        for (;;) {
            size_t j = slots[h];
            if (j == (size_t)-1) {
                slots[h] = i;
                break;
            }
            if (strcmp(recs[j].dedup_key, recs[i].dedup_key) == 0) {
                recs[i].drop = 1;
                (*dups)++;
                break;
            }
            h = (h + 1) & (cap - 1);
        }
    }
    free(slots);
    return 0;
}

/* Runs op until it succeeds or keep_going says stop; -1 then. */
#define RETRY(be, st, what, call)                                                            \
    do {                                                                                     \
        for (int attempt_ = 1;; attempt_++) {                                                \
            if ((call) == 0)                                                                 \
                break;                                                                       \
            cm_log_warn("ingest: %s failed (attempt %d): %s", (what), attempt_, errstr);    \
            if (!(be)->keep_going((be)->opaque))                                             \
                goto cleanup;                                                                \
            (st)->retries++;                                                                 \
            (be)->backoff((be)->opaque, attempt_);                                           \
        }                                                                                    \
    } while (0)

static int produce_all(const ing_backend *be, ing_record *recs, size_t n, char *errstr,
                       size_t errlen)
{
    for (size_t i = 0; i < n; i++)
        if (!recs[i].drop && be->produce(be->opaque, &recs[i], errstr, errlen) != 0)
            return -1;
    return be->wait_delivered(be->opaque, errstr, errlen);
}

int ing_batch_run(const ing_config *cfg, const char *dedup_prefix, const ing_backend *be,
                  const ing_input *msgs, size_t n, ing_batch_stats *st, char *errstr,
                  size_t errlen)
{
    int rc = -1;
    ing_record *recs = NULL;
    char **keys = NULL;
    unsigned char *seen = NULL;
    size_t *idx = NULL;
    ing_result r;
    memset(&r, 0, sizeof r);
    ing_batch_stats local = {0, 0, 0, 0};
    if (n == 0)
        return 0;

    recs = calloc(n, sizeof *recs);
    keys = calloc(n, sizeof *keys);
    seen = calloc(n, 1);
    idx = calloc(n, sizeof *idx);
    if (!recs || !keys || !seen || !idx) {
        snprintf(errstr, errlen, "out of memory for a batch of %zu", n);
        goto cleanup;
    }

    for (size_t i = 0; i < n; i++) {
        ing_record *rec = &recs[i];
        rec->in = &msgs[i];
        if (ing_process(cfg, &msgs[i], &r, errstr, errlen) != 0)
            goto cleanup;
        rec->accepted = r.accepted;
        rec->body = r.body;
        rec->bodylen = r.bodylen;
        r.body = NULL;
        memcpy(rec->key, r.key, sizeof rec->key);
        memcpy(rec->tenant, r.tenant, sizeof rec->tenant);
        memcpy(rec->id, r.id, sizeof rec->id);
        memcpy(rec->type, r.type, sizeof rec->type);
        memcpy(rec->trace_id, r.trace_id, sizeof rec->trace_id);
        if (r.accepted) {
            rec->dedup_key = ing_dedup_key(dedup_prefix, r.tenant, r.source, r.id);
            if (!rec->dedup_key) {
                snprintf(errstr, errlen, "out of memory");
                goto cleanup;
            }
        } else {
            snprintf(rec->reason, sizeof rec->reason, "%s",
                     r.reasons.n ? r.reasons.r[0].message : "rejected");
            if (cm_log_enabled(CM_LOG_DEBUG))
                cm_log_debug("ingest: rejected %s[%d]@%lld: %s", msgs[i].topic ? msgs[i].topic : "",
                             (int)msgs[i].partition, (long long)msgs[i].offset, rec->reason);
        }
        ing_result_clear(&r);
    }

    if (drop_batch_duplicates(recs, n, &local.duplicates) != 0) {
        snprintf(errstr, errlen, "out of memory");
        goto cleanup;
    }
    size_t nk = 0;
    for (size_t i = 0; i < n; i++)
        if (recs[i].accepted && !recs[i].drop) {
            idx[nk] = i;
            keys[nk++] = recs[i].dedup_key;
        }
    if (nk > 0) {
        RETRY(be, &local, "de-duplication lookup",
              be->dedup_seen(be->opaque, keys, nk, seen, errstr, errlen));
        for (size_t k = 0; k < nk; k++)
            if (seen[k]) {
                recs[idx[k]].drop = 1;
                local.duplicates++;
            }
    }

    RETRY(be, &local, "delivery", produce_all(be, recs, n, errstr, errlen));

    nk = 0;
    for (size_t i = 0; i < n; i++) {
        if (recs[i].drop)
            continue;
        if (recs[i].accepted) {
            keys[nk++] = recs[i].dedup_key;
            local.accepted++;
        } else {
            local.rejected++;
        }
    }
    if (nk > 0)
        RETRY(be, &local, "de-duplication record",
              be->dedup_mark(be->opaque, keys, nk, errstr, errlen));
    rc = 0;

cleanup:
    ing_result_clear(&r);
    if (recs)
        for (size_t i = 0; i < n; i++) {
            free(recs[i].body);
            free(recs[i].dedup_key);
        }
    free(idx);
    free(seen);
    free(keys);
    free(recs);
    st->accepted += local.accepted;
    st->rejected += local.rejected;
    st->duplicates += local.duplicates;
    st->retries += local.retries;
    return rc;
}
