/* store_redis.c -- the scheduler's Redis backend (store.h): pipelined
 * loads, the compare-and-set commit script (whole, or in two halves:
 * rd_commit_send, rd_commit_wait) and the timer peek in three pipelined
 * reads.
 *
 * Scripts touch keys derived from their arguments (not only KEYS). On
 * Redis Cluster that is allowed for keys of the slot of the declared
 * KEYS[1]: the engine's cluster layout (engine.h layout_parts) gives every
 * key of a commit or a peek its partition's hash tag, and the scripts
 * declare a key of that tag (docs/scheduler.md "Redis Cluster"). */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "map.h"
#include "redis_slot.h"
#include "vec.h"

/* ARGV: nh, then nh pairs (hash key, version: HGET key v must equal it,
 * absent = 0); ns, then ns pairs (string key, version: the leading number of
 * the packed record, checked with MGET); nz, then nz string keys that must
 * not exist (records read as absent: one EXISTS per 200, each key looked at
 * alone only to name the one that does); no, then no outbox round keys that
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
    "local nz = tonumber(a[i]); i = i + 1\n"
    "j = 0\n"
    "while j < nz do\n"
    "  local e = math.min(nz, j + 200)\n"
    "  if redis.call('EXISTS', unpack(a, i + j, i + e - 1)) ~= 0 then\n"
    "    for k = i + j, i + e - 1 do\n"
    "      if redis.call('EXISTS', a[k]) ~= 0 then return {0, a[k]} end\n"
    "    end\n"
    "  end\n"
    "  j = e\n"
    "end\n"
    "i = i + nz\n"
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
    "  elseif op == 'A' then\n"
    "    local s = (redis.call('HGET', a[i+1], a[i+2]) or '') .. a[i+3]\n"
    "    local n, max = select(2, string.gsub(s, ',', ',')), tonumber(a[i+4])\n"
    "    while n > max do s = string.sub(s, string.find(s, ',', 1, true) + 1); n = n - 1 end\n"
    "    redis.call('HSET', a[i+1], a[i+2], s); i = i + 5\n"
    "  else return redis.error_reply('sch_commit: bad op at ' .. i) end\n"
    "end\n"
    "return {1}\n");

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

static void drain(void);
static int rd_commit_send(void *be, sch_ctx *c, char *errstr, size_t errlen);

/* A batch's pending lists are checked with one EXISTS per PEND_EXISTS
 * keys (of one slot on a cluster): nearly all are absent, and an absent
 * list needs no LRANGE of its own. A command whose count is not 0 has its
 * lists read by LRANGE in a second round trip. That round runs after a
 * commit sent behind the reads (drain), and reads what the first would
 * have: a key the staged batch writes is served from its overlay and
 * never read here (engine.c "Two batches in flight"). */
#define PEND_EXISTS 200

typedef struct pend_key {
    int slot;
    size_t i; /* index in the map */
} pend_key;

static int pend_cmp(const void *a, const void *b)
{
    const pend_key *x = a, *y = b;
    return x->slot != y->slot ? (x->slot < y->slot ? -1 : 1) : (x->i < y->i ? -1 : x->i > y->i);
}

/* Decodes rec from rep and seeds ov (when not NULL) with it. */
static int load_one(sch_rec *rec, redisReply *rep, redisReply *contact, sch_store *ov, char *errstr,
                    size_t errlen)
{
    if (sch_rec_decode(rec, rep, errstr, errlen) < 0)
        return -1;
    if (rec->type == SCH_T_CUST && sch_cust_decode_contact(rec, contact) < 0)
        goto oom;
    if (ov && sch_store_mem_seed(ov, rec, rep, contact) < 0)
        goto oom;
    return 0;
oom:
    snprintf(errstr, errlen, "redis load: out of memory");
    return -1;
}

/* LRANGE of the pending lists pk[0..n) into m (the second round). */
static int load_pend(cm_redis *r, sch_map *m, const pend_key *pk, size_t n, sch_store *ov,
                     char *errstr, size_t errlen)
{
    int rc = -1;
    cm_redis_pipe *p = cm_redis_pipe_new_arena();
    if (!p)
        goto oom;
    for (size_t k = 0; k < n; k++) {
        const char *av[4] = {"LRANGE", sch_map_at(m, pk[k].i)->key, "0", "-1"};
        if (cm_redis_pipe_add_argv(p, 4, av, NULL) < 0)
            goto oom;
    }
    drain();
    if (cm_redis_pipe_exec(r, p, errstr, errlen) < 0)
        goto cleanup;
    for (size_t k = 0; k < n; k++)
        if (load_one(sch_map_at(m, pk[k].i), cm_redis_pipe_reply(p, k), NULL, ov, errstr, errlen) <
            0)
            goto cleanup;
    rc = 0;
    goto cleanup;
oom:
    snprintf(errstr, errlen, "redis load: out of memory");
cleanup:
    cm_redis_pipe_free(p);
    return rc;
}

/* Loads m's records not loaded yet; seeds ov (when not NULL) with every
 * reply decoded; sends after's commit behind the reads when after is not
 * NULL (store.h load_seed). */
