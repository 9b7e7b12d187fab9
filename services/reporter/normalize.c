/* normalize.c -- inbound CloudEvents -> canonical events, for replay only.
 *
 * The service consumes canonical events that ingest has already validated;
 * `arrears-reporter replay` reads the inbound lines billing publishes
 * (CloudEvents 1.0, structured mode) and needs the same normalization:
 * decimal `amount` -> integer `amount_minor` by the currency's ISO 4217
 * exponent (exact, never rounded), instants to UTC, tenant default
 * "default". This is a deliberately minimal copy of what ingest does;
 * once services/ingest exposes its normalizer this file should call it. */
#include "reporter.h"

#include "clock.h"
#include "money.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* amount (number or decimal string) -> minor units; field names the path */
static int rep_amount(const json_t *v, int exp, const char *field, int64_t *minor, char *errstr,
                      size_t errlen)
{
    char buf[64], err[128];
    if (json_is_string(v)) {
        if (cm_money_parse(json_string_value(v), exp, minor, err, sizeof err) < 0) {
            snprintf(errstr, errlen, "%s: %s", field, err);
            return -1;
        }
        return 0;
    }
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        double x = json_real_value(v);
        if (!isfinite(x) || x < 0 || x > 1e15) {
            snprintf(errstr, errlen, "%s: not a non-negative finite amount", field);
            return -1;
        }
        snprintf(buf, sizeof buf, "%.*f", exp, x);
        double back = strtod(buf, NULL);
        if (fabs(back - x) > 1e-9 * (fabs(x) > 1 ? fabs(x) : 1)) {
            snprintf(errstr, errlen, "%s: more decimals than the currency allows (%d)", field, exp);
            return -1;
        }
    } else {
        snprintf(errstr, errlen, "%s: %s", field,
                 v ? "not a number or decimal string" : "required");
        return -1;
    }
    if (cm_money_parse(buf, exp, minor, err, sizeof err) < 0) {
        snprintf(errstr, errlen, "%s: %s", field, err);
        return -1;
    }
    return 0;
}

static int rep_exp_of(const json_t *data, int *exp, char *errstr, size_t errlen)
{
    const char *cur = json_string_value(json_object_get(data, "currency"));
    if (!cur) {
        snprintf(errstr, errlen, "data.currency: required");
        return -1;
    }
    *exp = cm_money_exponent(cur);
    if (*exp < 0) {
        snprintf(errstr, errlen, "data.currency: unknown ISO 4217 currency \"%.16s\"", cur);
        return -1;
    }
    return 0;
}

