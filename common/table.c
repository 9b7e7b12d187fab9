/* table.c -- reports (docs/reports.md) as aligned text tables for a person.
 *
 * Design: the printer reads a report as any consumer of `reports` does,
 * by field name from its JSON, so it needs no reporter internals and is
 * shared by `arrears-report` and `arrears-reporter replay --table`.
 * Money is printed in major units with the currency's exponent
 * (cm_money_format), rates with two decimals, missing values as "-". */
#include "table.h"

#include "money.h"

#include <string.h>

static const char *tbl_s(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void tbl_money(char *buf, size_t len, const json_t *o, const char *k, int exp)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_integer(v)) {
        snprintf(buf, len, "-");
        return;
    }
    cm_money_format(json_integer_value(v), exp, buf, len);
}

static void tbl_num(char *buf, size_t len, const json_t *v)
{
    if (json_is_number(v))
        snprintf(buf, len, "%.2f", json_number_value(v));
    else
        snprintf(buf, len, "-");
}

static void tbl_aging(FILE *out, const json_t *r)
{
    size_t i, k;
    const json_t *c;
    json_array_foreach(json_object_get(r, "currencies"), i, c)
    {
        int exp = (int)json_integer_value(json_object_get(c, "exponent"));
        char m[40];
        fprintf(out, "\n  %s\n  %-10s %10s %20s\n", tbl_s(c, "currency"), "bucket", "invoices",
                "amount");
        const json_t *b;
        json_array_foreach(json_object_get(c, "buckets"), k, b)
        {
            tbl_money(m, sizeof m, b, "amount_minor", exp);
            fprintf(out, "  %-10s %10lld %20s\n", tbl_s(b, "bucket"),
                    (long long)json_integer_value(json_object_get(b, "count")), m);
        }
        const json_t *t = json_object_get(c, "total");
        tbl_money(m, sizeof m, t, "amount_minor", exp);
        fprintf(out, "  %-10s %10lld %20s\n", "total",
                (long long)json_integer_value(json_object_get(t, "count")), m);
        const json_t *top = json_object_get(c, "top_overdue_customers");
        if (json_array_size(top)) {
            fprintf(out, "\n  %-20s %-24s %16s %8s %8s  %s\n", "customer", "name", "overdue",
                    "invoices", "max dpd", "risk");
            json_array_foreach(top, k, b)
            {
                tbl_money(m, sizeof m, b, "overdue_minor", exp);
                fprintf(out, "  %-20.20s %-24.24s %16s %8lld %8lld  %s\n", tbl_s(b, "customer_id"),
                        tbl_s(b, "name"), m,
                        (long long)json_integer_value(json_object_get(b, "overdue_invoices")),
                        (long long)json_integer_value(json_object_get(b, "max_days_past_due")),
                        tbl_s(b, "risk_band"));
            }
        }
    }
}

/* The rows of a kpis period; arm: also in the per-arm periods. */
static const struct {
    const char *label, *key;
    int money, arm;
} tbl_kpi_rows[] = {
    {"invoiced", "invoiced_minor", 1, 1},
    {"collected", "collected_minor", 1, 0},
    {"beginning AR", "beginning_ar_minor", 1, 1},
    {"ending AR", "ending_ar_minor", 1, 1},
    {"ending current AR", "ending_current_ar_minor", 1, 1},
    {"ending overdue AR", "ending_overdue_ar_minor", 1, 1},
    {"DSO simple (days)", "dso_simple_days", 0, 1},
    {"best possible DSO", "best_possible_dso_days", 0, 1},
    {"ADD (days)", "add_days", 0, 1},
    {"CEI %", "cei_percent", 0, 1},
    {"recovery base", "recovery_base_minor", 1, 1},
    {"recovered", "recovered_minor", 1, 1},
    {"recovery rate %", "recovery_rate_percent", 0, 1},
};
#define TBL_KPI_ROWS (sizeof tbl_kpi_rows / sizeof tbl_kpi_rows[0])

/* One cell of row of period p. */
static void tbl_kpi_cell(char *v, size_t len, const json_t *p, size_t row, int exp)
{
    if (tbl_kpi_rows[row].money)
        tbl_money(v, len, p, tbl_kpi_rows[row].key, exp);
    else
        tbl_num(v, len, json_object_get(p, tbl_kpi_rows[row].key));
}

/* The hand-off rows of a currency's kpis periods (issue 16), when one of
 * them has "escalations" (docs/reports.md): nothing otherwise. */
