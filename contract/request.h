/* request.h -- the report request (topic reports.requests): what an
 * operator or a dashboard asks the reporter for, and its decoder.
 *
 *   {"v":1, "id":"req-42", "tenant":"acme",
 *    "types":["aging","kpis","effectiveness"],   optional, default all
 *    "as_of":"2026-03-31"}                       optional, default today
 *
 * Every report answering it carries "request_id"; a bad request is
 * answered with {"v":1,"type":"error","request_id":...,"error":"..."}
 * (docs/reports.md; schemas/report-request.json).
 *
 * Ownership: the struct holds copies; nothing to free. */
#ifndef CT_REQUEST_H
#define CT_REQUEST_H

#include "contract.h"

#include <jansson.h>
#include <stdint.h>

/* Bytes of one request record. A request is a few hundred bytes; a
 * longer one is answered with an error (its id and tenant when they can
 * be read), not served. */
#define CT_REPORT_REQUEST_MAX 4096

typedef struct ct_report_request {
    char id[CT_ID_MAX + 1];
    char tenant[CT_TENANT_MAX + 1];
    unsigned types; /* bit k = ct_report k */
    int32_t as_of;  /* day number */
} ct_report_request;

/* Decodes req into *out (tenant "default", as_of today, every type when
 * absent). -1 with errstr naming the field and the rule; out->id and
 * out->tenant are still set when they could be read, so that the error
 * can be answered. */
int ct_report_request_decode(const json_t *req, int32_t today, ct_report_request *out, char *errstr,
                             size_t errlen);

#endif
