/* store.h -- the reporter's snapshots in Redis (see store.c). */
#ifndef REP_STORE_H
#define REP_STORE_H

#include "redis.h"
#include "reporter.h"

/* Saves st (with its offsets) under base; *bytes_out = snapshot size. */
int rep_store_save(cm_redis *r, const char *base, const rep_state *st, size_t *bytes_out,
                   char *errstr, size_t errlen);
/* 1 and a new state in *out (the caller frees it with rep_state_free), 0
 * when there is no snapshot, -1 on error (Redis down, or a corrupt
 * snapshot: errstr says which). */
int rep_store_load(cm_redis *r, const char *base, rep_state **out, char *errstr, size_t errlen);

#endif
