/* metrics.h -- process metrics in the Prometheus text format.
 *
 * Counters, gauges and histograms are registered once at start (not
 * thread-safe) and updated lock-free from any thread. A name may carry a
 * fixed label set: "arrears_messages_in_total{topic=\"events\"}"; series of
 * one base name share HELP and TYPE lines. The registry owns every metric;
 * nothing is freed before exit. */
#ifndef CM_METRICS_H
#define CM_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct cm_metric cm_metric;

cm_metric *cm_metrics_counter(const char *name, const char *help);
cm_metric *cm_metrics_gauge(const char *name, const char *help);
/* Histogram of seconds with the default latency buckets (1 ms .. 30 s). */
cm_metric *cm_metrics_histogram(const char *name, const char *help);

void cm_metric_add(cm_metric *m, uint64_t n); /* counter */
void cm_metric_set(cm_metric *m, double v);   /* gauge */
void cm_metric_observe(cm_metric *m, double seconds);
double cm_metric_value(const cm_metric *m); /* counter or gauge */

/* Renders every metric; the caller frees the returned string. */
char *cm_metrics_render(size_t *len);

#endif
