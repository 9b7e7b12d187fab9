/* format.c -- amounts, dates, rates and the legal basis of interest
 * formatted for a debtor's locale. */
#include "format.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "command.h"
#include "money.h"

typedef struct locale_fmt {
    const char *lang;    /* language subtag */
    const char *decimal; /* decimal separator */
    const char *group;   /* thousands separator */
    int symbol_after;    /* 1: "12,00 €" */
    const char *space;   /* between number and symbol */
    const char *months[12];
    const char *date_fmt; /* %d day, %m month name, %y year */
} locale_fmt;

static const locale_fmt locales[] = {
    {"en",
     ".",
     ",",
     0,
     "",
     {"January", "February", "March", "April", "May", "June", "July", "August", "September",
      "October", "November", "December"},
     "%d %m %y"},
    {"de",
     ",",
     ".",
     1,
     "\xc2\xa0",
     {"Januar", "Februar", "M\xc3\xa4rz", "April", "Mai", "Juni", "Juli", "August", "September",
      "Oktober", "November", "Dezember"},
     "%d. %m %y"},
    {"fr",
     ",",
     "\xe2\x80\xaf",
     1,
     "\xc2\xa0",
     {"janvier", "f\xc3\xa9vrier", "mars", "avril", "mai", "juin", "juillet", "ao\xc3\xbbt",
      "septembre", "octobre", "novembre",
      "d\xc3\xa9"
      "cembre"},
     "%d %m %y"},
    {"nl",
     ",",
     ".",
     0,
     "\xc2\xa0",
     {"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
      "oktober", "november", "december"},
     "%d %m %y"},
    {"es",
     ",",
     ".",
     1,
     "\xc2\xa0",
     {"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
      "octubre", "noviembre", "diciembre"},
     "%d de %m de %y"},
    {"it",
     ",",
     ".",
     1,
     "\xc2\xa0",
     {"gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
      "ottobre", "novembre", "dicembre"},
     "%d %m %y"},
};

static const locale_fmt *find_locale(const char *locale)
{
    if (locale) {
        for (size_t i = 0; i < sizeof locales / sizeof locales[0]; i++) {
            size_t n = strlen(locales[i].lang);
            if (strncmp(locale, locales[i].lang, n) == 0 &&
                (locale[n] == 0 || locale[n] == '-' || locale[n] == '_'))
                return &locales[i];
        }
    }
    return &locales[0];
}

static const char *symbol(const char *currency, const char *locale)
{
    static const struct {
        const char *code, *sym;
    } syms[] = {{"EUR", "\xe2\x82\xac"},
                {"GBP", "\xc2\xa3"},
                {"USD", "$"},
                {"JPY", "\xc2\xa5"},
                {"INR", "\xe2\x82\xb9"}};
    if (strcmp(currency, "USD") == 0 && locale && strcmp(locale, "en-US") != 0)
        return "US$";
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++)
        if (strcmp(syms[i].code, currency) == 0)
            return syms[i].sym;
    return NULL;
}

int ntf_format_money(int64_t minor, const char *currency, const char *locale, char *buf, size_t len,
                     char *errstr, size_t errlen)
{
    int exp = currency ? cm_money_exponent(currency) : -1;
    if (exp < 0) {
        snprintf(errstr, errlen, "unknown currency '%s'", currency ? currency : "");
        return -1;
    }
    const locale_fmt *lf = find_locale(locale);
    int neg = minor < 0;
    uint64_t u = neg ? (uint64_t)(-(minor + 1)) + 1 : (uint64_t)minor;
    uint64_t scale = 1;
    for (int i = 0; i < exp; i++)
        scale *= 10;
    uint64_t whole = u / scale, frac = u % scale;

    char digits[32], grouped[96];
    snprintf(digits, sizeof digits, "%llu", (unsigned long long)whole);
    size_t nd = strlen(digits), g = 0;
    for (size_t i = 0; i < nd; i++) {
        if (i > 0 && (nd - i) % 3 == 0) {
            size_t gl = strlen(lf->group);
            memcpy(grouped + g, lf->group, gl);
            g += gl;
        }
        grouped[g++] = digits[i];
    }
    grouped[g] = 0;
    char number[160], fracs[8] = "";
    if (exp > 0) {
        for (int i = exp - 1; i >= 0; i--) {
            fracs[i] = (char)('0' + frac % 10);
            frac /= 10;
        }
        fracs[exp] = 0;
    }
    snprintf(number, sizeof number, "%s%s%s%s", neg ? "-" : "", grouped, exp > 0 ? lf->decimal : "",
             fracs);

    const char *sym = symbol(currency, locale);
    if (!sym) /* codes read better spaced: "CHF 12.00", "12,00 CHF" */
    {
        if (lf->symbol_after)
            snprintf(buf, len, "%s\xc2\xa0%s", number, currency);
        else
            snprintf(buf, len, "%s\xc2\xa0%s", currency, number);
    } else if (lf->symbol_after)
        snprintf(buf, len, "%s%s%s", number, lf->space, sym);
    else
        snprintf(buf, len, "%s%s%s", sym, lf->space, number);
    return 0;
}

