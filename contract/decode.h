/* decode.h -- member getters the command, contact and task decoders share
 * (command_decode.c, outcome.c); nothing outside libcontract includes it.
 *
 * Design: one getter per JSON shape checks presence, type and a CT_* limit
 * of one member of d->obj and records the first problem as
 * "<path>.<name>: <rule>" in d->err. Unlike event.c's getters these keep
 * reading after a problem: a rejected command is still decoded as far as
 * it is valid, so that it can be answered. JSON null counts as absent.
 * They read common/json.h's arena tree (contract.h, ct_record_parse). */
#ifndef CT_DECODE_H
#define CT_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"

typedef struct ct_dec {
    const cm_jv *obj; /* the object members are read from */
    const char *path; /* "" (top level), "customer", "invoices[3]" */
    char *err;
    size_t errlen;
    int failed;
} ct_dec;

/* String rules (flags of ct_dec_str). */
#define CT_DEC_NOCTL 1 /* no control characters (< 0x20, 0x7f) */
#define CT_DEC_TOKEN 2 /* no control characters and no spaces (ids, names) */

/* Records "<path>.<name>: <rule>" unless a problem was recorded already. */
void ct_dec_fail(ct_dec *d, const char *name, const char *rule);
/* The string member name (1..max bytes, or also "" when not required; no
 * NUL; flags), or NULL when absent or wrong (a problem recorded when
 * required or wrong). */
const char *ct_dec_str(ct_dec *d, const char *name, int required, size_t max, int flags);
/* 1 and *out when the integer member is present, 0 when absent (a problem
 * recorded when required), -1 when it is not an integer. */
int ct_dec_int(ct_dec *d, const char *name, int required, int64_t *out);
/* An RFC 3339 instant member into *ms; returns as ct_dec_int. */
int ct_dec_instant(ct_dec *d, const char *name, int required, int64_t *ms);
/* A YYYY-MM-DD member into *day; returns as ct_dec_int. */
int ct_dec_date(ct_dec *d, const char *name, int required, int32_t *day);
/* The object / array (at most CT_LIST_MAX items) member, or NULL. */
const cm_jv *ct_dec_object(ct_dec *d, const char *name, int required);
const cm_jv *ct_dec_array(ct_dec *d, const char *name, int required);

/* A string node's bytes and length; NULL and 0 for any other node. */
static inline const char *ct_jv_str(const cm_jv *v)
{
    return v && v->type == CM_JV_STRING ? v->u.s : NULL;
}
static inline size_t ct_jv_strlen(const cm_jv *v)
{
    return v && v->type == CM_JV_STRING ? v->n : 0;
}

#endif
