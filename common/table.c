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

static void tbl_kpis(FILE *out, const json_t *r)
{
    static const struct {
        const char *label, *key;
        int money;
    } rows[] = {
        {"invoiced", "invoiced_minor", 1},
        {"collected", "collected_minor", 1},
        {"beginning AR", "beginning_ar_minor", 1},
        {"ending AR", "ending_ar_minor", 1},
        {"ending current AR", "ending_current_ar_minor", 1},
        {"ending overdue AR", "ending_overdue_ar_minor", 1},
        {"DSO simple (days)", "dso_simple_days", 0},
        {"best possible DSO", "best_possible_dso_days", 0},
        {"ADD (days)", "add_days", 0},
        {"CEI %", "cei_percent", 0},
        {"recovery base", "recovery_base_minor", 1},
        {"recovered", "recovered_minor", 1},
        {"recovery rate %", "recovery_rate_percent", 0},
    };
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
        for (size_t row = 0; row < sizeof rows / sizeof rows[0]; row++) {
            fprintf(out, "  %-22s", rows[row].label);
            json_array_foreach(periods, k, p)
            {
                if (rows[row].money)
                    tbl_money(v, sizeof v, p, rows[row].key, exp);
                else
                    tbl_num(v, sizeof v, json_object_get(p, rows[row].key));
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
    }
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
        {
            char m[40];
            int exp = cm_money_exponent(tbl_s(x, "currency"));
            tbl_money(m, sizeof m, x, "amount_minor", exp < 0 ? 2 : exp);
            size_t l = strlen(rec);
            snprintf(rec + l, sizeof rec - l, "%s%s %s", l ? ", " : "", m, tbl_s(x, "currency"));
        }
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
