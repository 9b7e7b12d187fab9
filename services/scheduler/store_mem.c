/* store_mem.c -- the scheduler's memory backend (store.h): the Redis
 * backend's keys and encodings, held in this process.
 *
 * Design: a keyspace of the four value types the scheduler uses -- string
 * (packed invoices, contacts), hash (customers, payments), list (pending
 * events) and sorted set (timers) -- indexed by one cm_map. The commit
 * interprets the op stream of sch_ops_build exactly as the Lua script
 * does (checks first, then writes; a mismatch writes nothing); loads and
 * peeks answer with redisReply trees shaped like Redis's replies, which
 * go through the same decoders (state.c; a peek's items through
 * sch_store_peek_item, as the Redis backend's replies do). So the
 * memory backend holds what Redis would hold, byte for byte, and a record
 * that round-trips wrongly through its encoding fails here too.
 *
 * Replies point into the stored values (no copy) and live until the next
 * call: the decoders copy what they keep.
 *
 * Sorted sets: a binary heap of (score, member) entries with lazy
 * deletion -- each member has a current (score, sequence) and a heap entry
 * is live only while its sequence is the member's. Order is Redis's:
 * score, then member bytes. A peek pops the live due entries in order and
 * pushes them back.
 *
 * Outbox rounds are kept apart from the keyspace: staged by the commit,
 * made durable by its 'o' op, listed by outbox(), dropped by forget().
 * Round tokens are a counter ("m1", "m2", ...), so a run is reproducible.
 *
 * A deleted key keeps its map slot (cm_map has no delete) with an empty
 * value; only pending lists are ever deleted, and few. */
#include "store.h"
#include "redis_slot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"
#include "vec.h"

enum { MV_NONE = 0, MV_STR, MV_HASH, MV_LIST, MV_ZSET };

/* An overlay's marks (sch_store_mem_overlay_new): a key not seen; seeded
 * from what Redis replied (value or absence known); written over a known
 * value, or set whole (its value after the commit known); written in part
 * without its value known (a blind append: not known). */
enum { OV_UNSEEN = 0, OV_SEEN, OV_WRITTEN, OV_BLIND };

typedef struct mstr {
    char *p; /* NUL-terminated, owned */
    size_t len;
} mstr;

typedef struct zent {
    int64_t score;
    uint32_t member, seq;
} zent;

typedef struct mzset {
    cm_map idx;     /* member -> slot */
    mstr *members;  /* per slot */
    int64_t *score; /* per slot */
    uint32_t *seq;  /* per slot: current sequence, odd = present */
    size_t nslots, capslots;
    zent *heap;
    size_t nheap, capheap;
} mzset;

typedef struct mval {
    int type;
    int ov;      /* an overlay's mark (OV_*), kept when the value is cleared */
    mstr s;      /* MV_STR */
    mstr *items; /* MV_HASH: field, value, field, value...; MV_LIST: items */
    size_t n, cap;
    mzset *z; /* MV_ZSET */
} mval;

typedef struct mround {
    char *key; /* P ob:<part>:<round> */
    int part, durable;
    sch_out *recs;
    size_t nrecs;
} mround;

typedef struct mstore {
    cm_map keys; /* key -> index into vals */
    mval *vals;
    size_t nvals, capvals;
    size_t bytes;
    mround *rounds;
    size_t nrounds, caprounds;
    unsigned long long round_seq;
    sch_ops ops;
    /* reply scratch, reused by every call */
    redisReply *nodes;
    size_t nnodes, capnodes;
    redisReply **elems;
    size_t nelems, capelems;
    char *num; /* decimal scores of a peek */
    size_t nnum, capnum;
    /* sch_store_mem_cluster: the slot every key of the current commit or
     * peek must share (-1 none yet, -2 not checking), the first key seen
     * and the first one of another slot */
    int cluster, slot;
    char slot_key[2][160];
    int overlay; /* sch_store_mem_overlay_new: writes mark keys (OV_*) */
    /* an overlay's strings: blocks freed with it, never one by one (it
     * lives for two batches, then goes whole) */
    struct ablock *arena;
} mstore;

typedef struct ablock {
    struct ablock *next;
    size_t used, cap;
    char data[];
} ablock;

#define ARENA_BLOCK 65536

/* n bytes for a string: malloc'd, or from an overlay's arena. */
static char *str_alloc(mstore *st, size_t n)
{
    if (!st->overlay)
        return malloc(n);
    ablock *b = st->arena;
    if (b && b->cap - b->used >= n) {
        b->used += n;
        return b->data + b->used - n;
    }
    size_t cap = n > ARENA_BLOCK / 4 ? n : ARENA_BLOCK;
    ablock *nb = malloc(sizeof *nb + cap);
    if (!nb)
        return NULL;
    nb->used = n;
    nb->cap = cap;
    if (b && cap == n) { /* a string of its own: the current block stays current */
        nb->next = b->next;
        b->next = nb;
    } else {
        nb->next = b;
        st->arena = nb;
    }
    return nb->data;
}

static void str_release(mstore *st, char *p)
{
    if (!st->overlay)
        free(p);
}

/* Notes key's Redis Cluster slot while a commit or a peek runs. */
static void touch(mstore *st, const char *key, size_t klen)
{
    if (!st->cluster || st->slot == -2)
        return;
    int sl = cm_redis_key_slot(key, klen);
    if (st->slot == -1) {
        st->slot = sl;
        snprintf(st->slot_key[0], sizeof st->slot_key[0], "%.*s", (int)klen, key);
    } else if (sl != st->slot && !st->slot_key[1][0]) {
        snprintf(st->slot_key[1], sizeof st->slot_key[1], "%.*s", (int)klen, key);
    }
}

/* Starts (on = 1) or ends (0) a unit that must touch one slot; ending
 * returns -1 with errstr when it touched two. */
