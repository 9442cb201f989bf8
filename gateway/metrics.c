/* Prometheus text for b4-gateway: the workers' single-writer counters are
 * folded here at scrape time, so the hot path never takes a lock. */
#include "gateway.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;
	if (o->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = true;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t ncap = o->cap * 2 + (size_t)n;
		char *nb = realloc(o->buf, ncap);
		if (!nb) {
			o->failed = true;
			return;
		}
		o->buf = nb;
		o->cap = ncap;
	}
}

struct hist_sum {
	uint64_t buckets[GW_HIST_BUCKETS + 1];
	uint64_t count, sum_us;
};

static void hist_add(struct hist_sum *s, struct gw_hist *h)
{
	for (size_t i = 0; i <= GW_HIST_BUCKETS; i++)
		s->buckets[i] += GW_GET(h->buckets[i]);
	s->count += GW_GET(h->count);
	s->sum_us += GW_GET(h->sum_us);
}

static void hist_put(struct out *o, const char *name, const char *labels, const struct hist_sum *s)
{
	uint64_t cum = 0;
	for (size_t i = 0; i < GW_HIST_BUCKETS; i++) {
		cum += s->buckets[i];
		put(o, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels, gw_hist_bounds[i],
		    (unsigned long long)cum);
	}
	cum += s->buckets[GW_HIST_BUCKETS];
	put(o, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels, (unsigned long long)cum);
	put(o, "%s_sum{%s} %.6f\n", name, labels, (double)s->sum_us / 1e6);
	put(o, "%s_count{%s} %llu\n", name, labels, (unsigned long long)s->count);
}

/* label values here come from the configuration; escape them anyway */
static void esc(char *dst, size_t cap, const char *src)
{
	size_t n = 0;
	for (; *src && n + 3 < cap; src++) {
		if (*src == '"' || *src == '\\') {
			dst[n++] = '\\';
			dst[n++] = *src;
		} else if (*src == '\n') {
			dst[n++] = '\\';
			dst[n++] = 'n';
		} else {
			dst[n++] = *src;
		}
	}
	dst[n] = '\0';
}

/* Read-only lookups: the scraping thread must never add a slot. */
static struct gw_route_stats empty_route;
static struct gw_instance_stats empty_instance;

static struct gw_route_stats *find_route(struct gw_stats *st, const char *name)
{
	int n = atomic_load_explicit(&st->nroutes, memory_order_acquire);
	for (int i = 0; i < n; i++)
		if (strcmp(st->routes[i].name, name) == 0)
			return &st->routes[i];
	return &empty_route;
}

static struct gw_instance_stats *find_instance(struct gw_stats *st, const char *pool,
					       const char *instance)
{
	int n = atomic_load_explicit(&st->ninstances, memory_order_acquire);
	for (int i = 0; i < n; i++)
		if (strcmp(st->instances[i].pool, pool) == 0 &&
		    strcmp(st->instances[i].instance, instance) == 0)
			return &st->instances[i];
	return &empty_instance;
}

static uint64_t sum_workers(struct gw_worker **workers, size_t nworkers, size_t offset)
{
	uint64_t v = 0;
	for (size_t k = 0; k < nworkers; k++)
		v +=
		    GW_GET(*(atomic_uint_fast64_t *)((char *)gw_worker_stats(workers[k]) + offset));
	return v;
}

/* Static routes, CORS preflights and internal paths refused.  A route's
 * static series appear once it has served something. */
static void web_metrics(struct out *o, struct gw_worker **workers, size_t nworkers,
			struct gw_stats *s0)
{
	static const char *const results[GW_STATIC_RESULTS] = {"file", "fallback", "not_modified",
							       "not_found", "refused"};
	int nr = atomic_load_explicit(&s0->nroutes, memory_order_acquire);

