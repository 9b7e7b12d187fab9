/* reporter.h -- the reporter's library: aggregation state, reports, replay.
 *
 * Design: the reporter keeps every invoice, payment, promise and contact it
 * has seen (compactly, in memory) together with dated balance movements, so
 * that any report can be built "as of" any date D (end of day D, UTC) by one
 * pass over the invoices; with a fact retention (retain.c), any D from
 * today minus the retention on, what settled invoices left being summed. Nothing is pre-aggregated
 * into counters that could be double counted: applying an event is idempotent by its id (a de-dup
 * set of tenant/source/id, kept for the de-duplication window), and the whole state is a
 * deterministic function of the de-duplicated event sequence. Restarts load a snapshot (state plus
 * the Kafka offsets it reflects) from Redis and seek to those offsets.
 *
 * Ownership: rep_state is owned by its creator (rep_state_free). Report
 * builders return new json_t references the caller must json_decref.
 * Input json_t passed to rep_state_apply_* is borrowed. */
#ifndef REP_REPORTER_H
#define REP_REPORTER_H

#include "json.h"
#include "map.h"
#include "risk.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- state.c ---- */
/* common/vec.h's cm_grow for the reporter's 32-bit capacities (its
 * tables are indexed by uint32): 0, or -1 on out of memory or beyond
 * UINT32_MAX items, with *p and *cap unchanged. */
int rep_grow(void **p, uint32_t *cap, size_t elem, uint32_t need);
#define REP_GROW(arr, cap, need) rep_grow((void **)&(arr), &(cap), sizeof *(arr), (need))

enum { REP_MV_PAY = 1, REP_MV_CREDIT = 2, REP_MV_DISPUTE = 3 };
enum { REP_CLOSE_NONE = 0, REP_CLOSE_VOID = 1, REP_CLOSE_WRITEOFF = 2 };
enum { REP_PROMISE_OPEN = 0, REP_PROMISE_KEPT = 1, REP_PROMISE_BROKEN = 2 };

#define REP_DAY_NONE   INT32_MAX
#define REP_MS_PER_DAY INT64_C(86400000)

typedef struct rep_move {
    int64_t amount; /* minor units; a positive amount reduces the balance */
    int64_t at_ms;  /* PAY: the payment's instant (received_at, else end of day) */
    int32_t day;    /* the business date it takes effect */
    uint32_t ref;   /* PAY: payment index */
    uint8_t kind;   /* REP_MV_* */
} rep_move;

typedef struct rep_inv {
    char *id;        /* invoice_id */
    uint32_t tenant; /* index into tenants */
    uint32_t cust;   /* index into customers */
    uint16_t cur;    /* index into currencies */
    uint8_t known;   /* 1 once invoice.issued/updated was seen */
    uint8_t close_kind;
    int32_t issued, due, close_day;
    int64_t amount;
    rep_move *moves; /* sorted by day, then arrival */
    uint32_t nmoves, capmoves;
    uint32_t *contacts; /* indices of sent contacts, in arrival order */
    uint32_t ncontacts, capcontacts;
} rep_inv;

/* One of the latest invoices paid in full among a customer's dropped
 * ones (retain.c), for its risk score. */
typedef struct rep_paid {
    int32_t paid; /* the day its balance reached zero through a payment */
    int32_t late; /* days late, 0 when paid by its due date */
    char *id;     /* invoice_id (owned) */
} rep_paid;

typedef struct rep_cust {
    char *id;
    char *name;
    uint32_t tenant;
    uint32_t *invs; /* invoice indices */
    uint32_t ninvs, capinvs;
    /* what its facts dropped by the retention leave behind (retain.c) */
    int32_t gone_first;   /* the earliest issued_on of its dropped invoices; REP_DAY_NONE */
    int32_t gone_lastpay; /* the last received_on of its dropped live payments; REP_DAY_NONE */
    uint32_t gone_broken; /* its dropped broken promises */
    rep_paid *gone_paid;  /* the latest paid of its dropped invoices, latest first, at most */
    uint32_t ngone_paid;  /* REP_GONE_PAID (the risk score's last_n) */
} rep_cust;

