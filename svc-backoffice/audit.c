/* audit.c - GET /v1/audit-log: who did what, when, from where. */
#include "backoffice.h"

#include <string.h>

static const struct bo_col audit_cols[] = {
    {"id", BO_STR},	     {"actor_id", BO_STR},    {"actor_role", BO_STR},
    {"action", BO_STR},	     {"target_type", BO_STR}, {"target_id", BO_STR},
    {"ip", BO_STR},	     {"request_id", BO_STR},  {"details", BO_JSON},
    {"created_at", BO_TIME}, {NULL, BO_STR},
};

void bo_audit_list(struct b4_req *req)
{
	const char *after, *actor_id, *target_type = b4_req_query(req, "target_type"), *target_id,
				      *from, *to;
	struct b4_db_result *res;
	int limit;

	if (bo_query_page_numeric(req, &limit, &after) < 0 ||
	    bo_query_uuid(req, "actor_id", &actor_id) < 0 ||
	    bo_query_text(req, "target_id", 64, &target_id) < 0 ||
	    bo_query_range(req, &from, &to) < 0)
		return;
	if (target_type && !bo_is_name(target_type, 32, "_")) {
		b4_req_errorf(req, 400, "invalid_request_error", "invalid_parameter", "target_type",
			      "target_type must be 1 to 32 of a-z 0-9 _.");
		return;
	}
	res = b4_db_query(req->db,
			  "SELECT id, actor_id, actor_role, action, target_type, target_id, ip,"
			  " request_id, details, created_at FROM audit_log"
			  " WHERE (? IS NULL OR id < ?)"
			  " AND (? IS NULL OR actor_id = ?)"
			  " AND (? IS NULL OR target_type = ?)"
			  " AND (? IS NULL OR target_id = ?)"
			  " AND (? IS NULL OR created_at >= ?)"
			  " AND (? IS NULL OR created_at < DATE_ADD(?, INTERVAL 1 DAY))"
			  " ORDER BY id DESC LIMIT ?",
			  "ssssssssssssI", after, after, actor_id, actor_id, target_type,
			  target_type, target_id, target_id, from, from, to, to, limit + 1);
	if (!res) {
		b4_req_db_error(req);
		return;
	}
	bo_send_page(req, res, limit, audit_cols);
}
