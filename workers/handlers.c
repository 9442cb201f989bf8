/* handlers.c - the job types b4-worker knows, as data; see handlers.h. */
#include "handlers.h"
#include "invoice.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "b4/db.h"

/* Add a line per job type.  {type, run, max_concurrency, timeout_seconds,
 * init, cleanup, test_only} */
const struct worker_handler worker_handlers[] = {
    {"webhook.event", webhook_event_job, 0, 0, NULL, NULL, false},
    {"webhook.deliver", webhook_deliver_job, 0, 0, webhook_init, NULL, false},
    {"order.expire", order_expire_job, 0, 0, acquirers_init, NULL, false},
    {"refund.process", refund_process_job, 0, 0, acquirers_init, NULL, false},
    {"payment.refund_late", late_payment_refund_job, 0, 0, acquirers_init, NULL, false},
    {"commission.release", commission_release_job, 0, 0, NULL, NULL, false},
    {"cron.abandoned_cart", abandoned_cart_job, 1, 0, NULL, NULL, false},
    {"cron.sales_compact", sales_compact_job, 1, 600, NULL, NULL, false},
    {"test.record", test_record_job, 0, 0, NULL, NULL, true},
    {"invoice.issue", invoice_issue_job, 0, 0, invoice_init, NULL, false},
    {"invoice.cancel", invoice_cancel_job, 0, 0, invoice_init, NULL, false},
    {"report.export", report_export_job, 1, 300, report_init, NULL, false},
};
const size_t worker_nhandlers = sizeof(worker_handlers) / sizeof(worker_handlers[0]);

/* Add the settings of a handler here: {flag, env, type, default, help,
 * &target, min, max, choices, secret}; the target is a global of the
 * handler's file, declared in handlers.h or its own header. */
const struct b4_config_opt worker_handler_opts[] = {
    {"acquirers", "B4_ACQUIRERS", B4_CFG_STR, "sandbox=http://127.0.0.1:8090",
     "acquirers as name=url[,name=url...] (refunds, settling lost card answers)",
     &worker_acquirers_setting, 0, 0, NULL, false},
    {"acquirer-secret", "B4_ACQUIRER_SECRET", B4_CFG_STR, "",
     "shared secret with the acquirers (>= 32 bytes)", &worker_acquirers.secret, 0, 0, NULL, true},
    {"acquirer-timeout", "B4_ACQUIRER_TIMEOUT", B4_CFG_SECONDS, "10s",
     "time allowed for one acquirer call", &worker_acquirers.timeout, 1, 120, NULL, false},
    {"abandoned-cart-delay", "B4_ABANDONED_CART_DELAY", B4_CFG_SECONDS, "1h",
     "a session with an email and no paid order this long fires abandoned-cart",
     &worker_abandoned_cart_delay, 1, 30 * 86400, NULL, false},
    {"webhook-timeout", "B4_WEBHOOK_TIMEOUT", B4_CFG_SECONDS, "10s",
     "total time allowed for one webhook POST", &worker_webhook_timeout, 1, 120, NULL, false},
    {"webhook-backoff-scale", "B4_WEBHOOK_BACKOFF_SCALE", B4_CFG_SECONDS, "1",
     "multiplies the webhook retry schedule (tests shrink it)", &worker_webhook_backoff_scale, 0, 1,
     NULL, false},
    {"nfse-issuer-cnpj", "B4_NFSE_ISSUER_CNPJ", B4_CFG_STR, "11222333000181",
     "NFS-e issuer document (CNPJ, or CPF)", &worker_nfse_issuer_document, 0, 0, NULL, false},
    {"nfse-issuer-name", "B4_NFSE_ISSUER_NAME", B4_CFG_STR, "B4YOU DEMONSTRACAO LTDA",
     "NFS-e issuer name", &worker_nfse_issuer_name, 0, 0, NULL, false},
    {"nfse-municipality", "B4_NFSE_MUNICIPALITY", B4_CFG_STR, "3550308",
     "IBGE code (7 digits) of the issuer's municipality", &worker_nfse_municipality, 0, 0, NULL,
     false},
    {"nfse-service-code", "B4_NFSE_SERVICE_CODE", B4_CFG_STR, "080201",
     "national service code cTribNac (6 digits)", &worker_nfse_service_code, 0, 0, NULL, false},
    {"nfse-series", "B4_NFSE_SERIES", B4_CFG_INT, "1", "DPS series", &worker_nfse_series, 1, 99999,
     NULL, false},
    {"nfse-environment", "B4_NFSE_ENVIRONMENT", B4_CFG_INT, "2",
     "tpAmb: 1 production, 2 homologation", &worker_nfse_environment, 1, 2, NULL, false},
};
const size_t worker_nhandler_opts = sizeof(worker_handler_opts) / sizeof(worker_handler_opts[0]);

const struct worker_handler *worker_handler_find(const char *type)
{
	for (size_t i = 0; i < worker_nhandlers; i++)
		if (strcmp(worker_handlers[i].type, type) == 0)
			return &worker_handlers[i];
	return NULL;
}

bool worker_is_stopping(const struct worker_ctx *ctx)
{
	return ctx->stopping && atomic_load(ctx->stopping);
}

int worker_payload_id(const struct b4_job *job, const char *field, char out[37], char *err,
		      size_t errcap)
{
	cJSON *payload = cJSON_Parse(job->payload);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(payload, field);
	int rc = -1;

	if (cJSON_IsString(id) && strlen(id->valuestring) == 36) {
		memcpy(out, id->valuestring, 37);
		rc = 0;
	} else {
		snprintf(err, errcap, "payload needs %s", field);
	}
	cJSON_Delete(payload);
	return rc;
}

int worker_db_failed(struct worker_ctx *ctx, char *err, size_t errcap)
{
	snprintf(err, errcap, "database: %s", b4_db_error(ctx->db));
	return WORKER_RETRY;
}
