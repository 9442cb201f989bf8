/* callbacks.c - signed callbacks to checkout, and the background thread.
 *
 * An event is POSTed to the charge's callback_url with
 * `X-Acquirer-Signature: t=..,v1=..` (b4_crypto_webhook_sign with the
 * acquirer secret).  A non-2xx answer or no answer is retried with backoff
 * (1, 2, 4, 8, 16 s) by the background thread, which also expires unpaid
 * Pix/boleto charges and, with B4_SANDBOX_AUTO_PAY_SECONDS, pays them. */
#include "sandbox.h"
#include "b4/crypto.h"
#include "b4/httpc.h"
#include "b4/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CALLBACK_TIMEOUT_MS 3000

char *sbx_event_body(const struct sbx_charge *charge, const char *type, int64_t amount_cents,
		     const char *event_id_in, char event_id[37])
{
	cJSON *body = cJSON_CreateObject();
	char when[21];
	char *text;

	if (event_id_in)
		memcpy(event_id, event_id_in, 37);
	else
		b4_crypto_uuid7(event_id);
	sbx_iso_time(sbx_now(), when);
	cJSON_AddStringToObject(body, "id", event_id);
	cJSON_AddStringToObject(body, "type", type);
	cJSON_AddStringToObject(body, "charge_id", charge->id);
	cJSON_AddStringToObject(body, "reference", charge->reference);
	cJSON_AddNumberToObject(body, "amount_cents", (double)amount_cents);
	cJSON_AddStringToObject(body, "occurred_at", when);
	text = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	return text;
}

char *sbx_charge_mark_paid(struct sbx_charge *charge)
{
	const char *type = charge->method == SBX_PIX ? "pix.paid" : "boleto.paid";

	snprintf(charge->status, sizeof(charge->status), "paid");
	free(charge->paid_event);
	charge->paid_event =
	    sbx_event_body(charge, type, charge->amount_cents, NULL, charge->paid_event_id);
	return charge->paid_event ? strdup(charge->paid_event) : NULL;
}

long sbx_event_deliver(struct sbx_app *app, const char *url, const char *body)
{
	char signature[B4_CRYPTO_WEBHOOK_HEADER_MAX];
	char sig_header[B4_CRYPTO_WEBHOOK_HEADER_MAX + 32];
	const char *headers[] = {"Content-Type: application/json", sig_header,
				 "User-Agent: b4-acquirer-sandbox", NULL};
	struct b4_httpc_request hreq = {
	    .method = "POST",
	    .url = url,
	    .headers = headers,
	    .body = body,
	    .body_len = strlen(body),
	    .connect_timeout_ms = 2000,
	    .timeout_ms = CALLBACK_TIMEOUT_MS,
	    .max_response_bytes = 64 * 1024,
	};
	struct b4_httpc_response resp;
	long status;

	if (b4_crypto_webhook_sign(app->secret, sbx_now(), body, hreq.body_len, signature,
				   sizeof(signature)) < 0)
		return 0;
	snprintf(sig_header, sizeof(sig_header), "X-Acquirer-Signature: %s", signature);
	b4_httpc_do(&hreq, &resp);
	status = resp.status;
	b4_metrics_add(
	    app->callbacks_total,
	    (const char *const[]){status >= 200 && status < 300 ? "delivered" : "failed"}, 1);
	if (status == 0)
		b4_log_warn("callback not answered", B4_LS("error", resp.error));
	b4_httpc_response_cleanup(&resp);
	return status;
}

/* Seconds to wait before attempt number `attempts` + 1. */
static int64_t backoff_seconds(int attempts)
{
	return attempts <= 0 ? 0 : (int64_t)1 << (attempts - 1);
}

void sbx_event_queue(struct sbx_app *app, const char *event_id, const char *url, char *body,
		     int attempts)
{
	struct sbx_event *e = calloc(1, sizeof(*e));
	struct sbx_event **tail = &app->events;

	if (!e) {
		b4_log_error("callback dropped: out of memory", B4_LS("event_id", event_id));
		free(body);
		return;
	}
	snprintf(e->id, sizeof(e->id), "%s", event_id);
	snprintf(e->url, sizeof(e->url), "%s", url);
	e->body = body;
	e->attempts = attempts;
	e->next_at = sbx_now() + backoff_seconds(attempts);
	while (*tail)
		tail = &(*tail)->next;
	*tail = e;
	pthread_cond_signal(&app->events_cond);
}

