/* b4-gateway private header: configuration, per-thread workers, statistics. */
#ifndef GW_GATEWAY_H
#define GW_GATEWAY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "b4/clientaddr.h"

#define GW_MAX_ROUTES	   32
#define GW_MAX_POOLS	   16
#define GW_MAX_INSTANCES   16 /* per pool */
#define GW_MAX_RATE_GROUPS 8
#define GW_MAX_TRUSTED	   32
#define GW_MAX_LISTENERS   4
#define GW_NAME_MAX	   64
#define GW_MAX_STATIC	   8  /* static routes */
#define GW_STATIC_MAX_LIST 8  /* fallbacks and immutable prefixes per static route */
#define GW_MAX_ORIGINS	   16 /* CORS */
#define GW_MAX_INTERNAL	   8  /* internal paths refused on the public listener */

enum gw_balance { GW_BALANCE_ROUND_ROBIN, GW_BALANCE_LEAST_OUTSTANDING };

struct gw_instance_cfg {
	char host[128];
	uint16_t port;
	int weight;
	struct sockaddr_storage addr;
	socklen_t addrlen; /* 0 for a dynamic instance */
	char label[160];   /* "host:port", or "host:port@address" once resolved */
	bool dynamic;	   /* host is a name: one instance per address (dns.c) */
};

/* Background resolution of upstream host names (dns.c). */
struct gw_dns_cfg {
	char resolver[128]; /* "ip[:port]"; "" = the system's resolv.conf */
	int min_ttl_ms;	    /* TTL floor: no name is asked again sooner */
	int max_ttl_ms;	    /* TTL ceiling: every name is asked again at least this often */
	int timeout_ms;	    /* one query */
};

struct gw_pool_cfg {
	char name[GW_NAME_MAX];
	struct gw_instance_cfg instances[GW_MAX_INSTANCES];
	size_t ninstances;
	enum gw_balance balance;
	int max_connections; /* per instance and thread */
	int max_idle;	     /* idle keep-alive connections kept per instance and thread */
	char health_path[128];
	int health_interval_ms; /* 0 disables active checks */
	int health_timeout_ms;
	int rise;
	int fall;
	int eject_failures; /* consecutive failures before passive ejection */
	int eject_base_ms;
	int eject_max_ms;
};

struct gw_route_cfg {
	char name[GW_NAME_MAX];
	char prefix[128];
	size_t prefix_len;
	bool strip_prefix;
	int pool;	  /* index into pools; -1 for a static route */
	int static_index; /* index into statics; -1 for a proxied route */
};

/* A static route: files from a folder, as a CDN serves a bucket (static.c). */
struct gw_static_fallback {
	char pattern[128]; /* request path, '*' = one segment, final "**" = any rest */
	char file[256];	   /* under root */
};

struct gw_static_cfg {
	char root[1024];    /* absolute (relative ones are joined to static_base) */
	char index[64];	    /* file served for a folder */
	char fallback[256]; /* under root, for paths with no file; "" = 404 */
	struct gw_static_fallback fallbacks[GW_STATIC_MAX_LIST];
	size_t nfallbacks;
	char immutable[GW_STATIC_MAX_LIST][128]; /* path prefixes (under root) of hashed assets */
	size_t nimmutable;
	bool precompressed;  /* serve .br / .gz siblings */
	bool html_extension; /* "/a" may be "a.html" (Next.js export) */
};

struct gw_cors_cfg {
	char origins[GW_MAX_ORIGINS][256]; /* "*" allows any */
	size_t norigins;
	int max_age_seconds;
};

struct gw_rate_cfg {
	char name[GW_NAME_MAX];
	char prefix[128];
	size_t prefix_len;
	double rate_per_sec; /* tokens per second; 0 disables the group */
	double burst;
};

struct gw_cidr {
	int family;
	uint8_t addr[16];
	int bits;
};

struct gw_listener_cfg {
	char host[128];
	int port; /* 0: ephemeral */
	bool tls;
};

