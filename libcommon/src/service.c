/* service.c - shared start-up of the HTTP services; see b4/service.h. */
#include "b4/service.h"
#include "b4/auth.h"
#include "b4/httpc.h"
#include "b4/log.h"
#include "b4/prodcheck.h"

#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static struct b4_jwt_config jwt;
static bool jwt_ready;

const struct b4_jwt_config *b4_service_jwt(void)
{
	return jwt_ready ? &jwt : NULL;
}

static const char *bearer_token(const struct b4_req *req)
{
	const char *h = b4_req_header(req, "Authorization");

	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return *h ? h : NULL;
}

static int refuse_token(struct b4_req *req)
{
	req->authenticated = false;
	memset(&req->caller, 0, sizeof(req->caller));
	b4_req_set_header(req, "WWW-Authenticate", "Bearer");
	b4_req_errorf(req, 401, "authentication_error", "unauthenticated", NULL,
		      "A valid bearer token is required.");
	return -1;
}

static int check_role(struct b4_req *req, enum b4_role role)
{
	if (!b4_auth_role_allows(req->caller.role, role)) {
		b4_req_errorf(req, 403, "permission_error", "forbidden", NULL,
			      "This operation needs the %s role.",
			      role == B4_ROLE_ADMIN ? "admin" : "member");
		return -1;
	}
	req->authenticated = true;
	return 0;
}

int b4_service_authenticate(struct b4_req *req, enum b4_role role)
{
	const char *token = bearer_token(req);

	if (!jwt_ready || !token ||
	    b4_auth_jwt_verify(&jwt, token, (int64_t)time(NULL), &req->caller) < 0)
		return refuse_token(req);
	return check_role(req, role);
}

int b4_service_authenticate_account(struct b4_req *req, enum b4_role role)
{
	const char *token = bearer_token(req);
	struct b4_db_result *res;
	bool active;

	if (!jwt_ready || !token ||
	    b4_auth_jwt_verify(&jwt, token, (int64_t)time(NULL), &req->caller) < 0)
		return refuse_token(req);
	if (!req->db)
		return check_role(req, role);
	/* a token outlives a block or a demotion: the account decides, on
	 * every request (one primary-key read) */
	res = b4_db_query(req->db, "SELECT status, role FROM users WHERE id = ?", "s",
			  req->caller.user_id);
	if (!res) {
		memset(&req->caller, 0, sizeof(req->caller));
		b4_req_db_error(req);
		return -1;
	}
	active = b4_db_rows(res) == 1 && strcmp(b4_db_str(res, 0, 0), "active") == 0;
	if (active)
		snprintf(req->caller.role, sizeof(req->caller.role), "%s", b4_db_str(res, 0, 1));
	b4_db_result_free(res);
	if (!active)
		return refuse_token(req);
	return check_role(req, role);
}

static bool needs_auth(const struct b4_service *svc)
{
	for (size_t i = 0; i < svc->nroutes; i++)
		if (svc->routes[i].role != B4_ROLE_PUBLIC)
			return true;
	return false;
}

/* Sets up the JWT key when configured; a service with protected routes
 * must have one. */
static int jwt_setup(const struct b4_service *svc, const struct b4_settings *s)
{
	char err[160];
	size_t len = strlen(s->jwt_secret);

	if (len == 0 && !needs_auth(svc))
		return 0;
	if (len < 32) {
		fprintf(stderr, "%s: B4_JWT_SECRET: must be at least 32 bytes (got %zu)\n",
			svc->name, len);
		return -1;
	}
	if (b4_auth_jwt_config_init(&jwt, s->jwt_secret, len, s->jwt_issuer, s->jwt_audience,
				    (int64_t)s->jwt_ttl, 30, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: B4_JWT_SECRET: %s\n", svc->name, err);
		return -1;
	}
	jwt_ready = true;
	return 0;
}

static const char *const env_names[] = {"development", "test", "production", NULL};
static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};

static const char *env_get(const char *name)
{
	return getenv(name);
}

/* Parses B4_TRUSTED_PROXIES once; one line naming it on a bad entry. */
static int trusted_proxies_load(const char *prog, struct b4_settings *s)
{
	const char *legacy = getenv("B4_TRUST_PROXY");
	char err[160];

	/* the old b4-api switch: "the gateway on this host is the proxy" */
	if (!*s->trusted_proxies_text && legacy &&
	    (!strcmp(legacy, "true") || !strcmp(legacy, "1") || !strcmp(legacy, "yes")))
		s->trusted_proxies_text = "127.0.0.1/32,::1/128";
	if (b4_proxy_list_parse(s->trusted_proxies_text, &s->trusted_proxies, err, sizeof(err)) <
	    0) {
		fprintf(stderr, "%s: B4_TRUSTED_PROXIES: %s\n", prog, err);
		return -1;
	}
	return 0;
}

