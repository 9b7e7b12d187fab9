/* command_decode.c -- the command decoder (command.h) and the member
 * getters libcontract's decoders share (decode.h).
 *
 * Design: ct_command_decode reads the members in docs/contracts.md order
 * with the getters below, which record the first problem and go on, so a
 * rejected command is decoded as far as it is valid. The rules are those
 * of the contract (limits CT_*, names of kinds and channels) plus what a
 * channel needs to be delivered at all: a template name that is safe as a
 * file name and an email address (email) or E.164 number (sms). Unknown
 * members are ignored (fields are added, never renamed). Issue 14's
 * members, when present, are checked whole: per-invoice amounts and offer
 * amounts >= 0, known offer kinds and schemes, dates, decimal rates; so
 * are issue 16's plan members (amounts >= 0, the instalment within the
 * plan's, a date), and issue 17's link_valid_days (an integer 1..365). */
#include "command.h"

#include "clock.h"
#include "decode.h"
#include "event.h"
#include "internal.h"

#include <stdio.h>
#include <string.h>

/* ---- getters (decode.h) ------------------------------------------------ */

void ct_dec_fail(ct_dec *d, const char *name, const char *rule)
{
    if (d->failed)
        return;
    d->failed = 1;
    snprintf(d->err, d->errlen, "%s%s%s: %s", d->path, d->path[0] ? "." : "", name, rule);
}

/* The member, or NULL when absent or JSON null. */
static const cm_jv *member(const ct_dec *d, const char *name)
{
    const cm_jv *v = cm_jv_get(d->obj, name);
    return v && v->type != CM_JV_NULL ? v : NULL;
}

const char *ct_dec_str(ct_dec *d, const char *name, int required, size_t max, int flags)
{
    const cm_jv *v = member(d, name);
    char rule[96];
    if (!v) {
        if (required)
            ct_dec_fail(d, name, "required");
        return NULL;
    }
    const char *s = ct_jv_str(v);
    size_t n = ct_jv_strlen(v);
    if (s && n == 0 && !required)
        return s;                  /* an optional member may be empty */
    if (!s || n == 0 || n > max) { /* the reader refuses \u0000 */
        snprintf(rule, sizeof rule, "must be a string of 1..%zu bytes", max);
        ct_dec_fail(d, name, rule);
        return NULL;
    }
    for (size_t i = 0; flags && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || (c == ' ' && (flags & CT_DEC_TOKEN))) {
            ct_dec_fail(d, name,
                        flags & CT_DEC_TOKEN ? "must not contain spaces or control characters"
                                             : "must not contain control characters");
            return NULL;
        }
    }
    return s;
}

int ct_dec_int(ct_dec *d, const char *name, int required, int64_t *out)
{
    const cm_jv *v = member(d, name);
    if (!v) {
        if (required)
            ct_dec_fail(d, name, "required");
        return 0;
    }
    if (v->type != CM_JV_INT) {
        ct_dec_fail(d, name, "must be an integer");
        return -1;
    }
    *out = v->u.i;
    return 1;
}

int ct_dec_instant(ct_dec *d, const char *name, int required, int64_t *ms)
{
    const char *s = ct_dec_str(d, name, required, 64, CT_DEC_TOKEN);
    if (!s)
        return member(d, name) ? -1 : 0;
    if (cm_time_parse_rfc3339(s, ms) < 0) {
        ct_dec_fail(d, name, "not an RFC 3339 instant");
        return -1;
    }
    return 1;
}

int ct_dec_date(ct_dec *d, const char *name, int required, int32_t *day)
{
    const char *s = ct_dec_str(d, name, required, 10, CT_DEC_TOKEN);
    if (!s)
        return member(d, name) ? -1 : 0;
    if (strlen(s) != 10 || cm_date_parse(s, day) != 0) {
        ct_dec_fail(d, name, "not a date (YYYY-MM-DD)");
        return -1;
    }
    return 1;
}

