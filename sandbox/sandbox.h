/* sandbox.h - b4-acquirer-sandbox: private declarations.
 *
 * The sandbox keeps its state (charges, idempotency records, pending
 * callbacks) in memory, in one struct sbx_app guarded by one mutex; card
 * tokens carry their card encrypted, so no card is kept at all.  Handlers run on worker threads;
 * one background thread sends queued callbacks with backoff, expires unpaid Pix/boleto charges and,
 * when configured, pays them automatically.  Nothing here ever logs a card number or a CVV.
 */
#ifndef B4_SANDBOX_H
#define B4_SANDBOX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "b4/crypto.h"
#include "b4/http.h"
#include "b4/metrics.h"

#define SBX_URL_MAX	   2048
#define SBX_REFERENCE_MAX  100
#define SBX_IDEM_KEY_MAX   255
#define SBX_CALLBACK_TRIES 6   /* first attempt + retries */
#define SBX_TOKEN_MAX	   128 /* "tok_" + field text of the longest payload */
/* A public token's payload: length, number, creation time, session id. */
#define SBX_TOKEN_PACKED_MAX  (1 + 8 + 8 + 16)
#define SBX_TOKEN_TTL_SECONDS 900 /* a public token is good for 15 minutes */
#define SBX_RATE_BUCKETS      1024
#define SBX_ORIGINS_MAX	      8

/* A string-keyed hash map (map.c); keys point into the values. */
struct sbx_map_node;
struct sbx_map {
	struct sbx_map_node **buckets;
	size_t nbuckets;
	size_t count;
};

/* A card decoded from its token (the number never leaves memory). */
struct sbx_card {
	char number[20];
	char brand[16];
	char last4[5];
};

enum sbx_method { SBX_CARD, SBX_PIX, SBX_BOLETO };

struct sbx_charge {
	char id[37];
	char reference[SBX_REFERENCE_MAX + 1];
	enum sbx_method method;
	char status[24];
	int64_t amount_cents;
	int64_t refunded_cents;
	int64_t installments;
	char decline_code[32];
	char brand[16];
	char last4[5];
	char txid[26];
	char *pix_payload;  /* malloc'd BR Code, or NULL */
	int64_t expires_at; /* pix: unix time; boleto: end of the due date */
	char barcode[45];
	char digitable_line[48];
	char due_date[11];
	char *callback_url;	/* malloc'd, or NULL: no callbacks */
	char paid_event_id[37]; /* the pix.paid / boleto.paid event, resent on a second pay */
	char *paid_event;	/* its body (malloc'd), or NULL */
	int64_t created_at;
	struct sbx_charge *next;		/* all charges, newest first */
	struct sbx_charge *next_same_reference; /* older charge with this reference */
	struct sbx_charge *next_pending;	/* pix/boleto created pending */
};

/* The first answer stored per Idempotency-Key. */
struct sbx_idem {
	char key[SBX_IDEM_KEY_MAX + 1];
	unsigned char request_hash[32];
	bool done; /* false while the first request is still running */
	int status;
	char *body; /* malloc'd JSON text when done */
	int64_t created_at;
	struct sbx_idem *prev, *next; /* oldest first */
};

/* A callback waiting for (another) delivery attempt. */
struct sbx_event {
	char id[37];
	char url[SBX_URL_MAX + 1];
	char *body; /* malloc'd */
	int attempts;
	int64_t next_at;
	long last_status; /* HTTP status of the last attempt, 0 = no answer */
	struct sbx_event *next;
};

/* What a public token is bound to (docs/ACQUIRER.md). */
struct sbx_token_binding {
	char session_id[37]; /* the checkout session the page tokenized for */
	int64_t created_at;  /* unix time */
};

/* One fixed-window counter of public tokenizations per client address
 * (addresses hashed into SBX_RATE_BUCKETS, so memory stays bounded). */
struct sbx_rate_bucket {
	int64_t window_start;
	int64_t count;
};

struct sbx_app {
	/* settings */
	char secret[512];
	char public_key[129];		    /* "" = the public endpoint is off */
	char origins[SBX_ORIGINS_MAX][256]; /* CORS origins of the checkout page */
	size_t norigins;
	int64_t public_rate_per_minute;
	char pix_key[80];
	int64_t hang_seconds;
	bool fail_all;
	int64_t auto_pay_seconds;
	struct b4_keyring token_keys; /* one key derived from the secret */

	pthread_mutex_t lock;	    /* everything below */
	pthread_cond_t idem_cond;   /* an in-progress idempotent request finished */
	pthread_cond_t events_cond; /* new event queued, or stopping */
	struct sbx_charge *charges; /* newest first */
	struct sbx_charge *pending; /* pix/boleto not yet swept out of pending */
	struct sbx_map charges_by_id;
	struct sbx_map charges_by_txid;
	struct sbx_map charges_by_barcode;
	struct sbx_map charges_by_reference; /* the newest one */
	struct sbx_rate_bucket rate[SBX_RATE_BUCKETS];
	struct sbx_idem *idem_oldest, *idem_newest;
	struct sbx_map idem_by_key;
	struct sbx_event *events;
	uint64_t boleto_seq;
	int waiters; /* handlers in a long wait (hold, idempotency) */
	bool stopping;
	pthread_t thread;
	struct b4_metric *charges_total;   /* {method, status} */
	struct b4_metric *callbacks_total; /* {result} */
	bool thread_started;
};

/* --- auth (main.c) ------------------------------------------------------- */

/* Answers 401 and returns false unless the request carries
 * `Authorization: Bearer <B4_ACQUIRER_SECRET>` (compared in constant time). */
bool sbx_authorized(struct b4_req *req);
/* Does the request carry `Authorization: Bearer <want>` (constant time;
 * false when want is empty)? */
