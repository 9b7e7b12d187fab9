/* redis.h -- a hiredis connection from ARREARS_REDIS_URL, with reconnect,
 * pipelines and Lua scripts.
 *
 * Design: one blocking connection per thread. Every call that meets an I/O
 * error reconnects (backoff 50 ms doubling to 2 s, bounded by the timeout
 * given at connect) and retries once, so callers see only commands that
 * failed twice. Retried work must be idempotent; the services' scripts are.
 * Scripts run by EVALSHA and fall back to SCRIPT LOAD on NOSCRIPT (a
 * restarted or failed-over Redis forgets its scripts).
 *
 * Ownership: replies returned to the caller are freed with freeReplyObject
 * (pipelines: cm_redis_pipe_free frees its replies). */
#ifndef CM_REDIS_H
#define CM_REDIS_H

#include <hiredis/hiredis.h>
#include <signal.h>
#include <stddef.h>

typedef struct cm_redis cm_redis;

#define CM_REDIS_SEEDS_MAX 16

typedef struct cm_redis_url {
    char host[256]; /* a cluster URL: its first seed */
    int port;
    int db;
    char user[128]; /* an ACL user (Redis 6+); "": the default user */
    char password[256];
    int cluster; /* 1: redis+cluster:// */
    int nseeds;  /* cluster seed nodes, in the URL's order (single node: 0) */
    struct {
        char host[256];
        int port;
    } seeds[CM_REDIS_SEEDS_MAX];
} cm_redis_url;

/* redis://[[user]:password@]host[:port][/db]. With a user, the connection
 * sends AUTH user password (an ACL user, e.g. one limited to arrears' key
 * prefixes: docs/operations.md); with only a password, AUTH password.
 * redis+cluster://[[user]:password@]host[:port][,host[:port]...]: a Redis
 * Cluster by up to CM_REDIS_SEEDS_MAX seed nodes (port 6379 by default;
 * no database but /0: a cluster has only database 0). */
int cm_redis_url_parse(const char *url, cm_redis_url *out, char *errstr, size_t errlen);

/* Connects (AUTH, SELECT) within timeout_ms; NULL with errstr. A cluster
 * URL: connects to the first seed that answers and learns the slot map
 * (CLUSTER SLOTS); every call below then routes by key slot through
 * common/redis_cluster.c (its design note says what is routed how). The
 * same API, the same ownership rules. */
cm_redis *cm_redis_connect(const char *url, int timeout_ms, char *errstr, size_t errlen);
/* 1 when r speaks to a Redis Cluster (a redis+cluster:// URL): a caller
 * whose scripts touch several keys then names them with one hash tag. */
int cm_redis_is_cluster(const cm_redis *r);
/* A key prefix setting on a cluster (cluster != 0) must hold no '{' or '}':
 * the service adds its own hash tag (tag, for the message). 0, or -1 with
 * errstr naming the setting. Pure: nothing allocated. */
int cm_redis_prefix_check(int cluster, const char *setting, const char *prefix, const char *tag,
                          char *errstr, size_t errlen);
void cm_redis_free(cm_redis *r);
/* Connects, retrying once a second (with a warning in the log) while *run
 * is set: a service may start before its Redis. NULL only when *run was
 * cleared (errstr holds the last failure). */
cm_redis *cm_redis_connect_until(const char *url, volatile sig_atomic_t *run, char *errstr,
                                 size_t errlen);
int cm_redis_ping(cm_redis *r, char *errstr, size_t errlen);

/* One command (printf-style, hiredis %s/%b). NULL on failure; a Redis
 * error reply is returned as NULL too, with the message in errstr. */
redisReply *cm_redis_cmd(cm_redis *r, char *errstr, size_t errlen, const char *fmt, ...);
redisReply *cm_redis_cmd_argv(cm_redis *r, int argc, const char **argv, const size_t *argvlen,
                              char *errstr, size_t errlen);

/* A pipeline: commands queued in memory, sent in one write, replies read
 * in order. Reusable after cm_redis_pipe_reset. */
typedef struct cm_redis_pipe cm_redis_pipe;
cm_redis_pipe *cm_redis_pipe_new(void);
/* The same, whose replies (on a single-node connection) are built in an
 * arena of the pipeline's: no malloc and free per reply object and string.
 * The scheduler's peeks and loads use it (docs/scheduler.md, "The replies
 * in an arena"); the notifier measured slower with it and does not. The
 * replies are valid until the pipeline is reset, run again or freed, as
 * any pipeline's. */
