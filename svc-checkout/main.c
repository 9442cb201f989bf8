/* main.c - b4-checkout: the public transparent checkout. */
#include "checkout.h"
#include "b4/service.h"

int main(int argc, char **argv)
{
	struct b4_service svc = {
		.name = "b4-checkout",
		.default_port = 8083,
		.routes = checkout_routes,
		.nroutes = checkout_nroutes,
	};

	return b4_service_main(&svc, argc, argv);
}
