/* internal.h -- what the files of libcontract share and nothing else
 * includes. */
#ifndef CT_INTERNAL_H
#define CT_INTERNAL_H

/* Frees fields.c's per-thread digest context (ct_thread_cleanup). */
void ct_fields_thread_cleanup(void);

#endif
