/* ratelimit.h - fixed-window request limits shared by every replica.
 *
 * Counters live in the rate_limits table (db/migrations/0011), keyed by a
 * scope ("coupon_ip") and the SHA-256 of the key (a client address, a
 * session id), so limits hold across replicas and no address is stored in
 * clear.  Used for the public endpoints that can be driven without an
 * account (coupon checks, funnel events).
 */
#ifndef B4_RATELIMIT_H
#define B4_RATELIMIT_H

#include <stdint.h>

#include "b4/db.h"
#include "b4/http.h"

/* Counts one hit for (scope, key) in the current window of window_seconds
 * and tells whether the count is now over max; *retry_after gets the
 * seconds left in the window (>= 1).  One statement counts and reads the
 * count; past windows are swept at most once a second per process.
 * Returns 1 over the limit, 0 fine, -1 on a DB error. */
int b4_ratelimit_hit(struct b4_db *db, const char *scope, const char *key, int64_t window_seconds,
		     int64_t max, int64_t *retry_after);

/* Answers 429 rate_limit_error (code rate_limited, the given message) with
 * Retry-After: retry_after. */
void b4_ratelimit_refuse(struct b4_req *req, int64_t retry_after, const char *message);

/* Both limits of a public endpoint at once: per client address (always)
 * and per key2 when not NULL (a session).  Answers 429 or 503 itself and
 * returns -1; 0 when the request may go on. */
int b4_ratelimit_check(struct b4_req *req, const char *scope_address, int64_t max_per_address,
		       const char *scope_key2, const char *key2, int64_t max_per_key2,
		       int64_t window_seconds);

#endif
