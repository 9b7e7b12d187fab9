/* links.c -- pay/page links, unsubscribe links and SMS status callbacks
 * (links.h).
 *
 * Design notes:
 * - The page token carries what the gateway's page shows (issue 17: "what
 *   a page shows comes from the signed token"): the invoices with their
 *   totals as of the message, the offer as the command has it, the
 *   channels the debtor can be asked to stop. The gateway holds no state,
 *   so the claims are the whole truth of the page; amounts are the
 *   command's, never recomputed here.
 * - as_of is the debtor's local date of the command's scheduled_at (its
 *   created_at when it has none): the date the amounts are "as of", in
 *   the zone the debtor reads the message in (UTC when the command names
 *   no zone or one this machine does not know).
 * - Claims are written in a fixed order (JSON objects keep insertion
 *   order), so the token of a command is the same on every attempt.
 * - The lifetime is the command's link_valid_days (the tenant's policy,
 *   links.valid_days: its legal and commercial terms decide how long a
 *   pay link stays valid), else the tenant setting link_valid_days
 *   (default 60), a fallback for policies that do not say.
 * - The gateway URL is used as configured, without a trailing '/'
 *   (ntf_config_check refuses a query or fragment in it). */
#include "links.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "sign.h"
#include "tz.h"

static int64_t iat_of(const ntf_command *cmd)
{
    return cmd->c.created_at_ms > 0 ? cmd->c.created_at_ms / 1000 : 0;
}

/* The common head of both tokens: use, tenant, customer_id. */
static json_t *claims_head(const ntf_command *cmd, const char *use)
{
    json_t *o = json_object();
    json_object_set_new(o, "use", json_string(use));
    json_object_set_new(o, "tenant", json_string(cmd->c.tenant ? cmd->c.tenant : ""));
    json_object_set_new(
        o, "customer_id",
        json_string(cmd->c.customer.customer_id ? cmd->c.customer.customer_id : ""));
    return o;
}

static void claims_tail(json_t *o, const ntf_command *cmd, int valid_days)
{
    int64_t iat = iat_of(cmd);
    json_object_set_new(o, "iat", json_integer(iat));
    json_object_set_new(o, "exp", json_integer(iat + (int64_t)valid_days * 86400));
}

/* A minor amount that may be absent (CT_MINOR_NONE) as a number. */
static int64_t minor0(int64_t v)
{
    return v == CT_MINOR_NONE ? 0 : v;
}

static void set_day(json_t *o, const char *name, int32_t day)
{
    char iso[16];
    cm_date_format(day, iso, sizeof iso);
    json_object_set_new(o, name, json_string(iso));
}

json_t *ntf_links_page_claims(const ntf_command *cmd, int valid_days)
{
    const ct_command *c = &cmd->c;
    json_t *o = claims_head(cmd, "page");
    json_t *ids = ntf_command_invoice_ids(cmd);
    json_object_set_new(o, "invoice_ids", ids ? ids : json_array());
    json_object_set_new(o, "command_id", json_string(c->command_id ? c->command_id : ""));
    json_object_set_new(o, "locale", json_string(cmd->locale));
    if (c->currency)
        json_object_set_new(o, "currency", json_string(c->currency));
    /* as_of: the debtor's local date of scheduled_at (see the design note) */
    int64_t at = c->scheduled_at_ms > 0 ? c->scheduled_at_ms : c->created_at_ms;
    char err[128];
    const cm_tz *tz =
        cm_tz_get(c->customer.timezone ? c->customer.timezone : "UTC", err, sizeof err);
    if (!tz)
        tz = cm_tz_get("UTC", err, sizeof err);
    int32_t day = cm_time_day(at > 0 ? at : 0);
    int minute;
    if (tz)
        cm_tz_local(tz, at > 0 ? at : 0, &day, &minute);
    set_day(o, "as_of", day);
    /* invoices: with amounts, outstanding = the principal still owed and
     * total = principal + fees + interest + compensation (the command's
     * outstanding_minor already holds the unpaid fees: the scheduler's
     * amount - credited + fees - paid, so adding fees to it would count
     * them twice); without amounts both are its outstanding_minor */
    json_t *list = json_array();
    json_object_set_new(o, "invoices", list);
    int64_t sum = 0;
    for (size_t i = 0; i < c->ninvoices; i++) {
        const ct_command_invoice *in = &c->invoices[i];
        json_t *e = json_object();
        json_array_append_new(list, e);
        json_object_set_new(e, "invoice_id", json_string(in->invoice_id));
        json_object_set_new(e, "number",
                            json_string(in->number && *in->number ? in->number : in->invoice_id));
        if (in->due_on != CT_DAY_NONE)
            set_day(e, "due_on", in->due_on);
        int64_t out = minor0(in->outstanding_minor), total = out;
        if (in->has_amounts) {
            out = minor0(in->amounts.principal);
            total = out + minor0(in->amounts.fees) + minor0(in->amounts.interest) +
                    minor0(in->amounts.compensation);
        }
        json_object_set_new(e, "outstanding_minor", json_integer(out));
        json_object_set_new(e, "total_minor", json_integer(total));
        sum += total;
    }
    json_object_set_new(o, "total_minor", json_integer(sum));
    const cm_jv *offer = c->has_offer ? cm_jv_get(cmd->root, "offer") : NULL;
    if (offer) { /* the offer as the command carries it (decoded: valid) */
        cm_buf ob = CM_BUF_INIT;
        json_t *oj = cm_jv_write(&ob, offer) == 0 ? json_loadb(ob.p, ob.len, 0, NULL) : NULL;
        cm_buf_free(&ob);
        if (oj)
            json_object_set_new(o, "offer", oj);
    }
    json_t *ch = json_array();
    if (c->customer.email && *c->customer.email)
        json_array_append_new(ch, json_string("email"));
    if (c->customer.phone && *c->customer.phone)
        json_array_append_new(ch, json_string("sms"));
    json_object_set_new(o, "channels", ch);
    claims_tail(o, cmd, valid_days);
    return o;
}

