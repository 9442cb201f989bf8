/* idempotency.c - Idempotency-Key: the first 2xx answer per key is kept
 * for 24 h and replayed with `Idempotent-Replayed: true`; the same key with
 * another request is refused (422); a retry that arrives while the first
 * request still runs waits for its answer (bounded), then replays it. */
#include "sandbox.h"
#include "b4/crypto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IDEM_TTL_SECONDS (24 * 3600)

static bool key_is_valid(const char *key)
{
	size_t n = strlen(key);

	if (n == 0 || n > SBX_IDEM_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (key[i] < 0x20 || key[i] > 0x7e)
			return false;
	return true;
}

static void request_hash(const struct b4_req *req, unsigned char out[32])
{
	struct b4_buf buf;

	b4_buf_init(&buf);
	b4_buf_puts(&buf, req->method);
	b4_buf_puts(&buf, " ");
	b4_buf_puts(&buf, req->path);
	b4_buf_puts(&buf, "\n");
	b4_buf_append(&buf, req->body ? req->body : "", req->body_len);
	b4_crypto_sha256(buf.data ? buf.data : "", buf.len, out);
	b4_buf_cleanup(&buf);
}

/* Takes e off the list and the index and frees it; with app->lock held. */
static void unlink_free(struct sbx_app *app, struct sbx_idem *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		app->idem_oldest = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		app->idem_newest = e->prev;
	sbx_map_remove(&app->idem_by_key, e->key);
	free(e->body);
	free(e);
}

/* Drops finished records older than the TTL, oldest first; with app->lock
 * held. */
static void prune(struct sbx_app *app, int64_t now)
{
	while (app->idem_oldest && app->idem_oldest->done &&
	       now - app->idem_oldest->created_at > IDEM_TTL_SECONDS)
		unlink_free(app, app->idem_oldest);
}

static struct sbx_idem *find(struct sbx_app *app, const char *key)
{
	return sbx_map_get(&app->idem_by_key, key);
}

enum sbx_idem_result sbx_idem_begin(struct b4_req *req, struct sbx_idem **slot)
{
	struct sbx_app *app = req->app;
	const char *key = b4_req_header(req, "Idempotency-Key");
	unsigned char hash[32];
	struct timespec deadline;
	struct sbx_idem *e;
	int status = 0, rc;
	char *replay = NULL;

	*slot = NULL;
	if (!key)
		return SBX_IDEM_PROCEED;
	if (!key_is_valid(key)) {
		b4_req_errorf(
		    req, 400, "invalid_request_error", "invalid_idempotency_key", "Idempotency-Key",
		    "Idempotency-Key must be 1 to %d printable characters.", SBX_IDEM_KEY_MAX);
		return SBX_IDEM_ANSWERED;
	}
	request_hash(req, hash);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += (time_t)app->hang_seconds + 10;

	pthread_mutex_lock(&app->lock);
	prune(app, sbx_now());
	for (;;) {
		e = find(app, key);
		if (!e)
			break;
		if (!b4_crypto_equal(e->request_hash, hash, sizeof(hash))) {
			pthread_mutex_unlock(&app->lock);
			b4_req_errorf(req, 422, "invalid_request_error", "idempotency_key_reused",
				      "Idempotency-Key",
				      "This Idempotency-Key was used with a different request.");
			return SBX_IDEM_ANSWERED;
		}
		if (e->done) {
			status = e->status;
			replay = strdup(e->body);
			pthread_mutex_unlock(&app->lock);
			if (!replay) {
				b4_req_errorf(req, 503, "api_error", "out_of_memory", NULL,
					      "Out of memory.");
				return SBX_IDEM_ANSWERED;
			}
			b4_req_set_header(req, "Idempotent-Replayed", "true");
			b4_req_send(req, status, "application/json", replay, strlen(replay));
			free(replay);
			return SBX_IDEM_ANSWERED;
		}
		app->waiters++;
		rc = pthread_cond_timedwait(&app->idem_cond, &app->lock, &deadline);
		app->waiters--;
		if (rc == ETIMEDOUT || app->stopping) {
			e = find(app, key);
			if (e && !e->done) {
				pthread_mutex_unlock(&app->lock);
				b4_req_errorf(
				    req, 409, "invalid_request_error", "idempotency_in_progress",
				    "Idempotency-Key",
				    "A request with this Idempotency-Key is still running.");
				return SBX_IDEM_ANSWERED;
			}
		}
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		pthread_mutex_unlock(&app->lock);
		b4_req_errorf(req, 503, "api_error", "out_of_memory", NULL, "Out of memory.");
		return SBX_IDEM_ANSWERED;
	}
	memcpy(e->key, key, strlen(key) + 1);
	memcpy(e->request_hash, hash, sizeof(hash));
	e->created_at = sbx_now();
	if (sbx_map_put(&app->idem_by_key, e->key, e) < 0) {
		pthread_mutex_unlock(&app->lock);
		free(e);
		b4_req_errorf(req, 503, "api_error", "out_of_memory", NULL, "Out of memory.");
		return SBX_IDEM_ANSWERED;
	}
	e->prev = app->idem_newest;
	if (app->idem_newest)
		app->idem_newest->next = e;
	else
		app->idem_oldest = e;
	app->idem_newest = e;
	pthread_mutex_unlock(&app->lock);
	*slot = e;
	return SBX_IDEM_PROCEED;
}

void sbx_idem_release(struct b4_req *req, struct sbx_idem *slot)
{
	struct sbx_app *app = req->app;

	if (!slot)
		return;
	pthread_mutex_lock(&app->lock);
	unlink_free(app, slot);
	pthread_cond_broadcast(&app->idem_cond);
	pthread_mutex_unlock(&app->lock);
}

void sbx_reply(struct b4_req *req, struct sbx_idem *slot, int status, cJSON *body)
{
	struct sbx_app *app = req->app;
	char *text = cJSON_PrintUnformatted(body);
	char *stored = NULL;

	cJSON_Delete(body);
	if (!text) {
		sbx_idem_release(req, slot);
		b4_req_errorf(req, 503, "api_error", "out_of_memory", NULL, "Out of memory.");
		return;
	}
	if (slot && status >= 200 && status < 300)
		stored = strdup(text);
	if (stored) {
		pthread_mutex_lock(&app->lock);
		slot->status = status;
		slot->body = stored;
		slot->done = true;
		pthread_cond_broadcast(&app->idem_cond);
		pthread_mutex_unlock(&app->lock);
	} else {
		sbx_idem_release(req, slot);
	}
	b4_req_send(req, status, "application/json", text, strlen(text));
	free(text);
}

void sbx_idem_free_all(struct sbx_app *app)
{
	while (app->idem_oldest) {
		struct sbx_idem *e = app->idem_oldest;
		app->idem_oldest = e->next;
		free(e->body);
		free(e);
	}
	app->idem_newest = NULL;
	sbx_map_cleanup(&app->idem_by_key);
}
