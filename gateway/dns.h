/* b4-gateway upstream DNS: host names of upstream instances re-resolved in
 * the background with libevent's evdns, on the main thread's loop (one
 * resolver per process).  Workers read the published addresses; they never
 * resolve anything themselves. */
#ifndef GW_DNS_H
#define GW_DNS_H

#include <stddef.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "gateway.h"

/* Watches the names of cfg's dynamic instances (main thread; at start and
 * on every reload) and applies cfg->dns (resolver, TTL floor and ceiling).
 * The resolver is created on base the first time a name needs one.
 * Returns 0, or -1 with err naming the setting (a bad resolver address). */
int gw_dns_watch(struct event_base *base, const struct gw_config *cfg, char *err, size_t errlen);

/* Runs base until every watched name has had an answer (or failed), at
 * most timeout_ms: so the first requests after start find their
 * instances. */
void gw_dns_wait_first_answers(struct event_base *base, int timeout_ms);

/* Copies the current addresses of host (port 0) into out; returns how
 * many (0 while unknown).  Thread-safe. */
size_t gw_dns_addresses(const char *host, struct sockaddr_storage *out, size_t max);

/* Changes whenever some name's set of addresses changes.  Thread-safe. */
unsigned gw_dns_generation(void);

/* Stops the resolver (main thread, after the workers stopped). */
void gw_dns_stop(void);

#endif
