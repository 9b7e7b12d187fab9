/* records.c -- building commands and the scheduler's own events (records.h).
 *
 * Design: firing is the hot path (one command per fired timer), so ids are
 * written without snprintf and a command goes from the records into a
 * ct_command and through the contract's one encoder straight into text;
 * no jansson tree is built for it. The escalation event is rare and built
 * with jansson. */
#include "records.h"

#include "crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amounts.h"
#include "debtor.h"
#include "buf.h"
#include "clock.h"
#include "event.h"
#include "map.h"
#include "plan.h"
#include "str.h"

/* The longest ids the builders below write (contract/command.h) must fit
 * in CT_COMMAND_ID_MAX, and an escalation event's id in what the event
 * decoder accepts (CT_DERIVED_ID_MAX). */
#define STEP_ID_MAX (CT_TENANT_MAX + 5 + CT_ID_MAX + 6 + 11 + 9 + 11)
_Static_assert(STEP_ID_MAX <= CT_COMMAND_ID_MAX, "step command ids fit CT_COMMAND_ID_MAX");
_Static_assert(CT_TENANT_MAX + 5 + CT_ID_MAX + 8 + CT_ID_MAX <= CT_COMMAND_ID_MAX,
               "thanks command ids fit CT_COMMAND_ID_MAX");
_Static_assert(STEP_ID_MAX + SCH_EVENT_SUFFIX_MAX <= CT_DERIVED_ID_MAX,
               "escalation event ids fit CT_DERIVED_ID_MAX");

/* An id being written into [p, end): end is kept for the NUL; a piece that
 * does not fit sets overflow (nothing is written past end). */
typedef struct idw {
    char *p, *end;
    int overflow;
} idw;

static void put(idw *w, const char *s, size_t n)
{
    if (n > (size_t)(w->end - w->p)) {
        w->overflow = 1;
        return;
    }
    memcpy(w->p, s, n);
    w->p += n;
}

static void put_int(idw *w, long long v)
{
    char b[24], *q = sch_fmt_ll(b + sizeof b, v);
    put(w, q, (size_t)(b + sizeof b - q));
}

static void puts_(idw *w, const char *s)
{
    put(w, s, strlen(s));
}

/* Ends the id: 0, or -1 with out emptied when some piece did not fit. */
static int idw_end(idw *w, char *out)
{
    if (w->overflow) {
        out[0] = 0;
        return -1;
    }
    *w->p = 0;
    return 0;
}

/* Same text as snprintf(out, len, "%s/inv/%s/step/%d/attempt/%d", ...),
 * without the format machinery (one per fired timer). */
/* "tenant/inv/<invoice_id>", the start of every invoice command id, into
 * out (len > 0). */
static idw inv_prefix(char *out, size_t len, const char *tenant, const char *invoice_id)
{
    idw w = {out, out + len - 1, 0};
    puts_(&w, tenant);
    put(&w, "/inv/", 5);
    puts_(&w, invoice_id);
    return w;
}

int sch_command_id_step(char *out, size_t len, const char *tenant, const char *invoice_id, int step,
                        int attempt)
{
    if (len == 0)
        return -1;
    idw w = inv_prefix(out, len, tenant, invoice_id);
    put(&w, "/step/", 6);
    put_int(&w, step);
    put(&w, "/attempt/", 9);
    put_int(&w, attempt);
    return idw_end(&w, out);
}

int sch_command_id_thanks(char *out, size_t len, const char *tenant, const char *invoice_id,
                          const char *payment_id)
{
    if (len == 0)
        return -1;
    idw w = inv_prefix(out, len, tenant, invoice_id);
    put(&w, "/thanks/", 8);
    puts_(&w, payment_id);
    return idw_end(&w, out);
}

int sch_command_id_notice(char *out, size_t len, char kind, const char *tenant,
                          const char *invoice_id, const char *event_id)
{
    if (len == 0 || (kind != 'c' && kind != 'b' && kind != 'i'))
        return -1;
    idw w = inv_prefix(out, len, tenant, invoice_id);
    if (kind == 'c')
        put(&w, "/cease/", 7);
    else if (kind == 'b')
        put(&w, "/broken/", 8);
    else
        put(&w, "/claim/", 7);
    puts_(&w, event_id);
    return idw_end(&w, out);
}
_Static_assert(CT_TENANT_MAX + 5 + CT_ID_MAX + 8 + CT_ID_MAX <= CT_COMMAND_ID_MAX,
               "notice ids fit CT_COMMAND_ID_MAX");

void sch_notice_of(const sch_policy *pol, char kind, ct_channel *channel, const char **template_id)
{
    if (kind == 'b') {
        *channel = pol->promise_on_broken_channel;
        *template_id = pol->promise_on_broken_template;
    } else if (kind == 'i') {
        *channel = pol->interest.claim_channel;
        *template_id = pol->interest.claim_template;
    } else {
        *channel = (ct_channel)pol->contact.on_cease_channel;
        *template_id = pol->contact.on_cease_template;
    }
}

