/* test_clientaddr.c - trusted proxies and the X-Forwarded-For walk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "b4/clientaddr.h"

static struct b4_proxy_list list;

static const char *resolve(const char *peer, const char *xff)
{
	static char out[B4_CLIENT_ADDR_MAX];
	b4_client_addr_resolve(&list, peer, xff, out, sizeof(out));
	return out;
}

static int setup(void **state)
{
	char err[128];
	(void)state;
	return b4_proxy_list_parse(" 127.0.0.1/32, 10.0.0.0/8 ,::1,fd00::/8", &list, err,
				   sizeof(err));
}

static void test_parse(void **state)
{
	struct b4_proxy_list l;
	char err[128];
	(void)state;

	assert_int_equal(list.count, 4);
	assert_int_equal(b4_proxy_list_parse("", &l, err, sizeof(err)), 0);
	assert_int_equal(l.count, 0);
	assert_int_equal(b4_proxy_list_parse(NULL, &l, err, sizeof(err)), 0);
	assert_int_equal(b4_proxy_list_parse("10.0.0.0/33", &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "10.0.0.0/33"));
	assert_int_equal(b4_proxy_list_parse("10.0.0.0/8,nope", &l, err, sizeof(err)), -1);
	assert_int_equal(b4_proxy_list_parse("::/129", &l, err, sizeof(err)), -1);
	assert_int_equal(b4_proxy_list_parse("1.2.3.4/", &l, err, sizeof(err)), -1);
	assert_true(b4_proxy_list_trusts(&list, "10.200.3.4"));
	assert_true(b4_proxy_list_trusts(&list, "::ffff:10.1.1.1")); /* mapped is v4 */
	assert_true(b4_proxy_list_trusts(&list, "fd12::1"));
	assert_false(b4_proxy_list_trusts(&list, "11.0.0.1"));
	assert_false(b4_proxy_list_trusts(&list, "fe80::1"));
	assert_false(b4_proxy_list_trusts(&list, "garbage"));
}

static void test_untrusted_peer_is_the_client(void **state)
{
	(void)state;
	assert_string_equal(resolve("203.0.113.9", "1.2.3.4"), "203.0.113.9");
	assert_string_equal(resolve("203.0.113.9", NULL), "203.0.113.9");
	assert_string_equal(resolve("::ffff:203.0.113.9", "1.2.3.4"), "203.0.113.9");
	assert_string_equal(resolve("2001:DB8::0:1", NULL), "2001:db8::1");
}

static void test_walk_from_the_right(void **state)
{
	(void)state;
	/* gateway (127.0.0.1) appended the load balancer (10.0.0.5), which
	 * appended the buyer */
	assert_string_equal(resolve("127.0.0.1", "198.51.100.7, 10.0.0.5"), "198.51.100.7");
	/* what the buyer wrote left of that is not believed */
	assert_string_equal(resolve("127.0.0.1", "6.6.6.6, 198.51.100.7, 10.0.0.5"),
			    "198.51.100.7");
	assert_string_equal(resolve("127.0.0.1", "2001:db8::7,fd00::1"), "2001:db8::7");
	/* every hop trusted: the leftmost is the client */
	assert_string_equal(resolve("127.0.0.1", "10.1.1.1, 10.0.0.5"), "10.1.1.1");
	assert_string_equal(resolve("127.0.0.1", ""), "127.0.0.1");
	assert_string_equal(resolve("127.0.0.1", " , ,"), "127.0.0.1");
	/* garbage stops the walk at the last address a trusted hop gave */
	assert_string_equal(resolve("127.0.0.1", "1.1.1.1, evil, 10.0.0.5"), "10.0.0.5");
	assert_string_equal(resolve("127.0.0.1", "1.1.1.1, 999.1.1.1"), "127.0.0.1");
	assert_string_equal(resolve("127.0.0.1", "x"), "127.0.0.1");
	/* ports some proxies add are dropped */
	assert_string_equal(resolve("127.0.0.1", "198.51.100.7:51234, 10.0.0.5:80"),
			    "198.51.100.7");
	assert_string_equal(resolve("127.0.0.1", "[2001:db8::7]:443"), "2001:db8::7");
	assert_string_equal(resolve("127.0.0.1", "[2001:db8::7]"), "2001:db8::7");
	assert_string_equal(resolve("127.0.0.1", "[2001:db8::7]x"), "127.0.0.1");
	assert_string_equal(resolve("127.0.0.1", "198.51.100.7:abc"), "127.0.0.1");
	/* spelled differently, one client */
	assert_string_equal(resolve("127.0.0.1", "::FFFF:198.51.100.7"), "198.51.100.7");
}

static void test_trust_nobody(void **state)
{
	char out[B4_CLIENT_ADDR_MAX];
	(void)state;
	b4_client_addr_resolve(NULL, "127.0.0.1", "198.51.100.7", out, sizeof(out));
	assert_string_equal(out, "127.0.0.1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_untrusted_peer_is_the_client),
	    cmocka_unit_test(test_walk_from_the_right),
	    cmocka_unit_test(test_trust_nobody),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
