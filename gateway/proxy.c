/* b4-gateway workers: one event loop per thread, client connections parsed by
 * http_parse.c, upstream keep-alive pools, load balancing, retries, health.
 *
 * Everything here runs on the worker's own thread; the only cross-thread
 * entry points are gw_worker_reload/drain/stop, which post to the loop
 * through a mutex-protected mailbox and event_active. */
#include "gateway.h"
#include "b4/http.h"
#include "dns.h"
#include "http_parse.h"
#include "path.h"
#include "reader.h"
#include "static.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "b4/log.h"

#define UP_OUT_HIGH	(256 * 1024) /* pause the producer above this much queued output */
#define CLIENT_OUT_HIGH (256 * 1024)
#define MAX_TRAILER	8192
#define LINGER_MS	2000

struct gw_worker;
struct gw_runtime;
struct gw_conn;

struct gw_uconn {
	struct bufferevent *bev;
	struct gw_reader rd; /* set up once connected */
	struct gw_instance *inst;
	struct gw_conn *client; /* owner while in use, NULL while idle */
	struct gw_uconn *next;	/* idle list */
	struct gw_uconn *prev;
	uint64_t idle_since_us;
	bool connected;
	bool reused;
};

struct gw_hc {
	struct bufferevent *bev;
	struct event *timer;
	struct gw_instance *inst;
};

struct gw_instance {
	const struct gw_instance_cfg *cfg; /* the file's entry, or own */
	struct gw_instance_cfg own;	   /* one address of a dynamic entry */
	bool dynamic;
	bool draining; /* its address left DNS: no new requests, in-flight finish */
	struct gw_pool *pool;
	struct gw_uconn *idle; /* LIFO */
	int nidle;
	int nconns; /* open connections, idle or not */
	int outstanding;
	int cur_weight;
	struct gw_health *health; /* shared by the workers (health.c) */
	struct gw_hc *hc;
	struct gw_instance_stats *stats;
};

struct gw_pool {
	const struct gw_pool_cfg *cfg;
	struct gw_runtime *rt;
	struct gw_instance inst[GW_MAX_INSTANCES];
	size_t n;
	unsigned rr;
	struct event *hc_timer;
};

struct gw_runtime {
	struct gw_config *cfg;
	struct gw_worker *w;
	struct gw_pool pools[GW_MAX_POOLS];
	struct gw_route_stats *route_stats[GW_MAX_ROUTES];
	int refs;
	bool retired;
	struct gw_runtime *next_retired;
};

enum conn_state {
	CS_HEAD,	 /* waiting for or reading a request head */
	CS_BODY_PREREAD, /* reading the body before choosing an upstream */
	CS_PROXY,	 /* request sent or being sent, response pending or streaming */
	CS_CLOSING,	 /* flushing the last response, then close */
	CS_LINGER,	 /* write side shut, discarding input until EOF */
};

enum up_state { US_NONE, US_CONNECTING, US_WAIT_HEAD, US_BODY };

struct gw_req {
	struct gw_runtime *rt;
	const struct gw_route_cfg *route;
	struct gw_route_stats *rstats;
	struct gw_pool *pool;
	char request_id[132];
	char method[16];
	char path[256]; /* for the log: path without query, truncated */
	enum gw_method method_id;
	int client_minor;
	bool client_close;
	bool retry_safe; /* method or Idempotency-Key makes a replay safe */
	struct evbuffer *up_head;
	struct evbuffer *body; /* body read before sending (kept for replay) */
	enum gw_body_kind body_kind;
	uint64_t body_remaining; /* LENGTH */
	uint64_t body_total;
	struct gw_chunked chunk;
	bool body_complete;
	bool body_streaming; /* body bytes go straight to the upstream */
	bool sent;	     /* the current attempt wrote request bytes */
	bool replayable;     /* the whole request is kept and may be sent again */
	/* upstream */
	struct gw_uconn *up;
	enum up_state ustate;
	int attempts;
	uint32_t tried; /* bitmask of instance indexes */
	bool got_response_byte;
	bool response_started; /* bytes went to the client */
	bool up_paused;	       /* upstream reads paused for back-pressure */
	int status;
	enum gw_body_kind resp_kind;
	uint64_t resp_remaining;
	struct gw_chunked resp_chunk;
	bool resp_dechunk;
	bool resp_up_close;
	uint64_t bytes_out;
	const char *upstream_label;
	/* timing */
	uint64_t start_us, attempt_start_us, sent_us;
	double connect_ms, first_byte_ms;
	uint64_t deadline_total_us;
	int timeout_phase;
	bool active;
	int cors; /* 0: no Origin or CORS off, -1: origin not allowed, i + 1: cors.origins[i] */
};

struct gw_conn {
	struct gw_worker *w;
	struct bufferevent *bev;
	struct gw_reader rd;	/* plain sockets; TLS reads through the bufferevent */
	struct event *timer;	/* client side: header, body, idle, linger */
	struct event *up_timer; /* upstream phases */
	char client_ip[INET6_ADDRSTRLEN];
	struct sockaddr_storage peer;
	bool tls;
	bool trusted;
	enum conn_state state;
	bool head_timer_armed;
	bool client_paused;
	int busy;	      /* callbacks of this connection on the stack */
	bool zombie;	      /* freed while busy: destroyed when the last one returns */
	bool in_input;	      /* process_input is on the stack */
	bool input_again;     /* more input to look at when it returns */
	bool out_wait;	      /* a large static body is queued: next request once it is sent */
	size_t out_wait_left; /* output left at the last look (send progress, CLOSING too) */
	struct gw_req req;
	struct gw_conn *prev, *next;
};

/* A connection accepted by one worker for another, less loaded one. */
struct gw_handoff {
	struct gw_handoff *next;
	evutil_socket_t fd;
	struct sockaddr_storage addr;
	int socklen;
	bool tls;
};

struct gw_worker {
	int index;
	pthread_t thread;
	bool started;
	struct event_base *base;
	struct evconnlistener *listeners[GW_MAX_LISTENERS];
	bool listener_tls[GW_MAX_LISTENERS];
	size_t nlisteners;
	struct gw_runtime *rt;
	struct gw_runtime *retired;
	struct event *notify;
	struct event *tick;
	pthread_mutex_t mu;
	struct gw_config *pending_cfg;
	bool pending_drain, pending_stop;
	bool draining;
	struct gw_conn *conns;
	int nconns;
	int max_conns;
	/* connections this worker holds or has been handed (read by the
	 * other workers when they place a new connection) */
	atomic_int load;
	struct event *handoff_ev;	 /* activated by a worker handing a connection over */
	struct gw_handoff *handoff_head; /* guarded by mu */
	unsigned dns_gen;		 /* gw_dns_generation() the pools follow */
	uint64_t rng;
	double retry_tokens;
	uint64_t retry_refill_us;
	struct gw_message_head scratch; /* parse output, used synchronously */
	char logbuf[65536];
	size_t loglen;
	struct gw_stats stats;
};

atomic_bool gw_draining;
atomic_int gw_workers_done;

const double gw_hist_bounds[GW_HIST_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
						0.1,	0.25,  0.5,    1,     2.5,  5,	   10};

uint64_t gw_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void gw_hist_observe(struct gw_hist *h, double seconds)
{
	size_t i = 0;
	while (i < GW_HIST_BUCKETS && seconds > gw_hist_bounds[i])
		i++;
	GW_INC(h->buckets[i], 1);
	GW_INC(h->count, 1);
	GW_INC(h->sum_us, (uint64_t)(seconds * 1e6));
}

struct gw_route_stats *gw_stats_route(struct gw_stats *st, const char *name)
{
	int n = GW_GET(st->nroutes);
	for (int i = 0; i < n; i++)
		if (strcmp(st->routes[i].name, name) == 0)
			return &st->routes[i];
	if (n >= GW_MAX_STAT_ROUTES)
		return &st->routes[GW_MAX_STAT_ROUTES - 1];
	snprintf(st->routes[n].name, sizeof(st->routes[n].name), "%s", name);
	atomic_store_explicit(&st->nroutes, n + 1, memory_order_release);
	return &st->routes[n];
}

struct gw_instance_stats *gw_stats_instance(struct gw_stats *st, const char *pool,
					    const char *instance)
{
	int n = GW_GET(st->ninstances);
	for (int i = 0; i < n; i++)
		if (strcmp(st->instances[i].pool, pool) == 0 &&
		    strcmp(st->instances[i].instance, instance) == 0)
			return &st->instances[i];
	if (n >= GW_MAX_STAT_INSTANCES)
		return &st->instances[GW_MAX_STAT_INSTANCES - 1];
	snprintf(st->instances[n].pool, sizeof(st->instances[n].pool), "%s", pool);
	snprintf(st->instances[n].instance, sizeof(st->instances[n].instance), "%s", instance);
	atomic_store_explicit(&st->ninstances, n + 1, memory_order_release);
	return &st->instances[n];
}

static uint64_t rng_next(struct gw_worker *w)
{
	uint64_t x = w->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	w->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static void make_request_id(struct gw_worker *w, char *out)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t a = rng_next(w), b = rng_next(w);
	for (int i = 0; i < 16; i++) {
		out[i] = hex[(a >> (i * 4)) & 15];
		out[16 + i] = hex[(b >> (i * 4)) & 15];
	}
	out[32] = '\0';
}

/* ---------------------------------------------------------------- access log */

static void log_flush(struct gw_worker *w)
{
	size_t off = 0;
	/* whole lines in writes of at most PIPE_BUF so threads never interleave */
	while (off < w->loglen) {
		size_t n = w->loglen - off;
		if (n > 4096) {
			n = 4096;
			while (n > 0 && w->logbuf[off + n - 1] != '\n')
				n--;
			if (n == 0)
				n = 4096;
		}
		ssize_t k = write(STDOUT_FILENO, w->logbuf + off, n);
		if (k <= 0) {
			if (k < 0 && errno == EINTR)
				continue;
			break;
		}
		off += (size_t)k;
	}
	w->loglen = 0;
}

static size_t json_escape(char *out, size_t cap, const char *s)
{
	size_t n = 0;
	for (; *s && n + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
		} else {
			out[n++] = (char)c;
		}
	}
	out[n] = '\0';
	return n;
}

