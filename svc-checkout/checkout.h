/* checkout.h - b4-checkout, the public checkout service: private declarations. */
#ifndef B4_SVC_CHECKOUT_H
#define B4_SVC_CHECKOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "b4/acquirer.h"
#include "b4/http.h"
#include "b4/orders.h"
#include "b4/text.h"

struct b4_db;

extern const struct b4_route checkout_routes[];
extern const size_t checkout_nroutes;

#define CHECKOUT_MAX_BUMPS 5

/* The service context (req->app), read-only after init. */
struct checkout_app {
	struct b4_acquirers acquirers; /* list, secret, timeout per call */
	const char *callback_url;      /* base URL; "" = none */
	int64_t monthly_rate_bp;
	int64_t platform_fee_bp;
	int64_t platform_fee_cents;
	int64_t fraud_threshold; /* score at or above which an order is refused */
	int64_t fraud_window_seconds;
	int64_t fraud_card_max; /* orders per card fingerprint in the window */
	int64_t fraud_email_max;
	int64_t fraud_document_max;
	int64_t fraud_ip_max;
	int64_t pix_expires_seconds;
	int64_t boleto_days;
	/* public limits (limits.c), per window of public_limit_window_seconds */
	int64_t public_limit_window_seconds;
	int64_t coupon_checks_per_address;
	int64_t coupon_checks_per_session;
	int64_t events_per_address;
	int64_t events_per_session;
	bool fraud_skip_test_cards; /* development: sandbox test cards never count */
	const char *tokenize_url;   /* the acquirer's public tokenization URL; "" = none */
	const char *public_key;	    /* its public key, given to the page */
	int64_t page_cache_ms;	    /* how long an offer page's answer is reused; 0 never */
};

/* One offer with its product, as checkout needs it. */
struct checkout_offer {
	char id[37];
	char product_id[37];
	char producer_id[37];
	char code[11];
	char name[201];
	char product_name[201];
	char producer_name[201];
	int64_t price_cents;
	int max_installments;
	int interest_free_installments;
	char methods[32]; /* "card,pix,boleto" */
	bool allow_coupon;
	char upsell_offer_id[37]; /* "" when none */
	bool upsell_one_click;
	int guarantee_days;
	bool affiliate_enabled;
	int affiliate_commission_bps;
	int affiliate_cookie_days;
	bool affiliate_first_click; /* else last click */
};

/* offers.c */
/* Loads the active offer `code` (or, with by_id, the offer of that id) whose
 * product is active and not blocked, and when partners is not NULL its
 * co-producers and the producer's utc_offset for b4_order_create, in the
 * same read.  Returns 1 found, 0 not found, -1 on a database error. */
int checkout_offer_load(struct b4_db *db, const char *key, bool by_id, struct checkout_offer *out,
			struct b4_order_partners *partners);
/* Does the offer accept payment method ("card", "pix", "boleto")? */
bool checkout_offer_allows(const struct checkout_offer *offer, const char *method);
/* A valid coupon as an order takes it. */
struct checkout_coupon {
	char id[37];
	char affiliation_id[37]; /* "" when it is the producer's */
	bool once_per_customer;
	int64_t discount_cents;
};
/* Evaluates coupon `code` for the offer at amount_cents, in one read (two
 * for a once-per-customer coupon and a known buyer).  method and
 * document_bidx (the buyer's) may be NULL (not known yet).  Returns 1
 * valid (*out filled), 0 invalid (*reason set to a static code, discount
 * 0), -1 on a database error. */
int checkout_coupon_eval(struct b4_db *db, const struct checkout_offer *offer, const char *code,
			 const char *method, int64_t amount_cents, const char *document_bidx,
			 struct checkout_coupon *out, const char **reason);

/* limits.c */
/* Counts a coupon check against the client address and the optional
 * ?session_id; answers 422/429/503 and returns -1 when it may not go on. */
int checkout_coupon_admit(struct b4_req *req);
/* Checks a parsed funnel event: at most 4 KiB (413), only the known fields
 * and allow-listed properties of the right type (400/422), then the limits
 * per address and per session (429).  On success *props_text is the JSON
 * of its properties (caller frees) and 0 is returned; otherwise it answered
 * and returns -1. */
int checkout_event_admit(struct b4_req *req, const cJSON *body, char **props_text);
/* page.c */
/* Adds the checkout page's extras to the offer page body: description,
 * image_url, guarantee_days, affiliate_cookie_days, upsell {code, name,
 * product_name, price_cents, one_click} (or null) and acquirer
 * {name, tokenize_url, public_key} (null when not configured).  Returns 0,
 * or -1 on a database error (nothing answered). */
int checkout_offer_page_extras(struct b4_req *req, const struct checkout_offer *offer, cJSON *body);

/* sessions.c */
/* Finds the approved affiliation of `ref` for product_id in an enabled
 * program.  Returns 1 found, 0 none, -1 DB error. */
int checkout_affiliation_by_ref(struct b4_db *db, const struct checkout_offer *offer,
				const char *ref, char affiliation_id[37]);

/* acquirer.c - the acquirer protocol of docs/ACQUIRER.md */
enum checkout_acq_outcome {
	CHECKOUT_ACQ_ANSWERED,	  /* *charge holds the acquirer's charge */
	CHECKOUT_ACQ_REJECTED,	  /* 4xx: the request itself was refused */
	CHECKOUT_ACQ_UNAVAILABLE, /* nothing happened there: try another one */
	CHECKOUT_ACQ_UNKNOWN,	  /* timed out and could not be reconciled */
};
/* POST /v1/tokens.  On CHECKOUT_ACQ_ANSWERED *token is the answer (caller
 * deletes); on REJECTED *token is the error answer or NULL. */
