/* redis.c -- hiredis connection with reconnect, pipelines and scripts.
 *
 * Design: see redis.h. A redis+cluster:// connection keeps no context of
 * its own (c stays NULL): every command and pipeline goes to
 * redis_cluster.c, which opens its node connections with
 * cm_redis_node_open and reads them with cm_redis_node_read below. */
#include "redis.h"

#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <openssl/sha.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "arena.h"
#include "buf.h"
#include "clock.h"
#include "log.h"
#include "redis_cluster.h"

struct cm_redis {
    redisContext *c;
    cm_redis_url url;
    int timeout_ms;
    cm_redis_script *scripts[64]; /* loaded scripts, reloaded on NOSCRIPT */
    int nscripts;
    cm_rcluster *cluster; /* a redis+cluster:// URL; then c is unused */
    /* cm_redis_pipe_send_bg's writer: while wr_on, only it touches c;
     * every other use of c joins it first (writer_join) */
    pthread_t wr;
    const cm_redis_pipe *wr_pipe; /* what it writes */
    int wr_on, wr_failed;
    char wr_err[200];
};

/* Writes n formatted commands to c's socket straight from the caller's
 * buffers, 64 to a gathering write. hiredis' own path
 * (redisAppendFormattedCommand, then redisBufferWrite) copies each command
 * into its output buffer and grows that buffer by realloc, copying it
 * again: for the scheduler's commits of megabytes, most of its memcpy
 * (docs/scheduler.md, "Pipelines written from their own buffers"). The
 * write is sendmsg with MSG_NOSIGNAL: a connection Redis closed (CLIENT
 * KILL, a restart) answers EPIPE, not a SIGPIPE that would end the
 * process. c is blocking: EINTR is retried, any other failure (a send
 * timeout's EAGAIN too, as in hiredis) is left in c->err and c->errstr.
 * Whatever hiredis still holds to write goes first, so the order on the
 * wire is kept. */
static int write_cmds(redisContext *c, char *const *cmds, const size_t *lens, size_t n)
{
    enum { NIOV = 64 };
    struct iovec iov[NIOV];
    int done = 0;
    while (!done)
        if (redisBufferWrite(c, &done) != REDIS_OK)
            return -1;
    size_t i = 0, off = 0; /* the next byte to write: cmds[i] + off */
    while (i < n) {
        int k = 0;
        for (size_t j = i, o = off; j < n && k < NIOV; j++, o = 0) {
            iov[k].iov_base = cmds[j] + o;
            iov[k++].iov_len = lens[j] - o;
        }
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)k};
        ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL); /* a closed peer: EPIPE, no SIGPIPE */
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            c->err = REDIS_ERR_IO;
            snprintf(c->errstr, sizeof c->errstr, "%s", w < 0 ? strerror(errno) : "short write");
            return -1;
        }
        for (size_t left = (size_t)w; left > 0;) {
            size_t rest = lens[i] - off;
            if (left < rest) {
                off += left;
                break;
            }
            left -= rest;
            i++;
            off = 0;
        }
    }
    return 0;
}

/* -1 when the last write failed (the connection is then closed, errstr
 * says why), else 0. */
static int writer_result(cm_redis *r, char *errstr, size_t errlen)
{
    if (!r->wr_failed)
        return 0;
    r->wr_failed = 0;
    if (errstr)
        snprintf(errstr, errlen, "redis I/O: %s", r->wr_err);
    redisFree(r->c);
    r->c = NULL;
    return -1;
}

/* Waits for the background writer, if one runs: writer_result. */
static int writer_join(cm_redis *r, char *errstr, size_t errlen)
{
    if (!r->wr_on)
        return 0;
    pthread_join(r->wr, NULL);
    r->wr_on = 0;
    return writer_result(r, errstr, errlen);
}

struct cm_redis_pipe {
    char **cmds;
    size_t *lens;
    size_t n, cap;
    redisReply **replies;
    size_t nreplies;
    cm_arena arena; /* the replies read on a single node (see below) */
    int use_arena;  /* made by cm_redis_pipe_new_arena */
};

