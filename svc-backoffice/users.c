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

	/* a block also ends every panel session of the member at once
	 * (refresh tokens, svc-api/sessions.c); the access token they hold
	 * is refused on its next request by the per-request account check */
	t.update_sql = strcmp(want, "blocked") == 0
			   ? "UPDATE users u LEFT JOIN refresh_tokens r ON r.user_id = u.id"
			     " AND r.status <> 'revoked' SET u.status = 'blocked',"
			     " r.status = 'revoked' WHERE u.id = ?"
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

/* POST /v1/users/:id/role {role, reason?}: a member becomes admin or back.
 * The role rides in access tokens, so the change also ends the member's
 * panel sessions (refresh tokens): the next login carries the new role. */
void bo_users_role(struct b4_req *req)
{
	static const char *const allowed[] = {"role", "reason", NULL};
	static const char *const roles[] = {"member", "admin", NULL};
	struct bo_toggle t = {
	    .what = "user",
	    .id = b4_req_param(req, "id"),
	    .lock_sql = "SELECT role FROM users WHERE id = ? FOR UPDATE",
	    .action = "user.role",
	};
	const cJSON *body = b4_req_json_body(req);
	struct b4_error err;
	int role = -1;

	if (!body)
		return;
	if (b4_json_reject_unknown(body, allowed, NULL, &err) < 0 ||
	    b4_json_get_enum(body, "role", B4_JSON_REQUIRED, roles, &role, &err) < 0 ||
	    b4_json_get_str(body, "reason", B4_JSON_OPTIONAL, 1, 500, &t.reason, &err) < 0) {
		b4_req_send_error(req, &err);
		return;
	}
	t.want = roles[role];
	if (role == 0 && t.id && strcmp(t.id, req->caller.user_id) == 0) {
		b4_req_errorf(req, 409, "conflict", "cannot_demote_self", "role",
			      "An admin cannot remove their own admin role.");
		return;
	}
	t.update_sql = role == 1 ? "UPDATE users u LEFT JOIN refresh_tokens r ON r.user_id = u.id"
				   " AND r.status <> 'revoked' SET u.role = 'admin',"
				   " r.status = 'revoked' WHERE u.id = ?"
				 : "UPDATE users u LEFT JOIN refresh_tokens r ON r.user_id = u.id"
				   " AND r.status <> 'revoked' SET u.role = 'member',"
				   " r.status = 'revoked' WHERE u.id = ?";
	if (bo_toggle_run(req, &t) < 0)
		return;
	send_user(req, t.id);
}
