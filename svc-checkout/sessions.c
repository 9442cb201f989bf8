/* sessions.c - checkout sessions (the cart, with its attribution) and the
 * funnel events the checkout page sends. */
#include "checkout.h"
#include "b4/crypto.h"
#include "b4/db.h"
#include "b4/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void checkout_session_create(struct b4_req *req);
void checkout_event_create(struct b4_req *req);

int checkout_affiliation_by_ref(struct b4_db *db, const struct checkout_offer *offer,
				const char *ref, char affiliation_id[37])
{
	struct b4_db_result *res;
	int found;

	if (!offer->affiliate_enabled)
		return 0;
	res = b4_db_query(db,
			  "SELECT a.id FROM affiliations a JOIN users u ON u.id = a.affiliate_id"
			  " WHERE a.ref = ? AND a.product_id = ? AND a.status = 'approved'"
			  " AND u.status = 'active'",
			  "ss", ref, offer->product_id);
	if (!res)
		return -1;
	found = b4_db_rows(res) > 0;
	if (found)
		snprintf(affiliation_id, 37, "%s", b4_db_str(res, 0, 0));
	b4_db_result_free(res);
	return found;
}

/* Loads the offer named by the body's offer_code (kept for the page
 * cache's time: a session or an event only names it), or answers 422/503. */
static int offer_from_body(struct b4_req *req, const char *code, struct checkout_offer *offer)
{
	int found = checkout_offer_kept(req, code, offer);

	if (found < 0) {
		b4_req_db_error(req);
		return -1;
	}
	if (found == 0) {
		checkout_invalid(req, "offer_not_found", "offer_code",
				 "no active offer with this code");
		return -1;
	}
	return 0;
}

void checkout_session_create(struct b4_req *req)
{
	static const char *const allowed[] = {"offer_code", "email",	    "ref", "utm_source",
					      "utm_medium", "utm_campaign", NULL};
	const cJSON *body = checkout_json_body(req);
	const char *code = NULL, *email = NULL, *ref = NULL, *src = NULL, *med = NULL, *camp = NULL;
	struct checkout_offer offer;
	struct b4_error err;
	char id[37], affiliation_id[37] = "";
	cJSON *out;

	if (!body)
		return;
	if (b4_json_reject_unknown(body, allowed, NULL, &err) < 0 ||
	    b4_json_get_str(body, "offer_code", B4_JSON_REQUIRED, 1, 10, &code, &err) < 0 ||
	    b4_json_get_str(body, "email", B4_JSON_OPTIONAL, 3, 254, &email, &err) < 0 ||
	    b4_json_get_str(body, "ref", B4_JSON_OPTIONAL, 1, 16, &ref, &err) < 0 ||
	    b4_json_get_str(body, "utm_source", B4_JSON_OPTIONAL, 1, 100, &src, &err) < 0 ||
	    b4_json_get_str(body, "utm_medium", B4_JSON_OPTIONAL, 1, 100, &med, &err) < 0 ||
	    b4_json_get_str(body, "utm_campaign", B4_JSON_OPTIONAL, 1, 100, &camp, &err) < 0) {
		b4_req_send_error(req, &err);
		return;
	}
	if (email && !checkout_email_is_valid(email)) {
		b4_req_errorf(req, 422, "invalid_request_error", "invalid_email", "email",
			      "email is not a valid address");
		return;
	}
	if (offer_from_body(req, code, &offer) < 0)
		return;
	/* An unknown or stale ref never blocks the sale: the session is simply
	 * not attributed. */
	if (ref && checkout_affiliation_by_ref(req->db, &offer, ref, affiliation_id) < 0)
		goto out_db_error;
	if (b4_crypto_uuid7(id) < 0)
		goto out_db_error;
	if (b4_db_exec(
		req->db,
		"INSERT INTO checkout_sessions (id, offer_id, email, affiliation_id, utm_source,"
		" utm_medium, utm_campaign, client_ip) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		"ssssssss", id, offer.id, email, affiliation_id[0] ? affiliation_id : NULL, src,
		med, camp, req->client_ip) < 0)
		goto out_db_error;
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "id", id);
	cJSON_AddStringToObject(out, "offer_code", offer.code);
	cJSON_AddBoolToObject(out, "affiliated", affiliation_id[0] != '\0');
	b4_req_send_json(req, 201, out);
	return;
out_db_error:
	b4_req_db_error(req);
}

