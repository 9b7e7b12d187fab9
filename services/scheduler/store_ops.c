/* store_ops.c -- what both store backends share: key names, outbox round
 * values, and the commit's op stream built from a batch's records.
 *
 * Design: the writes of a batch are computed once, here, as a flat list of
 * arguments (see sch_ops_build in store.h); store_redis.c hands it to its
 * Lua script, store_mem.c interprets it in C. The arguments live in one
 * growing arena (offset and length per argument), kept by the caller
 * between commits: a batch's stream is megabytes, and allocating it per
 * batch made glibc consolidate its heap every time. */
#include "store.h"
#include "retention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "policy.h"
#include "redis_slot.h"
#include "vec.h"

int sch_store_part_tag(int part, int nparts, char *out, size_t len)
{
    if (nparts < 1 || nparts > CM_REDIS_SLOTS || part < 0 || part >= nparts || len < 16)
        return -1;
    /* [lo, hi): the part-th of nparts ranges, as redis-cli --cluster
     * create splits 16384 slots between masters */
    long lo = (long)part * CM_REDIS_SLOTS / nparts, hi = (long)(part + 1) * CM_REDIS_SLOTS / nparts;
    for (long k = 0; k < 100000000L; k++) {
        int n = snprintf(out, len, "p%d.%ld", part, k);
        long slot = cm_redis_crc16(out, (size_t)n) & (CM_REDIS_SLOTS - 1);
        if (slot >= lo && slot < hi)
            return 0;
    }
    return -1; /* not reached: CRC16 hits every range within 16384 * few tries */
}

int sch_store_part_prefix(char *out, size_t len, const char *prefix, int part, int nparts)
{
    char tag[16];
    if (sch_store_part_tag(part, nparts, tag, sizeof tag) < 0)
        return -1;
    snprintf(out, len, "%s{%s}", prefix, tag);
    return 0;
}

void sch_store_due_key(char *out, size_t len, const char *prefix, int part)
{
    snprintf(out, len, "%sdue:%d", prefix, part);
}

void sch_store_out_key(char *out, size_t len, const char *prefix, int part)
{
    snprintf(out, len, "%sob:%d", prefix, part);
}

void sch_store_round_key(char *out, size_t len, const char *prefix, int part, const char *round)
{
    snprintf(out, len, "%sob:%d:%s", prefix, part, round);
}