	put(o,
	    "# HELP b4_gateway_internal_refused_total Requests for a service's /healthz, "
	    "/readyz or /metrics refused on the public listener.\n"
	    "# TYPE b4_gateway_internal_refused_total counter\n"
	    "b4_gateway_internal_refused_total %llu\n"
	    "# HELP b4_gateway_cors_preflights_total CORS preflights answered, and those "
	    "refused for their origin.\n"
	    "# TYPE b4_gateway_cors_preflights_total counter\n"
	    "b4_gateway_cors_preflights_total{result=\"granted\"} %llu\n"
	    "b4_gateway_cors_preflights_total{result=\"refused\"} %llu\n",
	    (unsigned long long)sum_workers(workers, nworkers,
					    offsetof(struct gw_stats, internal_refused)),
	    (unsigned long long)(sum_workers(workers, nworkers,
					     offsetof(struct gw_stats, cors_preflights)) -
				 sum_workers(workers, nworkers,
					     offsetof(struct gw_stats, cors_refused))),
	    (unsigned long long)sum_workers(workers, nworkers,
					    offsetof(struct gw_stats, cors_refused)));
	put(o, "# HELP b4_gateway_static_responses_total Answers of static routes by result.\n"
	       "# TYPE b4_gateway_static_responses_total counter\n"
	       "# HELP b4_gateway_static_bytes_total File bytes sent by static routes.\n"
	       "# TYPE b4_gateway_static_bytes_total counter\n"
	       "# HELP b4_gateway_static_precompressed_total Static answers served from a "
	       ".br or .gz sibling.\n"
	       "# TYPE b4_gateway_static_precompressed_total counter\n");
	for (int i = 0; i < nr; i++) {
		uint64_t v[GW_STATIC_RESULTS] = {0}, bytes = 0, pre = 0, any = 0;
		char name[GW_NAME_MAX * 2];
		for (size_t k = 0; k < nworkers; k++) {
			struct gw_route_stats *rs =
			    find_route(gw_worker_stats(workers[k]), s0->routes[i].name);
			for (int r = 0; r < GW_STATIC_RESULTS; r++)
				v[r] += GW_GET(rs->static_results[r]);
			bytes += GW_GET(rs->static_bytes);
			pre += GW_GET(rs->static_precompressed);
		}
		for (int r = 0; r < GW_STATIC_RESULTS; r++)
			any += v[r];
		if (!any)
			continue;
		esc(name, sizeof(name), s0->routes[i].name);
		for (int r = 0; r < GW_STATIC_RESULTS; r++)
			put(o,
			    "b4_gateway_static_responses_total{route=\"%s\",result=\"%s\"} "
			    "%llu\n",
			    name, results[r], (unsigned long long)v[r]);
		put(o,
		    "b4_gateway_static_bytes_total{route=\"%s\"} %llu\n"
		    "b4_gateway_static_precompressed_total{route=\"%s\"} %llu\n",
		    name, (unsigned long long)bytes, name, (unsigned long long)pre);
	}
}