struct gw_config {
	atomic_int refs;
	struct gw_listener_cfg listeners[GW_MAX_LISTENERS];
	size_t nlisteners;
	char admin_host[128];
	int admin_port;
	struct gw_route_cfg routes[GW_MAX_ROUTES];
	size_t nroutes;
	struct gw_static_cfg statics[GW_MAX_STATIC];
	size_t nstatics;
	char static_base[1024]; /* folder for relative static roots; "" = working dir */
	struct gw_cors_cfg cors;
	struct gw_dns_cfg dns;
	char internal_paths[GW_MAX_INTERNAL][32]; /* never proxied ("/metrics", ...) */
	size_t ninternal;
	struct gw_pool_cfg pools[GW_MAX_POOLS];
	size_t npools;
	struct gw_rate_cfg rates[GW_MAX_RATE_GROUPS];
	size_t nrates;
	struct gw_cidr trusted[GW_MAX_TRUSTED];
	size_t ntrusted;
	/* the same networks for libcommon's client address (rate limits) */
	struct b4_proxy_list trusted_list;
	/* limits */
	size_t max_header_bytes;
	size_t max_body_bytes;
	size_t request_buffer_bytes; /* bodies up to this are read whole before sending */
	int max_connections;	     /* client connections per process */
	/* timeouts, ms */
	int connect_timeout_ms;
	int first_byte_timeout_ms;
	int total_timeout_ms;
	int client_header_timeout_ms;
	int client_body_timeout_ms;
	int keepalive_timeout_ms;
	int upstream_idle_timeout_ms;
	/* retries */
	int max_attempts;	   /* total tries, 1 = no retry */
	double retry_budget_ratio; /* retries allowed per request */
	int retry_budget_min;	   /* retries always allowed per second */
	/* TLS */
	char tls_cert[512];
	char tls_key[512];
	SSL_CTX *ssl_ctx; /* built from tls_cert/tls_key when a TLS listener exists */
	bool access_log;
	int threads;
	int drain_seconds;
	char source[512]; /* file the config came from, or "defaults" */
};

/* Loads the configuration: from path when not NULL, else built-in defaults
 * with the environment overrides.  On failure returns NULL and writes one
 * line naming the bad setting into err.  The result has one reference. */
struct gw_config *gw_config_load(const char *path, char *err, size_t errlen);
void gw_config_ref(struct gw_config *cfg);
void gw_config_unref(struct gw_config *cfg);
/* Parses "host:port[,host:port...]" into a pool; -1 and err on failure. */
int gw_pool_set_instances(struct gw_pool_cfg *pool, const char *spec, char *err, size_t errlen);

/* ---- statistics: per thread, single writer, folded at scrape time ---- */

#define GW_HIST_BUCKETS 14
extern const double gw_hist_bounds[GW_HIST_BUCKETS]; /* seconds */

struct gw_hist {
	atomic_uint_fast64_t buckets[GW_HIST_BUCKETS + 1];
	atomic_uint_fast64_t count;
	atomic_uint_fast64_t sum_us;
};

enum gw_static_result {
	GW_STATIC_FILE,		/* a file that exists under the path */
	GW_STATIC_FALLBACK,	/* the route's fallback page */
	GW_STATIC_NOT_MODIFIED, /* 304 */
	GW_STATIC_NOT_FOUND,
	GW_STATIC_REFUSED, /* bad path, escape attempt, method */
	GW_STATIC_RESULTS
};

struct gw_route_stats {
	char name[GW_NAME_MAX];
	atomic_uint_fast64_t by_class[6]; /* index status/100, 0 unused */
	struct gw_hist latency;
	atomic_uint_fast64_t static_results[GW_STATIC_RESULTS];
	atomic_uint_fast64_t static_bytes;	   /* body bytes queued from files */
	atomic_uint_fast64_t static_precompressed; /* .br / .gz siblings served */
};

struct gw_instance_stats {
	char pool[GW_NAME_MAX];
	char instance[160];
	atomic_uint_fast64_t requests;
	atomic_uint_fast64_t failures;
	atomic_uint_fast64_t retries;
	atomic_int idle;
	atomic_int active;
	atomic_int healthy;
	atomic_int ejected;
	struct gw_hist latency;
};

#define GW_MAX_STAT_ROUTES    64
#define GW_MAX_STAT_INSTANCES 128