static char *reserve(sch_ops *a, size_t len)
{
    if (a->oom)
        return NULL;
    if (a->n == a->ncap) {
        size_t nc = a->ncap ? a->ncap * 2 : 1024;
        size_t *no = realloc(a->off, nc * sizeof *no);
        if (no)
            a->off = no;
        size_t *nl = no ? realloc(a->len, nc * sizeof *nl) : NULL;
        if (!no || !nl) {
            a->oom = 1;
            return NULL;
        }
        a->len = nl;
        a->ncap = nc;
    }
    if (a->used + len + 1 > a->cap) {
        size_t c = a->cap ? a->cap * 2 : 65536;
        while (c < a->used + len + 1)
            c *= 2;
        char *nb = realloc(a->buf, c);
        if (!nb) {
            a->oom = 1;
            return NULL;
        }
        a->buf = nb;
        a->cap = c;
    }
    char *p = a->buf + a->used;
    a->off[a->n] = a->used;
    a->len[a->n] = len;
    a->n++;
    a->used += len + 1;
    p[len] = 0;
    return p;
}
static void push_b(sch_ops *a, const char *s, size_t len)
{
    char *p = reserve(a, len);
    if (p)
        memcpy(p, s, len);
}
static void push(sch_ops *a, const char *s)
{
    push_b(a, s, strlen(s));
}
static void pushll(sch_ops *a, long long x)
{
    char b[24], *p = sch_fmt_ll(b + sizeof b, x);
    push_b(a, p, (size_t)(b + sizeof b - p));
}
/* A fixed-width count patched once known. */
static size_t push_count(sch_ops *a)
{
    push(a, "0000000");
    return a->n - 1;
}
static void set_count(sch_ops *a, size_t at, long long v)
{
    if (a->oom)
        return;
    if (v < 0 || v > 9999999) {
        a->oom = 1; /* a batch this large is refused rather than cut */
        return;
    }
    char *p = a->buf + a->off[at];
    for (int i = 6; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
}
void sch_ops_free(sch_ops *a)
{
    free(a->buf);
    free(a->off);
    free(a->len);
}

typedef struct hw {
    sch_ops *a;
    size_t count_at;
    long long pairs;
    const char *const *list;
    const sch_cust *orig; /* the text loaded (sch_cust_orig), or NULL */
    unsigned written;     /* bit i: list[i] is stored after the write */
} hw;
static void hw_begin(hw *w, sch_ops *a, const char *key, const char *const *list,
                     const sch_cust *orig)
{
    push(a, "h");
    push(a, key);
    w->a = a;
    w->count_at = push_count(a);
    w->pairs = 0;
    w->list = list;
    w->orig = orig;
    w->written = 0;
}
/* Field f = v, left out when the load read the same text: the commit's
 * version check means Redis still holds it. */
static void hw_put(hw *w, const char *f, const char *v)
{
    int bit = w->list ? sch_field_index(w->list, f) : -1;
    if (bit >= 0) {
        w->written |= 1u << bit;
        const char *o = w->orig ? sch_cust_orig(w->orig, bit) : NULL;
        if (o && strcmp(o, v) == 0)
            return;
    }
    push(w->a, f);
    push(w->a, v);
    w->pairs++;
}
static void hw_s(hw *w, const char *f, const char *v)
{
    if (v && *v)
        hw_put(w, f, v);
}
static void hw_i(hw *w, const char *f, long long v)
{
    char b[24];
    b[sizeof b - 1] = 0;
    hw_put(w, f, sch_fmt_ll(b + sizeof b - 1, v));
}
static void hw_end(hw *w)
{
    set_count(w->a, w->count_at, w->pairs);
}

/* HDEL of the fields of list that were stored and are not written now. */
static void hdel_stale(sch_ops *a, const char *key, const char *const *list, unsigned stored,
                       unsigned written)
{
    unsigned stale = stored & ~written;
    if (!stale)
        return;
    push(a, "x");
    push(a, key);
    size_t at = push_count(a);
    long long n = 0;
    for (int i = 0; list[i]; i++)
        if (stale & (1u << i)) {
            push(a, list[i]);
            n++;
        }
    set_count(a, at, n);
}

/* Moves of members of the due:<part> zsets, grouped on output: one ZADD or
 * ZREM per (partition, kind of move) of a commit, not one per member. An
 * invoice's timer member is tenant/id (kind 0); a purge member is
 * sch_gc_member's (kind its letter, retention.h). No member is both added
 * and removed on one key in a commit (a record moves its member from one
 * partition to another at most), so grouping keeps the outcome. Until
 * 2026-12-05 every purge member was its own ZADD: in the end-to-end
 * catch-up a third of the commit script's redis.call()s (docs/scheduler.md
 * "The commit's calls"). */
typedef struct tmove {
    int part;
    char kind;     /* 0: the invoice's timer; else a purge member's kind */
    int64_t score; /* 0 = removal */
    const sch_rec *r;
} tmove;

typedef struct tmoves {
    tmove *v;
    size_t n, cap;
} tmoves;

static int tmove_add(sch_ops *a, tmoves *t, int part, char kind, int64_t score, const sch_rec *r)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        tmove *nv = realloc(t->v, cap * sizeof *nv);
        if (!nv) {
            a->oom = 1;
            return -1;
        }
        t->v = nv;
        t->cap = cap;
    }
    t->v[t->n++] = (tmove){part, kind, score, r};
    return 0;
}

/* For each (partition, add or remove) present, in order of first
 * appearance, one variadic Z or R op; frees t's moves. */
