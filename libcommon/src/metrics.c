/* metrics.c - Prometheus metrics registry; see b4/metrics.h. */
#include "b4/metrics.h"
#include "b4/buf.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LABELS 8

enum metric_kind { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM, KIND_GAUGE_FN };

struct series {
	struct series *next_in_bucket;
	struct series *next_in_order; /* insertion order, for stable output */
	char *labels;		      /* rendered `a="x",b="y"` */
	double value;		      /* counter/gauge value, histogram sum */
	uint64_t count;		      /* histogram count */
	uint64_t *bucket_counts;      /* histogram: one per bucket (not cumulative) */
};

struct b4_metric {
	struct b4_metric *next;
	enum metric_kind kind;
	char *name;
	char *help;
	char *label_names[MAX_LABELS];
	size_t nlabels;
	double *buckets;
	size_t nbuckets;
	double (*fn)(void *);
	void *fn_arg;
	pthread_mutex_t lock;
	struct series *table[64];
	struct series *first, *last;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct b4_metric *registry_first, *registry_last;

static const double default_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
					 0.25,	0.5,	0.75,  1,    2.5,   5,	  10};

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static struct b4_metric *family_new(enum metric_kind kind, const char *name, const char *help,
				    const char *const *label_names)
{
	struct b4_metric *m;

	pthread_mutex_lock(&registry_lock);
	for (m = registry_first; m; m = m->next) {
		if (strcmp(m->name, name) == 0) {
			pthread_mutex_unlock(&registry_lock);
			return m;
		}
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		pthread_mutex_unlock(&registry_lock);
		return NULL;
	}
	m->kind = kind;
	m->name = dup_str(name);
	m->help = dup_str(help);
	for (size_t i = 0; label_names && label_names[i] && i < MAX_LABELS; i++) {
		m->label_names[i] = dup_str(label_names[i]);
		m->nlabels++;
	}
	pthread_mutex_init(&m->lock, NULL);
	if (registry_last)
		registry_last->next = m;
	else
		registry_first = m;
	registry_last = m;
	pthread_mutex_unlock(&registry_lock);
	return m;
}

struct b4_metric *b4_metrics_counter(const char *name, const char *help,
				     const char *const *label_names)
{
	return family_new(KIND_COUNTER, name, help, label_names);
}

struct b4_metric *b4_metrics_gauge(const char *name, const char *help,
				   const char *const *label_names)
{
	return family_new(KIND_GAUGE, name, help, label_names);
}

struct b4_metric *b4_metrics_histogram(const char *name, const char *help,
				       const char *const *label_names, const double *buckets,
				       size_t nbuckets)
{
	struct b4_metric *m = family_new(KIND_HISTOGRAM, name, help, label_names);

	if (!m || m->buckets)
		return m;
	if (nbuckets == 0) {
		buckets = default_buckets;
		nbuckets = sizeof(default_buckets) / sizeof(default_buckets[0]);
	}
	pthread_mutex_lock(&m->lock);
	m->buckets = malloc(nbuckets * sizeof(double));
	if (m->buckets) {
		memcpy(m->buckets, buckets, nbuckets * sizeof(double));
		m->nbuckets = nbuckets;
	}
	pthread_mutex_unlock(&m->lock);
	return m;
}

void b4_metrics_gauge_fn(const char *name, const char *help, double (*fn)(void *), void *arg)
{
	struct b4_metric *m = family_new(KIND_GAUGE_FN, name, help, NULL);

	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->fn = fn;
	m->fn_arg = arg;
	pthread_mutex_unlock(&m->lock);
}

/* Label values are escaped per the exposition format: \\, \" and \n. */
static void append_label_value(struct b4_buf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			b4_buf_puts(out, "\\\\");
		else if (*v == '"')
			b4_buf_puts(out, "\\\"");
		else if (*v == '\n')
			b4_buf_puts(out, "\\n");
		else
			b4_buf_append(out, v, 1);
	}
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* Finds or creates the series; called with m->lock held. */
static struct series *series_get(struct b4_metric *m, const char *const *label_values)
{
	struct b4_buf key;
	struct series *s;
	uint64_t h;

	b4_buf_init(&key);
	for (size_t i = 0; i < m->nlabels; i++) {
		if (i)
			b4_buf_puts(&key, ",");
		b4_buf_puts(&key, m->label_names[i]);
		b4_buf_puts(&key, "=\"");
		append_label_value(&key, label_values && label_values[i] ? label_values[i] : "");
		b4_buf_puts(&key, "\"");
	}
	if (b4_buf_failed(&key)) {
		b4_buf_cleanup(&key);
		return NULL;
	}
	if (!key.data)
		b4_buf_append(&key, "", 0);
	h = hash_str(key.data ? key.data : "") % 64;
	for (s = m->table[h]; s; s = s->next_in_bucket) {
		if (strcmp(s->labels, key.data ? key.data : "") == 0) {
			b4_buf_cleanup(&key);
			return s;
		}
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		b4_buf_cleanup(&key);
		return NULL;
	}
	s->labels = b4_buf_steal(&key, NULL);
	if (m->kind == KIND_HISTOGRAM) {
		s->bucket_counts = calloc(m->nbuckets ? m->nbuckets : 1, sizeof(uint64_t));
		if (!s->bucket_counts) {
			free(s->labels);
			free(s);
			return NULL;
		}
	}
	s->next_in_bucket = m->table[h];
	m->table[h] = s;
	if (m->last)
		m->last->next_in_order = s;
	else
		m->first = s;
	m->last = s;
	return s;
}

