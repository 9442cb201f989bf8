/* test_monitoring.c - the monitoring flow live, as make run has it: the
 * real binaries on ephemeral ports, then deploy/dev/monitoring.sh starts
 * Prometheus (the project's alert rules), Alertmanager and
 * b4-alert-receiver with short intervals.
 *   - every Grafana panel's query runs against that Prometheus: no error,
 *     and a non-empty answer whenever the metrics it reads have data;
 *   - a killed service's ServiceDown alert reaches the receiver's log
 *     within the rule's window (its `for` plus a few intervals). */
#include "harness.h"

#include <ctype.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define SECRET		   "monitoring-acquirer-secret-0123456789abcdef0123"
#define SERVICE_DOWN_FOR_S 60 /* `for:` of ServiceDown in alerts.yml */

static const char *db;
static struct h_proc sandbox, api, backoffice, checkout, worker, gateway;
static int prom_port, am_port, rcv_port;
static char mon_dir[1200], alerts_log[1200];

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	if (text && fread(text, 1, (size_t)n, f) != (size_t)n) {
		free(text);
		text = NULL;
	}
	fclose(f);
	return text;
}

/* deploy/dev/monitoring.sh start|stop with this test's ports and targets. */
static int monitoring(const char *action)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && BUILD='%s' B4_MON_DIR='%s' B4_PROMETHEUS_PORT=%d "
		 "B4_ALERTMANAGER_PORT=%d B4_ALERT_RECEIVER_PORT=%d B4_ALERTS_LOG='%s' "
		 "B4_MON_INTERVAL=1s B4_MON_GROUP_WAIT=1s B4_MON_TARGETS='b4-gateway=127.0.0.1:%d "
		 "b4-api=127.0.0.1:%d b4-backoffice=127.0.0.1:%d b4-checkout=127.0.0.1:%d "
		 "b4-worker=127.0.0.1:%d b4-acquirer-sandbox=127.0.0.1:%d' "
		 "deploy/dev/monitoring.sh %s >&2",
		 h_top(), h_build(), mon_dir, prom_port, am_port, rcv_port, alerts_log,
		 gateway.admin_port, api.port, backoffice.port, checkout.port, worker.port,
		 sandbox.port, action);
	return system(cmd);
}

static void form_escape(char *out, size_t cap, const char *text)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)text; *p && n + 4 < cap; p++) {
		if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			out[n++] = (char)*p;
		} else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	out[n] = '\0';
}

/* Runs an instant query; returns the result array's size, or -1 on an
 * error (printed). */
static int prom_query(const char *expr)
{
	char url[4200];
	struct h_resp r;
	const cJSON *result;
	int n = -1, used;

	used = snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/query?query=", prom_port);
	form_escape(url + used, sizeof(url) - (size_t)used, expr);
	if (h_http(&r, "GET", url, NULL, NULL) != 0)
		return -1;
	result = cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "data"), "result");
	if (r.status == 200 && cJSON_IsArray(result))
		n = cJSON_GetArraySize(result);
	else
		fprintf(stderr, "query failed (%ld): %s\n  %s\n", r.status, expr, r.body);
	h_resp_free(&r);
	return n;
}

static bool wait_query(const char *expr, int want_at_least, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	while (h_now_ms() < deadline) {
		if (prom_query(expr) >= want_at_least)
			return true;
		h_sleep_ms(250);
	}
	return false;
}

static void traffic(void)
{
	const char *json[] = {"Content-Type: application/json", "Idempotency-Key: mon-order-1",
			      NULL};
	char url[256];
	struct h_resp r;

	for (int i = 0; i < 5; i++) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/checkout/v1/offers/DEMOOFFER1",
			 gateway.port);
		assert_int_equal(h_http(&r, "GET", url, NULL, NULL), 0);
		assert_int_equal(r.status, 200);
		h_resp_free(&r);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/no-such-thing",
			 gateway.port);
		assert_int_equal(h_http(&r, "GET", url, NULL, NULL), 0);
		h_resp_free(&r);
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/checkout/v1/orders", gateway.port);
	assert_int_equal(
	    h_http(&r, "POST", url,
		   "{\"offer_code\":\"DEMOOFFER1\",\"customer\":{\"full_name\":\"Maria Silva\","
		   "\"email\":\"maria@example.com\",\"document\":\"52998224725\",\"phone\":"
		   "\"+55 11 98765-4321\"},\"payment\":{\"method\":\"pix\"}}",
		   json),
	    0);
	print_message("pix order: %ld\n", r.status);
	h_resp_free(&r);
}

