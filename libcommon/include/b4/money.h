/*
 * money: integer cents arithmetic for prices, installments, splits and
 * refunds.
 *
 * Every amount is an int64_t number of cents (R$ 12.34 == 1234).  Nothing
 * here uses floating point: installment values are computed with exact
 * rational arithmetic on big integers, so every platform gives the same
 * cents.
 *
 * Rates and shares are in basis points ("bp"): 1 bp = 0.01 % = 1/10000.
 * A monthly interest rate of 2.99 % is 299; a platform fee of 9.9 % is 990;
 * 100 % is 10000 (B4_MONEY_BP_ONE).
 */
#ifndef B4_MONEY_H
#define B4_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define B4_MONEY_BP_ONE 10000 /* 100 % in basis points */

/* Limits enforced by every function below (-1 when exceeded). */
#define B4_MONEY_MAX_INSTALLMENTS    24
#define B4_MONEY_MAX_MONTHLY_RATE_BP 10000 /* 100 % a month */
#define B4_MONEY_MAX_COPRODUCERS     32
#define B4_MONEY_MAX_SPLIT_PARTS     (3 + B4_MONEY_MAX_COPRODUCERS)

/* Longest text b4_money_format writes, with the terminating NUL:
 * "-92233720368547758.08" */
#define B4_MONEY_FORMAT_SIZE 22

/*
 * One row of an installment table: paying amount_cents in `installments`
 * monthly payments.
 *
 * The buyer pays first_installment_cents once and installment_cents
 * (installments - 1) times; the two differ only when the amount does not
 * divide evenly in an interest-free plan, and then the first installment
 * carries the extra cents.  Always:
 *   total_cents == first_installment_cents + installment_cents * (installments - 1)
 *   interest_cents == total_cents - amount_cents
 *
 * absorbed_cost_cents is what an interest-free plan costs whoever grants it
 * (the producer): the amount minus the present value, at the monthly rate,
 * of the installments the buyer pays.  It is 0 when the buyer pays the
 * interest, when installments == 1, and when the rate is 0.
 */
struct b4_installment {
	int installments;
	int64_t installment_cents;
	int64_t first_installment_cents;
	int64_t total_cents;
	int64_t interest_cents;
	int64_t absorbed_cost_cents;
	bool interest_free;
};

/*
 * Prices amount_cents in n monthly installments.
 *
 * Plans with n <= interest_free_installments, n == 1 or a zero rate are
 * interest free: the buyer pays exactly amount_cents, split as
 * amount_cents / n per installment with the remainder cents on the first;
 * absorbed_cost_cents tells the producer what that costs (see the struct).
 *
 * Other plans use the Price (French amortisation) formula
 *   PMT = PV * i / (1 - (1 + i)^-n),   i = monthly_rate_bp / 10000
 * computed exactly and rounded half up to a whole cent; every installment
 * is that PMT and total_cents = PMT * n.
 *
 * Arguments: amount_cents > 0; 1 <= n <= B4_MONEY_MAX_INSTALLMENTS;
 * interest_free_installments >= 0 (0 and 1 both mean only 1x is free);
 * 0 <= monthly_rate_bp <= B4_MONEY_MAX_MONTHLY_RATE_BP.
 * Returns 0 and fills *out, or -1 on a bad argument or when the total would
 * not fit in int64_t (then *out is untouched).
 */
int b4_money_installment(int64_t amount_cents, int n, int interest_free_installments,
			 int monthly_rate_bp, struct b4_installment *out);

/*
 * The installment table from 1x to max_installments x: out[k] is the plan
 * with k + 1 installments (see b4_money_installment).  out must hold
 * max_installments entries.  Returns 0, or -1 on a bad argument or
 * overflow (then the content of out is unspecified).
 */
int b4_money_installments(int64_t amount_cents, int max_installments,
			  int interest_free_installments, int monthly_rate_bp,
			  struct b4_installment *out);

enum b4_split_role {
	B4_SPLIT_PLATFORM,
	B4_SPLIT_AFFILIATE,
	B4_SPLIT_COPRODUCER,
	B4_SPLIT_PRODUCER,
};

/*
 * One share of a sale.  party is the slot of the party within its role:
 * the index into b4_split_config.coproducer_bp for co-producers, 0 for the
 * other roles.
 */
struct b4_split_part {
	enum b4_split_role role;
	int party;
	int64_t amount_cents;
};

