/* redis_cluster.c -- the Redis Cluster transport of common/redis: slot map,
 * routing by key slot, MOVED and ASK, pipelines split per node.
 *
 * Design note.
 *
 * Topology. The slot map (16384 entries, each an index into nodes[]) comes
 * from CLUSTER SLOTS, asked of the first node that answers: the target of
 * the last MOVED (the new owner knows it owns the slot before every other
 * node does), nodes with an open connection, then every node ever seen
 * (the URL's seeds come first in nodes[]). It is loaded at connect and reloaded before the next
 * try after a MOVED, a connection error, TRYAGAIN or CLUSTERDOWN. Only
 * masters are used (no reads from replicas). Node connections are opened
 * on first use (cm_redis_node_open: the URL's AUTH, no SELECT: a cluster has
 * database 0 only).
 *
 * Routing. The command's RESP encoding is parsed, so cm_redis_cmd,
 * cm_redis_cmd_argv, scripts and pipelines route alike:
 *
 *   command                                 goes to
 *   EVAL EVALSHA EVAL_RO EVALSHA_RO          the master of its keys' slot (the keys after
 *   FCALL FCALL_RO                           numkeys); keys of several slots are refused,
 *                                            naming each key's slot; numkeys 0: one master
 *   SCRIPT FLUSHALL FLUSHDB FUNCTION         every master (the first master's reply, or
 *                                            the first error reply)
 *   DBSIZE                                   every master, the sum
 *   PING ECHO INFO TIME CLUSTER CONFIG       one master (the owner of the lowest slot)
 *   CLIENT COMMAND ROLE LASTSAVE WAIT
 *   SLOWLOG LATENCY, MEMORY but USAGE, or
 *   no argument
 *   OBJECT XINFO XGROUP BITOP MEMORY USAGE   the master of argv[2]'s slot
 *   MULTI EXEC DISCARD WATCH UNWATCH SELECT  refused: they need one connection or one
 *   SWAPDB MOVE SCAN KEYS RANDOMKEY          keyspace, which a cluster has not; XREAD,
 *   SUBSCRIBE PSUBSCRIBE MONITOR XREAD       XREADGROUP and MIGRATE: keys elsewhere,
 *   XREADGROUP MIGRATE                       not routed yet
 *   anything else                            the master of argv[1]'s slot (a multi-key
 *                                            command with keys of several slots gets
 *                                            Redis's own CROSSSLOT error reply)
 *
 * Redirections. MOVED: the slot's owner is updated, the map reloaded, the
 * command re-sent to the new owner. ASK: ASKING then the command, to the
 * target, once (the map stays). TRYAGAIN, CLUSTERDOWN and connection
 * errors: a backoff (50 ms doubling to 1 s), a map reload, another try. A
 * command is tried at most CL_TRIES times within max(timeout, 2 s), as a
 * single-node reconnect is; then the caller gets NULL/-1 and errstr.
 *
 * Pipelines. The commands are grouped by target node; each node's part is
 * appended (ASKING before an ASKed command) and written whole, every node's
 * before any is read, then replies are read node after node into the
 * caller's positions, so the caller sees the reply array one node would
 * give. Commands redirected or left unanswered (a connection lost) go to
 * another round after a map reload. Commands of one slot keep their order
 * within a round; a redirected one runs after the others of its round (one
 * key is served by one node at a time, so this only reorders different
 * keys of a slot under migration). Broadcast commands in a pipeline split
 * it: the part before, the broadcast, the part after. As on a single node,
 * a command whose connection failed before its reply is re-sent: retried
 * work must be idempotent. cm_rcluster_pipe_send and _recv split the first
 * round: send writes every node's part and returns; recv reads the replies
 * and runs any further rounds (a redirected command had not run). A
 * command send cannot write at once (its node lost, its slot's master
 * unknown) makes send finish the whole pipeline before it returns: what
 * the caller does next may count on the writes (the notifier's email
 * gate). Only a redirection read by recv, a slot moved since the map was
 * last right, completes after.
 *
 * Scripts. SCRIPT LOAD goes to every master; a NOSCRIPT reply (a new or
 * promoted master) stays in the replies, for redis.c to reload and re-run
 * as it does on one node.
 *
 * Not supported: reads from replicas, transactions, pub/sub, SCAN over the
 * whole cluster, TLS. */
#include "redis_cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "redis_slot.h"

#define CL_TRIES     16
#define CL_NODES_MAX 1024

typedef struct cl_node {
    char host[256];
    int port;
    redisContext *c; /* NULL: not connected */
} cl_node;

