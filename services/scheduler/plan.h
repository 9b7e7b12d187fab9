/* plan.h -- an instalment plan's schedule and where payments stand in it
 * (issue 16; docs/policy.md "Instalment plans"). Pure: no state, no I/O.
 *
 * A plan's schedule is kept as text, "day:amount;day:amount;" (due day
 * as days since 1970-01-01, amount in minor units, due days strictly
 * rising), on the debtor's record (state.h, plan). Payments to the plan's
 * invoices fill the instalments in order: with paid minor units paid
 * towards the plan, instalment k is paid when the amounts of 0..k sum to
 * at most paid; the current instalment is the first one not fully paid.
 * Ownership: strings returned are malloc'd, the caller frees them. */
#ifndef SCH_PLAN_H
#define SCH_PLAN_H

#include <stdint.h>

#include "event.h"
#include "tz.h"

typedef struct sch_plan_pos {
    int n;          /* instalments in the schedule */
    int k;          /* the current one, 0-based: the first not fully paid; n when all are */
    int32_t due;    /* its due day (k < n) */
    int64_t amount; /* its amount */
    int64_t paid;   /* paid towards it, 0 .. amount - 1 */
    int64_t total;  /* the sum of every instalment */
} sch_plan_pos;

/* Where paid stands in schedule: 0, or -1 when schedule is malformed (pos
 * then says n = 0, k = 0). */
int sch_plan_position(const char *schedule, int64_t paid, sch_plan_pos *pos);

/* The instant an instalment due on day breaks when still short: 00:00
 * local on day + grace_days + 1 (a grace of 3 days after a due date of
 * 10 April: the plan breaks as 14 April begins). */
int64_t sch_plan_break_at(const cm_tz *tz, int32_t day, int grace_days);

/* A step's plan offer (offer kind "plan", charges.h) for a balance of
 * total in currency sent on local day send_day, into *out (the command's
 * offer): for each n of 2 .. o->max_instalments whose instalments are not
 * below the currency's min_instalment, a plan of n instalments due
 * send_day + k x interval_days (k = 1..n), each total / n with the
 * remainder on the first (so they sum to total exactly); amount_minor
 * total, forgiven 0, valid_until the first instalment's due date. Returns
 * how many plans (0: none qualifies, no offer). */
struct sch_offer;
struct ct_command_offer;
int sch_plan_offers(const struct sch_offer *o, const char *currency, int64_t total,
                    int32_t send_day, struct ct_command_offer *out);

/* The schedule text of a plan.agreed (malloc'd; NULL out of memory). */
char *sch_plan_schedule(const ct_plan *p);

#endif