static int load_into(cm_redis *r, sch_map *m, sch_store *ov, sch_ctx *after, int *sent,
                     char *errstr, size_t errlen)
{
    cm_redis_pipe *p = cm_redis_pipe_new_arena();
    size_t *idx = NULL, *pend_end = NULL;
    pend_key *pk = NULL, *again = NULL;
    const char **argv = NULL;
    int rc = -1, cluster = cm_redis_is_cluster(r);
    size_t n = sch_map_count(m), q = 0, nrep = 0, np = 0, nex = 0, nagain = 0;
    char ck[600];
    redisReply empty = {.type = REDIS_REPLY_ARRAY}; /* an absent list's LRANGE */
    if (!p)
        goto oom;
    idx = malloc((n + 1) * sizeof *idx);
    pk = malloc((n + 1) * sizeof *pk);
    pend_end = malloc((n + 1) * sizeof *pend_end);
    argv = malloc((PEND_EXISTS + 1) * sizeof *argv);
    if (!idx || !pk || !pend_end || !argv)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        sch_rec *rec = sch_map_at(m, i);
        if (rec->loaded)
            continue;
        if (rec->type == SCH_T_PEND) {
            pk[np].slot = cluster ? cm_redis_key_slot(rec->key, strlen(rec->key)) : 0;
            pk[np++].i = i;
            continue;
        }
        /* argv, not a format string: a batch loads thousands of keys */
        const char *av[2] = {rec->type == SCH_T_INV ? "GET" : "HGETALL", rec->key};
        int a = cm_redis_pipe_add_argv(p, 2, av, NULL);
        if (a == 0 && rec->type == SCH_T_CUST) {
            sch_store_contact_key(ck, sizeof ck, rec);
            const char *gv[2] = {"GET", ck};
            a = cm_redis_pipe_add_argv(p, 2, gv, NULL);
        }
        if (a < 0)
            goto oom;
        idx[q++] = i;
    }
    if (cluster)
        qsort(pk, np, sizeof *pk, pend_cmp);
    for (size_t k = 0; k < np;) { /* EXISTS of up to PEND_EXISTS keys of one slot */
        size_t e = k;
        argv[0] = "EXISTS";
        while (e < np && e - k < PEND_EXISTS && pk[e].slot == pk[k].slot) {
            argv[e - k + 1] = sch_map_at(m, pk[e].i)->key;
            e++;
        }
        if (cm_redis_pipe_add_argv(p, (int)(e - k + 1), argv, NULL) < 0)
            goto oom;
        pend_end[nex++] = e;
        k = e;
    }
    if (q == 0 && np == 0) {
        if (after) {
            rd_commit_send(r, after, errstr, errlen);
            *sent = 1;
        }
        rc = 0;
        goto cleanup;
    }
    drain();
    if (after) { /* the reads, the commit behind them, then the reads' replies */
        if (cm_redis_pipe_send(r, p, errstr, errlen) < 0)
            goto cleanup;
        rd_commit_send(r, after, errstr, errlen);
        *sent = 1;
        if (cm_redis_pipe_recv(r, p, errstr, errlen) < 0)
            goto cleanup;
    } else if (cm_redis_pipe_exec(r, p, errstr, errlen) < 0)
        goto cleanup;
    for (size_t k = 0; k < q; k++) {
        sch_rec *rec = sch_map_at(m, idx[k]);
        redisReply *rep = cm_redis_pipe_reply(p, nrep++), *contact = NULL;
        if (rec->type == SCH_T_CUST)
            contact = cm_redis_pipe_reply(p, nrep++);
        if (load_one(rec, rep, contact, ov, errstr, errlen) < 0)
            goto cleanup;
    }
    again = pk; /* the lists of nonzero counts, moved to the front (in place) */
    for (size_t x = 0, k = 0; x < nex; x++) {
        redisReply *c = cm_redis_pipe_reply(p, nrep++);
        if (!c || c->type != REDIS_REPLY_INTEGER) {
            snprintf(errstr, errlen, "redis load: EXISTS: %s", c && c->str ? c->str : "bad reply");
            goto cleanup;
        }
        for (; k < pend_end[x]; k++) {
            if (c->integer != 0)
                again[nagain++] = pk[k];
            else if (load_one(sch_map_at(m, pk[k].i), &empty, NULL, ov, errstr, errlen) < 0)
                goto cleanup;
        }
    }
    if (nagain && load_pend(r, m, again, nagain, ov, errstr, errlen) < 0)
        goto cleanup;
    rc = 0;
    goto cleanup;
oom:
    snprintf(errstr, errlen, "redis load: out of memory");
cleanup:
    free(argv);
    free(pend_end);
    free(pk);
    free(idx);
    cm_redis_pipe_free(p);
    return rc;
}

static int rd_load(void *be, sch_map *m, char *errstr, size_t errlen)
{
    return load_into(be, m, NULL, NULL, NULL, errstr, errlen);
}

static int rd_load_seed(void *be, sch_map *m, sch_store *ov, sch_ctx *after, int *sent,
                        char *errstr, size_t errlen)
{
    return load_into(be, m, ov, after, sent, errstr, errlen);
}

/* The commit's and the rounds' arguments, kept between commits (they run
 * on one thread). */
static sch_ops commit_ops;

/* Queues, per partition with outs, SET P ob:<p>:<round> <records> PX into
 * pipe: the records' bytes never pass through Lua. One string per round,
 * not a hash of records: the round is written whole, read whole (only
 * after a crash) and dropped whole, and a hash cost Redis a field and a
 * value object per record to build and to free (docs/scheduler.md, "The
 * outbox round as one string"). Each record's bytes are copied once,
 * straight into the pipeline's command (cm_redis_pipe_add_hole). */
