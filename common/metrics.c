/* metrics.c -- counters, gauges and histograms in Prometheus text format.
 *
 * Design: a fixed array of metrics registered at start; values are C11
 * atomics (gauges store the bits of a double), so the hot path takes no
 * lock and the HTTP thread reads a consistent-enough snapshot. */
#include "metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_METRICS 256
#define NBUCKETS    14

enum { M_COUNTER, M_GAUGE, M_HISTO };

struct cm_metric {
    int kind;
    char name[160];
    char help[160];
    atomic_uint_fast64_t value; /* counter count, gauge double bits, histo count */
    atomic_uint_fast64_t sum_us;
    atomic_uint_fast64_t buckets[NBUCKETS];
};

static const double bounds[NBUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                        0.25,  0.5,    1,     2.5,  5,     10,   30};
static cm_metric metrics[MAX_METRICS];
static atomic_int nmetrics;

static cm_metric *reg(int kind, const char *name, const char *help)
{
    int i = atomic_fetch_add(&nmetrics, 1);
    if (i >= MAX_METRICS) {
        static cm_metric overflow; /* never rendered */
        atomic_fetch_sub(&nmetrics, 1);
        return &overflow;
    }
    cm_metric *m = &metrics[i];
    m->kind = kind;
    snprintf(m->name, sizeof(m->name), "%s", name);
    snprintf(m->help, sizeof(m->help), "%s", help);
    return m;
}

cm_metric *cm_metrics_counter(const char *name, const char *help)
{
    return reg(M_COUNTER, name, help);
}

cm_metric *cm_metrics_gauge(const char *name, const char *help)
{
    return reg(M_GAUGE, name, help);
}

cm_metric *cm_metrics_histogram(const char *name, const char *help)
{
    return reg(M_HISTO, name, help);
}

void cm_metric_add(cm_metric *m, uint64_t n)
{
    atomic_fetch_add(&m->value, n);
}

void cm_metric_set(cm_metric *m, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    atomic_store(&m->value, bits);
}

void cm_metric_observe(cm_metric *m, double seconds)
{
    if (seconds < 0)
        seconds = 0;
    for (int i = 0; i < NBUCKETS; i++)
        if (seconds <= bounds[i])
            atomic_fetch_add(&m->buckets[i], 1);
    atomic_fetch_add(&m->sum_us, (uint64_t)(seconds * 1e6));
    atomic_fetch_add(&m->value, 1);
}

double cm_metric_value(const cm_metric *m)
{
    uint64_t bits = atomic_load(&((cm_metric *)m)->value);
    if (m->kind == M_GAUGE) {
        double v;
        memcpy(&v, &bits, sizeof(v));
        return v;
    }
    return (double)bits;
}

/* Splits "name{labels}" into base and label part (without braces). */
static void split(const char *full, char *base, size_t blen, const char **labels, size_t *llen)
{
    const char *b = strchr(full, '{');
    size_t n = b ? (size_t)(b - full) : strlen(full);
    snprintf(base, blen, "%.*s", (int)n, full);
    if (b) {
        *labels = b + 1;
        *llen = strlen(b + 1);
        if (*llen && (*labels)[*llen - 1] == '}')
            (*llen)--;
    } else {
        *labels = "";
        *llen = 0;
    }
}

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static void bprintf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(buf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n + 1;
        char *p = realloc(b->p, cap);
        if (!p)
            return;
        b->p = p;
        b->cap = cap;
    }
}

char *cm_metrics_render(size_t *len)
{
    buf b = {malloc(4096), 0, 4096};
    int n = atomic_load(&nmetrics);
    if (!b.p)
        return NULL;
    b.p[0] = 0;
    for (int i = 0; i < n; i++) {
        cm_metric *m = &metrics[i];
        char base[160], prev[160] = "";
        const char *labels;
        size_t llen;
        split(m->name, base, sizeof(base), &labels, &llen);
        int seen = 0;
        for (int j = 0; j < i; j++) {
            split(metrics[j].name, prev, sizeof(prev), &(const char *){NULL}, &(size_t){0});
            if (strcmp(prev, base) == 0) {
                seen = 1;
                break;
            }
        }
        if (!seen)
            bprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", base, m->help, base,
                    m->kind == M_COUNTER ? "counter"
                    : m->kind == M_GAUGE ? "gauge"
                                         : "histogram");
        if (m->kind == M_HISTO) {
            const char *sep = llen ? "," : "";
            for (int k = 0; k < NBUCKETS; k++)
                bprintf(&b, "%s_bucket{%.*s%sle=\"%g\"} %llu\n", base, (int)llen, labels, sep,
                        bounds[k], (unsigned long long)atomic_load(&m->buckets[k]));
            bprintf(&b, "%s_bucket{%.*s%sle=\"+Inf\"} %llu\n", base, (int)llen, labels, sep,
                    (unsigned long long)atomic_load(&m->value));
            bprintf(&b, "%s_sum%s%.*s%s %.6f\n", base, llen ? "{" : "", (int)llen, labels,
                    llen ? "}" : "", (double)atomic_load(&m->sum_us) / 1e6);
            bprintf(&b, "%s_count%s%.*s%s %llu\n", base, llen ? "{" : "", (int)llen, labels,
                    llen ? "}" : "", (unsigned long long)atomic_load(&m->value));
        } else {
            bprintf(&b, "%s %.17g\n", m->name, cm_metric_value(m));
        }
    }
    *len = b.len;
    return b.p;
}
