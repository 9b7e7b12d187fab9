/* state.h -- the scheduler's state records and their Redis hash encoding.
 *
 * Keys (all under the key prefix P, ARREARS_SCHEDULER_KEY_PREFIX):
 *   P i:<tenant>/<invoice_id>    string invoice, packed: the fields of sch_inv
 *                                      in the order of sch_inv_fields, separated
 *                                      by 0x1f (ids never hold control chars),
 *                                      version first; trailing defaults dropped
 *   P c:<tenant>/<customer_id>   hash  customer: contact, zone, holds,
 *                                      open invoices (o:<id>), credit (u:<payment>),
 *                                      the last records purged (pg, retention.h)
 *   P p:<tenant>/<payment_id>    hash  payment: allocations, reversed flag
 *   P q:<tenant>/<invoice_id>    list  events kept for a not yet known invoice
 *   P k:<tenant>/<customer_id>   string the customer's contact (compact JSON)
 *   P r:<tenant>/<payment_id>    list  a reversal kept for a not yet known payment
 *   P due:<partition>            zset  member <tenant>/<invoice_id>, score = due ms;
 *                                      and purge members <tenant>/\x1e<k><id> of
 *                                      i:, p:, q:, r: records (retention.h)
 *   P ob:<partition>:<round>     hash  an outbox round: command id -> record
 *                                      ("<topic>\n<key>\n<payload>"), written
 *                                      with a TTL before the commit, made
 *                                      permanent by it (store.h)
 *   P ob:<partition>             set   rounds committed, not yet delivered
 * Every record carries a version (hash field "v", or the first field of a
 * packed invoice) bumped by each write; writes are
 * compare-and-set on it (store_ops.c, store_redis.c), so a stale writer never mixes states.
 *
 * A batch of work (events, or timers to fire) loads the records it needs
 * into a sch_map, changes them in memory, and commits them in one Lua call.
 * The map owns every record; records are freed with the map. */
#ifndef SCH_STATE_H
#define SCH_STATE_H

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "contract.h"

/* An id of the contract (CT_ID_MAX bytes) with its NUL. */
#define SCH_ID_LEN        (CT_ID_MAX + 1)
#define SCH_CUST_NSCALARS 25 /* entries of sch_cust_scalars (state.c), NULL apart */

enum { SCH_T_INV = 1, SCH_T_CUST, SCH_T_PAY, SCH_T_PEND };

typedef struct sch_strlist {
    char **v;
    int n, cap;
} sch_strlist;
int sch_strlist_add(sch_strlist *l, const char *s);
int sch_strlist_has(const sch_strlist *l, const char *s);
int sch_strlist_del(sch_strlist *l, const char *s); /* 1 if removed */
void sch_strlist_free(sch_strlist *l);

