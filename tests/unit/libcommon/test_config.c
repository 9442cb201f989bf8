/* test_config.c - settings from environment and flags, one clear line per
 * bad value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "b4/config.h"

static const char *fake_env[16][2];

static const char *env_get(const char *name)
{
	for (size_t i = 0; i < 16 && fake_env[i][0]; i++)
		if (strcmp(fake_env[i][0], name) == 0)
			return fake_env[i][1];
	return NULL;
}

static void set_env(size_t i, const char *name, const char *value)
{
	fake_env[i][0] = name;
	fake_env[i][1] = value;
	fake_env[i + 1][0] = NULL;
}

struct settings {
	int64_t port;
	const char *name;
	const char *mode;
	bool verbose;
	double timeout;
	bool flag;
	const char *secret;
};

static const char *const modes[] = {"fast", "safe", NULL};

/* The fake environment first, then the process environment (where an env
 * file's settings land). */
static const char *layered_get(const char *name)
{
	const char *v = env_get(name);
	return v ? v : getenv(name);
}

static const char *(*getter)(const char *) = env_get;

static enum b4_config_result load(struct settings *s, int argc, char **argv, char *errors,
				  size_t cap)
{
	struct b4_config_opt opts[] = {
	    {"port", "T_PORT", B4_CFG_INT, "8080", "port", &s->port, 0, 65535, NULL, false},
	    {"name", "T_NAME", B4_CFG_STR, "svc", "name", &s->name, 0, 0, NULL, false},
	    {"mode", "T_MODE", B4_CFG_STR, "safe", "mode", &s->mode, 0, 0, modes, false},
	    {"verbose", "T_VERBOSE", B4_CFG_BOOL, "false", "verbose", &s->verbose, 0, 0, NULL,
	     false},
	    {"timeout", "T_TIMEOUT", B4_CFG_SECONDS, "10s", "timeout", &s->timeout, 1, 60, NULL,
	     false},
	    {"flag", NULL, B4_CFG_FLAG, NULL, "a flag", &s->flag, 0, 0, NULL, false},
	    {"secret", "T_SECRET", B4_CFG_STR, "", "secret", &s->secret, 0, 0, NULL, true},
	};
	FILE *out = fopen("/dev/null", "w");
	FILE *err = fmemopen(errors, cap, "w");
	enum b4_config_result rc;

	memset(errors, 0, cap);
	rc =
	    b4_config_load("t", opts, sizeof(opts) / sizeof(opts[0]), argc, argv, getter, out, err);
	fclose(out);
	fclose(err);
	return rc;
}

static void test_defaults_then_env(void **state)
{
	struct settings s;
	char errors[256];
	char *argv[] = {"t", NULL};
	(void)state;

	set_env(0, "T_UNUSED", "x");
	assert_int_equal(load(&s, 1, argv, errors, sizeof(errors)), B4_CONFIG_OK);
	assert_int_equal(s.port, 8080);
	assert_string_equal(s.name, "svc");
	assert_string_equal(s.mode, "safe");
	assert_false(s.verbose);
	assert_true(s.timeout == 10.0);
	assert_false(s.flag);

	set_env(0, "T_PORT", "7000");
	set_env(1, "T_NAME", "from-env");
	set_env(2, "T_VERBOSE", "yes");
	set_env(3, "T_TIMEOUT", "30s");
	assert_int_equal(load(&s, 1, argv, errors, sizeof(errors)), B4_CONFIG_OK);
	assert_int_equal(s.port, 7000);
	assert_string_equal(s.name, "from-env");
	assert_true(s.verbose);
	assert_true(s.timeout == 30.0);

	/* a duration below the setting's minimum (1 s) is refused */
	set_env(0, "T_TIMEOUT", "250ms");
	assert_int_equal(load(&s, 1, argv, errors, sizeof(errors)), B4_CONFIG_ERROR);
	assert_non_null(strstr(errors, "T_TIMEOUT: expected a duration 1s..60s"));
}