struct cm_rcluster {
    cm_redis_url url;
    int timeout_ms;
    cl_node *nodes;
    int nnodes, cap;
    int16_t slots[CM_REDIS_SLOTS]; /* index into nodes, -1: no master known */
    int stale;                     /* reload the map before the next try */
    int prefer;                    /* ask this node first (a MOVED's target); -1 */
    struct cl_pipe *pend;          /* sent by cm_rcluster_pipe_send, not yet read */
    int pend_done;                 /* ... or already finished by it */
};

static void pp_free(struct cl_pipe *pp);

enum {
    R_SLOT = CM_RCLUSTER_SLOT,
    R_ANY = CM_RCLUSTER_ANY,
    R_ALL = CM_RCLUSTER_ALL,
    R_SUM = CM_RCLUSTER_SUM
};

/* ---- nodes ------------------------------------------------------------- */

/* Index of host:port in nodes[], added when new; -1 when full. */
static int node_find(cm_rcluster *cl, const char *host, size_t hostlen, int port)
{
    if (hostlen >= sizeof(cl->nodes[0].host))
        return -1;
    for (int i = 0; i < cl->nnodes; i++)
        if (cl->nodes[i].port == port && strlen(cl->nodes[i].host) == hostlen &&
            memcmp(cl->nodes[i].host, host, hostlen) == 0)
            return i;
    if (cl->nnodes == cl->cap) {
        int cap = cl->cap ? cl->cap * 2 : 8;
        cl_node *nn;
        if (cap > CL_NODES_MAX || !(nn = realloc(cl->nodes, (size_t)cap * sizeof(*nn))))
            return -1;
        cl->nodes = nn;
        cl->cap = cap;
    }
    cl_node *n = &cl->nodes[cl->nnodes];
    memset(n, 0, sizeof(*n));
    memcpy(n->host, host, hostlen);
    n->port = port;
    return cl->nnodes++;
}

static void node_drop(cm_rcluster *cl, int i)
{
    if (cl->nodes[i].c) {
        redisFree(cl->nodes[i].c);
        cl->nodes[i].c = NULL;
    }
}

static redisContext *node_conn(cm_rcluster *cl, int i, char *errstr, size_t errlen)
{
    cl_node *n = &cl->nodes[i];
    if (!n->c)
        n->c = cm_redis_node_open(n->host, n->port, &cl->url, cl->timeout_ms, errstr, errlen);
    return n->c;
}

/* ---- the slot map ------------------------------------------------------ */

static int load_map_from(cm_rcluster *cl, int i, char *errstr, size_t errlen)
{
    char asked[256];
    int rc = -1;
    redisContext *c = node_conn(cl, i, errstr, errlen);
    if (!c)
        return -1;
    snprintf(asked, sizeof asked, "%s", cl->nodes[i].host);
    int port = cl->nodes[i].port;
    redisReply *rep = redisCommand(c, "CLUSTER SLOTS");
    int16_t *map = malloc(sizeof(cl->slots));
    if (!rep) {
        snprintf(errstr, errlen, "CLUSTER SLOTS on %s:%d: %s", asked, port, c->errstr);
        node_drop(cl, i);
        goto cleanup;
    }
    if (rep->type != REDIS_REPLY_ARRAY) {
        snprintf(errstr, errlen, "CLUSTER SLOTS on %s:%d: %s", asked, port,
                 rep->type == REDIS_REPLY_ERROR ? rep->str : "not an array");
        goto cleanup;
    }
    if (!map) {
        snprintf(errstr, errlen, "out of memory");
        goto cleanup;
    }
    for (int s = 0; s < CM_REDIS_SLOTS; s++)
        map[s] = -1;
    for (size_t k = 0; k < rep->elements; k++) {
        const redisReply *e = rep->element[k], *m;
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
            e->element[0]->type != REDIS_REPLY_INTEGER ||
            e->element[1]->type != REDIS_REPLY_INTEGER ||
            (m = e->element[2])->type != REDIS_REPLY_ARRAY || m->elements < 2 ||
            m->element[0]->type != REDIS_REPLY_STRING ||
            m->element[1]->type != REDIS_REPLY_INTEGER) {
            snprintf(errstr, errlen, "CLUSTER SLOTS on %s:%d: unexpected entry %zu", asked, port,
                     k);
            goto cleanup;
        }
        long long from = e->element[0]->integer, to = e->element[1]->integer;
        const char *h = m->element[0]->str;
        size_t hl = m->element[0]->len;
        if (hl == 0 || (hl == 1 && h[0] == '?')) { /* unknown endpoint: the node asked */
            h = asked;
            hl = strlen(asked);
        }
        int ni = node_find(cl, h, hl, (int)m->element[1]->integer);
        if (ni < 0 || from < 0 || to >= CM_REDIS_SLOTS || from > to) {
            snprintf(errstr, errlen, "CLUSTER SLOTS on %s:%d: bad range %lld-%lld", asked, port,
                     from, to);
            goto cleanup;
        }
        for (long long s = from; s <= to; s++)
            map[s] = (int16_t)ni;
    }
    memcpy(cl->slots, map, sizeof(cl->slots));
    if (cl->stale)
        cm_log_info("redis cluster: slot map reloaded from %s:%d", asked, port);
    cl->stale = 0;
    rc = 0;
