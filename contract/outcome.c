/* outcome.c -- contact outcomes and task records (outcome.h).
 *
 * Design: the contact encoder writes straight into the caller's cm_buf
 * with cm_buf_json_str and cm_buf_int (no printf, no tree); the decoder
 * reads a jansson tree with decode.h's getters. A task record is the
 * command's own tree with "task_id" set, dumped by jansson, so that
 * members this build does not know pass through unchanged. */
#include "outcome.h"

#include "buf.h"
#include "clock.h"
#include "command.h"
#include "decode.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ct_contact_from_command(ct_contact *o, const ct_command *c)
{
    memset(o, 0, sizeof *o);
    o->type = CT_OUT_SENT;
    o->id = o->command_id = c->command_id;
    o->kind = c->kind;
    o->tenant = c->tenant;
    o->customer_id = c->customer.customer_id;
    for (size_t i = 0; i < c->ninvoices && i < CT_LIST_MAX; i++)
        if (c->invoices[i].invoice_id)
            o->invoice_ids[o->ninvoice_ids++] = c->invoices[i].invoice_id;
    o->channel = c->channel;
    o->template_id = c->template_id;
    o->strategy = c->strategy;
    o->variant = c->variant;
    o->has_step = c->has_step;
    o->step = c->step;
    o->currency = c->currency;
    o->has_amount = c->amounts.total != CT_MINOR_NONE;
    o->amount_total_minor = o->has_amount ? c->amounts.total : 0;
}

/* ,"k":"s" -- or nothing when s is NULL */
static void str(cm_buf *b, const char *k, const char *s)
{
    if (!s)
        return;
    cm_buf_addc(b, ',');
    cm_buf_json_str(b, k, strlen(k));
    cm_buf_addc(b, ':');
    cm_buf_json_str(b, s, strlen(s));
}

/* str() for text that did not come through a JSON parser (a provider's
 * reply): left out when it is not valid UTF-8, as jansson's json_string
 * refused it before. */
static void text(cm_buf *b, const char *k, const char *s)
{
    if (s && ct_utf8_valid(s, strlen(s)))
        str(b, k, s);
}

/* ,"k":v */
static void num(cm_buf *b, const char *k, int64_t v)
{
    cm_buf_addc(b, ',');
    cm_buf_json_str(b, k, strlen(k));
    cm_buf_addc(b, ':');
    cm_buf_int(b, v);
}

int ct_contact_encode(const ct_contact *o, cm_buf *b)
{
    char at[40];
    cm_buf_reserve(b, 512);
    cm_buf_adds(b, "{\"v\":");
    cm_buf_int(b, CT_VERSION);
    str(b, "type", ct_outcome_name(o->type));
    str(b, "id", o->id);
    str(b, "command_id", o->command_id);
    str(b, "kind", o->kind == CT_KIND_NONE ? NULL : ct_kind_name(o->kind));
    str(b, "tenant", o->tenant);
    str(b, "customer_id", o->customer_id);
    cm_buf_adds(b, ",\"invoice_ids\":[");
    for (size_t i = 0; i < o->ninvoice_ids && i < CT_LIST_MAX; i++) {
        if (i)
            cm_buf_addc(b, ',');
        cm_buf_json_str(b, o->invoice_ids[i], strlen(o->invoice_ids[i]));
    }
    cm_buf_addc(b, ']');
    str(b, "channel", o->channel == CT_CH_NONE ? NULL : ct_channel_name(o->channel));
    str(b, "template", o->template_id);
    str(b, "strategy", o->strategy);
    str(b, "variant", o->variant);
    if (o->has_step)
        num(b, "step", o->step);
    text(b, "provider_status", o->provider_status ? o->provider_status : "");
    num(b, "attempts", o->attempts);
    num(b, "latency_ms", o->latency_ms);
    cm_time_format_rfc3339(o->at_ms, at, sizeof at);
    str(b, "at", at);
    str(b, "currency", o->currency);
    if (o->has_amount)
        num(b, "amount_total_minor", o->amount_total_minor);
    if (o->message_id && o->message_id[0])
        text(b, "message_id", o->message_id);
    if (o->type != CT_OUT_SENT)
        text(b, "reason", o->reason ? o->reason : "");
    cm_buf_addc(b, '}');
    return b->oom ? -1 : 0;
}

