/* form.c -- application/x-www-form-urlencoded: the bodies Twilio posts, the
 * query strings of the webhook URLs and the self-service pages' forms.
 *
 * Design: the WHATWG URL standard's urlencoded parser, strict where it is
 * lenient: pairs split on '&', name and value on the first '=', '+' is a
 * space and %XX a byte; a malformed or NUL escape is refused rather than
 * passed on, because a signature and an event are built from what is
 * decoded here. Empty pairs ("a=1&&b=2") are skipped as the standard says.
 * At most GW_FORM_PAIRS_MAX pairs, so a hostile body cannot make the sort
 * of the signature check costly. The pages add gw_form_strict: what a
 * browser never sends (a name twice, bytes that are not UTF-8, many
 * fields) is refused there rather than guessed at. */
#include "form.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "validate.h"

/* Decodes s[0..n) into a malloc'd string; NULL with why (at is the
 * offset of s in the whole text, for the message). */
static char *decode(const char *s, size_t n, size_t at, char *why, size_t whylen)
{
    char *out = malloc(n + 1);
    size_t o = 0;
    if (!out) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
            continue;
        }
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        int hi = i + 2 < n ? cm_hexval((unsigned char)s[i + 1]) : -1;
        int lo = i + 2 < n ? cm_hexval((unsigned char)s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi | lo) == 0) {
            snprintf(why, whylen, "%s at byte %zu",
                     hi < 0 || lo < 0 ? "not a %XX escape" : "a %00 escape", at + i);
            free(out);
            return NULL;
        }
        out[o++] = (char)(hi << 4 | lo);
        i += 2;
    }
    out[o] = 0;
    return out;
}

int gw_form_parse(const char *s, size_t len, gw_form *f, char *errstr, size_t errlen)
{
    memset(f, 0, sizeof *f);
    size_t pairs = 1;
    for (size_t i = 0; i < len; i++)
        pairs += s[i] == '&';
    if (pairs > GW_FORM_PAIRS_MAX) {
        snprintf(errstr, errlen, "more than %d parameters", GW_FORM_PAIRS_MAX);
        return -1;
    }
    if (len && !(f->p = calloc(pairs, sizeof *f->p))) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < len;) {
        const char *amp = memchr(s + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - s) : len;
        if (end > i) {
            const char *eq = memchr(s + i, '=', end - i);
            size_t ne = eq ? (size_t)(eq - s) : end;
            gw_form_pair *p = &f->p[f->n];
            p->name = decode(s + i, ne - i, i, errstr, errlen);
            p->value = p->name && eq ? decode(eq + 1, end - ne - 1, ne + 1, errstr, errlen)
                       : p->name     ? decode("", 0, 0, errstr, errlen)
                                     : NULL;
            f->n++;
            if (!p->name || !p->value) {
                gw_form_free(f);
                return -1;
            }
        }
        i = end + 1;
    }
    return 0;
}

const char *gw_form_get(const gw_form *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->p[i].name, name) == 0)
            return f->p[i].value;
    return NULL;
}

void gw_form_free(gw_form *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->p[i].name);
        free(f->p[i].value);
    }
    free(f->p);
    f->p = NULL;
    f->n = 0;
}

int gw_form_strict(const gw_form *f, size_t max_fields, char *errstr, size_t errlen)
{
    if (f->n > max_fields) {
        snprintf(errstr, errlen, "(form): at most %zu fields", max_fields);
        return -1;
    }
    for (size_t i = 0; i < f->n; i++) {
        const gw_form_pair *p = &f->p[i];
        if (!ct_utf8_valid(p->name, strlen(p->name)) ||
            !ct_utf8_valid(p->value, strlen(p->value))) {
            snprintf(errstr, errlen, "(form): field %zu: must be UTF-8 text without NUL", i + 1);
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(f->p[j].name, p->name) == 0) {
                snprintf(errstr, errlen, "%.64s: given twice", p->name);
                return -1;
            }
    }
    return 0;
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
