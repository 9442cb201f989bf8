/* test_deploy_config.c - the deployment files stay valid: Prometheus
 * config and alert rules (promtool, including the rules' unit tests), ECS
 * task definitions that drain within their stop timeout, Grafana JSON. */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static char *slurp(const char *rel)
{
	char path[2048];
	FILE *f;
	long n;
	char *text;

	snprintf(path, sizeof(path), "%s/%s", h_top(), rel);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return text;
}

/* Runs `promtool <what>` inside deploy/observability. */
static int promtool(const char *what)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "cd '%s/deploy/observability' && promtool %s >&2", h_top(),
		 what);
	return system(cmd);
}

static void test_prometheus_config_and_rules(void **state)
{
	(void)state;
	assert_int_equal(promtool("check config prometheus.yml"), 0);
	assert_int_equal(promtool("check rules alerts.yml"), 0);
	assert_int_equal(promtool("test rules alerts_test.yml"), 0);
}

static void test_ecs_tasks_drain_before_kill(void **state)
{
	static const char *const services[] = {"api", "backoffice", "checkout", "worker",
					       "gateway"};
	(void)state;

	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		char rel[128];
		char *text;
		cJSON *task, *container, *env, *item;
		double drain = 10; /* the services' default B4_DRAIN_SECONDS */

		snprintf(rel, sizeof(rel), "deploy/ecs/task-%s.json", services[i]);
		text = slurp(rel);
		task = cJSON_Parse(text);
		assert_non_null(task);
		container =
		    cJSON_GetArrayItem(cJSON_GetObjectItem(task, "containerDefinitions"), 0);
		assert_non_null(container);
		assert_non_null(cJSON_GetObjectItem(container, "healthCheck"));
		env = cJSON_GetObjectItem(container, "environment");
		cJSON_ArrayForEach(item, env)
		{
			const char *name = cJSON_GetObjectItem(item, "name")->valuestring;
			if (strcmp(name, "B4_DRAIN_SECONDS") == 0)
				drain = atof(cJSON_GetObjectItem(item, "value")->valuestring);
			/* no secret ever sits in a task definition */
			assert_null(strstr(name, "SECRET"));
			assert_null(strstr(name, "PASSWORD"));
			assert_null(strstr(name, "KEY"));
		}
		assert_true(cJSON_GetObjectItem(container, "stopTimeout")->valuedouble > drain);
		cJSON_Delete(task);
		free(text);

		snprintf(rel, sizeof(rel), "deploy/ecs/service-%s.json", services[i]);
		text = slurp(rel);
		task = cJSON_Parse(text);
		assert_non_null(task);
		assert_true(cJSON_IsTrue(cJSON_GetObjectItem(
		    cJSON_GetObjectItem(cJSON_GetObjectItem(task, "deploymentConfiguration"),
					"deploymentCircuitBreaker"),
		    "enable")));
		cJSON_Delete(task);
		free(text);
	}
}

static void test_grafana_dashboard_is_json(void **state)
{
	char *text = slurp("deploy/observability/grafana/dashboards/b4you-overview.json");
	cJSON *doc = cJSON_Parse(text);
	(void)state;

	assert_non_null(doc);
	assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "panels")) >= 4);
	cJSON_Delete(doc);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prometheus_config_and_rules),
	    cmocka_unit_test(test_ecs_tasks_drain_before_kill),
	    cmocka_unit_test(test_grafana_dashboard_is_json),
	};
	return cmocka_run_group_tests_name("deploy_config", tests, NULL, NULL);
}
