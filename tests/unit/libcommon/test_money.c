/* Unit tests for libcommon/src/money.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "b4/money.h"

/* Deterministic xorshift64* so every run checks the same cases. */
static uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);

static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static int64_t rng_range(int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rng_next() % (uint64_t)(hi - lo + 1));
}

/* ---- installments ---------------------------------------------------- */

/*
 * R$ 100.00 in 3x at 2.99 % a month.
 * (1.0299)^2 = 1.06069401; (1.0299)^3 = 1.092408760899
 * PMT = 100 * 0.0299 * 1.092408760899 / (1.092408760899 - 1)
 *     = 3.26630215 / 0.092408760899 = 35.3462395...  -> R$ 35.35
 * total 3 * 35.35 = 106.05, interest 6.05.
 */
static void test_installment_price_3x(void **state)
{
	struct b4_installment row;

	(void)state;
	assert_int_equal(b4_money_installment(10000, 3, 1, 299, &row), 0);
	assert_int_equal(row.installments, 3);
	assert_false(row.interest_free);
	assert_int_equal(row.installment_cents, 3535);
	assert_int_equal(row.first_installment_cents, 3535);
	assert_int_equal(row.total_cents, 10605);
	assert_int_equal(row.interest_cents, 605);
	assert_int_equal(row.absorbed_cost_cents, 0);
}

/*
 * R$ 100.00 in 12x at 2.99 %: (1.0299)^12 = 1.4239...,
 * PMT = 100 * 0.0299 / (1 - 1.0299^-12) = 10.040212... -> 10.04, total 120.48.
 * R$ 100.00 in 2x at 2.99 %: PMT = 100 * 1.0299^2 * 0.0299 / (1.0299^2 - 1)
 *   = 3.171475 / 0.06069401 = 52.2535... -> 52.25, total 104.50.
 */
static void test_installment_price_other_vectors(void **state)
{
	struct b4_installment row;

	(void)state;
	assert_int_equal(b4_money_installment(10000, 12, 0, 299, &row), 0);
	assert_int_equal(row.installment_cents, 1004);
	assert_int_equal(row.total_cents, 12048);
	assert_int_equal(row.interest_cents, 2048);

	assert_int_equal(b4_money_installment(10000, 2, 0, 299, &row), 0);
	assert_int_equal(row.installment_cents, 5225);
	assert_int_equal(row.total_cents, 10450);

	/* R$ 9,999.99 in 12x at 3.49 %: exact PMT 1034.2295238... -> 1034.23 */
	assert_int_equal(b4_money_installment(999999, 12, 0, 349, &row), 0);
	assert_int_equal(row.installment_cents, 103423);
	assert_int_equal(row.total_cents, 1241076);
	assert_int_equal(row.interest_cents, 241077);
}

/*
 * Ties round half up.  n = 2: PMT = PV * (1+i)^2 / (2 + i).
 * PV = 25.25, i = 2 %:  25.25 * 1.0404 / 2.02 = 13.005 exactly -> 13.01.
 * PV = 1.05,  i = 10 %: 1.05 * 1.21 / 2.1 = 0.605 exactly -> 0.61.
 */
static void test_installment_rounds_half_up(void **state)
{
	struct b4_installment row;

	(void)state;
	assert_int_equal(b4_money_installment(2525, 2, 0, 200, &row), 0);
	assert_int_equal(row.installment_cents, 1301);
	assert_int_equal(row.total_cents, 2602);
	assert_int_equal(b4_money_installment(105, 2, 0, 1000, &row), 0);
	assert_int_equal(row.installment_cents, 61);
	assert_int_equal(row.total_cents, 122);
}

static void test_installment_1x_is_interest_free(void **state)
{
	struct b4_installment row;

	(void)state;
	assert_int_equal(b4_money_installment(12345, 1, 0, 999, &row), 0);
	assert_true(row.interest_free);
	assert_int_equal(row.installment_cents, 12345);
	assert_int_equal(row.first_installment_cents, 12345);
	assert_int_equal(row.total_cents, 12345);
	assert_int_equal(row.interest_cents, 0);
	assert_int_equal(row.absorbed_cost_cents, 0);
}

/*
 * Interest free 3x of R$ 100.00: 33.34 + 33.33 + 33.33.
 * The producer's cost at 2.99 %: present value of the payments is
 * 33.34/1.0299 + 33.33/1.0299^2 + 33.33/1.0299^3
 * = 32.3721 + 31.4229 + 30.5106 = 94.3056... -> 94.31, cost 5.69.
 */
