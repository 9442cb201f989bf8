/* main.c - b4-api: members, catalogue, affiliates, webhooks, producer sales. */
#include "api.h"
#include "b4/service.h"

int main(int argc, char **argv)
{
	static const struct b4_service svc = {
		.name = "b4-api",
		.default_port = 8081,
	};
	struct b4_service s = svc;

	s.routes = api_routes;
	s.nroutes = api_nroutes;
	return b4_service_main(&s, argc, argv);
}
