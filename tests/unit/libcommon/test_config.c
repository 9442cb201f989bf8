/* test_config.c - settings from environment and flags, one clear line per
 * bad value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	rc = b4_config_load("t", opts, sizeof(opts) / sizeof(opts[0]), argc, argv, env_get, out,
			    err);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_then_env),
	    cmocka_unit_test(test_flags_win_over_env),
	    cmocka_unit_test(test_bad_values_name_the_setting),
	    cmocka_unit_test(test_secret_is_never_echoed),
	    cmocka_unit_test(test_help_and_version_exit),
	    cmocka_unit_test(test_parse_seconds),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
