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

/* The velocity rules (checkout.h, CHECKOUT_VELOCITY_COLUMNS): whether the
 * recent orders (or charges) sharing a value reached the rule's limit, all
 * five in one statement. */
#define VELOCITY_SQL "SELECT " CHECKOUT_VELOCITY_COLUMNS("?")

struct velocity_rule {
	const char *rule;
	const char *what; /* "orders from this email" */
	int points;
};

static const struct velocity_rule velocity_rules[] = {
    {"velocity_email", "orders from this email", 40},
    {"velocity_document", "orders from this document", 40},
    {"velocity_ip", "orders from this IP", 40},
    {"velocity_card", "orders with this card", 80},
    {"card_declines", "declined charges with this card", 40},
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

const char *checkout_null_if_empty(const char *v)
{
	return v && v[0] ? v : NULL;
}

/* The limits, in the columns' order; card_declines' is fixed. */
static void velocity_limits(const struct checkout_app *app,
			    int64_t limits[CHECKOUT_VELOCITY_COUNTERS])
{
	limits[0] = app->fraud_email_max;
	limits[1] = app->fraud_document_max;
	limits[2] = app->fraud_ip_max;
	limits[3] = app->fraud_card_max;
	limits[4] = 3;
}

void checkout_velocity_offsets(const struct checkout_app *app,
			       int64_t offsets[CHECKOUT_VELOCITY_COUNTERS])
{
	velocity_limits(app, offsets);
	for (size_t k = 0; k < CHECKOUT_VELOCITY_COUNTERS; k++)
		offsets[k]--;
}

int checkout_fraud_score(struct b4_db *db, const struct checkout_app *app,
			 const struct checkout_fraud_input *in, cJSON **reasons)
{
	const char *values[] = {in->email, in->document_bidx, in->client_ip, in->card_fingerprint,
				in->card_fingerprint};
	const int64_t window = app->fraud_window_seconds;
	int64_t limits[CHECKOUT_VELOCITY_COUNTERS], off[CHECKOUT_VELOCITY_COUNTERS];
	bool reached[CHECKOUT_VELOCITY_COUNTERS];
	struct b4_db_result *res;
	int score = 0;
	char detail[128];
	/* somebody trying the platform pays with the same test card again and
	 * again: the card rules must not refuse them */
	bool test_card = is_sandbox_test_card(app, in->card_fingerprint);

	velocity_limits(app, limits);
	*reasons = cJSON_CreateArray();
	if (in->reached) {
		memcpy(reached, in->reached, sizeof(reached));
	} else {
		checkout_velocity_offsets(app, off);
		res = b4_db_query(db, VELOCITY_SQL, "siisiisiisiisii",
				  checkout_null_if_empty(values[0]), window, off[0],
				  checkout_null_if_empty(values[1]), window, off[1],
				  checkout_null_if_empty(values[2]), window, off[2],
				  checkout_null_if_empty(values[3]), window, off[3],
				  checkout_null_if_empty(values[4]), window, off[4]);
		if (!res) {
			cJSON_Delete(*reasons);
			*reasons = NULL;
			return -1;
		}
		for (size_t k = 0; k < CHECKOUT_VELOCITY_COUNTERS; k++)
			reached[k] = !b4_db_is_null(res, 0, k);
		b4_db_result_free(res);
	}
	for (size_t k = 0; k < sizeof(velocity_rules) / sizeof(velocity_rules[0]); k++) {
		if (test_card && values[k] == in->card_fingerprint)
			continue;
		if (reached[k]) {
			snprintf(detail, sizeof(detail), "%lld or more %s in %llds",
				 (long long)limits[k], velocity_rules[k].what, (long long)window);
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