static void update(struct b4_metric *m, const char *const *label_values, double v, int op)
{
	struct series *s;

	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	s = series_get(m, label_values);
	if (s) {
		if (op == 0) {
			s->value += v;
		} else if (op == 1) {
			s->value = v;
		} else {
			size_t i;
			s->value += v;
			s->count++;
			for (i = 0; i < m->nbuckets; i++) {
				if (v <= m->buckets[i]) {
					s->bucket_counts[i]++;
					break;
				}
			}
		}
	}
	pthread_mutex_unlock(&m->lock);
}

void b4_metrics_add(struct b4_metric *m, const char *const *label_values, double v)
{
	update(m, label_values, v, 0);
}

void b4_metrics_set(struct b4_metric *m, const char *const *label_values, double v)
{
	update(m, label_values, v, 1);
}

void b4_metrics_observe(struct b4_metric *m, const char *const *label_values, double v)
{
	if (m && m->kind == KIND_HISTOGRAM)
		update(m, label_values, v, 2);
}

static void append_number(struct b4_buf *out, double v)
{
	if (isnan(v))
		b4_buf_puts(out, "NaN");
	else if (isinf(v))
		b4_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
	else if (v == (double)(int64_t)v && fabs(v) < 1e15)
		b4_buf_printf(out, "%lld", (long long)v);
	else {
		/* shortest text that reads back as the same double */
		char text[32];
		for (int precision = 6; precision <= 17; precision++) {
			snprintf(text, sizeof(text), "%.*g", precision, v);
			if (strtod(text, NULL) == v)
				break;
		}
		b4_buf_puts(out, text);
	}
}

static void append_help(struct b4_buf *out, const char *help)
{
	for (; *help; help++) {
		if (*help == '\\')
			b4_buf_puts(out, "\\\\");
		else if (*help == '\n')
			b4_buf_puts(out, "\\n");
		else
			b4_buf_append(out, help, 1);
	}
}

static void render_series(struct b4_buf *out, const struct b4_metric *m, const char *suffix,
			  const char *labels, const char *extra_label, double v)
{
	bool any = (labels && *labels) || extra_label;

	b4_buf_puts(out, m->name);
	b4_buf_puts(out, suffix);
	if (any) {
		b4_buf_puts(out, "{");
		if (labels && *labels)
			b4_buf_puts(out, labels);
		if (extra_label) {
			if (labels && *labels)
				b4_buf_puts(out, ",");
			b4_buf_puts(out, extra_label);
		}
		b4_buf_puts(out, "}");
	}
	b4_buf_puts(out, " ");
	append_number(out, v);
	b4_buf_puts(out, "\n");
}

static void render_family(struct b4_buf *out, struct b4_metric *m)
{
	static const char *const type_names[] = {"counter", "gauge", "histogram", "gauge"};
	struct series *s;
	char le[64];

	pthread_mutex_lock(&m->lock);
	if (m->kind != KIND_GAUGE_FN && !m->first) {
		/* a family without samples is legal but noisy; skip it */
		pthread_mutex_unlock(&m->lock);
		return;
	}
	b4_buf_printf(out, "# HELP %s ", m->name);
	append_help(out, m->help);
	b4_buf_printf(out, "\n# TYPE %s %s\n", m->name, type_names[m->kind]);
	if (m->kind == KIND_GAUGE_FN) {
		render_series(out, m, "", NULL, NULL, m->fn ? m->fn(m->fn_arg) : 0);
	}
	for (s = m->first; s; s = s->next_in_order) {
		if (m->kind == KIND_HISTOGRAM) {
			uint64_t cumulative = 0;
			for (size_t i = 0; i < m->nbuckets; i++) {
				struct b4_buf lb;
				cumulative += s->bucket_counts[i];
				b4_buf_init(&lb);
				append_number(&lb, m->buckets[i]);
				snprintf(le, sizeof(le), "le=\"%s\"", lb.data ? lb.data : "0");
				b4_buf_cleanup(&lb);
				render_series(out, m, "_bucket", s->labels, le, (double)cumulative);
			}
			render_series(out, m, "_bucket", s->labels, "le=\"+Inf\"",
				      (double)s->count);
			render_series(out, m, "_sum", s->labels, NULL, s->value);
			render_series(out, m, "_count", s->labels, NULL, (double)s->count);
		} else {
			render_series(out, m, "", s->labels, NULL, s->value);
		}
	}
	pthread_mutex_unlock(&m->lock);
}

char *b4_metrics_render(size_t *len)
{
	struct b4_buf out;
	struct b4_metric *m;

	b4_buf_init(&out);
	/* lock order: registry, then family (updates take only the family's) */
	pthread_mutex_lock(&registry_lock);
	for (m = registry_first; m; m = m->next)
		render_family(&out, m);
	pthread_mutex_unlock(&registry_lock);
	if (b4_buf_failed(&out)) {
		b4_buf_cleanup(&out);
		return NULL;
	}
	return b4_buf_steal(&out, len);
}
