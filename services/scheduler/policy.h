/* policy.h -- the collection policy (ARREARS_POLICY, JSON "version": 1).
 *
 * Design: the policy is parsed and validated once at start into plain
 * structs; every error names the JSON path and the rule. Strategies are
 * matched in file order by their segment (the first match wins); a
 * strategy's variant is chosen deterministically from a hash of
 * tenant/customer_id and the variants' weights (champion/challenger).
 * Each variant points at a ladder of steps relative to the due date, sent
 * at a local hour in the debtor's time zone. Contact rules (contact.h),
 * promises, fees and interest (charges.h) and the lifetime of signed
 * links ("links") are parsed here; the sections
 * still reserved (escalation, instalments) are accepted as
 * objects and ignored; see docs/policy.md. */
#ifndef SCH_POLICY_H
#define SCH_POLICY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "charges.h"
#include "contact.h"
#include "escalate.h"
#include "risk.h"
#include "contract.h"
#include "tz.h"

#define SCH_NAME_MAX 64

typedef struct sch_step {
    char name[SCH_NAME_MAX];
    int offset_days;    /* relative to the due date */
    ct_kind kind;       /* "action": reminder | call_task | letter | escalation */
    ct_channel channel; /* email | sms | webhook | call_task | letter */
    /* "channels": an ordered choice instead of one channel (nchannels > 0);
     * channel is then channels[0], the first choice */
    ct_channel channels[CT_CH_COUNT];
    int nchannels;
    char template_id[SCH_NAME_MAX];
    int send_hour, send_minute;    /* local time in the debtor's zone */
    int64_t valid_for_ms;          /* not_after = created_at + this (0 = none) */
    int level;                     /* escalation level (escalation steps) */
    ct_escalation_to to;           /* "to": hand the debtor's case to an agency or to
                                    * legal through the gate (escalate.h); CT_TO_NONE:
                                    * an escalation command only */
    int64_t min_outstanding_minor; /* condition: skip below this (0 = none) */
    sch_fee fee;                   /* "fee": charged when the command goes (charges.h) */
    sch_offer offer;               /* "offer": discount or settlement (charges.h) */
} sch_step;

typedef struct sch_ladder {
    char name[SCH_NAME_MAX];
    sch_step *steps;
    int nsteps;
} sch_ladder;

typedef struct sch_variant {
    char name[SCH_NAME_MAX];
    int weight;
    int ladder; /* index into ladders */
} sch_variant;

typedef struct sch_segment {
    json_t *tags_any;   /* array of strings or NULL: customer or invoice tag */
    json_t *countries;  /* array or NULL */
    json_t *currencies; /* array or NULL */
    int has_min, has_max;
    int64_t min_amount_minor, max_amount_minor;
    /* the debtor (issue 15): its region and kind, and its payment history */
    json_t *regions;       /* array or NULL: ISO 3166-2 of customer.upserted */
    int kinds;             /* bit 1 business, bit 2 consumer; 0: any */
    int new_debtor;        /* -1 any, 1 no payment yet, 0 has paid */
    int min_broken;        /* min_broken_promises; 0: any */
    double min_late_share; /* of the last invoices paid in full; 0: any */
    double min_avg_days_late;
    int risk_bands;                         /* bit (1 << cm_risk_band) per band listed; 0: any */
    sch_cur_map min_exposure, max_exposure; /* the debtor's open balance per currency */
} sch_segment;

typedef struct sch_strategy {
    char name[SCH_NAME_MAX];
    sch_segment seg;
    sch_variant *variants;
    int nvariants;
    int total_weight;
    int reassess;       /* "reassess": chosen again each time one of its steps fires */
    char *segment_text; /* its "segment" as compact JSON, "{}" none (owned): commands'
                         * "segment" */
} sch_strategy;

/* "instalments" (issue 16, docs/policy.md "Instalment plans"): how an
 * agreed plan (plan.agreed) runs. */
typedef struct sch_plans_policy {
    int enabled;    /* the section is there: plan.agreed pauses the ladders */
    int ladder;     /* index into ladders: each instalment's reminders, offsets
                     * from the instalment's due date */
    int grace_days; /* an instalment still short this many days after its due
                     * date breaks the plan */
    int freeze;     /* interest "freeze" (1): no interest accrues while the plan
                     * runs; "continue" (0): it does */
    int max_active; /* max_active_per_debtor (1) */
} sch_plans_policy;

