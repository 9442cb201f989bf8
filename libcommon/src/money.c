/*
 * money: integer cents arithmetic.  See include/b4/money.h for the
 * contracts.
 *
 * The Price formula needs (1 + i)^n exactly; with i = r / 10000 that is
 * (10000 + r)^n / 10000^n, which for n = 24 is a ~350-bit integer.  A tiny
 * fixed-size unsigned big integer (32-bit limbs, 64-bit intermediates) keeps
 * the arithmetic exact and identical on every platform.
 */
#include "b4/money.h"

#include <limits.h>
#include <string.h>

/* 512 bits: the largest numerator is below 2^425 with the limits in money.h. */
#define BIG_LIMBS 16

struct big {
	uint32_t limb[BIG_LIMBS]; /* little endian */
};

static void big_set(struct big *b, uint64_t v)
{
	memset(b, 0, sizeof(*b));
	b->limb[0] = (uint32_t)v;
	b->limb[1] = (uint32_t)(v >> 32);
}

static int big_cmp(const struct big *a, const struct big *b)
{
	for (int k = BIG_LIMBS - 1; k >= 0; k--) {
		if (a->limb[k] != b->limb[k])
			return a->limb[k] < b->limb[k] ? -1 : 1;
	}
	return 0;
}

/* out = a + b; -1 if the sum does not fit.  out may alias a or b. */
static int big_add(struct big *out, const struct big *a, const struct big *b)
{
	uint64_t carry = 0;

	for (int k = 0; k < BIG_LIMBS; k++) {
		uint64_t sum = (uint64_t)a->limb[k] + b->limb[k] + carry;
		out->limb[k] = (uint32_t)sum;
		carry = sum >> 32;
	}
	return carry ? -1 : 0;
}

/* out = a - b, for a >= b.  out may alias a or b. */
static void big_sub(struct big *out, const struct big *a, const struct big *b)
{
	uint64_t borrow = 0;

	for (int k = 0; k < BIG_LIMBS; k++) {
		uint64_t diff = (uint64_t)a->limb[k] - b->limb[k] - borrow;
		out->limb[k] = (uint32_t)diff;
		borrow = (diff >> 32) & 1;
	}
}

/* out = a * b; -1 if the product does not fit.  out may alias a or b. */
static int big_mul(struct big *out, const struct big *a, const struct big *b)
{
	struct big prod;

	memset(&prod, 0, sizeof(prod));
	for (int x = 0; x < BIG_LIMBS; x++) {
		uint64_t carry = 0;

		if (a->limb[x] == 0)
			continue;
		for (int y = 0; y < BIG_LIMBS; y++) {
			uint64_t cur;

			if (x + y >= BIG_LIMBS) {
				if (b->limb[y] != 0)
					return -1;
				continue;
			}
			cur = (uint64_t)a->limb[x] * b->limb[y] + prod.limb[x + y] + carry;
			prod.limb[x + y] = (uint32_t)cur;
			carry = cur >> 32;
		}
		if (carry != 0)
			return -1;
	}
	*out = prod;
	return 0;
}

static int big_mul_u64(struct big *out, const struct big *a, uint64_t v)
{
	struct big bv;

	big_set(&bv, v);
	return big_mul(out, a, &bv);
}

static int big_top_bit(const struct big *b)
{
	for (int k = BIG_LIMBS - 1; k >= 0; k--) {
		if (b->limb[k] != 0) {
			int bit = 31;

			while (!(b->limb[k] & (UINT32_C(1) << bit)))
				bit--;
			return k * 32 + bit;
		}
	}
	return -1;
}

/*
 * *quot = round_half_up(num / den) for den > 0, by shift-and-subtract long
 * division of 2 * num + den by 2 * den.  -1 if the quotient exceeds
 * INT64_MAX or an intermediate does not fit.
 */
static int big_div_round(const struct big *num, const struct big *den, int64_t *quot)
{
	struct big n2, d2, rem;
	uint64_t q = 0;
	int top;

	if (big_add(&n2, num, num) < 0 || big_add(&n2, &n2, den) < 0 || big_add(&d2, den, den) < 0)
		return -1;
	if (big_top_bit(&d2) < 0)
		return -1;
	memset(&rem, 0, sizeof(rem));
	top = big_top_bit(&n2);
	for (int bit = top; bit >= 0; bit--) {
		/* rem = rem * 2 + next bit of n2; rem < 2 * d2 always fits */
		if (big_add(&rem, &rem, &rem) < 0)
			return -1;
		rem.limb[0] |= (n2.limb[bit / 32] >> (bit % 32)) & 1;
		if (q > (uint64_t)INT64_MAX / 2)
			return -1;
		q <<= 1;
		if (big_cmp(&rem, &d2) >= 0) {
			big_sub(&rem, &rem, &d2);
			q |= 1;
		}
	}
	if (q > (uint64_t)INT64_MAX)
		return -1;
	*quot = (int64_t)q;
	return 0;
}

