/* api.h - b4-api, the members service: private declarations. */
#ifndef B4_SVC_API_H
#define B4_SVC_API_H

#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>

#include "b4/db.h"
#include "b4/http.h"
#include "b4/text.h"
#include "b4/netguard.h"

/* The service's context (req->app), read-only after init except the
 * semaphore. */
struct api_app {
	enum b4_netguard_policy url_policy; /* webhook URLs */
	sem_t hash_slots;		    /* bounds concurrent argon2id work */
	int64_t login_window_seconds;
	int64_t login_max_per_email;
	int64_t login_max_per_ip;
	int64_t refresh_ttl_seconds;	 /* refresh token lifetime */
	const char *refresh_cookie_path; /* the auth prefix as browsers see it */
	bool refresh_cookie_secure;	 /* Secure attribute (production) */
};

/* ---- login_guard.c: failed-login counters ---- */

/* Seconds the caller (client address) must still wait before trying email
 * again: 0 to go on, -1 on a DB error. */
int64_t api_login_wait(struct b4_req *req, const char *email);
/* Counts a failed password for the address and (email, address). 0 or -1. */
int api_login_failed(struct b4_req *req, const char *email);
/* Forgets the (email, address) failures after a right password (a failure
 * here is only logged). */
void api_login_succeeded(struct b4_req *req, const char *email);

extern const struct b4_route api_routes[];
extern const size_t api_nroutes;

/* ---- util.c: helpers every handler uses ---- */

/* Route parameter `name` when it looks like a UUID, else NULL (the caller
 * answers 404: a malformed id names nothing). */
const char *api_id_param(struct b4_req *req, const char *name);
/* The JSON body with unknown members refused; answers 400 and returns NULL
 * on failure.  An empty body counts as {} when empty_ok. */
const cJSON *api_body(struct b4_req *req, const char *const *allowed, bool empty_ok);
/* Sends err (always returns -1 for `return api_fail(...)` chains). */
int api_fail(struct b4_req *req, const struct b4_error *err);
/* Adds a DATETIME cell as an RFC 3339 UTC string, or null. */
void api_add_time(cJSON *obj, const char *name, const struct b4_db_result *res, size_t row,
		  size_t col);
/* Adds a nullable string cell. */
void api_add_str_or_null(cJSON *obj, const char *name, const struct b4_db_result *res, size_t row,
			 size_t col);
/* Adds a SET('card','pix','boleto') cell as an array of strings. */
void api_add_set(cJSON *obj, const char *name, const char *set_text);
/* Reads an optional array of payment methods into a SET text ("card,pix")
 * in out (>= 32 bytes).  *present tells whether it was given.  An empty
 * array, duplicates or unknown values are refused (422). */
int api_get_methods(const cJSON *body, const char *name, char *out, bool *present,
		    struct b4_error *err);
/* Reads an optional RFC 3339 time ("2026-12-31T23:59:59Z", offsets
 * allowed) into out as "YYYY-MM-DD HH:MM:SS" UTC.  *present as above. */
int api_get_time(const cJSON *body, const char *name, char out[32], bool *present,
		 struct b4_error *err);
/* A UTC offset written "+HH:MM" or "-HH:MM" (the whole text: RFC 3339's
 * suffix, users.utc_offset) into seconds east of UTC.  0, or -1 when text
 * is not one. */
int api_utc_offset_seconds(const char *text, long *seconds);
/* Parses a query time (same format) for filters; returns -1 after
 * answering 400 naming the parameter; *out NULL when absent. */
int api_query_time(struct b4_req *req, const char *name, const char **out);
/* {"data": data, "has_more": has_more}. */
cJSON *api_list(cJSON *data, bool has_more);
/* Enqueues a webhook.event job for the workers in the caller's
 * transaction: {event, owner_id, product_id, data}, dedup key
 * "<event>:<object_id>:<state>".  Takes ownership of data.  0 or -1. */
int api_enqueue_event(struct b4_db *db, const char *event, const char *owner_id,
		      const char *product_id, const char *object_id, const char *state,
		      cJSON *data);
/* Does the caller own product_id?  1 yes, 0 no, -1 DB error. */
int api_owns_product(struct b4_req *req, const char *product_id);
/* True when product_id (may be NULL) is the caller's; otherwise answers
 * 404 (or 503) and returns false. */
bool api_require_product(struct b4_req *req, const char *product_id);

/* For a row locked FOR UPDATE: true when res has a row whose first column
 * is `state`; otherwise frees res, sets *not_found (no row) or
 * *wrong_state, and returns false.  res must not be NULL. */
