/* format.h -- amounts, dates, rates and the legal basis of interest
 * formatted for a debtor's locale.
 *
 * A small built-in table (en, de, fr, nl, es, it; en-US dates) rather than
 * ICU: the locales a collections team writes templates for, with exact
 * output a test can pin. Unknown locales format like en-GB. */
#ifndef NTF_FORMAT_H
#define NTF_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "contract.h" /* ct_interest_scheme */

/* 123456 EUR de-DE -> "1.234,56 €"; en-GB -> "€1,234.56". -1 with errstr
 * for an unknown currency. buf of at least 64 bytes. */
int ntf_format_money(int64_t minor, const char *currency, const char *locale, char *buf, size_t len,
                     char *errstr, size_t errlen);
/* "2026-03-01" en-GB -> "1 March 2026"; de-DE -> "1. März 2026". -1 on a
 * date that is not YYYY-MM-DD. */
int ntf_format_date(const char *date, const char *locale, char *buf, size_t len, char *errstr,
                    size_t errlen);

/* An annual rate (1e-4 percent, contract/command.h) for the locale, with
 * the command's decimals (two to four): 132500 en-GB -> "13.25%"; 126200
 * de-DE -> "12,62 %" (a no-break space, as before a currency symbol
 * written after the number). buf of at least 32 bytes. */
void ntf_format_pct(int32_t rate_e4, const char *locale, char *buf, size_t len);

/* The legal basis of interest in words, for a template's
 * interest_basis_text: a small table by scheme, the debtor's country
 * (eu_late_payment names the national law of DE and FR) and language (en,
 * de; others read English):
 *   uk_late_payment en-GB "statutory interest under the Late Payment of
 *     Commercial Debts (Interest) Act 1998 at 13.25% a year"
 *   eu_late_payment DE de-DE "gesetzliche Verzugszinsen nach § 288 Abs. 2
 *     BGB in Höhe von 12,62 % p. a."
 *   contractual en-GB "contractual interest at 5.00% a year"
 * country may be NULL. -1 with errstr for an unknown scheme. */
int ntf_format_interest_basis(ct_interest_scheme scheme, int32_t rate_e4, const char *country,
                              const char *locale, char *buf, size_t len, char *errstr,
                              size_t errlen);

/* A count in words with the language's plural form (issue 15), from a
 * small table by language (en, de; others read English):
 *   NTF_COUNT_DAYS_OVERDUE  1 "1 day overdue", 3 "3 days overdue";
 *                           de "1 Tag überfällig", "3 Tage überfällig"
 *   NTF_COUNT_DUE_IN        0 "due today", 1 "due tomorrow", 3 "due in 3 days";
 *                           de "heute fällig", "morgen fällig", "in 3 Tagen fällig"
 *                           (the verb last, so the text can end a clause:
 *                           "dass die Rechnung in 3 Tagen fällig ist")
 *   NTF_COUNT_INVOICES      1 "1 invoice", 2 "2 invoices"; de "1 Rechnung", "2 Rechnungen"
 * buf of at least 64 bytes. */
typedef enum ntf_count_kind {
    NTF_COUNT_DAYS_OVERDUE,
    NTF_COUNT_DUE_IN,
    NTF_COUNT_INVOICES
} ntf_count_kind;
void ntf_format_count(ntf_count_kind kind, long long n, const char *locale, char *buf, size_t len);

#endif