const cm_jv *ct_dec_object(ct_dec *d, const char *name, int required)
{
    const cm_jv *v = member(d, name);
    if (!v) {
        if (required)
            ct_dec_fail(d, name, "required");
        return NULL;
    }
    if (v->type != CM_JV_OBJECT) {
        ct_dec_fail(d, name, "must be an object");
        return NULL;
    }
    return v;
}

const cm_jv *ct_dec_array(ct_dec *d, const char *name, int required)
{
    const cm_jv *v = member(d, name);
    char rule[64];
    if (!v) {
        if (required)
            ct_dec_fail(d, name, "required");
        return NULL;
    }
    if (v->type != CM_JV_ARRAY) {
        ct_dec_fail(d, name, "must be a list");
        return NULL;
    }
    if (v->n > CT_LIST_MAX) {
        snprintf(rule, sizeof rule, "more than %d items", CT_LIST_MAX);
        ct_dec_fail(d, name, rule);
        return NULL;
    }
    return v;
}

/* ---- the command ------------------------------------------------------- */

/* "a, b or c" of every name of a table, for the error of an unknown one. */
static void names_of(const char *const *names, int n, char *out, size_t outlen)
{
    size_t o = 0;
    out[0] = 0;
    for (int i = 0; i < n && o < outlen; i++)
        o += (size_t)snprintf(out + o, outlen - o, "%s%s",
                              i == 0       ? ""
                              : i == n - 1 ? " or "
                                           : ", ",
                              names[i]);
}

/* A required member naming one of names[0..count): its index, or -1
 * (absent, or "must be a, b or c" recorded). */
static int d_enum(ct_dec *d, const char *name, const char *const *names, int count)
{
    char rule[160];
    const char *v = ct_dec_str(d, name, 1, CT_TYPE_MAX, CT_DEC_TOKEN);
    int i = v ? ct_name_lookup(names, count, v, strlen(v)) : -1;
    if (i < 0 && v) {
        snprintf(rule, sizeof rule, "must be ");
        names_of(names, count, rule + 8, sizeof rule - 8);
        ct_dec_fail(d, name, rule);
    }
    return i;
}

static void d_customer(ct_dec *d, ct_command_customer *c)
{
    c->customer_id = ct_dec_str(d, "customer_id", 1, CT_ID_MAX, CT_DEC_NOCTL);
    c->name = ct_dec_str(d, "name", 0, CT_TEXT_MAX, 0);
    c->email = ct_dec_str(d, "email", 0, CT_TEXT_MAX, CT_DEC_NOCTL);
    c->phone = ct_dec_str(d, "phone", 0, CT_TYPE_MAX, CT_DEC_NOCTL);
    c->timezone = ct_dec_str(d, "timezone", 0, CT_TYPE_MAX, CT_DEC_TOKEN);
    c->locale = ct_dec_str(d, "locale", 0, CT_TYPE_MAX, CT_DEC_TOKEN);
    c->country = ct_dec_str(d, "country", 0, CT_TYPE_MAX, CT_DEC_TOKEN);
}

static int64_t minor(ct_dec *d, const char *name)
{
    int64_t v = CT_MINOR_NONE;
    if (ct_dec_int(d, name, 0, &v) != 1)
        return CT_MINOR_NONE;
    return v;
}

/* A required integer member >= 0 (issue 14's amounts and offers). */
static int64_t nonneg(ct_dec *d, const char *name)
{
    int64_t v = 0;
    int r = ct_dec_int(d, name, 1, &v);
    if (r == -1 || (r == 1 && v < 0)) {
        if (r == 1)
            ct_dec_fail(d, name, "must be an integer >= 0");
        return 0;
    }
    return v;
}