static void test_flags_win_over_env(void **state)
{
	struct settings s;
	char errors[256];
	char *argv[] = {"t",	  "--port",    "9000", "--name=flagged",
			"--flag", "--timeout", "45s",  NULL};
	(void)state;

	set_env(0, "T_PORT", "7000");
	set_env(1, "T_NAME", "from-env");
	assert_int_equal(load(&s, 7, argv, errors, sizeof(errors)), B4_CONFIG_OK);
	assert_int_equal(s.port, 9000);
	assert_string_equal(s.name, "flagged");
	assert_true(s.flag);
	assert_true(s.timeout == 45.0);
}

static void test_bad_values_name_the_setting(void **state)
{
	struct settings s;
	char errors[256];
	char *none[] = {"t", NULL};
	char *bad_flag[] = {"t", "--port", "70000", NULL};
	char *unknown[] = {"t", "--nope", NULL};
	char *missing[] = {"t", "--port", NULL};
	(void)state;

	set_env(0, "T_PORT", "abc");
	assert_int_equal(load(&s, 1, none, errors, sizeof(errors)), B4_CONFIG_ERROR);
	assert_string_equal(errors, "t: T_PORT: expected an integer 0..65535, got \"abc\"\n");

	set_env(0, "T_MODE", "turbo");
	assert_int_equal(load(&s, 1, none, errors, sizeof(errors)), B4_CONFIG_ERROR);
	assert_non_null(strstr(errors, "T_MODE: expected one of fast, safe"));

	set_env(0, "T_VERBOSE", "maybe");
	assert_int_equal(load(&s, 1, none, errors, sizeof(errors)), B4_CONFIG_ERROR);
	assert_non_null(strstr(errors, "T_VERBOSE: expected true or false"));

	set_env(0, "T_TIMEOUT", "10 parsecs");
	assert_int_equal(load(&s, 1, none, errors, sizeof(errors)), B4_CONFIG_ERROR);
	assert_non_null(strstr(errors, "T_TIMEOUT"));

	set_env(0, "T_UNUSED", "x");
	assert_int_equal(load(&s, 3, bad_flag, errors, sizeof(errors)), B4_CONFIG_ERROR);
	assert_non_null(strstr(errors, "--port: expected an integer 0..65535, got \"70000\""));
	assert_int_equal(load(&s, 2, unknown, errors, sizeof(errors)), B4_CONFIG_ERROR);
	assert_non_null(strstr(errors, "unknown option --nope"));
	assert_int_equal(load(&s, 2, missing, errors, sizeof(errors)), B4_CONFIG_ERROR);
	assert_non_null(strstr(errors, "--port needs a value"));
}

static void test_secret_is_never_echoed(void **state)
{
	struct settings s;
	char errors[256];
	char *argv[] = {"t", "--secret", "hunter2-very-secret", "--port", "x", NULL};
	(void)state;

	set_env(0, "T_UNUSED", "x");
	assert_int_equal(load(&s, 5, argv, errors, sizeof(errors)), B4_CONFIG_ERROR);
	assert_null(strstr(errors, "hunter2"));
}

static void test_help_and_version_exit(void **state)
{
	struct settings s;
	char errors[256];
	char *help[] = {"t", "--help", NULL};
	char *version[] = {"t", "--version", NULL};
	(void)state;

	set_env(0, "T_UNUSED", "x");
	assert_int_equal(load(&s, 2, help, errors, sizeof(errors)), B4_CONFIG_EXIT);
	assert_int_equal(load(&s, 2, version, errors, sizeof(errors)), B4_CONFIG_EXIT);
}

static void test_parse_seconds(void **state)
{
	double v;
	(void)state;

	assert_int_equal(b4_config_parse_seconds("1.5", &v), 0);
	assert_true(v == 1.5);
	assert_int_equal(b4_config_parse_seconds("250ms", &v), 0);
	assert_true(v == 0.25);
	assert_int_equal(b4_config_parse_seconds("2h", &v), 0);
	assert_true(v == 7200);
	assert_int_equal(b4_config_parse_seconds("-1s", &v), -1);
	assert_int_equal(b4_config_parse_seconds("1d", &v), -1);
	assert_int_equal(b4_config_parse_seconds("", &v), -1);
	assert_int_equal(b4_config_parse_seconds("inf", &v), -1);
}

