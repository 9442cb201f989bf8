/* jobs.c - typed enqueue of every job the money domain produces, and the
 * one place a webhook.event payload of an order is built; see b4/jobs.h. */
#include "b4/jobs.h"
#include "b4/db.h"
#include "b4/orders.h"
#include "b4/queue.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *type, *dedup_prefix;
} order_jobs[] = {
    {B4_JOB_INVOICE_ISSUE, "invoice"},	       {B4_JOB_INVOICE_CANCEL, "invoice-cancel"},
    {B4_JOB_COMMISSION_RELEASE, "commission"}, {B4_JOB_ORDER_EXPIRE, "expire"},
    {B4_JOB_LATE_REFUND, "late-refund"},
};

/* The payload and dedup key of an order job of type; -1 for an unknown
 * type. */
static int order_job(const char *type, const char *order_id, char payload[96], char dedup[96])
{
	for (size_t i = 0; i < sizeof(order_jobs) / sizeof(order_jobs[0]); i++) {
		if (strcmp(order_jobs[i].type, type) != 0)
			continue;
		snprintf(payload, 96, "{\"order_id\":\"%s\"}", order_id);
		snprintf(dedup, 96, "%s:%s", order_jobs[i].dedup_prefix, order_id);
		return 0;
	}
	return -1;
}

int b4_job_order(struct b4_db *db, const char *type, const char *order_id, int64_t delay_seconds)
{
	char payload[96], dedup[96];

	if (order_job(type, order_id, payload, dedup) < 0)
		return -1;
	return b4_queue_enqueue(db, type, payload, dedup, delay_seconds) < 0 ? -1 : 0;
}

int b4_job_order_into(struct b4_queue_batch *batch, const char *type, const char *order_id,
		      int64_t delay_seconds)
{
	char payload[96], dedup[96];

	if (order_job(type, order_id, payload, dedup) < 0) {
		batch->failed = true;
		return -1;
	}
	return b4_queue_batch_add(batch, type, payload, dedup, delay_seconds);
}

int b4_job_refund_process(struct b4_db *db, const char *refund_id, const char *order_id,
			  int64_t amount_cents, const char *requested_by)
{
	cJSON *payload = cJSON_CreateObject();
	char *text = NULL, dedup[96];
	int rc = -1;

	if (!payload || !cJSON_AddStringToObject(payload, "refund_id", refund_id) ||
	    !cJSON_AddStringToObject(payload, "order_id", order_id) ||
	    !cJSON_AddNumberToObject(payload, "amount_cents", (double)amount_cents) ||
	    !(requested_by ? cJSON_AddStringToObject(payload, "requested_by", requested_by)
			   : cJSON_AddNullToObject(payload, "requested_by")))
		goto out_free;
	text = cJSON_PrintUnformatted(payload);
	snprintf(dedup, sizeof(dedup), "refund:%s", refund_id);
	if (text)
		rc = b4_queue_enqueue(db, B4_JOB_REFUND_PROCESS, text, dedup, 0) < 0 ? -1 : 0;
out_free:
	cJSON_free(text);
	cJSON_Delete(payload);
	return rc;
}

int b4_job_report_export(struct b4_db *db, const char *report_id, const char *filters_json)
{
	cJSON *payload = cJSON_CreateObject(), *filters = cJSON_Parse(filters_json);
	char *text = NULL, dedup[96];
	int rc = -1;

	if (!payload || !cJSON_IsObject(filters) ||
	    !cJSON_AddStringToObject(payload, "report_id", report_id))
		goto out_free;
	cJSON_AddItemToObject(payload, "filters", filters);
	filters = NULL;
	text = cJSON_PrintUnformatted(payload);
	snprintf(dedup, sizeof(dedup), "report:%s", report_id);
	if (text)
		rc = b4_queue_enqueue(db, B4_JOB_REPORT_EXPORT, text, dedup, 0) < 0 ? -1 : 0;
out_free:
	cJSON_free(text);
	cJSON_Delete(filters);
	cJSON_Delete(payload);
	return rc;
}

