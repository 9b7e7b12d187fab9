/* retention.c -- purging what no open invoice needs after the retention
 * (see retention.h; docs/scheduler.md "Retention").
 *
 * Design: the decisions are pure functions of a loaded record
 * (sch_gc_decide, sch_gc_score) so the unit tests work them by hand; the
 * round (sch_purge_round) only marks records gone and logs what a deleted
 * waiting list held, and the commit (store_ops.c) writes the deletions
 * and the purge members with the rest of the round, under the same
 * version checks. */
#include "retention.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "str.h"

int sch_retention_parse(const char *s, int64_t *ms, char *errstr, size_t errlen)
{
    if (!strcmp(s, "none") || !strcmp(s, "0")) {
        *ms = 0;
        return 0;
    }
    int64_t v;
    if (cm_duration_parse(s, &v) < 0 || v < SCH_RETENTION_MIN_MS || v > SCH_RETENTION_MAX_MS) {
        snprintf(errstr, errlen,
                 "'%.40s': must be none, 0, or a duration (30s, 12h, 400d) within 1s .. 3650d", s);
        return -1;
    }
    *ms = v;
    return 0;
}

int sch_gc_member(char *out, size_t len, const char *tenant, char kind, const char *id)
{
    /* tenant "/" 0x1e kind id, without printf: once per record a commit
     * writes (1,000 instructions a call through snprintf) */
    size_t tl = strlen(tenant), il = strlen(id);
    if (tl + il + 4 > len)
        return -1;
    memcpy(out, tenant, tl);
    out[tl] = '/';
    out[tl + 1] = '\x1e';
    out[tl + 2] = kind;
    memcpy(out + tl + 3, id, il + 1);
    return 0;
}

int sch_gc_parse(const char *member, size_t mlen, char *tenant, size_t tlen, char *kind, char *id,
                 size_t ilen)
{
    const char *slash = memchr(member, '/', mlen);
    if (!slash || (size_t)(slash - member) + 2 >= mlen || slash[1] != '\x1e')
        return 0;
    size_t tl = (size_t)(slash - member), il = mlen - tl - 3;
    char k = slash[2];
    if (k != 'i' && k != 'p' && k != 'q' && k != 'r')
        return 0;
    if (tl >= tlen || il >= ilen || il == 0)
        return -1;
    memcpy(tenant, member, tl);
    tenant[tl] = 0;
    memcpy(id, slash + 3, il);
    id[il] = 0;
    *kind = k;
    return 1;
}

char sch_gc_kind(const char *prefix, const sch_rec *r)
{
    size_t pl = strlen(prefix);
    if (r->type == SCH_T_CUST || strncmp(r->key, prefix, pl) != 0 || r->key[pl + 1] != ':')
        return 0;
    char k = r->key[pl];
    return k == 'i' || k == 'p' || k == 'q' || k == 'r' ? k : 0;
}

int sch_gc_decide(const sch_rec *r)
{
    if (!r->loaded || !r->exists)
        return SCH_GC_DROP;
    switch (r->type) {
    case SCH_T_INV:
        if (r->u.inv.status == 'o')
            return SCH_GC_DROP; /* open again: a new member when it closes */
        return r->u.inv.next_kind ? SCH_GC_LATER : SCH_GC_DELETE;
    case SCH_T_PAY:
    case SCH_T_PEND:
        return SCH_GC_DELETE;
    default:
        return SCH_GC_DROP;
    }
}

int64_t sch_gc_score(const sch_rec *r, int64_t now, int64_t retention)
{
    if (retention <= 0 || r->gone || !r->loaded || !r->dirty)
        return 0;
    switch (r->type) {
    case SCH_T_INV:
        return r->exists && r->u.inv.status != 'o' ? now + retention : 0;
    case SCH_T_PAY:
        return r->exists ? now + retention : 0;
    case SCH_T_PEND: /* from the first event held */
        return json_array_size(r->u.pend.add) &&
                       (r->u.pend.clear || json_array_size(r->u.pend.items) == 0)
                   ? now + retention
                   : 0;
    default:
        return 0;
    }
}

int sch_gc_tomb_has(const char *list, char kind, const char *id)
{
    size_t il = strlen(id);
    for (const char *p = list; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t l = comma ? (size_t)(comma - p) : strlen(p);
        if (l == il + 2 && p[0] == kind && p[1] == ':' && !memcmp(p + 2, id, il))
            return 1;
        p = comma ? comma + 1 : p + l;
    }
    return 0;
}

