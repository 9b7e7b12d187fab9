/* arena.h -- a bump allocator over a list of chunks, released at once.
 *
 * Design: the readers that build many small objects per message or per
 * pipeline (the JSON reader's nodes, Redis pipelines' replies) allocate
 * them from chunks and drop them all together: one malloc a chunk instead
 * of one or two an object, and no free at all for the objects. The first
 * chunk is kept across cm_arena_reset, so a reader reused between messages
 * allocates nothing once warm. Allocations are aligned for any type.
 *
 * Ownership: the arena owns its chunks and everything allocated from
 * them; cm_arena_reset and cm_arena_free invalidate every pointer it gave.
 * A zeroed cm_arena is an empty arena (its first chunk is made on first
 * use, of the size given to cm_arena_init or CM_ARENA_CHUNK). */
#ifndef CM_ARENA_H
#define CM_ARENA_H

#include <stddef.h>

#define CM_ARENA_CHUNK (64 * 1024)

typedef struct cm_arena_chunk {
    struct cm_arena_chunk *next;
    size_t used, cap;
    max_align_t data[];
} cm_arena_chunk;

typedef struct cm_arena {
    cm_arena_chunk *head, *cur;
    size_t first; /* the first chunk's size (0: CM_ARENA_CHUNK) */
} cm_arena;

/* Makes the first chunk, of `first` bytes (0: CM_ARENA_CHUNK), now: 0, or
 * -1 when memory ran out. Optional: a zeroed arena makes it on first use. */
int cm_arena_init(cm_arena *a, size_t first);
/* The slow path of cm_arena_alloc: a new chunk (n bytes when more than a
 * chunk). */
void *cm_arena_alloc_chunk(cm_arena *a, size_t n);

/* n bytes, aligned for any type; NULL when memory ran out. */
static inline void *cm_arena_alloc(cm_arena *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    cm_arena_chunk *c = a->cur;
    if (c && c->used + n <= c->cap) {
        void *r = (char *)c->data + c->used;
        c->used += n;
        return r;
    }
    return cm_arena_alloc_chunk(a, n);
}

/* Drops everything allocated; keeps the first chunk for reuse. */
void cm_arena_reset(cm_arena *a);
/* Releases every chunk (the arena is then empty, as if zeroed). */
void cm_arena_free(cm_arena *a);
/* 1 when p was allocated from the arena (a walk over its chunks). */
int cm_arena_owns(const cm_arena *a, const void *p);

#endif
