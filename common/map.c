/* map.c -- string -> uint32 open-addressing hash map and FNV-1a (map.h). */
#include "map.h"

#include <stdlib.h>
#include <string.h>

uint64_t cm_fnv1a64(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ull;
    }
    return h;
}

uint32_t cm_fnv1a32(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 16777619u;
    }
    return h ? h : 1;
}

uint64_t cm_hash64(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)n, w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    if (n) {
        w = 0;
        for (size_t i = 0; i < n; i++)
            w |= (uint64_t)s[i] << (8 * i);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
    }
    h ^= h >> 33; /* MurmurHash3's fmix64 */
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static int same_key(const char *stored, const char *key, size_t klen)
{
    return strncmp(stored, key, klen) == 0 && stored[klen] == 0;
}

int cm_map_get(const cm_map *m, const char *key, size_t klen, uint32_t *val)
{
    if (!m->cap)
        return 0;
    uint32_t h = cm_fnv1a32(key, klen);
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const cm_map_slot *s = &m->slots[i];
        if (!s->hash)
            return 0;
        if (s->hash == h && same_key(s->key, key, klen)) {
            if (val)
                *val = s->val;
            return 1;
        }
    }
}

/* Moves the entries into a fresh array of ncap slots (keys are moved, not
 * copied). With keep, an entry it refuses is freed, and a kept entry takes
 * the value it gives. -1 on out of memory, with m unchanged. */
static int rehash(cm_map *m, size_t ncap, cm_map_keep_fn keep, void *arg)
{
    cm_map_slot *slots = calloc(ncap, sizeof *slots);
    if (!slots)
        return -1;
    size_t len = 0;
    for (size_t i = 0; i < m->cap; i++) {
        cm_map_slot e = m->slots[i];
        if (!e.hash)
            continue;
        if (keep && !keep(e.key, e.val, &e.val, arg)) {
            free(e.key);
            continue;
        }
        size_t j = e.hash & (ncap - 1);
        while (slots[j].hash)
            j = (j + 1) & (ncap - 1);
        slots[j] = e;
        len++;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = ncap;
    m->len = len;
    return 0;
}

static int grow(cm_map *m)
{
    return rehash(m, m->cap ? m->cap * 2 : 64, NULL, NULL);
}

long cm_map_filter(cm_map *m, cm_map_keep_fn keep, void *arg)
{
    size_t kept = 0;
    for (size_t i = 0; i < m->cap; i++) {
        uint32_t v = m->slots[i].val;
        if (m->slots[i].hash && keep(m->slots[i].key, m->slots[i].val, &v, arg))
            kept++;
    }
    size_t ncap = 64;
    while ((kept + 1) * 2 > ncap)
        ncap *= 2;
    size_t before = m->len;
    if (m->cap && rehash(m, ncap, keep, arg) < 0)
        return -1;
    return (long)(before - m->len);
}

int cm_map_put(cm_map *m, const char *key, size_t klen, uint32_t val)
{
    if ((m->len + 1) * 2 > m->cap && grow(m) < 0)
        return -1;
    uint32_t h = cm_fnv1a32(key, klen);
    size_t mask = m->cap - 1;
    cm_map_slot *s;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        s = &m->slots[i];
        if (!s->hash)
            break;
        if (s->hash == h && same_key(s->key, key, klen)) {
            s->val = val;
            return 0;
        }
    }
    char *k = malloc(klen + 1);
    if (!k)
        return -1;
    memcpy(k, key, klen);
    k[klen] = 0;
    *s = (cm_map_slot){.key = k, .hash = h, .val = val};
    m->len++;
    return 0;
}

void cm_map_free(cm_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].hash)
            free(m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof *m);
}
