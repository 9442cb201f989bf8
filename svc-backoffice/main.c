/* main.c - b4-backoffice: the admin-only back-office API. */
#include "backoffice.h"
#include "b4/pii.h"
#include "b4/service.h"

/* The blind-index key: orders are searched by the buyer's CPF/CNPJ. */
static int bo_init(const struct b4_settings *settings, void **app)
{
	(void)settings;
	*app = NULL;
	return b4_pii_init("b4-backoffice");
}

static void bo_cleanup(void *app)
{
	(void)app;
	b4_pii_cleanup();
}

int main(int argc, char **argv)
{
	struct b4_service svc = {
	    .name = "b4-backoffice",
	    .default_port = 8082,
	    .routes = backoffice_routes,
	    .nroutes = backoffice_nroutes,
	    .init = bo_init,
	    .cleanup = bo_cleanup,
	};

	return b4_service_main(&svc, argc, argv);
}
