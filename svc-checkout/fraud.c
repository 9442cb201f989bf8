/* fraud.c - explainable antifraud: each rule that fires adds points and a
 * reason; the order is refused (before any acquirer call) when the score
 * reaches B4_FRAUD_THRESHOLD.  Score and reasons are stored with the order. */
#include "checkout.h"
#include "b4/crypto.h"
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

/* The velocity rules: how many recent orders (or charges) share a value. */
struct velocity_rule {
	const char *rule;
	const char *what; /* "orders from this email" */
	const char *sql;  /* one string parameter, then the window in seconds */
	int points;
};

static const struct velocity_rule velocity_rules[] = {
    {"velocity_email", "orders from this email",
     "SELECT COUNT(*) FROM orders o JOIN customers c ON c.id = o.customer_id"
     " WHERE c.email = ? AND o.created_at > UTC_TIMESTAMP(6) - INTERVAL ? SECOND",
     40},
    {"velocity_document", "orders from this document",
     "SELECT COUNT(*) FROM orders o JOIN customers c ON c.id = o.customer_id"
     " WHERE c.document_bidx = ? AND o.created_at > UTC_TIMESTAMP(6) - INTERVAL ? SECOND",
     40},
    {"velocity_ip", "orders from this IP",
     "SELECT COUNT(*) FROM orders WHERE client_ip = ?"
     " AND created_at > UTC_TIMESTAMP(6) - INTERVAL ? SECOND",
     40},
    {"velocity_card", "orders with this card",
     "SELECT COUNT(*) FROM charges WHERE card_fingerprint = ?"
     " AND created_at > UTC_TIMESTAMP(6) - INTERVAL ? SECOND",
     80},
    {"card_declines", "declined charges with this card",
     "SELECT COUNT(*) FROM charges WHERE card_fingerprint = ? AND status = 'declined'"
     " AND created_at > UTC_TIMESTAMP(6) - INTERVAL ? SECOND",
     40},
};

/* The sandbox's documented test cards (docs/ACQUIRER.md). */
static const char *const sandbox_test_cards[] = {
    "4111111111111111", "5555555555554444", "4000000000000002",
    "4000000000009995", "4000000000000119", "4000000000003220",
};

/* In development, is the card one of the sandbox's test cards?  The sandbox
 * fingerprints a card as hex HMAC-SHA256(its secret, number), and checkout
 * shares that secret with it, so the test cards are recognised without
 * ever seeing a number. */
static bool is_sandbox_test_card(const struct checkout_app *app, const char *fingerprint)
{
	const char *secret = app->acquirers.secret;
	unsigned char mac[32];
	char hex[65];

	if (!app->fraud_skip_test_cards || !fingerprint || strlen(fingerprint) != 64 || !secret ||
	    !*secret)
		return false;
	for (size_t i = 0; i < sizeof(sandbox_test_cards) / sizeof(sandbox_test_cards[0]); i++) {
		if (b4_crypto_hmac_sha256(secret, strlen(secret), sandbox_test_cards[i],
					  strlen(sandbox_test_cards[i]), mac) < 0)
			return false;
		b4_crypto_hex_encode(mac, sizeof(mac), hex, sizeof(hex));
		if (strcasecmp(hex, fingerprint) == 0)
			return true;
	}
	return false;
}

int checkout_fraud_score(struct b4_db *db, const struct checkout_app *app,
			 const struct checkout_fraud_input *in, cJSON **reasons)
{
	const char *values[] = {in->email, in->document_bidx, in->client_ip, in->card_fingerprint,
				in->card_fingerprint};
	const int64_t limits[] = {app->fraud_email_max, app->fraud_document_max, app->fraud_ip_max,
				  app->fraud_card_max, 3};
	int score = 0;
	char detail[128];
	/* somebody trying the platform pays with the same test card again and
	 * again: the card rules must not refuse them */
	bool test_card = is_sandbox_test_card(app, in->card_fingerprint);

	*reasons = cJSON_CreateArray();
	for (size_t k = 0; k < sizeof(velocity_rules) / sizeof(velocity_rules[0]); k++) {
		int64_t n;
		if (!values[k] || !values[k][0] || (test_card && values[k] == in->card_fingerprint))
			continue;
		n = count_recent(db, velocity_rules[k].sql, values[k], app->fraud_window_seconds);
		if (n < 0) {
			cJSON_Delete(*reasons);
			*reasons = NULL;
			return -1;
		}
		if (n >= limits[k]) {
			snprintf(detail, sizeof(detail), "%lld %s in %llds", (long long)n,
				 velocity_rules[k].what, (long long)app->fraud_window_seconds);
			add_reason(*reasons, &score, velocity_rules[k].rule,
				   velocity_rules[k].points, detail);
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
}