/* Issue 14's "amounts" of one invoice: every member, each >= 0. */
static void d_inv_amounts(ct_dec *d, const char *path, ct_command_invoice *in)
{
    const cm_jv *am = ct_dec_object(d, "amounts", 0);
    if (!am)
        return;
    char sub[48];
    snprintf(sub, sizeof sub, "%s.amounts", path);
    ct_dec ad = {am, sub, d->err, d->errlen, d->failed};
    in->has_amounts = 1;
    in->amounts.principal = nonneg(&ad, "principal");
    in->amounts.fees = nonneg(&ad, "fees");
    in->amounts.interest = nonneg(&ad, "interest");
    in->amounts.compensation = nonneg(&ad, "compensation");
    in->amounts.total = nonneg(&ad, "total");
    d->failed |= ad.failed;
}

/* "offer".plans (issue 16): 1..CT_OFFER_PLANS_MAX plans, each 2..12
 * instalments with rising due dates and amounts > 0 summing to the
 * offer's amount_minor. */
static void d_offer_plans(ct_dec *od, ct_command_offer *of)
{
    const cm_jv *a = ct_dec_array(od, "plans", 1);
    if (!a)
        return;
    if (a->n == 0 || a->n > CT_OFFER_PLANS_MAX) {
        ct_dec_fail(od, "plans", "must hold 1 to 11 plans");
        return;
    }
    size_t i = 0;
    for (const cm_jv *p = a->u.first; p; p = p->next, i++) {
        char path[48], rule[96];
        snprintf(path, sizeof path, "offer.plans[%zu]", i);
        ct_dec pd = {p, path, od->err, od->errlen, od->failed};
        const cm_jv *ins = p->type == CM_JV_OBJECT ? ct_dec_array(&pd, "instalments", 1) : NULL;
        if (!ins || ins->n < 2 || ins->n > CT_OFFER_PLAN_INSTALMENTS_MAX) {
            ct_dec_fail(&pd, "instalments", "must be 2 to 12 instalments {due_on, amount_minor}");
            od->failed |= pd.failed;
            continue;
        }
        int64_t sum = 0;
        of->plans[of->nplans].n = 0;
        size_t k = 0;
        for (const cm_jv *it = ins->u.first; it; it = it->next, k++) {
            char ip[sizeof path + 48]; /* path, ".instalments[", a size_t, "]" */
            snprintf(ip, sizeof ip, "%s.instalments[%zu]", path, k);
            ct_dec id = {it, ip, od->err, od->errlen, pd.failed};
            int32_t due = CT_DAY_NONE;
            int64_t amt = 0;
            if (it->type != CM_JV_OBJECT || ct_dec_date(&id, "due_on", 1, &due) != 1 ||
                ct_dec_int(&id, "amount_minor", 1, &amt) != 1 || amt <= 0) {
                ct_dec_fail(&id, "amount_minor",
                            "each instalment needs a due_on and an amount > 0");
            } else if (k > 0 && due <= of->plans[of->nplans].inst[k - 1].due_on) {
                ct_dec_fail(&id, "due_on", "must be after the instalment before");
            }
            of->plans[of->nplans].inst[k].due_on = due;
            of->plans[of->nplans].inst[k].amount_minor = amt;
            of->plans[of->nplans].n++;
            sum += amt;
            pd.failed |= id.failed;
        }
        if (!pd.failed && sum != of->amount_minor) {
            snprintf(rule, sizeof rule,
                     "the instalments must sum to offer.amount_minor (%lld, not %lld)",
                     (long long)of->amount_minor, (long long)sum);
            ct_dec_fail(&pd, "instalments", rule);
        }
        of->nplans++;
        od->failed |= pd.failed;
    }
}

