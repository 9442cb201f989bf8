/* metrics.h - counters, gauges and histograms with labels, rendered in the
 * Prometheus text exposition format.
 *
 * Families live in one process-wide registry and are never freed; creating a
 * family twice with the same name returns the first one.  Every function is
 * thread-safe.  Label values are copied on first use of a series; keep their
 * cardinality bounded (route patterns, not raw paths).
 */
#ifndef B4_METRICS_H
#define B4_METRICS_H

#include <stddef.h>

struct b4_metric;

/* label_names is a NULL-terminated array, or NULL for no labels. */
struct b4_metric *b4_metrics_counter(const char *name, const char *help,
				     const char *const *label_names);
struct b4_metric *b4_metrics_gauge(const char *name, const char *help,
				   const char *const *label_names);
/* buckets: ascending upper bounds; nbuckets 0 uses latency buckets from
 * 1 ms to 10 s. */
struct b4_metric *b4_metrics_histogram(const char *name, const char *help,
				       const char *const *label_names, const double *buckets,
				       size_t nbuckets);
/* A gauge computed at scrape time by fn(arg); no labels. */
void b4_metrics_gauge_fn(const char *name, const char *help, double (*fn)(void *), void *arg);

/* label_values has one entry per label name (NULL when there are none). */
void b4_metrics_add(struct b4_metric *m, const char *const *label_values, double v);
void b4_metrics_set(struct b4_metric *m, const char *const *label_values, double v);
void b4_metrics_observe(struct b4_metric *m, const char *const *label_values, double v);

/* Renders every family; returns a malloc'd NUL-terminated text the caller
 * frees, or NULL when out of memory. */
char *b4_metrics_render(size_t *len);

#endif
