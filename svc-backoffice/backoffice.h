/* backoffice.h - b4-backoffice, the admin back-office service: private declarations.
 *
 * Every route needs the admin role (checked by libcommon before a handler
 * runs).  Every state-changing action writes its audit_log row, and any job
 * other parts must see, in the same transaction as the change.
 */
#ifndef B4_SVC_BACKOFFICE_H
#define B4_SVC_BACKOFFICE_H

#include <stdbool.h>
#include <stdint.h>

#include "b4/db.h"
#include "b4/acquirer.h"
#include "b4/http.h"
#include "b4/orders.h"
#include "b4/text.h"

extern const struct b4_route backoffice_routes[];
extern const size_t backoffice_nroutes;
/* main.c: the acquirers checkout is configured with (B4_ACQUIRERS). */
extern struct b4_acquirers bo_acquirers;

/* ---- handlers (one file per resource) ----------------------------------- */
void bo_users_list(struct b4_req *req);
void bo_users_get(struct b4_req *req);
void bo_users_block(struct b4_req *req);
void bo_users_unblock(struct b4_req *req);
void bo_users_role(struct b4_req *req);
void bo_products_list(struct b4_req *req);
void bo_products_block(struct b4_req *req);
void bo_products_unblock(struct b4_req *req);
void bo_orders_list(struct b4_req *req);
void bo_orders_get(struct b4_req *req);
void bo_refunds_create(struct b4_req *req);
void bo_affiliations_list(struct b4_req *req);
void bo_affiliations_approve(struct b4_req *req);
void bo_affiliations_reject(struct b4_req *req);
void bo_deliveries_list(struct b4_req *req);
void bo_deliveries_resend(struct b4_req *req);
void bo_jobs_list(struct b4_req *req);
void bo_jobs_retry(struct b4_req *req);
void bo_analytics_sales(struct b4_req *req);
void bo_analytics_funnel(struct b4_req *req);
void bo_reports_create(struct b4_req *req);
void bo_reports_get(struct b4_req *req);
void bo_reports_download(struct b4_req *req);
void bo_audit_list(struct b4_req *req);
void bo_settings_acquirers_get(struct b4_req *req);
void bo_settings_acquirers_put(struct b4_req *req);

/* ---- shared helpers (common.c) ------------------------------------------ */

/* How one result column becomes a JSON member (see bo_row_json). */
enum bo_col_kind {
	BO_STR,	 /* string, null when SQL NULL */
	BO_INT,	 /* integer (int64 fits a double exactly below 2^53) */
	BO_BOOL, /* TINYINT -> true/false */
	BO_TIME, /* DATETIME(6) -> RFC 3339 UTC "YYYY-MM-DDTHH:MM:SSZ", null when NULL */
	BO_JSON, /* JSON text -> parsed value, null when NULL or unparsable */
	BO_NUM,	 /* decimal text -> number, null when NULL */
};

struct bo_col {
	const char *name;
	enum bo_col_kind kind;
};

/* Builds one JSON object from row `row` of res: column i becomes member
 * cols[i].name.  cols ends with {NULL}.  Returns a new object the caller
 * owns (adds to a tree or deletes). */
cJSON *bo_row_json(const struct b4_db_result *res, size_t row, const struct bo_col *cols);

/* Answers a keyset page: {"data": [rows 0..limit-1 as bo_row_json], "has_more":
 * rows > limit}.  Frees res.  The query must have asked for limit + 1 rows. */
void bo_send_page(struct b4_req *req, struct b4_db_result *res, int limit,
		  const struct bo_col *cols);

/* Query parameter readers.  Each sets *out to the value, or NULL when the
 * parameter is absent; on a bad value answers 400 invalid_request_error
 * with param = name and returns -1. */
int bo_query_enum(struct b4_req *req, const char *name, const char *const *values,
		  const char **out);
int bo_query_uuid(struct b4_req *req, const char *name, const char **out);
/* A calendar date YYYY-MM-DD (a real date). */
int bo_query_date(struct b4_req *req, const char *name, const char **out);
/* Free text of 1..max_chars valid UTF-8 characters. */
int bo_query_text(struct b4_req *req, const char *name, size_t max_chars, const char **out);
/* Both from and to as dates, and from <= to when both are given. */
int bo_query_range(struct b4_req *req, const char **from, const char **to);
/* A keyset page over a BIGINT id: limit and a digits-only starting_after. */
int bo_query_page_numeric(struct b4_req *req, int *limit, const char **after);