static int stage_outs(cm_redis_pipe *pipe, sch_ctx *c, const sch_rounds *rs)
{
    for (size_t k = 0; k < rs->n; k++) {
        size_t blen = 0;
        for (size_t i = 0; i < c->nouts; i++)
            if (c->outs[i].part == rs->parts[k])
                blen += sch_store_round_blob_len(&c->outs[i]);
        /* SET key blob PX 600000: a round whose commit never runs or
         * loses goes away by itself. The blob is framed straight into the
         * pipeline's command, one copy of each record. */
        const char *argv[] = {"SET", rs->keys[k], NULL, "PX", "600000"};
        size_t lens[] = {3, strlen(rs->keys[k]), blen, 2, 6};
        char *at = cm_redis_pipe_add_hole(pipe, 5, argv, lens, 2);
        if (!at)
            return -1;
        for (size_t i = 0; i < c->nouts; i++)
            if (c->outs[i].part == rs->parts[k])
                at = sch_store_round_blob_put(at, &c->outs[i]);
    }
    return 0;
}

/* The commit's pipeline into *out (NULL: nothing to write): the rounds'
 * SET ... PX (when c has outs), then the script, for one round trip.
 * KEYS[1] is the ctx's prefix, never read: it routes the script on a
 * cluster (the prefix carries the partition's hash tag, so every key the
 * script touches is in its slot); harmless on one Redis. */
static int commit_build(cm_redis *r, sch_ctx *c, cm_redis_pipe **out, char *errstr, size_t errlen)
{
    sch_ops *a = &commit_ops;
    int rc = -1;
    const char **argv = NULL;
    size_t *lens = NULL;
    cm_redis_pipe *pipe = NULL;
    sch_rounds rs = {0};
    *out = NULL;
    sch_ops_trim(a); /* here, not at the end: rd_commit_stage lends a out */
    if (c->nouts)
        new_round(c->round, sizeof c->round);
    if (!(pipe = cm_redis_pipe_new_arena()) ||
        (c->nouts && (sch_rounds_of(c, &rs) < 0 || stage_outs(pipe, c, &rs) < 0)))
        goto oom;
    if (sch_ops_build(c, &rs, a) < 0)
        goto oom;
    if (a->n == 4) { /* four empty check lists: nothing to do */
        rc = 0;
        goto cleanup;
    }
    argv = malloc((a->n + 1) * sizeof *argv);
    lens = malloc((a->n + 1) * sizeof *lens);
    if (!argv || !lens)
        goto oom;
    argv[0] = c->prefix;
    lens[0] = strlen(c->prefix);
    for (size_t i = 0; i < a->n; i++) {
        argv[i + 1] = a->buf + a->off[i];
        lens[i + 1] = a->len[i];
    }
    /* loaded once here (and listed on r: a pipeline reloads it after a
     * NOSCRIPT, see redis.h) */
    if (!commit_script.sha[0] && cm_redis_script_load(r, &commit_script, errstr, errlen) < 0)
        goto cleanup;
    if (cm_redis_pipe_eval(pipe, &commit_script, 1, (int)a->n + 1, argv, lens) < 0)
        goto oom;
    *out = pipe;
    pipe = NULL; /* now the caller's */
    rc = 0;
    goto cleanup;
oom:
    snprintf(errstr, errlen, "commit: out of memory");
cleanup:
    cm_redis_pipe_free(pipe);
    sch_rounds_free(&rs);
    free(argv);
    free(lens);
    return rc;
}

/* The result of an executed commit pipeline: 0, 1 (a version conflict) or
 * -1, as rd_commit returns. */
static int commit_result(cm_redis_pipe *pipe, char *errstr, size_t errlen)
{
    size_t last = cm_redis_pipe_len(pipe) - 1;
    for (size_t i = 0; i < last; i++) {
        redisReply *x = cm_redis_pipe_reply(pipe, i);
        if (!x || x->type == REDIS_REPLY_ERROR) {
            snprintf(errstr, errlen, "commit: outbox round: %s", x && x->str ? x->str : "no reply");
            return -1;
        }
    }
    redisReply *rep = cm_redis_pipe_reply(pipe, last);
    if (rep && rep->type == REDIS_REPLY_ERROR) {
        snprintf(errstr, errlen, "commit: %s", rep->str);
        return -1;
    }
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
        rep->element[0]->type != REDIS_REPLY_INTEGER) {
        snprintf(errstr, errlen, "commit: unexpected reply");
        return -1;
    }
    if (rep->element[0]->integer == 0) {
        snprintf(errstr, errlen, "commit: version conflict on %s",
                 rep->elements > 1 && rep->element[1]->str ? rep->element[1]->str : "?");
        return 1;
    }
    return 0;
}

/* The commit in flight (rd_commit_send), one at a time: the scheduler's
 * store runs on one thread, as commit_ops above. */
static struct {
    cm_redis *r;
    cm_redis_pipe *pipe; /* sent, replies not read; NULL when none */
    int sent, rc;        /* rc: its result, once read */
    char err[512];
} flight;

/* Reads the commit in flight, if any, and keeps its result for
 * rd_commit_wait. Called first by every call that uses the connection. */
static void drain(void)
{
    if (!flight.pipe)
        return;
    if (cm_redis_pipe_recv(flight.r, flight.pipe, flight.err, sizeof flight.err) < 0)
        flight.rc = -1;
    else
        flight.rc = commit_result(flight.pipe, flight.err, sizeof flight.err);
    cm_redis_pipe_free(flight.pipe);
    flight.pipe = NULL;
}