/*
 * How a sale is split.  All shares are in basis points (0..10000).
 *
 * Order, each step taken from what the previous steps left:
 *   platform   = floor(amount * platform_fee_bp / 10000) + platform_fixed_cents
 *   net1       = amount - platform
 *   affiliate  = floor(net1 * affiliate_bp / 10000)       (only if has_affiliate)
 *   net2       = net1 - affiliate
 *   coproducer[k] = floor(net2 * coproducer_bp[k] / 10000)
 *   producer   = net2 - sum(coproducer)                    (gets every rounding cent)
 * So the affiliate commission is on the net after the platform fee (as
 * Hotmart does) and co-producers share the net after platform and
 * affiliate.  The sum of coproducer_bp must not exceed 10000.
 */
struct b4_split_config {
	int platform_fee_bp;
	int64_t platform_fixed_cents;
	bool has_affiliate;
	int affiliate_bp;
	const int *coproducer_bp; /* coproducer_count entries; may be NULL if 0 */
	size_t coproducer_count;  /* <= B4_MONEY_MAX_COPRODUCERS */
};

/*
 * Splits amount_cents (>= 0) as described by cfg into parts, in this order:
 * platform, affiliate (only when cfg->has_affiliate), one part per
 * co-producer in config order, producer.  Parts may be 0 but are never
 * negative, and they always add up exactly to amount_cents.
 * parts_cap is the room in parts; *parts_len receives the count used.
 * Returns 0, or -1 on a bad argument, when parts_cap is too small, or when
 * the platform fee (percent plus fixed) exceeds the amount.
 */
int b4_money_split(int64_t amount_cents, const struct b4_split_config *cfg,
		   struct b4_split_part *parts, size_t parts_cap, size_t *parts_len);

/*
 * Reverses refund_cents of a sale pro rata across its parts, by the largest
 * remainder method: reversal k gets floor(part_k * refund / total) and the
 * cents left over go one each to the parts with the largest fractional
 * remainders (ties to the earlier part).  reversals[k] gets the role and
 * party of parts[k]; the reversals add up exactly to refund_cents and none
 * exceeds its part.
 *
 * For several partial refunds, pass in parts what is left of each part
 * (original minus earlier reversals); refunding everything that is left
 * then zeroes every part.
 *
 * Arguments: parts_len <= B4_MONEY_MAX_SPLIT_PARTS, every part >= 0, their
 * sum fits in int64_t, 0 <= refund_cents <= that sum.  reversals holds
 * parts_len entries and may be the same array as parts.
 * Returns 0, or -1 on a bad argument.
 */
int b4_money_split_refund(const struct b4_split_part *parts, size_t parts_len, int64_t refund_cents,
			  struct b4_split_part *reversals);

enum b4_discount_kind {
	B4_DISCOUNT_PERCENT, /* value in bp of the amount, 0..10000 */
	B4_DISCOUNT_FIXED,   /* value in cents, >= 0 */
};

/*
 * Applies a coupon to amount_cents.  A percent discount is
 * floor(amount * value / 10000) (the rounding cent stays with the seller);
 * a fixed discount is value.  The discount is then clamped so the price
 * never goes below min_price_cents; if amount_cents is already at or below
 * that minimum, the discount is 0 and the price is amount_cents.
 * *price_cents receives the price to charge and, if discount_cents is not
 * NULL, *discount_cents receives amount_cents - *price_cents.
 * Returns 0, or -1 on a negative amount or minimum, or a value out of range.
 */
int b4_money_discount(int64_t amount_cents, enum b4_discount_kind kind, int64_t value,
		      int64_t min_price_cents, int64_t *price_cents, int64_t *discount_cents);

/* *out = a + b.  Returns 0, or -1 on overflow (then *out is untouched). */
int b4_money_add(int64_t a, int64_t b, int64_t *out);

/* *out = a - b.  Returns 0, or -1 on overflow (then *out is untouched). */
int b4_money_sub(int64_t a, int64_t b, int64_t *out);

/* *out = a * b.  Returns 0, or -1 on overflow (then *out is untouched). */
int b4_money_mul(int64_t a, int64_t b, int64_t *out);

/*
 * Writes cents as a decimal with two places and a '.' separator, no
 * thousands separator ("1234.56", "0.05", "-12.00") into buf, NUL
 * terminated.  B4_MONEY_FORMAT_SIZE bytes are always enough.
 * Returns 0, or -1 if buf is NULL or size is too small (then buf holds ""
 * if size > 0).
 */
int b4_money_format(int64_t cents, char *buf, size_t size);

/*
 * Parses the first len bytes of text as a non-negative decimal amount:
 * one or more digits, optionally a '.' and one or two digits ("10",
 * "10.5", "10.50").  No sign, spaces or thousands separators.
 * Returns 0 and sets *cents, or -1 on bad syntax or overflow.
 */
int b4_money_parse(const char *text, size_t len, int64_t *cents);

#endif /* B4_MONEY_H */
