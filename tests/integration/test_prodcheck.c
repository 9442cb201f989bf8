/* test_prodcheck.c - B4_ENV=production refuses development settings at
 * start-up: one line naming the setting, exit status 2.  A sandbox
 * acquirer, a missing callback URL, local storage and development secrets
 * (every value of deploy/secrets.env.example included); the same binaries
 * with production-grade settings start and answer. */
#include "harness.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#define REAL_SECRET "5f1c9e0a7b3d48e2a6c4f0b9d1e7a3c58b2f6d0e4a9c7b1f3e5d8a0c2b4f6e19"

/* Settings a real production task would have, on top of the harness's. */
static const char *const production[] = {
    "B4_ENV=production",
    "B4_ACQUIRERS=cielo=https://api.acquirer.com.br",
    "B4_ACQUIRER_SECRET=" REAL_SECRET,
    "B4_CHECKOUT_CALLBACK_URL=https://pay.b4you.com.br/checkout",
    "B4_STORAGE=s3",
    "B4_S3_BUCKET=b4you-objects",
    "B4_S3_ENDPOINT=http://127.0.0.1:9",
    "B4_S3_PATH_STYLE=true",
    "AWS_ACCESS_KEY_ID=AKIAB4YOUTESTKEY01",
    "AWS_SECRET_ACCESS_KEY=q3Vb9xL0pT7mZr2Kc8YwN4sHd6Fj1GeUa5Ri0Oyl",
    NULL,
};

static const char *db_name;
static char err_path[1100];

/* Builds production + extra (later entries win) into out. */
static void merge_env(const char **out, size_t cap, const char *const *extra)
{
	size_t n = 0;

	for (size_t i = 0; production[i] && n < cap - 1; i++)
		out[n++] = production[i];
	for (size_t i = 0; extra && extra[i] && n < cap - 1; i++)
		out[n++] = extra[i];
	out[n] = NULL;
}

/* Starts binary with the production settings plus extra and expects it to
 * stop by itself with status 2 and one stderr line containing setting. */
static void expect_refused(const char *binary, const char *const *extra, const char *setting)
{
	char bin[1024], line[1024], db_port[64];
	const char *env[40];
	long long deadline = h_now_ms() + 15000;
	int status = -1, lines = 0;
	bool named = false;
	pid_t pid;
	FILE *f;

	merge_env(env, 40, extra);
	snprintf(bin, sizeof(bin), "%s/bin/%s", h_build(), binary);
	snprintf(db_port, sizeof(db_port), "B4_DB_PORT=%d", h_db_port());
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, STDERR_FILENO);
		close(fd);
		fd = open("/dev/null", O_WRONLY);
		dup2(fd, STDOUT_FILENO);
		close(fd);
		setenv("B4_PORT", "0", 1);
		setenv("B4_JWT_SECRET", H_JWT_SECRET, 1);
		setenv("B4_FIELD_KEYS", H_FIELD_KEYS, 1);
		setenv("B4_BLIND_INDEX_KEY", H_BLIND_INDEX_KEY, 1);
		setenv("B4_DB_USER", "b4", 1);
		setenv("B4_DB_PASSWORD", "b4dev", 1);
		setenv("B4_DB_NAME", db_name, 1);
		putenv(db_port);
		for (size_t i = 0; env[i]; i++)
			putenv((char *)env[i]);
		execl(bin, bin, (char *)NULL);
		_exit(127);
	}
	while (h_now_ms() < deadline && waitpid(pid, &status, WNOHANG) == 0)
		h_sleep_ms(20);
	if (!WIFEXITED(status)) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("%s did not stop at start-up (want a refusal naming %s)", binary, setting);
	}
	f = fopen(err_path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		lines++;
		print_message("%s: %s", binary, line);
		if (strstr(line, setting))
			named = true;
	}
	fclose(f);
	assert_int_equal(WEXITSTATUS(status), 2);
	assert_int_equal(lines, 1);
	assert_true(named);
	/* never the secret itself */
	assert_false(h_logs_contain(REAL_SECRET));
}

