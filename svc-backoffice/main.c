/* main.c - b4-backoffice: the admin-only back-office API. */
#include "backoffice.h"
#include "b4/service.h"

int main(int argc, char **argv)
{
	struct b4_service svc = {
	    .name = "b4-backoffice",
	    .default_port = 8082,
	    .routes = backoffice_routes,
	    .nroutes = backoffice_nroutes,
	};

	return b4_service_main(&svc, argc, argv);
}
