/* store.h -- the scheduler's store seam: where the state records, the
 * timers and the outbox live, behind a small struct of function pointers
 * (as OpenSMTPD's queue_backend.c fronts queue_fs.c and queue_ram.c).
 *
 * Two backends, one file each:
 *   store_redis.c  Redis: pipelined loads, a compare-and-set Lua commit,
 *                  a peek in three pipelined reads (the service);
 *   store_mem.c    memory: the same keys and value encodings in a hash
 *                  table, the same commit interpreted in C (the backtest,
 *                  and the unit tests that run the engine without Redis).
 * Both execute one op stream, built once by store_ops.c from a batch's
 * records (sch_ops_build): the memory backend is not a second model of the
 * state but a second executor of the same writes, and it decodes what it
 * stored with the same decoders (state.c) the Redis replies go through.
 *
 * The commit first checks the version of every record the batch read,
 * then applies every write, as one unit: a crash leaves the old state or
 * the new one. A version mismatch (another writer got there first, e.g. a
 * replica that has not yet seen a rebalance) aborts the whole batch
 * without writing anything; the caller reloads and recomputes.
 *
 * Ownership: a backend's opaque state is the backend's (sch_store_mem_free
 * for memory; the Redis backend borrows the connection). Records loaded
 * into a sch_map belong to the map. sch_outbox results belong to the
 * caller (sch_outbox_free). */
#ifndef SCH_STORE_H
#define SCH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "apply.h"
#include "redis.h"
#include "state.h"

/* Records claimed and not yet acknowledged in one partition: the rounds
 * (their keys, P ob:<part>:<round>) and every record they hold. */
typedef struct sch_outbox {
    char **rounds; /* owned */
    size_t nrounds;
    sch_out *recs; /* owned; .part is the partition */
    size_t nrecs;
} sch_outbox;
void sch_outbox_free(sch_outbox *o);

struct sch_ops;

