/* state.c -- records of a batch, the batch map, and decoding from Redis.
 *
 * The map is an open-addressing table of record pointers plus an array in
 * insertion order (commits write records in the order they were touched). */
#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>

#include "map.h"
#include "policy.h"
#include "str.h"

/* Appends without looking for duplicates (fields of one hash are unique). */
static int strlist_push(sch_strlist *l, const char *s)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 8;
        char **nv = realloc(l->v, (size_t)cap * sizeof *nv);
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n] = strdup(s);
    if (!l->v[l->n])
        return -1;
    l->n++;
    return 0;
}

int sch_strlist_add(sch_strlist *l, const char *s)
{
    if (sch_strlist_has(l, s))
        return 0;
    return strlist_push(l, s);
}

int sch_strlist_has(const sch_strlist *l, const char *s)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return 1;
    return 0;
}

int sch_strlist_del(sch_strlist *l, const char *s)
{
    for (int i = 0; i < l->n; i++) {
        if (strcmp(l->v[i], s) == 0) {
            free(l->v[i]);
            memmove(&l->v[i], &l->v[i + 1], (size_t)(l->n - i - 1) * sizeof *l->v);
            l->n--;
            return 1;
        }
    }
    return 0;
}

void sch_strlist_free(sch_strlist *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

int sch_str_append(char **dst, const char *s)
{
    size_t a = *dst ? strlen(*dst) : 0, b = strlen(s);
    char *n = realloc(*dst, a + b + 1);
    if (!n)
        return -1;
    memcpy(n + a, s, b + 1);
    *dst = n;
    return 0;
}

int sch_str_set(char **dst, const char *s)
{
    if (*dst && s && strcmp(*dst, s) == 0)
        return 0;
    char *n = s ? strdup(s) : NULL;
    if (s && !n)
        return -1;
    free(*dst);
    *dst = n;
    return 0;
}

int sch_csv_has(const char *csv, const char *item)
{
    if (!csv || !item)
        return 0;
    size_t n = strlen(item);
    for (const char *p = strstr(csv, item); p; p = strstr(p + 1, item))
        if (p > csv && p[-1] == ',' && p[n] == ',')
            return 1;
    return 0;
}

void sch_cust_history_n(const sch_cust *c, int n, int *paid, int *late, long long *sum_late)
{
    int d[SCH_HISTORY_N], k = 0;
    for (const char *p = c->late_ring; p && *p && k < SCH_HISTORY_N;) {
        char *end;
        long x = strtol(p, &end, 10);
        if (end == p)
            break;
        d[k++] = (int)x;
        p = *end == ',' ? end + 1 : end;
    }
    int from = n > 0 && n < k ? k - n : 0; /* the newest n */
    *paid = k - from;
    *late = 0;
    *sum_late = 0;
    for (int i = from; i < k; i++)
        if (d[i] > 0)
            (*late)++, *sum_late += d[i];
}

void sch_cust_history(const sch_cust *c, double *late_share, double *avg_days_late)
{
    int paid, late;
    long long sum;
    sch_cust_history_n(c, 10, &paid, &late, &sum);
    *late_share = paid ? (double)late / paid : 0.0;
    *avg_days_late = late ? (double)sum / late : 0.0;
}

int sch_cust_history_add(sch_cust *c, int days_late)
{
    char buf[16 * SCH_HISTORY_N + 16];
    const char *p = c->late_ring ? c->late_ring : "";
    int n = 0;
    for (const char *q = p; *q; q++)
        n += *q == ',';
    if (*p)
        n++;
    while (n >= SCH_HISTORY_N && *p) { /* drop the oldest */
        const char *comma = strchr(p, ',');
        p = comma ? comma + 1 : "";
        n--;
    }
    snprintf(buf, sizeof buf, "%s%s%d", p, *p ? "," : "", days_late < 0 ? 0 : days_late);
    return sch_str_set(&c->late_ring, buf);
}

int64_t sch_cust_exposure(const sch_cust *c, const char *currency)
{
    size_t n = strlen(currency);
    for (const char *p = c->exposure; p && *p;) {
        const char *colon = strchr(p, ':'), *semi = strchr(p, ';');
        if (!colon || !semi)
            break;
        if ((size_t)(colon - p) == n && memcmp(p, currency, n) == 0)
            return strtoll(colon + 1, NULL, 10);
        p = semi + 1;
    }
    return 0;
}

int sch_cust_exposure_add(sch_cust *c, const char *currency, int64_t delta)
{
    char buf[512], item[48];
    size_t used = 0, n = strlen(currency);
    int64_t have = delta;
    buf[0] = 0;
    for (const char *p = c->exposure; p && *p;) { /* the others, in order */
        const char *colon = strchr(p, ':'), *semi = strchr(p, ';');
        if (!colon || !semi)
            break;
        if ((size_t)(colon - p) == n && memcmp(p, currency, n) == 0)
            have += strtoll(colon + 1, NULL, 10);
        else if (used + (size_t)(semi - p) + 2 < sizeof buf) {
            memcpy(buf + used, p, (size_t)(semi - p) + 1);
            used += (size_t)(semi - p) + 1;
            buf[used] = 0;
        }
        p = semi + 1;
    }
    if (have > 0) {
        snprintf(item, sizeof item, "%s:%lld;", currency, (long long)have);
        if (used + strlen(item) < sizeof buf)
            memcpy(buf + used, item, strlen(item) + 1);
    }
    return sch_str_set(&c->exposure, buf[0] ? buf : NULL);
}

int64_t sch_inv_outstanding(const sch_inv *v)
{
    int64_t o = v->amount - v->credited + v->fees - v->paid;
    return o > 0 ? o : 0;
}

int64_t sch_inv_principal(const sch_inv *v)
{
    int64_t o = v->amount - v->credited - v->paid;
    return o > 0 ? o : 0;
}

int64_t sch_inv_fees_owed(const sch_inv *v)
{
    int64_t to_principal = v->amount - v->credited;
    int64_t fees_paid = v->paid - (to_principal > 0 ? to_principal : 0);
    int64_t o = v->fees - (fees_paid > 0 ? fees_paid : 0);
    return o > 0 ? o : 0;
}

char *sch_fmt_ll(char *end, long long v)
{
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    char *p = end;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return p;
}

/* Appends s at *p, never past end (the last byte, kept for the NUL). */
static void kput(char **p, char *end, const char *s, size_t n)
{
    size_t room = (size_t)(end - *p);
    if (n > room)
        n = room;
    memcpy(*p, s, n);
    *p += n;
}

void sch_key(char *out, size_t len, const char *prefix, char kind, const char *tenant,
             const char *id)
{
    if (len == 0)
        return;
    char *p = out, *end = out + len - 1, k[2] = {kind, ':'};
    kput(&p, end, prefix, strlen(prefix));
    kput(&p, end, k, 2);
    kput(&p, end, tenant, strlen(tenant));
    kput(&p, end, "/", 1);
    kput(&p, end, id, strlen(id));
    *p = 0;
}

void sch_tenant_key(char *out, size_t len, const char *tenant, const char *id)
{
    if (len == 0)
        return;
    char *p = out, *end = out + len - 1;
    kput(&p, end, tenant, strlen(tenant));
    kput(&p, end, "/", 1);
    kput(&p, end, id, strlen(id));
    *p = 0;
}

/* ---- map ---- */

struct sch_map {
    sch_rec **slots;
    size_t cap; /* power of two */
    sch_rec **order;
    size_t n, ocap;
};

sch_map *sch_map_new(void)
{
    sch_map *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cap = 64;
    m->slots = calloc(m->cap, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    return m;
}

/* Frees what a record's fields own (not the record or its key). */
static void rec_clear(sch_rec *r)
{
    switch (r->type) {
    case SCH_T_INV:
        free(r->u.inv.history);
        free(r->u.inv.credits);
        free(r->u.inv.promise_invoices);
        free(r->u.inv.moved_rules);
        free(r->u.inv.reductions);
        free(r->u.inv.fee_log);
        free(r->u.inv.frozen);
        break;
    case SCH_T_CUST:
        free(r->u.cust.contact);
        json_decref(r->u.cust.contact_obj);
        free(r->u.cust.tags);
        free(r->u.cust.opted_out);
        free(r->u.cust.ceased);
        free(r->u.cust.sendlog);
        free(r->u.cust.zones);
        free(r->u.cust.prefer);
        free(r->u.cust.unusable);
        free(r->u.cust.late_ring);
        free(r->u.cust.exposure);
        sch_cust_plan_clear(&r->u.cust);
        sch_cust_esc_clear(&r->u.cust);
        free(r->u.cust.responses);
        free(r->u.cust.purged);
        sch_strlist_free(&r->u.cust.open);
        sch_strlist_free(&r->u.cust.gone);
        sch_strlist_free(&r->u.cust.added);
        free(r->u.cust.credit);
        cm_buf_free(&r->u.cust.orig);
        break;
    case SCH_T_PAY:
        free(r->u.pay.alloc);
        break;
    case SCH_T_PEND:
        json_decref(r->u.pend.items);
        json_decref(r->u.pend.add);
        break;
    }
}

/* Records freed by one thread's maps, kept for its next maps: a batch
 * makes and frees thousands of records of a few KiB, and glibc's free
 * lists for blocks that size (unsorted bins, consolidation) cost more than
 * the work on them. Up to REC_POOL_MAX a thread (about 11 MiB). */
#define REC_POOL_MAX 4096
static _Thread_local sch_rec *rec_pool[REC_POOL_MAX];
static _Thread_local size_t rec_npool;

static void rec_free(sch_rec *r)
{
    rec_clear(r);
    if (rec_npool < REC_POOL_MAX) {
        rec_pool[rec_npool++] = r;
        return;
    }
    free(r->key);
    free(r);
}

/* A zeroed record holding a copy of key (len bytes): from the pool, or
 * new. NULL out of memory. */
static sch_rec *rec_new(const char *key, size_t len, uint64_t hash)
{
    sch_rec *r = rec_npool ? rec_pool[--rec_npool] : NULL;
    char *k = r ? r->key : NULL;
    size_t cap = r ? r->kcap : 0;
    if (!r && !(r = malloc(sizeof *r)))
        return NULL;
    if (cap < len + 1) {
        size_t ncap = len + 1 > 64 ? len + 1 : 64;
        char *nk = realloc(k, ncap);
        if (!nk) {
            free(k);
            free(r);
            return NULL;
        }
        k = nk;
        cap = ncap;
    }
    memset(r, 0, sizeof *r);
    memcpy(k, key, len + 1);
    r->key = k;
    r->kcap = cap;
    r->klen = len;
    r->hash = hash;
    return r;
}

void sch_rec_unload(sch_rec *r)
{
    rec_clear(r);
    memset(&r->u, 0, sizeof r->u);
    r->loaded = r->exists = r->dirty = 0;
    r->ver = 0;
}

void sch_map_free(sch_map *m)
{
    if (!m)
        return;
    for (size_t i = m->n; i-- > 0;) /* released in reverse of insertion */
        rec_free(m->order[i]);
    free(m->order);
    free(m->slots);
    free(m);
}

/* The slot of key (len bytes, hash h): its record's, or the empty one
 * where it would go. The stored hash and length spare most comparisons. */
static size_t slot_of(const sch_map *m, const char *key, size_t len, uint64_t h)
{
    size_t i = (size_t)h & (m->cap - 1);
    const sch_rec *r;
    while ((r = m->slots[i]) && !(r->hash == h && r->klen == len && memcmp(r->key, key, len) == 0))
        i = (i + 1) & (m->cap - 1);
    return i;
}

sch_rec *sch_map_get(sch_map *m, const char *key)
{
    size_t len = strlen(key);
    return m->slots[slot_of(m, key, len, cm_hash64(key, len))];
}

static int grow(sch_map *m)
{
    size_t ncap = m->cap * 2;
    sch_rec **ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -1;
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    for (size_t k = 0; k < m->n; k++) { /* keys are distinct: the first empty slot */
        size_t i = (size_t)m->order[k]->hash & (ncap - 1);
        while (m->slots[i])
            i = (i + 1) & (ncap - 1);
        m->slots[i] = m->order[k];
    }
    return 0;
}

sch_rec *sch_map_add(sch_map *m, const char *key, int type, const char *tenant, const char *id)
{
    size_t len = strlen(key);
    uint64_t h = cm_hash64(key, len);
    size_t i = slot_of(m, key, len, h);
    if (m->slots[i])
        return m->slots[i];
    if ((m->n + 1) * 2 > m->cap) {
        if (grow(m) < 0)
            return NULL;
        i = slot_of(m, key, len, h);
    }
    if (m->n == m->ocap) {
        size_t oc = m->ocap ? m->ocap * 2 : 64;
        sch_rec **no = realloc(m->order, oc * sizeof *no);
        if (!no)
            return NULL;
        m->order = no;
        m->ocap = oc;
    }
    sch_rec *r = rec_new(key, len, h);
    if (!r)
        return NULL;
    r->type = type;
    cm_strlcpy(r->tenant, tenant ? tenant : "", sizeof r->tenant);
    cm_strlcpy(r->id, id ? id : "", sizeof r->id);
    if (type == SCH_T_INV) {
        r->u.inv.status = 'o';
        r->u.inv.part = -1;
        r->u.inv.old_part = -1;
        r->u.inv.attempt = 1;
    }
    m->slots[i] = r;
    m->order[m->n++] = r;
    return r;
}

size_t sch_map_count(const sch_map *m)
{
    return m->n;
}
sch_rec *sch_map_at(sch_map *m, size_t i)
{
    return i < m->n ? m->order[i] : NULL;
}

/* ---- decoding ---- */

static long long ll(const char *s)
{
    return cm_str_ll(s);
}

static void cpy(char *dst, size_t len, const char *s)
{
    cm_strlcpy(dst, s, len);
}

const char *const sch_inv_fields[] = {
    "v",  "c",  "n",  "cu", "a",  "pd", "cr", "io", "du", "st", "ds", "s",  "at", "nk", "nx",
    "p",  "sg", "vr", "h",  "cn", "tp", "ta", "pi", "pu", "pr", "pa", "pq", "po", "pl", "mr",
    "ce", "rd", "pn", "fe", "fl", "ok", "op", "of", "oq", "ou", "xc", "um", "fz", NULL};
/* The index of each of sch_cust_scalars (its bit in sch_cust.fields). */
enum {
    CF_TZ,
    CF_LO,
    CF_CO,
    CF_TG,
    CF_OO,
    CF_CZ,
    CF_SL,
    CF_CV,
    CF_WN,
    CF_RG,
    CF_XZ,
    CF_PC,
    CF_KD,
    CF_LS,
    CF_BP,
    CF_LP,
    CF_DP,
    CF_FS,
    CF_EX,
    CF_CL,
    CF_PN,
    CF_ES,
    CF_RL,
    CF_UA,
    CF_PG,
    CF_N
};
const char *const sch_cust_scalars[] = {
    [CF_TZ] = "tz", [CF_LO] = "lo", [CF_CO] = "co", [CF_TG] = "tg", [CF_OO] = "oo", [CF_CZ] = "cz",
    [CF_SL] = "sl", [CF_CV] = "cv", [CF_WN] = "wn", [CF_RG] = "rg", [CF_XZ] = "xz", [CF_PC] = "pc",
    [CF_KD] = "kd", [CF_LS] = "ls", [CF_BP] = "bp", [CF_LP] = "lp", [CF_DP] = "dp", [CF_FS] = "fs",
    [CF_EX] = "ex", [CF_CL] = "cl", [CF_PN] = "pn", [CF_ES] = "es", [CF_RL] = "rl", [CF_UA] = "ua",
    [CF_PG] = "pg", [CF_N] = NULL};
_Static_assert(CF_N == SCH_CUST_NSCALARS, "SCH_CUST_NSCALARS counts sch_cust_scalars");

int sch_field_index(const char *const *list, const char *f)
{
    for (int i = 0; list[i]; i++) /* the first byte first: most names differ there */
        if (list[i][0] == f[0] && strcmp(list[i], f) == 0)
            return i;
    return -1;
}

/* Sets field i of sch_inv_fields from its stored text (a switch on the
 * position: a packed record is decoded field by field, in order). */
static int inv_field_at(sch_inv *v, int i, const char *s)
{
    v->fields |= (uint64_t)1 << i;
    switch (i) {
    case 1:
        cpy(v->customer, sizeof v->customer, s);
        break;
    case 2:
        cpy(v->number, sizeof v->number, s);
        break;
    case 3:
        cpy(v->currency, sizeof v->currency, s);
        break;
    case 4:
        v->amount = ll(s);
        break;
    case 5:
        v->paid = ll(s);
        break;
    case 6:
        v->credited = ll(s);
        break;
    case 7:
        v->issued = (int32_t)ll(s);
        break;
    case 8:
        v->due = (int32_t)ll(s);
        break;
    case 9: /* "=": open, its counted share its outstanding (sch_inv_encode) */
        v->status = s[0] && s[0] != '=' ? s[0] : 'o';
        break;
    case 10:
        v->disputed = s[0] == '1';
        break;
    case 11:
        v->step = (int)ll(s);
        break;
    case 12:
        v->attempt = (int)ll(s);
        break;
    case 13:
        v->next_kind = s[0];
        break;
    case 14:
        v->next_ms = ll(s);
        break;
    case 15:
        v->part = (int)ll(s);
        break;
    case 16:
        cpy(v->strategy, sizeof v->strategy, s);
        break;
    case 17:
        cpy(v->variant, sizeof v->variant, s);
        break;
    case 18:
        return sch_str_set(&v->history, s[0] ? s : NULL);
    case 19:
        return sch_str_set(&v->credits, s[0] ? s : NULL);
    case 20:
        cpy(v->thanks_pid, sizeof v->thanks_pid, s);
        break;
    case 21:
        v->thanks_amt = ll(s);
        break;
    case 22:
        cpy(v->promise_id, sizeof v->promise_id, s);
        break;
    case 23:
        v->promise_until = ll(s);
        break;
    case 24:
        cpy(v->promise_primary, sizeof v->promise_primary, s);
        break;
    case 25:
        v->promise_amount = ll(s);
        break;
    case 26:
        v->promise_paid = ll(s);
        break;
    case 27:
        v->promised_on = (int32_t)ll(s);
        break;
    case 28:
        return sch_str_set(&v->promise_invoices, s[0] ? s : NULL);
    case 29:
        return sch_str_set(&v->moved_rules, s[0] ? s : NULL);
    case 30:
        cpy(v->notice_id, sizeof v->notice_id, s);
        break;
    case 31:
        return sch_str_set(&v->reductions, s[0] ? s : NULL);
    case 32:
        v->paid_on = (int32_t)ll(s);
        break;
    case 33:
        v->fees = ll(s);
        break;
    case 34:
        return sch_str_set(&v->fee_log, s[0] ? s : NULL);
    case 35:
        v->offer_kind = s[0];
        break;
    case 36:
        v->offer_pay = ll(s);
        break;
    case 37:
        v->offer_forgiven = ll(s);
        break;
    case 38:
        v->offer_paid = ll(s);
        break;
    case 39:
        v->offer_until = (int32_t)ll(s);
        break;
    case 40:
        v->counted = ll(s);
        break;
    case 41:
        v->unmatched = s[0] == '1';
        break;
    case 42:
        return sch_str_set(&v->frozen, s[0] ? s : NULL);
    default:
        break;
    }
    return 0;
}

static int inv_field(sch_inv *v, const char *f, const char *s)
{
    int i = sch_field_index(sch_inv_fields, f);
    if (i == 0)
        v->fields |= 1u; /* the version: read by the caller */
    return i > 0 ? inv_field_at(v, i, s) : 0;
}

static int cust_add_credit(sch_cust *c, const char *pid, const char *val)
{
    if (c->ncredit == c->capcredit) {
        int cap = c->capcredit ? c->capcredit * 2 : 4;
        sch_credit *n = realloc(c->credit, (size_t)cap * sizeof *n);
        if (!n)
            return -1;
        c->credit = n;
        c->capcredit = cap;
    }
    sch_credit *cr = &c->credit[c->ncredit++];
    memset(cr, 0, sizeof *cr);
    cpy(cr->pid, sizeof cr->pid, pid);
    const char *colon = strchr(val, ':');
    if (colon && colon - val < 8) {
        memcpy(cr->currency, val, (size_t)(colon - val));
        cr->amount = ll(colon + 1);
    }
    return 0;
}

/* Keeps the text s of scalar bit as loaded (sch_cust.orig). */
static int cust_orig(sch_cust *c, int bit, const char *s)
{
    c->orig_off[bit] = c->orig.len;
    return cm_buf_add(&c->orig, s, strlen(s) + 1); /* with its NUL */
}

const char *sch_cust_orig(const sch_cust *c, int bit)
{
    if (bit < 0 || !c->orig.p || !(c->fields & (1u << bit)))
        return NULL;
    return c->orig.p + c->orig_off[bit];
}

static int cust_field(sch_cust *c, const char *f, const char *s)
{
    int bit = sch_field_index(sch_cust_scalars, f);
    if (bit < 0) {
        if (!strncmp(f, "o:", 2))
            return strlist_push(&c->open, f + 2);
        if (!strncmp(f, "u:", 2))
            return cust_add_credit(c, f + 2, s);
        return 0;
    }
    if (!c->partial && cust_orig(c, bit, s) < 0)
        return -1;
    c->fields |= 1u << bit;
    switch (bit) {
    case CF_TZ:
        cpy(c->tz, sizeof c->tz, s);
        break;
    case CF_LO:
        cpy(c->locale, sizeof c->locale, s);
        break;
    case CF_CO:
        cpy(c->country, sizeof c->country, s);
        break;
    case CF_TG:
        return sch_str_set(&c->tags, s[0] ? s : NULL);
    case CF_OO:
        return sch_str_set(&c->opted_out, s[0] ? s : NULL);
    case CF_CZ:
        return sch_str_set(&c->ceased, s[0] ? s : NULL);
    case CF_SL:
        return sch_str_set(&c->sendlog, s[0] ? s : NULL);
    case CF_CV:
        c->conversation = (int32_t)ll(s);
        break;
    case CF_WN:
        c->wrong_number = s[0] == '1';
        break;
    case CF_UA:
        return sch_str_set(&c->unusable, s[0] ? s : NULL);
    case CF_RG:
        cpy(c->region, sizeof c->region, s);
        break;
    case CF_XZ:
        return sch_str_set(&c->zones, s[0] ? s : NULL);
    case CF_KD:
        c->consumer = s[0] == 'c';
        break;
    case CF_LS:
        return sch_str_set(&c->late_ring, s[0] ? s : NULL);
    case CF_BP:
        c->broken = (int)ll(s);
        break;
    case CF_LP:
        c->last_paid = (int32_t)ll(s);
        break;
    case CF_DP:
        c->disputes = (int)ll(s);
        break;
    case CF_FS:
        c->first_seen = (int32_t)ll(s);
        break;
    case CF_EX:
        return sch_str_set(&c->exposure, s[0] ? s : NULL);
    case CF_CL: { /* "EUR:1900000" */
        const char *colon = strchr(s, ':');
        if (colon && colon - s < (long)sizeof c->credit_currency) {
            memcpy(c->credit_currency, s, (size_t)(colon - s));
            c->credit_currency[colon - s] = 0;
            c->credit_limit = ll(colon + 1);
        }
        break;
    }
    case CF_PC:
        return sch_str_set(&c->prefer, s[0] ? s : NULL);
    case CF_PN:
        return sch_cust_plan_decode(c, s) < 0 && errno == ENOMEM ? -1 : 0;
    case CF_ES:
        return sch_cust_esc_decode(c, s) < 0 && errno == ENOMEM ? -1 : 0;
    case CF_RL:
        return sch_str_set(&c->responses, s[0] ? s : NULL);
    case CF_PG:
        return sch_str_set(&c->purged, s[0] ? s : NULL);
    }
    return 0;
}

static int pay_field(sch_pay *p, const char *f, const char *s)
{
    if (!strcmp(f, "c"))
        cpy(p->customer, sizeof p->customer, s);
    else if (!strcmp(f, "cu"))
        cpy(p->currency, sizeof p->currency, s);
    else if (!strcmp(f, "a"))
        p->amount = ll(s);
    else if (!strcmp(f, "al"))
        return sch_str_set(&p->alloc, s[0] ? s : NULL);
    else if (!strcmp(f, "r"))
        p->reversed = s[0] == '1';
    return 0;
}

static void put(char **p, char *end, const char *s)
{
    while (*s && *p < end)
        *(*p)++ = *s++;
}

static void putll(char **p, char *end, long long v, long long dflt)
{
    char b[24];
    if (v == dflt)
        return;
    b[sizeof b - 1] = 0;
    put(p, end, sch_fmt_ll(b + sizeof b - 1, v));
}

char *sch_inv_encode(const sch_rec *r, const char *fs, const char *fv)
{
    const sch_inv *v = &r->u.inv;
    size_t cap = 1024 + strlen(v->customer) + strlen(v->number) +
                 (v->history ? strlen(v->history) : 0) + (v->credits ? strlen(v->credits) : 0) +
                 strlen(v->thanks_pid) + strlen(v->strategy) + strlen(v->variant) +
                 strlen(v->promise_id) + strlen(v->promise_primary) +
                 (v->promise_invoices ? strlen(v->promise_invoices) : 0) +
                 (v->moved_rules ? strlen(v->moved_rules) : 0) + strlen(v->notice_id) +
                 (v->reductions ? strlen(v->reductions) : 0) +
                 (v->fee_log ? strlen(v->fee_log) : 0) + (v->frozen ? strlen(v->frozen) : 0);
    char *out = malloc(cap), *p = out, *end = out + cap - 1;
    if (!out)
        return NULL;
    /* an open invoice whose share of the debtor's exposure is its
     * outstanding (what exposure_sync leaves) packs its status as "=" and
     * leaves that share out: it is the last field, so the empty fields
     * before it go too (about 30 bytes of most open invoices) */
    int counted_implicit = v->status == 'o' && v->counted == sch_inv_outstanding(v);
    char st[2] = {v->status == 'o' ? (counted_implicit ? '=' : 0) : v->status, 0},
         nk[2] = {v->next_kind, 0};
    int dflt_strategy = strcmp(v->strategy, fs) == 0 && strcmp(v->variant, fv) == 0;
    char *last_nonempty = NULL;
    for (int i = 0; sch_inv_fields[i]; i++) {
        char *start = p;
        if (i)
            put(&p, end, "\x1f");
        char *val = p;
        switch (i) {
        case 0:
            putll(&p, end, r->ver + 1, LLONG_MIN);
            break;
        case 1:
            put(&p, end, v->customer);
            break;
        case 2:
            if (strcmp(v->number, r->id) != 0)
                put(&p, end, v->number);
            break;
        case 3:
            put(&p, end, v->currency);
            break;
        case 4:
            putll(&p, end, v->amount, LLONG_MIN);
            break;
        case 5:
            putll(&p, end, v->paid, 0);
            break;
        case 6:
            putll(&p, end, v->credited, 0);
            break;
        case 7:
            putll(&p, end, v->issued, LLONG_MIN);
            break;
        case 8:
            putll(&p, end, v->due, LLONG_MIN);
            break;
        case 9:
            put(&p, end, st);
            break;
        case 10:
            putll(&p, end, v->disputed, 0);
            break;
        case 11:
            putll(&p, end, v->step, 0);
            break;
        case 12:
            putll(&p, end, v->attempt, 1);
            break;
        case 13:
            put(&p, end, nk);
            break;
        case 14:
            if (v->next_kind)
                putll(&p, end, v->next_ms, LLONG_MIN);
            break;
        case 15:
            putll(&p, end, v->part, LLONG_MIN);
            break;
        case 16:
            if (!dflt_strategy)
                put(&p, end, v->strategy);
            break;
        case 17:
            if (!dflt_strategy)
                put(&p, end, v->variant);
            break;
        case 18:
            if (v->history)
                put(&p, end, v->history);
            break;
        case 19:
            if (v->credits)
                put(&p, end, v->credits);
            break;
        case 20:
            put(&p, end, v->thanks_pid);
            break;
        case 21:
            if (v->thanks_pid[0])
                putll(&p, end, v->thanks_amt, LLONG_MIN);
            break;
        case 22:
            put(&p, end, v->promise_id);
            break;
        case 23:
            if (v->promise_id[0])
                putll(&p, end, v->promise_until, LLONG_MIN);
            break;
        case 24:
            if (v->promise_id[0])
                put(&p, end, v->promise_primary);
            break;
        case 25:
            if (v->promise_id[0] && !v->promise_primary[0])
                putll(&p, end, v->promise_amount, LLONG_MIN);
            break;
        case 26:
            if (v->promise_id[0] && !v->promise_primary[0])
                putll(&p, end, v->promise_paid, 0);
            break;
        case 27:
            if (v->promise_id[0] && !v->promise_primary[0])
                putll(&p, end, v->promised_on, LLONG_MIN);
            break;
        case 28:
            if (v->promise_id[0] && !v->promise_primary[0] && v->promise_invoices)
                put(&p, end, v->promise_invoices);
            break;
        case 29:
            if (v->moved_rules)
                put(&p, end, v->moved_rules);
            break;
        case 30:
            put(&p, end, v->notice_id);
            break;
        case 31:
            if (v->reductions)
                put(&p, end, v->reductions);
            break;
        case 32:
            putll(&p, end, v->paid_on, 0);
            break;
        case 33:
            putll(&p, end, v->fees, 0);
            break;
        case 34:
            if (v->fee_log)
                put(&p, end, v->fee_log);
            break;
        case 35:
            if (v->offer_kind) {
                char ok[2] = {v->offer_kind, 0};
                put(&p, end, ok);
            }
            break;
        case 36:
            if (v->offer_kind)
                putll(&p, end, v->offer_pay, LLONG_MIN);
            break;
        case 37:
            if (v->offer_kind)
                putll(&p, end, v->offer_forgiven, LLONG_MIN);
            break;
        case 38:
            if (v->offer_kind)
                putll(&p, end, v->offer_paid, 0);
            break;
        case 39:
            if (v->offer_kind)
                putll(&p, end, v->offer_until, LLONG_MIN);
            break;
        case 40:
            if (!counted_implicit)
                putll(&p, end, v->counted, 0);
            break;
        case 41:
            if (v->unmatched)
                put(&p, end, "1");
            break;
        case 42:
            if (v->frozen)
                put(&p, end, v->frozen);
            break;
        }
        if (p > val)
            last_nonempty = p;
        (void)start;
    }
    *(last_nonempty ? last_nonempty : p) = 0;
    return out;
}

int sch_inv_decode(sch_rec *r, const redisReply *rep, char *errstr, size_t errlen)
{
    r->loaded = 1;
    if (!rep || rep->type == REDIS_REPLY_NIL) {
        r->exists = 0;
        return 0;
    }
    if (rep->type != REDIS_REPLY_STRING) {
        snprintf(errstr, errlen, "%s: not a packed invoice", r->key);
        return -1;
    }
    r->exists = 1;
    const char *s = rep->str, *e = rep->str + rep->len;
    char buf[4096];
    int counted_implicit = 0;
    for (int i = 0; sch_inv_fields[i] && s <= e; i++) {
        const char *sep = memchr(s, 0x1f, (size_t)(e - s));
        size_t n = (size_t)((sep ? sep : e) - s);
        if (n >= sizeof buf) {
            /* long history: keep it whole */
            char *big = malloc(n + 1);
            if (!big)
                return -1;
            memcpy(big, s, n);
            big[n] = 0;
            int rc = inv_field_at(&r->u.inv, i, big);
            free(big);
            if (rc < 0)
                return -1;
        } else {
            memcpy(buf, s, n);
            buf[n] = 0;
            if (i == 9 && n == 1 && buf[0] == '=')
                counted_implicit = 1;
            if (i == 0)
                r->ver = ll(buf);
            else if (n && inv_field_at(&r->u.inv, i, buf) < 0)
                return -1;
        }
        if (!sep)
            break;
        s = sep + 1;
    }
    /* status "=": counted is the outstanding, computed once every field is in */
    if (counted_implicit)
        r->u.inv.counted = sch_inv_outstanding(&r->u.inv);
    /* the packed record leaves out a number equal to the invoice id */
    if (!r->u.inv.number[0])
        cm_strlcpy(r->u.inv.number, r->id, sizeof r->u.inv.number);
    r->u.inv.old_part = r->u.inv.part;
    r->u.inv.old_next_ms = r->u.inv.next_kind ? r->u.inv.next_ms : 0;
    return 0;
}

int sch_rec_decode(sch_rec *r, const redisReply *rep, char *errstr, size_t errlen)
{
    if (r->type == SCH_T_INV)
        return sch_inv_decode(r, rep, errstr, errlen);
    r->loaded = 1;
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        snprintf(errstr, errlen, "%s: unexpected reply type", r->key);
        return -1;
    }
    if (r->type == SCH_T_PEND) {
        r->exists = rep->elements > 0;
        r->u.pend.items = json_array();
        if (!r->u.pend.items)
            return -1;
        for (size_t i = 0; i < rep->elements; i++) {
            json_t *e = json_loadb(rep->element[i]->str, rep->element[i]->len, 0, NULL);
            if (e)
                json_array_append_new(r->u.pend.items, e);
        }
        return 0;
    }
    r->exists = rep->elements > 0;
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        const char *f = rep->element[i]->str, *s = rep->element[i + 1]->str;
        if (!f || !s)
            continue;
        int rc = 0;
        if (!strcmp(f, "v")) {
            r->ver = ll(s);
            if (r->type == SCH_T_INV)
                r->u.inv.fields |= 1u;
        } else if (r->type == SCH_T_INV)
            rc = inv_field(&r->u.inv, f, s);
        else if (r->type == SCH_T_CUST)
            rc = cust_field(&r->u.cust, f, s);
        else if (r->type == SCH_T_PAY)
            rc = pay_field(&r->u.pay, f, s);
        if (rc < 0) {
            snprintf(errstr, errlen, "%s: out of memory", r->key);
            return -1;
        }
    }
    if (r->type == SCH_T_INV) {
        r->u.inv.old_part = r->u.inv.part;
        r->u.inv.old_next_ms = r->u.inv.next_kind ? r->u.inv.next_ms : 0;
    }
    return 0;
}

