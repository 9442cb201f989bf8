/* order_create.c - writing a new order, its charge and its splits; see
 * b4/orders.h (b4_order_create). */
#include "b4/crypto.h"
#include "b4/db.h"
#include "b4/jobs.h"
#include "b4/money.h"
#include "b4/orders.h"
#include "b4/pii.h"
#include "b4/sales_agg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *opt(const char *s)
{
	return s && s[0] ? s : NULL;
}

/* The buyer's document and phone, encrypted once for the customer row and
 * the order's snapshot. */
struct sealed_buyer {
	char *document_enc;
	char *phone_enc; /* NULL without a phone */
};

static int seal_buyer(const struct b4_order_new *n, struct sealed_buyer *b)
{
	b->document_enc = b4_pii_encrypt("customers.document_enc", n->document);
	b->phone_enc = opt(n->phone) ? b4_pii_encrypt("customers.phone_enc", n->phone) : NULL;
	return b->document_enc && (!opt(n->phone) || b->phone_enc) ? 0 : -1;
}

/* The customer row (one per document): created, or brought up to date. */
static int upsert_customer(struct b4_db *db, struct b4_order_new *n, const struct sealed_buyer *b)
{
	struct b4_db_result *res;
	char id[37];
	int rc = -1;

	int64_t affected;

	if (b4_crypto_uuid7(id) < 0)
		return -1;
	affected = b4_db_exec(
	    db,
	    "INSERT INTO customers (id, email, full_name, document_enc, document_bidx,"
	    " document_type, phone_enc) VALUES (?, ?, ?, ?, ?, ?, ?)"
	    " ON DUPLICATE KEY UPDATE email = VALUES(email), full_name = VALUES(full_name),"
	    " phone_enc = COALESCE(VALUES(phone_enc), phone_enc)",
	    "sssssss", id, n->email, n->full_name, b->document_enc, n->document_bidx,
	    n->document_is_cpf ? "cpf" : "cnpj", b->phone_enc);
	if (affected < 0)
		return -1;
	if (affected == 1) { /* inserted: a new buyer has the new id */
		snprintf(n->customer_id, sizeof(n->customer_id), "%s", id);
		return 0;
	}
	/* 2 updated, 0 unchanged: the buyer's existing row */
	res = b4_db_query(db, "SELECT id FROM customers WHERE document_bidx = ?", "s",
			  n->document_bidx);
	if (!res)
		return -1;
	if (b4_db_rows(res) == 1) {
		snprintf(n->customer_id, sizeof(n->customer_id), "%s", b4_db_str(res, 0, 0));
		rc = 0;
	}
	b4_db_result_free(res);
	return rc;
}

/* Inserts a row keyed by a new UUIDv7 (written into id): sql binds (id,
 * order_id, a, b, cents). */
static int insert_with_id(struct b4_db *db, const char *sql, char id[37], const char *order_id,
			  const char *a, const char *b, int64_t cents)
{
	if (b4_crypto_uuid7(id) < 0)
		return -1;
	return b4_db_exec(db, sql, "ssssi", id, order_id, a, b, cents) < 0 ? -1 : 0;
}

/* The order row with its buyer snapshot; created gets its created_at (UTC,
 * to the minute), which the sales aggregates' days come from.  A second
 * live upsell of one parent order hits uq_orders_live_upsell. */
static int insert_order(struct b4_db *db, const struct b4_order_new *n,
			const struct sealed_buyer *b, char created[17],
			enum b4_order_refusal *refusal)
{
	const char *parent = opt(n->parent_order_id);
	struct b4_db_result *res = b4_db_query(
	    db,
	    "INSERT INTO orders (id, customer_id, buyer_name, buyer_email, buyer_phone_enc,"
	    " buyer_document_enc, buyer_document_type, offer_id, product_id, producer_id,"
	    " affiliation_id, affiliate_id, coupon_id, session_id, parent_order_id,"
	    " live_upsell_parent, status, payment_method, installments, subtotal_cents,"
	    " discount_cents, interest_cents, total_cents, access_token_hash, fraud_score,"
	    " fraud_reasons, client_ip) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
	    " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	    " RETURNING DATE_FORMAT(created_at, '%Y-%m-%d %H:%i')",
	    "ssssssssssssssssssIiiiisIss", n->order_id, n->customer_id, n->full_name, n->email,
	    b->phone_enc, b->document_enc, n->document_is_cpf ? "cpf" : "cnpj", n->offer_id,
	    n->product_id, n->producer_id, opt(n->affiliation_id), opt(n->affiliate_id),
	    opt(n->coupon_id), opt(n->session_id), parent, n->refuse ? NULL : parent,
	    n->refuse ? "refused" : "waiting_payment", n->method, n->installments,
	    n->subtotal_cents, n->discount_cents, n->interest_cents, n->total_cents,
	    n->access_token_hash, n->fraud_score, n->fraud_reasons, n->client_ip);

