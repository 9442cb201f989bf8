/* http_server.c - libevent loop threads, a bounded pool of worker threads,
 * health endpoints and graceful drain; see b4/http.h. */
#include "b4/http.h"
#include "b4/db.h"
#include "b4/log.h"
#include "b4/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <malloc.h>
#include <mysql.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct server;

struct loop {
	struct server *srv;
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct event *done_ev; /* activated by workers when answers are ready */
	struct event *stop_accept_ev;
	pthread_mutex_t done_lock;
	struct job *done_head, *done_tail;
	pthread_t thread;
};

struct job {
	struct job *next;
	struct loop *loop;
	struct evhttp_request *evreq;
	struct evhttp_connection *evcon;
	atomic_bool conn_closed;
	struct timespec started;
	const char *route_label;
	struct b4_req req;
};

struct server {
	const struct b4_server_config *cfg;
	struct loop *loops;
	int nloops;
	pthread_t *workers;
	int nworkers;
	pthread_mutex_t queue_lock;
	pthread_cond_t queue_cond;
	struct job *queue_head, *queue_tail;
	int queue_len;
	bool stop_workers;
	atomic_int in_flight;
	atomic_int busy_workers;
	atomic_int db_connected;
	atomic_bool draining;
	atomic_bool db_ready;
	pthread_t readiness_thread;
	pthread_mutex_t readiness_lock;
	pthread_cond_t readiness_cond;
	bool readiness_stop;

	struct b4_metric *requests_total;
	struct b4_metric *request_seconds;
	struct b4_metric *rejected_total;
};

static const char *const method_names[] = {"GET",     "POST",  "HEAD",	  "PUT",  "DELETE",
					   "OPTIONS", "TRACE", "CONNECT", "PATCH"};

static const char *method_of(struct evhttp_request *evreq)
{
	switch (evhttp_request_get_command(evreq)) {
	case EVHTTP_REQ_GET:
		return method_names[0];
	case EVHTTP_REQ_POST:
		return method_names[1];
	case EVHTTP_REQ_HEAD:
		return method_names[2];
	case EVHTTP_REQ_PUT:
		return method_names[3];
	case EVHTTP_REQ_DELETE:
		return method_names[4];
	case EVHTTP_REQ_OPTIONS:
		return method_names[5];
	case EVHTTP_REQ_TRACE:
		return method_names[6];
	case EVHTTP_REQ_CONNECT:
		return method_names[7];
	case EVHTTP_REQ_PATCH:
		return method_names[8];
	}
	return "OTHER";
}

const char *b4_http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 206:
		return "Partial Content";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 402:
		return "Payment Required";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 416:
		return "Range Not Satisfiable";
	case 422:
		return "Unprocessable Content";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	}
	return "Unknown";
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void record(struct server *srv, const char *method, const char *route, int status,
		   double seconds)
{
	char code[8];
	const char *counter_labels[] = {method, route, code};
	const char *hist_labels[] = {method, route};

	snprintf(code, sizeof(code), "%d", status);
	b4_metrics_add(srv->requests_total, counter_labels, 1);
	b4_metrics_observe(srv->request_seconds, hist_labels, seconds);
}

/* Answers directly from the loop thread (health, metrics, overload). */
static void reply_now(struct evhttp_request *evreq, int status, const char *content_type,
		      const char *body, size_t len, const char *request_id, bool close)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(evreq);
	struct evbuffer *buf = evbuffer_new();

	evhttp_add_header(out, "Content-Type", content_type);
	evhttp_add_header(out, "X-Request-Id", request_id);
	if (close)
		evhttp_add_header(out, "Connection", "close");
	if (status == 503)
		evhttp_add_header(out, "Retry-After", "1");
	if (buf)
		evbuffer_add(buf, body, len);
	evhttp_send_reply(evreq, status, b4_http_reason(status), buf);
	if (buf)
		evbuffer_free(buf);
}

