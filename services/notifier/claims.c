/* claims.c -- at most one successful send per command id, kept in Redis.
 *
 * Each step is a Lua script so the check and the write are one atomic
 * operation on the Redis side; a batch of them goes out as one pipeline.
 * The claim is kept until the outcome is published: a replica that finds
 * a recorded but unpublished outcome under a live claim waits instead of
 * publishing it a second time. */
#include "claims.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cm_redis_script claim_script = CM_REDIS_SCRIPT(
    "local p = redis.call('HGET', KEYS[2], 'published')\n"
    "if p == '1' then return {2} end\n"
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then\n"
    "  if p then return {3, redis.call('HGET', KEYS[2], 'event')} end\n"
    "  return {1}\n"
    "end\n"
    "return {0, redis.call('PTTL', KEYS[1])}\n");

static cm_redis_script record_script = CM_REDIS_SCRIPT(
    "local e = redis.call('HGET', KEYS[2], 'event')\n"
    "if e then return {0, e, redis.call('HGET', KEYS[2], 'published') or '0'} end\n"
    "redis.call('HSET', KEYS[2], 'event', ARGV[2], 'published', '0')\n"
    "redis.call('EXPIRE', KEYS[2], ARGV[3])\n"
    "return {1}\n");

static cm_redis_script mark_script = CM_REDIS_SCRIPT(
    "redis.call('HSET', KEYS[2], 'published', '1')\n"
    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end\n"
    "return 1\n");

static cm_redis_script refresh_script = CM_REDIS_SCRIPT(
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "end\n"
    "return 0\n");

static cm_redis_script release_script = CM_REDIS_SCRIPT(
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
    "return 0\n");

struct ntf_claims {
    cm_redis *r;
    cm_redis_pipe *p;
    char prefix[128];
    char owner[128];
    int64_t ttl_ms, out_ttl_s;
    char ttl[32], out_ttl[32]; /* the same as strings, for ARGV */
    int loaded;
    int nops;
};

ntf_claims *ntf_claims_new(cm_redis *r, const char *prefix, const char *owner, int64_t ttl_ms,
                           int64_t outcome_ttl_s)
{
    ntf_claims *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->p = cm_redis_pipe_new();
    if (!c->p) {
        free(c);
        return NULL;
    }
    c->r = r;
    snprintf(c->prefix, sizeof c->prefix, "%s", prefix);
    snprintf(c->owner, sizeof c->owner, "%s", owner);
    c->ttl_ms = ttl_ms;
    c->out_ttl_s = outcome_ttl_s;
    snprintf(c->ttl, sizeof c->ttl, "%lld", (long long)ttl_ms);
    snprintf(c->out_ttl, sizeof c->out_ttl, "%lld", (long long)outcome_ttl_s);
    return c;
}

void ntf_claims_free(ntf_claims *c)
{
    if (!c)
        return;
    cm_redis_pipe_free(c->p);
    free(c);
}

int64_t ntf_claims_ttl_ms(const ntf_claims *c)
{
    return c->ttl_ms;
}

static int load(ntf_claims *c, char *errstr, size_t errlen)
{
    if (c->loaded)
        return 0;
    if (cm_redis_script_load(c->r, &claim_script, errstr, errlen) < 0 ||
        cm_redis_script_load(c->r, &record_script, errstr, errlen) < 0 ||
        cm_redis_script_load(c->r, &mark_script, errstr, errlen) < 0 ||
        cm_redis_script_load(c->r, &refresh_script, errstr, errlen) < 0 ||
        cm_redis_script_load(c->r, &release_script, errstr, errlen) < 0)
        return -1;
    c->loaded = 1;
    return 0;
}

typedef struct keys {
    char claim[1024], out[1024];
} keys;

static void make_keys(const ntf_claims *c, const char *id, keys *k)
{
    snprintf(k->claim, sizeof k->claim, "%sclaim:%s", c->prefix, id);
    snprintf(k->out, sizeof k->out, "%sout:%s", c->prefix, id);
}

/* Queues script with KEYS claim, out and the given ARGV. */
static int queue(ntf_claims *c, cm_redis_script *s, const char *id, int nargs,
                 const char **argv)
{
    keys k;
    make_keys(c, id, &k);
    const char *args[6] = {k.claim, k.out};
    size_t lens[6] = {strlen(k.claim), strlen(k.out)};
    for (int i = 0; i < nargs; i++) {
        args[2 + i] = argv[i];
        lens[2 + i] = strlen(argv[i]);
    }
    return cm_redis_pipe_eval(c->p, s, 2, 2 + nargs, args, lens); /* nargs counts keys too */
}

