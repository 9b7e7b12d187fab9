/* format.h -- amounts and dates formatted for a debtor's locale.
 *
 * A small built-in table (en, de, fr, nl, es, it; en-US dates) rather than
 * ICU: the locales a collections team writes templates for, with exact
 * output a test can pin. Unknown locales format like en-GB. */
#ifndef NTF_FORMAT_H
#define NTF_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* 123456 EUR de-DE -> "1.234,56 €"; en-GB -> "€1,234.56". -1 with errstr
 * for an unknown currency. buf of at least 64 bytes. */
int ntf_format_money(int64_t minor, const char *currency, const char *locale, char *buf, size_t len,
                     char *errstr, size_t errlen);
/* "2026-03-01" en-GB -> "1 March 2026"; de-DE -> "1. März 2026". -1 on a
 * date that is not YYYY-MM-DD. */
int ntf_format_date(const char *date, const char *locale, char *buf, size_t len, char *errstr,
                    size_t errlen);

#endif