#define PLACED_SUFFIX "/placed"

/* The trace id of an event derived from a command: FNV-1a of the event id
 * and of the command id, 16 lower-case hex digits each. */
static void trace_of(char out[33], const char *event_id, size_t elen, const char *command_id,
                     size_t clen)
{
    static const char hx[] = "0123456789abcdef";
    uint64_t h[2] = {cm_fnv1a64(event_id, elen), cm_fnv1a64(command_id, clen)};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 16; i++)
            out[k * 16 + i] = hx[(h[k] >> (60 - 4 * i)) & 15];
    out[32] = 0;
}

static const char *locale_of(const sch_rec *cust, const sch_policy *pol)
{
    if (cust && cust->u.cust.locale[0])
        return cust->u.cust.locale;
    return pol->default_locale;
}

/* An invoice's line of a command as of the debtor's local day today
 * (without amounts). */
static ct_command_invoice line_of(const sch_rec *inv, int32_t today)
{
    const sch_inv *v = &inv->u.inv;
    return (ct_command_invoice){
        .invoice_id = inv->id,
        .number = v->number,
        .issued_on = v->issued,
        .due_on = v->due,
        .days_overdue = (int64_t)today - v->due,
        .currency = v->currency,
        .amount_minor = v->amount,
        .outstanding_minor = sch_inv_outstanding(v),
    };
}

/* The fields every command has: one invoice, its debtor, the amounts. */
static void base(ct_command *c, const sch_rec *inv, const sch_rec *cust, const sch_policy *pol,
                 const cm_tz *tz, const char *id, int64_t scheduled, int64_t now)
{
    const sch_inv *v = &inv->u.inv;
    int32_t today;
    int minute;
    int64_t principal = sch_inv_outstanding(v);
    cm_tz_local(tz, scheduled, &today, &minute); /* as of the step's instant, not the fire's */
    c->v = CT_VERSION;
    c->command_id = id;
    c->tenant = inv->tenant;
    c->locale = locale_of(cust, pol);
    c->strategy = v->strategy;
    c->variant = v->variant;
    c->segment = NULL; /* the rule that chose the strategy (docs/policy.md) */
    for (int i = 0; i < pol->nstrategies && !c->segment; i++)
        if (!strcmp(pol->strategies[i].name, v->strategy))
            c->segment = v->unmatched ? "none" : pol->strategies[i].segment_text;
    c->created_at_ms = now;
    c->scheduled_at_ms = scheduled;
    /* the stored contact is compact JSON written by ev_customer */
    c->customer_json = cust && cust->u.cust.contact && cust->u.cust.contact[0] == '{'
                           ? cust->u.cust.contact
                           : NULL;
    memset(&c->customer, 0, sizeof c->customer);
    c->customer.customer_id = v->customer;
    c->currency = v->currency;
    c->amounts = (ct_command_amounts){principal, 0, 0, 0, principal};
    c->has_offer = c->has_interest_basis = c->has_risk = 0;
    c->ntotals = 0;
    c->has_plan = 0;
    if (pol->risk_in_commands) { /* the debtor's score and why (docs/risk.md) */
        cm_risk_result rr;
        sch_debtor_risk(pol, cust ? &cust->u.cust : NULL, today, &rr);
        c->has_risk = 1;
        c->risk.score = rr.score;
        c->risk.band = cm_risk_band_name(rr.band);
        c->risk.n = 0;
        for (int i = 0; i < CM_RISK_NFACTORS && i < CT_RISK_FACTORS_MAX; i++) {
            c->risk.c[i].factor = cm_risk_factor_name(rr.contrib[i].factor);
            c->risk.c[i].value = rr.contrib[i].value;
            c->risk.c[i].points = rr.contrib[i].points;
            c->risk.n++;
        }
    }
    sch_amounts am;
    sch_interest_result ir;
    char e[256];
    int money = (pol->interest.enabled || v->fees > 0) &&
                sch_inv_amounts(pol, inv, cust, today, &am, &ir, e, sizeof e) == 0;
    if (money) {
        c->amounts = (ct_command_amounts){am.principal, am.fees, am.interest, am.compensation,
                                          sch_amounts_total(&am)};
        const sch_interest_rule *rule = sch_inv_interest_rule(pol, cust);
        if (am.interest > 0 && rule) {
            c->has_interest_basis = 1;
            c->interest_basis.scheme = sch_scheme_wire(rule->scheme);
            /* the rate in force now (EU: this half-year's) */
            c->interest_basis.rate_e4 =
                ir.nperiods > 0 ? ir.periods[ir.nperiods - 1].rate : ir.rate;
            c->interest_basis.country =
                cust && cust->u.cust.country[0] ? cust->u.cust.country : NULL;
        }
    }
    c->ninvoices = 1;
    c->invoices[0] = line_of(inv, today);
    c->invoices[0].has_amounts = money;
    c->invoices[0].amounts = c->amounts;
    c->has_step = c->has_not_after = c->has_payment = 0;
    c->has_reply = 0;
    c->link_valid_days = pol->link_valid_days; /* 0: the policy has no "links" */
    c->nrules = 0;
    c->step = c->attempt = c->level = 0;
    c->step_name = NULL;
    c->not_after_ms = 0;
}

