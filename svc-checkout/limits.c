/* limits.c - what the public, account-less endpoints accept and how often
 * (issue #11): coupon checks and funnel events are limited per client
 * address and per checkout session (b4/ratelimit.h, shared by replicas);
 * a funnel event is at most 4 KiB and carries only allow-listed
 * properties of known types. */
#include "checkout.h"
#include "b4/json.h"
#include "b4/ratelimit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENT_MAX_BYTES 4096

int checkout_coupon_admit(struct b4_req *req)
{
	const struct checkout_app *app = req->app;
	const char *session = b4_req_query(req, "session_id");

	if (session && !b4_text_is_uuid(session)) {
		b4_req_errorf(req, 422, "invalid_request_error", "invalid_session_id", "session_id",
			      "session_id must be a checkout session id");
		return -1;
	}
	return b4_ratelimit_check(req, "coupon_address", app->coupon_checks_per_address,
				  "coupon_session", session, app->coupon_checks_per_session,
				  app->public_limit_window_seconds);
}

/* The properties an event may carry besides its own fields. */
enum prop_kind { PROP_TEXT, PROP_INT };
static const struct event_prop {
	const char *name;
	enum prop_kind kind;
	int64_t max; /* characters of a text, largest integer */
} event_props[] = {
    {"step", PROP_INT, 100},
    {"payment_method", PROP_TEXT, 16},
    {"installments", PROP_INT, 12},
    {"coupon_code", PROP_TEXT, 40},
    {"bump_offer_code", PROP_TEXT, 10},
    {"amount_cents", PROP_INT, 100000000000},
    {"error_code", PROP_TEXT, 64},
    {"order_id", PROP_TEXT, 36},
    {"duration_ms", PROP_INT, 86400000},
    {"device", PROP_TEXT, 32},
    {"page_url", PROP_TEXT, 1024},
    {"referrer", PROP_TEXT, 1024},
    {"utm_source", PROP_TEXT, 100},
    {"utm_medium", PROP_TEXT, 100},
    {"utm_campaign", PROP_TEXT, 100},
    {"utm_content", PROP_TEXT, 100},
    {"utm_term", PROP_TEXT, 100},
};
#define NPROPS (sizeof(event_props) / sizeof(event_props[0]))

static const char *const event_fields[] = {"event_id", "event_name", "session_id", "offer_code",
					   "timestamp"};
#define NFIELDS (sizeof(event_fields) / sizeof(event_fields[0]))

int checkout_event_admit(struct b4_req *req, const cJSON *body, char **props_text)
{
	const struct checkout_app *app = req->app;
	const char *allowed[NFIELDS + NPROPS + 1];
	const cJSON *session = cJSON_GetObjectItemCaseSensitive(body, "session_id");
	struct b4_error err;
	cJSON *props;

	*props_text = NULL;
	if (req->body_len > EVENT_MAX_BYTES) {
		b4_req_errorf(req, 413, "invalid_request_error", "event_too_large", NULL,
			      "an event is at most %d bytes", EVENT_MAX_BYTES);
		return -1;
	}
	for (size_t i = 0; i < NFIELDS; i++)
		allowed[i] = event_fields[i];
	for (size_t i = 0; i < NPROPS; i++)
		allowed[NFIELDS + i] = event_props[i].name;
	allowed[NFIELDS + NPROPS] = NULL;
	if (b4_json_reject_unknown(body, allowed, NULL, &err) < 0) {
		b4_req_send_error(req, &err);
		return -1;
	}
	props = cJSON_CreateObject();
	for (size_t i = 0; i < NPROPS; i++) {
		const struct event_prop *p = &event_props[i];
		const char *text = NULL;
		int64_t number = -1;
		int rc = p->kind == PROP_TEXT ? b4_json_get_str(body, p->name, B4_JSON_OPTIONAL, 1,
								(size_t)p->max, &text, &err)
					      : b4_json_get_int(body, p->name, B4_JSON_OPTIONAL, 0,
								p->max, &number, &err);
		if (rc < 0) {
			cJSON_Delete(props);
			b4_req_send_error(req, &err);
			return -1;
		}
		if (text)
			cJSON_AddStringToObject(props, p->name, text);
		else if (number >= 0)
			cJSON_AddNumberToObject(props, p->name, (double)number);
	}
	if (b4_ratelimit_check(req, "event_address", app->events_per_address, "event_session",
			       cJSON_IsString(session) ? session->valuestring : NULL,
			       app->events_per_session, app->public_limit_window_seconds) < 0) {
		cJSON_Delete(props);
		return -1;
	}
	*props_text = cJSON_PrintUnformatted(props);
	cJSON_Delete(props);
	if (!*props_text) {
		b4_req_errorf(req, 500, "api_error", "internal", NULL, "out of memory");
		return -1;
	}
	return 0;
}