typedef struct rep_alloc {
    uint32_t inv;
    int64_t amount;
} rep_alloc;

typedef struct rep_pay {
    uint32_t tenant, cust;
    uint16_t cur;
    int32_t day;          /* received_on */
    int32_t reversed_day; /* REP_DAY_NONE unless reversed */
    int64_t at_ms;
    int64_t amount;
    rep_alloc *allocs;
    uint32_t nallocs;
} rep_pay;

typedef struct rep_promise {
    uint32_t tenant, cust;
    uint16_t cur;
    uint8_t made;    /* promise.made seen */
    uint8_t outcome; /* REP_PROMISE_* from the scheduler's events */
    int32_t made_day, promised_on, outcome_day;
    int64_t made_ms;
    int64_t amount;
    uint32_t *invs;
    uint32_t ninvs;
} rep_promise;

/* The step of the effectiveness rows of logged contacts (contact.logged,
 * strategy and variant ""): no ladder step is negative (outcomes with a
 * negative or no step are in no row). */
#define REP_STEP_LOGGED (-1)

typedef struct rep_group { /* one effectiveness row */
    uint32_t tenant;
    char *strategy, *variant, *channel;
    int64_t step; /* the ladder step, or REP_STEP_LOGGED */
    /* what the retention dropped (retain.c), all owned: its contacts,
     * failed ones and sent ones by the currency a message is charged in
     * ([0]: none, [1 + currency index]); the dropped invoices' share of
     * the row (contacted, responded, recovered by currency index) and of
     * its variant's experiment (invoices whose first contact under the
     * strategy was this row's, those paid, and their days to recover as
     * a histogram ascending by days), and the currencies of those */
    int64_t gone_failed;
    int64_t *gone_sent;
    uint32_t ngone_sent;
    int64_t gone_contacted, gone_responded, gone_invoices, gone_paid;
    int64_t *gone_rec;
    uint32_t ngone_rec;
    struct rep_dayn *gone_days;
    uint32_t ngone_days;
    uint8_t *gone_curs; /* [ngone_curs]: 1 when a dropped invoice in that currency (index)
                         * was in its variant's arm (kpis.c "arms" lists the currency) */
    uint32_t ngone_curs;
} rep_group;

typedef struct rep_dayn {
    int32_t days;
    int64_t n;
} rep_dayn;

typedef struct rep_contact {
    int64_t at_ms;
    uint32_t group;
    uint8_t sent;      /* 1 sent (logged: reached the debtor), 0 failed */
    uint16_t gone_cur; /* retain.c: 1 + the (alphabetically) first currency of its
                        * invoices dropped by the retention; 0: none */
} rep_contact;

/* One of the scheduler's money events (issue 14; docs/events.md "Events
 * the scheduler publishes"), a dated fact of its tenant and currency. */
enum { REP_MN_FEE_CHARGED = 1, REP_MN_FEE_WAIVED = 2, REP_MN_INTEREST = 3, REP_MN_SETTLED = 4 };

typedef struct rep_money {
    uint32_t tenant;
    uint16_t cur;
    uint8_t kind;   /* REP_MN_* */
    uint8_t detail; /* SETTLED: the ct_offer_kind taken; else 0 */
    int32_t day;    /* FEE_CHARGED: charged_on; else the event's UTC day */
    int64_t amount; /* the fee charged or waived, the interest, the amount forgiven */
    int64_t extra;  /* INTEREST: the compensation; SETTLED: the amount paid; else 0 */
} rep_money;

/* Hand-off to an agency or to legal (issue 16; docs/reports.md
 * "escalations"). A case (tenant, case_id) remembers what its
 * escalation.placed said, so that a recall (which names only the case)
 * and a remittance (which names the case and its own currency) can be
 * attributed to a currency and a destination. Each of the four events
 * is also kept as a dated fact (rep_esc) of its case on the event's UTC
 * day, summed per KPI period by kpis.c. */
typedef struct rep_case {
    char *id;           /* case_id */
    uint32_t tenant;    /* index into tenants */
    uint16_t cur;       /* placed: the currency of its first placement */
    uint8_t placed;     /* 1 once an escalation.placed was seen */
    uint8_t to;         /* placed: the ct_escalation_to of its first placement */
    int32_t placed_day; /* placed: the UTC day of its first placement */
} rep_case;

