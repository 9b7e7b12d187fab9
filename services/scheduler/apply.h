/* apply.h -- the scheduler's state machine, free of I/O.
 *
 * Design: a batch (of events, or of due timers) first declares the records
 * it needs (sch_plan_*), the store loads them into the map, then the pure
 * functions here change the records in memory and queue outgoing records
 * (sch_out). the store (store.h) commits everything in one compare-and-set.
 * Because each step is a pure function of the loaded state, the whole
 * batch can be recomputed after a CAS conflict, and unit tests run it
 * without Redis. */
#ifndef SCH_APPLY_H
#define SCH_APPLY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "policy.h"
#include "records.h"
#include "state.h"

/* A consumed canonical event: the record as consumed and the contract's
 * typed view of it (contract/event.h). Decoded once, when its batch is
 * parsed (sch_event_decode); plan and apply read the typed fields, through
 * every recomputation of the batch. ev borrows its strings from the
 * cm_json arena its batch was parsed into; raw is kept because an event
 * about an invoice or payment not yet known is stored as it came, in a
 * pending list (P q:, P r:). The caller owns both (the Kafka message and
 * the arena of the batch) and keeps them alive while the sch_event is
 * used. About 1.8 KiB. */
typedef struct sch_event {
    const char *raw; /* the record (not NUL-terminated); NULL: no event here
                      * (rejected or ignored) */
    size_t rawlen;
    ct_event ev;
} sch_event;

/* A record to publish once the commit is durable: kept in the outbox round
 * P ob:<part>:<round> (store.h). */
typedef struct sch_out {
    int part;
    char topic;    /* 'c' commands, 'e' events */
    char *id;      /* command id (owned) */
    char *key;     /* Kafka key tenant/customer_id (owned) */
    char *payload; /* JSON (owned) */
} sch_out;

/* A step gathered in a firing round for a grouped message (grouping,
 * sch_fire_groups): the item, its debtor and local day (channel: item.st). */
typedef struct sch_gathered {
    sch_group_item item;
    sch_rec *cust;
    int32_t day;
} sch_gathered;

typedef struct sch_ctx {
    const sch_policy *pol;
    const char *prefix;
    int64_t now;     /* simulated now (ms) */
    sch_map *map;    /* owned by the caller */
    json_t *appends; /* [[key, field, suffix], ...] (owned by the ctx) */
    sch_out *outs;   /* owned by the ctx */
    size_t nouts, capouts;
    char round[96]; /* set by a commit with outs: the outbox round token */
    /* the commit prepared ahead (store.h commit_stage): owned by the ctx,
     * released with staged_free by sch_ctx_reset; staged_ok set even when
     * the prepared commit is empty (staged NULL: nothing to write) */
    void *staged;
    void (*staged_free)(void *staged);
    int staged_ok;
    /* Decisions that publish nothing (a step held by a cease, an opt-out,
     * a dispute or min_outstanding_minor) are queued as outs of topic 'd'
     * only when decide is set (the backtest prints them, docs/backtest.md;
     * the service counts them as skipped): id = the command id the step
     * would have had, payload = the decision's JSON. */
    int decide;
    /* per-tenant policies (policy_set.h); NULL: pol for every tenant. Set:
     * pol is the event's or the invoice's tenant's, picked at each entry
     * point (sch_plan_event, sch_apply_event, sch_fire_invoice) */
    const struct sch_policy_set *pols;
    /* retention (retention.h): how long closed invoices, payments and
     * waiting lists are kept on the service clock (ms; 0 for ever), and
     * the partition of the event being applied */
    int64_t retention;
    int part;
    long long purged, expired; /* records deleted, held events dropped with them */
    long long late;            /* events about a purged record, answered (retention.h) */
    /* counters for metrics and tests */
    long long applied, ignored, pended, fired, skipped, deferred, kept, broken;
    /* money events published: fee_charged, fee_waived, interest_claimed, settled */
    long long money[4];
    int oom; /* set when an effect could not be queued (out of memory) */
    /* grouping: the round's steps waiting to go as one message per debtor,
     * channel and local day (owned; sch_fire_groups sends them) */
    sch_gathered *gath;
    size_t ngath, capgath;
    int pulling;   /* sch_fire_groups is firing a step due later the same day */
    int remitting; /* an agency's remittance is being applied: no interest claim (the
                    * agency collected on the placed balance, interest included) */
    /* an instalment reminder being decided (apply.c plan_fire), for its
     * decision line */
    const sch_step *plan_step;
    const char *plan_cmd;
    long long plans_broken, plans_completed; /* plan.broken, plan.completed published */
    /* the hand-off (escalate.h): cases placed, escalations held by the
     * gate, cases recalled, remittances applied */
    long long esc_placed, esc_held, esc_recalled, esc_remitted;
} sch_ctx;

