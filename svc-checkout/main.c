/* main.c - b4-checkout: the public transparent checkout. */
#include "checkout.h"
#include "b4/pii.h"
#include "b4/prodcheck.h"
#include "b4/service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct checkout_app app_storage;
static const char *acquirers_setting;

static const struct b4_config_opt checkout_opts[] = {
    {"acquirers", "B4_ACQUIRERS", B4_CFG_STR, "sandbox=http://127.0.0.1:8090",
     "acquirers as name=url[,name=url...]", &acquirers_setting, 0, 0, NULL, false},
    {"acquirer-secret", "B4_ACQUIRER_SECRET", B4_CFG_STR, "",
     "shared secret with the acquirers (>= 32 bytes)", &app_storage.acquirers.secret, 0, 0, NULL,
     true},
    {"checkout-callback-url", "B4_CHECKOUT_CALLBACK_URL", B4_CFG_STR, "",
     "base URL acquirers post callbacks to (<url>/v1/acquirers/<name>/callbacks)",
     &app_storage.callback_url, 0, 0, NULL, false},
    {"monthly-rate-bp", "B4_MONTHLY_RATE_BP", B4_CFG_INT, "299",
     "monthly interest of installment plans, basis points", &app_storage.monthly_rate_bp, 0, 10000,
     NULL, false},
    {"platform-fee-bp", "B4_PLATFORM_FEE_BP", B4_CFG_INT, "990",
     "platform fee, basis points of the amount charged", &app_storage.platform_fee_bp, 0, 10000,
     NULL, false},
    {"platform-fee-cents", "B4_PLATFORM_FEE_CENTS", B4_CFG_INT, "100",
     "platform fixed fee per order, cents", &app_storage.platform_fee_cents, 0, 100000, NULL,
     false},
    {"acquirer-timeout", "B4_ACQUIRER_TIMEOUT", B4_CFG_SECONDS, "10s",
     "time allowed for one acquirer call", &app_storage.acquirers.timeout, 0, 120, NULL, false},
    {"fraud-threshold", "B4_FRAUD_THRESHOLD", B4_CFG_INT, "70",
     "antifraud score at or above which an order is refused", &app_storage.fraud_threshold, 1,
     1000000, NULL, false},
    {"fraud-window", "B4_FRAUD_WINDOW_SECONDS", B4_CFG_INT, "3600",
     "seconds of history the velocity rules look at", &app_storage.fraud_window_seconds, 1, 2592000,
     NULL, false},
    {"fraud-card-max", "B4_FRAUD_CARD_MAX", B4_CFG_INT, "5",
     "orders per card fingerprint in the window before the velocity rule fires",
     &app_storage.fraud_card_max, 1, 1000000, NULL, false},
    {"fraud-email-max", "B4_FRAUD_EMAIL_MAX", B4_CFG_INT, "5",
     "orders per buyer email in the window before the velocity rule fires",
     &app_storage.fraud_email_max, 1, 1000000, NULL, false},
    {"fraud-document-max", "B4_FRAUD_DOCUMENT_MAX", B4_CFG_INT, "5",
     "orders per buyer CPF/CNPJ in the window before the velocity rule fires",
     &app_storage.fraud_document_max, 1, 1000000, NULL, false},
    {"fraud-ip-max", "B4_FRAUD_IP_MAX", B4_CFG_INT, "30",
     "orders per client IP in the window before the velocity rule fires", &app_storage.fraud_ip_max,
     1, 1000000, NULL, false},
    {"pix-expires", "B4_PIX_EXPIRES_SECONDS", B4_CFG_INT, "1800",
     "seconds a Pix code stays payable", &app_storage.pix_expires_seconds, 60, 604800, NULL, false},
    {"public-limit-window", "B4_PUBLIC_LIMIT_WINDOW_SECONDS", B4_CFG_INT, "600",
     "window of the coupon check and funnel event limits (s)",
     &app_storage.public_limit_window_seconds, 1, 86400, NULL, false},
    {"coupon-checks-per-ip", "B4_COUPON_CHECKS_PER_IP", B4_CFG_INT, "60",
     "coupon checks per client address per window", &app_storage.coupon_checks_per_address, 1,
     1000000, NULL, false},
    {"coupon-checks-per-session", "B4_COUPON_CHECKS_PER_SESSION", B4_CFG_INT, "20",
     "coupon checks per checkout session per window", &app_storage.coupon_checks_per_session, 1,
     1000000, NULL, false},
    {"events-per-ip", "B4_EVENTS_PER_IP", B4_CFG_INT, "600",
     "funnel events per client address per window", &app_storage.events_per_address, 1, 1000000,
     NULL, false},
    {"events-per-session", "B4_EVENTS_PER_SESSION", B4_CFG_INT, "100",
     "funnel events per checkout session per window", &app_storage.events_per_session, 1, 1000000,
     NULL, false},
    {"boleto-days", "B4_BOLETO_DAYS", B4_CFG_INT, "3", "days until a boleto is due",
     &app_storage.boleto_days, 1, 30, NULL, false},
    {"tokenize-url", "B4_CHECKOUT_TOKENIZE_URL", B4_CFG_STR, "",
     "the acquirer's public card tokenization URL the checkout page calls",
     &app_storage.tokenize_url, 0, 0, NULL, false},
    {"acquirer-public-key", "B4_ACQUIRER_PUBLIC_KEY", B4_CFG_STR, "",
     "the acquirer's public key (B4_SANDBOX_PUBLIC_KEY), given to the checkout page",
     &app_storage.public_key, 0, 0, NULL, false},
    {"offer-page-cache-ms", "B4_OFFER_PAGE_CACHE_MS", B4_CFG_INT, "1000",
     "milliseconds an offer page's answer is reused (a producer's change shows within "
     "it; orders always read the offer); 0 never",
     &app_storage.page_cache_ms, 0, 60000, NULL, false},
};