static int rd_commit(void *be, sch_ctx *c, char *errstr, size_t errlen)
{
    cm_redis *r = be;
    cm_redis_pipe *pipe = NULL;
    drain();
    if (commit_build(r, c, &pipe, errstr, errlen) < 0)
        return -1;
    if (!pipe)
        return 0;
    int rc =
        cm_redis_pipe_exec(r, pipe, errstr, errlen) < 0 ? -1 : commit_result(pipe, errstr, errlen);
    cm_redis_pipe_free(pipe);
    return rc;
}

static void staged_free(void *pipe)
{
    cm_redis_pipe_free(pipe);
}

/* The commit's pipeline built ahead into c->staged, on one Redis only, and
 * once the script's SHA is known (loading it needs the connection). A
 * failure here prepares nothing: commit_send builds it again and says.
 * *ops: the op stream the pipeline carries (commit_ops, lent until the
 * next commit_build). */
static void rd_commit_stage(void *be, sch_ctx *c, const sch_ops **ops)
{
    cm_redis *r = be;
    cm_redis_pipe *pipe = NULL;
    char err[256];
    if (ops)
        *ops = NULL;
    if (c->staged_ok || cm_redis_is_cluster(r) || !commit_script.sha[0] ||
        commit_build(r, c, &pipe, err, sizeof err) < 0)
        return;
    c->staged = pipe; /* now owned by c (NULL: nothing to write) */
    c->staged_free = staged_free;
    c->staged_ok = 1;
    if (ops)
        *ops = &commit_ops;
}

static int rd_commit_send(void *be, sch_ctx *c, char *errstr, size_t errlen)
{
    cm_redis *r = be;
    drain();
    flight.r = r;
    flight.sent = 1;
    flight.rc = 0;
    flight.err[0] = 0;
    if (cm_redis_is_cluster(r)) { /* send and recv retry per node there: whole, now */
        flight.rc = rd_commit(be, c, flight.err, sizeof flight.err);
        return 0;
    }
    if (c->staged_ok) { /* built by rd_commit_stage */
        flight.pipe = c->staged;
        c->staged = NULL; /* now the flight's */
        c->staged_ok = 0;
    } else if (commit_build(r, c, &flight.pipe, flight.err, sizeof flight.err) < 0) {
        flight.rc = -1;
        return 0;
    }
    if (flight.pipe && cm_redis_pipe_send_bg(r, flight.pipe, flight.err, sizeof flight.err) < 0) {
        flight.rc = -1; /* some of it may have run: the caller recovers the rounds */
        cm_redis_pipe_free(flight.pipe);
        flight.pipe = NULL;
    }
    (void)errstr;
    (void)errlen;
    return 0;
}

static int rd_commit_wait(void *be, char *errstr, size_t errlen)
{
    (void)be;
    if (!flight.sent) {
        snprintf(errstr, errlen, "commit: none in flight");
        return -1;
    }
    drain();
    flight.sent = 0;
    if (flight.rc != 0)
        snprintf(errstr, errlen, "%s", flight.err);
    return flight.rc;
}

/* The peek: three pipelined round trips of plain commands, each for every
 * partition asked: (1) its due members (ZRANGEBYSCORE LIMIT) and the first
 * one due later (with its score); (2) MGET of their invoices, at most 200
 * keys a command, one partition's keys a command (one slot on a cluster),
 * and ZMSCORE of its due purge members (retention.h: their due time is
 * where a purge put off counts from); (3) per distinct debtor of a
 * partition, HGETALL of its hash and GET of its contact.
 *
 * The due members come without their scores: Redis 7.0 formats each with
 * "%.17g", 8% of its work per timer fired (docs/scheduler.md, "The
 * peek without scores"); an invoice's record says where its timer is, and
 * the commit rewrites the timer (sch_store_peek_item). HGETALL, not HMGET
 * of the sch_cust_fields firing reads: a debtor's hash is a listpack
 * (state.h), where HMGET scans the whole hash for each field it asks and
 * does not find, and most of the 23 are absent on most debtors; one pass
 * that returns every field cost Redis about half as much at 1M timers
 * (docs/scheduler.md, "The debtor's hash in one pass"). Until 2026-12-05
 * one Lua script did the three in one round trip; turning every reply
 * into Lua strings and the result back cost Redis twice the commands' own
 * work (docs/scheduler.md, "Firing without the peek script"). Three reads
 * are not one snapshot, and need not be: the commit checks the version of
 * every invoice and debtor read, and sch_store_peek_item moves a timer
 * read before its record changed. */
#define PEEK_MGET 200

/* P <kind>:<tenant>/<customer> into key (the caller checked its room). */
static void debtor_key(char *key, const char *prefix, char kind, const char *ck, size_t ckl)
{
    size_t pl = strlen(prefix);
    memcpy(key, prefix, pl);
    key[pl] = kind;
    key[pl + 1] = ':';
    memcpy(key + pl + 2, ck, ckl);
    key[pl + 2 + ckl] = 0;
}

/* Queues MGET of keys[0..*nk) and frees them (*nk = 0). */
static int mget(cm_redis_pipe *p, char **keys, int *nk, const char **argv)
{
    argv[0] = "MGET";
    for (int j = 0; j < *nk; j++)
        argv[j + 1] = keys[j];
    int rc = cm_redis_pipe_add_argv(p, *nk + 1, argv, NULL);
    for (int j = 0; j < *nk; j++) {
        free(keys[j]);
        keys[j] = NULL;
    }
    *nk = 0;
    return rc;
}

