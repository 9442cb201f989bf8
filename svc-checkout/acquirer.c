/* acquirer.c - checkout's side of the acquirer protocol (docs/ACQUIRER.md):
 * tokens, charges with an Idempotency-Key, reconciliation by reference
 * after a timeout, and the card priority order from the settings table. */
#include "checkout.h"
#include "b4/crypto.h"
#include "b4/db.h"
#include "b4/httpc.h"
#include "b4/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct checkout_acquirer *checkout_acquirer_find(const struct checkout_app *app,
						       const char *name)
{
	for (size_t i = 0; i < app->nacquirers; i++)
		if (strcmp(app->acquirers[i].name, name) == 0)
			return &app->acquirers[i];
	return NULL;
}

int checkout_acquirer_priority(struct b4_db *db, const struct checkout_app *app,
			       const struct checkout_acquirer **out)
{
	struct b4_db_result *res;
	cJSON *list = NULL, *item;
	int n = 0;

	res = b4_db_query(db, "SELECT value FROM settings WHERE name = 'acquirer_priority'", "");
	if (!res)
		return -1;
	if (b4_db_rows(res) > 0)
		list = cJSON_Parse(b4_db_str(res, 0, 0));
	b4_db_result_free(res);
	if (cJSON_IsArray(list)) {
		cJSON_ArrayForEach(item, list)
		{
			const struct checkout_acquirer *a;
			bool seen = false;
			if (!cJSON_IsString(item) || n == CHECKOUT_MAX_ACQUIRERS)
				continue;
			a = checkout_acquirer_find(app, item->valuestring);
			for (int k = 0; k < n; k++)
				seen = seen || out[k] == a;
			if (a && !seen)
				out[n++] = a;
		}
	}
	cJSON_Delete(list);
	/* No usable row: every configured acquirer, in configuration order. */
	if (n == 0)
		for (size_t i = 0; i < app->nacquirers; i++)
			out[n++] = &app->acquirers[i];
	return n;
}