static void tmoves_emit(sch_ops *a, const sch_ctx *c, tmoves *t)
{
    char member[CT_KEY_MAX + 8], due[200];
    tmove *mv = t->v;
    for (size_t k = 0; k < t->n && !a->oom; k++) {
        if (mv[k].part < 0)
            continue; /* done */
        int part = mv[k].part, add = mv[k].score != 0;
        sch_store_due_key(due, sizeof due, c->prefix, part);
        push(a, add ? "Z" : "R");
        push(a, due);
        size_t at = push_count(a);
        long long cnt = 0;
        for (size_t q = k; q < t->n; q++) {
            const sch_rec *r = mv[q].r;
            if (mv[q].part != part || (mv[q].score != 0) != add)
                continue;
            if (mv[q].kind)
                sch_gc_member(member, sizeof member, r->tenant, mv[q].kind, r->id);
            else
                sch_tenant_key(member, sizeof member, r->tenant, r->id);
            if (add)
                pushll(a, mv[q].score);
            push(a, member);
            cnt++;
            mv[q].part = -1;
        }
        set_count(a, at, cnt);
    }
    free(t->v);
    *t = (tmoves){0};
}

/* All invoices in one MSET, then ZREM/ZADD per partition. */
static void write_invoices(sch_ops *a, const sch_ctx *c)
{
    size_t n = sch_map_count(c->map);
    tmoves mv = {0};
    const char *fs, *fv;
    sch_policy_fallback(c->pol, &fs, &fv);
    if (c->pols) /* per tenant, reloadable: every invoice names its strategy */
        fs = fv = "";
    size_t cnt_at = 0;
    long long nset = 0;
    for (size_t i = 0; i < n && !a->oom; i++) {
        sch_rec *r = sch_map_at(c->map, i);
        if (r->type != SCH_T_INV || !r->loaded || !r->dirty)
            continue;
        sch_inv *v = &r->u.inv;
        if (r->gone) { /* purged (retention.h): after the MSET, see sch_ops_build */
        } else if (r->exists) {
            char *packed = sch_inv_encode(r, fs, fv);
            if (!packed) {
                a->oom = 1;
                break;
            }
            if (nset == 0) {
                push(a, "M");
                cnt_at = push_count(a);
            }
            push(a, r->key);
            push(a, packed);
            free(packed);
            nset++;
        }
        int64_t nx = r->exists && !r->gone && v->next_kind ? v->next_ms : 0;
        int rem = v->old_part >= 0 && v->old_next_ms && (!nx || v->old_part != v->part);
        int addz = nx && (nx != v->old_next_ms || v->old_part != v->part);
        if ((rem && tmove_add(a, &mv, v->old_part, 0, 0, r) < 0) ||
            (addz && tmove_add(a, &mv, v->part, 0, nx, r) < 0))
            break;
    }
    if (nset)
        set_count(a, cnt_at, nset);
    tmoves_emit(a, c, &mv);
}

