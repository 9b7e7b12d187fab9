/* buf.h -- a growable byte buffer, always NUL-terminated.
 * The owner frees data with ntf_buf_free (or takes it with ntf_buf_take and
 * frees it with free()). Appends return 0 or -1 on allocation failure; once
 * an append failed the buffer keeps oom set and later appends are no-ops. */
#ifndef NTF_BUF_H
#define NTF_BUF_H

#include <stddef.h>

typedef struct ntf_buf {
    char *data;
    size_t len, cap;
    int oom;
} ntf_buf;

#define NTF_BUF_INIT {NULL, 0, 0, 0}

int ntf_buf_add(ntf_buf *b, const void *p, size_t n);
int ntf_buf_adds(ntf_buf *b, const char *s);
int ntf_buf_addc(ntf_buf *b, char c);
int ntf_buf_printf(ntf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s with & < > " ' escaped for HTML text and attributes. */
int ntf_buf_add_html(ntf_buf *b, const char *s, size_t n);
void ntf_buf_reset(ntf_buf *b);
void ntf_buf_free(ntf_buf *b);
/* Hands the string to the caller (free() it); the buffer is emptied. */
char *ntf_buf_take(ntf_buf *b, size_t *len);

/* Copies src into dst (size n > 0), truncating; always NUL-terminates. */
void ntf_strlcpy(char *dst, const char *src, size_t n);

#endif
