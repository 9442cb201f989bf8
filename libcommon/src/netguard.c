/* netguard.c - outbound address policy; see b4/netguard.h. */
#include "b4/netguard.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static bool v4_in(uint32_t addr, const char *net, int bits)
{
	struct in_addr n;
	uint32_t mask = bits == 0 ? 0 : htonl(~(uint32_t)0 << (32 - bits));

	inet_pton(AF_INET, net, &n);
	return (addr & mask) == (n.s_addr & mask);
}

static bool v4_allowed(uint32_t addr, enum b4_netguard_policy policy)
{
	static const struct {
		const char *net;
		int bits;
	} always[] = {{"0.0.0.0", 8}, {"169.254.0.0", 16}, {"224.0.0.0", 4}, {"240.0.0.0", 4}},
	  /* production: global unicast only (the IANA special-purpose registry) */
	    production[] = {{"127.0.0.0", 8},	  {"10.0.0.0", 8},     {"172.16.0.0", 12},
			    {"192.168.0.0", 16},  {"100.64.0.0", 10},  {"192.0.0.0", 24},
			    {"192.0.2.0", 24},	  {"192.88.99.0", 24}, {"198.18.0.0", 15},
			    {"198.51.100.0", 24}, {"203.0.113.0", 24}};

	for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++)
		if (v4_in(addr, always[i].net, always[i].bits))
			return false;
	if (policy == B4_NETGUARD_PRODUCTION)
		for (size_t i = 0; i < sizeof(production) / sizeof(production[0]); i++)
			if (v4_in(addr, production[i].net, production[i].bits))
				return false;
	return true;
}

static bool v6_in(const uint8_t *a, const char *net, int bits)
{
	uint8_t n[16];

	inet_pton(AF_INET6, net, n);
	for (int i = 0; bits > 0; i++, bits -= 8) {
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		if ((a[i] & mask) != (n[i] & mask))
			return false;
	}
	return true;
}

/* The IPv4 address an IPv6 one stands for, if any: mapped ::ffff:0:0/96,
 * compatible ::/96, NAT64 64:ff9b::/96 (RFC 6052) and 6to4 2002::/16
 * (RFC 3056).  Writes it (network order) into *v4 and returns true. */
static bool v6_embedded_v4(const uint8_t *b, uint32_t *v4)
{
	static const uint8_t zero[12];

	if (v6_in(b, "::ffff:0:0", 96) || v6_in(b, "64:ff9b::", 96) || (memcmp(b, zero, 12) == 0)) {
		memcpy(v4, b + 12, 4);
		return true;
	}
	if (v6_in(b, "2002::", 16)) {
		memcpy(v4, b + 2, 4);
		return true;
	}
	return false;
}

/* Local-use NAT64 (RFC 8215): the prefix length is the operator's, so
 * every RFC 6052 position of the IPv4 address must pass. */
static bool v6_local_nat64_allowed(const uint8_t *b, enum b4_netguard_policy policy)
{
	const uint8_t candidates[][4] = {
	    {b[6], b[7], b[9], b[10]},	  /* /48 */
	    {b[7], b[9], b[10], b[11]},	  /* /56 */
	    {b[9], b[10], b[11], b[12]},  /* /64 */
	    {b[12], b[13], b[14], b[15]}, /* /96 */
	};

	if (policy == B4_NETGUARD_PRODUCTION)
		return false; /* not global: only reachable inside its network */
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		uint32_t v4;
		memcpy(&v4, candidates[i], 4);
		if (!v4_allowed(v4, policy))
			return false;
	}
	return true;
}

static bool v6_allowed(const struct in6_addr *a, enum b4_netguard_policy policy)
{
	const uint8_t *b = a->s6_addr;
	uint32_t v4;

	if (IN6_IS_ADDR_UNSPECIFIED(a))
		return false;
	if (IN6_IS_ADDR_LOOPBACK(a))
		return policy == B4_NETGUARD_DEVELOPMENT;
	if (v6_embedded_v4(b, &v4))
		return v4_allowed(v4, policy);
	if (v6_in(b, "64:ff9b:1::", 48))
		return v6_local_nat64_allowed(b, policy);
	if (IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_MULTICAST(a) || v6_in(b, "fd00:ec2::254", 128))
		return false;
	if (policy == B4_NETGUARD_DEVELOPMENT)
		return true;
	/* production: global unicast 2000::/3 only, less its special blocks
	 * (2001::/23 holds Teredo and other protocol assignments; 2001:db8::/32
	 * and 3fff::/20 are documentation) */
	return v6_in(b, "2000::", 3) && !v6_in(b, "2001::", 23) && !v6_in(b, "2001:db8::", 32) &&
	       !v6_in(b, "3fff::", 20);
}

bool b4_netguard_addr_is_allowed(const struct sockaddr *sa, enum b4_netguard_policy policy)
{
	if (sa->sa_family == AF_INET)
		return v4_allowed(((const struct sockaddr_in *)sa)->sin_addr.s_addr, policy);
	if (sa->sa_family == AF_INET6)
		return v6_allowed(&((const struct sockaddr_in6 *)sa)->sin6_addr, policy);
	return false;
}

static bool addr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return v4_in(((const struct sockaddr_in *)sa)->sin_addr.s_addr, "127.0.0.0", 8);
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

int b4_netguard_check_url(const char *url, enum b4_netguard_policy policy, char *why, size_t cap)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *user = NULL, *port = NULL;
	struct addrinfo hints, *res = NULL;
	bool https;
	int rc = -1;

	if (strlen(url) > 2048) {
		snprintf(why, cap, "the URL is longer than 2048 characters");
		return -1;
	}
	u = curl_url();
	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host) {
		snprintf(why, cap, "the URL is not a valid absolute http(s) URL");
		goto out;
	}
	https = strcasecmp(scheme, "https") == 0;
	if (!https && strcasecmp(scheme, "http") != 0) {
		snprintf(why, cap, "only https URLs are allowed");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK && user) {
		snprintf(why, cap, "the URL must not carry credentials");
		goto out;
	}
	curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
	/* brackets around an IPv6 literal are not part of the name */
	if (host[0] == '[') {
		size_t n = strlen(host);
		memmove(host, host + 1, n);
		if (n >= 2 && host[n - 2] == ']')
			host[n - 2] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0 || !res) {
		snprintf(why, cap, "the host name does not resolve");
		goto out;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (!b4_netguard_addr_is_allowed(ai->ai_addr, policy)) {
			snprintf(why, cap, "the host resolves to an address that is not allowed");
			goto out;
		}
		if (!https &&
		    !(policy == B4_NETGUARD_DEVELOPMENT && addr_is_loopback(ai->ai_addr))) {
			snprintf(
			    why, cap,
			    "only https URLs are allowed (http only to loopback in development)");
			goto out;
		}
	}
	rc = 0;
out:
	if (res)
		freeaddrinfo(res);
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

static curl_socket_t open_guarded(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
	const enum b4_netguard_policy *policy = arg;

	(void)purpose;
	if (!b4_netguard_addr_is_allowed(&addr->addr, *policy))
		return CURL_SOCKET_BAD;
	return socket(addr->family, addr->socktype, addr->protocol);
}

void b4_netguard_curl_guard(CURL *curl, const enum b4_netguard_policy *policy)
{
	curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, open_guarded);
	curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, (void *)policy);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
}