const char *const sch_cust_fields[] = {"v",  "tz", "lo", "co", "oo", "cz", "sl", "cv",
                                       "wn", "rg", "xz", "pc", "kd", "tg", "ls", "bp",
                                       "lp", "dp", "fs", "ex", "cl", "es", "ua", NULL};

/* Splits a packed field at 0x1f into at most max fields (starts and
 * lengths); returns how many. */
static int split_us(const char *s, const char **f, size_t *len, int max)
{
    int n = 0;
    for (const char *p = s; n < max;) {
        const char *us = strchr(p, 0x1f);
        f[n] = p;
        len[n++] = us ? (size_t)(us - p) : strlen(p);
        if (!us)
            break;
        p = us + 1;
    }
    return n;
}

/* ---- instalment plans ("pn": fields separated by 0x1f) ---- */

void sch_cust_plan_clear(sch_cust *c)
{
    free(c->plan.invoices);
    free(c->plan.schedule);
    memset(&c->plan, 0, sizeof c->plan);
}

char *sch_cust_plan_encode(const sch_cust *c)
{
    const char *inv = c->plan.invoices ? c->plan.invoices : "";
    const char *sch = c->plan.schedule ? c->plan.schedule : "";
    size_t n = strlen(c->plan.id) + strlen(inv) + strlen(sch) + strlen(c->plan.primary) + 160;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s\x1f%s\x1f%lld\x1f%lld\x1f%d\x1f%d\x1f%ld\x1f%s\x1f%s\x1f%s",
                 c->plan.id, c->plan.currency, (long long)c->plan.total, (long long)c->plan.paid,
                 c->plan.k, c->plan.step, (long)c->plan.agreed, c->plan.primary, inv, sch);
    return out;
}