enum { REP_ESC_PLACED = 1, REP_ESC_ACCEPTED = 2, REP_ESC_RECALLED = 3, REP_ESC_REMITTED = 4 };

typedef struct rep_esc {
    uint32_t tenant;
    uint32_t kase;  /* index into cases */
    uint16_t cur;   /* PLACED, REMITTED: the event's currency; else 0 (the case's) */
    uint8_t kind;   /* REP_ESC_* */
    int32_t day;    /* the event's UTC day */
    int64_t amount; /* PLACED: placed_minor; REMITTED: amount_minor; else 0 */
    int64_t extra;  /* REMITTED: commission_minor; else 0 */
} rep_esc;

/* Deliverability (issue 17; docs/reports.md "deliverability"): dated
 * facts about the messages of a (tenant, channel, template) row
 * (rep_tmpl): each email or SMS sent (a contact.sent outcome), and what
 * the providers and the debtor said back (contact.delivered, .bounced,
 * .complained, .replied). A reply names no message: the report gives it
 * to the last message sent to its debtor on its channel at or before it. */
enum {
    REP_FB_SENT = 1,
    REP_FB_DELIVERED = 2,
    REP_FB_BOUNCED = 3,
    REP_FB_COMPLAINED = 4,
    REP_FB_REPLIED = 5
};
#define REP_TMPL_NONE UINT32_MAX

typedef struct rep_tmpl { /* one deliverability row */
    uint32_t tenant;
    uint8_t channel; /* ct_channel: email or sms */
    char *name;      /* the template (owned) */
    /* its facts dropped by the retention (retain.c), by REP_FB_* (a reply:
     * as the report attributes it), and its hard bounces among them */
    int64_t gone_n[REP_FB_REPLIED + 1];
    int64_t gone_hard;
} rep_tmpl;

typedef struct rep_fb {
    uint32_t tenant, cust;
    uint32_t tmpl;   /* index into tmpls; REP_TMPL_NONE for a reply */
    uint8_t kind;    /* REP_FB_* */
    uint8_t channel; /* ct_channel */
    uint8_t hard;    /* BOUNCED: 1 hard, 0 soft */
    int64_t at_ms;   /* SENT: the outcome's at; else the event's time */
} rep_fb;

typedef struct rep_cur {
    char code[4];
    int exponent;
} rep_cur;

/* Sales of dropped invoices by tenant, currency and month (retain.c):
 * what the countback DSO reads of them; and, per tenant and currency,
 * what the KPI report reads of dropped money and hand-off facts. */
typedef struct rep_sales {
    uint32_t tenant;
    uint16_t cur;
    int32_t month; /* the day its month starts; INT32_MIN: everything older than
                    * countback reads, and what dropped money and hand-off facts
                    * leave (the fields below, 0 in month entries) */
    int64_t amount;
    uint8_t money, esc;                   /* a money fact, a placement or remittance was dropped */
    int64_t placed, remitted, commission; /* to date, as kpis.c sums them */
} rep_sales;

/* Per-tenant lists of entity indices, so that a report of one tenant never
 * walks the others' invoices. Derived data: rebuilt on snapshot decode. */
typedef struct rep_list {
    uint32_t *v;
    uint32_t n, cap;
} rep_list;
typedef struct rep_tlists {
    rep_list invs, pays, proms, contacts, money, escs, fbs;
} rep_tlists;

/* ---- costs.c ---- */
/* The unit cost of a message by channel and currency (the policy's
 * `costs`: {"sms_minor": {"GBP": 4}, ...}; docs/reports.md "arms"). */
#define REP_COSTS_MAX 160
typedef struct rep_costs {
    int n;
    struct {
        uint8_t channel; /* ct_channel */
        char code[4];
        int64_t minor;
    } v[REP_COSTS_MAX];
} rep_costs;

/* Fills out from a costs object, or from a policy's "costs" when j has
 * that key. 0, or -1 with "$.costs.sms_minor.GBP: ..." in errstr. */