cleanup:
    if (rep)
        freeReplyObject(rep);
    free(map);
    return rc;
}

/* Reloads the map from the first node that answers: the target of the
 * last MOVED (it knows it owns the slot, when others may not yet), then
 * connected ones, then the others. */
static int refresh(cm_rcluster *cl, char *errstr, size_t errlen)
{
    int prefer = cl->prefer;
    cl->prefer = -1;
    if (prefer >= 0 && load_map_from(cl, prefer, errstr, errlen) == 0)
        return 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < cl->nnodes; i++)
            if ((pass == 0) == (cl->nodes[i].c != NULL) &&
                load_map_from(cl, i, errstr, errlen) == 0)
                return 0;
    return -1;
}

static int any_master(const cm_rcluster *cl)
{
    for (int s = 0; s < CM_REDIS_SLOTS; s++)
        if (cl->slots[s] >= 0)
            return cl->slots[s];
    return -1;
}

/* Distinct masters of the map into out (room for nnodes); their count. */
static int masters(const cm_rcluster *cl, int *out)
{
    int n = 0;
    for (int s = 0; s < CM_REDIS_SLOTS; s++) {
        int m = cl->slots[s], seen = 0;
        if (m < 0)
            continue;
        for (int k = 0; k < n && !seen; k++)
            seen = out[k] == m;
        if (!seen)
            out[n++] = m;
    }
    return n;
}

cm_rcluster *cm_rcluster_new(const cm_redis_url *u, int timeout_ms, char *errstr, size_t errlen)
{
    cm_rcluster *cl = calloc(1, sizeof(*cl));
    if (!cl) {
        snprintf(errstr, errlen, "out of memory");
        return NULL;
    }
    cl->url = *u;
    cl->url.db = 0;
    cl->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    cl->prefer = -1;
    for (int s = 0; s < CM_REDIS_SLOTS; s++)
        cl->slots[s] = -1;
    for (int i = 0; i < u->nseeds; i++)
        if (node_find(cl, u->seeds[i].host, strlen(u->seeds[i].host), u->seeds[i].port) < 0) {
            snprintf(errstr, errlen, "out of memory");
            cm_rcluster_free(cl);
            return NULL;
        }
    if (refresh(cl, errstr, errlen) != 0) {
        cm_rcluster_free(cl);
        return NULL;
    }
    return cl;
}

void cm_rcluster_free(cm_rcluster *cl)
{
    if (!cl)
        return;
    for (int i = 0; i < cl->nnodes; i++)
        node_drop(cl, i);
    pp_free(cl->pend);
    free(cl->nodes);
    free(cl);
}

/* ---- routing ----------------------------------------------------------- */

typedef struct arg {
    const char *p;
    size_t len;
} arg;

/* The next bulk string of a RESP command at *pos; 0, or -1 malformed. */
static int resp_next(const char **pos, const char *end, arg *a)
{
    const char *s = *pos;
    size_t len = 0;
    if (s >= end || *s != '$')
        return -1;
    for (s++; s < end && *s >= '0' && *s <= '9'; s++)
        if ((len = len * 10 + (size_t)(*s - '0')) > (size_t)(end - s)) /* no wrap */
            return -1;
    if (end - s < 4 || s[0] != '\r' || (size_t)(end - s - 4) < len)
        return -1;
    a->p = s + 2;
    a->len = len;
    *pos = s + 2 + len + 2;
    return 0;
}

static int is(const arg *a, const char *name)
{
    return a->len == strlen(name) && strncasecmp(a->p, name, a->len) == 0;
}

static int is_any(const arg *a, const char *const *names)
{
    for (; *names; names++)
        if (is(a, *names))
            return 1;
    return 0;
}

static const char *const SCRIPT_CMDS[] = {"EVAL",  "EVALSHA",  "EVAL_RO", "EVALSHA_RO",
                                          "FCALL", "FCALL_RO", NULL};
static const char *const ALL_CMDS[] = {"SCRIPT", "FLUSHALL", "FLUSHDB", "FUNCTION", NULL};
static const char *const ANY_CMDS[] = {"PING",   "ECHO",    "INFO",    "TIME", "CLUSTER",
                                       "CONFIG", "CLIENT",  "COMMAND", "ROLE", "LASTSAVE",
                                       "WAIT",   "SLOWLOG", "LATENCY", NULL};