struct gw_stats {
	struct gw_route_stats routes[GW_MAX_STAT_ROUTES];
	atomic_int nroutes;
	struct gw_instance_stats instances[GW_MAX_STAT_INSTANCES];
	atomic_int ninstances;
	atomic_uint_fast64_t not_found;
	atomic_uint_fast64_t internal_refused; /* /metrics & co. asked on the public port */
	atomic_uint_fast64_t cors_preflights;
	atomic_uint_fast64_t cors_refused; /* preflights from an origin not allowed */
	atomic_uint_fast64_t bad_requests;
	atomic_uint_fast64_t rate_limited;
	atomic_uint_fast64_t accepted;
	atomic_int open_connections;
	atomic_uint_fast64_t reloads;
};

/* single-writer relaxed increments: plain loads and stores, no lock prefix */
#define GW_INC(field, n)                                                                           \
	atomic_store_explicit(&(field),                                                            \
			      atomic_load_explicit(&(field), memory_order_relaxed) + (n),          \
			      memory_order_relaxed)
#define GW_SET(field, v) atomic_store_explicit(&(field), (v), memory_order_relaxed)
#define GW_GET(field)	 atomic_load_explicit(&(field), memory_order_relaxed)

void gw_hist_observe(struct gw_hist *h, double seconds);
struct gw_route_stats *gw_stats_route(struct gw_stats *st, const char *name);
struct gw_instance_stats *gw_stats_instance(struct gw_stats *st, const char *pool,
					    const char *instance);

/* ---- instance health, shared by the workers (health.c) ---- */

struct gw_health {
	struct gw_health *next;
	char pool[GW_NAME_MAX];
	char instance[160];
	atomic_bool healthy; /* the active checks' verdict */
	int hc_ok, hc_fail;  /* checks in a row; only worker 0 touches them */
	/* passive ejection, fed by every worker's attempts */
	atomic_int consecutive_failures;
	atomic_int ejections; /* in a row: each one doubles the next */
	atomic_uint_fast64_t ejected_until_us;
};

/* The shared entry of (pool, instance), created healthy on first use and
 * kept for the life of the process (a reload keeps what was learnt).  NULL
 * only when memory ran out. */
struct gw_health *gw_health_get(const char *pool, const char *instance);

/* ---- workers ---- */

struct gw_worker;

/* Creates worker i with its own event base, listener sockets and pools.
 * fds: the already bound listening sockets for this worker, one per
 * configured listener.  Returns NULL on failure. */
struct gw_worker *gw_worker_new(int index, struct gw_config *cfg, const int *fds, size_t nfds);
/* Runs the worker's loop in a new thread. */
int gw_worker_start(struct gw_worker *w);
/* Lets each worker place new connections on the least loaded of all n
 * workers; call once, after creating them and before starting them. */
void gw_workers_link(struct gw_worker **all, size_t n);
void gw_worker_join(struct gw_worker *w);
void gw_worker_free(struct gw_worker *w);
/* Hands a new configuration to the worker (thread-safe). Takes a reference. */
void gw_worker_reload(struct gw_worker *w, struct gw_config *cfg);
/* Starts a graceful drain (thread-safe): stop accepting, finish in-flight,
 * close idle connections, exit the loop when none is left. */
void gw_worker_drain(struct gw_worker *w);
/* Stops the loop now (thread-safe). */
void gw_worker_stop(struct gw_worker *w);
struct gw_stats *gw_worker_stats(struct gw_worker *w);

/* rate limiting, shared by all workers */
int gw_ratelimit_init(void);
/* Takes one token for (group, client); returns 0 when allowed, else the
 * seconds to wait (>= 1). */
int gw_ratelimit_take(const struct gw_rate_cfg *group, int group_index, const char *client,
		      uint64_t now_us);

/* Prometheus text of all workers' statistics; malloc'd, caller frees. */
char *gw_metrics_render(struct gw_worker **workers, size_t nworkers, bool draining, size_t *len);

/* Process-wide state read by the workers. */
extern atomic_bool gw_draining;
/* Workers whose loop has returned. */
extern atomic_int gw_workers_done;

uint64_t gw_now_us(void);

#endif
