/* claims.c -- at most one successful send per command id, kept in Redis.
 *
 * Claim, record and mark are plain commands: a Lua call costs Redis
 * several times a plain command (docs/notifier.md "What a send costs"),
 * and none of the three needs a check and a write in one atomic step:
 * the claim is SET NX, "first outcome wins" is HSETNX, the mark needs no
 * check (see each). Refreshing or releasing a claim ("only if still
 * ours") are Lua scripts, so check and write are atomic; they are rare.
 * Every step of a loop iteration goes out in one pipeline. The claim is
 * kept until the outcome is published: a replica that finds a recorded
 * but unpublished outcome under a live claim waits instead of publishing
 * it a second time. */
#include "claims.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cm_redis_script refresh_script =
    CM_REDIS_SCRIPT("if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
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
    int cluster; /* keys tagged {<id>} (make_keys) */
    int nops;
    size_t nreplies; /* replies queued so far in this batch */
    size_t *first;   /* per op: index of its first reply */
    size_t cap;
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
    c->cluster = cm_redis_is_cluster(r);
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
    free(c->first);
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
    if (cm_redis_script_load(c->r, &refresh_script, errstr, errlen) < 0 ||
        cm_redis_script_load(c->r, &release_script, errstr, errlen) < 0)
        return -1;
    c->loaded = 1;
    return 0;
}

typedef struct keys {
    char claim[1024], out[1024];
} keys;

/* On a cluster both keys of a command carry the hash tag {<id>}, so the
 * scripts that touch both run on one slot (docs/scheduler.md "Redis
 * Cluster: the key layout chosen"); on one Redis the names stay as they
 * were. An id holding '}' ends the tag early, the same way for both keys. */
static void make_keys(const ntf_claims *c, const char *id, keys *k)
{
    if (c->cluster) {
        snprintf(k->claim, sizeof k->claim, "%sclaim:{%s}", c->prefix, id);
        snprintf(k->out, sizeof k->out, "%sout:{%s}", c->prefix, id);
    } else {
        snprintf(k->claim, sizeof k->claim, "%sclaim:%s", c->prefix, id);
        snprintf(k->out, sizeof k->out, "%sout:%s", c->prefix, id);
    }
}

/* Queues script with KEYS claim, out and the given ARGV. */
static int queue(ntf_claims *c, cm_redis_script *s, const char *id, int nargs, const char **argv)
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

static int run(ntf_claims *c, cm_redis_idle_fn idle, void *opaque, char *errstr, size_t errlen)
{
    return cm_redis_pipe_exec_idle(c->r, c->p, idle, opaque, errstr, errlen);
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
    c->nreplies = 0;
}

/* Registers an op whose replies start at the next reply index. */
static int new_op(ntf_claims *c, size_t nreplies)
{
    if ((size_t)c->nops == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        size_t *f = realloc(c->first, cap * sizeof *f);
        if (!f)
            return -1;
        c->first = f;
        c->cap = cap;
    }
    c->first[c->nops] = c->nreplies;
    c->nreplies += nreplies;
    return c->nops++;
}

static int plain(ntf_claims *c, int argc, const char **argv)
{
    size_t lens[8];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return cm_redis_pipe_add_argv(c->p, argc, argv, lens);
}

size_t ntf_claims_pending(const ntf_claims *c)
{
    return (size_t)c->nops;
}

static int add(ntf_claims *c, cm_redis_script *s, const char *id, int nargs, const char **argv)
{
    if (queue(c, s, id, nargs, argv) < 0)
        return -1;
    return new_op(c, 1);
}

/* claim: plain commands, cheaper than a script (docs/notifier.md):
 *   SET claim owner NX PX ttl; HMGET out published event sending
 * Taking the claim first and then reading the outcome is as safe as the
 * script order: only a claim holder records outcomes. */
int ntf_claims_add_claim(ntf_claims *c, const char *id)
{
    keys k;
    make_keys(c, id, &k);
    const char *set[7] = {"SET", k.claim, c->owner, "NX", "PX", c->ttl};
    const char *get[5] = {"HMGET", k.out, "published", "event", "sending"};
    if (plain(c, 6, set) < 0 || plain(c, 5, get) < 0)
        return -1;
    return new_op(c, 2);
}

/* record: HSETNX out event ev; HMGET out event published; EXPIRE out ttl.
 * HSETNX is the atomic "first one wins": it writes only where no outcome
 * is, and an outcome once written never changes, so the HMGET after it
 * reads the winner (ours or the earlier one). "published" absent means
 * not published. The EXPIRE runs whoever won: it only pushes the 30 days
 * of an outcome recorded moments ago a little further. */
int ntf_claims_add_record(ntf_claims *c, const char *id, const char *event)
{
    keys k;
    make_keys(c, id, &k);
    const char *set[4] = {"HSETNX", k.out, "event", event};
    const char *get[4] = {"HMGET", k.out, "event", "published"};
    const char *expire[3] = {"EXPIRE", k.out, c->out_ttl};
    if (plain(c, 4, set) < 0 || plain(c, 4, get) < 0 || plain(c, 3, expire) < 0)
        return -1;
    return new_op(c, 3);
}

/* mark: HSET out published 1; DEL claim. Deleting without an owner check
 * is safe here: the outcome is published, so whoever claims next finds it
 * and sends nothing. */
