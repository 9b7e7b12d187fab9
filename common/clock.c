/* clock.c -- the shared (possibly simulated) clock and time formatting.
 *
 * Civil-date arithmetic uses Howard Hinnant's days_from_civil algorithm:
 * exact for every proleptic Gregorian date, no tables, no time zone. */
#include "clock.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static cm_clock_spec clk = {0, 0, 1.0};
static int clk_sim = 0;

int32_t cm_days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int)doe - 719468;
}

void cm_civil_from_days(int32_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int yy = (int)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static int days_in_month(int y, unsigned m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dim[m - 1];
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Parses "YYYY-MM-DD" at s (exactly 10 chars). */
static int parse_ymd(const char *s, int *y, int *m, int *d)
{
    if (digits(s, 4, y) || s[4] != '-' || digits(s + 5, 2, m) || s[7] != '-' || digits(s + 8, 2, d))
        return -1;
    if (*y < 1 || *m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, (unsigned)*m))
        return -1;
    return 0;
}

int cm_date_parse(const char *s, int32_t *days)
{
    int y, m, d;
    if (!s || strlen(s) != 10 || parse_ymd(s, &y, &m, &d))
        return -1;
    *days = cm_days_from_civil(y, (unsigned)m, (unsigned)d);
    return 0;
}

void cm_date_format(int32_t days, char *buf, size_t len)
{
    int y;
    unsigned m, d;
    cm_civil_from_days(days, &y, &m, &d);
    snprintf(buf, len, "%04d-%02u-%02u", y, m, d);
}

int32_t cm_time_day(int64_t ms)
{
    int64_t day = ms / 86400000;
    if (ms % 86400000 < 0)
        day--;
    return (int32_t)day;
}

int cm_time_parse_rfc3339(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, se, off = 0;
    int64_t frac_ms = 0;
    const char *p;
    if (!s || strlen(s) < 20 || parse_ymd(s, &y, &mo, &d))
        return -1;
    if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || digits(s + 11, 2, &h) || s[13] != ':' ||
        digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &se))
        return -1;
    if (h > 23 || mi > 59 || se > 60) /* 60: leap second, folded into :59 */
        return -1;
    if (se == 60)
        se = 59;
    p = s + 19;
    if (*p == '.') {
        int n = 0;
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p)) {
            if (n < 3)
                frac_ms = frac_ms * 10 + (*p - '0');
            n++;
            p++;
        }
        for (; n < 3; n++)
            frac_ms *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    int64_t days = cm_days_from_civil(y, (unsigned)mo, (unsigned)d);
    *ms = ((days * 86400 + h * 3600 + mi * 60 + se) - off) * 1000 + frac_ms;
    return 0;
}

static void two_digits(char *b, unsigned v)
{
    b[0] = (char)('0' + v / 10);
    b[1] = (char)('0' + v % 10);
}

/* Built by hand for years 0-9999 (every instant a service meets): the
 * scheduler writes two per command, and snprintf was a tenth of a firing
 * round. Other years, or a short buf, take snprintf (same text). */
void cm_time_format_rfc3339(int64_t ms, char *buf, size_t len)
{
    int32_t day = cm_time_day(ms);
    int64_t rem = ms - (int64_t)day * 86400000;
    int y;
    unsigned m, d;
    cm_civil_from_days(day, &y, &m, &d);
    unsigned r = (unsigned)rem;
    if (y < 0 || y > 9999 || len < 25) {
        snprintf(buf, len, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d, (int)(rem / 3600000),
                 (int)(rem / 60000 % 60), (int)(rem / 1000 % 60), (int)(rem % 1000));
        return;
    }
    two_digits(buf, (unsigned)y / 100);
    two_digits(buf + 2, (unsigned)y % 100);
    buf[4] = '-';
    two_digits(buf + 5, m);
    buf[7] = '-';
    two_digits(buf + 8, d);
    buf[10] = 'T';
    two_digits(buf + 11, r / 3600000);
    buf[13] = ':';
    two_digits(buf + 14, r / 60000 % 60);
    buf[16] = ':';
    two_digits(buf + 17, r / 1000 % 60);
    buf[19] = '.';
    buf[20] = (char)('0' + r % 1000 / 100);
    two_digits(buf + 21, r % 100);
    buf[23] = 'Z';
    buf[24] = 0;
}