static void access_log(struct gw_conn *c, uint64_t now)
{
	struct gw_worker *w = c->w;
	struct gw_req *r = &c->req;
	char line[1024], path[300], ts[96];
	struct timespec rt;
	struct tm tm;
	int n;

	if (!r->rt || !r->rt->cfg->access_log)
		return;
	clock_gettime(CLOCK_REALTIME, &rt);
	gmtime_r(&rt.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(rt.tv_nsec / 1000000));
	json_escape(path, sizeof(path), r->path);
	n = snprintf(line, sizeof(line),
		     "{\"time\":\"%s\",\"level\":\"info\",\"service\":\"b4-gateway\","
		     "\"request_id\":\"%s\",\"msg\":\"access\",\"method\":\"%s\",\"path\":\"%s\","
		     "\"route\":\"%s\",\"upstream\":\"%s\",\"status\":%d,\"bytes\":%llu,"
		     "\"client\":\"%s\",\"connect_ms\":%.3f,\"first_byte_ms\":%.3f,"
		     "\"total_ms\":%.3f,\"retries\":%d}\n",
		     ts, r->request_id, r->method, path, r->route ? r->route->name : "",
		     r->upstream_label ? r->upstream_label : "", r->status,
		     (unsigned long long)r->bytes_out, c->client_ip, r->connect_ms,
		     r->first_byte_ms, (double)(now - r->start_us) / 1000.0,
		     r->attempts > 1 ? r->attempts - 1 : 0);
	if (n <= 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	if (w->loglen + (size_t)n > sizeof(w->logbuf))
		log_flush(w);
	memcpy(w->logbuf + w->loglen, line, (size_t)n);
	w->loglen += (size_t)n;
	if (w->loglen > sizeof(w->logbuf) / 2)
		log_flush(w);
}

/* ---------------------------------------------------------------- runtime */

static void runtime_maybe_free(struct gw_runtime *rt);
static void runtime_unref(struct gw_runtime *rt);
static void uconn_free(struct gw_uconn *u);
static void hc_timer_cb(evutil_socket_t fd, short what, void *arg);

static bool instance_healthy(const struct gw_instance *in)
{
	return atomic_load_explicit(&in->health->healthy, memory_order_relaxed);
}

static bool instance_ejected(const struct gw_instance *in, uint64_t now)
{
	return now < atomic_load_explicit(&in->health->ejected_until_us, memory_order_relaxed);
}

/* Worker 0 runs the active checks for the process (health.c). */
static bool instance_checked_here(const struct gw_instance *in)
{
	return in->pool->rt->w->index == 0;
}

static void instance_close_idle(struct gw_instance *in);

/* Sets up slot in for the instance ic of pool. */
static int instance_init(struct gw_instance *in, struct gw_pool *pool,
			 const struct gw_instance_cfg *ic)
{
	struct gw_worker *w = pool->rt->w;
	in->cfg = ic;
	in->pool = pool;
	in->draining = false;
	in->cur_weight = 0;
	in->health = gw_health_get(pool->cfg->name, ic->label);
	if (!in->health)
		return -1;
	in->stats = gw_stats_instance(&w->stats, pool->cfg->name, ic->label);
	GW_SET(in->stats->healthy, instance_healthy(in) ? 1 : 0);
	return 0;
}

/* A slot for a new dynamic instance: a fresh one, or one whose address
 * left and that has nothing in flight any more. */
static struct gw_instance *free_slot(struct gw_pool *pool)
{
	for (size_t i = 0; i < pool->n; i++) {
		struct gw_instance *in = &pool->inst[i];
		if (in->dynamic && in->draining && in->nconns == 0 && in->outstanding == 0 &&
		    !in->hc)
			return in;
	}
	return pool->n < GW_MAX_INSTANCES ? &pool->inst[pool->n++] : NULL;
}

/* Brings the dynamic instances of pool in line with the addresses dns.c
 * published: one instance per address and port; new addresses join, those
 * that went away drain (no new requests, in-flight ones finish, idle
 * connections close). */
static int pool_follow_dns(struct gw_pool *pool)
{
	bool keep[GW_MAX_INSTANCES] = {false};

	for (size_t k = 0; k < pool->cfg->ninstances; k++) {
		const struct gw_instance_cfg *ic = &pool->cfg->instances[k];
		struct sockaddr_storage addrs[GW_MAX_INSTANCES];
		size_t n;
		if (!ic->dynamic)
			continue;
		n = gw_dns_addresses(ic->host, addrs, GW_MAX_INSTANCES);
		for (size_t a = 0; a < n; a++) {
			struct gw_instance_cfg one = *ic;
			struct gw_instance *in = NULL;
			char ip[INET6_ADDRSTRLEN];
			one.addr = addrs[a];
			if (addrs[a].ss_family == AF_INET) {
				struct sockaddr_in *s4 = (struct sockaddr_in *)&one.addr;
				s4->sin_port = htons(ic->port);
				one.addrlen = sizeof(*s4);
				inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
				snprintf(one.label, sizeof(one.label), "%s:%u@%s", ic->host,
					 ic->port, ip);
			} else {
				struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&one.addr;
				s6->sin6_port = htons(ic->port);
				one.addrlen = sizeof(*s6);
				inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
				snprintf(one.label, sizeof(one.label), "%s:%u@[%s]", ic->host,
					 ic->port, ip);
			}
			for (size_t i = 0; i < pool->n && !in; i++)
				if (pool->inst[i].dynamic &&
				    strcmp(pool->inst[i].own.label, one.label) == 0)
					in = &pool->inst[i];
			if (in) {
				in->draining = false; /* back (maybe before it was gone) */
			} else {
				/* more addresses than slots: the first ones serve */
				in = free_slot(pool);
				if (!in)
					continue;
				in->own = one;
				in->dynamic = true;
				if (instance_init(in, pool, &in->own) != 0)
					return -1;
			}
			keep[in - pool->inst] = true;
		}
	}
	for (size_t i = 0; i < pool->n; i++) {
		struct gw_instance *in = &pool->inst[i];
		if (in->dynamic && !keep[i] && !in->draining) {
			in->draining = true;
			instance_close_idle(in);
			b4_log_info("upstream instance draining", B4_LS("pool", pool->cfg->name),
				    B4_LS("instance", in->own.label));
		}
	}
	return 0;
}

/* A runtime for cfg on worker w; what was learnt about each instance
 * (health, ejection) is in its shared entry and carries over a reload. */
static struct gw_runtime *runtime_new(struct gw_worker *w, struct gw_config *cfg)
{
	struct gw_runtime *rt = calloc(1, sizeof(*rt));
	if (!rt)
		return NULL;
	gw_config_ref(cfg);
	rt->cfg = cfg;
	rt->w = w;
	for (size_t i = 0; i < cfg->nroutes; i++)
		rt->route_stats[i] = gw_stats_route(&w->stats, cfg->routes[i].name);
	w->dns_gen = gw_dns_generation();
	for (size_t p = 0; p < cfg->npools; p++) {
		struct gw_pool *pool = &rt->pools[p];
		pool->cfg = &cfg->pools[p];
		pool->rt = rt;
		pool->rr = (unsigned)w->index;
		for (size_t i = 0; i < pool->cfg->ninstances; i++) {
			const struct gw_instance_cfg *ic = &pool->cfg->instances[i];
			if (!ic->dynamic && instance_init(&pool->inst[pool->n++], pool, ic) != 0)
				goto out_free;
		}
		if (pool_follow_dns(pool) != 0)
			goto out_free;
		if (pool->cfg->health_interval_ms > 0) {
			struct timeval tv = {pool->cfg->health_interval_ms / 1000,
					     (pool->cfg->health_interval_ms % 1000) * 1000};
			pool->hc_timer = event_new(w->base, -1, EV_PERSIST, hc_timer_cb, pool);
			if (pool->hc_timer)
				event_add(pool->hc_timer, &tv);
		}
	}
	return rt;

out_free:
	for (size_t p = 0; p < cfg->npools; p++)
		if (rt->pools[p].hc_timer)
			event_free(rt->pools[p].hc_timer);
	gw_config_unref(cfg);
	free(rt);
	return NULL;
}

static void hc_free(struct gw_hc *hc)
{
	if (!hc)
		return;
	if (hc->bev)
		bufferevent_free(hc->bev);
	if (hc->timer)
		event_free(hc->timer);
	hc->inst->hc = NULL;
	free(hc);
}

static void instance_close_idle(struct gw_instance *in)
{
	while (in->idle)
		uconn_free(in->idle);
}

/* Stops a runtime from taking new work; frees it once nothing uses it. */
static void runtime_retire(struct gw_runtime *rt)
{
	rt->retired = true;
	rt->refs++; /* closing the idle connections below drops references */
	for (size_t p = 0; p < rt->cfg->npools; p++) {
		struct gw_pool *pool = &rt->pools[p];
		if (pool->hc_timer) {
			event_free(pool->hc_timer);
			pool->hc_timer = NULL;
		}
		for (size_t i = 0; i < pool->n; i++) {
			hc_free(pool->inst[i].hc);
			instance_close_idle(&pool->inst[i]);
		}
	}
	runtime_unref(rt);
}

static void runtime_maybe_free(struct gw_runtime *rt)
{
	if (!rt->retired || rt->refs > 0)
		return;
	gw_config_unref(rt->cfg);
	free(rt);
}

static void runtime_unref(struct gw_runtime *rt)
{
	rt->refs--;
	runtime_maybe_free(rt);
}

/* ---------------------------------------------------------------- balancing */

static bool instance_eligible(const struct gw_instance *in, uint64_t now)
{
	return !in->draining && instance_healthy(in) && !instance_ejected(in, now);
}

static bool pool_has_eligible(const struct gw_pool *pool, uint64_t now)
{
	for (size_t i = 0; i < pool->n; i++)
		if (instance_eligible(&pool->inst[i], now))
			return true;
	return false;
}

/* Picks an instance, avoiding those already tried when another is left. */
static struct gw_instance *pool_pick(struct gw_pool *pool, uint32_t tried, uint64_t now)
{
	bool cand[GW_MAX_INSTANCES];
	size_t ncand = 0;
	struct gw_instance *best = NULL;

	for (int pass = 0; pass < 2 && ncand == 0; pass++)
		for (size_t i = 0; i < pool->n; i++) {
			struct gw_instance *in = &pool->inst[i];
			cand[i] = instance_eligible(in, now) &&
				  in->nconns - in->nidle < pool->cfg->max_connections &&
				  (pass == 1 || !(tried & (1u << i)));
			ncand += cand[i];
		}
	if (ncand == 0)
		return NULL;
	if (pool->cfg->balance == GW_BALANCE_LEAST_OUTSTANDING) {
		double best_load = 0;
		size_t start = pool->rr++ % pool->n;
		for (size_t k = 0; k < pool->n; k++) {
			size_t i = (start + k) % pool->n;
			struct gw_instance *in = &pool->inst[i];
			double load;
			if (!cand[i])
				continue;
			load = (double)in->outstanding / in->cfg->weight;
			if (!best || load < best_load) {
				best = in;
				best_load = load;
			}
		}
		return best;
	}
	/* smooth weighted round robin */
	int total = 0;
	for (size_t i = 0; i < pool->n; i++) {
		struct gw_instance *in = &pool->inst[i];
		if (!cand[i])
			continue;
		in->cur_weight += in->cfg->weight;
		total += in->cfg->weight;
		if (!best || in->cur_weight > best->cur_weight)
			best = in;
	}
	best->cur_weight -= total;
	return best;
}

/* A failed attempt on this worker counts for every worker.  The one that
 * makes the count reach the threshold ejects (the compare-and-swap lets
 * only one of them do it), for a time that doubles with each ejection in a
 * row. */
static void instance_failure(struct gw_instance *in, uint64_t now)
{
	const struct gw_pool_cfg *pc = in->pool->cfg;
	struct gw_health *h = in->health;
	int failures;

	GW_INC(in->stats->failures, 1);
	failures = atomic_fetch_add(&h->consecutive_failures, 1) + 1;
	if (pc->eject_failures > 0 && failures >= pc->eject_failures &&
	    atomic_compare_exchange_strong(&h->consecutive_failures, &failures, 0)) {
		uint64_t ms = (uint64_t)pc->eject_base_ms;
		int before = atomic_fetch_add(&h->ejections, 1);
		for (int i = 0; i < before && ms < (uint64_t)pc->eject_max_ms; i++)
			ms *= 2;
		if (ms > (uint64_t)pc->eject_max_ms)
			ms = (uint64_t)pc->eject_max_ms;
		atomic_store(&h->ejected_until_us, now + ms * 1000);
		GW_SET(in->stats->ejected, 1);
		b4_log_warn("upstream instance ejected", B4_LS("pool", pc->name),
			    B4_LS("instance", in->cfg->label), B4_LI("ejection_ms", ms));
		instance_close_idle(in);
	}
}

static void instance_success(struct gw_instance *in, uint64_t now)
{
	struct gw_health *h = in->health;

	atomic_store_explicit(&h->consecutive_failures, 0, memory_order_relaxed);
	if (atomic_load_explicit(&h->ejections, memory_order_relaxed) && !instance_ejected(in, now))
		atomic_store(&h->ejections, 0);
}

/* ---------------------------------------------------------------- health checks */

/* Brings this worker's gauges and idle connections in line with the shared
 * state: an instance out of service (unhealthy or ejected) keeps none. */
static void instance_follow_health(struct gw_instance *in, uint64_t now)
{
	bool healthy = instance_healthy(in), ejected = instance_ejected(in, now);

	if (!healthy || ejected)
		instance_close_idle(in);
	GW_SET(in->stats->healthy, healthy ? 1 : 0);
	GW_SET(in->stats->ejected, ejected ? 1 : 0);
}

static void hc_done(struct gw_hc *hc, bool ok)
{
	struct gw_instance *in = hc->inst;
	const struct gw_pool_cfg *pc = in->pool->cfg;
	hc_free(hc);
	if (ok) {
		in->health->hc_fail = 0;
		in->health->hc_ok++;
		if (!instance_healthy(in) && in->health->hc_ok >= pc->rise) {
			/* back in service: the passive ejection is forgotten too */
			atomic_store(&in->health->ejected_until_us, 0);
			atomic_store(&in->health->ejections, 0);
			atomic_store(&in->health->consecutive_failures, 0);
			atomic_store(&in->health->healthy, true);
			b4_log_info("upstream instance healthy", B4_LS("pool", pc->name),
				    B4_LS("instance", in->cfg->label));
		}
	} else {
		in->health->hc_ok = 0;
		in->health->hc_fail++;
		if (instance_healthy(in) && in->health->hc_fail >= pc->fall) {
			atomic_store(&in->health->healthy, false);
			b4_log_warn("upstream instance unhealthy", B4_LS("pool", pc->name),
				    B4_LS("instance", in->cfg->label));
		}
	}
	instance_follow_health(in, gw_now_us());
}

static void hc_read_cb(struct bufferevent *bev, void *arg)
{
	struct gw_hc *hc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	char *p;

	if (len < 12) /* "HTTP/1.1 200" */
		return;
	p = (char *)evbuffer_pullup(in, 12);
	hc_done(hc, memcmp(p, "HTTP/1.", 7) == 0 && p[9] == '2');
}

static void hc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct gw_hc *hc = arg;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	hc_done(hc, false);
}

