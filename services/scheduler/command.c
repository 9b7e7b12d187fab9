/* command.c -- building commands and the scheduler's own events. */
#include "command.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"

void sch_command_id_step(char *out, size_t len, const char *tenant, const char *invoice_id,
                         int step, int attempt) {
    snprintf(out, len, "%s/inv/%s/step/%d/attempt/%d", tenant, invoice_id, step, attempt);
}

void sch_command_id_thanks(char *out, size_t len, const char *tenant, const char *invoice_id,
                           const char *payment_id) {
    snprintf(out, len, "%s/inv/%s/thanks/%s", tenant, invoice_id, payment_id);
}

static json_t *ts(int64_t ms) {
    char b[40];
    cm_time_format_rfc3339(ms, b, sizeof b);
    return json_string(b);
}

static json_t *date(int32_t d) {
    char b[16];
    cm_date_format(d, b, sizeof b);
    return json_string(b);
}

static json_t *customer_obj(const sch_rec *inv, const sch_rec *cust) {
    json_t *o = NULL;
    if (cust && cust->u.cust.contact) {
        /* parsed once per customer and batch: many invoices share a debtor */
        sch_rec *mc = (sch_rec *)cust;
        if (!mc->u.cust.contact_obj) mc->u.cust.contact_obj = json_loads(cust->u.cust.contact, 0, NULL);
        o = json_deep_copy(mc->u.cust.contact_obj);
    }
    if (!json_is_object(o)) {
        json_decref(o);
        o = json_object();
        json_object_set_new(o, "customer_id", json_string(inv->u.inv.customer));
    }
    return o;
}

static const char *locale_of(const sch_rec *cust, const sch_policy *pol) {
    if (cust && cust->u.cust.locale[0]) return cust->u.cust.locale;
    return pol->default_locale;
}

/* The common body of every command. */
static json_t *base(const sch_rec *inv, const sch_rec *cust, const sch_policy *pol,
                    const cm_tz *tz, const char *id, const char *kind, const char *channel,
                    const char *tmpl, int64_t scheduled, int64_t now, int64_t principal) {
    const sch_inv *v = &inv->u.inv;
    json_t *c = json_object();
    if (!c) return NULL;
    int32_t today;
    int minute;
    cm_tz_local(tz, now, &today, &minute);
    json_object_set_new(c, "v", json_integer(1));
    json_object_set_new(c, "command_id", json_string(id));
    json_object_set_new(c, "kind", json_string(kind));
    json_object_set_new(c, "tenant", json_string(inv->tenant));
    json_object_set_new(c, "channel", json_string(channel));
    json_object_set_new(c, "template", json_string(tmpl));
    json_object_set_new(c, "locale", json_string(locale_of(cust, pol)));
    json_object_set_new(c, "strategy", json_string(v->strategy));
    json_object_set_new(c, "variant", json_string(v->variant));
    json_object_set_new(c, "created_at", ts(now));
    json_object_set_new(c, "scheduled_at", ts(scheduled));
    json_object_set_new(c, "customer", customer_obj(inv, cust));
    json_object_set_new(c, "currency", json_string(v->currency));
    json_t *am = json_object();
    json_object_set_new(am, "principal", json_integer(principal));
    json_object_set_new(am, "fees", json_integer(0));
    json_object_set_new(am, "interest", json_integer(0));
    json_object_set_new(am, "compensation", json_integer(0));
    json_object_set_new(am, "total", json_integer(principal));
    json_object_set_new(c, "amounts", am);
    json_t *invs = json_array(), *io = json_object();
    json_object_set_new(io, "invoice_id", json_string(inv->id));
    json_object_set_new(io, "number", json_string(v->number));
    json_object_set_new(io, "issued_on", date(v->issued));
    json_object_set_new(io, "due_on", date(v->due));
    json_object_set_new(io, "days_overdue", json_integer(today - v->due));
    json_object_set_new(io, "currency", json_string(v->currency));
    json_object_set_new(io, "amount_minor", json_integer(v->amount));
    json_object_set_new(io, "outstanding_minor", json_integer(principal));
    json_array_append_new(invs, io);
    json_object_set_new(c, "invoices", invs);
    return c;
}

json_t *sch_command_step(const sch_rec *inv, const sch_rec *cust, const sch_policy *pol,
                         const cm_tz *tz, const sch_step *st, int step_idx, int64_t scheduled,
                         int64_t now) {
    char id[512];
    sch_command_id_step(id, sizeof id, inv->tenant, inv->id, step_idx, inv->u.inv.attempt);
    json_t *c = base(inv, cust, pol, tz, id, st->action, st->channel, st->template_id, scheduled, now,
                     sch_inv_outstanding(&inv->u.inv));
    if (!c) return NULL;
    json_object_set_new(c, "step", json_integer(step_idx));
    json_object_set_new(c, "step_name", json_string(st->name));
    json_object_set_new(c, "attempt", json_integer(inv->u.inv.attempt));
    if (st->valid_for_ms > 0) json_object_set_new(c, "not_after", ts(now + st->valid_for_ms));
    if (strcmp(st->action, "escalation") == 0)
        json_object_set_new(c, "level", json_integer(st->level));
    return c;
}

json_t *sch_command_thanks(const sch_rec *inv, const sch_rec *cust, const sch_policy *pol,
                           const cm_tz *tz, int64_t scheduled, int64_t now) {
    char id[512];
    sch_command_id_thanks(id, sizeof id, inv->tenant, inv->id, inv->u.inv.thanks_pid);
    json_t *c = base(inv, cust, pol, tz, id, "payment.thanks", pol->thanks_channel,
                     pol->thanks_template, scheduled, now, sch_inv_outstanding(&inv->u.inv));
    if (!c) return NULL;
    json_t *p = json_object();
    json_object_set_new(p, "payment_id", json_string(inv->u.inv.thanks_pid));
    json_object_set_new(p, "amount_minor", json_integer(inv->u.inv.thanks_amt));
    json_object_set_new(p, "currency", json_string(inv->u.inv.currency));
    json_object_set_new(c, "payment", p);
    return c;
}

json_t *sch_event_escalated(const sch_rec *inv, const char *command_id, int level, int64_t now) {
    char id[600];
    json_t *e = json_object();
    if (!e) return NULL;
    snprintf(id, sizeof id, "%s/escalated", command_id);
    json_object_set_new(e, "v", json_integer(1));
    json_object_set_new(e, "id", json_string(id));
    json_object_set_new(e, "source", json_string("arrears-scheduler"));
    json_object_set_new(e, "type", json_string("invoice.escalated"));
    json_object_set_new(e, "tenant", json_string(inv->tenant));
    json_object_set_new(e, "time", ts(now));
    json_object_set_new(e, "customer_id", json_string(inv->u.inv.customer));
    char trace[33];
    snprintf(trace, sizeof trace, "%016llx%016llx", (unsigned long long)sch_hash64(id),
             (unsigned long long)sch_hash64(command_id));
    json_object_set_new(e, "trace_id", json_string(trace));
    json_t *d = json_object();
    json_object_set_new(d, "invoice_id", json_string(inv->id));
    json_object_set_new(d, "customer_id", json_string(inv->u.inv.customer));
    json_object_set_new(d, "level", json_integer(level));
    json_object_set_new(d, "command_id", json_string(command_id));
    json_object_set_new(e, "data", d);
    return e;
}