static int unit(mstore *st, int on, const char *what, char *errstr, size_t errlen)
{
    if (!st->cluster)
        return 0;
    if (on) {
        st->slot = -1;
        st->slot_key[0][0] = st->slot_key[1][0] = 0;
        return 0;
    }
    st->slot = -2;
    if (!st->slot_key[1][0])
        return 0;
    snprintf(errstr, errlen, "memory %s: keys of two Redis Cluster slots in one script: %s, %s",
             what, st->slot_key[0], st->slot_key[1]);
    return -1;
}

/* ---- values ---- */

static int mstr_set(mstore *st, mstr *s, const char *p, size_t len)
{
    char *np = str_alloc(st, len + 1);
    if (!np)
        return -1;
    memcpy(np, p, len);
    np[len] = 0;
    st->bytes -= s->p ? s->len : 0;
    str_release(st, s->p);
    s->p = np;
    s->len = len;
    st->bytes += len;
    return 0;
}

static void mstr_free(mstore *st, mstr *s)
{
    if (s->p)
        st->bytes -= s->len;
    str_release(st, s->p);
    s->p = NULL;
    s->len = 0;
}

static void zset_free(mstore *st, mzset *z)
{
    if (!z)
        return;
    for (size_t i = 0; i < z->nslots; i++)
        mstr_free(st, &z->members[i]);
    cm_map_free(&z->idx);
    free(z->members);
    free(z->score);
    free(z->seq);
    free(z->heap);
    free(z);
}

static void val_clear(mstore *st, mval *v)
{
    int ov = v->ov;
    mstr_free(st, &v->s);
    for (size_t i = 0; i < v->n; i++)
        mstr_free(st, &v->items[i]);
    free(v->items);
    zset_free(st, v->z);
    memset(v, 0, sizeof *v);
    v->ov = ov;
}

/* The value of key, or NULL when absent. */
static mval *get(mstore *st, const char *key, size_t klen)
{
    uint32_t i;
    touch(st, key, klen);
    if (!cm_map_get(&st->keys, key, klen, &i))
        return NULL;
    return st->vals[i].type == MV_NONE ? NULL : &st->vals[i];
}

/* The value of key, created empty of type t when absent; NULL on out of
 * memory or when the key holds another type (Redis's WRONGTYPE). */
static mval *slot(mstore *st, const char *key, size_t klen);

static mval *put(mstore *st, const char *key, size_t klen, int t)
{
    touch(st, key, klen);
    mval *v = slot(st, key, klen);
    if (!v)
        return NULL;
    if (v->type == MV_NONE) {
        v->type = t;
        if (t == MV_ZSET && !(v->z = calloc(1, sizeof *v->z))) {
            v->type = MV_NONE;
            return NULL;
        }
    }
    return v->type == t ? v : NULL;
}

static void del(mstore *st, const char *key, size_t klen)
{
    uint32_t i;
    touch(st, key, klen);
    if (cm_map_get(&st->keys, key, klen, &i))
        val_clear(st, &st->vals[i]);
}

/* The slot of key, created empty (no type) when there is none; NULL on
 * out of memory. */
static mval *slot(mstore *st, const char *key, size_t klen)
{
    uint32_t i;
    if (!cm_map_get(&st->keys, key, klen, &i)) {
        if (CM_GROW(st->vals, st->capvals, st->nvals + 1) < 0)
            return NULL;
        i = (uint32_t)st->nvals;
        if (cm_map_put(&st->keys, key, klen, i) < 0)
            return NULL;
        memset(&st->vals[i], 0, sizeof st->vals[i]);
        st->nvals++;
        st->bytes += klen;
    }
    return &st->vals[i];
}

/* An overlay's mark for a write to key: whole (the value is set or
 * deleted entirely) or in part (known after it only if known before).
 * 0, or -1 out of memory; nothing outside an overlay. */
static int ov_mark(mstore *st, const char *key, size_t klen, int whole)
{
    if (!st->overlay)
        return 0;
    mval *v = slot(st, key, klen);
    if (!v)
        return -1;
    v->ov = whole || v->ov == OV_SEEN || v->ov == OV_WRITTEN ? OV_WRITTEN : OV_BLIND;
    return 0;
}

/* Hash field index (the field's position in items), or -1. */
static long hfind(const mval *v, const char *f, size_t flen)
{
    for (size_t i = 0; i + 1 < v->n; i += 2)
        if (v->items[i].len == flen && memcmp(v->items[i].p, f, flen) == 0)
            return (long)i;
    return -1;
}

static int hset(mstore *st, mval *v, const char *f, size_t fl, const char *x, size_t xl)
{
    long i = hfind(v, f, fl);
    if (i >= 0)
        return mstr_set(st, &v->items[i + 1], x, xl);
    if (CM_GROW(v->items, v->cap, v->n + 2) < 0)
        return -1;
    memset(&v->items[v->n], 0, 2 * sizeof *v->items);
    v->n += 2;
    return mstr_set(st, &v->items[v->n - 2], f, fl) < 0 ||
                   mstr_set(st, &v->items[v->n - 1], x, xl) < 0
               ? -1
               : 0;
}

static void hdel(mstore *st, mval *v, const char *f, size_t fl)
{
    long i = hfind(v, f, fl);
    if (i < 0)
        return;
    mstr_free(st, &v->items[i]);
    mstr_free(st, &v->items[i + 1]);
    memmove(&v->items[i], &v->items[i + 2], (v->n - (size_t)i - 2) * sizeof *v->items);
    v->n -= 2;
}

/* ---- sorted sets ---- */

static int zless(const mzset *z, const zent *a, const zent *b)
{
    if (a->score != b->score)
        return a->score < b->score;
    const mstr *x = &z->members[a->member], *y = &z->members[b->member];
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);
    return c ? c < 0 : x->len < y->len;
}