json_t *rep_normalize_inbound(const json_t *ce, char *errstr, size_t errlen)
{
    json_t *out = NULL, *data = NULL;
    static const char *const req[] = {"specversion", "id", "source", "type", "time"};
    if (!json_is_object(ce)) {
        snprintf(errstr, errlen, "event: not a JSON object");
        return NULL;
    }
    for (size_t i = 0; i < sizeof req / sizeof req[0]; i++)
        if (!json_is_string(json_object_get(ce, req[i]))) {
            snprintf(errstr, errlen, "%s: required (a string)", req[i]);
            return NULL;
        }
    if (strcmp(json_string_value(json_object_get(ce, "specversion")), "1.0")) {
        snprintf(errstr, errlen, "specversion: must be \"1.0\"");
        return NULL;
    }
    int64_t ms;
    char tbuf[40];
    if (cm_time_parse_rfc3339(json_string_value(json_object_get(ce, "time")), &ms) < 0) {
        snprintf(errstr, errlen, "time: not an RFC 3339 timestamp");
        return NULL;
    }
    cm_time_format_rfc3339(ms, tbuf, sizeof tbuf);
    const json_t *din = json_object_get(ce, "data");
    if (!json_is_object(din)) {
        snprintf(errstr, errlen, "data: %s", din ? "not an object" : "required");
        return NULL;
    }
    data = json_deep_copy(din);
    if (!data)
        goto oom;
    const char *tenant = json_string_value(json_object_get(ce, "tenant"));
    const char *type = json_string_value(json_object_get(ce, "type"));
    int exp = 0;
    int64_t minor;
    json_t *amount = json_object_get(data, "amount");
    if (amount) {
        if (rep_exp_of(data, &exp, errstr, errlen) < 0 ||
            rep_amount(amount, exp, "data.amount", &minor, errstr, errlen) < 0)
            goto fail;
        json_object_set_new(data, "amount_minor", json_integer(minor));
        json_object_del(data, "amount");
    }
    json_t *allocs = json_object_get(data, "allocations");
    if (json_is_array(allocs)) {
        if (rep_exp_of(data, &exp, errstr, errlen) < 0)
            goto fail;
        for (size_t i = 0; i < json_array_size(allocs); i++) {
            json_t *a = json_array_get(allocs, i);
            char field[64];
            snprintf(field, sizeof field, "data.allocations[%zu].amount", i);
            if (!json_is_object(a)) {
                snprintf(errstr, errlen, "data.allocations[%zu]: not an object", i);
                goto fail;
            }
            if (rep_amount(json_object_get(a, "amount"), exp, field, &minor, errstr, errlen) < 0)
                goto fail;
            json_object_set_new(a, "amount_minor", json_integer(minor));
            json_object_del(a, "amount");
        }
    }
    const char *rat = json_string_value(json_object_get(data, "received_at"));
    if (rat) {
        int64_t rms;
        char rb[40], db[16];
        if (cm_time_parse_rfc3339(rat, &rms) < 0) {
            snprintf(errstr, errlen, "data.received_at: not an RFC 3339 timestamp");
            goto fail;
        }
        cm_time_format_rfc3339(rms, rb, sizeof rb);
        json_object_set_new(data, "received_at", json_string(rb));
        if (!json_object_get(data, "received_on")) {
            cm_date_format(cm_time_day(rms), db, sizeof db);
            json_object_set_new(data, "received_on", json_string(db));
        }
    }
    const json_t *cid = json_object_get(data, "customer_id");
    out = json_pack("{s:i, s:O, s:O, s:s, s:s, s:s, s:O?, s:s, s:o}", "v", 1, "id",
                    json_object_get(ce, "id"), "source", json_object_get(ce, "source"), "type",
                    type, "tenant", tenant && *tenant ? tenant : "default", "time", tbuf,
                    "customer_id", cid, "trace_id", "", "data", data);
    data = NULL;
    if (!out)
        goto oom;
    return out;
oom:
    snprintf(errstr, errlen, "out of memory");
fail:
    json_decref(data);
    return NULL;
}

json_t *rep_normalize_contact(const json_t *line, char *errstr, size_t errlen)
{
    if (!json_is_object(line)) {
        snprintf(errstr, errlen, "contact: not a JSON object");
        return NULL;
    }
    if (json_object_get(line, "type"))
        return json_deep_copy(line);
    /* a command, as the scheduler's backtest prints them: recorded as sent
     * at the simulated instant it fired */
    const char *cmd = json_string_value(json_object_get(line, "command_id"));
    const char *created = json_string_value(json_object_get(line, "created_at"));
    if (!cmd || !created) {
        snprintf(errstr, errlen, "type: required (or a command with command_id and created_at)");
        return NULL;
    }
    json_t *ids = json_array();
    const json_t *invs = json_object_get(line, "invoices");
    for (size_t i = 0; i < json_array_size(invs); i++) {
        const json_t *id = json_object_get(json_array_get(invs, i), "invoice_id");
        if (json_is_string(id))
            json_array_append(ids, (json_t *)id);
    }
    const json_t *cust = json_object_get(line, "customer");
    json_t *c = json_pack(
        "{s:i, s:s, s:s, s:s, s:O?, s:O?, s:O?, s:o, s:O?, s:O?, s:O?, s:O?, "
        "s:O?, s:s, s:O?, s:O?}",
        "v", 1, "type", "contact.sent", "id", cmd, "command_id", cmd, "kind",
        json_object_get(line, "kind"), "tenant", json_object_get(line, "tenant"), "customer_id",
        json_object_get(cust, "customer_id"), "invoice_ids", ids, "channel",
        json_object_get(line, "channel"), "template", json_object_get(line, "template"), "strategy",
        json_object_get(line, "strategy"), "variant", json_object_get(line, "variant"), "step",
        json_object_get(line, "step"), "at", created, "currency", json_object_get(line, "currency"),
        "amount_total_minor", json_object_get(json_object_get(line, "amounts"), "total"));
    if (!c)
        snprintf(errstr, errlen, "out of memory");
    return c;
}