/* Adds data (consumed) for one recipient to batch. */
static int enqueue_for(struct b4_queue_batch *batch, const char *event, const char *recipient,
		       const char *product_id, cJSON *data, const char *dedup_key)
{
	char *text = data ? cJSON_PrintUnformatted(data) : NULL;
	int rc = -1;

	if (text)
		rc = b4_queue_batch_webhook_event(batch, event, recipient, NULL, product_id, text,
						  dedup_key);
	if (text) /* may carry the buyer's data */
		memset(text, 0, strlen(text));
	cJSON_free(text);
	cJSON_Delete(data);
	return rc;
}

/* What an affiliate or co-producer sees of the order (view): its own
 * part. */
static cJSON *partner_data(const cJSON *view, const char *product_id, const char *product_name,
			   const char *role, int64_t amount_cents)
{
	static const char *const copied[] = {"id", "status", "payment_method"};
	cJSON *data = cJSON_CreateObject(), *product;

	for (size_t k = 0; k < sizeof(copied) / sizeof(copied[0]); k++)
		cJSON_AddItemToObject(
		    data, copied[k],
		    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(view, copied[k]), true));
	cJSON_AddStringToObject(data, "role", role);
	cJSON_AddNumberToObject(data, "amount_cents", (double)amount_cents);
	cJSON_AddStringToObject(data, "currency", "BRL");
	product = cJSON_AddObjectToObject(data, "product");
	cJSON_AddStringToObject(product, "id", product_id);
	cJSON_AddStringToObject(product, "name", product_name);
	cJSON_AddItemToObject(
	    data, "created_at",
	    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(view, "created_at"), true));
	cJSON_AddItemToObject(
	    data, "paid_at",
	    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(view, "paid_at"), true));
	return data;
}

/* The columns after the order view in the event's query. */
enum { EV_BUYER = B4_ORDER_VIEW_NCOLS, EV_PRODUCER = EV_BUYER + 5, EV_PRODUCT_NAME, EV_PARTS };

/* True when every item of parts is [party, user, amount]. */
static bool parts_are_valid(const cJSON *parts)
{
	const cJSON *p;

	if (!cJSON_IsArray(parts))
		return false;
	cJSON_ArrayForEach(p, parts)
	{
		if (cJSON_GetArraySize(p) != 3 || !cJSON_IsString(cJSON_GetArrayItem(p, 0)) ||
		    !cJSON_IsString(cJSON_GetArrayItem(p, 1)) ||
		    !cJSON_IsNumber(cJSON_GetArrayItem(p, 2)))
			return false;
	}
	return true;
}

/* One job per partner: parts (valid) is [[party, user, amount], ...]
 * ordered by user and party, a partner's splits summed. */
static int enqueue_partners(struct b4_queue_batch *batch, const char *event, const cJSON *view,
			    const char *product_id, const char *product_name, const cJSON *parts,
			    const char *dedup_key)
{
	char partner_dedup[200];
	int n = cJSON_GetArraySize(parts);

	for (int k = 0; k < n;) {
		const cJSON *p = cJSON_GetArrayItem(parts, k);
		const char *party = cJSON_GetArrayItem(p, 0)->valuestring;
		const char *user = cJSON_GetArrayItem(p, 1)->valuestring;
		int64_t amount = 0;

		for (; k < n; k++) {
			const cJSON *q = cJSON_GetArrayItem(parts, k);
			if (strcmp(cJSON_GetArrayItem(q, 0)->valuestring, party) != 0 ||
			    strcmp(cJSON_GetArrayItem(q, 1)->valuestring, user) != 0)
				break;
			amount += (int64_t)cJSON_GetArrayItem(q, 2)->valuedouble;
		}
		snprintf(partner_dedup, sizeof(partner_dedup), "%s:%s", dedup_key, user);
		if (enqueue_for(batch, event, user, product_id,
				partner_data(view, product_id, product_name, party, amount),
				partner_dedup) < 0)
			return -1;
	}
	return 0;
}

/* An order event's dedup key: dedup_key, or "<event>:<order id>" written
 * into buf. */
static const char *order_dedup(const char *event, const char *order_id, const char *dedup_key,
			       char buf[160])
{
	if (dedup_key)
		return dedup_key;
	snprintf(buf, 160, "%s:%s", event, order_id);
	return buf;
}