static void hc_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	hc_done(arg, false);
}

static void hc_start(struct gw_instance *in)
{
	struct gw_worker *w = in->pool->rt->w;
	const struct gw_pool_cfg *pc = in->pool->cfg;
	struct gw_hc *hc;
	struct timeval tv = {pc->health_timeout_ms / 1000, (pc->health_timeout_ms % 1000) * 1000};

	if (in->hc)
		return;
	hc = calloc(1, sizeof(*hc));
	if (!hc)
		return;
	hc->inst = in;
	in->hc = hc;
	hc->bev = bufferevent_socket_new(w->base, -1, BEV_OPT_CLOSE_ON_FREE);
	hc->timer = evtimer_new(w->base, hc_timeout_cb, hc);
	if (!hc->bev || !hc->timer) {
		hc_free(hc);
		return;
	}
	bufferevent_setcb(hc->bev, hc_read_cb, NULL, hc_event_cb, hc);
	evbuffer_add_printf(bufferevent_get_output(hc->bev),
			    "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: b4-gateway-health\r\n"
			    "Connection: close\r\n\r\n",
			    pc->health_path, in->cfg->label);
	bufferevent_enable(hc->bev, EV_READ | EV_WRITE);
	evtimer_add(hc->timer, &tv);
	if (bufferevent_socket_connect(hc->bev, (const struct sockaddr *)&in->cfg->addr,
				       (int)in->cfg->addrlen) != 0)
		hc_done(hc, false);
}

static void hc_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw_pool *pool = arg;
	(void)fd;
	(void)what;
	for (size_t i = 0; i < pool->n; i++)
		if (!pool->inst[i].draining && instance_checked_here(&pool->inst[i]))
			hc_start(&pool->inst[i]);
}

/* ---------------------------------------------------------------- upstream conns */

static void up_read_cb(struct bufferevent *bev, void *arg);
static void up_write_cb(struct bufferevent *bev, void *arg);
static void up_event_cb(struct bufferevent *bev, short what, void *arg);
static void idle_read_cb(struct bufferevent *bev, void *arg);
static void idle_event_cb(struct bufferevent *bev, short what, void *arg);

static void idle_unlink(struct gw_uconn *u)
{
	struct gw_instance *in = u->inst;
	if (u->prev)
		u->prev->next = u->next;
	else if (in->idle == u)
		in->idle = u->next;
	else
		return;
	if (u->next)
		u->next->prev = u->prev;
	u->next = u->prev = NULL;
	in->nidle--;
	GW_SET(in->stats->idle, in->nidle);
}

static void uconn_free(struct gw_uconn *u)
{
	struct gw_instance *in = u->inst;
	struct gw_runtime *rt = in->pool->rt;
	if (!u->client)
		idle_unlink(u);
	gw_reader_cleanup(&u->rd);
	if (u->bev)
		bufferevent_free(u->bev);
	in->nconns--;
	GW_SET(in->stats->active, in->nconns - in->nidle);
	free(u);
	runtime_unref(rt);
}

static struct gw_uconn *uconn_new(struct gw_instance *in, struct gw_conn *client)
{
	struct gw_worker *w = in->pool->rt->w;
	struct gw_uconn *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->inst = in;
	u->client = client;
	u->bev = bufferevent_socket_new(w->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!u->bev) {
		free(u);
		return NULL;
	}
	bufferevent_disable(u->bev, EV_WRITE); /* on by default; conn_flush writes */
	in->nconns++;
	in->pool->rt->refs++;
	GW_SET(in->stats->active, in->nconns - in->nidle);
	bufferevent_setcb(u->bev, up_read_cb, up_write_cb, up_event_cb, client);
	return u;
}

static void uconn_to_idle(struct gw_uconn *u, uint64_t now)
{
	struct gw_instance *in = u->inst;
	u->client = NULL;
	u->idle_since_us = now;
	u->next = in->idle;
	u->prev = NULL;
	if (in->idle)
		in->idle->prev = u;
	in->idle = u;
	in->nidle++;
	GW_SET(in->stats->idle, in->nidle);
	GW_SET(in->stats->active, in->nconns - in->nidle);
	bufferevent_setcb(u->bev, idle_read_cb, NULL, idle_event_cb, u);
	bufferevent_disable(u->bev, EV_WRITE);
	gw_reader_set(&u->rd, true);
}

/* An idle upstream connection that speaks or closes is of no further use. */
static void idle_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	uconn_free(arg);
}

static void idle_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	uconn_free(arg);
}

/* ---------------------------------------------------------------- client conns */

static void conn_free(struct gw_conn *c);
static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);
static void conn_timer_cb(evutil_socket_t fd, short what, void *arg);
static void up_timer_cb(evutil_socket_t fd, short what, void *arg);
static void process_input(struct gw_conn *c);
static void conn_enter(struct gw_conn *c);
static void conn_leave(struct gw_conn *c);
static void conn_destroy(struct gw_conn *c);

/* Client reads: the gw_reader on plain sockets, the bufferevent under TLS. */
static void conn_reading(struct gw_conn *c, bool on)
{
	if (!c->tls)
		gw_reader_set(&c->rd, on);
	else if (on)
		bufferevent_enable(c->bev, EV_READ);
	else
		bufferevent_disable(c->bev, EV_READ);
}

static void conn_free(struct gw_conn *c)
{
	if (c->busy > 0) {
		if (!c->zombie) {
			c->zombie = true;
			conn_reading(c, false);
			bufferevent_disable(c->bev, EV_READ | EV_WRITE);
			evtimer_del(c->timer);
			evtimer_del(c->up_timer);
		}
		return;
	}
	conn_destroy(c);
}

static void conn_enter(struct gw_conn *c)
{
	c->busy++;
}

static void conn_write_cb_body(struct bufferevent *bev, void *arg);
static void up_write_cb_body(struct bufferevent *bev, void *arg);

/* Writes queued output straight to the sockets once the callbacks are done.
 * Plain sockets keep EV_WRITE disabled: a write that completes costs no
 * epoll_ctl and no extra loop turn.  Only a partial write hands the rest to
 * libevent (EV_WRITE on), whose write callback switches back when drained.
 * A drained buffer runs what the write callback would have run. */
/* Socket bufferevents freeze the start of their output so only their own
 * write path drains it; do what that path does. */
static void direct_write(struct bufferevent *bev)
{
	struct evbuffer *o = bufferevent_get_output(bev);
	evbuffer_unfreeze(o, 1);
	evbuffer_write(o, bufferevent_getfd(bev));
	evbuffer_freeze(o, 1);
}

static void conn_flush(struct gw_conn *c)
{
	for (int round = 0; round < 16 && !c->zombie; round++) {
		struct gw_req *r = &c->req;
		bool again = false;
		if (r->up && r->up->connected) {
			struct bufferevent *ub = r->up->bev;
			struct evbuffer *o = bufferevent_get_output(ub);
			if (evbuffer_get_length(o) > 0) {
				direct_write(ub);
				if (evbuffer_get_length(o) > 0) {
					bufferevent_enable(ub, EV_WRITE);
				} else if (r->body_streaming && c->client_paused) {
					up_write_cb_body(ub, c);
					again = true;
				}
			}
		}
		if (!c->tls && !c->zombie) {
			struct evbuffer *o = bufferevent_get_output(c->bev);
			if (evbuffer_get_length(o) > 0) {
				direct_write(c->bev);
				if (evbuffer_get_length(o) > 0) {
					bufferevent_enable(c->bev, EV_WRITE);
				} else if (c->state == CS_CLOSING || r->up_paused || c->out_wait) {
					conn_write_cb_body(c->bev, c);
					again = true;
				}
			}
		}
		if (!again)
			break;
	}
}

static void conn_leave(struct gw_conn *c)
{
	if (c->busy == 1 && !c->zombie) {
		gw_reader_resume(&c->rd);
		conn_flush(c);
	}
	if (--c->busy == 0 && c->zombie)
		conn_destroy(c);
}

static void conn_read_cb_body(struct bufferevent *bev, void *arg);
static void conn_write_cb_body(struct bufferevent *bev, void *arg);
static void conn_event_cb_body(struct bufferevent *bev, short what, void *arg);
static void conn_timer_cb_body(evutil_socket_t fd, short what, void *arg);
static void up_read_cb_body(struct bufferevent *bev, void *arg);
static void up_write_cb_body(struct bufferevent *bev, void *arg);
static void up_event_cb_body(struct bufferevent *bev, short what, void *arg);
static void up_timer_cb_body(evutil_socket_t fd, short what, void *arg);
static void start_attempt(struct gw_conn *c);
static void finish_request(struct gw_conn *c, bool keep_client);

static void set_timer_ms(struct event *ev, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	evtimer_add(ev, &tv);
}

static struct gw_config *cur_cfg(struct gw_conn *c)
{
	return c->w->rt->cfg;
}

static bool ip_in_cidr(const struct sockaddr_storage *ss, const struct gw_cidr *cidr)
{
	const uint8_t *a;
	int bits = cidr->bits;
	if (ss->ss_family != cidr->family) {
		/* an IPv4-mapped IPv6 peer against an IPv4 rule */
		if (ss->ss_family == AF_INET6 && cidr->family == AF_INET) {
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
			if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
				return false;
			a = s6->sin6_addr.s6_addr + 12;
		} else {
			return false;
		}
	} else if (ss->ss_family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
	} else {
		a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
	}
	for (int i = 0; bits > 0; i++, bits -= 8) {
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		if ((a[i] & mask) != (cidr->addr[i] & mask))
			return false;
	}
	return true;
}

/* The client a rate limit counts: libcommon's client address, the
 * X-Forwarded-For hops walked from the right past every trusted proxy
 * (CloudFront, then an ALB, ...).  An untrusted peer is itself, whatever it
 * sends.  A header longer than the buffer keeps its right end, cut at a
 * hop boundary: the walk starts there. */
static void rate_client(const struct gw_conn *c, const struct gw_message_head *h,
			const struct gw_config *cfg, char *out, size_t cap)
{
	char xff[1024];
	const char *xff_text = NULL;

	if (c->trusted && h->known.forwarded_for >= 0) {
		const struct gw_str *v = &h->headers[h->known.forwarded_for].value;
		size_t skip = 0;

		if (v->len >= sizeof(xff)) {
			skip = v->len - (sizeof(xff) - 1);
			while (skip < v->len && v->ptr[skip - 1] != ',')
				skip++;
		}
		memcpy(xff, v->ptr + skip, v->len - skip);
		xff[v->len - skip] = '\0';
		xff_text = xff;
	}
	b4_client_addr_resolve(&cfg->trusted_list, c->client_ip, xff_text, out, cap);
}

static bool peer_trusted(const struct gw_conn *c, const struct gw_config *cfg)
{
	for (size_t i = 0; i < cfg->ntrusted; i++)
		if (ip_in_cidr(&c->peer, &cfg->trusted[i]))
			return true;
	return false;
}

