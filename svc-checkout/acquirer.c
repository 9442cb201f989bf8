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

enum checkout_acq_outcome checkout_acquirer_tokenize(const struct checkout_app *app,
						     const struct b4_acquirer *acq,
						     const char *body, int *status, cJSON **token)
{
	struct b4_httpc_response resp;
	enum checkout_acq_outcome outcome = CHECKOUT_ACQ_UNAVAILABLE;
	char idem[37];

	*token = NULL;
	*status = 0;
	if (!app->acquirers.secret[0] || b4_crypto_uuid4(idem) < 0)
		return CHECKOUT_ACQ_UNAVAILABLE;
	if (b4_acquirer_call(&app->acquirers, acq, "POST", "/v1/tokens", idem, body, &resp) == 0) {
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
					   const struct b4_acquirer *acq, const char *reference,
					   cJSON **charge)
{
	enum checkout_acq_outcome outcome = CHECKOUT_ACQ_UNKNOWN;

	for (int attempt = 0; attempt < 2 && outcome == CHECKOUT_ACQ_UNKNOWN; attempt++) {
		int found = b4_acquirer_find_charge(&app->acquirers, acq, reference, charge);
		if (found >= 0)
			outcome = found ? CHECKOUT_ACQ_ANSWERED : CHECKOUT_ACQ_UNAVAILABLE;
	}
	b4_log_warn("acquirer charge timed out; reconciled by reference",
		    B4_LS("acquirer", acq->name), B4_LS("reference", reference),
		    B4_LS("outcome", outcome == CHECKOUT_ACQ_ANSWERED	   ? "found"
				     : outcome == CHECKOUT_ACQ_UNAVAILABLE ? "absent"
									   : "unknown"));
	return outcome;
}

enum checkout_acq_outcome checkout_acquirer_charge(const struct checkout_app *app,
						   const struct b4_acquirer *acq,
						   const char *idem_key, const char *reference,
						   const char *body, cJSON **charge)
{
	struct b4_httpc_response resp;
	enum checkout_acq_outcome outcome = CHECKOUT_ACQ_UNAVAILABLE;
	bool timed_out = false;

	*charge = NULL;
	if (!app->acquirers.secret[0])
		return CHECKOUT_ACQ_UNAVAILABLE;
	if (b4_acquirer_call(&app->acquirers, acq, "POST", "/v1/charges", idem_key, body, &resp) ==
	    0) {
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
