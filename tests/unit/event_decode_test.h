/* event_decode_test.h -- ct_event_decode_json for the unit tests that
 * build events as jansson trees. Header-only (static): include it once per
 * test, after <cmocka.h> and event.h.
 *
 * Ownership: each event is decoded into the next of a ring of four arenas,
 * so it stays valid while the next three are decoded; the arenas are
 * static (reachable, not leaks) and reused. */
#ifndef EVENT_DECODE_TEST_H
#define EVENT_DECODE_TEST_H

static int ct_test_decode(const json_t *j, ct_event *ev, char *err, size_t errlen)
{
    static cm_json *ring[4];
    static unsigned next;
    cm_json **a = &ring[next++ % 4];
    if (!*a)
        *a = cm_json_new();
    if (!*a)
        fail_msg("out of memory");
    cm_json_clear(*a);
    return ct_event_decode_json(*a, j, ev, err, errlen);
}

#endif