static void req_reset(struct gw_conn *c)
{
	struct gw_req *r = &c->req;
	struct evbuffer *h = r->up_head, *b = r->body;
	if (r->rt)
		runtime_unref(r->rt);
	memset(r, 0, sizeof(*r));
	r->up_head = h;
	r->body = b;
	if (h)
		evbuffer_drain(h, evbuffer_get_length(h));
	if (b)
		evbuffer_drain(b, evbuffer_get_length(b));
}

static void add_header(struct evbuffer *out, const char *name, size_t nlen, const char *value,
		       size_t vlen);

/* Vary: Origin on every response while CORS is on, joined to vary_also
 * (or NULL); the grant to an allowed origin. */
static void cors_headers_vary(struct gw_conn *c, struct evbuffer *out, const char *vary_also)
{
	struct gw_req *r = &c->req;
	const struct gw_cors_cfg *cors;
	static const char expose[] = "Access-Control-Expose-Headers: X-Request-Id, "
				     "Idempotent-Replayed, Retry-After\r\n";

	if (!r->rt || r->rt->cfg->cors.norigins == 0) {
		if (vary_also)
			evbuffer_add_printf(out, "Vary: %s\r\n", vary_also);
		return;
	}
	cors = &r->rt->cfg->cors;
	if (vary_also)
		evbuffer_add_printf(out, "Vary: %s, Origin\r\n", vary_also);
	else
		evbuffer_add(out, "Vary: Origin\r\n", 14);
	if (r->cors > 0) {
		const char *o = cors->origins[r->cors - 1];
		add_header(out, "Access-Control-Allow-Origin", 27, o, strlen(o));
		evbuffer_add(out, expose, sizeof(expose) - 1);
	}
}

static void cors_headers(struct gw_conn *c, struct evbuffer *out)
{
	cors_headers_vary(c, out, NULL);
}

/* Writes an error in the API shape.  close: the connection ends after it.
 * extra: more header lines ("Name: value\r\n"), or NULL. */
static void send_error_with(struct gw_conn *c, int status, const char *type, const char *code,
			    const char *message, int retry_after, bool close, const char *extra)
{
	struct gw_req *r = &c->req;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char body[512];
	int n;

	if (!r->request_id[0])
		make_request_id(c->w, r->request_id);
	n = snprintf(body, sizeof(body),
		     "{\"error\":{\"type\":\"%s\",\"code\":\"%s\",\"message\":\"%s\"},"
		     "\"request_id\":\"%s\"}",
		     type, code, message, r->request_id);
	evbuffer_add_printf(out,
			    "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
			    "Content-Length: %d\r\nX-Request-Id: %s\r\n",
			    status, b4_http_reason(status), n, r->request_id);
	if (retry_after > 0)
		evbuffer_add_printf(out, "Retry-After: %d\r\n", retry_after);
	if (extra)
		evbuffer_add(out, extra, strlen(extra));
	cors_headers(c, out);
	if (close)
		evbuffer_add(out, "Connection: close\r\n", 19);
	evbuffer_add(out, "\r\n", 2);
	if (r->method_id != GW_METHOD_HEAD)
		evbuffer_add(out, body, (size_t)n);
	r->status = status;
	r->bytes_out += (uint64_t)n;
	r->response_started = true;
}

static void send_error(struct gw_conn *c, int status, const char *type, const char *code,
		       const char *message, int retry_after, bool close)
{
	send_error_with(c, status, type, code, message, retry_after, close, NULL);
}

/* Ends the current request after an answer from the gateway itself. */
static void fail_request(struct gw_conn *c, int status, const char *type, const char *code,
			 const char *message, int retry_after, bool close)
{
	struct gw_req *r = &c->req;
	if (!r->body_complete)
		close = true; /* the rest of the body is still on the wire */
	if (r->client_close || c->w->draining)
		close = true;
	if (r->response_started) {
		/* the client already has part of a response: only closing is left */
		finish_request(c, false);
		return;
	}
	send_error(c, status, type, code, message, retry_after, close);
	finish_request(c, !close);
}

static void conn_start_linger(struct gw_conn *c)
{
	if (c->tls) {
		conn_free(c);
		return;
	}
	c->state = CS_LINGER;
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	c->rd.high = 0;
	conn_reading(c, true);
	set_timer_ms(c->timer, LINGER_MS);
}

static void conn_close_after_flush(struct gw_conn *c)
{
	c->state = CS_CLOSING;
	conn_reading(c, false);
	c->out_wait_left = evbuffer_get_length(bufferevent_get_output(c->bev));
	if (c->out_wait_left == 0)
		conn_start_linger(c);
	else
		set_timer_ms(c->timer, cur_cfg(c)->client_body_timeout_ms);
}

static void stats_count(struct gw_conn *c, uint64_t now)
{
	struct gw_req *r = &c->req;
	int cls = r->status / 100;
	if (r->rstats) {
		if (cls >= 1 && cls <= 5)
			GW_INC(r->rstats->by_class[cls], 1);
		gw_hist_observe(&r->rstats->latency, (double)(now - r->start_us) / 1e6);
	}
}

/* The request is over (answered or given up).  keep_client: read the next
 * request on this connection; else flush and close. */
static void finish_request(struct gw_conn *c, bool keep_client)
{
	struct gw_req *r = &c->req;
	uint64_t now = gw_now_us();

	evtimer_del(c->up_timer);
	if (r->up) {
		/* still attached: not reusable */
		struct gw_uconn *u = r->up;
		r->up = NULL;
		u->inst->outstanding--;
		uconn_free(u); /* attached (client set): not on the idle list */
	}
	if (r->active) {
		if (!r->response_started && r->status == 0)
			r->status = 499; /* client went away */
		stats_count(c, now);
		b4_log_set_request_id(NULL);
		access_log(c, now);
	}
	req_reset(c);
	if (c->client_paused) {
		c->client_paused = false;
		conn_reading(c, true);
	}
	if (!keep_client || c->w->draining) {
		conn_close_after_flush(c);
		return;
	}
	c->state = CS_HEAD;
	c->head_timer_armed = false;
	if (c->out_wait) {
		/* the next request waits until the static body is on its way */
		conn_reading(c, false);
		c->out_wait_left = evbuffer_get_length(bufferevent_get_output(c->bev));
		set_timer_ms(c->timer, cur_cfg(c)->client_body_timeout_ms);
		return;
	}
	set_timer_ms(c->timer, cur_cfg(c)->keepalive_timeout_ms);
	conn_reading(c, true);
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		process_input(c);
}

/* ---------------------------------------------------------------- request head */

static const struct gw_route_cfg *match_route(const struct gw_config *cfg, const char *target,
					      size_t len, size_t *route_index)
{
	const struct gw_route_cfg *best = NULL;
	for (size_t i = 0; i < cfg->nroutes; i++) {
		const struct gw_route_cfg *rt = &cfg->routes[i];
		size_t n = rt->prefix_len;
		if (n == 1 && rt->prefix[0] == '/') {
			if (!best) {
				best = rt;
				*route_index = i;
			}
			continue;
		}
		if (len < n || memcmp(target, rt->prefix, n) != 0)
			continue;
		if (len > n && target[n] != '/' && target[n] != '?')
			continue;
		if (!best || n > best->prefix_len) {
			best = rt;
			*route_index = i;
		}
	}
	return best;
}

static int match_rate_group(const struct gw_config *cfg, const char *target, size_t len)
{
	int best = -1;
	size_t best_len = 0;
	for (size_t i = 0; i < cfg->nrates; i++) {
		const struct gw_rate_cfg *g = &cfg->rates[i];
		if (g->rate_per_sec <= 0 || len < g->prefix_len ||
		    memcmp(target, g->prefix, g->prefix_len) != 0)
			continue;
		if (best < 0 || g->prefix_len > best_len) {
			best = (int)i;
			best_len = g->prefix_len;
		}
	}
	return best;
}

static void add_header(struct evbuffer *out, const char *name, size_t nlen, const char *value,
		       size_t vlen)
{
	struct evbuffer_iovec v[1];
	size_t need = nlen + vlen + 4;
	if (evbuffer_reserve_space(out, (ev_ssize_t)need, v, 1) < 1)
		return;
	char *p = v[0].iov_base;
	memcpy(p, name, nlen);
	p[nlen] = ':';
	p[nlen + 1] = ' ';
	memcpy(p + nlen + 2, value, vlen);
	p[nlen + 2 + vlen] = '\r';
	p[nlen + 3 + vlen] = '\n';
	v[0].iov_len = need;
	evbuffer_commit_space(out, v, 1);
}

static void build_upstream_head(struct gw_conn *c, const struct gw_message_head *h,
				const char *path, size_t path_len)
{
	struct gw_req *r = &c->req;
	struct evbuffer *out = r->up_head;
	const struct gw_known_fields *k = &h->known;

	evbuffer_add(out, h->method.ptr, h->method.len);
	evbuffer_add(out, " ", 1);
	evbuffer_add(out, path, path_len);
	evbuffer_add(out, " HTTP/1.1\r\n", 11);
	for (size_t i = 0; i < h->nheaders; i++) {
		const struct gw_header *f = &h->headers[i];
		if ((int)i == k->request_id || (int)i == k->forwarded_for ||
		    (int)i == k->forwarded_proto || (int)i == k->forwarded_host)
			continue;
		if (gw_is_hop_by_hop(h, &f->name))
			continue;
		if (gw_str_ieq(&f->name, "expect") || gw_str_ieq(&f->name, "x-forwarded-for") ||
		    gw_str_ieq(&f->name, "x-forwarded-proto") ||
		    gw_str_ieq(&f->name, "x-forwarded-host") ||
		    gw_str_ieq(&f->name, "x-request-id"))
			continue;
		add_header(out, f->name.ptr, f->name.len, f->value.ptr, f->value.len);
	}
	add_header(out, "X-Request-Id", 12, r->request_id, strlen(r->request_id));
	{
		char xff[1024];
		size_t ip_len = strlen(c->client_ip);
		if (c->trusted && k->forwarded_for >= 0 &&
		    h->headers[k->forwarded_for].value.len + ip_len + 2 < sizeof(xff)) {
			const struct gw_str *v = &h->headers[k->forwarded_for].value;
			memcpy(xff, v->ptr, v->len);
			memcpy(xff + v->len, ", ", 2);
			memcpy(xff + v->len + 2, c->client_ip, ip_len);
			add_header(out, "X-Forwarded-For", 15, xff, v->len + 2 + ip_len);
		} else {
			add_header(out, "X-Forwarded-For", 15, c->client_ip, ip_len);
		}
	}
	if (c->trusted && k->forwarded_proto >= 0)
		add_header(out, "X-Forwarded-Proto", 17, h->headers[k->forwarded_proto].value.ptr,
			   h->headers[k->forwarded_proto].value.len);
	else if (c->tls)
		add_header(out, "X-Forwarded-Proto", 17, "https", 5);
	else
		add_header(out, "X-Forwarded-Proto", 17, "http", 4);
	if (c->trusted && k->forwarded_host >= 0)
		add_header(out, "X-Forwarded-Host", 16, h->headers[k->forwarded_host].value.ptr,
			   h->headers[k->forwarded_host].value.len);
	else if (k->host >= 0)
		add_header(out, "X-Forwarded-Host", 16, h->headers[k->host].value.ptr,
			   h->headers[k->host].value.len);
	if (h->body_kind == GW_BODY_CHUNKED)
		evbuffer_add(out, "Transfer-Encoding: chunked\r\n", 28);
	evbuffer_add(out, "\r\n", 2);
}

/* ---------------------------------------------------------------- answers of the gateway itself */

/* True when the gateway's own answer must end the connection. */
static bool own_reply_closes(struct gw_conn *c)
{
	struct gw_req *r = &c->req;
	return !r->body_complete || r->client_close || c->w->draining;
}

static const struct gw_str *request_header(const struct gw_message_head *h, const char *lower)
{
	for (size_t i = 0; i < h->nheaders; i++)
		if (gw_str_ieq(&h->headers[i].name, lower))
			return &h->headers[i].value;
	return NULL;
}

/* Notes whether the request's Origin is allowed (r->cors); true when the
 * request is a preflight (OPTIONS with Origin and
 * Access-Control-Request-Method). */
