/* acquirer.h - the client side of the acquirer protocol (docs/ACQUIRER.md),
 * shared by b4-checkout (tokens, charges) and b4-worker (refunds, settling
 * charges whose answer was lost).
 *
 * A struct b4_acquirers is filled at start-up from B4_ACQUIRERS
 * ("name=url[,name=url...]"), B4_ACQUIRER_SECRET and a timeout, and is
 * read-only afterwards, so any number of threads may use it.
 */
#ifndef B4_ACQUIRER_H
#define B4_ACQUIRER_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "b4/httpc.h"

#define B4_ACQUIRERS_MAX 8

struct b4_db;

struct b4_acquirer {
	char name[33];
	char url[256]; /* base URL, no trailing path */
};

struct b4_acquirers {
	struct b4_acquirer list[B4_ACQUIRERS_MAX];
	size_t count;
	const char *secret; /* bearer and callback key; not owned */
	double timeout;	    /* seconds allowed per call */
};

/* Parses "name=http(s)://url[,name=url...]" into set->list (secret and
 * timeout are left alone).  Returns -1 on a malformed list. */
int b4_acquirers_parse(struct b4_acquirers *set, const char *text);
/* The configured acquirer called name, or NULL. */
const struct b4_acquirer *b4_acquirers_find(const struct b4_acquirers *set, const char *name);
/* Acquirers in the order of the settings row `acquirer_priority`,
 * restricted to configured ones (all of them, in configuration order, when
 * the row is missing or names none).  The row is read at most once per
 * B4_ACQUIRER_PRIORITY_TTL_MS per process: a change made in the
 * back-office reaches every order within that time.  Writes up to B4_ACQUIRERS_MAX
 * pointers into out; returns the count, or -1 on a database error. */
#define B4_ACQUIRER_PRIORITY_TTL_MS 2000
int b4_acquirers_priority(struct b4_db *db, const struct b4_acquirers *set,
			  const struct b4_acquirer **out);

/* One authenticated call: method path (e.g. "/v1/charges") with an optional
 * Idempotency-Key and JSON body.  Returns like b4_httpc_do; resp must be
 * cleaned up by the caller either way. */
int b4_acquirer_call(const struct b4_acquirers *set, const struct b4_acquirer *acq,
		     const char *method, const char *path, const char *idem_key, const char *body,
		     struct b4_httpc_response *resp);

/* Looks up the charge made for reference (an order id).  Returns 1 with
 * *charge (caller deletes) when one exists, 0 when the acquirer has none,
 * -1 when it cannot tell (unreachable, bad answer). */
int b4_acquirer_find_charge(const struct b4_acquirers *set, const struct b4_acquirer *acq,
			    const char *reference, cJSON **charge);

#endif
