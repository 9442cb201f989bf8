/* test_text.c - identifier and date checks of text input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "b4/text.h"

static void test_uuid(void **state)
{
	(void)state;
	assert_true(b4_text_is_uuid("01900000-0000-7000-8000-000000000101"));
	assert_false(b4_text_is_uuid("01900000-0000-7000-8000-00000000010"));
	assert_false(b4_text_is_uuid("01900000-0000-7000-8000-0000000001011"));
	assert_false(b4_text_is_uuid("01900000-0000-7000-8000-00000000010G"));
	assert_false(b4_text_is_uuid("01900000-0000-7000-8000-00000000010A")); /* upper case */
	assert_false(b4_text_is_uuid("01900000x0000-7000-8000-000000000101"));
	assert_false(b4_text_is_uuid("' OR 1=1 --                        "));
	assert_false(b4_text_is_uuid(""));
	assert_false(b4_text_is_uuid(NULL));
}

static void test_date(void **state)
{
	(void)state;
	assert_true(b4_text_is_date("2026-11-29"));
	assert_true(b4_text_is_date("2024-02-29"));  /* leap year */
	assert_false(b4_text_is_date("2025-02-29")); /* not one */
	assert_false(b4_text_is_date("2100-02-29")); /* centuries are not, unless / 400 */
	assert_true(b4_text_is_date("2000-02-29"));
	assert_false(b4_text_is_date("2026-04-31"));
	assert_false(b4_text_is_date("2026-13-01"));
	assert_false(b4_text_is_date("2026-00-10"));
	assert_false(b4_text_is_date("1999-12-31"));
	assert_false(b4_text_is_date("2026-1-01"));
	assert_false(b4_text_is_date("2026-01-01T00:00:00Z"));
	assert_false(b4_text_is_date("2026/01/01"));
	assert_false(b4_text_is_date(NULL));
}

static void test_digits(void **state)
{
	(void)state;
	assert_true(b4_text_is_digits("0"));
	assert_true(b4_text_is_digits("12345678901234567890"));
	assert_false(b4_text_is_digits("123456789012345678901"));
	assert_false(b4_text_is_digits("-1"));
	assert_false(b4_text_is_digits("1e5"));
	assert_false(b4_text_is_digits(""));
	assert_false(b4_text_is_digits(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uuid),
	    cmocka_unit_test(test_date),
	    cmocka_unit_test(test_digits),
	};
	return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
