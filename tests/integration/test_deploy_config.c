/* test_deploy_config.c - the deployment files stay valid: Prometheus
 * config and alert rules (promtool, including the rules' unit tests, one
 * case per alert), ECS task definitions that drain within their stop
 * timeout and check their health without a shell, production settings
 * that start (S3, a real acquirer, a callback URL, trusted proxies), the
 * migrate task and the deploy order, the compose stack, Grafana JSON. */
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

/* Every alert of alerts.yml has a promtool case in alerts_test.yml. */
static void test_every_alert_has_a_rule_test(void **state)
{
	char *rules = slurp("deploy/observability/alerts.yml");
	char *cases = slurp("deploy/observability/alerts_test.yml");
	const char *p = rules;
	int alerts = 0;
	(void)state;

	while ((p = strstr(p, "- alert: ")) != NULL) {
		char name[96], needle[128];
		p += 9;
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(p, "\n "), p);
		snprintf(needle, sizeof(needle), "alertname: %s\n", name);
		print_message("alert %s\n", name);
		assert_non_null(strstr(cases, needle));
		alerts++;
	}
	/* down, 5xx, p95, dead jobs, queue age, upstream, conversion, database */
	static const char *const required[] = {
	    "ServiceDown",  "HighServerErrorRate",	"SlowRequests",	  "DeadJobs",
	    "QueueAgeHigh", "GatewayUpstreamUnhealthy", "ConversionDrop", "DatabaseNotReady"};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		char needle[128];
		snprintf(needle, sizeof(needle), "- alert: %s\n", required[i]);
		assert_non_null(strstr(rules, needle));
	}
	assert_true(alerts >= 8);
	free(rules);
	free(cases);
}

static const char *env_value(cJSON *container, const char *name)
{
	cJSON *item;

	cJSON_ArrayForEach(item, cJSON_GetObjectItem(container, "environment"))
	{
		if (strcmp(cJSON_GetObjectItem(item, "name")->valuestring, name) == 0)
			return cJSON_GetObjectItem(item, "value")->valuestring;
	}
	return NULL;
}

static cJSON *task_container(const char *service, cJSON **task, char **text)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "deploy/ecs/task-%s.json", service);
	*text = slurp(rel);
	*task = cJSON_Parse(*text);
	assert_non_null(*task);
	return cJSON_GetArrayItem(cJSON_GetObjectItem(*task, "containerDefinitions"), 0);
}

/* Health checks in exec form through the binary's own --probe, on the
 * port the container serves (the gateway's admin port). */
static void test_ecs_health_checks_need_no_shell(void **state)
{
	static const struct {
		const char *service, *binary, *port_env, *port;
	} tasks[] = {
	    {"api", "b4-api", "B4_PORT", "8081"},
	    {"backoffice", "b4-backoffice", "B4_PORT", "8082"},
	    {"checkout", "b4-checkout", "B4_PORT", "8083"},
	    {"worker", "b4-worker", "B4_PORT", "8084"},
	    {"gateway", "b4-gateway", "B4_GATEWAY_ADMIN_PORT", "9080"},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(tasks) / sizeof(tasks[0]); i++) {
		char *text, binary[64], url[96];
		cJSON *task, *container = task_container(tasks[i].service, &task, &text);
		cJSON *command =
		    cJSON_GetObjectItem(cJSON_GetObjectItem(container, "healthCheck"), "command");

		snprintf(binary, sizeof(binary), "/usr/local/bin/%s", tasks[i].binary);
		snprintf(url, sizeof(url), "http://127.0.0.1:%s/healthz", tasks[i].port);
		assert_int_equal(cJSON_GetArraySize(command), 4);
		assert_string_equal(cJSON_GetArrayItem(command, 0)->valuestring, "CMD");
		assert_string_equal(cJSON_GetArrayItem(command, 1)->valuestring, binary);
		assert_string_equal(cJSON_GetArrayItem(command, 2)->valuestring, "--probe");
		assert_string_equal(cJSON_GetArrayItem(command, 3)->valuestring, url);
		assert_string_equal(env_value(container, tasks[i].port_env), tasks[i].port);
		assert_null(strstr(text, "CMD-SHELL"));
		assert_null(strstr(text, "/dev/tcp"));
		/* the gateway and the services believe only the VPC's proxies */
		assert_non_null(env_value(container, "B4_TRUSTED_PROXIES"));
		cJSON_Delete(task);
		free(text);
	}
}

