/* webhook.c - webhook fan-out and signed delivery; see handlers.h.
 *
 * "webhook.event" turns one event into one webhook_deliveries row per
 * active endpoint of the owner (and the affiliate) subscribed to it, each
 * with a "webhook.deliver" job, in one transaction.  The event id comes
 * with the job (its producer set it), so a re-run finds the same rows
 * (unique endpoint_id, event_id) and creates nothing twice.
 *
 * "webhook.deliver" POSTs the stored body with B4-Signature, logs the
 * attempt in webhook_attempts and, on a non-2xx answer or a network error,
 * asks for a retry on this schedule (each +-20% jitter, multiplied by
 * B4_WEBHOOK_BACKOFF_SCALE): 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h,
 * 8 h, 12 h - ten attempts over about 27.7 h.  After the tenth the
 * delivery is failed (resendable with b4_queue_webhook_resend).
 */
#include "handlers.h"
#include "worker.h"

#include "b4/crypto.h"
#include "b4/db.h"
#include "b4/httpc.h"
#include "b4/log.h"
#include "b4/pii.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double worker_webhook_timeout = 10.0;
double worker_webhook_backoff_scale = 1.0;

static enum b4_netguard_policy guard = B4_NETGUARD_PRODUCTION;

static const int retry_schedule[] = {30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200};
#define WEBHOOK_MAX_ATTEMPTS ((int)(sizeof(retry_schedule) / sizeof(retry_schedule[0])) + 1)

int webhook_init(const struct b4_settings *settings)
{
	/* a POST must end well inside the job's lease, or another worker
	 * could take the job over while it is still being sent */
	if (worker_webhook_timeout + 5 > worker_config.lease_seconds) {
		fprintf(stderr,
			"b4-worker: B4_WEBHOOK_TIMEOUT: must be at least 5 s shorter than"
			" B4_WORKER_LEASE (%.0f s)\n",
			worker_config.lease_seconds);
		return -1;
	}
	/* loopback receivers are allowed only where members are developers */
	guard =
	    settings->env == B4_ENV_PRODUCTION ? B4_NETGUARD_PRODUCTION : B4_NETGUARD_DEVELOPMENT;
	return 0;
}

/* ---- fan-out --------------------------------------------------------------- */

struct fanout {
	const struct b4_job *job;
	const char *event;
	const char *owner_id;
	const char *affiliate_id;
	const char *product_id;
	const cJSON *data;
	const char *event_id; /* from the payload, or NULL the first time */
	const char *created_at;
	int created;	   /* deliveries created by this run */
	const char *owner; /* the job is marked done in the same transaction */
	bool completed;
	char err[200];
};