cm_redis_pipe *cm_redis_pipe_new_arena(void);
void cm_redis_pipe_free(cm_redis_pipe *p);
void cm_redis_pipe_reset(cm_redis_pipe *p);
int cm_redis_pipe_add(cm_redis_pipe *p, const char *fmt, ...);
int cm_redis_pipe_add_argv(cm_redis_pipe *p, int argc, const char **argv, const size_t *argvlen);
/* Queues a command whose argument number hole (0-based; argv[hole] is not
 * read) the caller writes itself: returns where its argvlen[hole] bytes go,
 * inside the pipeline's own copy of the command, or NULL (out of memory, or
 * argvlen NULL or hole out of range). Write them all before the pipeline is
 * sent; the memory is the pipeline's. For a large argument built from
 * parts, which argv would copy once more. */
char *cm_redis_pipe_add_hole(cm_redis_pipe *p, int argc, const char **argv, const size_t *argvlen,
                             int hole);
/* The RESP encoding of one command (what redisFormatCommandArgv makes,
 * byte for byte, without its sprintf per argument: the hot paths of
 * ingest and the scheduler queue thousands per batch). argvlen NULL:
 * strlen. *out is malloc'ed (caller frees); returns its length, -1 on out
 * of memory. */
int cm_redis_format_argv(char **out, int argc, const char **argv, const size_t *argvlen);
size_t cm_redis_pipe_len(const cm_redis_pipe *p);
/* Sends everything and reads every reply (retrying the whole pipeline once
 * after a reconnect). Error replies are kept in the array (type
 * REDIS_REPLY_ERROR) for the caller to inspect. The replies belong to p. */
int cm_redis_pipe_exec(cm_redis *r, cm_redis_pipe *p, char *errstr, size_t errlen);
redisReply *cm_redis_pipe_reply(const cm_redis_pipe *p, size_t i);
/* cm_redis_pipe_exec that calls idle(opaque) about every millisecond while
 * Redis has not answered yet, so the caller's other work (the notifier's
 * transfers) goes on during the round trip. idle must not use r or p. */
typedef void (*cm_redis_idle_fn)(void *opaque);
int cm_redis_pipe_exec_idle(cm_redis *r, cm_redis_pipe *p, cm_redis_idle_fn idle, void *opaque,
                            char *errstr, size_t errlen);
/* cm_redis_pipe_exec in two halves, for a caller that must act between
 * the moment its commands are in the kernel and their replies (the
 * notifier's email gate sends an SMTP "." there): send writes every
 * command to the socket and returns at once; recv then reads the replies
 * (blocking up to the connection's timeout). No retry (once sent, the
 * commands may have run); on one Redis, recv reloads the scripts and runs
 * again the EVALSHAs that answered NOSCRIPT (they did not run). A
 * failed send or recv closes the connection; the next call reconnects.
 * Nothing else may run on r between the two. On a redis+cluster://
 * connection send writes each node's part (redis_cluster.h) and recv also
 * completes commands redirected by MOVED or ASK (they had not run) and,
 * as every cluster pipeline, re-sends after a lost node: use idempotent
 * commands. A pipeline send cannot write at once (a node lost, a slot's
 * master unknown) or that holds a broadcast command (redis_cluster.c) is
 * run whole by send there; recv then only reports it. */
int cm_redis_pipe_send(cm_redis *r, cm_redis_pipe *p, char *errstr, size_t errlen);
int cm_redis_pipe_recv(cm_redis *r, cm_redis_pipe *p, char *errstr, size_t errlen);
/* cm_redis_pipe_send whose socket write runs on a thread of its own, for a
 * pipeline larger than the socket's buffer (megabytes: the scheduler's
 * commit of a firing round), so that the caller computes while Redis
 * reads it; recv, and every other call on r, first waits for that write.
 * The writer reads p's commands in place: p must stay as it is, and not be
 * freed, until recv. On a redis+cluster:// connection it is
 * cm_redis_pipe_send. */
int cm_redis_pipe_send_bg(cm_redis *r, cm_redis_pipe *p, char *errstr, size_t errlen);

/* A Lua script known by its SHA1. Declare static and reuse. */
typedef struct cm_redis_script {
    const char *source;
    char sha[41]; /* computed on first use */
} cm_redis_script;
#define CM_REDIS_SCRIPT(src)                                                                       \
    {                                                                                              \
        (src),                                                                                     \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }

/* EVALSHA with NOSCRIPT fallback. args = keys then argv. */
redisReply *cm_redis_eval(cm_redis *r, cm_redis_script *s, int nkeys, int nargs, const char **args,
                          const size_t *argslen, char *errstr, size_t errlen);
/* Queues an EVALSHA into a pipeline (SCRIPT LOAD it first with
 * cm_redis_script_load; exec reloads on NOSCRIPT replies and retries). */
int cm_redis_script_load(cm_redis *r, cm_redis_script *s, char *errstr, size_t errlen);
int cm_redis_pipe_eval(cm_redis_pipe *p, cm_redis_script *s, int nkeys, int nargs,
                       const char **args, const size_t *argslen);

#endif
