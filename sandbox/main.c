/* main.c - b4-acquirer-sandbox: a stand-in card/Pix/boleto acquirer that
 * speaks the protocol of docs/ACQUIRER.md, for development and tests. */
#include "sandbox.h"
#include "b4/br.h"
#include "b4/crypto.h"
#include "b4/log.h"
#include "b4/service.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *opt_secret;
static const char *opt_pix_key;
static int64_t opt_hang_seconds;
static bool opt_fail_all;
static int64_t opt_auto_pay_seconds;
static const char *opt_public_key;
static const char *opt_cors_origins;
static int64_t opt_public_rate;

static const struct b4_config_opt sandbox_opts[] = {
    {"acquirer-secret", "B4_ACQUIRER_SECRET", B4_CFG_STR, "",
     "shared secret: checkout's bearer token and the callback signing key (>= 32 bytes)",
     &opt_secret, 0, 0, NULL, true},
    {"pix-key", "B4_SANDBOX_PIX_KEY", B4_CFG_STR, "c0b7e2a94f@sandbox.b4you.dev",
     "Pix key written into the BR Codes", &opt_pix_key, 0, 0, NULL, false},
    {"hang-seconds", "B4_SANDBOX_HANG_SECONDS", B4_CFG_INT, "30",
     "how long the never-answers card 4000000000003220 holds the request", &opt_hang_seconds, 0,
     600, NULL, false},
    {"fail-all", "B4_SANDBOX_FAIL_ALL", B4_CFG_BOOL, "false",
     "answer 503 to every charge (multi-acquirer failover tests)", &opt_fail_all, 0, 0, NULL,
     false},
    {"auto-pay-seconds", "B4_SANDBOX_AUTO_PAY_SECONDS", B4_CFG_INT, "0",
     "pay pending Pix and boleto charges after this many seconds (0 = never; demos)",
     &opt_auto_pay_seconds, 0, 86400, NULL, false},
    {"public-key", "B4_SANDBOX_PUBLIC_KEY", B4_CFG_STR, "",
     "public key browsers send to POST /v1/public/card-tokens (empty = endpoint off)",
     &opt_public_key, 0, 0, NULL, false},
    {"cors-origins", "B4_SANDBOX_CORS_ORIGINS", B4_CFG_STR, "",
     "origins of the checkout page allowed to tokenize cards (comma list)", &opt_cors_origins, 0, 0,
     NULL, false},
    {"public-rate", "B4_SANDBOX_PUBLIC_RATE", B4_CFG_INT, "30",
     "public tokenizations per client address per minute", &opt_public_rate, 1, 1000000, NULL,
     false},
};

int64_t sbx_now(void)
{
	return (int64_t)time(NULL);
}