/* One command of round (2): its entries' items go to off[] in its order,
 * flagged in score[] (1: a ZMSCORE entry, the item's score; 0: MGET, its
 * invoice). */
typedef struct {
    size_t *off, n;
    unsigned char *score;
} peek_entries;

static void entries_add(peek_entries *e, const size_t *items, int n, unsigned char score)
{
    for (int j = 0; j < n; j++) {
        e->off[e->n] = items[j];
        e->score[e->n++] = score;
    }
}

/* ZMSCORE due m... of nm purge members (their text stays in round 1's
 * replies). */
static int zmscore(cm_redis_pipe *p, const char *due, const char **members, int *nm,
                   const char **argv)
{
    argv[0] = "ZMSCORE";
    argv[1] = due;
    for (int j = 0; j < *nm; j++)
        argv[j + 2] = members[j];
    int rc = cm_redis_pipe_add_argv(p, *nm + 2, argv, NULL);
    *nm = 0;
    return rc;
}

/* A peek read and not yet decoded (rd_peek_fetch): the three pipelines
 * with their replies, and where each due member's invoice (inv) and
 * debtor (cust: its pair of replies in cp, -1 none) are. */
typedef struct rd_peeked {
    const char *prefix; /* the caller's, alive until rd_peek_finish */
    int *parts, nparts;
    cm_redis_pipe *zp, *ip, *cp;
    size_t *first;                   /* first[i]: index of partition i's first member */
    const redisReply **inv, **score; /* score: a purge member's, else NULL */
    long *cust;
} rd_peeked;

static void peeked_free(rd_peeked *pk)
{
    if (!pk)
        return;
    free(pk->cust);
    free(pk->score);
    free(pk->inv);
    free(pk->first);
    free(pk->parts);
    cm_redis_pipe_free(pk->cp);
    cm_redis_pipe_free(pk->ip);
    cm_redis_pipe_free(pk->zp);
    free(pk);
}

