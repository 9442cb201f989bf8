/* test_tz.c - b4/tz.h against the system's zone files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "b4/tz.h"

static void test_names(void **state)
{
	(void)state;
	assert_true(b4_tz_name_is_valid("America/Sao_Paulo"));
	assert_true(b4_tz_name_is_valid("UTC"));
	assert_true(b4_tz_name_is_valid("Etc/GMT+3"));
	assert_false(b4_tz_name_is_valid(""));
	assert_false(b4_tz_name_is_valid("/etc/passwd"));
	assert_false(b4_tz_name_is_valid("America/../../etc/passwd"));
	assert_false(b4_tz_name_is_valid("America/Sao Paulo"));
	assert_false(b4_tz_name_is_valid(NULL));
}

static void test_offsets(void **state)
{
	struct b4_tz tz;
	(void)state;

	assert_int_equal(b4_tz_load(&tz, "America/Sao_Paulo"), 0);
	assert_int_equal(b4_tz_offset(&tz, 1772323200), -3 * 3600); /* 2026-03-01 */
	assert_int_equal(b4_tz_offset(&tz, 1515974400), -2 * 3600); /* 2018-01-15, summer time */
	/* 2026-03-10 00:00 local is 03:00 UTC */
	assert_int_equal(b4_tz_local_midnight(&tz, 2026, 3, 10), 1773111600);
	b4_tz_cleanup(&tz);

	assert_int_equal(b4_tz_load(&tz, "America/New_York"), 0);
	assert_int_equal(b4_tz_offset(&tz, 1783296000), -4 * 3600); /* 2026-07-06 */
	assert_int_equal(b4_tz_offset(&tz, 1767225600), -5 * 3600); /* 2026-01-01 */
	b4_tz_cleanup(&tz);

	assert_int_equal(b4_tz_load(&tz, "Asia/Kolkata"), 0);
	assert_int_equal(b4_tz_offset(&tz, 1772323200), 5 * 3600 + 1800);
	b4_tz_cleanup(&tz);

	assert_int_equal(b4_tz_load(&tz, "UTC"), 0);
	assert_int_equal(b4_tz_offset(&tz, 1772323200), 0);
	b4_tz_cleanup(&tz);

	assert_int_equal(b4_tz_load(&tz, "Mars/Olympus"), -1);
	assert_int_equal(b4_tz_load(&tz, "../../etc/passwd"), -1);
	b4_tz_cleanup(&tz);
}

static void test_civil_days(void **state)
{
	int y, m, d;
	(void)state;

	assert_int_equal(b4_tz_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(b4_tz_days_from_civil(2026, 3, 10), 20522);
	for (int64_t days = -1000; days < 40000; days += 37) {
		b4_tz_civil_from_days(days, &y, &m, &d);
		assert_int_equal(b4_tz_days_from_civil(y, m, d), days);
	}
	b4_tz_civil_from_days(20522, &y, &m, &d);
	assert_int_equal(y, 2026);
	assert_int_equal(m, 3);
	assert_int_equal(d, 10);
	b4_tz_civil_from_days(b4_tz_days_from_civil(2024, 2, 29) + 1, &y, &m, &d);
	assert_int_equal(m, 3);
	assert_int_equal(d, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_offsets),
	    cmocka_unit_test(test_civil_days),
	};

	return cmocka_run_group_tests_name("tz", tests, NULL, NULL);
}
