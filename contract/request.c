/* request.c -- decoding report requests (request.h). */
#include "request.h"

#include "clock.h"
#include "str.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>

/* A string member of 1..max bytes copied into out (max + 1 bytes). */
static int copy_str(const json_t *v, char *out, size_t max)
{
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max)
        return -1;
    cm_strlcpy(out, json_string_value(v), max + 1);
    return 0;
}

int ct_report_request_decode(const json_t *req, int32_t today, ct_report_request *out, char *errstr,
                             size_t errlen)
{
    memset(out, 0, sizeof *out);
    cm_strlcpy(out->tenant, "default", sizeof out->tenant);
    out->as_of = today;
    if (!json_is_object(req)) {
        snprintf(errstr, errlen, "request: not a JSON object");
        return -1;
    }
    if (copy_str(json_object_get(req, "id"), out->id, CT_ID_MAX) < 0) {
        snprintf(errstr, errlen, "id: required (a string of 1..%d bytes)", CT_ID_MAX);
        return -1;
    }
    const json_t *t = json_object_get(req, "tenant");
    if (t && (copy_str(t, out->tenant, CT_TENANT_MAX) < 0 || !ct_tenant_valid(out->tenant))) {
        snprintf(errstr, errlen, "tenant: not a tenant (1..%d of A-Z a-z 0-9 . _ -)",
                 CT_TENANT_MAX);
        cm_strlcpy(out->tenant, "default", sizeof out->tenant);
        return -1;
    }
    const json_t *a = json_object_get(req, "as_of");
    if (a && (!json_is_string(a) || cm_date_parse(json_string_value(a), &out->as_of) < 0)) {
        snprintf(errstr, errlen, "as_of: not a date (YYYY-MM-DD)");
        return -1;
    }
    const json_t *types = json_object_get(req, "types");
    if (!types) {
        out->types = (1u << CT_REP_COUNT) - 1;
        return 0;
    }
    if (!json_is_array(types) || json_array_size(types) == 0) {
        snprintf(errstr, errlen, "types: not a non-empty array");
        return -1;
    }
    for (size_t i = 0; i < json_array_size(types); i++) {
        const json_t *s = json_array_get(types, i);
        ct_report r = json_is_string(s)
                          ? ct_report_parse(json_string_value(s), json_string_length(s))
                          : CT_REP_NONE;
        if (r == CT_REP_NONE) {
            snprintf(errstr, errlen, "types[%zu]: not one of aging, kpis, effectiveness", i);
            return -1;
        }
        out->types |= 1u << r;
    }
    return 0;
}