static int setup(void **state)
{
	char sb_url[128], cb[128], up_api[64], up_bo[64], up_co[64];
	const char *sb_env[] = {"B4_ACQUIRER_SECRET=" SECRET, NULL};
	const char *co_env[] = {"B4_ACQUIRER_SECRET=" SECRET, sb_url, cb, NULL};
	const char *wk_env[] = {"B4_ACQUIRER_SECRET=" SECRET, sb_url, "B4_WORKER_POLL=200ms", NULL};
	const char *gw_env[] = {up_api, up_bo, up_co, NULL};
	(void)state;

	db = h_db_create("b4_monitoring", true);
	if (!db || h_start(&sandbox, "b4-acquirer-sandbox", NULL, sb_env) < 0)
		return -1;
	snprintf(sb_url, sizeof(sb_url), "B4_ACQUIRERS=sandbox=http://127.0.0.1:%d", sandbox.port);
	snprintf(cb, sizeof(cb), "B4_CHECKOUT_CALLBACK_URL=http://127.0.0.1:%d", h_free_port());
	if (h_start(&api, "b4-api", db, NULL) < 0 ||
	    h_start(&backoffice, "b4-backoffice", db, NULL) < 0 ||
	    h_start(&checkout, "b4-checkout", db, co_env) < 0 ||
	    h_start(&worker, "b4-worker", db, wk_env) < 0)
		return -1;
	snprintf(up_api, sizeof(up_api), "B4_API_UPSTREAM=127.0.0.1:%d", api.port);
	snprintf(up_bo, sizeof(up_bo), "B4_BACKOFFICE_UPSTREAM=127.0.0.1:%d", backoffice.port);
	snprintf(up_co, sizeof(up_co), "B4_CHECKOUT_UPSTREAM=127.0.0.1:%d", checkout.port);
	if (h_start(&gateway, "b4-gateway", NULL, gw_env) < 0)
		return -1;
	prom_port = h_free_port();
	am_port = h_free_port();
	rcv_port = h_free_port();
	snprintf(mon_dir, sizeof(mon_dir), "%s/monitoring-%d", h_var(), (int)getpid());
	snprintf(alerts_log, sizeof(alerts_log), "%s/logs/alerts-%d.log", h_var(), (int)getpid());
	return monitoring("start") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	monitoring("stop");
	h_stop(&gateway, SIGTERM, 10000);
	h_stop(&worker, SIGTERM, 10000);
	h_stop(&checkout, SIGTERM, 10000);
	h_stop(&backoffice, SIGTERM, 10000);
	h_stop(&api, SIGTERM, 10000);
	h_stop(&sandbox, SIGTERM, 10000);
	return 0;
}

/* The series selectors an expression reads (`name` or `name{...}`):
 * identifiers with an underscore that are not PromQL functions or label
 * names. */
static int metric_names(const char *expr, char names[][160], int cap)
{
	static const char *const not_metrics[] = {"histogram_quantile", "label_replace",
						  "status_code", "payment_method", NULL};
	int n = 0;

	for (const char *p = expr; *p && n < cap;) {
		size_t len = 0;
		bool underscore = false, skip = false;

		if (!(isalpha((unsigned char)*p) || *p == '_')) {
			p++;
			continue;
		}
		while (isalnum((unsigned char)p[len]) || p[len] == '_') {
			underscore |= p[len] == '_';
			len++;
		}
		for (int i = 0; not_metrics[i]; i++)
			skip |=
			    strlen(not_metrics[i]) == len && strncmp(p, not_metrics[i], len) == 0;
		if (underscore && !skip && p[len] != '=' && p[len] != '"') {
			/* the selector: the name and its label matchers, if any */
			size_t sel = len;
			if (p[sel] == '{')
				sel += strcspn(p + sel, "}") + 1;
			if (sel < 160) {
				memcpy(names[n], p, sel);
				names[n++][sel] = '\0';
			}
			len = sel;
		}
		p += len;
	}
	return n;
}

