/* netguard.h - where outbound calls to member-supplied URLs may go (SSRF).
 *
 * Link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10,
 * fd00:ec2::254), "this host" (0.0.0.0/8, ::), multicast and broadcast are
 * always refused.  An IPv6 address that carries an IPv4 one is judged by
 * that IPv4 address: mapped (::ffff:0:0/96), compatible (::/96), NAT64
 * (64:ff9b::/96, and every RFC 6052 position of local-use 64:ff9b:1::/48)
 * and 6to4 (2002::/16).  In production only global unicast is allowed
 * (IPv4 less loopback, private, shared, documentation and other special
 * ranges; IPv6 2000::/3 less 2001::/23, 2001:db8::/32 and 3fff::/20) and
 * only https; in development, http is allowed to loopback so a local
 * receiver can be used.  Checks run twice: on the URL when it is saved (and
 * its name resolved), and on every connect through the curl hook, so a DNS
 * answer that changes later still cannot reach a refused address.
 */
#ifndef B4_NETGUARD_H
#define B4_NETGUARD_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

enum b4_netguard_policy { B4_NETGUARD_PRODUCTION, B4_NETGUARD_DEVELOPMENT };

/* True when a connection to sa is allowed under policy. */
bool b4_netguard_addr_is_allowed(const struct sockaddr *sa, enum b4_netguard_policy policy);

/* Checks a URL (<= 2048 chars, http(s), a host, no user info) and every
 * address its host resolves to.  On refusal writes a reason for the member
 * into why and returns -1. */
int b4_netguard_check_url(const char *url, enum b4_netguard_policy policy, char *why, size_t cap);

/* Makes curl refuse, at connect time, any address the policy forbids, and
 * limits it to http and https without redirects.  policy must outlive the
 * handle's transfers. */
void b4_netguard_curl_guard(CURL *curl, const enum b4_netguard_policy *policy);

#endif
