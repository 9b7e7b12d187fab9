/* json.h -- ingest's strict JSON reader (a DOM in an arena) and writer.
 *
 * Design: the hot path parses every inbound message and serializes one
 * canonical event. jansson spends ~14 us parsing and ~8 us dumping a
 * typical 480-byte event (a malloc per value and per key, a hash table per
 * object), which alone would cap ingest far below the broker. This reader
 * builds read-only nodes in an arena that is reused from message to
 * message (no malloc in the steady state), and the writer appends to one
 * growable buffer. It is strict RFC 8259, like jansson with
 * JSON_REJECT_DUPLICATES: no trailing garbage, no duplicate object keys,
 * no \u0000, no lone surrogates, integers must fit in int64 and reals must
 * be finite. Input must already be valid UTF-8 (ing_scan). jansson is still
 * used off the hot path (DLQ records, tests).
 *
 * Ownership: nodes and their strings belong to the ing_json that parsed
 * them and are valid until its next parse or ing_json_free. */
#ifndef ING_JSON_H
#define ING_JSON_H

#include <stddef.h>
#include <stdint.h>

enum { ING_JV_NULL, ING_JV_FALSE, ING_JV_TRUE, ING_JV_INT, ING_JV_REAL, ING_JV_STRING,
       ING_JV_ARRAY, ING_JV_OBJECT };

typedef struct ing_jv ing_jv;
struct ing_jv {
    int type;
    uint32_t n;      /* string: length in bytes; array/object: members */
    const char *key; /* member of an object: its key (NUL-terminated) */
    uint32_t keylen;
    union {
        const char *s; /* NUL-terminated (no NUL inside) */
        int64_t i;
        double d;
        ing_jv *first; /* first member */
    } u;
    ing_jv *next; /* next member of the parent */
};

typedef struct ing_json ing_json;

ing_json *ing_json_new(void);
void ing_json_free(ing_json *j);
/* Parses p[0..n): the root value, or NULL with "what (line L, column C)"
 * in err. Depth counts nested arrays/objects; deeper than max_depth fails. */
ing_jv *ing_json_parse(ing_json *j, const char *p, size_t n, int max_depth, char *err,
                       size_t errlen);

/* 1 when the last parse failed because of max_depth. */
int ing_json_too_deep(const ing_json *j);

/* Member of an object by key (NULL if absent or v is not an object). */
ing_jv *ing_jv_get(const ing_jv *obj, const char *key);

/* --- writer ------------------------------------------------------------- */

typedef struct ing_buf {
    char *p; /* NUL-terminated when not oom; malloc'd, owned by the buffer */
    size_t len, cap;
    int oom;
} ing_buf;

/* Makes room for n more bytes; -1 (and oom set) when memory runs out. */
int ing_buf_reserve(ing_buf *b, size_t n);
void ing_buf_raw(ing_buf *b, const char *s, size_t n);
void ing_buf_cstr(ing_buf *b, const char *s); /* raw, strlen */
void ing_buf_str(ing_buf *b, const char *s, size_t n); /* quoted and escaped */
void ing_buf_int(ing_buf *b, int64_t v);
void ing_buf_free(ing_buf *b);

#endif