enum checkout_acq_outcome checkout_acquirer_tokenize(const struct checkout_app *app,
						     const struct b4_acquirer *acq,
						     const char *body, int *status, cJSON **token);
/* page_cache.c: the offer pages' answers, reused for app->page_cache_ms.
 * checkout_page_cache_answer sends the kept answer of key when there is a
 * fresh one, the page or its 404 (true); checkout_page_cache_send sends
 * body (200, deleted) and keeps its text under key.  Init (the metric
 * checkout_offer_page_answers_total{source="kept"|"read"}) once before
 * the server starts. */
void checkout_page_cache_init(void);
/* The active offer `code` as checkout_offer_load finds it (no partners),
 * kept for app->page_cache_ms: for the page's calls that show or count,
 * never for an order.  Returns 1 found, 0 not found, -1 on a database
 * error. */
int checkout_offer_kept(struct b4_req *req, const char *code, struct checkout_offer *out);
bool checkout_page_cache_answer(struct b4_req *req, const char *key);
/* key has no live offer: its 404 is kept for app->page_cache_ms too */
void checkout_page_cache_missing(struct b4_req *req, const char *key);
void checkout_page_cache_send(struct b4_req *req, const char *key, cJSON *body);
void checkout_page_cache_cleanup(void);

/* order_view.c */
/* The operators' metrics, labelled by payment_method:
 * api_checkouts_started_total (valid orders submitted),
 * api_checkouts_succeeded_total and api_checkout_value_total (cents) when
 * an order is paid.  Init once before the server starts. */
void checkout_metrics_init(void);
void checkout_metric_started(const char *method);
void checkout_metric_succeeded(const char *method, int64_t total_cents);

/* fraud.c */
/* The velocity rules as five select-list columns: whether the orders from
 * the buyer's e-mail, from their document (blind index) and from the
 * client address, then the charges with the card and its declined ones,
 * have reached the rule's limit in the window.  Each is 1 when the
 * limit-th such row exists (LIMIT 1 OFFSET limit - 1), else NULL, so a read
 * stops at the limit however many rows share the value: the orders of a
 * launch behind one carrier's NAT cost the same as one buyer's.  FP is the
 * SQL of the card's fingerprint ("?" to bind it, or a column of the card
 * token read with them).  Binds in order, each value with the window and
 * its offset (checkout_velocity_offsets): e-mail, window, offset,
 * document_bidx, window, offset, client_ip, window, offset, [fingerprint,]
 * window, offset, [fingerprint,] window, offset. */
#define CHECKOUT_VELOCITY_COUNTERS 5
#define CHECKOUT_VELOCITY_COLUMNS(FP)                                                              \
	"(SELECT 1 FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.email = ?"       \
	" AND o.created_at > UTC_TIMESTAMP(6) - INTERVAL ? SECOND LIMIT 1 OFFSET ?),"              \
	" (SELECT 1 FROM orders o JOIN customers c ON c.id = o.customer_id"                        \
	" WHERE c.document_bidx = ?"                                                               \
	" AND o.created_at > UTC_TIMESTAMP(6) - INTERVAL ? SECOND LIMIT 1 OFFSET ?),"              \
	" (SELECT 1 FROM orders WHERE client_ip = ?"                                               \
	" AND created_at > UTC_TIMESTAMP(6) - INTERVAL ? SECOND LIMIT 1 OFFSET ?),"                \
	" (SELECT 1 FROM charges WHERE card_fingerprint = " FP                                     \
	" AND created_at > UTC_TIMESTAMP(6) - INTERVAL ? SECOND LIMIT 1 OFFSET ?),"                \
	" (SELECT 1 FROM charges WHERE card_fingerprint = " FP " AND status = 'declined'"          \
	" AND created_at > UTC_TIMESTAMP(6) - INTERVAL ? SECOND LIMIT 1 OFFSET ?)"
/* Each rule's offset to bind: its limit less one. */
void checkout_velocity_offsets(const struct checkout_app *app,
			       int64_t offsets[CHECKOUT_VELOCITY_COUNTERS]);
/* v, or NULL when empty: an empty value counts nothing (bound as NULL,
 * which matches no row). */
const char *checkout_null_if_empty(const char *v);
struct checkout_fraud_input {
	const char *email;
	const char *document_bidx;
	const char *client_ip;
	const char *card_fingerprint; /* may be NULL */
	const char *session_email;    /* may be NULL */
	int64_t total_cents;
	int64_t offer_price_cents;
	/* the rules' columns as read with the card token, in their order
	 * (NULL: read them) */
	const bool *reached;
};
/* Scores an order with explainable rules.  *reasons is a JSON array
 * (caller deletes) of {rule, points, detail}.  Returns the score, or -1 on
 * a DB error. */
int checkout_fraud_score(struct b4_db *db, const struct checkout_app *app,
			 const struct checkout_fraud_input *in, cJSON **reasons);

/* util */
/* The first member name that appears twice in one object of the tree, or
 * NULL: such bodies are refused, as parsers disagree on which copy wins. */
const char *checkout_json_duplicate(const cJSON *node);
/* b4_req_json_body that also refuses a repeated field (400); NULL when
 * it answered. */
const cJSON *checkout_json_body(struct b4_req *req);
/* An error body in the API shape whose error also names order_id (a
 * refused order); the caller sends or stores it. */
cJSON *checkout_order_error_body(const struct b4_req *req, const char *type, const char *code,
				 const char *message, const char *order_id);
/* Answers 422 invalid_request_error naming param. */
void checkout_invalid(struct b4_req *req, const char *code, const char *param, const char *message);
/* A plausible email: one '@', a dot in the domain, no spaces or brackets. */
bool checkout_email_is_valid(const char *email);

#endif