/* *out = base^exp. */
static int big_pow(struct big *out, uint64_t base, int exp)
{
	big_set(out, 1);
	for (int k = 0; k < exp; k++) {
		if (big_mul_u64(out, out, base) < 0)
			return -1;
	}
	return 0;
}

/* Price installment: round_half_up(pv * r * A / (10000 * (A - B))). */
static int price_installment(int64_t amount_cents, int n, int rate_bp, int64_t *pmt)
{
	struct big a, b, num, den;

	if (big_pow(&a, (uint64_t)B4_MONEY_BP_ONE + (uint64_t)rate_bp, n) < 0 ||
	    big_pow(&b, B4_MONEY_BP_ONE, n) < 0)
		return -1;
	if (big_mul_u64(&num, &a, (uint64_t)amount_cents) < 0 ||
	    big_mul_u64(&num, &num, (uint64_t)rate_bp) < 0)
		return -1;
	big_sub(&den, &a, &b);
	if (big_mul_u64(&den, &den, B4_MONEY_BP_ONE) < 0)
		return -1;
	return big_div_round(&num, &den, pmt);
}

/*
 * Present value at rate r of paying `first` now-plus-one-month and `inst`
 * at months 2..n, rounded half up:
 *   10000 * (inst * (A - B) + (first - inst) * r * R^(n-1)) / (r * A)
 * with R = 10000 + r, A = R^n, B = 10000^n.
 */
static int present_value(int64_t first, int64_t inst, int n, int rate_bp, int64_t *pv)
{
	uint64_t big_r = (uint64_t)B4_MONEY_BP_ONE + (uint64_t)rate_bp;
	struct big a, b, r_prev, num, extra, den;

	if (big_pow(&a, big_r, n) < 0 || big_pow(&b, B4_MONEY_BP_ONE, n) < 0 ||
	    big_pow(&r_prev, big_r, n - 1) < 0)
		return -1;
	big_sub(&num, &a, &b);
	if (big_mul_u64(&num, &num, (uint64_t)inst) < 0)
		return -1;
	if (big_mul_u64(&extra, &r_prev, (uint64_t)(first - inst)) < 0 ||
	    big_mul_u64(&extra, &extra, (uint64_t)rate_bp) < 0 || big_add(&num, &num, &extra) < 0 ||
	    big_mul_u64(&num, &num, B4_MONEY_BP_ONE) < 0)
		return -1;
	if (big_mul_u64(&den, &a, (uint64_t)rate_bp) < 0)
		return -1;
	return big_div_round(&num, &den, pv);
}

int b4_money_installment(int64_t amount_cents, int n, int interest_free_installments,
			 int monthly_rate_bp, struct b4_installment *out)
{
	struct b4_installment row;

	if (out == NULL || amount_cents <= 0 || n < 1 || n > B4_MONEY_MAX_INSTALLMENTS ||
	    interest_free_installments < 0 || monthly_rate_bp < 0 ||
	    monthly_rate_bp > B4_MONEY_MAX_MONTHLY_RATE_BP)
		return -1;

	memset(&row, 0, sizeof(row));
	row.installments = n;
	if (n == 1 || n <= interest_free_installments || monthly_rate_bp == 0) {
		int64_t received;

		row.interest_free = true;
		row.installment_cents = amount_cents / n;
		row.first_installment_cents = row.installment_cents + amount_cents % n;
		row.total_cents = amount_cents;
		row.interest_cents = 0;
		if (n > 1 && monthly_rate_bp > 0) {
			if (present_value(row.first_installment_cents, row.installment_cents, n,
					  monthly_rate_bp, &received) < 0)
				return -1;
			row.absorbed_cost_cents = amount_cents - received;
		}
	} else {
		int64_t pmt;

		if (price_installment(amount_cents, n, monthly_rate_bp, &pmt) < 0)
			return -1;
		row.interest_free = false;
		row.installment_cents = pmt;
		row.first_installment_cents = pmt;
		if (b4_money_mul(pmt, n, &row.total_cents) < 0)
			return -1;
		row.interest_cents = row.total_cents - amount_cents;
	}
	*out = row;
	return 0;
}

