/* scheduler_engine_test.h -- what the unit tests that drive the
 * scheduler's engine (sch_engine_apply, sch_engine_fire) over a store
 * share: a simulated clock, a sink that acknowledges at once, and firing
 * every timer due up to an instant (in the partitions the engine owns).
 * Header-only (static): include it once
 * per test, after <cmocka.h> and engine.h. Nothing here owns memory. */
#ifndef SCHEDULER_ENGINE_TEST_H
#define SCHEDULER_ENGINE_TEST_H

#include <stdint.h>

static int64_t eng_clock; /* the engine's now (sch_engine.now = eng_now) */
static int64_t eng_now(void)
{
    return eng_clock;
}

static int eng_flush(void *opaque, char *errstr, size_t errlen)
{
    (void)opaque, (void)errstr, (void)errlen;
    return 0;
}

static int eng_inflight(void *opaque, int *failed)
{
    (void)opaque;
    *failed = 0;
    return 0;
}

/* Fires every timer due up to until, each round at its own instant (the
 * earliest due timer of the partitions the engine owns). failures NULL:
 * a round that fails fails the test; else they are counted, and firing
 * goes on (the engine recovers what a failed round claimed). */
static void eng_fire_until_counting(sch_engine *e, int64_t until, int *failures)
{
    char err[512], prefix[200];
    for (int guard = 0;; guard++) {
        int64_t nd = INT64_MAX;
        if (guard > 100000)
            fail_msg("fire: no end");
        for (int part = 0; part < SCH_MAX_PARTS; part++) {
            if (!e->owned[part])
                continue;
            int cnt = 0;
            if (sch_engine_prefix(e, part, prefix, sizeof prefix, err, sizeof err) < 0)
                fail_msg("prefix: %s", err);
            sch_map *m = sch_map_new();
            assert_non_null(m);
            if (e->store.peek(e->store.be, prefix, &part, 1, INT64_MIN, 0, m, &cnt, &nd, err,
                              sizeof err) < 0)
                fail_msg("peek: %s", err);
            sch_map_free(m);
        }
        if (nd == INT64_MAX || nd > until)
            break;
        if (nd > eng_clock)
            eng_clock = nd;
        int more = 1;
        while (more)
            if (sch_engine_fire(e, &more, err, sizeof err) < 0) {
                if (!failures)
                    fail_msg("fire: %s", err);
                if (++*failures > 100)
                    fail_msg("fire: %s (failing again and again)", err);
                more = 1;
            }
    }
    if (until > eng_clock)
        eng_clock = until;
}

static void eng_fire_until(sch_engine *e, int64_t until)
{
    eng_fire_until_counting(e, until, NULL);
}

#endif
