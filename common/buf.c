/* buf.c -- the growable byte buffer and its JSON string writer (buf.h). */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

int cm_buf_grow(cm_buf *b, size_t n)
{
    if (b->oom)
        return -1;
    if (b->len + n + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

int cm_buf_printf(cm_buf *b, const char *fmt, ...)
{
    va_list ap;
    char tmp[512];
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof tmp)
        return cm_buf_add(b, tmp, (size_t)n);
    if (cm_buf_reserve(b, (size_t)n) < 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

size_t cm_uint_digits(uint64_t v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

size_t cm_fmt_uint(char *out, uint64_t v)
{
    size_t n = cm_uint_digits(v);
    for (size_t i = n; i > 0; i--, v /= 10)
        out[i - 1] = (char)('0' + v % 10);
    return n;
}

int cm_buf_int(cm_buf *b, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    if (v < 0)
        tmp[n++] = '-';
    n += cm_fmt_uint(tmp + n, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
    return cm_buf_add(b, tmp, n);
}

/* Strings are most of a JSON record's bytes and rarely need an escape, so
 * runs of plain bytes are found 16 at a time where SSE2 is available (every
 * x86-64); the tail (most strings are under 16 bytes) goes through a table. */
const char *cm_json_plain_end(const char *q, const char *end)
{
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  ctl = _mm_set1_epi8(0x1F);
    while (end - q >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl)); /* v <= 0x1F */
        int mask = _mm_movemask_epi8(m);
        if (mask)
            return q + __builtin_ctz((unsigned)mask);
        q += 16;
    }
#endif
    static const unsigned char special[256] = {1, 1, 1, 1, 1, 1, 1, 1, 1,         1,         1, 1,
                                               1, 1, 1, 1, 1, 1, 1, 1, 1,         1,         1, 1,
                                               1, 1, 1, 1, 1, 1, 1, 1, ['"'] = 1, ['\\'] = 1};
    for (; q < end; q++)
        if (special[(unsigned char)*q])
            return q;
    return end;
}

int cm_buf_json_str(cm_buf *b, const char *s, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    if (cm_buf_reserve(b, n * 6 + 2) < 0)
        return -1;
    char *o = b->p + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        const char *r = cm_json_plain_end(s + i, s + n);
        size_t run = (size_t)(r - (s + i));
        memcpy(o, s + i, run);
        o += run;
        i += run;
        if (i >= n)
            break;
        unsigned char c = (unsigned char)s[i];
        *o++ = '\\';
        switch (c) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hx[c >> 4];
            *o++ = hx[c & 15];
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->p);
    b->p[b->len] = 0;
    return 0;
}

int cm_buf_html(cm_buf *b, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep = NULL;
        switch (s[i]) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            break;
        }
        if (rep) {
            cm_buf_add(b, s + start, i - start);
            cm_buf_adds(b, rep);
            start = i + 1;
        }
    }
    return cm_buf_add(b, s + start, n - start);
}

int cm_buf_bidi_close(cm_buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    char *open = NULL; /* 'e' embedding/override, 'i' isolate; one per 3 bytes at most */
    size_t top = 0;
    int rc = 0;
    for (size_t i = 0; i + 2 < n; i++) {
        if (p[i] != 0xE2 || (p[i + 1] != 0x80 && p[i + 1] != 0x81))
            continue;
        unsigned cp = 0x2000u + ((unsigned)(p[i + 1] & 0x3F) << 6) + (p[i + 2] & 0x3Fu);
        char kind = 0;
        if ((cp >= 0x202A && cp <= 0x202E && cp != 0x202C))
            kind = 'e';
        else if (cp >= 0x2066 && cp <= 0x2068)
            kind = 'i';
        if (kind) {
            if (!open && !(open = malloc(n / 3 + 1))) {
                b->oom = 1;
                return -1;
            }
            open[top++] = kind;
        } else if (cp == 0x202C) { /* PDF: closes an embedding, never an isolate */
            if (top > 0 && open[top - 1] == 'e')
                top--;
        } else if (cp == 0x2069) { /* PDI: its isolate and all open inside it */
            size_t k = top;
            while (k > 0 && open[k - 1] != 'i')
                k--;
            if (k > 0)
                top = k - 1;
        } else {
            continue;
        }
        i += 2;
    }
    while (top > 0 && rc == 0)
        rc = cm_buf_adds(b, open[--top] == 'e' ? "\xE2\x80\xAC" : "\xE2\x81\xA9");
    free(open);
    return rc;
}

void cm_buf_reset(cm_buf *b)
{
    b->len = 0;
    b->oom = 0;
    if (b->p)
        b->p[0] = 0;
}

void cm_buf_free(cm_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

char *cm_buf_take(cm_buf *b, size_t *len)
{
    if (!b->p && cm_buf_add(b, "", 0) < 0) {
        cm_buf_free(b);
        return NULL;
    }
    if (b->oom) {
        cm_buf_free(b);
        return NULL;
    }
    char *p = b->p;
    if (len)
        *len = b->len;
    memset(b, 0, sizeof *b);
    return p;
}
