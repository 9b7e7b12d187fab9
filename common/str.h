/* str.h -- bounded string copy, the one strlcpy of the tree. */
#ifndef CM_STR_H
#define CM_STR_H

#include <stddef.h>

/* Copies src into dst (size n > 0), truncating; always NUL-terminates.
 * Returns strlen(src): a result >= n means src was cut. */
size_t cm_strlcpy(char *dst, const char *src, size_t n);

#endif
