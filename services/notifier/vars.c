/* command.c -- parsing commands and deriving template variables.
 *
 * Only what the notifier needs is checked; unknown fields are ignored
 * (docs/contracts.md: fields are added, never renamed). */
#include "command.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "buf.h"
#include "format.h"

static const char *const channel_names[] = {"email", "sms", "webhook", "call_task", "letter"};

const char *ntf_channel_name(ntf_channel c)
{
    return (unsigned)c < 5 ? channel_names[c] : "?";
}

static const char *opt_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

void ntf_command_free(ntf_command *cmd)
{
    if (cmd->json)
        json_decref(cmd->json);
    memset(cmd, 0, sizeof *cmd);
}

static int id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > NTF_MAX_ID)
        return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x21 || *p == 0x7f)
            return 0;
    return 1;
}

int ntf_command_parse(const void *payload, size_t len, ntf_command *cmd, char *errstr,
                      size_t errlen)
{
    memset(cmd, 0, sizeof *cmd);
    cmd->created_ms = cmd->not_after_ms = cmd->total_minor = -1;
    json_error_t jerr;
    cmd->json = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!cmd->json) {
        snprintf(errstr, errlen, "not JSON: %s (line %d)", jerr.text, jerr.line);
        return -1;
    }
    json_t *j = cmd->json;
    if (!json_is_object(j)) {
        snprintf(errstr, errlen, "command is not a JSON object");
        return -1;
    }
    const char *id = opt_str(j, "command_id");
    if (!id || !id_ok(id)) {
        snprintf(errstr, errlen,
                 "command_id: required string of 1..%d printable characters without spaces",
                 NTF_MAX_ID);
        return -1;
    }
    cmd->command_id = id;
    cmd->tenant = opt_str(j, "tenant");
    json_t *cust = json_object_get(j, "customer");
    cmd->customer_id = json_is_object(cust) ? opt_str(cust, "customer_id") : NULL;
    cmd->kind = opt_str(j, "kind");
    cmd->channel_name = opt_str(j, "channel");
    cmd->template_id = opt_str(j, "template");
    cmd->strategy = opt_str(j, "strategy");
    cmd->variant = opt_str(j, "variant");
    cmd->currency = opt_str(j, "currency");
    cmd->created_at = opt_str(j, "created_at");
    cmd->step = json_object_get(j, "step");
    if (cmd->step && !json_is_integer(cmd->step))
        cmd->step = NULL;
    json_t *amounts = json_object_get(j, "amounts");
    json_t *total = json_is_object(amounts) ? json_object_get(amounts, "total") : NULL;
    if (json_is_integer(total))
        cmd->total_minor = json_integer_value(total);

    json_t *v = json_object_get(j, "v");
    if (v && (!json_is_integer(v) || json_integer_value(v) != 1)) {
        snprintf(errstr, errlen, "v: unsupported version (this notifier reads v 1)");
        return -1;
    }
    if (!cmd->tenant || !id_ok(cmd->tenant)) {
        snprintf(errstr, errlen, "tenant: required non-empty string without spaces");
        return -1;
    }
    if (!json_is_object(cust) || !cmd->customer_id || !*cmd->customer_id) {
        snprintf(errstr, errlen, "customer.customer_id: required non-empty string");
        return -1;
    }
    static const char *const kinds[] = {"reminder", "payment.thanks", "call_task", "letter",
                                        "escalation"};
    int kind_ok = 0;
    for (size_t i = 0; cmd->kind && i < 5; i++)
        kind_ok |= strcmp(cmd->kind, kinds[i]) == 0;
    if (!kind_ok) {
        snprintf(errstr, errlen,
                 "kind: must be reminder, payment.thanks, call_task, letter or escalation");
        return -1;
    }
    int ch = -1;
    for (int i = 0; cmd->channel_name && i < 5; i++)
        if (strcmp(cmd->channel_name, channel_names[i]) == 0)
            ch = i;
    if (ch < 0) {
        snprintf(errstr, errlen, "channel: must be email, sms, webhook, call_task or letter");
        return -1;
    }
    cmd->channel = (ntf_channel)ch;
    if ((ch == NTF_CH_EMAIL || ch == NTF_CH_SMS) &&
        (!cmd->template_id || !id_ok(cmd->template_id) || strchr(cmd->template_id, '/') ||
         cmd->template_id[0] == '.' || cmd->template_id[0] == '_')) {
        snprintf(errstr, errlen,
                 "template: required for %s; a name without '/', not starting with '.' or '_'",
                 channel_names[ch]);
        return -1;
    }
    if (ch == NTF_CH_EMAIL) {
        const char *em = opt_str(cust, "email");
        if (!em || !strchr(em, '@') || strpbrk(em, " \t\r\n<>,;")) {
            snprintf(errstr, errlen, "customer.email: required address for channel email");
            return -1;
        }
    }
    if (ch == NTF_CH_SMS) {
        const char *ph = opt_str(cust, "phone");
        int ok = ph && ph[0] == '+' && strlen(ph) >= 8 && strlen(ph) <= 16;
        for (const char *p = ph ? ph + 1 : NULL; ok && *p; p++)
            ok = *p >= '0' && *p <= '9';
        if (!ok) {
            snprintf(errstr, errlen, "customer.phone: required E.164 number for channel sms");
            return -1;
        }
    }
    cmd->locale = opt_str(j, "locale");
    if (!cmd->locale)
        cmd->locale = opt_str(cust, "locale");
    if (!cmd->locale || !*cmd->locale || strlen(cmd->locale) > 35 || strchr(cmd->locale, '/') ||
        cmd->locale[0] == '.')
        cmd->locale = "en-GB";
    if (cmd->created_at && cm_time_parse_rfc3339(cmd->created_at, &cmd->created_ms) < 0) {
        snprintf(errstr, errlen, "created_at: not an RFC 3339 instant");
        return -1;
    }
    const char *na = opt_str(j, "not_after");
    if (na && cm_time_parse_rfc3339(na, &cmd->not_after_ms) < 0) {
        snprintf(errstr, errlen, "not_after: not an RFC 3339 instant");
        return -1;
    }
    json_t *inv = json_object_get(j, "invoices");
    if (inv && !json_is_array(inv)) {
        snprintf(errstr, errlen, "invoices: must be a list");
        return -1;
    }
    return 0;
}