int rep_costs_parse(const json_t *j, rep_costs *out, char *errstr, size_t errlen);
/* rep_costs_parse of the JSON file at path (errstr starts with path). */
int rep_costs_load(const char *path, rep_costs *out, char *errstr, size_t errlen);
/* 1 and *minor when c (may be NULL) prices channel in currency, else 0. */
int rep_costs_get(const rep_costs *c, int channel, const char *currency, int64_t *minor);

/* Offsets: the next offset to read per (topic index, partition). */
#define REP_MAX_PARTS 1024
typedef struct rep_offsets {
    int n;
    char topic[REP_MAX_PARTS][16]; /* "events", "contacts" or "requests" */
    int32_t part[REP_MAX_PARTS];
    int64_t next[REP_MAX_PARTS];
} rep_offsets;

typedef struct rep_state {
    char **tenants;
    uint32_t ntenants, captenants;
    rep_cur *curs;
    uint32_t ncurs, capcurs;
    rep_inv *invs;
    uint32_t ninvs, capinvs;
    rep_cust *custs;
    uint32_t ncusts, capcusts;
    rep_pay *pays;
    uint32_t npays, cappays;
    rep_promise *proms;
    uint32_t nproms, capproms;
    rep_group *groups;
    uint32_t ngroups, capgroups;
    rep_contact *contacts;
    uint32_t ncontacts, capcontacts;
    rep_money *money;
    uint32_t nmoney, capmoney;
    rep_case *cases;
    uint32_t ncases, capcases;
    rep_esc *escs;
    uint32_t nescs, capescs;
    rep_tmpl *tmpls; /* issue 17: deliverability rows (few per tenant: found by a scan) */
    uint32_t ntmpls, captmpls;
    rep_fb *fbs;
    uint32_t nfbs, capfbs;
    int64_t *gone_unattr; /* [ngone_unattr]: per tenant, dropped replies given to no
                           * message (retain.c) */
    uint32_t ngone_unattr;
    rep_sales *sales; /* of dropped invoices (retain.c) */
    uint32_t nsales, capsales;
    int32_t horizon; /* retain.c: invoices whose facts all lie before this day may be
                      * gone; 0: none dropped */
    cm_map tenant_ix, cur_ix, inv_ix, cust_ix, pay_ix, prom_ix, group_ix, case_ix;
    cm_map seen;             /* de-dup: "e\x1f" tenant/source/id, "c\x1f" tenant/id -> the window
                              * bucket it was applied in + 1 (0: before any window, kept) */
    int64_t dedup_bucket_ms; /* 0: no window, ids are kept for ever (replay) */
    uint32_t dedup_keep;     /* buckets an id outlives the one it was applied in */
    uint32_t dedup_cur;      /* the current bucket + 1 (0: not yet set) */
    rep_tlists *by_tenant;   /* [ntenants] */
    uint32_t capby;
    uint64_t applied, duplicates, rejected;
    rep_offsets offsets;
    const rep_costs *costs; /* borrowed, NULL: none; configuration, not in snapshots */
    cm_json *js;            /* the arena events are parsed into (owned; made on first use) */
} rep_state;

rep_state *rep_state_new(void);
void rep_state_free(rep_state *st);

/* The de-duplication window (docs/operations.md "Memory bounds"): like
 * ingest's, it is cut into REP_DEDUP_BUCKETS buckets of window / 7 ms (at
 * least 1 s) of real time. An id applied in bucket b is a duplicate in
 * bucket c while c - b <= keep = ceil(window / bucket): remembered for at
 * least the window and at most keep + 1 buckets (the window plus one
 * bucket when the bucket divides it). window_ms <= 0: no window.
 * Configuration, not in snapshots (the ids' buckets are). */
#define REP_DEDUP_BUCKETS 7
void rep_state_dedup_window(rep_state *st, int64_t window_ms);
/* Sets the real time of the next applies. When its bucket differs from
 * the last one, forgets the ids out of the window (cm_map_filter: the set
 * and its table shrink) and stamps ids from before any window (a snapshot
 * of an older version) with the current bucket. Returns the number of ids
 * forgotten, or -1 (errstr: out of memory; the set unchanged, ids out of
 * the window still count as unseen). No-op without a window. */
