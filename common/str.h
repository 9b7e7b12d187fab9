/* str.h -- bounded string copy and join: the one strlcpy of the tree, and
 * a printf-free "a SEP b SEP c" for keys built on hot paths. */
#ifndef CM_STR_H
#define CM_STR_H

#include <stddef.h>

/* Copies src into dst (size n > 0), truncating; always NUL-terminates.
 * Returns strlen(src): a result >= n means src was cut. */
size_t cm_strlcpy(char *dst, const char *src, size_t n);

/* Writes parts[0] sep parts[1] sep ... parts[k-1] into dst (size n > 0),
 * as snprintf("%s<sep>%s...") would: truncated, always NUL-terminated.
 * Returns the joined length: a result >= n means it was cut. */
size_t cm_str_join(char *dst, size_t n, char sep, const char *const *parts, size_t k);

#endif