static bool cors_classify(struct gw_conn *c, const struct gw_message_head *h)
{
	const struct gw_cors_cfg *cors = &c->req.rt->cfg->cors;
	const struct gw_str *origin = request_header(h, "origin");

	if (!origin)
		return false;
	c->req.cors = -1;
	for (size_t i = 0; i < cors->norigins; i++) {
		const char *o = cors->origins[i];
		if ((o[0] == '*' && !o[1]) ||
		    (strlen(o) == origin->len && strncasecmp(o, origin->ptr, origin->len) == 0)) {
			c->req.cors = (int)i + 1;
			break;
		}
	}
	return h->method_id == GW_METHOD_OPTIONS &&
	       request_header(h, "access-control-request-method") != NULL;
}

/* Ends the head of an answer of the gateway's own. */
static void end_own_head(struct gw_conn *c, struct evbuffer *out, bool close, const char *vary_also)
{
	cors_headers_vary(c, out, vary_also);
	if (close)
		evbuffer_add(out, "Connection: close\r\n", 19);
	else if (c->req.client_minor == 0)
		evbuffer_add(out, "Connection: keep-alive\r\n", 24);
	evbuffer_add(out, "\r\n", 2);
}

/* Answers a CORS preflight: the grant for an allowed origin, 403 for
 * any other. */
static void answer_preflight(struct gw_conn *c)
{
	struct gw_req *r = &c->req;
	struct gw_worker *w = c->w;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	bool close = own_reply_closes(c);

	GW_INC(w->stats.cors_preflights, 1);
	if (r->cors <= 0) {
		GW_INC(w->stats.cors_refused, 1);
		fail_request(c, 403, "invalid_request_error", "cors_origin_not_allowed",
			     "this origin may not call the API from a browser", 0, false);
		return;
	}
	evbuffer_add_printf(out,
			    "HTTP/1.1 204 No Content\r\n"
			    "Access-Control-Allow-Methods: GET, HEAD, POST, PUT, PATCH, DELETE, "
			    "OPTIONS\r\n"
			    "Access-Control-Allow-Headers: Authorization, Content-Type, "
			    "Idempotency-Key, X-Request-Id\r\n"
			    "Access-Control-Max-Age: %d\r\n"
			    "X-Request-Id: %s\r\n",
			    r->rt->cfg->cors.max_age_seconds, r->request_id);
	end_own_head(c, out, close, NULL);
	r->status = 204;
	r->response_started = true;
	finish_request(c, !close);
}

/* Writes the static route's answer (static.c) and ends the request. */
static void answer_static(struct gw_conn *c, const struct gw_static_reply *rep)
{
	struct gw_req *r = &c->req;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	bool close = own_reply_closes(c);

	r->upstream_label = "static";
	if (r->rstats) {
		GW_INC(r->rstats->static_results[rep->result], 1);
		if (rep->precompressed)
			GW_INC(r->rstats->static_precompressed, 1);
	}
	if (rep->err_code) {
		send_error_with(c, rep->status,
				rep->status == 404 ? "not_found" : "invalid_request_error",
				rep->err_code, rep->err_message, 0, close,
				rep->headers_len ? rep->headers : NULL);
		finish_request(c, !close);
		return;
	}
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", rep->status, b4_http_reason(rep->status));
	evbuffer_add(out, rep->headers, rep->headers_len);
	if (rep->status != 304) /* 200, 206, 416 (0: no body, the connection stays usable) */
		evbuffer_add_printf(out, "Content-Length: %llu\r\n", (unsigned long long)rep->size);
	add_header(out, "X-Request-Id", 12, r->request_id, strlen(r->request_id));
	end_own_head(c, out, close, rep->vary_encoding ? "Accept-Encoding" : NULL);
	r->status = rep->status;
	r->response_started = true;
	if (rep->fd >= 0) {
		/* a file segment: sendfile on plain sockets, never read into memory */
		if (evbuffer_add_file(out, rep->fd, (ev_off_t)rep->offset, (ev_off_t)rep->size) !=
		    0) {
			close = true; /* the head promised a body that cannot follow */
		} else {
			r->bytes_out += rep->size;
			if (r->rstats)
				GW_INC(r->rstats->static_bytes, rep->size);
		}
	}
	if (!close && evbuffer_get_length(out) > CLIENT_OUT_HIGH)
		c->out_wait = true;
	finish_request(c, !close);
}

static void pump_request_body(struct gw_conn *c);

