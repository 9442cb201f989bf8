/* harness.c - integration test support; see harness.h. */
#include "harness.h"
#include "b4/auth.h"
#include "b4/httpc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mysql.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	return v && *v ? v : fallback;
}

const char *h_build(void)
{
	return env_or("B4_TEST_BUILD", "build");
}

const char *h_top(void)
{
	return env_or("B4_TEST_TOP", ".");
}

const char *h_var(void)
{
	static char dir[1024];
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "%s", env_or("B4_TEST_VAR", "/tmp/b4-test"));
		mkdir(dir, 0755);
	}
	return dir;
}

int h_db_port(void)
{
	return atoi(env_or("B4_TEST_DB_PORT", "3306"));
}

long long h_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void h_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static MYSQL *root_connect(const char *db)
{
	MYSQL *m = mysql_init(NULL);
	const char *sock = getenv("B4_TEST_DB_SOCKET");

	if (!m)
		return NULL;
	if (!mysql_real_connect(m, sock ? NULL : "127.0.0.1", "root", NULL, db,
				sock ? 0 : (unsigned)h_db_port(), sock, CLIENT_MULTI_STATEMENTS)) {
		fprintf(stderr, "harness: root connect failed: %s\n", mysql_error(m));
		mysql_close(m);
		return NULL;
	}
	return m;
}

int h_sql(const char *db, const char *sql)
{
	MYSQL *m = root_connect(db);
	int rc = 0;

	if (!m)
		return -1;
	if (mysql_query(m, sql) != 0) {
		fprintf(stderr, "harness: SQL failed: %s: %s\n", mysql_error(m), sql);
		rc = -1;
	}
	do {
		MYSQL_RES *r = mysql_store_result(m);
		if (r)
			mysql_free_result(r);
	} while (mysql_next_result(m) == 0);
	mysql_close(m);
	return rc;
}

char *h_sql_value(const char *db, const char *sql)
{
	MYSQL *m = root_connect(db);
	MYSQL_RES *r;
	MYSQL_ROW row;
	char *out = NULL;

	if (!m)
		return NULL;
	if (mysql_query(m, sql) != 0) {
		fprintf(stderr, "harness: SQL failed: %s: %s\n", mysql_error(m), sql);
		mysql_close(m);
		return NULL;
	}
	r = mysql_store_result(m);
	if (r && (row = mysql_fetch_row(r)) != NULL && row[0])
		out = strdup(row[0]);
	if (r)
		mysql_free_result(r);
	mysql_close(m);
	return out;
}

long long h_sql_int(const char *db, const char *sql)
{
	char *v = h_sql_value(db, sql);
	long long n = v ? atoll(v) : -1;
	free(v);
	return n;
}

