/* form.h -- application/x-www-form-urlencoded text (form.c), shared by the
 * provider webhooks (webhooks.h: Twilio bodies, callback query strings) and
 * the self-service pages (pages.h: the debtor's forms).
 *
 * Ownership: a gw_form owns its names and values (gw_form_free); a cm_buf
 * appended to is the caller's. */
#ifndef GW_FORM_H
#define GW_FORM_H

#include <stddef.h>

#include "buf.h"

typedef struct gw_form_pair {
    char *name, *value; /* decoded, NUL-terminated (a %00 is refused) */
} gw_form_pair;

typedef struct gw_form {
    gw_form_pair *p; /* in the order posted */
    size_t n;
} gw_form;

/* Decodes "a=1&b=x+y%21" ('+' is a space, %XX a byte; a pair without '='
 * has an empty value; empty pairs are skipped) into f (gw_form_free). 0,
 * or -1 with the reason in errstr (a bad or NUL escape, more than
 * GW_FORM_PAIRS_MAX pairs, out of memory); f is then empty. */
#define GW_FORM_PAIRS_MAX 256
int gw_form_parse(const char *s, size_t len, gw_form *f, char *errstr, size_t errlen);
/* A browser's form: at most max_fields fields, names and values valid
 * UTF-8, no name twice. 0, or -1 with the field and rule in errstr. */
int gw_form_strict(const gw_form *f, size_t max_fields, char *errstr, size_t errlen);
/* The first value of name, or NULL. */
const char *gw_form_get(const gw_form *f, const char *name);
void gw_form_free(gw_form *f);
/* Appends s percent-encoded (every byte but RFC 3986 unreserved ones). */
void gw_form_pct(cm_buf *b, const char *s);

#endif
