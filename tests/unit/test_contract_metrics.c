/* test_contract_metrics.c -- the metric catalog (contract/metric_catalog.h),
 * what it registers, and the table in docs/operations.md agree.
 *
 * The docs table ("### Metrics") must list exactly the catalog's series,
 * in catalog order, with the same service and kind, and each meaning must
 * start with the series' HELP text. Registering every service through
 * ct_metrics_register() (and the lag gauges as common/service.c does) must
 * render one HELP and TYPE line per family and one sample per series,
 * nothing else. Run from the repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metric_catalog.h"
#include "metrics.h"

#define NAME_MAX_CM 160 /* common/metrics.c keeps names and help in 160 bytes */

static void series(ct_metric id, char *buf, size_t len)
{
    if (ct_metric_series(id, buf, len) != 0)
        fail_msg("metric %d has no series name", (int)id);
}

/* "name{labels}" -> "name" */
static void base_of(const char *s, char *buf, size_t len)
{
    size_t n = strcspn(s, "{");
    snprintf(buf, len, "%.*s", (int)n, s);
}

static void catalog_is_well_formed(void **state)
{
    (void)state;
    int per_service[CT_SVC_COUNT] = {0};
    for (int i = 0; i < CT_M_COUNT; i++) {
        char s[256], prefix[64], b[256];
        series((ct_metric)i, s, sizeof s);
        ct_service svc = ct_metric_service((ct_metric)i);
        assert_true(svc < CT_SVC_COUNT);
        per_service[svc]++;
        snprintf(prefix, sizeof prefix, "arrears_%s_", ct_service_name(svc));
        if (strncmp(s, prefix, strlen(prefix)) != 0)
            fail_msg("%s: not prefixed %s", s, prefix);
        assert_true(strlen(s) < NAME_MAX_CM);
        assert_true(ct_metric_help((ct_metric)i)[0] != 0);
        assert_true(strlen(ct_metric_help((ct_metric)i)) < NAME_MAX_CM);
        assert_string_not_equal(ct_metric_kind_name(ct_metric_kind_of((ct_metric)i)), "");
        base_of(s, b, sizeof b);
        if (strchr(s, '{'))
            assert_int_equal(s[strlen(s) - 1], '}');
        /* the runtime's rows are the lag gauges, plain names */
        if (ct_metric_runtime((ct_metric)i)) {
            assert_int_equal(ct_metric_kind_of((ct_metric)i), CT_MK_GAUGE);
            assert_string_equal(ct_metric_name((ct_metric)i), s);
        }
        for (int j = 0; j < i; j++) {
            char t[256], tb[256];
            series((ct_metric)j, t, sizeof t);
            if (!strcmp(s, t))
                fail_msg("series %s listed twice (ids %d and %d)", s, j, i);
            /* one family, one HELP and TYPE: the registry prints the first */
            base_of(t, tb, sizeof tb);
            if (!strcmp(b, tb)) {
                assert_string_equal(ct_metric_help((ct_metric)i), ct_metric_help((ct_metric)j));
                assert_int_equal(ct_metric_kind_of((ct_metric)i), ct_metric_kind_of((ct_metric)j));
                assert_int_equal(ct_metric_service((ct_metric)i), ct_metric_service((ct_metric)j));
            }
        }
    }
    for (int s = 0; s < CT_SVC_COUNT; s++)
        assert_true(per_service[s] > 0);
}

