/* b4-gateway upstream DNS (dns.h).
 *
 * Every watched name is asked for A and AAAA records on the main thread's
 * loop, again after its TTL (kept between the floor and the ceiling of
 * dns.min_ttl_ms / max_ttl_ms).  A round that yields addresses replaces
 * the name's set, and the generation counter tells the workers to bring
 * their pools in line (proxy.c: one instance per address, those that went
 * away drain).  A round that fails, or answers with no address at all,
 * keeps the last good set and is retried after the floor: a DNS outage
 * must not empty a pool. */
#include "dns.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>

#include "b4/log.h"

#define MAX_NAMES 64
#define TICK_MS	  100

struct dns_name {
	char host[128];
	bool wanted; /* still named by the running configuration */
	/* published: read by the workers under mu */
	struct sockaddr_storage addrs[GW_MAX_INSTANCES];
	size_t naddrs;
	/* the current round: main thread only */
	bool answered; /* at least one round finished, good or bad */
	bool failing;  /* the last round failed (logged once per outage) */
	uint64_t due_us;
	int pending;
	int good;      /* queries of this round that succeeded (maybe empty) */
	int round_ttl; /* seconds, lowest of the answers */
	struct sockaddr_storage fresh[GW_MAX_INSTANCES];
	size_t nfresh;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct dns_name names[MAX_NAMES];
static size_t nnames; /* grows under mu; entries are never removed */
static atomic_uint generation;

static struct evdns_base *evdns;
static struct event *tick;
static struct gw_dns_cfg settings;

unsigned gw_dns_generation(void)
{
	return atomic_load(&generation);
}

size_t gw_dns_addresses(const char *host, struct sockaddr_storage *out, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < nnames; i++)
		if (strcmp(names[i].host, host) == 0) {
			n = names[i].naddrs < max ? names[i].naddrs : max;
			memcpy(out, names[i].addrs, n * sizeof(*out));
			break;
		}
	pthread_mutex_unlock(&mu);
	return n;
}

static bool same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		      &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
}

static bool contains(const struct sockaddr_storage *set, size_t n, const struct sockaddr_storage *a)
{
	for (size_t i = 0; i < n; i++)
		if (same_address(&set[i], a))
			return true;
	return false;
}

static void add_fresh(struct dns_name *nm, const struct sockaddr_storage *a)
{
	if (nm->nfresh < GW_MAX_INSTANCES && !contains(nm->fresh, nm->nfresh, a))
		nm->fresh[nm->nfresh++] = *a;
}

static void describe(const struct sockaddr_storage *set, size_t n, char *out, size_t cap)
{
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n && len + INET6_ADDRSTRLEN + 2 < cap; i++) {
		char ip[INET6_ADDRSTRLEN];
		const void *src =
		    set[i].ss_family == AF_INET
			? (const void *)&((const struct sockaddr_in *)&set[i])->sin_addr
			: (const void *)&((const struct sockaddr_in6 *)&set[i])->sin6_addr;
		inet_ntop(set[i].ss_family, src, ip, sizeof(ip));
		len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? " " : "", ip);
	}
}

/* Both queries of a round are back: publish or keep, and plan the next. */
static void round_done(struct dns_name *nm)
{
	uint64_t now = gw_now_us();
	long long wait_ms = settings.min_ttl_ms;
	bool changed = false;

	nm->answered = true;
	if (nm->good > 0 && nm->nfresh > 0) {
		if (nm->failing)
			b4_log_info("upstream name resolved again", B4_LS("host", nm->host));
		nm->failing = false;
		wait_ms = (long long)nm->round_ttl * 1000;
		if (wait_ms < settings.min_ttl_ms)
			wait_ms = settings.min_ttl_ms;
		if (wait_ms > settings.max_ttl_ms)
			wait_ms = settings.max_ttl_ms;
		pthread_mutex_lock(&mu);
		changed = nm->nfresh != nm->naddrs;
		for (size_t i = 0; i < nm->nfresh && !changed; i++)
			changed = !contains(nm->addrs, nm->naddrs, &nm->fresh[i]);
		if (changed) {
			memcpy(nm->addrs, nm->fresh, nm->nfresh * sizeof(nm->fresh[0]));
			nm->naddrs = nm->nfresh;
		}
		pthread_mutex_unlock(&mu);
		if (changed) {
			char list[512];
			describe(nm->fresh, nm->nfresh, list, sizeof(list));
			atomic_fetch_add(&generation, 1);
			b4_log_info("upstream addresses changed", B4_LS("host", nm->host),
				    B4_LS("addresses", list), B4_LI("next_ms", wait_ms));
		}
	} else if (!nm->failing) {
		nm->failing = true;
		b4_log_warn("upstream name not resolved; keeping its last addresses",
			    B4_LS("host", nm->host), B4_LI("addresses", (long long)nm->naddrs));
	}
	nm->due_us = now + (uint64_t)wait_ms * 1000;
}

