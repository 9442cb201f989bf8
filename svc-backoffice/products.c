/* products.c - /v1/products: every producer's products, block and unblock. */
#include "backoffice.h"

static const struct bo_col product_cols[] = {
    {"id", BO_STR},
    {"producer_id", BO_STR},
    {"producer_email", BO_STR},
    {"name", BO_STR},
    {"type", BO_STR},
    {"status", BO_STR},
    {"blocked", BO_BOOL},
    {"affiliate_enabled", BO_BOOL},
    {"created_at", BO_TIME},
    {"updated_at", BO_TIME},
    {NULL, BO_STR},
};
#define PRODUCT_SELECT                                                                             \
	"SELECT p.id, p.producer_id, u.email, p.name, p.type, p.status, p.blocked,"                \
	" p.affiliate_enabled, p.created_at, p.updated_at"                                         \
	" FROM products p JOIN users u ON u.id = p.producer_id"

void bo_products_list(struct b4_req *req)
{
	static const char *const statuses[] = {"draft", "active", "archived", NULL};
	static const char *const flags[] = {"true", "false", NULL};
	const char *after, *status, *producer_id, *blocked, *q;
	struct b4_db_result *res;
	int limit;

	if (b4_req_page(req, &limit, &after) < 0 ||
	    bo_query_enum(req, "status", statuses, &status) < 0 ||
	    bo_query_uuid(req, "producer_id", &producer_id) < 0 ||
	    bo_query_enum(req, "blocked", flags, &blocked) < 0 ||
	    bo_query_text(req, "q", 200, &q) < 0)
		return;
	q = bo_like_escape(req, q);
	res = b4_db_query(req->db,
			  PRODUCT_SELECT " WHERE (? IS NULL OR p.id < ?)"
					 " AND (? IS NULL OR p.status = ?)"
					 " AND (? IS NULL OR p.producer_id = ?)"
					 " AND (? IS NULL OR p.blocked = (? = 'true'))"
					 " AND (? IS NULL OR p.name LIKE CONCAT('%', ?, '%'))"
					 " ORDER BY p.id DESC LIMIT ?",
			  "ssssssssssI", after, after, status, status, producer_id, producer_id,
			  blocked, blocked, q, q, limit + 1);
	if (!res) {
		b4_req_db_error(req);
		return;
	}
	bo_send_page(req, res, limit, product_cols);
}

static void set_blocked(struct b4_req *req, bool block)
{
	struct bo_toggle t = {
	    .what = "product",
	    .id = b4_req_param(req, "id"),
	    .lock_sql = "SELECT blocked FROM products WHERE id = ? FOR UPDATE",
	    .update_sql = block ? "UPDATE products SET blocked = 1 WHERE id = ?"
				: "UPDATE products SET blocked = 0 WHERE id = ?",
	    .want = block ? "1" : "0",
	    .action = block ? "product.block" : "product.unblock",
	};
	cJSON *product;

	if (bo_optional_reason(req, &t.reason) < 0 || bo_toggle_run(req, &t) < 0)
		return;
	product = bo_fetch_or_answer(req, PRODUCT_SELECT " WHERE p.id = ?", t.id, product_cols,
				     "product");
	if (product)
		b4_req_send_json(req, 200, product);
}

void bo_products_block(struct b4_req *req)
{
	set_blocked(req, true);
}

void bo_products_unblock(struct b4_req *req)
{
	set_blocked(req, false);
}