typedef struct sch_inv {
    char customer[SCH_ID_LEN], number[CT_TEXT_MAX + 1], currency[8];
    int64_t amount, paid, credited;
    int32_t issued, due; /* days since epoch */
    char status;         /* 'o' open 'p' paid 'v' voided 'w' written off */
    int disputed;
    int step, attempt; /* next ladder step index; attempt (gen) */
    char next_kind;    /* 0 none, 's' ladder step, 't' payment thanks, 'p' a promise
                        * breaks, 'c' cease confirmation, 'b' promise-broken notice */
    int64_t next_ms;
    int part; /* Kafka partition of the invoice's events */
    char strategy[64], variant[64];
    char *history; /* "step.attempt@ms[!why];..." (owned) */
    char *credits; /* credit note ids applied, ";id;id;" (owned) */
    char thanks_pid[SCH_ID_LEN];
    int64_t thanks_amt;
    /* an open promise to pay (promise.made) covering this invoice: its id
     * (the event id), the instant it breaks (00:00 local after
     * promised_on + grace_days), and the primary invoice that keeps its
     * figures (empty: this one). The primary holds amount, paid since made,
     * promised_on and the promise's invoice ids ("I-1,I-2", owned). */
    char promise_id[SCH_ID_LEN], promise_primary[SCH_ID_LEN];
    int64_t promise_until, promise_amount, promise_paid;
    int32_t promised_on;
    char *promise_invoices;
    char notice_id[SCH_ID_LEN]; /* a pending one-off notice, next kind 'c' (the
                                 * confirmation of a cease: the contact.ceased
                                 * event's id) or 'b' (a promise broken: the
                                 * promise's id) */
    char *moved_rules;          /* the contact rules that moved the next send, "r;r;" (owned):
                                 * its command carries them ("rules"), then they go */
    /* money (charges.h): what was paid to the principal and when, for the
     * interest, "day:amount;" in the order applied (owned; NULL none); the
     * debtor's local date of the payment in full (0: not paid), the day
     * the interest runs until in a claim */
    char *reductions;
    int32_t paid_on;
    /* fees charged and not waived, and "day:amount;" of each charge
     * (owned; NULL none), for the waiver within waive_if_paid_within_days */
    int64_t fees;
    char *fee_log;
    int unmatched;   /* no strategy's segment matched: the last strategy runs it */
    char *frozen;    /* days without interest (a plan with interest "freeze"): "from:to;"
                      * local days, to 0 while the plan runs (owned; NULL none) */
    int64_t counted; /* what this invoice adds to its debtor's exposure now (open: its
                      * outstanding, else 0), kept in step by apply.c */
    /* the open offer of the last step that made one (0: none): kind 'd'
     * discount or 's' settlement ('x': an offer settled the invoice), the
     * amount to pay, what it forgives, the last local date it is valid,
     * what was paid towards it */
    char offer_kind;
    int64_t offer_pay, offer_forgiven, offer_paid;
    int32_t offer_until;
    int old_part;        /* timer as loaded, to move it on commit */
    int64_t old_next_ms; /* its score; 0 none; -1 not known (the commit rewrites it) */
    uint64_t fields;     /* bit i: sch_inv_fields[i] was in the stored hash */
} sch_inv;

typedef struct sch_credit {
    char pid[SCH_ID_LEN];
    char currency[8];
    int64_t amount;
} sch_credit;

typedef struct sch_cust {
    char *contact; /* JSON object text for the command's "customer" (owned);
                    * stored in its own key P k:<tenant>/<customer_id> so the
                    * customer hash stays small (listpack-encoded) */
    int contact_dirty;
    json_t *contact_obj; /* parsed contact, cached while firing (owned) */
    char tz[64], locale[32], country[8];
    char *tags;               /* ",a,b," (owned) */
    char *opted_out, *ceased; /* ",sms,", ",*," = every channel (owned) */
    char *sendlog;            /* recent sends counted by caps: "<local day>:<channel>;"
                               * oldest first, pruned to 31 days (owned; contact.h) */
    int32_t conversation;     /* local day of the last logged conversation (0 none) */
    int wrong_number;         /* a call reported the phone wrong: no sms or call */
    char *unusable;           /* issue 17: addresses a hard bounce or a complaint made
                               * unusable, ",ann@example.com,+447700900123,"
                               * (owned; NULL none); "ua" */
    char region[8];           /* ISO 3166-2 subdivision ("US-MA"), "" none */
    char *zones;              /* extra IANA zones, ",a,b," (owned; NULL none) */
    char *prefer;             /* the debtor's channels preference, ",email,sms," (owned) */
    int consumer;             /* customer.upserted kind "consumer" (else business) */
    /* payment history (issue 15): days late of the last invoices paid in
     * full, oldest first, "3,0,12" (at most SCH_HISTORY_N; owned), broken
     * promises, the local day of the last payment (0: none yet) */
    char *late_ring;
    int broken;
    int32_t last_paid;
    int disputes;         /* invoices with an open dispute */
    int32_t first_seen;   /* local day the debtor was first seen (0: unknown) */
    int64_t credit_limit; /* customer.upserted credit_limit in credit_currency (0: none) */
    char credit_currency[8];
    char *exposure; /* open balance per currency, "GBP:1200;EUR:50;" (owned; NULL none):
                     * the sum of its invoices' counted (apply.c exposure_sync) */
    /* an active instalment plan (plan.agreed; apply.c "plans"), the hash
     * field "pn": id ("" none), currency, total, paid towards it, the
     * current instalment (0-based) and its next reminder step, the local
     * day agreed, the invoice whose timer runs the plan (primary), the
     * invoices ",a,b," and the schedule "day:amount;" (both owned) */
    struct {
        char id[SCH_ID_LEN], currency[8], primary[SCH_ID_LEN];
        int64_t total, paid;
        int k, step;
        int32_t agreed;
        char *invoices, *schedule;
    } plan;
    /* the hand-off (issue 16; escalate.h), the hash field "es": state 0
     * none, 'h' an escalation step held by the gate (retried when the
     * debtor's next step fires or its balance changes), 'p' a case placed,
     * 'a' placed and accepted by the agency; the case id, target, currency,
     * amount placed, remitted and commission so far, when placed, the
     * invoice and step that escalated (held: the gate's rule), the agency's
     * reference (owned; NULL none) and the case's invoices ",a,b," (owned) */
    struct {
        char state;
        char case_id[24], currency[8], inv[SCH_ID_LEN], rule[40];
        int to, step;
        int64_t placed, remitted, commission, at;
        char *ref, *invoices;
    } esc;
    char *responses;    /* the response log "rl" (escalate.h; owned; NULL none) */
    char *purged;       /* "pg": the debtor's last SCH_PURGED_N records purged after the
                         * retention, "i:<invoice>,p:<payment>," oldest first (owned; NULL
                         * none; retention.h) */
    sch_strlist open;   /* open invoice ids */
    sch_credit *credit; /* unallocated payments */
    int ncredit, capcredit;
    sch_strlist added; /* o:<id> fields to write on commit */
    sch_strlist gone;  /* fields to delete on commit */
    unsigned fields;   /* bit i: sch_cust_scalars[i] was stored */
    /* the scalars as a full load read them: bit i of fields set, its text
     * at orig.p + orig_off[i] (NUL-terminated; orig owned, empty when
     * none). A write leaves out a field whose text it would not change
     * (store_ops.c write_cust): the commit's version check guarantees the
     * stored text is still this one. Not kept by a partial load. */
    cm_buf orig;
    size_t orig_off[SCH_CUST_NSCALARS];
    int partial; /* loaded with HMGET (a firing round): only its send log is
                  * written back, with the version check */
} sch_cust;

