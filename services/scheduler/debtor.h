/* debtor.h -- what the scheduler knows of a debtor, for segments and
 * commands: its risk score (common/risk.h) from the history kept on its
 * customer record (state.h sch_cust).
 *
 * Ownership: plain data. */
#ifndef SCH_DEBTOR_H
#define SCH_DEBTOR_H

#include <stdint.h>

#include "policy.h"
#include "risk.h"
#include "state.h"

/* The inputs of cu's score as of local day today (cu may be NULL: a
 * debtor never seen, all zero), and the score under the policy's weights. */
void sch_debtor_risk_input(const sch_policy *pol, const sch_cust *cu, int32_t today,
                           cm_risk_input *in);
void sch_debtor_risk(const sch_policy *pol, const sch_cust *cu, int32_t today, cm_risk_result *out);

#endif
