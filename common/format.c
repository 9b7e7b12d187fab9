/* format.c -- amounts, dates and counts in words for a debtor's locale.
 *
 * One table of locales (separators, where the symbol goes, month names,
 * date order) for the notifier's messages and the gateway's pages, so a
 * page prints an amount exactly as the message that linked to it did. */
#include "format.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "money.h"

static const cm_locale_fmt locales[] = {
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

const cm_locale_fmt *cm_format_locale(const char *locale)
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

int cm_format_money(int64_t minor, const char *currency, const char *locale, char *buf, size_t len,
                    char *errstr, size_t errlen)
{
    int exp = currency ? cm_money_exponent(currency) : -1;
    if (exp < 0) {
        snprintf(errstr, errlen, "unknown currency '%s'", currency ? currency : "");
        return -1;
    }
    const cm_locale_fmt *lf = cm_format_locale(locale);
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

int cm_format_date(const char *date, const char *locale, char *buf, size_t len, char *errstr,
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
    const cm_locale_fmt *lf = cm_format_locale(locale);
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

/* cm_format_count's table: per kind and language the text for 0 (NULL:
 * the plural), for 1 and the plural (%lld is the count). English and
 * German put 0 in the plural ("0 invoices", "0 Rechnungen"). */
static const struct count_text {
    cm_count_kind kind;
    const char *lang, *zero, *one, *many;
} count_texts[] = {
    {CM_COUNT_DAYS_OVERDUE, "en", NULL, "1 day overdue", "%lld days overdue"},
    {CM_COUNT_DAYS_OVERDUE, "de", NULL,
     "1 Tag \xc3\xbc"
     "berf\xc3\xa4llig",
     "%lld Tage \xc3\xbc"
     "berf\xc3\xa4llig"},
    {CM_COUNT_DUE_IN, "en", "due today", "due tomorrow", "due in %lld days"},
    {CM_COUNT_DUE_IN, "de", "heute f\xc3\xa4llig", "morgen f\xc3\xa4llig",
     "in %lld Tagen f\xc3\xa4llig"},
    {CM_COUNT_INVOICES, "en", NULL, "1 invoice", "%lld invoices"},
    {CM_COUNT_INVOICES, "de", NULL, "1 Rechnung", "%lld Rechnungen"},
};

void cm_format_count(cm_count_kind kind, long long n, const char *locale, char *buf, size_t len)
{
    const char *lang = cm_format_locale(locale)->lang;
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