static void test_installment_interest_free(void **state)
{
	struct b4_installment row;

	(void)state;
	assert_int_equal(b4_money_installment(10000, 3, 3, 299, &row), 0);
	assert_true(row.interest_free);
	assert_int_equal(row.first_installment_cents, 3334);
	assert_int_equal(row.installment_cents, 3333);
	assert_int_equal(row.total_cents, 10000);
	assert_int_equal(row.interest_cents, 0);
	assert_int_equal(row.absorbed_cost_cents, 569);

	/* 100.01 in 3x: the two extra cents go on the first installment */
	assert_int_equal(b4_money_installment(10001, 3, 6, 299, &row), 0);
	assert_int_equal(row.first_installment_cents, 3335);
	assert_int_equal(row.installment_cents, 3333);
	assert_int_equal(row.total_cents, 10001);

	/* more installments than cents: first carries everything */
	assert_int_equal(b4_money_installment(5, 12, 12, 299, &row), 0);
	assert_int_equal(row.installment_cents, 0);
	assert_int_equal(row.first_installment_cents, 5);
	assert_int_equal(row.total_cents, 5);

	/* a zero rate is interest free at any n, at no cost */
	assert_int_equal(b4_money_installment(10000, 12, 1, 0, &row), 0);
	assert_true(row.interest_free);
	assert_int_equal(row.total_cents, 10000);
	assert_int_equal(row.first_installment_cents, 837);
	assert_int_equal(row.installment_cents, 833);
	assert_int_equal(row.absorbed_cost_cents, 0);
}

static void test_installment_table(void **state)
{
	struct b4_installment table[12];

	(void)state;
	assert_int_equal(b4_money_installments(10000, 12, 3, 299, table), 0);
	for (int k = 0; k < 12; k++) {
		struct b4_installment *row = &table[k];
		struct b4_installment single;

		assert_int_equal(row->installments, k + 1);
		assert_int_equal(row->interest_free, k + 1 <= 3);
		assert_int_equal(row->total_cents,
				 row->first_installment_cents + row->installment_cents * k);
		assert_int_equal(row->interest_cents, row->total_cents - 10000);
		assert_int_equal(b4_money_installment(10000, k + 1, 3, 299, &single), 0);
		assert_memory_equal(&single, row, sizeof(single));
	}
	assert_int_equal(table[2].total_cents, 10000);
	assert_int_equal(table[3].total_cents > 10000, 1);
	assert_int_equal(table[11].total_cents, 12048);
	/* cost grows with n for the interest-free rows */
	assert_true(table[1].absorbed_cost_cents < table[2].absorbed_cost_cents);
}

static void test_installment_bad_arguments(void **state)
{
	struct b4_installment row, table[2];

	(void)state;
	assert_int_equal(b4_money_installment(0, 1, 0, 299, &row), -1);
	assert_int_equal(b4_money_installment(-100, 1, 0, 299, &row), -1);
	assert_int_equal(b4_money_installment(100, 0, 0, 299, &row), -1);
	assert_int_equal(b4_money_installment(100, B4_MONEY_MAX_INSTALLMENTS + 1, 0, 299, &row),
			 -1);
	assert_int_equal(b4_money_installment(100, 2, -1, 299, &row), -1);
	assert_int_equal(b4_money_installment(100, 2, 0, -1, &row), -1);
	assert_int_equal(b4_money_installment(100, 2, 0, B4_MONEY_MAX_MONTHLY_RATE_BP + 1, &row),
			 -1);
	assert_int_equal(b4_money_installment(100, 2, 0, 299, NULL), -1);
	assert_int_equal(b4_money_installments(100, 0, 0, 299, table), -1);
	assert_int_equal(b4_money_installments(100, 2, 0, 299, NULL), -1);
	assert_int_equal(b4_money_installments(100, B4_MONEY_MAX_INSTALLMENTS + 1, 0, 299, table),
			 -1);
}

