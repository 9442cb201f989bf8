/* router.c - route table matching; see b4/router.h. */
#include "b4/router.h"

#include <stdio.h>
#include <string.h>

/* Matches one pattern against path; fills params on success. */
static bool pattern_match(const char *pattern, const char *path, struct b4_route_params *params)
{
	const char *p = pattern, *s = path;

	params->count = 0;
	while (*p && *s) {
		if (*p != '/' || *s != '/')
			return false;
		p++;
		s++;
		const char *pend = strchr(p, '/');
		const char *send = strchr(s, '/');
		size_t plen = pend ? (size_t)(pend - p) : strlen(p);
		size_t slen = send ? (size_t)(send - s) : strlen(s);

		if (plen > 0 && p[0] == ':') {
			if (slen == 0 || params->count == B4_ROUTE_MAX_PARAMS)
				return false;
			params->items[params->count].name = p + 1;
			params->items[params->count].name_len = plen - 1;
			params->items[params->count].value = s;
			params->items[params->count].value_len = slen;
			params->count++;
		} else if (plen != slen || memcmp(p, s, plen) != 0) {
			return false;
		}
		p += plen;
		s += slen;
	}
	return *p == '\0' && *s == '\0';
}

enum b4_route_status b4_router_match(const struct b4_route *routes, size_t nroutes,
				     const char *method, const char *path, size_t *index,
				     struct b4_route_params *params, char *allow, size_t cap)
{
	struct b4_route_params scratch;
	bool path_known = false;
	size_t used = 0;

	if (cap)
		allow[0] = '\0';
	for (size_t i = 0; i < nroutes; i++) {
		if (!pattern_match(routes[i].pattern, path, &scratch))
			continue;
		if (strcmp(routes[i].method, method) == 0) {
			*index = i;
			*params = scratch;
			return B4_ROUTE_FOUND;
		}
		/* list each allowed method once */
		if (cap && !strstr(allow, routes[i].method)) {
			int n = snprintf(allow + used, cap - used, "%s%s", used ? ", " : "",
					 routes[i].method);
			if (n > 0 && (size_t)n < cap - used)
				used += (size_t)n;
		}
		path_known = true;
	}
	return path_known ? B4_ROUTE_METHOD_NOT_ALLOWED : B4_ROUTE_NOT_FOUND;
}