static void reply_error_now(struct evhttp_request *evreq, int status, const char *type,
			    const char *code, const char *message, const char *request_id,
			    bool close)
{
	struct b4_error err;
	size_t len = 0;
	char *body;

	b4_error_set(&err, status, type, code, NULL, "%s", message);
	body = b4_error_body(&err, request_id, &len);
	reply_now(evreq, status, "application/json", body ? body : "", body ? len : 0, request_id,
		  close);
	free(body);
}

static void job_free(struct job *job)
{
	if (!job)
		return;
	cJSON_Delete(job->req.json);
	b4_buf_cleanup(&job->req.resp_body);
	b4_arena_free(job->req.arena);
	free(job);
}

/* The connection went away while its request was with a worker: libevent
 * detaches the request (it stays ours to complete) and frees the
 * connection, so forget the connection now. */
static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
	struct job *job = arg;

	(void)evcon;
	atomic_store(&job->conn_closed, true);
	job->evcon = NULL;
}

static void write_answer(struct job *job)
{
	struct server *srv = job->loop->srv;
	struct b4_req *req = &job->req;
	struct evkeyvalq *out;
	struct evbuffer *buf;
	double seconds = seconds_since(&job->started);
	bool closed = atomic_load(&job->conn_closed);

	if (job->evcon)
		evhttp_connection_set_closecb(job->evcon, NULL, NULL);
	if (req->status == 0) {
		b4_log_error("handler returned without an answer",
			     B4_LS("route", job->route_label));
		b4_req_errorf(req, 500, "api_error", "internal_error", NULL, "Internal error.");
	}
	out = evhttp_request_get_output_headers(job->evreq);
	evhttp_add_header(out, "X-Request-Id", req->request_id);
	if (req->resp_body.len || req->content_type)
		evhttp_add_header(out, "Content-Type",
				  req->content_type ? req->content_type : "application/json");
	for (size_t i = 0; i < req->nresp_headers; i++)
		evhttp_add_header(out, req->resp_headers[i].name, req->resp_headers[i].value);
	if (req->close_connection || atomic_load(&srv->draining))
		evhttp_add_header(out, "Connection", "close");
	buf = evbuffer_new();
	if (buf && req->resp_body.len)
		evbuffer_add(buf, req->resp_body.data, req->resp_body.len);
	/* also when the client left: a detached request is freed by this call */
	evhttp_send_reply(job->evreq, req->status, b4_http_reason(req->status), buf);
	if (buf)
		evbuffer_free(buf);

	record(srv, req->method, job->route_label, req->status, seconds);
	b4_log_set_request_id(req->request_id);
	b4_log_info("request", B4_LS("method", req->method), B4_LS("path", req->path),
		    B4_LS("route", job->route_label), B4_LI("status", req->status),
		    B4_LD("duration_ms", seconds * 1000.0),
		    B4_LI("bytes", (long long)req->resp_body.len),
		    B4_LS("client_ip", req->client_ip), B4_LI("client_gone", closed));
	b4_log_set_request_id(NULL);
	job_free(job);
	atomic_fetch_sub(&srv->in_flight, 1);
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct loop *loop = arg;
	struct job *job, *next;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&loop->done_lock);
	job = loop->done_head;
	loop->done_head = loop->done_tail = NULL;
	pthread_mutex_unlock(&loop->done_lock);
	for (; job; job = next) {
		next = job->next;
		write_answer(job);
	}
}

static void on_stop_accept(evutil_socket_t fd, short what, void *arg)
{
	struct loop *loop = arg;

	(void)fd;
	(void)what;
	if (loop->bound) {
		evhttp_del_accept_socket(loop->http, loop->bound);
		loop->bound = NULL;
	}
}