int b4_money_installments(int64_t amount_cents, int max_installments,
			  int interest_free_installments, int monthly_rate_bp,
			  struct b4_installment *out)
{
	if (out == NULL || max_installments < 1 || max_installments > B4_MONEY_MAX_INSTALLMENTS)
		return -1;
	for (int n = 1; n <= max_installments; n++) {
		if (b4_money_installment(amount_cents, n, interest_free_installments,
					 monthly_rate_bp, &out[n - 1]) < 0)
			return -1;
	}
	return 0;
}

/* floor(amount * bp / 10000) for amount >= 0, 0 <= bp <= 10000, without overflow. */
static int64_t bp_of(int64_t amount, int bp)
{
	int64_t whole = amount / B4_MONEY_BP_ONE;
	int64_t rest = amount % B4_MONEY_BP_ONE;

	return whole * bp + rest * bp / B4_MONEY_BP_ONE;
}

static bool bp_is_valid(int bp)
{
	return bp >= 0 && bp <= B4_MONEY_BP_ONE;
}

int b4_money_split(int64_t amount_cents, const struct b4_split_config *cfg,
		   struct b4_split_part *parts, size_t parts_cap, size_t *parts_len)
{
	size_t needed, used = 0;
	int64_t platform, net, coproducers_total = 0;
	int bp_total = 0;

	if (cfg == NULL || parts == NULL || parts_len == NULL || amount_cents < 0 ||
	    !bp_is_valid(cfg->platform_fee_bp) || cfg->platform_fixed_cents < 0 ||
	    (cfg->has_affiliate && !bp_is_valid(cfg->affiliate_bp)) ||
	    cfg->coproducer_count > B4_MONEY_MAX_COPRODUCERS ||
	    (cfg->coproducer_count > 0 && cfg->coproducer_bp == NULL))
		return -1;
	for (size_t k = 0; k < cfg->coproducer_count; k++) {
		if (!bp_is_valid(cfg->coproducer_bp[k]))
			return -1;
		bp_total += cfg->coproducer_bp[k];
	}
	if (bp_total > B4_MONEY_BP_ONE)
		return -1;
	needed = 2 + (cfg->has_affiliate ? 1 : 0) + cfg->coproducer_count;
	if (parts_cap < needed)
		return -1;

	platform = bp_of(amount_cents, cfg->platform_fee_bp);
	if (cfg->platform_fixed_cents > amount_cents - platform)
		return -1;
	platform += cfg->platform_fixed_cents;
	net = amount_cents - platform;
	parts[used++] = (struct b4_split_part){B4_SPLIT_PLATFORM, 0, platform};

	if (cfg->has_affiliate) {
		int64_t affiliate = bp_of(net, cfg->affiliate_bp);

		parts[used++] = (struct b4_split_part){B4_SPLIT_AFFILIATE, 0, affiliate};
		net -= affiliate;
	}
	for (size_t k = 0; k < cfg->coproducer_count; k++) {
		int64_t share = bp_of(net, cfg->coproducer_bp[k]);

		parts[used++] = (struct b4_split_part){B4_SPLIT_COPRODUCER, (int)k, share};
		coproducers_total += share;
	}
	parts[used++] = (struct b4_split_part){B4_SPLIT_PRODUCER, 0, net - coproducers_total};
	*parts_len = used;
	return 0;
}

int b4_money_split_refund(const struct b4_split_part *parts, size_t parts_len, int64_t refund_cents,
			  struct b4_split_part *reversals)
{
	uint64_t remainder[B4_MONEY_MAX_SPLIT_PARTS];
	int64_t share[B4_MONEY_MAX_SPLIT_PARTS];
	bool bumped[B4_MONEY_MAX_SPLIT_PARTS];
	int64_t total = 0, assigned = 0;

	if (parts == NULL || reversals == NULL || parts_len > B4_MONEY_MAX_SPLIT_PARTS ||
	    refund_cents < 0)
		return -1;
	for (size_t k = 0; k < parts_len; k++) {
		if (parts[k].amount_cents < 0 ||
		    b4_money_add(total, parts[k].amount_cents, &total) < 0)
			return -1;
	}
	if (refund_cents > total)
		return -1;

