/* http.h - the HTTP service: request context, responses, and the server.
 *
 * Threads: loop thread(s) own every libevent object; they accept, read a
 * whole request, copy it into a struct b4_req and queue it.  A bounded pool
 * of worker threads runs the route's handler as a plain synchronous
 * function, each worker holding its own database connection.  The answer is
 * handed back to the loop (event_active) to be written.  A handler never
 * sees a libevent object and may block on the database or on outbound
 * calls; the loop never does.
 *
 * /healthz, /readyz and /metrics are answered by the loop itself.
 */
#ifndef B4_HTTP_H
#define B4_HTTP_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "b4/arena.h"
#include "b4/auth.h"
#include "b4/buf.h"
#include "b4/json.h"
#include "b4/router.h"

struct b4_db;
struct b4_db_config;

struct b4_header {
	const char *name;
	const char *value;
};

#define B4_REQ_MAX_RESP_HEADERS 16

/* The authenticated caller, when the route needed one. */
struct b4_caller {
	char user_id[37];
	enum b4_role role;
	char email[256];
};

/* One request, owned by the server; valid until the handler returns.
 * Handlers read the request fields and write the response through the
 * b4_req_* functions, never directly. */
struct b4_req {
	struct b4_arena *arena; /* freed after the response is written */
	const char *method;
	const char *path;  /* without the query string */
	const char *query; /* raw, or NULL */
	const struct b4_header *headers;
	size_t nheaders;
	const char *body; /* NUL-terminated copy; body_len excludes the NUL */
	size_t body_len;
	char request_id[129];
	char client_ip[64];

	const struct b4_route *route;
	struct b4_route_params params;
	struct b4_principal caller; /* valid when authenticated */
	bool authenticated;

	struct b4_db *db; /* this worker's connection, or NULL without a DB */
	void *app;	  /* the service's context (b4_server_config.app) */

	/* response */
	int status;
	struct b4_header resp_headers[B4_REQ_MAX_RESP_HEADERS];
	size_t nresp_headers;
	struct b4_buf resp_body;
	const char *content_type;
	bool close_connection;

	cJSON *json; /* parsed body, owned by the request */
};

/* --- reading the request ------------------------------------------------ */

/* Value of a request header (case-insensitive name), or NULL. */
const char *b4_req_header(const struct b4_req *req, const char *name);
/* Route parameter by name, NUL-terminated copy in the arena, or NULL. */
const char *b4_req_param(struct b4_req *req, const char *name);
/* Decoded query parameter, copy in the arena, or NULL if absent. */
const char *b4_req_query(struct b4_req *req, const char *name);
/* Parses ?limit (1..100, default 20) and ?starting_after.  Answers 400
 * and returns -1 on a bad value. */
int b4_req_page(struct b4_req *req, int *limit, const char **starting_after);
/* The body as one JSON object (parsed once, owned by the request).  On
 * failure answers 400 and returns NULL. */
const cJSON *b4_req_json_body(struct b4_req *req);

/* --- answering ----------------------------------------------------------- */

/* Adds a response header; name and value are copied into the arena. */
void b4_req_set_header(struct b4_req *req, const char *name, const char *value);
/* Answers status with the JSON text of root and deletes root. */
void b4_req_send_json(struct b4_req *req, int status, cJSON *root);
/* Answers status with a raw body of content_type (copied). */
void b4_req_send(struct b4_req *req, int status, const char *content_type, const void *body,
		 size_t len);
/* Answers in the API error shape:
 * {"error":{"type","code","message","param"?,"errors"?},"request_id"}.
 * An invalid_request_error with a param also lists it in `errors`
 * ([{param, code, message}]), so forms read one shape. */
void b4_req_send_error(struct b4_req *req, const struct b4_error *err);
/* Answers a failed validation pass: the first failure's status, code,
 * message and param, and every named failure in `errors`. */
void b4_req_send_form(struct b4_req *req, struct b4_form *form);
void b4_req_errorf(struct b4_req *req, int status, const char *type, const char *code,
		   const char *param, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* 503 api_error for a database failure; logs the DB error. */
void b4_req_db_error(struct b4_req *req);
/* 404 not_found for the named resource. */
void b4_req_not_found(struct b4_req *req, const char *what);

/* True when text is a usable request id: 1..128 of [A-Za-z0-9._-]. */
bool b4_request_id_is_valid(const char *text);
/* Writes a new random request id (32 hex chars) into out[33]. */
void b4_request_id_generate(char out[33]);

/* The reason phrase of an HTTP status ("Not Found"), "Unknown" if unlisted. */
const char *b4_http_reason(int status);

/* Builds the error body (used by the server and the gateway alike);
 * returns a malloc'd string. */
char *b4_error_body(const struct b4_error *err, const char *request_id, size_t *len);
/* The same for n >= 1 failures: errs[0] is the answer, the rest join
 * `errors` (invalid_request_error only). */
char *b4_error_body_list(const struct b4_error *errs, size_t n, const char *request_id,
			 size_t *len);

/* --- the server ----------------------------------------------------------- */

/* Decides whether the caller may use a route of the given role: on success
 * fills req->caller, sets req->authenticated and returns 0; otherwise it
 * answers (401/403) and returns -1. */
typedef int b4_authenticate_fn(struct b4_req *req, enum b4_role role);

struct b4_server_config {
	const char *service; /* "b4-api": metrics and logs */
	const char *bind_address;
	int port;	       /* 0: ephemeral */
	const char *port_file; /* write "http=PORT" here after bind, or NULL */
	int loop_threads;      /* >= 1 */
	int worker_threads;    /* >= 1 */
	int queue_max;	       /* queued requests beyond the workers -> 503 */
	size_t max_header_bytes;
	size_t max_body_bytes;
	double idle_timeout;  /* seconds a connection may sit idle or half-read */
	double drain_seconds; /* SIGTERM: time allowed for in-flight requests */
	const struct b4_route *routes;
	size_t nroutes;
	b4_authenticate_fn *authenticate; /* NULL: only public routes work */
	const struct b4_db_config *db;	  /* NULL: no database */
	void *app;
	/* Called once per worker thread after its DB connection (if any) opened,
	 * and at its end; both may be NULL. */
	void (*worker_start)(void *app);
	void (*worker_stop)(void *app);
};

/* Runs the service until SIGTERM or SIGINT, then drains: /readyz answers
 * 503, listeners close, in-flight requests finish (up to drain_seconds),
 * and the function returns 0.  Returns -1 if it cannot start (bind). */
int b4_server_run(const struct b4_server_config *cfg);

#endif