/* ---- replies in the pipeline's arena ----------------------------------------
 *
 * hiredis allocates each reply object and each string of a reply with
 * malloc, and freeReplyObject frees them one by one: for a pipeline of a
 * few thousand commands, many with array replies (the scheduler's peeks
 * and loads, HGETALL of a debtor's 17 fields), that was a tenth of the
 * scheduler's instructions (docs/scheduler.md). A pipeline made by
 * cm_redis_pipe_new_arena and read on a single-node connection builds its
 * replies in its own arena instead, with
 * these object functions (the same objects as hiredis's own, in hiredis
 * 0.14's layout), swapped into the connection's reader for the read and
 * back after; the arena is dropped with the replies. Replies that come
 * from elsewhere into p->replies (a cluster's nodes, a NOSCRIPT re-run)
 * are hiredis's own and freed with freeReplyObject: free_replies tells
 * them apart by address (cm_arena_owns). freeObject is a no-op: the reader
 * calls it on a partial reply when a read fails, and the arena frees it. */
static redisReply *arena_obj(const redisReadTask *t, int type)
{
    cm_redis_pipe *p = t->privdata;
    redisReply *r = cm_arena_alloc(&p->arena, sizeof *r);
    if (!r)
        return NULL;
    memset(r, 0, sizeof *r);
    r->type = type;
    if (t->parent) {
        redisReply *parent = t->parent->obj;
        parent->element[t->idx] = r;
    }
    return r;
}

static void *arena_string(const redisReadTask *t, char *str, size_t len)
{
    cm_redis_pipe *p = t->privdata;
    char *buf = cm_arena_alloc(&p->arena, len + 1);
    if (!buf)
        return NULL;
    redisReply *r = arena_obj(t, t->type);
    if (!r)
        return NULL;
    memcpy(buf, str, len);
    buf[len] = 0;
    r->str = buf;
    r->len = len;
    return r;
}

static void *arena_array(const redisReadTask *t, int elements)
{
    cm_redis_pipe *p = t->privdata;
    redisReply **el = NULL;
    if (elements > 0 && !(el = cm_arena_alloc(&p->arena, (size_t)elements * sizeof *el)))
        return NULL;
    redisReply *r = arena_obj(t, REDIS_REPLY_ARRAY);
    if (!r)
        return NULL;
    if (el)
        memset(el, 0, (size_t)elements * sizeof *el);
    r->element = el;
    r->elements = elements > 0 ? (size_t)elements : 0;
    return r;
}

static void *arena_integer(const redisReadTask *t, long long value)
{
    redisReply *r = arena_obj(t, REDIS_REPLY_INTEGER);
    if (r)
        r->integer = value;
    return r;
}

static void *arena_nil(const redisReadTask *t)
{
    return arena_obj(t, REDIS_REPLY_NIL);
}

static void arena_free_obj(void *o)
{
    (void)o;
}

static redisReplyObjectFunctions arena_fns = {arena_string, arena_array, arena_integer, arena_nil,
                                              arena_free_obj};

/* Points c's reader at p's arena for a read; returns the functions to put
 * back with arena_end. */
static redisReplyObjectFunctions *arena_begin(redisContext *c, cm_redis_pipe *p)
{
    redisReplyObjectFunctions *old = c->reader->fn;
    if (!p->use_arena)
        return old;
    c->reader->fn = &arena_fns;
    c->reader->privdata = p;
    return old;
}

static void arena_end(redisContext *c, redisReplyObjectFunctions *old)
{
    c->reader->fn = old;
    c->reader->privdata = NULL;
}

/* host[:port] of len bytes into host/port (port 6379 when absent). */
static int parse_hostport(const char *hostp, size_t hl, char *host, size_t hostsize, int *port,
                          const char *form, char *errstr, size_t errlen)
{
    const char *colon = memchr(hostp, ':', hl);
    size_t namelen = colon ? (size_t)(colon - hostp) : hl;
    if (namelen == 0 || namelen >= hostsize) {
        snprintf(errstr, errlen, "missing host (%s)", form);
        return -1;
    }
    for (size_t i = 0; i < namelen; i++) {
        if (!isalnum((unsigned char)hostp[i]) && hostp[i] != '.' && hostp[i] != '-' &&
            hostp[i] != '_') {
            snprintf(errstr, errlen, "invalid character '%c' in host", hostp[i]);
            return -1;
        }
    }
    memcpy(host, hostp, namelen);
    host[namelen] = 0;
    *port = 6379;
    if (colon) {
        long v = 0;
        const char *d = colon + 1;
        if (d == hostp + hl) {
            snprintf(errstr, errlen, "empty port");
            return -1;
        }
        for (; d < hostp + hl; d++) {
            if (!isdigit((unsigned char)*d) || v > 65535) {
                snprintf(errstr, errlen, "port must be 1..65535");
                return -1;
            }
            v = v * 10 + (*d - '0');
        }
        if (v < 1 || v > 65535) {
            snprintf(errstr, errlen, "port must be 1..65535");
            return -1;
        }
        *port = (int)v;
    }
    return 0;
}

