/* redis_cluster.h -- the Redis Cluster transport behind common/redis.h.
 *
 * Internal to common/: services use redis.h only (cm_redis_connect with a
 * redis+cluster:// URL). redis.c calls the cm_rcluster_* functions when its
 * connection is a cluster, and provides the two node primitives below so
 * that one copy of connect/AUTH and of the idle-aware read exists.
 *
 * Ownership: a cm_rcluster owns its node connections and slot map; it is
 * freed by cm_rcluster_free (cm_redis_free calls it). Replies it returns
 * belong to the caller (freeReplyObject), error replies included. */
#ifndef CM_REDIS_CLUSTER_H
#define CM_REDIS_CLUSTER_H

#include <stdint.h>

#include "redis.h"

typedef struct cm_rcluster cm_rcluster;

/* Connects to the first seed of u that answers and loads the slot map
 * (bounded by timeout_ms per node). NULL with errstr. u is copied. */
cm_rcluster *cm_rcluster_new(const cm_redis_url *u, int timeout_ms, char *errstr, size_t errlen);
void cm_rcluster_free(cm_rcluster *c);

/* One RESP-encoded command, routed by its key's slot, following MOVED and
 * ASK. The reply (a Redis error reply too) or NULL with errstr when no
 * node answered within the retry budget or the command cannot be routed. */
redisReply *cm_rcluster_run(cm_rcluster *c, const char *cmd, size_t len, char *errstr,
                            size_t errlen);

/* n RESP-encoded commands as one pipeline per node; replies[i] is the
 * reply to cmds[i] (caller frees each). 0, or -1 with errstr and every
 * replies[i] NULL. idle: as cm_redis_pipe_exec_idle (may be NULL). */
int cm_rcluster_pipe(cm_rcluster *c, char *const *cmds, const size_t *lens, size_t n,
                     redisReply **replies, cm_redis_idle_fn idle, void *opaque, char *errstr,
                     size_t errlen);

/* cm_rcluster_pipe in two halves (cm_redis_pipe_send/_recv): send routes
 * cmds[0..n) and writes each node's part without reading; 0, 1 when a
 * command is a broadcast (nothing sent: run cm_rcluster_pipe instead), or
 * -1 with errstr (out of memory, or a pipeline already in flight). cmds,
 * lens and replies must stay valid until recv, and nothing else may run on
 * cl in between. When a command cannot be written at once (its node lost
 * or unknown) send finishes the whole pipeline before returning 0 (or -1).
 * recv reads the replies into replies[] and completes redirected or
 * unanswered commands as cm_rcluster_pipe does; 0, or -1 with errstr and
 * every replies[i] NULL. */
int cm_rcluster_pipe_send(cm_rcluster *c, char *const *cmds, const size_t *lens, size_t n,
                          redisReply **replies, char *errstr, size_t errlen);
int cm_rcluster_pipe_recv(cm_rcluster *c, char *errstr, size_t errlen);

/* Where a RESP-encoded command goes (the routing table of
 * redis_cluster.c's design note; exposed for unit tests): CM_RCLUSTER_SLOT
 * with *slot, or CM_RCLUSTER_ANY (one master), _ALL (every master), _SUM
 * (every master, integer replies summed); -1 with errstr when refused
 * (a script's keys in several slots, an unsupported or malformed command). */
enum { CM_RCLUSTER_SLOT, CM_RCLUSTER_ANY, CM_RCLUSTER_ALL, CM_RCLUSTER_SUM };
int cm_rcluster_route(const char *cmd, size_t len, int *slot, char *errstr, size_t errlen);

/* ---- provided by redis.c ---- */

/* A connection to host:port with u's AUTH (and SELECT when u->db), the
 * connect bounded by timeout_ms, I/O by 10 s. NULL with errstr. The caller
 * frees it (redisFree). */
redisContext *cm_redis_node_open(const char *host, int port, const cm_redis_url *u, int timeout_ms,
                                 char *errstr, size_t errlen);
/* The next reply on c: buffered if one is, else read (calling idle about
 * every millisecond while nothing arrives, when idle is set) until
 * deadline (CLOCK_MONOTONIC ms). 0, or -1 with c->errstr. */
int cm_redis_node_read(redisContext *c, void **rep, cm_redis_idle_fn idle, void *opaque,
                       int64_t deadline);

#endif