/* The command's "rules": the contact rules that moved this send
 * (inv->moved_rules, "r;r;"), copied into buf; c->rules point into it. */
static void set_rules(ct_command *c, const sch_rec *inv, char *buf, size_t len)
{
    const char *mr = inv->u.inv.moved_rules;
    c->nrules = 0;
    if (!mr || !*mr)
        return;
    cm_strlcpy(buf, mr, len);
    for (char *p = buf; *p && c->nrules < CT_COMMAND_RULES_MAX;) {
        char *semi = strchr(p, ';');
        if (semi)
            *semi = 0;
        if (*p && strlen(p) <= CT_COMMAND_RULE_MAX)
            c->rules[c->nrules++] = p;
        if (!semi)
            break;
        p = semi + 1;
    }
}

/* Encodes c into a new string (NULL on out of memory). */
static char *encode(const ct_command *c)
{
    cm_buf b = CM_BUF_INIT;
    if (ct_command_encode(c, &b) < 0) {
        cm_buf_free(&b);
        return NULL;
    }
    return cm_buf_take(&b, NULL);
}

char *sch_command_step(const sch_rec *inv, const sch_rec *cust, const sch_policy *pol,
                       const cm_tz *tz, const sch_step *st, int step_idx, int64_t scheduled,
                       int64_t now)
{
    char id[SCH_CMD_ID_LEN];
    ct_command c; /* not zeroed: base() sets every field encode reads */
    if (sch_command_id_step(id, sizeof id, inv->tenant, inv->id, step_idx, inv->u.inv.attempt) < 0)
        return NULL;
    char rules[CT_COMMAND_RULES_MAX * (CT_COMMAND_RULE_MAX + 1) + 1];
    base(&c, inv, cust, pol, tz, id, scheduled, now);
    set_rules(&c, inv, rules, sizeof rules);
    c.kind = st->kind;
    c.channel = st->channel;
    c.template_id = st->template_id;
    c.has_step = 1;
    c.step = step_idx;
    c.step_name = st->name;
    c.attempt = inv->u.inv.attempt;
    c.has_not_after = st->valid_for_ms > 0;
    c.not_after_ms = scheduled + st->valid_for_ms;
    c.level = st->level;
    const sch_inv *v = &inv->u.inv;
    if (st->offer.kind == SCH_OFFER_PLAN) { /* plans to choose from, on what is owed now */
        int32_t day;
        int minute;
        cm_tz_local(tz, scheduled, &day, &minute);
        if (sch_plan_offers(&st->offer, v->currency, c.amounts.total, day, &c.offer) > 0)
            c.has_offer = 1;
    } else if (st->offer.kind != SCH_OFFER_NONE && (v->offer_kind == 'd' || v->offer_kind == 's')) {
        /* made by this step (apply.c) */
        c.has_offer = 1;
        c.offer.kind = v->offer_kind == 'd' ? CT_OFFER_DISCOUNT : CT_OFFER_SETTLEMENT;
        c.offer.amount_minor = v->offer_pay;
        c.offer.forgiven_minor = v->offer_forgiven;
        c.offer.valid_until = v->offer_until;
    }
    return encode(&c);
}

int sch_command_id_group(char *out, size_t len, const char *tenant, const char *customer,
                         ct_channel channel, int32_t day, const sch_group_item *items, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    char date[16], digits[17];
    cm_buf b = CM_BUF_INIT;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        cm_buf_adds(&b, items[i].inv->id);
        cm_buf_addc(&b, ' ');
        cm_buf_int(&b, items[i].step);
        cm_buf_addc(&b, ' ');
        cm_buf_int(&b, items[i].attempt);
        cm_buf_addc(&b, '\n');
    }
    if (b.oom) {
        cm_buf_free(&b);
        out[0] = 0;
        return -1;
    }
    uint64_t h = cm_fnv1a64(b.p, b.len);
    cm_buf_free(&b);
    for (int i = 0; i < 16; i++)
        digits[i] = hx[(h >> (60 - 4 * i)) & 15];
    digits[16] = 0;
    cm_date_format(day, date, sizeof date);
    idw w = {out, out + len - 1, 0};
    puts_(&w, tenant);
    put(&w, "/cust/", 6);
    puts_(&w, customer);
    put(&w, "/", 1);
    puts_(&w, ct_channel_name(channel));
    put(&w, "/", 1);
    puts_(&w, date);
    put(&w, "/", 1);
    puts_(&w, digits);
    return idw_end(&w, out);
}
/* tenant, customer id, "/cust/", a channel (at most 9), a date, a hash */
_Static_assert(CT_TENANT_MAX + 6 + CT_ID_MAX + 1 + 9 + 1 + 10 + 1 + 16 <= CT_COMMAND_ID_MAX,
               "grouped command ids fit CT_COMMAND_ID_MAX");