static int rd_peek_fetch(void *be, const char *prefix, const int *parts, int nparts, int64_t now,
                         int limit, void **fetched, char *errstr, size_t errlen)
{
    drain();
    cm_redis *r = be;
    rd_peeked *pk = NULL;
    cm_redis_pipe *zp = NULL, *ip = NULL, *cp = NULL;
    size_t *first = NULL, nitems = 0, *kitem = NULL, *pitem = NULL;
    peek_entries ent = {0};
    const redisReply **inv = NULL;
    long *cust = NULL;
    char **keys = NULL;
    const char **argv = NULL, **pm = NULL;
    cm_map seen = {0};
    int rc = -1;
    char due[200], nows[32], later[34], lim[16], key[512];
    *fetched = NULL;
    if (!(pk = calloc(1, sizeof *pk)) ||
        !(pk->parts = malloc(((size_t)nparts + 1) * sizeof *parts)))
        goto oom;
    pk->prefix = prefix;
    pk->nparts = nparts;
    memcpy(pk->parts, parts, (size_t)nparts * sizeof *parts);
    if (nparts == 0) {
        *fetched = pk;
        return 0;
    }
    if (!(zp = pk->zp = cm_redis_pipe_new_arena()) || !(ip = pk->ip = cm_redis_pipe_new_arena()) ||
        !(cp = pk->cp = cm_redis_pipe_new_arena()))
        goto oom;
    snprintf(nows, sizeof nows, "%lld", (long long)now);
    snprintf(later, sizeof later, "(%lld", (long long)now);
    snprintf(lim, sizeof lim, "%d", limit);
    for (int i = 0; i < nparts; i++) {
        sch_store_due_key(due, sizeof due, prefix, parts[i]);
        const char *za[7] = {"ZRANGEBYSCORE", due, "-inf", nows, "LIMIT", "0", lim};
        const char *zn[8] = {"ZRANGEBYSCORE", due, later, "+inf", "WITHSCORES", "LIMIT", "0", "1"};
        if (cm_redis_pipe_add_argv(zp, 7, za, NULL) < 0 ||
            cm_redis_pipe_add_argv(zp, 8, zn, NULL) < 0)
            goto oom;
    }
    if (cm_redis_pipe_exec(r, zp, errstr, errlen) < 0)
        goto cleanup;
    /* (2) the invoices: first[i] = index of partition i's first item */
    if (!(first = pk->first = calloc((size_t)nparts + 1, sizeof *first)))
        goto oom;
    for (int i = 0; i < nparts; i++) {
        const redisReply *z = cm_redis_pipe_reply(zp, 2 * (size_t)i);
        if (!z || z->type != REDIS_REPLY_ARRAY) {
            snprintf(errstr, errlen, "peek: %s", z && z->str ? z->str : "bad reply");
            goto cleanup;
        }
        first[i] = nitems;
        nitems += z->elements;
    }
    first[nparts] = nitems;
    inv = pk->inv = calloc(nitems + 1, sizeof *inv);
    pk->score = calloc(nitems + 1, sizeof *pk->score);
    cust = pk->cust = malloc((nitems + 1) * sizeof *cust);
    ent.off = malloc((nitems + 1) * sizeof *ent.off);
    ent.score = malloc(nitems + 1);
    keys = calloc(PEEK_MGET + 1, sizeof *keys);
    kitem = malloc(PEEK_MGET * sizeof *kitem);
    pm = malloc(PEEK_MGET * sizeof *pm);
    pitem = malloc(PEEK_MGET * sizeof *pitem);
    argv = malloc((PEEK_MGET + 2) * sizeof *argv);
    if (!inv || !pk->score || !cust || !ent.off || !ent.score || !keys || !kitem || !pm || !pitem ||
        !argv)
        goto oom;
    for (int i = 0; i < nparts; i++) {
        const redisReply *z = cm_redis_pipe_reply(zp, 2 * (size_t)i);
        int nk = 0, np = 0;
        sch_store_due_key(due, sizeof due, prefix, parts[i]);
        for (size_t k = 0; k < z->elements; k++) {
            const redisReply *mem = z->element[k];
            int g = sch_store_peek_inv_key(prefix, mem->str, mem->len, key, sizeof key);
            if (g == 0) { /* a purge member: its score */
                pitem[np] = first[i] + k;
                pm[np++] = mem->str;
                if (np == PEEK_MGET) {
                    entries_add(&ent, pitem, np, 1);
                    if (zmscore(ip, due, pm, &np, argv) < 0)
                        goto oom;
                }
                continue;
            }
            if (g != 1)
                continue;
            if (!(keys[nk] = strdup(key)))
                goto oom;
            kitem[nk++] = first[i] + k;
            if (nk == PEEK_MGET) {
                entries_add(&ent, kitem, nk, 0);
                if (mget(ip, keys, &nk, argv) < 0)
                    goto oom;
            }
        }
        entries_add(&ent, kitem, nk, 0);
        if (nk && mget(ip, keys, &nk, argv) < 0)
            goto oom;
        entries_add(&ent, pitem, np, 1);
        if (np && zmscore(ip, due, pm, &np, argv) < 0)
            goto oom;
    }
    if (cm_redis_pipe_len(ip) && cm_redis_pipe_exec(r, ip, errstr, errlen) < 0)
        goto cleanup;
    for (size_t j = 0, cmd = 0, at = 0; j < ent.n; j++) {
        const redisReply *g = cm_redis_pipe_reply(ip, cmd);
        if (!g || g->type != REDIS_REPLY_ARRAY || at >= g->elements) {
            snprintf(errstr, errlen, "peek: %s: %s", ent.score[j] ? "ZMSCORE" : "MGET",
                     g && g->str ? g->str : "bad reply");
            goto cleanup;
        }
        if (ent.score[j])
            pk->score[ent.off[j]] = g->element[at];
        else
            inv[ent.off[j]] = g->element[at];
        /* the next entry is in the next command once this one's are used */
        if (++at == g->elements) {
            cmd++;
            at = 0;
        }
    }
    /* (3) the debtors, once per partition */
    long ncust = 0;
    for (int i = 0; i < nparts; i++) {
        const redisReply *z = cm_redis_pipe_reply(zp, 2 * (size_t)i);
        cm_map_free(&seen);
        for (size_t k = 0; k < z->elements; k++) {
            size_t g = first[i] + k;
            const redisReply *v = inv[g];
            cust[g] = -1;
            char ck[600];
            int ckl = v && v->type == REDIS_REPLY_STRING
                          ? sch_store_peek_debtor(z->element[k]->str, z->element[k]->len, v->str,
                                                  v->len, ck, sizeof ck)
                          : -1;
            if (ckl < 0 || strlen(prefix) + 2 + (size_t)ckl >= sizeof key)
                continue;
            uint32_t have;
            if (cm_map_get(&seen, ck, (size_t)ckl, &have)) {
                cust[g] = (long)have;
                continue;
            }
            debtor_key(key, prefix, 'c', ck, (size_t)ckl);
            const char *ha[2] = {"HGETALL", key};
            if (cm_redis_pipe_add_argv(cp, 2, ha, NULL) < 0)
                goto oom;
            debtor_key(key, prefix, 'k', ck, (size_t)ckl);
            const char *ga[2] = {"GET", key};
            if (cm_redis_pipe_add_argv(cp, 2, ga, NULL) < 0 ||
                cm_map_put(&seen, ck, (size_t)ckl, (uint32_t)ncust) < 0)
                goto oom;
            cust[g] = ncust++;
        }
    }
    if (ncust && cm_redis_pipe_exec(r, cp, errstr, errlen) < 0)
        goto cleanup;
    *fetched = pk;
    pk = NULL; /* now the caller's */
    rc = 0;
    goto cleanup;
oom:
    snprintf(errstr, errlen, "peek: out of memory");
cleanup:
    if (keys)
        for (int j = 0; j < PEEK_MGET; j++)
            free(keys[j]);
    cm_map_free(&seen);
    free(argv);
    free(pitem);
    free(pm);
    free(kitem);
    free(keys);
    free(ent.score);
    free(ent.off);
    peeked_free(pk);
    return rc;
}

/* Decodes a fetched peek into m (m NULL: only frees it); touches no
 * connection, so it may run while a commit is in flight. */