/* the key is argv[2] (MEMORY: only MEMORY USAGE has one) */
static const char *const KEY2_CMDS[] = {"OBJECT", "XINFO", "XGROUP", "BITOP", "MEMORY", NULL};
static const char *const REFUSED_CMDS[] = {
    "MULTI",   "EXEC",       "DISCARD", "WATCH",      "UNWATCH",   "SELECT",
    "SWAPDB",  "MOVE",       "SCAN",    "KEYS",       "RANDOMKEY", "SUBSCRIBE",
    "MONITOR", "PSUBSCRIBE", "XREAD",   "XREADGROUP", "MIGRATE",   NULL};

/* Where a RESP-encoded command goes: *kind (R_*) and, for R_SLOT, *slot.
 * -1 with errstr when it cannot be routed. */
static int route(const char *cmd, size_t len, int *kind, int *slot, char *errstr, size_t errlen)
{
    const char *pos = cmd, *end = cmd + len;
    long argc = 0;
    arg name, a;
    *slot = -1;
    if (pos < end && *pos == '*')
        for (pos++; pos < end && *pos >= '0' && *pos <= '9' && argc < 1000000000; pos++)
            argc = argc * 10 + (*pos - '0');
    pos = memchr(cmd, '\n', len);
    if (argc < 1 || !pos || (pos++, resp_next(&pos, end, &name) != 0)) {
        snprintf(errstr, errlen, "redis cluster: malformed command");
        return -1;
    }
    if (is_any(&name, REFUSED_CMDS)) {
        snprintf(errstr, errlen,
                 "redis cluster: %.*s is not supported on a cluster by common/redis",
                 (int)(name.len > 32 ? 32 : name.len), name.p);
        return -1;
    }
    if (is(&name, "DBSIZE")) {
        *kind = R_SUM;
        return 0;
    }
    if (is_any(&name, ALL_CMDS)) {
        *kind = R_ALL;
        return 0;
    }
    if (argc == 1 || is_any(&name, ANY_CMDS)) {
        *kind = R_ANY;
        return 0;
    }
    *kind = R_SLOT;
    if (resp_next(&pos, end, &a) != 0)
        goto malformed;
    if (is_any(&name, KEY2_CMDS)) {
        if ((is(&name, "MEMORY") && !is(&a, "USAGE")) || argc < 3) {
            *kind = R_ANY;
            return 0;
        }
        if (resp_next(&pos, end, &a) != 0)
            goto malformed;
    }
    if (!is_any(&name, SCRIPT_CMDS)) {
        *slot = cm_redis_key_slot(a.p, a.len);
        return 0;
    }
    /* a script: a = the script or SHA, then numkeys, then the keys */
    arg nk, first = {0};
    long nkeys = 0;
    if (resp_next(&pos, end, &nk) != 0)
        goto malformed;
    for (size_t i = 0; i < nk.len; i++) {
        if (nk.p[i] < '0' || nk.p[i] > '9' || nkeys > 1000000)
            goto malformed;
        nkeys = nkeys * 10 + (nk.p[i] - '0');
    }
    if (nkeys == 0 || nkeys > argc - 3) {
        *kind = R_ANY; /* Redis answers a bad numkeys itself */
        return 0;
    }
    for (long k = 0; k < nkeys; k++) {
        if (resp_next(&pos, end, &a) != 0)
            goto malformed;
        int s = cm_redis_key_slot(a.p, a.len);
        if (k == 0) {
            first = a;
            *slot = s;
        } else if (s != *slot) {
            snprintf(errstr, errlen,
                     "redis cluster: %.*s keys of several slots: '%.*s' slot %d, '%.*s' slot %d "
                     "(a script's keys must share a hash tag)",
                     (int)name.len, name.p, (int)(first.len > 64 ? 64 : first.len), first.p, *slot,
                     (int)(a.len > 64 ? 64 : a.len), a.p, s);
            return -1;
        }
    }
    return 0;
malformed:
    snprintf(errstr, errlen, "redis cluster: malformed command");
    return -1;
}

int cm_rcluster_route(const char *cmd, size_t len, int *slot, char *errstr, size_t errlen)
{
    int kind;
    return route(cmd, len, &kind, slot, errstr, errlen) == 0 ? kind : -1;
}

/* ---- one command ------------------------------------------------------- */

static redisReply *error_reply(const char *msg)
{
    redisReply *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->type = REDIS_REPLY_ERROR;
    r->str = strdup(msg);
    if (!r->str) {
        free(r);
        return NULL;
    }
    r->len = strlen(msg);
    return r;
}

/* Redirection in rep: 1 MOVED (the slot's owner updated), 2 ASK; *target
 * the node named; 0 none. */