static void families_and_lookups(void **state)
{
    (void)state;
    char s[256];
    for (int c = 0; c < CT_CH_COUNT; c++) {
        char want[256];
        series((ct_metric)(CT_M_NOTIFIER_SENT + c), s, sizeof s);
        snprintf(want, sizeof want, "arrears_notifier_sent_total{channel=\"%s\"}",
                 ct_channel_name((ct_channel)c));
        assert_string_equal(s, want);
        series((ct_metric)(CT_M_NOTIFIER_FAILED + c), s, sizeof s);
        snprintf(want, sizeof want, "arrears_notifier_failed_total{channel=\"%s\"}",
                 ct_channel_name((ct_channel)c));
        assert_string_equal(s, want);
        assert_string_equal(ct_metric_name((ct_metric)(CT_M_NOTIFIER_SENT + c)),
                            "arrears_notifier_sent_total");
    }
    series(CT_M_INGEST_DUPLICATE, s, sizeof s);
    assert_string_equal(s, "arrears_ingest_messages_total{result=\"duplicate\"}");
    /* the strings services/<svc>/main.c give the runtime today */
    assert_string_equal(ct_metric_name(CT_M_INGEST_LAG), "arrears_ingest_lag_messages");
    assert_string_equal(ct_metric_help(CT_M_INGEST_LAG), "consumer lag on inbound");
    assert_string_equal(ct_metric_name(CT_M_SCHEDULER_LAG), "arrears_scheduler_lag_messages");
    assert_string_equal(ct_metric_help(CT_M_SCHEDULER_LAG), "consumer lag on events");
    assert_string_equal(ct_metric_name(CT_M_REPORTER_LAG), "arrears_reporter_lag");
    assert_string_equal(ct_metric_help(CT_M_REPORTER_LAG), "records behind the high watermarks");
    /* out of range and short buffers */
    assert_string_equal(ct_metric_name(CT_M_COUNT), "");
    assert_string_equal(ct_metric_help((ct_metric)-1), "");
    assert_int_equal(ct_metric_service(CT_M_COUNT), CT_SVC_COUNT);
    assert_int_equal(ct_metric_series(CT_M_COUNT, s, sizeof s), -1);
    assert_string_equal(s, "");
    assert_int_equal(ct_metric_series(CT_M_NOTIFIER_SENT, s, 10), -1);
    assert_string_equal(s, "");
    assert_string_equal(ct_service_name(CT_SVC_COUNT), "");
    assert_string_equal(ct_metric_kind_name(CT_MK_HISTOGRAM), "histogram");
}

/* --- docs/operations.md ---------------------------------------------------- */

typedef struct doc_row {
    char service[32], name[256], kind[32], meaning[512];
} doc_row;

/* Copies cell k (0-based) of a markdown table row, trimmed and without
 * surrounding backticks; -1 when the row has fewer cells. */
static int cell(const char *line, int k, char *out, size_t len)
{
    const char *p = line;
    if (*p != '|')
        return -1;
    for (int i = 0; i <= k; i++) {
        p = strchr(p, '|');
        if (!p || !p[1] || p[1] == '\n')
            return -1;
        p++;
    }
    const char *e = strchr(p, '|');
    if (!e)
        return -1;
    while (p < e && *p == ' ')
        p++;
    while (e > p && e[-1] == ' ')
        e--;
    if (e - p >= 2 && *p == '`' && e[-1] == '`') {
        p++;
        e--;
    }
    snprintf(out, len, "%.*s", (int)(e - p), p);
    return 0;
}

/* The rows of the table under "### Metrics" (header and rule skipped). */
static size_t doc_rows(doc_row *rows, size_t cap)
{
    FILE *f = fopen("docs/operations.md", "r");
    if (!f)
        fail_msg("cannot open docs/operations.md (run from the repository root)");
    char *buf = NULL;
    size_t bcap = 0, n = 0;
    int section = 0, line = 0;
    while (getline(&buf, &bcap, f) > 0) {
        buf[strcspn(buf, "\n")] = 0;
        if (!section) {
            section = !strcmp(buf, "### Metrics");
            continue;
        }
        if (buf[0] != '|') {
            if (line)
                break; /* the end of the table */
            continue;
        }
        if (line == 0) {
            char h[64];
            assert_int_equal(cell(buf, 1, h, sizeof h), 0);
            assert_string_equal(h, "name");
        } else if (line > 1) {
            assert_true(n < cap);
            doc_row *r = &rows[n++];
            if (cell(buf, 0, r->service, sizeof r->service) < 0 ||
                cell(buf, 1, r->name, sizeof r->name) < 0 ||
                cell(buf, 2, r->kind, sizeof r->kind) < 0 ||
                cell(buf, 3, r->meaning, sizeof r->meaning) < 0)
                fail_msg("docs/operations.md: metrics row %zu has fewer than 4 cells: %s", n, buf);
        }
        line++;
    }
    free(buf);
    fclose(f);
    if (!section)
        fail_msg("docs/operations.md: no \"### Metrics\" section");
    if (!line)
        fail_msg("docs/operations.md: no table under \"### Metrics\"");
    return n;
}

