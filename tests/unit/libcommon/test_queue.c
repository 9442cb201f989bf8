/* Unit tests for the pure parts of libcommon/src/queue.c (the backoff);
 * the queue itself runs against MariaDB in tests/integration/test_queue.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "b4/queue.h"

/* 5 s * 2^(n-1), +-20 % jitter, capped at 1 h (before jitter). */
static void test_backoff_doubles_within_jitter(void **state)
{
	(void)state;
	for (int attempts = 1; attempts <= 12; attempts++) {
		double base = 5.0 * (double)(1 << (attempts - 1));

		if (base > 3600)
			base = 3600;
		for (int i = 0; i < 200; i++) {
			double d = b4_queue_backoff(attempts, 1.0);

			assert_true(d >= base * 0.8 - 1e-9);
			assert_true(d <= base * 1.2 + 1e-9);
		}
	}
}

static void test_backoff_capped_and_scaled(void **state)
{
	(void)state;
	for (int i = 0; i < 200; i++) {
		assert_true(b4_queue_backoff(1000, 1.0) <= 3600 * 1.2 + 1e-9);
		assert_true(b4_queue_backoff(1000, 1.0) >= 3600 * 0.8 - 1e-9);
		/* nonsense attempt counts behave like the first */
		assert_true(b4_queue_backoff(0, 1.0) >= 4.0 - 1e-9);
		assert_true(b4_queue_backoff(-5, 1.0) <= 6.0 + 1e-9);
		/* the scale shrinks every delay (tests use it) */
		assert_true(b4_queue_backoff(3, 0.01) <= 20 * 1.2 * 0.01 + 1e-9);
		assert_true(b4_queue_backoff(3, 0.01) >= 20 * 0.8 * 0.01 - 1e-9);
	}
}

static void test_backoff_is_jittered(void **state)
{
	double first = b4_queue_backoff(4, 1.0);
	int differ = 0;
	(void)state;

	for (int i = 0; i < 50; i++)
		if (b4_queue_backoff(4, 1.0) != first)
			differ++;
	assert_true(differ > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff_doubles_within_jitter),
	    cmocka_unit_test(test_backoff_capped_and_scaled),
	    cmocka_unit_test(test_backoff_is_jittered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