static void handle_head(struct gw_conn *c, const struct gw_message_head *h)
{
	struct gw_worker *w = c->w;
	struct gw_req *r = &c->req;
	struct gw_config *cfg = w->rt->cfg;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t route_index = 0, path_len, ml;
	const char *path;
	char pathbuf[8192];
	uint64_t now = gw_now_us();
	int group;
	bool preflight;

	r->active = true;
	r->rt = w->rt;
	r->rt->refs++;
	r->start_us = now;
	w->retry_tokens += cfg->retry_budget_ratio;
	r->deadline_total_us = now + (uint64_t)cfg->total_timeout_ms * 1000;
	r->method_id = h->method_id;
	r->client_minor = h->minor_version;
	r->client_close = (h->flags & GW_HF_CONN_CLOSE) ||
			  (h->minor_version == 0 && !(h->flags & GW_HF_CONN_KEEPALIVE));
	r->body_kind = h->body_kind;
	r->body_remaining = h->content_length;
	r->body_complete = h->body_kind == GW_BODY_NONE;
	r->retry_safe = h->method_id == GW_METHOD_GET || h->method_id == GW_METHOD_HEAD ||
			h->method_id == GW_METHOD_OPTIONS || (h->flags & GW_HF_IDEMPOTENCY_KEY);
	ml = h->method.len < sizeof(r->method) ? h->method.len : sizeof(r->method) - 1;
	memcpy(r->method, h->method.ptr, ml);
	r->method[ml] = '\0';
	{
		const char *q = memchr(h->target.ptr, '?', h->target.len);
		size_t pl = q ? (size_t)(q - h->target.ptr) : h->target.len;
		if (pl >= sizeof(r->path))
			pl = sizeof(r->path) - 1;
		memcpy(r->path, h->target.ptr, pl);
		r->path[pl] = '\0';
	}
	if (h->known.request_id >= 0 &&
	    gw_request_id_is_valid(h->headers[h->known.request_id].value.ptr,
				   h->headers[h->known.request_id].value.len)) {
		const struct gw_str *v = &h->headers[h->known.request_id].value;
		memcpy(r->request_id, v->ptr, v->len);
		r->request_id[v->len] = '\0';
	} else {
		make_request_id(w, r->request_id);
	}
	c->trusted = peer_trusted(c, cfg);
	preflight = cfg->cors.norigins > 0 && cors_classify(c, h);

	r->route = match_route(cfg, h->target.ptr, h->target.len, &route_index);
	if (!r->route) {
		GW_INC(w->stats.not_found, 1);
		evbuffer_drain(in, h->head_len);
		fail_request(c, 404, "not_found", "route_not_found", "no route for this path", 0,
			     false);
		return;
	}
	r->rstats = r->rt->route_stats[route_index];
	if (r->route->static_index < 0) {
		/* /metrics, /healthz, /readyz of a service stay off the public port */
		path = h->target.ptr;
		path_len = h->target.len;
		if (r->route->strip_prefix && r->route->prefix_len > 1) {
			path += r->route->prefix_len;
			path_len -= r->route->prefix_len;
		}
		if (cfg->ninternal > 0 && path_len > 0 && path[0] == '/' &&
		    gw_path_is_internal(path, path_len, cfg->internal_paths, cfg->ninternal)) {
			GW_INC(w->stats.internal_refused, 1);
			evbuffer_drain(in, h->head_len);
			fail_request(c, 404, "not_found", "route_not_found",
				     "no route for this path", 0, false);
			return;
		}
		r->pool = &r->rt->pools[r->route->pool];
	}
	if (preflight) {
		evbuffer_drain(in, h->head_len);
		answer_preflight(c);
		return;
	}

	group = match_rate_group(cfg, h->target.ptr, h->target.len);
	if (group >= 0) {
		char client[B4_CLIENT_ADDR_MAX];
		rate_client(c, h, cfg, client, sizeof(client));
		int wait = gw_ratelimit_take(&cfg->rates[group], group, client, now);
		if (wait > 0) {
			GW_INC(w->stats.rate_limited, 1);
			evbuffer_drain(in, h->head_len);
			fail_request(c, 429, "rate_limit_error", "rate_limited",
				     "too many requests, retry later", wait, false);
			return;
		}
	}
	if (h->body_kind == GW_BODY_LENGTH && h->content_length > cfg->max_body_bytes) {
		evbuffer_drain(in, h->head_len);
		fail_request(c, 413, "invalid_request_error", "body_too_large",
			     "request body is too large", 0, true);
		return;
	}
	if (r->route->static_index >= 0) {
		struct gw_static_reply rep;
		/* h's spans point into the input: look up before draining it */
		gw_static_serve(&cfg->statics[r->route->static_index], r->route, h, &rep);
		evbuffer_drain(in, h->head_len);
		answer_static(c, &rep);
		return;
	}
	if (!pool_has_eligible(r->pool, now)) {
		evbuffer_drain(in, h->head_len);
		fail_request(c, 503, "api_error", "no_healthy_upstream",
			     "no healthy upstream instance", 1, false);
		return;
	}

	/* the path the upstream sees */
	path = h->target.ptr;
	path_len = h->target.len;
	if (r->route->strip_prefix && r->route->prefix_len > 1) {
		path += r->route->prefix_len;
		path_len -= r->route->prefix_len;
		if (path_len == 0 || path[0] == '?') {
			if (path_len + 1 > sizeof(pathbuf)) {
				evbuffer_drain(in, h->head_len);
				fail_request(c, 431, "invalid_request_error", "uri_too_long",
					     "request target is too long", 0, true);
				return;
			}
			pathbuf[0] = '/';
			memcpy(pathbuf + 1, path, path_len);
			path = pathbuf;
			path_len++;
		}
	}
	build_upstream_head(c, h, path, path_len);
	if ((h->flags & GW_HF_EXPECT_CONTINUE) && h->body_kind != GW_BODY_NONE &&
	    h->minor_version == 1)
		evbuffer_add(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n", 25);
	evbuffer_drain(in, h->head_len);
	b4_log_set_request_id(r->request_id);

	if (r->body_complete) {
		c->state = CS_PROXY;
		start_attempt(c);
		return;
	}
	if (r->body_kind == GW_BODY_CHUNKED)
		gw_chunked_init(&r->chunk);
	c->state = CS_BODY_PREREAD;
	set_timer_ms(c->timer, cfg->client_body_timeout_ms);
	pump_request_body(c);
}

/* Moves request body bytes from the client: into r->body before the
 * request is sent, straight to the upstream afterwards.  Validates chunked
 * framing on the way. */
static void pump_request_body(struct gw_conn *c)
{
	struct gw_req *r = &c->req;
	struct gw_config *cfg = r->rt->cfg;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *dst;

	if (r->body_complete)
		return;
	for (;;) {
		size_t avail = evbuffer_get_length(in), n = 0;
		if (avail == 0)
			break;
		if (r->body_streaming) {
			dst = bufferevent_get_output(r->up->bev);
			if (evbuffer_get_length(dst) > UP_OUT_HIGH) {
				c->client_paused = true;
				conn_reading(c, false);
				break;
			}
		} else {
			dst = r->body;
		}
		if (r->body_kind == GW_BODY_LENGTH) {
			n = avail < r->body_remaining ? avail : (size_t)r->body_remaining;
			r->body_remaining -= n;
			if (r->body_remaining == 0)
				r->body_complete = true;
		} else {
			struct evbuffer_iovec v[4];
			int nv = evbuffer_peek(in, (ev_ssize_t)avail, NULL, v, 4);
			for (int i = 0; i < nv && !r->chunk.done; i++) {
				size_t off = 0;
				size_t seglen = v[i].iov_len;
				if (n + seglen > avail)
					seglen = avail - n;
				while (off < seglen && !r->chunk.done) {
					bool is_data;
					ssize_t k =
					    gw_chunked_feed(&r->chunk, (char *)v[i].iov_base + off,
							    seglen - off, MAX_TRAILER, &is_data);
					if (k < 0) {
						GW_INC(c->w->stats.bad_requests, 1);
						fail_request(c, 400, "invalid_request_error",
							     "bad_chunked_body",
							     "invalid chunked framing", 0, true);
						return;
					}
					if (is_data)
						r->body_total += (uint64_t)k;
					off += (size_t)k;
				}
				n += off;
			}
			if (r->chunk.done)
				r->body_complete = true;
		}
		if (r->body_kind == GW_BODY_CHUNKED && r->body_total > cfg->max_body_bytes) {
			fail_request(c, 413, "invalid_request_error", "body_too_large",
				     "request body is too large", 0, true);
			return;
		}
		evbuffer_remove_buffer(in, dst, n);
		if (r->body_complete || n == 0)
			break;
	}
	if (c->state == CS_BODY_PREREAD &&
	    (r->body_complete || evbuffer_get_length(r->body) >= cfg->request_buffer_bytes)) {
		c->state = CS_PROXY;
		start_attempt(c);
		return;
	}
	if (r->body_complete) {
		evtimer_del(c->timer);
	} else {
		set_timer_ms(c->timer, cfg->client_body_timeout_ms);
	}
}

static void process_input_once(struct gw_conn *c)
{
	struct gw_worker *w = c->w;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t len = evbuffer_get_length(in), max_head = cur_cfg(c)->max_header_bytes;
	int rc;

	switch (c->state) {
	case CS_HEAD:
		if (len == 0 || c->out_wait)
			return;
		if (!c->head_timer_armed) {
			c->head_timer_armed = true;
			set_timer_ms(c->timer, cur_cfg(c)->client_header_timeout_ms);
		}
		rc = gw_parse_request((const char *)evbuffer_pullup(
					  in, (ev_ssize_t)(len < max_head ? len : max_head)),
				      len < max_head ? len : max_head, max_head, &w->scratch);
		if (rc == GW_PARSE_INCOMPLETE && len >= max_head)
			rc = GW_PARSE_TOO_LARGE;
		if (rc == GW_PARSE_INCOMPLETE)
			return;
		if (rc < 0) {
			struct gw_req *r = &c->req;
			r->active = true;
			r->rt = w->rt;
			r->rt->refs++;
			r->start_us = gw_now_us();
			snprintf(r->method, sizeof(r->method), "-");
			GW_INC(w->stats.bad_requests, 1);
			if (rc == GW_PARSE_TOO_LARGE)
				fail_request(c, 431, "invalid_request_error", "headers_too_large",
					     "request header fields are too large", 0, true);
			else
				fail_request(c, 400, "invalid_request_error", "bad_request",
					     "malformed or ambiguous request", 0, true);
			return;
		}
		handle_head(c, &w->scratch);
		return;
	case CS_BODY_PREREAD:
		pump_request_body(c);
		return;
	case CS_PROXY:
		if (c->req.body_streaming)
			pump_request_body(c);
		return;
	case CS_CLOSING:
		return;
	case CS_LINGER:
		evbuffer_drain(in, len);
		return;
	}
}

/* Looks at the client's input.  Requests answered at once (404, 429, ...)
 * finish inside this call and ask for the next pipelined one: that is a
 * loop here, never a recursion. */
static void process_input(struct gw_conn *c)
{
	if (c->in_input) {
		c->input_again = true;
		return;
	}
	c->in_input = true;
	do {
		c->input_again = false;
		process_input_once(c);
	} while (c->input_again && !c->zombie);
	c->in_input = false;
}

/* ---------------------------------------------------------------- attempts */

static bool retry_budget_take(struct gw_worker *w, const struct gw_config *cfg, uint64_t now)
{
	if (now - w->retry_refill_us >= 1000000) {
		w->retry_refill_us = now;
		if (w->retry_tokens < cfg->retry_budget_min)
			w->retry_tokens = cfg->retry_budget_min;
	}
	if (w->retry_tokens < 1)
		return false;
	w->retry_tokens -= 1;
	return true;
}

static void arm_up_timer(struct gw_conn *c, int phase, int phase_ms, uint64_t now)
{
	struct gw_req *r = &c->req;
	uint64_t until = now + (uint64_t)phase_ms * 1000;
	if (until > r->deadline_total_us) {
		until = r->deadline_total_us;
		phase = 3;
	}
	r->timeout_phase = phase;
	uint64_t d = until > now ? until - now : 0;
	struct timeval tv = {(time_t)(d / 1000000), (suseconds_t)(d % 1000000)};
	evtimer_add(c->up_timer, &tv);
}

static void send_request(struct gw_conn *c)
{
	struct gw_req *r = &c->req;
	struct gw_config *cfg = r->rt->cfg;
	struct evbuffer *out = bufferevent_get_output(r->up->bev);
	uint64_t now = gw_now_us();

	r->replayable = r->body_complete && r->retry_safe && r->attempts < cfg->max_attempts;
	if (r->replayable || r->attempts < cfg->max_attempts) {
		/* keep the head (and a complete body) for another attempt */
		struct evbuffer_iovec v[8];
		int nv = evbuffer_peek(r->up_head, -1, NULL, v, 8);
		for (int i = 0; i < nv && i < 8; i++)
			evbuffer_add(out, v[i].iov_base, v[i].iov_len);
	} else {
		evbuffer_add_buffer(out, r->up_head);
	}
	if (r->body_complete && r->replayable) {
		struct evbuffer_iovec v[64];
		int nv = evbuffer_peek(r->body, -1, NULL, v, 64);
		if (nv > 64) {
			evbuffer_add_buffer(out, r->body);
			r->replayable = false;
		} else {
			for (int i = 0; i < nv; i++)
				evbuffer_add(out, v[i].iov_base, v[i].iov_len);
		}
	} else {
		evbuffer_add_buffer(out, r->body);
		r->replayable = false;
		if (!r->body_complete) {
			r->body_streaming = true;
			c->state = CS_PROXY;
		}
	}
	r->sent = true;
	r->sent_us = now;
	r->ustate = US_WAIT_HEAD;
	gw_reader_set(&r->up->rd, true); /* written by conn_flush */
	arm_up_timer(c, 2, cfg->first_byte_timeout_ms, now);
	if (r->body_streaming)
		pump_request_body(c);
}

static void up_failed(struct gw_conn *c, bool timeout, bool connect_phase);

/* The worker's pools take the addresses dns.c published since they last
 * looked (one atomic load when nothing changed). */
static void worker_follow_dns(struct gw_worker *w)
{
	struct gw_runtime *rt = w->rt;
	unsigned gen = gw_dns_generation();

	if (gen == w->dns_gen)
		return;
	w->dns_gen = gen;
	for (size_t p = 0; p < rt->cfg->npools; p++)
		pool_follow_dns(&rt->pools[p]);
}

static void start_attempt(struct gw_conn *c)
{
	struct gw_req *r = &c->req;
	struct gw_config *cfg = r->rt->cfg;
	uint64_t now = gw_now_us();
	struct gw_instance *in;
	struct gw_uconn *u;

	/* a removed address gets no new request once the change is known,
	 * whichever worker takes it (not only at this worker's next tick) */
	if (r->rt == r->rt->w->rt)
		worker_follow_dns(r->rt->w);
	in = pool_pick(r->pool, r->tried, now);
	if (!in) {
		if (pool_has_eligible(r->pool, now))
			fail_request(c, 503, "api_error", "upstream_busy",
				     "upstream connection limit reached", 1, false);
		else if (r->attempts > 0)
			fail_request(c, 502, "api_error", "upstream_unavailable", "upstream failed",
				     0, false);
		else
			fail_request(c, 503, "api_error", "no_healthy_upstream",
				     "no healthy upstream instance", 1, false);
		return;
	}
	r->attempts++;
	r->tried |= 1u << (in - r->pool->inst);
	r->upstream_label = in->cfg->label;
	r->attempt_start_us = now;
	r->sent = false;
	r->got_response_byte = false;
	GW_INC(in->stats->requests, 1);
	if (r->attempts > 1)
		GW_INC(in->stats->retries, 1);
	in->outstanding++;
	u = in->idle;
	if (u) {
		idle_unlink(u);
		u->client = c;
		u->reused = true;
		GW_SET(in->stats->active, in->nconns - in->nidle);
		bufferevent_setcb(u->bev, up_read_cb, up_write_cb, up_event_cb, c);
		r->up = u;
		r->connect_ms = 0;
		send_request(c);
		return;
	}
	u = uconn_new(in, c);
	if (!u) {
		in->outstanding--;
		fail_request(c, 502, "api_error", "upstream_unavailable", "upstream failed", 0,
			     false);
		return;
	}
	r->up = u;
	r->ustate = US_CONNECTING;
	arm_up_timer(c, 1, cfg->connect_timeout_ms, now);
	if (bufferevent_socket_connect(u->bev, (const struct sockaddr *)&in->cfg->addr,
				       (int)in->cfg->addrlen) != 0) {
		up_failed(c, false, true);
		return;
	}
}

/* The current attempt failed.  Retry on another instance when that is safe,
 * else answer 502/504. */
static void up_failed(struct gw_conn *c, bool timeout, bool connect_phase)
{
	struct gw_req *r = &c->req;
	struct gw_config *cfg = r->rt->cfg;
	struct gw_worker *w = c->w;
	uint64_t now = gw_now_us();
	struct gw_uconn *u = r->up;
	bool retry;

	evtimer_del(c->up_timer);
	if (u) {
		struct gw_instance *in = u->inst;
		bool reused = u->reused;
		r->up = NULL;
		in->outstanding--;
		uconn_free(u);
		/* a pooled connection the upstream had already closed says
		 * nothing about the instance */
		if (!(reused && !timeout && !r->got_response_byte))
			instance_failure(in, now);
	}
	if (r->response_started) {
		finish_request(c, false);
		return;
	}
	retry = r->attempts < cfg->max_attempts && now < r->deadline_total_us &&
		!r->got_response_byte && (connect_phase || !r->sent || r->replayable) &&
		!r->body_streaming;
	/* a refused connect adds no load upstream; everything else spends budget */
	if (retry && (timeout || !connect_phase) && !retry_budget_take(w, cfg, now))
		retry = false;
	if (retry) {
		if (r->sent && !r->replayable)
			retry = false;
	}
	if (retry) {
		start_attempt(c);
		return;
	}
	if (timeout)
		fail_request(c, 504, "api_error", "upstream_timeout", "upstream timed out", 0,
			     false);
	else
		fail_request(c, 502, "api_error", "upstream_unavailable", "upstream failed", 0,
			     false);
}

static void up_timer_cb_body(evutil_socket_t fd, short what, void *arg)
{
	struct gw_conn *c = arg;
	struct gw_req *r = &c->req;
	(void)fd;
	(void)what;
	if (r->timeout_phase == 3) {
		/* total deadline: no retry */
		r->attempts = r->rt->cfg->max_attempts;
	}
	up_failed(c, true, r->timeout_phase == 1);
}

/* ---------------------------------------------------------------- response */

static void build_client_head(struct gw_conn *c, const struct gw_message_head *h,
			      const char *status_line, size_t status_len)
{
	struct gw_req *r = &c->req;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	bool close, cors_on = r->rt->cfg->cors.norigins > 0;

	evbuffer_add(out, "HTTP/1.1", 8);
	evbuffer_add(out, status_line + 8, status_len - 8);
	evbuffer_add(out, "\r\n", 2);
	for (size_t i = 0; i < h->nheaders; i++) {
		const struct gw_header *f = &h->headers[i];
		if (gw_is_hop_by_hop(h, &f->name) || (int)i == h->known.request_id)
			continue;
		/* with CORS on, the gateway alone grants */
		if (cors_on && f->name.len > 15 &&
		    strncasecmp(f->name.ptr, "access-control-", 15) == 0)
			continue;
		add_header(out, f->name.ptr, f->name.len, f->value.ptr, f->value.len);
	}
	add_header(out, "X-Request-Id", 12, r->request_id, strlen(r->request_id));
	cors_headers(c, out);
	r->resp_dechunk = false;
	close = r->client_close || c->w->draining || !r->body_complete;
	if (h->body_kind == GW_BODY_CHUNKED) {
		if (r->client_minor == 0) {
			r->resp_dechunk = true;
			close = true;
		} else {
			evbuffer_add(out, "Transfer-Encoding: chunked\r\n", 28);
		}
	} else if (h->body_kind == GW_BODY_CLOSE) {
		close = true;
	}
	r->client_close = close;
	if (close)
		evbuffer_add(out, "Connection: close\r\n", 19);
	else if (r->client_minor == 0)
		evbuffer_add(out, "Connection: keep-alive\r\n", 24);
	evbuffer_add(out, "\r\n", 2);
}

/* The response was relayed completely: pool or close the upstream
 * connection, then go on with the client. */
static void response_done(struct gw_conn *c)
{
	struct gw_req *r = &c->req;
	struct gw_uconn *u = r->up;
	struct gw_instance *in = u->inst;
	struct gw_runtime *urt = in->pool->rt;
	uint64_t now = gw_now_us();
	bool reuse;

	evtimer_del(c->up_timer);
	gw_hist_observe(&in->stats->latency, (double)(now - r->attempt_start_us) / 1e6);
	instance_success(in, now);
	in->outstanding--;
	r->up = NULL;
	reuse = !r->resp_up_close && r->body_complete &&
		evbuffer_get_length(bufferevent_get_input(u->bev)) == 0 &&
		evbuffer_get_length(bufferevent_get_output(u->bev)) == 0 && !urt->retired &&
		in->nidle < in->pool->cfg->max_idle && instance_eligible(in, now) &&
		!c->w->draining;
	if (reuse)
		uconn_to_idle(u, now);
	else
		uconn_free(u);
	finish_request(c, !r->client_close);
}

static void pause_upstream(struct gw_conn *c)
{
	struct gw_req *r = &c->req;
	r->up_paused = true;
	gw_reader_set(&r->up->rd, false);
}

/* Relays response body bytes; returns after the response is done, the
 * client buffer is full, or the upstream input is empty. */
static void pump_response(struct gw_conn *c)
{
	struct gw_req *r = &c->req;
	struct evbuffer *in = bufferevent_get_input(r->up->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);

	for (;;) {
		size_t avail = evbuffer_get_length(in);
		if (r->resp_kind == GW_BODY_NONE)
			break;
		if (avail == 0)
			return;
		if (evbuffer_get_length(out) > CLIENT_OUT_HIGH) {
			pause_upstream(c);
			return;
		}
		if (r->resp_kind == GW_BODY_LENGTH) {
			size_t n = avail < r->resp_remaining ? avail : (size_t)r->resp_remaining;
			evbuffer_remove_buffer(in, out, n);
			r->resp_remaining -= n;
			r->bytes_out += n;
			if (r->resp_remaining == 0)
				break;
		} else if (r->resp_kind == GW_BODY_CHUNKED) {
			struct evbuffer_iovec v[8];
			int nv = evbuffer_peek(in, (ev_ssize_t)avail, NULL, v, 8);
			size_t consumed = 0;
			for (int i = 0; i < nv && i < 8 && !r->resp_chunk.done; i++) {
				size_t off = 0, seglen = v[i].iov_len;
				if (consumed + seglen > avail)
					seglen = avail - consumed;
				while (off < seglen && !r->resp_chunk.done) {
					bool is_data;
					const char *p = (const char *)v[i].iov_base + off;
					ssize_t k = gw_chunked_feed(&r->resp_chunk, p, seglen - off,
								    MAX_TRAILER, &is_data);
					if (k < 0) {
						/* broken upstream framing: the client
						 * has a partial response; close both */
						instance_failure(r->up->inst, gw_now_us());
						finish_request(c, false);
						return;
					}
					if (r->resp_dechunk && is_data) {
						evbuffer_add(out, p, (size_t)k);
						r->bytes_out += (uint64_t)k;
					}
					off += (size_t)k;
				}
				consumed += off;
			}
			if (r->resp_dechunk) {
				evbuffer_drain(in, consumed);
			} else {
				evbuffer_remove_buffer(in, out, consumed);
				r->bytes_out += consumed;
			}
			if (r->resp_chunk.done)
				break;
		} else {
			r->bytes_out += avail;
			evbuffer_add_buffer(out, in);
			return; /* until the upstream closes */
		}
	}
	response_done(c);
}

static void up_read_cb_body(struct bufferevent *bev, void *arg)
{
	struct gw_conn *c = arg;
	struct gw_req *r = &c->req;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct gw_message_head *h = &c->w->scratch;

	if (r->ustate == US_BODY) {
		pump_response(c);
		return;
	}
	if (r->ustate != US_WAIT_HEAD)
		return;
	for (;;) {
		size_t len = evbuffer_get_length(in), max_head = 65536;
		const char *buf;
		int rc;
		if (len == 0)
			return;
		r->got_response_byte = true;
		if (len > max_head)
			len = max_head;
		buf = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
		rc = gw_parse_response(buf, len, max_head, r->method_id == GW_METHOD_HEAD, h);
		if (rc == GW_PARSE_INCOMPLETE)
			return;
		if (rc < 0 || h->status == 101) {
			b4_log_warn("bad upstream response", B4_LS("upstream", r->upstream_label));
			r->attempts = r->rt->cfg->max_attempts;
			up_failed(c, false, false);
			return;
		}
		if (h->status < 200) {
			evbuffer_drain(in, (size_t)rc);
			continue;
		}
		r->first_byte_ms = (double)(gw_now_us() - r->sent_us) / 1000.0;
		r->status = h->status;
		r->resp_kind = h->body_kind;
		r->resp_remaining = h->content_length;
		gw_chunked_init(&r->resp_chunk);
		r->resp_up_close = (h->flags & GW_HF_CONN_CLOSE) || h->body_kind == GW_BODY_CLOSE ||
				   (h->minor_version == 0 && !(h->flags & GW_HF_CONN_KEEPALIVE));
		{
			const char *cr = memchr(buf, '\r', (size_t)rc);
			build_client_head(c, h, buf, (size_t)(cr - buf));
		}
		evbuffer_drain(in, (size_t)rc);
		r->response_started = true;
		r->ustate = US_BODY;
		arm_up_timer(c, 3, r->rt->cfg->total_timeout_ms, gw_now_us());
		pump_response(c);
		return;
	}
}

static void up_write_cb_body(struct bufferevent *bev, void *arg)
{
	struct gw_conn *c = arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_disable(bev, EV_WRITE); /* back to direct writes */
	if (c->req.body_streaming && c->client_paused) {
		c->client_paused = false;
		conn_reading(c, true);
		pump_request_body(c);
	}
}

static void up_event_cb_body(struct bufferevent *bev, short what, void *arg)
{
	struct gw_conn *c = arg;
	struct gw_req *r = &c->req;

	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		r->connect_ms = (double)(gw_now_us() - r->attempt_start_us) / 1000.0;
		if (gw_reader_init(&r->up->rd, bev) != 0) {
			up_failed(c, false, true);
			return;
		}
		r->up->connected = true;
		send_request(c);
		return;
	}
	if (r->ustate == US_BODY) {
		if (r->resp_kind == GW_BODY_CLOSE && (what & BEV_EVENT_EOF)) {
			pump_response(c);
			if (r->up) {
				r->resp_up_close = true;
				response_done(c);
			}
			return;
		}
		/* truncated response: the client has part of it, close */
		instance_failure(r->up->inst, gw_now_us());
		finish_request(c, false);
		return;
	}
	up_failed(c, false, r->ustate == US_CONNECTING);
}