static int zpush(mzset *z, zent e)
{
    if (CM_GROW(z->heap, z->capheap, z->nheap + 1) < 0)
        return -1;
    size_t i = z->nheap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!zless(z, &e, &z->heap[p]))
            break;
        z->heap[i] = z->heap[p];
        i = p;
    }
    z->heap[i] = e;
    return 0;
}

static zent zpop(mzset *z)
{
    zent top = z->heap[0], last = z->heap[--z->nheap];
    size_t i = 0, n = z->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && zless(z, &z->heap[c + 1], &z->heap[c]))
            c++;
        if (!zless(z, &z->heap[c], &last))
            break;
        z->heap[i] = z->heap[c];
        i = c;
    }
    if (n)
        z->heap[i] = last;
    return top;
}

static int zlive(const mzset *z, const zent *e)
{
    return z->seq[e->member] == e->seq && (e->seq & 1);
}

/* Drops dead entries from the top; the top is live after (or empty). */
static void zclean(mzset *z)
{
    while (z->nheap && !zlive(z, &z->heap[0]))
        zpop(z);
}

static int zslot(mstore *st, mzset *z, const char *m, size_t ml, uint32_t *slot)
{
    if (cm_map_get(&z->idx, m, ml, slot))
        return 0;
    size_t cap = z->capslots;
    if (CM_GROW(z->members, cap, z->nslots + 1) < 0)
        return -1;
    cap = z->capslots;
    if (CM_GROW(z->score, cap, z->nslots + 1) < 0)
        return -1;
    if (CM_GROW(z->seq, z->capslots, z->nslots + 1) < 0)
        return -1;
    *slot = (uint32_t)z->nslots;
    memset(&z->members[*slot], 0, sizeof z->members[*slot]);
    if (mstr_set(st, &z->members[*slot], m, ml) < 0 || cm_map_put(&z->idx, m, ml, *slot) < 0)
        return -1;
    z->seq[*slot] = 0;
    z->nslots++;
    return 0;
}

static int zadd(mstore *st, mzset *z, int64_t score, const char *m, size_t ml)
{
    uint32_t s;
    if (zslot(st, z, m, ml, &s) < 0)
        return -1;
    if ((z->seq[s] & 1) && z->score[s] == score)
        return 0;                         /* unchanged */
    z->seq[s] += (z->seq[s] & 1) ? 2 : 1; /* a new odd (present) sequence */
    z->score[s] = score;
    return zpush(z, (zent){score, s, z->seq[s]});
}

static void zrem(mzset *z, const char *m, size_t ml)
{
    uint32_t s;
    if (cm_map_get(&z->idx, m, ml, &s) && (z->seq[s] & 1))
        z->seq[s]++; /* even: absent; its heap entries are dead */
}

/* ---- replies (scratch, valid until the next call) ---- */

static void scratch_reset(mstore *st)
{
    st->nnodes = st->nelems = st->nnum = 0;
}

/* Nodes are addressed by index while the scratch grows, and wired into
 * pointers once complete (wire). */
static long node(mstore *st, int type)
{
    if (CM_GROW(st->nodes, st->capnodes, st->nnodes + 1) < 0)
        return -1;
    redisReply *r = &st->nodes[st->nnodes];
    memset(r, 0, sizeof *r);
    r->type = type;
    return (long)st->nnodes++;
}

static long node_str(mstore *st, const char *p, size_t len)
{
    long i = node(st, p ? REDIS_REPLY_STRING : REDIS_REPLY_NIL);
    if (i >= 0 && p) {
        st->nodes[i].str = (char *)p; /* borrowed: read only */
        st->nodes[i].len = len;
    }
    return i;
}

/* Arrays keep their children as indexes in elems (as uintptr) first. */
static long node_array(mstore *st, const long *kids, size_t n)
{
    long i = node(st, REDIS_REPLY_ARRAY);
    if (i < 0 || CM_GROW(st->elems, st->capelems, st->nelems + n + 1) < 0)
        return -1;
    st->nodes[i].elements = n;
    st->nodes[i].integer = (long long)st->nelems; /* where its kids start */
    for (size_t k = 0; k < n; k++)
        st->elems[st->nelems++] = (redisReply *)(uintptr_t)kids[k];
    return i;
}

/* Resolves the indexes of every array into pointers (the arrays may have
 * moved while growing). */
static void wire(mstore *st)
{
    for (size_t i = 0; i < st->nnodes; i++) {
        redisReply *r = &st->nodes[i];
        if (r->type != REDIS_REPLY_ARRAY)
            continue;
        redisReply **kids = st->elems + r->integer;
        for (size_t k = 0; k < r->elements; k++)
            kids[k] = &st->nodes[(uintptr_t)kids[k]];
        r->element = kids;
        r->integer = 0;
    }
}

/* A string value as a reply (nil when absent). */
static long reply_get(mstore *st, const char *key)
{
    mval *v = get(st, key, strlen(key));
    return v && v->type == MV_STR ? node_str(st, v->s.p, v->s.len) : node_str(st, NULL, 0);
}

/* A hash (HGETALL) or list (LRANGE 0 -1) as an array reply. */
static long reply_items(mstore *st, const char *key, int type)
{
    mval *v = get(st, key, strlen(key));
    size_t n = v && v->type == type ? v->n : 0;
    long *kids = malloc((n + 1) * sizeof *kids), r = -1;
    if (!kids)
        return -1;
    for (size_t k = 0; k < n; k++)
        if ((kids[k] = node_str(st, v->items[k].p, v->items[k].len)) < 0)
            goto cleanup;
    r = node_array(st, kids, n);
cleanup:
    free(kids);
    return r;
}

/* ---- the backend ---- */