/* Adds a to t. */
static void amounts_add(ct_command_amounts *t, const ct_command_amounts *a)
{
    t->principal += a->principal;
    t->fees += a->fees;
    t->interest += a->interest;
    t->compensation += a->compensation;
    t->total += a->total;
}

char *sch_command_group(const sch_group_item *items, size_t n, const sch_rec *cust,
                        const sch_policy *pol, const cm_tz *tz, const char *id, int64_t now)
{
    ct_command *c = NULL, *one = NULL;
    char *out = NULL;
    char(*rules)[CT_COMMAND_RULES_MAX * (CT_COMMAND_RULE_MAX + 1) + 1] = NULL;
    size_t firm = 0, used = 0;
    if (n == 0 || n > CT_LIST_MAX)
        return NULL;
    c = malloc(sizeof *c);
    one = malloc(sizeof *one);
    rules = calloc(1, sizeof *rules);
    if (!c || !one || !rules)
        goto cleanup;
    for (size_t i = 1; i < n; i++)
        if (items[i].st.offset_days > items[firm].st.offset_days)
            firm = i;
    int64_t first = items[0].scheduled;
    for (size_t i = 1; i < n; i++)
        if (items[i].scheduled < first)
            first = items[i].scheduled;
    base(c, items[firm].inv, cust, pol, tz, id, first, now);
    const sch_step *fs = &items[firm].st;
    c->kind = fs->kind;
    c->channel = fs->channel;
    c->template_id = fs->template_id;
    c->has_step = 1;
    c->step = items[firm].step;
    c->step_name = fs->name;
    c->attempt = items[firm].attempt;
    c->level = fs->level;
    c->has_not_after = 0;
    c->ninvoices = 0;
    c->ntotals = 0;
    for (size_t i = 0; i < n; i++) {
        const sch_group_item *it = &items[i];
        base(one, it->inv, cust, pol, tz, id, first, now);
        ct_command_invoice *in = &c->invoices[c->ninvoices++];
        *in = one->invoices[0];
        in->has_step = 1;
        in->step = it->step;
        in->step_name = it->st.name;
        in->attempt = it->attempt;
        if (!c->has_interest_basis && one->has_interest_basis) {
            c->has_interest_basis = 1;
            c->interest_basis = one->interest_basis;
        }
        if (it->st.valid_for_ms > 0 &&
            (!c->has_not_after || it->scheduled + it->st.valid_for_ms < c->not_after_ms)) {
            c->has_not_after = 1;
            c->not_after_ms = it->scheduled + it->st.valid_for_ms;
        }
        size_t k = 0;
        while (k < c->ntotals && strcmp(c->totals[k].currency, in->currency) != 0)
            k++;
        if (k == c->ntotals) {
            if (k == CT_TOTALS_MAX)
                continue; /* the contract's limit; ingest allows few currencies */
            c->totals[k].currency = in->currency;
            memset(&c->totals[k].amounts, 0, sizeof c->totals[k].amounts);
            c->ntotals++;
        }
        amounts_add(&c->totals[k].amounts, &one->amounts);
        /* the rules that moved any of them, each once */
        const char *r = it->rules;
        while (r && *r) {
            const char *semi = strchr(r, ';');
            size_t l = semi ? (size_t)(semi - r) : strlen(r);
            char name[CT_COMMAND_RULE_MAX + 1];
            int seen = l == 0 || l > CT_COMMAND_RULE_MAX;
            if (!seen) {
                memcpy(name, r, l);
                name[l] = 0;
                for (size_t q = 0; q < c->nrules && !seen; q++)
                    seen = !strcmp(c->rules[q], name);
            }
            if (!seen && c->nrules < CT_COMMAND_RULES_MAX) {
                char *dst = *rules + used;
                memcpy(dst, name, l + 1);
                used += l + 1;
                c->rules[c->nrules++] = dst;
            }
            r = semi ? semi + 1 : NULL;
        }
    }
    c->currency = items[firm].inv->u.inv.currency;
    memset(&c->amounts, 0, sizeof c->amounts);
    for (size_t k = 0; k < c->ntotals; k++)
        if (!strcmp(c->totals[k].currency, c->currency))
            c->amounts = c->totals[k].amounts;
    out = encode(c);
cleanup:
    free(rules);
    free(one);
    free(c);
    return out;
}