typedef struct sch_pay {
    char customer[SCH_ID_LEN], currency[8];
    int64_t amount;
    char *alloc; /* "inv=amt;inv=amt;" (owned) */
    int reversed;
} sch_pay;

typedef struct sch_pend {
    json_t *items; /* array of event objects loaded */
    json_t *add;   /* array of event objects to push */
    int clear;
} sch_pend;

typedef struct sch_rec {
    char *key;     /* full Redis key (owned) */
    size_t klen;   /* strlen(key) */
    size_t kcap;   /* bytes allocated at key (a pooled record reuses them) */
    uint64_t hash; /* of key, the map's */
    int type;
    int loaded, exists, dirty;
    long long ver;
    char tenant[CT_TENANT_MAX + 1], id[SCH_ID_LEN];
    /* retention (retention.h): its purge member was due this round
     * (gc_due); an invoice's own timer was due (fire_due); the partition
     * + 1 of its purge member (0 unknown; an invoice uses its part); to be
     * deleted by the commit (gone); the event time that last wrote it */
    int gc_due, fire_due, gcp, gone;
    int64_t gc_now; /* the instant its retention runs from (0: the commit's clock) */
    union {
        sch_inv inv;
        sch_cust cust;
        sch_pay pay;
        sch_pend pend;
    } u;
} sch_rec;

typedef struct sch_map sch_map;
sch_map *sch_map_new(void);
void sch_map_free(sch_map *m);
/* The record for key, or NULL. */
sch_rec *sch_map_get(sch_map *m, const char *key);
/* The record for key, created (not loaded) if absent. NULL on OOM. */
sch_rec *sch_map_add(sch_map *m, const char *key, int type, const char *tenant, const char *id);
/* Forgets what a customer, payment or pending record holds, so the next
 * load reads it again (a firing round's partial customer, loaded whole
 * for grouping). Not for invoices (their defaults are not restored). */
void sch_rec_unload(sch_rec *r);
size_t sch_map_count(const sch_map *m);
sch_rec *sch_map_at(sch_map *m, size_t i); /* in insertion order */

/* Writes v in decimal so that it ends just before end (no NUL) and returns
 * where it starts: at most 20 bytes before end. printf-free. */
char *sch_fmt_ll(char *end, long long v);