static void write_cust(sch_ops *a, sch_rec *r)
{
    sch_cust *c = &r->u.cust;
    hw w;
    char f[SCH_ID_LEN + 8], val[64];
    hw_begin(&w, a, r->key, sch_cust_scalars, c);
    hw_i(&w, "v", r->ver + 1);
    hw_s(&w, "tz", c->tz);
    hw_s(&w, "lo", c->locale);
    hw_s(&w, "co", c->country);
    hw_s(&w, "tg", c->tags);
    hw_s(&w, "oo", c->opted_out);
    hw_s(&w, "cz", c->ceased);
    hw_s(&w, "sl", c->sendlog);
    if (c->conversation)
        hw_i(&w, "cv", c->conversation);
    if (c->wrong_number)
        hw_s(&w, "wn", "1");
    hw_s(&w, "ua", c->unusable);
    hw_s(&w, "rg", c->region);
    hw_s(&w, "xz", c->zones);
    hw_s(&w, "pc", c->prefer);
    if (c->consumer)
        hw_s(&w, "kd", "c");
    hw_s(&w, "ls", c->late_ring);
    if (c->broken)
        hw_i(&w, "bp", c->broken);
    if (c->last_paid)
        hw_i(&w, "lp", c->last_paid);
    if (c->disputes)
        hw_i(&w, "dp", c->disputes);
    if (c->first_seen)
        hw_i(&w, "fs", c->first_seen);
    hw_s(&w, "ex", c->exposure);
    if (c->credit_limit > 0) {
        char cl[40];
        snprintf(cl, sizeof cl, "%s:%lld", c->credit_currency, (long long)c->credit_limit);
        hw_s(&w, "cl", cl);
    }
    char *plan = c->plan.id[0] ? sch_cust_plan_encode(c) : NULL;
    if (c->plan.id[0] && !plan)
        a->oom = 1;
    hw_s(&w, "pn", plan);
    free(plan); /* pushed: copied into the arena */
    char *esc = c->esc.state ? sch_cust_esc_encode(c) : NULL;
    if (c->esc.state && !esc)
        a->oom = 1;
    hw_s(&w, "es", esc);
    free(esc);
    hw_s(&w, "rl", c->responses);
    hw_s(&w, "pg", c->purged);
    for (int i = 0; i < c->added.n; i++)
        hw_s(&w, c->added.v[i], "1");
    for (int i = 0; i < c->ncredit; i++) {
        if (c->credit[i].amount <= 0)
            continue;
        snprintf(f, sizeof f, "u:%s", c->credit[i].pid);
        snprintf(val, sizeof val, "%s:%lld", c->credit[i].currency, (long long)c->credit[i].amount);
        hw_s(&w, f, val);
    }
    hw_end(&w);
    hdel_stale(a, r->key, sch_cust_scalars, c->fields, w.written);
    long long ngone = c->gone.n;
    for (int i = 0; i < c->ncredit; i++)
        ngone += c->credit[i].amount <= 0;
    if (ngone) {
        push(a, "x");
        push(a, r->key);
        pushll(a, ngone);
        for (int i = 0; i < c->gone.n; i++)
            push(a, c->gone.v[i]);
        for (int i = 0; i < c->ncredit; i++) {
            if (c->credit[i].amount > 0)
                continue;
            snprintf(f, sizeof f, "u:%s", c->credit[i].pid);
            push(a, f);
        }
    }
    if (c->contact_dirty && c->contact) {
        char k[600];
        sch_store_contact_key(k, sizeof k, r);
        push(a, "s");
        push(a, k);
        push(a, c->contact);
    }
}

/* A customer loaded partially (a firing round) writes back only what a
 * round changes: its send log, under the version check. */
static void write_sendlog(sch_ops *a, sch_rec *r)
{
    hw w;
    hw_begin(&w, a, r->key, NULL, NULL);
    hw_i(&w, "v", r->ver + 1);
    hw_s(&w, "sl", r->u.cust.sendlog);
    hw_end(&w);
    if (!r->u.cust.sendlog || !r->u.cust.sendlog[0]) {
        push(a, "x");
        push(a, r->key);
        pushll(a, 1);
        push(a, "sl");
    }
}

static void write_pay(sch_ops *a, sch_rec *r)
{
    sch_pay *p = &r->u.pay;
    hw w;
    hw_begin(&w, a, r->key, NULL, NULL);
    hw_i(&w, "v", r->ver + 1);
    hw_s(&w, "c", p->customer);
    hw_s(&w, "cu", p->currency);
    hw_i(&w, "a", p->amount);
    hw_s(&w, "al", p->alloc);
    if (p->reversed)
        hw_s(&w, "r", "1");
    hw_end(&w);
}
void sch_ops_reset(sch_ops *a)
{
    a->used = a->n = 0;
    a->oom = 0;
}

void sch_ops_trim(sch_ops *a)
{
    if (a->cap > (64u << 20)) {
        sch_ops_free(a);
        memset(a, 0, sizeof *a);
    }
}

void sch_ops_push(sch_ops *a, const char *s, size_t len)
{
    push_b(a, s, len);
}

void sch_store_contact_key(char *out, size_t len, const sch_rec *cust)
{
    size_t plen = strlen(cust->key) - strlen(cust->tenant) - strlen(cust->id) - 3;
    snprintf(out, len, "%.*sk:%s/%s", (int)plen, cust->key, cust->tenant, cust->id);
}