/* Parses an RFC 3339 time ("2026-11-29T03:04:05.123Z", "...-03:00") into a
 * UTC "YYYY-MM-DD HH:MM:SS.ffffff" text.  Returns 0 or -1. */
static int rfc3339_to_utc(const char *text, char out[64])
{
	struct tm tm;
	int year, mon, day, hour, min, sec, consumed = 0, micros = 0, digits = 0;
	const char *p;
	long offset = 0;
	time_t t;

	if (sscanf(text, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &year, &mon, &day, &hour, &min, &sec,
		   &consumed) != 6 ||
	    consumed != 19)
		return -1;
	p = text + consumed;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			if (digits < 6) {
				micros = micros * 10 + (*p - '0');
				digits++;
			}
			p++;
		}
		if (digits == 0)
			return -1;
		while (digits++ < 6)
			micros *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om, n = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5 || oh > 23 || om > 59)
			return -1;
		offset = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -1;
	}
	if (*p || year < 2000 || year > 2100 || mon < 1 || mon > 12 || day < 1 || day > 31 ||
	    hour > 23 || min > 59 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (!gmtime_r(&t, &tm) || tm.tm_mday != day) /* 31 February */
		return -1;
	t -= offset;
	if (!gmtime_r(&t, &tm))
		return -1;
	snprintf(out, 64, "%04d-%02d-%02d %02d:%02d:%02d.%06d", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
	return 0;
}

void checkout_event_create(struct b4_req *req)
{
	const cJSON *body = checkout_json_body(req);
	const char *event_id = NULL, *session_id = NULL, *code = NULL, *timestamp = NULL;
	int name_index = -1;
	struct checkout_offer offer;
	struct b4_error err;
	char occurred[64];
	char *props_text = NULL;
	int found;

	if (!body)
		return;
	if (b4_json_get_str(body, "event_id", B4_JSON_REQUIRED, 1, 64, &event_id, &err) < 0 ||
	    b4_json_get_str(body, "session_id", B4_JSON_OPTIONAL, 36, 36, &session_id, &err) < 0 ||
	    b4_json_get_str(body, "offer_code", B4_JSON_REQUIRED, 1, 10, &code, &err) < 0 ||
	    b4_json_get_str(body, "timestamp", B4_JSON_REQUIRED, 1, 40, &timestamp, &err) < 0) {
		b4_req_send_error(req, &err);
		return;
	}
	if (b4_json_get_enum(body, "event_name", B4_JSON_REQUIRED, b4_funnel_steps, &name_index,
			     &err) < 0) {
		/* an unknown name is a client bug: 400, not 422 */
		if (err.status == 422)
			err.status = 400;
		b4_req_send_error(req, &err);
		return;
	}
	for (const char *p = event_id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.')) {
			b4_req_errorf(req, 422, "invalid_request_error", "invalid_event_id",
				      "event_id", "event_id is letters, digits, '-', '_' and '.'");
			return;
		}
	if (rfc3339_to_utc(timestamp, occurred) < 0) {
		b4_req_errorf(req, 422, "invalid_request_error", "invalid_timestamp", "timestamp",
			      "timestamp must be an RFC 3339 time");
		return;
	}
	if (offer_from_body(req, code, &offer) < 0)
		return;
	if (session_id) {
		struct b4_db_result *res = b4_db_query(
		    req->db, "SELECT 1 FROM checkout_sessions WHERE id = ? AND offer_id = ?", "ss",
		    session_id, offer.id);
		if (!res)
			goto out_db_error;
		found = (int)b4_db_rows(res);
		b4_db_result_free(res);
		if (!found) {
			b4_req_errorf(req, 422, "invalid_request_error", "session_not_found",
				      "session_id",
				      "no checkout session with this id for the offer");
			return;
		}
	}
	if (checkout_event_admit(req, body, &props_text) < 0)
		return;
	if (b4_db_exec(req->db,
		       "INSERT INTO checkout_events (event_id, session_id, offer_id, event_name,"
		       " occurred_at, properties) VALUES (?, ?, ?, ?, ?, ?)",
		       "ssssss", event_id, session_id, offer.id, b4_funnel_steps[name_index],
		       occurred, props_text) < 0 &&
	    !b4_db_is_duplicate(req->db)) {
		/* a duplicate event id is a resend: accepted, stored once */
		free(props_text);
		goto out_db_error;
	}
	free(props_text);
	b4_req_send(req, 204, "application/json", "", 0);
	return;
out_db_error:
	b4_req_db_error(req);
}