/* The event's jobs: the producer's (the view and buyer, consumed) and one
 * per partner. */
static int enqueue_event(struct b4_queue_batch *batch, const char *event, const cJSON *view,
			 cJSON *buyer, const char *producer_id, const char *product_id,
			 const char *product_name, const cJSON *parts, const char *dedup_key)
{
	cJSON *data = cJSON_Duplicate(view, true);

	cJSON_AddItemToObject(data, "customer", buyer);
	if (enqueue_for(batch, event, producer_id, product_id, data, dedup_key) < 0)
		return -1;
	return enqueue_partners(batch, event, view, product_id, product_name, parts, dedup_key);
}

int b4_job_order_event_into(struct b4_db *db, struct b4_queue_batch *batch, const char *event,
			    const char *order_id, const char *dedup_key, cJSON **view_out)
{
	struct b4_db_result *order;
	char dedup[160];
	cJSON *view = NULL, *buyer, *parts = NULL;
	int rc = -1;

	if (view_out)
		*view_out = NULL;
	dedup_key = order_dedup(event, order_id, dedup_key, dedup);
	/* one read: the view, the buyer, the partners' parts */
	order = b4_db_query(
	    db,
	    "SELECT " B4_ORDER_VIEW_COLS ", " B4_ORDER_BUYER_COLS ", o.producer_id, p.name,"
	    " (SELECT JSON_ARRAYAGG(JSON_ARRAY(s.party, s.user_id,"
	    "  s.amount_cents - s.reversed_cents) ORDER BY s.user_id, s.party) FROM splits s"
	    "  WHERE s.order_id = o.id AND s.party IN ('affiliate', 'coproducer')"
	    "  AND s.user_id IS NOT NULL)" B4_ORDER_VIEW_FROM
	    " JOIN products p ON p.id = o.product_id JOIN customers c ON c.id = o.customer_id"
	    " WHERE o.id = ?",
	    "s", order_id);
	if (!order || b4_db_rows(order) == 0)
		goto out_free;
	parts = b4_db_is_null(order, 0, EV_PARTS) ? cJSON_CreateArray()
						  : cJSON_Parse(b4_db_str(order, 0, EV_PARTS));
	view = b4_order_view_from_row(order, NULL);
	/* the producer: the order and its buyer */
	buyer = view && parts_are_valid(parts) ? b4_order_buyer_json(order, 0, EV_BUYER) : NULL;
	if (!buyer || enqueue_event(batch, event, view, buyer, b4_db_str(order, 0, EV_PRODUCER),
				    b4_db_str(order, 0, B4_ORDER_VIEW_PRODUCT_COL),
				    b4_db_str(order, 0, EV_PRODUCT_NAME), parts, dedup_key) < 0)
		goto out_free;
	rc = 0;
	if (view_out) {
		*view_out = view;
		view = NULL;
	}
out_free:
	cJSON_Delete(parts);
	cJSON_Delete(view);
	b4_db_result_free(order);
	return rc;
}

/* splits.party's ENUM order, as the event's query sorts it. */
static int party_rank(const char *party)
{
	static const char *const parties[] = {"platform", "producer", "coproducer", "affiliate"};

	for (int k = 0; k < 4; k++)
		if (!strcmp(party, parties[k]))
			return k;
	return 4;
}

static int part_cmp(const void *a, const void *b)
{
	const struct b4_order_known_part *x = *(const struct b4_order_known_part *const *)a,
					 *y = *(const struct b4_order_known_part *const *)b;
	int c = strcmp(x->user_id, y->user_id);

	return c ? c : party_rank(x->party) - party_rank(y->party);
}