int ct_contact_decode(const cm_jv *j, ct_contact *out, char *errstr, size_t errlen)
{
    ct_dec d = {j, "", errstr, errlen, 0};
    int64_t v;

    memset(out, 0, sizeof *out);
    out->type = CT_OUT_NONE;
    out->kind = CT_KIND_NONE;
    out->channel = CT_CH_NONE;
    errstr[0] = 0;
    if (!j || j->type != CM_JV_OBJECT) {
        snprintf(errstr, errlen, "contact: not a JSON object");
        return -1;
    }
    if (ct_dec_int(&d, "v", 0, &v) == 1 && v != CT_VERSION)
        ct_dec_fail(&d, "v", "unsupported version");
    const char *t = ct_dec_str(&d, "type", 1, CT_TYPE_MAX, CT_DEC_TOKEN);
    out->type = t ? ct_outcome_parse(t, strlen(t)) : CT_OUT_NONE;
    if (t && out->type == CT_OUT_NONE)
        ct_dec_fail(&d, "type", "must be contact.sent or contact.failed");
    out->id = ct_dec_str(&d, "id", 0, CT_COMMAND_ID_MAX, CT_DEC_TOKEN);
    out->command_id = ct_dec_str(&d, "command_id", 0, CT_COMMAND_ID_MAX, CT_DEC_TOKEN);
    if (!out->id)
        out->id = out->command_id;
    if (!out->id)
        ct_dec_fail(&d, "id", "required");
    const char *k = ct_dec_str(&d, "kind", 0, CT_TYPE_MAX, CT_DEC_TOKEN);
    if (k && (out->kind = ct_kind_parse(k, strlen(k))) == CT_KIND_NONE)
        ct_dec_fail(&d, "kind", "not a command kind of the contract");
    out->tenant = ct_dec_str(&d, "tenant", 1, CT_TENANT_MAX, CT_DEC_TOKEN);
    out->customer_id = ct_dec_str(&d, "customer_id", 0, CT_ID_MAX, CT_DEC_NOCTL);
    const cm_jv *ids = ct_dec_array(&d, "invoice_ids", 0);
    size_t i = 0;
    for (const cm_jv *s = ids ? ids->u.first : NULL; s; s = s->next, i++) {
        size_t n = ct_jv_strlen(s);
        if (!ct_jv_str(s) || n == 0 || n > CT_ID_MAX) {
            char name[48];
            snprintf(name, sizeof name, "invoice_ids[%zu]", i);
            ct_dec_fail(&d, name, "must be a string of 1..200 bytes");
            continue;
        }
        out->invoice_ids[out->ninvoice_ids++] = s->u.s;
    }
    const char *ch = ct_dec_str(&d, "channel", 0, CT_TYPE_MAX, CT_DEC_TOKEN);
    if (ch && (out->channel = ct_channel_parse(ch, strlen(ch))) == CT_CH_NONE)
        ct_dec_fail(&d, "channel", "not a channel of the contract");
    out->template_id = ct_dec_str(&d, "template", 0, CT_ID_MAX, CT_DEC_TOKEN);
    out->strategy = ct_dec_str(&d, "strategy", 0, CT_ID_MAX, CT_DEC_NOCTL);
    out->variant = ct_dec_str(&d, "variant", 0, CT_ID_MAX, CT_DEC_NOCTL);
    const char *sv = ct_jv_str(cm_jv_get(j, "step"));
    if (sv) { /* older writers: "2" */
        char *end = NULL;
        long long n = strtoll(sv, &end, 10);
        if (!*sv || *end)
            ct_dec_fail(&d, "step", "must be an integer");
        out->has_step = *sv && !*end;
        out->step = n;
    } else {
        out->has_step = ct_dec_int(&d, "step", 0, &out->step) == 1;
    }
    out->provider_status = ct_dec_str(&d, "provider_status", 0, CT_TEXT_MAX, CT_DEC_NOCTL);
    ct_dec_int(&d, "attempts", 0, &out->attempts);
    ct_dec_int(&d, "latency_ms", 0, &out->latency_ms);
    ct_dec_instant(&d, "at", 1, &out->at_ms);
    out->currency = ct_dec_str(&d, "currency", 0, 3, CT_DEC_TOKEN);
    out->has_amount = ct_dec_int(&d, "amount_total_minor", 0, &out->amount_total_minor) == 1;
    out->message_id = ct_dec_str(&d, "message_id", 0, CT_TEXT_MAX, CT_DEC_NOCTL);
    out->reason = ct_dec_str(&d, "reason", 0, CT_TEXT_MAX, 0);
    return d.failed ? -1 : 0;
}

int ct_task_encode(const ct_task *t, cm_buf *b)
{
    if (!t->command || t->command->type != CM_JV_OBJECT || !t->task_id) {
        b->oom = 1;
        return -1;
    }
    return cm_jv_write_set(b, t->command, "task_id", t->task_id);
}

int ct_task_decode(const cm_jv *j, ct_task *out, ct_command *cmd, char *errstr, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (ct_command_decode(j, cmd, errstr, errlen) < 0)
        return -1;
    ct_dec d = {j, "", errstr, errlen, 0};
    out->command = j;
    out->task_id = ct_dec_str(&d, "task_id", 1, CT_COMMAND_ID_MAX, CT_DEC_TOKEN);
    if (out->task_id && strcmp(out->task_id, cmd->command_id) != 0)
        ct_dec_fail(&d, "task_id", "must equal command_id");
    if (cmd->channel != CT_CH_CALL_TASK && cmd->channel != CT_CH_LETTER)
        ct_dec_fail(&d, "channel", "a task is a call_task or letter command");
    return d.failed ? -1 : 0;
}

/* ct_contact_decode of a record read (r), or *out cleared when it did not
 * parse (r NULL; the reader's error is in errstr). */
static int decode_parsed(const cm_jv *r, ct_contact *out, char *errstr, size_t errlen)
{
    if (r)
        return ct_contact_decode(r, out, errstr, errlen);
    memset(out, 0, sizeof *out);
    out->type = CT_OUT_NONE;
    return -1;
}

int ct_contact_decode_bytes(cm_json *j, const char *p, size_t n, ct_contact *out, char *errstr,
                            size_t errlen)
{
    return decode_parsed(ct_record_parse(j, p, n, "contact", errstr, errlen), out, errstr, errlen);
}

int ct_contact_decode_json(cm_json *j, const json_t *v, ct_contact *out, char *errstr,
                           size_t errlen)
{
    return decode_parsed(ct_record_parse_json(j, v, "contact", errstr, errlen), out, errstr,
                         errlen);
}
