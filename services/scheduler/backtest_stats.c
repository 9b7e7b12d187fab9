/* backtest_stats.c -- what a backtest printed, tallied: the summary and
 * the side-by-side comparison of two policies (docs/backtest.md).
 *
 * Design: the tallies read the records exactly as printed (the arena JSON
 * reader, common/json.h), never the engine's state, so they describe the
 * output a reader of the backtest sees. Per debtor, the contact instants
 * are kept in order (the simulated clock only moves forward) and the most
 * contacts in any 7 days is a two-pointer sweep once the run is over. Fees
 * and interest charged are, per invoice, the most any of its commands
 * carried (amounts accrue on the invoice, and each command repeats the
 * total so far), summed per currency. */
#include "backtest.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "json.h"
#include "vec.h"

#define BT_WEEK_MS (7LL * 86400000LL)

static const char *const bt_rules[] = {"ceased",
                                       "opted_out",
                                       "dispute",
                                       "min_outstanding_minor",
                                       "window:moved",
                                       "weekday:moved",
                                       "holiday:moved",
                                       "cap",
                                       "escalation:disputed",
                                       "escalation:below_threshold",
                                       "escalation:not_worth_it",
                                       "escalation:placed",
                                       NULL};

static cm_jv *path(cm_jv *v, const char *a, const char *b)
{
    v = cm_jv_get(v, a);
    return b ? cm_jv_get(v, b) : v;
}

static const char *str_of(cm_jv *v)
{
    return v && v->type == CM_JV_STRING ? v->u.s : "";
}

static int64_t int_of(cm_jv *v)
{
    return v && v->type == CM_JV_INT ? v->u.i : 0;
}

static int debtor_contact(bt_stats *s, const char *key, int64_t at)
{
    uint32_t i;
    size_t kl = strlen(key);
    if (!cm_map_get(&s->debtor_ix, key, kl, &i)) {
        if (CM_GROW(s->debtors, s->capdebtors, s->ndebtors + 1) < 0 ||
            cm_map_put(&s->debtor_ix, key, kl, (uint32_t)s->ndebtors) < 0)
            return -1;
        i = (uint32_t)s->ndebtors++;
    }
    bt_debtor *d = &s->debtors[i];
    if (CM_GROW(d->at, d->cap, d->n + 1) < 0)
        return -1;
    d->at[d->n++] = at;
    return 0;
}

static int charge(bt_stats *s, const char *tenant, const char *invoice, const char *currency,
                  int64_t fees, int64_t interest)
{
    char key[2 * CT_ID_MAX + 4];
    int kl = snprintf(key, sizeof key, "%s/%s", tenant, invoice);
    uint32_t i;
    if (kl < 0 || (size_t)kl >= sizeof key)
        return 0;
    if (!cm_map_get(&s->invoice_ix, key, (size_t)kl, &i)) {
        if (fees == 0 && interest == 0)
            return 0; /* nothing charged: no row */
        if (CM_GROW(s->charges, s->capcharges, s->ncharges + 1) < 0 ||
            cm_map_put(&s->invoice_ix, key, (size_t)kl, (uint32_t)s->ncharges) < 0)
            return -1;
        i = (uint32_t)s->ncharges++;
        snprintf(s->charges[i].currency, sizeof s->charges[i].currency, "%s", currency);
    }
    bt_charge *c = &s->charges[i];
    if (fees > c->fees)
        c->fees = fees;
    if (interest > c->interest)
        c->interest = interest;
    return 0;
}

