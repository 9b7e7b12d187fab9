/* request.c -- on-demand report requests (reports.requests).
 *
 *   {"v":1, "id":"req-42", "tenant":"acme",
 *    "types":["aging","kpis","effectiveness"],   optional, default all
 *    "as_of":"2026-03-31"}                       optional, default today
 *
 * Every report answering it carries "request_id"; a bad request is
 * answered with {"v":1,"type":"error","request_id":...,"error":"..."}. */
#include "request.h"

#include <string.h>

int rep_request_parse(const json_t *req, int32_t today, rep_request *out, char *errstr,
                      size_t errlen)
{
    memset(out, 0, sizeof *out);
    snprintf(out->tenant, sizeof out->tenant, "default");
    out->as_of = today;
    if (!json_is_object(req)) {
        snprintf(errstr, errlen, "request: not a JSON object");
        return -1;
    }
    const json_t *id = json_object_get(req, "id");
    if (!json_is_string(id) || json_string_length(id) == 0 ||
        json_string_length(id) >= sizeof out->id) {
        snprintf(errstr, errlen, "id: required (a string of 1..%zu characters)",
                 sizeof out->id - 1);
        return -1;
    }
    snprintf(out->id, sizeof out->id, "%s", json_string_value(id));
    const json_t *t = json_object_get(req, "tenant");
    if (t) {
        if (!json_is_string(t) || json_string_length(t) == 0 ||
            json_string_length(t) >= sizeof out->tenant) {
            snprintf(errstr, errlen, "tenant: not a string of 1..%zu characters",
                     sizeof out->tenant - 1);
            return -1;
        }
        snprintf(out->tenant, sizeof out->tenant, "%s", json_string_value(t));
    }
    const json_t *a = json_object_get(req, "as_of");
    if (a && (!json_is_string(a) || cm_date_parse(json_string_value(a), &out->as_of) < 0)) {
        snprintf(errstr, errlen, "as_of: not a date (YYYY-MM-DD)");
        return -1;
    }
    const json_t *types = json_object_get(req, "types");
    if (!types) {
        out->types = 7;
        return 0;
    }
    if (!json_is_array(types) || json_array_size(types) == 0) {
        snprintf(errstr, errlen, "types: not a non-empty array");
        return -1;
    }
    for (size_t i = 0; i < json_array_size(types); i++) {
        const char *s = json_string_value(json_array_get(types, i));
        int k = 0;
        while (k < 3 && (!s || strcmp(s, rep_report_types[k])))
            k++;
        if (k == 3) {
            snprintf(errstr, errlen, "types[%zu]: not one of aging, kpis, effectiveness", i);
            return -1;
        }
        out->types |= 1 << k;
    }
    return 0;
}
