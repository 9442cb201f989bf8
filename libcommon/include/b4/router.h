/* router.h - match a method and path against a static route table.
 *
 * Patterns are literal segments and `:name` parameters
 * ("/products/:id/offers").  A route table is `static const` data in each
 * service's routes.c; reading it tells the whole surface of the service.
 */
#ifndef B4_ROUTER_H
#define B4_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "b4/role.h"

struct b4_req;
typedef void b4_handler_fn(struct b4_req *req);

struct b4_route {
	const char *method;  /* "GET", "POST", ... */
	const char *pattern; /* "/v1/products/:id" */
	b4_handler_fn *handler;
	enum b4_role role; /* who may call it */
};

#define B4_ROUTE_MAX_PARAMS 6

struct b4_route_params {
	size_t count;
	struct {
		const char *name; /* points into the pattern */
		size_t name_len;
		const char *value; /* points into the matched path */
		size_t value_len;
	} items[B4_ROUTE_MAX_PARAMS];
};

enum b4_route_status { B4_ROUTE_FOUND, B4_ROUTE_NOT_FOUND, B4_ROUTE_METHOD_NOT_ALLOWED };

/* Finds the route for method and path (no query string).  On FOUND sets
 * *index and fills params (pointers into path and the pattern).  On
 * METHOD_NOT_ALLOWED writes the allowed methods, comma-separated, into
 * allow (cap bytes).  Empty segments never match a parameter. */
enum b4_route_status b4_router_match(const struct b4_route *routes, size_t nroutes,
				     const char *method, const char *path, size_t *index,
				     struct b4_route_params *params, char *allow, size_t cap);

#endif
