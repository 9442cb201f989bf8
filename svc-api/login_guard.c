/* login_guard.c - failed-login counters that cannot be turned against
 * members (db/migrations/0010_login_failures.sql).
 *
 * Two counters, both keyed by blind indexes and shared by every replica:
 * per client address (B4_LOGIN_MAX_PER_IP free failures) and per (account,
 * client address) (B4_LOGIN_MAX_PER_EMAIL free failures).  There is no
 * counter per account alone: an attacker who fails against an account only
 * slows himself down, and its owner still logs in from another address.
 * Past the free failures each further failure doubles the wait (2 s, 4 s,
 * ... up to B4_LOGIN_WINDOW_SECONDS); a counter forgets after a window with
 * no failure.  The wait is answered as 429 + Retry-After, never slept on a
 * worker thread.
 */
#include "api.h"
#include "b4/log.h"
#include "b4/pii.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The two keys of one attempt. */
struct login_keys {
	char address[65];
	char account_address[65];
};

static int keys_of(const struct b4_req *req, const char *email, struct login_keys *k)
{
	char joined[320 + B4_CLIENT_ADDR_MAX];

	snprintf(joined, sizeof(joined), "%s\n%s", email, req->client_ip);
	if (b4_pii_blind_index("login_ip", req->client_ip, k->address) < 0 ||
	    b4_pii_blind_index("login_account_ip", joined, k->account_address) < 0)
		return -1;
	return 0;
}

int64_t api_login_wait(struct b4_req *req, const char *email)
{
	struct login_keys k;
	struct b4_db_result *res;
	int64_t now = (int64_t)time(NULL), until;

	if (keys_of(req, email, &k) < 0)
		return -1;
	res = b4_db_query(req->db,
			  "SELECT COALESCE(MAX(blocked_until), 0) FROM login_failures"
			  " WHERE (scope = 'address' AND key_hash = ?)"
			  " OR (scope = 'account_address' AND key_hash = ?)",
			  "ss", k.address, k.account_address);
	if (!res)
		return -1;
	until = b4_db_rows(res) ? b4_db_i64(res, 0, 0) : 0;
	b4_db_result_free(res);
	return until > now ? until - now : 0;
}

/* Counts one failure for (scope, key) and sets its next allowed time. */
static int count_failure(struct b4_req *req, const char *scope, const char *key, int64_t free)
{
	struct api_app *app = req->app;
	int64_t now = (int64_t)time(NULL), window = app->login_window_seconds;
	int64_t affected;

	/* assignments run left to right: failures first (it reads the old
	 * last_failure_at), then blocked_until from the new count */
	affected = b4_db_exec(
	    req->db,
	    "INSERT INTO login_failures (scope, key_hash, failures, last_failure_at, blocked_until)"
	    " VALUES (?, ?, 1, ?, IF(1 >= ?, ? + LEAST(?, 2), 0))"
	    " ON DUPLICATE KEY UPDATE"
	    " failures = IF(last_failure_at < ? - ?, 1, failures + 1),"
	    " blocked_until = IF(failures >= ?, ? + LEAST(?, 2 << LEAST(failures - ?, 20)), 0),"
	    " last_failure_at = ?",
	    "ssiiiiiiiiiii", scope, key, now, free, now, window, now, window, free, now, window,
	    free, now);
	if (affected < 0)
		return -1;
	/* a new row: sweep a few forgotten ones so the table stays small */
	if (affected == 1 &&
	    b4_db_exec(req->db,
		       "DELETE FROM login_failures WHERE last_failure_at < ? AND blocked_until < ?"
		       " LIMIT 100",
		       "ii", now - window, now) < 0)
		return -1;
	return 0;
}

int api_login_failed(struct b4_req *req, const char *email)
{
	struct api_app *app = req->app;
	struct login_keys k;

	if (keys_of(req, email, &k) < 0 ||
	    count_failure(req, "address", k.address, app->login_max_per_ip) < 0 ||
	    count_failure(req, "account_address", k.account_address, app->login_max_per_email) < 0)
		return -1;
	return 0;
}

void api_login_succeeded(struct b4_req *req, const char *email)
{
	struct login_keys k;

	if (keys_of(req, email, &k) < 0 ||
	    b4_db_exec(
		req->db,
		"DELETE FROM login_failures WHERE scope = 'account_address' AND key_hash = ?", "s",
		k.account_address) < 0)
		b4_log_warn("cannot reset the login failures");
}