static int checkout_init(const struct b4_settings *settings, void **app)
{
	if (b4_acquirers_parse(&app_storage.acquirers, acquirers_setting) < 0) {
		fprintf(stderr,
			"b4-checkout: B4_ACQUIRERS must be name=http(s)://url[,name=url...]\n");
		return -1;
	}
	/* Without a secret the offer pages still work (payments answer 503);
	 * production refuses to start without one. */
	if ((app_storage.acquirers.secret[0] || settings->env == B4_ENV_PRODUCTION) &&
	    strlen(app_storage.acquirers.secret) < 32) {
		fprintf(stderr, "b4-checkout: B4_ACQUIRER_SECRET must be at least 32 bytes\n");
		return -1;
	}
	if (settings->env == B4_ENV_PRODUCTION) {
		if (!app_storage.callback_url[0]) {
			fprintf(stderr, "b4-checkout: B4_CHECKOUT_CALLBACK_URL: required in "
					"production (the public base URL acquirers call back)\n");
			return -1;
		}
		if (b4_prodcheck_acquirers("b4-checkout", "B4_ACQUIRERS", &app_storage.acquirers,
					   stderr) < 0)
			return -1;
	}
	if (b4_pii_init("b4-checkout") < 0)
		return -1;
	checkout_metrics_init();
	checkout_page_cache_init();
	app_storage.fraud_skip_test_cards = settings->env == B4_ENV_DEVELOPMENT;
	*app = &app_storage;
	return 0;
}

static void checkout_cleanup(void *app)
{
	(void)app;
	checkout_page_cache_cleanup();
	b4_pii_cleanup();
}

int main(int argc, char **argv)
{
	struct b4_service svc = {
	    .name = "b4-checkout",
	    .default_port = 8083,
	    .routes = checkout_routes,
	    .nroutes = checkout_nroutes,
	    .extra_opts = checkout_opts,
	    .nextra_opts = sizeof(checkout_opts) / sizeof(checkout_opts[0]),
	    .init = checkout_init,
	    .cleanup = checkout_cleanup,
	};

	return b4_service_main(&svc, argc, argv);
}
