/* orders.h - the order as the API and webhooks show it, the events other
 * parts learn of, and status moves that only go forward along the state
 * machine of API.md.  Shared by b4-checkout (payments, callbacks) and
 * b4-worker (settling charges, refunds).  Every function runs on the
 * caller's connection, inside the caller's transaction when there is one.
 */
#ifndef B4_ORDERS_H
#define B4_ORDERS_H

#include <cjson/cJSON.h>
#include <stdint.h>

struct b4_db;

/* The order as API.md shows it (items, totals, card/pix/boleto data);
 * access_token is added when not NULL.  Caller deletes; NULL when the
 * order does not exist or on a database error. */
cJSON *b4_order_json(struct b4_db *db, const char *order_id, const char *access_token);

/* Enqueues the webhook event `event` ("approved-payment", "refund" ...)
 * for the order's producer and affiliate, with the order as data and the
 * dedup key "<event>:<order id>".  0 or -1. */
int b4_order_enqueue_event(struct b4_db *db, const char *event, const char *order_id);
/* The same with an explicit dedup key, for events that may happen more
 * than once per order (one "refund" event per partial refund). */
int b4_order_enqueue_event_keyed(struct b4_db *db, const char *event, const char *order_id,
				 const char *dedup_key);

/* Enqueues job `type` with payload {"order_id"} and dedup key
 * "<dedup_prefix>:<order id>", runnable after delay_seconds.  0 or -1. */
int b4_order_enqueue_job(struct b4_db *db, const char *type, const char *dedup_prefix,
			 const char *order_id, int64_t delay_seconds);

/* Moves the order from status `from` to `to`.  1 when it moved, 0 when it
 * was not in `from` (a replay or an out-of-order event), -1 on error. */
int b4_order_advance(struct b4_db *db, const char *order_id, const char *from, const char *to);

/* waiting_payment -> paid with everything that follows a payment: split
 * release dates from the product's guarantee, the approved-payment event,
 * the invoice job and the commission release job.  1 moved, 0 not waiting
 * (already settled), -1 error. */
int b4_order_mark_paid(struct b4_db *db, const char *order_id);

#endif