char *sch_command_instalment(const sch_rec *inv, const sch_rec *const *open, size_t n,
                             const sch_rec *cust, const sch_policy *pol, const cm_tz *tz,
                             const sch_step *st, int step, const sch_plan_pos *pos,
                             int64_t scheduled, int64_t now, char *id, size_t idlen)
{
    const sch_cust *cu = &cust->u.cust;
    ct_command *c = NULL, *one = NULL;
    char *out = NULL;
    char rules[CT_COMMAND_RULES_MAX * (CT_COMMAND_RULE_MAX + 1) + 1];
    idw w = {id, id + idlen - 1, 0};
    puts_(&w, inv->tenant);
    put(&w, "/plan/", 6);
    puts_(&w, cu->plan.id);
    put(&w, "/instalment/", 12);
    put_int(&w, pos->k + 1);
    put(&w, "/step/", 6);
    put_int(&w, step);
    if (idlen == 0 || idw_end(&w, id) < 0 || n == 0)
        return NULL;
    c = malloc(sizeof *c);
    one = malloc(sizeof *one);
    if (!c || !one)
        goto cleanup;
    base(c, inv, cust, pol, tz, id, scheduled, now);
    set_rules(c, inv, rules, sizeof rules);
    c->kind = st->kind;
    c->channel = st->channel;
    c->template_id = st->template_id;
    c->has_step = 1;
    c->step = step;
    c->step_name = st->name;
    c->attempt = pos->k + 1;
    c->has_not_after = st->valid_for_ms > 0;
    c->not_after_ms = scheduled + st->valid_for_ms;
    c->ninvoices = 0;
    for (size_t i = 0; i < n && i < CT_LIST_MAX; i++) {
        base(one, open[i], cust, pol, tz, id, scheduled, now);
        c->invoices[c->ninvoices++] = one->invoices[0];
    }
    c->currency = cu->plan.currency;
    int64_t left = pos->amount - pos->paid;
    c->amounts = (ct_command_amounts){left, 0, 0, 0, left};
    c->has_interest_basis = 0;
    c->has_plan = 1;
    c->plan = (ct_command_plan){.plan_id = cu->plan.id,
                                .instalment = pos->k + 1,
                                .instalments = pos->n,
                                .due_on = pos->due,
                                .amount_minor = pos->amount,
                                .paid_minor = pos->paid,
                                .total_minor = cu->plan.total,
                                .total_paid_minor = cu->plan.paid};
    out = encode(c);
cleanup:
    free(one);
    free(c);
    return out;
}

char *sch_command_notice(const sch_rec *inv, char kind, const sch_rec *cust, const sch_policy *pol,
                         const cm_tz *tz, int64_t scheduled, int64_t now)
{
    char id[SCH_CMD_ID_LEN], rules[CT_COMMAND_RULES_MAX * (CT_COMMAND_RULE_MAX + 1) + 1];
    ct_command c;
    if (sch_command_id_notice(id, sizeof id, kind, inv->tenant, inv->id, inv->u.inv.notice_id) < 0)
        return NULL;
    base(&c, inv, cust, pol, tz, id, scheduled, now);
    set_rules(&c, inv, rules, sizeof rules);
    sch_notice_of(pol, kind, &c.channel, &c.template_id);
    c.kind = kind == 'i'                 ? CT_KIND_INTEREST_CLAIM
             : c.channel == CT_CH_LETTER ? CT_KIND_LETTER
                                         : CT_KIND_REMINDER;
    return encode(&c);
}

char *sch_command_review(const char *tenant, const char *customer_id, const sch_rec *cust,
                         const sch_rec *const *open, size_t n, const sch_policy *pol,
                         const cm_tz *tz, const ct_event *reply, int64_t now, char *id,
                         size_t idlen)
{
    unsigned char h[32];
    char hex[65];
    cm_sha256(reply->id, strlen(reply->id), h);
    cm_hex(h, 8, hex);
    hex[16] = 0;
    if (snprintf(id, idlen, "%s/cust/%s/reply/%s", tenant, customer_id, hex) >= (int)idlen)
        return NULL;
    ct_command c;
    if (n > 0) {
        base(&c, open[0], cust, pol, tz, id, now, now);
    } else { /* no open invoice: the debtor alone */
        memset(&c, 0, sizeof c);
        c.v = CT_VERSION;
        c.command_id = id;
        c.tenant = tenant;
        c.locale = locale_of(cust, pol);
        c.created_at_ms = c.scheduled_at_ms = now;
        c.customer_json = cust && cust->u.cust.contact && cust->u.cust.contact[0] == '{'
                              ? cust->u.cust.contact
                              : NULL;
        c.customer.customer_id = customer_id;
    }
    c.strategy = c.variant = ""; /* no ladder */
    c.segment = NULL;
    c.nrules = 0;
    int32_t today;
    int minute;
    cm_tz_local(tz, now, &today, &minute);
    for (size_t i = 1; i < n && c.ninvoices < CT_LIST_MAX; i++)
        c.invoices[c.ninvoices++] = line_of(open[i], today);
    c.kind = CT_KIND_REVIEW;
    c.channel = CT_CH_CALL_TASK;
    c.template_id = "review";
    c.link_valid_days = pol->link_valid_days;
    c.has_reply = 1;
    c.reply = (ct_command_reply){reply->data.reply.channel, reply->data.reply.text, reply->id,
                                 reply->time_ms};
    return encode(&c);
}

