/* store.h -- loading batch records from Redis and committing them
 * atomically (one compare-and-set Lua script per batch).
 *
 * The commit script first checks the version of every record the batch
 * read, then applies every write; Redis runs a script as one unit, so a
 * crash leaves the old state or the new one. A version mismatch (another
 * writer got there first, e.g. a replica that has not yet seen a
 * rebalance) aborts the whole batch without writing anything; the caller
 * reloads and recomputes. */
#ifndef SCH_STORE_H
#define SCH_STORE_H

#include <stddef.h>

#include "apply.h"
#include "redis.h"
#include "state.h"

/* Loads every record of the map that is not loaded yet (one pipeline). */
int sch_store_load(cm_redis *r, sch_map *m, char *errstr, size_t errlen);

/* Commits the ctx's map, appends and outs. Returns 0 committed, 1 conflict
 * (nothing written but outbox rounds left to expire), -1 error.
 *
 * The outs of each partition p go to a fresh hash P ob:<p>:<c->round>
 * (command id -> "<c|e>\n<key>\n<payload>"), written by a plain HSET with a
 * PEXPIRE in the same pipeline, just before the script: their bytes never
 * pass through Lua. The script checks that every such round exists (before
 * any write, like the versions), then PERSISTs it and adds it to the set
 * P ob:<p>; a round whose commit lost (or never ran: a crash) expires. */
int sch_store_commit(cm_redis *r, sch_ctx *c, char *errstr, size_t errlen);

/* Due timers of each partition up to now with their invoice and customer
 * (HMGET of sch_cust_fields), at most limit per partition; records are
 * added to m with the timer's partition as old_part; counts[i] = timers
 * seen in parts[i]. *next_due (if not NULL) is lowered to the earliest
 * timer due after now. */
int sch_store_peek(cm_redis *r, const char *prefix, const int *parts, int nparts, int64_t now,
                   int limit, sch_map *m, int *counts, int64_t *next_due, char *errstr,
                   size_t errlen);

void sch_store_due_key(char *out, size_t len, const char *prefix, int part);
/* P ob:<part>, the set of the partition's claimed outbox rounds. */
void sch_store_out_key(char *out, size_t len, const char *prefix, int part);
/* P ob:<part>:<round>, one claimed round's records. */
void sch_store_round_key(char *out, size_t len, const char *prefix, int part, const char *round);

#endif