json_t *ntf_command_invoice_ids(const ntf_command *cmd)
{
    json_t *ids = json_array();
    json_t *inv = json_object_get(cmd->json, "invoices");
    size_t i;
    json_t *it;
    json_array_foreach(inv, i, it)
    {
        json_t *id = json_object_get(it, "invoice_id");
        if (json_is_string(id))
            json_array_append(ids, id);
    }
    return ids;
}

static int set_money(json_t *vars, const char *name, json_t *minor, const char *currency,
                     const char *locale, char *errstr, size_t errlen)
{
    if (!json_is_integer(minor) || !currency)
        return 0; /* left missing: a template that uses it fails to render */
    char buf[96], err[128];
    if (ntf_format_money(json_integer_value(minor), currency, locale, buf, sizeof buf, err,
                         sizeof err) < 0) {
        snprintf(errstr, errlen, "%s: %s", name, err);
        return -1;
    }
    json_object_set_new(vars, name, json_string(buf));
    return 0;
}

json_t *ntf_command_vars(const ntf_command *cmd, json_t *extra, const char *fmt_locale,
                         char *errstr, size_t errlen)
{
    json_t *j = cmd->json;
    json_t *vars = json_object();
    json_t *cust = json_object_get(j, "customer");
    const char *loc = fmt_locale ? fmt_locale : cmd->locale;
    if (extra)
        json_object_update(vars, extra);

    json_object_set_new(vars, "tenant", json_string(cmd->tenant));
    json_object_set_new(vars, "command_id", json_string(cmd->command_id));
    json_object_set_new(vars, "kind", json_string(cmd->kind));
    json_object_set_new(vars, "locale", json_string(cmd->locale));
    if (cmd->strategy)
        json_object_set_new(vars, "strategy", json_string(cmd->strategy));
    if (cmd->variant)
        json_object_set_new(vars, "variant", json_string(cmd->variant));
    if (cmd->step)
        json_object_set(vars, "step", cmd->step);
    const char *sn = opt_str(j, "step_name");
    if (sn)
        json_object_set_new(vars, "step_name", json_string(sn));
    json_object_set_new(vars, "customer_id", json_string(cmd->customer_id));
    static const char *const cust_fields[][2] = {{"name", "customer_name"},
                                                 {"email", "customer_email"},
                                                 {"phone", "customer_phone"},
                                                 {"country", "customer_country"}};
    for (size_t i = 0; i < 4; i++) {
        const char *s = opt_str(cust, cust_fields[i][0]);
        if (s && *s)
            json_object_set_new(vars, cust_fields[i][1], json_string(s));
    }
    const char *cur = cmd->currency;
    if (cur)
        json_object_set_new(vars, "currency", json_string(cur));
    json_t *amounts = json_object_get(j, "amounts");
    static const char *const amt[] = {"principal", "fees", "interest", "compensation", "total"};
    for (size_t i = 0; i < 5; i++) {
        json_t *m = json_object_get(amounts, amt[i]);
        if (set_money(vars, amt[i], m, cur, loc, errstr, errlen) < 0)
            goto fail;
        if (json_is_integer(m)) {
            char key[32];
            snprintf(key, sizeof key, "%s_minor", amt[i]);
            json_object_set(vars, key, m);
        }
    }

    json_t *inv = json_object_get(j, "invoices");
    json_t *list = json_array();
    json_object_set_new(vars, "invoices", list);
    size_t i;
    json_t *it;
    int32_t min_due = INT32_MAX;
    const char *min_due_s = NULL;
    long long max_days = -1;
    cm_buf numbers = CM_BUF_INIT;
    json_array_foreach(inv, i, it)
    {
        if (!json_is_object(it)) {
            snprintf(errstr, errlen, "invoices[%zu]: must be an object", i);
            cm_buf_free(&numbers);
            goto fail;
        }
        json_t *o = json_object();
        json_array_append_new(list, o);
        const char *id = opt_str(it, "invoice_id");
        const char *num = opt_str(it, "number");
        if (id)
            json_object_set_new(o, "invoice_id", json_string(id));
        if (num || id) {
            json_object_set_new(o, "number", json_string(num ? num : id));
            if (numbers.len)
                cm_buf_adds(&numbers, ", ");
            cm_buf_adds(&numbers, num ? num : id);
        }
        static const char *const dates[] = {"issued_on", "due_on"};
        for (size_t d = 0; d < 2; d++) {
            const char *ds = opt_str(it, dates[d]);
            if (!ds)
                continue;
            char buf[64], err[128], key[32];
            if (ntf_format_date(ds, loc, buf, sizeof buf, err, sizeof err) < 0) {
                snprintf(errstr, errlen, "invoices[%zu].%s: %s", i, dates[d], err);
                cm_buf_free(&numbers);
                goto fail;
            }
            json_object_set_new(o, dates[d], json_string(buf));
            snprintf(key, sizeof key, "%s_iso", dates[d]);
            json_object_set_new(o, key, json_string(ds));
            int32_t day;
            if (d == 1 && cm_date_parse(ds, &day) == 0 && day < min_due) {
                min_due = day;
                min_due_s = ds;
            }
        }
        json_t *dov = json_object_get(it, "days_overdue");
        if (json_is_integer(dov)) {
            json_object_set(o, "days_overdue", dov);
            if (json_integer_value(dov) > max_days)
                max_days = json_integer_value(dov);
        }
        const char *icur = opt_str(it, "currency");
        if (!icur)
            icur = cur;
        if (set_money(o, "outstanding", json_object_get(it, "outstanding_minor"), icur, loc, errstr,
                      errlen) < 0) {
            cm_buf_free(&numbers);
            goto fail;
        }
    }
    json_object_set_new(vars, "invoice_count", json_integer((json_int_t)json_array_size(list)));
    if (numbers.len)
        json_object_set_new(vars, "invoice_numbers", json_string(numbers.p));
    cm_buf_free(&numbers);
    if (min_due_s) {
        char buf[64], err[128];
        if (ntf_format_date(min_due_s, loc, buf, sizeof buf, err, sizeof err) == 0)
            json_object_set_new(vars, "due_on", json_string(buf));
    }
    if (max_days >= 0)
        json_object_set_new(vars, "days_overdue", json_integer(max_days));
    return vars;
fail:
    json_decref(vars);
    return NULL;
}