int sch_cust_plan_decode(sch_cust *c, const char *s)
{
    const char *f[10];
    size_t len[10];
    sch_cust_plan_clear(c);
    int n = split_us(s, f, len, 10);
    if (n != 10 || len[0] == 0 || len[0] >= sizeof c->plan.id ||
        len[1] >= sizeof c->plan.currency || len[7] >= sizeof c->plan.primary) {
        errno = EINVAL;
        return -1; /* not a plan this version wrote: none */
    }
    memcpy(c->plan.id, f[0], len[0]);
    memcpy(c->plan.currency, f[1], len[1]);
    memcpy(c->plan.primary, f[7], len[7]);
    c->plan.total = strtoll(f[2], NULL, 10);
    c->plan.paid = strtoll(f[3], NULL, 10);
    c->plan.k = (int)strtol(f[4], NULL, 10);
    c->plan.step = (int)strtol(f[5], NULL, 10);
    c->plan.agreed = (int32_t)strtol(f[6], NULL, 10);
    c->plan.invoices = strndup(f[8], len[8]);
    c->plan.schedule = strndup(f[9], len[9]);
    if (!c->plan.invoices || !c->plan.schedule) {
        sch_cust_plan_clear(c);
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

/* ---- the hand-off ("es": fields separated by 0x1f) ---- */

void sch_cust_esc_clear(sch_cust *c)
{
    free(c->esc.ref);
    free(c->esc.invoices);
    memset(&c->esc, 0, sizeof c->esc);
}

char *sch_cust_esc_encode(const sch_cust *c)
{
    const char *ref = c->esc.ref ? c->esc.ref : "", *inv = c->esc.invoices ? c->esc.invoices : "";
    size_t n = strlen(ref) + strlen(inv) + strlen(c->esc.inv) + 256;
    char *out = malloc(n);
    if (out)
        snprintf(
            out, n,
            "%c\x1f%s\x1f%d\x1f%s\x1f%lld\x1f%lld\x1f%lld\x1f%lld\x1f%s\x1f%d\x1f%s\x1f%s\x1f%s",
            c->esc.state, c->esc.case_id, c->esc.to, c->esc.currency, (long long)c->esc.placed,
            (long long)c->esc.remitted, (long long)c->esc.commission, (long long)c->esc.at,
            c->esc.inv, c->esc.step, c->esc.rule, ref, inv);
    return out;
}

int sch_cust_esc_decode(sch_cust *c, const char *s)
{
    const char *f[13];
    size_t len[13];
    sch_cust_esc_clear(c);
    int n = split_us(s, f, len, 13);
    if (n != 13 || len[0] != 1 || !strchr("hpa", f[0][0]) || len[1] >= sizeof c->esc.case_id ||
        len[3] >= sizeof c->esc.currency || len[8] >= sizeof c->esc.inv ||
        len[10] >= sizeof c->esc.rule) {
        errno = EINVAL;
        return -1; /* not a hand-off this version wrote: none */
    }
    c->esc.state = f[0][0];
    memcpy(c->esc.case_id, f[1], len[1]);
    c->esc.to = (int)strtol(f[2], NULL, 10);
    memcpy(c->esc.currency, f[3], len[3]);
    c->esc.placed = strtoll(f[4], NULL, 10);
    c->esc.remitted = strtoll(f[5], NULL, 10);
    c->esc.commission = strtoll(f[6], NULL, 10);
    c->esc.at = strtoll(f[7], NULL, 10);
    memcpy(c->esc.inv, f[8], len[8]);
    c->esc.step = (int)strtol(f[9], NULL, 10);
    memcpy(c->esc.rule, f[10], len[10]);
    c->esc.ref = len[11] ? strndup(f[11], len[11]) : NULL;
    c->esc.invoices = strndup(f[12], len[12]);
    if ((len[11] && !c->esc.ref) || !c->esc.invoices) {
        sch_cust_esc_clear(c);
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

int sch_cust_decode_contact(sch_rec *r, const redisReply *rep)
{
    if (rep && rep->type == REDIS_REPLY_STRING)
        return sch_str_set(&r->u.cust.contact, rep->str);
    return 0;
}

int sch_cust_decode_partial(sch_rec *r, const redisReply *rep, const redisReply *contact)
{
    if (sch_cust_decode_contact(r, contact) < 0)
        return -1;
    r->loaded = 1;
    r->u.cust.partial = 1;
    if (!rep || rep->type != REDIS_REPLY_ARRAY)
        return -1;
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        const redisReply *f = rep->element[i], *e = rep->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || e->type != REDIS_REPLY_STRING)
            continue;
        r->exists = 1;
        /* only what a firing round reads: the rest (open invoices, credits,
         * a plan...) is a full load's, and a partial record must not hold
         * part of it */
        int k = sch_field_index(sch_cust_fields, f->str);
        if (k == 0)
            r->ver = ll(e->str);
        else if (k > 0 && cust_field(&r->u.cust, sch_cust_fields[k], e->str) < 0)
            return -1;
    }
    return 0;
}
