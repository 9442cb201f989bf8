/* service.h - the start-up every HTTP service shares.
 *
 * A service describes itself (name, default port, routes, its own extra
 * settings and an init hook); b4_service_main loads the common settings
 * (listening, limits, database, logging) plus the extra ones from B4_*
 * variables and flags, initialises the libraries, calls init, and runs the
 * server until SIGTERM.  Its return value is the process exit status.
 */
#ifndef B4_SERVICE_H
#define B4_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "b4/clientaddr.h"
#include "b4/config.h"
#include "b4/db.h"
#include "b4/http.h"

enum b4_env { B4_ENV_DEVELOPMENT, B4_ENV_TEST, B4_ENV_PRODUCTION };

/* The common settings, filled before init runs. */
struct b4_settings {
	const char *env_name;
	enum b4_env env;
	const char *bind_address;
	int64_t port;
	const char *port_file;
	int64_t loop_threads;
	int64_t worker_threads;
	int64_t queue_max;
	int64_t max_body_bytes;
	int64_t max_header_bytes;
	double idle_timeout;
	double drain_seconds;
	const char *log_level;
	bool no_db;
	const char *db_host;
	int64_t db_port;
	const char *db_socket;
	const char *db_user;
	const char *db_password;
	const char *db_name;
	double db_timeout;
	const char *jwt_secret;
	const char *jwt_issuer;
	const char *jwt_audience;
	double jwt_ttl;
	const char *trusted_proxies_text; /* B4_TRUSTED_PROXIES */
	struct b4_proxy_list trusted_proxies;
	struct b4_db_config db; /* built from the db_* fields */
};

struct b4_service {
	const char *name; /* "b4-api" */
	int default_port;
	const struct b4_route *routes;
	size_t nroutes;
	b4_authenticate_fn *authenticate;
	const struct b4_config_opt *extra_opts; /* the service's own settings */
	size_t nextra_opts;
	/* Runs after settings load and before the server starts; returns -1 to
	 * stop start-up (after printing one line naming the problem). */
	int (*init)(const struct b4_settings *settings, void **app);
	void (*cleanup)(void *app);
	void (*worker_start)(void *app);
	void (*worker_stop)(void *app);
};

/* Runs the service.  When svc->authenticate is NULL and a route needs a
 * role, the built-in JWT check is used (Authorization: Bearer, B4_JWT_*
 * settings; start-up refuses a secret shorter than 32 bytes). */
int b4_service_main(const struct b4_service *svc, int argc, char **argv);

/* The process's token settings, for services that issue tokens (login).
 * Valid after start-up; NULL when the service has no JWT secret. */
const struct b4_jwt_config *b4_service_jwt(void);

/* The built-in authenticate hook: verifies the bearer token and the role.
 * 401 authentication_error without a valid token, 403 permission_error
 * when the role is not enough. */
int b4_service_authenticate(struct b4_req *req, enum b4_role role);

/* b4_service_authenticate, then the account itself (status and role read
 * from users on every request, so a block or a demotion takes effect on
 * the next request): a blocked or missing account is 401 like a bad token;
 * the role checked is the account's current one (403 when not enough). */
int b4_service_authenticate_account(struct b4_req *req, enum b4_role role);

/* Loads only the common settings plus extra (for tools such as b4-migrate
 * that do not serve HTTP).  Returns like b4_config_load. */
enum b4_config_result b4_settings_load(const char *prog, struct b4_settings *settings,
				       int default_port, const struct b4_config_opt *extra,
				       size_t nextra, int argc, char **argv);

#endif
