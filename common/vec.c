/* vec.c -- growing a caller's array by doubling (vec.h). */
#include "vec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int cm_grow(void **p, size_t *cap, size_t elem, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return -1;
        ncap *= 2;
    }
    if (elem && ncap > SIZE_MAX / elem)
        return -1;
    void *q = realloc(*p, ncap * elem);
    if (!q)
        return -1;
    memset((char *)q + *cap * elem, 0, (ncap - *cap) * elem);
    *p = q;
    *cap = ncap;
    return 0;
}