/* Is text 1..max_len characters of a-z, 0-9 and the characters in extra? */
bool bo_is_name(const char *text, size_t max_len, const char *extra);

/* Runs sql (one string bind: id) and returns its first row as bo_row_json,
 * or NULL with *missing true when there is no row (false: database error).
 * The caller owns the object. */
cJSON *bo_fetch_one(struct b4_db *db, const char *sql, const char *id, const struct bo_col *cols,
		    bool *missing);
/* bo_fetch_one for a handler: answers 404 naming `what` or 503 and returns
 * NULL when there is no object. */
cJSON *bo_fetch_or_answer(struct b4_req *req, const char *sql, const char *id,
			  const struct bo_col *cols, const char *what);

/* A keyset list filtered by one optional status: sql binds (after, after,
 * status, status, limit) in that order.  Validates ?limit, ?starting_after
 * and ?status (one of statuses), then answers the page. */
void bo_list_by_status(struct b4_req *req, const char *sql, const char *const *statuses,
		       const struct bo_col *cols);

/* Escapes % _ and \ so text matches itself inside LIKE CONCAT('%', ?, '%').
 * Returns a copy in the request arena (NULL stays NULL). */
const char *bo_like_escape(struct b4_req *req, const char *text);

/* The filters an order list and an orders report share, NULL when absent. */

/* Reads the order filters from the query string.  Answers 400 and returns
 * -1 on any bad value. */
int bo_order_filters_from_query(struct b4_req *req, struct b4_order_filters *f);

/* Reads an optional body {reason?: 1..500 chars}; an empty body is fine.
 * Answers 400/422 and returns -1 on a bad body. */
int bo_optional_reason(struct b4_req *req, const char **reason);

/* Writes one audit_log row for the caller of req (actor id and role, client
 * ip, request id), with details (may be NULL; not consumed).  Runs on
 * req->db, inside the caller's transaction.  Returns 0 or -1. */
int bo_audit(struct b4_req *req, const char *action, const char *target_type, const char *target_id,
	     const cJSON *details);

/* A business refusal decided inside a transaction: the transaction function
 * fills it and returns -1, the handler answers it after the rollback. */
struct bo_refusal {
	int status; /* 0: none (a database failure) */
	const char *type, *code, *param;
	char message[200];
};

void bo_refuse(struct bo_refusal *r, int status, const char *type, const char *code,
	       const char *param, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Inside a transaction: runs lock_sql (SELECT <state> ... WHERE id = ? FOR
 * UPDATE) and copies the state into state[cap].  Returns 0, or -1 with r
 * set to 404 naming `what` when there is no row (r untouched on a database
 * error). */
int bo_lock_state(struct b4_db *db, const char *lock_sql, const char *id, const char *what,
		  char *state, size_t cap, struct bo_refusal *r);
/* Answers r if set, else a 503 database error. */
void bo_send_refusal(struct b4_req *req, const struct bo_refusal *r);

/* A flag change on one row (block/unblock a user or a product): locks the
 * row, refuses 404 when it is missing, and when the state differs from
 * `want` runs update_sql and writes the audit row, all in one transaction.
 * Setting a state the row already has changes nothing (idempotent). */
struct bo_toggle {
	const char *what;	/* "user": the 404 names it, and the audit target type */
	const char *id;		/* the row id (a UUID) */
	const char *lock_sql;	/* SELECT <state> FROM ... WHERE id = ? FOR UPDATE */
	const char *update_sql; /* UPDATE ... WHERE id = ? */
	const char *want;	/* state text after the change */
	const char *action;	/* audit action, "user.block" */
	const char *reason;	/* NULL or the admin's reason (audit details) */
	/* filled by bo_toggle_run */
	struct b4_req *req;
	bool changed;
	struct bo_refusal refusal;
};

/* Runs t.  Returns 0 when committed (t->changed tells whether anything
 * changed), or -1 after answering the refusal or database error. */
int bo_toggle_run(struct b4_req *req, struct bo_toggle *t);

#endif
