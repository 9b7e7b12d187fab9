/* internal.h -- what the files of libcontract share and nothing else
 * includes. */
#ifndef CT_INTERNAL_H
#define CT_INTERNAL_H

#include "contract.h"

#include <stddef.h>

/* Frees fields.c's per-thread digest context (ct_thread_cleanup). */
void ct_fields_thread_cleanup(void);

/* contract.c's wire-name tables (index = the enum's value), for the
 * decoders' lookups and their "must be a, b or c" messages. */
extern const char *const ct_kind_names[CT_KIND_COUNT];
extern const char *const ct_channel_names[CT_CH_COUNT];
extern const char *const ct_offer_kind_names[CT_OFFER_COUNT];
extern const char *const ct_scheme_names[CT_SCHEME_COUNT];
extern const char *const ct_waiver_names[CT_WAIVER_COUNT];
extern const char *const ct_debtor_kind_names[CT_DEBTOR_COUNT];
extern const char *const ct_plan_source_names[CT_PLAN_SRC_COUNT];
extern const char *const ct_escalation_to_names[CT_TO_COUNT];
extern const char *const ct_bounce_kind_names[CT_BOUNCE_COUNT];

/* Index of s[0..n) in names[0..count), or -1 (s NULL: -1). */
int ct_name_lookup(const char *const *names, int count, const char *s, size_t n);

#endif