/* The overlay mark of key (OV_UNSEEN when it has no slot). */
static int ov_of(mstore *st, const char *key)
{
    uint32_t i;
    return cm_map_get(&st->keys, key, strlen(key), &i) ? st->vals[i].ov : OV_UNSEEN;
}

/* Whether an overlay answers for rec (ck: its contact key, a customer's):
 * 1 it does (a key of it written, every key of it known), 0 it does not
 * (nothing of it written: Redis answers), -1 a key of it written and not
 * known (the commit must run before rec is read). */
static int ov_serves(mstore *st, const sch_rec *rec, const char *ck)
{
    int a = ov_of(st, rec->key), b = rec->type == SCH_T_CUST ? ov_of(st, ck) : a;
    if (a == OV_BLIND || b == OV_BLIND)
        return -1;
    if (a != OV_WRITTEN && b != OV_WRITTEN)
        return 0;
    return a == OV_UNSEEN || b == OV_UNSEEN ? -1 : 1;
}

/* Seeds key (of kind MV_STR, MV_HASH or MV_LIST) with what Redis replied
 * for it: a string or nil; an array of fields and values, or of items
 * (empty: absent). A key seeded already keeps what it holds; a reply of
 * another shape leaves the key unknown (OV_BLIND: never served). */
static int seed(mstore *st, const char *key, int kind, const redisReply *rep)
{
    mval *v = slot(st, key, strlen(key));
    if (!v)
        return -1;
    if (v->ov != OV_UNSEEN)
        return 0;
    v->ov = OV_SEEN;
    if (!rep || rep->type == REDIS_REPLY_NIL)
        return 0;
    if (kind == MV_STR) {
        if (rep->type != REDIS_REPLY_STRING) {
            v->ov = OV_BLIND;
            return 0;
        }
        v->type = MV_STR;
        return mstr_set(st, &v->s, rep->str, rep->len);
    }
    if (rep->type != REDIS_REPLY_ARRAY) {
        v->ov = OV_BLIND;
        return 0;
    }
    if (rep->elements == 0)
        return 0;
    if (CM_GROW(v->items, v->cap, rep->elements) < 0)
        return -1;
    v->type = kind;
    for (size_t k = 0; k < rep->elements; k++) {
        const redisReply *x = rep->element[k];
        if (x->type != REDIS_REPLY_STRING) {
            val_clear(st, v);
            v->ov = OV_BLIND;
            return 0;
        }
        memset(&v->items[v->n], 0, sizeof v->items[v->n]);
        if (mstr_set(st, &v->items[v->n], x->str, x->len) < 0)
            return -1;
        v->n++;
    }
    return 0;
}

int sch_store_mem_seed(sch_store *s, const sch_rec *rec, const redisReply *rep,
                       const redisReply *contact)
{
    mstore *st = s->be;
    int kind = rec->type == SCH_T_INV ? MV_STR : rec->type == SCH_T_PEND ? MV_LIST : MV_HASH;
    if (seed(st, rec->key, kind, rep) < 0)
        return -1;
    if (rec->type != SCH_T_CUST)
        return 0;
    char ck[600];
    sch_store_contact_key(ck, sizeof ck, rec);
    return seed(st, ck, MV_STR, contact);
}

/* Loads the records of m not loaded yet (from_overlay: only those the
 * overlay answers for, 1 when one cannot be answered yet), seeding the
 * overlay into (when not NULL) with every reply decoded. */
static int load_into(mstore *st, sch_map *m, int from_overlay, sch_store *into, char *errstr,
                     size_t errlen)
{
    size_t n = sch_map_count(m);
    char ck[600];
    for (size_t i = 0; i < n; i++) {
        sch_rec *rec = sch_map_at(m, i);
        if (rec->loaded)
            continue;
        if (rec->type == SCH_T_CUST)
            sch_store_contact_key(ck, sizeof ck, rec);
        if (from_overlay) {
            int sv = ov_serves(st, rec, ck);
            if (sv < 0)
                return 1;
            if (sv == 0)
                continue;
        }
        scratch_reset(st);
        long r = rec->type == SCH_T_INV    ? reply_get(st, rec->key)
                 : rec->type == SCH_T_PEND ? reply_items(st, rec->key, MV_LIST)
                                           : reply_items(st, rec->key, MV_HASH);
        long c = -1;
        if (r >= 0 && rec->type == SCH_T_CUST) {
            c = reply_get(st, ck);
            if (c < 0)
                r = -1;
        }
        if (r < 0) {
            snprintf(errstr, errlen, "memory load: out of memory");
            return -1;
        }
        wire(st);
        if (sch_rec_decode(rec, &st->nodes[r], errstr, errlen) < 0)
            return -1;
        if ((rec->type == SCH_T_CUST && sch_cust_decode_contact(rec, &st->nodes[c]) < 0) ||
            (into && sch_store_mem_seed(into, rec, &st->nodes[r],
                                        rec->type == SCH_T_CUST ? &st->nodes[c] : NULL) < 0)) {
            snprintf(errstr, errlen, "memory load: out of memory");
            return -1;
        }
    }
    return 0;
}

static int mem_load(void *be, sch_map *m, char *errstr, size_t errlen)
{
    return load_into(be, m, 0, NULL, errstr, errlen);
}

/* The memory store has no commit_send, so no commit to send behind. */
static int mem_load_seed(void *be, sch_map *m, sch_store *ov, sch_ctx *after, int *sent,
                         char *errstr, size_t errlen)
{
    (void)sent;
    if (after) {
        snprintf(errstr, errlen, "memory load: no commit to send behind the reads");
        return -1;
    }
    return load_into(be, m, 0, ov, errstr, errlen);
}

int sch_store_mem_overlay_load(sch_store *s, sch_map *m, sch_store *into, char *errstr,
                               size_t errlen)
{
    return load_into(s->be, m, 1, into, errstr, errlen);
}

