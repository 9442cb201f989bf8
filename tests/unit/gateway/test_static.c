/* gateway/static.c: byte ranges (the Range parser and when a request's
 * Range counts).  Its path, encoding and date helpers are in test_path.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "../../../gateway/http_parse.c"
#include "../../../gateway/path.c"
#include "../../../gateway/static.c"

#define UNTOUCHED 0x5a5a5a5aull

struct range_case {
	const char *value;
	uint64_t length;
	enum gw_static_range want;
	uint64_t first, last; /* GW_RANGE_SATISFIABLE only */
};

static void check_cases(const struct range_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct range_case *c = &cases[i];
		uint64_t first = UNTOUCHED, last = UNTOUCHED;
		enum gw_static_range got =
		    gw_static_parse_range(c->value, strlen(c->value), c->length, &first, &last);
		if (got != c->want)
			fail_msg("\"%s\" of %llu: %d, want %d", c->value,
				 (unsigned long long)c->length, (int)got, (int)c->want);
		if (c->want == GW_RANGE_SATISFIABLE && (first != c->first || last != c->last))
			fail_msg("\"%s\" of %llu: %llu-%llu, want %llu-%llu", c->value,
				 (unsigned long long)c->length, (unsigned long long)first,
				 (unsigned long long)last, (unsigned long long)c->first,
				 (unsigned long long)c->last);
		if (c->want != GW_RANGE_SATISFIABLE && (first != UNTOUCHED || last != UNTOUCHED))
			fail_msg("\"%s\": outputs written on %d", c->value, (int)got);
	}
}

