/* b4-gateway: the public reverse proxy in front of b4-api, b4-backoffice and
 * b4-checkout.  main.c reads the settings, binds the sockets, starts one
 * worker per thread, serves the admin port and handles signals. */
#include "gateway.h"
#include "dns.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>

#include "b4/config.h"
#include "b4/log.h"

struct overrides {
	int port, admin_port, threads, drain_seconds;
};

static struct gw_worker *workers[64];
static size_t nworkers;
static struct gw_config *current_cfg;
static const char *config_path;
static struct overrides ov = {-1, -1, -1, -1};
static struct event_base *main_base;
static struct event *drain_timer;
static uint64_t drain_deadline_us;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: b4-gateway [options]\n"
		"  --config PATH       JSON configuration (env B4_GATEWAY_CONFIG); without it,\n"
		"                      built-in routes /api /backoffice /checkout\n"
		"  --check-config      validate the configuration and exit\n"
		"  --port N            public port (env B4_GATEWAY_PORT, default 8080, 0 = any)\n"
		"  --admin-port N      admin port for /healthz /readyz /metrics\n"
		"                      (env B4_GATEWAY_ADMIN_PORT, default 9080)\n"
		"  --port-file PATH    write \"http=N\" and \"admin=N\" there once bound\n"
		"                      (env B4_PORT_FILE)\n"
		"  --threads N         event-loop threads (env B4_GATEWAY_THREADS, default 2)\n"
		"  --help, --version\n"
		"Environment without a config file: B4_API_UPSTREAM, B4_BACKOFFICE_UPSTREAM,\n"
		"B4_CHECKOUT_UPSTREAM as host:port[,host:port]; B4_DRAIN_SECONDS (default 10).\n"
		"Signals: SIGHUP reloads the configuration, SIGTERM drains and exits.\n");
}

static int parse_int_setting(const char *name, const char *value, long min, long max, int *out)
{
	char *end;
	long v;
	errno = 0;
	v = strtol(value, &end, 10);
	if (errno || end == value || *end || v < min || v > max) {
		fprintf(stderr, "b4-gateway: %s: expected an integer %ld..%ld, got \"%s\"\n", name,
			min, max, value);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static void apply_overrides(struct gw_config *cfg)
{
	if (ov.port >= 0)
		cfg->listeners[0].port = ov.port;
	if (ov.admin_port >= 0)
		cfg->admin_port = ov.admin_port;
	if (ov.threads > 0)
		cfg->threads = ov.threads;
	if (ov.drain_seconds >= 0)
		cfg->drain_seconds = ov.drain_seconds;
}

static int bind_socket(const char *host, int port, int *out_port)
{
	struct addrinfo hints = {0}, *res = NULL;
	char portstr[8];
	int fd, one = 1;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if (getaddrinfo(host, portstr, &hints, &res) != 0 || !res)
		return -1;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto out_free;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
		close(fd);
		fd = -1;
		goto out_free;
	}
	{
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		getsockname(fd, (struct sockaddr *)&ss, &sl);
		*out_port =
		    ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						  : ((struct sockaddr_in6 *)&ss)->sin6_port);
	}
out_free:
	freeaddrinfo(res);
	return fd;
}

static int write_port_file(const char *path, const int *ports, const struct gw_config *cfg,
			   int admin_port)
{
	char tmp[4096];
	FILE *f;
	bool http_done = false, https_done = false;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		if (!cfg->listeners[i].tls && !http_done) {
			fprintf(f, "http=%d\n", ports[i]);
			http_done = true;
		} else if (cfg->listeners[i].tls && !https_done) {
			fprintf(f, "https=%d\n", ports[i]);
			https_done = true;
		}
	}
	fprintf(f, "admin=%d\n", admin_port);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		return -1;
	return 0;
}

/* ---- admin port ---- */

static void admin_reply(struct evhttp_request *req, int code, const char *ctype, const char *body,
			size_t len)
{
	struct evbuffer *b = evbuffer_new();
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
	evbuffer_add(b, body, len);
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Service Unavailable", b);
	evbuffer_free(b);
}

static void admin_cb(struct evhttp_request *req, void *arg)
{
	const char *uri = evhttp_request_get_uri(req);
	(void)arg;
	if (strcmp(uri, "/healthz") == 0) {
		admin_reply(req, 200, "application/json", "{\"status\":\"ok\"}", 15);
	} else if (strcmp(uri, "/readyz") == 0) {
		if (atomic_load(&gw_draining))
			admin_reply(req, 503, "application/json", "{\"status\":\"draining\"}", 21);
		else
			admin_reply(req, 200, "application/json", "{\"status\":\"ready\"}", 18);
	} else if (strcmp(uri, "/metrics") == 0) {
		size_t len = 0;
		char *text = gw_metrics_render(workers, nworkers, atomic_load(&gw_draining), &len);
		if (!text) {
			evhttp_send_error(req, 500, NULL);
			return;
		}
		admin_reply(req, 200, "text/plain; version=0.0.4", text, len);
		free(text);
	} else {
		evhttp_send_error(req, 404, NULL);
	}
}

