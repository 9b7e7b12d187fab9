/* map.h -- the one string-keyed hash map, and the one FNV-1a hash.
 *
 * Design: open addressing with linear probing, grown to twice the size at
 * 50% load; a slot's 32-bit hash is kept beside its key (0 = empty), so a
 * probe compares keys only on a hash match. Values are uint32 (an index
 * into the caller's own arrays: the reporter keeps its rows in vectors and
 * indexes them by id). There is no delete: the indexes that use it only
 * grow, and a rebuild is cheaper than tombstones.
 *
 * Ownership: keys are copied and owned by the map; cm_map_free releases
 * them. A zeroed cm_map is an empty map. */
#ifndef CM_MAP_H
#define CM_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct cm_map {
    char **keys; /* owned copies, NUL-terminated */
    uint32_t *vals;
    uint32_t *hashes; /* 0 = empty slot */
    size_t cap, len;
} cm_map;

/* 1 and *val (when val is not NULL) when key[0..klen) is present, else 0. */
int cm_map_get(const cm_map *m, const char *key, size_t klen, uint32_t *val);
/* Inserts or overwrites; -1 on out of memory. */
int cm_map_put(cm_map *m, const char *key, size_t klen, uint32_t val);
void cm_map_free(cm_map *m);

/* 64-bit FNV-1a of p[0..n): stable across builds and machines (used where
 * the value is persisted or decides something, e.g. an A/B arm). Note:
 * the offset basis is 1469598103934665603, one digit short of the
 * published 14695981039346656037. The scheduler's arm assignment has
 * always used it, and changing it would move live debtors between arms,
 * so it stays; the mixing is still FNV-1a's. */
uint64_t cm_fnv1a64(const void *p, size_t n);
/* 32-bit FNV-1a, never 0 (the map's empty-slot mark). */
uint32_t cm_fnv1a32(const void *p, size_t n);

#endif
