/* idempotency.h - Idempotency-Key for every endpoint that creates a money
 * movement (checkout orders and upsells, producer and admin refunds).
 *
 * One row per (scope, key) in idempotency_keys; inserting it is the atomic
 * claim (duplicate key = someone else has it).  One lock time, one set of
 * answers, and the stored response is always encrypted (it may carry an
 * access token or buyer data):
 *   same key, same request, done          -> the stored answer again, with
 *                                            Idempotent-Replayed: true
 *   same key, another request             -> 422 idempotency_error
 *                                            idempotency_key_reused
 *   same key while the first still runs   -> 409 idempotency_error
 *                                            request_in_progress
 * A claim whose holder died (lock time over) is taken over when nothing
 * was created under it; when something was (resource_id), the scope's
 * `show` callback answers with that resource as it is now.  Keys live 24 h.
 */
#ifndef B4_IDEMPOTENCY_H
#define B4_IDEMPOTENCY_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

struct b4_db;
struct b4_req;

#define B4_IDEM_LOCK_SECONDS 120
#define B4_IDEM_TTL_HOURS    24
#define B4_IDEM_KEY_MAX	     255

/* Answers a stale claim whose resource exists (e.g. shows the order).
 * Returns 0 after answering, -1 on a database error (not answered). */
typedef int b4_idem_show_fn(struct b4_req *req, const char *resource_id);

struct b4_idem {
	char scope[64];
	const char *key; /* the header's value, owned by the request */
	char request_hash[65];
	b4_idem_show_fn *show; /* NULL: a stale claim with a resource answers 409 */
};

/* Reads the Idempotency-Key header into idem and hashes the request (path
 * and canonical body).  Returns 0 when a key is there, 1 when it is absent
 * and !required (idem->key NULL: the endpoint runs without one), -1 after
 * answering 400 (missing when required, or malformed). */
int b4_idem_prepare(struct b4_req *req, struct b4_idem *idem, const char *scope, const cJSON *body,
		    bool required);

/* Looks the key up without claiming it: answers a replay, 409 or 422 and
 * returns 1 (over any answer already set: b4-checkout looks up only once
 * it has refused a request before claiming); returns 0 when the key is
 * free (a stale empty claim is dropped); -1 after answering a database
 * error. */
int b4_idem_lookup(struct b4_req *req, struct b4_idem *idem);

/* Claims the key (its own short commit, so a second request sees it at
 * once).  Returns 0 when this request owns it, 1 after answering from what
 * another request left (replay, 409, 422), -1 after answering a database
 * error. */
int b4_idem_claim(struct b4_req *req, struct b4_idem *idem);

/* Claims the key inside the caller's transaction, with what it creates
 * (resource_id, may be NULL): the claim commits with the resource and a
 * rollback gives it back.  A second request with the key waits on the row
 * until this transaction ends.  Returns 0 claimed, 1 the key is taken
 * (roll back, then b4_idem_claim answers or takes over a stale claim), -1
 * on a database error. */
int b4_idem_claim_in_tx(struct b4_db *db, const struct b4_idem *idem, const char *resource_id);

/* Records what the claim created (inside the caller's transaction), so a
 * retry after a crash shows it instead of creating another.  0 or -1. */
int b4_idem_set_resource(struct b4_db *db, const struct b4_idem *idem, const char *resource_id);

/* Stores the answer (encrypted) with the key: done.  May run inside the
 * caller's transaction.  0, or -1 (database, keys not loaded). */
int b4_idem_store(struct b4_db *db, const struct b4_idem *idem, int status, const char *body_text,
		  const char *resource_id);

/* b4_idem_store of body's JSON text (wiped after).  0 or -1. */
int b4_idem_store_json(struct b4_db *db, const struct b4_idem *idem, int status, const cJSON *body,
		       const char *resource_id);

/* Stores body as the answer (logged when it cannot be) and sends it.
 * Takes ownership of body. */
void b4_idem_finish(struct b4_req *req, const struct b4_idem *idem, int status, cJSON *body,
		    const char *resource_id);

/* Gives the key back: nothing was created.  Logs a failure. */
void b4_idem_release(struct b4_db *db, const struct b4_idem *idem);

/* Deletes up to max keys whose B4_IDEM_TTL_HOURS are over: no lookup
 * answers from them any more, and without this they, with their stored
 * answers, stay for good.  The worker's monitor calls it.  Returns how
 * many were deleted, or -1. */
int64_t b4_idem_prune(struct b4_db *db, int64_t max);

#endif