/* "offer" (issue 14). */
static void d_offer(ct_dec *d, ct_command *c)
{
    const cm_jv *o = ct_dec_object(d, "offer", 0);
    if (!o)
        return;
    ct_dec od = {o, "offer", d->err, d->errlen, d->failed};
    c->has_offer = 1;
    c->offer.kind = (ct_offer_kind)d_enum(&od, "kind", ct_offer_kind_names, CT_OFFER_COUNT);
    c->offer.amount_minor = nonneg(&od, "amount_minor");
    c->offer.forgiven_minor = nonneg(&od, "forgiven_minor");
    c->offer.valid_until = CT_DAY_NONE;
    if (ct_dec_date(&od, "valid_until", 1, &c->offer.valid_until) != 1)
        c->offer.valid_until = CT_DAY_NONE;
    c->offer.nplans = 0;
    if (c->offer.kind == CT_OFFER_PLAN)
        d_offer_plans(&od, &c->offer);
    d->failed |= od.failed;
}

/* "interest_basis" (issue 14). */
static void d_interest_basis(ct_dec *d, ct_command *c)
{
    const cm_jv *o = ct_dec_object(d, "interest_basis", 0);
    if (!o)
        return;
    ct_dec bd = {o, "interest_basis", d->err, d->errlen, d->failed};
    ct_command_interest_basis *b = &c->interest_basis;
    c->has_interest_basis = 1;
    b->scheme = (ct_interest_scheme)d_enum(&bd, "scheme", ct_scheme_names, CT_SCHEME_COUNT);
    const char *pct = ct_dec_str(&bd, "annual_pct", 1, CT_PCT_MAX, CT_DEC_TOKEN);
    if (pct && ct_annual_pct_parse(pct, &b->rate_e4) != 0)
        ct_dec_fail(&bd, "annual_pct",
                    "must be a decimal percentage >= 0 with at most 4 decimals (\"13.25\")");
    b->country = ct_dec_str(&bd, "country", 0, 2, CT_DEC_TOKEN);
    d->failed |= bd.failed;
}

static void d_invoice(ct_dec *d, ct_command_invoice *in)
{
    in->invoice_id = ct_dec_str(d, "invoice_id", 1, CT_ID_MAX, CT_DEC_NOCTL);
    in->number = ct_dec_str(d, "number", 0, CT_TEXT_MAX, 0);
    in->issued_on = in->due_on = CT_DAY_NONE;
    if (ct_dec_date(d, "issued_on", 0, &in->issued_on) != 1)
        in->issued_on = CT_DAY_NONE;
    if (ct_dec_date(d, "due_on", 0, &in->due_on) != 1)
        in->due_on = CT_DAY_NONE;
    in->days_overdue = minor(d, "days_overdue");
    in->currency = ct_dec_str(d, "currency", 0, 3, CT_DEC_TOKEN);
    in->amount_minor = minor(d, "amount_minor");
    in->outstanding_minor = minor(d, "outstanding_minor");
    d_inv_amounts(d, d->path, in);
    int64_t v;
    in->has_step = 0;
    if (ct_dec_int(d, "step", 0, &v) == 1) {
        if (v < 0 || v > 1000000)
            ct_dec_fail(d, "step", "must be 0..1000000");
        in->has_step = 1;
        in->step = (int)v;
        in->step_name = ct_dec_str(d, "step_name", 0, CT_TEXT_MAX, 0);
        in->attempt = ct_dec_int(d, "attempt", 0, &v) == 1 ? (int)v : 0;
    }
}