long long h_sql_intf(const char *db, const char *fmt, ...)
{
	char sql[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return h_sql_int(db, sql);
}

int h_sqlf(const char *db, const char *fmt, ...)
{
	char sql[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return h_sql(db, sql);
}

const char *h_bearer(const char *user_id, const char *role)
{
	static char bufs[8][1200];
	static int next;
	char *out = bufs[next++ % 8], err[128], *token = NULL;
	struct b4_jwt_config cfg;
	struct b4_principal who = {0};

	out[0] = '\0';
	if (b4_auth_jwt_config_init(&cfg, H_JWT_SECRET, strlen(H_JWT_SECRET), H_JWT_ISSUER,
				    H_JWT_AUDIENCE, 3600, 0, err, sizeof(err)) < 0)
		return out;
	snprintf(who.user_id, sizeof(who.user_id), "%s", user_id);
	snprintf(who.role, sizeof(who.role), "%s", role);
	if (b4_auth_jwt_sign(&cfg, &who, (int64_t)time(NULL), &token) == 0)
		snprintf(out, 1200, "Authorization: Bearer %s", token);
	free(token);
	b4_auth_jwt_config_cleanup(&cfg);
	return out;
}

void h_make_cpf(unsigned seed, char out[12])
{
	int d[11], sum;

	for (int i = 0; i < 9; i++) {
		d[i] = (int)(seed % 10);
		seed = seed / 10 + (unsigned)i * 7 + 3;
	}
	if (d[0] == d[1]) /* never eleven equal digits */
		d[1] = (d[1] + 1) % 10;
	sum = 0;
	for (int i = 0; i < 9; i++)
		sum += d[i] * (10 - i);
	d[9] = (sum * 10) % 11 % 10;
	sum = 0;
	for (int i = 0; i < 10; i++)
		sum += d[i] * (11 - i);
	d[10] = (sum * 10) % 11 % 10;
	for (int i = 0; i < 11; i++)
		out[i] = (char)('0' + d[i]);
	out[11] = '\0';
}

/* Runs a command (argv) with extra environment, waits, returns exit code. */
static int run_wait(const char *const *argv, const char *const *env)
{
	pid_t pid = fork();
	int status = 0;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		for (size_t i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			close(fd);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void db_env(char (*env)[256], const char *db)
{
	const char *sock = getenv("B4_TEST_DB_SOCKET");
	snprintf(env[0], 256, "B4_DB_HOST=127.0.0.1");
	snprintf(env[1], 256, "B4_DB_PORT=%d", h_db_port());
	snprintf(env[2], 256, "B4_DB_USER=b4");
	snprintf(env[3], 256, "B4_DB_PASSWORD=b4dev");
	snprintf(env[4], 256, "B4_DB_NAME=%s", db ? db : "");
	snprintf(env[5], 256, "B4_DB_SOCKET=%s", sock ? sock : "");
}

const char *h_db_create(const char *prefix, bool seed)
{
	static char name[96];
	char bin[1024], migrations[1024], seed_file[1024], envs[6][256];
	const char *env[8];

	snprintf(name, sizeof(name), "%s_%d", prefix, (int)getpid());
	db_env(envs, name);
	for (int i = 0; i < 6; i++)
		env[i] = envs[i];
	env[6] = NULL;
	snprintf(bin, sizeof(bin), "%s/bin/b4-migrate", h_build());
	snprintf(migrations, sizeof(migrations), "--migrations-dir=%s/db/migrations", h_top());
	snprintf(seed_file, sizeof(seed_file), "--seed=%s/db/seed/demo.sql", h_top());
	const char *argv[] = {bin, migrations, "--create-database", seed ? seed_file : NULL, NULL};
	if (run_wait(argv, env) != 0) {
		fprintf(stderr, "harness: b4-migrate failed for %s\n", name);
		return NULL;
	}
	return name;
}

/* Runs b4-migrate on db with one more argument (and a second, or NULL). */
static int migrate_with(const char *db, const char *arg, const char *arg2)
{
	char bin[1024], migrations[1024], envs[6][256];
	const char *env[7];

	db_env(envs, db);
	for (int i = 0; i < 6; i++)
		env[i] = envs[i];
	env[6] = NULL;
	snprintf(bin, sizeof(bin), "%s/bin/b4-migrate", h_build());
	snprintf(migrations, sizeof(migrations), "--migrations-dir=%s/db/migrations", h_top());
	const char *argv[] = {bin, migrations, arg, arg2, NULL};
	return run_wait(argv, env) == 0 ? 0 : -1;
}

int h_db_rebuild_aggregates(const char *db)
{
	return migrate_with(db, "--rebuild-aggregates", NULL);
}

int h_db_compact_aggregates(const char *db, const char *before)
{
	char arg[64];

	snprintf(arg, sizeof(arg), "--compact-before=%s", before);
	return migrate_with(db, "--compact-aggregates", arg);
}

static int read_port_file(const char *path, const char *key)
{
	FILE *f = fopen(path, "r");
	char line[128];
	size_t klen = strlen(key);
	int port = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) == 0 && line[klen] == '=')
			port = atoi(line + klen + 1);
	}
	fclose(f);
	return port;
}

static void print_log_tail(const char *path)
{
	char cmd[2200];
	snprintf(cmd, sizeof(cmd), "tail -n 20 '%s' >&2", path);
	if (system(cmd) != 0)
		fprintf(stderr, "harness: (no log at %s)\n", path);
}

int h_start_args(struct h_proc *p, const char *binary, const char *db, const char *const *env,
		 const char *const *args)
{
	static int counter;
	char bin[1024], envs[6][256], logdir[1100];
	long long deadline;

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", binary);
	snprintf(logdir, sizeof(logdir), "%s/logs", h_var());
	mkdir(logdir, 0755);
	counter++;
	snprintf(p->log_path, sizeof(p->log_path), "%s/%s-%d-%d.log", logdir, binary, (int)getpid(),
		 counter);
	snprintf(p->port_file, sizeof(p->port_file), "%s/%s-%d-%d.port", h_var(), binary,
		 (int)getpid(), counter);
	unlink(p->port_file);
	snprintf(bin, sizeof(bin), "%s/bin/%s", h_build(), binary);
	db_env(envs, db);

	p->pid = fork();
	if (p->pid < 0)
		return -1;
	if (p->pid == 0) {
		char port_env[2100];
		int fd = open(p->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		setenv("B4_ENV", "test", 1);
		setenv("B4_PORT", "0", 1);
		setenv("B4_ADMIN_PORT", "0", 1);
		setenv("B4_GATEWAY_PORT", "0", 1);
		setenv("B4_GATEWAY_ADMIN_PORT", "0", 1);
		setenv("B4_LOG_LEVEL", "info", 1);
		setenv("B4_WORKERS", "4", 1);
		setenv("B4_JWT_SECRET", H_JWT_SECRET, 1);
		setenv("B4_FIELD_KEYS", H_FIELD_KEYS, 1);
		setenv("B4_BLIND_INDEX_KEY", H_BLIND_INDEX_KEY, 1);
		snprintf(port_env, sizeof(port_env), "B4_PORT_FILE=%s", p->port_file);
		putenv(port_env);
		if (db) {
			for (int i = 0; i < 6; i++)
				putenv(envs[i]);
		} else {
			setenv("B4_NO_DB", "true", 1);
		}
		for (size_t i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		const char *argv[32] = {bin};
		size_t n = 1;
		for (size_t i = 0; args && args[i] && n < 31; i++)
			argv[n++] = args[i];
		argv[n] = NULL;
		execv(bin, (char *const *)argv);
		fprintf(stderr, "harness: exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	deadline = h_now_ms() + 10000;
	while (h_now_ms() < deadline) {
		int port = read_port_file(p->port_file, "http");
		if (port > 0) {
			p->port = port;
			p->admin_port = read_port_file(p->port_file, "admin");
			p->https_port = read_port_file(p->port_file, "https");
			return 0;
		}
		if (!h_alive(p)) {
			fprintf(stderr, "harness: %s exited during start-up\n", binary);
			print_log_tail(p->log_path);
			return -1;
		}
		h_sleep_ms(20);
	}
	fprintf(stderr, "harness: %s did not write its port file\n", binary);
	print_log_tail(p->log_path);
	h_stop(p, SIGKILL, 1000);
	return -1;
}

int h_start(struct h_proc *p, const char *binary, const char *db, const char *const *env)
{
	return h_start_args(p, binary, db, env, NULL);
}

bool h_alive(struct h_proc *p)
{
	int status;
	if (p->pid <= 0)
		return false;
	return waitpid(p->pid, &status, WNOHANG) == 0;
}

int h_stop(struct h_proc *p, int sig, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	int status;

	if (p->pid <= 0)
		return -1;
	kill(p->pid, sig);
	while (h_now_ms() < deadline) {
		pid_t r = waitpid(p->pid, &status, WNOHANG);
		if (r == p->pid) {
			p->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		h_sleep_ms(10);
	}
	kill(p->pid, SIGKILL);
	waitpid(p->pid, &status, 0);
	p->pid = 0;
	return -1;
}

const char *h_url(const struct h_proc *p, const char *path)
{
	static char bufs[8][1024];
	static int next;
	char *b = bufs[next++ % 8];
	snprintf(b, 1024, "http://127.0.0.1:%d%s", p->port, path);
	return b;
}

const char *h_admin_url(const struct h_proc *p, const char *path)
{
	static char bufs[8][1024];
	static int next;
	char *b = bufs[next++ % 8];
	snprintf(b, 1024, "http://127.0.0.1:%d%s", p->admin_port, path);
	return b;
}

/* Accumulates the bytes h_raw reads. */
struct growbuf {
	char *data;
	size_t len;
};

static size_t collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct growbuf *g = arg;
	size_t n = size * nmemb;
	char *d = realloc(g->data, g->len + n + 1);
	if (!d)
		return 0;
	memcpy(d + g->len, ptr, n);
	g->len += n;
	d[g->len] = '\0';
	g->data = d;
	return n;
}

int h_http(struct h_resp *r, const char *method, const char *url, const char *body,
	   const char *const *headers)
{
	static bool initialised;
	const char *all[34];
	size_t n = 0;
	struct b4_httpc_request req = {
	    .method = method,
	    .url = url,
	    .headers = all,
	    .body = body,
	    .body_len = body ? strlen(body) : 0,
	    .connect_timeout_ms = 5000,
	    .timeout_ms = 30000,
	    .max_response_bytes = 64 << 20,
	};
	struct b4_httpc_response resp;
	int rc;

	if (!initialised) {
		b4_httpc_global_init();
		initialised = true;
	}
	if (body)
		all[n++] = "Content-Type: application/json";
	for (size_t i = 0; headers && headers[i] && n < 33; i++)
		all[n++] = headers[i];
	all[n] = NULL;
	memset(r, 0, sizeof(*r));
	rc = b4_httpc_do(&req, &resp);
	if (rc < 0)
		fprintf(stderr, "harness: %s %s: %s\n", method, url, resp.error);
	r->status = resp.status;
	r->body = resp.body;
	r->body_len = resp.body_len;
	r->headers = resp.headers;
	r->json = r->body_len ? cJSON_Parse(r->body) : NULL;
	return rc;
}

const char *h_resp_header(const struct h_resp *r, const char *name)
{
	static char value[1024];
	struct b4_httpc_response view = {.headers = r->headers};

	return b4_httpc_header(&view, name, value, sizeof(value)) ? value : NULL;
}

const char *h_json_str(const struct h_resp *r, const char *path)
{
	const cJSON *node = r->json;
	char part[128];

	while (node && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(part))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		node = cJSON_GetObjectItemCaseSensitive(node, part);
		path = dot ? dot + 1 : path + n;
	}
	return cJSON_IsString(node) ? node->valuestring : NULL;
}

void h_resp_free(struct h_resp *r)
{
	free(r->body);
	free(r->headers);
	cJSON_Delete(r->json);
	memset(r, 0, sizeof(*r));
}

bool h_wait_status(const char *url, long want_status, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	while (h_now_ms() < deadline) {
		struct h_resp r;
		bool ok = h_http(&r, "GET", url, NULL, NULL) == 0 && r.status == want_status;
		h_resp_free(&r);
		if (ok)
			return true;
		h_sleep_ms(50);
	}
	return false;
}

char *h_raw(int port, const void *data, size_t len, int timeout_ms, bool *closed)
{
	struct sockaddr_in sa;
	struct growbuf out = {0};
	long long deadline = h_now_ms() + timeout_ms;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	*closed = false;
	if (fd < 0)
		return strdup("");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		*closed = true;
		return strdup("");
	}
	if (len && send(fd, data, len, MSG_NOSIGNAL) < 0) {
		/* the peer may already have answered and closed; read what is there */
	}
	while (h_now_ms() < deadline) {
		struct pollfd pfd = {fd, POLLIN, 0};
		char chunk[4096];
		int left = (int)(deadline - h_now_ms());
		if (poll(&pfd, 1, left > 0 ? left : 0) <= 0)
			break;
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
		if (n <= 0) {
			*closed = true;
			break;
		}
		collect(chunk, 1, (size_t)n, &out);
	}
	close(fd);
	return out.data ? out.data : strdup("");
}

bool h_logs_contain(const char *needle)
{
	char dir[1100];
	DIR *d;
	struct dirent *e;
	bool found = false;

	snprintf(dir, sizeof(dir), "%s/logs", h_var());
	d = opendir(dir);
	if (!d)
		return false;
	while (!found && (e = readdir(d)) != NULL) {
		char path[2200];
		FILE *f;
		char *line = NULL;
		size_t cap = 0;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (getline(&line, &cap, f) > 0)
			if (strstr(line, needle)) {
				found = true;
				break;
			}
		free(line);
		fclose(f);
	}
	closedir(d);
	return found;
}

/* A port the kernel just handed out for 127.0.0.1 (free a moment ago). */
int h_free_port(void)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
		close(fd);
		return -1;
	}
	port = ntohs(addr.sin_port);
	close(fd);
	return port;
}

int h_listen_loopback(int *port)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(addr.sin_port);
	return fd;
}