#define FORM_SINGLE  "redis://[[user]:password@]host:port[/db]"
#define FORM_CLUSTER "redis+cluster://[[user]:password@]host:port[,host:port...]"

int cm_redis_url_parse(const char *url, cm_redis_url *out, char *errstr, size_t errlen)
{
    const char *p, *hostp, *at, *slash, *form = FORM_SINGLE;
    memset(out, 0, sizeof(*out));
    out->port = 6379;
    if (url && strncmp(url, "redis+cluster://", 16) == 0) {
        out->cluster = 1;
        form = FORM_CLUSTER;
        p = url + 16;
    } else if (url && strncmp(url, "redis://", 8) == 0) {
        p = url + 8;
    } else {
        snprintf(errstr, errlen, "must start with redis:// (%s) or redis+cluster:// (%s)",
                 FORM_SINGLE, FORM_CLUSTER);
        return -1;
    }
    slash = strchr(p, '/');
    at = memchr(p, '@', slash ? (size_t)(slash - p) : strlen(p));
    if (!at) /* the password may contain '/' */
        at = strrchr(p, '@');
    hostp = p;
    if (at) {
        const char *pc = memchr(p, ':', (size_t)(at - p));
        if (!pc || (size_t)(at - pc - 1) >= sizeof(out->password) ||
            (size_t)(pc - p) >= sizeof(out->user)) {
            snprintf(errstr, errlen, "credentials must be ':password@' or 'user:password@'");
            return -1;
        }
        memcpy(out->user, p, (size_t)(pc - p));
        memcpy(out->password, pc + 1, (size_t)(at - pc - 1));
        hostp = at + 1;
    }
    slash = strchr(hostp, '/');
    size_t hl = slash ? (size_t)(slash - hostp) : strlen(hostp);
    if (!out->cluster) {
        if (parse_hostport(hostp, hl, out->host, sizeof(out->host), &out->port, form, errstr,
                           errlen) != 0)
            return -1;
    } else {
        const char *s = hostp, *end = hostp + hl;
        for (;;) {
            const char *comma = memchr(s, ',', (size_t)(end - s));
            size_t len = comma ? (size_t)(comma - s) : (size_t)(end - s);
            if (out->nseeds == CM_REDIS_SEEDS_MAX) {
                snprintf(errstr, errlen, "at most %d seed nodes", CM_REDIS_SEEDS_MAX);
                return -1;
            }
            if (parse_hostport(s, len, out->seeds[out->nseeds].host, sizeof(out->seeds[0].host),
                               &out->seeds[out->nseeds].port, form, errstr, errlen) != 0)
                return -1;
            out->nseeds++;
            if (!comma)
                break;
            s = comma + 1;
        }
        memcpy(out->host, out->seeds[0].host, sizeof(out->host));
        out->port = out->seeds[0].port;
    }
    if (slash && slash[1]) {
        long db = 0;
        for (const char *d = slash + 1; *d; d++) {
            if (!isdigit((unsigned char)*d) || db > 1000000) {
                snprintf(errstr, errlen, "database must be a number");
                return -1;
            }
            db = db * 10 + (*d - '0');
        }
        if (out->cluster && db != 0) {
            snprintf(errstr, errlen, "a Redis Cluster has only database 0 (%s)", form);
            return -1;
        }
        out->db = (int)db;
    }
    return 0;
}

redisContext *cm_redis_node_open(const char *host, int port, const cm_redis_url *u, int timeout_ms,
                                 char *errstr, size_t errlen)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisReply *rep;
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (!c || c->err) {
        snprintf(errstr, errlen, "connect %s:%d: %s", host, port, c ? c->errstr : "out of memory");
        goto fail;
    }
    struct timeval io = {10, 0}; /* a blocked Redis must not hang a service */
    redisSetTimeout(c, io);
    redisEnableKeepAlive(c);
    if (u->password[0]) { /* AUTH [user] password: an ACL user, or the default one */
        rep = u->user[0] ? redisCommand(c, "AUTH %s %s", u->user, u->password)
                         : redisCommand(c, "AUTH %s", u->password);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
            snprintf(errstr, errlen, "AUTH%s%s failed: %s", u->user[0] ? " as " : "", u->user,
                     rep ? rep->str : c->errstr);
            if (rep)
                freeReplyObject(rep);
            goto fail;
        }
        freeReplyObject(rep);
    }
    if (u->db) {
        rep = redisCommand(c, "SELECT %d", u->db);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
            snprintf(errstr, errlen, "SELECT %d failed: %s", u->db, rep ? rep->str : c->errstr);
            if (rep)
                freeReplyObject(rep);
            goto fail;
        }
        freeReplyObject(rep);
    }
    return c;
