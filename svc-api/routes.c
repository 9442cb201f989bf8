/* routes.c - the whole surface of b4-api (served under /api by the gateway). */
#include "api.h"

const struct b4_route api_routes[] = {
	{"GET", "/v1/me", api_me, B4_ROLE_MEMBER},
};
const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);
