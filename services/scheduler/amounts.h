/* amounts.h -- what an invoice owes as of a local date: principal, fees,
 * interest and compensation under the policy (charges.h does the
 * arithmetic; this file reads the invoice and its debtor's state).
 *
 * Ownership: plain data; nothing here allocates beyond the call. */
#ifndef SCH_AMOUNTS_H
#define SCH_AMOUNTS_H

#include <stdint.h>

#include "charges.h"
#include "policy.h"
#include "state.h"

/* The rule that governs interest for inv's debtor (cust may be NULL: the
 * policy's "*"), or NULL: no interest. */
const sch_interest_rule *sch_inv_interest_rule(const sch_policy *pol, const sch_rec *cust);

/* The wire name of a scheme (contract.h); CT_SCHEME_NONE for none. */
ct_interest_scheme sch_scheme_wire(sch_int_scheme s);

/* inv's amounts as of the debtor's local date today: principal
 * outstanding, fees still owed, interest for the days late up to today (or
 * up to the payment in full, when paid), compensation once late under a
 * statutory scheme. *basis (may be NULL) receives the interest result
 * (days late, rate). Returns 0, or -1 with errstr (a rate table without a
 * rate for a day it needs: amounts then carry no interest). */
int sch_inv_amounts(const sch_policy *pol, const sch_rec *inv, const sch_rec *cust, int32_t today,
                    sch_amounts *out, sch_interest_result *basis, char *errstr, size_t errlen);

#endif