int bt_stats_record(bt_stats *s, char topic, const char *key, const char *payload, size_t len,
                    int64_t at)
{
    char err[200];
    if (!s->reader && !(s->reader = cm_json_new()))
        return -1;
    cm_jv *r = cm_json_parse(s->reader, payload, len, 64, err, sizeof err);
    if (!r)
        return -1; /* the engine's own output: cannot happen */
    if (topic == 'e') {
        s->events++;
        return 0;
    }
    if (topic == 'x') { /* a case handed to an agency or legal */
        s->escalations++;
        return 0;
    }
    if (topic == 'd') {
        const char *rule = str_of(cm_jv_get(r, "rule"));
        if (strncmp(rule, "cap:", 4) == 0)
            rule = "cap"; /* every cap, whatever its channels and numbers */
        for (int i = 0; bt_rules[i]; i++)
            if (strcmp(rule, bt_rules[i]) == 0) {
                s->rule_name[i] = bt_rules[i];
                s->rule_count[i]++;
                return 0;
            }
        s->other_rules++;
        return 0;
    }
    s->commands++;
    cm_jv *kind = cm_jv_get(r, "kind"), *ch = cm_jv_get(r, "channel");
    ct_kind k = kind ? ct_kind_parse(str_of(kind), kind->n) : CT_KIND_NONE;
    ct_channel c = ch ? ct_channel_parse(str_of(ch), ch->n) : CT_CH_NONE;
    if (k != CT_KIND_NONE && c != CT_CH_NONE)
        s->by_kind_channel[k][c]++;
    if (k == CT_KIND_ESCALATION)
        s->escalations++;
    if (debtor_contact(s, key, at) < 0)
        return -1;
    cm_jv *inv = cm_jv_get(r, "invoices");
    inv = inv && inv->type == CM_JV_ARRAY ? inv->u.first : NULL;
    for (; inv; inv = inv->next)
        if (charge(s, str_of(cm_jv_get(r, "tenant")), str_of(cm_jv_get(inv, "invoice_id")),
                   str_of(cm_jv_get(r, "currency")), int_of(path(r, "amounts", "fees")),
                   int_of(path(r, "amounts", "interest"))) < 0)
            return -1;
    return 0;
}

void bt_stats_finish(bt_stats *s)
{
    for (size_t i = 0; i < s->ndebtors; i++) {
        bt_debtor *d = &s->debtors[i];
        size_t lo = 0;
        d->max7 = 0;
        for (size_t hi = 0; hi < d->n; hi++) {
            while (d->at[hi] - d->at[lo] >= BT_WEEK_MS)
                lo++;
            if ((int)(hi - lo + 1) > d->max7)
                d->max7 = (int)(hi - lo + 1);
        }
    }
}

void bt_stats_free(bt_stats *s)
{
    for (size_t i = 0; i < s->ndebtors; i++)
        free(s->debtors[i].at);
    free(s->debtors);
    free(s->charges);
    cm_map_free(&s->debtor_ix);
    cm_map_free(&s->invoice_ix);
    cm_json_free(s->reader);
    memset(s, 0, sizeof *s);
}

static int max7(const bt_stats *s)
{
    int m = 0;
    for (size_t i = 0; i < s->ndebtors; i++)
        if (s->debtors[i].max7 > m)
            m = s->debtors[i].max7;
    return m;
}

/* Currencies with a charge, sorted (at most 32 distinct). */
static size_t currencies(const bt_stats *a, const bt_stats *b, char out[][8], size_t max)
{
    size_t n = 0;
    const bt_stats *both[2] = {a, b};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; both[k] && i < both[k]->ncharges; i++) {
            const char *c = both[k]->charges[i].currency;
            size_t j = 0;
            while (j < n && strcmp(out[j], c) != 0)
                j++;
            if (j == n && n < max)
                snprintf(out[n++], 8, "%s", c);
        }
    for (size_t i = 1; i < n; i++) /* insertion sort: few */
        for (size_t j = i; j > 0 && strcmp(out[j - 1], out[j]) > 0; j--) {
            char t[8];
            memcpy(t, out[j], 8);
            memcpy(out[j], out[j - 1], 8);
            memcpy(out[j - 1], t, 8);
        }
    return n;
}

static void charged(const bt_stats *s, const char *cur, int64_t *fees, int64_t *interest)
{
    *fees = *interest = 0;
    for (size_t i = 0; s && i < s->ncharges; i++)
        if (strcmp(s->charges[i].currency, cur) == 0) {
            *fees += s->charges[i].fees;
            *interest += s->charges[i].interest;
        }
}

