/* test_probe.c - `--probe URL`, the shell-free health check of every
 * binary: exit 0 on a 2xx, non-zero on a 503, a 404, a refused connection,
 * a server that never answers and a URL it cannot use. */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

static const char *const binaries[] = {"b4-api",    "b4-backoffice",	   "b4-checkout",
				       "b4-worker", "b4-acquirer-sandbox", "b4-gateway",
				       "b4-migrate"};

/* Runs `<binary> --probe url` with an empty environment apart from PATH
 * (a health check must not depend on the service's settings) and returns
 * its exit status; its stderr goes to the test's log. */
static int probe_env(const char *binary, const char *url, const char *extra_env)
{
	char bin[1024];
	pid_t pid;
	int status;

	snprintf(bin, sizeof(bin), "%s/bin/%s", h_build(), binary);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		const char *argv[] = {bin, "--probe", url, NULL};
		/* B4_PORT=abc would stop a normal start; the probe reads nothing */
		const char *envp[] = {"PATH=/usr/bin:/bin", extra_env ? extra_env : "B4_PORT=abc",
				      NULL};
		execve(bin, (char *const *)argv, (char *const *)envp);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int probe(const char *binary, const char *url)
{
	return probe_env(binary, url, NULL);
}

static struct h_proc api;	/* no database: /healthz 200 */
static struct h_proc api_no_db; /* database unreachable: /readyz 503 */

static int setup(void **state)
{
	char db_port[64];
	const char *env[] = {"B4_NO_DB=false", db_port, "B4_DB_SOCKET=", "B4_DB_TIMEOUT=1s", NULL};
	int closed = h_free_port();

	(void)state;
	snprintf(db_port, sizeof(db_port), "B4_DB_PORT=%d", closed);
	if (h_start(&api, "b4-api", NULL, NULL) < 0)
		return -1;
	if (h_start(&api_no_db, "b4-api", "nodb", env) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	h_stop(&api, 15, 5000);
	h_stop(&api_no_db, 15, 5000);
	return 0;
}

static void test_every_binary_probes_2xx_as_success(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(binaries) / sizeof(binaries[0]); i++) {
		print_message("%s --probe %s\n", binaries[i], h_url(&api, "/healthz"));
		assert_int_equal(probe(binaries[i], h_url(&api, "/healthz")), 0);
	}
}

static void test_503_is_failure(void **state)
{
	struct h_resp r;
	(void)state;

	/* the service itself says it is not ready */
	assert_int_equal(h_http(&r, "GET", h_url(&api_no_db, "/readyz"), NULL, NULL), 0);
	assert_int_equal(r.status, 503);
	h_resp_free(&r);
	for (size_t i = 0; i < sizeof(binaries) / sizeof(binaries[0]); i++)
		assert_int_not_equal(probe(binaries[i], h_url(&api_no_db, "/readyz")), 0);
	/* the same process answers its liveness check */
	assert_int_equal(probe("b4-api", h_url(&api_no_db, "/healthz")), 0);
}

static void test_404_is_failure(void **state)
{
	(void)state;
	assert_int_not_equal(probe("b4-api", h_url(&api, "/no-such-path")), 0);
	assert_int_not_equal(probe("b4-gateway", h_url(&api, "/no-such-path")), 0);
}

static void test_refused_is_failure(void **state)
{
	char url[128];
	(void)state;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", h_free_port());
	for (size_t i = 0; i < sizeof(binaries) / sizeof(binaries[0]); i++)
		assert_int_not_equal(probe(binaries[i], url), 0);
}

/* A listener that accepts (the kernel does) but never answers: the probe
 * gives up after its deadline instead of hanging the health check. */
static void test_silent_server_is_failure(void **state)
{
	char url[128];
	long long started;
	int port, fd = h_listen_loopback(&port);
	(void)state;

	assert_true(fd >= 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", port);
	started = h_now_ms();
	assert_int_not_equal(probe("b4-worker", url), 0);
	/* it did wait for an answer rather than failing at once */
	assert_true(h_now_ms() - started >= 1000);
	close(fd);
}

static void test_bad_urls_are_failures(void **state)
{
	static const char *const bad[] = {"", "https://127.0.0.1:1/healthz",
					  "127.0.0.1:8081/healthz", "http://:8081/healthz",
					  "http://127.0.0.1:port/healthz"};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(probe("b4-api", bad[i]), 0);
}

static void test_name_and_query_work(void **state)
{
	char url[256];
	(void)state;

	snprintf(url, sizeof(url), "http://localhost:%d/healthz?from=probe", api.port);
	assert_int_equal(probe("b4-checkout", url), 0);
}

/* A bare path is this host on B4_PROBE_PORT, else B4_PORT: one image-level
 * HEALTHCHECK serves every service of the image. */
static void test_bare_path_probes_this_host(void **state)
{
	char port_env[64];
	(void)state;

	snprintf(port_env, sizeof(port_env), "B4_PROBE_PORT=%d", api.port);
	assert_int_equal(probe_env("b4-worker", "/healthz", port_env), 0);
	assert_int_equal(probe_env("b4-gateway", "/healthz", port_env), 0);
	snprintf(port_env, sizeof(port_env), "B4_PORT=%d", api.port);
	assert_int_equal(probe_env("b4-api", "/healthz", port_env), 0);
	assert_int_not_equal(probe_env("b4-api", "/nope", port_env), 0);
	snprintf(port_env, sizeof(port_env), "B4_PORT=%d", api_no_db.port);
	assert_int_not_equal(probe_env("b4-checkout", "/readyz", port_env), 0);
	assert_int_not_equal(probe_env("b4-api", "/healthz", "B4_PROBE_PORT=http"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_binary_probes_2xx_as_success),
	    cmocka_unit_test(test_503_is_failure),
	    cmocka_unit_test(test_404_is_failure),
	    cmocka_unit_test(test_refused_is_failure),
	    cmocka_unit_test(test_silent_server_is_failure),
	    cmocka_unit_test(test_bad_urls_are_failures),
	    cmocka_unit_test(test_name_and_query_work),
	    cmocka_unit_test(test_bare_path_probes_this_host),
	};
	return cmocka_run_group_tests_name("probe", tests, setup, teardown);
}