/* The leading decimal number of s (0 when none), as the script reads a
 * packed record's version. */
static long long lead_num(const char *s, size_t len)
{
    long long v = 0;
    size_t i = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        v = v * 10 + (s[i++] - '0');
    return i ? v : 0;
}

static long long arg_ll(const sch_ops *a, size_t i)
{
    return lead_num(a->buf + a->off[i], a->len[i]);
}
#define ARG(i)  (a->buf + a->off[i])
#define ALEN(i) (a->len[i])

static mround *round_find(mstore *st, const char *key, size_t len)
{
    for (size_t i = 0; i < st->nrounds; i++)
        if (strlen(st->rounds[i].key) == len && memcmp(st->rounds[i].key, key, len) == 0)
            return &st->rounds[i];
    return NULL;
}

static void round_drop(mstore *st, size_t i)
{
    mround *r = &st->rounds[i];
    free(r->key);
    for (size_t k = 0; k < r->nrecs; k++) {
        free(r->recs[k].id);
        free(r->recs[k].key);
        free(r->recs[k].payload);
    }
    free(r->recs);
    memmove(r, r + 1, (st->nrounds - i - 1) * sizeof *r);
    st->nrounds--;
}

/* Stages each partition's outs as a non-durable round (the Redis
 * backend's SET ... PX). */
static int stage(mstore *st, sch_ctx *c, const sch_rounds *rs)
{
    for (size_t k = 0; k < rs->n; k++) {
        if (CM_GROW(st->rounds, st->caprounds, st->nrounds + 1) < 0)
            return -1;
        mround *r = &st->rounds[st->nrounds];
        memset(r, 0, sizeof *r);
        r->key = strdup(rs->keys[k]);
        r->part = rs->parts[k];
        if (!r->key)
            return -1;
        st->nrounds++;
        size_t cap = 0;
        for (size_t i = 0; i < c->nouts; i++) {
            sch_out *o = &c->outs[i];
            if (o->part != r->part)
                continue;
            if (CM_GROW(r->recs, cap, r->nrecs + 1) < 0)
                return -1;
            sch_out *d = &r->recs[r->nrecs];
            *d = (sch_out){o->part, o->topic, strdup(o->id), strdup(o->key), strdup(o->payload)};
            r->nrecs++;
            if (!d->id || !d->key || !d->payload)
                return -1;
        }
    }
    return 0;
}

/* Drops the staged rounds that no commit made durable. */
static void unstage(mstore *st)
{
    for (size_t i = st->nrounds; i-- > 0;)
        if (!st->rounds[i].durable)
            round_drop(st, i);
}

/* Runs the checks of the op stream; 1 all pass, 0 a mismatch (errstr
 * names the record). *at is set to the first write. */
static int checks(mstore *st, const sch_ops *a, size_t *at, char *errstr, size_t errlen)
{
    size_t i = 0;
    long long nh = arg_ll(a, i++);
    for (long long k = 0; k < nh; k++, i += 2) {
        mval *v = get(st, ARG(i), ALEN(i));
        long f = v && v->type == MV_HASH ? hfind(v, "v", 1) : -1;
        long long have = f >= 0 ? lead_num(v->items[f + 1].p, v->items[f + 1].len) : 0;
        if (have != arg_ll(a, i + 1)) {
            snprintf(errstr, errlen, "commit: version conflict on %s", ARG(i));
            return 0;
        }
    }
    long long ns = arg_ll(a, i++);
    for (long long k = 0; k < ns; k++, i += 2) {
        mval *v = get(st, ARG(i), ALEN(i));
        long long have = v && v->type == MV_STR ? lead_num(v->s.p, v->s.len) : 0;
        if (have != arg_ll(a, i + 1)) {
            snprintf(errstr, errlen, "commit: version conflict on %s", ARG(i));
            return 0;
        }
    }
    long long nz = arg_ll(a, i++);
    for (long long k = 0; k < nz; k++, i++)
        if (get(st, ARG(i), ALEN(i))) {
            snprintf(errstr, errlen, "commit: version conflict on %s", ARG(i));
            return 0;
        }
    long long no = arg_ll(a, i++);
    for (long long k = 0; k < no; k++, i++)
        if (!round_find(st, ARG(i), ALEN(i))) {
            snprintf(errstr, errlen, "commit: version conflict on an outbox round (expired)");
            return 0;
        }
    *at = i;
    return 1;
}

