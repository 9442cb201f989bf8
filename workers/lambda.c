/* lambda.c - the AWS Lambda Runtime API loop; see lambda.h. */
#include "lambda.h"

#include <cjson/cJSON.h>
#include <mysql.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b4/buf.h"
#include "b4/db.h"
#include "b4/httpc.h"
#include "b4/log.h"
#include "handlers.h"

#define RUNTIME_PATH	"/2018-06-01/runtime"
#define MAX_EVENT_BYTES ((size_t)6 * 1024 * 1024 + 1024) /* Lambda's payload limit */
#define NEXT_TIMEOUT_MS (24L * 3600 * 1000)		 /* /next blocks until an event */

static atomic_bool lambda_stopping;

struct runtime {
	char base[300]; /* "http://host:port/2018-06-01/runtime" */
	const struct worker_handler *handler;
	struct worker_ctx ctx;
};

/* Posts a JSON body to base + path; true on a 2xx answer. */
static bool runtime_post(const struct runtime *rt, const char *path, const char *body,
			 const char *error_type)
{
	char url[512], type_header[160];
	const char *headers[3] = {"Content-Type: application/json", NULL, NULL};
	struct b4_httpc_request req = {
	    .method = "POST",
	    .url = url,
	    .headers = headers,
	    .body = body,
	    .body_len = strlen(body),
	    .timeout_ms = 10000,
	};
	struct b4_httpc_response resp;
	bool ok;

	snprintf(url, sizeof(url), "%s%s", rt->base, path);
	if (error_type) {
		snprintf(type_header, sizeof(type_header), "Lambda-Runtime-Function-Error-Type: %s",
			 error_type);
		headers[1] = type_header;
	}
	ok = b4_httpc_do(&req, &resp) == 0 && resp.status >= 200 && resp.status < 300;
	if (!ok)
		b4_log_error("lambda: runtime API refused a post", B4_LS("path", path),
			     B4_LI("status", resp.status), B4_LS("error", resp.error));
	b4_httpc_response_cleanup(&resp);
	return ok;
}

static char *error_body(const char *message, const char *type)
{
	struct b4_buf b;

	b4_buf_init(&b);
	b4_buf_puts(&b, "{\"errorMessage\":");
	b4_buf_json_string(&b, message, strlen(message));
	b4_buf_puts(&b, ",\"errorType\":");
	b4_buf_json_string(&b, type, strlen(type));
	b4_buf_puts(&b, "}");
	return b4_buf_steal(&b, NULL);
}

static void init_error(const struct runtime *rt, const char *message, const char *type)
{
	char *body = error_body(message, type);

	b4_log_error("lambda: init failed", B4_LS("reason", message));
	if (body)
		runtime_post(rt, "/init/error", body, type);
	free(body);
}

/* Runs the handler on one job payload; returns its worker_result. */
static int run_job(struct runtime *rt, const char *payload, int attempts, char *err, size_t errcap)
{
	struct b4_job job = {.id = 0, .attempts = attempts, .max_attempts = 0};
	int rc;

	snprintf(job.type, sizeof(job.type), "%s", rt->handler->type);
	job.payload = (char *)payload;
	rt->ctx.retry_seconds = -1;
	err[0] = '\0';
	rc = rt->handler->run(&rt->ctx, &job, err, errcap);
	if (rc != WORKER_DONE && !err[0])
		snprintf(err, errcap, "job failed");
	return rc;
}

/* An SQS event: every record's body is one job payload.  Fills *response
 * with the partial-batch answer. */
