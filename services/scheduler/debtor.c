/* debtor.c -- a debtor's risk score from the scheduler's own records.
 *
 * Design: the scheduler keeps on each customer record what the score needs
 * and can be kept current as events arrive: the days late of its last
 * invoices paid in full, broken promises, open disputes, the last payment
 * day, the day it was first seen, a phone reported wrong, and its open
 * balance against the credit limit of customer.upserted. What it does not
 * keep scores nothing, as common/risk.h asks: broken plans (no plans yet)
 * and bounced email (not reported back yet). docs/risk.md "In the
 * scheduler" says the same. */
#include "debtor.h"

#include <string.h>

void sch_debtor_risk_input(const sch_policy *pol, const sch_cust *cu, int32_t today,
                           cm_risk_input *in)
{
    memset(in, 0, sizeof *in);
    in->days_since_payment = -1;
    if (!cu)
        return;
    int paid, late;
    long long sum;
    sch_cust_history_n(cu, pol->risk.last_n, &paid, &late, &sum);
    in->paid_count = paid;
    in->paid_late = late;
    in->avg_days_late = late ? (int32_t)((sum + late / 2) / late) : 0; /* half-up */
    in->broken_promises = cu->broken;
    in->open_disputes = cu->disputes;
    in->unusable_contacts = cu->wrong_number ? 1 : 0;
    if (cu->credit_limit > 0) { /* the open balance in the limit's currency */
        in->credit_limit_minor = cu->credit_limit;
        in->outstanding_minor = sch_cust_exposure(cu, cu->credit_currency);
    }
    in->days_since_payment = cu->last_paid > 0 ? today - cu->last_paid : -1;
    in->relationship_days =
        cu->first_seen > 0 && today > cu->first_seen ? today - cu->first_seen : 0;
}

void sch_debtor_risk(const sch_policy *pol, const sch_cust *cu, int32_t today, cm_risk_result *out)
{
    cm_risk_input in;
    sch_debtor_risk_input(pol, cu, today, &in);
    cm_risk_score(&pol->risk, &in, out);
}
