/* users.c - /v1/users: search members, one member, block and unblock. */
#include "backoffice.h"

#include <string.h>

static const struct bo_col user_cols[] = {
    {"id", BO_STR},	{"email", BO_STR},	 {"full_name", BO_STR},	  {"role", BO_STR},
    {"status", BO_STR}, {"created_at", BO_TIME}, {"updated_at", BO_TIME}, {NULL, BO_STR},
};
#define USER_SELECT "SELECT id, email, full_name, role, status, created_at, updated_at FROM users"

void bo_users_list(struct b4_req *req)
{
	static const char *const statuses[] = {"active", "blocked", NULL};
	const char *after, *email, *name, *status;
	struct b4_db_result *res;
	int limit;

	if (b4_req_page(req, &limit, &after) < 0 || bo_query_text(req, "email", 254, &email) < 0 ||
	    bo_query_text(req, "name", 200, &name) < 0 ||
	    bo_query_enum(req, "status", statuses, &status) < 0)
		return;
	email = bo_like_escape(req, email);
	name = bo_like_escape(req, name);
	res = b4_db_query(req->db,
			  USER_SELECT " WHERE (? IS NULL OR id < ?)"
				      " AND (? IS NULL OR email LIKE CONCAT('%', ?, '%'))"
				      " AND (? IS NULL OR full_name LIKE CONCAT('%', ?, '%'))"
				      " AND (? IS NULL OR status = ?)"
				      " ORDER BY id DESC LIMIT ?",
			  "ssssssssI", after, after, email, email, name, name, status, status,
			  limit + 1);
	if (!res) {
		b4_req_db_error(req);
		return;
	}
	bo_send_page(req, res, limit, user_cols);
}

/* Answers 200 with the user, or 404. */
static void send_user(struct b4_req *req, const char *id)
{
	cJSON *user;

	if (!b4_text_is_uuid(id)) {
		b4_req_not_found(req, "user");
		return;
	}
	user = bo_fetch_or_answer(req, USER_SELECT " WHERE id = ?", id, user_cols, "user");
	if (user)
		b4_req_send_json(req, 200, user);
}

void bo_users_get(struct b4_req *req)
{
	send_user(req, b4_req_param(req, "id"));
}

static void set_status(struct b4_req *req, const char *want, const char *action)
{
	struct bo_toggle t = {
	    .what = "user",
	    .id = b4_req_param(req, "id"),
	    .lock_sql = "SELECT status FROM users WHERE id = ? FOR UPDATE",
	    .want = want,
	    .action = action,
	};

	t.update_sql = strcmp(want, "blocked") == 0
			   ? "UPDATE users SET status = 'blocked' WHERE id = ?"
			   : "UPDATE users SET status = 'active' WHERE id = ?";
	if (bo_optional_reason(req, &t.reason) < 0)
		return;
	if (strcmp(want, "blocked") == 0 && t.id && strcmp(t.id, req->caller.user_id) == 0) {
		b4_req_errorf(req, 409, "conflict", "cannot_block_self", NULL,
			      "An admin cannot block their own account.");
		return;
	}
	if (bo_toggle_run(req, &t) < 0)
		return;
	send_user(req, t.id);
}

void bo_users_block(struct b4_req *req)
{
	set_status(req, "blocked", "user.block");
}

void bo_users_unblock(struct b4_req *req)
{
	set_status(req, "active", "user.unblock");
}