static void handle_sqs(struct runtime *rt, const cJSON *records, struct b4_buf *response)
{
	const cJSON *record;
	bool first = true;

	b4_buf_puts(response, "{\"batchItemFailures\":[");
	cJSON_ArrayForEach(record, records)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(record, "messageId");
		const cJSON *body = cJSON_GetObjectItemCaseSensitive(record, "body");
		const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(record, "attributes");
		const cJSON *count =
		    attrs ? cJSON_GetObjectItemCaseSensitive(attrs, "ApproximateReceiveCount")
			  : NULL;
		const char *message_id = cJSON_IsString(id) ? id->valuestring : "";
		char err[512];
		int attempts = cJSON_IsString(count) ? atoi(count->valuestring) : 1;
		int rc;

		if (cJSON_IsString(body)) {
			rc = run_job(rt, body->valuestring, attempts > 0 ? attempts : 1, err,
				     sizeof(err));
		} else {
			rc = WORKER_FATAL;
			snprintf(err, sizeof(err), "record without a body");
		}
		if (rc == WORKER_DONE)
			continue;
		/* a fatal job is reported too: SQS moves it to the dead-letter queue
		 * after maxReceiveCount, like the table queue's dead state */
		b4_log_warn("lambda: record failed", B4_LS("message_id", message_id),
			    B4_LS("error", err));
		if (!first)
			b4_buf_puts(response, ",");
		first = false;
		b4_buf_puts(response, "{\"itemIdentifier\":");
		b4_buf_json_string(response, message_id, strlen(message_id));
		b4_buf_puts(response, "}");
	}
	b4_buf_puts(response, "]}");
}

static bool request_id_is_safe(const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len > 100)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* Handles one invocation: answers /response or /error.  Returns false
 * when the Runtime API could not be told. */
static bool handle_invocation(struct runtime *rt, const char *request_id, const char *event,
			      size_t event_len)
{
	cJSON *root = cJSON_ParseWithLength(event, event_len);
	const cJSON *records = root ? cJSON_GetObjectItemCaseSensitive(root, "Records") : NULL;
	struct b4_buf response;
	char path[200], err[512];
	bool ok;

	b4_buf_init(&response);
	b4_log_set_request_id(request_id);
	if (!cJSON_IsObject(root)) {
		char *body = error_body("the event is not a JSON object", "Runtime.InvalidEvent");
		snprintf(path, sizeof(path), "/invocation/%s/error", request_id);
		ok = body && runtime_post(rt, path, body, "Runtime.InvalidEvent");
		free(body);
		goto out_free;
	}
	if (cJSON_IsArray(records)) {
		handle_sqs(rt, records, &response);
	} else {
		char *payload = cJSON_PrintUnformatted(root);
		int rc = payload ? run_job(rt, payload, 1, err, sizeof(err)) : WORKER_RETRY;
		free(payload);
		if (rc != WORKER_DONE) {
			const char *type = rc == WORKER_FATAL ? "Job.Fatal" : "Job.Retry";
			char *body = error_body(err, type);
			b4_log_warn("lambda: job failed", B4_LS("type", rt->handler->type),
				    B4_LS("error", err));
			snprintf(path, sizeof(path), "/invocation/%s/error", request_id);
			ok = body && runtime_post(rt, path, body, type);
			free(body);
			goto out_free;
		}
		b4_buf_puts(&response, "{\"status\":\"done\"}");
	}
	snprintf(path, sizeof(path), "/invocation/%s/response", request_id);
	ok = !b4_buf_failed(&response) && runtime_post(rt, path, response.data, NULL);
out_free:
	b4_log_set_request_id(NULL);
	b4_buf_cleanup(&response);
	cJSON_Delete(root);
	return ok;
}

