/* main.c - b4-backoffice: the admin-only back-office API. */
#include "backoffice.h"
#include "b4/prodcheck.h"
#include "b4/service.h"
#include "b4/storage.h"

#include <stdio.h>

/* Report downloads read object storage: production must have S3 there,
 * the same bucket the worker writes. */
static int backoffice_init(const struct b4_settings *settings, void **app)
{
	*app = NULL;
	if (settings->env == B4_ENV_PRODUCTION &&
	    b4_prodcheck_storage("b4-backoffice", b4_storage_default(), stderr) < 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct b4_service svc = {
	    .name = "b4-backoffice",
	    .default_port = 8082,
	    .routes = backoffice_routes,
	    .nroutes = backoffice_nroutes,
	    .init = backoffice_init,
	};

	return b4_service_main(&svc, argc, argv);
}