static void test_installment_extremes(void **state)
{
	struct b4_installment row;

	(void)state;
	/* the total would overflow int64_t */
	assert_int_equal(b4_money_installment(INT64_MAX, 12, 0, 299, &row), -1);
	assert_int_equal(b4_money_installment(INT64_MAX / 2, 24, 0, 10000, &row), -1);
	/* interest free never grows the amount */
	assert_int_equal(b4_money_installment(INT64_MAX, 12, 12, 299, &row), 0);
	assert_int_equal(row.total_cents, INT64_MAX);
	assert_true(row.absorbed_cost_cents > 0);
	/* the largest n and rate still compute exactly: 1 cent at 100 % in 24x */
	assert_int_equal(b4_money_installment(1, 24, 0, 10000, &row), 0);
	assert_int_equal(row.installment_cents, 1);
	/* R$ 1,000.00 at 100 % a month in 24x: PMT = 1000 * 2^24 / (2^24 - 1) = 1000.0000596 */
	assert_int_equal(b4_money_installment(100000, 24, 0, 10000, &row), 0);
	assert_int_equal(row.installment_cents, 100000);
	/* a large amount: 10^12 cents in 12x at 2.99 % = 100402124850.5985... */
	assert_int_equal(b4_money_installment(INT64_C(1000000000000), 12, 0, 299, &row), 0);
	assert_int_equal(row.installment_cents, INT64_C(100402124851));
}

/* Compare the exact result with a long double evaluation on random plans. */
static void test_installment_property(void **state)
{
	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		int64_t amount = rng_range(1, 100000000);
		int n = (int)rng_range(1, B4_MONEY_MAX_INSTALLMENTS);
		int rate = (int)rng_range(0, 1500);
		int free_n = (int)rng_range(0, 12);
		struct b4_installment row;

		assert_int_equal(b4_money_installment(amount, n, free_n, rate, &row), 0);
		assert_int_equal(row.total_cents,
				 row.first_installment_cents + row.installment_cents * (n - 1));
		assert_int_equal(row.interest_cents, row.total_cents - amount);
		assert_true(row.absorbed_cost_cents >= 0);
		if (row.interest_free) {
			assert_int_equal(row.total_cents, amount);
			assert_true(row.first_installment_cents - row.installment_cents < n);
			assert_true(row.absorbed_cost_cents <= amount);
		} else {
			long double i = rate / 10000.0L, growth = 1.0L;
			long double pmt;

			for (int k = 0; k < n; k++)
				growth *= 1.0L + i;
			pmt = amount * i * growth / (growth - 1.0L);
			assert_true(row.installment_cents >= (int64_t)(pmt - 0.5L) - 1);
			assert_true(row.installment_cents <= (int64_t)(pmt + 0.5L) + 1);
			assert_true(row.total_cents >= amount);
			assert_int_equal(row.absorbed_cost_cents, 0);
		}
	}
}

/* ---- splits ----------------------------------------------------------- */

static int64_t parts_sum(const struct b4_split_part *parts, size_t len)
{
	int64_t sum = 0;

	for (size_t k = 0; k < len; k++)
		sum += parts[k].amount_cents;
	return sum;
}

/*
 * R$ 100.00, platform 9.9 % + R$ 1.00, affiliate 50 %, co-producers 30 %
 * and 20 %:
 *   platform  = 990 + 100 = 1090          net 8910
 *   affiliate = 8910 * 50 % = 4455        net 4455
 *   coprod 0  = floor(4455 * 30 %) = floor(1336.5) = 1336
 *   coprod 1  = 4455 * 20 % = 891
 *   producer  = 4455 - 1336 - 891 = 2228
 */
static void test_split_example(void **state)
{
	const int coproducers[] = {3000, 2000};
	struct b4_split_config cfg = {
	    .platform_fee_bp = 990,
	    .platform_fixed_cents = 100,
	    .has_affiliate = true,
	    .affiliate_bp = 5000,
	    .coproducer_bp = coproducers,
	    .coproducer_count = 2,
	};
	struct b4_split_part parts[B4_MONEY_MAX_SPLIT_PARTS];
	size_t len = 0;

	(void)state;
	assert_int_equal(b4_money_split(10000, &cfg, parts, 5, &len), 0);
	assert_int_equal(len, 5);
	assert_int_equal(parts[0].role, B4_SPLIT_PLATFORM);
	assert_int_equal(parts[0].amount_cents, 1090);
	assert_int_equal(parts[1].role, B4_SPLIT_AFFILIATE);
	assert_int_equal(parts[1].amount_cents, 4455);
	assert_int_equal(parts[2].role, B4_SPLIT_COPRODUCER);
	assert_int_equal(parts[2].party, 0);
	assert_int_equal(parts[2].amount_cents, 1336);
	assert_int_equal(parts[3].role, B4_SPLIT_COPRODUCER);
	assert_int_equal(parts[3].party, 1);
	assert_int_equal(parts[3].amount_cents, 891);
	assert_int_equal(parts[4].role, B4_SPLIT_PRODUCER);
	assert_int_equal(parts[4].amount_cents, 2228);
	assert_int_equal(parts_sum(parts, len), 10000);

	/* without affiliate or co-producers: platform and producer only */
	cfg.has_affiliate = false;
	cfg.coproducer_count = 0;
	assert_int_equal(b4_money_split(10000, &cfg, parts, 2, &len), 0);
	assert_int_equal(len, 2);
	assert_int_equal(parts[0].amount_cents, 1090);
	assert_int_equal(parts[1].role, B4_SPLIT_PRODUCER);
	assert_int_equal(parts[1].amount_cents, 8910);
}