static void tbl_escalations(FILE *out, const json_t *periods, int exp)
{
    static const struct {
        const char *label, *key;
        int money;
    } rows[] = {
        {"cases placed", "placed_cases", 0},
        {"placed", "placed_minor", 1},
        {"cases recalled", "recalled_cases", 0},
        {"remitted", "remitted_minor", 1},
        {"agency commission", "commission_minor", 1},
        {"agency recovery %", "recovery_rate_percent", 0},
    };
    size_t k;
    const json_t *p;
    int any = 0;
    json_array_foreach(periods, k, p) any |= json_object_get(p, "escalations") != NULL;
    if (!any)
        return;
    for (size_t row = 0; row < sizeof rows / sizeof rows[0]; row++) {
        char v[40];
        fprintf(out, "  %-22s", rows[row].label);
        json_array_foreach(periods, k, p)
        {
            const json_t *e = json_object_get(p, "escalations");
            const json_t *x = json_object_get(e, rows[row].key);
            if (rows[row].money)
                tbl_money(v, sizeof v, e, rows[row].key, exp);
            else if (json_is_integer(x)) /* a count */
                snprintf(v, sizeof v, "%lld", (long long)json_integer_value(x));
            else
                tbl_num(v, sizeof v, x);
            fprintf(out, " %18s", v);
        }
        fprintf(out, "\n");
    }
}

static void tbl_kpis(FILE *out, const json_t *r)
{
    size_t i, k;
    const json_t *c, *p;
    json_array_foreach(json_object_get(r, "currencies"), i, c)
    {
        int exp = (int)json_integer_value(json_object_get(c, "exponent"));
        char v[40];
        const json_t *periods = json_object_get(c, "periods");
        tbl_num(v, sizeof v, json_object_get(c, "dso_countback_days"));
        fprintf(out, "\n  %s   DSO countback: %s days\n  %-22s", tbl_s(c, "currency"), v, "");
        json_array_foreach(periods, k, p) fprintf(out, " %18s", tbl_s(p, "period"));
        fprintf(out, "\n");
        for (size_t row = 0; row < TBL_KPI_ROWS; row++) {
            fprintf(out, "  %-22s", tbl_kpi_rows[row].label);
            json_array_foreach(periods, k, p)
            {
                tbl_kpi_cell(v, sizeof v, p, row, exp);
                fprintf(out, " %18s", v);
            }
            fprintf(out, "\n");
        }
        static const char *const sub[][3] = {
            {"late: mean days", "late_payments", "mean_days"},
            {"late: median days", "late_payments", "median_days"},
            {"late: p90 days", "late_payments", "p90_days"},
            {"promise kept %", "promises", "kept_rate_percent"},
            {"dispute rate %", "disputes", "dispute_rate_percent"},
        };
        for (size_t row = 0; row < sizeof sub / sizeof sub[0]; row++) {
            fprintf(out, "  %-22s", sub[row][0]);
            json_array_foreach(periods, k, p)
            {
                tbl_num(v, sizeof v, json_object_get(json_object_get(p, sub[row][1]), sub[row][2]));
                fprintf(out, " %18s", v);
            }
            fprintf(out, "\n");
        }
        tbl_escalations(out, periods, exp);
    }
}

/* Appends "<amount> <CUR>" (money key of x in major units) to buf, after
 * ", " when buf is not empty. */
static void tbl_cur_amount(char *buf, size_t len, const json_t *x, const char *key)
{
    char m[40];
    int exp = cm_money_exponent(tbl_s(x, "currency"));
    tbl_money(m, sizeof m, x, key, exp < 0 ? 2 : exp);
    size_t l = strlen(buf);
    snprintf(buf + l, len - l, "%s%s %s", l ? ", " : "", m, tbl_s(x, "currency"));
}