int sch_store_round_parse(const char *id, const char *v, size_t len, int part, sch_out *o)
{
    const char *nl1 = memchr(v, '\n', len);
    const char *nl2 = nl1 ? memchr(nl1 + 1, '\n', len - (size_t)(nl1 + 1 - v)) : NULL;
    memset(o, 0, sizeof *o);
    if (!nl1 || !nl2 || nl1 != v + 1)
        return -1;
    o->part = part;
    o->topic = v[0];
    o->id = strdup(id);
    o->key = strndup(nl1 + 1, (size_t)(nl2 - nl1 - 1));
    o->payload = strndup(nl2 + 1, len - (size_t)(nl2 + 1 - v));
    if (!o->id || !o->key || !o->payload) {
        free(o->id);
        free(o->key);
        free(o->payload);
        memset(o, 0, sizeof *o);
        return -1;
    }
    return 0;
}

size_t sch_store_round_blob_len(const sch_out *o)
{
    size_t il = strlen(o->id), vl = strlen(o->key) + strlen(o->payload) + 3;
    return cm_uint_digits(il) + 1 + cm_uint_digits(vl) + 1 + il + vl;
}

char *sch_store_round_blob_put(char *at, const sch_out *o)
{
    size_t il = strlen(o->id), kl = strlen(o->key), pl = strlen(o->payload);
    at += cm_fmt_uint(at, il);
    *at++ = ' ';
    at += cm_fmt_uint(at, kl + pl + 3); /* the value: topic \n key \n payload */
    *at++ = '\n';
    memcpy(at, o->id, il);
    at += il;
    *at++ = o->topic;
    *at++ = '\n';
    memcpy(at, o->key, kl);
    at += kl;
    *at++ = '\n';
    memcpy(at, o->payload, pl);
    return at + pl;
}

/* A decimal length at *at up to the byte stop; -1 when there is none. */
static long long blob_len(const char *blob, size_t len, size_t *at, char stop)
{
    long long n = 0;
    size_t i = *at;
    for (; i < len && blob[i] >= '0' && blob[i] <= '9' && i - *at < 12; i++)
        n = n * 10 + (blob[i] - '0');
    if (i == *at || i >= len || blob[i] != stop)
        return -1;
    *at = i + 1;
    return n;
}

int sch_store_round_blob_parse(const char *blob, size_t len, int part, sch_outbox *out, size_t *cap,
                               char *errstr, size_t errlen)
{
    for (size_t at = 0; at < len;) {
        size_t rec = at;
        long long il = blob_len(blob, len, &at, ' ');
        long long vl = il < 0 ? -1 : blob_len(blob, len, &at, '\n');
        if (il <= 0 || vl < 0 || (size_t)(il + vl) > len - at) {
            snprintf(errstr, errlen, "outbox round: malformed at byte %zu", rec);
            return -1;
        }
        char *id = strndup(blob + at, (size_t)il);
        if (!id || CM_GROW(out->recs, *cap, out->nrecs + 1) < 0) {
            free(id);
            snprintf(errstr, errlen, "outbox: out of memory");
            return -1;
        }
        int rc =
            sch_store_round_parse(id, blob + at + il, (size_t)vl, part, &out->recs[out->nrecs]);
        free(id);
        if (rc < 0) {
            snprintf(errstr, errlen, "outbox round: malformed record at byte %zu", rec);
            return -1;
        }
        out->nrecs++;
        at += (size_t)(il + vl);
    }
    return 0;
}

void sch_outbox_free(sch_outbox *o)
{
    for (size_t i = 0; i < o->nrounds; i++)
        free(o->rounds[i]);
    for (size_t i = 0; i < o->nrecs; i++) {
        free(o->recs[i].id);
        free(o->recs[i].key);
        free(o->recs[i].payload);
    }
    free(o->rounds);
    free(o->recs);
    memset(o, 0, sizeof *o);
}

void sch_rounds_free(sch_rounds *r)
{
    for (size_t k = 0; r->keys && k < r->n; k++)
        free(r->keys[k]);
    free(r->keys);
    free(r->parts);
    memset(r, 0, sizeof *r);
}