/* "totals" (issue 15): per currency, amounts each >= 0. */
static void d_totals(ct_dec *d, ct_command *c)
{
    const cm_jv *a = ct_dec_array(d, "totals", 0);
    c->ntotals = 0;
    if (a && a->n > CT_TOTALS_MAX)
        ct_dec_fail(d, "totals", "more than 8 currencies");
    size_t i = 0;
    for (const cm_jv *it = a ? a->u.first : NULL; it && i < CT_TOTALS_MAX; it = it->next, i++) {
        char path[32], sub[48];
        snprintf(path, sizeof path, "totals[%zu]", i);
        if (it->type != CM_JV_OBJECT) {
            ct_dec_fail(d, "totals", "items must be objects");
            break;
        }
        ct_dec td = {it, path, d->err, d->errlen, d->failed};
        ct_command_total *t = &c->totals[c->ntotals++];
        t->currency = ct_dec_str(&td, "currency", 1, 3, CT_DEC_TOKEN);
        const cm_jv *am = ct_dec_object(&td, "amounts", 1);
        if (am) {
            snprintf(sub, sizeof sub, "%s.amounts", path);
            ct_dec ad = {am, sub, d->err, d->errlen, td.failed};
            t->amounts.principal = nonneg(&ad, "principal");
            t->amounts.fees = nonneg(&ad, "fees");
            t->amounts.interest = nonneg(&ad, "interest");
            t->amounts.compensation = nonneg(&ad, "compensation");
            t->amounts.total = nonneg(&ad, "total");
            td.failed |= ad.failed;
        }
        d->failed |= td.failed;
    }
}

/* What a channel needs to be delivered: rule 2 of the design note. */
static void d_deliverable(ct_dec *d, const cm_jv *cust, ct_command *c)
{
    const char *t = c->template_id;
    char rule[128];
    if ((c->channel == CT_CH_EMAIL || c->channel == CT_CH_SMS) &&
        (!t || !*t || strchr(t, '/') || t[0] == '.' || t[0] == '_')) {
        snprintf(rule, sizeof rule,
                 "required for %s; a name without '/', not starting with '.' or '_'",
                 ct_channel_name(c->channel));
        ct_dec_fail(d, "template", rule);
    }
    ct_dec cd = {cust, "customer", d->err, d->errlen, d->failed};
    const char *em = c->customer.email, *ph = c->customer.phone;
    if (c->channel == CT_CH_EMAIL && (!em || !strchr(em, '@') || strpbrk(em, " \t\r\n<>,;")))
        ct_dec_fail(&cd, "email", "required address for channel email");
    if (c->channel == CT_CH_SMS) {
        int ok = ph && ph[0] == '+' && strlen(ph) >= 8 && strlen(ph) <= 16;
        for (const char *p = ph ? ph + 1 : NULL; ok && *p; p++)
            ok = *p >= '0' && *p <= '9';
        if (!ok)
            ct_dec_fail(&cd, "phone", "required E.164 number for channel sms");
    }
    d->failed |= cd.failed;
}

/* "rules": CT_COMMAND_RULES_MAX names of printable ASCII at most. */
/* "risk" (issue 15). */
static void d_risk(ct_dec *d, ct_command *c)
{
    static const char *const bands[] = {"low", "medium", "high", "severe"};
    const cm_jv *o = ct_dec_object(d, "risk", 0);
    if (!o)
        return;
    ct_dec rd = {o, "risk", d->err, d->errlen, d->failed};
    ct_command_risk *r = &c->risk;
    int64_t score = 0;
    c->has_risk = 1;
    if (ct_dec_int(&rd, "score", 1, &score) == 1 && (score < 0 || score > 100))
        ct_dec_fail(&rd, "score", "must be an integer 0..100");
    r->score = (int)score;
    r->band = ct_dec_str(&rd, "band", 1, 16, CT_DEC_TOKEN);
    int known = 0;
    for (size_t i = 0; r->band && i < 4; i++)
        known |= strcmp(r->band, bands[i]) == 0;
    if (r->band && !known)
        ct_dec_fail(&rd, "band", "must be low, medium, high or severe");
    const cm_jv *a = ct_dec_array(&rd, "contributions", 1);
    if (a && a->n > CT_RISK_FACTORS_MAX)
        ct_dec_fail(&rd, "contributions", "too many items");
    size_t i = 0;
    for (const cm_jv *it = a ? a->u.first : NULL; it && i < CT_RISK_FACTORS_MAX;
         it = it->next, i++) {
        char path[48];
        snprintf(path, sizeof path, "risk.contributions[%zu]", i);
        if (it->type != CM_JV_OBJECT) {
            ct_dec_fail(&rd, "contributions", "items must be objects");
            break;
        }
        ct_dec id = {it, path, d->err, d->errlen, rd.failed};
        int64_t v = 0, pts = 0;
        r->c[i].factor = ct_dec_str(&id, "factor", 1, 32, CT_DEC_TOKEN);
        ct_dec_int(&id, "value", 1, &v);
        if (ct_dec_int(&id, "points", 1, &pts) == 1 && (pts < 0 || pts > 100))
            ct_dec_fail(&id, "points", "must be an integer 0..100");
        r->c[i].value = v;
        r->c[i].points = (int)pts;
        r->n = i + 1;
        rd.failed |= id.failed;
    }
    d->failed |= rd.failed;
}