typedef struct sch_store {
    /* Loads every record of the map that is not loaded yet. */
    int (*load)(void *be, sch_map *m, char *errstr, size_t errlen);
    /* Optional (NULL: the engine applies one batch at a time): load, and
     * also keep every reply decoded in the overlay ov
     * (sch_store_mem_seed), for the engine's batch pipeline (engine.c
     * "Two batches in flight"). When after is not NULL (only for a store
     * with commit_send): after's commit is sent behind the reads, in the
     * same write, so that Redis runs it while the caller decodes what it
     * read; *sent is set to 1 once it was sent, even when the reads then
     * fail (commit_wait finishes it, as after commit_send), and left 0
     * when the reads could not be sent. */
    int (*load_seed)(void *be, sch_map *m, struct sch_store *ov, sch_ctx *after, int *sent,
                     char *errstr, size_t errlen);
    /* Commits the ctx's map, appends and outs: 0 committed, 1 conflict
     * (nothing written; errstr names the record), -1 error. The outs of
     * each partition p go to a fresh round P ob:<p>:<c->round>, made
     * durable and listed in P ob:<p> by the same commit. */
    int (*commit)(void *be, sch_ctx *c, char *errstr, size_t errlen);
    /* Optional (NULL: the backend has only commit). The commit in two
     * halves, so that the engine decides the next round while Redis runs
     * this one (engine.c "Two halves"): commit_send starts committing c
     * and returns; commit_wait returns what commit would have (0, 1, -1).
     * At most one commit in flight. Any other call into the store first
     * completes it (its result kept for commit_wait), so the order of
     * effects is the order of calls. c stays the caller's, untouched by
     * the backend after commit_send returns, until commit_wait. */
    int (*commit_send)(void *be, sch_ctx *c, char *errstr, size_t errlen);
    int (*commit_wait)(void *be, char *errstr, size_t errlen);
    /* Optional, best effort (NULL, or it may prepare nothing): prepares
     * c's commit ahead, without using the connection, while another commit
     * is in flight, so that commit_send has only to send it. c must not
     * change between the two; what is prepared is kept in c (c->staged)
     * and released by sch_ctx_reset if never sent. When it prepares one
     * and ops is not NULL, *ops is the op stream that commit will run
     * (sch_ops_build's, with c's rounds): the backend's, lent until the
     * next call into the store; else *ops is NULL. */
    void (*commit_stage)(void *be, sch_ctx *c, const struct sch_ops **ops);
    /* Due timers of each partition up to now (score order, then member
     * order, as a Redis zset), at most limit per partition, added to m with
     * their invoice and customer (the fields of sch_cust_fields: partial);
     * counts[i] = timers seen in parts[i]; *next_due (if not NULL) is
     * lowered to the earliest timer due after now. */
    int (*peek)(void *be, const char *prefix, const int *parts, int nparts, int64_t now, int limit,
                sch_map *m, int *counts, int64_t *next_due, char *errstr, size_t errlen);
    /* Optional (NULL: peek only): the peek in two calls, so that the
     * engine can send a commit (commit_send) between them and decode while
     * Redis runs it. peek_fetch reads (*fetched: the caller's, passed to
     * peek_finish exactly once when the fetch succeeded); peek_finish
     * makes no call on the connection, decodes into m, counts and
     * next_due what peek would have, and frees what was fetched (m NULL:
     * only frees it). */
    int (*peek_fetch)(void *be, const char *prefix, const int *parts, int nparts, int64_t now,
                      int limit, void **fetched, char *errstr, size_t errlen);
    int (*peek_finish)(void *be, void *fetched, sch_map *m, int *counts, int64_t *next_due,
                       char *errstr, size_t errlen);
    /* Optional (NULL: the engine fires without asking first): *any = 1
     * when a partition of parts has a member due at now (a timer or a
     * purge member: what peek would return), in one round trip. */
    int (*due_any)(void *be, const char *prefix, const int *parts, int nparts, int64_t now,
                   int *any, char *errstr, size_t errlen);
    /* The claimed rounds of partition part not yet forgotten (*out filled,
     * the caller frees it with sch_outbox_free). */
    int (*outbox)(void *be, const char *prefix, int part, sch_outbox *out, char *errstr,
                  size_t errlen);
    /* Forgets rounds (their keys) of partition part, once delivered. */
    int (*forget)(void *be, const char *prefix, int part, char *const *rounds, size_t n,
                  char *errstr, size_t errlen);
    void *be;
} sch_store;

/* The Redis backend over r (borrowed; must outlive the store). */
void sch_store_redis(sch_store *s, cm_redis *r);

/* The Redis Cluster layout's record, <prefix>layout: the partition count
 * of events the keys are tagged for. want > 0 records it unless one is
 * recorded already (SET NX); then *have is the recorded count (0: none).
 * 0, or -1 with errstr (a value that is not a count included). */
int sch_store_redis_layout(cm_redis *r, const char *prefix, int want, int *have, char *errstr,
                           size_t errlen);

/* The memory backend: a new empty store in *s (0), -1 out of memory. */
int sch_store_mem_new(sch_store *s);
void sch_store_mem_free(sch_store *s);
/* Makes the memory backend check what Redis Cluster would: every key one
 * commit or one partition's peek touches is in one slot; a commit or peek
 * that touches two fails (-1), naming a key of each (the unit tests of the
 * cluster key layout). */
void sch_store_mem_cluster(sch_store *s);
/* An overlay (engine.c "Two batches in flight"): a memory store that
 * holds what one batch read, as Redis replied it (sch_store_mem_seed,
 * from its loads), and then that batch's writes
 * (sch_store_mem_overlay_write), so that the next batch can read, for
 * the keys this one writes, what Redis will hold once this one's commit
 * has run, before it has run. Each key is marked: seen (read), written
 * (its value after the commit known), or written in part without being
 * read (a blind append: not known). Timers (ZADD, ZREM) and outbox rounds
 * are not kept. Freed with sch_store_mem_free. 0, or -1 out of memory. */
