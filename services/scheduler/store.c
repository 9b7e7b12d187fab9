/* store.c -- Redis I/O of the scheduler: pipelined loads, the CAS commit
 * script and the timer peek script.
 *
 * Scripts touch keys derived from their arguments (not only KEYS): fine on
 * a single Redis or a replicated primary, not on Redis Cluster (see
 * docs/scheduler.md). */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* ARGV is a stream of ops:
 *   c key ver          check HGET key v == ver (absent = 0)
 *   d key              DEL
 *   h key n f v...     HSET n pairs
 *   z key score member ZADD      r key member   ZREM
 *   p key value        RPUSH     a key field suffix   append to a hash field
 * Pass 1 checks (returns {0, key} on a mismatch), pass 2 writes. */
static cm_redis_script commit_script = CM_REDIS_SCRIPT(
    "local a = ARGV\n"
    "local n = #a\n"
    "local i = 1\n"
    "while i <= n do\n"
    "  local op = a[i]\n"
    "  if op == 'c' then\n"
    "    local v = redis.call('HGET', a[i+1], 'v')\n"
    "    if (tonumber(v) or 0) ~= tonumber(a[i+2]) then return {0, a[i+1]} end\n"
    "    i = i + 3\n"
    "  elseif op == 'h' then i = i + 3 + 2 * tonumber(a[i+2])\n"
    "  elseif op == 'd' then i = i + 2\n"
    "  elseif op == 'z' or op == 'a' then i = i + 4\n"
    "  elseif op == 'r' or op == 'p' then i = i + 3\n"
    "  else return redis.error_reply('sch_commit: bad op at ' .. i) end\n"
    "end\n"
    "if i ~= n + 1 then return redis.error_reply('sch_commit: truncated ops') end\n"
    "i = 1\n"
    "while i <= n do\n"
    "  local op = a[i]\n"
    "  if op == 'c' then i = i + 3\n"
    "  elseif op == 'h' then\n"
    "    local k, m = a[i+1], tonumber(a[i+2])\n"
    "    local j = 0\n"
    "    while j < m do\n"
    "      local e = math.min(m, j + 100)\n"
    "      redis.call('HSET', k, unpack(a, i + 3 + 2*j, i + 2 + 2*e))\n"
    "      j = e\n"
    "    end\n"
    "    i = i + 3 + 2*m\n"
    "  elseif op == 'd' then redis.call('DEL', a[i+1]); i = i + 2\n"
    "  elseif op == 'z' then redis.call('ZADD', a[i+1], a[i+2], a[i+3]); i = i + 4\n"
    "  elseif op == 'r' then redis.call('ZREM', a[i+1], a[i+2]); i = i + 3\n"
    "  elseif op == 'p' then redis.call('RPUSH', a[i+1], a[i+2]); i = i + 3\n"
    "  elseif op == 'a' then\n"
    "    local old = redis.call('HGET', a[i+1], a[i+2]) or ''\n"
    "    redis.call('HSET', a[i+1], a[i+2], old .. a[i+3]); i = i + 4\n"
    "  end\n"
    "end\n"
    "return {1}\n");

/* KEYS[1] due zset; ARGV now, limit, prefix. Returns a flat array of
 * member, score, HGETALL invoice, HMGET customer per due timer. */
static cm_redis_script peek_script = CM_REDIS_SCRIPT(
    "local items = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))\n"
    "local out = {}\n"
    "for k = 1, #items, 2 do\n"
    "  local m = items[k]\n"
    "  local inv = redis.call('HGETALL', ARGV[3] .. 'i:' .. m)\n"
    "  local c = nil\n"
    "  for i = 1, #inv, 2 do if inv[i] == 'c' then c = inv[i+1] end end\n"
    "  local cust = {}\n"
    "  if c then\n"
    "    local t = string.match(m, '^([^/]*)/')\n"
    "    cust = redis.call('HMGET', ARGV[3] .. 'c:' .. t .. '/' .. c, 'v', 'j', 'tz', 'lo', 'co', 'oo', 'cz')\n"
    "  end\n"
    "  out[#out+1] = m; out[#out+1] = items[k+1]; out[#out+1] = inv; out[#out+1] = cust\n"
    "end\n"
    "return out\n");

void sch_store_due_key(char *out, size_t len, const char *prefix, int part) {
    snprintf(out, len, "%sdue:%d", prefix, part);
}

void sch_store_out_key(char *out, size_t len, const char *prefix, int part) {
    snprintf(out, len, "%sout:%d", prefix, part);
}

