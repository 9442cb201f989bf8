/* order_engine.h - the order pipeline shared by POST /orders and the
 * one-click upsell: idempotency claim, the first transaction, the acquirer
 * call and the second transaction. */
#ifndef B4_SVC_CHECKOUT_ORDER_ENGINE_H
#define B4_SVC_CHECKOUT_ORDER_ENGINE_H

#include "checkout.h"
#include "b4/br.h"
#include "b4/idempotency.h"
#include "b4/orders.h"

struct checkout_order {
	const struct checkout_app *app;
	struct b4_req *req;
	struct b4_idem idem;
	/* what is bought */
	struct checkout_offer main;
	const char *item_type; /* "main" or "upsell" */
	struct checkout_offer bumps[CHECKOUT_MAX_BUMPS];
	size_t nbumps;
	const char *method; /* "card", "pix", "boleto" */
	int installments;
	/* card */
	char card_token[129];	 /* in clear, for the acquirer call only */
	char *card_token_sealed; /* the same as charges keep it (card_tokens.c) */
	char card_acquirer[33];	 /* the acquirer that issued the token */
	char card_brand[17];
	char card_bin[7];
	char card_last4[5];
	char card_fingerprint[65];
	char card_token_hash[65];    /* its card_tokens row, claimed in tx1 */
	char card_token_used_by[65]; /* this attempt (scope and key hashed) */
	/* buyer */
	char customer_id[37]; /* set for an upsell (existing customer) */
	char full_name[201];
	char email[255];
	char document[B4_BR_CNPJ_LEN + 1];
	enum b4_br_document_type document_type;
	char document_bidx[65];
	char phone[20]; /* digits, "" when none */
	/* attribution, coupon, links */
	char session_id[37];
	char session_email[255];
	char affiliation_id[37];
	char affiliate_id[37];
	int affiliate_bps;
	char coupon_id[37];
	bool coupon_once; /* once per customer */
	char parent_order_id[37];
	/* prices, server-computed */
	int64_t subtotal_cents;
	int64_t discount_cents;
	int64_t interest_cents;
	int64_t total_cents;
	/* antifraud */
	bool velocity_reached[CHECKOUT_VELOCITY_COUNTERS]; /* read with the card token */
	bool velocity_known;
	int fraud_score;
	char *fraud_reasons; /* JSON text, malloc'd */
	/* created */
	char order_id[37];
	char charge_id[37];
	char access_token[65];
	char access_token_hash[65];
	struct b4_order_partners partners; /* read with the main offer */
	struct b4_order_known known;	   /* from tx1, for tx2 */
};

/* Reads the Idempotency-Key into o->idem (scope), without a read: an
 * earlier request with the key answers in tx1 (checkout_order_run) or,
 * when this one is refused before, in checkout_idem_refused.  Returns 0
 * when the request goes on, otherwise it was answered (400). */
int checkout_idem_begin(struct checkout_order *o, const char *scope, const cJSON *body);
/* For a request answered before checkout_order_run: when an earlier
 * request used its key, that request's answer (the replay, 409 still in
 * progress, 422 another request) replaces this one. */
void checkout_idem_refused(struct checkout_order *o);
/* Runs the whole pipeline for a validated order and answers.  Frees
 * o->fraud_reasons. */
void checkout_order_run(struct checkout_order *o);
/* Prices the order on the server (never from client totals): items, the
 * coupon discount already in o, installments at B4_MONTHLY_RATE_BP.
 * Returns 0, or -1 when the amounts do not work out. */
int checkout_order_price(struct checkout_order *o);
/* Checks token against order :id (SHA-256, constant-time compare) and
 * copies the id into order_id.  Returns 0, or 1 after answering 400/404. */
int checkout_order_authorize(struct b4_req *req, const char *token, char order_id[37]);

/* card_tokens.c */
/* Checks token for this order attempt (o->idem, o->session_id set): known
 * to b4 or to the acquirer, of the order's session, not expired, unused or
 * used by this same attempt.  Fills the card fields of o (with the row to
 * claim in tx1) and seals the token.  Returns 0; 1 after answering 422
 * (param payment.card_token); -1 after answering a DB error. */
int checkout_card_token_consume(struct checkout_order *o, const char *token);
/* Claims the token checkout_card_token_consume took for o, in the order's
 * first transaction.  Returns 1 claimed (or no token), 0 another attempt
 * has it, -1 on a database error. */
int checkout_card_token_claim(struct b4_db *db, const struct checkout_order *o);
/* Answers 422 card_token_used. */
void checkout_card_token_refuse_used(struct b4_req *req);
/* Opens a token sealed in a charges row into o (upsell).  Returns 0 or -1. */
int checkout_card_token_unseal(struct checkout_order *o, const char *sealed);
/* Records a token the acquirer answered for (info: its brand, bin, last4
 * (4 digits, checked by the caller), fingerprint) as the row hash of
 * card_tokens, good for ttl_seconds; session_id may be NULL.  An existing
 * row counts as recorded.  Returns 0, or -1 on a database error. */
int checkout_card_token_record(struct b4_db *db, const char *hash, const char *acquirer,
			       const char *session_id, const cJSON *info, int64_t ttl_seconds);
/* How long a card token is good for. */
#define CHECKOUT_CARD_TOKEN_TTL_SECONDS 900
/* SHA-256 hex of a token: its key in card_tokens. */
void checkout_card_token_hash(const char *token, char out[65]);

#endif