	if (res) {
		snprintf(created, 17, "%s", b4_db_rows(res) == 1 ? b4_db_str(res, 0, 0) : "");
		b4_db_result_free(res);
		return 0;
	}
	if (parent && b4_db_is_duplicate(db))
		*refusal = B4_ORDER_UPSELL_TAKEN;
	return -1;
}

/* The coupon's use, unless the order is refused at once. */
static int take_coupon(struct b4_db *db, const struct b4_order_new *n,
		       enum b4_order_refusal *refusal)
{
	int taken;

	if (!opt(n->coupon_id) || n->refuse)
		return 0;
	taken = b4_order_coupon_take(db, n->coupon_id, n->coupon_once, n->order_id,
				     n->document_bidx, n->email);
	if (taken == 1)
		return 0;
	if (taken == 0)
		*refusal = B4_ORDER_COUPON_USED_UP;
	else if (taken == 2)
		*refusal = B4_ORDER_COUPON_ALREADY_USED;
	return -1;
}

static int insert_charge(struct b4_db *db, const struct b4_order_new *n)
{
	return b4_db_exec(
		   db,
		   "INSERT INTO charges (id, order_id, acquirer, method, status, amount_cents,"
		   " installments, card_brand, card_bin, card_last4, card_fingerprint, card_token)"
		   " VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?)",
		   "ssssiIsssss", n->charge_id, n->order_id,
		   opt(n->card_acquirer) ? n->card_acquirer : n->acquirer, n->method,
		   n->total_cents, n->installments, opt(n->card_brand), opt(n->card_bin),
		   opt(n->card_last4), opt(n->card_fingerprint), opt(n->card_token)) < 0
		   ? -1
		   : 0;
}

static const char *party_name(enum b4_split_role role)
{
	switch (role) {
	case B4_SPLIT_PLATFORM:
		return "platform";
	case B4_SPLIT_AFFILIATE:
		return "affiliate";
	case B4_SPLIT_COPRODUCER:
		return "coproducer";
	case B4_SPLIT_PRODUCER:
		break;
	}
	return "producer";
}

/* ---- the order's sales contribution, as written (b4/sales_agg.h) ------ */

/* Adds amount to member user of c (made on first sight; the producer and
 * the affiliate first, as the aggregates name roles).  0, or -1 when full. */
static int contrib_add(struct b4_sales_contrib *c, const struct b4_order_new *n, const char *user,
		       int64_t amount)
{
	struct b4_sales_member *m = NULL;

	for (size_t k = 0; k < c->n && !m; k++)
		if (!strcmp(c->m[k].id, user))
			m = &c->m[k];
	if (!m) {
		if (c->n == B4_SALES_MAX_MEMBERS)
			return -1;
		m = &c->m[c->n++];
		snprintf(m->id, sizeof(m->id), "%s", user);
		m->role = !strcmp(user, n->producer_id)				   ? "producer"
			  : opt(n->affiliate_id) && !strcmp(user, n->affiliate_id) ? "affiliate"
										   : "coproducer";
		m->gross_cents = m->amount_cents = 0;
	}
	m->amount_cents += amount;
	return 0;
}

/* The contribution before any split: the producer and the affiliate. */
static void contrib_start(struct b4_sales_contrib *c, const struct b4_order_new *n)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->product_id, sizeof(c->product_id), "%s", n->product_id);
	snprintf(c->affiliate_id, sizeof(c->affiliate_id), "%s",
		 opt(n->affiliate_id) ? n->affiliate_id : "");
	snprintf(c->method, sizeof(c->method), "%s", n->method);
	contrib_add(c, n, n->producer_id, 0);
	if (opt(n->affiliate_id))
		contrib_add(c, n, n->affiliate_id, 0);
}

/* Gross: the order's total for the producer, a partner's own splits. */
static void contrib_finish(struct b4_sales_contrib *c, const struct b4_order_new *n)
{
	for (size_t k = 0; k < c->n; k++)
		c->m[k].gross_cents =
		    !strcmp(c->m[k].role, "producer") ? n->total_cents : c->m[k].amount_cents;
}

/* ---- the order's view and event, as written (b4_order_known) ---------- */