/* Copies what a handler needs out of libevent's request into the job. */
static int copy_request(const struct server *srv, struct job *job, struct evhttp_request *evreq,
			const char *method)
{
	struct b4_req *req = &job->req;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(evreq);
	struct evkeyvalq *in = evhttp_request_get_input_headers(evreq);
	struct evbuffer *body = evhttp_request_get_input_buffer(evreq);
	struct evhttp_connection *evcon = evhttp_request_get_connection(evreq);
	struct evkeyval *kv;
	struct b4_header *headers;
	size_t n = 0, len;
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	char *peer = NULL;
	ev_uint16_t port = 0;

	req->arena = b4_arena_new(8192);
	if (!req->arena)
		return -1;
	req->method = method;
	req->path = b4_arena_strdup(req->arena, path && *path ? path : "/");
	req->query = query ? b4_arena_strdup(req->arena, query) : NULL;
	for (kv = in->tqh_first; kv; kv = kv->next.tqe_next)
		n++;
	headers = b4_arena_calloc(req->arena, n ? n : 1, sizeof(*headers));
	if (!headers || !req->path)
		return -1;
	n = 0;
	for (kv = in->tqh_first; kv; kv = kv->next.tqe_next) {
		headers[n].name = b4_arena_strdup(req->arena, kv->key);
		headers[n].value = b4_arena_strdup(req->arena, kv->value);
		if (!headers[n].name || !headers[n].value)
			return -1;
		n++;
	}
	req->headers = headers;
	req->nheaders = n;
	len = evbuffer_get_length(body);
	req->body = b4_arena_alloc(req->arena, len + 1);
	if (!req->body)
		return -1;
	evbuffer_copyout(body, (void *)req->body, len);
	((char *)req->body)[len] = '\0';
	req->body_len = len;
	if (evcon) {
		evhttp_connection_get_peer(evcon, &peer, &port);
		b4_client_addr_resolve(srv->cfg->trusted_proxies, peer,
				       evhttp_find_header(in, "X-Forwarded-For"), req->client_ip,
				       sizeof(req->client_ip));
	}
	b4_buf_init(&req->resp_body);
	return 0;
}

static void on_request(struct evhttp_request *evreq, void *arg)
{
	struct loop *loop = arg;
	struct server *srv = loop->srv;
	const char *method = method_of(evreq);
	const char *incoming =
	    evhttp_find_header(evhttp_request_get_input_headers(evreq), "X-Request-Id");
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(evreq);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	bool draining = atomic_load(&srv->draining);
	char request_id[129];
	struct timespec started;
	struct job *job;

	clock_gettime(CLOCK_MONOTONIC, &started);
	if (b4_request_id_is_valid(incoming))
		snprintf(request_id, sizeof(request_id), "%s", incoming);
	else
		b4_request_id_generate(request_id);
	if (!path || !*path)
		path = "/";

	/* health and metrics never wait behind handlers */
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
		if (strcmp(path, "/healthz") == 0) {
			static const char ok[] = "{\"status\":\"ok\"}";
			reply_now(evreq, 200, "application/json", ok, sizeof(ok) - 1, request_id,
				  draining);
			record(srv, method, "/healthz", 200, seconds_since(&started));
			return;
		}
		if (strcmp(path, "/readyz") == 0) {
			bool db_ok = atomic_load(&srv->db_ready);
			int status = (!draining && db_ok) ? 200 : 503;
			const char *body = status == 200 ? "{\"status\":\"ready\"}"
					   : draining	 ? "{\"status\":\"draining\"}"
							 : "{\"status\":\"database_unavailable\"}";
			reply_now(evreq, status, "application/json", body, strlen(body), request_id,
				  draining);
			record(srv, method, "/readyz", status, seconds_since(&started));
			return;
		}
		if (strcmp(path, "/metrics") == 0) {
			size_t len = 0;
			char *text = b4_metrics_render(&len);
			record(srv, method, "/metrics", text ? 200 : 500, seconds_since(&started));
			if (text)
				reply_now(evreq, 200, "text/plain; version=0.0.4; charset=utf-8",
					  text, len, request_id, draining);
			else
				reply_error_now(evreq, 500, "api_error", "internal_error",
						"Out of memory.", request_id, draining);
			free(text);
			return;
		}
	}

	job = calloc(1, sizeof(*job));
	if (!job || copy_request(srv, job, evreq, method) < 0) {
		job_free(job);
		reply_error_now(evreq, 503, "api_error", "overloaded", "Out of memory.", request_id,
				true);
		return;
	}
	job->loop = loop;
	job->evreq = evreq;
	job->evcon = evhttp_request_get_connection(evreq);
	job->started = started;
	job->route_label = "unmatched";
	snprintf(job->req.request_id, sizeof(job->req.request_id), "%s", request_id);

	pthread_mutex_lock(&srv->queue_lock);
	if (srv->queue_len >= srv->cfg->queue_max) {
		pthread_mutex_unlock(&srv->queue_lock);
		b4_metrics_add(srv->rejected_total, (const char *[]){"queue_full"}, 1);
		job_free(job);
		reply_error_now(evreq, 503, "api_error", "overloaded",
				"The service is busy; retry shortly.", request_id, false);
		record(srv, method, "unmatched", 503, seconds_since(&started));
		return;
	}
	if (srv->queue_tail)
		srv->queue_tail->next = job;
	else
		srv->queue_head = job;
	srv->queue_tail = job;
	srv->queue_len++;
	atomic_fetch_add(&srv->in_flight, 1);
	if (job->evcon)
		evhttp_connection_set_closecb(job->evcon, on_conn_close, job);
	pthread_cond_signal(&srv->queue_cond);
	pthread_mutex_unlock(&srv->queue_lock);
}

