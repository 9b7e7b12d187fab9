/* buf.h -- the one growable byte buffer, with a JSON string writer.
 *
 * Design: every service builds records, messages and keys by appending to
 * a buffer that grows by doubling and is always NUL-terminated. An append
 * that cannot allocate sets oom; later appends are then no-ops and return
 * -1, so a writer checks once at the end (`if (b.oom) ...`) instead of after
 * every call. cm_buf_json_str is the hot path of every JSON writer in the
 * tree (ingest's canonical events, the scheduler's commands): it copies
 * runs of plain bytes 16 at a time and escapes only what RFC 8259 requires.
 *
 * Ownership: the buffer owns p; cm_buf_free releases it, cm_buf_take hands
 * it to the caller (who free()s it). A zeroed cm_buf (CM_BUF_INIT) is an
 * empty buffer. */
#ifndef CM_BUF_H
#define CM_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct cm_buf {
    char *p; /* NUL-terminated once anything was appended (NULL before) */
    size_t len, cap;
    int oom; /* an append failed: content is incomplete */
} cm_buf;

#define CM_BUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }

/* The slow path of cm_buf_reserve: grows the buffer (doubling). */
int cm_buf_grow(cm_buf *b, size_t n);

/* Makes room for n more bytes (plus the NUL). 0, or -1 and oom set. The
 * appends below are inline: a JSON writer calls them dozens of times a
 * record, and the call itself cost more than the check (callgrind of the
 * scheduler's commands, docs/scheduler.md). */
static inline int cm_buf_reserve(cm_buf *b, size_t n)
{
    if (!b->oom && b->len + n + 1 <= b->cap)
        return 0;
    return cm_buf_grow(b, n);
}

static inline int cm_buf_add(cm_buf *b, const void *p, size_t n)
{
    if (cm_buf_reserve(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
    return 0;
}

static inline int cm_buf_adds(cm_buf *b, const char *s) /* strlen(s) bytes */
{
    return cm_buf_add(b, s, strlen(s));
}

static inline int cm_buf_addc(cm_buf *b, char c)
{
    if (cm_buf_reserve(b, 1) < 0)
        return -1;
    b->p[b->len++] = c;
    b->p[b->len] = 0;
    return 0;
}

int cm_buf_printf(cm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Decimal integer, without printf. */
int cm_buf_int(cm_buf *b, int64_t v);
/* v in decimal at out (room for 20 bytes, no terminator written): the
 * number of digits; and that number alone. */
size_t cm_fmt_uint(char *out, uint64_t v);
size_t cm_uint_digits(uint64_t v);
/* s[0..n) as a JSON string: quoted, with " \ and control bytes escaped
 * (\b \f \n \r \t or \u00XX). s must be valid UTF-8 (not checked). */
int cm_buf_json_str(cm_buf *b, const char *s, size_t n);
/* s[0..n) with & < > " ' escaped for HTML text and attribute values. */
int cm_buf_html(cm_buf *b, const char *s, size_t n);
/* Appends the closers of the bidi embeddings, overrides and isolates that
 * s[0..n) (UTF-8) opens and leaves open -- PDF U+202C for LRE RLE LRO RLO,
 * PDI U+2069 for LRI RLI FSI, innermost first, matched as the Unicode
 * Bidirectional Algorithm matches them (UAX #9 X1-X6a: a PDF does not
 * close across an isolate, a PDI closes its isolate and what is open
 * inside it) -- so that a value inserted into a text (a debtor's name with
 * U+202E in an email or a page) cannot reorder what follows it. Appends
 * nothing for balanced or plain text. 0, or -1 (oom). */
int cm_buf_bidi_close(cm_buf *b, const char *s, size_t n);
/* Empties the buffer (keeps its memory) and clears oom. */
void cm_buf_reset(cm_buf *b);
void cm_buf_free(cm_buf *b);
/* Hands the string to the caller (free() it) and empties the buffer; NULL
 * when memory ran out (the buffer is then freed). */
char *cm_buf_take(cm_buf *b, size_t *len);

/* The first byte in [q, end) that a JSON string cannot hold as is (" \ or
 * a control byte), or end. Shared by the writer above and the JSON reader
 * (common/json.c): 16 bytes at a time with SSE2. */
const char *cm_json_plain_end(const char *q, const char *end);

#endif
