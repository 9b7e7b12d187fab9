/* format.h -- amounts, dates and counts in words formatted for a
 * debtor's locale.
 *
 * A small built-in table (en, de, fr, nl, es, it; en-US dates) rather than
 * ICU: the locales a collections team writes templates for, with exact
 * output a test can pin. Unknown locales format like en-GB. The notifier's
 * messages and the gateway's pages both print through here; what needs
 * the contract's types (rates, the legal basis of interest) stays in
 * services/notifier/format.h, on top of cm_format_locale.
 *
 * Every function writes into the caller's buffer; nothing is allocated. */
#ifndef CM_FORMAT_H
#define CM_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* One row of the locale table. */
typedef struct cm_locale_fmt {
    const char *lang;    /* language subtag: "en", "de", ... */
    const char *decimal; /* decimal separator */
    const char *group;   /* thousands separator */
    int symbol_after;    /* 1: "12,00 €" */
    const char *space;   /* between number and symbol */
    const char *months[12];
    const char *date_fmt; /* %d day, %m month name, %y year */
} cm_locale_fmt;

/* The row for a BCP 47 tag by its language subtag ("de-AT", "de_DE" ->
 * de); en for NULL or a language not in the table. Never NULL; points
 * into a static table (nobody frees). */
const cm_locale_fmt *cm_format_locale(const char *locale);

/* 123456 EUR de-DE -> "1.234,56 €"; en-GB -> "€1,234.56". -1 with errstr
 * for an unknown currency. buf of at least 64 bytes. */
int cm_format_money(int64_t minor, const char *currency, const char *locale, char *buf, size_t len,
                    char *errstr, size_t errlen);
/* "2026-03-01" en-GB -> "1 March 2026"; de-DE -> "1. März 2026". -1 on a
 * date that is not YYYY-MM-DD. */
int cm_format_date(const char *date, const char *locale, char *buf, size_t len, char *errstr,
                   size_t errlen);

/* A count in words with the language's plural form (issue 15), from a
 * small table by language (en, de; others read English):
 *   CM_COUNT_DAYS_OVERDUE  1 "1 day overdue", 3 "3 days overdue";
 *                          de "1 Tag überfällig", "3 Tage überfällig"
 *   CM_COUNT_DUE_IN        0 "due today", 1 "due tomorrow", 3 "due in 3 days";
 *                          de "heute fällig", "morgen fällig", "in 3 Tagen fällig"
 *                          (the verb last, so the text can end a clause:
 *                          "dass die Rechnung in 3 Tagen fällig ist")
 *   CM_COUNT_INVOICES      1 "1 invoice", 2 "2 invoices"; de "1 Rechnung", "2 Rechnungen"
 * buf of at least 64 bytes. */
typedef enum cm_count_kind {
    CM_COUNT_DAYS_OVERDUE,
    CM_COUNT_DUE_IN,
    CM_COUNT_INVOICES
} cm_count_kind;
void cm_format_count(cm_count_kind kind, long long n, const char *locale, char *buf, size_t len);

#endif