fail:
    if (c)
        redisFree(c);
    return NULL;
}

static int do_connect(cm_redis *r, char *errstr, size_t errlen)
{
    writer_join(r, NULL, 0);
    if (r->c) {
        redisFree(r->c);
        r->c = NULL;
    }
    r->c = cm_redis_node_open(r->url.host, r->url.port, &r->url, r->timeout_ms, errstr, errlen);
    return r->c ? 0 : -1;
}

/* Reconnects with backoff for at most the connect timeout (at least 2 s). */
static int reconnect(cm_redis *r, char *errstr, size_t errlen)
{
    int waited = 0, delay = 50, budget = r->timeout_ms < 2000 ? 2000 : r->timeout_ms;
    for (;;) {
        if (do_connect(r, errstr, errlen) == 0) {
            cm_log_info("redis: reconnected");
            return 0;
        }
        if (waited >= budget)
            return -1;
        struct timespec ts = {delay / 1000, (delay % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        waited += delay;
        delay = delay * 2 > 2000 ? 2000 : delay * 2;
    }
}

cm_redis *cm_redis_connect(const char *url, int timeout_ms, char *errstr, size_t errlen)
{
    cm_redis *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(errstr, errlen, "out of memory");
        return NULL;
    }
    r->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    if (cm_redis_url_parse(url, &r->url, errstr, errlen) != 0) {
        free(r);
        return NULL;
    }
    if (r->url.cluster ? !(r->cluster = cm_rcluster_new(&r->url, r->timeout_ms, errstr, errlen))
                       : do_connect(r, errstr, errlen) != 0) {
        free(r);
        return NULL;
    }
    return r;
}

int cm_redis_prefix_check(int cluster, const char *setting, const char *prefix, const char *tag,
                          char *errstr, size_t errlen)
{
    if (!cluster || !prefix || !strpbrk(prefix, "{}"))
        return 0;
    snprintf(errstr, errlen,
             "%s: must not hold '{' or '}' on a Redis Cluster (the keys' hash tag is %s)", setting,
             tag);
    return -1;
}

int cm_redis_is_cluster(const cm_redis *r)
{
    return r->cluster != NULL;
}

cm_redis *cm_redis_connect_until(const char *url, volatile sig_atomic_t *run, char *errstr,
                                 size_t errlen)
{
    for (int attempt = 1; *run; attempt++) {
        cm_redis *r = cm_redis_connect(url, 5000, errstr, errlen);
        if (r)
            return r;
        cm_log_warn("redis connect failed (attempt %d): %s", attempt, errstr);
        for (int i = 0; i < 10 && *run; i++) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

void cm_redis_free(cm_redis *r)
{
    if (!r)
        return;
    writer_join(r, NULL, 0);
    if (r->c)
        redisFree(r->c);
    cm_rcluster_free(r->cluster);
    free(r);
}

/* Runs one formatted command, reconnecting and retrying once on I/O
 * errors (a cluster: routed, with its own retries). The reply, an error
 * reply too; NULL on I/O failure. */
static redisReply *run_raw(cm_redis *r, const char *cmd, size_t len, char *errstr, size_t errlen)
{
    writer_join(r, NULL, 0); /* a failed write closed c: reconnect below */
    if (r->cluster)
        return cm_rcluster_run(r->cluster, cmd, len, errstr, errlen);
    for (int attempt = 0; attempt < 2; attempt++) {
        void *rep = NULL;
        if (!r->c && reconnect(r, errstr, errlen) != 0)
            return NULL;
        if (redisAppendFormattedCommand(r->c, cmd, len) == REDIS_OK &&
            redisGetReply(r->c, &rep) == REDIS_OK && rep)
            return rep;
        snprintf(errstr, errlen, "redis I/O: %s", r->c->errstr);
        redisFree(r->c);
        r->c = NULL;
    }
    return NULL;
}

/* run_raw with an error reply turned into NULL and errstr. */
static redisReply *run_formatted(cm_redis *r, const char *cmd, size_t len, char *errstr,
                                 size_t errlen)
{
    redisReply *rr = run_raw(r, cmd, len, errstr, errlen);
    if (rr && rr->type == REDIS_REPLY_ERROR) {
        snprintf(errstr, errlen, "redis: %s", rr->str);
        freeReplyObject(rr);
        return NULL;
    }
    return rr;
}

redisReply *cm_redis_cmd(cm_redis *r, char *errstr, size_t errlen, const char *fmt, ...)
{
    char *cmd = NULL;
    va_list ap;
    va_start(ap, fmt);
    int len = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    if (len < 0) {
        snprintf(errstr, errlen, "bad redis command format");
        return NULL;
    }
    redisReply *rep = run_formatted(r, cmd, (size_t)len, errstr, errlen);
    free(cmd);
    return rep;
}

redisReply *cm_redis_cmd_argv(cm_redis *r, int argc, const char **argv, const size_t *argvlen,
                              char *errstr, size_t errlen)
{
    char *cmd = NULL;
    int len = cm_redis_format_argv(&cmd, argc, argv, argvlen);
    if (len < 0) {
        snprintf(errstr, errlen, "bad redis command");
        return NULL;
    }
    redisReply *rep = run_formatted(r, cmd, (size_t)len, errstr, errlen);
    free(cmd);
    return rep;
}

int cm_redis_ping(cm_redis *r, char *errstr, size_t errlen)
{
    redisReply *rep = cm_redis_cmd(r, errstr, errlen, "PING");
    if (!rep)
        return -1;
    freeReplyObject(rep);
    return 0;
}

/* ---- pipelines ----------------------------------------------------------- */

cm_redis_pipe *cm_redis_pipe_new(void)
{
    return calloc(1, sizeof(cm_redis_pipe));
}

cm_redis_pipe *cm_redis_pipe_new_arena(void)
{
    cm_redis_pipe *p = cm_redis_pipe_new();
    if (p)
        p->use_arena = 1;
    return p;
}

static void free_replies(cm_redis_pipe *p)
{
    for (size_t i = 0; i < p->nreplies; i++)
        if (p->replies[i] && !cm_arena_owns(&p->arena, p->replies[i]))
            freeReplyObject(p->replies[i]);
    free(p->replies);
    p->replies = NULL;
    p->nreplies = 0;
    cm_arena_reset(&p->arena);
}

void cm_redis_pipe_reset(cm_redis_pipe *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->cmds[i]);
    p->n = 0;
    free_replies(p);
}

void cm_redis_pipe_free(cm_redis_pipe *p)
{
    if (!p)
        return;
    cm_redis_pipe_reset(p);
    cm_arena_free(&p->arena);
    free(p->cmds);
    free(p->lens);
    free(p);
}

static int push(cm_redis_pipe *p, char *cmd, int len)
{
    if (len < 0)
        return -1;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        char **c = realloc(p->cmds, cap * sizeof(*c));
        if (!c) {
            free(cmd);
            return -1;
        }
        p->cmds = c;
        size_t *l = realloc(p->lens, cap * sizeof(*l));
        if (!l) {
            free(cmd);
            return -1;
        }
        p->lens = l;
        p->cap = cap;
    }
    p->cmds[p->n] = cmd;
    p->lens[p->n++] = (size_t)len;
    return 0;
}

int cm_redis_pipe_add(cm_redis_pipe *p, const char *fmt, ...)
{
    char *cmd = NULL;
    va_list ap;
    va_start(ap, fmt);
    int len = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    return push(p, cmd, len);
}

/* The RESP of a command into *out (malloc'd); argument hole (-1: none)
 * is left unwritten, its argvlen[hole] bytes at *holeat. Returns the
 * length, -1 on out of memory. */
static int format_argv(char **out, int argc, const char **argv, const size_t *argvlen, int hole,
                       size_t *holeat)
{
    *out = NULL;
    if (argc < 0)
        return -1;
    size_t total = 1 + 20 + 2;
    for (int i = 0; i < argc; i++)
        total += 1 + 20 + 2 + (argvlen ? argvlen[i] : strlen(argv[i])) + 2;
    char *buf = malloc(total + 1);
    if (!buf)
        return -1;
    size_t n = 0;
    buf[n++] = '*';
    n += cm_fmt_uint(buf + n, (size_t)argc);
    buf[n++] = '\r';
    buf[n++] = '\n';
    for (int i = 0; i < argc; i++) {
        size_t len = argvlen ? argvlen[i] : strlen(argv[i]);
        buf[n++] = '$';
        n += cm_fmt_uint(buf + n, len);
        buf[n++] = '\r';
        buf[n++] = '\n';
        if (i == hole)
            *holeat = n;
        else
            memcpy(buf + n, argv[i], len);
        n += len;
        buf[n++] = '\r';
        buf[n++] = '\n';
    }
    buf[n] = 0;
    if (n > INT_MAX) {
        free(buf);
        return -1;
    }
    *out = buf;
    return (int)n;
}

int cm_redis_format_argv(char **out, int argc, const char **argv, const size_t *argvlen)
{
    return format_argv(out, argc, argv, argvlen, -1, NULL);
}

int cm_redis_pipe_add_argv(cm_redis_pipe *p, int argc, const char **argv, const size_t *argvlen)
{
    char *cmd = NULL;
    int len = cm_redis_format_argv(&cmd, argc, argv, argvlen);
    return push(p, cmd, len);
}

char *cm_redis_pipe_add_hole(cm_redis_pipe *p, int argc, const char **argv, const size_t *argvlen,
                             int hole)
{
    char *cmd = NULL;
    size_t at = 0;
    if (hole < 0 || hole >= argc || !argvlen)
        return NULL;
    int len = format_argv(&cmd, argc, argv, argvlen, hole, &at);
    return push(p, cmd, len) < 0 ? NULL : cmd + at;
}

size_t cm_redis_pipe_len(const cm_redis_pipe *p)
{
    return p->n;
}

redisReply *cm_redis_pipe_reply(const cm_redis_pipe *p, size_t i)
{
    return i < p->nreplies ? p->replies[i] : NULL;
}

int cm_redis_node_read(redisContext *c, void **rep, cm_redis_idle_fn idle, void *opaque,
                       int64_t deadline)
{
    if (!idle)
        return redisGetReply(c, rep) == REDIS_OK && *rep ? 0 : -1;
    for (;;) {
        if (redisReaderGetReply(c->reader, rep) != REDIS_OK)
            return -1;
        if (*rep)
            return 0;
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int n = poll(&pfd, 1, 1);
        if (n < 0 && errno != EINTR)
            return -1;
        if (n <= 0) {
            if (cm_mono_ms() > deadline) {
                snprintf(c->errstr, sizeof c->errstr, "timed out waiting for replies");
                return -1;
            }
            idle(opaque);
            continue;
        }
        if (redisBufferRead(c) != REDIS_OK)
            return -1;
    }
}

static int pipe_once(cm_redis *r, cm_redis_pipe *p, cm_redis_idle_fn idle, void *opaque,
                     char *errstr, size_t errlen)
{
    writer_join(r, NULL, 0);
    free_replies(p);
    if (!r->cluster && !r->c && reconnect(r, errstr, errlen) != 0)
        return -1;
    p->replies = calloc(p->n ? p->n : 1, sizeof(*p->replies));
    if (!p->replies) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    if (r->cluster) { /* retries inside; a failure is final */
        if (cm_rcluster_pipe(r->cluster, p->cmds, p->lens, p->n, p->replies, idle, opaque, errstr,
                             errlen) != 0)
            return -1;
        p->nreplies = p->n;
        return 0;
    }
    if (write_cmds(r->c, p->cmds, p->lens, p->n) != 0) /* all of it, then read */
        goto io;
    int64_t deadline = cm_mono_ms() + r->timeout_ms;
    redisReplyObjectFunctions *fns = arena_begin(r->c, p);
    for (size_t i = 0; i < p->n; i++) {
        void *rep = NULL;
        if (cm_redis_node_read(r->c, &rep, idle, opaque, deadline) != 0)
            goto io; /* the arena's functions stay: redisFree drops a partial reply */
        p->replies[i] = rep;
        p->nreplies = i + 1;
    }
    arena_end(r->c, fns);
    return 0;
io:
    snprintf(errstr, errlen, "redis I/O: %s", r->c->errstr);
    redisFree(r->c);
    r->c = NULL;
    return 1; /* retryable */
}

static int is_noscript(const redisReply *rep)
{
    return rep && rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0;
}

/* A Redis that restarted or failed over forgets its scripts: reload every
 * script loaded on this connection and re-run, in order, only the commands
 * that answered NOSCRIPT (they did not run, so this is safe). */
static int rerun_noscript(cm_redis *r, cm_redis_pipe *p, char *errstr, size_t errlen)
{
    int any = 0;
    for (size_t i = 0; i < p->nreplies; i++)
        any |= is_noscript(p->replies[i]);
    if (!any)
        return 0;
    for (int i = 0; i < r->nscripts; i++) {
        redisReply *rep = cm_redis_cmd(r, errstr, errlen, "SCRIPT LOAD %s", r->scripts[i]->source);
        if (!rep)
            return -1;
        freeReplyObject(rep);
    }
    for (size_t i = 0; i < p->nreplies; i++) {
        if (!is_noscript(p->replies[i]))
            continue;
        redisReply *rep = run_raw(r, p->cmds[i], p->lens[i], errstr, errlen);
        if (!rep)
            return -1;
        if (!cm_arena_owns(&p->arena, p->replies[i]))
            freeReplyObject(p->replies[i]);
        p->replies[i] = rep;
    }
    return 0;
}

int cm_redis_pipe_exec(cm_redis *r, cm_redis_pipe *p, char *errstr, size_t errlen)
{
    return cm_redis_pipe_exec_idle(r, p, NULL, NULL, errstr, errlen);
}

int cm_redis_pipe_exec_idle(cm_redis *r, cm_redis_pipe *p, cm_redis_idle_fn idle, void *opaque,
                            char *errstr, size_t errlen)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        int rc = pipe_once(r, p, idle, opaque, errstr, errlen);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return rerun_noscript(r, p, errstr, errlen);
    }
    return -1;
}