int sch_store_load(cm_redis *r, sch_map *m, char *errstr, size_t errlen) {
    cm_redis_pipe *p = cm_redis_pipe_new();
    size_t *idx = NULL;
    int rc = -1;
    size_t n = sch_map_count(m), q = 0;
    if (!p) goto oom;
    idx = malloc((n + 1) * sizeof *idx);
    if (!idx) goto oom;
    for (size_t i = 0; i < n; i++) {
        sch_rec *rec = sch_map_at(m, i);
        if (rec->loaded) continue;
        int a = rec->type == SCH_T_PEND ? cm_redis_pipe_add(p, "LRANGE %s 0 -1", rec->key)
                                        : cm_redis_pipe_add(p, "HGETALL %s", rec->key);
        if (a < 0) goto oom;
        idx[q++] = i;
    }
    if (q == 0) {
        rc = 0;
        goto cleanup;
    }
    if (cm_redis_pipe_exec(r, p, errstr, errlen) < 0) goto cleanup;
    for (size_t k = 0; k < q; k++) {
        sch_rec *rec = sch_map_at(m, idx[k]);
        if (sch_rec_decode(rec, cm_redis_pipe_reply(p, k), errstr, errlen) < 0) goto cleanup;
    }
    rc = 0;
    goto cleanup;
oom:
    snprintf(errstr, errlen, "redis load: out of memory");
cleanup:
    free(idx);
    cm_redis_pipe_free(p);
    return rc;
}

/* A growable argv of owned strings. */
typedef struct args {
    char **v;
    size_t *len;
    size_t n, cap;
    int oom;
} args;

static void push_b(args *a, const char *s, size_t len) {
    if (a->oom) return;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        char **nv = realloc(a->v, cap * sizeof *nv);
        size_t *nl = nv ? realloc(a->len, cap * sizeof *nl) : NULL;
        if (nv) a->v = nv;
        if (!nv || !nl) {
            a->oom = 1;
            return;
        }
        a->len = nl;
        a->cap = cap;
    }
    char *c = malloc(len + 1);
    if (!c) {
        a->oom = 1;
        return;
    }
    memcpy(c, s, len);
    c[len] = 0;
    a->v[a->n] = c;
    a->len[a->n++] = len;
}
static void push(args *a, const char *s) { push_b(a, s, strlen(s)); }
static void pushll(args *a, long long x) {
    char b[32];
    snprintf(b, sizeof b, "%lld", x);
    push(a, b);
}
static void args_free(args *a) {
    for (size_t i = 0; i < a->n; i++) free(a->v[i]);
    free(a->v);
    free(a->len);
}

/* Field pairs of a hash write, counted after the fact. */
typedef struct hw {
    args *a;
    size_t count_at;
    long long pairs;
} hw;
static void hw_begin(hw *w, args *a, const char *key) {
    push(a, "h");
    push(a, key);
    w->a = a;
    w->count_at = a->n;
    push(a, "0");
    w->pairs = 0;
}
static void hw_s(hw *w, const char *f, const char *v) {
    if (!v || !*v) return;
    push(w->a, f);
    push(w->a, v);
    w->pairs++;
}
static void hw_i(hw *w, const char *f, long long v) {
    char b[32];
    snprintf(b, sizeof b, "%lld", v);
    push(w->a, f);
    push(w->a, b);
    w->pairs++;
}
static void hw_end(hw *w) {
    if (w->a->oom) return;
    char b[32];
    snprintf(b, sizeof b, "%lld", w->pairs);
    free(w->a->v[w->count_at]);
    w->a->v[w->count_at] = strdup(b);
    if (!w->a->v[w->count_at]) w->a->oom = 1;
    else w->a->len[w->count_at] = strlen(b);
}

static void write_inv(args *a, const char *prefix, sch_rec *r) {
    sch_inv *v = &r->u.inv;
    char member[256], due[200];
    snprintf(member, sizeof member, "%s/%s", r->tenant, r->id);
    if (r->exists) {
        hw w;
        push(a, "d");
        push(a, r->key);
        hw_begin(&w, a, r->key);
        hw_i(&w, "v", r->ver + 1);
        hw_s(&w, "c", v->customer);
        if (strcmp(v->number, r->id) != 0) hw_s(&w, "n", v->number);
        hw_s(&w, "cu", v->currency);
        hw_i(&w, "a", v->amount);
        if (v->paid) hw_i(&w, "pd", v->paid);
        if (v->credited) hw_i(&w, "cr", v->credited);
        hw_i(&w, "io", v->issued);
        hw_i(&w, "du", v->due);
        if (v->status != 'o') {
            char st[2] = {v->status, 0};
            hw_s(&w, "st", st);
        }
        if (v->disputed) hw_s(&w, "ds", "1");
        if (v->step) hw_i(&w, "s", v->step);
        if (v->attempt != 1) hw_i(&w, "at", v->attempt);
        if (v->next_kind) {
            char nk[2] = {v->next_kind, 0};
            hw_s(&w, "nk", nk);
            hw_i(&w, "nx", v->next_ms);
        }
        hw_i(&w, "p", v->part);
        hw_s(&w, "sg", v->strategy);
        hw_s(&w, "vr", v->variant);
        hw_s(&w, "h", v->history);
        hw_s(&w, "cn", v->credits);
        if (v->next_kind == 't' || v->thanks_pid[0]) {
            hw_s(&w, "tp", v->thanks_pid);
            hw_i(&w, "ta", v->thanks_amt);
        }
        hw_end(&w);
    }
    int64_t nx = r->exists && v->next_kind ? v->next_ms : 0;
    if (v->old_part >= 0 && v->old_next_ms && (!nx || v->old_part != v->part)) {
        sch_store_due_key(due, sizeof due, prefix, v->old_part);
        push(a, "r");
        push(a, due);
        push(a, member);
    }
    if (nx && (nx != v->old_next_ms || v->old_part != v->part)) {
        sch_store_due_key(due, sizeof due, prefix, v->part);
        push(a, "z");
        push(a, due);
        pushll(a, nx);
        push(a, member);
    }
}

