/* vars.c -- commands as the notifier holds them, and the template
 * variables derived from them.
 *
 * Decoding and every rule are the contract's (ct_command_decode); what is
 * here is the notifier's: the locale to render in and the variables a
 * template sees (amounts and dates formatted for the template's language,
 * counts in words with their plural, cm_format_count; issue 16's plan
 * of an instalment reminder). The template language has no plurals and
 * looks a key missing in an invoice up in the command's scope, so an
 * invoice gets every key of its own, false when it does not apply. */
#include "vars.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "format.h"
#include "interest.h"

void ntf_command_free(ntf_command *cmd)
{
    cm_json_free(cmd->js);
    cmd->js = NULL;
    cmd->root = NULL;
}

/* A locale that can name a template directory, or NULL. */
static const char *usable_locale(const char *l)
{
    return l && *l && strlen(l) <= 35 && !strchr(l, '/') && l[0] != '.' ? l : NULL;
}

int ntf_command_parse(const void *payload, size_t len, ntf_command *cmd, char *errstr,
                      size_t errlen)
{
    cmd->root = NULL;
    cmd->locale = "en-GB";
    /* one arena per command in memory: a first chunk the record's tree
     * fits in (its nodes and strings), not the reader's default 64 KiB */
    cmd->js = cm_json_new_cap(len * 4 + 1024);
    if (!cmd->js) {
        ct_command_decode(NULL, &cmd->c, errstr, errlen); /* clears c */
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    int rc = ct_command_decode_bytes(cmd->js, payload, len, &cmd->c, &cmd->root, errstr, errlen);
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
    if (cm_format_money(minor, currency, locale, buf, sizeof buf, err, sizeof err) < 0) {
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

/* principal, fees, interest, compensation and total of a into o, formatted
 * (set_money), with their integers as <name>_minor. fees, interest and
 * compensation are set only when not 0, so that {{#fees}}...{{/fees}}
 * shows a line only when there are fees; in an invoice (in_list) a 0 is
 * written false, so that the section does not find the command's own
 * amount in the outer scope instead. */
static int set_amounts(json_t *o, const ct_command_amounts *a, const char *cur, const char *loc,
                       int in_list, char *errstr, size_t errlen)
{
    const struct {
        const char *name;
        int64_t minor;
        int optional;
    } amt[] = {{"principal", a->principal, 0},
               {"fees", a->fees, 1},
               {"interest", a->interest, 1},
               {"compensation", a->compensation, 1},
               {"total", a->total, 0}};
    for (size_t i = 0; i < sizeof amt / sizeof amt[0]; i++) {
        if (amt[i].minor != CT_MINOR_NONE) {
            char key[32];
            snprintf(key, sizeof key, "%s_minor", amt[i].name);
            json_object_set_new(o, key, json_integer(amt[i].minor));
        }
        if (amt[i].optional && (amt[i].minor == 0 || amt[i].minor == CT_MINOR_NONE)) {
            if (in_list)
                json_object_set_new(o, amt[i].name, json_false());
            continue;
        }
        if (set_money(o, amt[i].name, amt[i].minor, cur, loc, errstr, errlen) < 0)
            return -1;
    }
    return 0;
}

/* A date variable name (formatted for loc) and name_iso. */
static int set_date(json_t *o, const char *name, int32_t day, const char *loc, char *errstr,
                    size_t errlen)
{
    char iso[16], buf[64], err[128], key[32];
    cm_date_format(day, iso, sizeof iso);
    if (cm_format_date(iso, loc, buf, sizeof buf, err, sizeof err) < 0) {
        snprintf(errstr, errlen, "%s: %s", name, err);
        return -1;
    }
    json_object_set_new(o, name, json_string(buf));
    snprintf(key, sizeof key, "%s_iso", name);
    json_object_set_new(o, key, json_string(iso));
    return 0;
}

/* "offer": {kind, discount, settlement (booleans), amount, forgiven (and
 * their _minor), valid_until (formatted), valid_until_iso}. */
static int set_offer(json_t *vars, const ct_command_offer *of, const char *cur, const char *loc,
                     char *errstr, size_t errlen)
{
    json_t *o = json_object();
    json_object_set_new(vars, "offer", o);
    json_object_set_new(o, "kind", json_string(ct_offer_kind_name(of->kind)));
    json_object_set_new(o, "discount", json_boolean(of->kind == CT_OFFER_DISCOUNT));
    json_object_set_new(o, "settlement", json_boolean(of->kind == CT_OFFER_SETTLEMENT));
    json_object_set_new(o, "instalment_plans", json_boolean(of->kind == CT_OFFER_PLAN));
    json_object_set_new(o, "amount_minor", json_integer(of->amount_minor));
    json_object_set_new(o, "forgiven_minor", json_integer(of->forgiven_minor));
    /* kind plan (issue 16): "plans", each {instalments (count), items:
     * [{due_on, amount}]}, dates and amounts formatted */
    json_t *plans = json_array();
    json_object_set_new(o, "plans", plans);
    for (size_t i = 0; i < of->nplans && i < CT_OFFER_PLANS_MAX; i++) {
        json_t *p = json_object(), *items = json_array();
        json_array_append_new(plans, p);
        json_object_set_new(p, "instalments", json_integer((json_int_t)of->plans[i].n));
        json_object_set_new(p, "items", items);
        for (size_t k = 0; k < of->plans[i].n && k < CT_OFFER_PLAN_INSTALMENTS_MAX; k++) {
            json_t *it = json_object();
            json_array_append_new(items, it);
            if (set_date(it, "due_on", of->plans[i].inst[k].due_on, loc, errstr, errlen) < 0 ||
                set_money(it, "amount", of->plans[i].inst[k].amount_minor, cur, loc, errstr,
                          errlen) < 0)
                goto bad;
        }
    }
    if (set_money(o, "amount", of->amount_minor, cur, loc, errstr, errlen) < 0 ||
        set_money(o, "forgiven", of->forgiven_minor, cur, loc, errstr, errlen) < 0 ||
        set_date(o, "valid_until", of->valid_until, loc, errstr, errlen) < 0) {
    bad:;
        char e[256];
        snprintf(e, sizeof e, "offer.%s", errstr);
        snprintf(errstr, errlen, "%s", e);
        return -1;
    }
    return 0;
}

/* interest_scheme, interest_rate ("13.25%") and interest_basis_text. */
static int set_interest_basis(json_t *vars, const ct_command *c, const char *loc, char *errstr,
                              size_t errlen)
{
    const ct_command_interest_basis *b = &c->interest_basis;
    const char *country = b->country ? b->country : c->customer.country;
    char text[512], rate[32], err[128];
    if (ntf_format_interest_basis(b->scheme, b->rate_e4, country, loc, text, sizeof text, err,
                                  sizeof err) < 0) {
        snprintf(errstr, errlen, "interest_basis: %s", err);
        return -1;
    }
    ntf_format_pct(b->rate_e4, loc, rate, sizeof rate);
    json_object_set_new(vars, "interest_scheme", json_string(ct_interest_scheme_name(b->scheme)));
    json_object_set_new(vars, "interest_rate", json_string(rate));
    json_object_set_new(vars, "interest_basis_text", json_string(text));
    return 0;
}

/* "plan" (issue 16): {plan_id, instalment, instalments, last (the last
 * instalment), due_on (formatted), due_on_iso, and formatted with their
 * _minor: amount, paid, outstanding (amount - paid) of the instalment,
 * total, total_paid, total_outstanding (total - total_paid) of the plan}.
 * paid and total_paid are false when 0, so that {{#paid}} shows a line
 * only when something was paid; the outstanding amounts are never below
 * 0. */
static int set_plan(json_t *vars, const ct_command_plan *p, const char *cur, const char *loc,
                    char *errstr, size_t errlen)
{
    json_t *o = json_object();
    json_object_set_new(vars, "plan", o);
    set_str(o, "plan_id", p->plan_id);
    json_object_set_new(o, "instalment", json_integer(p->instalment));
    json_object_set_new(o, "instalments", json_integer(p->instalments));
    json_object_set_new(o, "last", json_boolean(p->instalment == p->instalments));
    const struct {
        const char *name;
        int64_t minor;
        int optional;
    } amt[] = {
        {"amount", p->amount_minor, 0},
        {"paid", p->paid_minor, 1},
        {"outstanding", p->amount_minor > p->paid_minor ? p->amount_minor - p->paid_minor : 0, 0},
        {"total", p->total_minor, 0},
        {"total_paid", p->total_paid_minor, 1},
        {"total_outstanding",
         p->total_minor > p->total_paid_minor ? p->total_minor - p->total_paid_minor : 0, 0}};
    for (size_t i = 0; i < sizeof amt / sizeof amt[0]; i++) {
        char key[32];
        snprintf(key, sizeof key, "%s_minor", amt[i].name);
        json_object_set_new(o, key, json_integer(amt[i].minor));
        if (amt[i].optional && amt[i].minor == 0)
            json_object_set_new(o, amt[i].name, json_false());
        else if (set_money(o, amt[i].name, amt[i].minor, cur, loc, errstr, errlen) < 0)
            goto fail;
    }
    if (p->due_on != CT_DAY_NONE && set_date(o, "due_on", p->due_on, loc, errstr, errlen) < 0)
        goto fail;
    return 0;
fail:;
    char e[256];
    snprintf(e, sizeof e, "plan.%s", errstr);
    snprintf(errstr, errlen, "%s", e);
    return -1;
}

/* What invoice in owes: its amounts, or without them (before issue 14)
 * its outstanding principal and nothing else, written into *owed. */
static const ct_command_amounts *owed_by(const ct_command_invoice *in, ct_command_amounts *owed)
{
    *owed = (ct_command_amounts){in->outstanding_minor, 0, 0, 0, in->outstanding_minor};
    return in->has_amounts ? &in->amounts : owed;
}

/* A value in words for one of two keys that an invoice always has (false
 * when it does not apply) and the command's scope only when it applies
 * (so that {{name}} there is a missing variable, not "false"). */
static void set_word(json_t *o, const char *name, int applies, const char *text, int in_list)
{
    if (applies)
        json_object_set_new(o, name, text ? json_string(text) : json_true());
    else if (in_list)
        json_object_set_new(o, name, json_false());
}

/* The words for a days_overdue d (CT_MINOR_NONE: unknown), issue 15:
 * days_overdue_text once overdue ("3 days overdue"), due_in_text on and
 * before the due date ("due in 3 days", "due tomorrow", "due today"), and
 * one_day / many_days (overdue by exactly one day / by more), for templates
 * that phrase the plural themselves. */
static void set_day_words(json_t *o, int64_t d, const char *loc, int in_list)
{
    char buf[96];
    int known = d != CT_MINOR_NONE;
    if (known && d > 0)
        cm_format_count(CM_COUNT_DAYS_OVERDUE, (long long)d, loc, buf, sizeof buf);
    set_word(o, "days_overdue_text", known && d > 0, buf, in_list);
    if (known && d <= 0)
        cm_format_count(CM_COUNT_DUE_IN, -(long long)d, loc, buf, sizeof buf);
    set_word(o, "due_in_text", known && d <= 0, buf, in_list);
    set_word(o, "one_day", known && d == 1, NULL, in_list);
    set_word(o, "many_days", known && d > 1, NULL, in_list);
}

/* "totals": one element per currency of the invoices (in the order they
 * first appear), each the sum of those invoices' amounts (as invoice_vars
 * reads them) written like an invoice's (set_amounts: principal, fees,
 * interest, compensation and total, formatted, and their _minor), plus
 * currency; many_currencies when more than one; totals_text, the formatted
 * totals joined by " + " ("£1,500.00 + €322.50"). */
static int set_totals(json_t *vars, const ct_command *c, const char *loc, char *errstr,
                      size_t errlen)
{
    struct sum {
        const char *cur;
        ct_command_amounts a;
    } *sums = calloc(c->ninvoices ? c->ninvoices : 1, sizeof *sums);
    size_t n = 0;
    int rc = -1;
    cm_buf text = CM_BUF_INIT;
    if (!sums) {
        snprintf(errstr, errlen, "totals: out of memory");
        return -1;
    }
    for (size_t i = 0; i < c->ninvoices; i++) {
        const ct_command_invoice *in = &c->invoices[i];
        const char *cur = in->currency ? in->currency : c->currency;
        if (!cur)
            continue;
        ct_command_amounts owed;
        const ct_command_amounts *a = owed_by(in, &owed);
        size_t k = 0;
        while (k < n && strcmp(sums[k].cur, cur) != 0)
            k++;
        if (k == n)
            sums[n++].cur = cur;
        int64_t *to[] = {&sums[k].a.principal, &sums[k].a.fees, &sums[k].a.interest,
                         &sums[k].a.compensation, &sums[k].a.total};
        const int64_t from[] = {a->principal, a->fees, a->interest, a->compensation, a->total};
        for (size_t m = 0; m < 5; m++)
            if (from[m] != CT_MINOR_NONE)
                *to[m] += from[m];
    }
    json_t *list = json_array();
    json_object_set_new(vars, "totals", list);
    for (size_t k = 0; k < n; k++) {
        json_t *o = json_object();
        json_array_append_new(list, o);
        json_object_set_new(o, "currency", json_string(sums[k].cur));
        if (set_amounts(o, &sums[k].a, sums[k].cur, loc, 1, errstr, errlen) < 0)
            goto cleanup;
        if (text.len)
            cm_buf_adds(&text, " + ");
        cm_buf_adds(&text, json_string_value(json_object_get(o, "total")));
    }
    json_object_set_new(vars, "many_currencies", json_boolean(n > 1));
    if (text.len)
        json_object_set_new(vars, "totals_text", json_string(text.p));
    rc = 0;
cleanup:
    if (rc < 0) {
        char e[256];
        snprintf(e, sizeof e, "totals.%s", errstr);
        snprintf(errstr, errlen, "%s", e);
    }
    cm_buf_free(&text);
    free(sums);
    return rc;
}

/* One element of "invoices": number (the invoice id when it has none),
 * dates, days_overdue, outstanding and the amounts of set_amounts (issue
 * 14; without them the invoice owes its outstanding principal and nothing
 * else). -1 with errstr naming the member. */
static int invoice_vars(json_t *o, const ct_command_invoice *in, const char *cur, const char *loc,
                        char *errstr, size_t errlen)
{
    const char *num = in->number ? in->number : in->invoice_id;
    const char *icur = in->currency ? in->currency : cur;
    set_str(o, "invoice_id", in->invoice_id);
    set_str(o, "number", num);
    if (in->issued_on != CT_DAY_NONE &&
        set_date(o, "issued_on", in->issued_on, loc, errstr, errlen) < 0)
        return -1;
    if (in->due_on != CT_DAY_NONE && set_date(o, "due_on", in->due_on, loc, errstr, errlen) < 0)
        return -1;
    /* days_overdue only once overdue (a section on it then reads "is
     * overdue"), else false (not absent: the command's would be found);
     * before the due date, days_to_due instead */
    if (in->days_overdue != CT_MINOR_NONE) {
        json_object_set_new(o, "days_overdue",
                            in->days_overdue > 0 ? json_integer(in->days_overdue) : json_false());
        json_object_set_new(o, "days_to_due",
                            in->days_overdue < 0 ? json_integer(-in->days_overdue) : json_false());
    }
    set_day_words(o, in->days_overdue, loc, 1);
    if (set_money(o, "outstanding", in->outstanding_minor, icur, loc, errstr, errlen) < 0)
        return -1;
    ct_command_amounts owed;
    return set_amounts(o, owed_by(in, &owed), icur, loc, 1, errstr, errlen);
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
    if (set_amounts(vars, &c->amounts, cur, loc, 0, errstr, errlen) < 0)
        goto fail;
    if (c->has_offer && set_offer(vars, &c->offer, cur, loc, errstr, errlen) < 0)
        goto fail;
    if (c->has_interest_basis && set_interest_basis(vars, c, loc, errstr, errlen) < 0)
        goto fail;
    json_object_set_new(vars, "has_plan", json_boolean(c->has_plan));
    if (c->has_plan && set_plan(vars, &c->plan, cur, loc, errstr, errlen) < 0)
        goto fail;

    json_t *list = json_array();
    json_object_set_new(vars, "invoices", list);
    int32_t min_due = INT32_MAX;
    int64_t latest = CT_MINOR_NONE; /* the largest days_overdue, negative included */
    for (size_t i = 0; i < c->ninvoices; i++) {
        const ct_command_invoice *in = &c->invoices[i];
        json_t *o = json_object();
        json_array_append_new(list, o);
        if (invoice_vars(o, in, cur, loc, errstr, errlen) < 0) {
            char e[256];
            snprintf(e, sizeof e, "invoices[%zu].%s", i, errstr);
            snprintf(errstr, errlen, "%s", e);
            goto fail;
        }
        const char *num = in->number ? in->number : in->invoice_id;
        if (num) {
            if (numbers.len)
                cm_buf_adds(&numbers, ", ");
            cm_buf_adds(&numbers, num);
        }
        if (in->due_on != CT_DAY_NONE && in->due_on < min_due)
            min_due = in->due_on;
        if (in->days_overdue != CT_MINOR_NONE && in->days_overdue > latest)
            latest = in->days_overdue;
    }
    size_t count = json_array_size(list);
    char words[96];
    json_object_set_new(vars, "invoice_count", json_integer((json_int_t)count));
    cm_format_count(CM_COUNT_INVOICES, (long long)count, loc, words, sizeof words);
    json_object_set_new(vars, "invoice_count_text", json_string(words));
    json_object_set_new(vars, "one_invoice", json_boolean(count == 1));
    json_object_set_new(vars, "many_invoices", json_boolean(count > 1));
    /* the command's: for the largest days_overdue, the earliest due date */
    set_day_words(vars, latest, loc, 0);
    if (set_totals(vars, c, loc, errstr, errlen) < 0)
        goto fail;
    if (numbers.len)
        json_object_set_new(vars, "invoice_numbers", json_string(numbers.p));
    cm_buf_free(&numbers);
    if (min_due != INT32_MAX) {
        char iso[16], buf[64], err[128];
        cm_date_format(min_due, iso, sizeof iso);
        if (cm_format_date(iso, loc, buf, sizeof buf, err, sizeof err) == 0)
            json_object_set_new(vars, "due_on", json_string(buf));
    }
    if (latest != CT_MINOR_NONE && latest >= 0)
        json_object_set_new(vars, "days_overdue", json_integer((json_int_t)latest));
    return vars;
fail:
    cm_buf_free(&numbers);
    json_decref(vars);
    return NULL;
}