static void event_free(struct sbx_event *e)
{
	free(e->body);
	free(e);
}

/* Expires and auto-pays pending Pix/boleto charges; with app->lock held. */
static void sweep_charges(struct sbx_app *app, int64_t now)
{
	struct sbx_charge **link = &app->pending;

	while (*link) {
		struct sbx_charge *c = *link;
		char event_id[37];
		char *body;

		if (strcmp(c->status, "pending") != 0) {
			*link = c->next_pending; /* paid or expired: off the list */
			continue;
		}
		link = &c->next_pending;
		if (app->auto_pay_seconds > 0 && now - c->created_at >= app->auto_pay_seconds &&
		    now < c->expires_at) {
			body = sbx_charge_mark_paid(c);
			b4_log_info("charge paid automatically", B4_LS("charge_id", c->id));
			if (body && c->callback_url)
				sbx_event_queue(app, c->paid_event_id, c->callback_url, body, 0);
			else
				free(body);
		} else if (now >= c->expires_at) {
			snprintf(c->status, sizeof(c->status), "expired");
			b4_log_info("charge expired", B4_LS("charge_id", c->id));
			if (!c->callback_url)
				continue;
			body = sbx_event_body(c, "charge.expired", c->amount_cents, NULL, event_id);
			if (body)
				sbx_event_queue(app, event_id, c->callback_url, body, 0);
		}
	}
}

/* Takes the events due now off the queue; with app->lock held. */
static struct sbx_event *take_due(struct sbx_app *app, int64_t now)
{
	struct sbx_event *due = NULL, **due_tail = &due;
	struct sbx_event **link = &app->events;

	while (*link) {
		struct sbx_event *e = *link;
		if (e->next_at <= now) {
			*link = e->next;
			e->next = NULL;
			*due_tail = e;
			due_tail = &e->next;
			continue;
		}
		link = &e->next;
	}
	return due;
}

static void *callbacks_main(void *arg)
{
	struct sbx_app *app = arg;

	pthread_mutex_lock(&app->lock);
	while (!app->stopping) {
		int64_t now = sbx_now();
		struct sbx_event *due;
		struct timespec deadline;

		sweep_charges(app, now);
		due = take_due(app, now);
		if (due) {
			pthread_mutex_unlock(&app->lock);
			for (struct sbx_event *e = due; e; e = e->next) {
				e->attempts++;
				e->last_status = sbx_event_deliver(app, e->url, e->body);
			}
			pthread_mutex_lock(&app->lock);
			while (due) {
				struct sbx_event *e = due;
				long status = e->last_status;
				due = e->next;
				if (status >= 200 && status < 300) {
					b4_log_info("callback delivered", B4_LS("event_id", e->id),
						    B4_LI("attempts", e->attempts));
					event_free(e);
				} else if (e->attempts >= SBX_CALLBACK_TRIES) {
					b4_log_warn("callback given up", B4_LS("event_id", e->id),
						    B4_LI("status", status),
						    B4_LI("attempts", e->attempts));
					event_free(e);
				} else {
					b4_log_info("callback will be retried",
						    B4_LS("event_id", e->id),
						    B4_LI("status", status),
						    B4_LI("attempts", e->attempts));
					e->next = NULL;
					sbx_event_queue(app, e->id, e->url, e->body, e->attempts);
					free(e);
				}
			}
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += 1;
		pthread_cond_timedwait(&app->events_cond, &app->lock, &deadline);
	}
	pthread_mutex_unlock(&app->lock);
	return NULL;
}

int sbx_callbacks_start(struct sbx_app *app)
{
	if (pthread_create(&app->thread, NULL, callbacks_main, app) != 0)
		return -1;
	app->thread_started = true;
	return 0;
}

void sbx_callbacks_stop(struct sbx_app *app)
{
	if (!app->thread_started)
		return;
	pthread_mutex_lock(&app->lock);
	app->stopping = true;
	pthread_cond_broadcast(&app->events_cond);
	pthread_mutex_unlock(&app->lock);
	pthread_join(app->thread, NULL);
	app->thread_started = false;
	while (app->events) {
		struct sbx_event *e = app->events;
		app->events = e->next;
		b4_log_warn("callback not delivered before shutdown", B4_LS("event_id", e->id));
		event_free(e);
	}
}
