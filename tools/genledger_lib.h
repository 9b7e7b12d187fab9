/* genledger_lib.h -- arrears-genledger's generator: a deterministic,
 * realistic ledger of billing events as CloudEvents JSON lines.
 *
 * Design: tools/genledger.c is the binary (options and the summary); the
 * generator is here, in libtools, so that tests/unit/test_tools_genledger.c
 * tests the code the binary runs. Event types are the contract's ct_type
 * (tool_gl_types maps the generator's own kinds onto them).
 *
 * Ownership: tool_genledger_write writes to the caller's FILE and frees
 * everything it allocates; the tables are static. */
#ifndef TOOL_GENLEDGER_LIB_H
#define TOOL_GENLEDGER_LIB_H

#include <stdint.h>
#include <stdio.h>

#include "contract.h"

/* The payment behaviour an invoice draws from its customer's profile. */
enum tool_behaviour {
    TOOL_GL_B_ONTIME,
    TOOL_GL_B_LATE,
    TOOL_GL_B_PARTIAL,
    TOOL_GL_B_NEVER,
    TOOL_GL_B_PROMISE_KEPT,
    TOOL_GL_B_PROMISE_BROKEN,
    TOOL_GL_B_DISPUTE,
    TOOL_GL_B_VOIDED,
    TOOL_GL_B_N
};
/* "on_time", "late", ... by behaviour. */
extern const char *const tool_gl_behaviour_names[TOOL_GL_B_N];

/* The kinds of event the generator emits. */
enum tool_evtype {
    TOOL_GL_EV_CUSTOMER,
    TOOL_GL_EV_INVOICE,
    TOOL_GL_EV_PAYMENT,
    TOOL_GL_EV_REVERSAL,
    TOOL_GL_EV_PROMISE,
    TOOL_GL_EV_DISPUTE_OPEN,
    TOOL_GL_EV_DISPUTE_RESOLVED,
    TOOL_GL_EV_CREDIT,
    TOOL_GL_EV_VOID,
    TOOL_GL_EV_CEASED,
    TOOL_GL_EV_NTYPES
};
/* The contract type of each kind (ct_type_name gives its wire name). */
extern const ct_type tool_gl_types[TOOL_GL_EV_NTYPES];

typedef struct tool_gl_opts {
    long customers, invoices, days;
    int32_t start_day;
    uint64_t seed;
    const char *tenant, *source;
    int simple; /* --mix simple */
} tool_gl_opts;

typedef struct tool_gl_stats {
    long events, dropped;
    long by_type[TOOL_GL_EV_NTYPES];
    long by_behaviour[TOOL_GL_B_N];
} tool_gl_stats;

/* Generates the whole ledger into out (one event a line, sorted by time).
 * Returns 0, or -1 with errstr. */
int tool_genledger_write(const tool_gl_opts *o, FILE *out, tool_gl_stats *st, char *errstr,
                         size_t errlen);

#endif