/* A partner's split, for its approved-payment event. */
static void known_part(struct b4_order_known *k, const char *party, const char *user,
		       int64_t amount_cents)
{
	struct b4_order_known_part *p = &k->parts[k->nparts++];

	snprintf(p->party, sizeof(p->party), "%s", party);
	snprintf(p->user_id, sizeof(p->user_id), "%s", user);
	p->amount_cents = amount_cents;
}

/* An item's rank in the view (order_items.type's ENUM order). */
static int item_rank(const char *type)
{
	return !strcmp(type, "main") ? 0 : !strcmp(type, "order_bump") ? 1 : 2;
}

/* The items in the view's order, by type then id (ids[k] is item k's). */
static void known_items(struct b4_order_known *k, const struct b4_order_new *n, char ids[][37])
{
	size_t order[B4_ORDER_MAX_ITEMS];

	for (size_t a = 0; a < n->nitems; a++) {
		size_t b = a;
		for (; b > 0; b--) {
			const struct b4_order_item_new *x = &n->items[order[b - 1]],
						       *y = &n->items[a];
			int c = item_rank(x->type) - item_rank(y->type);
			if (c < 0 || (c == 0 && strcmp(ids[order[b - 1]], ids[a]) < 0))
				break;
			order[b] = order[b - 1];
		}
		order[b] = a;
	}
	for (size_t a = 0; a < n->nitems; a++) {
		const struct b4_order_item_new *it = &n->items[order[a]];
		struct b4_order_known_item *out = &k->items[a];
		snprintf(out->offer_code, sizeof(out->offer_code), "%s", it->offer_code);
		snprintf(out->name, sizeof(out->name), "%s", it->name);
		snprintf(out->type, sizeof(out->type), "%s", it->type);
		out->price_cents = it->price_cents;
	}
	k->nitems = n->nitems;
}

/* What the view and the approved-payment event show of n (b4_orders.h,
 * struct b4_order_known), when n carries all of it. */
static void known_view(struct b4_order_new *n, char ids[][37])
{
	struct b4_order_known *k = &n->known;

	k->view_known = false;
	if (n->refuse || !n->product_name || n->nitems == 0)
		return;
	for (size_t a = 0; a < n->nitems; a++)
		if (!n->items[a].offer_code || !n->items[a].name)
			return;
	snprintf(k->order_id, sizeof(k->order_id), "%s", n->order_id);
	snprintf(k->charge_id, sizeof(k->charge_id), "%s", n->charge_id);
	snprintf(k->method, sizeof(k->method), "%s", n->method);
	/* the order's offer is its first item's (the main offer or upsell) */
	snprintf(k->offer_code, sizeof(k->offer_code), "%s", n->items[0].offer_code);
	snprintf(k->parent_order_id, sizeof(k->parent_order_id), "%s",
		 opt(n->parent_order_id) ? n->parent_order_id : "");
	snprintf(k->product_id, sizeof(k->product_id), "%s", n->product_id);
	snprintf(k->producer_id, sizeof(k->producer_id), "%s", n->producer_id);
	snprintf(k->product_name, sizeof(k->product_name), "%s", n->product_name);
	k->installments = n->installments;
	k->subtotal_cents = n->subtotal_cents;
	k->discount_cents = n->discount_cents;
	k->interest_cents = n->interest_cents;
	k->total_cents = n->total_cents;
	known_items(k, n, ids);
	snprintf(k->buyer_name, sizeof(k->buyer_name), "%s", n->full_name);
	snprintf(k->buyer_email, sizeof(k->buyer_email), "%s", n->email);
	snprintf(k->buyer_phone, sizeof(k->buyer_phone), "%s", opt(n->phone) ? n->phone : "");
	b4_document_mask(n->document, k->buyer_document);
	snprintf(k->buyer_document_type, sizeof(k->buyer_document_type), "%s",
		 n->document_is_cpf ? "cpf" : "cnpj");
	k->view_known = true;
}

/* The product's active co-producers in split order into out: as the
 * caller read them with the offer, or read now.  Returns how many, or -1. */
static int coproducers(struct b4_db *db, const struct b4_order_new *n,
		       struct b4_order_coproducer out[B4_MONEY_MAX_COPRODUCERS])
{
	struct b4_db_result *res;
	size_t count;