int ntf_format_date(const char *date, const char *locale, char *buf, size_t len, char *errstr,
                    size_t errlen)
{
    int32_t days;
    if (!date || cm_date_parse(date, &days) < 0) {
        snprintf(errstr, errlen, "'%s' is not a date YYYY-MM-DD", date ? date : "");
        return -1;
    }
    int y;
    unsigned m, d;
    cm_civil_from_days(days, &y, &m, &d);
    const locale_fmt *lf = find_locale(locale);
    const char *fmt = lf->date_fmt;
    int us = locale && strcmp(locale, "en-US") == 0;
    if (us)
        fmt = "%m %d, %y";
    size_t o = 0;
    for (const char *p = fmt; *p && o + 1 < len; p++) {
        char tmp[32];
        const char *ins = NULL;
        if (p[0] == '%' && p[1]) {
            p++;
            if (*p == 'd')
                snprintf(tmp, sizeof tmp, "%u", d), ins = tmp;
            else if (*p == 'm')
                ins = lf->months[m - 1];
            else if (*p == 'y')
                snprintf(tmp, sizeof tmp, "%d", y), ins = tmp;
        }
        if (ins) {
            size_t n = strlen(ins);
            if (o + n >= len)
                n = len - o - 1;
            memcpy(buf + o, ins, n);
            o += n;
        } else {
            buf[o++] = *p;
        }
    }
    buf[o] = 0;
    return 0;
}

void ntf_format_pct(int32_t rate_e4, const char *locale, char *buf, size_t len)
{
    const locale_fmt *lf = find_locale(locale);
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
    const char *lang = find_locale(locale)->lang;
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

/* ntf_format_count's table: per kind and language the text for 0 (NULL:
 * the plural), for 1 and the plural (%lld is the count). English and
 * German put 0 in the plural ("0 invoices", "0 Rechnungen"). */
static const struct count_text {
    ntf_count_kind kind;
    const char *lang, *zero, *one, *many;
} count_texts[] = {
    {NTF_COUNT_DAYS_OVERDUE, "en", NULL, "1 day overdue", "%lld days overdue"},
    {NTF_COUNT_DAYS_OVERDUE, "de", NULL,
     "1 Tag \xc3\xbc"
     "berf\xc3\xa4llig",
     "%lld Tage \xc3\xbc"
     "berf\xc3\xa4llig"},
    {NTF_COUNT_DUE_IN, "en", "due today", "due tomorrow", "due in %lld days"},
    {NTF_COUNT_DUE_IN, "de", "heute f\xc3\xa4llig", "morgen f\xc3\xa4llig",
     "in %lld Tagen f\xc3\xa4llig"},
    {NTF_COUNT_INVOICES, "en", NULL, "1 invoice", "%lld invoices"},
    {NTF_COUNT_INVOICES, "de", NULL, "1 Rechnung", "%lld Rechnungen"},
};

void ntf_format_count(ntf_count_kind kind, long long n, const char *locale, char *buf, size_t len)
{
    const char *lang = find_locale(locale)->lang;
    for (int pass = 0; pass < 2; pass++) /* the locale's language, then English */
        for (size_t i = 0; i < sizeof count_texts / sizeof count_texts[0]; i++) {
            const struct count_text *t = &count_texts[i];
            if (t->kind != kind || strcmp(t->lang, pass ? "en" : lang) != 0)
                continue;
            const char *f = n == 1 ? t->one : n == 0 && t->zero ? t->zero : t->many;
            snprintf(buf, len, f, n);
            return;
        }
    snprintf(buf, len, "%lld", n); /* not reached: every kind has an English row */
}