long rep_state_dedup_at(rep_state *st, int64_t now_ms, char *errstr, size_t errlen);

/* Rebuilds by_tenant from the entities (after a snapshot decode). */
int rep_state_reindex(rep_state *st);

/* Applies one canonical event (docs/contracts.md), the record p[0..n) as
 * consumed, parsed into st->js and decoded with the contract's
 * ct_event_decode_bytes (no jansson tree: this is the service's hot path).
 * Returns 1 applied, 0 duplicate or ignored type, -1 invalid (errstr: the
 * decoder's "field: rule (detail)", or what the reporter refuses, e.g. an
 * unknown payment). */
int rep_state_apply_event_bytes(rep_state *st, const char *p, size_t n, char *errstr,
                                size_t errlen);
/* The same from a jansson tree (replays of normalized files, tests). */
int rep_state_apply_event(rep_state *st, const json_t *ev, char *errstr, size_t errlen);
/* Applies one contact outcome (ct_contact_decode). Same returns; an
 * outcome without a step (a payment.thanks) is remembered and ignored. */
int rep_state_apply_contact(rep_state *st, const json_t *c, char *errstr, size_t errlen);
/* The same from the record's bytes (the contacts topic): read with the
 * arena reader, no jansson tree. */
int rep_state_apply_contact_bytes(rep_state *st, const char *p, size_t n, char *errstr,
                                  size_t errlen);

/* Balance of an invoice at the end of day D (0 once voided or written off,
 * never negative). */
int64_t rep_inv_outstanding(const rep_state *st, const rep_inv *inv, int32_t d);
/* Day the balance reached zero through a payment (<= d), or REP_DAY_NONE. */
int32_t rep_inv_paid_day(const rep_state *st, const rep_inv *inv, int32_t d);
/* 1 if payment p counts at day d (received by d and not reversed by d). */
int rep_pay_live(const rep_pay *p, int32_t d);
/* Tenant index by name, or -1. */
int rep_state_tenant(const rep_state *st, const char *name);

/* ---- reports (aging.c, kpis.c, effect.c) ---- */
/* Every builder returns one report for one tenant as of the end of day D.
 * generated_ms is stamped as "generated_at". */
json_t *rep_report_aging(const rep_state *st, uint32_t tenant, int32_t d, int64_t generated_ms);
json_t *rep_report_kpis(const rep_state *st, uint32_t tenant, int32_t d, int64_t generated_ms);
json_t *rep_report_effectiveness(const rep_state *st, uint32_t tenant, int32_t d,
                                 int64_t generated_ms);
/* The arm statistics of the effectiveness report (effect.c;
 * docs/reports.md "arms"), z = REP_Z95 for 95%:
 * rep_wilson95: the Wilson score interval of x successes in n, as
 * fractions in [0, 1]; -1 when n <= 0.
 * rep_two_prop_z: the pooled two-proportion z-test of x1/n1 against
 * x0/n0: z = (p1 - p0) / sqrt(p (1 - p) (1/n1 + 1/n0)) with
 * p = (x1 + x0) / (n1 + n0), and the two-sided p-value erfc(|z| / sqrt 2);
 * z = 0 and p-value 1 when p is 0 or 1; -1 when n1 or n0 <= 0. */
#define REP_Z95 1.96 /* the textbook 97.5% normal quantile (1.959964), rounded */
int rep_wilson95(int64_t x, int64_t n, double *lo, double *hi);
int rep_two_prop_z(int64_t x1, int64_t n1, int64_t x0, int64_t n0, double *z, double *pvalue);
/* Builds report type ("aging", "kpis", "effectiveness") for tenant name,
 * which may be unknown (an empty report). NULL for an unknown type. */
json_t *rep_report_build(const rep_state *st, const char *type, const char *tenant, int32_t d,
                         int64_t generated_ms);

/* The risk score of customer cust as of the end of day d (common/risk.h,
 * default weights: the reporter reads no policy) from what the reporter
 * knows: its invoices (the last N paid in full by d), disputes on open
 * invoices, broken promises and payments (docs/risk.md "In the aging
 * report"). broken is its number of promises broken as of d and
 * last_pay the day of its last payment live at d (REP_DAY_NONE: none),
 * which the caller gathers for all customers in one pass. */