static void tbl_effect(FILE *out, const json_t *r)
{
    size_t i, k;
    const json_t *row, *x;
    fprintf(out, "\n  %-12s %-8s %5s %-10s %7s %7s %10s %10s  %s\n", "strategy", "variant", "step",
            "channel", "sent", "failed", "contacted", "response%", "recovered");
    json_array_foreach(json_object_get(r, "rows"), i, row)
    {
        char v[40], rec[200] = "";
        tbl_num(v, sizeof v, json_object_get(row, "response_rate_percent"));
        json_array_foreach(json_object_get(row, "recovered"), k, x)
            tbl_cur_amount(rec, sizeof rec, x, "amount_minor");
        fprintf(out, "  %-12.12s %-8.8s %5lld %-10.10s %7lld %7lld %10lld %10s  %s\n",
                tbl_s(row, "strategy"), tbl_s(row, "variant"),
                (long long)json_integer_value(json_object_get(row, "step")), tbl_s(row, "channel"),
                (long long)json_integer_value(json_object_get(row, "sent")),
                (long long)json_integer_value(json_object_get(row, "failed")),
                (long long)json_integer_value(json_object_get(row, "contacted_invoices")), v, rec);
    }
    json_array_foreach(json_object_get(r, "experiments"), i, row)
    {
        fprintf(out, "\n  strategy %s (baseline %s)\n  %-8s %9s %9s %10s\n", tbl_s(row, "strategy"),
                tbl_s(row, "baseline"), "variant", "invoices", "paid", "recovery%");
        json_array_foreach(json_object_get(row, "variants"), k, x)
        {
            char v[40];
            tbl_num(v, sizeof v, json_object_get(x, "recovery_rate_percent"));
            fprintf(out, "  %-8.8s %9lld %9lld %10s\n", tbl_s(x, "variant"),
                    (long long)json_integer_value(json_object_get(x, "invoices")),
                    (long long)json_integer_value(json_object_get(x, "paid_invoices")), v);
        }
        json_array_foreach(json_object_get(row, "comparisons"), k, x)
        {
            char a[40], lo[40], hi[40];
            tbl_num(a, sizeof a, json_object_get(x, "difference_points"));
            tbl_num(lo, sizeof lo, json_object_get(x, "ci95_low_points"));
            tbl_num(hi, sizeof hi, json_object_get(x, "ci95_high_points"));
            fprintf(out, "  %s - %s: %s points (95%% CI %s .. %s)\n", tbl_s(x, "variant"),
                    tbl_s(x, "baseline"), a, lo, hi);
        }
    }
}

/* The month of each arm of a kpis report, one column per arm, a table
 * per currency (in the order the arms name them). */
static void tbl_kpi_arms(FILE *out, const json_t *report)
{
    const json_t *arms = json_object_get(report, "arms"), *a, *c;
    const char *codes[64];
    size_t ncodes = 0, i, k;
    json_array_foreach(arms, i, a) json_array_foreach(json_object_get(a, "currencies"), k, c)
    {
        size_t n = 0;
        while (n < ncodes && strcmp(codes[n], tbl_s(c, "currency")))
            n++;
        if (n == ncodes && ncodes < sizeof codes / sizeof codes[0])
            codes[ncodes++] = tbl_s(c, "currency");
    }
    for (size_t n = 0; n < ncodes; n++) {
        fprintf(out, "\n  %s   month by arm\n  %-22s", codes[n], "");
        json_array_foreach(arms, i, a)
        {
            char head[80];
            snprintf(head, sizeof head, "%s/%s", tbl_s(a, "strategy"), tbl_s(a, "variant"));
            fprintf(out, " %18.18s", head);
        }
        fprintf(out, "\n");
        for (size_t row = 0; row < TBL_KPI_ROWS; row++) {
            if (!tbl_kpi_rows[row].arm)
                continue;
            fprintf(out, "  %-22s", tbl_kpi_rows[row].label);
            json_array_foreach(arms, i, a)
            {
                char v[40] = "-";
                json_array_foreach(json_object_get(a, "currencies"), k, c)
                {
                    if (strcmp(tbl_s(c, "currency"), codes[n]))
                        continue;
                    const json_t *periods = json_object_get(c, "periods");
                    const json_t *month = json_array_get(periods, json_array_size(periods) - 1);
                    tbl_kpi_cell(v, sizeof v, month, row,
                                 (int)json_integer_value(json_object_get(c, "exponent")));
                }
                fprintf(out, " %18s", v);
            }
            fprintf(out, "\n");
        }
    }
    fprintf(out, "\n");
}

