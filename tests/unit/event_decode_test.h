/* event_decode_test.h -- the contract's decoders for the unit tests that
 * build records as jansson trees (ct_*_decode_json). Header-only (static):
 * include it once per test, after <cmocka.h> and event.h.
 *
 * Ownership: each record is decoded into the next of a ring of four
 * arenas, so it stays valid while the next three are decoded; the arenas
 * are static (reachable, not leaks) and reused. */
#ifndef EVENT_DECODE_TEST_H
#define EVENT_DECODE_TEST_H

#include "command.h"
#include "outcome.h"

static cm_json *ct_test_arena(void)
{
    static cm_json *ring[4];
    static unsigned next;
    cm_json **a = &ring[next++ % 4];
    if (!*a)
        *a = cm_json_new();
    if (!*a)
        fail_msg("out of memory");
    cm_json_clear(*a);
    return *a;
}

__attribute__((unused)) static int ct_test_decode(const json_t *j, ct_event *ev, char *err,
                                                  size_t errlen)
{
    return ct_event_decode_json(ct_test_arena(), j, ev, err, errlen);
}

__attribute__((unused)) static int ct_test_command_decode(const json_t *j, ct_command *c, char *err,
                                                          size_t errlen)
{
    return ct_command_decode_json(ct_test_arena(), j, c, err, errlen);
}

__attribute__((unused)) static int ct_test_contact_decode(const json_t *j, ct_contact *o, char *err,
                                                          size_t errlen)
{
    return ct_contact_decode_json(ct_test_arena(), j, o, err, errlen);
}

/* j read into the next arena (the test fails when it cannot be). */
__attribute__((unused)) static const cm_jv *ct_test_jv(const json_t *j)
{
    char err[256];
    const cm_jv *v = ct_record_parse_json(ct_test_arena(), j, "test", err, sizeof err);
    if (!v)
        fail_msg("%s", err);
    return v;
}

#endif
