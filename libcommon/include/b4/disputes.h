/* disputes.h - a buyer's dispute at the acquirer, in the caller's
 * transaction.
 *
 * Opened: the order goes paid -> disputed and the producer gets the
 * "dispute-opened" event (the moment to send evidence); commissions are
 * held (commission.release does not release a disputed order).  Won:
 * disputed -> paid ("dispute-won").  Lost: disputed -> chargeback, the
 * charge too, every split reversed by what is left of it, the
 * "chargeback" event and the NFS-e cancelled.  A chargeback announced
 * without a dispute first (paid) goes through both moves at once.
 */
#ifndef B4_DISPUTES_H
#define B4_DISPUTES_H

#include <stdbool.h>

struct b4_db;

/* What a dispute move returns besides 1 (moved), 0 (nothing to do: a
 * replay) and -1 (error): the order has a refund in flight
 * (refund_requested, which the table does not let go to disputed); the
 * caller answers so that the acquirer sends the event again later, once
 * the refund settled. */
#define B4_DISPUTE_BUSY 2

/* paid -> disputed.  1, 0, B4_DISPUTE_BUSY or -1. */
int b4_dispute_open(struct b4_db *db, const char *order_id);

/* disputed -> paid (won) or chargeback (lost); a lost dispute of an order
 * still paid is opened first.  1, 0, B4_DISPUTE_BUSY or -1. */
int b4_dispute_resolve(struct b4_db *db, const char *order_id, bool won);

#endif
