/* vec.h -- growing a caller's array by doubling: the one copy of the
 * "if (n == cap) realloc(cap * 2)" step that every vector in the tree
 * takes.
 *
 * Ownership: *p stays the caller's (free() it); on failure *p and *cap are
 * unchanged, so the array is still valid. */
#ifndef CM_VEC_H
#define CM_VEC_H

#include <stddef.h>

/* Makes *p (elements of elem bytes, *cap of them) hold at least need:
 * doubles from 16 (or from *cap) until it does; the new elements are
 * zeroed. 0, or -1 when memory runs out or the size overflows. */
int cm_grow(void **p, size_t *cap, size_t elem, size_t need);

/* cm_grow for an array variable: CM_GROW(v->items, v->cap, v->n + 1). */
#define CM_GROW(arr, cap, need) cm_grow((void **)&(arr), &(cap), sizeof *(arr), (need))

#endif