/* "plan" (issue 16): amounts >= 0, 1 <= instalment <= instalments <=
 * CT_PLAN_INSTALMENTS_MAX, due_on a date. */
/* "reply" (issue 17): a review command's reply. */
static void d_reply(ct_dec *d, ct_command *c)
{
    ct_dec rd = {ct_dec_object(d, "reply", 0), "reply", d->err, d->errlen, d->failed};
    ct_command_reply *r = &c->reply;
    if ((c->has_reply = rd.obj != NULL)) {
        r->text = ct_dec_str(&rd, "text", 1, CT_REPLY_MAX, 0);
        r->event_id = ct_dec_str(&rd, "event_id", 1, CT_DERIVED_ID_MAX, CT_DEC_NOCTL);
        r->channel = (ct_channel)d_enum(&rd, "channel", ct_channel_names, CT_CH_COUNT);
        ct_dec_instant(&rd, "at", 1, &r->at_ms);
        d->failed |= rd.failed;
    }
}

static void d_plan(ct_dec *d, ct_command *c)
{
    const cm_jv *o = ct_dec_object(d, "plan", 0);
    if (!o)
        return;
    ct_dec pd = {o, "plan", d->err, d->errlen, d->failed};
    ct_command_plan *p = &c->plan;
    int64_t n = 0, i = 0;
    char rule[64];
    c->has_plan = 1;
    p->plan_id = ct_dec_str(&pd, "plan_id", 1, CT_ID_MAX, CT_DEC_NOCTL);
    snprintf(rule, sizeof rule, "must be an integer 1..%d", CT_PLAN_INSTALMENTS_MAX);
    if (ct_dec_int(&pd, "instalments", 1, &n) == 1 && (n < 1 || n > CT_PLAN_INSTALMENTS_MAX))
        ct_dec_fail(&pd, "instalments", rule);
    if (ct_dec_int(&pd, "instalment", 1, &i) == 1 && (i < 1 || i > n))
        ct_dec_fail(&pd, "instalment", "must be an integer 1..instalments");
    p->instalments = n >= 1 && n <= CT_PLAN_INSTALMENTS_MAX ? (int)n : 0;
    p->instalment = i >= 1 && i <= n ? (int)i : 0;
    if (ct_dec_date(&pd, "due_on", 1, &p->due_on) != 1)
        p->due_on = CT_DAY_NONE;
    p->amount_minor = nonneg(&pd, "amount_minor");
    p->paid_minor = nonneg(&pd, "paid_minor");
    p->total_minor = nonneg(&pd, "total_minor");
    p->total_paid_minor = nonneg(&pd, "total_paid_minor");
    d->failed |= pd.failed;
}