/* Writes what c holds to the socket (blocking); on a thread of its own
 * for cm_redis_pipe_send_bg. A failure is left in wr_failed and wr_err. */
static void *writer(void *arg)
{
    cm_redis *r = arg;
    const cm_redis_pipe *p = r->wr_pipe;
    if (write_cmds(r->c, p->cmds, p->lens, p->n) != 0) {
        snprintf(r->wr_err, sizeof r->wr_err, "%s", r->c->errstr);
        r->wr_failed = 1;
    }
    return NULL;
}

/* The two sends; bg: the write on a thread (single node only). */
static int pipe_send(cm_redis *r, cm_redis_pipe *p, int bg, char *errstr, size_t errlen)
{
    free_replies(p);
    writer_join(r, NULL, 0);
    if (r->cluster) {
        if (!(p->replies = calloc(p->n ? p->n : 1, sizeof(*p->replies)))) {
            snprintf(errstr, errlen, "out of memory");
            return -1;
        }
        int rc =
            cm_rcluster_pipe_send(r->cluster, p->cmds, p->lens, p->n, p->replies, errstr, errlen);
        if (rc == 0)
            return 0;
        free_replies(p);
        if (rc < 0)
            return -1;
        /* a broadcast among them: the whole exec now, recv only reports it */
        return pipe_once(r, p, NULL, NULL, errstr, errlen) == 0 ? 0 : -1;
    }
    if (!r->c && reconnect(r, errstr, errlen) != 0)
        return -1;
    r->wr_pipe = p; /* p stays unchanged until cm_redis_pipe_recv joins the writer */
    if (bg && pthread_create(&r->wr, NULL, writer, r) == 0) {
        r->wr_on = 1;
        return 0;
    }
    writer(r); /* in this thread (or a thread could not be made) */
    return writer_result(r, errstr, errlen);
}

