/* Test support for the b4-gateway integration tests: a small HTTP/1.1
 * backend running on threads inside the test process, a raw socket client,
 * and starting/stopping the real b4-gateway binary with a port file. */
#ifndef GW_SUPPORT_H
#define GW_SUPPORT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "harness.h"

#define GW_BACKEND_MAX_CONNS 512

/* A backend instance.  Paths it understands (after the gateway's strip):
 *   /healthz        200, or 503 while health_fail is set (not counted)
 *   /slow/<ms>      answers after <ms> milliseconds
 *   /chunked        answers with a chunked body "hello world"
 *   /big/<n>        answers n bytes (at most 1 MiB) of gw_pattern_byte
 *   /close          answers without Content-Length, then closes
 *   anything else   200 "<name> <method> <path> <decoded body length>"
 * With drop_all set it reads each request and closes without answering. */
struct gw_backend {
	char name[32];
	int listen_fd;
	int port;
	pthread_t accept_thread;
	atomic_int connections;	       /* accepted connections */
	atomic_int served_connections; /* connections that carried a non-health request */
	atomic_int requests;	       /* non-health requests read */
	atomic_int health_checks;
	atomic_int health_fail;
	atomic_int drop_all;
	atomic_int stopping;
	pthread_mutex_t mu;
	int fds[GW_BACKEND_MAX_CONNS];
	pthread_t threads[GW_BACKEND_MAX_CONNS];
	int nconns;
	char last_head[16384]; /* raw head of the last non-health request */
	char last_body[65536]; /* its decoded body */
	size_t last_body_len;
	char last_raw_body[65536]; /* its body bytes as received (chunk framing kept) */
	size_t last_raw_body_len;
};

/* Byte i of the /big/<n> bodies: a pattern that shows a lost, doubled or
 * reordered piece of a long body. */
static inline char gw_pattern_byte(size_t i)
{
	return (char)('a' + (i * 7 + i / 26) % 26);
}

/* Starts a backend on 127.0.0.1, an ephemeral port.  NULL on failure. */
struct gw_backend *gw_backend_start(const char *name);
/* The same on a given IPv4 address (any of 127.0.0.0/8 works on Linux) and
 * port (0: ephemeral), so several backends can share one port as the
 * addresses of one DNS name. */
struct gw_backend *gw_backend_start_at(const char *name, const char *ipv4, int port);
/* Stops it: closes the listener and every connection (like a killed
 * process), joins its threads.  The struct stays readable until freed. */
void gw_backend_stop(struct gw_backend *b);
void gw_backend_free(struct gw_backend *b);
/* Copies the last request head (under the lock). */
void gw_backend_last_head(struct gw_backend *b, char *out, size_t cap);

struct gw_gateway {
	struct h_proc proc; /* the running binary (harness.h) */
	pid_t pid;	    /* proc.pid, for signals */
	int http_port;
	int https_port;
	int admin_port;
	char config_path[512];
	const char *log_path; /* proc.log_path */
};

/* Writes config_json (may be NULL: no file, defaults) to a file under
 * $B4_TEST_VAR, starts $B4_TEST_BUILD/bin/b4-gateway with port 0 and a port
 * file, waits for the ports (10 s max).  extra_env: NULL-terminated
 * "NAME=value" strings or NULL.  Returns 0 or -1. */
int gw_gateway_start(struct gw_gateway *gw, const char *config_json, const char *const *extra_env);
/* Rewrites the config file (for SIGHUP reload tests). */
int gw_gateway_write_config(struct gw_gateway *gw, const char *config_json);
/* SIGTERM, waits up to timeout_ms, then SIGKILL.  Returns the exit status
 * (0..255), 128+signal if killed, -1 on error. */
int gw_gateway_stop(struct gw_gateway *gw, int timeout_ms);

/* ---- raw client ---- */

struct gw_response {
	int status;
	char head[16384];
	char body[65536];
	size_t body_len;
	bool closed; /* the server closed the connection after it */
};

/* Connects to 127.0.0.1:port with a 5 s receive timeout; -1 on failure. */
int gw_connect(int port);
int gw_send_all(int fd, const void *buf, size_t len);
int gw_send_str(int fd, const char *s);
/* Reads one response (Content-Length, chunked or until close) within
 * timeout_ms; 0 on success, -1 on timeout/error/close before a response. */
int gw_read_response(int fd, struct gw_response *r, int timeout_ms);
/* True when the peer closes the connection within timeout_ms (any further
 * bytes are discarded). */
bool gw_wait_closed(int fd, int timeout_ms);
/* Case-insensitive lookup of a header in r->head; copies its value. */
bool gw_header(const struct gw_response *r, const char *name, char *out, size_t cap);
/* True when r has header name with exactly the value want; otherwise
 * prints what it found (for the failing test's output) and returns false. */
bool gw_header_is(const struct gw_response *r, const char *name, const char *want);
/* One request on a fresh connection: "GET path" with Host and the extra
 * header lines (each ending in \r\n, may be NULL). */
int gw_request(int port, const char *method, const char *path, const char *extra_headers,
	       const char *body, struct gw_response *r);

/* GET path on the admin port into out (a malloc'd body); -1 on failure. */
int gw_admin_get(int port, const char *path, struct gw_response *r);
/* Reads one metric sample's value from the admin /metrics; -1 if absent. */
double gw_metric(int admin_port, const char *sample_prefix);

/* Milliseconds from a monotonic clock. */

#endif