/* Sets up a ctx over map (the ctx borrows pol, prefix and map). */
int sch_ctx_init(sch_ctx *c, const sch_policy *pol, const char *prefix, int64_t now, sch_map *map);
/* Frees appends and outs (not the map). */
void sch_ctx_reset(sch_ctx *c);

/* Decodes the canonical event ev, parsed from the record raw[0..rawlen)
 * (ct_event_parse), into *out (out->raw = raw) with the contract's
 * ct_event_decode, then checks what the state needs on top (amounts > 0,
 * invoice numbers it can keep, known time zones). Returns 1 to apply; 0 to
 * ignore (the scheduler's own events, a type it does not act on, a type
 * not in the contract); -1 with errstr naming the field and the rule
 * ("data.due_on: date (...)"). out->raw is NULL unless it returns 1.
 * Allocates nothing. */
int sch_event_decode(const cm_jv *ev, const char *raw, size_t rawlen, sch_event *out, char *errstr,
                     size_t errlen);
/* ct_event_parse into j (kept with the caller's batch), then
 * sch_event_decode; -1 with the reason when the record does not parse. */
int sch_event_decode_bytes(cm_json *j, const char *raw, size_t rawlen, sch_event *out, char *errstr,
                           size_t errlen);

/* Declares the records a decoded event needs (phase 1 before any load,
 * phase 2 after phase 1 is loaded, phase 3 after phase 2: the primary
 * invoices of the promises found). Returns -1 only on out of memory. */
int sch_plan_event(sch_ctx *c, const sch_event *se, int phase);
/* The last phase at which sch_plan_event can declare records for se,
 * whatever was loaded before, but for one case known only once loaded:
 * phase 2 declares every open invoice of a debtor under a plan or a case,
 * for any event. 1, 2 or 3; the engine sends the commit of the batch
 * before behind that phase's reads (engine.c "Two batches in flight"). */
int sch_plan_last_phase(sch_ctx *c, const sch_event *se);
/* Applies a decoded event (sch_event_decode returned 1) consumed from
 * Kafka partition part. -1 with errstr when the event cannot apply to the
 * state (a credit note in another currency) or a record it needs was not
 * loaded ("internal: ...", a bug). */
int sch_apply_event(sch_ctx *c, const sch_event *se, int part, char *errstr, size_t errlen);

/* Fires the due action of one invoice record (loaded, with its customer
 * record, possibly partial): queues the command(s) into c->outs and advances
 * the invoice. Returns 1 fired, 0 nothing due (timer moved or dropped), -1
 * out of memory or an id that does not fit (logged; nothing is truncated). */
int sch_fire_invoice(sch_ctx *c, sch_rec *inv, sch_rec *cust);

/* Grouping (grouping.one_message_per_debtor, docs/policy.md "One message
 * per debtor"). A firing round whose due timers include a step of a
 * tenant that groups loads that debtor whole, with every open invoice:
 * phase 1 marks the partial customers to load again (sch_rec_unload) and
 * returns how many (the caller loads the map when > 0); phase 2 adds the
 * debtors' open invoices to the map (the caller loads it again). nrec:
 * the round's records are map[0..nrec), the peeked ones. -1 out of
 * memory. */
int sch_plan_fire(sch_ctx *c, size_t nrec, int phase);
/* Firing on apply (engine.c): after an event batch, the batch's invoices
 * whose own timer is due at c->now and whose debtor is loaded whole fire
 * in the batch's commit, as a firing round right after the batch would.
 * Phase 1 adds the open invoices of the debtors such a timer needs whole
 * (the conditions of sch_plan_fire; the caller loads the map), phase 2
 * marks the due invoices (fire_due), those just loaded among them. Returns
 * the number of due invoices, -1 out of memory. */
int sch_plan_due(sch_ctx *c, int phase);
/* After every due timer of the round was fired (sch_fire_invoice): each
 * group of gathered steps (one debtor, channel, local day) first takes in
 * the debtor's other steps due later that local day on that channel (they
 * fire now, with it), then goes as one command (sch_command_group), or as
 * the step's own command when it holds one step. Returns the steps sent,
 * -1 out of memory. */
int sch_fire_groups(sch_ctx *c);

/* The zone of a customer record (or the policy default). */
const cm_tz *sch_cust_tz(const sch_ctx *c, const sch_rec *cust);

#endif
