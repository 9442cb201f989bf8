/* test_netguard.c - the outbound address policy, each IPv4-in-IPv6 form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "b4/netguard.h"

static bool allowed(const char *text, enum b4_netguard_policy policy)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &s4->sin_addr), 1);
	}
	return b4_netguard_addr_is_allowed((const struct sockaddr *)&ss, policy);
}

#define PROD B4_NETGUARD_PRODUCTION
#define DEV  B4_NETGUARD_DEVELOPMENT

static void test_ipv4(void **state)
{
	static const char *const refused_in_production[] = {
	    "127.0.0.1",   "10.1.2.3",	      "172.16.0.1", "192.168.1.1",  "100.64.0.1",
	    "192.0.0.8",   "192.0.2.10",      "198.18.0.1", "198.51.100.1", "203.0.113.1",
	    "192.88.99.1", "169.254.169.254", "0.0.0.0",    "224.0.0.1",    "255.255.255.255"};
	(void)state;
	for (size_t i = 0; i < sizeof(refused_in_production) / sizeof(refused_in_production[0]);
	     i++)
		assert_false(allowed(refused_in_production[i], PROD));
	assert_true(allowed("93.184.216.34", PROD));
	assert_true(allowed("8.8.8.8", PROD));
	/* development reaches a local receiver, never the metadata service */
	assert_true(allowed("127.0.0.1", DEV));
	assert_false(allowed("169.254.169.254", DEV));
	assert_false(allowed("0.0.0.0", DEV));
}

/* Each form that carries an IPv4 address is judged by that address. */
static void test_mapped(void **state)
{
	(void)state;
	assert_false(allowed("::ffff:127.0.0.1", PROD));
	assert_false(allowed("::ffff:10.0.0.1", PROD));
	assert_false(allowed("::ffff:169.254.169.254", DEV));
	assert_true(allowed("::ffff:93.184.216.34", PROD));
}

static void test_compatible(void **state)
{
	(void)state;
	assert_false(allowed("::127.0.0.1", PROD));
	assert_false(allowed("::10.0.0.1", PROD));
	assert_false(allowed("::a9fe:a9fe", DEV)); /* ::169.254.169.254 */
	assert_false(allowed("::0.0.0.2", DEV));
	assert_true(allowed("::93.184.216.34", PROD));
	assert_false(allowed("::", DEV));
	assert_false(allowed("::1", PROD));
	assert_true(allowed("::1", DEV));
}

static void test_nat64(void **state)
{
	(void)state;
	assert_false(allowed("64:ff9b::7f00:1", PROD));	  /* 127.0.0.1 */
	assert_false(allowed("64:ff9b::10.0.0.1", PROD)); /* private */
	assert_false(allowed("64:ff9b::a9fe:a9fe", DEV)); /* metadata */
	assert_false(allowed("64:ff9b::192.168.0.1", PROD));
	assert_true(allowed("64:ff9b::93.184.216.34", PROD)); /* a public host */
	/* local-use NAT64: never in production; in development every
	 * RFC 6052 position must pass */
	assert_false(allowed("64:ff9b:1::93.184.216.34", PROD));
	assert_false(allowed("64:ff9b:1::169.254.169.254", DEV)); /* at /96 */
	assert_false(allowed("64:ff9b:1:a9fe:a9:fe00::", DEV));	  /* at /48 */
	/* public at every position: a development receiver behind NAT64 */
	assert_true(allowed("64:ff9b:1:5db8:d822:5db8:d822:5db8", DEV));
	assert_false(allowed("64:ff9b:1:5db8:d822:5db8:a9fe:a9fe", DEV));
}

static void test_6to4(void **state)
{
	(void)state;
	assert_false(allowed("2002:7f00:1::", PROD));	 /* 127.0.0.1 */
	assert_false(allowed("2002:a00:1::1", PROD));	 /* 10.0.0.1 */
	assert_false(allowed("2002:a9fe:a9fe::", DEV));	 /* metadata */
	assert_false(allowed("2002:c0a8:101::", PROD));	 /* 192.168.1.1 */
	assert_true(allowed("2002:5db8:d822::1", PROD)); /* 93.184.216.34 */
}

static void test_ipv6_global_unicast_only(void **state)
{
	(void)state;
	assert_true(allowed("2606:2800:220:1:248:1893:25c8:1946", PROD));
	assert_false(allowed("fc00::1", PROD));
	assert_false(allowed("fd12:3456::1", PROD));
	assert_false(allowed("fe80::1", DEV));
	assert_false(allowed("ff02::1", DEV));
	assert_false(allowed("fd00:ec2::254", DEV));
	assert_false(allowed("2001:db8::1", PROD));			     /* documentation */
	assert_false(allowed("3fff::1", PROD));				     /* documentation */
	assert_false(allowed("2001:0:4136:e378:8000:63bf:3fff:fdd2", PROD)); /* Teredo */
	assert_false(allowed("100::1", PROD));				     /* discard-only */
	assert_false(allowed("fec0::1", PROD));				     /* site-local */
}

static void test_url_literals(void **state)
{
	static const char *const refused[] = {"https://[::ffff:127.0.0.1]/hook",
					      "https://[64:ff9b::a9fe:a9fe]/latest/meta-data",
					      "https://[2002:a9fe:a9fe::]/",
					      "https://[::7f00:1]/",
					      "https://[64:ff9b:1::a00:1]/",
					      "https://127.0.0.1/",
					      "https://[::1]/"};
	char why[160];
	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		why[0] = '\0';
		assert_int_equal(b4_netguard_check_url(refused[i], PROD, why, sizeof(why)), -1);
		assert_non_null(strstr(why, "not allowed"));
	}
	assert_int_equal(
	    b4_netguard_check_url("https://[64:ff9b::93.184.216.34]/", PROD, why, sizeof(why)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ipv4),	 cmocka_unit_test(test_mapped),
	    cmocka_unit_test(test_compatible),	 cmocka_unit_test(test_nat64),
	    cmocka_unit_test(test_6to4),	 cmocka_unit_test(test_ipv6_global_unicast_only),
	    cmocka_unit_test(test_url_literals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