static void test_every_panel_query_answers(void **state)
{
	char path[1200], names[16][160], count_expr[200];
	char *text;
	cJSON *doc, *panel, *target;
	int checked = 0, with_data = 0;
	(void)state;

	traffic();
	/* every target scraped, and enough samples for rate() */
	assert_true(wait_query("up == 1", 6, 30000));
	h_sleep_ms(3000);
	traffic();
	h_sleep_ms(2500);

	snprintf(path, sizeof(path),
		 "%s/deploy/observability/grafana/dashboards/b4you-overview.json", h_top());
	text = slurp(path);
	assert_non_null(text);
	doc = cJSON_Parse(text);
	assert_non_null(doc);
	cJSON_ArrayForEach(panel, cJSON_GetObjectItem(doc, "panels"))
	{
		const char *title = cJSON_GetStringValue(cJSON_GetObjectItem(panel, "title"));
		cJSON_ArrayForEach(target, cJSON_GetObjectItem(panel, "targets"))
		{
			const char *expr =
			    cJSON_GetStringValue(cJSON_GetObjectItem(target, "expr"));
			int n = metric_names(expr, names, 16), rows;
			bool data = n > 0;

			assert_true(n > 0);
			/* data exists when every selector it reads has a series */
			for (int i = 0; i < n; i++) {
				snprintf(count_expr, sizeof(count_expr), "count(%.159s)", names[i]);
				data &= prom_query(count_expr) > 0;
			}
			rows = prom_query(expr);
			print_message("%-40s %-3s %d series%s: %s\n", title,
				      cJSON_GetStringValue(cJSON_GetObjectItem(target, "refId")),
				      rows, data ? "" : " (no data yet)", expr);
			assert_true(rows >= 0);
			if (data) {
				assert_true(rows > 0);
				with_data++;
			}
			checked++;
		}
	}
	cJSON_Delete(doc);
	free(text);
	/* the services, the gateway and the worker all feed panels */
	assert_true(checked >= 18);
	assert_true(with_data >= 14);
}

/* The panel that once hid the queue depth: both series kinds show. */
static void test_in_flight_and_queued_shows_both(void **state)
{
	(void)state;
	assert_true(prom_query("sum by (job) (http_queue_depth)") >= 4);
	assert_true(prom_query("sum by (job) (in_flight_requests)") >= 4);
	/* the old expression returned only the first side */
	assert_int_equal(prom_query("sum by (job) (in_flight_requests) or sum by (job) "
				    "(http_queue_depth)"),
			 prom_query("sum by (job) (in_flight_requests)"));
}

static void test_killed_service_alert_reaches_the_receiver(void **state)
{
	long long killed_at, deadline;
	bool seen = false;
	(void)state;

	assert_true(wait_query("up{job=\"b4-api\"} == 1", 1, 10000));
	killed_at = h_now_ms();
	h_stop(&api, SIGKILL, 5000);
	/* within the rule's window: `for` plus scrape, evaluation, group
	 * wait and delivery, each about a second here */
	deadline = killed_at + (SERVICE_DOWN_FOR_S + 30) * 1000LL;
	while (!seen && h_now_ms() < deadline) {
		char *log = slurp(alerts_log);
		char *line = log ? strtok(log, "\n") : NULL;
		for (; line && !seen; line = strtok(NULL, "\n"))
			seen = strstr(line, "\"alertname\":\"ServiceDown\"") &&
			       strstr(line, "\"job\":\"b4-api\"") &&
			       strstr(line, "\"status\":\"firing\"");
		free(log);
		if (!seen)
			h_sleep_ms(500);
	}
	print_message("ServiceDown for b4-api arrived %lld ms after the kill\n",
		      h_now_ms() - killed_at);
	assert_true(seen);
	/* and not before the rule's `for` had passed */
	assert_true(h_now_ms() - killed_at >= SERVICE_DOWN_FOR_S * 1000LL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_panel_query_answers),
	    cmocka_unit_test(test_in_flight_and_queued_shows_both),
	    cmocka_unit_test(test_killed_service_alert_reaches_the_receiver),
	};
	return cmocka_run_group_tests_name("monitoring", tests, setup, teardown);
}