bool api_row_in_state(struct b4_db_result *res, const char *state, bool *not_found,
		      bool *wrong_state);

/* True when res holds a row; otherwise answers 503 (NULL res) or 404
 * naming `what`, frees res and returns false. */
bool api_found(struct b4_req *req, struct b4_db_result *res, const char *what);
/* GET /.../:id: 404 for a malformed id, else send(req, id, 200). */
void api_get_by_id(struct b4_req *req, const char *what,
		   void (*send)(struct b4_req *req, const char *id, int status));

/* Turns one result row into its JSON object. */
typedef cJSON *api_row_fn(const struct b4_db_result *res, size_t row);
/* Answers a list page from res (the query asked for limit + 1 rows; the
 * extra row only sets has_more) and frees res.  NULL res answers 503. */
void api_send_page(struct b4_req *req, struct b4_db_result *res, size_t limit, api_row_fn *fn);
/* Answers status with the first row of res, 404 naming `what` when there is
 * none, 503 when res is NULL; frees res. */
void api_send_one(struct b4_req *req, struct b4_db_result *res, int status, api_row_fn *fn,
		  const char *what);

/* ---- users.c ---- */
/* The public profile of user id, or NULL (not found or DB error: *db_failed). */
cJSON *api_user_json(struct b4_db *db, const char *id, bool *db_failed);
/* Authenticate hook: the JWT check, then the user must exist and be active. */
int api_authenticate(struct b4_req *req, enum b4_role role);

void api_me(struct b4_req *req);
void api_signup(struct b4_req *req);
void api_login(struct b4_req *req);

/* ---- sessions.c ---- */
/* Adds a new access token (token, expires_at) to out and opens a session:
 * a refresh token in a new family, set as the HttpOnly cookie.  0 or -1
 * (nothing answered). */
int api_session_issue(struct b4_req *req, cJSON *out, const char *user_id, const char *role,
		      const char *email);
void api_refresh(struct b4_req *req);
void api_logout(struct b4_req *req);

/* exports.c: the producer's sales CSV (a report.export job) */
void api_export_create(struct b4_req *req);
void api_export_get(struct b4_req *req);
void api_export_download(struct b4_req *req);

/* charts.c */
void api_dashboard_charts(struct b4_req *req);

/* products.c */
void api_product_create(struct b4_req *req);
void api_product_list(struct b4_req *req);
void api_product_get(struct b4_req *req);
void api_product_update(struct b4_req *req);
void api_product_delete(struct b4_req *req);
void api_product_image_put(struct b4_req *req);

/* offers.c */
void api_offer_create(struct b4_req *req);
void api_offer_list(struct b4_req *req);
void api_offer_get(struct b4_req *req);
void api_offer_update(struct b4_req *req);
void api_offer_bumps(struct b4_req *req);
void api_offer_upsell(struct b4_req *req);

/* coproducers.c */
void api_coproducer_create(struct b4_req *req);
void api_coproducer_list(struct b4_req *req);
void api_coproducer_delete(struct b4_req *req);

/* coupons.c */
void api_coupon_create(struct b4_req *req);
void api_coupon_list(struct b4_req *req);
void api_coupon_get(struct b4_req *req);
void api_coupon_update(struct b4_req *req);

/* affiliations.c */
void api_marketplace(struct b4_req *req);
void api_affiliation_request(struct b4_req *req);
void api_affiliation_list(struct b4_req *req);
void api_affiliation_approve(struct b4_req *req);
void api_affiliation_reject(struct b4_req *req);
/* affiliate_links.c */
void api_affiliation_links(struct b4_req *req);

/* campaigns.c */
void api_campaign_create(struct b4_req *req);
void api_campaign_list(struct b4_req *req);
void api_campaign_get(struct b4_req *req);
void api_campaign_update(struct b4_req *req);
void api_campaign_delete(struct b4_req *req);

/* webhooks.c */
void api_webhook_create(struct b4_req *req);
void api_webhook_list(struct b4_req *req);
void api_webhook_get(struct b4_req *req);
void api_webhook_update(struct b4_req *req);
void api_webhook_delete(struct b4_req *req);
void api_webhook_deliveries(struct b4_req *req);
void api_webhook_resend(struct b4_req *req);

/* sales.c */
void api_sales_list(struct b4_req *req);
void api_sales_summary(struct b4_req *req);
void api_sale_get(struct b4_req *req);
void api_sale_refund(struct b4_req *req);
void api_balance(struct b4_req *req);

#endif