char *sch_command_thanks(const sch_rec *inv, const sch_rec *cust, const sch_policy *pol,
                         const cm_tz *tz, int64_t scheduled, int64_t now)
{
    char id[SCH_CMD_ID_LEN];
    ct_command c;
    if (sch_command_id_thanks(id, sizeof id, inv->tenant, inv->id, inv->u.inv.thanks_pid) < 0)
        return NULL;
    char rules[CT_COMMAND_RULES_MAX * (CT_COMMAND_RULE_MAX + 1) + 1];
    base(&c, inv, cust, pol, tz, id, scheduled, now);
    set_rules(&c, inv, rules, sizeof rules);
    c.kind = CT_KIND_PAYMENT_THANKS;
    c.channel = pol->thanks_channel;
    c.template_id = pol->thanks_template;
    c.has_payment = 1;
    c.payment =
        (ct_command_payment){inv->u.inv.thanks_pid, inv->u.inv.thanks_amt, inv->u.inv.currency};
    return encode(&c);
}

/* The envelope of an event of the scheduler's about inv: v, id, source,
 * type, tenant, time (at), customer_id, trace_id (from id and src, the id
 * of what caused it) and data (stolen). NULL on out of memory (data is
 * then released). */
static json_t *event_new(const sch_rec *inv, ct_type type, const char *id, int64_t at,
                         const char *src, json_t *data)
{
    char t[40], trace[33];
    json_t *e = json_object();
    if (!e || !data) {
        json_decref(e);
        json_decref(data);
        return NULL;
    }
    cm_time_format_rfc3339(at, t, sizeof t);
    trace_of(trace, id, strlen(id), src, strlen(src));
    json_object_set_new(e, "v", json_integer(CT_VERSION));
    json_object_set_new(e, "id", json_string(id));
    json_object_set_new(e, "source", json_string(CT_SCHEDULER_SOURCE));
    json_object_set_new(e, "type", json_string(ct_type_name(type)));
    json_object_set_new(e, "tenant", json_string(inv->tenant));
    json_object_set_new(e, "time", json_string(t));
    json_object_set_new(e, "customer_id", json_string(inv->u.inv.customer));
    json_object_set_new(e, "trace_id", json_string(trace));
    json_object_set_new(e, "data", data); /* now owned by e */
    return e;
}

json_t *sch_event_placed(const sch_rec *inv, const char *case_id, int to, const char *invoices,
                         const char *currency, int64_t placed, int64_t net, const char *command_id,
                         int64_t at)
{
    char id[40];
    snprintf(id, sizeof id, "%s" PLACED_SUFFIX, case_id);
    json_t *d = json_object(), *ids = json_array();
    json_t *e = event_new(inv, CT_EV_ESCALATION_PLACED, id, at, command_id, d);
    if (!e || !ids) {
        json_decref(e);
        json_decref(ids);
        return NULL;
    }
    json_object_set_new(d, "case_id", json_string(case_id));
    json_object_set_new(d, "customer_id", json_string(inv->u.inv.customer));
    json_object_set_new(d, "to", json_string(ct_escalation_to_name((ct_escalation_to)to)));
    for (const char *s = invoices; *s == ',' && s[1];) { /* ",a,b," */
        const char *comma = strchr(s + 1, ',');
        if (!comma)
            break;
        json_array_append_new(ids, json_stringn(s + 1, (size_t)(comma - s - 1)));
        s = comma;
    }
    json_object_set_new(d, "invoice_ids", ids);
    json_object_set_new(d, "currency", json_string(currency));
    json_object_set_new(d, "placed_minor", json_integer(placed));
    json_object_set_new(d, "expected_net_minor", json_integer(net));
    json_object_set_new(d, "command_id", json_string(command_id));
    return e;
}

void sch_record_headers(char topic, const char *key, const char *id, sch_headers *h)
{
    h->n = 0;
    h->tenant[0] = h->trace[0] = 0;
    if (topic == 'x') { /* a case file: its id */
        h->name[0] = "case_id";
        h->value[0] = id;
        h->n = 1;
        return;
    }
    if (topic != 'e') {
        h->name[0] = CT_COMMAND_HEADER;
        h->value[0] = id;
        h->n = 1;
        return;
    }
    /* the scheduler's events are derived from a command: <command id><suffix> */
    size_t il = strlen(id), sl = sizeof PLACED_SUFFIX - 1;
    ct_type type = CT_EV_NONE;
    if (il > sl && memcmp(id + il - sl, PLACED_SUFFIX, sl) == 0)
        type = CT_EV_ESCALATION_PLACED;
    const char *slash = strchr(key, '/');
    size_t tl = slash ? (size_t)(slash - key) : strlen(key);
    if (tl > CT_TENANT_MAX)
        tl = CT_TENANT_MAX;
    memcpy(h->tenant, key, tl);
    h->tenant[tl] = 0;
    if (type != CT_EV_NONE) {
        trace_of(h->trace, id, il, id, il - sl);
        h->name[h->n] = "ce_type";
        h->value[h->n++] = ct_type_name(type);
    }
    h->name[h->n] = "ce_id";
    h->value[h->n++] = id;
    h->name[h->n] = "tenant";
    h->value[h->n++] = h->tenant;
    if (h->trace[0]) {
        h->name[h->n] = "trace_id";
        h->value[h->n++] = h->trace;
    }
    h->name[h->n] = "ce_source";
    h->value[h->n++] = CT_SCHEDULER_SOURCE;
}

