/* interest.c -- rates and the legal basis of interest formatted for a
 * debtor's locale. Amounts, dates and counts are common/format.c's; this
 * file keeps what needs the contract's types (ct_interest_scheme, the
 * command's rate decimals), with the separators of common's locale table. */
#include "interest.h"

#include <stdio.h>
#include <string.h>

#include "command.h"
#include "format.h"

void ntf_format_pct(int32_t rate_e4, const char *locale, char *buf, size_t len)
{
    const cm_locale_fmt *lf = cm_format_locale(locale);
    char d[CT_PCT_MAX];
    ct_annual_pct_format(rate_e4, d, sizeof d); /* "13.25": the command's decimals */
    const char *dot = strchr(d, '.');           /* always there */
    size_t k = dot ? (size_t)(dot - d) : strlen(d);
    /* "13.25%" where the currency symbol comes first, "12,62 %" after */
    snprintf(buf, len, "%.*s%s%s%s%%", (int)k, d, dot ? lf->decimal : "", dot ? dot + 1 : "",
             lf->symbol_after ? "\xc2\xa0" : "");
}

/* interest_basis_text by scheme, country (NULL: any other) and language;
 * %s is the rate (ntf_format_pct). First match wins: list a country's row
 * before the scheme's row without one, and English last. */
static const struct basis_text {
    ct_interest_scheme scheme;
    const char *country, *lang, *fmt;
} basis_texts[] = {
    {CT_SCHEME_UK_LATE_PAYMENT, NULL, "de",
     "gesetzliche Verzugszinsen nach dem Late Payment of Commercial Debts (Interest) Act 1998 "
     "in H\xc3\xb6he von %s p. a."},
    {CT_SCHEME_EU_LATE_PAYMENT, "DE", "de",
     "gesetzliche Verzugszinsen nach \xc2\xa7 288 Abs. 2 BGB in H\xc3\xb6he von %s p. a."},
    {CT_SCHEME_EU_LATE_PAYMENT, "FR", "de",
     "gesetzliche Verzugszinsen nach Artikel L441-10 des franz\xc3\xb6sischen "
     "Handelsgesetzbuchs (Richtlinie 2011/7/EU) in H\xc3\xb6he von %s p. a."},
    {CT_SCHEME_EU_LATE_PAYMENT, NULL, "de",
     "gesetzliche Verzugszinsen nach der Richtlinie 2011/7/EU in H\xc3\xb6he von %s p. a."},
    {CT_SCHEME_CONTRACTUAL, NULL, "de", "vertragliche Zinsen in H\xc3\xb6he von %s p. a."},
    {CT_SCHEME_UK_LATE_PAYMENT, NULL, "en",
     "statutory interest under the Late Payment of Commercial Debts (Interest) Act 1998 at %s "
     "a year"},
    {CT_SCHEME_EU_LATE_PAYMENT, "DE", "en",
     "statutory interest under Directive 2011/7/EU (German Civil Code s. 288(2)) at %s a year"},
    {CT_SCHEME_EU_LATE_PAYMENT, "FR", "en",
     "statutory interest under Directive 2011/7/EU (article L441-10 of the French Commercial "
     "Code) at %s a year"},
    {CT_SCHEME_EU_LATE_PAYMENT, NULL, "en",
     "statutory interest under Directive 2011/7/EU at %s a year"},
    {CT_SCHEME_CONTRACTUAL, NULL, "en", "contractual interest at %s a year"},
};

int ntf_format_interest_basis(ct_interest_scheme scheme, int32_t rate_e4, const char *country,
                              const char *locale, char *buf, size_t len, char *errstr,
                              size_t errlen)
{
    const char *lang = cm_format_locale(locale)->lang;
    char pct[32];
    ntf_format_pct(rate_e4, locale, pct, sizeof pct);
    for (int pass = 0; pass < 2; pass++) /* the locale's language, then English */
        for (size_t i = 0; i < sizeof basis_texts / sizeof basis_texts[0]; i++) {
            const struct basis_text *t = &basis_texts[i];
            if (t->scheme != scheme || strcmp(t->lang, pass ? "en" : lang) != 0 ||
                (t->country && (!country || strcmp(t->country, country) != 0)))
                continue;
            snprintf(buf, len, t->fmt, pct);
            return 0;
        }
    snprintf(errstr, errlen, "unknown interest scheme '%s'", ct_interest_scheme_name(scheme));
    return -1;
}
