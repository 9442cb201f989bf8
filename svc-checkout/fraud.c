/* fraud.c - explainable antifraud: each rule that fires adds points and a
 * reason; the order is refused (before any acquirer call) when the score
 * reaches B4_FRAUD_THRESHOLD.  Score and reasons are stored with the order. */
#include "checkout.h"
#include "b4/db.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static void add_reason(cJSON *reasons, int *score, const char *rule, int points, const char *detail)
{
	cJSON *r = cJSON_CreateObject();

	cJSON_AddStringToObject(r, "rule", rule);
	cJSON_AddNumberToObject(r, "points", points);
	cJSON_AddStringToObject(r, "detail", detail);
	cJSON_AddItemToArray(reasons, r);
	*score += points;
}

/* COUNT(*) of a one-string-parameter query over the window; -1 on error. */
static int64_t count_recent(struct b4_db *db, const char *sql, const char *value, int64_t window)
{
	struct b4_db_result *res = b4_db_query(db, sql, "si", value, window);
	int64_t n;

	if (!res)
		return -1;
	n = b4_db_i64(res, 0, 0);
	b4_db_result_free(res);
	return n;
}

int checkout_fraud_score(struct b4_db *db, const struct checkout_app *app,
			 const struct checkout_fraud_input *in, cJSON **reasons)
{
	int score = 0;
	int64_t n;
	char detail[128];

	*reasons = cJSON_CreateArray();
	n = count_recent(
	    db,
	    "SELECT COUNT(*) FROM orders o JOIN customers c ON c.id = o.customer_id"
	    " WHERE c.email = ? AND o.created_at > UTC_TIMESTAMP(6) - INTERVAL ? SECOND",
	    in->email, app->fraud_window_seconds);
	if (n < 0)
		goto out_db_error;
	if (n >= app->fraud_email_max) {
		snprintf(detail, sizeof(detail), "%lld orders from this email in %llds",
			 (long long)n, (long long)app->fraud_window_seconds);
		add_reason(*reasons, &score, "velocity_email", 40, detail);
	}
	n = count_recent(db,
			 "SELECT COUNT(*) FROM orders o JOIN customers c ON c.id = o.customer_id"
			 " WHERE c.document_bidx = ?"
			 " AND o.created_at > UTC_TIMESTAMP(6) - INTERVAL ? SECOND",
			 in->document_bidx, app->fraud_window_seconds);
	if (n < 0)
		goto out_db_error;
	if (n >= app->fraud_document_max) {
		snprintf(detail, sizeof(detail), "%lld orders from this document in %llds",
			 (long long)n, (long long)app->fraud_window_seconds);
		add_reason(*reasons, &score, "velocity_document", 40, detail);
	}
	n = count_recent(db,
			 "SELECT COUNT(*) FROM orders WHERE client_ip = ?"
			 " AND created_at > UTC_TIMESTAMP(6) - INTERVAL ? SECOND",
			 in->client_ip, app->fraud_window_seconds);
	if (n < 0)
		goto out_db_error;
	if (n >= app->fraud_ip_max) {
		snprintf(detail, sizeof(detail), "%lld orders from this IP in %llds", (long long)n,
			 (long long)app->fraud_window_seconds);
		add_reason(*reasons, &score, "velocity_ip", 40, detail);
	}
	if (in->card_fingerprint && in->card_fingerprint[0]) {
		n = count_recent(db,
				 "SELECT COUNT(*) FROM charges WHERE card_fingerprint = ?"
				 " AND created_at > UTC_TIMESTAMP(6) - INTERVAL ? SECOND",
				 in->card_fingerprint, app->fraud_window_seconds);
		if (n < 0)
			goto out_db_error;
		if (n >= app->fraud_card_max) {
			snprintf(detail, sizeof(detail), "%lld orders with this card in %llds",
				 (long long)n, (long long)app->fraud_window_seconds);
			add_reason(*reasons, &score, "velocity_card", 80, detail);
		}
		n = count_recent(db,
				 "SELECT COUNT(*) FROM charges WHERE card_fingerprint = ?"
				 " AND status = 'declined'"
				 " AND created_at > UTC_TIMESTAMP(6) - INTERVAL ? SECOND",
				 in->card_fingerprint, app->fraud_window_seconds);
		if (n < 0)
			goto out_db_error;
		if (n >= 3) {
			snprintf(detail, sizeof(detail), "%lld declined charges with this card",
				 (long long)n);
			add_reason(*reasons, &score, "card_declines", 40, detail);
		}
	}
	if (in->offer_price_cents > 0 && in->total_cents > in->offer_price_cents * 10) {
		snprintf(detail, sizeof(detail), "total %lld is over 10x the offer price",
			 (long long)in->total_cents);
		add_reason(*reasons, &score, "amount_outlier", 30, detail);
	}
	if (in->session_email && in->session_email[0] &&
	    strcasecmp(in->session_email, in->email) != 0)
		add_reason(
		    *reasons, &score, "email_mismatch", 20,
		    "the buyer email differs from the one the checkout session started with");
	return score;
out_db_error:
	cJSON_Delete(*reasons);
	*reasons = NULL;
	return -1;
}