char *gw_metrics_render(struct gw_worker **workers, size_t nworkers, bool draining, size_t *len)
{
	struct out o = {malloc(16384), 0, 16384, false};
	uint64_t not_found = 0, bad = 0, limited = 0, accepted = 0, reloads = 0;
	long long open = 0;
	/* names: the first worker's tables, matched by name in the others */
	struct gw_stats *s0;

	if (!o.buf)
		return NULL;
	for (size_t k = 0; k < nworkers; k++) {
		struct gw_stats *st = gw_worker_stats(workers[k]);
		not_found += GW_GET(st->not_found);
		bad += GW_GET(st->bad_requests);
		limited += GW_GET(st->rate_limited);
		accepted += GW_GET(st->accepted);
		reloads += GW_GET(st->reloads);
		open += GW_GET(st->open_connections);
	}
	reloads /= nworkers ? nworkers : 1;
	put(&o,
	    "# HELP b4_gateway_connections_accepted_total Client connections accepted.\n"
	    "# TYPE b4_gateway_connections_accepted_total counter\n"
	    "b4_gateway_connections_accepted_total %llu\n",
	    (unsigned long long)accepted);
	put(&o,
	    "# HELP b4_gateway_open_connections Client connections open now.\n"
	    "# TYPE b4_gateway_open_connections gauge\n"
	    "b4_gateway_open_connections %lld\n",
	    open);
	put(&o,
	    "# HELP b4_gateway_route_not_found_total Requests that matched no route.\n"
	    "# TYPE b4_gateway_route_not_found_total counter\n"
	    "b4_gateway_route_not_found_total %llu\n",
	    (unsigned long long)not_found);
	put(&o,
	    "# HELP b4_gateway_bad_requests_total Requests refused as malformed or ambiguous.\n"
	    "# TYPE b4_gateway_bad_requests_total counter\n"
	    "b4_gateway_bad_requests_total %llu\n",
	    (unsigned long long)bad);
	put(&o,
	    "# HELP b4_gateway_rate_limited_total Requests refused by rate limiting.\n"
	    "# TYPE b4_gateway_rate_limited_total counter\n"
	    "b4_gateway_rate_limited_total %llu\n",
	    (unsigned long long)limited);
	put(&o,
	    "# HELP b4_gateway_config_reloads_total Configuration reloads applied.\n"
	    "# TYPE b4_gateway_config_reloads_total counter\n"
	    "b4_gateway_config_reloads_total %llu\n",
	    (unsigned long long)reloads);
	put(&o,
	    "# HELP b4_gateway_draining Whether the gateway is draining (1) or not (0).\n"
	    "# TYPE b4_gateway_draining gauge\n"
	    "b4_gateway_draining %d\n",
	    draining ? 1 : 0);

	if (nworkers == 0)
		goto out;
	s0 = gw_worker_stats(workers[0]);

	/* per route */
	{
		int nr = atomic_load_explicit(&s0->nroutes, memory_order_acquire);
		static const char *const classes[] = {"", "1xx", "2xx", "3xx", "4xx", "5xx"};
		put(&o, "# HELP b4_gateway_requests_total Requests by route and status class.\n"
			"# TYPE b4_gateway_requests_total counter\n");
		for (int i = 0; i < nr; i++) {
			char name[GW_NAME_MAX * 2];
			esc(name, sizeof(name), s0->routes[i].name);
			for (int cl = 1; cl <= 5; cl++) {
				uint64_t v = 0;
				for (size_t k = 0; k < nworkers; k++) {
					struct gw_route_stats *rs = find_route(
					    gw_worker_stats(workers[k]), s0->routes[i].name);
					v += GW_GET(rs->by_class[cl]);
				}
				put(&o,
				    "b4_gateway_requests_total{route=\"%s\",code=\"%s\"} %llu\n",
				    name, classes[cl], (unsigned long long)v);
			}
		}
		put(&o, "# HELP b4_gateway_request_duration_seconds Time from request head to "
			"response end, by route.\n"
			"# TYPE b4_gateway_request_duration_seconds histogram\n");
		for (int i = 0; i < nr; i++) {
			struct hist_sum hs = {0};
			char labels[GW_NAME_MAX * 2 + 16], name[GW_NAME_MAX * 2];
			for (size_t k = 0; k < nworkers; k++)
				hist_add(&hs, &find_route(gw_worker_stats(workers[k]),
							  s0->routes[i].name)
						   ->latency);
			esc(name, sizeof(name), s0->routes[i].name);
			snprintf(labels, sizeof(labels), "route=\"%s\"", name);
			hist_put(&o, "b4_gateway_request_duration_seconds", labels, &hs);
		}
	}
	/* per upstream instance */
	{
		int ni = atomic_load_explicit(&s0->ninstances, memory_order_acquire);
		static const struct {
			const char *name, *help;
			int which;
		} counters[] = {
		    {"b4_gateway_upstream_requests_total", "Attempts sent to an upstream instance.",
		     0},
		    {"b4_gateway_upstream_failures_total",
		     "Failed attempts (connect, reset, timeout).", 1},
		    {"b4_gateway_upstream_retries_total", "Attempts that were retries.", 2},
		};
		for (size_t m = 0; m < 3; m++) {
			put(&o, "# HELP %s %s\n# TYPE %s counter\n", counters[m].name,
			    counters[m].help, counters[m].name);
			for (int i = 0; i < ni; i++) {
				struct gw_instance_stats *is0 = &s0->instances[i];
				char pool[GW_NAME_MAX * 2], inst[320];
				uint64_t v = 0;
				for (size_t k = 0; k < nworkers; k++) {
					struct gw_instance_stats *is = find_instance(
					    gw_worker_stats(workers[k]), is0->pool, is0->instance);
					v += counters[m].which == 0   ? GW_GET(is->requests)
					     : counters[m].which == 1 ? GW_GET(is->failures)
								      : GW_GET(is->retries);
				}
				esc(pool, sizeof(pool), is0->pool);
				esc(inst, sizeof(inst), is0->instance);
				put(&o, "%s{pool=\"%s\",instance=\"%s\"} %llu\n", counters[m].name,
				    pool, inst, (unsigned long long)v);
			}
		}
		put(&o, "# HELP b4_gateway_upstream_duration_seconds Time from attempt start to "
			"response end, by upstream instance.\n"
			"# TYPE b4_gateway_upstream_duration_seconds histogram\n");
		for (int i = 0; i < ni; i++) {
			struct gw_instance_stats *is0 = &s0->instances[i];
			struct hist_sum hs = {0};
			char labels[512], pool[GW_NAME_MAX * 2], inst[320];
			for (size_t k = 0; k < nworkers; k++)
				hist_add(&hs, &find_instance(gw_worker_stats(workers[k]), is0->pool,
							     is0->instance)
						   ->latency);
			esc(pool, sizeof(pool), is0->pool);
			esc(inst, sizeof(inst), is0->instance);
			snprintf(labels, sizeof(labels), "pool=\"%s\",instance=\"%s\"", pool, inst);
			hist_put(&o, "b4_gateway_upstream_duration_seconds", labels, &hs);
		}
		put(&o, "# HELP b4_gateway_upstream_connections Upstream connections by state.\n"
			"# TYPE b4_gateway_upstream_connections gauge\n");
		for (int i = 0; i < ni; i++) {
			struct gw_instance_stats *is0 = &s0->instances[i];
			long long idle = 0, active = 0;
			char pool[GW_NAME_MAX * 2], inst[320];
			for (size_t k = 0; k < nworkers; k++) {
				struct gw_instance_stats *is = find_instance(
				    gw_worker_stats(workers[k]), is0->pool, is0->instance);
				idle += GW_GET(is->idle);
				active += GW_GET(is->active);
			}
			esc(pool, sizeof(pool), is0->pool);
			esc(inst, sizeof(inst), is0->instance);
			put(&o,
			    "b4_gateway_upstream_connections{pool=\"%s\",instance=\"%s\",state="
			    "\"idle\"} %lld\n"
			    "b4_gateway_upstream_connections{pool=\"%s\",instance=\"%s\",state="
			    "\"active\"} %lld\n",
			    pool, inst, idle, pool, inst, active);
		}
		put(&o, "# HELP b4_gateway_upstream_healthy Whether every worker sees the instance "
			"as healthy (1) or not (0).\n"
			"# TYPE b4_gateway_upstream_healthy gauge\n");
		for (int i = 0; i < ni; i++) {
			struct gw_instance_stats *is0 = &s0->instances[i];
			int healthy = 1;
			char pool[GW_NAME_MAX * 2], inst[320];
			for (size_t k = 0; k < nworkers; k++)
				healthy &= GW_GET(find_instance(gw_worker_stats(workers[k]),
								is0->pool, is0->instance)
						      ->healthy);
			esc(pool, sizeof(pool), is0->pool);
			esc(inst, sizeof(inst), is0->instance);
			put(&o, "b4_gateway_upstream_healthy{pool=\"%s\",instance=\"%s\"} %d\n",
			    pool, inst, healthy);
		}
		put(&o, "# HELP b4_gateway_upstream_ejected Whether some worker has ejected the "
			"instance after failures (1) or not (0).\n"
			"# TYPE b4_gateway_upstream_ejected gauge\n");
		for (int i = 0; i < ni; i++) {
			struct gw_instance_stats *is0 = &s0->instances[i];
			int ejected = 0;
			char pool[GW_NAME_MAX * 2], inst[320];
			for (size_t k = 0; k < nworkers; k++)
				ejected |= GW_GET(find_instance(gw_worker_stats(workers[k]),
								is0->pool, is0->instance)
						      ->ejected);
			esc(pool, sizeof(pool), is0->pool);
			esc(inst, sizeof(inst), is0->instance);
			put(&o, "b4_gateway_upstream_ejected{pool=\"%s\",instance=\"%s\"} %d\n",
			    pool, inst, ejected);
		}
	}
	web_metrics(&o, workers, nworkers, s0);
out:
	if (o.failed) {
		free(o.buf);
		return NULL;
	}
	*len = o.len;
	return o.buf;
}