static int redirect(cm_rcluster *cl, int from, const redisReply *rep, int *target)
{
    if (rep->type != REDIS_REPLY_ERROR)
        return 0;
    int kind = strncmp(rep->str, "MOVED ", 6) == 0 ? 1 : strncmp(rep->str, "ASK ", 4) == 0 ? 2 : 0;
    if (!kind)
        return 0;
    const char *sl = rep->str + (kind == 1 ? 6 : 4);
    const char *hp = strchr(sl, ' '), *colon;
    if (!hp || !(colon = strrchr(++hp, ':')))
        return 0;
    long slot = strtol(sl, NULL, 10);
    int port = atoi(colon + 1);
    char host[256];
    if (colon == hp) /* "MOVED 3999 :6380": the host of the node asked */
        snprintf(host, sizeof host, "%s", cl->nodes[from].host);
    else
        snprintf(host, sizeof host, "%.*s", (int)(colon - hp), hp);
    int t = node_find(cl, host, strlen(host), port);
    if (t < 0)
        return 0;
    if (kind == 1 && slot >= 0 && slot < CM_REDIS_SLOTS) {
        cl->slots[slot] = (int16_t)t;
        cl->stale = 1;
        cl->prefer = t;
    }
    cm_log_debug("redis cluster: %s slot %ld to %s:%d", kind == 1 ? "MOVED" : "ASK", slot, host,
                 port);
    *target = t;
    return kind;
}

static int transient(const redisReply *rep)
{
    return rep->type == REDIS_REPLY_ERROR &&
           (strncmp(rep->str, "TRYAGAIN", 8) == 0 || strncmp(rep->str, "CLUSTERDOWN", 11) == 0);
}

/* Sends one command to node ni (ASKING first when asking); 0 with *out,
 * or -1 with errstr after a connection error (the connection dropped). */
static int exec_on(cm_rcluster *cl, int ni, const char *cmd, size_t len, int asking,
                   redisReply **out, char *errstr, size_t errlen)
{
    void *rep = NULL;
    redisContext *c = node_conn(cl, ni, errstr, errlen);
    if (!c)
        return -1;
    if ((asking && redisAppendCommand(c, "ASKING") != REDIS_OK) ||
        redisAppendFormattedCommand(c, cmd, len) != REDIS_OK)
        goto io;
    if (asking) {
        if (redisGetReply(c, &rep) != REDIS_OK || !rep)
            goto io;
        freeReplyObject(rep);
        rep = NULL;
    }
    if (redisGetReply(c, &rep) != REDIS_OK || !rep)
        goto io;
    *out = rep;
    return 0;
io:
    snprintf(errstr, errlen, "redis %s:%d I/O: %s", cl->nodes[ni].host, cl->nodes[ni].port,
             c->errstr);
    node_drop(cl, ni);
    return -1;
}

typedef struct retry {
    int64_t deadline;
    int tries, delay;
} retry;

static void reload_if_stale(cm_rcluster *cl)
{
    if (cl->stale) {
        char err[256];
        if (refresh(cl, err, sizeof err) != 0)
            cm_log_warn("redis cluster: reloading the slot map: %s", err);
    }
}

/* A retry budget; reloads a stale map first. The budget's time runs from
 * the first retry, so a long first try (a large pipeline) spends none. */
static void retry_init(cm_rcluster *cl, retry *rt)
{
    rt->deadline = 0;
    rt->tries = 0;
    rt->delay = 50;
    reload_if_stale(cl);
}

/* Before another try: 0 when one is left (after the backoff when wait),
 * -1 when the budget is spent. Reloads a stale map. */
