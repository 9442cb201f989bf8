/* main.c - b4-backoffice: the admin-only back-office API. */
#include "backoffice.h"
#include "b4/acquirer.h"
#include "b4/pii.h"
#include "b4/prodcheck.h"
#include "b4/service.h"
#include "b4/storage.h"

#include <stdio.h>

/* The acquirers b4-checkout is configured with (the same B4_ACQUIRERS):
 * the acquirer priority may name only these. */
struct b4_acquirers bo_acquirers;
static const char *acquirers_setting;

static const struct b4_config_opt backoffice_opts[] = {
    {"acquirers", "B4_ACQUIRERS", B4_CFG_STR, "sandbox=http://127.0.0.1:8090",
     "the acquirers checkout is configured with, name=url[,name=url...]; the acquirer"
     " priority may name only these",
     &acquirers_setting, 0, 0, NULL, false},
};

static int backoffice_init(const struct b4_settings *settings, void **app)
{
	*app = NULL;
	/* report downloads read object storage: production must have S3
	 * there, the same bucket the worker writes */
	if (settings->env == B4_ENV_PRODUCTION &&
	    b4_prodcheck_storage("b4-backoffice", b4_storage_default(), stderr) < 0)
		return -1;
	/* buyer data and the stored answers of idempotent refunds */
	if (b4_pii_init("b4-backoffice") < 0)
		return -1;
	if (b4_acquirers_parse(&bo_acquirers, acquirers_setting) < 0) {
		fprintf(stderr,
			"b4-backoffice: B4_ACQUIRERS must be name=http(s)://url[,name=url...]\n");
		return -1;
	}
	return 0;
}

static void backoffice_cleanup(void *app)
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
	    /* a blocked or demoted admin is refused on the next request */
	    .authenticate = b4_service_authenticate_account,
	    .extra_opts = backoffice_opts,
	    .nextra_opts = sizeof(backoffice_opts) / sizeof(backoffice_opts[0]),
	    .init = backoffice_init,
	    .cleanup = backoffice_cleanup,
	};

	return b4_service_main(&svc, argc, argv);
}
