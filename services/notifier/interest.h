/* interest.h -- rates and the legal basis of interest formatted for a
 * debtor's locale.
 *
 * Amounts, dates and counts in words are common/format.h's (cm_format_*),
 * shared with the gateway's pages; what is here needs the contract's types
 * and uses the separators of common's locale table. Writes into the
 * caller's buffer; nothing is allocated. */
#ifndef NTF_INTEREST_H
#define NTF_INTEREST_H

#include <stddef.h>
#include <stdint.h>

#include "contract.h" /* ct_interest_scheme */

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

#endif
