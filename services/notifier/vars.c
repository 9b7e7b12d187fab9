/* vars.c -- commands as the notifier holds them, and the template
 * variables derived from them.
 *
 * Decoding and every rule are the contract's (ct_command_decode); what is
 * here is the notifier's: the locale to render in and the variables a
 * template sees (amounts and dates formatted for the template's language). */
#include "vars.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "format.h"

void ntf_command_free(ntf_command *cmd)
{
    if (cmd->json)
        json_decref(cmd->json);
    memset(cmd, 0, sizeof *cmd);
}

/* A locale that can name a template directory, or NULL. */
static const char *usable_locale(const char *l)
{
    return l && *l && strlen(l) <= 35 && !strchr(l, '/') && l[0] != '.' ? l : NULL;
}

int ntf_command_parse(const void *payload, size_t len, ntf_command *cmd, char *errstr,
                      size_t errlen)
{
    json_error_t jerr;
    memset(cmd, 0, sizeof *cmd);
    cmd->c.kind = CT_KIND_NONE;
    cmd->c.channel = CT_CH_NONE;
    cmd->locale = "en-GB";
    cmd->json = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!cmd->json) {
        snprintf(errstr, errlen, "not JSON: %s (line %d)", jerr.text, jerr.line);
        return -1;
    }
    int rc = ct_command_decode(cmd->json, &cmd->c, errstr, errlen);
    const char *l = usable_locale(cmd->c.locale);
    if (!l)
        l = usable_locale(cmd->c.customer.locale);
    if (l)
        cmd->locale = l;
    return rc;
}

json_t *ntf_command_invoice_ids(const ntf_command *cmd)
{
    json_t *ids = json_array();
    for (size_t i = 0; i < cmd->c.ninvoices; i++)
        if (cmd->c.invoices[i].invoice_id)
            json_array_append_new(ids, json_string(cmd->c.invoices[i].invoice_id));
    return ids;
}

static int set_money(json_t *vars, const char *name, int64_t minor, const char *currency,
                     const char *locale, char *errstr, size_t errlen)
{
    if (minor == CT_MINOR_NONE || !currency)
        return 0; /* left missing: a template that uses it fails to render */
    char buf[96], err[128];
    if (ntf_format_money(minor, currency, locale, buf, sizeof buf, err, sizeof err) < 0) {
        snprintf(errstr, errlen, "%s: %s", name, err);
        return -1;
    }
    json_object_set_new(vars, name, json_string(buf));
    return 0;
}

static void set_str(json_t *vars, const char *name, const char *s)
{
    if (s)
        json_object_set_new(vars, name, json_string(s));
}

json_t *ntf_command_vars(const ntf_command *cmd, json_t *extra, const char *fmt_locale,
                         char *errstr, size_t errlen)
{
    const ct_command *c = &cmd->c;
    json_t *vars = json_object();
    const char *loc = fmt_locale ? fmt_locale : cmd->locale;
    cm_buf numbers = CM_BUF_INIT;
    if (extra)
        json_object_update(vars, extra);

    json_object_set_new(vars, "tenant", json_string(c->tenant));
    json_object_set_new(vars, "command_id", json_string(c->command_id));
    json_object_set_new(vars, "kind", json_string(ct_kind_name(c->kind)));
    json_object_set_new(vars, "locale", json_string(cmd->locale));
    set_str(vars, "strategy", c->strategy);
    set_str(vars, "variant", c->variant);
    if (c->has_step)
        json_object_set_new(vars, "step", json_integer(c->step));
    set_str(vars, "step_name", c->step_name);
    json_object_set_new(vars, "customer_id", json_string(c->customer.customer_id));
    const char *cust[][2] = {{"customer_name", c->customer.name},
                             {"customer_email", c->customer.email},
                             {"customer_phone", c->customer.phone},
                             {"customer_country", c->customer.country}};
    for (size_t i = 0; i < 4; i++)
        if (cust[i][1] && *cust[i][1])
            json_object_set_new(vars, cust[i][0], json_string(cust[i][1]));
    const char *cur = c->currency;
    set_str(vars, "currency", cur);
    const struct {
        const char *name;
        int64_t minor;
    } amt[] = {{"principal", c->amounts.principal},
               {"fees", c->amounts.fees},
               {"interest", c->amounts.interest},
               {"compensation", c->amounts.compensation},
               {"total", c->amounts.total}};
    for (size_t i = 0; i < sizeof amt / sizeof amt[0]; i++) {
        if (set_money(vars, amt[i].name, amt[i].minor, cur, loc, errstr, errlen) < 0)
            goto fail;
        if (amt[i].minor != CT_MINOR_NONE) {
            char key[32];
            snprintf(key, sizeof key, "%s_minor", amt[i].name);
            json_object_set_new(vars, key, json_integer(amt[i].minor));
        }
    }

    json_t *list = json_array();
    json_object_set_new(vars, "invoices", list);
    int32_t min_due = INT32_MAX;
    long long max_days = -1;
    for (size_t i = 0; i < c->ninvoices; i++) {
        const ct_command_invoice *in = &c->invoices[i];
        json_t *o = json_object();
        json_array_append_new(list, o);
        const char *num = in->number ? in->number : in->invoice_id;
        set_str(o, "invoice_id", in->invoice_id);
        if (num) {
            json_object_set_new(o, "number", json_string(num));
            if (numbers.len)
                cm_buf_adds(&numbers, ", ");
            cm_buf_adds(&numbers, num);
        }
        static const char *const dates[] = {"issued_on", "due_on"};
        const int32_t days[] = {in->issued_on, in->due_on};
        for (size_t d = 0; d < 2; d++) {
            if (days[d] == CT_DAY_NONE)
                continue;
            char iso[16], buf[64], err[128], key[32];
            cm_date_format(days[d], iso, sizeof iso);
            if (ntf_format_date(iso, loc, buf, sizeof buf, err, sizeof err) < 0) {
                snprintf(errstr, errlen, "invoices[%zu].%s: %s", i, dates[d], err);
                goto fail;
            }
            json_object_set_new(o, dates[d], json_string(buf));
            snprintf(key, sizeof key, "%s_iso", dates[d]);
            json_object_set_new(o, key, json_string(iso));
            if (d == 1 && days[d] < min_due)
                min_due = days[d];
        }
        if (in->days_overdue != CT_MINOR_NONE) {
            json_object_set_new(o, "days_overdue", json_integer(in->days_overdue));
            if (in->days_overdue > max_days)
                max_days = in->days_overdue;
        }
        if (set_money(o, "outstanding", in->outstanding_minor, in->currency ? in->currency : cur,
                      loc, errstr, errlen) < 0)
            goto fail;
    }
    json_object_set_new(vars, "invoice_count", json_integer((json_int_t)json_array_size(list)));
    if (numbers.len)
        json_object_set_new(vars, "invoice_numbers", json_string(numbers.p));
    cm_buf_free(&numbers);
    if (min_due != INT32_MAX) {
        char iso[16], buf[64], err[128];
        cm_date_format(min_due, iso, sizeof iso);
        if (ntf_format_date(iso, loc, buf, sizeof buf, err, sizeof err) == 0)
            json_object_set_new(vars, "due_on", json_string(buf));
    }
    if (max_days >= 0)
        json_object_set_new(vars, "days_overdue", json_integer(max_days));
    return vars;
fail:
    cm_buf_free(&numbers);
    json_decref(vars);
    return NULL;
}