	if (n->partners && n->partners->known) {
		memcpy(out, n->partners->coproducers, n->partners->ncoproducers * sizeof(*out));
		return (int)n->partners->ncoproducers;
	}
	res = b4_db_query(db, B4_ORDER_COPRODUCERS_READ, "s", n->product_id);
	if (!res)
		return -1;
	count = b4_db_rows(res);
	if (count > B4_MONEY_MAX_COPRODUCERS)
		count = B4_MONEY_MAX_COPRODUCERS;
	for (size_t k = 0; k < count; k++) {
		snprintf(out[k].user_id, sizeof(out[k].user_id), "%s", b4_db_str(res, k, 0));
		out[k].share_bps = (int)b4_db_i64(res, k, 1);
		out[k].utc_offset[0] = '\0';
	}
	b4_db_result_free(res);
	return (int)count;
}

/* Splits the price after discounts: platform -> affiliate -> co-producers
 * -> producer.  Installment interest is not commissionable: it goes to the
 * platform's line, which carries the financing cost. */
static int write_splits(struct b4_db *db, struct b4_order_new *n, enum b4_order_refusal *refusal)
{
	struct b4_split_part parts[B4_MONEY_MAX_SPLIT_PARTS];
	char ids[B4_MONEY_MAX_SPLIT_PARTS][37], cents[B4_MONEY_MAX_SPLIT_PARTS][24];
	const char *values[5 * B4_MONEY_MAX_SPLIT_PARTS];
	struct b4_order_coproducer cops[B4_MONEY_MAX_COPRODUCERS];
	int cop_bp[B4_MONEY_MAX_COPRODUCERS];
	struct b4_split_config cfg;
	size_t nparts = 0;
	int ncops = coproducers(db, n, cops);

	if (ncops < 0)
		return -1;
	for (int k = 0; k < ncops; k++)
		cop_bp[k] = cops[k].share_bps;
	memset(&cfg, 0, sizeof(cfg));
	cfg.platform_fee_bp = n->platform_fee_bp;
	cfg.platform_fixed_cents = n->platform_fee_cents;
	cfg.has_affiliate = opt(n->affiliate_id) != NULL;
	cfg.affiliate_bp = n->affiliate_bps;
	cfg.coproducer_bp = cop_bp;
	cfg.coproducer_count = (size_t)ncops;
	if (b4_money_split(n->total_cents - n->interest_cents, &cfg, parts,
			   B4_MONEY_MAX_SPLIT_PARTS, &nparts) < 0 ||
	    parts[0].role != B4_SPLIT_PLATFORM ||
	    b4_money_add(parts[0].amount_cents, n->interest_cents, &parts[0].amount_cents) < 0) {
		*refusal = B4_ORDER_AMOUNT_TOO_SMALL;
		return -1;
	}
	for (size_t k = 0; k < nparts; k++) {
		const char *user = n->producer_id;
		if (parts[k].role == B4_SPLIT_PLATFORM)
			user = NULL;
		else if (parts[k].role == B4_SPLIT_AFFILIATE)
			user = n->affiliate_id;
		else if (parts[k].role == B4_SPLIT_COPRODUCER)
			user = cops[parts[k].party].user_id;
		if (b4_crypto_uuid7(ids[k]) < 0)
			return -1;
		snprintf(cents[k], sizeof(cents[k]), "%lld", (long long)parts[k].amount_cents);
		values[5 * k] = ids[k];
		values[5 * k + 1] = n->order_id;
		values[5 * k + 2] = party_name(parts[k].role);
		values[5 * k + 3] = user;
		values[5 * k + 4] = cents[k];
		/* more members than a contribution holds: read back instead */
		if (user && contrib_add(&n->known.contrib, n, user, parts[k].amount_cents) < 0)
			n->known.contrib.n = 0;
		if (user &&
		    (parts[k].role == B4_SPLIT_AFFILIATE || parts[k].role == B4_SPLIT_COPRODUCER))
			known_part(&n->known, party_name(parts[k].role), user,
				   parts[k].amount_cents);
	}
	/* every split in one statement */
	return b4_db_insert_rows(
		   db, "INSERT INTO splits (id, order_id, party, user_id, amount_cents) VALUES ",
		   "(?, ?, ?, ?, ?)", 5, "", nparts, values) < 0
		   ? -1
		   : 0;
}

/* Each member's day from the order's created_at and the utc_offsets the
 * caller read with the offer (n->partners).  False when one is unknown:
 * then b4_sales_agg_known_days reads them. */