/* Applies the writes from *at on. -1 on out of memory or a bad op. */
static int writes(mstore *st, const sch_ops *a, size_t i, char *errstr, size_t errlen)
{
    while (i < a->n) {
        const char *op = ARG(i);
        mval *v;
        long long m;
        switch (op[0]) {
        case 'M':
            m = arg_ll(a, i + 1);
            i += 2;
            for (long long k = 0; k < m; k++, i += 2)
                if (ov_mark(st, ARG(i), ALEN(i), 1) < 0 ||
                    !(v = put(st, ARG(i), ALEN(i), MV_STR)) ||
                    mstr_set(st, &v->s, ARG(i + 1), ALEN(i + 1)) < 0)
                    goto oom;
            break;
        case 's':
            if (ov_mark(st, ARG(i + 1), ALEN(i + 1), 1) < 0 ||
                !(v = put(st, ARG(i + 1), ALEN(i + 1), MV_STR)) ||
                mstr_set(st, &v->s, ARG(i + 2), ALEN(i + 2)) < 0)
                goto oom;
            i += 3;
            break;
        case 'h':
            m = arg_ll(a, i + 2);
            if (ov_mark(st, ARG(i + 1), ALEN(i + 1), 0) < 0 ||
                !(v = put(st, ARG(i + 1), ALEN(i + 1), MV_HASH)))
                goto oom;
            i += 3;
            for (long long k = 0; k < m; k++, i += 2)
                if (hset(st, v, ARG(i), ALEN(i), ARG(i + 1), ALEN(i + 1)) < 0)
                    goto oom;
            break;
        case 'x':
            m = arg_ll(a, i + 2);
            if (ov_mark(st, ARG(i + 1), ALEN(i + 1), 0) < 0)
                goto oom;
            v = get(st, ARG(i + 1), ALEN(i + 1));
            i += 3;
            for (long long k = 0; k < m; k++, i++)
                if (v && v->type == MV_HASH)
                    hdel(st, v, ARG(i), ALEN(i));
            if (v && v->type == MV_HASH && v->n == 0)
                val_clear(st, v); /* Redis drops an empty hash */
            break;
        case 'a':
        case 'A': {
            if (ov_mark(st, ARG(i + 1), ALEN(i + 1), 0) < 0 ||
                !(v = put(st, ARG(i + 1), ALEN(i + 1), MV_HASH)))
                goto oom;
            long f = hfind(v, ARG(i + 2), ALEN(i + 2));
            size_t ol = f >= 0 ? v->items[f + 1].len : 0, sl = ALEN(i + 3);
            char *joined = malloc(ol + sl + 1);
            if (!joined)
                goto oom;
            if (ol)
                memcpy(joined, v->items[f + 1].p, ol);
            memcpy(joined + ol, ARG(i + 3), sl);
            joined[ol + sl] = 0;
            size_t from = 0, len = ol + sl;
            if (op[0] == 'A') /* keep the last max entries of "e,e,...," */
                from = sch_ring_keep(joined, len, arg_ll(a, i + 4));
            int rc = hset(st, v, ARG(i + 2), ALEN(i + 2), joined + from, len - from);
            free(joined);
            if (rc < 0)
                goto oom;
            i += op[0] == 'A' ? 5 : 4;
            break;
        }
        case 'Z':
            m = arg_ll(a, i + 2);
            if (st->overlay) { /* timers: never loaded */
                i += 3 + 2 * (size_t)m;
                break;
            }
            if (!(v = put(st, ARG(i + 1), ALEN(i + 1), MV_ZSET)))
                goto oom;
            i += 3;
            for (long long k = 0; k < m; k++, i += 2) {
                long long sc = strtoll(ARG(i), NULL, 10);
                if (zadd(st, v->z, sc, ARG(i + 1), ALEN(i + 1)) < 0)
                    goto oom;
            }
            break;
        case 'R':
            m = arg_ll(a, i + 2);
            if (st->overlay) {
                i += 3 + (size_t)m;
                break;
            }
            v = get(st, ARG(i + 1), ALEN(i + 1));
            i += 3;
            for (long long k = 0; k < m; k++, i++)
                if (v && v->type == MV_ZSET)
                    zrem(v->z, ARG(i), ALEN(i));
            break;
        case 'd':
            if (ov_mark(st, ARG(i + 1), ALEN(i + 1), 1) < 0)
                goto oom;
            del(st, ARG(i + 1), ALEN(i + 1));
            i += 2;
            break;
        case 'p':
            if (ov_mark(st, ARG(i + 1), ALEN(i + 1), 0) < 0 ||
                !(v = put(st, ARG(i + 1), ALEN(i + 1), MV_LIST)) ||
                CM_GROW(v->items, v->cap, v->n + 1) < 0)
                goto oom;
            memset(&v->items[v->n], 0, sizeof v->items[v->n]);
            if (mstr_set(st, &v->items[v->n], ARG(i + 2), ALEN(i + 2)) < 0)
                goto oom;
            v->n++;
            i += 3;
            break;
        case 'o': {
            mround *r = round_find(st, ARG(i + 2), ALEN(i + 2));
            if (r)
                r->durable = 1;
            i += 3;
            break;
        }
        default:
            snprintf(errstr, errlen, "memory commit: bad op at %zu", i);
            return -1;
        }
    }
    return 0;
oom:
    snprintf(errstr, errlen, "memory commit: out of memory (or a key of another type)");
    return -1;
}

static int mem_commit(void *be, sch_ctx *c, char *errstr, size_t errlen)
{
    mstore *st = be;
    int rc = -1;
    sch_rounds r = {0};
    size_t at = 0;
    unit(st, 1, NULL, NULL, 0);
    if (c->nouts) {
        snprintf(c->round, sizeof c->round, "m%llu", ++st->round_seq);
        if (sch_rounds_of(c, &r) < 0 || stage(st, c, &r) < 0)
            goto oom;
    }
    if (sch_ops_build(c, &r, &st->ops) < 0)
        goto oom;
    if (!checks(st, &st->ops, &at, errstr, errlen)) {
        rc = 1;
        goto cleanup;
    }
    rc = writes(st, &st->ops, at, errstr, errlen);
    goto cleanup;
oom:
    snprintf(errstr, errlen, "memory commit: out of memory");
cleanup:
    if (unit(st, 0, "commit", errstr, errlen) < 0)
        rc = -1;
    unstage(st); /* what the commit did not make durable would expire */
    sch_rounds_free(&r);
    sch_ops_trim(&st->ops);
    return rc;
}

/* Room for decimal numbers of a peek reply, addressed by offset. */
static long num(mstore *st, long long v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%lld", v);
    if (CM_GROW(st->num, st->capnum, st->nnum + (size_t)n + 1) < 0)
        return -1;
    memcpy(st->num + st->nnum, b, (size_t)n + 1);
    long at = (long)st->nnum;
    st->nnum += (size_t)n + 1;
    return at;
}

/* A peek's reply for one partition (store.h sch_store_peek_decode): due
 * members in order (at most limit), each with its packed invoice and the
 * index of its debtor's HMGET + contact; then the first later due time. */