/* The settings production needs to start, in the task definitions. */
static void test_ecs_production_settings(void **state)
{
	static const char *const storage_users[] = {"worker", "backoffice"};
	static const char *const acquirer_users[] = {"worker", "checkout"};
	char *text;
	cJSON *task, *container;
	const char *value;
	(void)state;

	for (size_t i = 0; i < 2; i++) {
		container = task_container(storage_users[i], &task, &text);
		assert_string_equal(env_value(container, "B4_ENV"), "production");
		assert_string_equal(env_value(container, "B4_STORAGE"), "s3");
		assert_non_null(env_value(container, "B4_S3_BUCKET"));
		/* credentials come from the task role, never from keys */
		assert_non_null(cJSON_GetObjectItem(task, "taskRoleArn"));
		assert_null(strstr(text, "AWS_ACCESS_KEY_ID"));
		assert_null(strstr(text, "AWS_SECRET_ACCESS_KEY"));
		cJSON_Delete(task);
		free(text);
	}
	for (size_t i = 0; i < 2; i++) {
		container = task_container(acquirer_users[i], &task, &text);
		value = env_value(container, "B4_ACQUIRERS");
		assert_non_null(value);
		assert_null(strstr(value, "sandbox"));
		assert_null(strstr(value, "127.0.0.1"));
		assert_null(strstr(value, "localhost"));
		cJSON_Delete(task);
		free(text);
	}
	container = task_container("checkout", &task, &text);
	value = env_value(container, "B4_CHECKOUT_CALLBACK_URL");
	assert_non_null(value);
	/* the public gateway's checkout prefix, filled in by the pipeline */
	assert_string_equal(value, "https://${PUBLIC_HOST}/checkout");
	cJSON_Delete(task);
	free(text);
}

/* A one-off migrate task, and a deploy order that runs it first. */
static void test_migrate_task_and_deploy_order(void **state)
{
	char *text, *readme;
	cJSON *task, *container = task_container("migrate", &task, &text);
	const char *run_task, *update_service;
	bool has_password = false;
	cJSON *item;
	(void)state;

	assert_string_equal(cJSON_GetObjectItem(task, "family")->valuestring, "b4you-migrate");
	assert_string_equal(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(container, "command"), 0)->valuestring,
	    "b4-migrate");
	assert_null(cJSON_GetObjectItem(container, "portMappings"));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(container, "readonlyRootFilesystem")));
	cJSON_ArrayForEach(item, cJSON_GetObjectItem(container, "secrets"))
	{
		has_password |=
		    strcmp(cJSON_GetObjectItem(item, "name")->valuestring, "B4_DB_PASSWORD") == 0;
	}
	assert_true(has_password);
	cJSON_Delete(task);
	free(text);

	readme = slurp("deploy/ecs/README.md");
	run_task = strstr(readme, "--task-definition b4you-migrate");
	update_service = strstr(readme, "aws ecs update-service");
	assert_non_null(run_task);
	assert_non_null(update_service);
	assert_true(run_task < update_service);
	assert_non_null(strstr(readme, "exitCode"));
	free(readme);
}

/* compose runs the whole stack, health-checked without a shell. */
static void test_compose_runs_the_whole_stack(void **state)
{
	static const char *const services[] = {
	    "  acquirer-sandbox:\n", "  api:\n",     "  backoffice:\n", "  checkout:\n",
	    "  worker:\n",	     "  gateway:\n", "  migrate:\n",	"  mariadb:\n"};
	static const char *const probes[] = {"b4-acquirer-sandbox", "b4-api",	 "b4-backoffice",
					     "b4-checkout",	    "b4-worker", "b4-gateway"};
	char *text = slurp("deploy/compose.yaml");
	(void)state;

	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++)
		assert_non_null(strstr(text, services[i]));
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		char needle[160];
		snprintf(needle, sizeof(needle),
			 "test: [\"CMD\", \"/usr/local/bin/%s\", \"--probe\"", probes[i]);
		assert_non_null(strstr(text, needle));
	}
	assert_null(strstr(text, "CMD-SHELL"));
	assert_non_null(strstr(text, "B4_TRUSTED_PROXIES"));
	assert_non_null(strstr(text, "read_only: true"));
	/* the worker's objects live on a volume its uid owns */
	assert_non_null(strstr(text, "objects:/var/lib/b4you/objects"));
	assert_non_null(strstr(text, "B4_ACQUIRERS: sandbox=http://acquirer-sandbox:8090"));
	free(text);
}

static void test_grafana_dashboard_is_json(void **state)
{
	char *text = slurp("deploy/observability/grafana/dashboards/b4you-overview.json");
	cJSON *doc = cJSON_Parse(text);
	(void)state;

	assert_non_null(doc);
	assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "panels")) >= 4);
	/* gateway and worker panels */
	assert_non_null(strstr(text, "b4_gateway_upstream_healthy"));
	assert_non_null(strstr(text, "worker_queue_depth"));
	/* `A or B` on the same labels shows only A (the queue depth was lost) */
	assert_null(strstr(text, ") or sum by"));
	cJSON_Delete(doc);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prometheus_config_and_rules),
	    cmocka_unit_test(test_ecs_tasks_drain_before_kill),
	    cmocka_unit_test(test_every_alert_has_a_rule_test),
	    cmocka_unit_test(test_ecs_health_checks_need_no_shell),
	    cmocka_unit_test(test_ecs_production_settings),
	    cmocka_unit_test(test_migrate_task_and_deploy_order),
	    cmocka_unit_test(test_compose_runs_the_whole_stack),
	    cmocka_unit_test(test_grafana_dashboard_is_json),
	};
	return cmocka_run_group_tests_name("deploy_config", tests, NULL, NULL);
}
