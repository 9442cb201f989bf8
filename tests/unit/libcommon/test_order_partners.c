/* The order path's partners, read with the offer instead of in tx1: the
 * co-producers' column (b4_order_partners_parse) and a member's local day
 * from the order's created_at (b4_sales_agg_local_day), which must say
 * what MariaDB's DATE(CONVERT_TZ(created_at, '+00:00', utc_offset)) says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "b4/orders.h"
#include "b4/sales_agg.h"

/* The day by another road: gmtime_r of the instant moved by the offset. */
static void reference_day(time_t utc, int offset_minutes, char day[32])
{
	time_t local = utc + (time_t)offset_minutes * 60;
	struct tm tm;

	gmtime_r(&local, &tm);
	snprintf(day, 32, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static void test_local_day_matches_reference(void **state)
{
	static const int offsets[] = {-14 * 60, -12 * 60,    -3 * 60, -2 * 60 - 30, -30,    0,
				      30,	5 * 60 + 45, 9 * 60,  13 * 60,	    14 * 60};
	char utc[64], offset[32], got[11], want[32];
	struct tm tm;
	(void)state;

	/* every 100003 s (a prime, so the minutes of the day all come round)
	 * from 1971 to 2040, through leap days and year ends */
	for (time_t t = 31536000; t < 2208988800; t += 100003) {
		gmtime_r(&t, &tm);
		snprintf(utc, sizeof(utc), "%04d-%02d-%02d %02d:%02d", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
		for (size_t k = 0; k < sizeof(offsets) / sizeof(offsets[0]); k++) {
			int m = offsets[k] < 0 ? -offsets[k] : offsets[k];
			snprintf(offset, sizeof(offset), "%c%02d:%02d", offsets[k] < 0 ? '-' : '+',
				 m / 60, m % 60);
			/* the reference sees the seconds the string drops */
			reference_day(t - tm.tm_sec, offsets[k], want);
			assert_int_equal(b4_sales_agg_local_day(utc, offset, got), 0);
			assert_string_equal(got, want);
		}
	}
}

static void test_local_day_edges(void **state)
{
	static const struct {
		const char *utc, *offset, *want; /* want NULL: refused */
	} cases[] = {
	    {"2026-12-07 02:59", "-03:00", "2026-12-06"},
	    {"2026-12-07 03:00", "-03:00", "2026-12-07"},
	    {"2026-12-31 23:00", "+01:00", "2027-01-01"},
	    {"2024-03-01 01:00", "-02:00", "2024-02-29"},
	    {"1970-01-01 00:30", "-03:00", "1969-12-31"},
	    /* what DATE_FORMAT(..., '%Y-%m-%d %H:%i:%s.%f') gives */
	    {"2026-01-01 00:00:59.999999", "+00:00", "2026-01-01"},
	    {"2026-12-07", "-03:00", NULL},
	    {"2026-13-07 10:00", "-03:00", NULL},
	    {"2026-12-07 24:00", "-03:00", NULL},
	    {"2026/12/07 10:00", "-03:00", NULL},
	    {"2026-12-07 1x:00", "-03:00", NULL},
	    {"2026-12-07 10:00", "-0300", NULL},
	    {"2026-12-07 10:00", "03:00 ", NULL},
	    {"2026-12-07 10:00", "-15:00", NULL},
	    {"2026-12-07 10:00", "", NULL},
	    {NULL, "-03:00", NULL},
	};
	char day[11];
	(void)state;

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		int rc = b4_sales_agg_local_day(cases[k].utc, cases[k].offset, day);
		if (!cases[k].want) {
			assert_int_equal(rc, -1);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_string_equal(day, cases[k].want);
	}
}

#define USER_A "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
#define USER_B "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c"

static void test_partners_parse(void **state)
{
	struct b4_order_partners p;
	char many[64 * (B4_MONEY_MAX_COPRODUCERS + 1)] = "";
	(void)state;

	memset(&p, 0, sizeof(p));
	assert_int_equal(b4_order_partners_parse(&p, NULL), 0);
	assert_true(p.known);
	assert_int_equal(p.ncoproducers, 0);
	assert_int_equal(b4_order_partners_parse(&p, ""), 0);
	assert_true(p.known);

	assert_int_equal(b4_order_partners_parse(&p, USER_A " 1500 -03:00," USER_B " 250 +05:45"),
			 0);
	assert_true(p.known);
	assert_int_equal(p.ncoproducers, 2);
	assert_string_equal(p.coproducers[0].user_id, USER_A);
	assert_int_equal(p.coproducers[0].share_bps, 1500);
	assert_string_equal(p.coproducers[0].utc_offset, "-03:00");
	assert_string_equal(p.coproducers[1].user_id, USER_B);
	assert_int_equal(p.coproducers[1].share_bps, 250);
	assert_string_equal(p.coproducers[1].utc_offset, "+05:45");

	/* malformed: not known, so b4_order_create reads them itself */
	static const char *const bad[] = {
	    USER_A " 1500",	  USER_A " x -03:00",	  USER_A "  -03:00",
	    USER_A " 1500 -03:0", USER_A " -1 -03:00",	  USER_A " 10001 -03:00",
	    "short 1500 -03:00",  USER_A " 1500 -03:00,", USER_A " 1500 -03:00,,",
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		p.known = true;
		assert_int_equal(b4_order_partners_parse(&p, bad[k]), -1);
		assert_false(p.known);
	}

	/* one more than a split holds */
	for (int k = 0; k <= B4_MONEY_MAX_COPRODUCERS; k++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s%s 10 -03:00",
			 k ? "," : "", USER_A);
	assert_int_equal(b4_order_partners_parse(&p, many), -1);
	assert_false(p.known);
	*strrchr(many, ',') = '\0';
	assert_int_equal(b4_order_partners_parse(&p, many), 0);
	assert_int_equal(p.ncoproducers, B4_MONEY_MAX_COPRODUCERS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_local_day_matches_reference),
	    cmocka_unit_test(test_local_day_edges),
	    cmocka_unit_test(test_partners_parse),
	};

	return cmocka_run_group_tests_name("order_partners", tests, NULL, NULL);
}