int cm_redis_pipe_send(cm_redis *r, cm_redis_pipe *p, char *errstr, size_t errlen)
{
    return pipe_send(r, p, 0, errstr, errlen);
}

int cm_redis_pipe_send_bg(cm_redis *r, cm_redis_pipe *p, char *errstr, size_t errlen)
{
    return pipe_send(r, p, 1, errstr, errlen);
}

int cm_redis_pipe_recv(cm_redis *r, cm_redis_pipe *p, char *errstr, size_t errlen)
{
    if (writer_join(r, errstr, errlen) < 0)
        return -1;
    if (p->n == 0 || (r->cluster && p->nreplies == p->n))
        return 0; /* nothing to read, or read by send (a broadcast) */
    if (r->cluster) {
        if (!p->replies || cm_rcluster_pipe_recv(r->cluster, errstr, errlen) != 0)
            return -1;
        p->nreplies = p->n;
        return 0;
    }
    if (!r->c) {
        snprintf(errstr, errlen, "redis I/O: the connection was lost after the send");
        return -1;
    }
    p->replies = calloc(p->n, sizeof(*p->replies));
    if (!p->replies) {
        snprintf(errstr, errlen, "out of memory");
        goto drop; /* the replies stay unread: the connection is out of step */
    }
    int64_t deadline = cm_mono_ms() + r->timeout_ms;
    redisReplyObjectFunctions *fns = arena_begin(r->c, p);
    for (size_t i = 0; i < p->n; i++) {
        void *rep = NULL;
        if (cm_redis_node_read(r->c, &rep, NULL, NULL, deadline) != 0) {
            snprintf(errstr, errlen, "redis I/O: %s", r->c->errstr);
            goto drop; /* the arena's functions stay: redisFree drops a partial reply */
        }
        p->replies[i] = rep;
        p->nreplies = i + 1;
    }
    arena_end(r->c, fns);
    /* an EVALSHA that answered NOSCRIPT did not run: safe to run again */
    return rerun_noscript(r, p, errstr, errlen);
drop:
    redisFree(r->c);
    r->c = NULL;
    return -1;
}

