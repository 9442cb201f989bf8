/* test_metrics.c - Prometheus text output: counters, gauges, histograms,
 * label escaping; the text is also checked by promtool when present. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "b4/metrics.h"

static double forty_two(void *arg)
{
	(void)arg;
	return 42;
}

static void test_render_families(void **state)
{
	static const char *const labels[] = {"method", "route", NULL};
	static const double buckets[] = {0.1, 1};
	struct b4_metric *c = b4_metrics_counter("t_requests_total", "Requests.", labels);
	struct b4_metric *g = b4_metrics_gauge("t_depth", "Depth.", NULL);
	struct b4_metric *h = b4_metrics_histogram("t_seconds", "Latency.", labels, buckets, 2);
	size_t len;
	char *text;
	(void)state;

	assert_ptr_equal(c, b4_metrics_counter("t_requests_total", "again", labels));
	b4_metrics_add(c, (const char *[]){"GET", "/a"}, 1);
	b4_metrics_add(c, (const char *[]){"GET", "/a"}, 2);
	b4_metrics_add(c, (const char *[]){"POST", "/b\"q\\\n"}, 1);
	b4_metrics_set(g, NULL, 7.5);
	b4_metrics_observe(h, (const char *[]){"GET", "/a"}, 0.05);
	b4_metrics_observe(h, (const char *[]){"GET", "/a"}, 0.5);
	b4_metrics_observe(h, (const char *[]){"GET", "/a"}, 5);
	b4_metrics_gauge_fn("t_answer", "Computed.", forty_two, NULL);

	text = b4_metrics_render(&len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_non_null(strstr(text, "# TYPE t_requests_total counter\n"));
	assert_non_null(strstr(text, "t_requests_total{method=\"GET\",route=\"/a\"} 3\n"));
	assert_non_null(
	    strstr(text, "t_requests_total{method=\"POST\",route=\"/b\\\"q\\\\\\n\"} 1\n"));
	assert_non_null(strstr(text, "t_depth 7.5\n"));
	assert_non_null(
	    strstr(text, "t_seconds_bucket{method=\"GET\",route=\"/a\",le=\"0.1\"} 1\n"));
	assert_non_null(strstr(text, "t_seconds_bucket{method=\"GET\",route=\"/a\",le=\"1\"} 2\n"));
	assert_non_null(
	    strstr(text, "t_seconds_bucket{method=\"GET\",route=\"/a\",le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(text, "t_seconds_count{method=\"GET\",route=\"/a\"} 3\n"));
	assert_non_null(strstr(text, "t_seconds_sum{method=\"GET\",route=\"/a\"} 5.55\n"));
	assert_non_null(strstr(text, "t_answer 42\n"));

	if (access("/usr/bin/promtool", X_OK) == 0) {
		char path[] = "/tmp/b4-metrics-XXXXXX";
		int fd = mkstemp(path);
		char cmd[128];
		assert_true(fd >= 0);
		assert_int_equal(write(fd, text, len), (ssize_t)len);
		close(fd);
		snprintf(cmd, sizeof(cmd), "promtool check metrics < %s >&2", path);
		assert_int_equal(system(cmd), 0);
		unlink(path);
	}
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_render_families),
	};
	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
