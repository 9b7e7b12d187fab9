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
#include <time.h>
#include <unistd.h>

#include "log.h"

/* ARGV: nh, then nh pairs (hash key, version: HGET key v must equal it,
 * absent = 0); ns, then ns pairs (string key, version: the leading number of
 * the packed record, checked with MGET); no, then no outbox round keys that
 * must exist (written just before, with a TTL). Then a stream of writes:
 *   M n k v...         MSET n pairs        s key value      SET
 *   h key n f v...     HSET n pairs        x key n f...     HDEL n fields
 *   Z key n s m...     ZADD n pairs        R key n m...     ZREM n members
 *   d key              DEL                 p key value      RPUSH
 *   a key field suffix append to a hash field
 *   o set round        PERSIST round, SADD set round (an outbox round)
 * Variadic ops keep the number of redis.call()s per batch small. Every
 * check runs before any write; a mismatch returns {0, key} having written
 * nothing. */
static cm_redis_script commit_script = CM_REDIS_SCRIPT(
    "local a = ARGV\n"
    "local n = #a\n"
    "local i = 2\n"
    "for k = 1, tonumber(a[1]) do\n"
    "  local v = redis.call('HGET', a[i], 'v')\n"
    "  if (tonumber(v) or 0) ~= tonumber(a[i+1]) then return {0, a[i]} end\n"
    "  i = i + 2\n"
    "end\n"
    "local ns = tonumber(a[i]); i = i + 1\n"
    "local j = 0\n"
    "while j < ns do\n"
    "  local e = math.min(ns, j + 200)\n"
    "  local keys = {}\n"
    "  for k = j, e - 1 do keys[#keys+1] = a[i + 2*k] end\n"
    "  local vals = redis.call('MGET', unpack(keys))\n"
    "  for k = j, e - 1 do\n"
    "    local v = vals[k - j + 1]\n"
    "    if v then v = string.match(v, '^%d+') end\n"
    "    if (tonumber(v) or 0) ~= tonumber(a[i + 2*k + 1]) then return {0, a[i + 2*k]} end\n"
    "  end\n"
    "  j = e\n"
    "end\n"
    "i = i + 2 * ns\n"
    "local no = tonumber(a[i]); i = i + 1\n"
    "if no > 0 and redis.call('EXISTS', unpack(a, i, i + no - 1)) ~= no then\n"
    "  return {0, 'an outbox round (expired)'}\n"
    "end\n"
    "i = i + no\n"
    "local function chunked(cmd, key, first, m, w)\n"
    "  local j = 0\n"
    "  while j < m do\n"
    "    local e = math.min(m, j + 100)\n"
    "    if key then redis.call(cmd, key, unpack(a, first + w*j, first - 1 + w*e))\n"
    "    else redis.call(cmd, unpack(a, first + w*j, first - 1 + w*e)) end\n"
    "    j = e\n"
    "  end\n"
    "end\n"
    "while i <= n do\n"
    "  local op = a[i]\n"
    "  if op == 'M' then local m = tonumber(a[i+1]); chunked('MSET', nil, i + 2, m, 2); i = i + 2 "
    "+ 2*m\n"
    "  elseif op == 'h' then local m = tonumber(a[i+2]); chunked('HSET', a[i+1], i + 3, m, 2); i = "
    "i + 3 + 2*m\n"
    "  elseif op == 'x' then local m = tonumber(a[i+2]); chunked('HDEL', a[i+1], i + 3, m, 1); i = "
    "i + 3 + m\n"
    "  elseif op == 'Z' then local m = tonumber(a[i+2]); chunked('ZADD', a[i+1], i + 3, m, 2); i = "
    "i + 3 + 2*m\n"
    "  elseif op == 'R' then local m = tonumber(a[i+2]); chunked('ZREM', a[i+1], i + 3, m, 1); i = "
    "i + 3 + m\n"
    "  elseif op == 'd' then redis.call('DEL', a[i+1]); i = i + 2\n"
    "  elseif op == 's' then redis.call('SET', a[i+1], a[i+2]); i = i + 3\n"
    "  elseif op == 'p' then redis.call('RPUSH', a[i+1], a[i+2]); i = i + 3\n"
    "  elseif op == 'o' then redis.call('PERSIST', a[i+2]); redis.call('SADD', a[i+1], a[i+2]); i "
    "= i + 3\n"
    "  elseif op == 'a' then\n"
    "    local old = redis.call('HGET', a[i+1], a[i+2]) or ''\n"
    "    redis.call('HSET', a[i+1], a[i+2], old .. a[i+3]); i = i + 4\n"
    "  else return redis.error_reply('sch_commit: bad op at ' .. i) end\n"
    "end\n"
    "return {1}\n");

