/* test_dev_run.c - the developer's commands, run the way the README says:
 * `make run-sandbox` + `make run-checkout` take a card order on checkout's
 * own port; `make run-gateway` + `make run-api` (+ `make run-backoffice`)
 * reach the services through the gateway and share one MariaDB that stops
 * when its last user does; under `make run` a killed service comes back
 * while the others keep answering, and `make restart-api` restarts one.
 *
 * Never the fixed development ports or var/dev: every port is a free one
 * passed through B4_DEV_*_PORT (see free_fixed_port), and B4_DEV_VAR is a
 * folder of this run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Ports of the dev stack of this run, by the variable they go to: the
 * B4_DEV_<NAME>_PORT of deploy/dev/env.sh, and those of
 * deploy/dev/monitoring.sh, should make run start Prometheus and
 * Alertmanager (it reads them from the environment). */
enum {
	P_GATEWAY,
	P_GATEWAY_ADMIN,
	P_API,
	P_BACKOFFICE,
	P_CHECKOUT,
	P_WORKER,
	P_SANDBOX,
	P_DB,
	P_PROMETHEUS,
	P_ALERTMANAGER,
	P_ALERT_RECEIVER,
	NPORTS
};
static const char *const port_vars[NPORTS] = {"B4_DEV_GATEWAY_PORT",   "B4_DEV_GATEWAY_ADMIN_PORT",
					      "B4_DEV_API_PORT",       "B4_DEV_BACKOFFICE_PORT",
					      "B4_DEV_CHECKOUT_PORT",  "B4_DEV_WORKER_PORT",
					      "B4_DEV_SANDBOX_PORT",   "B4_DEV_DB_PORT",
					      "B4_PROMETHEUS_PORT",    "B4_ALERTMANAGER_PORT",
					      "B4_ALERT_RECEIVER_PORT"};
static int ports[NPORTS];
static char dev_var[1024];
static char build_arg[1100];
static char sanitize_arg[256] = "SANITIZE=";

/* A `make <target>` started in its own process group, like a terminal's
 * foreground job; Ctrl-C is SIGINT to that group. */
struct make_job {
	pid_t pgid;
	char target[32];
	char log_path[1200];
};

/* Jobs live here, not on a test's stack, so that the teardown can stop
 * what a failed test left running. */
#define MAX_JOBS 8
static struct make_job job_table[MAX_JOBS];

static const char *url(int port_index, const char *path)
{
	static char buf[4][512];
	static int next;
	char *out = buf[next++ % 4];

	snprintf(out, sizeof(buf[0]), "http://127.0.0.1:%d%s", ports[port_index], path);
	return out;
}

/* Runs `make [args...] target` from the repository with the output in
 * $B4_TEST_VAR/logs/dev-<target>-<n>.log; returns the child's pid. */
static pid_t make_spawn(const char *target, const char *log_path, bool own_group)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		sigset_t none;
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (own_group)
			setpgid(0, 0);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 || chdir(h_top()) < 0)
			_exit(127);
		close(fd);
		execlp("make", "make", "--no-print-directory", build_arg, sanitize_arg, target,
		       (char *)NULL);
		_exit(127);
	}
	if (own_group)
		setpgid(pid, pid);
	return pid;
}

static struct make_job *job_start(const char *target)
{
	static int n;
	struct make_job *job = NULL;

	for (int i = 0; i < MAX_JOBS && !job; i++)
		if (job_table[i].pgid == 0)
			job = &job_table[i];
	assert_non_null(job);
	snprintf(job->target, sizeof(job->target), "%s", target);
	snprintf(job->log_path, sizeof(job->log_path), "%s/logs/dev-%s-%d.log", h_var(), target,
		 ++n);
	job->pgid = make_spawn(target, job->log_path, true);
	return job;
}