char *sch_event_promise(const sch_rec *inv, ct_type type, int64_t at, char *id, size_t idlen)
{
    const sch_inv *v = &inv->u.inv;
    const char *suffix = type == CT_EV_PROMISE_KEPT ? "kept" : "broken";
    char day[16];
    if (strlen(v->promise_id) + 1 + strlen(suffix) <= CT_ID_MAX)
        snprintf(id, idlen, "%s/%s", v->promise_id, suffix);
    else
        snprintf(id, idlen, "promise/%016llx/%s",
                 (unsigned long long)cm_fnv1a64(v->promise_id, strlen(v->promise_id)), suffix);
    json_t *d = json_object(), *ids = json_array();
    json_t *e = event_new(inv, type, id, at, v->promise_id, d);
    if (!e || !ids) {
        json_decref(e);
        json_decref(ids);
        return NULL;
    }
    json_object_set_new(d, "customer_id", json_string(v->customer));
    cm_time_format_rfc3339((int64_t)v->promised_on * 86400000LL, day, sizeof day);
    day[10] = 0; /* YYYY-MM-DD */
    const char *s = v->promise_invoices ? v->promise_invoices : inv->id;
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        json_array_append_new(ids, json_stringn(s, n));
        s += n + (comma ? 1 : 0);
    }
    json_object_set_new(d, "invoice_ids", ids);
    json_object_set_new(d, "currency", json_string(v->currency));
    json_object_set_new(d, "amount_minor", json_integer(v->promise_amount));
    json_object_set_new(d, "promised_on", json_string(day));
    char *out = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    return out;
}

char *sch_event_plan(const sch_rec *inv, const sch_rec *cust, ct_type type, const sch_plan_pos *pos,
                     int64_t at, char *id, size_t idlen)
{
    const sch_cust *cu = &cust->u.cust;
    const char *suffix = type == CT_EV_PLAN_BROKEN ? "broken" : "completed";
    char day[16];
    if (strlen(cu->plan.id) + 1 + strlen(suffix) <= CT_ID_MAX)
        snprintf(id, idlen, "%s/%s", cu->plan.id, suffix);
    else
        snprintf(id, idlen, "plan/%016llx/%s",
                 (unsigned long long)cm_fnv1a64(cu->plan.id, strlen(cu->plan.id)), suffix);
    json_t *d = json_object(), *ids = json_array();
    json_t *e = event_new(inv, type, id, at, cu->plan.id, d);
    if (!e || !ids) {
        json_decref(e);
        json_decref(ids);
        return NULL;
    }
    json_object_set_new(d, "customer_id", json_string(inv->u.inv.customer));
    json_object_set_new(d, "plan_id", json_string(cu->plan.id));
    for (const char *s = cu->plan.invoices ? cu->plan.invoices : ""; *s;) { /* ",a,b," */
        const char *comma = strchr(s + 1, ',');
        if (!comma)
            break;
        if (comma > s + 1)
            json_array_append_new(ids, json_stringn(s + 1, (size_t)(comma - s - 1)));
        s = comma;
    }
    json_object_set_new(d, "invoice_ids", ids);
    json_object_set_new(d, "currency", json_string(cu->plan.currency));
    json_object_set_new(d, "total_minor", json_integer(cu->plan.total));
    json_object_set_new(d, "paid_minor", json_integer(cu->plan.paid));
    if (type == CT_EV_PLAN_BROKEN) {
        cm_date_format(pos->due, day, sizeof day);
        json_object_set_new(d, "instalment", json_integer(pos->k + 1));
        json_object_set_new(d, "due_on", json_string(day));
        json_object_set_new(d, "short_minor", json_integer(pos->amount - pos->paid));
    }
    char *out = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    return out;
}