int b4_job_order_event_known_into(struct b4_queue_batch *batch, const char *event,
				  const struct b4_order_known *k, const cJSON *view,
				  const char *dedup_key)
{
	const struct b4_order_known_part *sorted[B4_MONEY_MAX_SPLIT_PARTS];
	cJSON *parts = cJSON_CreateArray(), *buyer;
	char dedup[160];
	int rc;

	dedup_key = order_dedup(event, k->order_id, dedup_key, dedup);
	/* as the event's query gives them: by user, then party */
	for (size_t i = 0; i < k->nparts; i++)
		sorted[i] = &k->parts[i];
	qsort(sorted, k->nparts, sizeof(sorted[0]), part_cmp);
	for (size_t i = 0; i < k->nparts; i++) {
		cJSON *p = cJSON_CreateArray();
		cJSON_AddItemToArray(p, cJSON_CreateString(sorted[i]->party));
		cJSON_AddItemToArray(p, cJSON_CreateString(sorted[i]->user_id));
		cJSON_AddItemToArray(p, cJSON_CreateNumber((double)sorted[i]->amount_cents));
		cJSON_AddItemToArray(parts, p);
	}
	buyer =
	    b4_order_buyer(k->buyer_name, k->buyer_email, k->buyer_phone[0] ? k->buyer_phone : NULL,
			   k->buyer_document, k->buyer_document_type);
	rc = enqueue_event(batch, event, view, buyer, k->producer_id, k->product_id,
			   k->product_name, parts, dedup_key);
	cJSON_Delete(parts);
	return rc;
}

int b4_job_order_event_view(struct b4_db *db, const char *event, const char *order_id,
			    const char *dedup_key, cJSON **view)
{
	struct b4_queue_batch batch;

	b4_queue_batch_init(&batch);
	if (b4_job_order_event_into(db, &batch, event, order_id, dedup_key, view) < 0) {
		b4_queue_batch_cleanup(&batch);
		return -1;
	}
	if (b4_queue_flush(db, &batch) == 0)
		return 0;
	if (view) {
		cJSON_Delete(*view);
		*view = NULL;
	}
	return -1;
}

int b4_job_order_event(struct b4_db *db, const char *event, const char *order_id,
		       const char *dedup_key)
{
	return b4_job_order_event_view(db, event, order_id, dedup_key, NULL);
}

/* ---- abandoned-cart ------------------------------------------------------- */

/* Columns of the session query below. */
enum {
	AC_SESSION,
	AC_EMAIL,
	AC_NAME,
	AC_OFFER_CODE,
	AC_OFFER_NAME,
	AC_PRICE,
	AC_PRODUCT_ID,
	AC_PRODUCT_NAME,
	AC_PRODUCER,
	AC_AFFILIATE,
	AC_AFFILIATE_BPS,
	AC_UTM_SOURCE,
	AC_UTM_MEDIUM,
	AC_UTM_CAMPAIGN,
	AC_CREATED_AT,
};

static void add_str_or_null(cJSON *obj, const char *name, const struct b4_db_result *res,
			    size_t col)
{
	if (b4_db_is_null(res, 0, col))
		cJSON_AddNullToObject(obj, name);
	else
		cJSON_AddStringToObject(obj, name, b4_db_str(res, 0, col));
}

static void add_product(cJSON *data, const struct b4_db_result *s)
{
	cJSON *product = cJSON_AddObjectToObject(data, "product");

	cJSON_AddStringToObject(product, "id", b4_db_str(s, 0, AC_PRODUCT_ID));
	cJSON_AddStringToObject(product, "name", b4_db_str(s, 0, AC_PRODUCT_NAME));
}

/* What the producer sees: the lead and the cart. */
static cJSON *abandoned_producer_data(const struct b4_db_result *s)
{
	cJSON *data = cJSON_CreateObject();
	cJSON *lead = cJSON_AddObjectToObject(data, "lead");
	cJSON *cart = cJSON_AddObjectToObject(data, "cart");

	if (!lead || !cart) {
		cJSON_Delete(data);
		return NULL;
	}
	cJSON_AddStringToObject(lead, "email", b4_db_str(s, 0, AC_EMAIL));
	add_str_or_null(lead, "full_name", s, AC_NAME);
	cJSON_AddStringToObject(cart, "session_id", b4_db_str(s, 0, AC_SESSION));
	cJSON_AddStringToObject(cart, "offer_code", b4_db_str(s, 0, AC_OFFER_CODE));
	cJSON_AddStringToObject(cart, "offer_name", b4_db_str(s, 0, AC_OFFER_NAME));
	cJSON_AddNumberToObject(cart, "price_cents", (double)b4_db_i64(s, 0, AC_PRICE));
	cJSON_AddStringToObject(cart, "currency", "BRL");
	add_product(cart, s);
	add_str_or_null(cart, "affiliate_id", s, AC_AFFILIATE);
	add_str_or_null(cart, "utm_source", s, AC_UTM_SOURCE);
	add_str_or_null(cart, "utm_medium", s, AC_UTM_MEDIUM);
	add_str_or_null(cart, "utm_campaign", s, AC_UTM_CAMPAIGN);
	cJSON_AddStringToObject(cart, "created_at", b4_db_str(s, 0, AC_CREATED_AT));
	return data;
}

