/* test_arena.c - the per-request bump allocator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "b4/arena.h"

static void test_alloc_align_and_grow(void **state)
{
	struct b4_arena *a = b4_arena_new(64);
	char *big;
	(void)state;

	assert_non_null(a);
	for (int i = 0; i < 1000; i++) {
		void *p = b4_arena_alloc(a, (size_t)(i % 37) + 1);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 16, 0);
		memset(p, 0xab, (size_t)(i % 37) + 1);
	}
	big = b4_arena_alloc(a, 1 << 20);
	assert_non_null(big);
	memset(big, 1, 1 << 20);
	assert_string_equal(b4_arena_strdup(a, "hello"), "hello");
	assert_string_equal(b4_arena_strndup(a, "hello world", 5), "hello");
	assert_string_equal(b4_arena_printf(a, "%d-%s", 42, "x"), "42-x");
	assert_null(b4_arena_strdup(a, NULL));
	assert_null(b4_arena_calloc(a, SIZE_MAX / 2, 4));
	assert_null(b4_arena_alloc(a, SIZE_MAX - 4));
	b4_arena_free(a);
	b4_arena_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alloc_align_and_grow),
	};
	return cmocka_run_group_tests_name("arena", tests, NULL, NULL);
}