int sch_rounds_of(const sch_ctx *c, sch_rounds *r)
{
    memset(r, 0, sizeof *r);
    if (c->nouts == 0)
        return 0;
    r->parts = malloc(c->nouts * sizeof *r->parts);
    r->keys = calloc(c->nouts, sizeof *r->keys);
    if (!r->parts || !r->keys)
        goto oom;
    for (size_t k = 0; k < c->nouts; k++) {
        size_t j = 0;
        while (j < r->n && r->parts[j] != c->outs[k].part)
            j++;
        if (j < r->n)
            continue;
        char rk[300];
        sch_store_round_key(rk, sizeof rk, c->prefix, c->outs[k].part, c->round);
        r->parts[r->n] = c->outs[k].part;
        if (!(r->keys[r->n] = strdup(rk)))
            goto oom;
        r->n++;
    }
    return 0;
oom:
    sch_rounds_free(r);
    return -1;
}

int sch_store_peek_debtor(const char *member, size_t mlen, const char *inv, size_t ilen, char *ck,
                          size_t cklen)
{
    const char *slash = memchr(member, '/', mlen), *sep = memchr(inv, 0x1f, ilen);
    if (!slash || !sep)
        return -1;
    const char *c0 = sep + 1, *c1 = memchr(c0, 0x1f, ilen - (size_t)(c0 - inv));
    size_t cl = c1 ? (size_t)(c1 - c0) : ilen - (size_t)(c0 - inv);
    size_t tl = (size_t)(slash - member);
    if (tl + 1 + cl >= cklen)
        return -1;
    memcpy(ck, member, tl + 1);
    memcpy(ck + tl + 1, c0, cl);
    ck[tl + 1 + cl] = 0;
    return (int)(tl + 1 + cl);
}

int sch_store_peek_inv_key(const char *prefix, const char *member, size_t mlen, char *key,
                           size_t keylen)
{
    char gt[CT_TENANT_MAX + 1], gid[SCH_ID_LEN], gk = 0;
    if (!member)
        return -1;
    int g = sch_gc_parse(member, mlen, gt, sizeof gt, &gk, gid, sizeof gid);
    if (g != 0)
        return g < 0 ? -1 : 0;
    const char *slash = memchr(member, '/', mlen);
    size_t pl = strlen(prefix);
    if (!slash || slash - member > CT_TENANT_MAX || pl + 2 + mlen >= keylen)
        return -1;
    memcpy(key, prefix, pl);
    memcpy(key + pl, "i:", 2);
    memcpy(key + pl + 2, member, mlen);
    key[pl + 2 + mlen] = 0;
    return 1;
}

int sch_store_peek_item(const char *prefix, int part, sch_map *m, const redisReply *mem,
                        const redisReply *score, const redisReply *invrep, const redisReply *cust,
                        const redisReply *contact, int *count, char *errstr, size_t errlen)
{
    const char *member = mem ? mem->str : NULL;
    char key[512];
    int g = sch_store_peek_inv_key(prefix, member, mem ? mem->len : 0, key, sizeof key);
    if (g < 0)
        return 0; /* not a key of ours */
    if (g == 0) { /* a purge member (retention.h): the record, loaded later */
        char gt[CT_TENANT_MAX + 1], gid[SCH_ID_LEN], gk = 0;
        sch_gc_parse(member, mem->len, gt, sizeof gt, &gk, gid, sizeof gid);
        sch_key(key, sizeof key, prefix, gk, gt, gid);
        sch_rec *r = sch_map_add(m, key,
                                 gk == 'i'   ? SCH_T_INV
                                 : gk == 'p' ? SCH_T_PAY
                                             : SCH_T_PEND,
                                 gt, gid);
        if (!r)
            goto oom;
        r->gc_due = 1;
        r->gcp = part + 1;
        /* its due time: a purge put off runs from it (not from the
         * round's clock, late by the round's latency) */
        r->gc_now = score && score->str ? strtoll(score->str, NULL, 10) : 0;
        (*count)++;
        return 0;
    }
    const char *slash = strchr(member, '/');
    char tenant[CT_TENANT_MAX + 1];
    memcpy(tenant, member, (size_t)(slash - member));
    tenant[slash - member] = 0;
    sch_rec *inv = sch_map_add(m, key, SCH_T_INV, tenant, slash + 1);
    if (!inv)
        goto oom;
    inv->fire_due = 1;
    if (inv->loaded)
        return 0;
    if (sch_rec_decode(inv, invrep, errstr, errlen) < 0)
        return -1;
    /* the timer as it is in the zset, so commit moves or drops it. A
     * peek reads the zset and the record in two round trips: a record
     * newer than the score (another replica's commit in between) has its
     * timer where the record says, not at the score. Where the two differ,
     * or the score was not read, the commit rewrites the timer whatever it
     * computes (-1 is no time: the ZADD is never skipped as unchanged; a
     * fired timer moves or goes anyway). A member without a record is
     * dropped (1: some time) */
    int64_t rec_next = inv->u.inv.old_next_ms;
    inv->u.inv.old_part = part;
    inv->u.inv.old_next_ms = score && score->str ? strtoll(score->str, NULL, 10) : -1;
    if (inv->u.inv.old_next_ms == 0 || (!inv->exists && inv->u.inv.old_next_ms < 0))
        inv->u.inv.old_next_ms = 1;
    if (inv->exists && rec_next != inv->u.inv.old_next_ms)
        inv->u.inv.old_next_ms = -1;
    if (!inv->exists)
        inv->u.inv.part = part;
    (*count)++;
    if (inv->exists && cust && contact) {
        sch_key(key, sizeof key, prefix, 'c', tenant, inv->u.inv.customer);
        sch_rec *cu = sch_map_add(m, key, SCH_T_CUST, tenant, inv->u.inv.customer);
        if (!cu)
            goto oom;
        if (!cu->loaded && sch_cust_decode_partial(cu, cust, contact) < 0)
            goto oom;
    }
    return 0;
oom:
    snprintf(errstr, errlen, "peek: out of memory");
    return -1;
}

