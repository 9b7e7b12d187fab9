/* map.h -- the one string-keyed hash map, and the one FNV-1a hash.
 *
 * Design: open addressing with linear probing, grown to twice the size at
 * 50% load; a slot's 32-bit hash is kept beside its key (0 = empty), so a
 * probe compares keys only on a hash match. Values are uint32 (an index
 * into the caller's own arrays: the reporter keeps its rows in vectors and
 * indexes them by id). There is no single delete: the indexes that use it
 * only grow, and a rebuild is cheaper than tombstones; cm_map_filter is
 * that rebuild (the reporter's de-duplication window drops its old ids so).
 *
 * Ownership: keys are copied and owned by the map; cm_map_free releases
 * them. A zeroed cm_map is an empty map. */
#ifndef CM_MAP_H
#define CM_MAP_H

#include <stddef.h>
#include <stdint.h>

/* One slot: the key, its hash and its value side by side, so that a probe
 * reads one cache line for all three and the key's bytes only on a hash
 * match (until 2026-12-06 they were three arrays: a hit cost a cache miss
 * in each, which the reporter's profile showed as 14% of its apply). */
typedef struct cm_map_slot {
    char *key;     /* owned copy, NUL-terminated */
    uint32_t hash; /* 0 = empty slot */
    uint32_t val;
} cm_map_slot;

typedef struct cm_map {
    cm_map_slot *slots;
    size_t cap, len;
} cm_map;

/* Iteration in slot order (stable for a given sequence of puts):
 *   for (size_t i = 0; i < m->cap; i++) if (cm_map_at(m, i, &key, &val)) ...
 * 1 with the i-th slot's key (owned by the map) and value, 0 when empty. */
static inline int cm_map_at(const cm_map *m, size_t i, const char **key, uint32_t *val)
{
    if (!m->slots[i].hash)
        return 0;
    *key = m->slots[i].key;
    *val = m->slots[i].val;
    return 1;
}

/* 1 and *val (when val is not NULL) when key[0..klen) is present, else 0. */
int cm_map_get(const cm_map *m, const char *key, size_t klen, uint32_t *val);
/* Inserts or overwrites; -1 on out of memory. */
int cm_map_put(cm_map *m, const char *key, size_t klen, uint32_t val);
void cm_map_free(cm_map *m);
/* Keeps the entries for which keep(key, val, &newval, arg) returns 1, with
 * newval as their value (keep is called twice per entry, so it must be a
 * pure function of its arguments); frees the others' keys. The table is
 * rebuilt at the smallest capacity (at least 64) that holds the kept
 * entries under the load limit, so memory shrinks too. Returns the number
 * of entries removed, or -1 on out of memory with m unchanged. */
typedef int (*cm_map_keep_fn)(const char *key, uint32_t val, uint32_t *newval, void *arg);
long cm_map_filter(cm_map *m, cm_map_keep_fn keep, void *arg);

/* 64-bit FNV-1a of p[0..n): stable across builds and machines (used where
 * the value is persisted or decides something, e.g. an A/B arm). Note:
 * the offset basis is 1469598103934665603, one digit short of the
 * published 14695981039346656037. The scheduler's arm assignment has
 * always used it, and changing it would move live debtors between arms,
 * so it stays; the mixing is still FNV-1a's. */
uint64_t cm_fnv1a64(const void *p, size_t n);
/* 32-bit FNV-1a, never 0 (the map's empty-slot mark). */
uint32_t cm_fnv1a32(const void *p, size_t n);
/* A fast 64-bit hash of p[0..n) for in-memory tables: eight bytes a step
 * and a final avalanche, so every bit, the low ones a table masks
 * included, depends on every byte. Not stable across versions and not
 * the same on a big-endian machine: never persist it or let it decide
 * anything outside one process (cm_fnv1a64 is for that). */
uint64_t cm_hash64(const void *p, size_t n);

#endif
