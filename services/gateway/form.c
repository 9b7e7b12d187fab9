/* form.c -- application/x-www-form-urlencoded bodies (pages.h).
 *
 * Design: the WHATWG URL standard's parser, strict where a browser never
 * sends anything else: '&'-separated name=value pairs, '+' a space, %XX a
 * byte; a bad escape, NUL, invalid UTF-8, a name given twice, too many
 * fields or a body over GW_FORM_MAX is refused with the field and the
 * rule. Names and values are decoded in one copy of the body (decoding
 * only shrinks), so a form costs one allocation. */
#include "pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

/* 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
static int utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0)
            k = 1, min = 0x80, c &= 0x1F;
        else if ((c & 0xF0) == 0xE0)
            k = 2, min = 0x800, c &= 0x0F;
        else if ((c & 0xF8) == 0xF0)
            k = 3, min = 0x10000, c &= 0x07;
        else
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (s[i + j] & 0xC0) != 0x80)
                return 0;
            c = (c << 6) | (s[i + j] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

/* Decodes s[0..n) in place into out (out <= s); its length, or -1 on a
 * bad %XX. */
static long decode(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%') {
            int h = -1;
            if (i + 2 < n) {
                int a = cm_hexval((unsigned char)s[i + 1]), b = cm_hexval((unsigned char)s[i + 2]);
                h = a >= 0 && b >= 0 ? a * 16 + b : -1;
            }
            if (h < 0)
                return -1;
            out[o++] = (char)h;
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    return (long)o;
}

int gw_form_parse(const char *body, size_t len, gw_form *f, char *errstr, size_t errlen)
{
    memset(f, 0, sizeof *f);
    if (len > GW_FORM_MAX) {
        snprintf(errstr, errlen, "(form): must be at most %d bytes", GW_FORM_MAX);
        return -1;
    }
    if (!(f->buf = malloc(len + 1))) {
        snprintf(errstr, errlen, "(form): out of memory");
        return -1;
    }
    if (len)
        memcpy(f->buf, body, len);
    f->buf[len] = 0;
    char *p = f->buf, *end = f->buf + len;
    while (p < end) {
        char *amp = memchr(p, '&', (size_t)(end - p));
        char *stop = amp ? amp : end;
        if (stop > p) {
            char *eq = memchr(p, '=', (size_t)(stop - p));
            char *vs = eq ? eq + 1 : stop;
            size_t nl = (size_t)((eq ? eq : stop) - p), vl = (size_t)(stop - vs);
            if (f->n == GW_FORM_FIELDS) {
                snprintf(errstr, errlen, "(form): at most %d fields", GW_FORM_FIELDS);
                goto bad;
            }
            long dn = decode(p, nl, p);
            if (dn < 0) {
                snprintf(errstr, errlen, "(form): field %zu: bad percent escape", f->n + 1);
                goto bad;
            }
            p[dn] = 0;
            long dv = decode(vs, vl, vs);
            if (dv < 0) {
                snprintf(errstr, errlen, "%.64s: bad percent escape", p);
                goto bad;
            }
            vs[dv] = 0; /* the '&' or the final NUL: decoding only shrinks */
            if (strlen(p) != (size_t)dn || strlen(vs) != (size_t)dv ||
                !utf8_ok((unsigned char *)p, (size_t)dn) ||
                !utf8_ok((unsigned char *)vs, (size_t)dv)) {
                snprintf(errstr, errlen, "(form): field %zu: must be UTF-8 text without NUL",
                         f->n + 1);
                goto bad;
            }
            if (gw_form_get(f, p)) {
                snprintf(errstr, errlen, "%.64s: given twice", p);
                goto bad;
            }
            f->name[f->n] = p;
            f->value[f->n++] = vs;
        }
        p = stop + 1;
    }
    return 0;
bad:
    gw_form_free(f);
    return -1;
}

const char *gw_form_get(const gw_form *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->name[i], name) == 0)
            return f->value[i];
    return NULL;
}

void gw_form_free(gw_form *f)
{
    free(f->buf);
    memset(f, 0, sizeof *f);
}

void gw_form_pct(cm_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            cm_buf_addc(b, (char)*p);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            cm_buf_add(b, e, 3);
        }
    }
}
