/* fuzz_policy.c -- libFuzzer target over the scheduler's policy parser
 * (sch_policy_parse, services/scheduler/policy.c, with the sections it
 * hands to contact.c, charges_policy.c and escalate.c).
 *
 * Input: the bytes are the policy text (NUL-terminated copy; a NUL inside
 * ends the text, as it would a file read with fgets-style code).
 *
 * Invariants checked (abort on violation, which libFuzzer reports):
 *   - a refused policy has an error message and owns nothing (its doc is
 *     NULL after sch_policy_free, which must be safe on it);
 *   - an accepted policy has version 1, at least one ladder and one
 *     strategy, every variant names a ladder in range and every strategy a
 *     positive total weight; the first ladder's steps send at a local time
 *     of day (hour 0..23, minute 0..59);
 *   - sch_policy_assign on a fixed subject picks a strategy and variant in
 *     range, and sch_policy_ladder (of that pair and of
 *     sch_policy_fallback's) returns one of the policy's ladders;
 * and every allocation is freed (ASan's leak check). */
#include "../../services/scheduler/policy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), err[512];
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    sch_policy p;
    err[0] = 0;
    if (sch_policy_parse(text, &p, err, sizeof err) != 0) {
        if (!err[0])
            abort();
        sch_policy_free(&p);
        free(text);
        return 0;
    }
    if (p.version != 1 || p.nladders < 1 || p.nstrategies < 1)
        abort();
    for (int i = 0; i < p.nstrategies; i++) {
        const sch_strategy *s = &p.strategies[i];
        if (s->nvariants < 1 || s->total_weight <= 0)
            abort();
        for (int v = 0; v < s->nvariants; v++)
            if (s->variants[v].ladder < 0 || s->variants[v].ladder >= p.nladders)
                abort();
    }
    for (int i = 0; i < p.ladders[0].nsteps; i++) {
        const sch_step *st = &p.ladders[0].steps[i];
        if (st->send_hour < 0 || st->send_hour > 23 || st->send_minute < 0 || st->send_minute > 59)
            abort();
    }
    static const char *const tags[] = {"vip", "b2b"};
    sch_subject sub = {.tenant = "acme",
                       .customer_id = "cust-1",
                       .country = "GB",
                       .currency = "GBP",
                       .amount_minor = 125000,
                       .tags = tags,
                       .ntags = 2,
                       .region = "GB-LND",
                       .has_paid = 1,
                       .late_share = 0.5,
                       .avg_days_late = 12};
    int si = -1, vi = -1;
    if (sch_policy_assign(&p, &sub, &si, &vi) == 0) {
        if (si < 0 || si >= p.nstrategies || vi < 0 || vi >= p.strategies[si].nvariants)
            abort();
        const sch_ladder *l =
            sch_policy_ladder(&p, p.strategies[si].name, p.strategies[si].variants[vi].name);
        if (l < p.ladders || l >= p.ladders + p.nladders)
            abort();
    }
    const char *fs = NULL, *fv = NULL;
    sch_policy_fallback(&p, &fs, &fv);
    const sch_ladder *fl = sch_policy_ladder(&p, fs, fv);
    if (!fs || !fv || fl < p.ladders || fl >= p.ladders + p.nladders)
        abort();
    sch_policy_free(&p);
    free(text);
    return 0;
}
