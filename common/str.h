/* str.h -- bounded string copy and join: the one strlcpy of the tree, a
 * printf-free "a SEP b SEP c" for keys built on hot paths, and a decimal
 * reader for the numbers of packed records. */
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

/* The leading decimal integer of s, read as strtoll(s, NULL, 10) reads it:
 * white space skipped, an optional sign, digits up to the first other
 * byte, LLONG_MAX or LLONG_MIN on overflow, 0 without digits. Without
 * glibc's locale and base handling (200 instructions a call; the
 * scheduler reads five per invoice it fires). */
long long cm_str_ll(const char *s);

#endif