int64_t cm_clock_real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cm_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cm_mono_deadline(int64_t ms, struct timespec *ts)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int cm_mono_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);
    if (rc != 0)
        return rc;
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
    return rc;
}

double cm_mono_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cm_clock_parse(const char *spec, cm_clock_spec *out, char *errstr, size_t errlen)
{
    char start[64];
    const char *at, *x;
    char *end;
    cm_clock_spec c = {0, 0, 1.0};

    if (!spec || !*spec) {
        *out = c;
        return 0;
    }
    at = strchr(spec, '@');
    x = at ? strchr(at, 'x') : NULL;
    if (!at || !x || (size_t)(at - spec) >= sizeof(start)) {
        snprintf(errstr, errlen,
                 "unknown clock format '%s': expected <RFC 3339 sim start>@<unix real "
                 "start>x<factor>, e.g. 2026-01-01T00:00:00Z@1767225600x86400",
                 spec);
        return -1;
    }
    memcpy(start, spec, (size_t)(at - spec));
    start[at - spec] = 0;
    if (cm_time_parse_rfc3339(start, &c.sim_start_ms) != 0) {
        snprintf(errstr, errlen, "clock sim start '%s' is not an RFC 3339 timestamp", start);
        return -1;
    }
    errno = 0;
    double real = strtod(at + 1, &end);
    /* at most 1e12 s (year 33658), so that its ms fit an int64_t */
    if (errno || end != x || !isfinite(real) || real < 0 || real > 1e12) {
        snprintf(errstr, errlen, "clock real start '%.*s' is not unix seconds (0 to 1e12)",
                 (int)(x - at - 1), at + 1);
        return -1;
    }
    c.real_start_ms = (int64_t)(real * 1000.0);
    errno = 0;
    c.factor = strtod(x + 1, &end);
    if (errno || *end || end == x + 1 || !isfinite(c.factor) || c.factor <= 0 || c.factor > 1e9) {
        snprintf(errstr, errlen, "clock factor '%s' must be a number in (0, 1e9]", x + 1);
        return -1;
    }
    *out = c;
    return 0;
}

int cm_clock_init(const char *spec, char *errstr, size_t errlen)
{
    cm_clock_spec c;
    if (cm_clock_parse(spec, &c, errstr, errlen) != 0)
        return -1;
    clk = c;
    clk_sim = spec && *spec;
    return 0;
}

int64_t cm_clock_now_ms(void)
{
    int64_t real = cm_clock_real_ms();
    if (!clk_sim)
        return real;
    return clk.sim_start_ms + (int64_t)((double)(real - clk.real_start_ms) * clk.factor);
}

double cm_clock_factor(void)
{
    return clk_sim ? clk.factor : 1.0;
}

int64_t cm_clock_real_delay_ms(int64_t t)
{
    int64_t d = t - cm_clock_now_ms();
    if (d <= 0)
        return d;
    return (int64_t)ceil((double)d / cm_clock_factor());
}

int cm_duration_parse(const char *s, int64_t *ms)
{
    char *end;
    if (!s || !*s || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || v < 0)
        return -1;
    long long mul;
    if (!*end || strcmp(end, "ms") == 0)
        mul = 1;
    else if (strcmp(end, "s") == 0)
        mul = 1000;
    else if (strcmp(end, "m") == 0)
        mul = 60000;
    else if (strcmp(end, "h") == 0)
        mul = 3600000;
    else if (strcmp(end, "d") == 0)
        mul = 86400000;
    else
        return -1;
    if (v > INT64_MAX / mul)
        return -1;
    *ms = v * mul;
    return 0;
}
