/* acquirer.c - checkout's side of the acquirer protocol (docs/ACQUIRER.md):
 * tokens.  Charges, their classification and reconciliation by reference
 * are libcommon's (b4/charges.h). */
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