/* ---------------------------------------------------------------- client callbacks */

static void conn_destroy(struct gw_conn *c)
{
	struct gw_worker *w = c->w;
	if (c->req.active) {
		struct gw_req *r = &c->req;
		if (r->up) {
			struct gw_uconn *u = r->up;
			r->up = NULL;
			u->inst->outstanding--;
			uconn_free(u);
		}
		if (!r->response_started && r->status == 0)
			r->status = 499;
		stats_count(c, gw_now_us());
		access_log(c, gw_now_us());
	}
	req_reset(c);
	if (c->req.up_head)
		evbuffer_free(c->req.up_head);
	if (c->req.body)
		evbuffer_free(c->req.body);
	event_free(c->timer);
	event_free(c->up_timer);
	gw_reader_cleanup(&c->rd);
	bufferevent_free(c->bev);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->nconns--;
	atomic_fetch_sub(&w->load, 1);
	GW_SET(w->stats.open_connections, w->nconns);
	free(c);
	if (w->draining && w->nconns == 0)
		event_base_loopexit(w->base, NULL);
}

static void conn_read_cb_body(struct bufferevent *bev, void *arg)
{
	(void)bev;
	process_input(arg);
}

static void conn_write_cb_body(struct bufferevent *bev, void *arg)
{
	struct gw_conn *c = arg;
	struct gw_req *r = &c->req;
	if (!c->tls && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_disable(bev, EV_WRITE); /* back to direct writes */
	if (c->state == CS_CLOSING) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			conn_start_linger(c);
		return;
	}
	if (c->out_wait) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
			return;
		c->out_wait = false;
		set_timer_ms(c->timer, cur_cfg(c)->keepalive_timeout_ms);
		conn_reading(c, true);
		process_input(c);
		return;
	}
	if (r->up_paused && r->up) {
		r->up_paused = false;
		gw_reader_set(&r->up->rd, true);
		pump_response(c);
	}
}

static void conn_event_cb_body(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return; /* TLS handshake done */
	conn_free(arg);
}

static void conn_timer_cb_body(evutil_socket_t fd, short what, void *arg)
{
	struct gw_conn *c = arg;
	(void)fd;
	(void)what;
	switch (c->state) {
	case CS_HEAD:
		if (c->out_wait) {
			/* a static body on its way: give up only when it stalls */
			size_t left = evbuffer_get_length(bufferevent_get_output(c->bev));
			if (left < c->out_wait_left) {
				c->out_wait_left = left;
				set_timer_ms(c->timer, cur_cfg(c)->client_body_timeout_ms);
			} else {
				conn_free(c);
			}
			return;
		}
		if (c->head_timer_armed) {
			/* slow or stalled head (slowloris) */
			struct gw_req *r = &c->req;
			r->active = true;
			r->rt = c->w->rt;
			r->rt->refs++;
			r->start_us = gw_now_us();
			snprintf(r->method, sizeof(r->method), "-");
			fail_request(c, 408, "invalid_request_error", "request_timeout",
				     "request not received in time", 0, true);
		} else {
			conn_free(c);
		}
		return;
	case CS_BODY_PREREAD:
	case CS_PROXY:
		if (!c->req.response_started)
			fail_request(c, 408, "invalid_request_error", "request_timeout",
				     "request body not received in time", 0, true);
		else
			finish_request(c, false);
		return;
	case CS_CLOSING: {
		/* the last response (maybe a large file) is still leaving: give
		 * up only when it stalls */
		size_t left = evbuffer_get_length(bufferevent_get_output(c->bev));
		if (left > 0 && left < c->out_wait_left) {
			c->out_wait_left = left;
			set_timer_ms(c->timer, cur_cfg(c)->client_body_timeout_ms);
			return;
		}
		conn_free(c);
		return;
	}
	case CS_LINGER:
		conn_free(c);
		return;
	}
}