void rep_risk_score(const rep_state *st, uint32_t cust, int32_t d, uint32_t broken,
                    int32_t last_pay, cm_risk_result *out);
/* Rounds to 2 decimals, half away from zero. */
double rep_round2(double x);
/* Shared by the report files: the report envelope. */
json_t *rep_report_envelope(const rep_state *st, const char *type, const char *tenant, int32_t d,
                            int64_t generated_ms);

/* ---- normalize.c: inbound CloudEvents -> canonical (replay only) ---- */
/* Runs ce through the contract's inbound validator and normalizer
 * (ct_validate, the one ingest uses). Returns a new canonical event, or
 * NULL with the reasons in errstr. */
json_t *rep_normalize_inbound(const json_t *ce, char *errstr, size_t errlen);
/* A command (as on `commands`) -> the contact.sent outcome it counts as,
 * at its created_at (ct_command_decode, ct_contact_from_command,
 * ct_contact_encode). NULL with "command_id: ..." or "created_at: ..." in
 * errstr when it lacks either (or "out of memory"). */
json_t *rep_normalize_command(const json_t *cmd, char *errstr, size_t errlen);
/* A contact outcome (copied) or a bare command (rep_normalize_command). */
json_t *rep_normalize_contact(const json_t *line, char *errstr, size_t errlen);

/* ---- retain.c: the facts' retention (issue 18) ---- */
/* A report as of D reads facts back to the day before the first of D's
 * month (beginning AR): at most 31 days before D. Countback DSO reads
 * 24 months of sales, which dropped invoices leave in st->sales. */
#define REP_LOOKBACK_DAYS 31
/* How many of a customer's dropped paid invoices are kept for its risk
 * score: the default weights' last_n (the reporter reads no policy). */
#define REP_GONE_PAID 10
/* The first day a report of st is exact as of (INT32_MIN: every day). */
int32_t rep_state_exact_from(const rep_state *st);
/* Drops the facts no report as of horizon + REP_LOOKBACK_DAYS or later
 * reads: an invoice (known or a stub) none of whose facts (issue, due
 * date, close, movements, its payments' reversals, contacts) is on or after
 * horizon, whose balance is 0 at the end of horizon - 1, and none of
 * whose payments is on or after the day a promise of its customer
 * undecided then was made; with it, its payments when all
 * their invoices go, its promises when decided before horizon and all
 * their invoices go, its contacts when no kept invoice has them; and the
 * deliverability facts before horizon but each debtor's last message sent
 * on each channel (a later reply is given to it); the money facts before
 * horizon; the hand-off facts before horizon but remittances of cases not
 * placed before it. What
 * the reports still read of them stays: per customer the earliest
 * issue date, the last live payment, broken promises and the latest
 * REP_GONE_PAID paid invoices; per row the effectiveness figures; per
 * tenant, currency and month the sales, per tenant and currency the
 * hand-off sums to date and that money or hand-off facts were seen; per
 * template row the deliverability counts, per tenant the unattributed
 * replies. Kept entities keep their order;
 * indices are renumbered. Promises decided before horizon by the
 * documented rule are frozen at that outcome. No-op when horizon <=
 * st->horizon. Returns the number of invoices dropped, or -1 (errstr:
 * out of memory; st is unchanged). */
long rep_state_retain(rep_state *st, int32_t horizon, char *errstr, size_t errlen);

/* ---- snapshot.c ---- */
/* Serializes the state (and its offsets) into a malloc'd buffer. */
int rep_snapshot_encode(const rep_state *st, char **buf, size_t *len, char *errstr, size_t errlen);
/* A new state from a buffer, or NULL with errstr (corrupt/unknown version). */
rep_state *rep_snapshot_decode(const char *buf, size_t len, char *errstr, size_t errlen);

/* ---- replay.c ---- */
/* `arrears-reporter replay ...`; returns the process exit code. */
int rep_replay_main(int argc, char **argv, FILE *out, FILE *err);

#endif