int ntf_claims_add_mark(ntf_claims *c, const char *id)
{
    keys k;
    make_keys(c, id, &k);
    const char *hset[5] = {"HSET", k.out, "published", "1"};
    const char *del[3] = {"DEL", k.claim};
    if (plain(c, 4, hset) < 0 || plain(c, 2, del) < 0)
        return -1;
    return new_op(c, 2);
}

int ntf_claims_add_refresh(ntf_claims *c, const char *id)
{
    const char *argv[2] = {c->owner, c->ttl};
    return add(c, &refresh_script, id, 2, argv);
}

/* gate: HSET out sending 1; EXPIRE out ttl -- plain commands, written and
 * not awaited (claims.h). No owner check here: the caller has just
 * refreshed the claim, which keeps it ours for a whole TTL. */
int ntf_claims_gate_send(ntf_claims *c, const char *id, char *errstr, size_t errlen)
{
    keys k;
    make_keys(c, id, &k);
    const char *hset[4] = {"HSET", k.out, "sending", "1"};
    const char *expire[3] = {"EXPIRE", k.out, c->out_ttl};
    ntf_claims_begin(c);
    if (plain(c, 4, hset) < 0 || plain(c, 3, expire) < 0) {
        snprintf(errstr, errlen, "pipeline: out of memory");
        return -1;
    }
    return cm_redis_pipe_send(c->r, c->p, errstr, errlen);
}

int ntf_claims_gate_recv(ntf_claims *c, char *errstr, size_t errlen)
{
    if (cm_redis_pipe_recv(c->r, c->p, errstr, errlen) < 0)
        return -1;
    return reply(c, 0, errstr, errlen) && reply(c, 1, errstr, errlen) ? 0 : -1;
}

int ntf_claims_exec(ntf_claims *c, cm_redis_idle_fn idle, void *opaque, char *errstr, size_t errlen)
{
    if (c->nops == 0)
        return 0;
    if (load(c, errstr, errlen) < 0)
        return -1;
    return run(c, idle, opaque, errstr, errlen);
}

int ntf_claims_claim_result(ntf_claims *c, int op, ntf_claim_res *res, char *errstr, size_t errlen)
{
    size_t f = c->first[op];
    redisReply *set = reply(c, f, errstr, errlen);
    redisReply *out = reply(c, f + 1, errstr, errlen);
    memset(res, 0, sizeof *res);
    if (!set || !out || out->type != REDIS_REPLY_ARRAY || out->elements != 3)
        return -1;
    int got = set->type == REDIS_REPLY_STATUS; /* "OK"; nil when held */
    redisReply *pub = out->element[0];
    int published = pub->type == REDIS_REPLY_STRING && strcmp(pub->str, "1") == 0;
    int recorded = out->element[1]->type == REDIS_REPLY_STRING;
    if (published) {
        res->st = NTF_CLAIM_DONE; /* a claim taken just now expires on its own */
    } else if (!got) {
        res->st = NTF_CLAIM_HELD;
    } else if (recorded) {
        res->st = NTF_CLAIM_REPUBLISH;
        res->event = dup_str(out->element[1]);
        if (!res->event) {
            snprintf(errstr, errlen, "out of memory");
            return -1;
        }
    } else if (out->element[2]->type == REDIS_REPLY_STRING) {
        res->st = NTF_CLAIM_UNCONFIRMED;
    } else {
        res->st = NTF_CLAIM_OK;
    }
    return 0;
}

int ntf_claims_record_result(ntf_claims *c, int op, ntf_record_res *res, char *errstr,
                             size_t errlen)
{
    size_t f = c->first[op];
    redisReply *set = reply(c, f, errstr, errlen);
    redisReply *got = set ? reply(c, f + 1, errstr, errlen) : NULL;
    memset(res, 0, sizeof *res);
    if (!got || !reply(c, f + 2, errstr, errlen))
        return -1;
    if (set->type != REDIS_REPLY_INTEGER || got->type != REDIS_REPLY_ARRAY || got->elements != 2) {
        snprintf(errstr, errlen, "record: unexpected reply");
        return -1;
    }
    res->first = set->integer == 1;
    if (!res->first) {
        redisReply *pub = got->element[1];
        res->published = pub->type == REDIS_REPLY_STRING && strcmp(pub->str, "1") == 0;
        res->event = dup_str(got->element[0]);
        if (!res->event && !res->published) {
            snprintf(errstr, errlen, "record: the earlier outcome is gone");
            return -1;
        }
    }
    return 0;
}

int ntf_claims_ok_result(ntf_claims *c, int op, char *errstr, size_t errlen)
{
    size_t f = c->first[op];
    return reply(c, f, errstr, errlen) && reply(c, f + 1, errstr, errlen) ? 0 : -1;
}

int ntf_claims_refresh_result(ntf_claims *c, int op, char *errstr, size_t errlen)
{
    redisReply *r = reply(c, c->first[op], errstr, errlen);
    if (!r)
        return -1;
    return r->type == REDIS_REPLY_INTEGER && r->integer == 1;
}

int ntf_claims_release(ntf_claims *c, const char *const *ids, size_t n, char *errstr, size_t errlen)
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
    return run(c, NULL, NULL, errstr, errlen);
}