json_t *ntf_links_unsubscribe_claims(const ntf_command *cmd, const char *channel, int valid_days)
{
    json_t *o = claims_head(cmd, "unsubscribe");
    json_object_set_new(o, "command_id", json_string(cmd->c.command_id ? cmd->c.command_id : ""));
    json_object_set_new(o, "channel", json_string(channel));
    claims_tail(o, cmd, valid_days);
    return o;
}

static char *sign(const ntf_tenant_cfg *cfg, json_t *claims)
{
    char *tok = cfg->paylink_secret && claims
                    ? ntf_link_sign(ntf_config_link_kid(cfg), cfg->paylink_secret, claims)
                    : NULL;
    json_decref(claims);
    return tok;
}

/* <gateway_url><path><tok>, or NULL. */
static char *gateway_link(const char *gw, const char *path, const char *tok)
{
    cm_buf b = CM_BUF_INIT;
    size_t n = strlen(gw);
    while (n > 0 && gw[n - 1] == '/')
        n--;
    cm_buf_add(&b, gw, n);
    cm_buf_adds(&b, path);
    cm_buf_adds(&b, tok);
    if (b.oom) {
        cm_buf_free(&b);
        return NULL;
    }
    return cm_buf_take(&b, NULL);
}

int ntf_links_valid_days(const ntf_tenant_cfg *cfg, const ntf_command *cmd)
{
    return cmd->c.link_valid_days > 0 ? cmd->c.link_valid_days : ntf_config_link_days(cfg);
}

char *ntf_links_pay(const ntf_tenant_cfg *cfg, const ntf_command *cmd)
{
    if ((!cfg->paylink_url && !cfg->gateway_url) || !cfg->paylink_secret)
        return NULL;
    char *tok = sign(cfg, ntf_links_page_claims(cmd, ntf_links_valid_days(cfg, cmd)));
    if (!tok)
        return NULL;
    char *url = cfg->paylink_url ? ntf_paylink_url(cfg->paylink_url, cmd->c.tenant,
                                                   cmd->c.customer.customer_id, tok)
                                 : gateway_link(cfg->gateway_url, "/p/", tok);
    free(tok);
    return url;
}

char *ntf_links_unsubscribe(const ntf_tenant_cfg *cfg, const ntf_command *cmd)
{
    if (!cfg->unsubscribe_url && !cfg->gateway_url)
        return NULL;
    const char *channel = cmd->c.channel == CT_CH_SMS ? "sms" : "email";
    char *tok =
        sign(cfg, ntf_links_unsubscribe_claims(cmd, channel, ntf_links_valid_days(cfg, cmd)));
    char *url = NULL;
    if (cfg->unsubscribe_url)
        url = ntf_paylink_url(cfg->unsubscribe_url, cmd->c.tenant, cmd->c.customer.customer_id,
                              tok ? tok : "");
    else if (tok)
        url = gateway_link(cfg->gateway_url, "/u/", tok);
    free(tok);
    return url;
}

char *ntf_links_status_callback(const ntf_tenant_cfg *cfg, const ntf_command *cmd)
{
    if (!cfg->gateway_url)
        return NULL;
    const struct {
        const char *k, *v;
    } q[] = {{"?tenant=", cmd->c.tenant},
             {"&customer_id=", cmd->c.customer.customer_id},
             {"&command_id=", cmd->c.command_id},
             {"&template=", cmd->c.template_id}};
    char *base = gateway_link(cfg->gateway_url, "/v1/sms/status", "");
    if (!base)
        return NULL;
    cm_buf b = CM_BUF_INIT;
    cm_buf_adds(&b, base);
    free(base);
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        cm_buf_adds(&b, q[i].k);
        ntf_pct_encode(&b, q[i].v ? q[i].v : "");
    }
    if (b.oom) {
        cm_buf_free(&b);
        return NULL;
    }
    return cm_buf_take(&b, NULL);
}
