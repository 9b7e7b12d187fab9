/* command.c -- the one encoder of the command record (command.h).
 *
 * Design: commands are the hot path of firing (one per fired timer); a
 * jansson tree per command once cost more than everything else of a round,
 * and snprintf of the two timestamps a tenth of it. So the record is
 * written straight into the caller's cm_buf: strings through
 * cm_buf_json_str (16 bytes at a time), integers through cm_buf_int, and
 * dates and instants by hand. Members appear in the order command.h lists,
 * byte for byte what the scheduler wrote before this encoder moved here,
 * except that the control bytes 0x08 and 0x0C are now escaped \b and \f
 * (the same JSON strings as the \u0008 and \u000c written before). The
 * optional members (rules; issue 14's per-invoice amounts, offer and
 * interest_basis; issue 15's risk and totals; issue 16's plan; issue 17's
 * reply and link_valid_days) add bytes only when present. */
#include "command.h"

#include "buf.h"
#include "clock.h"
#include "money.h"

#include <stdio.h>
#include <string.h>

/* A member's key with its separator: ,"key": (the first member of an
 * object is written with its own '{'). Keys are this file's literals,
 * member names of the contract, which hold nothing JSON escapes: they are
 * copied as they are (inlined, strlen of a literal is a constant). */
static inline void key(cm_buf *b, const char *k)
{
    size_t n = strlen(k);
    if (cm_buf_reserve(b, n + 4) < 0)
        return;
    char *o = b->p + b->len;
    *o++ = ',';
    *o++ = '"';
    memcpy(o, k, n);
    o += n;
    *o++ = '"';
    *o++ = ':';
    *o = 0;
    b->len = (size_t)(o - b->p);
}

static inline void str(cm_buf *b, const char *k, const char *v)
{
    key(b, k);
    if (!v)
        v = "";
    cm_buf_json_str(b, v, strlen(v));
}

static inline void num(cm_buf *b, const char *k, int64_t v)
{
    key(b, k);
    cm_buf_int(b, v);
}

/* YYYY-MM-DD of a day number into d (>= 11 bytes); years 0-9999 only,
 * else 0 (the caller falls back to clock.c). */
static int fmt_date(int32_t days, char *d)
{
    int y;
    unsigned m, dd;
    cm_civil_from_days(days, &y, &m, &dd);
    if (y < 0 || y > 9999)
        return 0;
    d[0] = (char)('0' + y / 1000);
    d[1] = (char)('0' + y / 100 % 10);
    d[2] = (char)('0' + y / 10 % 10);
    d[3] = (char)('0' + y % 10);
    d[4] = '-';
    d[5] = (char)('0' + m / 10);
    d[6] = (char)('0' + m % 10);
    d[7] = '-';
    d[8] = (char)('0' + dd / 10);
    d[9] = (char)('0' + dd % 10);
    d[10] = 0;
    return 1;
}

static void date(cm_buf *b, const char *k, int32_t day)
{
    char d[16];
    if (!fmt_date(day, d))
        cm_date_format(day, d, sizeof d);
    str(b, k, d);
}

static void instant(cm_buf *b, const char *k, int64_t ms)
{
    char t[40];
    cm_time_format_rfc3339(ms, t, sizeof t);
    str(b, k, t);
}

/* The typed "customer" object: customer_id, then the fields present, in
 * the order the scheduler stores a contact. */
static void customer(cm_buf *b, const ct_command_customer *c)
{
    const char *names[] = {"name", "email", "phone", "timezone", "locale", "country"};
    const char *vals[] = {c->name, c->email, c->phone, c->timezone, c->locale, c->country};
    cm_buf_adds(b, "{\"customer_id\":");
    cm_buf_json_str(b, c->customer_id ? c->customer_id : "",
                    c->customer_id ? strlen(c->customer_id) : 0);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (vals[i])
            str(b, names[i], vals[i]);
    cm_buf_addc(b, '}');
}

/* {"principal":..,"fees":..,"interest":..,"compensation":..,"total":..} */
static void amounts(cm_buf *b, const ct_command_amounts *a)
{
    cm_buf_adds(b, "{\"principal\":");
    cm_buf_int(b, a->principal);
    num(b, "fees", a->fees);
    num(b, "interest", a->interest);
    num(b, "compensation", a->compensation);
    num(b, "total", a->total);
    cm_buf_addc(b, '}');
}