static void iso_now(char out[32])
{
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A stable UUID-shaped id from a job id (SHA-256 of "webhook.event:<id>"). */
static int derived_event_id(uint64_t job_id, char out[37])
{
	unsigned char digest[32];
	char input[48], hex[65];

	snprintf(input, sizeof(input), "webhook.event:%llu", (unsigned long long)job_id);
	if (b4_crypto_sha256(input, strlen(input), digest) < 0 ||
	    b4_crypto_hex_encode(digest, 16, hex, sizeof(hex)) < 0)
		return -1;
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
	return 0;
}

static int fanout_tx(struct b4_db *db, void *arg)
{
	struct fanout *f = arg;
	char event_id[37], created_at[32], delivery_id[37], job_payload[64];
	struct b4_db_result *res = NULL;
	cJSON *body = NULL;
	char *text = NULL;
	int rc = -1, n_done;

	f->created = 0;
	f->completed = false;
	/* the producer fixed the id and time when it enqueued the event; a
	 * job from before that rule gets an id derived from its own, so a
	 * re-run still finds the same rows, and the job is never rewritten */
	if (f->event_id)
		snprintf(event_id, sizeof(event_id), "%s", f->event_id);
	else if (derived_event_id(f->job->id, event_id) < 0)
		goto out;
	snprintf(created_at, sizeof(created_at), "%s",
		 f->created_at && strlen(f->created_at) < sizeof(created_at) ? f->created_at : "");
	if (!created_at[0])
		iso_now(created_at);
	body = cJSON_CreateObject();
	if (!body || !cJSON_AddStringToObject(body, "id", event_id) ||
	    !cJSON_AddStringToObject(body, "event", f->event) ||
	    !cJSON_AddStringToObject(body, "created_at", created_at) ||
	    !cJSON_AddItemToObject(body, "data", cJSON_Duplicate(f->data, true)))
		goto out;
	text = cJSON_PrintUnformatted(body);
	if (!text)
		goto out;
	res = b4_db_query(db,
			  "SELECT id FROM webhook_endpoints"
			  " WHERE owner_id IN (?, ?) AND active = 1"
			  " AND (product_id IS NULL OR product_id <=> ?)"
			  " AND JSON_CONTAINS(events, JSON_QUOTE(?))"
			  " ORDER BY id",
			  "ssss", f->owner_id, f->affiliate_id ? f->affiliate_id : f->owner_id,
			  f->product_id, f->event);
	if (!res)
		goto out;
	for (size_t r = 0; r < b4_db_rows(res); r++) {
		int64_t n;

		if (b4_crypto_uuid7(delivery_id) < 0)
			goto out;
		n = b4_db_exec(db,
			       "INSERT INTO webhook_deliveries"
			       " (id, endpoint_id, event_id, event, payload, next_attempt_at)"
			       " VALUES (?, ?, ?, ?, ?, CURRENT_TIMESTAMP(6))"
			       " ON DUPLICATE KEY UPDATE id = id",
			       "sssss", delivery_id, b4_db_str(res, r, 0), event_id, f->event,
			       text);
		if (n < 0)
			goto out;
		if (n == 0)
			continue; /* made by an earlier run of this job */
		snprintf(job_payload, sizeof(job_payload), "{\"delivery_id\":\"%s\"}", delivery_id);
		if (b4_queue_enqueue(db, "webhook.deliver", job_payload, NULL, 0) < 0)
			goto out;
		f->created++;
	}
	n_done = b4_queue_complete(db, f->job, f->owner);
	if (n_done < 0)
		goto out;
	f->completed = n_done == 1;
	rc = 0;
out:
	if (rc < 0)
		snprintf(f->err, sizeof(f->err), "database: %s", b4_db_error(db));
	b4_db_result_free(res);
	free(text);
	cJSON_Delete(body);
	return rc;
}

static const char *opt_str(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) && item->valuestring[0] ? item->valuestring : NULL;
}

int webhook_event_job(struct worker_ctx *ctx, const struct b4_job *job, char *err, size_t errcap)
{
	cJSON *payload = cJSON_Parse(job->payload);
	struct fanout f;
	int rc = WORKER_DONE;

	memset(&f, 0, sizeof(f));
	f.job = job;
	f.owner = ctx->owner;
	f.event = opt_str(payload, "event");
	f.owner_id = opt_str(payload, "owner_id");
	f.affiliate_id = opt_str(payload, "affiliate_id");
	f.product_id = opt_str(payload, "product_id");
	f.event_id = opt_str(payload, "event_id");
	f.created_at = opt_str(payload, "created_at");
	f.data = cJSON_GetObjectItemCaseSensitive(payload, "data");
	if (!f.event || !f.owner_id || !cJSON_IsObject(f.data) || strlen(f.event) > 64 ||
	    (f.event_id && strlen(f.event_id) != 36)) {
		snprintf(err, errcap, "payload needs event, owner_id and a data object");
		rc = WORKER_FATAL;
		goto out_free_payload;
	}
	if (b4_db_tx(ctx->db, fanout_tx, &f) < 0) {
		snprintf(err, errcap, "%s", f.err[0] ? f.err : "fan-out failed");
		rc = WORKER_RETRY;
		goto out_free_payload;
	}
	ctx->completed = f.completed;
	b4_log_info("webhook event fanned out", B4_LS("event", f.event),
		    B4_LI("job_id", (long long)job->id), B4_LI("deliveries", f.created));
out_free_payload:
	cJSON_Delete(payload);
	return rc;
}

/* ---- delivery -------------------------------------------------------------- */

struct attempt {
	const char *delivery_id;
	int number;	  /* this delivery's attempt number (1-based, across resends) */
	long status_code; /* 0: no HTTP answer */
	unsigned duration_ms;
	char excerpt[201];
	char error[256];
	const char *new_status; /* succeeded, pending or failed */
	double retry_seconds;
	const struct b4_job *job; /* marked done with the log when final */
	const char *owner;
	bool completed;
};

