/* fuzz_report_request.c -- libFuzzer target over the reporter's decode
 * path for the report-request topic (reports.requests): the record's
 * bytes read as the reporter reads them (services/reporter/serve.c,
 * rep_answer: json_loadb with no flags) and decoded by
 * ct_report_request_decode (contract/request.c).
 *
 * Input: the bytes are the record's value.
 *
 * Invariants checked (abort on violation, which libFuzzer reports):
 *   - a refused request has an error naming its field ("<field>: ...");
 *     its id and tenant, which the error answer carries, are valid UTF-8
 *     and the tenant a valid tenant, so the answer (built with json_pack
 *     as rep_answer does) can always be made;
 *   - an accepted request has a non-empty id, a valid tenant, at least
 *     one report type and none outside the known ones, and its as_of is
 *     the given date or, when absent, today;
 *   - decoding is a function of the bytes: a second decode agrees;
 * and every allocation is freed (ASan's leak check). */
#include "request.h"
#include "validate.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TODAY 20513 /* 2026-03-01 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512], err2[512];
    ct_report_request rq, rq2;
    json_t *req = json_loadb((const char *)data, size, 0, NULL);
    if (!req)
        return 0; /* the reporter answers "request: not JSON" without decoding */
    err[0] = 0;
    int rc = ct_report_request_decode(req, TODAY, &rq, err, sizeof err);
    int rc2 = ct_report_request_decode(req, TODAY, &rq2, err2, sizeof err2);
    if (rc != rc2 || memcmp(&rq, &rq2, sizeof rq) != 0)
        abort();
    if (!ct_utf8_valid(rq.id, strlen(rq.id)) || !ct_tenant_valid(rq.tenant))
        abort();
    if (rc < 0) {
        const char *colon = strchr(err, ':');
        if (!colon || colon == err || strcmp(err, err2) != 0)
            abort();
        json_t *e = json_pack("{s:i, s:s, s:s, s:s, s:s}", "v", 1, "type", "error", "tenant",
                              rq.tenant, "request_id", rq.id, "error", err);
        if (!e)
            abort();
        json_decref(e);
    } else {
        if (!rq.id[0] || rq.types == 0 || (rq.types >> CT_REP_COUNT) != 0)
            abort();
        if (!json_object_get(req, "as_of") && rq.as_of != TODAY)
            abort();
    }
    json_decref(req);
    return 0;
}
