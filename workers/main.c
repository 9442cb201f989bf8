/* main.c - b4-worker: queue consumers and scheduled jobs.  Its HTTP port
 * serves only /healthz, /readyz and /metrics. */
#include "b4/service.h"

int main(int argc, char **argv)
{
	struct b4_service svc = {
		.name = "b4-worker",
		.default_port = 8084,
		.routes = NULL,
		.nroutes = 0,
	};

	return b4_service_main(&svc, argc, argv);
}