static int peek_one(mstore *st, const char *prefix, int part, int64_t now, int limit, long *out)
{
    char key[700];
    zent *got = NULL;
    size_t ngot = 0, cap = 0;
    long *items = NULL, *custs = NULL, *numat = NULL;
    size_t nitems = 0, ncusts = 0;
    cm_map seen = {0};
    int rc = -1;
    sch_store_due_key(key, sizeof key, prefix, part);
    mval *zv = get(st, key, strlen(key));
    mzset *z = zv && zv->type == MV_ZSET ? zv->z : NULL;
    long long next = -1;
    if (z) {
        for (;;) {
            zclean(z);
            if (!z->nheap || z->heap[0].score > now || (int)ngot >= limit)
                break;
            if (CM_GROW(got, cap, ngot + 1) < 0)
                goto cleanup;
            got[ngot++] = zpop(z);
        }
        if (z->nheap && z->heap[0].score > now)
            next = z->heap[0].score;
        for (size_t k = 0; k < ngot; k++) /* a peek changes nothing */
            if (zpush(z, got[k]) < 0)
                goto cleanup;
    }
    items = calloc(4 * ngot + 1, sizeof *items);
    custs = calloc(2 * ngot + 1, sizeof *custs);
    numat = malloc((ngot + 1) * sizeof *numat);
    if (!items || !custs || !numat)
        goto cleanup;
    for (size_t k = 0; k < ngot; k++) { /* scores first: num may move */
        if ((numat[k] = num(st, got[k].score)) < 0)
            goto cleanup;
    }
    long nextat = next >= 0 ? num(st, next) : -1;
    if (next >= 0 && nextat < 0)
        goto cleanup;
    for (size_t k = 0; k < ngot; k++) {
        const mstr *m = &z->members[got[k].member];
        size_t pl = strlen(prefix);
        if (pl + 2 + m->len >= sizeof key)
            goto cleanup;
        memcpy(key, prefix, pl);
        memcpy(key + pl, "i:", 2);
        memcpy(key + pl + 2, m->p, m->len + 1);
        mval *inv = get(st, key, strlen(key));
        long ci = 0;
        long ms = node_str(st, m->p, m->len), sc = node(st, REDIS_REPLY_STRING);
        if (ms < 0 || sc < 0)
            goto cleanup;
        st->nodes[sc].integer = numat[k]; /* resolved to a pointer below */
        st->nodes[sc].len = strlen(st->num + numat[k]);
        long iv = inv && inv->type == MV_STR ? node_str(st, inv->s.p, inv->s.len)
                                             : node(st, REDIS_REPLY_NIL);
        if (iv < 0)
            goto cleanup;
        if (inv && inv->type == MV_STR) {
            /* the customer: the packed record's second field */
            char ck[600];
            int ckl = sch_store_peek_debtor(m->p, m->len, inv->s.p, inv->s.len, ck, sizeof ck);
            if (ckl >= 0) {
                if (pl + 2 + (size_t)ckl < sizeof key) {
                    uint32_t have;
                    if (cm_map_get(&seen, ck, (size_t)ckl, &have)) {
                        ci = (long)have;
                    } else {
                        snprintf(key, sizeof key, "%sc:%s", prefix, ck);
                        mval *cv = get(st, key, strlen(key));
                        /* HGETALL, as the Redis backend reads it */
                        size_t nh = cv && cv->type == MV_HASH ? cv->n : 0;
                        long *hm = malloc((nh + 1) * sizeof *hm);
                        if (!hm)
                            goto cleanup;
                        for (size_t f = 0; f < nh; f++)
                            if ((hm[f] = node_str(st, cv->items[f].p, cv->items[f].len)) < 0) {
                                free(hm);
                                goto cleanup;
                            }
                        snprintf(key, sizeof key, "%sk:%s", prefix, ck);
                        long arr = node_array(st, hm, nh), ct = reply_get(st, key);
                        free(hm);
                        if (arr < 0 || ct < 0)
                            goto cleanup;
                        custs[ncusts++] = arr;
                        custs[ncusts++] = ct;
                        ci = (long)(ncusts / 2);
                        if (cm_map_put(&seen, ck, (size_t)ckl, (uint32_t)ci) < 0)
                            goto cleanup;
                    }
                }
            }
        }
        long cin = node(st, REDIS_REPLY_INTEGER);
        if (cin < 0)
            goto cleanup;
        st->nodes[cin].integer = ci;
        items[nitems++] = ms;
        items[nitems++] = sc;
        items[nitems++] = iv;
        items[nitems++] = cin;
    }
    long top[3];
    top[0] = node_array(st, items, nitems);
    top[1] = node_array(st, custs, ncusts);
    top[2] = nextat >= 0 ? node(st, REDIS_REPLY_STRING) : node(st, REDIS_REPLY_NIL);
    if (top[0] < 0 || top[1] < 0 || top[2] < 0)
        goto cleanup;
    if (nextat >= 0) {
        st->nodes[top[2]].integer = nextat;
        st->nodes[top[2]].len = strlen(st->num + nextat);
    }
    *out = node_array(st, top, 3);
    rc = *out < 0 ? -1 : 0;
cleanup:
    cm_map_free(&seen);
    free(got);
    free(items);
    free(custs);
    free(numat);
    return rc;
}