static int retry_next(cm_rcluster *cl, retry *rt, int wait)
{
    if (!rt->deadline)
        rt->deadline = cm_mono_ms() + (cl->timeout_ms < 2000 ? 2000 : cl->timeout_ms);
    if (++rt->tries >= CL_TRIES || cm_mono_ms() > rt->deadline)
        return -1;
    if (wait) {
        struct timespec ts = {rt->delay / 1000, (rt->delay % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        rt->delay = rt->delay * 2 > 1000 ? 1000 : rt->delay * 2;
    }
    reload_if_stale(cl);
    return 0;
}

static redisReply *broadcast(cm_rcluster *cl, const char *cmd, size_t len, int kind, char *errstr,
                             size_t errlen)
{
    int *ms = malloc(sizeof(int) * (size_t)(cl->nnodes ? cl->nnodes : 1));
    redisReply *first = NULL;
    retry rt;
    if (!ms) {
        snprintf(errstr, errlen, "out of memory");
        return NULL;
    }
    retry_init(cl, &rt);
    for (;;) {
        int n = masters(cl, ms), failed = n == 0;
        long long sum = 0;
        if (!n)
            snprintf(errstr, errlen, "redis cluster: no master in the slot map");
        for (int k = 0; k < n && !failed; k++) {
            redisReply *rep;
            if (exec_on(cl, ms[k], cmd, len, 0, &rep, errstr, errlen) != 0) {
                failed = 1;
                break;
            }
            if (rep->type == REDIS_REPLY_ERROR) { /* the first error is the answer */
                if (first)
                    freeReplyObject(first);
                free(ms);
                return rep;
            }
            if (rep->type == REDIS_REPLY_INTEGER)
                sum += rep->integer;
            if (!first)
                first = rep;
            else
                freeReplyObject(rep);
        }
        if (!failed) {
            if (kind == R_SUM && first)
                first->integer = sum;
            free(ms);
            return first;
        }
        if (first)
            freeReplyObject(first);
        first = NULL;
        cl->stale = 1;
        /* masters() may now name more nodes than before */
        int *m2 = realloc(ms, sizeof(int) * (size_t)cl->nnodes);
        if (!m2 || retry_next(cl, &rt, 1) != 0) {
            free(m2 ? m2 : ms);
            return NULL;
        }
        ms = m2;
    }
}

redisReply *cm_rcluster_run(cm_rcluster *cl, const char *cmd, size_t len, char *errstr,
                            size_t errlen)
{
    int kind, slot, ask = -1;
    retry rt;
    if (route(cmd, len, &kind, &slot, errstr, errlen) != 0)
        return NULL;
    if (kind == R_ALL || kind == R_SUM)
        return broadcast(cl, cmd, len, kind, errstr, errlen);
    retry_init(cl, &rt);
    for (;;) {
        int ni = ask >= 0 ? ask : kind == R_ANY ? any_master(cl) : cl->slots[slot];
        int wait = 1, rd = 0, t = -1;
        redisReply *rep = NULL;
        if (ni < 0) {
            snprintf(errstr, errlen, "redis cluster: slot %d has no master in the slot map", slot);
            cl->stale = 1;
        } else if (exec_on(cl, ni, cmd, len, ask >= 0, &rep, errstr, errlen) != 0) {
            cl->stale = 1;
        } else {
            rd = redirect(cl, ni, rep, &t);
            if (!rd && !transient(rep))
                return rep;
            snprintf(errstr, errlen, "redis: %s", rep->str);
            freeReplyObject(rep);
            if (!rd)
                cl->stale = 1; /* TRYAGAIN, CLUSTERDOWN */
            wait = !rd;        /* a redirection is followed at once */
        }
        ask = rd == 2 ? t : -1;
        if (retry_next(cl, &rt, wait) != 0)
            return NULL;
    }
}

/* ---- pipelines --------------------------------------------------------- */

/* One pipeline in flight: cmds[0..n) (none a broadcast) into
 * replies[0..n). A round writes every pending command to its node (each
 * node's part whole, every node's before any is read), then reads the
 * replies; redirected or unanswered commands go to the next round. */
typedef struct cl_pipe {
    char *const *cmds;
    const size_t *lens;
    size_t n;
    redisReply **replies;
    int *slot, *kind, *ask, *target;
    int *used; /* the nodes written to this round, -1: lost on write */
    int nused;
    int wait; /* back off before the next round */
    retry rt;
} cl_pipe;

/* Frees replies[0..n) that are set, leaving each NULL. */
static void drop_replies(redisReply **replies, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (replies[i]) {
            freeReplyObject(replies[i]);
            replies[i] = NULL;
        }
}

static void pp_free(cl_pipe *pp)
{
    if (!pp)
        return;
    free(pp->slot);
    free(pp->kind);
    free(pp->ask);
    free(pp->target);
    free(pp->used);
    free(pp);
}

/* Routes every command (a refused one gets an error reply in place) and
 * starts the retry budget. NULL with errstr (out of memory). */
static cl_pipe *pp_new(cm_rcluster *cl, char *const *cmds, const size_t *lens, size_t n,
                       redisReply **replies, char *errstr, size_t errlen)
{
    cl_pipe *pp = calloc(1, sizeof(*pp));
    size_t m = n ? n : 1;
    if (!pp || !(pp->slot = malloc(sizeof(int) * m)) || !(pp->kind = malloc(sizeof(int) * m)) ||
        !(pp->ask = malloc(sizeof(int) * m)) || !(pp->target = malloc(sizeof(int) * m)))
        goto oom;
    pp->cmds = cmds;
    pp->lens = lens;
    pp->n = n;
    pp->replies = replies;
    for (size_t i = 0; i < n; i++) {
        pp->ask[i] = -1;
        if (route(cmds[i], lens[i], &pp->kind[i], &pp->slot[i], errstr, errlen) != 0 &&
            !(replies[i] = error_reply(errstr)))
            goto oom;
    }
    retry_init(cl, &pp->rt);
    return pp;
oom:
    pp_free(pp);
    snprintf(errstr, errlen, "out of memory");
    return NULL;
}

/* The write half of a round: picks each pending command's node and writes
 * every node's part. The number of commands pending (0: all answered), or
 * -1 with errstr (out of memory). A node that fails is dropped (its
 * commands stay pending, the map is marked stale). */
static long pp_write(cm_rcluster *cl, cl_pipe *pp, char *errstr, size_t errlen)
{
    long pending = 0;
    pp->nused = 0;
    pp->wait = 0;
    free(pp->used);
    if (!(pp->used = malloc(sizeof(int) * (size_t)(cl->nnodes ? cl->nnodes : 1)))) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < pp->n; i++) {
        pp->target[i] = -1;
        if (pp->replies[i])
            continue;
        pending++;
        int t = pp->ask[i] >= 0        ? pp->ask[i]
                : pp->kind[i] == R_ANY ? any_master(cl)
                                       : cl->slots[pp->slot[i]];
        if (t < 0) {
            snprintf(errstr, errlen, "redis cluster: slot %d has no master in the slot map",
                     pp->slot[i]);
            cl->stale = 1;
            pp->wait = 1;
            continue;
        }
        pp->target[i] = t;
        int seen = 0;
        for (int k = 0; k < pp->nused && !seen; k++)
            seen = pp->used[k] == t;
        if (!seen)
            pp->used[pp->nused++] = t;
    }
    for (int k = 0; k < pp->nused; k++) {
        int t = pp->used[k], done = 0;
        redisContext *c = node_conn(cl, t, errstr, errlen);
        for (size_t i = 0; c && i < pp->n; i++) {
            if (pp->target[i] != t)
                continue;
            if ((pp->ask[i] >= 0 && redisAppendCommand(c, "ASKING") != REDIS_OK) ||
                redisAppendFormattedCommand(c, pp->cmds[i], pp->lens[i]) != REDIS_OK)
                c = NULL;
        }
        while (c && !done)
            if (redisBufferWrite(c, &done) != REDIS_OK)
                c = NULL;
        if (!c) {
            if (cl->nodes[t].c)
                snprintf(errstr, errlen, "redis %s:%d I/O: %s", cl->nodes[t].host,
                         cl->nodes[t].port, cl->nodes[t].c->errstr);
            node_drop(cl, t);
            pp->used[k] = -1;
            cl->stale = 1;
            pp->wait = 1;
        }
    }
    return pending;
}

/* The read half of a round: each written node's replies into the caller's
 * positions; a redirection is noted for the next round, a lost node drops
 * (its commands stay pending). */
static void pp_read(cm_rcluster *cl, cl_pipe *pp, cm_redis_idle_fn idle, void *opaque, char *errstr,
                    size_t errlen)
{
    for (int k = 0; k < pp->nused; k++) {
        int t = pp->used[k];
        if (t < 0)
            continue;
        redisContext *c = cl->nodes[t].c;
        int64_t deadline = cm_mono_ms() + cl->timeout_ms;
        for (size_t i = 0; i < pp->n; i++) {
            void *rep = NULL;
            int to;
            if (pp->target[i] != t)
                continue;
            if (pp->ask[i] >= 0) {
                if (cm_redis_node_read(c, &rep, idle, opaque, deadline) != 0)
                    goto lost;
                freeReplyObject(rep);
                rep = NULL;
            }
            if (cm_redis_node_read(c, &rep, idle, opaque, deadline) != 0)
                goto lost;
            redisReply *rr = rep;
            int rd = redirect(cl, t, rr, &to);
            pp->ask[i] = rd == 2 ? to : -1;
            if (rd || transient(rr)) {
                snprintf(errstr, errlen, "redis: %s", rr->str);
                freeReplyObject(rr);
                if (!rd) {
                    cl->stale = 1;
                    pp->wait = 1;
                }
                continue;
            }
            pp->replies[i] = rr;
        }
        continue;
    lost:
        snprintf(errstr, errlen, "redis %s:%d I/O: %s", cl->nodes[t].host, cl->nodes[t].port,
                 c->errstr);
        node_drop(cl, t);
        cl->stale = 1;
        pp->wait = 1;
    }
    pp->nused = 0;
}

/* After the first round: further rounds until every command is answered
 * (0) or the retry budget is spent (-1 with errstr, every reply freed). */
static int pp_finish(cm_rcluster *cl, cl_pipe *pp, cm_redis_idle_fn idle, void *opaque,
                     char *errstr, size_t errlen)
{
    for (;;) {
        size_t pending = 0;
        for (size_t i = 0; i < pp->n; i++)
            pending += !pp->replies[i];
        if (!pending)
            return 0;
        long w;
        if (retry_next(cl, &pp->rt, pp->wait) != 0 || (w = pp_write(cl, pp, errstr, errlen)) < 0)
            break;
        if (w == 0)
            return 0;
        pp_read(cl, pp, idle, opaque, errstr, errlen);
    }
    drop_replies(pp->replies, pp->n);
    return -1;
}

/* Runs cmds[0..n) (none a broadcast) into replies[0..n); -1 with errstr. */
static int pipe_part(cm_rcluster *cl, char *const *cmds, const size_t *lens, size_t n,
                     redisReply **replies, cm_redis_idle_fn idle, void *opaque, char *errstr,
                     size_t errlen)
{
    int rc = -1;
    cl_pipe *pp = pp_new(cl, cmds, lens, n, replies, errstr, errlen);
    if (!pp)
        goto cleanup;
    long w = pp_write(cl, pp, errstr, errlen);
    if (w < 0)
        goto cleanup;
    if (w > 0)
        pp_read(cl, pp, idle, opaque, errstr, errlen);
    rc = pp_finish(cl, pp, idle, opaque, errstr, errlen);
cleanup:
    if (rc != 0)
        drop_replies(replies, n);
    pp_free(pp);
    return rc;
}

int cm_rcluster_pipe_send(cm_rcluster *cl, char *const *cmds, const size_t *lens, size_t n,
                          redisReply **replies, char *errstr, size_t errlen)
{
    if (cl->pend || cl->pend_done) {
        snprintf(errstr, errlen, "redis cluster: a pipeline is already in flight");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        replies[i] = NULL;
    cl_pipe *pp = pp_new(cl, cmds, lens, n, replies, errstr, errlen);
    for (size_t i = 0; pp && i < n; i++)
        if (!replies[i] && (pp->kind[i] == R_ALL || pp->kind[i] == R_SUM)) {
            drop_replies(replies, n);
            pp_free(pp);
            return 1; /* a broadcast: no split send */
        }
    if (!pp || pp_write(cl, pp, errstr, errlen) < 0) {
        drop_replies(replies, n);
        pp_free(pp);
        return -1;
    }
    /* a command that could not be written now (a node lost, a slot with no
     * master known) is not in flight: finish here, as a whole exec would,
     * so that a caller acting between send and recv finds its writes done */
    int written = 1;
    for (size_t i = 0; i < n && written; i++) {
        int in = replies[i] != NULL;
        for (int k = 0; k < pp->nused && !in; k++)
            in = pp->used[k] >= 0 && pp->used[k] == pp->target[i];
        written = in;
    }
    if (!written) {
        pp_read(cl, pp, NULL, NULL, errstr, errlen);
        int rc = pp_finish(cl, pp, NULL, NULL, errstr, errlen);
        pp_free(pp);
        if (rc != 0)
            return -1;
        cl->pend_done = 1;
        return 0;
    }
    cl->pend = pp; /* now owned by cl until the recv */
    return 0;
}

int cm_rcluster_pipe_recv(cm_rcluster *cl, char *errstr, size_t errlen)
{
    cl_pipe *pp = cl->pend;
    if (cl->pend_done) { /* finished by the send */
        cl->pend_done = 0;
        return 0;
    }
    if (!pp) {
        snprintf(errstr, errlen, "redis cluster: no pipeline in flight");
        return -1;
    }
    cl->pend = NULL;
    pp_read(cl, pp, NULL, NULL, errstr, errlen);
    int rc = pp_finish(cl, pp, NULL, NULL, errstr, errlen);
    pp_free(pp);
    return rc;
}

int cm_rcluster_pipe(cm_rcluster *cl, char *const *cmds, const size_t *lens, size_t n,
                     redisReply **replies, cm_redis_idle_fn idle, void *opaque, char *errstr,
                     size_t errlen)
{
    size_t from = 0;
    for (size_t i = 0; i < n; i++)
        replies[i] = NULL;
    for (size_t i = 0; i <= n; i++) {
        int kind = R_SLOT, slot;
        char err[64];
        if (i < n && (route(cmds[i], lens[i], &kind, &slot, err, sizeof err) != 0 ||
                      (kind != R_ALL && kind != R_SUM)))
            continue;
        /* cmds[from..i) then, when i < n, the broadcast cmds[i] */
        if (i > from && pipe_part(cl, cmds + from, lens + from, i - from, replies + from, idle,
                                  opaque, errstr, errlen) != 0)
            goto fail;
        if (i < n && !(replies[i] = cm_rcluster_run(cl, cmds[i], lens[i], errstr, errlen)))
            goto fail;
        from = i + 1;
    }
    return 0;
fail:
    drop_replies(replies, n);
    return -1;
}