/* Runs on a worker: route, authenticate, call the handler. */
static void handle(struct server *srv, struct job *job)
{
	const struct b4_server_config *cfg = srv->cfg;
	struct b4_req *req = &job->req;
	char allow[128];
	size_t index = 0;

	switch (b4_router_match(cfg->routes, cfg->nroutes, req->method, req->path, &index,
				&req->params, allow, sizeof(allow))) {
	case B4_ROUTE_NOT_FOUND:
		b4_req_errorf(req, 404, "not_found", "route_not_found", NULL,
			      "No route for %s %.200s.", req->method, req->path);
		return;
	case B4_ROUTE_METHOD_NOT_ALLOWED:
		b4_req_set_header(req, "Allow", allow);
		b4_req_errorf(req, 405, "invalid_request_error", "method_not_allowed", NULL,
			      "%s is not allowed here; allowed: %s.", req->method, allow);
		job->route_label = "unmatched";
		return;
	case B4_ROUTE_FOUND:
		break;
	}
	req->route = &cfg->routes[index];
	job->route_label = req->route->pattern;
	if (req->route->role != B4_ROLE_PUBLIC) {
		if (!cfg->authenticate) {
			b4_req_errorf(req, 401, "authentication_error", "unauthenticated", NULL,
				      "Authentication is required.");
			return;
		}
		if (cfg->authenticate(req, req->route->role) < 0)
			return;
	}
	req->route->handler(req);
}

static void *worker_main(void *arg)
{
	struct server *srv = arg;
	const struct b4_server_config *cfg = srv->cfg;
	struct b4_db *db = NULL;
	bool counted = false;

	mysql_thread_init();
	if (cfg->db) {
		db = b4_db_new(cfg->db);
		if (db && b4_db_ping(db)) {
			counted = true;
			atomic_fetch_add(&srv->db_connected, 1);
		}
	}
	if (cfg->worker_start)
		cfg->worker_start(cfg->app);
	for (;;) {
		struct job *job;
		struct loop *loop;

		pthread_mutex_lock(&srv->queue_lock);
		while (!srv->queue_head && !srv->stop_workers)
			pthread_cond_wait(&srv->queue_cond, &srv->queue_lock);
		if (!srv->queue_head) {
			pthread_mutex_unlock(&srv->queue_lock);
			break;
		}
		job = srv->queue_head;
		srv->queue_head = job->next;
		if (!srv->queue_head)
			srv->queue_tail = NULL;
		srv->queue_len--;
		pthread_mutex_unlock(&srv->queue_lock);
		job->next = NULL;

		atomic_fetch_add(&srv->busy_workers, 1);
		job->req.db = db;
		job->req.app = cfg->app;
		b4_log_set_request_id(job->req.request_id);
		if (atomic_load(&job->conn_closed))
			b4_req_errorf(&job->req, 499, "api_error", "client_closed", NULL,
				      "The client closed the connection.");
		else
			handle(srv, job);
		b4_log_set_request_id(NULL);
		atomic_fetch_sub(&srv->busy_workers, 1);
		if (db) {
			bool now = b4_db_is_connected(db);
			if (now != counted) {
				atomic_fetch_add(&srv->db_connected, now ? 1 : -1);
				counted = now;
			}
		}

		loop = job->loop;
		pthread_mutex_lock(&loop->done_lock);
		if (loop->done_tail)
			loop->done_tail->next = job;
		else
			loop->done_head = job;
		loop->done_tail = job;
		pthread_mutex_unlock(&loop->done_lock);
		event_active(loop->done_ev, EV_READ, 0);
	}
	if (cfg->worker_stop)
		cfg->worker_stop(cfg->app);
	if (counted)
		atomic_fetch_sub(&srv->db_connected, 1);
	b4_db_close(db);
	mysql_thread_end();
	return NULL;
}