static void test_range_forms(void **state)
{
	static const struct range_case cases[] = {
	    {"bytes=0-499", 1000, GW_RANGE_SATISFIABLE, 0, 499},
	    {"bytes=500-", 1000, GW_RANGE_SATISFIABLE, 500, 999},
	    {"bytes=-200", 1000, GW_RANGE_SATISFIABLE, 800, 999},
	    {"bytes=0-", 1000, GW_RANGE_SATISFIABLE, 0, 999},
	    {"bytes=0-0", 1, GW_RANGE_SATISFIABLE, 0, 0},
	    {"bytes=999-999", 1000, GW_RANGE_SATISFIABLE, 999, 999},
	    {"bytes=-1", 1, GW_RANGE_SATISFIABLE, 0, 0},
	    /* last-pos past the end is clamped; a long suffix is all of it */
	    {"bytes=900-5000", 1000, GW_RANGE_SATISFIABLE, 900, 999},
	    {"bytes=-5000", 1000, GW_RANGE_SATISFIABLE, 0, 999},
	    {"bytes=-1000", 1000, GW_RANGE_SATISFIABLE, 0, 999},
	    {"bytes=0005-0006", 1000, GW_RANGE_SATISFIABLE, 5, 6},
	    /* the unit in any case */
	    {"BYTES=1-2", 1000, GW_RANGE_SATISFIABLE, 1, 2},
	    {"Bytes=1-2", 1000, GW_RANGE_SATISFIABLE, 1, 2},
	    /* unsatisfiable: first-pos at or past the end, a suffix of zero */
	    {"bytes=1000-", 1000, GW_RANGE_UNSATISFIABLE, 0, 0},
	    {"bytes=1000-2000", 1000, GW_RANGE_UNSATISFIABLE, 0, 0},
	    {"bytes=-0", 1000, GW_RANGE_UNSATISFIABLE, 0, 0},
	    {"bytes=0-0", 0, GW_RANGE_UNSATISFIABLE, 0, 0},
	    {"bytes=-0", 0, GW_RANGE_UNSATISFIABLE, 0, 0},
	    /* an empty file has no byte to name: a suffix gets the whole, empty, file */
	    {"bytes=-1", 0, GW_RANGE_IGNORE, 0, 0},
	};
	(void)state;
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_range_spaces_and_empty(void **state)
{
	static const struct range_case cases[] = {
	    /* list whitespace and empty elements around the one range */
	    {"bytes= 1-2", 1000, GW_RANGE_SATISFIABLE, 1, 2},
	    {"bytes=1-2 ", 1000, GW_RANGE_SATISFIABLE, 1, 2},
	    {"bytes=\t1-2\t", 1000, GW_RANGE_SATISFIABLE, 1, 2},
	    {"bytes=1-2,", 1000, GW_RANGE_SATISFIABLE, 1, 2},
	    {"bytes=,1-2", 1000, GW_RANGE_SATISFIABLE, 1, 2},
	    {"bytes=, ,1-2 , ,", 1000, GW_RANGE_SATISFIABLE, 1, 2},
	    /* but none inside a range-spec or around the unit */
	    {"bytes=1 -2", 1000, GW_RANGE_IGNORE, 0, 0},
	    {"bytes=1- 2", 1000, GW_RANGE_IGNORE, 0, 0},
	    {"bytes=- 1", 1000, GW_RANGE_IGNORE, 0, 0},
	    {"bytes =1-2", 1000, GW_RANGE_IGNORE, 0, 0},
	    {" bytes=1-2", 1000, GW_RANGE_IGNORE, 0, 0},
	    /* empty or incomplete */
	    {"", 1000, GW_RANGE_IGNORE, 0, 0},
	    {"bytes", 1000, GW_RANGE_IGNORE, 0, 0},
	    {"bytes=", 1000, GW_RANGE_IGNORE, 0, 0},
	    {"bytes=,", 1000, GW_RANGE_IGNORE, 0, 0},
	    {"bytes= , ", 1000, GW_RANGE_IGNORE, 0, 0},
	    {"bytes=-", 1000, GW_RANGE_IGNORE, 0, 0},
	    {"bytes=1", 1000, GW_RANGE_IGNORE, 0, 0},
	    /* malformed */
	    {"bytes=--1", 1000, GW_RANGE_IGNORE, 0, 0},
	    {"bytes=a-b", 1000, GW_RANGE_IGNORE, 0, 0},
	    {"bytes=1-a", 1000, GW_RANGE_IGNORE, 0, 0},
	    {"bytes=1-2-3", 1000, GW_RANGE_IGNORE, 0, 0},
	    {"bytes=1-2;x", 1000, GW_RANGE_IGNORE, 0, 0},
	    {"bytes=+1-2", 1000, GW_RANGE_IGNORE, 0, 0},
	    {"bytes=-+1", 1000, GW_RANGE_IGNORE, 0, 0},
	    {"bytes=0x10-20", 1000, GW_RANGE_IGNORE, 0, 0},
	    {"bytes:1-2", 1000, GW_RANGE_IGNORE, 0, 0},
	    {"bytes=1-2 3-4", 1000, GW_RANGE_IGNORE, 0, 0},
	    /* last-pos before first-pos makes the range-spec invalid */
	    {"bytes=5-2", 1000, GW_RANGE_IGNORE, 0, 0},
	    /* other units, several ranges (no multipart/byteranges) */
	    {"items=1-2", 1000, GW_RANGE_IGNORE, 0, 0},
	    {"bytesx=1-2", 1000, GW_RANGE_IGNORE, 0, 0},
	    {"bytes=0-1,5-6", 1000, GW_RANGE_IGNORE, 0, 0},
	    {"bytes=0-1, -5", 1000, GW_RANGE_IGNORE, 0, 0},
	    {"bytes=2000-3000,0-1", 1000, GW_RANGE_IGNORE, 0, 0},
	};
	(void)state;
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_range_large_numbers(void **state)
{
	static const struct range_case cases[] = {
	    /* INT64_MAX, UINT64_MAX, and past it: saturated, still past the end */
	    {"bytes=9223372036854775807-", 1000, GW_RANGE_UNSATISFIABLE, 0, 0},
	    {"bytes=18446744073709551615-", 1000, GW_RANGE_UNSATISFIABLE, 0, 0},
	    {"bytes=18446744073709551616-", 1000, GW_RANGE_UNSATISFIABLE, 0, 0},
	    {"bytes=999999999999999999999999999999999999-1", 1000, GW_RANGE_IGNORE, 0, 0},
	    {"bytes=99999999999999999999999999999999-99999999999999999999999999999999", 1000,
	     GW_RANGE_UNSATISFIABLE, 0, 0},
	    /* a huge last-pos or suffix reaches the end */
	    {"bytes=0-18446744073709551616", 1000, GW_RANGE_SATISFIABLE, 0, 999},
	    {"bytes=10-99999999999999999999999999999999", 1000, GW_RANGE_SATISFIABLE, 10, 999},
	    {"bytes=-99999999999999999999999999999999", 1000, GW_RANGE_SATISFIABLE, 0, 999},
	    /* the largest file a stat can report */
	    {"bytes=9223372036854775806-", 9223372036854775807ull, GW_RANGE_SATISFIABLE,
	     9223372036854775806ull, 9223372036854775806ull},
	    {"bytes=9223372036854775807-", 9223372036854775807ull, GW_RANGE_UNSATISFIABLE, 0, 0},
	    {"bytes=-1", 9223372036854775807ull, GW_RANGE_SATISFIABLE, 9223372036854775806ull,
	     9223372036854775806ull},
	    {"bytes=0-", UINT64_MAX, GW_RANGE_SATISFIABLE, 0, UINT64_MAX - 1},
	};
	(void)state;
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_range_reads_only_len(void **state)
{
	uint64_t first = UNTOUCHED, last = UNTOUCHED;
	/* "bytes=1-" of "bytes=1-23": the digits past len are not read */
	(void)state;
	assert_int_equal(gw_static_parse_range("bytes=1-23", 8, 1000, &first, &last),
			 GW_RANGE_SATISFIABLE);
	assert_int_equal(first, 1);
	assert_int_equal(last, 999);
	assert_int_equal(gw_static_parse_range("bytes=1-2", 5, 1000, &first, &last),
			 GW_RANGE_IGNORE);
	/* a NUL byte is not the end of the value */
	assert_int_equal(gw_static_parse_range("bytes=1-2\0", 10, 1000, &first, &last),
			 GW_RANGE_IGNORE);
}

static struct gw_message_head *head_with(const char *raw)
{
	static struct gw_message_head h;
	assert_true(gw_parse_request(raw, strlen(raw), 16384, &h) > 0);
	return &h;
}

static void test_requested_range(void **state)
{
	static const char etag[] = "\"13-17a\"", date[] = "Sun, 06 Nov 1994 08:49:37 GMT";
	static const struct {
		const char *head;
		enum gw_static_range want;
	} cases[] = {
	    {"GET / HTTP/1.1\r\nHost: t\r\nRange: bytes=1-2\r\n\r\n", GW_RANGE_SATISFIABLE},
	    {"GET / HTTP/1.1\r\nHost: t\r\nrange: bytes=50-\r\n\r\n", GW_RANGE_UNSATISFIABLE},
	    {"GET / HTTP/1.1\r\nHost: t\r\n\r\n", GW_RANGE_IGNORE},
	    /* only a GET has ranges */
	    {"HEAD / HTTP/1.1\r\nHost: t\r\nRange: bytes=1-2\r\n\r\n", GW_RANGE_IGNORE},
	    /* two Range fields read as several ranges */
	    {"GET / HTTP/1.1\r\nHost: t\r\nRange: bytes=1-2\r\nRange: bytes=1-2\r\n\r\n",
	     GW_RANGE_IGNORE},
	    /* If-Range: this representation's strong tag or exact date */
	    {"GET / HTTP/1.1\r\nHost: t\r\nRange: bytes=1-2\r\nIf-Range: \"13-17a\"\r\n\r\n",
	     GW_RANGE_SATISFIABLE},
	    {"GET / HTTP/1.1\r\nHost: t\r\nIf-Range: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
	     "Range: bytes=1-2\r\n\r\n",
	     GW_RANGE_SATISFIABLE},
	    {"GET / HTTP/1.1\r\nHost: t\r\nRange: bytes=1-2\r\nIf-Range: W/\"13-17a\"\r\n\r\n",
	     GW_RANGE_IGNORE},
	    {"GET / HTTP/1.1\r\nHost: t\r\nRange: bytes=1-2\r\nIf-Range: \"13-17b\"\r\n\r\n",
	     GW_RANGE_IGNORE},
	    {"GET / HTTP/1.1\r\nHost: t\r\nRange: bytes=1-2\r\nIf-Range: 13-17a\r\n\r\n",
	     GW_RANGE_IGNORE},
	    {"GET / HTTP/1.1\r\nHost: t\r\nRange: bytes=1-2\r\n"
	     "If-Range: Sunday, 06-Nov-94 08:49:37 GMT\r\n\r\n",
	     GW_RANGE_IGNORE},
	    {"GET / HTTP/1.1\r\nHost: t\r\nRange: bytes=1-2\r\n"
	     "If-Range: Sun, 06 Nov 1994 08:49:38 GMT\r\n\r\n",
	     GW_RANGE_IGNORE},
	    {"GET / HTTP/1.1\r\nHost: t\r\nRange: bytes=1-2\r\nIf-Range:\r\n\r\n", GW_RANGE_IGNORE},
	    {"GET / HTTP/1.1\r\nHost: t\r\nRange: bytes=1-2\r\nIf-Range: \"13-17a\"\r\n"
	     "If-Range: \"13-17a\"\r\n\r\n",
	     GW_RANGE_IGNORE},
	    /* an unsatisfiable range is not answered 416 when If-Range fails */
	    {"GET / HTTP/1.1\r\nHost: t\r\nRange: bytes=50-\r\nIf-Range: \"old\"\r\n\r\n",
	     GW_RANGE_IGNORE},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t first = 0, last = 0;
		enum gw_static_range got =
		    requested_range(head_with(cases[i].head), 19, etag, date, &first, &last);
		if (got != cases[i].want)
			fail_msg("case %zu: %d, want %d", i, (int)got, (int)cases[i].want);
		if (got == GW_RANGE_SATISFIABLE && cases[i].want == GW_RANGE_SATISFIABLE)
			assert_true(first == 1 && last == 2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_range_forms),
	    cmocka_unit_test(test_range_spaces_and_empty),
	    cmocka_unit_test(test_range_large_numbers),
	    cmocka_unit_test(test_range_reads_only_len),
	    cmocka_unit_test(test_requested_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
