/* harness.h - integration test support: real binaries, real MariaDB, HTTP.
 *
 * tests/run.sh starts one private MariaDB and exports B4_TEST_DB_PORT,
 * B4_TEST_DB_SOCKET, B4_TEST_VAR (scratch dir), B4_TEST_BUILD (build dir)
 * and B4_TEST_TOP (repo).  Each test binary makes its own database with
 * h_db_create, starts the binaries it needs with h_start (port 0, the port
 * read back from a port file) and talks HTTP with h_http.  Process logs go
 * to $B4_TEST_VAR/logs/, where h_logs_contain can search them.
 */
#ifndef B4_TEST_HARNESS_H
#define B4_TEST_HARNESS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Secrets every started binary gets (tests may sign tokens with them). */
#define H_JWT_SECRET	  "test-jwt-secret-0123456789abcdef0123456789abcdef"
#define H_JWT_ISSUER	  "b4you"
#define H_JWT_AUDIENCE	  "b4you-api"
#define H_FIELD_KEYS	  "t1:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define H_BLIND_INDEX_KEY "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

const char *h_build(void); /* absolute build dir */
const char *h_top(void);   /* absolute repo dir */
const char *h_var(void);   /* scratch dir of this run */
int h_db_port(void);

/* Creates database `<prefix>_<pid>` with every migration applied (and the
 * demo seed when seed is true).  Returns its name (static storage) or NULL. */
const char *h_db_create(const char *prefix, bool seed);
/* Runs b4-migrate --rebuild-aggregates on db: for fixtures that insert
 * orders with SQL instead of through the domain layer.  0 or -1. */
int h_db_rebuild_aggregates(const char *db);
/* Runs b4-migrate --compact-aggregates --compact-before=before (YYYY-MM-DD)
 * on db.  0 or -1. */
int h_db_compact_aggregates(const char *db, const char *before);
/* Runs SQL as root in database db (NULL for none); 0 or -1. */
int h_sql(const char *db, const char *sql);
/* First column of the first row as a malloc'd string, NULL when no row. */
char *h_sql_value(const char *db, const char *sql);
/* Like h_sql_value but returns the integer (or -1 when no row). */
long long h_sql_int(const char *db, const char *sql);

/* h_sql_int with printf formatting of the SQL (tests build it from ids they
 * made themselves, never from service output they did not check). */
long long h_sql_intf(const char *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* h_sql with a printf format. */
int h_sqlf(const char *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "Authorization: Bearer <jwt>" for user_id with role ("member"/"admin"),
 * signed with H_JWT_SECRET for 1 h; a static buffer, one of 8 rotating. */
const char *h_bearer(const char *user_id, const char *role);

/* A CPF (11 digits, valid check digits) made from seed. */
void h_make_cpf(unsigned seed, char out[12]);

struct h_proc {
	pid_t pid;
	char name[64];
	char log_path[2048];
	char port_file[2048];
	int port;
	int admin_port;
	int https_port; /* the gateway's TLS listener, when it has one */
};

/* Starts $B4_TEST_BUILD/bin/<binary> with the test database settings,
 * B4_PORT=0 and a port file, plus env (NULL-terminated "K=V" entries that
 * override), and waits (10 s max) until the port file appears.  db may be
 * NULL (then B4_NO_DB=true).  Returns 0, or -1 with the log tail printed. */
int h_start(struct h_proc *p, const char *binary, const char *db, const char *const *env);
/* Like h_start with extra command line arguments (NULL-terminated). */
int h_start_args(struct h_proc *p, const char *binary, const char *db, const char *const *env,
		 const char *const *args);
/* Sends sig and waits up to timeout_ms for exit; returns the exit status
 * (128+signal when killed by one), or -1 if still running (then killed). */
int h_stop(struct h_proc *p, int sig, int timeout_ms);
bool h_alive(struct h_proc *p);
/* Polls GET url every 50 ms until it answers want_status (timeout_ms). */
bool h_wait_status(const char *url, long want_status, int timeout_ms);

/* "http://127.0.0.1:<port><path>" in a static rotating buffer. */
const char *h_url(const struct h_proc *p, const char *path);
const char *h_admin_url(const struct h_proc *p, const char *path);

struct h_resp {
	long status;
	char *body;
	size_t body_len;
	char *headers; /* raw response head */
	cJSON *json;   /* parsed body when it is JSON, else NULL */
};

/* Performs one request; headers is NULL-terminated "Name: value" entries or
 * NULL; body may be NULL.  Returns 0 when an HTTP answer came back. */
int h_http(struct h_resp *r, const char *method, const char *url, const char *body,
	   const char *const *headers);
/* Header value from the response (case-insensitive), copied into a static
 * buffer, or NULL. */
const char *h_resp_header(const struct h_resp *r, const char *name);
/* The string at a dotted path of the JSON body ("error.type"), or NULL. */
const char *h_json_str(const struct h_resp *r, const char *path);
void h_resp_free(struct h_resp *r);

/* Sends raw bytes on a new TCP connection to 127.0.0.1:port and reads
 * until the peer closes or timeout_ms passes.  Returns the malloc'd reply
 * (possibly empty); *closed tells whether the peer closed. */
char *h_raw(int port, const void *data, size_t len, int timeout_ms, bool *closed);

/* True when any log file of this run contains needle. */
bool h_logs_contain(const char *needle);

/* A free TCP port on 127.0.0.1, for a binary that must know its own port
 * before it starts (a callback URL); -1 on failure. */
int h_free_port(void);

/* A TCP socket listening on 127.0.0.1 at an ephemeral port (written to
 * *port), for a stand-in server a test runs itself; the fd or -1. */
int h_listen_loopback(int *port);

/* Milliseconds on a monotonic clock. */
long long h_now_ms(void);
void h_sleep_ms(int ms);

#endif