/* Keeps db_ready current without ever blocking a loop thread. */
static void *readiness_main(void *arg)
{
	struct server *srv = arg;
	struct b4_db_config cfg = *srv->cfg->db;
	struct b4_db *db;

	mysql_thread_init();
	cfg.connect_timeout = 2;
	cfg.read_timeout = 2;
	cfg.write_timeout = 2;
	db = b4_db_new(&cfg);
	pthread_mutex_lock(&srv->readiness_lock);
	while (!srv->readiness_stop) {
		struct timespec until;
		pthread_mutex_unlock(&srv->readiness_lock);
		bool ok = db && b4_db_ping(db);
		if (ok != atomic_load(&srv->db_ready))
			b4_log_info(ok ? "database reachable" : "database unreachable");
		atomic_store(&srv->db_ready, ok);
		pthread_mutex_lock(&srv->readiness_lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 500 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (!srv->readiness_stop)
			pthread_cond_timedwait(&srv->readiness_cond, &srv->readiness_lock, &until);
	}
	pthread_mutex_unlock(&srv->readiness_lock);
	b4_db_close(db);
	mysql_thread_end();
	return NULL;
}

static void stop_readiness(struct server *srv)
{
	if (!srv->cfg->db)
		return;
	pthread_mutex_lock(&srv->readiness_lock);
	srv->readiness_stop = true;
	pthread_cond_signal(&srv->readiness_cond);
	pthread_mutex_unlock(&srv->readiness_lock);
	pthread_join(srv->readiness_thread, NULL);
}

static void *loop_main(void *arg)
{
	struct loop *loop = arg;

	event_base_dispatch(loop->base);
	return NULL;
}

static int open_listener(const char *address, int port, bool reuseport)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, address, &sa.sin_addr) != 1) {
		fprintf(stderr, "bind address \"%s\" is not an IPv4 address\n", address);
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int bound_port(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return -1;
	return ntohs(sa.sin_port);
}

static int write_port_file(const char *path, int port)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "http=%d\n", port);
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

static double gauge_in_flight(void *arg)
{
	return atomic_load(&((struct server *)arg)->in_flight);
}

static double gauge_queue(void *arg)
{
	struct server *srv = arg;
	int n;

	pthread_mutex_lock(&srv->queue_lock);
	n = srv->queue_len;
	pthread_mutex_unlock(&srv->queue_lock);
	return n;
}

static double gauge_busy(void *arg)
{
	return atomic_load(&((struct server *)arg)->busy_workers);
}

static double gauge_workers(void *arg)
{
	return ((struct server *)arg)->nworkers;
}

static double gauge_db_open(void *arg)
{
	return atomic_load(&((struct server *)arg)->db_connected);
}

static double gauge_db_ready(void *arg)
{
	return atomic_load(&((struct server *)arg)->db_ready) ? 1 : 0;
}