static void d_rules(ct_dec *d, ct_command *c)
{
    char rule[96], name[32];
    const cm_jv *a = ct_dec_array(d, "rules", 0);
    if (a && a->n > CT_COMMAND_RULES_MAX) {
        snprintf(rule, sizeof rule, "more than %d items", CT_COMMAND_RULES_MAX);
        ct_dec_fail(d, "rules", rule);
        return;
    }
    size_t i = 0;
    for (const cm_jv *it = a ? a->u.first : NULL; it; it = it->next, i++) {
        const char *s = ct_jv_str(it);
        size_t n = ct_jv_strlen(it);
        int ok = s && n > 0 && n <= CT_COMMAND_RULE_MAX;
        for (size_t k = 0; ok && k < n; k++)
            ok = s[k] >= 0x20 && s[k] <= 0x7e;
        if (!ok) {
            snprintf(name, sizeof name, "rules[%zu]", i);
            snprintf(rule, sizeof rule, "must be 1..%d bytes of printable ASCII",
                     CT_COMMAND_RULE_MAX);
            ct_dec_fail(d, name, rule);
            continue;
        }
        c->rules[c->nrules++] = s;
    }
}

int ct_command_decode(const cm_jv *j, ct_command *out, char *errstr, size_t errlen)
{
    ct_dec d = {j, "", errstr, errlen, 0};
    char rule[160];
    int64_t v;

    memset(out, 0, sizeof *out);
    out->v = CT_VERSION;
    out->kind = CT_KIND_NONE;
    out->channel = CT_CH_NONE;
    out->amounts.principal = out->amounts.fees = out->amounts.interest = CT_MINOR_NONE;
    out->amounts.compensation = out->amounts.total = CT_MINOR_NONE;
    errstr[0] = 0;
    if (!j || j->type != CM_JV_OBJECT) {
        snprintf(errstr, errlen, "command: not a JSON object");
        return -1;
    }
    out->command_id = ct_dec_str(&d, "command_id", 1, CT_COMMAND_ID_MAX, CT_DEC_TOKEN);
    if (ct_dec_int(&d, "v", 0, &v) == 1 && v != CT_VERSION) {
        snprintf(rule, sizeof rule, "unsupported version (this reader reads v %d)", CT_VERSION);
        ct_dec_fail(&d, "v", rule);
    }
    out->tenant = ct_dec_str(&d, "tenant", 1, CT_TENANT_MAX, CT_DEC_TOKEN);
    const cm_jv *cust = ct_dec_object(&d, "customer", 1);
    if (cust) {
        ct_dec cd = {cust, "customer", errstr, errlen, d.failed};
        d_customer(&cd, &out->customer);
        d.failed |= cd.failed;
    }
    out->kind = (ct_kind)d_enum(&d, "kind", ct_kind_names, CT_KIND_COUNT);
    out->channel = (ct_channel)d_enum(&d, "channel", ct_channel_names, CT_CH_COUNT);
    out->template_id = ct_dec_str(&d, "template", 0, CT_ID_MAX, CT_DEC_TOKEN);
    d_deliverable(&d, cust, out);
    out->locale = ct_dec_str(&d, "locale", 0, CT_TYPE_MAX, CT_DEC_TOKEN);
    out->strategy = ct_dec_str(&d, "strategy", 0, CT_ID_MAX, CT_DEC_NOCTL);
    out->variant = ct_dec_str(&d, "variant", 0, CT_ID_MAX, CT_DEC_NOCTL);
    out->segment = ct_dec_str(&d, "segment", 0, CT_SEGMENT_MAX, CT_DEC_NOCTL);
    ct_dec_instant(&d, "created_at", 0, &out->created_at_ms);
    ct_dec_instant(&d, "scheduled_at", 0, &out->scheduled_at_ms);
    out->has_not_after = ct_dec_instant(&d, "not_after", 0, &out->not_after_ms) == 1;
    out->currency = ct_dec_str(&d, "currency", 0, 3, CT_DEC_TOKEN);
    const cm_jv *am = ct_dec_object(&d, "amounts", 0);
    if (am) {
        ct_dec ad = {am, "amounts", errstr, errlen, d.failed};
        out->amounts.principal = minor(&ad, "principal");
        out->amounts.fees = minor(&ad, "fees");
        out->amounts.interest = minor(&ad, "interest");
        out->amounts.compensation = minor(&ad, "compensation");
        out->amounts.total = minor(&ad, "total");
        d.failed |= ad.failed;
    }
    const cm_jv *inv = ct_dec_array(&d, "invoices", 0);
    size_t i = 0;
    for (const cm_jv *it = inv ? inv->u.first : NULL; it; it = it->next, i++) {
        char path[32];
        snprintf(path, sizeof path, "invoices[%zu]", i);
        ct_dec id = {it, path, errstr, errlen, d.failed};
        if (it->type != CM_JV_OBJECT) {
            snprintf(rule, sizeof rule, "%s: must be an object", path);
            if (!d.failed)
                snprintf(errstr, errlen, "%s", rule);
            d.failed = 1;
            continue;
        }
        d_invoice(&id, &out->invoices[out->ninvoices++]);
        d.failed |= id.failed;
    }
    if (ct_dec_int(&d, "step", 0, &v) == 1) {
        if (v < 0 || v > 1000000)
            ct_dec_fail(&d, "step", "must be 0..1000000");
        out->has_step = 1;
        out->step = (int)v;
    }
    out->step_name = ct_dec_str(&d, "step_name", 0, CT_TEXT_MAX, 0);
    if (ct_dec_int(&d, "attempt", 0, &v) == 1)
        out->attempt = (int)v;
    if (ct_dec_int(&d, "level", 0, &v) == 1)
        out->level = (int)v;
    const cm_jv *pay = ct_dec_object(&d, "payment", 0);
    if (pay) {
        ct_dec pd = {pay, "payment", errstr, errlen, d.failed};
        out->has_payment = 1;
        out->payment.payment_id = ct_dec_str(&pd, "payment_id", 1, CT_ID_MAX, CT_DEC_NOCTL);
        ct_dec_int(&pd, "amount_minor", 0, &out->payment.amount_minor);
        out->payment.currency = ct_dec_str(&pd, "currency", 0, 3, CT_DEC_TOKEN);
        d.failed |= pd.failed;
    }
    d_offer(&d, out);
    d_interest_basis(&d, out);
    d_risk(&d, out);
    d_plan(&d, out);
    d_totals(&d, out);
    d_rules(&d, out);
    d_reply(&d, out);
    if (ct_dec_int(&d, "link_valid_days", 0, &v) == 1) {
        if (v < 1 || v > CT_LINK_VALID_DAYS_MAX) {
            snprintf(rule, sizeof rule, "must be an integer 1..%d", CT_LINK_VALID_DAYS_MAX);
            ct_dec_fail(&d, "link_valid_days", rule);
        } else {
            out->link_valid_days = (int)v;
        }
    }
    return d.failed ? -1 : 0;
}

/* A record that did not parse (r NULL): *out cleared as ct_command_decode
 * leaves it, the reader's error kept. Else ct_command_decode. */
static int decode_parsed(const cm_jv *r, ct_command *out, char *errstr, size_t errlen)
{
    char err[256];
    if (r)
        return ct_command_decode(r, out, errstr, errlen);
    snprintf(err, sizeof err, "%s", errstr);
    ct_command_decode(NULL, out, errstr, errlen);
    snprintf(errstr, errlen, "%s", err);
    return -1;
}

int ct_command_decode_bytes(cm_json *j, const char *p, size_t n, ct_command *out,
                            const cm_jv **root, char *errstr, size_t errlen)
{
    const cm_jv *r = ct_record_parse(j, p, n, "command", errstr, errlen);
    if (root)
        *root = r;
    return decode_parsed(r, out, errstr, errlen);
}

int ct_command_decode_json(cm_json *j, const json_t *v, ct_command *out, char *errstr,
                           size_t errlen)
{
    return decode_parsed(ct_record_parse_json(j, v, "command", errstr, errlen), out, errstr,
                         errlen);
}