struct line_case {
	const char *line;
	int rc;
	const char *key, *value;
};

static void test_env_line_parse(void **state)
{
	static const struct line_case cases[] = {
	    {"", 0, NULL, NULL},
	    {"   ", 0, NULL, NULL},
	    {"# a comment", 0, NULL, NULL},
	    {"  # indented comment", 0, NULL, NULL},
	    {"B4_PORT=8083", 1, "B4_PORT", "8083"},
	    {"export B4_PORT=8083", 1, "B4_PORT", "8083"},
	    {"  B4_PORT = 8083  ", 1, "B4_PORT", "8083"},
	    {"B4_EMPTY=", 1, "B4_EMPTY", ""},
	    {"B4_URL=http://h/#frag # note", 1, "B4_URL", "http://h/#frag"},
	    {"B4_A=\"two words\"", 1, "B4_A", "two words"},
	    {"B4_A=\"say \\\"hi\\\" \\\\ x\\ny\" # c", 1, "B4_A", "say \"hi\" \\ x\ny"},
	    {"B4_A='lit \\n # $x'", 1, "B4_A", "lit \\n # $x"},
	    {"_x1=y", 1, "_x1", "y"},
	    {"exporter=1", 1, "exporter", "1"},
	    {"B4_PORT 8083", -1, NULL, NULL},
	    {"=8083", -1, NULL, NULL},
	    {"1ABC=x", -1, NULL, NULL},
	    {"B4-PORT=x", -1, NULL, NULL},
	    {"B4_A=\"open", -1, NULL, NULL},
	    {"B4_A='open", -1, NULL, NULL},
	    {"B4_A=\"x\" y", -1, NULL, NULL},
	    {"B4_A='x'y", -1, NULL, NULL},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char line[128], why[160] = "", *key = NULL, *value = NULL;
		int rc;

		snprintf(line, sizeof(line), "%s", cases[i].line);
		rc = b4_config_env_line_parse(line, &key, &value, why, sizeof(why));
		if (rc != cases[i].rc)
			fail_msg("line \"%s\": rc %d, want %d", cases[i].line, rc, cases[i].rc);
		if (rc == 1) {
			assert_string_equal(key, cases[i].key);
			assert_string_equal(value, cases[i].value);
		}
		if (rc < 0)
			assert_true(why[0] != '\0');
	}
}

static char env_path[64];