void cm_table_arms(FILE *out, const json_t *report)
{
    size_t i, k, j;
    const json_t *exp, *x, *y;
    if (!strcmp(tbl_s(report, "type"), "kpis")) {
        if (json_array_size(json_object_get(report, "arms"))) {
            fprintf(out, "== kpis by arm  tenant %s  as of %s\n", tbl_s(report, "tenant"),
                    tbl_s(report, "as_of"));
            tbl_kpi_arms(out, report);
        }
        return;
    }
    fprintf(out, "== arms  tenant %s  as of %s\n", tbl_s(report, "tenant"), tbl_s(report, "as_of"));
    json_array_foreach(json_object_get(report, "experiments"), i, exp)
    {
        fprintf(out,
                "\n  strategy %s (champion %s)\n  %-8s %8s %6s %9s %-16s %-24s %-20s %-26s "
                "%8s %8s\n",
                tbl_s(exp, "strategy"), tbl_s(exp, "baseline"), "variant", "invoices", "paid",
                "recovery%", "95% CI", "recovered", "messages", "cost (per 100 recovered)",
                "days med", "days p90");
        json_array_foreach(json_object_get(exp, "variants"), k, x)
        {
            char rate[40], lo[40], hi[40], ci[100], rec[200] = "", msgs[200] = "", cost[300] = "",
                                                    med[40], p90[40];
            tbl_num(rate, sizeof rate, json_object_get(x, "recovery_rate_percent"));
            tbl_num(lo, sizeof lo, json_object_get(x, "recovery_ci95_low_percent"));
            tbl_num(hi, sizeof hi, json_object_get(x, "recovery_ci95_high_percent"));
            snprintf(ci, sizeof ci, "%s .. %s", lo, hi);
            json_array_foreach(json_object_get(x, "recovered"), j, y)
                tbl_cur_amount(rec, sizeof rec, y, "amount_minor");
            const char *ch;
            json_object_foreach((json_t *)json_object_get(x, "messages"), ch, y)
            {
                size_t l = strlen(msgs);
                snprintf(msgs + l, sizeof msgs - l, "%s%s %lld", l ? ", " : "", ch,
                         (long long)json_integer_value(y));
            }
            json_array_foreach(json_object_get(x, "collection_cost"), j, y)
            {
                char per[40];
                tbl_cur_amount(cost, sizeof cost, y, "cost_minor");
                tbl_num(per, sizeof per, json_object_get(y, "cost_per_100_recovered"));
                size_t l = strlen(cost);
                snprintf(cost + l, sizeof cost - l, " (%s)", per);
            }
            long long unp = (long long)json_integer_value(json_object_get(x, "unpriced_messages"));
            if (unp) {
                size_t l = strlen(cost);
                snprintf(cost + l, sizeof cost - l, "%s%lld unpriced", l ? "; " : "", unp);
            }
            const json_t *days = json_object_get(x, "days_to_recover");
            tbl_num(med, sizeof med, json_object_get(days, "median_days"));
            tbl_num(p90, sizeof p90, json_object_get(days, "p90_days"));
            fprintf(out, "  %-8.8s %8lld %6lld %9s %-16s %-24s %-20s %-26s %8s %8s\n",
                    tbl_s(x, "variant"),
                    (long long)json_integer_value(json_object_get(x, "invoices")),
                    (long long)json_integer_value(json_object_get(x, "paid_invoices")), rate, ci,
                    *rec ? rec : "-", *msgs ? msgs : "-", *cost ? cost : "-", med, p90);
        }
        json_array_foreach(json_object_get(exp, "comparisons"), k, x)
        {
            char lo[40], hi[40], z[40];
            tbl_num(lo, sizeof lo, json_object_get(x, "ci95_low_points"));
            tbl_num(hi, sizeof hi, json_object_get(x, "ci95_high_points"));
            tbl_num(z, sizeof z, json_object_get(x, "z_score"));
            fprintf(out, "  %s vs %s: %s (difference 95%% CI %s .. %s points, z %s)\n",
                    tbl_s(x, "variant"), tbl_s(x, "baseline"), tbl_s(x, "verdict"), lo, hi, z);
        }
        /* the aging of each arm's open invoices */
        int head = 0;
        json_array_foreach(json_object_get(exp, "variants"), k, x)
        {
            json_array_foreach(json_object_get(x, "aging"), j, y)
            {
                size_t b;
                const json_t *bk;
                int e = cm_money_exponent(tbl_s(y, "currency"));
                if (!head++) {
                    fprintf(out, "\n  open by age   %-8s %-8s", "variant", "currency");
                    json_array_foreach(json_object_get(y, "buckets"), b, bk)
                        fprintf(out, " %18s", tbl_s(bk, "bucket"));
                    fprintf(out, "\n");
                }
                fprintf(out, "  %-13s %-8.8s %-8s", "", tbl_s(x, "variant"), tbl_s(y, "currency"));
                json_array_foreach(json_object_get(y, "buckets"), b, bk)
                {
                    char m[40], cell[64];
                    tbl_money(m, sizeof m, bk, "amount_minor", e < 0 ? 2 : e);
                    snprintf(cell, sizeof cell, "%lld / %s",
                             (long long)json_integer_value(json_object_get(bk, "count")), m);
                    fprintf(out, " %18s", cell);
                }
                fprintf(out, "\n");
            }
        }
    }
    fprintf(out, "\n");
}

void cm_table_report(FILE *out, const json_t *report)
{
    const char *type = tbl_s(report, "type");
    fprintf(out, "== %s  tenant %s  as of %s", type, tbl_s(report, "tenant"),
            tbl_s(report, "as_of"));
    if (json_object_get(report, "request_id"))
        fprintf(out, "  (request %s)", tbl_s(report, "request_id"));
    fprintf(out, "\n");
    if (!strcmp(type, "aging"))
        tbl_aging(out, report);
    else if (!strcmp(type, "kpis"))
        tbl_kpis(out, report);
    else if (!strcmp(type, "effectiveness"))
        tbl_effect(out, report);
    else if (json_object_get(report, "error"))
        fprintf(out, "  error: %s\n", tbl_s(report, "error"));
    fprintf(out, "\n");
}
