/* request.h -- parsing on-demand report requests (see request.c). */
#ifndef REP_REQUEST_H
#define REP_REQUEST_H

#include "clock.h"
#include "reporter.h"

typedef struct rep_request {
    char id[201];
    char tenant[201];
    int types; /* bit k = rep_report_types[k] */
    int32_t as_of;
} rep_request;

/* Fills out (tenant "default", as_of today, every type when absent).
 * -1 with errstr naming the field; out->id and out->tenant are still set
 * when they could be read, so the error can be answered. */
int rep_request_parse(const json_t *req, int32_t today, rep_request *out, char *errstr,
                      size_t errlen);

#endif