static void test_split_fees_and_limits(void **state)
{
	const int full[] = {6000, 4000};
	const int too_much[] = {6000, 4001};
	const int bad[] = {-1};
	struct b4_split_config cfg = {.platform_fee_bp = 0, .platform_fixed_cents = 500};
	struct b4_split_part parts[B4_MONEY_MAX_SPLIT_PARTS];
	size_t len = 0;

	(void)state;
	/* the fixed fee exceeds the amount */
	assert_int_equal(b4_money_split(499, &cfg, parts, 8, &len), -1);
	/* exactly the amount: the producer gets nothing, never less */
	assert_int_equal(b4_money_split(500, &cfg, parts, 8, &len), 0);
	assert_int_equal(parts[0].amount_cents, 500);
	assert_int_equal(parts[1].amount_cents, 0);
	/* percent plus fixed above the amount also fails */
	cfg.platform_fee_bp = 1000;
	assert_int_equal(b4_money_split(550, &cfg, parts, 8, &len), -1);
	assert_int_equal(b4_money_split(556, &cfg, parts, 8, &len), 0);
	assert_int_equal(parts[0].amount_cents, 555);

	/* co-producers taking 100 % leave the producer 0 */
	cfg = (struct b4_split_config){.coproducer_bp = full, .coproducer_count = 2};
	assert_int_equal(b4_money_split(1001, &cfg, parts, 8, &len), 0);
	assert_int_equal(len, 4);
	assert_int_equal(parts[1].amount_cents, 600);
	assert_int_equal(parts[2].amount_cents, 400);
	assert_int_equal(parts[3].amount_cents, 1);
	assert_int_equal(parts_sum(parts, len), 1001);

	cfg.coproducer_bp = too_much;
	assert_int_equal(b4_money_split(1000, &cfg, parts, 8, &len), -1);
	cfg.coproducer_bp = bad;
	cfg.coproducer_count = 1;
	assert_int_equal(b4_money_split(1000, &cfg, parts, 8, &len), -1);
	cfg.coproducer_bp = NULL;
	assert_int_equal(b4_money_split(1000, &cfg, parts, 8, &len), -1);
	cfg.coproducer_count = B4_MONEY_MAX_COPRODUCERS + 1;
	cfg.coproducer_bp = full;
	assert_int_equal(b4_money_split(1000, &cfg, parts, B4_MONEY_MAX_SPLIT_PARTS, &len), -1);

	cfg = (struct b4_split_config){.platform_fee_bp = 10001};
	assert_int_equal(b4_money_split(1000, &cfg, parts, 8, &len), -1);
	cfg = (struct b4_split_config){.has_affiliate = true, .affiliate_bp = 10001};
	assert_int_equal(b4_money_split(1000, &cfg, parts, 8, &len), -1);
	cfg = (struct b4_split_config){.platform_fixed_cents = -1};
	assert_int_equal(b4_money_split(1000, &cfg, parts, 8, &len), -1);
	cfg = (struct b4_split_config){.has_affiliate = true, .affiliate_bp = 100};
	assert_int_equal(b4_money_split(-1, &cfg, parts, 8, &len), -1);
	/* room for platform + affiliate + producer is 3 */
	assert_int_equal(b4_money_split(1000, &cfg, parts, 2, &len), -1);
	assert_int_equal(b4_money_split(1000, &cfg, parts, 3, &len), 0);
	assert_int_equal(b4_money_split(1000, NULL, parts, 3, &len), -1);
	assert_int_equal(b4_money_split(1000, &cfg, NULL, 3, &len), -1);
	assert_int_equal(b4_money_split(1000, &cfg, parts, 3, NULL), -1);

	/* zero amount: every part zero */
	assert_int_equal(b4_money_split(0, &cfg, parts, 3, &len), 0);
	assert_int_equal(parts_sum(parts, len), 0);

	/* the largest amount does not overflow */
	cfg = (struct b4_split_config){
	    .platform_fee_bp = 9999, .has_affiliate = true, .affiliate_bp = 9999};
	assert_int_equal(b4_money_split(INT64_MAX, &cfg, parts, 8, &len), 0);
	assert_int_equal(parts_sum(parts, len), INT64_MAX);
	assert_int_equal(parts[0].amount_cents, INT64_MAX / 10000 * 9999 + 5807 * 9999 / 10000);
}