/* ---- signals ---- */

static bool same_listeners(const struct gw_config *a, const struct gw_config *b)
{
	if (a->nlisteners != b->nlisteners || a->admin_port != b->admin_port)
		return false;
	for (size_t i = 0; i < a->nlisteners; i++)
		if (a->listeners[i].port != b->listeners[i].port ||
		    a->listeners[i].tls != b->listeners[i].tls ||
		    strcmp(a->listeners[i].host, b->listeners[i].host) != 0)
			return false;
	return true;
}

static void reload(void)
{
	char err[512];
	struct gw_config *cfg;

	if (atomic_load(&gw_draining))
		return;
	cfg = gw_config_load(config_path, err, sizeof(err));
	if (!cfg) {
		b4_log_error("config reload refused; keeping the running configuration",
			     B4_LS("error", err));
		return;
	}
	apply_overrides(cfg);
	if (!same_listeners(cfg, current_cfg) || cfg->threads != current_cfg->threads) {
		b4_log_error("config reload refused: listeners or threads changed, restart needed");
		gw_config_unref(cfg);
		return;
	}
	if (gw_dns_watch(main_base, cfg, err, sizeof(err)) != 0) {
		b4_log_error("config reload refused; keeping the running configuration",
			     B4_LS("error", err));
		gw_config_unref(cfg);
		return;
	}
	for (size_t i = 0; i < nworkers; i++)
		gw_worker_reload(workers[i], cfg);
	gw_config_unref(current_cfg);
	current_cfg = cfg;
	b4_log_info("config reloaded", B4_LS("source", cfg->source));
}

static void drain_check_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if ((size_t)atomic_load(&gw_workers_done) >= nworkers || gw_now_us() >= drain_deadline_us)
		event_base_loopexit(main_base, NULL);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct timeval tv = {0, 50000};
	(void)what;
	(void)arg;
	if (sig == SIGHUP) {
		reload();
		return;
	}
	if (atomic_load(&gw_draining)) {
		event_base_loopexit(main_base, NULL); /* a second signal: stop now */
		return;
	}
	atomic_store(&gw_draining, true);
	b4_log_info("draining", B4_LI("drain_seconds", current_cfg->drain_seconds));
	drain_deadline_us = gw_now_us() + (uint64_t)current_cfg->drain_seconds * 1000000u;
	for (size_t i = 0; i < nworkers; i++)
		gw_worker_drain(workers[i]);
	drain_timer = event_new(main_base, -1, EV_PERSIST, drain_check_cb, NULL);
	event_add(drain_timer, &tv);
}