static int setup_loop(struct server *srv, struct loop *loop, int fd)
{
	const struct b4_server_config *cfg = srv->cfg;
	struct timeval idle = {
	    (time_t)cfg->idle_timeout,
	    (suseconds_t)((cfg->idle_timeout - (double)(time_t)cfg->idle_timeout) * 1e6)};

	loop->srv = srv;
	pthread_mutex_init(&loop->done_lock, NULL);
	loop->base = event_base_new();
	if (!loop->base)
		return -1;
	loop->http = evhttp_new(loop->base);
	loop->done_ev = event_new(loop->base, -1, EV_PERSIST | EV_READ, on_done, loop);
	loop->stop_accept_ev = event_new(loop->base, -1, EV_READ, on_stop_accept, loop);
	if (!loop->http || !loop->done_ev || !loop->stop_accept_ev)
		return -1;
	/* a persistent event with no fd never fires by itself; keep it added so
	 * the loop stays alive and event_active works from other threads */
	event_add(loop->done_ev, NULL);
	evhttp_set_max_headers_size(loop->http, (ev_ssize_t)cfg->max_header_bytes);
	evhttp_set_max_body_size(loop->http, (ev_ssize_t)cfg->max_body_bytes);
	evhttp_set_timeout_tv(loop->http, &idle);
	evhttp_set_allowed_methods(loop->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						   EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						   EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_flags(loop->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_default_content_type(loop->http, "application/json");
	evhttp_set_gencb(loop->http, on_request, loop);
	loop->bound = evhttp_accept_socket_with_handle(loop->http, fd);
	return loop->bound ? 0 : -1;
}

int b4_server_run(const struct b4_server_config *cfg)
{
	static const char *const counter_labels[] = {"method", "route", "status_code", NULL};
	static const char *const hist_labels[] = {"method", "route", NULL};
	static const char *const reject_labels[] = {"reason", NULL};
	struct server srv;
	sigset_t signals;
	int sig = 0, port, rc = -1;
	struct timespec deadline_start;

	memset(&srv, 0, sizeof(srv));
	srv.cfg = cfg;
	srv.nloops = cfg->loop_threads > 0 ? cfg->loop_threads : 1;
	srv.nworkers = cfg->worker_threads > 0 ? cfg->worker_threads : 1;
	pthread_mutex_init(&srv.queue_lock, NULL);
	pthread_cond_init(&srv.queue_cond, NULL);
	pthread_mutex_init(&srv.readiness_lock, NULL);
	pthread_cond_init(&srv.readiness_cond, NULL);
	atomic_store(&srv.db_ready, cfg->db == NULL);

	srv.requests_total =
	    b4_metrics_counter("http_requests_total", "HTTP requests answered.", counter_labels);
	srv.request_seconds =
	    b4_metrics_histogram("http_request_duration_seconds",
				 "Time from request read to answer written.", hist_labels, NULL, 0);
	srv.rejected_total =
	    b4_metrics_counter("http_requests_rejected_total",
			       "Requests refused before a handler ran.", reject_labels);
	b4_metrics_gauge_fn("in_flight_requests", "Requests accepted and not yet answered.",
			    gauge_in_flight, &srv);
	b4_metrics_gauge_fn("http_queue_depth", "Requests waiting for a worker thread.",
			    gauge_queue, &srv);
	b4_metrics_gauge_fn("http_workers_busy", "Worker threads running a handler.", gauge_busy,
			    &srv);
	b4_metrics_gauge_fn("http_worker_threads", "Worker threads configured.", gauge_workers,
			    &srv);
	if (cfg->db) {
		b4_metrics_gauge_fn("db_pool_connections_open",
				    "Worker database connections currently open.", gauge_db_open,
				    &srv);
		b4_metrics_gauge_fn("db_pool_size", "Database connections the pool may hold.",
				    gauge_workers, &srv);
		b4_metrics_gauge_fn("db_up",
				    "1 when the database answered the last readiness ping.",
				    gauge_db_ready, &srv);
	}

	if (evthread_use_pthreads() < 0) {
		fprintf(stderr, "%s: libevent has no pthread support\n", cfg->service);
		return -1;
	}
	/* signals go to the main thread only, which waits for them below */
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	srv.loops = calloc((size_t)srv.nloops, sizeof(struct loop));
	srv.workers = calloc((size_t)srv.nworkers, sizeof(pthread_t));
	if (!srv.loops || !srv.workers)
		goto out_free;
	port = cfg->port;
	for (int i = 0; i < srv.nloops; i++) {
		int fd = open_listener(cfg->bind_address, port, srv.nloops > 1);
		if (fd < 0) {
			fprintf(stderr, "%s: cannot listen on %s:%d: %s\n", cfg->service,
				cfg->bind_address, port, strerror(errno));
			goto out_free;
		}
		if (i == 0)
			port = bound_port(fd);
		if (setup_loop(&srv, &srv.loops[i], fd) < 0) {
			fprintf(stderr, "%s: cannot set up the event loop\n", cfg->service);
			close(fd);
			goto out_free;
		}
	}
	if (cfg->port_file && write_port_file(cfg->port_file, port) < 0) {
		fprintf(stderr, "%s: cannot write the port file %s: %s\n", cfg->service,
			cfg->port_file, strerror(errno));
		goto out_free;
	}
	if (cfg->db)
		pthread_create(&srv.readiness_thread, NULL, readiness_main, &srv);
	for (int i = 0; i < srv.nworkers; i++)
		pthread_create(&srv.workers[i], NULL, worker_main, &srv);
	for (int i = 0; i < srv.nloops; i++)
		pthread_create(&srv.loops[i].thread, NULL, loop_main, &srv.loops[i]);
	b4_log_info("listening", B4_LS("address", cfg->bind_address), B4_LI("port", port),
		    B4_LI("loop_threads", srv.nloops), B4_LI("worker_threads", srv.nworkers));

	while (sigwait(&signals, &sig) != 0 || (sig != SIGTERM && sig != SIGINT))
		;
	b4_log_info("draining", B4_LS("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"),
		    B4_LD("drain_seconds", cfg->drain_seconds));
	atomic_store(&srv.draining, true);
	for (int i = 0; i < srv.nloops; i++)
		event_active(srv.loops[i].stop_accept_ev, EV_READ, 0);
	clock_gettime(CLOCK_MONOTONIC, &deadline_start);
	while (atomic_load(&srv.in_flight) > 0 &&
	       seconds_since(&deadline_start) < cfg->drain_seconds) {
		struct timespec pause = {0, 20 * 1000000L};
		nanosleep(&pause, NULL);
	}
	if (atomic_load(&srv.in_flight) > 0)
		b4_log_warn("drain time over; exiting with requests in flight",
			    B4_LI("in_flight", atomic_load(&srv.in_flight)));
	else
		b4_log_info("drained");

	for (int i = 0; i < srv.nloops; i++)
		event_base_loopbreak(srv.loops[i].base);
	for (int i = 0; i < srv.nloops; i++)
		pthread_join(srv.loops[i].thread, NULL);
	stop_readiness(&srv);
	if (atomic_load(&srv.in_flight) > 0)
		return 0; /* workers still hold requests; the process is about to exit */
	pthread_mutex_lock(&srv.queue_lock);
	srv.stop_workers = true;
	pthread_cond_broadcast(&srv.queue_cond);
	pthread_mutex_unlock(&srv.queue_lock);
	for (int i = 0; i < srv.nworkers; i++)
		pthread_join(srv.workers[i], NULL);
	rc = 0;
out_free:
	for (int i = 0; srv.loops && i < srv.nloops; i++) {
		if (srv.loops[i].http)
			evhttp_free(srv.loops[i].http);
		if (srv.loops[i].done_ev)
			event_free(srv.loops[i].done_ev);
		if (srv.loops[i].stop_accept_ev)
			event_free(srv.loops[i].stop_accept_ev);
		if (srv.loops[i].base)
			event_base_free(srv.loops[i].base);
	}
	free(srv.loops);
	free(srv.workers);
	malloc_trim(0);
	return rc;
}