/* What an affiliate or co-producer sees: the product, its role and share. */
static cJSON *abandoned_partner_data(const struct b4_db_result *s, const char *role,
				     int64_t commission_bps)
{
	cJSON *data = cJSON_CreateObject();

	cJSON_AddStringToObject(data, "role", role);
	add_product(data, s);
	cJSON_AddNumberToObject(data, "commission_bps", (double)commission_bps);
	return data;
}

static int enqueue_abandoned_partner(struct b4_queue_batch *batch, const struct b4_db_result *s,
				     const char *user_id, const char *role, int64_t commission_bps)
{
	char dedup[160];

	snprintf(dedup, sizeof(dedup), "abandoned-cart:%s:%s", b4_db_str(s, 0, AC_SESSION),
		 user_id);
	return enqueue_for(batch, "abandoned-cart", user_id, b4_db_str(s, 0, AC_PRODUCT_ID),
			   abandoned_partner_data(s, role, commission_bps), dedup);
}

int b4_job_abandoned_cart(struct b4_db *db, const char *session_id)
{
	struct b4_db_result *s, *cops = NULL;
	struct b4_queue_batch batch;
	char dedup[96];
	int rc = -1;

	b4_queue_batch_init(&batch);
	s = b4_db_query(
	    db,
	    "SELECT s.id, s.email,"
	    " (SELECT x.buyer_name FROM orders x WHERE x.session_id = s.id OR x.id = s.order_id"
	    "  ORDER BY x.created_at DESC LIMIT 1),"
	    " o.code, o.name, o.price_cents, p.id, p.name, p.producer_id,"
	    " IF(af.status = 'approved' AND af.product_id = p.id, af.affiliate_id, NULL),"
	    " COALESCE(af.commission_bps, p.affiliate_commission_bps),"
	    " s.utm_source, s.utm_medium, s.utm_campaign, " B4_ORDER_TS(
		"s.created_at") " FROM checkout_sessions s JOIN offers o ON o.id = s.offer_id"
				" JOIN products p ON p.id = o.product_id"
				" LEFT JOIN affiliations af ON af.id = s.affiliation_id WHERE s.id "
				"= ?",
	    "s", session_id);
	if (!s)
		return -1;
	if (b4_db_rows(s) == 0 || b4_db_is_null(s, 0, AC_EMAIL)) {
		rc = 0;
		goto out_free;
	}
	snprintf(dedup, sizeof(dedup), "abandoned-cart:%s", session_id);
	if (enqueue_for(&batch, "abandoned-cart", b4_db_str(s, 0, AC_PRODUCER),
			b4_db_str(s, 0, AC_PRODUCT_ID), abandoned_producer_data(s), dedup) < 0)
		goto out_free;
	if (!b4_db_is_null(s, 0, AC_AFFILIATE) &&
	    enqueue_abandoned_partner(&batch, s, b4_db_str(s, 0, AC_AFFILIATE), "affiliate",
				      b4_db_i64(s, 0, AC_AFFILIATE_BPS)) < 0)
		goto out_free;
	cops = b4_db_query(db, B4_ORDER_COPRODUCERS_READ, "s", b4_db_str(s, 0, AC_PRODUCT_ID));
	if (!cops)
		goto out_free;
	for (size_t r = 0; r < b4_db_rows(cops); r++)
		if (enqueue_abandoned_partner(&batch, s, b4_db_str(cops, r, 0), "coproducer",
					      b4_db_i64(cops, r, 1)) < 0)
			goto out_free;
	rc = b4_queue_flush(db, &batch);
out_free:
	b4_queue_batch_cleanup(&batch);
	b4_db_result_free(cops);
	b4_db_result_free(s);
	return rc;
}