int sch_store_peek_decode(const redisReply *rep, const char *prefix, int part, sch_map *m,
                          int *count, int64_t *next_due, char *errstr, size_t errlen)
{
    *count = 0;
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        snprintf(errstr, errlen, "peek: %s", rep && rep->str ? rep->str : "bad reply");
        return -1;
    }
    if (rep->elements < 2 || rep->element[0]->type != REDIS_REPLY_ARRAY ||
        rep->element[1]->type != REDIS_REPLY_ARRAY) {
        snprintf(errstr, errlen, "peek: bad reply");
        return -1;
    }
    redisReply *items = rep->element[0], *custs = rep->element[1];
    if (next_due && rep->elements > 2 && rep->element[2]->type == REDIS_REPLY_STRING) {
        int64_t nd = strtoll(rep->element[2]->str, NULL, 10);
        if (nd < *next_due)
            *next_due = nd;
    }
    for (size_t k = 0; k + 3 < items->elements; k += 4) {
        long long ci = items->element[k + 3]->integer;
        int has = ci > 0 && (size_t)(2 * ci) <= custs->elements;
        if (sch_store_peek_item(prefix, part, m, items->element[k], items->element[k + 1],
                                items->element[k + 2], has ? custs->element[2 * ci - 2] : NULL,
                                has ? custs->element[2 * ci - 1] : NULL, count, errstr, errlen) < 0)
            return -1;
    }
    return 0;
}

size_t sch_ring_keep(const char *s, size_t len, long long max)
{
    long long n = 0;
    for (size_t k = 0; k < len; k++)
        n += s[k] == ',';
    size_t from = 0;
    for (; n > max && max >= 0 && from < len; from++)
        if (s[from] == ',')
            n--;
    return from;
}

/* The purge members of the commit (retention.h): (re)scored for a closed
 * invoice or a payment written and a waiting list given its first event;
 * forgotten once due and not rescored, or when a waiting list is cleared
 * (its invoice or payment came). Grouped per partition (tmoves above). */