static int attempt_tx(struct b4_db *db, void *arg)
{
	struct attempt *a = arg;
	const char *code = NULL;
	char code_text[24];

	if (a->status_code > 0) {
		snprintf(code_text, sizeof(code_text), "%ld", a->status_code);
		code = code_text;
	}
	if (b4_db_exec(db,
		       "INSERT INTO webhook_attempts"
		       " (delivery_id, attempt, status_code, duration_ms, response_excerpt, error)"
		       " VALUES (?, ?, ?, ?, ?, ?)",
		       "sIsIss", a->delivery_id, a->number, code, (int)a->duration_ms,
		       a->status_code > 0 ? a->excerpt : NULL, a->error[0] ? a->error : NULL) < 0)
		return -1;
	if (b4_db_exec(
		db,
		"UPDATE webhook_deliveries SET status = ?, attempts = ?, last_status_code = ?,"
		" last_error = ?,"
		" next_attempt_at = IF(? = 'pending',"
		"  CURRENT_TIMESTAMP(6) + INTERVAL ? MICROSECOND, NULL)"
		" WHERE id = ?",
		"sIsssis", a->new_status, a->number, code, a->error[0] ? a->error : NULL,
		a->new_status, (int64_t)(a->retry_seconds * 1e6), a->delivery_id) < 0)
		return -1;
	a->completed = false;
	if (strcmp(a->new_status, "pending") != 0) {
		int done = b4_queue_complete(db, a->job, a->owner);

		if (done < 0)
			return -1;
		a->completed = done == 1;
	}
	return 0;
}

/* Printable ASCII only: the excerpt is shown to members and stored in a
 * utf8 column whatever the receiver sent. */
static void make_excerpt(char *out, size_t cap, const char *body, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 1 < cap; i++) {
		unsigned char c = (unsigned char)body[i];

		out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : (c == '\n' || c == '\t') ? ' ' : '?';
	}
	out[n] = '\0';
}

static double jittered(double seconds)
{
	uint32_t r = 0;

	b4_crypto_random(&r, sizeof(r));
	return seconds * (0.8 + 0.4 * ((double)r / 4294967295.0));
}

/* Marks a delivery failed without an attempt (endpoint gone or disabled). */
static void give_up(struct b4_db *db, const char *delivery_id, const char *why)
{
	b4_db_exec(db,
		   "UPDATE webhook_deliveries SET status = 'failed', last_error = ?,"
		   " next_attempt_at = NULL WHERE id = ? AND status = 'pending'",
		   "ss", why, delivery_id);
}

static void post(const char *url, const char *secret, const char *event, const char *event_id,
		 const char *delivery_id, const char *body, struct attempt *a)
{
	char signature[B4_CRYPTO_WEBHOOK_HEADER_MAX], sig_header[128], event_header[96],
	    id_header[64], delivery_header[64], why[200];
	const char *headers[] = {"Content-Type: application/json",
				 "User-Agent: b4you-webhooks/1",
				 sig_header,
				 event_header,
				 id_header,
				 delivery_header,
				 NULL};
	struct b4_httpc_request req;
	struct b4_httpc_response resp;
	long timeout_ms = (long)(worker_webhook_timeout * 1000);

	if (b4_netguard_check_url(url, guard, why, sizeof(why)) < 0) {
		snprintf(a->error, sizeof(a->error), "refused: %s", why);
		return;
	}
	if (b4_crypto_webhook_sign(secret, (int64_t)time(NULL), body, strlen(body), signature,
				   sizeof(signature)) < 0) {
		snprintf(a->error, sizeof(a->error), "cannot sign");
		return;
	}
	snprintf(sig_header, sizeof(sig_header), "B4-Signature: %s", signature);
	snprintf(event_header, sizeof(event_header), "B4-Event: %s", event);
	snprintf(id_header, sizeof(id_header), "B4-Event-Id: %s", event_id);
	snprintf(delivery_header, sizeof(delivery_header), "B4-Delivery-Id: %s", delivery_id);
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = url;
	req.headers = headers;
	req.body = body;
	req.body_len = strlen(body);
	req.connect_timeout_ms = timeout_ms < 5000 ? timeout_ms : 5000;
	req.timeout_ms = timeout_ms;
	req.retries = 0; /* a retry is a new logged attempt on the schedule */
	req.max_response_bytes = 1024;
	req.guard = &guard;
	b4_httpc_do(&req, &resp);
	a->status_code = resp.status;
	a->duration_ms = (unsigned)(resp.seconds * 1000 + 0.5);
	if (resp.status > 0)
		make_excerpt(a->excerpt, sizeof(a->excerpt), resp.body ? resp.body : "",
			     resp.body_len);
	if (resp.status == 0)
		snprintf(a->error, sizeof(a->error), "%s",
			 resp.timed_out	 ? "timeout"
			 : resp.error[0] ? resp.error
					 : "network error");
	else if (resp.status < 200 || resp.status > 299)
		snprintf(a->error, sizeof(a->error), "HTTP %ld", resp.status);
	b4_httpc_response_cleanup(&resp);
}