/* ---- scripts --------------------------------------------------------------- */

static void script_sha(cm_redis_script *s)
{
    unsigned char md[SHA_DIGEST_LENGTH];
    if (s->sha[0])
        return;
    SHA1((const unsigned char *)s->source, strlen(s->source), md);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(s->sha + 2 * i, 3, "%02x", md[i]);
}

int cm_redis_script_load(cm_redis *r, cm_redis_script *s, char *errstr, size_t errlen)
{
    script_sha(s);
    redisReply *rep = cm_redis_cmd(r, errstr, errlen, "SCRIPT LOAD %s", s->source);
    if (!rep)
        return -1;
    freeReplyObject(rep);
    for (int i = 0; i < r->nscripts; i++)
        if (r->scripts[i] == s)
            return 0;
    if (r->nscripts < (int)(sizeof(r->scripts) / sizeof(r->scripts[0])))
        r->scripts[r->nscripts++] = s;
    return 0;
}

static int build_eval(cm_redis_script *s, int nkeys, int nargs, const char **args,
                      const size_t *argslen, const char ***argv, size_t **argvlen, char *nk,
                      size_t nklen)
{
    script_sha(s);
    snprintf(nk, nklen, "%d", nkeys);
    *argv = malloc(sizeof(char *) * (size_t)(nargs + 3));
    *argvlen = malloc(sizeof(size_t) * (size_t)(nargs + 3));
    if (!*argv || !*argvlen) {
        free(*argv);
        free(*argvlen);
        return -1;
    }
    (*argv)[0] = "EVALSHA";
    (*argvlen)[0] = 7;
    (*argv)[1] = s->sha;
    (*argvlen)[1] = 40;
    (*argv)[2] = nk;
    (*argvlen)[2] = strlen(nk);
    for (int i = 0; i < nargs; i++) {
        (*argv)[i + 3] = args[i];
        (*argvlen)[i + 3] = argslen ? argslen[i] : strlen(args[i]);
    }
    return 0;
}

