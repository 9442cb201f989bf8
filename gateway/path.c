/* b4-gateway request paths: decoding, normalisation, patterns (path.h). */
#include "path.h"
#include "b4/crypto.h"

#include <string.h>
#include <strings.h>

/* Ends the segment out[*seg..*o): drops or refuses dot segments, else
 * appends the separator when more of the path follows. */
static int end_segment(char *out, size_t cap, size_t *o, size_t *seg, bool more, unsigned flags)
{
	size_t n = *o - *seg;
	const char *s = out + *seg;

	if (n == 0)
		return GW_PATH_OK; /* "//" collapses */
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) {
		if (flags & GW_PATH_STRICT)
			return GW_PATH_DOT_SEGMENT;
		*o = *seg;
		if (n == 2 && *seg > 1) {
			size_t k = *seg - 1; /* the '/' ending the previous segment */
			while (k > 0 && out[k - 1] != '/')
				k--;
			*o = *seg = k;
		}
		return GW_PATH_OK;
	}
	if (more) {
		if (*o + 1 >= cap)
			return GW_PATH_BAD;
		out[(*o)++] = '/';
		*seg = *o;
	}
	return GW_PATH_OK;
}

/* The length of the path part of a target: up to '?' or a '#' (which no
 * client should send, and which a server's URI parser would cut). */
static size_t path_length(const char *target, size_t len)
{
	size_t n = 0;
	while (n < len && target[n] != '?' && target[n] != '#')
		n++;
	return n;
}

int gw_path_normalize(const char *target, size_t len, unsigned flags, char *out, size_t cap)
{
	size_t pl = path_length(target, len), o = 1, seg = 1;
	int rc;

	if (cap < 2 || pl == 0 || target[0] != '/')
		return GW_PATH_BAD;
	out[0] = '/';
	for (size_t i = 1; i <= pl; i++) {
		int c;
		if (i == pl || target[i] == '/') {
			rc = end_segment(out, cap, &o, &seg, i < pl, flags);
			if (rc != GW_PATH_OK)
				return rc;
			continue;
		}
		c = (unsigned char)target[i];
		if (c == '%') {
			int hi = i + 2 < pl ? b4_crypto_hex_value(target[i + 1]) : -1;
			int lo = i + 2 < pl ? b4_crypto_hex_value(target[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				return GW_PATH_BAD;
			c = hi * 16 + lo;
			i += 2;
			if (c == '/') {
				if (flags & GW_PATH_STRICT)
					return GW_PATH_ENCODED_SLASH;
				rc = end_segment(out, cap, &o, &seg, true, flags);
				if (rc != GW_PATH_OK)
					return rc;
				continue;
			}
		}
		if (c < 0x20 || c == 0x7f || c == '\\')
			return GW_PATH_BAD;
		if (o + 1 >= cap)
			return GW_PATH_BAD;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return GW_PATH_OK;
}

bool gw_path_has_hidden_segment(const char *path)
{
	for (const char *p = path; *p; p++)
		if (*p == '/' && p[1] == '.')
			return true;
	return false;
}

/* Glob matching in O(pattern x path): a '*' never crosses a '/', so each
 * pattern segment matches exactly one path segment and, inside it, going
 * back to the latest '*' alone is enough (no exponential backtracking on
 * patterns with many stars). */
static bool match_from(const char *p, const char *s, const char *send)
{
	const char *star_p = NULL, *star_s = NULL;

	for (;;) {
		if (p[0] == '*' && p[1] == '*' && p[2] == '\0')
			return true;
		if (s == send && strcmp(p, "/**") == 0)
			return true; /* "/painel/" + two stars covers "/painel" too */
		if (s == send && *p == '\0')
			return true;
		if (*p == '*' && s < send && *s != '/') {
			/* the star takes one byte now, more on the way back */
			star_p = p;
			star_s = ++s;
			p++;
			continue;
		}
		if (*p && *p != '*' && s < send && *s == *p) {
			p++;
			s++;
			continue;
		}
		if (!star_p || star_s >= send || *star_s == '/')
			return false;
		s = ++star_s;
		p = star_p + 1;
	}
}

bool gw_path_match(const char *pattern, const char *path)
{
	const char *send = path + strlen(path);
	if (send - path > 1 && send[-1] == '/')
		send--;
	return match_from(pattern, path, send);
}

bool gw_path_is_internal(const char *target, size_t len, const char (*names)[GW_PATH_NAME_MAX],
			 size_t n)
{
	size_t pl = path_length(target, len), end = pl, start;
	char norm[8192];
	bool maybe = false;

	if (n == 0)
		return false;
	/* cheap look at the last segment first: most paths stop here */
	while (end > 0 && target[end - 1] == '/')
		end--;
	start = end;
	while (start > 0 && target[start - 1] != '/')
		start--;
	if (memchr(target, '%', pl) || (end - start <= 2 && end > start && target[start] == '.')) {
		maybe = true;
	} else {
		for (size_t i = 0; i < n && !maybe; i++)
			maybe = strlen(names[i]) == end - start + 1 &&
				strncasecmp(names[i] + 1, target + start, end - start) == 0;
	}
	if (!maybe)
		return false;
	if (gw_path_normalize(target, pl, 0, norm, sizeof(norm)) != GW_PATH_OK)
		return false; /* refused later or meaningless to the upstream */
	end = strlen(norm);
	while (end > 1 && norm[end - 1] == '/')
		norm[--end] = '\0';
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(norm, names[i]) == 0)
			return true;
	return false;
}