typedef struct sch_policy {
    int version;
    char default_tz[SCH_NAME_MAX];
    char default_locale[32];
    int send_hour, send_minute;
    int thanks_enabled;
    ct_channel thanks_channel;
    char thanks_template[SCH_NAME_MAX];
    sch_ladder *ladders;
    int nladders;
    sch_strategy *strategies;
    int nstrategies;
    sch_contact_rules contact; /* contact_rules (contact.h); .enabled 0 when absent */
    int promises_enabled;      /* promises: promise.made pauses, kept/broken published */
    int promise_grace_days;
    /* promises.on_broken: one notice when a promise breaks (0: none) */
    int promise_on_broken;
    ct_channel promise_on_broken_channel;
    char promise_on_broken_template[SCH_NAME_MAX];
    sch_plans_policy plans;    /* "instalments" */
    sch_esc_policy escalation; /* "escalation" (escalate.h) */
    /* grouping.one_message_per_debtor: a debtor's steps due on one channel
     * and local day go as one command (apply.c, docs/policy.md) */
    int grouping;
    cm_risk_weights risk;         /* "risk" (common/risk.h; defaults when absent) */
    int risk_in_commands;         /* the policy has "risk": commands carry the score */
    sch_fees_policy fees;         /* "fees" (charges.h) */
    sch_interest_policy interest; /* "interest" (charges.h; owns its tables) */
    /* "links": {"valid_days": 1..365} (issue 17): every command carries it
     * as link_valid_days, the lifetime of its signed links; 0 when the
     * policy has no links.valid_days (the notifier's setting applies) */
    int link_valid_days;
    json_t *doc; /* the parsed document (owned) */
} sch_policy;

/* Parses and validates. On success *out owns everything (free with
 * sch_policy_free); on -1 errstr names the path and the rule. */
int sch_policy_parse(const char *text, sch_policy *out, char *errstr, size_t errlen);
int sch_policy_load_file(const char *path, sch_policy *out, char *errstr, size_t errlen);
void sch_policy_free(sch_policy *p);

/* What the segment matcher looks at. Any pointer may be NULL. */
typedef struct sch_subject {
    const char *tenant, *customer_id;
    const char *country;
    const char *currency;
    int64_t amount_minor;
    const char *const *tags; /* customer and invoice tags */
    int ntags;
    /* the debtor's region, kind and history (sch_cust_history) */
    const char *region;
    int consumer, has_paid, broken_promises;
    double late_share, avg_days_late;
    int risk_band;        /* cm_risk_band of the debtor's score */
    sch_cur_map exposure; /* the debtor's open balance per currency (this invoice included) */
} sch_subject;

/* Picks strategy and variant (indices); -1 when no strategy matches. */
int sch_policy_assign(const sch_policy *p, const sch_subject *s, int *strategy, int *variant);
/* Finds the ladder of a stored strategy/variant name pair; falls back to the
 * first variant of the strategy, then to the last strategy. NULL if none. */
const sch_ladder *sch_policy_ladder(const sch_policy *p, const char *strategy, const char *variant);

/* The strategy and variant an invoice without stored names runs (the last
 * strategy, its first variant): the store leaves these names out. */
void sch_policy_fallback(const sch_policy *p, const char **strategy, const char **variant);

/* UTC ms at which step i of a ladder is due for an invoice due on due_day. */
int64_t sch_step_time(const sch_step *st, const cm_tz *tz, int32_t due_day);
/* The next local send instant at or after now for a step (local hour). */
int64_t sch_next_local(const sch_step *st, const cm_tz *tz, int64_t now);

/* Chooses the next step to arm, starting at index from.
 * collapse=1: steps already past collapse into the latest of them, armed at
 *   the next local send time at or after now;
 * collapse=0: past steps are skipped.
 * Returns 0 with *idx and *when, or -1 when the ladder is exhausted. */
int sch_next_step(const sch_ladder *l, const cm_tz *tz, int32_t due_day, int from, int64_t now,
                  int collapse, int *idx, int64_t *when);

#endif
