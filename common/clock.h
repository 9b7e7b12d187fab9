/* clock.h -- the one clock of every service, and time formatting.
 *
 * ARREARS_CLOCK unset or empty: the wall clock. Otherwise
 * "<sim start RFC 3339>@<real start unix seconds>x<factor>", meaning
 *   simulated now = sim_start + (real now - real_start) * factor
 * Every process given the same string agrees on the same instant, so a demo
 * can run 90 days in 90 seconds across services. Times are int64
 * milliseconds since the Unix epoch (UTC). Not thread-safe to init; the
 * readers are. */
#ifndef CM_CLOCK_H
#define CM_CLOCK_H

#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

typedef struct cm_clock_spec {
    int64_t sim_start_ms;
    int64_t real_start_ms;
    double factor; /* > 0 */
} cm_clock_spec;

/* Parses spec ("" or NULL = wall clock: factor 1, both starts 0). */
int cm_clock_parse(const char *spec, cm_clock_spec *out, char *errstr, size_t errlen);
int cm_clock_init(const char *spec, char *errstr, size_t errlen);
int64_t cm_clock_now_ms(void);  /* simulated (or wall) now */
int64_t cm_clock_real_ms(void); /* wall clock, always */
double cm_clock_factor(void);
/* Monotonic clock (CLOCK_MONOTONIC), for timeouts, deadlines and latency:
 * never the simulated clock, never steps. Milliseconds, or seconds with a
 * fraction (benchmarks, rates). */
int64_t cm_mono_ms(void);
double cm_mono_sec(void);
/* The CLOCK_MONOTONIC instant ms from now, for pthread_cond_timedwait on a
 * condition variable made by cm_mono_cond_init (a wall-clock step must not
 * stretch or cut a wait). */
void cm_mono_deadline(int64_t ms, struct timespec *ts);
/* pthread_cond_init with CLOCK_MONOTONIC; 0 or an errno value. */
int cm_mono_cond_init(pthread_cond_t *cv);
/* Real milliseconds until simulated instant t (<= 0 if already past). */
int64_t cm_clock_real_delay_ms(int64_t t);

/* RFC 3339 with offset or Z, optional fraction; -1 on bad input. */
int cm_time_parse_rfc3339(const char *s, int64_t *ms);
/* "2026-03-01T09:00:00.000Z" into buf (at least 32 bytes). */
void cm_time_format_rfc3339(int64_t ms, char *buf, size_t len);

/* Dates: days since 1970-01-01. "YYYY-MM-DD" strictly, real dates only. */
int cm_date_parse(const char *s, int32_t *days);
void cm_date_format(int32_t days, char *buf, size_t len); /* >= 11 bytes */
int32_t cm_days_from_civil(int y, unsigned m, unsigned d);
void cm_civil_from_days(int32_t z, int *y, unsigned *m, unsigned *d);
/* Floor of ms to a day number (UTC). */
int32_t cm_time_day(int64_t ms);

/* Durations "500ms", "30s", "5m", "2h", "7d" (or bare ms) to ms. */
int cm_duration_parse(const char *s, int64_t *ms);

#endif
