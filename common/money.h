/* money.h -- ISO 4217 currencies and exact decimal <-> minor units.
 *
 * Amounts are int64 minor units everywhere. Parsing is exact: a decimal
 * string with more decimals than the currency allows is an error, never
 * rounded. */
#ifndef CM_MONEY_H
#define CM_MONEY_H

#include <stddef.h>
#include <stdint.h>

/* Minor-unit exponent of an ISO 4217 code (JPY 0, EUR 2, KWD 3), or -1. */
int cm_money_exponent(const char *code);
/* "12.30" in EUR -> 1230. Accepts [0-9]+(.[0-9]+)?; rejects sign, exponent,
 * too many decimals, overflow. errstr names the rule. */
int cm_money_parse(const char *s, int exponent, int64_t *minor, char *errstr, size_t errlen);
/* 1230, 2 -> "12.30" */
void cm_money_format(int64_t minor, int exponent, char *buf, size_t len);

#endif
