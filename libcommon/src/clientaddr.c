/* clientaddr.c - trusted proxies and the client address; see b4/clientaddr.h. */
#include "b4/clientaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int b4_ip_parse(const char *text, int *family, uint8_t addr[16])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memset(addr, 0, 16);
	if (inet_pton(AF_INET, text, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, addr) != 1)
		return -1;
	*family = AF_INET6;
	/* one client, one spelling: ::ffff:a.b.c.d is a.b.c.d */
	if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
		memmove(addr, addr + 12, 4);
		memset(addr + 4, 0, 12);
		*family = AF_INET;
	}
	return 0;
}

int b4_cidr_parse(const char *text, struct b4_cidr *out)
{
	char buf[64];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	long bits, max;
	char *end;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, text, n);
	buf[n] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = AF_INET6;
	else
		return -1;
	max = out->family == AF_INET ? 32 : 128;
	bits = max;
	if (slash) {
		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (errno || *end || end == slash + 1 || bits < 0 || bits > max)
			return -1;
	}
	out->bits = (int)bits;
	return 0;
}

bool b4_cidr_contains(const struct b4_cidr *cidr, int family, const uint8_t *addr)
{
	int bits = cidr->bits;

	if (family != cidr->family)
		return false;
	for (int i = 0; bits > 0; i++, bits -= 8) {
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		if ((addr[i] & mask) != (cidr->addr[i] & mask))
			return false;
	}
	return true;
}

int b4_proxy_list_parse(const char *text, struct b4_proxy_list *out, char *err, size_t err_cap)
{
	const char *p = text ? text : "";

	memset(out, 0, sizeof(*out));
	while (*p) {
		char item[80];
		size_t n;
		const char *comma;

		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		comma = strchr(p, ',');
		n = comma ? (size_t)(comma - p) : strlen(p);
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if (n >= sizeof(item) || out->count == B4_TRUSTED_PROXIES_MAX) {
			snprintf(err, err_cap, "too many entries or an entry too long");
			return -1;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		if (b4_cidr_parse(item, &out->nets[out->count]) < 0) {
			snprintf(err, err_cap, "expected IP addresses or CIDRs, got \"%s\"", item);
			return -1;
		}
		out->count++;
		p += n;
	}
	return 0;
}

static bool list_trusts(const struct b4_proxy_list *list, int family, const uint8_t *addr)
{
	for (size_t i = 0; list && i < list->count; i++)
		if (b4_cidr_contains(&list->nets[i], family, addr))
			return true;
	return false;
}

bool b4_proxy_list_trusts(const struct b4_proxy_list *list, const char *ip_text)
{
	uint8_t addr[16];
	int family;

	return b4_ip_parse(ip_text, &family, addr) == 0 && list_trusts(list, family, addr);
}

/* Writes the canonical text of an address into out. */
static void addr_text(int family, const uint8_t *addr, char *out, size_t cap)
{
	char text[INET6_ADDRSTRLEN];

	if (!inet_ntop(family, addr, text, sizeof(text)))
		text[0] = '\0';
	snprintf(out, cap, "%s", text);
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* A hop as some proxies write it, "[2001:db8::1]:443", "[2001:db8::1]" or
 * "203.0.113.7:51234", becomes the address alone (in place). */
static void strip_port(char *hop)
{
	char *colon;

	if (hop[0] == '[') {
		char *end = strchr(hop, ']');
		if (!end || (end[1] && (end[1] != ':' || !all_digits(end + 2))))
			return;
		*end = '\0';
		memmove(hop, hop + 1, strlen(hop + 1) + 1);
		return;
	}
	colon = strchr(hop, ':');
	if (colon && !strchr(colon + 1, ':') && strchr(hop, '.') && all_digits(colon + 1))
		*colon = '\0';
}

void b4_client_addr_resolve(const struct b4_proxy_list *list, const char *peer, const char *xff,
			    char *out, size_t cap)
{
	uint8_t addr[16];
	int family;
	size_t end;

	if (!peer || b4_ip_parse(peer, &family, addr) < 0) {
		snprintf(out, cap, "%s", peer ? peer : "");
		return;
	}
	addr_text(family, addr, out, cap);
	if (!xff || !list_trusts(list, family, addr))
		return;
	/* walk the hops from the right while they are trusted proxies */
	end = strlen(xff);
	while (end > 0) {
		size_t start = end, n;
		char hop[B4_CLIENT_ADDR_MAX];
		uint8_t hop_addr[16];
		int hop_family;

		while (start > 0 && xff[start - 1] != ',')
			start--;
		n = end - start;
		end = start > 0 ? start - 1 : 0;
		while (n > 0 && (xff[start] == ' ' || xff[start] == '\t')) {
			start++;
			n--;
		}
		while (n > 0 && (xff[start + n - 1] == ' ' || xff[start + n - 1] == '\t'))
			n--;
		if (n == 0)
			continue;
		if (n >= sizeof(hop))
			return;
		memcpy(hop, xff + start, n);
		hop[n] = '\0';
		strip_port(hop);
		if (b4_ip_parse(hop, &hop_family, hop_addr) < 0)
			return; /* garbage: keep the last trusted hop's view */
		addr_text(hop_family, hop_addr, out, cap);
		if (!list_trusts(list, hop_family, hop_addr))
			return;
		if (start == 0)
			return;
	}
}