static bool partners_days(struct b4_order_new *n, const char *created)
{
	struct b4_sales_contrib *c = &n->known.contrib;
	const struct b4_order_partners *p = n->partners;

	if (!p || !p->known || c->n == 0)
		return false;
	for (size_t k = 0; k < c->n; k++) {
		const char *offset = NULL;
		if (!strcmp(c->m[k].role, "producer"))
			offset = p->producer_utc_offset;
		else if (!strcmp(c->m[k].role, "affiliate"))
			offset = p->affiliate_utc_offset;
		for (size_t j = 0; j < p->ncoproducers && !offset; j++)
			if (!strcmp(p->coproducers[j].user_id, c->m[k].id))
				offset = p->coproducers[j].utc_offset;
		if (!offset || b4_sales_agg_local_day(created, offset, c->m[k].day) < 0)
			return false;
	}
	return true;
}

int b4_order_partners_parse(struct b4_order_partners *p, const char *coproducers)
{
	const char *s = coproducers ? coproducers : "";

	p->known = false;
	p->ncoproducers = 0;
	while (*s) {
		struct b4_order_coproducer *c;
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		char one[64], *space, *offset, *bad;
		long bps;

		if (p->ncoproducers == B4_MONEY_MAX_COPRODUCERS || len >= sizeof(one))
			return -1;
		memcpy(one, s, len);
		one[len] = '\0';
		space = strchr(one, ' ');
		offset = space ? strchr(space + 1, ' ') : NULL;
		if (!space || !offset || (size_t)(space - one) != 36 || strlen(offset + 1) != 6)
			return -1;
		*space = *offset = '\0';
		bps = strtol(space + 1, &bad, 10);
		if (*bad || bad == space + 1 || bps < 0 || bps > 10000)
			return -1;
		c = &p->coproducers[p->ncoproducers++];
		memcpy(c->user_id, one, 37);
		c->share_bps = (int)bps;
		memcpy(c->utc_offset, offset + 1, 7);
		if (!end)
			break;
		s = end + 1;
		if (!*s) /* a trailing separator */
			return -1;
	}
	p->known = true;
	return 0;
}

int b4_order_create(struct b4_db *db, struct b4_order_new *n, enum b4_order_refusal *refusal)
{
	struct sealed_buyer sealed = {NULL, NULL};
	char item_ids[B4_ORDER_MAX_ITEMS][37], created[17];
	int rc = -1;

	*refusal = B4_ORDER_REFUSAL_NONE;
	n->known.guarantee_days = n->guarantee_days;
	n->known.view_known = false;
	n->known.nparts = 0;
	contrib_start(&n->known.contrib, n);
	if (seal_buyer(n, &sealed) < 0)
		goto out_free;
	if (!n->customer_id[0] && upsert_customer(db, n, &sealed) < 0)
		goto out_free;
	if (insert_order(db, n, &sealed, created, refusal) < 0)
		goto out_free;
	for (size_t k = 0; k < n->nitems; k++)
		if (insert_with_id(db,
				   "INSERT INTO order_items (id, order_id, offer_id, type,"
				   " price_cents) VALUES (?, ?, ?, ?, ?)",
				   item_ids[k], n->order_id, n->items[k].offer_id, n->items[k].type,
				   n->items[k].price_cents) < 0)
			goto out_free;
	if (!n->refuse && (insert_charge(db, n) < 0 || write_splits(db, n, refusal) < 0))
		goto out_free;
	contrib_finish(&n->known.contrib, n);
	known_view(n, item_ids);
	if (n->refuse && b4_job_order_event(db, "refused-payment", n->order_id, NULL) < 0)
		goto out_free;
	/* the members' days, for this move and the next (tx2): from the
	 * partners the caller read with the offer, else read once */
	if (!partners_days(n, created) &&
	    b4_sales_agg_known_days(db, n->order_id, &n->known.contrib) < 0)
		goto out_free;
	if (b4_sales_agg_shift_known(db, n->order_id, &n->known.contrib, NULL,
				     n->refuse ? "refused" : "waiting_payment") < 0)
		goto out_free;
	/* last: a launch's coupon is one row every order updates, locked from
	 * here to the commit */
	rc = take_coupon(db, n, refusal);
out_free:
	free(sealed.document_enc);
	free(sealed.phone_enc);
	return rc;
}

int64_t b4_order_release_commissions(struct b4_db *db, const char *order_id)
{
	return b4_db_exec(db,
			  "UPDATE splits s JOIN orders o ON o.id = s.order_id"
			  " JOIN products p ON p.id = o.product_id"
			  " SET s.status = 'released', s.released_at = CURRENT_TIMESTAMP(6)"
			  " WHERE s.order_id = ? AND s.status = 'waiting' AND o.status = 'paid'"
			  " AND COALESCE(s.release_at, o.paid_at + INTERVAL p.guarantee_days DAY)"
			  "  <= CURRENT_TIMESTAMP(6)",
			  "s", order_id);
}
