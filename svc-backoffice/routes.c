/* routes.c - the whole surface of b4-backoffice (under /backoffice). Every
 * route needs the admin role. */
#include "backoffice.h"

void backoffice_users_list(struct b4_req *req);

const struct b4_route backoffice_routes[] = {
	{"GET", "/v1/users", backoffice_users_list, B4_ROLE_ADMIN},
};
const size_t backoffice_nroutes = sizeof(backoffice_routes) / sizeof(backoffice_routes[0]);
