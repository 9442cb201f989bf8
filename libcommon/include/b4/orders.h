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

#include "b4/json.h"

struct b4_db;

/* Order statuses and payment methods as the API names them. */
extern const char *const b4_order_statuses[];  /* NULL-terminated */
extern const char *const b4_payment_methods[]; /* NULL-terminated */

/* The B4You checkout funnel: the event names the checkout page sends, in
 * page order (NULL-terminated).  Checkout accepts only these; the
 * back-office counts them in this order. */
extern const char *const b4_funnel_steps[];

/* What order lists and order exports filter on; NULL members do not
 * filter.  Dates are YYYY-MM-DD (UTC), `to` included. */
struct b4_order_filters {
	const char *status, *payment_method, *producer_id, *affiliate_id, *email, *from, *to;
	const char *product_id;
	/* the buyer's CPF/CNPJ as its blind index (hex), from a query only:
	 * never stored with a report or a job */
	const char *document_bidx;
};

/* The filters as SQL over `orders o JOIN customers c`, to append after a
 * WHERE condition, with its bind types and arguments (18 strings). */
#define B4_ORDER_FILTER_SQL                                                                        \
	" AND (? IS NULL OR o.status = ?)"                                                         \
	" AND (? IS NULL OR o.payment_method = ?)"                                                 \
	" AND (? IS NULL OR o.producer_id = ?)"                                                    \
	" AND (? IS NULL OR o.affiliate_id = ?)"                                                   \
	" AND (? IS NULL OR c.email = ?)"                                                          \
	" AND (? IS NULL OR o.created_at >= ?)"                                                    \
	" AND (? IS NULL OR o.created_at < DATE_ADD(?, INTERVAL 1 DAY))"                           \
	" AND (? IS NULL OR o.product_id = ?)"                                                     \
	" AND (? IS NULL OR c.document_bidx = ?)"
#define B4_ORDER_FILTER_TYPES "ssssssssssssssssss"
#define B4_ORDER_FILTER_ARGS(f)                                                                    \
	(f)->status, (f)->status, (f)->payment_method, (f)->payment_method, (f)->producer_id,      \
	    (f)->producer_id, (f)->affiliate_id, (f)->affiliate_id, (f)->email, (f)->email,        \
	    (f)->from, (f)->from, (f)->to, (f)->to, (f)->product_id, (f)->product_id,              \
	    (f)->document_bidx, (f)->document_bidx

/* Reads filters from a JSON object (NULL or null: none); unknown members
 * and bad values fill err (param names the member) and return -1.  The
 * strings point into obj. */
int b4_order_filters_from_json(const cJSON *obj, struct b4_order_filters *f, struct b4_error *err);

/* The filters as a JSON object (absent ones left out).  Caller deletes. */
cJSON *b4_order_filters_to_json(const struct b4_order_filters *f);

/* Records CSV export `report_id` of kind ("orders" for the back-office,
 * "sales" for a producer) with filters, made by created_by, and enqueues
 * the "report.export" job that b4-worker runs (workers/export.c), in the
 * caller's transaction.  0 or -1. */
int b4_order_report_enqueue(struct b4_db *db, const char *report_id, const char *kind,
			    const struct b4_order_filters *f, const char *created_by);

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
