/* retention.h -- how long the scheduler keeps what no open invoice needs:
 * closed invoices (P i:), payments (P p:) and the lists of events waiting
 * for an invoice or a payment that never came (P q:, P r:).
 *
 * Design (docs/scheduler.md "Retention"): no second scheduler. Each such
 * record gets a purge member in its partition's timer zset P due:<part>,
 * "<tenant>/\x1e<kind><id>" (kind i, p, q or r; ids never hold control
 * characters, so it never names an invoice), scored on the service clock
 * (ARREARS_CLOCK, the event's own time when applied), so the live service
 * and the backtest (store_mem.c) purge alike. The commit (store_ops.c)
 * (re)scores it: a closed invoice and a payment at every write, now +
 * retention (the retention runs from the last change); a waiting list
 * when its first event is pushed. The timer loop peeks it like any timer
 * (engine.c), loads the record and sch_purge_round decides: a closed
 * invoice without a pending action, a payment and a waiting list are
 * deleted (gone), an invoice open again keeps living and its member goes.
 * Every event a waiting list still holds is logged as expired, naming the
 * invoice or payment and the rule; never silent. A purged invoice or
 * payment is noted in its debtor's ring "pg" (the last SCH_PURGED_N, a
 * bounded append of the commit): a later event about it is answered at
 * once (sch_gc_late) -- not applied, logged, counted -- rather than held;
 * one that fell out of the ring is held, and expires as above.
 *
 * Ownership: the functions fill caller buffers; nothing is allocated. */
#ifndef SCH_RETENTION_H
#define SCH_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include "apply.h"
#include "state.h"

/* The default retention: longer than a year, so a late reversal, credit
 * note or chargeback in the usual windows still finds its invoice. */
#define SCH_RETENTION_DEFAULT "400d"
#define SCH_RETENTION_MIN_MS  1000LL
#define SCH_RETENTION_MAX_MS  (3650LL * 86400000LL)

/* Parses ARREARS_SCHEDULER_CLOSED_RETENTION: "none" or "0" = keep for
 * ever (*ms = 0), else a duration (clock.h) within [1s, 3650d]. 0, or -1
 * with errstr naming the rule. */
int sch_retention_parse(const char *s, int64_t *ms, char *errstr, size_t errlen);

/* The purge member of a record of kind k ('i', 'p', 'q', 'r') into out:
 * "<tenant>/\x1e<k><id>". -1 when it does not fit. */
int sch_gc_member(char *out, size_t len, const char *tenant, char kind, const char *id);
/* A zset member back: 1 a purge member (tenant, kind, id filled), 0 not
 * one (an invoice's timer), -1 a purge member that does not fit. */
int sch_gc_parse(const char *member, size_t mlen, char *tenant, size_t tlen, char *kind, char *id,
                 size_t ilen);
/* The kind letter of a record under prefix (its key P <k>:...): 'i', 'p',
 * 'q' or 'r'; 0 for any other (a customer). */
char sch_gc_kind(const char *prefix, const sch_rec *r);

/* What to do with a record whose purge member is due. */
enum {
    SCH_GC_DROP = 0, /* nothing to purge (absent, or an invoice open again): forget the member */
    SCH_GC_DELETE,   /* delete the record (and its member) */
    SCH_GC_LATER     /* a closed invoice with an action still due: purge after it */
};
/* Pure: the decision for a loaded record r. */
int sch_gc_decide(const sch_rec *r);

/* The purge score a commit gives r (0: none): now + retention for a
 * closed invoice, a payment written, or a waiting list getting its first
 * event; 0 when retention is 0 (kept for ever) or r is gone. */
int64_t sch_gc_score(const sch_rec *r, int64_t now, int64_t retention);

/* The records purged a debtor remembers (its "pg" ring), so that a late
 * event about one is answered at once instead of waiting for a record
 * that will not come back. */
#define SCH_PURGED_N 16

/* 1 when the ring list ("i:I-1,p:P-1,"; NULL none) holds kind:id. */
int sch_gc_tomb_has(const char *list, char kind, const char *id);

/* An event e about the record kind:id ('i' invoice, 'p' payment), not
 * stored: when cust remembers it purged, the event is answered here --
 * logged (warn) naming the record and the rule, counted in c->late -- and
 * 1 is returned (the caller does not apply or hold it); else 0. */
int sch_gc_late(sch_ctx *c, const sch_rec *cust, const ct_event *e, char kind, const char *id);

/* Decides every record of the round whose purge member was due (gc_due),
 * marking the deleted ones gone (and dirty) and a deleted invoice or
 * payment in its debtor's ring. Logs (warn) each event a deleted waiting
 * list held, with its reason; counts c->purged, c->expired. -1 out of
 * memory. */
int sch_purge_round(sch_ctx *c);

#endif