/* ---- one run's summary ---- */

void bt_stats_print(FILE *f, const bt_stats *s)
{
    char t0[40], t1[40];
    cm_time_format_rfc3339(s->first_ms, t0, sizeof t0);
    cm_time_format_rfc3339(s->until_ms, t1, sizeof t1);
    fprintf(f,
            "backtest: %ld line(s) read, %ld rejected, %ld out of order, %ld ignored, %ld of "
            "another tenant, %ld after --until; %ld event(s) applied (%ld not applicable)\n",
            s->lines, s->rejected, s->out_of_order, s->ignored, s->filtered, s->outside, s->applied,
            s->not_applied);
    fprintf(f, "backtest: simulated %s .. %s\n", t0, t1);
    fprintf(f, "backtest: %ld command(s)", s->commands);
    for (int k = 0; k < CT_KIND_COUNT; k++)
        for (int c = 0; c < CT_CH_COUNT; c++)
            if (s->by_kind_channel[k][c])
                fprintf(f, ", %s/%s %ld", ct_kind_name((ct_kind)k), ct_channel_name((ct_channel)c),
                        s->by_kind_channel[k][c]);
    fprintf(f, "; %ld event(s); %zu debtor(s) contacted, at most %d in 7 days\n", s->events,
            s->ndebtors, max7(s));
    fprintf(f, "backtest: decisions:");
    long nd = s->other_rules;
    for (int i = 0; bt_rules[i]; i++) {
        nd += s->rule_count[i];
        if (s->rule_count[i])
            fprintf(f, " %s %ld", bt_rules[i], s->rule_count[i]);
    }
    if (s->other_rules)
        fprintf(f, " other %ld", s->other_rules);
    fprintf(f, "%s\n", nd ? "" : " none");
    fprintf(f, "backtest: wall time %.2f s\n", s->wall_s);
}

/* {"<name>": n, ...} of the non-zero kind/channel pairs. */
static void json_kinds(FILE *f, const bt_stats *s)
{
    int first = 1;
    fputc('{', f);
    for (int k = 0; k < CT_KIND_COUNT; k++)
        for (int c = 0; c < CT_CH_COUNT; c++)
            if (s->by_kind_channel[k][c]) {
                fprintf(f, "%s\"%s/%s\":%ld", first ? "" : ",", ct_kind_name((ct_kind)k),
                        ct_channel_name((ct_channel)c), s->by_kind_channel[k][c]);
                first = 0;
            }
    fputc('}', f);
}

static void json_rules(FILE *f, const bt_stats *s)
{
    int first = 1;
    fputc('{', f);
    for (int i = 0; bt_rules[i]; i++)
        if (s->rule_count[i]) {
            fprintf(f, "%s\"%s\":%ld", first ? "" : ",", bt_rules[i], s->rule_count[i]);
            first = 0;
        }
    if (s->other_rules)
        fprintf(f, "%s\"other\":%ld", first ? "" : ",", s->other_rules);
    fputc('}', f);
}

static void json_money(FILE *f, const bt_stats *s, int interest)
{
    char cur[32][8];
    size_t n = currencies(s, NULL, cur, 32);
    fputc('{', f);
    for (size_t i = 0; i < n; i++) {
        int64_t fe, in;
        charged(s, cur[i], &fe, &in);
        fprintf(f, "%s\"%s\":%lld", i ? "," : "", cur[i], (long long)(interest ? in : fe));
    }
    fputc('}', f);
}

/* The figures of one run as a JSON object; the wall time (not
 * reproducible) only when wall is set. */