/* The same binary with the production settings plus extra starts. */
static void expect_starts(const char *binary, const char *const *extra)
{
	const char *env[40];
	struct h_proc p;
	struct h_resp r;

	merge_env(env, 40, extra);
	assert_int_equal(h_start(&p, binary, db_name, env), 0);
	assert_int_equal(h_http(&r, "GET", h_url(&p, "/healthz"), NULL, NULL), 0);
	assert_int_equal(r.status, 200);
	h_resp_free(&r);
	assert_int_equal(h_stop(&p, SIGTERM, 10000), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(err_path, sizeof(err_path), "%s/prodcheck-%d.err", h_var(), (int)getpid());
	db_name = h_db_create("prodcheck", false);
	return db_name ? 0 : -1;
}

static void test_production_grade_settings_start(void **state)
{
	const char *const worker[] = {"B4_WORKER_TYPES=report.export,refund.process", NULL};
	(void)state;

	expect_starts("b4-checkout", NULL);
	expect_starts("b4-backoffice", NULL);
	expect_starts("b4-api", NULL);
	expect_starts("b4-worker", worker);
}

static void test_sandbox_acquirer_refused(void **state)
{
	static const char *const addresses[] = {
	    "B4_ACQUIRERS=sandbox=http://127.0.0.1:8090",
	    "B4_ACQUIRERS=cielo=https://api.acquirer.com.br,sandbox=https://pay.example.net",
	    "B4_ACQUIRERS=acq=http://localhost:8090",
	    "B4_ACQUIRERS=acq=http://127.0.0.2:8090",
	    "B4_ACQUIRERS=acq=http://[::1]:8090",
	    "B4_ACQUIRERS=acq=http://0.0.0.0:8090",
	    "B4_ACQUIRERS=acq=http://b4-acquirer-sandbox:8090",
	    "B4_ACQUIRERS=acq=https://SANDBOX.acquirer.com.br",
	};
	const char *const worker_types = "B4_WORKER_TYPES=refund.process";
	(void)state;

	for (size_t i = 0; i < sizeof(addresses) / sizeof(addresses[0]); i++) {
		const char *const checkout[] = {addresses[i], NULL};
		const char *const worker[] = {addresses[i], worker_types, NULL};
		expect_refused("b4-checkout", checkout, "B4_ACQUIRERS");
		expect_refused("b4-worker", worker, "B4_ACQUIRERS");
	}
}

static void test_default_acquirer_is_the_sandbox_so_refused(void **state)
{
	/* B4_ACQUIRERS unset: the built-in default is the local sandbox */
	const char *const unset[] = {"B4_ACQUIRERS", NULL};
	(void)state;

	expect_refused("b4-checkout", unset, "B4_ACQUIRERS");
}

static void test_missing_callback_url_refused(void **state)
{
	const char *const none[] = {"B4_CHECKOUT_CALLBACK_URL=", NULL};
	const char *const unset[] = {"B4_CHECKOUT_CALLBACK_URL", NULL};
	(void)state;

	expect_refused("b4-checkout", none, "B4_CHECKOUT_CALLBACK_URL");
	expect_refused("b4-checkout", unset, "B4_CHECKOUT_CALLBACK_URL");
}

static void test_local_storage_refused(void **state)
{
	const char *const local[] = {"B4_STORAGE=local", NULL};
	const char *const unset[] = {"B4_STORAGE", NULL};
	const char *const worker_local[] = {"B4_STORAGE=local", "B4_WORKER_TYPES=report.export",
					    NULL};
	const char *const worker_all[] = {"B4_STORAGE=local", NULL};
	(void)state;

	expect_refused("b4-backoffice", local, "B4_STORAGE");
	expect_refused("b4-backoffice", unset, "B4_STORAGE");
	expect_refused("b4-worker", worker_local, "B4_STORAGE");
	expect_refused("b4-worker", worker_all, "B4_STORAGE");
}

static void test_dev_secrets_refused(void **state)
{
	static const struct {
		const char *binary, *env, *setting;
	} cases[] = {
	    {"b4-api", "B4_JWT_SECRET=changeme-changeme-changeme-changeme", "B4_JWT_SECRET"},
	    {"b4-api", "B4_JWT_SECRET=00000000000000000000000000000000000000", "B4_JWT_SECRET"},
	    {"b4-api", "B4_JWT_SECRET=your-secret-here-0123456789abcdef0123", "B4_JWT_SECRET"},
	    {"b4-api", "B4_DB_PASSWORD=CHANGE_ME", "B4_DB_PASSWORD"},
	    {"b4-api", "B4_FIELD_KEYS=k1:", "B4_FIELD_KEYS"},
	    {"b4-api",
	     "B4_FIELD_KEYS=k1:" REAL_SECRET
	     ",k2:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	     "B4_FIELD_KEYS"},
	    {"b4-api", "B4_BLIND_INDEX_KEY=placeholder", "B4_BLIND_INDEX_KEY"},
	    {"b4-checkout", "B4_ACQUIRER_SECRET=abababababababababababababababababab",
	     "B4_ACQUIRER_SECRET"},
	    {"b4-worker", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	     "AWS_SECRET_ACCESS_KEY"},
	    {"b4-acquirer-sandbox", "B4_ACQUIRER_SECRET=change-me-change-me-change-me-change",
	     "B4_ACQUIRER_SECRET"},
	    {"b4-migrate", "B4_DB_PASSWORD=change-me", "B4_DB_PASSWORD"},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const extra[] = {cases[i].env, NULL};
		expect_refused(cases[i].binary, extra, cases[i].setting);
	}
}

/* Every value the example file ships is refused for its own setting. */
static void test_secrets_example_values_refused(void **state)
{
	char path[1100], line[512];
	FILE *f;
	int checked = 0;
	(void)state;

	snprintf(path, sizeof(path), "%s/deploy/secrets.env.example", h_top());
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *eq = strchr(line, '='), name[128];
		const char *extra[2] = {line, NULL};

		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || !eq || !eq[1])
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(eq - line), line);
		expect_refused(strcmp(name, "B4_ACQUIRER_SECRET") == 0 ? "b4-checkout" : "b4-api",
			       extra, name);
		checked++;
	}
	fclose(f);
	assert_true(checked >= 2);
}

/* Outside production the same settings are a developer's machine. */
static void test_development_keeps_its_defaults(void **state)
{
	static char dir[1200];
	const char *const dev[] = {"B4_ENV=development",
				   "B4_ACQUIRERS=sandbox=http://127.0.0.1:8090",
				   "B4_CHECKOUT_CALLBACK_URL=",
				   "B4_STORAGE=local",
				   dir,
				   NULL};
	(void)state;

	snprintf(dir, sizeof(dir), "B4_STORAGE_DIR=%s/prodcheck-objects", h_var());

	expect_starts("b4-checkout", dev);
	expect_starts("b4-backoffice", dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_production_grade_settings_start),
	    cmocka_unit_test(test_sandbox_acquirer_refused),
	    cmocka_unit_test(test_default_acquirer_is_the_sandbox_so_refused),
	    cmocka_unit_test(test_missing_callback_url_refused),
	    cmocka_unit_test(test_local_storage_refused),
	    cmocka_unit_test(test_dev_secrets_refused),
	    cmocka_unit_test(test_secrets_example_values_refused),
	    cmocka_unit_test(test_development_keeps_its_defaults),
	};
	return cmocka_run_group_tests_name("prodcheck", tests, setup, NULL);
}
