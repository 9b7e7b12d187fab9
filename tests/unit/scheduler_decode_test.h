/* scheduler_decode_test.h -- sch_event_decode_bytes for the unit tests
 * that build events as jansson trees: the tree is written out, as Kafka
 * would carry it, and decoded from those bytes. Header-only (static):
 * include it once per test, after <cmocka.h> and apply.h.
 *
 * Ownership: the record and its arena sit in a ring of eight slots, so a
 * decoded event stays valid while the next seven are decoded; the slots
 * are static (reachable, not leaks) and reused. */
#ifndef SCHEDULER_DECODE_TEST_H
#define SCHEDULER_DECODE_TEST_H

#include <stdlib.h>
#include <string.h>

static int sch_test_decode(const json_t *ev, sch_event *se, char *err, size_t errlen)
{
    static struct {
        cm_json *js;
        char *raw;
    } ring[8];
    static unsigned next;
    unsigned k = next++ % 8;
    if (!ring[k].js)
        ring[k].js = cm_json_new();
    cm_json_clear(ring[k].js);
    free(ring[k].raw);
    ring[k].raw = json_dumps(ev, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!ring[k].js || !ring[k].raw)
        fail_msg("out of memory");
    return sch_event_decode_bytes(ring[k].js, ring[k].raw, strlen(ring[k].raw), se, err, errlen);
}

#endif
