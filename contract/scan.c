/* scan.c -- byte-level checks that run before any JSON parsing.
 *
 * Design: one pass over the bytes checks strict UTF-8 (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF) and measures the
 * JSON nesting depth outside strings, so a message nested 10 000 levels
 * deep is rejected with a clear reason before jansson's recursive parser
 * sees it. A malformed document may be measured wrongly; the parser that
 * follows rejects it anyway. */
#include "validate.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    if (c < 0xC2 || c > 0xF4)
        return 0; /* continuation byte, overlong 2-byte lead, or > U+10FFFF */
    if (c < 0xE0) {
        if (n < 2 || (p[1] & 0xC0) != 0x80)
            return 0;
        return 2;
    }
    if (c < 0xF0) {
        if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && p[1] < 0xA0)
            return 0; /* overlong */
        if (c == 0xED && p[1] > 0x9F)
            return 0; /* surrogate */
        return 3;
    }
    if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
        return 0;
    if (c == 0xF0 && p[1] < 0x90)
        return 0; /* overlong */
    if (c == 0xF4 && p[1] > 0x8F)
        return 0; /* > U+10FFFF */
    return 4;
}

int ct_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        /* ASCII runs 8 bytes at a time */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(p + i, n - i);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}

void ct_utf8_sanitize(char *s)
{
    unsigned char *p = (unsigned char *)s;
    size_t n = strlen(s), i = 0;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(p + i, n - i);
        if (k == 0)
            p[i++] = '?';
        else
            i += k;
    }
}

int ct_scan(const char *s, size_t n, int max_depth, const char *field, ct_reasons *rs)
{
    const unsigned char *p = (const unsigned char *)s;
    int depth = 0, in_str = 0, esc = 0;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c >= 0x80) {
            size_t k = utf8_seq(p + i, n - i);
            if (k == 0) {
                ct_reason_add(rs, field, "utf8", "not valid UTF-8 (byte %zu)", i);
                return -1;
            }
            i += k;
            esc = 0;
            continue;
        }
        if (in_str) {
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max_depth) {
                ct_reason_add(rs, field, "depth", "JSON nested deeper than %d levels", max_depth);
                return -1;
            }
        } else if (c == '}' || c == ']') {
            if (depth > 0)
                depth--;
        }
        i++;
    }
    return 0;
}