/* One call to an acquirer; resp must be cleaned up by the caller. */
static int acquirer_call(const struct checkout_app *app, const struct checkout_acquirer *acq,
			 const char *method, const char *path, const char *idem_key,
			 const char *body, double timeout, struct b4_httpc_response *resp)
{
	char url[512], auth[320], idem[320];
	const char *headers[5];
	struct b4_httpc_request hreq;
	size_t nh = 0;

	snprintf(url, sizeof(url), "%s%s", acq->url, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", app->acquirer_secret);
	headers[nh++] = auth;
	headers[nh++] = "Content-Type: application/json";
	if (idem_key) {
		snprintf(idem, sizeof(idem), "Idempotency-Key: %s", idem_key);
		headers[nh++] = idem;
	}
	headers[nh] = NULL;
	memset(&hreq, 0, sizeof(hreq));
	hreq.method = method;
	hreq.url = url;
	hreq.headers = headers;
	hreq.body = body;
	hreq.body_len = body ? strlen(body) : 0;
	hreq.connect_timeout_ms = 2000;
	hreq.timeout_ms = (long)(timeout * 1000.0);
	if (hreq.timeout_ms <= 0)
		hreq.timeout_ms = 10000;
	hreq.retries = 0;
	hreq.max_response_bytes = 256 * 1024;
	memset(resp, 0, sizeof(*resp));
	return b4_httpc_do(&hreq, resp);
}

enum checkout_acq_outcome checkout_acquirer_tokenize(const struct checkout_app *app,
						     const struct checkout_acquirer *acq,
						     const char *body, int *status, cJSON **token)
{
	struct b4_httpc_response resp;
	enum checkout_acq_outcome outcome = CHECKOUT_ACQ_UNAVAILABLE;
	char idem[37];

	*token = NULL;
	*status = 0;
	if (!app->acquirer_secret[0] || b4_crypto_uuid4(idem) < 0)
		return CHECKOUT_ACQ_UNAVAILABLE;
	if (acquirer_call(app, acq, "POST", "/v1/tokens", idem, body, app->acquirer_timeout,
			  &resp) == 0) {
		*status = (int)resp.status;
		if (resp.status == 200 || resp.status == 201) {
			*token = cJSON_Parse(resp.body);
			outcome = *token ? CHECKOUT_ACQ_ANSWERED : CHECKOUT_ACQ_UNAVAILABLE;
		} else if (resp.status >= 400 && resp.status < 500) {
			*token = cJSON_Parse(resp.body);
			outcome = CHECKOUT_ACQ_REJECTED;
		}
	}
	if (outcome == CHECKOUT_ACQ_UNAVAILABLE)
		b4_log_warn("acquirer tokenization failed", B4_LS("acquirer", acq->name),
			    B4_LI("status", resp.status), B4_LS("error", resp.error));
	b4_httpc_response_cleanup(&resp);
	return outcome;
}

/* After a timeout: asks the acquirer whether a charge with this reference
 * exists.  ANSWERED with the charge, UNAVAILABLE when none exists, UNKNOWN
 * when the acquirer cannot tell. */
static enum checkout_acq_outcome reconcile(const struct checkout_app *app,
					   const struct checkout_acquirer *acq,
					   const char *reference, cJSON **charge)
{
	struct b4_httpc_response resp;
	enum checkout_acq_outcome outcome = CHECKOUT_ACQ_UNKNOWN;
	char path[128];

	snprintf(path, sizeof(path), "/v1/charges?reference=%s", reference);
	for (int attempt = 0; attempt < 2 && outcome == CHECKOUT_ACQ_UNKNOWN; attempt++) {
		if (acquirer_call(app, acq, "GET", path, NULL, NULL, app->acquirer_timeout,
				  &resp) == 0 &&
		    resp.status == 200) {
			cJSON *list = cJSON_Parse(resp.body);
			cJSON *data = cJSON_GetObjectItemCaseSensitive(list, "data");
			if (cJSON_IsArray(data)) {
				cJSON *first = cJSON_GetArrayItem(data, 0);
				if (first) {
					*charge = cJSON_DetachItemFromArray(data, 0);
					outcome = CHECKOUT_ACQ_ANSWERED;
				} else {
					outcome = CHECKOUT_ACQ_UNAVAILABLE;
				}
			}
			cJSON_Delete(list);
		}
		b4_httpc_response_cleanup(&resp);
	}
	b4_log_warn("acquirer charge timed out; reconciled by reference",
		    B4_LS("acquirer", acq->name), B4_LS("reference", reference),
		    B4_LS("outcome", outcome == CHECKOUT_ACQ_ANSWERED	   ? "found"
				     : outcome == CHECKOUT_ACQ_UNAVAILABLE ? "absent"
									   : "unknown"));
	return outcome;
}

enum checkout_acq_outcome checkout_acquirer_charge(const struct checkout_app *app,
						   const struct checkout_acquirer *acq,
						   const char *idem_key, const char *reference,
						   const char *body, cJSON **charge)
{
	struct b4_httpc_response resp;
	enum checkout_acq_outcome outcome = CHECKOUT_ACQ_UNAVAILABLE;
	bool timed_out = false;

	*charge = NULL;
	if (!app->acquirer_secret[0])
		return CHECKOUT_ACQ_UNAVAILABLE;
	if (acquirer_call(app, acq, "POST", "/v1/charges", idem_key, body, app->acquirer_timeout,
			  &resp) == 0) {
		if (resp.status == 200 || resp.status == 201) {
			*charge = cJSON_Parse(resp.body);
			outcome = *charge ? CHECKOUT_ACQ_ANSWERED : CHECKOUT_ACQ_UNKNOWN;
		} else if (resp.status >= 400 && resp.status < 500) {
			*charge = cJSON_Parse(resp.body);
			outcome = CHECKOUT_ACQ_REJECTED;
		}
		if (outcome != CHECKOUT_ACQ_ANSWERED)
			b4_log_warn("acquirer charge not accepted", B4_LS("acquirer", acq->name),
				    B4_LS("reference", reference), B4_LI("status", resp.status));
	} else {
		timed_out = resp.timed_out;
		b4_log_warn("acquirer charge failed", B4_LS("acquirer", acq->name),
			    B4_LS("reference", reference), B4_LS("error", resp.error),
			    B4_LI("timed_out", resp.timed_out));
	}
	b4_httpc_response_cleanup(&resp);
	if (timed_out || outcome == CHECKOUT_ACQ_UNKNOWN) {
		cJSON_Delete(*charge);
		*charge = NULL;
		outcome = reconcile(app, acq, reference, charge);
	}
	return outcome;
}