static void write_env_file(const char *text, size_t len)
{
	int fd;
	FILE *f;

	snprintf(env_path, sizeof(env_path), "/tmp/b4-test-env-XXXXXX");
	fd = mkstemp(env_path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

static void clear_test_vars(void)
{
	unsetenv("T_PORT");
	unsetenv("T_NAME");
	unsetenv("T_MODE");
	unsetenv("T_SECRET");
	unsetenv("T_TIMEOUT");
	unlink(env_path);
	getter = env_get;
}

static void test_env_file_fills_only_unset_variables(void **state)
{
	static const char text[] = "# development settings\n"
				   "T_PORT=9000\n"
				   "\n"
				   "export T_MODE=fast\r\n"
				   "T_NAME=\"from file\"\n"
				   "T_SECRET='s3cr#t value'\n"
				   "T_TIMEOUT=5s # inline comment\n";
	struct settings s;
	char errors[256];
	char arg[96];
	char *argv[] = {"t", "--env-file", env_path, "--timeout", "7s", NULL};
	char *argv_eq[] = {"t", arg, NULL};
	(void)state;

	write_env_file(text, sizeof(text) - 1);
	getter = layered_get;
	/* the real environment wins over the file, the flag over both */
	assert_int_equal(setenv("T_NAME", "from env", 1), 0);
	set_env(0, "T_UNUSED", "x");
	assert_int_equal(load(&s, 5, argv, errors, sizeof(errors)), B4_CONFIG_OK);
	assert_string_equal(errors, "");
	assert_int_equal(s.port, 9000);
	assert_string_equal(s.mode, "fast");
	assert_string_equal(s.name, "from env");
	assert_string_equal(s.secret, "s3cr#t value");
	assert_true(s.timeout == 7);
	/* code that reads getenv itself sees the file too */
	assert_string_equal(getenv("T_PORT"), "9000");
	assert_string_equal(getenv("T_TIMEOUT"), "5s");

	/* loaded once: the same file again is not re-read (nor set again) */
	unsetenv("T_PORT");
	assert_int_equal(load(&s, 5, argv, errors, sizeof(errors)), B4_CONFIG_OK);
	assert_null(getenv("T_PORT"));
	assert_int_equal(s.port, 8080);

	/* --env-file=PATH works the same */
	unlink(env_path);
	write_env_file(text, sizeof(text) - 1);
	snprintf(arg, sizeof(arg), "--env-file=%s", env_path);
	assert_int_equal(load(&s, 2, argv_eq, errors, sizeof(errors)), B4_CONFIG_OK);
	assert_int_equal(s.port, 9000);
	clear_test_vars();
}

static void test_env_file_from_b4_env_file(void **state)
{
	static const char text[] = "T_PORT=9100\n";
	struct settings s;
	char errors[256];
	char *argv[] = {"t", NULL};
	(void)state;

	write_env_file(text, sizeof(text) - 1);
	getter = layered_get;
	set_env(0, "B4_ENV_FILE", env_path);
	assert_int_equal(load(&s, 1, argv, errors, sizeof(errors)), B4_CONFIG_OK);
	assert_int_equal(s.port, 9100);
	clear_test_vars();
}

/* Loads text as an env file and expects a start-up error naming
 * path:line_no that does not echo the secret. */
static void expect_bad_file(const char *text, size_t len, int line_no, const char *reason)
{
	struct settings s;
	char errors[256], where[96];
	char *argv[] = {"t", "--env-file", env_path, NULL};

	write_env_file(text, len);
	getter = layered_get;
	set_env(0, "T_UNUSED", "x");
	assert_int_equal(load(&s, 3, argv, errors, sizeof(errors)), B4_CONFIG_ERROR);
	snprintf(where, sizeof(where), "t: %s:%d: ", env_path, line_no);
	if (!strstr(errors, where) || !strstr(errors, reason))
		fail_msg("want \"%s...%s\", got \"%s\"", where, reason, errors);
	assert_null(strstr(errors, "hunter2"));
	clear_test_vars();
}

static void test_env_file_bad_lines_name_file_and_line(void **state)
{
	static const char no_equals[] = "T_PORT=1\n# ok\nT_NAME hunter2\n";
	static const char open_quote[] = "T_SECRET=\"hunter2\n";
	static const char nul_byte[] = "T_PORT=1\nT_SECRET=hunter2\0x\n";
	struct settings s;
	char errors[256];
	char *missing[] = {"t", "--env-file", "/nonexistent/b4.env", NULL};
	char *no_value[] = {"t", "--env-file", NULL};
	(void)state;

	expect_bad_file(no_equals, sizeof(no_equals) - 1, 3, "expected KEY=value");
	expect_bad_file(open_quote, sizeof(open_quote) - 1, 1, "unterminated double quote");
	expect_bad_file(nul_byte, sizeof(nul_byte) - 1, 2, "NUL byte");

	set_env(0, "T_UNUSED", "x");
	assert_int_equal(load(&s, 3, missing, errors, sizeof(errors)), B4_CONFIG_ERROR);
	assert_non_null(strstr(errors, "/nonexistent/b4.env: No such file"));
	assert_int_equal(load(&s, 2, no_value, errors, sizeof(errors)), B4_CONFIG_ERROR);
	assert_non_null(strstr(errors, "--env-file needs a value"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_then_env),
	    cmocka_unit_test(test_flags_win_over_env),
	    cmocka_unit_test(test_bad_values_name_the_setting),
	    cmocka_unit_test(test_secret_is_never_echoed),
	    cmocka_unit_test(test_help_and_version_exit),
	    cmocka_unit_test(test_parse_seconds),
	    cmocka_unit_test(test_env_line_parse),
	    cmocka_unit_test(test_env_file_fills_only_unset_variables),
	    cmocka_unit_test(test_env_file_from_b4_env_file),
	    cmocka_unit_test(test_env_file_bad_lines_name_file_and_line),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
