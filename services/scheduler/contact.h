/* contact.h -- the debtor's clock: when a debtor-facing send is allowed
 * (policy `contact_rules`: window, weekdays, holidays, jurisdictions;
 * docs/policy.md).
 *
 * Design: pure functions of the rules, a zone (tzdata, common/tz.h) and an
 * instant, so that the unit tests check them against worked examples built
 * from tzdata and the regulations, and the scheduler (apply.c) and the
 * backtest share them. A send at instant t is allowed when its local day
 * (in the debtor's zone) is an allowed weekday, not a holiday, and its
 * local time is in [start, end). Otherwise it moves to the first allowed
 * instant after it: later the same day at the window's start when that day
 * is allowed and t is before the start; else the next allowed day at the
 * step's send_at when that lies in the window (the window's start when it
 * does not, or when the send has no send_at). Local times are resolved by
 * cm_tz_local_to_utc: a time skipped by a DST gap moves forward, one that
 * occurs twice takes its first occurrence.
 *
 * Ownership: sch_contact_rules owns its holiday arrays and jurisdiction
 * table; sch_contact_rules_free releases them. */
#ifndef SCH_CONTACT_H
#define SCH_CONTACT_H

#include <stdint.h>

#include "tz.h"

/* Days of the week as bits: bit 0 Monday .. bit 6 Sunday. */
#define SCH_ALL_WEEKDAYS 0x7fu

/* A contact cap: at most max sends on any of channels (bits of ct_channel)
 * to one debtor in any days consecutive local calendar days, the day of
 * the send included. name is its rule name, "cap:sms,email:3/7d". */
typedef struct sch_cap {
    unsigned channels;
    int max, days;
    char name[80];
} sch_cap;

#define SCH_CAPS_MAX     8
#define SCH_CAP_DAYS_MAX 31 /* a send log keeps this many local days */

typedef struct sch_clock_rules {
    int start_min, end_min; /* local window [start, end) in minutes; 0, 1440 = all day */
    unsigned weekdays;      /* allowed days (bits, SCH_ALL_WEEKDAYS = every day) */
    int32_t *holidays;      /* local days (since 1970-01-01) with no send, sorted (owned) */
    int nholidays;
    sch_cap caps[SCH_CAPS_MAX];
    int ncaps;
    int after_conversation_days; /* no call_task for this many local days after a
                                  * conversation, its day being day 1 (0 = off) */
} sch_clock_rules;

typedef struct sch_jurisdiction {
    char key[8];           /* ISO 3166-1 country ("DE") or 3166-2 subdivision ("US-MA") */
    sch_clock_rules rules; /* the tenant-level rules with this entry's keys replaced */
} sch_jurisdiction;

typedef struct sch_contact_rules {
    int enabled;  /* the policy has contact_rules */
    int any_caps; /* some rules (tenant or a jurisdiction) have caps: sends are logged */
    sch_clock_rules base;
    sch_jurisdiction *jur; /* owned */
    int njur;
    /* on_cease: one confirmation of a full cease (FDCPA 1692c(c)) */
    int on_cease;
    int on_cease_channel; /* ct_channel */
    char on_cease_template[64];
} sch_contact_rules;

void sch_contact_rules_free(sch_contact_rules *r);

/* The rules for a debtor: the entry of their region ("US-MA") if any,
 * else of their country ("US"), else the tenant-level rules. region and
 * country may be NULL or "". */
const sch_clock_rules *sch_contact_rules_for(const sch_contact_rules *r, const char *region,
                                             const char *country);

/* Day of the week of a day since 1970-01-01: 0 Monday .. 6 Sunday. */
int sch_weekday(int32_t day);

/* The first instant at or after t at which a send is allowed in zone tz;
 * send_min is the send's local send_at in minutes, or -1 for none. *why is
 * NULL when t is allowed, else the rule that moved it: "window" (outside
 * the local hours), "weekday" or "holiday" (the local day). Returns t when
 * no allowed day exists within two years (rules that allow nothing are
 * refused by the policy parser). */
int64_t sch_clock_next(const sch_clock_rules *r, const cm_tz *tz, int64_t t, int send_min,
                       const char **why);

/* Caps. A debtor's send log is a string of "<local day>:<channel>;"
 * entries, oldest first (state.h, sch_cust.sendlog). Returns 0 when a send
 * on channel on local day today keeps every cap of r, else 1 with *ok_day =
 * the first later local day on which every cap holds (counting the sends
 * already logged) and *hit = the first cap that refused today. */
int sch_caps_check(const sch_clock_rules *r, const char *sendlog, int channel, int32_t today,
                   int32_t *ok_day, const sch_cap **hit);
/* A new log: log (may be NULL) with (day, channel) appended and the entries
 * older than SCH_CAP_DAYS_MAX days before day dropped (malloc'd; NULL on
 * out of memory). */
char *sch_sendlog_add(const char *log, int32_t day, int channel);

#endif
