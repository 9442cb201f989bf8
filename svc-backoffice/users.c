/* users.c - GET /v1/users: search members (admin). */
#include "backoffice.h"
#include "b4/db.h"

void backoffice_users_list(struct b4_req *req);

void backoffice_users_list(struct b4_req *req)
{
	const char *after = NULL, *email = b4_req_query(req, "email");
	struct b4_db_result *res;
	cJSON *root, *data;
	int limit;
	size_t rows;

	if (b4_req_page(req, &limit, &after) < 0)
		return;
	res = b4_db_query(req->db,
			  "SELECT id, email, full_name, role, status, created_at FROM users"
			  " WHERE (? IS NULL OR id < ?) AND (? IS NULL OR email LIKE CONCAT('%', ?, '%'))"
			  " ORDER BY id DESC LIMIT ?",
			  "ssssI", after, after, email, email, limit + 1);
	if (!res) {
		b4_req_db_error(req);
		return;
	}
	rows = b4_db_rows(res);
	root = cJSON_CreateObject();
	data = cJSON_AddArrayToObject(root, "data");
	for (size_t i = 0; i < rows && i < (size_t)limit; i++) {
		cJSON *u = cJSON_CreateObject();
		cJSON_AddStringToObject(u, "id", b4_db_str(res, i, 0));
		cJSON_AddStringToObject(u, "email", b4_db_str(res, i, 1));
		cJSON_AddStringToObject(u, "full_name", b4_db_str(res, i, 2));
		cJSON_AddStringToObject(u, "role", b4_db_str(res, i, 3));
		cJSON_AddStringToObject(u, "status", b4_db_str(res, i, 4));
		cJSON_AddStringToObject(u, "created_at", b4_db_str(res, i, 5));
		cJSON_AddItemToArray(data, u);
	}
	cJSON_AddBoolToObject(root, "has_more", rows > (size_t)limit);
	b4_db_result_free(res);
	b4_req_send_json(req, 200, root);
}
