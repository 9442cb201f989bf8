/* routes.c - the whole surface of b4-checkout (under /checkout). Public. */
#include "checkout.h"

void checkout_offer_get(struct b4_req *req);

const struct b4_route checkout_routes[] = {
	{"GET", "/v1/offers/:code", checkout_offer_get, B4_ROLE_PUBLIC},
};
const size_t checkout_nroutes = sizeof(checkout_routes) / sizeof(checkout_routes[0]);