int sch_gc_late(sch_ctx *c, const sch_rec *cust, const ct_event *e, char kind, const char *id)
{
    if (!cust || !sch_gc_tomb_has(cust->u.cust.purged, kind, id))
        return 0;
    char reason[400];
    snprintf(reason, sizeof reason,
             "%s %s was purged: a closed invoice or a payment is kept "
             "ARREARS_SCHEDULER_CLOSED_RETENTION after its last change; the event is not "
             "applied to it",
             kind == 'p' ? "payment" : "invoice", id);
    cm_log_fields(CM_LOG_WARN,
                  json_pack("{s:s,s:s?,s:s?,s:s,s:s,s:s}", "tenant", e->tenant, "type",
                            e->type_name, "id", e->id, kind == 'p' ? "payment_id" : "invoice_id",
                            id, "reason", "purged_after_retention", "error", reason),
                  "event about a purged record");
    c->late++;
    return 1;
}

/* Logs one held event of a waiting list deleted after the retention. */
static void expired(sch_ctx *c, const sch_rec *r, json_t *ev)
{
    const char *type = json_string_value(json_object_get(ev, "type"));
    const char *id = json_string_value(json_object_get(ev, "id"));
    json_t *data = json_object_get(ev, "data");
    const char *pid = json_string_value(json_object_get(data, "payment_id"));
    json_int_t amt = json_integer_value(json_object_get(data, "amount_minor"));
    char reason[400];
    snprintf(reason, sizeof reason,
             "%s %s not known within ARREARS_SCHEDULER_CLOSED_RETENTION of the first event "
             "held for it (it never came, or it was closed and purged)",
             sch_gc_kind(c->prefix, r) == 'r' ? "payment" : "invoice", r->id);
    json_t *f = json_pack("{s:s,s:s,s:s?,s:s,s:s}", "tenant", r->tenant, "waiting_for", r->id,
                          "type", type, "reason", "retention_expired", "error", reason);
    if (f && id)
        json_object_set_new(f, "id", json_string(id));
    if (f && pid)
        json_object_set_new(f, "payment_id", json_string(pid));
    if (f && amt > 0)
        json_object_set_new(f, "amount_minor", json_integer(amt));
    cm_log_fields(CM_LOG_WARN, f, "held event expired");
    c->expired++;
}

/* Notes r (a purged invoice or payment) in its debtor's ring "pg". */
static int remember(sch_ctx *c, const sch_rec *r)
{
    const char *cu = r->type == SCH_T_INV ? r->u.inv.customer : r->u.pay.customer;
    char key[512], entry[SCH_ID_LEN + 4];
    if (!cu[0])
        return 0;
    sch_key(key, sizeof key, c->prefix, 'c', r->tenant, cu);
    snprintf(entry, sizeof entry, "%c:%s,", r->type == SCH_T_INV ? 'i' : 'p', r->id);
    return json_array_append_new(c->appends, json_pack("[sssi]", key, "pg", entry, SCH_PURGED_N));
}

int sch_purge_round(sch_ctx *c)
{
    size_t n = sch_map_count(c->map);
    for (size_t i = 0; i < n; i++) {
        sch_rec *r = sch_map_at(c->map, i);
        if (!r->gc_due)
            continue;
        int d = sch_gc_decide(r);
        if (d == SCH_GC_LATER) {
            r->dirty = 1; /* the commit scores it again: now + retention */
            continue;
        }
        if (d != SCH_GC_DELETE)
            continue; /* the commit forgets its member */
        if (r->type == SCH_T_PEND) {
            for (size_t k = 0; k < json_array_size(r->u.pend.items); k++)
                expired(c, r, json_array_get(r->u.pend.items, k));
            for (size_t k = 0; k < json_array_size(r->u.pend.add); k++)
                expired(c, r, json_array_get(r->u.pend.add, k));
        }
        cm_log_debug("purged %s: kept ARREARS_SCHEDULER_CLOSED_RETENTION after its last change",
                     r->key);
        if ((r->type == SCH_T_INV || r->type == SCH_T_PAY) && remember(c, r) < 0)
            return -1;
        r->gone = 1;
        r->dirty = 1;
        c->purged++;
    }
    return 0;
}
