/* str.c -- bounded string copy and join, and the decimal reader (str.h). */
#include "str.h"

#include <limits.h>
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

long long cm_str_ll(const char *s)
{
    while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
        s++;
    int neg = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    /* 18 digits cannot overflow (10^18 - 1 < LLONG_MAX): checked only
     * from the 19th on, against LLONG_MAX or, negative, its magnitude + 1 */
    unsigned long long u = 0, lim = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
    const char *d0 = s;
    for (; *s >= '0' && *s <= '9' && s - d0 < 18; s++)
        u = u * 10 + (unsigned)(*s - '0');
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (u > (lim - d) / 10)
            return neg ? LLONG_MIN : LLONG_MAX;
        u = u * 10 + d;
    }
    if (!neg)
        return (long long)u;
    return u == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)u;
}