#define OPT(flag, env, type, def, help, target, min, max)                                          \
	{                                                                                          \
		flag, env, type, def, help, target, min, max, NULL, false                          \
	}

enum b4_config_result b4_settings_load(const char *prog, struct b4_settings *s, int default_port,
				       const struct b4_config_opt *extra, size_t nextra, int argc,
				       char **argv)
{
	char port_default[16];
	struct b4_config_opt common[] = {
	    {"env", "B4_ENV", B4_CFG_STR, "production",
	     "deployment environment: development relaxes URL checks for local use", &s->env_name,
	     0, 0, env_names, false},
	    OPT("bind", "B4_BIND", B4_CFG_STR, "127.0.0.1", "IPv4 address to listen on",
		&s->bind_address, 0, 0),
	    OPT("port", "B4_PORT", B4_CFG_INT, port_default, "TCP port (0 = any free port)",
		&s->port, 0, 65535), /* index 2: default set below */
	    OPT("port-file", "B4_PORT_FILE", B4_CFG_STR, NULL,
		"write \"http=PORT\" here once listening", &s->port_file, 0, 0),
	    OPT("loop-threads", "B4_LOOP_THREADS", B4_CFG_INT, "1",
		"event loop threads (SO_REUSEPORT listeners)", &s->loop_threads, 1, 64),
	    OPT("workers", "B4_WORKERS", B4_CFG_INT, "8",
		"handler threads, each with its own DB connection", &s->worker_threads, 1, 512),
	    OPT("queue-max", "B4_QUEUE_MAX", B4_CFG_INT, "1024",
		"requests waiting for a worker before 503", &s->queue_max, 1, 1000000),
	    OPT("max-body-bytes", "B4_MAX_BODY_BYTES", B4_CFG_INT, "1048576",
		"largest request body (413 above)", &s->max_body_bytes, 1, 1073741824),
	    OPT("max-header-bytes", "B4_MAX_HEADER_BYTES", B4_CFG_INT, "16384",
		"largest request head", &s->max_header_bytes, 1024, 1048576),
	    OPT("idle-timeout", "B4_IDLE_TIMEOUT", B4_CFG_SECONDS, "30s",
		"close connections idle or half-read this long", &s->idle_timeout, 1, 3600),
	    OPT("drain-seconds", "B4_DRAIN_SECONDS", B4_CFG_SECONDS, "10s",
		"on SIGTERM, time allowed for in-flight requests", &s->drain_seconds, 0, 600),
	    {"log-level", "B4_LOG_LEVEL", B4_CFG_STR, "info", "lowest level logged", &s->log_level,
	     0, 0, log_levels, false},
	    OPT("no-db", "B4_NO_DB", B4_CFG_BOOL, "false", "run without a database", &s->no_db, 0,
		0),
	    OPT("db-host", "B4_DB_HOST", B4_CFG_STR, "127.0.0.1", "MariaDB host", &s->db_host, 0,
		0),
	    OPT("db-port", "B4_DB_PORT", B4_CFG_INT, "3306", "MariaDB port", &s->db_port, 1, 65535),
	    OPT("db-socket", "B4_DB_SOCKET", B4_CFG_STR, "",
		"MariaDB unix socket (used instead of host and port when set)", &s->db_socket, 0,
		0),
	    OPT("db-user", "B4_DB_USER", B4_CFG_STR, "b4", "MariaDB user", &s->db_user, 0, 0),
	    {"db-password", "B4_DB_PASSWORD", B4_CFG_STR, "", "MariaDB password", &s->db_password,
	     0, 0, NULL, true},
	    OPT("db-name", "B4_DB_NAME", B4_CFG_STR, "b4", "database (schema) name", &s->db_name, 0,
		0),
	    OPT("db-timeout", "B4_DB_TIMEOUT", B4_CFG_SECONDS, "10s",
		"connect, read and write timeout of DB calls", &s->db_timeout, 1, 600),
	    {"jwt-secret", "B4_JWT_SECRET", B4_CFG_STR, "",
	     "HS256 key for access tokens (at least 32 bytes)", &s->jwt_secret, 0, 0, NULL, true},
	    OPT("jwt-issuer", "B4_JWT_ISSUER", B4_CFG_STR, "b4you", "token issuer (iss)",
		&s->jwt_issuer, 0, 0),
	    OPT("jwt-audience", "B4_JWT_AUDIENCE", B4_CFG_STR, "b4you-api", "token audience (aud)",
		&s->jwt_audience, 0, 0),
	    OPT("jwt-ttl", "B4_JWT_TTL", B4_CFG_SECONDS, "1h", "access token lifetime", &s->jwt_ttl,
		60, 604800),
	    OPT("trusted-proxies", "B4_TRUSTED_PROXIES", B4_CFG_STR, "",
		"proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For names the client",
		&s->trusted_proxies_text, 0, 0),
	};
	size_t ncommon = sizeof(common) / sizeof(common[0]);
	struct b4_config_opt *all;
	enum b4_config_result rc;
	enum b4_log_level level;

	memset(s, 0, sizeof(*s));
	snprintf(port_default, sizeof(port_default), "%d", default_port);
	common[2].default_value = port_default;
	all = calloc(ncommon + nextra, sizeof(*all));
	if (!all) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return B4_CONFIG_ERROR;
	}
	memcpy(all, common, sizeof(common));
	if (nextra)
		memcpy(all + ncommon, extra, nextra * sizeof(*extra));
	rc = b4_config_load(prog, all, ncommon + nextra, argc, argv, env_get, stdout, stderr);
	if (rc == B4_CONFIG_OK) {
		for (int i = 0; env_names[i]; i++)
			if (strcmp(env_names[i], s->env_name) == 0)
				s->env = (enum b4_env)i;
		if (s->env == B4_ENV_PRODUCTION &&
		    b4_prodcheck_secrets(prog, all, ncommon + nextra, env_get, stderr) < 0)
			rc = B4_CONFIG_ERROR;
	}
	free(all);
	if (rc != B4_CONFIG_OK)
		return rc;
	if (trusted_proxies_load(prog, s) < 0)
		return B4_CONFIG_ERROR;
	b4_log_level_parse(s->log_level, &level);
	b4_log_init(prog, level);
	s->db.host = s->db_host;
	s->db.port = (int)s->db_port;
	s->db.socket = s->db_socket && *s->db_socket ? s->db_socket : NULL;
	s->db.user = s->db_user;
	s->db.password = s->db_password;
	s->db.database = s->db_name;
	s->db.connect_timeout = (unsigned)(s->db_timeout + 0.5);
	s->db.read_timeout = (unsigned)(s->db_timeout + 0.5);
	s->db.write_timeout = (unsigned)(s->db_timeout + 0.5);
	return B4_CONFIG_OK;
}