static void write_cust(args *a, sch_rec *r) {
    sch_cust *c = &r->u.cust;
    hw w;
    char f[SCH_ID_MAX + 8], val[64];
    push(a, "d");
    push(a, r->key);
    hw_begin(&w, a, r->key);
    hw_i(&w, "v", r->ver + 1);
    hw_s(&w, "j", c->contact);
    hw_s(&w, "tz", c->tz);
    hw_s(&w, "lo", c->locale);
    hw_s(&w, "co", c->country);
    hw_s(&w, "tg", c->tags);
    hw_s(&w, "oo", c->opted_out);
    hw_s(&w, "cz", c->ceased);
    for (int i = 0; i < c->open.n; i++) {
        snprintf(f, sizeof f, "o:%s", c->open.v[i]);
        hw_s(&w, f, "1");
    }
    for (int i = 0; i < c->ncredit; i++) {
        if (c->credit[i].amount <= 0) continue;
        snprintf(f, sizeof f, "u:%s", c->credit[i].pid);
        snprintf(val, sizeof val, "%s:%lld", c->credit[i].currency, (long long)c->credit[i].amount);
        hw_s(&w, f, val);
    }
    hw_end(&w);
}

static void write_pay(args *a, sch_rec *r) {
    sch_pay *p = &r->u.pay;
    hw w;
    push(a, "d");
    push(a, r->key);
    hw_begin(&w, a, r->key);
    hw_i(&w, "v", r->ver + 1);
    hw_s(&w, "c", p->customer);
    hw_s(&w, "cu", p->currency);
    hw_i(&w, "a", p->amount);
    hw_s(&w, "al", p->alloc);
    if (p->reversed) hw_s(&w, "r", "1");
    hw_end(&w);
}

int sch_store_commit(cm_redis *r, sch_ctx *c, char *errstr, size_t errlen) {
    args a = {0};
    int rc = -1;
    redisReply *rep = NULL;
    size_t n = sch_map_count(c->map);
    for (size_t i = 0; i < n; i++) {
        sch_rec *rec = sch_map_at(c->map, i);
        if (!rec->loaded || rec->type == SCH_T_PEND) continue;
        if (rec->type == SCH_T_CUST && rec->u.cust.partial) continue;
        if (!rec->dirty) continue; /* reads of clean records are not re-checked */
        push(&a, "c");
        push(&a, rec->key);
        pushll(&a, rec->ver);
    }
    for (size_t i = 0; i < n; i++) {
        sch_rec *rec = sch_map_at(c->map, i);
        if (!rec->loaded || !rec->dirty) continue;
        switch (rec->type) {
        case SCH_T_INV: write_inv(&a, c->prefix, rec); break;
        case SCH_T_CUST:
            if (!rec->u.cust.partial) write_cust(&a, rec);
            break;
        case SCH_T_PAY: write_pay(&a, rec); break;
        case SCH_T_PEND:
            if (rec->u.pend.clear) {
                push(&a, "d");
                push(&a, rec->key);
            }
            for (size_t k = 0; k < json_array_size(rec->u.pend.add); k++) {
                char *js = json_dumps(json_array_get(rec->u.pend.add, k), JSON_COMPACT);
                if (!js) {
                    a.oom = 1;
                    break;
                }
                push(&a, "p");
                push(&a, rec->key);
                push(&a, js);
                free(js);
            }
            break;
        }
    }
    for (size_t i = 0; i < json_array_size(c->appends); i++) {
        json_t *op = json_array_get(c->appends, i);
        push(&a, "a");
        for (int k = 0; k < 3; k++) push(&a, json_string_value(json_array_get(op, (size_t)k)));
    }
    for (size_t i = 0; i < c->nouts; i++) {
        sch_out *o = &c->outs[i];
        char key[200];
        sch_store_out_key(key, sizeof key, c->prefix, o->part);
        size_t l = strlen(o->key) + strlen(o->payload) + 4;
        char *val = malloc(l);
        if (!val) {
            a.oom = 1;
            break;
        }
        snprintf(val, l, "%c\n%s\n%s", o->topic, o->key, o->payload);
        push(&a, "h");
        push(&a, key);
        push(&a, "1");
        push(&a, o->id);
        push(&a, val);
        free(val);
    }
    if (a.oom) {
        snprintf(errstr, errlen, "commit: out of memory");
        goto cleanup;
    }
    if (a.n == 0) {
        rc = 0;
        goto cleanup;
    }
    rep = cm_redis_eval(r, &commit_script, 0, (int)a.n, (const char **)a.v, a.len, errstr, errlen);
    if (!rep) goto cleanup;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
        rep->element[0]->type != REDIS_REPLY_INTEGER) {
        snprintf(errstr, errlen, "commit: unexpected reply");
        goto cleanup;
    }
    if (rep->element[0]->integer == 0) {
        snprintf(errstr, errlen, "commit: version conflict on %s",
                 rep->elements > 1 && rep->element[1]->str ? rep->element[1]->str : "?");
        rc = 1;
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (rep) freeReplyObject(rep);
    args_free(&a);
    return rc;
}