int worker_lambda_run(const char *handler_name, const struct b4_settings *settings)
{
	const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
	struct runtime rt = {0};
	struct b4_db *db = NULL;
	int status = 1;

	if (!api || !*api || strlen(api) > 200 || strpbrk(api, "/?# @")) {
		fprintf(stderr, "b4-worker: AWS_LAMBDA_RUNTIME_API: required (host:port)\n");
		return 2;
	}
	snprintf(rt.base, sizeof(rt.base), "http://%s" RUNTIME_PATH, api);
	if (!handler_name || !*handler_name)
		handler_name = getenv("_HANDLER");
	rt.handler = handler_name ? worker_handler_find(handler_name) : NULL;
	if (rt.handler && rt.handler->test_only && settings->env != B4_ENV_TEST)
		rt.handler = NULL;
	if (!rt.handler) {
		char message[200];
		snprintf(message, sizeof(message), "no job handler named %.100s",
			 handler_name ? handler_name : "(none)");
		init_error(&rt, message, "Runtime.UnknownHandler");
		return 1;
	}
	if (!settings->no_db) {
		db = b4_db_new(&settings->db);
		if (!db) {
			init_error(&rt, "out of memory", "Runtime.InitError");
			return 1;
		}
	}
	if (rt.handler->init && rt.handler->init(settings) < 0) {
		init_error(&rt, "the handler's settings are wrong (see the log)",
			   "Runtime.InitError");
		goto out_close_db;
	}
	rt.ctx.db = db;
	rt.ctx.settings = settings;
	rt.ctx.owner = "lambda";
	rt.ctx.stopping = &lambda_stopping;
	b4_log_info("lambda runtime ready", B4_LS("handler", rt.handler->type));

	for (;;) {
		char url[400], request_id[128];
		struct b4_httpc_request req = {
		    .method = "GET",
		    .url = url,
		    .timeout_ms = NEXT_TIMEOUT_MS,
		    .max_response_bytes = MAX_EVENT_BYTES,
		};
		struct b4_httpc_response resp;
		bool answered;

		snprintf(url, sizeof(url), "%s/invocation/next", rt.base);
		if (b4_httpc_do(&req, &resp) < 0 || resp.status != 200 || resp.truncated) {
			/* the Runtime API is gone (or the sandbox is shutting down) */
			b4_log_info("lambda: runtime API closed", B4_LI("status", resp.status),
				    B4_LS("error", resp.error));
			status = resp.status == 0 ? 0 : 1;
			b4_httpc_response_cleanup(&resp);
			break;
		}
		if (!b4_httpc_header(&resp, "Lambda-Runtime-Aws-Request-Id", request_id,
				     sizeof(request_id)) ||
		    !request_id_is_safe(request_id)) {
			b4_log_error("lambda: invocation without a usable request id");
			b4_httpc_response_cleanup(&resp);
			break;
		}
		answered =
		    handle_invocation(&rt, request_id, resp.body ? resp.body : "", resp.body_len);
		b4_httpc_response_cleanup(&resp);
		if (!answered)
			break;
	}
	if (rt.handler->cleanup)
		rt.handler->cleanup();
out_close_db:
	b4_db_close(db);
	return status;
}

bool worker_lambda_requested(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--lambda") == 0 || strncmp(argv[i], "--lambda=", 9) == 0)
			return true;
	return false;
}

int worker_lambda_main(int argc, char **argv, const struct b4_config_opt *opts, size_t nopts)
{
	struct b4_settings settings;
	enum b4_config_result loaded;
	const char *handler_name = NULL;
	char **rest = calloc((size_t)argc + 1, sizeof(*rest));
	int nrest = 0, rc;

	if (!rest) {
		fprintf(stderr, "b4-worker: out of memory\n");
		return 1;
	}
	/* take --lambda out; the rest are ordinary settings */
	for (int i = 0; i < argc; i++) {
		if (i > 0 && strcmp(argv[i], "--lambda") == 0 && i + 1 < argc) {
			handler_name = argv[++i];
		} else if (i > 0 && strncmp(argv[i], "--lambda=", 9) == 0) {
			handler_name = argv[i] + 9;
		} else {
			rest[nrest++] = argv[i];
		}
	}
	loaded = b4_settings_load("b4-worker", &settings, 8084, opts, nopts, nrest, rest);
	free(rest);
	if (loaded == B4_CONFIG_EXIT)
		return 0;
	if (loaded == B4_CONFIG_ERROR)
		return 2;
	if (mysql_library_init(0, NULL, NULL) != 0 || b4_httpc_global_init() < 0) {
		fprintf(stderr, "b4-worker: cannot initialise the client libraries\n");
		return 1;
	}
	rc = worker_lambda_run(handler_name, &settings);
	mysql_library_end();
	return rc;
}
