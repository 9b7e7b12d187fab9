/* read.c -- a record's bytes into the arena reader's tree (contract.h).
 *
 * Design: every decoder of libcontract (events, commands, outcomes,
 * tasks) reads common/json.h's cm_jv tree, so each reader on a hot path
 * parses a record once into an arena it reuses, with no malloc per value.
 * The one parse rule set is here: valid UTF-8 first (the reader assumes
 * it), then strict JSON (duplicate keys, \u0000 and trailing bytes are
 * refused) nested at most CT_READ_MAX_DEPTH. ct_record_parse_json serves
 * readers that hold a jansson tree off the hot paths (replays, tests). */
#include "contract.h"
#include "internal.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const cm_jv *ct_record_parse(cm_json *j, const char *p, size_t n, const char *what, char *errstr,
                             size_t errlen)
{
    char jerr[160];
    if (!ct_utf8_valid(p, n)) {
        snprintf(errstr, errlen, "(%s): utf8 (not valid UTF-8)", what);
        return NULL;
    }
    const cm_jv *v = cm_json_parse_more(j, p, n, CT_READ_MAX_DEPTH, jerr, sizeof jerr);
    if (!v)
        snprintf(errstr, errlen, "(%s): json (not JSON: %s)", what, jerr);
    return v;
}

const cm_jv *ct_record_parse_json(cm_json *j, const json_t *v, const char *what, char *errstr,
                                  size_t errlen)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s) {
        snprintf(errstr, errlen, "(%s): out of memory", what);
        return NULL;
    }
    /* the tree's strings are copied into j: s can go at once */
    const cm_jv *r = ct_record_parse(j, s, strlen(s), what, errstr, errlen);
    free(s);
    return r;
}
