/* contact.c -- outcome events and task records. */
#include "contact.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

char *ntf_contact_json(const ntf_command *cmd, const ntf_outcome *o)
{
    json_t *e = json_object();
    char at[40];
    cm_time_format_rfc3339(o->at_ms, at, sizeof at);
    json_object_set_new(e, "v", json_integer(1));
    json_object_set_new(e, "type", json_string(o->sent ? "contact.sent" : "contact.failed"));
    set_str(e, "id", cmd->command_id);
    set_str(e, "command_id", cmd->command_id);
    set_str(e, "kind", cmd->kind);
    set_str(e, "tenant", cmd->tenant);
    set_str(e, "customer_id", cmd->customer_id);
    json_object_set_new(e, "invoice_ids", ntf_command_invoice_ids(cmd));
    set_str(e, "channel", cmd->channel_name);
    set_str(e, "template", cmd->template_id);
    set_str(e, "strategy", cmd->strategy);
    set_str(e, "variant", cmd->variant);
    if (cmd->step)
        json_object_set(e, "step", cmd->step);
    json_object_set_new(e, "provider_status", json_string(o->provider_status));
    json_object_set_new(e, "attempts", json_integer(o->attempts));
    json_object_set_new(e, "latency_ms", json_integer(o->latency_ms));
    json_object_set_new(e, "at", json_string(at));
    set_str(e, "currency", cmd->currency);
    if (cmd->total_minor >= 0)
        json_object_set_new(e, "amount_total_minor", json_integer(cmd->total_minor));
    if (o->message_id[0])
        json_object_set_new(e, "message_id", json_string(o->message_id));
    if (!o->sent)
        json_object_set_new(e, "reason", json_string(o->reason));
    char *s = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(e);
    return s;
}

char *ntf_task_json(const ntf_command *cmd)
{
    json_t *t = json_deep_copy(cmd->json);
    if (!t)
        return NULL;
    json_object_set_new(t, "task_id", json_string(cmd->command_id));
    char *s = json_dumps(t, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(t);
    return s;
}

void ntf_contact_key(const ntf_command *cmd, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s", cmd->tenant ? cmd->tenant : "",
             cmd->customer_id ? cmd->customer_id : "");
}