static void docs_table_is_the_catalog(void **state)
{
    (void)state;
    static doc_row rows[CT_M_COUNT + 32];
    size_t n = doc_rows(rows, sizeof rows / sizeof rows[0]);
    for (size_t i = 0; i < n && i < CT_M_COUNT; i++) {
        char s[256];
        series((ct_metric)i, s, sizeof s);
        if (strcmp(rows[i].name, s) != 0)
            fail_msg("docs/operations.md metrics row %zu is %s; the catalog's is %s", i + 1,
                     rows[i].name, s);
        assert_string_equal(rows[i].service, ct_service_name(ct_metric_service((ct_metric)i)));
        assert_string_equal(rows[i].kind, ct_metric_kind_name(ct_metric_kind_of((ct_metric)i)));
        const char *help = ct_metric_help((ct_metric)i);
        if (strncmp(rows[i].meaning, help, strlen(help)) != 0)
            fail_msg("docs/operations.md %s: meaning \"%s\" does not start with its help \"%s\"", s,
                     rows[i].meaning, help);
    }
    if (n != CT_M_COUNT)
        fail_msg("docs/operations.md lists %zu metrics, the catalog %d", n, (int)CT_M_COUNT);
}

/* --- what /metrics renders --------------------------------------------------- */

static size_t count_lines(const char *text, const char *line)
{
    size_t n = 0, l = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p += l)
        if ((p == text || p[-1] == '\n') && p[l] == '\n')
            n++;
    return n;
}

static void registers_and_renders_the_catalog(void **state)
{
    (void)state;
    cm_metric *m[CT_SVC_COUNT][CT_M_COUNT];
    memset(m, 0, sizeof m);
    for (int s = 0; s < CT_SVC_COUNT; s++) {
        ct_metrics_register((ct_service)s, m[s]);
        for (int i = 0; i < CT_M_COUNT; i++) {
            int own = ct_metric_service((ct_metric)i) == (ct_service)s &&
                      !ct_metric_runtime((ct_metric)i);
            if (own != (m[s][i] != NULL))
                fail_msg("%s: metric %d %s", ct_service_name((ct_service)s), i,
                         own ? "not registered" : "registered by the wrong service");
        }
        /* the lag gauge, as common/service.c registers it */
        for (int i = 0; i < CT_M_COUNT; i++)
            if (ct_metric_service((ct_metric)i) == (ct_service)s && ct_metric_runtime((ct_metric)i))
                m[s][i] =
                    cm_metrics_gauge(ct_metric_name((ct_metric)i), ct_metric_help((ct_metric)i));
    }
    cm_metric_add(m[CT_SVC_NOTIFIER][CT_M_NOTIFIER_FAILED + CT_CH_SMS], 3);

    size_t len = 0;
    char *text = cm_metrics_render(&len);
    assert_non_null(text);
    size_t samples = 0;
    for (const char *p = text; *p; p = strchr(p, '\n') + 1)
        if (*p != '#')
            samples++;
    size_t want = 0;
    for (int i = 0; i < CT_M_COUNT; i++) {
        char s[256], b[256], line[600];
        series((ct_metric)i, s, sizeof s);
        base_of(s, b, sizeof b);
        const char *kind = ct_metric_kind_name(ct_metric_kind_of((ct_metric)i));
        snprintf(line, sizeof line, "# HELP %s %s", b, ct_metric_help((ct_metric)i));
        assert_int_equal(count_lines(text, line), 1);
        snprintf(line, sizeof line, "# TYPE %s %s", b, kind);
        assert_int_equal(count_lines(text, line), 1);
        if (ct_metric_kind_of((ct_metric)i) == CT_MK_HISTOGRAM) {
            /* the buckets docs/operations.md lists */
            static const char *const le[] = {"0.001", "0.0025", "0.005", "0.01", "0.025",
                                             "0.05",  "0.1",    "0.25",  "0.5",  "1",
                                             "2.5",   "5",      "10",    "30",   "+Inf"};
            for (size_t k = 0; k < sizeof le / sizeof le[0]; k++) {
                snprintf(line, sizeof line, "%s_bucket{le=\"%s\"} 0", b, le[k]);
                if (count_lines(text, line) != 1)
                    fail_msg("/metrics has not exactly one line \"%s\"", line);
            }
            snprintf(line, sizeof line, "%s_count 0", b);
            want += sizeof le / sizeof le[0] + 2; /* buckets, _sum, _count */
        } else {
            snprintf(line, sizeof line, "%s %d", s, i == CT_M_NOTIFIER_FAILED + CT_CH_SMS ? 3 : 0);
            want++;
        }
        if (count_lines(text, line) != 1)
            fail_msg("/metrics has not exactly one line \"%s\":\n%s", line, text);
    }
    assert_int_equal(samples, want);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(catalog_is_well_formed),
        cmocka_unit_test(families_and_lookups),
        cmocka_unit_test(docs_table_is_the_catalog),
        cmocka_unit_test(registers_and_renders_the_catalog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