static int mem_peek(void *be, const char *prefix, const int *parts, int nparts, int64_t now,
                    int limit, sch_map *m, int *counts, int64_t *next_due, char *errstr,
                    size_t errlen)
{
    mstore *st = be;
    for (int i = 0; i < nparts; i++) {
        long r;
        if (limit <= 0) { /* only the next due time: no reply to build */
            char key[200];
            sch_store_due_key(key, sizeof key, prefix, parts[i]);
            mval *zv = get(st, key, strlen(key));
            counts[i] = 0;
            if (zv && zv->type == MV_ZSET) {
                zclean(zv->z);
                if (next_due && zv->z->nheap && zv->z->heap[0].score > now &&
                    zv->z->heap[0].score < *next_due)
                    *next_due = zv->z->heap[0].score;
            }
            continue;
        }
        scratch_reset(st);
        unit(st, 1, NULL, NULL, 0);
        int pr = peek_one(st, prefix, parts[i], now, limit, &r);
        if (unit(st, 0, "peek", errstr, errlen) < 0)
            return -1;
        if (pr < 0) {
            snprintf(errstr, errlen, "memory peek: out of memory");
            return -1;
        }
        wire(st);
        /* score strings point into num, which no longer moves */
        for (size_t k = 0; k < st->nnodes; k++) {
            redisReply *x = &st->nodes[k];
            if (x->type == REDIS_REPLY_STRING && !x->str) {
                x->str = st->num + x->integer;
                x->integer = 0;
            }
        }
        if (sch_store_peek_decode(&st->nodes[r], prefix, parts[i], m, &counts[i], next_due, errstr,
                                  errlen) < 0)
            return -1;
    }
    return 0;
}

static int mem_due_any(void *be, const char *prefix, const int *parts, int nparts, int64_t now,
                       int *any, char *errstr, size_t errlen)
{
    mstore *st = be;
    char key[200];
    (void)errstr, (void)errlen;
    *any = 0;
    for (int i = 0; i < nparts; i++) {
        sch_store_due_key(key, sizeof key, prefix, parts[i]);
        mval *zv = get(st, key, strlen(key));
        if (zv && zv->type == MV_ZSET) {
            zclean(zv->z);
            *any |= zv->z->nheap && zv->z->heap[0].score <= now;
        }
    }
    return 0;
}

static int mem_outbox(void *be, const char *prefix, int part, sch_outbox *out, char *errstr,
                      size_t errlen)
{
    mstore *st = be;
    size_t capr = 0, capo = 0;
    (void)prefix;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < st->nrounds; i++) {
        mround *r = &st->rounds[i];
        if (r->part != part || !r->durable)
            continue;
        if (CM_GROW(out->rounds, capr, out->nrounds + 1) < 0 ||
            !(out->rounds[out->nrounds] = strdup(r->key)))
            goto oom;
        out->nrounds++;
        for (size_t k = 0; k < r->nrecs; k++) {
            sch_out *o = &r->recs[k];
            if (CM_GROW(out->recs, capo, out->nrecs + 1) < 0)
                goto oom;
            out->recs[out->nrecs] =
                (sch_out){o->part, o->topic, strdup(o->id), strdup(o->key), strdup(o->payload)};
            sch_out *d = &out->recs[out->nrecs++];
            if (!d->id || !d->key || !d->payload)
                goto oom;
        }
    }
    return 0;
oom:
    sch_outbox_free(out);
    snprintf(errstr, errlen, "memory outbox: out of memory");
    return -1;
}

static int mem_forget(void *be, const char *prefix, int part, char *const *rounds, size_t n,
                      char *errstr, size_t errlen)
{
    mstore *st = be;
    (void)prefix, (void)part, (void)errstr, (void)errlen;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < st->nrounds; i++)
            if (strcmp(st->rounds[i].key, rounds[k]) == 0) {
                round_drop(st, i);
                break;
            }
    return 0;
}

int sch_store_mem_overlay_write(sch_store *s, const struct sch_ops *a, char *errstr, size_t errlen)
{
    mstore *st = s->be;
    if (a->oom || a->n < 4) {
        snprintf(errstr, errlen, "overlay: out of memory");
        return -1;
    }
    size_t i = 0; /* past the checks: they held when the batch read */
    i += 1 + 2 * (size_t)arg_ll(a, i);
    i += 1 + 2 * (size_t)arg_ll(a, i);
    i += 1 + (size_t)arg_ll(a, i);
    i += 1 + (size_t)arg_ll(a, i);
    return writes(st, a, i, errstr, errlen);
}

int sch_store_mem_overlay_new(sch_store *s)
{
    if (sch_store_mem_new(s) < 0)
        return -1;
    ((mstore *)s->be)->overlay = 1;
    return 0;
}

int sch_store_mem_new(sch_store *s)
{
    mstore *st = calloc(1, sizeof *st);
    if (!st)
        return -1;
    st->slot = -2;
    *s = (sch_store){.load = mem_load,
                     .load_seed = mem_load_seed,
                     .commit = mem_commit,
                     .peek = mem_peek,
                     .due_any = mem_due_any,
                     .outbox = mem_outbox,
                     .forget = mem_forget,
                     .be = st};
    return 0;
}

void sch_store_mem_free(sch_store *s)
{
    mstore *st = s ? s->be : NULL;
    if (!st)
        return;
    for (size_t i = 0; i < st->nvals; i++)
        val_clear(st, &st->vals[i]);
    while (st->nrounds)
        round_drop(st, st->nrounds - 1);
    cm_map_free(&st->keys);
    for (ablock *b = st->arena, *next; b; b = next) { /* after the values in it */
        next = b->next;
        free(b);
    }
    free(st->vals);
    free(st->rounds);
    sch_ops_free(&st->ops);
    free(st->nodes);
    free(st->elems);
    free(st->num);
    free(st);
    s->be = NULL;
}

void sch_store_mem_cluster(sch_store *s)
{
    ((mstore *)s->be)->cluster = 1;
}

void sch_store_mem_stats(const sch_store *s, size_t *keys, size_t *bytes)
{
    const mstore *st = s->be;
    *keys = 0;
    for (size_t i = 0; i < st->nvals; i++)
        *keys += st->vals[i].type != MV_NONE;
    *bytes = st->bytes;
}
