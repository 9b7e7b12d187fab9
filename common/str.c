/* str.c -- bounded string copy (str.h). */
#include "str.h"

#include <string.h>

size_t cm_strlcpy(char *dst, const char *src, size_t n)
{
    size_t l = strlen(src), c = l < n ? l : n - 1;
    memcpy(dst, src, c);
    dst[c] = 0;
    return l;
}