	for (size_t k = 0; k < parts_len; k++) {
		if (total == 0) {
			share[k] = 0;
			remainder[k] = 0;
		} else {
			/* part * refund < 2^126: exact in 128 bits */
			unsigned __int128 prod =
			    (unsigned __int128)parts[k].amount_cents * (uint64_t)refund_cents;
			share[k] = (int64_t)(prod / (uint64_t)total);
			remainder[k] = (uint64_t)(prod % (uint64_t)total);
		}
		bumped[k] = false;
		assigned += share[k];
	}
	/* The leftover is the sum of the fractions: fewer cents than parts with a fraction. */
	for (int64_t left = refund_cents - assigned; left > 0; left--) {
		size_t best = parts_len;

		for (size_t k = 0; k < parts_len; k++) {
			if (bumped[k] || remainder[k] == 0)
				continue;
			if (best == parts_len || remainder[k] > remainder[best])
				best = k;
		}
		if (best == parts_len)
			return -1; /* unreachable: see the comment above the loop */
		bumped[best] = true;
		share[best]++;
	}
	for (size_t k = 0; k < parts_len; k++) {
		reversals[k].role = parts[k].role;
		reversals[k].party = parts[k].party;
		reversals[k].amount_cents = share[k];
	}
	return 0;
}

int b4_money_discount(int64_t amount_cents, enum b4_discount_kind kind, int64_t value,
		      int64_t min_price_cents, int64_t *price_cents, int64_t *discount_cents)
{
	int64_t discount, price;

	if (price_cents == NULL || amount_cents < 0 || min_price_cents < 0 || value < 0)
		return -1;
	switch (kind) {
	case B4_DISCOUNT_PERCENT:
		if (value > B4_MONEY_BP_ONE)
			return -1;
		discount = bp_of(amount_cents, (int)value);
		break;
	case B4_DISCOUNT_FIXED:
		discount = value;
		break;
	default:
		return -1;
	}
	if (amount_cents <= min_price_cents)
		price = amount_cents;
	else if (discount > amount_cents - min_price_cents)
		price = min_price_cents;
	else
		price = amount_cents - discount;
	*price_cents = price;
	if (discount_cents != NULL)
		*discount_cents = amount_cents - price;
	return 0;
}

int b4_money_add(int64_t a, int64_t b, int64_t *out)
{
	if (out == NULL || (b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b))
		return -1;
	*out = a + b;
	return 0;
}

int b4_money_sub(int64_t a, int64_t b, int64_t *out)
{
	if (out == NULL || (b < 0 && a > INT64_MAX + b) || (b > 0 && a < INT64_MIN + b))
		return -1;
	*out = a - b;
	return 0;
}

int b4_money_mul(int64_t a, int64_t b, int64_t *out)
{
	if (out == NULL)
		return -1;
	if (a != 0 && b != 0) {
		if ((a == -1 && b == INT64_MIN) || (b == -1 && a == INT64_MIN))
			return -1;
		if (a > 0 ? (b > 0 ? a > INT64_MAX / b : b < INT64_MIN / a)
			  : (b > 0 ? a < INT64_MIN / b : a < INT64_MAX / b))
			return -1;
	}
	*out = a * b;
	return 0;
}

int b4_money_format(int64_t cents, char *buf, size_t size)
{
	char tmp[B4_MONEY_FORMAT_SIZE];
	size_t pos = sizeof(tmp), len;
	bool negative = cents < 0;
	/* magnitude in unsigned arithmetic: -INT64_MIN does not fit in int64_t */
	uint64_t mag = negative ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
	int digits = 0;

	if (buf == NULL)
		return -1;
	tmp[--pos] = '\0';
	do {
		tmp[--pos] = (char)('0' + mag % 10);
		mag /= 10;
		if (++digits == 2)
			tmp[--pos] = '.';
	} while (mag > 0 || digits < 3);
	if (negative)
		tmp[--pos] = '-';
	len = sizeof(tmp) - pos;
	if (size < len) {
		if (size > 0)
			buf[0] = '\0';
		return -1;
	}
	memcpy(buf, tmp + pos, len);
	return 0;
}

int b4_money_parse(const char *text, size_t len, int64_t *cents)
{
	int64_t units = 0, frac = 0, value;
	size_t k = 0, int_digits = 0;

	if (text == NULL || cents == NULL)
		return -1;
	for (; k < len && text[k] >= '0' && text[k] <= '9'; k++, int_digits++) {
		if (units > (INT64_MAX - (text[k] - '0')) / 10)
			return -1;
		units = units * 10 + (text[k] - '0');
	}
	if (int_digits == 0)
		return -1;
	if (k < len && text[k] == '.') {
		size_t frac_digits = 0;

		for (k++; k < len && frac_digits < 2 && text[k] >= '0' && text[k] <= '9'; k++)
			frac = frac + (text[k] - '0') * (frac_digits++ == 0 ? 10 : 1);
		if (frac_digits == 0)
			return -1;
	}
	if (k != len || b4_money_mul(units, 100, &value) < 0 ||
	    b4_money_add(value, frac, &value) < 0)
		return -1;
	*cents = value;
	return 0;
}