static void json_figures(FILE *f, const bt_stats *s, int wall)
{
    char t0[40], t1[40];
    cm_time_format_rfc3339(s->first_ms, t0, sizeof t0);
    cm_time_format_rfc3339(s->until_ms, t1, sizeof t1);
    fprintf(f,
            "{\"lines\":%ld,\"rejected\":%ld,\"out_of_order\":%ld,\"ignored\":%ld,"
            "\"other_tenant\":%ld,\"after_until\":%ld,\"applied\":%ld,\"not_applicable\":%ld,"
            "\"period\":{\"from\":\"%s\",\"until\":\"%s\"},\"commands\":%ld,\"by_kind_channel\":",
            s->lines, s->rejected, s->out_of_order, s->ignored, s->filtered, s->outside, s->applied,
            s->not_applied, t0, t1, s->commands);
    json_kinds(f, s);
    fprintf(f, ",\"events\":%ld,\"debtors_contacted\":%zu,\"max_contacts_7d\":%d,\"decisions\":",
            s->events, s->ndebtors, max7(s));
    json_rules(f, s);
    fputs(",\"fees_minor\":", f);
    json_money(f, s, 0);
    fputs(",\"interest_minor\":", f);
    json_money(f, s, 1);
    fprintf(f, ",\"escalations\":%ld", s->escalations);
    if (wall)
        fprintf(f, ",\"wall_s\":%.3f", s->wall_s);
    fputc('}', f);
}

int bt_stats_json(FILE *f, const bt_stats *s)
{
    json_figures(f, s, 1);
    fputc('\n', f);
    return ferror(f) ? -1 : 0;
}

/* ---- two runs side by side ---- */

static void row(FILE *f, const char *what, long a, long b)
{
    fprintf(f, "%-40s %14ld %14ld %+14ld\n", what, a, b, b - a);
}

void bt_compare_print(FILE *f, const bt_stats *a, const bt_stats *b, const char *na, const char *nb,
                      int json)
{
    if (json) {
        fputs("{\"a\":", f);
        json_figures(f, a, 0);
        fputs(",\"b\":", f);
        json_figures(f, b, 0);
        fputs("}\n", f);
        return;
    }
    char label[96];
    fprintf(f, "A = %s\nB = %s\n\n", na, nb);
    fprintf(f, "%-40s %14s %14s %14s\n", "", "A", "B", "B - A");
    row(f, "commands", a->commands, b->commands);
    for (int k = 0; k < CT_KIND_COUNT; k++)
        for (int c = 0; c < CT_CH_COUNT; c++)
            if (a->by_kind_channel[k][c] || b->by_kind_channel[k][c]) {
                snprintf(label, sizeof label, "  %s/%s", ct_kind_name((ct_kind)k),
                         ct_channel_name((ct_channel)c));
                row(f, label, a->by_kind_channel[k][c], b->by_kind_channel[k][c]);
            }
    row(f, "debtors contacted", (long)a->ndebtors, (long)b->ndebtors);
    row(f, "most contacts to one debtor in 7 days", max7(a), max7(b));
    long da = a->other_rules, db = b->other_rules;
    for (int i = 0; bt_rules[i]; i++)
        da += a->rule_count[i], db += b->rule_count[i];
    row(f, "decisions (held, nothing sent)", da, db);
    for (int i = 0; bt_rules[i]; i++)
        if (a->rule_count[i] || b->rule_count[i]) {
            snprintf(label, sizeof label, "  %s", bt_rules[i]);
            row(f, label, a->rule_count[i], b->rule_count[i]);
        }
    if (a->other_rules || b->other_rules)
        row(f, "  other", a->other_rules, b->other_rules);
    char cur[32][8];
    size_t n = currencies(a, b, cur, 32);
    for (size_t i = 0; i < n; i++) {
        int64_t fa, ia, fb, ib;
        charged(a, cur[i], &fa, &ia);
        charged(b, cur[i], &fb, &ib);
        snprintf(label, sizeof label, "fees charged, %s (minor units)", cur[i]);
        row(f, label, (long)fa, (long)fb);
        snprintf(label, sizeof label, "interest charged, %s (minor units)", cur[i]);
        row(f, label, (long)ia, (long)ib);
    }
    if (n == 0)
        row(f, "fees and interest charged (minor units)", 0, 0);
    row(f, "escalations", a->escalations, b->escalations);
    fprintf(f, "\nA backtest replays the ledger's payments as they happened: they do not\n"
               "react to the policy, so recovery is not predicted (docs/backtest.md).\n");
}
