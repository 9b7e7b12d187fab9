/* amounts.c -- an invoice's principal, fees, interest and compensation as
 * of a local date.
 *
 * Design: the interest runs on the principal that is outstanding each day:
 * the invoice's amount less its credit notes (a credit note corrects the
 * invoice, so it counts from the start), less each payment to principal
 * from the day after it was received (the invoice's "reductions", in
 * apply.c). It runs to today, or to the day of the payment in full once
 * the invoice is paid: what the claim after payment asks for
 * (docs/policy.md "Fees and interest"). */
#include "amounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RED_MAX 256 /* payments to one invoice that the interest follows */

const sch_interest_rule *sch_inv_interest_rule(const sch_policy *pol, const sch_rec *cust)
{
    if (!pol->interest.enabled)
        return NULL;
    return sch_interest_rule_for(&pol->interest, cust ? cust->u.cust.country : "",
                                 cust ? cust->u.cust.consumer : 0);
}

ct_interest_scheme sch_scheme_wire(sch_int_scheme s)
{
    switch (s) {
    case SCH_INT_UK:
        return CT_SCHEME_UK_LATE_PAYMENT;
    case SCH_INT_EU:
        return CT_SCHEME_EU_LATE_PAYMENT;
    case SCH_INT_CONTRACTUAL:
        return CT_SCHEME_CONTRACTUAL;
    default:
        return CT_SCHEME_NONE;
    }
}

/* Parses "day:amount;" into red (at most RED_MAX; the rest is summed into
 * the last, so no payment is lost). Returns the count. */
static int reductions_of(const char *s, sch_reduction *red)
{
    int n = 0;
    while (s && *s) {
        char *end;
        long day = strtol(s, &end, 10);
        if (*end != ':')
            break;
        long long amt = strtoll(end + 1, &end, 10);
        if (*end != ';')
            break;
        if (n < RED_MAX)
            red[n++] = (sch_reduction){(int32_t)day, amt};
        else
            red[n - 1].amount += amt;
        s = end + 1;
    }
    return n;
}

int sch_inv_amounts(const sch_policy *pol, const sch_rec *inv, const sch_rec *cust, int32_t today,
                    sch_amounts *out, sch_interest_result *basis, char *errstr, size_t errlen)
{
    const sch_inv *v = &inv->u.inv;
    sch_interest_result r;
    memset(out, 0, sizeof *out);
    memset(&r, 0, sizeof r);
    out->principal = sch_inv_principal(v);
    out->fees = sch_inv_fees_owed(v);
    int rc = 0;
    const sch_interest_rule *rule = sch_inv_interest_rule(pol, cust);
    int32_t until = v->status == 'p' && v->paid_on > 0 ? v->paid_on : today;
    if (rule && until > v->due && v->offer_kind != 'x') { /* 'x': settled, all forgiven */
        sch_reduction red[RED_MAX];
        int n = reductions_of(v->reductions, red);
        int64_t principal = v->amount - v->credited;
        if (principal < 0)
            principal = 0;
        sch_frozen fz[8];
        int nfz = 0;
        for (const char *s = v->frozen; s && *s && nfz < 8;) { /* "from:to;", to 0: running */
            char *end;
            long from = strtol(s, &end, 10);
            if (*end != ':')
                break;
            long to = strtol(end + 1, &end, 10);
            if (*end != ';')
                break;
            fz[nfz++] = (sch_frozen){(int32_t)from, to ? (int32_t)to : INT32_MAX};
            s = end + 1;
        }
        rc = sch_interest_frozen(rule, v->due, principal, red, n, fz, nfz, until, &r, errstr,
                                 errlen);
        if (rc == 0) {
            out->interest = r.interest_minor;
            out->compensation =
                sch_compensation(&pol->interest, rule->scheme, v->currency, v->amount);
        } else {
            memset(&r, 0, sizeof r);
        }
    }
    if (basis)
        *basis = r;
    return rc;
}