/* KEYS[1] due zset; ARGV now, limit, prefix. Returns {items, customers}:
 * items = flat member, score, packed invoice (or false), customer index;
 * customers = flat HMGET of the customer fields, contact (or false), one
 * pair per distinct debtor; then the first later due time (or false). Few
 * redis.call()s per round: MGET for the
 * invoices, one HMGET + GET per debtor. */
static cm_redis_script peek_script = CM_REDIS_SCRIPT(
    "local items = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, "
    "tonumber(ARGV[2]))\n"
    "local P = ARGV[3]\n"
    "local keys = {}\n"
    "for k = 1, #items, 2 do keys[#keys+1] = P .. 'i:' .. items[k] end\n"
    "local invs = {}\n"
    "local j = 0\n"
    "while j < #keys do\n"
    "  local e = math.min(#keys, j + 200)\n"
    "  local got = redis.call('MGET', unpack(keys, j + 1, e))\n"
    "  for k = 1, #got do invs[j + k] = got[k] end\n"
    "  j = e\n"
    "end\n"
    "local out, custs, seen = {}, {}, {}\n"
    "for k = 1, #items, 2 do\n"
    "  local m = items[k]\n"
    "  local inv = invs[(k + 1) / 2]\n"
    "  local ci = 0\n"
    "  if inv then\n"
    "    local c = string.match(inv, '^%d*\\31([^\\31]*)')\n"
    "    local t = string.match(m, '^([^/]*)/')\n"
    "    if c and t then\n"
    "      local ck = t .. '/' .. c\n"
    "      ci = seen[ck]\n"
    "      if not ci then\n"
    "        custs[#custs+1] = redis.call('HMGET', P .. 'c:' .. ck, 'v', 'tz', 'lo', 'co', 'oo', "
    "'cz')\n"
    "        custs[#custs+1] = redis.call('GET', P .. 'k:' .. ck)\n"
    "        ci = #custs / 2\n"
    "        seen[ck] = ci\n"
    "      end\n"
    "    end\n"
    "  else inv = false end\n"
    "  out[#out+1] = m; out[#out+1] = items[k+1]; out[#out+1] = inv; out[#out+1] = ci\n"
    "end\n"
    "local nxt = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'WITHSCORES', "
    "'LIMIT', 0, 1)\n"
    "return {out, custs, nxt[2] or false}\n");

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

/* A round token unique across replicas and restarts: a random number drawn
 * once, the pid, the time and a counter. */
