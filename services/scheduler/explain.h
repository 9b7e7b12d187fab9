/* explain.h -- `arrears-scheduler explain TENANT INVOICE_ID`: an invoice's
 * state and history from Redis, for a person (explain.c). */
#ifndef SCH_EXPLAIN_H
#define SCH_EXPLAIN_H

/* The subcommand: argv[0] is "explain". Returns the exit status. */
int sch_explain_main(int argc, char **argv);

#endif