static int run(ntf_claims *c, char *errstr, size_t errlen)
{
    return cm_redis_pipe_exec(c->r, c->p, errstr, errlen);
}

static redisReply *reply(ntf_claims *c, size_t i, char *errstr, size_t errlen)
{
    redisReply *r = cm_redis_pipe_reply(c->p, i);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        snprintf(errstr, errlen, "redis script: %s", r && r->str ? r->str : "no reply");
        return NULL;
    }
    return r;
}

static char *dup_str(const redisReply *r)
{
    if (!r || r->type != REDIS_REPLY_STRING)
        return NULL;
    char *s = malloc(r->len + 1);
    if (s) {
        memcpy(s, r->str, r->len);
        s[r->len] = 0;
    }
    return s;
}

void ntf_claims_begin(ntf_claims *c)
{
    cm_redis_pipe_reset(c->p);
    c->nops = 0;
}

size_t ntf_claims_pending(const ntf_claims *c)
{
    return (size_t)c->nops;
}

static int add(ntf_claims *c, cm_redis_script *s, const char *id, int nargs, const char **argv)
{
    if (queue(c, s, id, nargs, argv) < 0)
        return -1;
    return c->nops++;
}

int ntf_claims_add_claim(ntf_claims *c, const char *id)
{
    const char *argv[2] = {c->owner, c->ttl};
    return add(c, &claim_script, id, 2, argv);
}

int ntf_claims_add_record(ntf_claims *c, const char *id, const char *event)
{
    const char *argv[3] = {c->owner, event, c->out_ttl};
    return add(c, &record_script, id, 3, argv);
}

int ntf_claims_add_mark(ntf_claims *c, const char *id)
{
    const char *argv[1] = {c->owner};
    return add(c, &mark_script, id, 1, argv);
}

int ntf_claims_add_refresh(ntf_claims *c, const char *id)
{
    const char *argv[2] = {c->owner, c->ttl};
    return add(c, &refresh_script, id, 2, argv);
}

int ntf_claims_exec(ntf_claims *c, char *errstr, size_t errlen)
{
    if (c->nops == 0)
        return 0;
    if (load(c, errstr, errlen) < 0)
        return -1;
    return run(c, errstr, errlen);
}

int ntf_claims_claim_result(ntf_claims *c, int op, ntf_claim_res *res, char *errstr,
                            size_t errlen)
{
    redisReply *r = reply(c, (size_t)op, errstr, errlen);
    memset(res, 0, sizeof *res);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1)
        return -1;
    res->st = (ntf_claim_state)r->element[0]->integer;
    if (res->st == NTF_CLAIM_REPUBLISH) {
        res->event = r->elements > 1 ? dup_str(r->element[1]) : NULL;
        if (!res->event) /* recorded without an event cannot be: send afresh */
            res->st = NTF_CLAIM_OK;
    } else if (res->st == NTF_CLAIM_HELD) {
        res->pttl = r->elements > 1 ? r->element[1]->integer : 0;
    }
    return 0;
}

int ntf_claims_record_result(ntf_claims *c, int op, ntf_record_res *res, char *errstr,
                             size_t errlen)
{
    redisReply *r = reply(c, (size_t)op, errstr, errlen);
    memset(res, 0, sizeof *res);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1)
        return -1;
    res->first = r->element[0]->integer == 1;
    if (!res->first && r->elements >= 3) {
        res->event = dup_str(r->element[1]);
        res->published =
            r->element[2]->type == REDIS_REPLY_STRING && strcmp(r->element[2]->str, "1") == 0;
    }
    return 0;
}

int ntf_claims_ok_result(ntf_claims *c, int op, char *errstr, size_t errlen)
{
    return reply(c, (size_t)op, errstr, errlen) ? 0 : -1;
}

int ntf_claims_refresh_result(ntf_claims *c, int op, char *errstr, size_t errlen)
{
    redisReply *r = reply(c, (size_t)op, errstr, errlen);
    if (!r)
        return -1;
    return r->type == REDIS_REPLY_INTEGER && r->integer == 1;
}

int ntf_claims_release(ntf_claims *c, const char *const *ids, size_t n, char *errstr,
                       size_t errlen)
{
    if (n == 0)
        return 0;
    if (load(c, errstr, errlen) < 0)
        return -1;
    ntf_claims_begin(c);
    for (size_t i = 0; i < n; i++) {
        const char *argv[1] = {c->owner};
        if (queue(c, &release_script, ids[i], 1, argv) < 0) {
            snprintf(errstr, errlen, "pipeline: out of memory");
            return -1;
        }
    }
    return run(c, errstr, errlen);
}