bool sbx_bearer_is(struct b4_req *req, const char *want);

/* Current unix time and ISO-8601 UTC text of a unix time (out[21]). */
int64_t sbx_now(void);
void sbx_iso_time(int64_t unix_time, char out[21]);

/* --- map (map.c) ----------------------------------------------------------- */

/* Maps key (not copied: it must live as long as the entry) to value,
 * replacing an entry with an equal key.  Returns 0, or -1 out of memory. */
int sbx_map_put(struct sbx_map *map, const char *key, void *value);
/* The value for key, or NULL. */
void *sbx_map_get(const struct sbx_map *map, const char *key);
void sbx_map_remove(struct sbx_map *map, const char *key);
/* Frees the map's own memory (not the values). */
void sbx_map_cleanup(struct sbx_map *map);

/* --- idempotency (idempotency.c) ------------------------------------------ */

enum sbx_idem_result { SBX_IDEM_PROCEED, SBX_IDEM_ANSWERED };

/* Claims the request's Idempotency-Key (if any).  SBX_IDEM_ANSWERED means
 * the request was already answered (replay, 422 for a different request
 * under the same key, 409 while the first is still running, 400 on a bad
 * key).  On SBX_IDEM_PROCEED *slot is the claimed record (NULL without a
 * key); the handler must end with sbx_reply or sbx_idem_release. */
enum sbx_idem_result sbx_idem_begin(struct b4_req *req, struct sbx_idem **slot);
/* Forgets a claimed key so that a retry runs again (errors, 5xx). */
void sbx_idem_release(struct b4_req *req, struct sbx_idem *slot);
/* Answers status with body (deleted) and, for a 2xx, stores the answer in
 * slot for replays; any other status releases the slot. */
void sbx_reply(struct b4_req *req, struct sbx_idem *slot, int status, cJSON *body);
/* Frees every record (shutdown). */
void sbx_idem_free_all(struct sbx_app *app);

/* --- cards and charges (tokens.c, charges.c) ------------------------------ */

/* Derives the token key from the secret into app->token_keys. */
int sbx_tokens_init(struct sbx_app *app);
/* Decodes a card token into *card.  Returns 0, or -1 when the token was not
 * made by a sandbox with this secret.  Wipe *card after use. */
int sbx_card_from_token(const struct sbx_app *app, const char *token, struct sbx_card *card);
/* Like sbx_card_from_token, and fills *binding (zeroed for a token made by
 * the secret-authenticated POST /v1/tokens, which binds nothing). */
int sbx_token_decode(const struct sbx_app *app, const char *token, struct sbx_card *card,
		     struct sbx_token_binding *binding);
/* Validates the card of the request body and answers 201 with its token
 * (bound: the body also names session_id, and the token carries it and its
 * creation time).  Ends with sbx_reply or sbx_idem_release on slot. */
void sbx_tokenize(struct b4_req *req, struct sbx_idem *slot, bool bound);
/* Parses B4_SANDBOX_CORS_ORIGINS into app->origins; -1 on a bad list. */
int sbx_public_init(struct sbx_app *app, const char *origins);
/* Finds a charge by id, pix txid or boleto barcode; with app->lock held. */
struct sbx_charge *sbx_charge_find(struct sbx_app *app, const char *id);
struct sbx_charge *sbx_charge_find_txid(struct sbx_app *app, const char *txid);
struct sbx_charge *sbx_charge_find_barcode(struct sbx_app *app, const char *barcode);
/* The charge as API JSON; with app->lock held. */
cJSON *sbx_charge_json(const struct sbx_charge *charge);
void sbx_store_free_all(struct sbx_app *app);

/* --- callbacks (callbacks.c) --------------------------------------------- */

/* Builds the signed event body for charge (type "pix.paid", ...), with a
 * new event id written to event_id (may be NULL when the caller passes
 * one in event_id_in).  Returns a malloc'd JSON text, or NULL.  With
 * app->lock held. */
char *sbx_event_body(const struct sbx_charge *charge, const char *type, int64_t amount_cents,
		     const char *event_id_in, char event_id[37]);
/* Sends one event now (signed, 3 s timeout); returns the HTTP status, or 0
 * when no answer came.  Never call with app->lock held. */
long sbx_event_deliver(struct sbx_app *app, const char *url, const char *body);
/* Queues an event for the background sender; takes ownership of body.
 * attempts says how many tries were already made.  With app->lock held. */
void sbx_event_queue(struct sbx_app *app, const char *event_id, const char *url, char *body,
		     int attempts);
/* Marks a pending pix/boleto charge paid and keeps its event (id and body)
 * in the charge; with app->lock held.  Returns a malloc'd copy of the event
 * body for delivery, or NULL when out of memory. */
char *sbx_charge_mark_paid(struct sbx_charge *charge);
int sbx_callbacks_start(struct sbx_app *app);
void sbx_callbacks_stop(struct sbx_app *app);

/* --- handlers ------------------------------------------------------------- */

void sbx_token_create(struct b4_req *req);
void sbx_token_lookup(struct b4_req *req);
void sbx_public_token_create(struct b4_req *req);
void sbx_public_preflight(struct b4_req *req);
void sbx_charge_create(struct b4_req *req);
void sbx_charge_get(struct b4_req *req);
void sbx_charge_list(struct b4_req *req);
void sbx_refund_create(struct b4_req *req);
void sbx_control_pix_pay(struct b4_req *req);
void sbx_control_boleto_pay(struct b4_req *req);
void sbx_control_chargeback(struct b4_req *req);

extern const struct b4_route sbx_routes[];
extern const size_t sbx_nroutes;

#endif
