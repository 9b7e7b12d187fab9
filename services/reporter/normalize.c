/* normalize.c -- what `arrears-reporter replay` reads, as the service sees it.
 *
 * The service consumes canonical events that ingest has already validated;
 * replay reads the inbound CloudEvents lines billing publishes, so it runs
 * them through the contract's validator and normalizer (ct_validate, the
 * one ingest runs): one implementation of the contract, and replay rejects
 * exactly what ingest would send to the dead-letter topic, with the same
 * reasons. The
 * scheduler's own events (promise.kept, promise.broken;
 * docs/contracts.md), which a backtest ledger may hold as CloudEvents, are
 * validated as the inbound type with the same data shape and keep their own
 * type. escalation.placed (issue 16) has no inbound twin: its line is
 * wrapped into the canonical envelope as ingest would write it (tenant,
 * default "default"; time as an instant; the event's customer_id from
 * data) and checked with the contract's own decoder (ct_event_decode),
 * which applies the scheduler's rules for that type. Contacts may be outcomes or the scheduler's
 * backtest commands; a command is a contact.sent at its created_at (the instant it fired), the
 * reporter's delivered contact. */
#include "reporter.h"

#include "clock.h"
#include "validate.h"
#include "buf.h"
#include "outcome.h"
#include "command.h"
#include "event.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    ct_type type, shape;
} rep_scheduler_types[] = {{CT_EV_PROMISE_KEPT, CT_EV_PROMISE_MADE},
                           {CT_EV_PROMISE_BROKEN, CT_EV_PROMISE_MADE}};

/* escalation.placed: the CloudEvent ce as a canonical event, checked by
 * ct_event_decode (see the head of the file); NULL with the reason. */
static json_t *rep_normalize_own(const json_t *ce, char *errstr, size_t errlen)
{
    const json_t *spec = json_object_get(ce, "specversion"), *ten = json_object_get(ce, "tenant"),
                 *time = json_object_get(ce, "time"), *data = json_object_get(ce, "data");
    int64_t ms;
    char tbuf[40];
    if (!json_is_string(spec) || strcmp(json_string_value(spec), "1.0")) {
        snprintf(errstr, errlen, "specversion: must be \"1.0\"");
        return NULL;
    }
    if (ten && (!json_is_string(ten) || !ct_tenant_valid(json_string_value(ten)))) {
        snprintf(errstr, errlen, "tenant: must match [A-Za-z0-9._-]{1,64}");
        return NULL;
    }
    if (!json_is_string(time) || cm_time_parse_rfc3339(json_string_value(time), &ms) != 0) {
        snprintf(errstr, errlen, "time: not an RFC 3339 timestamp (2026-03-01T09:00:00Z)");
        return NULL;
    }
    if (!json_is_object(data)) {
        snprintf(errstr, errlen, "data: must be a JSON object");
        return NULL;
    }
    cm_time_format_rfc3339(ms, tbuf, sizeof tbuf);
    json_t *out =
        json_pack("{s:i, s:O*, s:O*, s:O, s:s, s:s, s:O*, s:O}", "v", 1, "id",
                  json_object_get(ce, "id"), "source", json_object_get(ce, "source"), "type",
                  json_object_get(ce, "type"), "tenant", ten ? json_string_value(ten) : "default",
                  "time", tbuf, "customer_id", json_object_get(data, "customer_id"), "data", data);
    ct_event e;
    cm_json *js = out ? cm_json_new() : NULL;
    if (!js) {
        snprintf(errstr, errlen, "out of memory");
        json_decref(out);
        out = NULL;
    } else if (ct_event_decode_json(js, out, &e, errstr, errlen) < 0) {
        json_decref(out);
        out = NULL;
    }
    cm_json_free(js);
    return out;
}

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

    if (type == CT_EV_ESCALATION_PLACED)
        return rep_normalize_own(ce, errstr, errlen);
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
    if (res.accepted && res.phone[0]) {
        /* issue 17: only ingest's phone index can name the customers */
        snprintf(errstr, errlen,
                 "data.phone: unresolved (an event naming a phone needs ingest's phone index)");
    } else if (res.accepted) {
        json_error_t jerr;
        out = json_loadb(res.body, res.bodylen, 0, &jerr);
        if (!out) {
            snprintf(errstr, errlen, "canonical event unreadable: %s", jerr.text);
        } else if (own) {
            json_object_set_new(out, "type", json_string(own));
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

json_t *rep_normalize_command(const json_t *cmd_json, char *errstr, size_t errlen)
{
    /* recorded as sent at the simulated instant it fired (created_at),
     * through the contract's codecs (what a partly valid command has is
     * kept, as the notifier does) */
    json_t *out = NULL;
    cm_buf b = CM_BUF_INIT;
    char why[256] = "";
    ct_command *cmd = calloc(1, sizeof *cmd);
    cm_json *js = cm_json_new_cap(4096);
    if (!cmd || !js) {
        snprintf(errstr, errlen, "out of memory");
        goto cleanup;
    }
    ct_command_decode_json(js, cmd_json, cmd, why, sizeof why);
    const char *missing = !cmd->command_id      ? "command_id"
                          : !cmd->created_at_ms ? "created_at"
                                                : NULL;
    if (missing) {
        /* the decoder's reason when it names the member, else "required" */
        size_t mn = strlen(missing);
        if (!strncmp(why, missing, mn) && why[mn] == ':')
            snprintf(errstr, errlen, "%s", why);
        else
            snprintf(errstr, errlen, "%s: required", missing);
        goto cleanup;
    }
    ct_contact o;
    ct_contact_from_command(&o, cmd);
    o.type = CT_OUT_SENT;
    o.at_ms = cmd->created_at_ms;
    if (ct_contact_encode(&o, &b) < 0 || !(out = json_loadb(b.p, b.len, 0, NULL)))
        snprintf(errstr, errlen, "out of memory");
cleanup:
    cm_buf_free(&b);
    cm_json_free(js);
    free(cmd);
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
    /* a command, as the scheduler's backtest prints them */
    json_t *out = rep_normalize_command(line, errstr, errlen);
    if (!out && strcmp(errstr, "out of memory"))
        snprintf(errstr, errlen, "type: required (or a command with command_id and created_at)");
    return out;
}
