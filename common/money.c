/* money.c -- ISO 4217 exponents and exact decimal parsing.
 *
 * The table lists the active ISO 4217 codes (list one, 2024) with a minor
 * unit exponent other than 2, plus every code with 2; a code not listed is
 * unknown and rejected. */
#include "money.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const cur_exp0[] = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY",
                                       "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
                                       "VND", "VUV", "XAF", "XOF", "XPF", NULL};
static const char *const cur_exp3[] = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND", NULL};
static const char *const cur_exp4[] = {"CLF", "UYW", NULL};
static const char *const cur_exp2[] = {
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF",
    "CHE", "CHF", "CHW", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ", "GYD",
    "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR", "KPW",
    "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT",
    "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK",
    "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR",
    "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
    "SZL", "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "USN", "UYU",
    "UZS", "VED", "VES", "WST", "XCD", "XCG", "YER", "ZAR", "ZMW", "ZWG", NULL};

static int in(const char *const *list, const char *code)
{
    for (; *list; list++)
        if (strcmp(*list, code) == 0)
            return 1;
    return 0;
}

int cm_money_exponent(const char *code)
{
    if (!code || strlen(code) != 3)
        return -1;
    if (in(cur_exp2, code))
        return 2;
    if (in(cur_exp0, code))
        return 0;
    if (in(cur_exp3, code))
        return 3;
    if (in(cur_exp4, code))
        return 4;
    return -1;
}

int cm_money_parse(const char *s, int exponent, int64_t *minor, char *errstr, size_t errlen)
{
    int64_t v = 0;
    int decimals = -1;
    const char *p = s;

    if (!s || !*s) {
        snprintf(errstr, errlen, "empty amount");
        return -1;
    }
    if (*p == '-') {
        snprintf(errstr, errlen, "negative amount");
        return -1;
    }
    if (*p == '+') {
        snprintf(errstr, errlen, "amount must be a plain decimal (digits, optional '.')");
        return -1;
    }
    if (!isdigit((unsigned char)*p)) {
        snprintf(errstr, errlen, "amount must be a plain decimal (digits, optional '.')");
        return -1;
    }
    for (; *p; p++) {
        if (*p == '.') {
            if (decimals >= 0 || !isdigit((unsigned char)p[1])) {
                snprintf(errstr, errlen, "amount must be a plain decimal (digits, optional '.')");
                return -1;
            }
            decimals = 0;
            continue;
        }
        if (!isdigit((unsigned char)*p)) {
            snprintf(errstr, errlen, "amount must be a plain decimal (digits, optional '.')");
            return -1;
        }
        if (decimals >= 0 && ++decimals > exponent) {
            snprintf(errstr, errlen, "more than %d decimal places for the currency", exponent);
            return -1;
        }
        if (v > (INT64_MAX - 9) / 10) {
            snprintf(errstr, errlen, "amount too large");
            return -1;
        }
        v = v * 10 + (*p - '0');
    }
    if (decimals < 0)
        decimals = 0;
    for (int i = decimals; i < exponent; i++) {
        if (v > INT64_MAX / 10) {
            snprintf(errstr, errlen, "amount too large");
            return -1;
        }
        v *= 10;
    }
    *minor = v;
    return 0;
}

void cm_money_format(int64_t minor, int exponent, char *buf, size_t len)
{
    int neg = minor < 0;
    uint64_t u = neg ? (uint64_t)(-(minor + 1)) + 1 : (uint64_t)minor;
    uint64_t div = 1;
    if (exponent > 6)
        exponent = 6;
    for (int i = 0; i < exponent; i++)
        div *= 10;
    if (exponent <= 0)
        snprintf(buf, len, "%s%llu", neg ? "-" : "", (unsigned long long)u);
    else
        snprintf(buf, len, "%s%llu.%0*llu", neg ? "-" : "", (unsigned long long)(u / div),
                 (int)exponent & 7, (unsigned long long)(u % div));
}
