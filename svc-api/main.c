/* main.c - b4-api: members, catalogue, affiliates, webhooks, producer sales. */
#include "api.h"
#include "b4/pii.h"
#include "b4/service.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct api_app app_ctx;
static int64_t login_window = 900, login_per_email = 10, login_per_ip = 100;
static int64_t refresh_ttl = 2592000;
static char *refresh_cookie_path;

static const struct b4_config_opt api_opts[] = {
    {"login-window", "B4_LOGIN_WINDOW_SECONDS", B4_CFG_INT, "900",
     "longest login wait, and how long failures are remembered (s)", &login_window, 1, 86400, NULL,
     false},
    {"login-max-per-email", "B4_LOGIN_MAX_PER_EMAIL", B4_CFG_INT, "10",
     "failed logins per account and client address before waits start", &login_per_email, 1, 100000,
     NULL, false},
    {"login-max-per-ip", "B4_LOGIN_MAX_PER_IP", B4_CFG_INT, "100",
     "failed logins per client address before waits start", &login_per_ip, 1, 1000000, NULL, false},
    {"refresh-ttl", "B4_REFRESH_TTL_SECONDS", B4_CFG_INT, "2592000",
     "refresh token (panel session) lifetime in seconds", &refresh_ttl, 60, 31536000, NULL, false},
    {"refresh-cookie-path", "B4_REFRESH_COOKIE_PATH", B4_CFG_STR, "/api/v1/auth",
     "Path of the refresh cookie: the auth routes as browsers see them through the gateway",
     &refresh_cookie_path, 0, 0, NULL, false},
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
	app_ctx.refresh_ttl_seconds = refresh_ttl;
	app_ctx.refresh_cookie_path = refresh_cookie_path;
	/* browsers refuse Secure cookies over plain http outside localhost */
	app_ctx.refresh_cookie_secure = settings->env == B4_ENV_PRODUCTION;
	if (refresh_cookie_path[0] != '/' || strpbrk(refresh_cookie_path, ";\r\n ,")) {
		fprintf(stderr,
			"b4-api: B4_REFRESH_COOKIE_PATH must be a path such as /api/v1/auth\n");
		return -1;
	}
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