void sbx_iso_time(int64_t unix_time, char out[21])
{
	time_t t = (time_t)unix_time;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool sbx_bearer_is(struct b4_req *req, const char *want)
{
	const char *h = b4_req_header(req, "Authorization");
	size_t len = strlen(want);

	if (len == 0 || !h || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	while (*h == ' ')
		h++;
	/* compare equal lengths only, in time that depends on the length */
	return strlen(h) == len && b4_crypto_equal(h, want, len);
}

bool sbx_authorized(struct b4_req *req)
{
	struct sbx_app *app = req->app;
	bool ok = sbx_bearer_is(req, app->secret);

	if (!ok) {
		b4_req_set_header(req, "WWW-Authenticate", "Bearer");
		b4_req_errorf(req, 401, "authentication_error", "unauthenticated", NULL,
			      "The acquirer secret is required as a bearer token.");
	}
	return ok;
}

static int sandbox_init(const struct b4_settings *settings, void **out)
{
	struct sbx_app *app;
	size_t secret_len = strlen(opt_secret);

	(void)settings;
	if (secret_len < 32 || secret_len >= sizeof(app->secret)) {
		fprintf(stderr,
			"b4-acquirer-sandbox: B4_ACQUIRER_SECRET: must be 32 to %zu bytes "
			"(got %zu)\n",
			sizeof(app->secret) - 1, secret_len);
		return -1;
	}
	if (strlen(opt_pix_key) == 0 || strlen(opt_pix_key) > B4_BR_PIX_KEY_MAX) {
		fprintf(stderr,
			"b4-acquirer-sandbox: B4_SANDBOX_PIX_KEY: must be 1 to %d "
			"characters\n",
			B4_BR_PIX_KEY_MAX);
		return -1;
	}
	app = calloc(1, sizeof(*app));
	if (!app) {
		fprintf(stderr, "b4-acquirer-sandbox: out of memory\n");
		return -1;
	}
	memcpy(app->secret, opt_secret, secret_len + 1);
	snprintf(app->pix_key, sizeof(app->pix_key), "%s", opt_pix_key);
	app->hang_seconds = opt_hang_seconds;
	app->fail_all = opt_fail_all;
	app->auto_pay_seconds = opt_auto_pay_seconds;
	app->public_rate_per_minute = opt_public_rate;
	if (strlen(opt_public_key) >= sizeof(app->public_key) ||
	    sbx_public_init(app, opt_cors_origins) < 0) {
		fprintf(stderr, "b4-acquirer-sandbox: B4_SANDBOX_PUBLIC_KEY or "
				"B4_SANDBOX_CORS_ORIGINS: too long or malformed\n");
		free(app);
		return -1;
	}
	snprintf(app->public_key, sizeof(app->public_key), "%s", opt_public_key);
	/* boleto free fields stay unique across restarts of the sandbox */
	app->boleto_seq = (uint64_t)sbx_now() * 1000u;
	if (sbx_tokens_init(app) < 0) {
		fprintf(stderr, "b4-acquirer-sandbox: cannot derive the card token key\n");
		OPENSSL_cleanse(app->secret, sizeof(app->secret));
		free(app);
		return -1;
	}
	app->charges_total = b4_metrics_counter("sandbox_charges_total",
						"Charges created, by method and first status",
						(const char *const[]){"method", "status", NULL});
	app->callbacks_total =
	    b4_metrics_counter("sandbox_callbacks_total", "Callback attempts, by result",
			       (const char *const[]){"result", NULL});
	pthread_mutex_init(&app->lock, NULL);
	pthread_cond_init(&app->idem_cond, NULL);
	pthread_cond_init(&app->events_cond, NULL);
	if (sbx_callbacks_start(app) < 0) {
		fprintf(stderr, "b4-acquirer-sandbox: cannot start the callback thread\n");
		pthread_cond_destroy(&app->events_cond);
		pthread_cond_destroy(&app->idem_cond);
		pthread_mutex_destroy(&app->lock);
		b4_crypto_keyring_cleanup(&app->token_keys);
		OPENSSL_cleanse(app->secret, sizeof(app->secret));
		free(app);
		return -1;
	}
	b4_log_info("sandbox ready", B4_LI("hang_seconds", app->hang_seconds),
		    B4_LI("fail_all", app->fail_all),
		    B4_LI("auto_pay_seconds", app->auto_pay_seconds));
	*out = app;
	return 0;
}

static void sandbox_cleanup(void *arg)
{
	struct sbx_app *app = arg;

	int waiters;

	if (!app)
		return;
	pthread_mutex_lock(&app->lock);
	app->stopping = true;
	waiters = app->waiters;
	pthread_cond_broadcast(&app->idem_cond);
	pthread_mutex_unlock(&app->lock);
	sbx_callbacks_stop(app);
	if (waiters > 0) {
		/* handlers still waiting (drain time over) point into app; the
		 * process exits right after this, so leave it allocated */
		b4_log_warn("stopping with requests still held", B4_LI("held", waiters));
		return;
	}
	sbx_idem_free_all(app);
	sbx_store_free_all(app);
	pthread_cond_destroy(&app->events_cond);
	pthread_cond_destroy(&app->idem_cond);
	pthread_mutex_destroy(&app->lock);
	b4_crypto_keyring_cleanup(&app->token_keys);
	OPENSSL_cleanse(app->secret, sizeof(app->secret));
	free(app);
}

int main(int argc, char **argv)
{
	struct b4_service svc = {
	    .name = "b4-acquirer-sandbox",
	    .default_port = 8090,
	    .routes = sbx_routes,
	    .nroutes = sbx_nroutes,
	    .extra_opts = sandbox_opts,
	    .nextra_opts = sizeof(sandbox_opts) / sizeof(sandbox_opts[0]),
	    .init = sandbox_init,
	    .cleanup = sandbox_cleanup,
	};

	/* state lives in memory: no database unless asked for */
	setenv("B4_NO_DB", "true", 0);
	return b4_service_main(&svc, argc, argv);
}