/* 1 + 1 + 1 refunding 2: the fractions tie at 2/3, earlier parts win. */
static void test_refund_largest_remainder(void **state)
{
	struct b4_split_part parts[3] = {
	    {B4_SPLIT_PLATFORM, 0, 1}, {B4_SPLIT_AFFILIATE, 0, 1}, {B4_SPLIT_PRODUCER, 0, 1}};
	struct b4_split_part rev[3];

	(void)state;
	assert_int_equal(b4_money_split_refund(parts, 3, 2, rev), 0);
	assert_int_equal(rev[0].amount_cents, 1);
	assert_int_equal(rev[1].amount_cents, 1);
	assert_int_equal(rev[2].amount_cents, 0);
	assert_int_equal(rev[1].role, B4_SPLIT_AFFILIATE);

	/*
	 * 500 / 300 / 200 refunding 333 of 1000: exact shares 166.5, 99.9,
	 * 66.6; floors 166 + 99 + 66 = 331, two cents left go to the
	 * largest fractions .9 and .6 -> 166, 100, 67.
	 */
	parts[0].amount_cents = 500;
	parts[1].amount_cents = 300;
	parts[2].amount_cents = 200;
	assert_int_equal(b4_money_split_refund(parts, 3, 333, rev), 0);
	assert_int_equal(rev[0].amount_cents, 166);
	assert_int_equal(rev[1].amount_cents, 100);
	assert_int_equal(rev[2].amount_cents, 67);

	/* a full refund reverses every part exactly */
	assert_int_equal(b4_money_split_refund(parts, 3, 1000, rev), 0);
	assert_int_equal(rev[0].amount_cents, 500);
	assert_int_equal(rev[1].amount_cents, 300);
	assert_int_equal(rev[2].amount_cents, 200);

	/* in place */
	assert_int_equal(b4_money_split_refund(parts, 3, 0, parts), 0);
	assert_int_equal(parts_sum(parts, 3), 0);
	/* nothing left to refund */
	assert_int_equal(b4_money_split_refund(parts, 3, 0, rev), 0);
	assert_int_equal(b4_money_split_refund(parts, 3, 1, rev), -1);
}

static void test_refund_bad_arguments(void **state)
{
	struct b4_split_part parts[2] = {{B4_SPLIT_PLATFORM, 0, 10}, {B4_SPLIT_PRODUCER, 0, 90}};
	struct b4_split_part rev[2];

	(void)state;
	assert_int_equal(b4_money_split_refund(parts, 2, 101, rev), -1);
	assert_int_equal(b4_money_split_refund(parts, 2, -1, rev), -1);
	assert_int_equal(b4_money_split_refund(NULL, 2, 1, rev), -1);
	assert_int_equal(b4_money_split_refund(parts, 2, 1, NULL), -1);
	assert_int_equal(b4_money_split_refund(parts, B4_MONEY_MAX_SPLIT_PARTS + 1, 1, rev), -1);
	parts[0].amount_cents = -10;
	assert_int_equal(b4_money_split_refund(parts, 2, 1, rev), -1);
	/* the sum of the parts overflows */
	parts[0].amount_cents = INT64_MAX;
	assert_int_equal(b4_money_split_refund(parts, 2, 1, rev), -1);
	/* large parts do not overflow the pro rata product */
	parts[0].amount_cents = INT64_MAX - 90;
	assert_int_equal(b4_money_split_refund(parts, 2, INT64_MAX - 1, rev), 0);
	assert_int_equal(rev[0].amount_cents + rev[1].amount_cents, INT64_MAX - 1);
	assert_true(rev[1].amount_cents <= 90);
}

static void check_refund(const struct b4_split_part *parts, size_t len, int64_t refund,
			 struct b4_split_part *rev)
{
	assert_int_equal(b4_money_split_refund(parts, len, refund, rev), 0);
	assert_int_equal(parts_sum(rev, len), refund);
	for (size_t k = 0; k < len; k++) {
		assert_true(rev[k].amount_cents >= 0);
		assert_true(rev[k].amount_cents <= parts[k].amount_cents);
		assert_int_equal(rev[k].role, parts[k].role);
		assert_int_equal(rev[k].party, parts[k].party);
	}
}

