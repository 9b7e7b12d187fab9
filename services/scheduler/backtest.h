/* backtest.h -- `arrears-scheduler backtest`: a policy run over a ledger
 * file offline, with the live scheduler's own engine (docs/backtest.md).
 *
 * backtest.c drives the run: every line through the inbound validator
 * (ct_validate, as ingest), then the engine (engine.c) over the memory
 * store (store_mem.c) on a simulated clock, printing each record the live
 * scheduler would publish. backtest_stats.c tallies what was printed and
 * writes the summary and the side-by-side comparison of two policies.
 *
 * Ownership: a bt_stats owns its tables; bt_stats_free releases them. */
#ifndef SCH_BACKTEST_H
#define SCH_BACKTEST_H

#include <stdint.h>
#include <stdio.h>

#include "contract.h"
#include "map.h"

#define BT_RULES 12 /* decision rules tallied by name (the rest: "other") */

typedef struct bt_debtor {
    int64_t *at; /* contact instants, in order (owned) */
    size_t n, cap;
    int max7; /* most contacts in any 7 days */
} bt_debtor;

typedef struct bt_charge {
    char currency[8];
    int64_t fees, interest; /* the most any command of the invoice carried */
} bt_charge;

typedef struct bt_stats {
    /* input */
    long lines, rejected, out_of_order, ignored, filtered, outside, applied, not_applied;
    /* records */
    long commands, by_kind_channel[CT_KIND_COUNT][CT_CH_COUNT], events, escalations;
    const char *rule_name[BT_RULES];
    long rule_count[BT_RULES], other_rules;
    cm_map debtor_ix; /* tenant/customer -> debtors[] */
    bt_debtor *debtors;
    size_t ndebtors, capdebtors;
    cm_map invoice_ix; /* tenant/invoice -> charges[] */
    bt_charge *charges;
    size_t ncharges, capcharges;
    int64_t first_ms, until_ms; /* the simulated period */
    double wall_s;
    struct cm_json *reader; /* parses the records (owned) */
} bt_stats;

/* Counts one printed record (topic 'c', 'e' or 'd'; payload its JSON) at
 * simulated instant at. -1 on out of memory. */
int bt_stats_record(bt_stats *s, char topic, const char *key, const char *payload, size_t len,
                    int64_t at);
/* Works out the per-debtor figures once the run is over. */
void bt_stats_finish(bt_stats *s);
void bt_stats_free(bt_stats *s);

/* The summary, for a person (stderr) or as one JSON object. */
void bt_stats_print(FILE *f, const bt_stats *s);
int bt_stats_json(FILE *f, const bt_stats *s);
/* Two runs side by side: a table, or with json one object {"a","b"}. */
void bt_compare_print(FILE *f, const bt_stats *a, const bt_stats *b, const char *na, const char *nb,
                      int json);

/* The subcommand: argv[0] is "backtest". Returns the exit status. */
int sch_backtest_main(int argc, char **argv);

#endif
