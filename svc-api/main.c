/* main.c - b4-api: members, catalogue, affiliates, webhooks, producer sales. */
#include "api.h"
#include "b4/pii.h"
#include "b4/service.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static struct api_app app_ctx;
static int64_t login_window = 900, login_per_email = 10, login_per_ip = 100;

static const struct b4_config_opt api_opts[] = {
    {"login-window", "B4_LOGIN_WINDOW_SECONDS", B4_CFG_INT, "900",
     "longest login wait, and how long failures are remembered (s)", &login_window, 1, 86400, NULL,
     false},
    {"login-max-per-email", "B4_LOGIN_MAX_PER_EMAIL", B4_CFG_INT, "10",
     "failed logins per account and client address before waits start", &login_per_email, 1, 100000,
     NULL, false},
    {"login-max-per-ip", "B4_LOGIN_MAX_PER_IP", B4_CFG_INT, "100",
     "failed logins per client address before waits start", &login_per_ip, 1, 1000000, NULL, false},
};

static int api_init(const struct b4_settings *settings, void **app)
{
	unsigned slots;

	if (b4_pii_init("b4-api") < 0)
		return -1;
	/* argon2id takes ~19 MiB and tens of ms each: keep at most half the
	 * workers hashing so logins cannot starve every other request. */
	slots = (unsigned)(settings->worker_threads / 2);
	if (slots < 1)
		slots = 1;
	if (sem_init(&app_ctx.hash_slots, 0, slots) != 0) {
		fprintf(stderr, "b4-api: cannot create the hashing semaphore\n");
		return -1;
	}
	/* test runs use local receivers like development does */
	app_ctx.url_policy =
	    settings->env == B4_ENV_PRODUCTION ? B4_NETGUARD_PRODUCTION : B4_NETGUARD_DEVELOPMENT;
	app_ctx.login_window_seconds = login_window;
	app_ctx.login_max_per_email = login_per_email;
	app_ctx.login_max_per_ip = login_per_ip;
	*app = &app_ctx;
	return 0;
}

static void api_cleanup(void *app)
{
	struct api_app *a = app;

	sem_destroy(&a->hash_slots);
	b4_pii_cleanup();
}

int main(int argc, char **argv)
{
	static const struct b4_service svc = {
	    .name = "b4-api",
	    .default_port = 8081,
	    .routes = api_routes,
	    .authenticate = api_authenticate,
	    .extra_opts = api_opts,
	    .nextra_opts = sizeof(api_opts) / sizeof(api_opts[0]),
	    .init = api_init,
	    .cleanup = api_cleanup,
	};
	struct b4_service s = svc;

	s.nroutes = api_nroutes;
	return b4_service_main(&s, argc, argv);
}