/*
 * 100000 random sales: the parts always add up to the amount, none is
 * negative; two partial refunds and the rest reverse exactly.
 */
static void test_split_property(void **state)
{
	int failures_expected = 0, failures_seen = 0;

	(void)state;
	for (int iter = 0; iter < 100000; iter++) {
		int coproducers[6];
		struct b4_split_config cfg;
		struct b4_split_part parts[B4_MONEY_MAX_SPLIT_PARTS], rev[B4_MONEY_MAX_SPLIT_PARTS];
		size_t len = 0;
		int64_t amount, remaining, refund;
		int bp_left = B4_MONEY_BP_ONE, rc;
		bool fee_fits;

		switch (iter % 4) {
		case 0:
			amount = rng_range(0, 1000);
			break;
		case 1:
			amount = rng_range(0, 10000000);
			break;
		case 2:
			amount = rng_range(0, INT64_C(1000000000000));
			break;
		default:
			amount = rng_range(INT64_MAX - INT64_C(1000000000), INT64_MAX);
			break;
		}
		memset(&cfg, 0, sizeof(cfg));
		cfg.platform_fee_bp = (int)rng_range(0, 3000);
		cfg.platform_fixed_cents = rng_range(0, 3) == 0 ? 0 : rng_range(0, 1000);
		cfg.has_affiliate = rng_range(0, 1) == 1;
		cfg.affiliate_bp = (int)rng_range(0, 10000);
		cfg.coproducer_count = (size_t)rng_range(0, 6);
		cfg.coproducer_bp = coproducers;
		for (size_t k = 0; k < cfg.coproducer_count; k++) {
			coproducers[k] = (int)rng_range(0, bp_left);
			bp_left -= coproducers[k];
		}

		fee_fits = amount - amount / 10000 * cfg.platform_fee_bp -
			       amount % 10000 * cfg.platform_fee_bp / 10000 >=
			   cfg.platform_fixed_cents;
		rc = b4_money_split(amount, &cfg, parts, B4_MONEY_MAX_SPLIT_PARTS, &len);
		if (!fee_fits) {
			failures_expected++;
			assert_int_equal(rc, -1);
			failures_seen++;
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(len, 2 + (cfg.has_affiliate ? 1 : 0) + cfg.coproducer_count);
		assert_int_equal(parts[0].role, B4_SPLIT_PLATFORM);
		assert_int_equal(parts[len - 1].role, B4_SPLIT_PRODUCER);
		assert_true(parts[0].amount_cents >= cfg.platform_fixed_cents);
		for (size_t k = 0; k < len; k++)
			assert_true(parts[k].amount_cents >= 0);
		assert_int_equal(parts_sum(parts, len), amount);

		/* first partial refund, then a second on what is left, then the rest */
		remaining = amount;
		refund = rng_range(0, remaining);
		check_refund(parts, len, refund, rev);
		for (size_t k = 0; k < len; k++)
			parts[k].amount_cents -= rev[k].amount_cents;
		remaining -= refund;
		assert_int_equal(parts_sum(parts, len), remaining);

		refund = rng_range(0, remaining);
		check_refund(parts, len, refund, rev);
		for (size_t k = 0; k < len; k++)
			parts[k].amount_cents -= rev[k].amount_cents;
		remaining -= refund;

		check_refund(parts, len, remaining, rev);
		for (size_t k = 0; k < len; k++)
			assert_int_equal(rev[k].amount_cents, parts[k].amount_cents);
	}
	/* the generator does hit the fixed-fee failure, and it is always -1 */
	assert_true(failures_expected > 0);
	assert_int_equal(failures_seen, failures_expected);
}

/* ---- discounts -------------------------------------------------------- */

static void test_discount(void **state)
{
	int64_t price = -1, discount = -1;

	(void)state;
	/* 10 % of 99.99 = 9.999 -> 9.99 off (floor), price 90.00 */
	assert_int_equal(b4_money_discount(9999, B4_DISCOUNT_PERCENT, 1000, 0, &price, &discount),
			 0);
	assert_int_equal(price, 9000);
	assert_int_equal(discount, 999);
	assert_int_equal(b4_money_discount(9999, B4_DISCOUNT_PERCENT, 10000, 0, &price, NULL), 0);
	assert_int_equal(price, 0);
	assert_int_equal(b4_money_discount(9999, B4_DISCOUNT_PERCENT, 0, 0, &price, &discount), 0);
	assert_int_equal(price, 9999);
	assert_int_equal(discount, 0);

	assert_int_equal(b4_money_discount(9999, B4_DISCOUNT_FIXED, 500, 0, &price, &discount), 0);
	assert_int_equal(price, 9499);
	assert_int_equal(discount, 500);
	/* more than the amount: clamped at the minimum */
	assert_int_equal(b4_money_discount(9999, B4_DISCOUNT_FIXED, 20000, 0, &price, &discount),
			 0);
	assert_int_equal(price, 0);
	assert_int_equal(discount, 9999);
	assert_int_equal(b4_money_discount(9999, B4_DISCOUNT_FIXED, 20000, 500, &price, &discount),
			 0);
	assert_int_equal(price, 500);
	assert_int_equal(discount, 9499);
	assert_int_equal(b4_money_discount(9999, B4_DISCOUNT_PERCENT, 9900, 500, &price, &discount),
			 0);
	assert_int_equal(price, 500);
	/* already below the minimum: no discount at all */
	assert_int_equal(b4_money_discount(300, B4_DISCOUNT_FIXED, 100, 500, &price, &discount), 0);
	assert_int_equal(price, 300);
	assert_int_equal(discount, 0);
	/* huge values do not overflow */
	assert_int_equal(
	    b4_money_discount(INT64_MAX, B4_DISCOUNT_PERCENT, 5000, 0, &price, &discount), 0);
	assert_int_equal(discount, INT64_MAX / 2);
	assert_int_equal(
	    b4_money_discount(INT64_MAX, B4_DISCOUNT_FIXED, INT64_MAX, 1, &price, &discount), 0);
	assert_int_equal(price, 1);

	assert_int_equal(b4_money_discount(-1, B4_DISCOUNT_FIXED, 1, 0, &price, NULL), -1);
	assert_int_equal(b4_money_discount(100, B4_DISCOUNT_FIXED, -1, 0, &price, NULL), -1);
	assert_int_equal(b4_money_discount(100, B4_DISCOUNT_FIXED, 1, -1, &price, NULL), -1);
	assert_int_equal(b4_money_discount(100, B4_DISCOUNT_PERCENT, 10001, 0, &price, NULL), -1);
	assert_int_equal(b4_money_discount(100, (enum b4_discount_kind)7, 1, 0, &price, NULL), -1);
	assert_int_equal(b4_money_discount(100, B4_DISCOUNT_FIXED, 1, 0, NULL, NULL), -1);
}

/* ---- checked arithmetic ---------------------------------------------- */

static void test_checked_arithmetic(void **state)
{
	int64_t out = 42;

	(void)state;
	assert_int_equal(b4_money_add(1, 2, &out), 0);
	assert_int_equal(out, 3);
	assert_int_equal(b4_money_add(INT64_MAX - 1, 1, &out), 0);
	assert_int_equal(out, INT64_MAX);
	out = 42;
	assert_int_equal(b4_money_add(INT64_MAX, 1, &out), -1);
	assert_int_equal(out, 42);
	assert_int_equal(b4_money_add(INT64_MIN, -1, &out), -1);
	assert_int_equal(b4_money_add(INT64_MIN, INT64_MAX, &out), 0);
	assert_int_equal(out, -1);
	assert_int_equal(b4_money_add(1, 1, NULL), -1);

	assert_int_equal(b4_money_sub(5, 7, &out), 0);
	assert_int_equal(out, -2);
	assert_int_equal(b4_money_sub(INT64_MIN, 1, &out), -1);
	assert_int_equal(b4_money_sub(0, INT64_MIN, &out), -1);
	assert_int_equal(b4_money_sub(-1, INT64_MIN, &out), 0);
	assert_int_equal(out, INT64_MAX);
	assert_int_equal(b4_money_sub(INT64_MAX, -1, &out), -1);

	assert_int_equal(b4_money_mul(1234, 12, &out), 0);
	assert_int_equal(out, 14808);
	assert_int_equal(b4_money_mul(INT64_MAX, 2, &out), -1);
	assert_int_equal(b4_money_mul(2, INT64_MAX, &out), -1);
	assert_int_equal(b4_money_mul(INT64_MIN, -1, &out), -1);
	assert_int_equal(b4_money_mul(-1, INT64_MIN, &out), -1);
	assert_int_equal(b4_money_mul(INT64_MIN, 1, &out), 0);
	assert_int_equal(out, INT64_MIN);
	assert_int_equal(b4_money_mul(-3037000500, -3037000500, &out), -1);
	assert_int_equal(b4_money_mul(-3037000499, 3037000499, &out), 0);
	assert_int_equal(out, -INT64_C(9223372030926249001));
	assert_int_equal(b4_money_mul(INT64_MIN / 2, 2, &out), 0);
	assert_int_equal(b4_money_mul(INT64_MIN / 2, -2, &out), -1);
	assert_int_equal(b4_money_mul(0, INT64_MIN, &out), 0);
	assert_int_equal(out, 0);
}

/* ---- format and parse ------------------------------------------------- */

static void test_format(void **state)
{
	char buf[B4_MONEY_FORMAT_SIZE];
	char small[5];

	(void)state;
	assert_int_equal(b4_money_format(0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0.00");
	assert_int_equal(b4_money_format(5, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0.05");
	assert_int_equal(b4_money_format(50, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0.50");
	assert_int_equal(b4_money_format(123456, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1234.56");
	assert_int_equal(b4_money_format(-1200, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "-12.00");
	assert_int_equal(b4_money_format(-1, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "-0.01");
	assert_int_equal(b4_money_format(INT64_MAX, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "92233720368547758.07");
	assert_int_equal(b4_money_format(INT64_MIN, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "-92233720368547758.08");

	assert_int_equal(b4_money_format(99999, small, sizeof(small)), -1);
	assert_string_equal(small, "");
	assert_int_equal(b4_money_format(9999, small, sizeof(small)), -1);
	assert_int_equal(b4_money_format(999, small, sizeof(small)), 0);
	assert_string_equal(small, "9.99");
	assert_int_equal(b4_money_format(1, NULL, 0), -1);
	assert_int_equal(b4_money_format(1, small, 0), -1);
}

static void check_parse(const char *text, int rc, int64_t cents)
{
	int64_t out = -7;

	assert_int_equal(b4_money_parse(text, strlen(text), &out), rc);
	assert_int_equal(out, rc == 0 ? cents : -7);
}

static void test_parse(void **state)
{
	char buf[B4_MONEY_FORMAT_SIZE];

	(void)state;
	check_parse("10", 0, 1000);
	check_parse("10.5", 0, 1050);
	check_parse("10.50", 0, 1050);
	check_parse("0.01", 0, 1);
	check_parse("007.00", 0, 700);
	check_parse("92233720368547758.07", 0, INT64_MAX);
	check_parse("92233720368547758.08", -1, 0);
	check_parse("92233720368547759", -1, 0);
	check_parse("99999999999999999999", -1, 0);
	check_parse("", -1, 0);
	check_parse(".5", -1, 0);
	check_parse("1.", -1, 0);
	check_parse("1.234", -1, 0);
	check_parse("-1", -1, 0);
	check_parse("+1", -1, 0);
	check_parse("1,00", -1, 0);
	check_parse(" 1", -1, 0);
	check_parse("1 ", -1, 0);
	check_parse("1.0x", -1, 0);
	/* the length bounds the text: "12.345" read as 4 bytes is "12.3" */
	{
		int64_t out;

		assert_int_equal(b4_money_parse("12.345", 4, &out), 0);
		assert_int_equal(out, 1230);
		assert_int_equal(b4_money_parse(NULL, 0, &out), -1);
		assert_int_equal(b4_money_parse("1", 1, NULL), -1);
	}
	/* format and parse round trip */
	for (int iter = 0; iter < 10000; iter++) {
		int64_t cents = (int64_t)(rng_next() >> 1), back;

		assert_int_equal(b4_money_format(cents, buf, sizeof(buf)), 0);
		assert_int_equal(b4_money_parse(buf, strlen(buf), &back), 0);
		assert_int_equal(back, cents);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_installment_price_3x),
	    cmocka_unit_test(test_installment_price_other_vectors),
	    cmocka_unit_test(test_installment_rounds_half_up),
	    cmocka_unit_test(test_installment_1x_is_interest_free),
	    cmocka_unit_test(test_installment_interest_free),
	    cmocka_unit_test(test_installment_table),
	    cmocka_unit_test(test_installment_bad_arguments),
	    cmocka_unit_test(test_installment_extremes),
	    cmocka_unit_test(test_installment_property),
	    cmocka_unit_test(test_split_example),
	    cmocka_unit_test(test_split_fees_and_limits),
	    cmocka_unit_test(test_refund_largest_remainder),
	    cmocka_unit_test(test_refund_bad_arguments),
	    cmocka_unit_test(test_split_property),
	    cmocka_unit_test(test_discount),
	    cmocka_unit_test(test_checked_arithmetic),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