int webhook_deliver_job(struct worker_ctx *ctx, const struct b4_job *job, char *err, size_t errcap)
{
	cJSON *payload = cJSON_Parse(job->payload);
	const char *delivery_id = opt_str(payload, "delivery_id");
	struct b4_db_result *res = NULL;
	struct attempt a;
	char *secret = NULL;
	int rc = WORKER_DONE;

	if (!delivery_id) {
		snprintf(err, errcap, "payload needs delivery_id");
		rc = WORKER_FATAL;
		goto out_free_payload;
	}
	res = b4_db_query(
	    ctx->db,
	    "SELECT d.status, d.attempts, d.payload, d.event, d.event_id,"
	    " e.url, e.secret_enc, e.active"
	    " FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id"
	    " WHERE d.id = ?",
	    "s", delivery_id);
	if (!res) {
		snprintf(err, errcap, "database: %s", b4_db_error(ctx->db));
		rc = WORKER_RETRY;
		goto out_free_payload;
	}
	if (b4_db_rows(res) == 0) {
		snprintf(err, errcap, "no such delivery");
		rc = WORKER_FATAL;
		goto out_free_result;
	}
	if (strcmp(b4_db_str(res, 0, 0), "pending") != 0)
		goto out_free_result; /* already succeeded or given up */
	if (b4_db_i64(res, 0, 7) == 0) {
		give_up(ctx->db, delivery_id, "endpoint disabled");
		goto out_free_result;
	}
	secret = b4_pii_decrypt("webhook_endpoints.secret_enc", b4_db_str(res, 0, 6));
	if (!secret) {
		give_up(ctx->db, delivery_id, "endpoint secret unreadable");
		snprintf(err, errcap, "cannot decrypt the endpoint secret");
		rc = WORKER_FATAL;
		goto out_free_result;
	}

	memset(&a, 0, sizeof(a));
	a.delivery_id = delivery_id;
	a.number = (int)b4_db_i64(res, 0, 1) + 1;
	a.job = job;
	a.owner = ctx->owner;
	post(b4_db_str(res, 0, 5), secret, b4_db_str(res, 0, 3), b4_db_str(res, 0, 4), delivery_id,
	     b4_db_str(res, 0, 2), &a);
	if (!a.error[0]) {
		a.new_status = "succeeded";
	} else if (job->attempts >= WEBHOOK_MAX_ATTEMPTS) {
		a.new_status = "failed";
	} else {
		a.new_status = "pending";
		a.retry_seconds =
		    jittered(retry_schedule[job->attempts - 1]) * worker_webhook_backoff_scale;
	}
	if (b4_db_tx(ctx->db, attempt_tx, &a) < 0) {
		/* the POST happened but is not logged: retrying may send it
		 * again, which receivers absorb by event id */
		snprintf(err, errcap, "cannot log the attempt: %s", b4_db_error(ctx->db));
		rc = WORKER_RETRY;
		goto out_free_secret;
	}
	b4_log_info("webhook attempt", B4_LS("delivery_id", delivery_id),
		    B4_LI("attempt", a.number), B4_LI("status_code", a.status_code),
		    B4_LI("duration_ms", a.duration_ms), B4_LS("result", a.new_status));
	ctx->completed = a.completed;
	if (strcmp(a.new_status, "pending") == 0) {
		snprintf(err, errcap, "%s", a.error);
		ctx->retry_seconds = a.retry_seconds;
		rc = WORKER_RETRY;
	}
out_free_secret:
	b4_pii_free(secret);
out_free_result:
	b4_db_result_free(res);
out_free_payload:
	cJSON_Delete(payload);
	return rc;
}
