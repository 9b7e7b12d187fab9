/* schema_check.h -- helpers of the unit tests that hold code, schemas/ and
 * docs/ together (test_ingest_docs, test_contract_docs): read a file, load
 * a schema, validate a JSON value against it, read the marked fenced
 * blocks of a Markdown page.
 *
 * Design: a small JSON Schema checker of exactly the keywords schemas/
 * uses (type, const, enum, required, properties, items, minItems,
 * maxItems, uniqueItems, minLength, maxLength, pattern (POSIX ERE),
 * minimum, anyOf, dependentRequired; $schema, $id, title, description and
 * format are read and ignored). A schema keyword outside that set fails
 * the running test rather than being skipped, so a schema that grows a
 * keyword cannot pass unchecked. These run inside a cmocka test: where
 * something the test relies on is missing (a file, a schema), they fail
 * the test with cmocka's fail_msg instead of returning an error.
 *
 * Built from tests/unit/ into libunithelp.a, which every unit test links.
 * Include <setjmp.h>, <stdarg.h>, <stddef.h>, <stdint.h> and <cmocka.h>
 * before this header, as cmocka asks. */
#ifndef TU_SCHEMA_CHECK_H
#define TU_SCHEMA_CHECK_H

#include <stddef.h>

#include <jansson.h>

/* The whole file at path (relative to the repository root, where the
 * tests run), NUL-terminated. The caller free()s it. Fails the test when
 * the file cannot be read. */
char *tu_slurp(const char *path);

/* schemas/<name>.json, parsed. The caller json_decref()s it. Fails the
 * test when the file is missing or not JSON. */
json_t *tu_schema_load(const char *name);

/* 1 when v validates against schema s; else 0, with the place (path, "$"
 * for the root, then .member and [index]) and the rule it breaks in
 * why[0..wl). Neither s nor v is changed or taken. */
int tu_schema_validate(json_t *s, json_t *v, const char *path, char *why, size_t wl);

/* One `<!-- KIND: NAME -->` marker of a Markdown page and the fenced
 * block that follows it (docs/events.md: example, canonical,
 * example-binary; docs/contracts.md, docs/reports.md: sample). */
typedef struct tu_block {
    char kind[32]; /* [a-z-] */
    char name[64]; /* [a-z0-9_.-]: an event type, a schema */
    char *text;    /* the block, fences left out; the caller free()s it */
} tu_block;

/* The first max marked blocks of doc, in order; returns how many. Other
 * comments (no "KIND: NAME") are passed over. Fails the test when a
 * marker has no fenced block after it. */
size_t tu_doc_blocks(const char *doc, tu_block *out, size_t max);

#endif