/* True when the job's log contains needle. */
static bool job_log_contains(const struct make_job *job, const char *needle)
{
	FILE *f = fopen(job->log_path, "r");
	char line[4096];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

static void print_log(const char *path)
{
	char cmd[1400];

	snprintf(cmd, sizeof(cmd), "tail -n 30 '%s' >&2", path);
	if (system(cmd) != 0)
		fprintf(stderr, "(no log at %s)\n", path);
}

/* Ctrl-C: SIGINT to the job's group, then waits (60 s) until every process
 * of the group is gone.  Fails (after SIGKILL) when one lingers. */
static void job_interrupt(struct make_job *job)
{
	long long deadline = h_now_ms() + 60000;
	bool gone = false;

	kill(-job->pgid, SIGINT);
	while (h_now_ms() < deadline) {
		while (waitpid(job->pgid, NULL, WNOHANG) > 0)
			;
		if (kill(-job->pgid, 0) < 0 && errno == ESRCH) {
			gone = true;
			break;
		}
		h_sleep_ms(100);
	}
	if (!gone) {
		kill(-job->pgid, SIGKILL);
		waitpid(job->pgid, NULL, 0);
		job->pgid = 0;
		print_log(job->log_path);
		fail_msg("make %s: still running 60 s after Ctrl-C", job->target);
	}
	job->pgid = 0;
}

/* Opens a TCP socket and connects it to 127.0.0.1:port (connect) or binds
 * it to *:port; true when that worked.  The socket is closed again. */
static bool tcp_try(int port, bool connect_to)
{
	struct sockaddr_in addr;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	if (fd < 0)
		return false;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	addr.sin_addr.s_addr = htonl(connect_to ? INADDR_LOOPBACK : INADDR_ANY);
	if (connect_to)
		ok = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	else
		ok = bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	close(fd);
	return ok;
}

/* True when something accepts a TCP connection on 127.0.0.1:port (quietly,
 * where h_http would log every refused attempt). */
static bool port_open(int port)
{
	return tcp_try(port, true);
}

/* Waits until ports[port_index] answers path with 200; on time-out prints
 * the job's log. */
static void wait_up(const struct make_job *job, int port_index, const char *path, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	while (!port_open(ports[port_index]) && h_now_ms() < deadline)
		h_sleep_ms(200);
	if (!h_wait_status(url(port_index, path), 200, (int)(deadline - h_now_ms() + 1000))) {
		print_log(job->log_path);
		fail_msg("make %s: %s did not answer 200", job->target, url(port_index, path));
	}
}

static bool answers(const char *what_url)
{
	return h_wait_status(what_url, 200, 2000);
}

static long long read_pid(const char *path)
{
	FILE *f = fopen(path, "r");
	long long pid = -1;

	if (f) {
		if (fscanf(f, "%lld", &pid) != 1)
			pid = -1;
		fclose(f);
	}
	return pid;
}

/* The pid of the shared MariaDB, or -1 when it does not run. */
static long long db_pid(void)
{
	char path[1200];
	long long pid;

	snprintf(path, sizeof(path), "%s/db/mysqld.pid", dev_var);
	pid = read_pid(path);
	return pid > 0 && kill((pid_t)pid, 0) == 0 ? pid : -1;
}

static void wait_db_gone(void)
{
	long long deadline = h_now_ms() + 30000;

	while (db_pid() > 0 && h_now_ms() < deadline)
		h_sleep_ms(100);
	assert_int_equal(db_pid(), -1);
}

static long post_json(struct h_resp *r, const char *to, const char *body, const char *extra)
{
	const char *headers[] = {"Content-Type: application/json", extra, NULL};

	assert_int_equal(h_http(r, "POST", to, body, headers), 0);
	return r->status;
}

/* A port the dev scripts can be told in advance: free on every address
 * now, and below the kernel's ephemeral range (32768 and up), so that no
 * outgoing connection or port-0 listener of a parallel test takes it
 * between now and the bind; never the fixed development ports. */
static int free_fixed_port(void)
{
	for (int attempt = 0; attempt < 500; attempt++) {
		int port = 20000 + rand() % 12000;
		if (tcp_try(port, false) && !port_open(port))
			return port;
	}
	return -1;
}

/* ---- setup ----------------------------------------------------------------- */

static int setup(void **state)
{
	char value[32];
	const char *build = h_build(), *top = h_top();
	size_t top_len = strlen(top);
	(void)state;

	snprintf(dev_var, sizeof(dev_var), "%s/dev-run-%d", h_var(), (int)getpid());
	mkdir(dev_var, 0755);
	{
		char logs[1200];
		snprintf(logs, sizeof(logs), "%s/logs", h_var());
		mkdir(logs, 0755);
	}
	/* the build under test, relative to the repository like make's own,
	 * and its sanitizers (build-address-undefined: SANITIZE=address,undefined),
	 * so that make finds it up to date and never relinks it differently */
	if (strncmp(build, top, top_len) == 0 && build[top_len] == '/')
		build += top_len + 1;
	snprintf(build_arg, sizeof(build_arg), "BUILD=%s", build);
	if (strncmp(build, "build-", 6) == 0) {
		snprintf(sanitize_arg, sizeof(sanitize_arg), "SANITIZE=%s", build + 6);
		for (char *p = sanitize_arg + 9; *p; p++)
			if (*p == '-')
				*p = ',';
	}
	srand((unsigned)getpid() ^ (unsigned)h_now_ms());
	for (int i = 0; i < NPORTS; i++) {
		bool taken;
		do {
			ports[i] = free_fixed_port();
			if (ports[i] <= 0)
				return -1;
			taken = false;
			for (int j = 0; j < i; j++)
				taken = taken || ports[j] == ports[i];
		} while (taken);
	}
	for (int i = 0; i < NPORTS; i++) {
		snprintf(value, sizeof(value), "%d", ports[i]);
		setenv(port_vars[i], value, 1);
	}
	setenv("B4_DEV_VAR", dev_var, 1);
	{
		char mon[1200];
		snprintf(mon, sizeof(mon), "%s/monitoring", dev_var);
		setenv("B4_MON_DIR", mon, 1);
		snprintf(mon, sizeof(mon), "%s/logs/alerts.log", dev_var);
		setenv("B4_ALERTS_LOG", mon, 1);
	}
	/* a make of our own, not a sub-make of the one running the tests */
	unsetenv("MAKEFLAGS");
	unsetenv("MFLAGS");
	unsetenv("MAKELEVEL");
	unsetenv("B4_ENV_FILE");
	return 0;
}

/* After each test: stops what a failed one left running. */
static int stop_jobs(void **state)
{
	(void)state;
	for (int i = 0; i < MAX_JOBS; i++) {
		if (job_table[i].pgid == 0)
			continue;
		kill(-job_table[i].pgid, SIGTERM);
		h_sleep_ms(3000);
		kill(-job_table[i].pgid, SIGKILL);
		waitpid(job_table[i].pgid, NULL, 0);
		job_table[i].pgid = 0;
	}
	return 0;
}

/* At the end: the MariaDB if a test left it, and the services' logs handed
 * to tests/run.sh's sanitizer check. */
static int teardown(void **state)
{
	char cmd[2600];

	stop_jobs(state);
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && deploy/dev/mariadb.sh stop '%s/db' >/dev/null 2>&1;"
		 " for f in '%s'/logs/*.log; do [ -e \"$f\" ] &&"
		 " cp \"$f\" '%s/logs/dev-run-'\"${f##*/}\"; done; true",
		 h_top(), dev_var, dev_var, h_var());
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- tests ----------------------------------------------------------------- */

static void test_run_checkout_and_sandbox_alone(void **state)
{
	struct make_job *sandbox, *checkout;
	struct h_resp r;
	char token[256], body[1024], key[96];
	char sandbox_health[128];
	(void)state;

	snprintf(sandbox_health, sizeof(sandbox_health), "%s", url(P_SANDBOX, "/healthz"));
	sandbox = job_start("run-sandbox");
	wait_up(sandbox, P_SANDBOX, "/healthz", 120000);
	checkout = job_start("run-checkout");
	wait_up(checkout, P_CHECKOUT, "/healthz", 120000);
	/* it said what it talks to, and found the sandbox there */
	assert_true(job_log_contains(checkout, "acquirer sandbox (payments)"));
	assert_true(job_log_contains(checkout, "answering"));
	assert_true(db_pid() > 0);

	/* a card order placed directly on b4-checkout's port */
	assert_int_equal(
	    post_json(&r, url(P_CHECKOUT, "/v1/card-tokens"),
		      "{\"number\":\"4111111111111111\",\"holder_name\":\"Maria "
		      "Compradora\",\"exp_month\":12,\"exp_year\":2031,\"cvv\":\"123\"}",
		      NULL),
	    201);
	assert_non_null(h_json_str(&r, "token"));
	snprintf(token, sizeof(token), "%s", h_json_str(&r, "token"));
	h_resp_free(&r);
	snprintf(body, sizeof(body),
		 "{\"offer_code\":\"DEMOOFFER1\",\"customer\":{\"full_name\":\"Maria Compradora\","
		 "\"email\":\"dev-run@example.com\",\"document\":\"52998224725\","
		 "\"phone\":\"+55 (11) 98765-4321\"},"
		 "\"payment\":{\"method\":\"card\",\"card_token\":\"%s\",\"installments\":1}}",
		 token);
	snprintf(key, sizeof(key), "Idempotency-Key: dev-run-%d-%lld", (int)getpid(), h_now_ms());
	assert_int_equal(post_json(&r, url(P_CHECKOUT, "/v1/orders"), body, key), 201);
	assert_string_equal(h_json_str(&r, "status"), "paid");
	assert_string_equal(h_json_str(&r, "card.last4"), "1111");
	h_resp_free(&r);

	/* Ctrl-C stops only what it started: checkout and its MariaDB, not the
	 * sandbox */
	job_interrupt(checkout);
	assert_false(port_open(ports[P_CHECKOUT]));
	assert_true(answers(sandbox_health));
	assert_true(job_log_contains(checkout, "MariaDB stopped (nothing else used it)"));
	wait_db_gone();
	job_interrupt(sandbox);
	assert_false(answers(sandbox_health));
}

static void test_run_gateway_with_api_and_backoffice(void **state)
{
	struct make_job *api, *backoffice, *gateway;
	struct h_resp r;
	char auth[1200];
	const char *bearer;
	(void)state;

	gateway = job_start("run-gateway");
	wait_up(gateway, P_GATEWAY_ADMIN, "/healthz", 120000);
	/* started first, it names the services it expects and where */
	assert_true(job_log_contains(gateway, "b4-api        /api"));
	assert_true(job_log_contains(gateway, "not running yet: make run-api"));
	api = job_start("run-api");
	wait_up(api, P_API, "/healthz", 120000);
	backoffice = job_start("run-backoffice");
	wait_up(backoffice, P_BACKOFFICE, "/readyz", 120000);
	assert_true(job_log_contains(backoffice, "MariaDB already running"));

	/* b4-api through the gateway, with the demo data and the dev secrets;
	 * its token opens the back-office, also through the gateway (the
	 * gateway's health checks need a moment to see new upstreams) */
	{
		long long deadline = h_now_ms() + 30000;
		while (
		    post_json(&r, url(P_GATEWAY, "/api/v1/auth/login"),
			      "{\"email\":\"admin@b4you.dev\",\"password\":\"admin-demo-12345\"}",
			      NULL) != 200 &&
		    h_now_ms() < deadline) {
			h_resp_free(&r);
			h_sleep_ms(250);
		}
	}
	assert_int_equal(r.status, 200);
	bearer = h_json_str(&r, "token");
	assert_non_null(bearer);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
	h_resp_free(&r);
	{
		const char *headers[] = {auth, NULL};
		long long deadline = h_now_ms() + 30000;
		do {
			assert_int_equal(h_http(&r, "GET", url(P_GATEWAY, "/backoffice/v1/users"),
						NULL, headers),
					 0);
			if (r.status == 200)
				break;
			h_resp_free(&r);
			h_sleep_ms(250);
		} while (h_now_ms() < deadline);
		assert_int_equal(r.status, 200);
		assert_non_null(strstr(r.body, "admin@b4you.dev"));
		h_resp_free(&r);
	}

	/* one MariaDB for both: stopping b4-api leaves it to the back-office,
	 * the last user stops it */
	job_interrupt(api);
	assert_true(job_log_contains(api, "MariaDB keeps running"));
	assert_true(db_pid() > 0);
	assert_true(answers(url(P_BACKOFFICE, "/readyz")));
	job_interrupt(backoffice);
	assert_true(job_log_contains(backoffice, "MariaDB stopped"));
	wait_db_gone();
	assert_true(answers(url(P_GATEWAY_ADMIN, "/healthz")));
	job_interrupt(gateway);
}

static void test_make_run_restarts_a_killed_service(void **state)
{
	struct make_job *run;
	char path[1200], restart_log[1200];
	long long killed, again, api_before, api_after;
	int status;
	pid_t restart;
	(void)state;

	run = job_start("run");
	wait_up(run, P_GATEWAY, "/checkout/v1/offers/DEMOOFFER1", 180000);
	wait_up(run, P_API, "/healthz", 30000);

	snprintf(path, sizeof(path), "%s/run/b4-checkout.child", dev_var);
	killed = read_pid(path);
	assert_true(killed > 0);
	assert_int_equal(kill((pid_t)killed, SIGKILL), 0);
	/* the others keep answering while checkout is down */
	assert_true(answers(url(P_API, "/healthz")));
	assert_true(answers(url(P_BACKOFFICE, "/healthz")));
	assert_true(answers(url(P_SANDBOX, "/healthz")));
	assert_true(answers(url(P_WORKER, "/healthz")));
	assert_true(answers(url(P_GATEWAY_ADMIN, "/healthz")));
	/* and checkout comes back, through the gateway too */
	wait_up(run, P_CHECKOUT, "/healthz", 30000);
	wait_up(run, P_GATEWAY, "/checkout/v1/offers/DEMOOFFER1", 30000);
	again = read_pid(path);
	assert_true(again > 0 && again != killed);
	assert_true(job_log_contains(run, "run: b4-checkout exited (status 137); restarting in"));

	/* make restart-api: a new b4-api process, answering */
	snprintf(path, sizeof(path), "%s/run/b4-api.child", dev_var);
	api_before = read_pid(path);
	snprintf(restart_log, sizeof(restart_log), "%s/logs/dev-restart-api.log", h_var());
	restart = make_spawn("restart-api", restart_log, false);
	assert_int_equal(waitpid(restart, &status, 0), restart);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		print_log(restart_log);
		fail_msg("make restart-api failed");
	}
	api_after = read_pid(path);
	assert_true(api_after > 0 && api_after != api_before);
	assert_true(answers(url(P_API, "/healthz")));

	job_interrupt(run);
	assert_true(job_log_contains(run, "run: stopped"));
	assert_false(port_open(ports[P_GATEWAY_ADMIN]));
	wait_db_gone();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_run_checkout_and_sandbox_alone, stop_jobs),
	    cmocka_unit_test_teardown(test_run_gateway_with_api_and_backoffice, stop_jobs),
	    cmocka_unit_test_teardown(test_make_run_restarts_a_killed_service, stop_jobs),
	};
	return cmocka_run_group_tests_name("dev_run", tests, setup, teardown);
}