int sch_store_peek(cm_redis *r, const char *prefix, const int *parts, int nparts, int64_t now,
                   int limit, sch_map *m, int *counts, char *errstr, size_t errlen) {
    cm_redis_pipe *p = cm_redis_pipe_new();
    int rc = -1;
    char due[200], nows[32], lim[16];
    if (!p) {
        snprintf(errstr, errlen, "peek: out of memory");
        return -1;
    }
    if (cm_redis_script_load(r, &peek_script, errstr, errlen) < 0) goto cleanup;
    snprintf(nows, sizeof nows, "%lld", (long long)now);
    snprintf(lim, sizeof lim, "%d", limit);
    for (int i = 0; i < nparts; i++) {
        sch_store_due_key(due, sizeof due, prefix, parts[i]);
        const char *av[4] = {due, nows, lim, prefix};
        size_t al[4] = {strlen(due), strlen(nows), strlen(lim), strlen(prefix)};
        if (cm_redis_pipe_eval(p, &peek_script, 1, 4, av, al) < 0) {
            snprintf(errstr, errlen, "peek: out of memory");
            goto cleanup;
        }
    }
    if (nparts == 0) {
        rc = 0;
        goto cleanup;
    }
    if (cm_redis_pipe_exec(r, p, errstr, errlen) < 0) goto cleanup;
    for (int i = 0; i < nparts; i++) {
        redisReply *rep = cm_redis_pipe_reply(p, (size_t)i);
        counts[i] = 0;
        if (!rep || rep->type != REDIS_REPLY_ARRAY) {
            snprintf(errstr, errlen, "peek: %s", rep && rep->str ? rep->str : "bad reply");
            goto cleanup;
        }
        for (size_t k = 0; k + 3 < rep->elements; k += 4) {
            const char *member = rep->element[k]->str;
            const char *slash = member ? strchr(member, '/') : NULL;
            if (!slash || slash - member >= 64) continue;
            char tenant[64], key[512];
            snprintf(tenant, sizeof tenant, "%.*s", (int)(slash - member), member);
            snprintf(key, sizeof key, "%si:%s", prefix, member);
            sch_rec *inv = sch_map_add(m, key, SCH_T_INV, tenant, slash + 1);
            if (!inv) goto oom;
            if (inv->loaded) continue;
            if (sch_rec_decode(inv, rep->element[k + 2], errstr, errlen) < 0) goto cleanup;
            /* the timer as it is in the zset, so commit moves or drops it */
            inv->u.inv.old_part = parts[i];
            inv->u.inv.old_next_ms = strtoll(rep->element[k + 1]->str, NULL, 10);
            if (inv->u.inv.old_next_ms == 0) inv->u.inv.old_next_ms = 1;
            if (!inv->exists) inv->u.inv.part = parts[i];
            counts[i]++;
            if (inv->exists) {
                sch_key(key, sizeof key, prefix, 'c', tenant, inv->u.inv.customer);
                sch_rec *cu = sch_map_add(m, key, SCH_T_CUST, tenant, inv->u.inv.customer);
                if (!cu) goto oom;
                if (!cu->loaded && sch_cust_decode_partial(cu, rep->element[k + 3]) < 0) goto oom;
            }
        }
    }
    rc = 0;
    goto cleanup;
oom:
    snprintf(errstr, errlen, "peek: out of memory");
cleanup:
    cm_redis_pipe_free(p);
    return rc;
}
