/* A tiny authoritative DNS server for tests: UDP on 127.0.0.1, an ephemeral
 * port, one thread.  It answers A and AAAA questions from a table the test
 * changes while it runs; unknown names get NXDOMAIN. */
#ifndef DNS_SERVER_H
#define DNS_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct dns_server;

/* Starts the server; NULL on failure. */
struct dns_server *dns_server_start(void);
/* Its UDP port. */
int dns_server_port(const struct dns_server *s);
/* Sets the records of name (replacing earlier ones): addresses are IPv4 or
 * IPv6 literals, answered to A or AAAA questions; ttl in seconds.
 * naddrs 0 leaves the name known with no records (NOERROR, no answer). */
int dns_server_set(struct dns_server *s, const char *name, const char *const *addresses,
		   size_t naddrs, uint32_t ttl);
/* Questions received for name (any type) so far. */
int dns_server_queries(struct dns_server *s, const char *name);
/* Stops and frees it (NULL is fine). */
void dns_server_stop(struct dns_server *s);

#endif