static void write_purge_members(sch_ops *a, const sch_ctx *c)
{
    size_t n = sch_map_count(c->map);
    tmoves mv = {0};
    char member[CT_KEY_MAX + 8];
    for (size_t i = 0; i < n && !a->oom; i++) {
        sch_rec *r = sch_map_at(c->map, i);
        char k = r->loaded && (r->dirty || r->gc_due) ? sch_gc_kind(c->prefix, r) : 0;
        if (!k || sch_gc_member(member, sizeof member, r->tenant, k, r->id) < 0)
            continue; /* none, or one that does not fit (never written) */
        int part = r->type == SCH_T_INV && r->exists ? r->u.inv.part : r->gcp - 1;
        int64_t sc = part >= 0 ? sch_gc_score(r, r->gc_now ? r->gc_now : c->now, c->retention) : 0;
        int rc = 0;
        if (sc)
            rc = tmove_add(a, &mv, part, k, sc, r);
        if (r->gc_due && r->gcp > 0 && (!sc || part != r->gcp - 1))
            rc |= tmove_add(a, &mv, r->gcp - 1, k, 0, r);
        else if (!r->gc_due && !sc && r->type == SCH_T_PEND && r->u.pend.clear && part >= 0)
            rc |= tmove_add(a, &mv, part, k, 0, r);
        if (rc < 0)
            break;
    }
    tmoves_emit(a, c, &mv);
}

int sch_ops_build(sch_ctx *c, const sch_rounds *r, sch_ops *a)
{
    sch_ops_reset(a);
    size_t n = sch_map_count(c->map);
    size_t at = push_count(a);
    long long nchk = 0;
    for (size_t i = 0; i < n; i++) { /* hash records */
        sch_rec *rec = sch_map_at(c->map, i);
        if (!rec->loaded || !rec->dirty || (rec->type != SCH_T_CUST && rec->type != SCH_T_PAY))
            continue;
        push(a, rec->key);
        pushll(a, rec->ver);
        nchk++;
    }
    set_count(a, at, nchk);
    at = push_count(a);
    nchk = 0;
    for (int fresh = 0; fresh < 2; fresh++) { /* packed invoices: read, then absent */
        for (size_t i = 0; i < n; i++) {
            sch_rec *rec = sch_map_at(c->map, i);
            if (!rec->loaded || !rec->dirty || rec->type != SCH_T_INV || (rec->ver == 0) != fresh)
                continue;
            push(a, rec->key);
            if (!fresh)
                pushll(a, rec->ver);
            nchk++;
        }
        set_count(a, at, nchk);
        if (!fresh) {
            at = push_count(a);
            nchk = 0;
        }
    }
    at = push_count(a); /* outbox rounds */
    size_t np = r ? r->n : 0;
    for (size_t k = 0; k < np; k++)
        push(a, r->keys[k]);
    set_count(a, at, (long long)np);
    write_invoices(a, c);
    for (size_t i = 0; i < n; i++) {
        sch_rec *rec = sch_map_at(c->map, i);
        if (!rec->loaded || !rec->dirty)
            continue;
        if (rec->gone) { /* purged (retention.h) */
            push(a, "d");
            push(a, rec->key);
            continue;
        }
        switch (rec->type) {
        case SCH_T_INV:
            break;
        case SCH_T_CUST:
            if (!rec->u.cust.partial)
                write_cust(a, rec);
            else if (rec->exists)
                write_sendlog(a, rec);
            break;
        case SCH_T_PAY:
            write_pay(a, rec);
            break;
        case SCH_T_PEND:
            if (rec->u.pend.clear) {
                push(a, "d");
                push(a, rec->key);
            }
            for (size_t k = 0; k < json_array_size(rec->u.pend.add); k++) {
                char *js = json_dumps(json_array_get(rec->u.pend.add, k), JSON_COMPACT);
                if (!js) {
                    a->oom = 1;
                    break;
                }
                push(a, "p");
                push(a, rec->key);
                push(a, js);
                free(js);
            }
            break;
        }
    }
    write_purge_members(a, c);
    for (size_t i = 0; i < json_array_size(c->appends); i++) {
        json_t *op = json_array_get(c->appends, i);
        int ring = json_array_size(op) > 3; /* [key, field, suffix, max] */
        push(a, ring ? "A" : "a");
        for (int k = 0; k < 3; k++)
            push(a, json_string_value(json_array_get(op, (size_t)k)));
        if (ring)
            pushll(a, json_integer_value(json_array_get(op, 3)));
    }
    for (size_t k = 0; k < np && !a->oom; k++) {
        char set[200];
        sch_store_out_key(set, sizeof set, c->prefix, r->parts[k]);
        push(a, "o");
        push(a, set);
        push(a, r->keys[k]);
    }
    return a->oom ? -1 : 0;
}