redisReply *cm_redis_eval(cm_redis *r, cm_redis_script *s, int nkeys, int nargs, const char **args,
                          const size_t *argslen, char *errstr, size_t errlen)
{
    const char **argv = NULL;
    size_t *argvlen = NULL;
    char nk[16];
    redisReply *rep = NULL;
    if (build_eval(s, nkeys, nargs, args, argslen, &argv, &argvlen, nk, sizeof(nk)) != 0) {
        snprintf(errstr, errlen, "out of memory");
        return NULL;
    }
    rep = cm_redis_cmd_argv(r, nargs + 3, argv, argvlen, errstr, errlen);
    if (!rep && strstr(errstr, "NOSCRIPT")) {
        if (cm_redis_script_load(r, s, errstr, errlen) == 0)
            rep = cm_redis_cmd_argv(r, nargs + 3, argv, argvlen, errstr, errlen);
    }
    free(argv);
    free(argvlen);
    return rep;
}

int cm_redis_pipe_eval(cm_redis_pipe *p, cm_redis_script *s, int nkeys, int nargs,
                       const char **args, const size_t *argslen)
{
    const char **argv = NULL;
    size_t *argvlen = NULL;
    char nk[16];
    if (build_eval(s, nkeys, nargs, args, argslen, &argv, &argvlen, nk, sizeof(nk)) != 0)
        return -1;
    int rc = cm_redis_pipe_add_argv(p, nargs + 3, argv, argvlen);
    free(argv);
    free(argvlen);
    return rc;
}