int sch_store_mem_overlay_new(sch_store *s);
/* Seeds the overlay with rec's replies as its load decoded them (rep;
 * contact: a customer's contact key, NULL otherwise). A key seeded before
 * keeps its value. 0, or -1 out of memory. */
int sch_store_mem_seed(sch_store *s, const sch_rec *rec, const redisReply *rep,
                       const redisReply *contact);
/* Applies a commit's writes (the op stream of sch_ops_build, built
 * without rounds) to the overlay; its checks are not run (they held when
 * the batch read). 0, or -1 with errstr. */
int sch_store_mem_overlay_write(sch_store *s, const struct sch_ops *a, char *errstr, size_t errlen);
/* Loads, of the records of m not loaded yet, those the overlay holds
 * written (every key of the record known), seeding into (when not NULL)
 * with what it gives; the others stay unloaded. 0; 1 when a record of m
 * has a key written without being known (the commit must run before it
 * is read: the records loaded so far stay loaded); -1 with errstr. */
int sch_store_mem_overlay_load(sch_store *s, sch_map *m, sch_store *into, char *errstr,
                               size_t errlen);
/* Memory backend statistics: keys held, bytes of keys and values. */
void sch_store_mem_stats(const sch_store *s, size_t *keys, size_t *bytes);

/* ---- shared by the backends (store_ops.c) ---- */

/* The Redis Cluster hash tag of partition part of nparts (store the
 * engine's prefix plus "{tag}"): the shortest "p<part>.<k>" (k = 0, 1, ...)
 * whose slot falls in the part-th of nparts equal slot ranges, so that the
 * partitions spread evenly over masters holding equal ranges. out needs 16
 * bytes. 0, or -1 when part is not in 0..nparts-1 or nparts > 16384. */
int sch_store_part_tag(int part, int nparts, char *out, size_t len);
/* "<prefix>{<tag of part>}": the key prefix of partition part's records
 * under the cluster layout. 0, or -1 as sch_store_part_tag. */
int sch_store_part_prefix(char *out, size_t len, const char *prefix, int part, int nparts);

void sch_store_due_key(char *out, size_t len, const char *prefix, int part);
/* P ob:<part>, the set of the partition's claimed outbox rounds. */
void sch_store_out_key(char *out, size_t len, const char *prefix, int part);
/* P ob:<part>:<round>, one claimed round's records. */
void sch_store_round_key(char *out, size_t len, const char *prefix, int part, const char *round);
/* P k:<tenant>/<id> from a customer record's key P c:<tenant>/<id>. */
void sch_store_contact_key(char *out, size_t len, const sch_rec *cust);
/* A round's stored value of an out is "<topic>\n<key>\n<payload>"; one
 * value into o (0, or -1 when malformed or out of memory; the out's
 * strings are malloc'd). */
int sch_store_round_parse(const char *id, const char *v, size_t len, int part, sch_out *o);
/* A round as the Redis backend stores it since 2026-12-07: one string,
 * per record "<id length> <value length>\n", the id, then the value above
 * (before: a hash of id -> value, which rd_outbox still reads). The bytes
 * of o's record; writing them at at (room for that many), returning the
 * end; and back, every record of blob appended to out->recs (*cap its
 * room; 0, or -1 with errstr: out of memory, or malformed at a byte, the
 * records before it kept). */
size_t sch_store_round_blob_len(const sch_out *o);
char *sch_store_round_blob_put(char *at, const sch_out *o);
int sch_store_round_blob_parse(const char *blob, size_t len, int part, sch_outbox *out, size_t *cap,
                               char *errstr, size_t errlen);

/* Decodes one partition's peek result -- {items, customers, next}: items
 * flat (member, score, packed invoice or nil, customer index), customers
 * flat (HGETALL of the debtor's hash, contact or nil) per distinct debtor,
 * then the first later due time or nil; the reply the Redis backend's peek
 * script gave until 2026-12-05, which the memory backend builds -- into m
 * (see sch_store.peek), item by item with sch_store_peek_item. */
int sch_store_peek_decode(const redisReply *rep, const char *prefix, int part, sch_map *m,
                          int *count, int64_t *next_due, char *errstr, size_t errlen);