/* Sets up a client connection on w, which already counts it in w->load. */
static void conn_start(struct gw_worker *w, evutil_socket_t fd, const struct sockaddr *addr,
		       int socklen, bool tls)
{
	struct gw_config *cfg = w->rt->cfg;
	struct gw_conn *c;
	int one = 1;
	size_t high;

	if (w->nconns >= w->max_conns || w->draining || (tls && !cfg->ssl_ctx)) {
		evutil_closesocket(fd);
		atomic_fetch_sub(&w->load, 1);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		evutil_closesocket(fd);
		atomic_fetch_sub(&w->load, 1);
		return;
	}
	c->w = w;
	c->tls = tls;
	memcpy(&c->peer, addr,
	       (size_t)socklen < sizeof(c->peer) ? (size_t)socklen : sizeof(c->peer));
	if (addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)addr)->sin_addr, c->client_ip,
			  sizeof(c->client_ip));
	else if (addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)addr)->sin6_addr, c->client_ip,
			  sizeof(c->client_ip));
	else
		snprintf(c->client_ip, sizeof(c->client_ip), "unknown");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (tls) {
		SSL *ssl = SSL_new(cfg->ssl_ctx);
		if (!ssl) {
			evutil_closesocket(fd);
			atomic_fetch_sub(&w->load, 1);
			free(c);
			return;
		}
		c->bev = bufferevent_openssl_socket_new(w->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
							BEV_OPT_CLOSE_ON_FREE);
		if (c->bev)
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	} else {
		c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	c->timer = evtimer_new(w->base, conn_timer_cb, c);
	c->up_timer = evtimer_new(w->base, up_timer_cb, c);
	c->req.up_head = evbuffer_new();
	c->req.body = evbuffer_new();
	if (!c->bev || (!tls && gw_reader_init(&c->rd, c->bev) != 0) || !c->timer || !c->up_timer ||
	    !c->req.up_head || !c->req.body) {
		gw_reader_cleanup(&c->rd);
		if (c->bev)
			bufferevent_free(c->bev);
		else
			evutil_closesocket(fd);
		if (c->timer)
			event_free(c->timer);
		if (c->up_timer)
			event_free(c->up_timer);
		if (c->req.up_head)
			evbuffer_free(c->req.up_head);
		if (c->req.body)
			evbuffer_free(c->req.body);
		free(c);
		atomic_fetch_sub(&w->load, 1);
		return;
	}
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	GW_INC(w->stats.accepted, 1);
	GW_SET(w->stats.open_connections, w->nconns);
	high = cfg->max_header_bytes > 65536 ? cfg->max_header_bytes : 65536;
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	if (tls) {
		bufferevent_setwatermark(c->bev, EV_READ, 0, high);
		bufferevent_enable(c->bev, EV_WRITE);
	} else {
		c->rd.high = high;
		bufferevent_disable(c->bev, EV_WRITE); /* on by default; conn_flush writes */
	}
	conn_reading(c, true);
	c->state = CS_HEAD;
	set_timer_ms(c->timer, cfg->client_header_timeout_ms);
	c->head_timer_armed = true;
}

/* All workers, to place new connections on the least loaded one. */
static struct gw_worker **peers;
static size_t npeers;

void gw_workers_link(struct gw_worker **all, size_t n)
{
	peers = all;
	npeers = n;
}

/* SO_REUSEPORT spreads connections over the threads by hash, and a
 * keep-alive connection stays where it landed: with few long-lived
 * clients one thread can end up with a much larger share and a longer
 * queue (a worse tail).  So the accepting worker hands a new connection to
 * the least loaded worker (counted at once, so a burst spreads evenly). */
static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *addr,
		      int socklen, void *arg)
{
	struct gw_worker *w = arg, *target = w;
	struct gw_handoff *h;
	bool tls = false;

	for (size_t i = 0; i < w->nlisteners; i++)
		if (w->listeners[i] == l)
			tls = w->listener_tls[i];
	if (!atomic_load(&gw_draining)) {
		for (size_t i = 0; i < npeers; i++)
			if (atomic_load(&peers[i]->load) < atomic_load(&target->load))
				target = peers[i];
	}
	atomic_fetch_add(&target->load, 1);
	if (target == w) {
		conn_start(w, fd, addr, socklen, tls);
		return;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		atomic_fetch_sub(&target->load, 1);
		atomic_fetch_add(&w->load, 1);
		conn_start(w, fd, addr, socklen, tls);
		return;
	}
	h->fd = fd;
	h->tls = tls;
	h->socklen = (size_t)socklen < sizeof(h->addr) ? socklen : (int)sizeof(h->addr);
	memcpy(&h->addr, addr, (size_t)h->socklen);
	pthread_mutex_lock(&target->mu);
	h->next = target->handoff_head;
	target->handoff_head = h;
	pthread_mutex_unlock(&target->mu);
	event_active(target->handoff_ev, EV_READ, 0);
}

/* Takes the connections other workers handed to w. */
static void handoff_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw_worker *w = arg;
	struct gw_handoff *h, *next;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&w->mu);
	h = w->handoff_head;
	w->handoff_head = NULL;
	pthread_mutex_unlock(&w->mu);
	for (; h; h = next) {
		next = h->next;
		conn_start(w, h->fd, (struct sockaddr *)&h->addr, h->socklen, h->tls);
		free(h);
	}
}

/* ---------------------------------------------------------------- worker */

static void worker_begin_drain(struct gw_worker *w)
{
	struct gw_conn *c, *next;
	if (w->draining)
		return;
	w->draining = true;
	for (size_t i = 0; i < w->nlisteners; i++) {
		if (w->listeners[i]) {
			evconnlistener_free(w->listeners[i]);
			w->listeners[i] = NULL;
		}
	}
	for (c = w->conns; c; c = next) {
		next = c->next;
		if (c->state == CS_HEAD && !c->req.active &&
		    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
			conn_free(c);
	}
	if (w->nconns == 0)
		event_base_loopexit(w->base, NULL);
}

static void notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw_worker *w = arg;
	struct gw_config *cfg;
	bool drain, stop;
	(void)fd;
	(void)what;

	pthread_mutex_lock(&w->mu);
	cfg = w->pending_cfg;
	w->pending_cfg = NULL;
	drain = w->pending_drain;
	stop = w->pending_stop;
	pthread_mutex_unlock(&w->mu);

	if (cfg) {
		struct gw_runtime *rt = runtime_new(w, cfg);
		if (rt) {
			struct gw_runtime *old = w->rt;
			w->rt = rt;
			GW_INC(w->stats.reloads, 1);
			runtime_retire(old);
		}
		gw_config_unref(cfg);
	}
	if (drain)
		worker_begin_drain(w);
	if (stop)
		event_base_loopbreak(w->base);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw_worker *w = arg;
	struct gw_runtime *rt = w->rt;
	uint64_t now = gw_now_us();
	uint64_t idle_max = (uint64_t)rt->cfg->upstream_idle_timeout_ms * 1000;
	(void)fd;
	(void)what;

	worker_follow_dns(w);
	for (size_t p = 0; p < rt->cfg->npools; p++) {
		struct gw_pool *pool = &rt->pools[p];
		for (size_t i = 0; i < pool->n; i++) {
			struct gw_instance *in = &pool->inst[i];
			struct gw_uconn *u = in->idle, *next;
			for (; u; u = next) {
				next = u->next;
				if (now - u->idle_since_us > idle_max)
					uconn_free(u);
			}
			instance_follow_health(in, now);
		}
	}
	/* the retry budget earns a fraction of a token per request; cap it */
	{
		double cap = 10.0 + rt->cfg->retry_budget_min;
		if (w->retry_tokens > cap)
			w->retry_tokens = cap;
	}
	log_flush(w);
}

struct gw_worker *gw_worker_new(int index, struct gw_config *cfg, const int *fds, size_t nfds)
{
	struct gw_worker *w = calloc(1, sizeof(*w));
	struct timeval tick = {0, 250000};

	if (!w)
		return NULL;
	w->index = index;
	pthread_mutex_init(&w->mu, NULL);
	if (getrandom(&w->rng, sizeof(w->rng), 0) != sizeof(w->rng) || w->rng == 0)
		w->rng = gw_now_us() ^ ((uint64_t)index << 32) ^ 0x9E3779B97F4A7C15ULL;
	w->base = event_base_new();
	if (!w->base)
		goto out_free;
	w->rt = runtime_new(w, cfg);
	if (!w->rt)
		goto out_free;
	w->max_conns = (cfg->max_connections + cfg->threads - 1) / cfg->threads;
	for (size_t i = 0; i < nfds && i < GW_MAX_LISTENERS; i++) {
		w->listeners[i] =
		    evconnlistener_new(w->base, accept_cb, w, LEV_OPT_CLOSE_ON_FREE, 0, fds[i]);
		if (!w->listeners[i])
			goto out_free;
		w->listener_tls[i] = cfg->listeners[i].tls;
		w->nlisteners++;
	}
	w->notify = event_new(w->base, -1, 0, notify_cb, w);
	w->tick = event_new(w->base, -1, EV_PERSIST, tick_cb, w);
	w->handoff_ev = event_new(w->base, -1, EV_PERSIST | EV_READ, handoff_cb, w);
	if (!w->notify || !w->tick || !w->handoff_ev)
		goto out_free;
	/* never fires by itself; kept added so event_active from another thread works */
	event_add(w->handoff_ev, NULL);
	event_add(w->tick, &tick);
	w->retry_tokens = cfg->retry_budget_min;
	return w;
out_free:
	gw_worker_free(w);
	return NULL;
}

static void *worker_main(void *arg)
{
	struct gw_worker *w = arg;
	event_base_dispatch(w->base);
	log_flush(w);
	atomic_fetch_add(&gw_workers_done, 1);
	return NULL;
}

int gw_worker_start(struct gw_worker *w)
{
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
		return -1;
	w->started = true;
	return 0;
}

void gw_worker_join(struct gw_worker *w)
{
	if (w->started) {
		pthread_join(w->thread, NULL);
		w->started = false;
	}
}

void gw_worker_free(struct gw_worker *w)
{
	if (!w)
		return;
	while (w->conns)
		conn_free(w->conns);
	for (size_t i = 0; i < w->nlisteners; i++)
		if (w->listeners[i])
			evconnlistener_free(w->listeners[i]);
	if (w->rt)
		runtime_retire(w->rt);
	if (w->notify)
		event_free(w->notify);
	if (w->tick)
		event_free(w->tick);
	if (w->handoff_ev)
		event_free(w->handoff_ev);
	while (w->handoff_head) {
		struct gw_handoff *h = w->handoff_head;
		w->handoff_head = h->next;
		evutil_closesocket(h->fd);
		free(h);
	}
	if (w->pending_cfg)
		gw_config_unref(w->pending_cfg);
	if (w->base)
		event_base_free(w->base);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

static void post(struct gw_worker *w)
{
	event_active(w->notify, EV_READ, 0);
}

void gw_worker_reload(struct gw_worker *w, struct gw_config *cfg)
{
	gw_config_ref(cfg);
	pthread_mutex_lock(&w->mu);
	if (w->pending_cfg)
		gw_config_unref(w->pending_cfg);
	w->pending_cfg = cfg;
	pthread_mutex_unlock(&w->mu);
	post(w);
}

void gw_worker_drain(struct gw_worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->pending_drain = true;
	pthread_mutex_unlock(&w->mu);
	post(w);
}

void gw_worker_stop(struct gw_worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->pending_stop = true;
	pthread_mutex_unlock(&w->mu);
	post(w);
}

struct gw_stats *gw_worker_stats(struct gw_worker *w)
{
	return &w->stats;
}

/* Every callback that reaches a client connection runs between enter and
 * leave, so a conn_free deep in the call chain only marks it. */

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct gw_conn *c = arg;
	conn_enter(c);
	conn_read_cb_body(bev, arg);
	conn_leave(c);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct gw_conn *c = arg;
	conn_enter(c);
	conn_write_cb_body(bev, arg);
	conn_leave(c);
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct gw_conn *c = arg;
	conn_enter(c);
	conn_event_cb_body(bev, what, arg);
	conn_leave(c);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw_conn *c = arg;
	conn_enter(c);
	conn_timer_cb_body(fd, what, arg);
	conn_leave(c);
}

static void up_read_cb(struct bufferevent *bev, void *arg)
{
	struct gw_conn *c = arg;
	conn_enter(c);
	up_read_cb_body(bev, arg);
	conn_leave(c);
}

static void up_write_cb(struct bufferevent *bev, void *arg)
{
	struct gw_conn *c = arg;
	conn_enter(c);
	up_write_cb_body(bev, arg);
	conn_leave(c);
}

static void up_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct gw_conn *c = arg;
	conn_enter(c);
	up_event_cb_body(bev, what, arg);
	conn_leave(c);
}

static void up_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw_conn *c = arg;
	conn_enter(c);
	up_timer_cb_body(fd, what, arg);
	conn_leave(c);
}
