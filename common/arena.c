/* arena.c -- the chunked bump allocator of arena.h. */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>

static cm_arena_chunk *chunk_new(size_t cap)
{
    cm_arena_chunk *c = malloc(sizeof *c + cap);
    if (c) {
        c->next = NULL;
        c->used = 0;
        c->cap = cap;
    }
    return c;
}

int cm_arena_init(cm_arena *a, size_t first)
{
    a->first = first ? first : CM_ARENA_CHUNK;
    a->head = a->cur = chunk_new(a->first);
    return a->head ? 0 : -1;
}

void *cm_arena_alloc_chunk(cm_arena *a, size_t n)
{
    if (!a->head) {
        size_t first = a->first ? a->first : CM_ARENA_CHUNK;
        if (!(a->head = a->cur = chunk_new(n > first ? n : first)))
            return NULL;
        a->first = first;
    } else {
        cm_arena_chunk *c = chunk_new(n > CM_ARENA_CHUNK ? n : CM_ARENA_CHUNK);
        if (!c)
            return NULL;
        a->cur->next = c;
        a->cur = c;
    }
    void *r = (char *)a->cur->data + a->cur->used;
    a->cur->used += n;
    return r;
}

void cm_arena_reset(cm_arena *a)
{
    if (!a->head)
        return;
    cm_arena_chunk *c = a->head->next;
    while (c) {
        cm_arena_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head->next = NULL;
    a->head->used = 0;
    a->cur = a->head;
}

void cm_arena_free(cm_arena *a)
{
    cm_arena_reset(a);
    free(a->head);
    a->head = a->cur = NULL;
}

int cm_arena_owns(const cm_arena *a, const void *p)
{
    uintptr_t x = (uintptr_t)p;
    for (const cm_arena_chunk *c = a->head; c; c = c->next) {
        uintptr_t lo = (uintptr_t)c->data;
        if (x >= lo && x < lo + c->cap)
            return 1;
    }
    return 0;
}