char *sch_event_fee(const sch_rec *inv, ct_type type, const char *src, int64_t at, int64_t amount,
                    int arg, int32_t day, char *id, size_t idlen)
{
    const sch_inv *v = &inv->u.inv;
    const char *suffix = type == CT_EV_INVOICE_FEE_CHARGED         ? "fee"
                         : (ct_waiver)arg == CT_WAIVER_PAID_WITHIN ? "fee_waived_within"
                                                                   : "fee_waived";
    if (strlen(src) + 1 + strlen(suffix) <= CT_ID_MAX)
        snprintf(id, idlen, "%s/%s", src, suffix);
    else
        snprintf(id, idlen, "fee/%016llx/%s", (unsigned long long)cm_fnv1a64(src, strlen(src)),
                 suffix);
    json_t *d = json_object();
    json_t *e = event_new(inv, type, id, at, src, d);
    if (!e)
        return NULL;
    json_object_set_new(d, "customer_id", json_string(v->customer));
    json_object_set_new(d, "invoice_id", json_string(inv->id));
    json_object_set_new(d, "currency", json_string(v->currency));
    json_object_set_new(d, "amount_minor", json_integer(amount));
    if (type == CT_EV_INVOICE_FEE_CHARGED) {
        char on[40];
        cm_time_format_rfc3339((int64_t)day * 86400000LL, on, sizeof on);
        on[10] = 0; /* YYYY-MM-DD */
        json_object_set_new(d, "step", json_integer(arg));
        json_object_set_new(d, "charged_on", json_string(on));
    } else {
        json_object_set_new(d, "reason", json_string(ct_waiver_name((ct_waiver)arg)));
    }
    char *out = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    return out;
}

char *sch_event_settled(const sch_rec *inv, const char *src, int64_t at, int64_t forgiven, char *id,
                        size_t idlen)
{
    const sch_inv *v = &inv->u.inv;
    if (strlen(src) + 8 <= CT_ID_MAX)
        snprintf(id, idlen, "%s/settled", src);
    else
        snprintf(id, idlen, "settle/%016llx/settled",
                 (unsigned long long)cm_fnv1a64(src, strlen(src)));
    json_t *d = json_object();
    json_t *e = event_new(inv, CT_EV_INVOICE_SETTLED, id, at, src, d);
    if (!e)
        return NULL;
    json_object_set_new(d, "customer_id", json_string(v->customer));
    json_object_set_new(d, "invoice_id", json_string(inv->id));
    json_object_set_new(d, "currency", json_string(v->currency));
    json_object_set_new(d, "paid_minor", json_integer(v->offer_paid));
    json_object_set_new(d, "forgiven_minor", json_integer(forgiven));
    json_object_set_new(d, "offer",
                        json_string(ct_offer_kind_name(
                            v->offer_kind == 'd' ? CT_OFFER_DISCOUNT : CT_OFFER_SETTLEMENT)));
    char *out = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    return out;
}

char *sch_event_interest_claimed(const sch_rec *inv, const char *command_id, int64_t at,
                                 int64_t interest, int64_t compensation, ct_interest_scheme scheme,
                                 int days_late, char *id, size_t idlen)
{
    const sch_inv *v = &inv->u.inv;
    if (strlen(command_id) + 8 <= CT_ID_MAX)
        snprintf(id, idlen, "%s/claimed", command_id);
    else
        snprintf(id, idlen, "claim/%016llx/claimed",
                 (unsigned long long)cm_fnv1a64(command_id, strlen(command_id)));
    json_t *d = json_object();
    json_t *e = event_new(inv, CT_EV_INVOICE_INTEREST_CLAIMED, id, at, command_id, d);
    if (!e)
        return NULL;
    json_object_set_new(d, "customer_id", json_string(v->customer));
    json_object_set_new(d, "invoice_id", json_string(inv->id));
    json_object_set_new(d, "currency", json_string(v->currency));
    json_object_set_new(d, "interest_minor", json_integer(interest));
    json_object_set_new(d, "compensation_minor", json_integer(compensation));
    json_object_set_new(d, "scheme", json_string(ct_interest_scheme_name(scheme)));
    json_object_set_new(d, "days_late", json_integer(days_late));
    char *out = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    return out;
}

char *sch_decision_json(const sch_rec *inv, const sch_step *st, int step_idx, int attempt,
                        const char *rule, int64_t scheduled)
{
    cm_buf b = CM_BUF_INIT;
    char t[40];
    cm_time_format_rfc3339(scheduled, t, sizeof t);
    const char *s[][2] = {{"tenant", inv->tenant},
                          {"customer_id", inv->u.inv.customer},
                          {"invoice_id", inv->id},
                          {"rule", rule},
                          {"step_name", st->name},
                          {"channel", ct_channel_name(st->channel)},
                          {"kind", ct_kind_name(st->kind)},
                          {"template", st->template_id},
                          {"scheduled_at", t}};
    int bad = cm_buf_addc(&b, '{') < 0;
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        bad |= cm_buf_adds(&b, i ? ",\"" : "\"") < 0 || cm_buf_adds(&b, s[i][0]) < 0 ||
               cm_buf_adds(&b, "\":") < 0 || cm_buf_json_str(&b, s[i][1], strlen(s[i][1])) < 0;
    }
    if (step_idx >= 0) /* a ladder step; a payment thanks has neither */
        bad |= cm_buf_adds(&b, ",\"step\":") < 0 || cm_buf_int(&b, step_idx) < 0 ||
               cm_buf_adds(&b, ",\"attempt\":") < 0 || cm_buf_int(&b, attempt) < 0;
    bad |= cm_buf_addc(&b, '}') < 0;
    if (bad) {
        cm_buf_free(&b);
        return NULL;
    }
    return cm_buf_take(&b, NULL);
}