void ct_annual_pct_format(int32_t rate_e4, char *buf, size_t len)
{
    char d[32];
    cm_money_format(rate_e4, 4, d, sizeof d); /* "13.2500" */
    size_t n = strlen(d), keep = n - 2;       /* "13.25": two decimals */
    while (n > keep && d[n - 1] == '0')
        n--;
    d[n] = 0;
    snprintf(buf, len, "%s", d);
}

int ct_annual_pct_parse(const char *s, int32_t *rate_e4)
{
    int64_t v;
    char err[64];
    if (!s || !*s || cm_money_parse(s, 4, &v, err, sizeof err) != 0 || v > 1000000000)
        return -1;
    *rate_e4 = (int32_t)v;
    return 0;
}

int ct_command_encode(const ct_command *c, cm_buf *b)
{
    cm_buf_reserve(b, 2048); /* a command is about 1 KB */
    cm_buf_adds(b, "{\"v\":");
    cm_buf_int(b, c->v);
    str(b, "command_id", c->command_id);
    str(b, "kind", ct_kind_name(c->kind));
    str(b, "tenant", c->tenant);
    str(b, "channel", ct_channel_name(c->channel));
    str(b, "template", c->template_id);
    str(b, "locale", c->locale);
    str(b, "strategy", c->strategy);
    str(b, "variant", c->variant);
    if (c->segment)
        str(b, "segment", c->segment);
    instant(b, "created_at", c->created_at_ms);
    instant(b, "scheduled_at", c->scheduled_at_ms);
    key(b, "customer");
    if (c->customer_json)
        cm_buf_adds(b, c->customer_json);
    else
        customer(b, &c->customer);
    str(b, "currency", c->currency);
    key(b, "amounts");
    amounts(b, &c->amounts);
    key(b, "invoices");
    cm_buf_addc(b, '[');
    for (size_t i = 0; i < c->ninvoices && i < CT_LIST_MAX; i++) {
        const ct_command_invoice *in = &c->invoices[i];
        const char *iid = in->invoice_id ? in->invoice_id : "";
        cm_buf_adds(b, i ? ",{\"invoice_id\":" : "{\"invoice_id\":");
        cm_buf_json_str(b, iid, strlen(iid));
        str(b, "number", in->number);
        date(b, "issued_on", in->issued_on);
        date(b, "due_on", in->due_on);
        num(b, "days_overdue", in->days_overdue);
        str(b, "currency", in->currency);
        num(b, "amount_minor", in->amount_minor);
        num(b, "outstanding_minor", in->outstanding_minor);
        if (in->has_amounts) {
            key(b, "amounts");
            amounts(b, &in->amounts);
        }
        if (in->has_step) {
            num(b, "step", in->step);
            str(b, "step_name", in->step_name);
            num(b, "attempt", in->attempt);
        }
        cm_buf_addc(b, '}');
    }
    cm_buf_addc(b, ']');
    if (c->has_step) {
        num(b, "step", c->step);
        str(b, "step_name", c->step_name);
        num(b, "attempt", c->attempt);
    }
    if (c->has_not_after)
        instant(b, "not_after", c->not_after_ms);
    if (c->kind == CT_KIND_ESCALATION)
        num(b, "level", c->level);
    if (c->has_payment) {
        key(b, "payment");
        cm_buf_adds(b, "{\"payment_id\":");
        const char *pid = c->payment.payment_id ? c->payment.payment_id : "";
        cm_buf_json_str(b, pid, strlen(pid));
        num(b, "amount_minor", c->payment.amount_minor);
        str(b, "currency", c->payment.currency);
        cm_buf_addc(b, '}');
    }
    if (c->has_offer) {
        key(b, "offer");
        cm_buf_adds(b, "{\"kind\":");
        const char *k = ct_offer_kind_name(c->offer.kind);
        cm_buf_json_str(b, k, strlen(k));
        num(b, "amount_minor", c->offer.amount_minor);
        num(b, "forgiven_minor", c->offer.forgiven_minor);
        date(b, "valid_until", c->offer.valid_until);
        if (c->offer.kind == CT_OFFER_PLAN) {
            key(b, "plans");
            cm_buf_addc(b, '[');
            for (size_t i = 0; i < c->offer.nplans && i < CT_OFFER_PLANS_MAX; i++) {
                cm_buf_adds(b, i ? ",{\"instalments\":[" : "{\"instalments\":[");
                for (size_t j = 0; j < c->offer.plans[i].n && j < CT_OFFER_PLAN_INSTALMENTS_MAX;
                     j++) {
                    cm_buf_adds(b, j ? ",{\"due_on\":" : "{\"due_on\":");
                    char d[16];
                    cm_date_format(c->offer.plans[i].inst[j].due_on, d, sizeof d);
                    cm_buf_json_str(b, d, strlen(d));
                    num(b, "amount_minor", c->offer.plans[i].inst[j].amount_minor);
                    cm_buf_addc(b, '}');
                }
                cm_buf_adds(b, "]}");
            }
            cm_buf_addc(b, ']');
        }
        cm_buf_addc(b, '}');
    }
    if (c->has_interest_basis) {
        char pct[CT_PCT_MAX];
        key(b, "interest_basis");
        cm_buf_adds(b, "{\"scheme\":");
        const char *sc = ct_interest_scheme_name(c->interest_basis.scheme);
        cm_buf_json_str(b, sc, strlen(sc));
        ct_annual_pct_format(c->interest_basis.rate_e4, pct, sizeof pct);
        str(b, "annual_pct", pct);
        if (c->interest_basis.country)
            str(b, "country", c->interest_basis.country);
        cm_buf_addc(b, '}');
    }
    if (c->has_risk) {
        key(b, "risk");
        cm_buf_adds(b, "{\"score\":");
        cm_buf_int(b, c->risk.score);
        str(b, "band", c->risk.band ? c->risk.band : "");
        key(b, "contributions");
        cm_buf_addc(b, '[');
        for (size_t i = 0; i < c->risk.n && i < CT_RISK_FACTORS_MAX; i++) {
            const char *f = c->risk.c[i].factor ? c->risk.c[i].factor : "";
            cm_buf_adds(b, i ? ",{\"factor\":" : "{\"factor\":");
            cm_buf_json_str(b, f, strlen(f));
            num(b, "value", c->risk.c[i].value);
            num(b, "points", c->risk.c[i].points);
            cm_buf_addc(b, '}');
        }
        cm_buf_adds(b, "]}");
    }
    if (c->has_plan) {
        const ct_command_plan *p = &c->plan;
        key(b, "plan");
        cm_buf_adds(b, "{\"plan_id\":");
        cm_buf_json_str(b, p->plan_id ? p->plan_id : "", p->plan_id ? strlen(p->plan_id) : 0);
        num(b, "instalment", p->instalment);
        num(b, "instalments", p->instalments);
        date(b, "due_on", p->due_on);
        num(b, "amount_minor", p->amount_minor);
        num(b, "paid_minor", p->paid_minor);
        num(b, "total_minor", p->total_minor);
        num(b, "total_paid_minor", p->total_paid_minor);
        cm_buf_addc(b, '}');
    }
    if (c->ntotals > 0) {
        key(b, "totals");
        cm_buf_addc(b, '[');
        for (size_t i = 0; i < c->ntotals && i < CT_TOTALS_MAX; i++) {
            cm_buf_adds(b, i ? ",{\"currency\":" : "{\"currency\":");
            const char *cu = c->totals[i].currency ? c->totals[i].currency : "";
            cm_buf_json_str(b, cu, strlen(cu));
            key(b, "amounts");
            amounts(b, &c->totals[i].amounts);
            cm_buf_addc(b, '}');
        }
        cm_buf_addc(b, ']');
    }
    if (c->nrules > 0) {
        key(b, "rules");
        cm_buf_addc(b, '[');
        for (size_t i = 0; i < c->nrules && i < CT_COMMAND_RULES_MAX; i++) {
            const char *r = c->rules[i] ? c->rules[i] : "";
            if (i)
                cm_buf_addc(b, ',');
            cm_buf_json_str(b, r, strlen(r));
        }
        cm_buf_addc(b, ']');
    }
    if (c->has_reply) { /* issue 17: kind review */
        const ct_command_reply *r = &c->reply;
        const char *ch = ct_channel_name(r->channel);
        cm_buf_adds(b, ",\"reply\":{\"channel\":");
        cm_buf_json_str(b, ch, strlen(ch));
        str(b, "text", r->text);
        str(b, "event_id", r->event_id);
        instant(b, "at", r->at_ms);
        cm_buf_addc(b, '}');
    }
    if (c->link_valid_days > 0) /* issue 17: the policy's links.valid_days */
        num(b, "link_valid_days", c->link_valid_days);
    cm_buf_addc(b, '}');
    return b->oom ? -1 : 0;
}