static void new_round(char *out, size_t len)
{
    static unsigned long long seed, counter;
    if (!seed) {
        FILE *f = fopen("/dev/urandom", "rb");
        if (!f || fread(&seed, sizeof seed, 1, f) != 1)
            seed = (unsigned long long)time(NULL) * 2654435761u ^ (unsigned long long)getpid();
        if (f)
            fclose(f);
        seed |= 1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, len, "%llx-%ld-%lld-%llu", seed & 0xffffffffffULL, (long)getpid(),
             (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, ++counter);
}

/* P k:<tenant>/<id> from the customer's key P c:<tenant>/<id>. */
static void contact_key(char *out, size_t len, const sch_rec *cust)
{
    size_t plen = strlen(cust->key) - strlen(cust->tenant) - strlen(cust->id) - 3;
    snprintf(out, len, "%.*sk:%s/%s", (int)plen, cust->key, cust->tenant, cust->id);
}

int sch_store_load(cm_redis *r, sch_map *m, char *errstr, size_t errlen)
{
    cm_redis_pipe *p = cm_redis_pipe_new();
    size_t *idx = NULL;
    int rc = -1;
    size_t n = sch_map_count(m), q = 0, nrep = 0;
    char ck[600];
    if (!p)
        goto oom;
    idx = malloc((n + 1) * sizeof *idx);
    if (!idx)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        sch_rec *rec = sch_map_at(m, i);
        if (rec->loaded)
            continue;
        /* argv, not a format string: a batch loads thousands of keys */
        const char *av[4] = {rec->type == SCH_T_PEND  ? "LRANGE"
                             : rec->type == SCH_T_INV ? "GET"
                                                      : "HGETALL",
                             rec->key, "0", "-1"};
        int a = cm_redis_pipe_add_argv(p, rec->type == SCH_T_PEND ? 4 : 2, av, NULL);
        if (a == 0 && rec->type == SCH_T_CUST) {
            contact_key(ck, sizeof ck, rec);
            const char *gv[2] = {"GET", ck};
            a = cm_redis_pipe_add_argv(p, 2, gv, NULL);
        }
        if (a < 0)
            goto oom;
        idx[q++] = i;
    }
    if (q == 0) {
        rc = 0;
        goto cleanup;
    }
    if (cm_redis_pipe_exec(r, p, errstr, errlen) < 0)
        goto cleanup;
    for (size_t k = 0; k < q; k++) {
        sch_rec *rec = sch_map_at(m, idx[k]);
        if (sch_rec_decode(rec, cm_redis_pipe_reply(p, nrep++), errstr, errlen) < 0)
            goto cleanup;
        if (rec->type == SCH_T_CUST &&
            sch_cust_decode_contact(rec, cm_redis_pipe_reply(p, nrep++)) < 0)
            goto oom;
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

/* The commit's argv in one growing arena: (offset, length) per argument. */
typedef struct args {
    char *buf;
    size_t used, cap;
    size_t *off, *len;
    size_t n, ncap;
    int oom;
} args;

static char *reserve(args *a, size_t len)
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
static void push_b(args *a, const char *s, size_t len)
{
    char *p = reserve(a, len);
    if (p)
        memcpy(p, s, len);
}
static void push(args *a, const char *s)
{
    push_b(a, s, strlen(s));
}
static void pushll(args *a, long long x)
{
    char b[24], *p = sch_fmt_ll(b + sizeof b, x);
    push_b(a, p, (size_t)(b + sizeof b - p));
}
/* A fixed-width count patched once known. */
static size_t push_count(args *a)
{
    push(a, "0000000");
    return a->n - 1;
}
static void set_count(args *a, size_t at, long long v)
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
static void args_free(args *a)
{
    free(a->buf);
    free(a->off);
    free(a->len);
}

/* The commit's arena is kept between commits (they run on one thread): a
 * batch's argv is megabytes, and allocating and freeing it per batch made
 * glibc consolidate its heap every time. */
static args commit_args;

/* One HSET: pairs counted, field names noted in a bitmask of list. */
typedef struct hw {
    args *a;
    size_t count_at;
    long long pairs;
    const char *const *list;
    unsigned written;
} hw;
static void hw_begin(hw *w, args *a, const char *key, const char *const *list)
{
    push(a, "h");
    push(a, key);
    w->a = a;
    w->count_at = push_count(a);
    w->pairs = 0;
    w->list = list;
    w->written = 0;
}
static void hw_mark(hw *w, const char *f)
{
    int bit = w->list ? sch_field_index(w->list, f) : -1;
    if (bit >= 0)
        w->written |= 1u << bit;
    w->pairs++;
}
static void hw_s(hw *w, const char *f, const char *v)
{
    if (!v || !*v)
        return;
    push(w->a, f);
    push(w->a, v);
    hw_mark(w, f);
}
static void hw_i(hw *w, const char *f, long long v)
{
    push(w->a, f);
    pushll(w->a, v);
    hw_mark(w, f);
}
static void hw_end(hw *w)
{
    set_count(w->a, w->count_at, w->pairs);
}

/* HDEL of the fields of list that were stored and are not written now. */
static void hdel_stale(args *a, const char *key, const char *const *list, unsigned stored,
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

/* Timer moves of a batch, grouped by partition on output. */
typedef struct tmove {
    int part;
    int64_t score; /* 0 = removal */
    const sch_rec *r;
} tmove;

static void member_of(char *out, size_t len, const sch_rec *r)
{
    snprintf(out, len, "%s/%s", r->tenant, r->id);
}

/* All invoices in one MSET, then ZREM/ZADD per partition. */
static void write_invoices(args *a, const sch_ctx *c)
{
    size_t n = sch_map_count(c->map), nm = 0, cap = 0;
    tmove *mv = NULL;
    const char *fs, *fv;
    char member[CT_KEY_MAX], due[200];
    sch_policy_fallback(c->pol, &fs, &fv);
    size_t cnt_at = 0;
    long long nset = 0;
    for (size_t i = 0; i < n; i++) {
        sch_rec *r = sch_map_at(c->map, i);
        if (r->type != SCH_T_INV || !r->loaded || !r->dirty)
            continue;
        sch_inv *v = &r->u.inv;
        if (r->exists) {
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
        int64_t nx = r->exists && v->next_kind ? v->next_ms : 0;
        int rem = v->old_part >= 0 && v->old_next_ms && (!nx || v->old_part != v->part);
        int addz = nx && (nx != v->old_next_ms || v->old_part != v->part);
        if (nm + 2 > cap) {
            cap = cap ? cap * 2 : 256;
            tmove *nv = realloc(mv, cap * sizeof *nv);
            if (!nv) {
                a->oom = 1;
                break;
            }
            mv = nv;
        }
        if (rem)
            mv[nm++] = (tmove){v->old_part, 0, r};
        if (addz)
            mv[nm++] = (tmove){v->part, nx, r};
    }
    if (nset)
        set_count(a, cnt_at, nset);
    /* group: for each (partition, kind) present, one variadic op */
    for (size_t k = 0; k < nm && !a->oom; k++) {
        if (mv[k].part < 0)
            continue; /* done */
        int part = mv[k].part, add = mv[k].score != 0;
        sch_store_due_key(due, sizeof due, c->prefix, part);
        push(a, add ? "Z" : "R");
        push(a, due);
        size_t at = push_count(a);
        long long cnt = 0;
        for (size_t q = k; q < nm; q++) {
            if (mv[q].part != part || (mv[q].score != 0) != add)
                continue;
            member_of(member, sizeof member, mv[q].r);
            if (add)
                pushll(a, mv[q].score);
            push(a, member);
            cnt++;
            mv[q].part = -1;
        }
        set_count(a, at, cnt);
    }
    free(mv);
}

static void write_cust(args *a, sch_rec *r)
{
    sch_cust *c = &r->u.cust;
    hw w;
    char f[SCH_ID_LEN + 8], val[64];
    hw_begin(&w, a, r->key, sch_cust_scalars);
    hw_i(&w, "v", r->ver + 1);
    hw_s(&w, "tz", c->tz);
    hw_s(&w, "lo", c->locale);
    hw_s(&w, "co", c->country);
    hw_s(&w, "tg", c->tags);
    hw_s(&w, "oo", c->opted_out);
    hw_s(&w, "cz", c->ceased);
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
        contact_key(k, sizeof k, r);
        push(a, "s");
        push(a, k);
        push(a, c->contact);
    }
}

static void write_pay(args *a, sch_rec *r)
{
    sch_pay *p = &r->u.pay;
    hw w;
    hw_begin(&w, a, r->key, NULL);
    hw_i(&w, "v", r->ver + 1);
    hw_s(&w, "c", p->customer);
    hw_s(&w, "cu", p->currency);
    hw_i(&w, "a", p->amount);
    hw_s(&w, "al", p->alloc);
    if (p->reversed)
        hw_s(&w, "r", "1");
    hw_end(&w);
}

/* The outbox rounds' HSET argv, kept between commits like commit_args. */
static args stage_args;

/* Queues, per partition with outs, HSET P ob:<p>:<round> id value... and
 * PEXPIRE into pipe, and the round keys into a (the script's check list).
 * parts[] receives the distinct partitions (np of them). */
static int stage_outs(args *a, cm_redis_pipe *pipe, sch_ctx *c, int *parts, size_t *np)
{
    args s = stage_args;
    const char **argv = NULL;
    unsigned char *done = calloc(c->nouts, 1);
    int rc = -1;
    char rk[300];
    *np = 0;
    if (!done)
        goto cleanup;
    new_round(c->round, sizeof c->round);
    for (size_t k = 0; k < c->nouts; k++) {
        if (done[k])
            continue;
        int part = c->outs[k].part;
        parts[(*np)++] = part;
        sch_store_round_key(rk, sizeof rk, c->prefix, part, c->round);
        push(a, rk);
        s.used = s.n = 0;
        s.oom = 0;
        push(&s, "HSET");
        push(&s, rk);
        for (size_t i = k; i < c->nouts; i++) {
            sch_out *o = &c->outs[i];
            if (done[i] || o->part != part)
                continue;
            done[i] = 1;
            size_t kl = strlen(o->key), pl = strlen(o->payload);
            push(&s, o->id);
            char *val = reserve(&s, kl + pl + 4); /* t \n key \n payload */
            if (val) {
                val[0] = o->topic;
                val[1] = '\n';
                memcpy(val + 2, o->key, kl);
                val[2 + kl] = '\n';
                memcpy(val + 3 + kl, o->payload, pl);
                s.len[s.n - 1] = kl + pl + 3;
            }
        }
        if (s.oom)
            goto cleanup;
        free(argv);
        argv = malloc(s.n * sizeof *argv);
        if (!argv)
            goto cleanup;
        for (size_t i = 0; i < s.n; i++)
            argv[i] = s.buf + s.off[i];
        if (cm_redis_pipe_add_argv(pipe, (int)s.n, argv, s.len) < 0)
            goto cleanup;
        /* a round whose commit never runs or loses goes away by itself */
        const char *ex[3] = {"PEXPIRE", rk, "600000"};
        if (cm_redis_pipe_add_argv(pipe, 3, ex, NULL) < 0)
            goto cleanup;
    }
    rc = 0;
cleanup:
    free(argv);
    free(done);
    if (s.cap > (64u << 20)) {
        args_free(&s);
        memset(&s, 0, sizeof s);
    }
    stage_args = s;
    return rc;
}

int sch_store_commit(cm_redis *r, sch_ctx *c, char *errstr, size_t errlen)
{
    args a = commit_args;
    a.used = a.n = 0;
    a.oom = 0;
    int rc = -1;
    redisReply *rep = NULL;
    const char **argv = NULL;
    cm_redis_pipe *pipe = NULL;
    int *parts = NULL;
    size_t np = 0;
    size_t n = sch_map_count(c->map);
    size_t at = push_count(&a);
    long long nchk = 0;
    for (size_t i = 0; i < n; i++) { /* hash records */
        sch_rec *rec = sch_map_at(c->map, i);
        if (!rec->loaded || !rec->dirty || (rec->type != SCH_T_CUST && rec->type != SCH_T_PAY))
            continue;
        if (rec->type == SCH_T_CUST && rec->u.cust.partial)
            continue;
        push(&a, rec->key);
        pushll(&a, rec->ver);
        nchk++;
    }
    set_count(&a, at, nchk);
    at = push_count(&a);
    nchk = 0;
    for (size_t i = 0; i < n; i++) { /* packed invoices */
        sch_rec *rec = sch_map_at(c->map, i);
        if (!rec->loaded || !rec->dirty || rec->type != SCH_T_INV)
            continue;
        push(&a, rec->key);
        pushll(&a, rec->ver);
        nchk++;
    }
    set_count(&a, at, nchk);
    at = push_count(&a); /* outbox rounds */
    if (c->nouts) {
        pipe = cm_redis_pipe_new();
        parts = malloc(c->nouts * sizeof *parts);
        if (!pipe || !parts || stage_outs(&a, pipe, c, parts, &np) < 0)
            a.oom = 1;
    }
    set_count(&a, at, (long long)np);
    write_invoices(&a, c);
    for (size_t i = 0; i < n; i++) {
        sch_rec *rec = sch_map_at(c->map, i);
        if (!rec->loaded || !rec->dirty)
            continue;
        switch (rec->type) {
        case SCH_T_INV:
            break;
        case SCH_T_CUST:
            if (!rec->u.cust.partial)
                write_cust(&a, rec);
            break;
        case SCH_T_PAY:
            write_pay(&a, rec);
            break;
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
        for (int k = 0; k < 3; k++)
            push(&a, json_string_value(json_array_get(op, (size_t)k)));
    }
    for (size_t k = 0; k < np && !a.oom; k++) {
        char set[200], rk[300];
        sch_store_out_key(set, sizeof set, c->prefix, parts[k]);
        sch_store_round_key(rk, sizeof rk, c->prefix, parts[k], c->round);
        push(&a, "o");
        push(&a, set);
        push(&a, rk);
    }
    if (a.oom) {
        snprintf(errstr, errlen, "commit: out of memory");
        goto cleanup;
    }
    if (a.n == 3) { /* three empty check lists: nothing to do */
        rc = 0;
        goto cleanup;
    }
    argv = malloc(a.n * sizeof *argv);
    if (!argv) {
        snprintf(errstr, errlen, "commit: out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < a.n; i++)
        argv[i] = a.buf + a.off[i];
    if (!pipe) {
        rep = cm_redis_eval(r, &commit_script, 0, (int)a.n, argv, a.len, errstr, errlen);
        if (!rep)
            goto cleanup;
    } else {
        /* the rounds' HSET + PEXPIRE, then the script, in one round trip */
        if (!commit_script.sha[0] && cm_redis_script_load(r, &commit_script, errstr, errlen) < 0)
            goto cleanup;
        if (cm_redis_pipe_eval(pipe, &commit_script, 0, (int)a.n, argv, a.len) < 0) {
            snprintf(errstr, errlen, "commit: out of memory");
            goto cleanup;
        }
        if (cm_redis_pipe_exec(r, pipe, errstr, errlen) < 0)
            goto cleanup;
        size_t last = cm_redis_pipe_len(pipe) - 1;
        for (size_t i = 0; i < last; i++) {
            redisReply *x = cm_redis_pipe_reply(pipe, i);
            if (!x || x->type == REDIS_REPLY_ERROR) {
                snprintf(errstr, errlen, "commit: outbox round: %s",
                         x && x->str ? x->str : "no reply");
                goto cleanup;
            }
        }
        rep = cm_redis_pipe_reply(pipe, last);
        if (rep && rep->type == REDIS_REPLY_ERROR) {
            snprintf(errstr, errlen, "commit: %s", rep->str);
            rep = NULL;
            goto cleanup;
        }
    }
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
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
    if (rep && !pipe)
        freeReplyObject(rep); /* a pipeline's replies are its own */
    cm_redis_pipe_free(pipe);
    free(parts);
    free(argv);
    if (a.cap > (64u << 20)) { /* do not keep a freak batch's arena */
        args_free(&a);
        memset(&a, 0, sizeof a);
    }
    commit_args = a;
    return rc;
}

int sch_store_peek(cm_redis *r, const char *prefix, const int *parts, int nparts, int64_t now,
                   int limit, sch_map *m, int *counts, int64_t *next_due, char *errstr,
                   size_t errlen)
{
    cm_redis_pipe *p = cm_redis_pipe_new();
    int rc = -1;
    char due[200], nows[32], lim[16];
    if (!p) {
        snprintf(errstr, errlen, "peek: out of memory");
        return -1;
    }
    if (!peek_script.sha[0] && cm_redis_script_load(r, &peek_script, errstr, errlen) < 0)
        goto cleanup;
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
    if (cm_redis_pipe_exec(r, p, errstr, errlen) < 0)
        goto cleanup;
    for (int i = 0; i < nparts; i++) {
        redisReply *rep = cm_redis_pipe_reply(p, (size_t)i);
        counts[i] = 0;
        if (!rep || rep->type != REDIS_REPLY_ARRAY) {
            snprintf(errstr, errlen, "peek: %s", rep && rep->str ? rep->str : "bad reply");
            goto cleanup;
        }
        if (rep->elements < 2 || rep->element[0]->type != REDIS_REPLY_ARRAY ||
            rep->element[1]->type != REDIS_REPLY_ARRAY) {
            snprintf(errstr, errlen, "peek: bad reply");
            goto cleanup;
        }
        redisReply *items = rep->element[0], *custs = rep->element[1];
        if (next_due && rep->elements > 2 && rep->element[2]->type == REDIS_REPLY_STRING) {
            int64_t nd = strtoll(rep->element[2]->str, NULL, 10);
            if (nd < *next_due)
                *next_due = nd;
        }
        for (size_t k = 0; k + 3 < items->elements; k += 4) {
            const char *member = items->element[k]->str;
            const char *slash = member ? strchr(member, '/') : NULL;
            if (!slash || slash - member > CT_TENANT_MAX)
                continue;
            char tenant[CT_TENANT_MAX + 1], key[512];
            memcpy(tenant, member, (size_t)(slash - member));
            tenant[slash - member] = 0;
            size_t pl = strlen(prefix), ml = items->element[k]->len;
            if (pl + 2 + ml >= sizeof key)
                continue; /* not a key of ours */
            memcpy(key, prefix, pl);
            memcpy(key + pl, "i:", 2);
            memcpy(key + pl + 2, member, ml + 1);
            sch_rec *inv = sch_map_add(m, key, SCH_T_INV, tenant, slash + 1);
            if (!inv)
                goto oom;
            if (inv->loaded)
                continue;
            if (sch_rec_decode(inv, items->element[k + 2], errstr, errlen) < 0)
                goto cleanup;
            /* the timer as it is in the zset, so commit moves or drops it */
            inv->u.inv.old_part = parts[i];
            inv->u.inv.old_next_ms =
                items->element[k + 1]->str ? strtoll(items->element[k + 1]->str, NULL, 10) : 1;
            if (inv->u.inv.old_next_ms == 0)
                inv->u.inv.old_next_ms = 1;
            if (!inv->exists)
                inv->u.inv.part = parts[i];
            counts[i]++;
            long long ci = items->element[k + 3]->integer;
            if (inv->exists && ci > 0 && (size_t)(2 * ci) <= custs->elements) {
                sch_key(key, sizeof key, prefix, 'c', tenant, inv->u.inv.customer);
                sch_rec *cu = sch_map_add(m, key, SCH_T_CUST, tenant, inv->u.inv.customer);
                if (!cu)
                    goto oom;
                if (!cu->loaded && sch_cust_decode_partial(cu, custs->element[2 * ci - 2],
                                                           custs->element[2 * ci - 1]) < 0)
                    goto oom;
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