/* One due member of that reply into m: member and score as ZRANGEBYSCORE
 * WITHSCORES gives them (score NULL: not read, as the Redis backend's peek
 * does for an invoice's timer; a purge member needs its score), inv its
 * packed invoice (a nil reply when there
 * is none; not read for a purge member, so NULL there), cust and contact
 * its debtor's HGETALL and GET of its contact (NULL when
 * the reply has none for it); *count counts it. The Redis backend calls it
 * with the replies of its plain peek pipelines, the decoder above with the
 * memory backend's reply. */
int sch_store_peek_item(const char *prefix, int part, sch_map *m, const redisReply *member,
                        const redisReply *score, const redisReply *inv, const redisReply *cust,
                        const redisReply *contact, int *count, char *errstr, size_t errlen);
/* What a due member is: 1 an invoice's timer (key, keylen bytes, set to
 * its record's key P i:<member>), 0 a purge member (retention.h), -1 not
 * a key of ours. */
int sch_store_peek_inv_key(const char *prefix, const char *member, size_t mlen, char *key,
                           size_t keylen);
/* The debtor a due invoice's timer needs: "<tenant>/<customer>" into ck
 * (cklen bytes) from the member's tenant and the packed record's second
 * field. Its length, or -1 when the member has no tenant, the record no
 * second field, or ck no room. */
int sch_store_peek_debtor(const char *member, size_t mlen, const char *inv, size_t ilen, char *ck,
                          size_t cklen);

/* Where the last max entries of the list s ("e,e,...,", len bytes) start:
 * the offset past the commas of the dropped ones (0 when max or fewer). */
size_t sch_ring_keep(const char *s, size_t len, long long max);

/* The commit's op stream: one growing arena of arguments (offset, length
 * each), kept between commits by its owner. */
typedef struct sch_ops {
    char *buf;
    size_t used, cap;
    size_t *off, *len;
    size_t n, ncap;
    int oom;
} sch_ops;
void sch_ops_reset(sch_ops *a);
/* Frees an arena grown past 64 MiB (a freak batch), keeps it otherwise. */
void sch_ops_trim(sch_ops *a);
void sch_ops_free(sch_ops *a);
void sch_ops_push(sch_ops *a, const char *s, size_t len);

/* The rounds of a commit: one per distinct partition of c->outs, in order
 * of first appearance, keyed P ob:<part>:<c->round> (c->round set). */
typedef struct sch_rounds {
    char **keys; /* owned */
    int *parts;  /* owned */
    size_t n;
} sch_rounds;
/* 0, or -1 out of memory (r then holds nothing). */
int sch_rounds_of(const sch_ctx *c, sch_rounds *r);
void sch_rounds_free(sch_rounds *r);

/* Builds the commit of c into a (reset first). rounds[k] is the round key
 * of partition parts[k] (np of them; the records staged there before the
 * commit runs). The stream:
 *   nh, then nh pairs (hash key, version: field v must equal it, absent 0);
 *   ns, then ns pairs (string key, version: the leading number of the
 *   packed record, never 0); nz, then nz string keys that must not exist
 *   (the packed records read as absent, version 0: one EXISTS for many,
 *   no per-key work in the script); no, then no round keys that must
 *   exist. Then writes:
 *   M n k v...         MSET n pairs        s key value      SET
 *   h key n f v...     HSET n pairs        x key n f...     HDEL n fields
 *   Z key n s m...     ZADD n pairs        R key n m...     ZREM n members
 *   d key              DEL                 p key value      RPUSH
 *   a key field suffix append to a hash field
 *   A key field suffix max  the same, then keep the last max entries of the
 *                      field's "e,e,...," list (a ring: sch_ring_keep)
 *   o set round        PERSIST round, SADD set round (an outbox round)
 * Every check runs before any write. Returns 0, or -1 out of memory (or a
 * batch too large to count). a->n == 4 means there is nothing to do. */
int sch_ops_build(sch_ctx *c, const sch_rounds *r, sch_ops *a);

#endif