int b4_service_main(const struct b4_service *svc, int argc, char **argv)
{
	struct b4_settings settings;
	struct b4_server_config server;
	void *app = NULL;
	enum b4_config_result loaded;
	int rc;

	loaded = b4_settings_load(svc->name, &settings, svc->default_port, svc->extra_opts,
				  svc->nextra_opts, argc, argv);
	if (loaded == B4_CONFIG_EXIT)
		return 0;
	if (loaded == B4_CONFIG_ERROR)
		return 2;
	if (jwt_setup(svc, &settings) < 0)
		return 2;
	if (mysql_library_init(0, NULL, NULL) != 0) {
		fprintf(stderr, "%s: cannot initialise the MariaDB client library\n", svc->name);
		return 1;
	}
	if (b4_httpc_global_init() < 0) {
		fprintf(stderr, "%s: cannot initialise libcurl\n", svc->name);
		mysql_library_end();
		return 1;
	}
	if (svc->init && svc->init(&settings, &app) < 0) {
		mysql_library_end();
		return 2;
	}
	memset(&server, 0, sizeof(server));
	server.service = svc->name;
	server.bind_address = settings.bind_address;
	server.port = (int)settings.port;
	server.port_file = settings.port_file;
	server.loop_threads = (int)settings.loop_threads;
	server.worker_threads = (int)settings.worker_threads;
	server.queue_max = (int)settings.queue_max;
	server.max_body_bytes = (size_t)settings.max_body_bytes;
	server.max_header_bytes = (size_t)settings.max_header_bytes;
	server.idle_timeout = settings.idle_timeout;
	server.drain_seconds = settings.drain_seconds;
	server.routes = svc->routes;
	server.nroutes = svc->nroutes;
	server.authenticate = svc->authenticate ? svc->authenticate : b4_service_authenticate;
	server.db = settings.no_db ? NULL : &settings.db;
	server.app = app;
	server.trusted_proxies = &settings.trusted_proxies;
	server.worker_start = svc->worker_start;
	server.worker_stop = svc->worker_stop;
	b4_log_info("starting", B4_LS("env", settings.env_name), B4_LS("version", b4_version));
	rc = b4_server_run(&server);
	if (svc->cleanup)
		svc->cleanup(app);
	mysql_library_end();
	if (jwt_ready)
		b4_auth_jwt_config_cleanup(&jwt);
	b4_log_info("stopped");
	return rc == 0 ? 0 : 1;
}