struct worker_thread_arg {
	struct gw_worker *w;
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check-config", no_argument, NULL, 'k'},
	    {"port", required_argument, NULL, 'p'},
	    {"admin-port", required_argument, NULL, 'a'},
	    {"port-file", required_argument, NULL, 'f'},
	    {"threads", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'v'},
	    {NULL, 0, NULL, 0},
	};
	const char *port_file = getenv("B4_PORT_FILE");
	const char *env;
	bool check_only = false;
	char err[512];
	int opt, admin_port = 0, ports[GW_MAX_LISTENERS] = {0};
	int fds[64][GW_MAX_LISTENERS];
	struct evhttp *admin;
	struct evhttp_bound_socket *admin_sock;
	struct event *sig_hup, *sig_term, *sig_int;

	config_path = getenv("B4_GATEWAY_CONFIG");
	if (config_path && !*config_path)
		config_path = NULL;
	if ((env = getenv("B4_GATEWAY_PORT")) && *env &&
	    parse_int_setting("B4_GATEWAY_PORT", env, 0, 65535, &ov.port))
		return 2;
	if ((env = getenv("B4_GATEWAY_ADMIN_PORT")) && *env &&
	    parse_int_setting("B4_GATEWAY_ADMIN_PORT", env, 0, 65535, &ov.admin_port))
		return 2;
	if ((env = getenv("B4_GATEWAY_THREADS")) && *env &&
	    parse_int_setting("B4_GATEWAY_THREADS", env, 1, 64, &ov.threads))
		return 2;
	if ((env = getenv("B4_DRAIN_SECONDS")) && *env &&
	    parse_int_setting("B4_DRAIN_SECONDS", env, 0, 3600, &ov.drain_seconds))
		return 2;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'k':
			check_only = true;
			break;
		case 'p':
			if (parse_int_setting("--port", optarg, 0, 65535, &ov.port))
				return 2;
			break;
		case 'a':
			if (parse_int_setting("--admin-port", optarg, 0, 65535, &ov.admin_port))
				return 2;
			break;
		case 'f':
			port_file = optarg;
			break;
		case 't':
			if (parse_int_setting("--threads", optarg, 1, 64, &ov.threads))
				return 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'v':
			printf("b4-gateway %s\n", b4_version);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "b4-gateway: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}

	current_cfg = gw_config_load(config_path, err, sizeof(err));
	if (!current_cfg) {
		fprintf(stderr, "b4-gateway: %s\n", err);
		return 2;
	}
	apply_overrides(current_cfg);
	if (check_only) {
		printf("b4-gateway: configuration OK (%s): %zu routes, %zu upstream pools, %zu "
		       "listeners\n",
		       current_cfg->source, current_cfg->nroutes, current_cfg->npools,
		       current_cfg->nlisteners);
		gw_config_unref(current_cfg);
		return 0;
	}

	b4_log_init("b4-gateway", B4_LOG_INFO);
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	if (gw_ratelimit_init() != 0) {
		fprintf(stderr, "b4-gateway: out of memory\n");
		return 1;
	}
	nworkers = (size_t)current_cfg->threads;

	/* one socket per listener and thread, all on the same port (SO_REUSEPORT) */
	for (size_t l = 0; l < current_cfg->nlisteners; l++) {
		struct gw_listener_cfg *lc = &current_cfg->listeners[l];
		int want = lc->port;
		for (size_t t = 0; t < nworkers; t++) {
			int got = 0;
			fds[t][l] = bind_socket(lc->host, want, &got);
			if (fds[t][l] < 0) {
				fprintf(stderr, "b4-gateway: %s: cannot listen on %s:%d: %s\n",
					l == 0 ? "B4_GATEWAY_PORT" : "listeners", lc->host, want,
					strerror(errno));
				return 1;
			}
			want = got;
		}
		ports[l] = want;
	}

	main_base = event_base_new();
	admin = evhttp_new(main_base);
	if (!main_base || !admin) {
		fprintf(stderr, "b4-gateway: cannot create the admin loop\n");
		return 1;
	}
	/* upstream host names: asked before the workers build their pools, and
	 * before the admin port can take a scrape that would need them */
	if (gw_dns_watch(main_base, current_cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "b4-gateway: %s\n", err);
		return 2;
	}
	gw_dns_wait_first_answers(main_base, 2 * current_cfg->dns.timeout_ms + 100);
	evhttp_set_gencb(admin, admin_cb, NULL);
	evhttp_set_allowed_methods(admin, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	admin_sock = evhttp_bind_socket_with_handle(admin, current_cfg->admin_host,
						    (ev_uint16_t)current_cfg->admin_port);
	if (!admin_sock) {
		fprintf(stderr, "b4-gateway: B4_GATEWAY_ADMIN_PORT: cannot listen on %s:%d\n",
			current_cfg->admin_host, current_cfg->admin_port);
		return 1;
	}
	{
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		getsockname(evhttp_bound_socket_get_fd(admin_sock), (struct sockaddr *)&ss, &sl);
		admin_port =
		    ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						  : ((struct sockaddr_in6 *)&ss)->sin6_port);
	}

	for (size_t t = 0; t < nworkers; t++) {
		workers[t] = gw_worker_new((int)t, current_cfg, fds[t], current_cfg->nlisteners);
		if (!workers[t]) {
			fprintf(stderr, "b4-gateway: cannot start worker %zu\n", t);
			return 1;
		}
	}
	gw_workers_link(workers, nworkers);
	for (size_t t = 0; t < nworkers; t++)
		if (gw_worker_start(workers[t]) != 0) {
			fprintf(stderr, "b4-gateway: cannot start thread %zu\n", t);
			return 1;
		}

	sig_hup = evsignal_new(main_base, SIGHUP, signal_cb, NULL);
	sig_term = evsignal_new(main_base, SIGTERM, signal_cb, NULL);
	sig_int = evsignal_new(main_base, SIGINT, signal_cb, NULL);
	event_add(sig_hup, NULL);
	event_add(sig_term, NULL);
	event_add(sig_int, NULL);

	if (port_file && *port_file &&
	    write_port_file(port_file, ports, current_cfg, admin_port) != 0) {
		fprintf(stderr, "b4-gateway: B4_PORT_FILE: cannot write \"%s\"\n", port_file);
		return 1;
	}
	b4_log_info("listening", B4_LI("port", ports[0]), B4_LI("admin_port", admin_port),
		    B4_LI("threads", (long long)nworkers), B4_LS("config", current_cfg->source),
		    B4_LS("version", b4_version));

	event_base_dispatch(main_base);

	/* drained, or the deadline passed: stop whatever is left */
	for (size_t t = 0; t < nworkers; t++)
		gw_worker_stop(workers[t]);
	for (size_t t = 0; t < nworkers; t++)
		gw_worker_join(workers[t]);
	for (size_t t = 0; t < nworkers; t++)
		gw_worker_free(workers[t]);
	gw_dns_stop();
	b4_log_info("stopped");
	event_free(sig_hup);
	event_free(sig_term);
	event_free(sig_int);
	if (drain_timer)
		event_free(drain_timer);
	evhttp_free(admin);
	event_base_free(main_base);
	gw_config_unref(current_cfg);
	return 0;
}