static void answer_cb(int result, char type, int count, int ttl, void *addresses, void *arg)
{
	struct dns_name *nm = arg;

	if (result == DNS_ERR_NONE || result == DNS_ERR_NODATA) {
		nm->good++;
		if (count > 0 && (nm->round_ttl < 0 || ttl < nm->round_ttl))
			nm->round_ttl = ttl < 0 ? 0 : ttl;
	}
	for (int i = 0; result == DNS_ERR_NONE && i < count; i++) {
		struct sockaddr_storage a;
		memset(&a, 0, sizeof(a));
		if (type == DNS_IPv4_A) {
			a.ss_family = AF_INET;
			memcpy(&((struct sockaddr_in *)&a)->sin_addr, (char *)addresses + 4 * i, 4);
		} else if (type == DNS_IPv6_AAAA) {
			a.ss_family = AF_INET6;
			memcpy(&((struct sockaddr_in6 *)&a)->sin6_addr, (char *)addresses + 16 * i,
			       16);
		} else {
			continue;
		}
		add_fresh(nm, &a);
	}
	if (--nm->pending == 0 && result != DNS_ERR_SHUTDOWN && result != DNS_ERR_CANCEL)
		round_done(nm);
}

static void start_round(struct dns_name *nm)
{
	nm->pending = 2;
	nm->good = 0;
	nm->nfresh = 0;
	nm->round_ttl = -1;
	/* a query that cannot even start counts as a failed one */
	if (!evdns_base_resolve_ipv4(evdns, nm->host, DNS_QUERY_NO_SEARCH, answer_cb, nm))
		answer_cb(DNS_ERR_UNKNOWN, DNS_IPv4_A, 0, 0, NULL, nm);
	if (!evdns_base_resolve_ipv6(evdns, nm->host, DNS_QUERY_NO_SEARCH, answer_cb, nm))
		answer_cb(DNS_ERR_UNKNOWN, DNS_IPv6_AAAA, 0, 0, NULL, nm);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = gw_now_us();
	(void)fd;
	(void)what;
	(void)arg;
	for (size_t i = 0; i < nnames; i++)
		if (names[i].wanted && names[i].pending == 0 && now >= names[i].due_us)
			start_round(&names[i]);
}

static int set_nameservers(const struct gw_dns_cfg *dns, char *err, size_t errlen)
{
	char timeout[32];

	evdns_base_clear_nameservers_and_suspend(evdns);
	if (dns->resolver[0]) {
		if (evdns_base_nameserver_ip_add(evdns, dns->resolver) != 0) {
			snprintf(
			    err, errlen,
			    "B4_GATEWAY_RESOLVER / dns.resolver: expected ip[:port], got \"%s\"",
			    dns->resolver);
			evdns_base_resume(evdns);
			return -1;
		}
	} else {
		evdns_base_resolv_conf_parse(evdns, DNS_OPTION_NAMESERVERS, "/etc/resolv.conf");
	}
	snprintf(timeout, sizeof(timeout), "%.3f", dns->timeout_ms / 1000.0);
	evdns_base_set_option(evdns, "timeout:", timeout);
	evdns_base_set_option(evdns, "attempts:", "2");
	evdns_base_resume(evdns);
	return 0;
}

int gw_dns_watch(struct event_base *base, const struct gw_config *cfg, char *err, size_t errlen)
{
	bool any = false;

	for (size_t i = 0; i < nnames; i++)
		names[i].wanted = false;
	for (size_t p = 0; p < cfg->npools; p++)
		for (size_t k = 0; k < cfg->pools[p].ninstances; k++) {
			const struct gw_instance_cfg *in = &cfg->pools[p].instances[k];
			size_t i;
			if (!in->dynamic)
				continue;
			any = true;
			for (i = 0; i < nnames && strcmp(names[i].host, in->host) != 0; i++)
				;
			if (i == nnames) {
				if (nnames == MAX_NAMES) {
					snprintf(err, errlen, "upstreams: more than %d host names",
						 MAX_NAMES);
					return -1;
				}
				pthread_mutex_lock(&mu);
				memset(&names[i], 0, sizeof(names[i]));
				snprintf(names[i].host, sizeof(names[i].host), "%s", in->host);
				nnames++;
				pthread_mutex_unlock(&mu);
			}
			names[i].wanted = true;
		}
	if (!evdns && !any)
		return 0;
	if (!evdns) {
		struct timeval tv = {0, TICK_MS * 1000};
		evdns = evdns_base_new(base, 0);
		tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
		if (!evdns || !tick) {
			snprintf(err, errlen, "dns: cannot create the resolver");
			return -1;
		}
		event_add(tick, &tv);
		memset(&settings, 0, sizeof(settings));
	}
	if (strcmp(settings.resolver, cfg->dns.resolver) != 0 || !settings.timeout_ms ||
	    settings.timeout_ms != cfg->dns.timeout_ms) {
		if (set_nameservers(&cfg->dns, err, errlen) != 0)
			return -1;
	}
	settings = cfg->dns;
	tick_cb(-1, 0, NULL); /* new names are asked now */
	return 0;
}

static void wait_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

void gw_dns_wait_first_answers(struct event_base *base, int timeout_ms)
{
	uint64_t deadline = gw_now_us() + (uint64_t)timeout_ms * 1000;
	struct event *wake = event_new(base, -1, EV_PERSIST, wait_timer_cb, NULL);
	struct timeval tv = {0, 20000};

	if (!wake)
		return;
	event_add(wake, &tv);
	while (gw_now_us() < deadline) {
		bool all = true;
		for (size_t i = 0; i < nnames; i++)
			if (names[i].wanted && !names[i].answered)
				all = false;
		if (all)
			break;
		event_base_loop(base, EVLOOP_ONCE);
	}
	event_free(wake);
}

void gw_dns_stop(void)
{
	if (tick)
		event_free(tick);
	tick = NULL;
	if (evdns)
		evdns_base_free(evdns, 1);
	evdns = NULL;
}