static int rd_peek_finish(void *be, void *fetched, sch_map *m, int *counts, int64_t *next_due,
                          char *errstr, size_t errlen)
{
    (void)be;
    rd_peeked *pk = fetched;
    int rc = -1;
    if (!pk || !m || !pk->zp) {
        rc = pk && m ? 0 : -1; /* no partition asked: nothing due */
        if (!pk && m)
            snprintf(errstr, errlen, "peek: nothing fetched");
        goto cleanup;
    }
    const char *prefix = pk->prefix;
    const int *parts = pk->parts;
    int nparts = pk->nparts;
    cm_redis_pipe *zp = pk->zp, *cp = pk->cp;
    const size_t *first = pk->first;
    const redisReply **inv = pk->inv;
    const long *cust = pk->cust;
    for (int i = 0; i < nparts; i++) {
        const redisReply *z = cm_redis_pipe_reply(zp, 2 * (size_t)i);
        const redisReply *nx = cm_redis_pipe_reply(zp, 2 * (size_t)i + 1);
        if (next_due && nx && nx->type == REDIS_REPLY_ARRAY && nx->elements >= 2 &&
            nx->element[1]->type == REDIS_REPLY_STRING) {
            int64_t nd = strtoll(nx->element[1]->str, NULL, 10);
            if (nd < *next_due)
                *next_due = nd;
        }
        counts[i] = 0;
        for (size_t k = 0; k < z->elements; k++) {
            size_t g = first[i] + k;
            const redisReply *hm = NULL, *ct = NULL;
            if (cust[g] >= 0) {
                hm = cm_redis_pipe_reply(cp, 2 * (size_t)cust[g]);
                ct = cm_redis_pipe_reply(cp, 2 * (size_t)cust[g] + 1);
                if (!hm || hm->type != REDIS_REPLY_ARRAY || !ct || ct->type == REDIS_REPLY_ERROR) {
                    snprintf(errstr, errlen, "peek: debtor: %s",
                             hm && hm->str   ? hm->str
                             : ct && ct->str ? ct->str
                                             : "bad reply");
                    goto cleanup;
                }
            }
            if (sch_store_peek_item(prefix, parts[i], m, z->element[k], pk->score[g], inv[g], hm,
                                    ct, &counts[i], errstr, errlen) < 0)
                goto cleanup;
        }
    }
    rc = 0;
cleanup:
    peeked_free(pk);
    return rc;
}

static int rd_peek(void *be, const char *prefix, const int *parts, int nparts, int64_t now,
                   int limit, sch_map *m, int *counts, int64_t *next_due, char *errstr,
                   size_t errlen)
{
    void *pk = NULL;
    if (nparts == 0)
        return 0;
    if (rd_peek_fetch(be, prefix, parts, nparts, now, limit, &pk, errstr, errlen) < 0)
        return -1;
    return rd_peek_finish(be, pk, m, counts, next_due, errstr, errlen);
}

static int rd_due_any(void *be, const char *prefix, const int *parts, int nparts, int64_t now,
                      int *any, char *errstr, size_t errlen)
{
    cm_redis *r = be;
    cm_redis_pipe *p = cm_redis_pipe_new_arena();
    char due[200], nows[32];
    int rc = -1;
    *any = 0;
    if (!p)
        goto oom;
    snprintf(nows, sizeof nows, "%lld", (long long)now);
    for (int i = 0; i < nparts; i++) {
        sch_store_due_key(due, sizeof due, prefix, parts[i]);
        const char *za[7] = {"ZRANGEBYSCORE", due, "-inf", nows, "LIMIT", "0", "1"};
        if (cm_redis_pipe_add_argv(p, 7, za, NULL) < 0)
            goto oom;
    }
    drain();
    if (nparts > 0 && cm_redis_pipe_exec(r, p, errstr, errlen) < 0)
        goto cleanup;
    for (int i = 0; i < nparts; i++) {
        redisReply *x = cm_redis_pipe_reply(p, (size_t)i);
        if (!x || x->type != REDIS_REPLY_ARRAY) {
            snprintf(errstr, errlen, "due: %s", x && x->str ? x->str : "unexpected reply");
            goto cleanup;
        }
        *any |= x->elements > 0;
    }
    rc = 0;
    goto cleanup;
oom:
    snprintf(errstr, errlen, "due: out of memory");
cleanup:
    cm_redis_pipe_free(p);
    return rc;
}