/* Key builders into out (>= 512 bytes advised). sch_tenant_key:
 * "<tenant>/<id>" (a Kafka key, a timer's member), cut as snprintf would. */
void sch_tenant_key(char *out, size_t len, const char *tenant, const char *id);
void sch_key(char *out, size_t len, const char *prefix, char kind, const char *tenant,
             const char *id);

/* Fills a record from HGETALL (or list LRANGE for PEND) reply; exists=0 on
 * empty. Fresh records get defaults (status open, part -1). */
int sch_rec_decode(sch_rec *r, const redisReply *rep, char *errstr, size_t errlen);
/* Packs an invoice record (malloc'd string, NULL on OOM). fallback_strategy
 * and fallback_variant are left out when the invoice runs them. */
char *sch_inv_encode(const sch_rec *r, const char *fallback_strategy, const char *fallback_variant);
/* Unpacks a GET reply (nil: absent) into an invoice record. */
int sch_inv_decode(sch_rec *r, const redisReply *rep, char *errstr, size_t errlen);

/* Decodes a customer from HGETALL of its hash, keeping only the fields of
 * sch_cust_fields (partial: what a firing round reads), and the GET of its
 * contact key (may be NULL). */
int sch_cust_decode_partial(sch_rec *r, const redisReply *rep, const redisReply *contact);
/* Sets the contact from a GET reply (nil = none). */
int sch_cust_decode_contact(sch_rec *r, const redisReply *rep);
extern const char *const sch_cust_fields[]; /* NULL-terminated */
#define SCH_CUST_NFIELDS 23                 /* entries of sch_cust_fields (a peek's partial load) */
extern const char *const sch_inv_fields[];  /* NULL-terminated */
extern const char *const sch_cust_scalars[]; /* NULL-terminated */
/* The text of scalar bit (an index of sch_cust_scalars) as a full load
 * read it, or NULL when it was not stored or not kept (sch_cust.orig). */
const char *sch_cust_orig(const sch_cust *c, int bit);
int sch_field_index(const char *const *list, const char *f); /* -1 if absent */

/* The plan of a customer as its "pn" field (malloc'd; NULL out of
 * memory), and back (0, -1 malformed or out of memory). */
char *sch_cust_plan_encode(const sch_cust *c);
int sch_cust_plan_decode(sch_cust *c, const char *s);
/* Drops the plan (frees its lists). */
void sch_cust_plan_clear(sch_cust *c);
char *sch_cust_esc_encode(const sch_cust *c);
int sch_cust_esc_decode(sch_cust *c, const char *s);
void sch_cust_esc_clear(sch_cust *c);

/* Outstanding amount of an invoice (never below zero). */
/* What is left to pay: principal (amount - credit notes) and fees charged
 * and not waived, less payments; never negative. Payments go to the
 * principal first (sch_inv_principal), then to the fees
 * (sch_inv_fees_owed). */
/* The last invoices paid in full a customer's history keeps. */
#define SCH_HISTORY_N 20
/* Of cust's last n invoices paid in full (all it keeps when n <= 0 or
 * more): the count, those paid late, the sum of their days late. */
void sch_cust_history_n(const sch_cust *c, int n, int *paid, int *late, long long *sum_late);
/* Of cust's last 10 invoices paid in full: the share paid late (0..1) and
 * the average days late of those (0 when none). */
void sch_cust_history(const sch_cust *c, double *late_share, double *avg_days_late);
/* Notes an invoice paid in full days_late (0: on time) in the history. -1
 * out of memory. */
int sch_cust_history_add(sch_cust *c, int days_late);

/* The debtor's open balance in currency (0 when none), and a change of it
 * (-1 out of memory). */
int64_t sch_cust_exposure(const sch_cust *c, const char *currency);
int sch_cust_exposure_add(sch_cust *c, const char *currency, int64_t delta);

int64_t sch_inv_outstanding(const sch_inv *v);
int64_t sch_inv_principal(const sch_inv *v);
int64_t sch_inv_fees_owed(const sch_inv *v);
/* Appends "s" to an owned string pointer. */
int sch_str_append(char **dst, const char *s);
/* Replaces an owned string. */
int sch_str_set(char **dst, const char *s);
/* ",a,b," membership (a NULL list has nothing). */
int sch_csv_has(const char *csv, const char *item);

#endif
