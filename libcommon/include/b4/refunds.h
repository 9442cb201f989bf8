/* refunds.h - refunds and split reversals, the same for a producer (b4-api
 * POST /sales/:id/refund) and an admin (b4-backoffice POST
 * /orders/:id/refunds).
 *
 * A request writes the refund (requested), moves the order to
 * refund_requested and enqueues refund.process, in the caller's
 * transaction.  The order row is locked first, so concurrent requests for
 * one order queue up and each sees the refunds the others committed: the
 * amount left is what was paid minus every refund not failed, and zero or
 * less is refused.  The worker asks the acquirer (the refund id is the
 * Idempotency-Key: asked once) and settles: refund succeeded, splits
 * reversed pro rata to what is left of each (exactly, in cents), charge
 * partially_refunded or refunded, order refunded once fully refunded (with
 * the NFS-e cancelled) or back to paid, and the "refund" event.
 */
#ifndef B4_REFUNDS_H
#define B4_REFUNDS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct b4_db;
struct b4_idem;
struct b4_req;

struct b4_refund_request {
	const char *order_id;
	const char *producer_id; /* set: only an order of this producer (else 404) */
	bool amount_given;	 /* false: everything left */
	int64_t amount_cents;
	const char *reason;
	const char *requested_by; /* user id, or NULL for the system */
	/* results */
	char refund_id[37];
	int64_t amount;	       /* what was requested */
	int64_t paid_cents;    /* the order's total */
	int64_t already_cents; /* refunds not failed before this one */
	/* a refusal: HTTP status (404, 409, 422), code, param and message */
	int refusal_status;
	const char *refusal_code;
	const char *refusal_param;
	char refusal_message[160];
};

/* Requests a refund in the caller's transaction (see above).  Returns 0,
 * or -1: refusal_status set when refused, 0 on a database error. */
int b4_refund_request(struct b4_db *db, struct b4_refund_request *r);

/* Called inside the request's transaction after the refund was written
 * (the admin's audit row).  0, or -1 to roll everything back. */
typedef int b4_refund_hook_fn(struct b4_db *db, struct b4_req *req,
			      const struct b4_refund_request *r);

/* The whole answer of a refund endpoint, the same for producer and admin:
 * claims idem when it holds a key (see b4/idempotency.h; a replay, 409 or
 * 422 is answered from it), then in one transaction requests r, runs hook
 * (may be NULL) and stores the answer with the key; answers 201 with
 * b4_refund_json, or the refusal (404, 409, 422), releasing the key. */
void b4_refund_respond(struct b4_req *req, struct b4_idem *idem, struct b4_refund_request *r,
		       b4_refund_hook_fn *hook);

/* The refund as the APIs show it: {id, order_id, amount_cents, reason,
 * status, requested_by, created_at, order_status}.  Caller deletes; NULL
 * when missing or on a database error. */
cJSON *b4_refund_json(struct b4_db *db, const char *refund_id);

/* Settles refund_id after the acquirer's answer, in the caller's
 * transaction: ok -> succeeded and everything above; !ok -> failed, the
 * order back to paid when no other refund is pending.  Returns 1 when this
 * call settled it, 0 when it was already settled, -1 on error (why filled
 * when the splits cannot be reversed: a defect, not worth a retry). */
int b4_refund_settle(struct b4_db *db, const char *refund_id, bool ok,
		     const char *acquirer_refund_id, char *why, size_t whycap);

/* Records a refund the system made of a whole late payment (a Pix or
 * boleto paid after its order stopped waiting), already done at the
 * acquirer: the charge becomes refunded.  1 recorded, 0 already was, -1. */
int b4_refund_record_late(struct b4_db *db, const char *order_id, const char *charge_id,
			  int64_t amount_cents, const char *acquirer_refund_id);

/* Reverses amount_cents of order_id's splits pro rata to what is left of
 * each (rows locked), so the reversals add up exactly to amount_cents.
 * 0, -1 database error, -2 when the splits cannot cover it (why filled). */
int b4_splits_reverse(struct b4_db *db, const char *order_id, int64_t amount_cents, char *why,
		      size_t whycap);

#endif