static int rd_outbox(void *be, const char *prefix, int part, sch_outbox *out, char *errstr,
                     size_t errlen)
{
    drain();
    cm_redis *r = be;
    char set[200];
    int rc = -1;
    cm_redis_pipe *get = NULL, *old = NULL;
    memset(out, 0, sizeof *out);
    sch_store_out_key(set, sizeof set, prefix, part);
    redisReply *rounds = cm_redis_cmd(r, errstr, errlen, "SMEMBERS %s", set);
    if (!rounds)
        return -1;
    if (rounds->type != REDIS_REPLY_ARRAY) {
        snprintf(errstr, errlen, "SMEMBERS %s: unexpected reply", set);
        goto cleanup;
    }
    if (rounds->elements == 0) {
        rc = 0;
        goto cleanup;
    }
    get = cm_redis_pipe_new_arena();
    old = cm_redis_pipe_new_arena();
    out->rounds = calloc(rounds->elements, sizeof *out->rounds);
    if (!get || !old || !out->rounds)
        goto oom;
    for (size_t k = 0; k < rounds->elements; k++) {
        const char *ga[2] = {"GET", rounds->element[k]->str};
        if (cm_redis_pipe_add_argv(get, 2, ga, NULL) < 0 ||
            !(out->rounds[k] = strdup(rounds->element[k]->str)))
            goto oom;
        out->nrounds++;
    }
    if (cm_redis_pipe_exec(r, get, errstr, errlen) < 0)
        goto cleanup;
    size_t cap = 0;
    for (size_t k = 0; k < rounds->elements; k++) {
        redisReply *rep = cm_redis_pipe_reply(get, k);
        if (rep && rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "WRONGTYPE", 9) == 0) {
            /* a hash: written by a replica of before 2026-12-07 */
            const char *hg[2] = {"HGETALL", out->rounds[k]};
            if (cm_redis_pipe_add_argv(old, 2, hg, NULL) < 0)
                goto oom;
            continue;
        }
        if (!rep || (rep->type != REDIS_REPLY_STRING && rep->type != REDIS_REPLY_NIL)) {
            snprintf(errstr, errlen, "GET %s: %s", out->rounds[k],
                     rep && rep->str ? rep->str : "unexpected reply");
            goto cleanup;
        }
        if (rep->type == REDIS_REPLY_STRING && /* nil: gone (expired, or dropped by another) */
            sch_store_round_blob_parse(rep->str, rep->len, part, out, &cap, errstr, errlen) < 0) {
            size_t l = strlen(errstr);
            snprintf(errstr + l, errlen - l, " (%s)", out->rounds[k]);
            goto cleanup;
        }
    }
    if (cm_redis_pipe_len(old) && cm_redis_pipe_exec(r, old, errstr, errlen) < 0)
        goto cleanup;
    for (size_t k = 0; k < cm_redis_pipe_len(old); k++) {
        redisReply *rep = cm_redis_pipe_reply(old, k);
        if (!rep || rep->type != REDIS_REPLY_ARRAY) {
            snprintf(errstr, errlen, "HGETALL of an outbox round: unexpected reply");
            goto cleanup;
        }
        for (size_t i = 0; i + 1 < rep->elements; i += 2) {
            if (CM_GROW(out->recs, cap, out->nrecs + 1) < 0)
                goto oom;
            if (sch_store_round_parse(rep->element[i]->str, rep->element[i + 1]->str,
                                      rep->element[i + 1]->len, part, &out->recs[out->nrecs]) == 0)
                out->nrecs++;
        }
    }
    rc = 0;
    goto cleanup;
oom:
    snprintf(errstr, errlen, "outbox: out of memory");
cleanup:
    if (rc < 0)
        sch_outbox_free(out);
    cm_redis_pipe_free(old);
    cm_redis_pipe_free(get);
    freeReplyObject(rounds);
    return rc;
}

/* UNLINK (freed off Redis's main thread) and SREM from the partition's
 * set, one pipeline. */
static int rd_forget(void *be, const char *prefix, int part, char *const *rounds, size_t n,
                     char *errstr, size_t errlen)
{
    drain();
    cm_redis *r = be;
    char set[200];
    int rc = -1;
    if (n == 0)
        return 0;
    cm_redis_pipe *pipe = cm_redis_pipe_new_arena();
    if (!pipe) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    sch_store_out_key(set, sizeof set, prefix, part);
    for (size_t k = 0; k < n; k++) {
        const char *ul[2] = {"UNLINK", rounds[k]}, *sr[3] = {"SREM", set, rounds[k]};
        if (cm_redis_pipe_add_argv(pipe, 2, ul, NULL) < 0 ||
            cm_redis_pipe_add_argv(pipe, 3, sr, NULL) < 0) {
            snprintf(errstr, errlen, "out of memory");
            goto cleanup;
        }
    }
    rc = cm_redis_pipe_exec(r, pipe, errstr, errlen);
cleanup:
    cm_redis_pipe_free(pipe);
    return rc;
}

int sch_store_redis_layout(cm_redis *r, const char *prefix, int want, int *have, char *errstr,
                           size_t errlen)
{
    char key[200], v[16];
    snprintf(key, sizeof key, "%slayout", prefix);
    snprintf(v, sizeof v, "%d", want);
    *have = 0;
    redisReply *rep = NULL;
    if (want > 0) {
        const char *av[4] = {"SET", key, v, "NX"};
        if (!(rep = cm_redis_cmd_argv(r, 4, av, NULL, errstr, errlen)))
            return -1;
        freeReplyObject(rep);
    }
    const char *gv[2] = {"GET", key};
    if (!(rep = cm_redis_cmd_argv(r, 2, gv, NULL, errstr, errlen)))
        return -1;
    int rc = 0;
    if (rep->type == REDIS_REPLY_STRING) {
        char *end;
        long n = strtol(rep->str, &end, 10);
        if (*end || n < 1 || n > 16384) {
            snprintf(errstr, errlen, "%s holds '%.20s', not a partition count", key, rep->str);
            rc = -1;
        } else {
            *have = (int)n;
        }
    } else if (rep->type != REDIS_REPLY_NIL) {
        snprintf(errstr, errlen, "GET %s: unexpected reply", key);
        rc = -1;
    }
    freeReplyObject(rep);
    return rc;
}

void sch_store_redis(sch_store *s, cm_redis *r)
{
    *s = (sch_store){.load = rd_load,
                     .load_seed = rd_load_seed,
                     .commit = rd_commit,
                     .commit_send = rd_commit_send,
                     .commit_stage = rd_commit_stage,
                     .commit_wait = rd_commit_wait,
                     .peek = rd_peek,
                     .peek_fetch = rd_peek_fetch,
                     .peek_finish = rd_peek_finish,
                     .due_any = rd_due_any,
                     .outbox = rd_outbox,
                     .forget = rd_forget,
                     .be = r};
}
