/* normalize.c -- what `arrears-reporter replay` reads, as the service sees it.
 *
 * The service consumes canonical events that ingest has already validated;
 * replay reads the inbound CloudEvents lines billing publishes, so it runs
 * them through the contract's validator and normalizer (ct_validate, the
 * one ingest runs): one implementation of the contract, and replay rejects
 * exactly what ingest would send to the dead-letter topic, with the same
 * reasons. The
 * scheduler's own events (promise.kept, promise.broken, invoice.escalated;
 * docs/contracts.md), which a backtest ledger may hold as CloudEvents, are
 * validated as the inbound type with the same data shape and keep their own
 * type. Contacts may be outcomes or the scheduler's backtest commands. */
#include "reporter.h"

#include "clock.h"
#include "validate.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    ct_type type, shape;
} rep_scheduler_types[] = {{CT_EV_PROMISE_KEPT, CT_EV_PROMISE_MADE},
                           {CT_EV_PROMISE_BROKEN, CT_EV_PROMISE_MADE},
                           {CT_EV_INVOICE_ESCALATED, CT_EV_INVOICE_VOIDED}};

json_t *rep_normalize_inbound(const json_t *ce, char *errstr, size_t errlen)
{
    ct_limits lim = {CT_DEFAULT_MAX_BYTES, CT_DEFAULT_MAX_DEPTH};
    ct_verdict res;
    const json_t *jtype = json_object_get(ce, "type");
    ct_type type = json_is_string(jtype)
                       ? ct_type_parse(json_string_value(jtype), json_string_length(jtype))
                       : CT_EV_NONE;
    const char *own = NULL;
    char *raw = NULL;
    json_t *out = NULL;

    for (size_t i = 0; i < sizeof rep_scheduler_types / sizeof rep_scheduler_types[0]; i++) {
        if (type == rep_scheduler_types[i].type) {
            json_t *as = json_deep_copy(ce);
            if (as && json_object_set_new(
                          as, "type", json_string(ct_type_name(rep_scheduler_types[i].shape))) == 0)
                raw = json_dumps(as, JSON_COMPACT);
            json_decref(as);
            own = ct_type_name(type);
            break;
        }
    }
    if (!own)
        raw = json_dumps(ce, JSON_COMPACT);
    if (!raw) {
        snprintf(errstr, errlen, "out of memory");
        return NULL;
    }
    ct_message in = {.payload = raw, .len = strlen(raw), .topic = "replay", .offset = -1};
    memset(&res, 0, sizeof(res));
    if (ct_validate(&lim, &in, &res, errstr, errlen) != 0) {
        free(raw);
        return NULL;
    }
    if (res.accepted) {
        json_error_t jerr;
        out = json_loadb(res.body, res.bodylen, 0, &jerr);
        if (!out) {
            snprintf(errstr, errlen, "canonical event unreadable: %s", jerr.text);
        } else if (own) {
            json_t *level = json_object_get(json_object_get(ce, "data"), "level");
            json_object_set_new(out, "type", json_string(own));
            if (level)
                json_object_set(json_object_get(out, "data"), "level", level);
        }
    } else {
        size_t used = 0;
        errstr[0] = 0;
        for (size_t k = 0; k < res.reasons.n && used + 1 < errlen; k++) {
            int n = snprintf(errstr + used, errlen - used, "%s%s", k ? "; " : "",
                             res.reasons.r[k].message);
            if (n < 0)
                break;
            used += (size_t)n;
        }
    }
    ct_verdict_clear(&res);
    free(raw);
    return out;
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
