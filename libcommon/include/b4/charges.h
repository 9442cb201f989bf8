/* charges.h - one reading of acquirer answers and one settlement path for
 * checkout (the order request), acquirer callbacks and the worker (charges
 * settled by reference after a lost answer).
 *
 * Every answer is one of: approved, declined (definite: not charged),
 * pending (Pix or boleto waiting for the payer), unavailable (definite:
 * nothing happened there, another acquirer may be tried) or unknown (the
 * request may have reached the acquirer: 5xx, reset or timeout after
 * sending, an answer that cannot be read).  Unknown is never failed over:
 * the acquirer is asked by reference first, and what it says decides;
 * when it cannot tell, the order stays waiting and order.expire asks again.
 */
#ifndef B4_CHARGES_H
#define B4_CHARGES_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "b4/acquirer.h"
#include "b4/orders.h"

struct b4_db;

enum b4_charge_answer {
	B4_ANSWER_APPROVED,
	B4_ANSWER_DECLINED,
	B4_ANSWER_PENDING,
	B4_ANSWER_UNAVAILABLE,
	B4_ANSWER_UNKNOWN,
};

/* The answer's name ("approved", ... "unknown"). */
const char *b4_charge_answer_name(enum b4_charge_answer answer);

/* Reads an acquirer's charge object (its "status"): approved or paid ->
 * approved, declined -> declined, pending -> pending for Pix and boleto
 * (a card is never pending), anything else -> unknown. */
enum b4_charge_answer b4_charge_classify_body(const cJSON *charge, const char *method);

/* Reads one HTTP exchange (call_rc as b4_httpc_do returned it): 2xx by its
 * body, 4xx declined (the request was refused, nothing charged), 5xx and
 * transport failures after sending unknown, a request that never left
 * unavailable. */
enum b4_charge_answer b4_charge_classify(int call_rc, const struct b4_httpc_response *resp,
					 const cJSON *body, const char *method);

/* POST /v1/charges at acq with idem_key, classified; an unknown answer is
 * settled by asking the acquirer by reference (found: its status decides;
 * none: unavailable; cannot tell: unknown).  *charge gets the acquirer's
 * charge or error object when there is one (caller deletes). */
enum b4_charge_answer b4_charge_request(const struct b4_acquirers *set,
					const struct b4_acquirer *acq, const char *idem_key,
					const char *reference, const char *body, const char *method,
					cJSON **charge);

/* Asks acq for the charge made for reference and classifies it; none ->
 * unavailable, cannot tell -> unknown.  *charge as above. */
enum b4_charge_answer b4_charge_lookup(const struct b4_acquirers *set,
				       const struct b4_acquirer *acq, const char *reference,
				       const char *method, cJSON **charge);

/* One charge result to record. */
struct b4_charge_result {
	const char *order_id;
	const char *charge_id; /* our charge row */
	const char *method;    /* card, pix, boleto */
	enum b4_charge_answer answer;
	const char *acquirer;		    /* who answered, or NULL to keep the row's */
	const cJSON *charge;		    /* the acquirer's charge object, or NULL */
	int64_t expires_in_seconds;	    /* pending: when the order expires */
	const struct b4_order_known *known; /* what the order's writer knows, or NULL */
	/* filled by b4_charge_settle */
	cJSON *view;	  /* paid or pending: the order as its event showed it, or
			   * NULL; the caller deletes it */
	bool paid;	  /* the order became paid */
	bool refused;	  /* the order became refused */
	bool late_refund; /* captured for an order no longer waiting */
};

/* Records r in the caller's transaction: approved -> charge approved and
 * the order paid (money captured for an order that stopped waiting gets a
 * payment.refund_late job); declined and unavailable -> charge declined or
 * error and the order refused (coupon given back); pending -> the Pix or
 * boleto data, the expiry and the generated-pix / generated-billet event;
 * unknown -> nothing but an order.expire job in 15 minutes, which asks the
 * acquirer by reference.  Replays change nothing.  0 or -1. */
int b4_charge_settle(struct b4_db *db, struct b4_charge_result *r);

#endif
