/* me.c - GET /v1/me: the caller's own profile. */
#include "api.h"
#include "b4/db.h"

void api_me(struct b4_req *req)
{
	struct b4_db_result *res;
	cJSON *user;

	res = b4_db_query(req->db,
			  "SELECT id, email, full_name, role, status, created_at FROM users WHERE id = ?",
			  "s", req->caller.user_id);
	if (!res) {
		b4_req_db_error(req);
		return;
	}
	if (b4_db_rows(res) == 0) {
		b4_db_result_free(res);
		b4_req_not_found(req, "user");
		return;
	}
	user = cJSON_CreateObject();
	cJSON_AddStringToObject(user, "id", b4_db_str(res, 0, 0));
	cJSON_AddStringToObject(user, "email", b4_db_str(res, 0, 1));
	cJSON_AddStringToObject(user, "full_name", b4_db_str(res, 0, 2));
	cJSON_AddStringToObject(user, "role", b4_db_str(res, 0, 3));
	cJSON_AddStringToObject(user, "status", b4_db_str(res, 0, 4));
	cJSON_AddStringToObject(user, "created_at", b4_db_str(res, 0, 5));
	b4_db_result_free(res);
	b4_req_send_json(req, 200, user);
}
