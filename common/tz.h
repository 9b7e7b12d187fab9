/* tz.h -- IANA time zones from the system's TZif files.
 *
 * Design: glibc can only switch zones through the TZ variable, which is
 * process-global and reloads files; a debtor-local "09:00 in
 * America/Chicago" needs many zones at once. This reads the TZif files in
 * /usr/share/zoneinfo (Debian's tzdata, kept current by the distribution)
 * once per zone and caches the transitions. Thread-safe after load. */
#ifndef CM_TZ_H
#define CM_TZ_H

#include <stddef.h>
#include <stdint.h>

typedef struct cm_tz cm_tz; /* owned by the cache; never freed by callers */

/* Returns the zone, loading it once; NULL with errstr for an unknown or
 * malformed name. "UTC" and "Etc/UTC" always work. */
const cm_tz *cm_tz_get(const char *name, char *errstr, size_t errlen);
int cm_tz_valid(const char *name);
/* UTC offset in seconds at instant ms. */
int32_t cm_tz_offset(const cm_tz *tz, int64_t ms);
/* Local wall time to UTC ms: the first instant at or after the local time
 * (a time skipped by a DST gap moves forward; an ambiguous one takes the
 * earlier offset). */
int64_t cm_tz_local_to_utc(const cm_tz *tz, int32_t day, int hour, int minute);
/* Local calendar day and minutes past midnight of instant ms. */
void cm_tz_local(const cm_tz *tz, int64_t ms, int32_t *day, int *minute_of_day);
void cm_tz_cache_free(void);

#endif
