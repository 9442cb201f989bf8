/* clientaddr.h - who the client is: trusted proxies and X-Forwarded-For.
 *
 * Every request carries one client address, computed once by the HTTP
 * server: the TCP peer, or, when the peer is a trusted proxy, the entry of
 * X-Forwarded-For reached by walking it from the right and skipping every
 * hop that is itself a trusted proxy.  Each proxy appends the address it
 * saw, so the first untrusted hop from the right is the last one nobody on
 * our side could have written.  When every hop is trusted the leftmost one
 * is the client.  A hop may carry a port ("203.0.113.7:51234",
 * "[2001:db8::1]:443"), which is dropped.  A hop that is not an IP address stops the walk (it
 * cannot be trusted, and nothing left of it can be either).
 *
 * The list comes from B4_TRUSTED_PROXIES (comma-separated addresses or
 * CIDRs, IPv4 and IPv6), parsed once at start.  An empty list trusts
 * nobody: the client is the TCP peer.
 */
#ifndef B4_CLIENTADDR_H
#define B4_CLIENTADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define B4_TRUSTED_PROXIES_MAX 64
#define B4_CLIENT_ADDR_MAX     64 /* buffer size for one address text */

/* One network: family AF_INET or AF_INET6, bits of prefix. */
struct b4_cidr {
	int family;
	uint8_t addr[16];
	int bits;
};

struct b4_proxy_list {
	struct b4_cidr nets[B4_TRUSTED_PROXIES_MAX];
	size_t count;
};

/* Parses "10.0.0.0/8", "2001:db8::/32" or a bare address (a host route).
 * Host bits beyond the prefix are allowed and ignored.  Returns 0 or -1. */
int b4_cidr_parse(const char *text, struct b4_cidr *out);

/* Parses an IP address text (v4 or v6, no brackets or port) into family and
 * 16 bytes (4 used for AF_INET); an IPv4-mapped IPv6 address is returned as
 * AF_INET.  Returns 0 or -1. */
int b4_ip_parse(const char *text, int *family, uint8_t addr[16]);

/* Is (family, addr) inside cidr? */
bool b4_cidr_contains(const struct b4_cidr *cidr, int family, const uint8_t *addr);

/* Parses a comma-separated list (spaces allowed, "" or NULL = empty).  On
 * failure returns -1 and writes the bad item into err. */
int b4_proxy_list_parse(const char *text, struct b4_proxy_list *out, char *err, size_t err_cap);

/* Is the address text inside any network of the list? */
bool b4_proxy_list_trusts(const struct b4_proxy_list *list, const char *ip_text);

/* Computes the client address from the TCP peer and the X-Forwarded-For
 * value (NULL when absent) into out (at least B4_CLIENT_ADDR_MAX bytes), as
 * described above.  list may be NULL (trust nobody). */
void b4_client_addr_resolve(const struct b4_proxy_list *list, const char *peer, const char *xff,
			    char *out, size_t cap);

#endif
