/* str.c -- bounded string copy and join (str.h). */
#include "str.h"

#include <string.h>

size_t cm_strlcpy(char *dst, const char *src, size_t n)
{
    size_t l = strlen(src), c = l < n ? l : n - 1;
    memcpy(dst, src, c);
    dst[c] = 0;
    return l;
}

size_t cm_str_join(char *dst, size_t n, char sep, const char *const *parts, size_t k)
{
    size_t at = 0; /* the joined length so far; bytes below n - 1 are written */
    for (size_t i = 0; i < k; i++) {
        if (i > 0) {
            if (at < n - 1)
                dst[at] = sep;
            at++;
        }
        size_t l = strlen(parts[i]);
        if (at < n - 1)
            memcpy(dst + at, parts[i], l < n - 1 - at ? l : n - 1 - at);
        at += l;
    }
    dst[at < n - 1 ? at : n - 1] = 0;
    return at;
}
