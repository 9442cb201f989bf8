/* b4-alert-receiver: where Alertmanager sends alerts in development (and
 * in the monitoring tests).  POST /alerts takes Alertmanager's webhook
 * payload and appends one JSON line per alert to B4_ALERTS_LOG
 * (var/dev/logs/alerts.log under make run):
 *   {"received_at":"...","status":"firing","labels":{...},
 *    "annotations":{...},"starts_at":"...","ends_at":"..."}
 * It needs no database; deploy/dev/monitoring.sh starts it. */
#include "b4/http.h"
#include "b4/log.h"
#include "b4/service.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *alerts_log;
static int log_fd = -1;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct b4_config_opt receiver_opts[] = {
    {"alerts-log", "B4_ALERTS_LOG", B4_CFG_STR, "var/dev/logs/alerts.log",
     "file the alerts are appended to, one JSON line each", &alerts_log, 0, 0, NULL, false},
};

/* One line for one alert of the payload; NULL when out of memory. */
static char *alert_line(const cJSON *alert, const char *received_at)
{
	static const char *const copied[][2] = {{"status", "status"},
						{"labels", "labels"},
						{"annotations", "annotations"},
						{"startsAt", "starts_at"},
						{"endsAt", "ends_at"}};
	cJSON *line = cJSON_CreateObject();
	char *text;

	if (!line)
		return NULL;
	cJSON_AddStringToObject(line, "received_at", received_at);
	for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
		const cJSON *item = cJSON_GetObjectItemCaseSensitive(alert, copied[i][0]);
		if (item)
			cJSON_AddItemToObject(line, copied[i][1], cJSON_Duplicate(item, true));
	}
	text = cJSON_PrintUnformatted(line);
	cJSON_Delete(line);
	return text;
}

static void receive_alerts(struct b4_req *req)
{
	const cJSON *body = b4_req_json_body(req), *alerts, *alert;
	char received_at[32];
	struct timespec now;
	struct tm tm;
	int written = 0;

	if (!body)
		return;
	alerts = cJSON_GetObjectItemCaseSensitive(body, "alerts");
	if (!cJSON_IsArray(alerts)) {
		b4_req_errorf(req, 400, "invalid_request_error", "missing_alerts", "alerts",
			      "An Alertmanager webhook payload has an alerts list.");
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(received_at, sizeof(received_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	pthread_mutex_lock(&log_lock);
	cJSON_ArrayForEach(alert, alerts)
	{
		char *text = alert_line(alert, received_at);
		size_t len;
		if (!text)
			continue;
		len = strlen(text);
		text[len] = '\n'; /* replaces the NUL: one write per line */
		if (write(log_fd, text, len + 1) == (ssize_t)(len + 1))
			written++;
		free(text);
	}
	pthread_mutex_unlock(&log_lock);
	b4_log_info("alerts received",
		    B4_LS("status", cJSON_GetStringValue(cJSON_GetObjectItem(body, "status"))),
		    B4_LI("alerts", written));
	b4_req_send(req, 200, "application/json", "{\"ok\":true}", 11);
}

static const struct b4_route receiver_routes[] = {
    {"POST", "/alerts", receive_alerts, B4_ROLE_PUBLIC},
};

static int receiver_init(const struct b4_settings *settings, void **app)
{
	(void)settings;
	*app = NULL;
	log_fd = open(alerts_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (log_fd < 0) {
		fprintf(stderr, "b4-alert-receiver: B4_ALERTS_LOG: cannot open %s\n", alerts_log);
		return -1;
	}
	return 0;
}

static void receiver_cleanup(void *app)
{
	(void)app;
	if (log_fd >= 0)
		close(log_fd);
}

int main(int argc, char **argv)
{
	struct b4_service svc = {
	    .name = "b4-alert-receiver",
	    .default_port = 9095,
	    .routes = receiver_routes,
	    .nroutes = sizeof(receiver_routes) / sizeof(receiver_routes[0]),
	    .extra_opts = receiver_opts,
	    .nextra_opts = sizeof(receiver_opts) / sizeof(receiver_opts[0]),
	    .init = receiver_init,
	    .cleanup = receiver_cleanup,
	};

	/* it keeps no state but its file: never a database */
	setenv("B4_NO_DB", "true", 1);
	return b4_service_main(&svc, argc, argv);
}
