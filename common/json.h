/* json.h -- a strict JSON reader that builds a read-only DOM in an arena.
 *
 * Design: ingest parses every inbound message on its hot path. jansson
 * spends ~14 us parsing a typical 480-byte event (a malloc per value and
 * per key, a hash table per object), which alone would cap ingest far
 * below the broker. This reader builds read-only nodes in an arena that is
 * reused from message to message (no malloc in the steady state). It is
 * strict RFC 8259, like jansson with JSON_REJECT_DUPLICATES: no trailing
 * garbage, no duplicate object keys, no \u0000, no lone surrogates,
 * integers must fit in int64 and reals must be finite. Input must already
 * be valid UTF-8 (ct_utf8_valid). jansson is still used off the hot paths.
 * Writing JSON is common/buf.h's (cm_buf_json_str and friends); a tree
 * read here is written back compactly, members in their order, with
 * cm_jv_write.
 *
 * Ownership: nodes and their strings belong to the cm_json that parsed
 * them and are valid until its next cm_json_parse, cm_json_clear or
 * cm_json_free. */
#ifndef CM_JSON_H
#define CM_JSON_H

#include <stddef.h>
#include <stdint.h>

enum {
    CM_JV_NULL,
    CM_JV_FALSE,
    CM_JV_TRUE,
    CM_JV_INT,
    CM_JV_REAL,
    CM_JV_STRING,
    CM_JV_ARRAY,
    CM_JV_OBJECT
};

typedef struct cm_jv cm_jv;
struct cm_jv {
    int type;
    uint32_t n;      /* string: length in bytes; array/object: members */
    const char *key; /* member of an object: its key (NUL-terminated) */
    uint32_t keylen;
    union {
        const char *s; /* NUL-terminated (no NUL inside) */
        int64_t i;
        double d;
        cm_jv *first; /* first member */
    } u;
    cm_jv *next; /* next member of the parent */
};

typedef struct cm_json cm_json;

cm_json *cm_json_new(void);
/* The same with a first chunk of `first` bytes (the next ones are 64 KiB
 * or the size of what needs them): for an arena kept per record, as the
 * notifier keeps one per command in memory. */
cm_json *cm_json_new_cap(size_t first);
void cm_json_free(cm_json *j);
/* Parses p[0..n): the root value, or NULL with "what (line L, column C)"
 * in err. Depth counts nested arrays/objects; deeper than max_depth fails. */
cm_jv *cm_json_parse(cm_json *j, const char *p, size_t n, int max_depth, char *err, size_t errlen);

/* The same without releasing the trees of earlier parses: a reader that
 * keeps a batch of documents parses each with cm_json_parse_more and
 * releases them all at once with cm_json_clear (the arena's memory is
 * kept for the next batch). */
cm_jv *cm_json_parse_more(cm_json *j, const char *p, size_t n, int max_depth, char *err,
                          size_t errlen);
void cm_json_clear(cm_json *j);

/* 1 when the last parse failed because of max_depth. */
int cm_json_too_deep(const cm_json *j);

/* Member of an object by key (NULL if absent or v is not an object). */
cm_jv *cm_jv_get(const cm_jv *obj, const char *key);

struct cm_buf;
/* Appends v as compact JSON to b: members in their order, strings escaped
 * as cm_buf_json_str does, integers as read, reals as jansson writes them
 * (%.17g, ".0" added to one that reads as an integer). The bytes are
 * jansson's compact JSON_PRESERVE_ORDER dump of the same text but for the
 * hex digits of \u escapes, lower case here. Returns 0, or -1 when b ran
 * out of memory (b->oom). */
int cm_jv_write(struct cm_buf *b, const cm_jv *v);
/* The same with the object member key set to the string val: replaced
 * where v has it, else appended last (jansson's json_object_set_new on a
 * tree written with JSON_PRESERVE_ORDER). key NULL: cm_jv_write. */
int cm_jv_write_set(struct cm_buf *b, const cm_jv *v, const char *key, const char *val);

#endif
