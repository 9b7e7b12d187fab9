/* table.h -- one report of `reports` (docs/reports.md) as aligned text
 * tables, for a person: aging buckets and top customers, kpis by period,
 * effectiveness rows and experiments; an error report prints its error.
 *
 * Ownership: report is borrowed; nothing is allocated. */
#ifndef CM_TABLE_H
#define CM_TABLE_H

#include <jansson.h>
#include <stdio.h>

/* Prints report (an object with "type", "tenant", "as_of", ...) to out. */
void cm_table_report(FILE *out, const json_t *report);
/* Prints the arms of an effectiveness report (docs/reports.md "arms"): per
 * strategy, each variant's invoices, paid, recovery % and its interval,
 * recovered, messages, cost (per 100 recovered), days to recover, then
 * each challenger against its champion with the verdict, then the arms'
 * open invoices by age bucket (count / amount). Of a kpis report: the
 * month's per-arm figures (its "arms"), a column per strategy/variant and
 * a table per currency; nothing without arms. */
void cm_table_arms(FILE *out, const json_t *report);

#endif
