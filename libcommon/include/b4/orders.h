/* orders.h - the order as the API and webhooks show it, the events other
 * parts learn of, and status moves that only go forward along the state
 * machine of API.md.  Shared by b4-checkout (payments, callbacks) and
 * b4-worker (settling charges, refunds).  Every function runs on the
 * caller's connection, inside the caller's transaction when there is one.
 */
#ifndef B4_ORDERS_H
#define B4_ORDERS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "b4/json.h"
#include "b4/sales_agg.h"

struct b4_db;

/* Order statuses and payment methods as the API names them. */
extern const char *const b4_order_statuses[];  /* NULL-terminated */
extern const char *const b4_payment_methods[]; /* NULL-terminated */

/* The B4You checkout funnel: the event names the checkout page sends, in
 * page order (NULL-terminated).  Checkout accepts only these; the
 * back-office counts them in this order. */
extern const char *const b4_funnel_steps[];

/* What order lists and order exports filter on; NULL members do not
 * filter.  Dates are YYYY-MM-DD (UTC), `to` included. */
struct b4_order_filters {
	const char *status, *payment_method, *producer_id, *affiliate_id, *email, *from, *to;
	const char *product_id;
	/* the buyer's CPF/CNPJ as its blind index (hex), from a query only:
	 * never stored with a report or a job */
	const char *document_bidx;
};

/* The filters as SQL over `orders o JOIN customers c`, to append after a
 * WHERE condition, with its bind types and arguments (18 strings). */
#define B4_ORDER_FILTER_SQL                                                                        \
	" AND (? IS NULL OR o.status = ?)"                                                         \
	" AND (? IS NULL OR o.payment_method = ?)"                                                 \
	" AND (? IS NULL OR o.producer_id = ?)"                                                    \
	" AND (? IS NULL OR o.affiliate_id = ?)"                                                   \
	" AND (? IS NULL OR COALESCE(o.buyer_email, c.email) = ?)"                                 \
	" AND (? IS NULL OR o.created_at >= ?)"                                                    \
	" AND (? IS NULL OR o.created_at < DATE_ADD(?, INTERVAL 1 DAY))"                           \
	" AND (? IS NULL OR o.product_id = ?)"                                                     \
	" AND (? IS NULL OR c.document_bidx = ?)"
#define B4_ORDER_FILTER_TYPES "ssssssssssssssssss"
#define B4_ORDER_FILTER_ARGS(f)                                                                    \
	(f)->status, (f)->status, (f)->payment_method, (f)->payment_method, (f)->producer_id,      \
	    (f)->producer_id, (f)->affiliate_id, (f)->affiliate_id, (f)->email, (f)->email,        \
	    (f)->from, (f)->from, (f)->to, (f)->to, (f)->product_id, (f)->product_id,              \
	    (f)->document_bidx, (f)->document_bidx

/* Reads filters from a JSON object (NULL or null: none); unknown members
 * and bad values fill err (param names the member) and return -1.  The
 * strings point into obj. */
int b4_order_filters_from_json(const cJSON *obj, struct b4_order_filters *f, struct b4_error *err);

/* The filters as a JSON object (absent ones left out).  Caller deletes. */
cJSON *b4_order_filters_to_json(const struct b4_order_filters *f);

/* Records CSV export `report_id` of kind ("orders" for the back-office,
 * "sales" for a producer) with filters, made by created_by, and enqueues
 * the "report.export" job that b4-worker runs (workers/export.c), in the
 * caller's transaction.  0 or -1. */
int b4_order_report_enqueue(struct b4_db *db, const char *report_id, const char *kind,
			    const struct b4_order_filters *f, const char *created_by);

/* The order as API.md shows it (items, totals, card/pix/boleto data);
 * access_token is added when not NULL.  Caller deletes; NULL when the
 * order does not exist or on a database error.  One query. */
cJSON *b4_order_json(struct b4_db *db, const char *order_id, const char *access_token);

/* The columns b4_order_json reads, for queries that want more of the order
 * in the same read: "SELECT " B4_ORDER_VIEW_COLS ", more" B4_ORDER_VIEW_FROM
 * " JOIN ... WHERE o.id = ?".  Aliases: o (orders), f (its offer), ch (its
 * latest charge).  The items come as one JSON array. */
#define B4_ORDER_TS(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%sZ')"
#define B4_ORDER_VIEW_COLS                                                                         \
	"o.id, o.status, o.payment_method, o.installments, o.subtotal_cents,"                      \
	" o.discount_cents, o.interest_cents, o.total_cents, " B4_ORDER_TS(                        \
	    "o.created_at") ","                                                                    \
			    " " B4_ORDER_TS("o.paid_at") ", " B4_ORDER_TS(                         \
				"o.expires_at") ", o.product_id,"                                  \
						" o.parent_order_id, f.code,"                      \
						" (SELECT "                                        \
						"JSON_ARRAYAGG(JSON_OBJECT('offer_code', "         \
						"bf.code, 'name', bf.name,"                        \
						"  'type', i.type, 'price_cents', i.price_cents) " \
						"ORDER BY i.type, i.id)"                           \
						"  FROM order_items i JOIN offers bf ON bf.id = "  \
						"i.offer_id WHERE i.order_id = o.id),"             \
						" ch.status, ch.card_brand, ch.card_last4, "       \
						"ch.pix_payload, ch.boleto_barcode,"               \
						" ch.boleto_line, "                                \
						"DATE_FORMAT(ch.boleto_due_date, '%Y-%m-%d'), "    \
						"ch.decline_code"
#define B4_ORDER_VIEW_FROM                                                                         \
	" FROM orders o JOIN offers f ON f.id = o.offer_id LEFT JOIN charges ch"                   \
	" ON ch.id = (SELECT MAX(id) FROM charges WHERE order_id = o.id)"
/* How many columns B4_ORDER_VIEW_COLS has: the caller's own start here. */
#define B4_ORDER_VIEW_NCOLS 23
/* The column of o.product_id in B4_ORDER_VIEW_COLS. */
#define B4_ORDER_VIEW_PRODUCT_COL 11

struct b4_db_result;

/* The order view from row 0 of a B4_ORDER_VIEW_COLS query; NULL when its
 * items cannot be read.  Caller deletes. */
cJSON *b4_order_view_from_row(const struct b4_db_result *res, const char *access_token);

/* The buyer as of the purchase (the order's snapshot; customers only for
 * rows written before snapshots existed), as 5 columns over `orders o JOIN
 * customers c`: name, e-mail, phone_enc, document_enc, document_type. */
#define B4_ORDER_BUYER_COLS                                                                        \
	"COALESCE(o.buyer_name, c.full_name), COALESCE(o.buyer_email, c.email),"                   \
	" COALESCE(o.buyer_phone_enc, c.phone_enc), COALESCE(o.buyer_document_enc, "               \
	"c.document_enc),"                                                                         \
	" COALESCE(o.buyer_document_type, c.document_type)"

/* The buyer object {full_name, email, phone (NULL: null), document,
 * document_type} from plain values (the document already masked).  Caller
 * deletes. */
cJSON *b4_order_buyer(const char *full_name, const char *email, const char *phone,
		      const char *masked_document, const char *document_type);

/* The buyer object {full_name, email, phone, document} from the 5
 * B4_ORDER_BUYER_COLS cells of res at (row, col...): phone decrypted,
 * document decrypted and masked ("***.456.789-**").  Caller deletes; NULL
 * when a cell cannot be decrypted. */
cJSON *b4_order_buyer_json(const struct b4_db_result *res, size_t row, size_t col);

/* Masks a CPF (11 digits) or CNPJ (14 characters) for display, keeping the
 * middle: "***.456.789-**", "**.345.678/0001-**".  out has room for 19. */
void b4_document_mask(const char *document, char out[24]);

/* ---- a new order (in the caller's transaction) -------------------------- */

#define B4_ORDER_MAX_ITEMS 6 /* the main offer (or upsell) and up to 5 bumps */

struct b4_order_item_new {
	const char *offer_id;
	const char *type; /* "main", "order_bump", "upsell" */
	int64_t price_cents;
	/* as the order's view shows the offer (NULL: the view is read back) */
	const char *offer_code, *name;
};

/* What the writer of an order knows of it once b4_order_create returned,
 * so the order's first move (b4_order_mark_paid) need not read it back:
 * the guarantee and the sales contribution, and what the order's view and
 * its approved-payment event show but the times and the charge's card
 * (view_known false: read the view and the event's data instead).  Copies,
 * not borrowed strings. */
struct b4_order_known {
	int guarantee_days;		 /* the product's */
	struct b4_sales_contrib contrib; /* contrib.n 0: unknown */
	bool view_known;
	char order_id[37], charge_id[37], method[8], offer_code[16], parent_order_id[37];
	char product_id[37], producer_id[37], product_name[201];
	int installments;
	int64_t subtotal_cents, discount_cents, interest_cents, total_cents;
	struct b4_order_known_item {
		char offer_code[16], name[201], type[12];
		int64_t price_cents;
	} items[B4_ORDER_MAX_ITEMS]; /* in the view's order: main, bumps, upsell */
	size_t nitems;
	/* the buyer as the producer's event shows it (document masked) */
	char buyer_name[201], buyer_email[255], buyer_phone[20], buyer_document[24];
	char buyer_document_type[5];
	/* the affiliate's and co-producers' splits, as written */
	struct b4_order_known_part {
		char party[12], user_id[37];
		int64_t amount_cents;
	} parts[B4_MONEY_MAX_SPLIT_PARTS];
	size_t nparts;
};

/* A product's partners as the order's writer read them with its offer,
 * which saves b4_order_create two reads in tx1: the active co-producers in
 * split order (the offer read's column B4_ORDER_COPRODUCERS_SQL) and each
 * member's utc_offset, for the days the sales aggregates count the order
 * in ("" unknown: read).  known false: b4_order_create reads them. */
struct b4_order_coproducer {
	char user_id[37];
	int share_bps;
	char utc_offset[7]; /* "-03:00" */
};
struct b4_order_partners {
	bool known;
	size_t ncoproducers;
	struct b4_order_coproducer coproducers[B4_MONEY_MAX_COPRODUCERS];
	char producer_utc_offset[7], affiliate_utc_offset[7];
};

/* A co-producer (coproducers row, columns prefixed by P: "" or "c.") is
 * paid on a sale now: from its start, until its end if it has one.  Every
 * reader of a sale's co-producers says it with this. */
#define B4_ORDER_COPRODUCER_ACTIVE(P)                                                              \
	P "starts_at <= UTC_TIMESTAMP(6) AND (" P "ends_at IS NULL OR " P                          \
	  "ends_at > UTC_TIMESTAMP(6))"

/* A product's (?) co-producers active now, in split order: user_id,
 * share_bps. */
#define B4_ORDER_COPRODUCERS_READ                                                                  \
	"SELECT user_id, share_bps FROM coproducers WHERE product_id = ? "                         \
	"AND " B4_ORDER_COPRODUCER_ACTIVE("") " ORDER BY id"

/* One column for the offer read: PRODUCT's co-producers active now, as
 * "user_id share_bps utc_offset" joined by ',' in split order (as
 * B4_ORDER_COPRODUCERS_READ); NULL when none. */
#define B4_ORDER_COPRODUCERS_SQL(PRODUCT)                                                          \
	"(SELECT GROUP_CONCAT(c.user_id, ' ', c.share_bps, ' ', cu.utc_offset ORDER BY c.id"       \
	" SEPARATOR ',') FROM coproducers c JOIN users cu ON cu.id = c.user_id"                    \
	" WHERE c.product_id = " PRODUCT " AND " B4_ORDER_COPRODUCER_ACTIVE("c.") ")"

/* Fills p's co-producers from that column (NULL or "" for none) and sets
 * p->known.  Returns 0, or -1 (p->known false) when the text is malformed
 * or names more co-producers than a split holds. */
int b4_order_partners_parse(struct b4_order_partners *p, const char *coproducers);

/* Everything an order is written with.  Strings are borrowed; "" or NULL
 * means none where a field is optional. */

struct b4_order_new {
	const char *order_id, *charge_id, *access_token_hash; /* new ids */
	const char *offer_id, *product_id, *producer_id;
	struct b4_order_item_new items[B4_ORDER_MAX_ITEMS];
	size_t nitems;
	const char *method; /* card, pix, boleto */
	int installments;
	int64_t subtotal_cents, discount_cents, interest_cents, total_cents;
	/* the buyer; customer_id set (an upsell) reuses the customer row */
	char customer_id[37];
	const char *full_name, *email, *document, *document_bidx, *phone;
	bool document_is_cpf;
	/* the card (the acquirer that issued the token charges it) */
	const char *card_token, *card_acquirer, *card_brand, *card_bin, *card_last4,
	    *card_fingerprint;
	const char *acquirer; /* the charge's acquirer when not a card */
	/* attribution and links */
	const char *affiliation_id, *affiliate_id, *coupon_id, *session_id, *parent_order_id;
	bool coupon_once; /* the coupon is once per customer, as the caller read it */
	int affiliate_bps;
	/* the platform's fee */
	int platform_fee_bp;
	int64_t platform_fee_cents;
	/* antifraud: refuse writes the order refused, without charge or splits */
	bool refuse;
	int fraud_score;
	const char *fraud_reasons, *client_ip;
	int guarantee_days;			  /* the product's, as the caller read it */
	const char *product_name;		  /* for the event without a read (NULL: read) */
	const struct b4_order_partners *partners; /* NULL: read */
	/* out: filled by b4_order_create */
	struct b4_order_known known;
};

enum b4_order_refusal {
	B4_ORDER_REFUSAL_NONE, /* a database error */
	B4_ORDER_COUPON_USED_UP,
	B4_ORDER_COUPON_ALREADY_USED,
	B4_ORDER_AMOUNT_TOO_SMALL,
	B4_ORDER_UPSELL_TAKEN,
};

/* Writes a new order in the caller's transaction: the customer row (by
 * document; never an earlier order's buyer, each order keeps its own
 * snapshot), the order (waiting_payment, or refused with its
 * refused-payment event), its items, its pending charge and its splits:
 * platform, affiliate, co-producers, producer on the price after
 * discounts, the installment interest on the platform's line; the
 * coupon's use last, so its row (one for a whole launch) stays locked
 * only until the caller commits.  One live upsell per parent order
 * (unique key).  Returns 0, or -1 with *refusal saying why
 * (B4_ORDER_REFUSAL_NONE: a database error, rolled back by the caller). */
int b4_order_create(struct b4_db *db, struct b4_order_new *n, enum b4_order_refusal *refusal);

/* Releases the order's waiting commissions whose date has come, only while
 * the order is paid (checked in the same statement).  Returns how many
 * splits were released, or -1. */
int64_t b4_order_release_commissions(struct b4_db *db, const char *order_id);

/* ---- the order's moves (all in the caller's transaction) -------------- */

/* waiting_payment -> paid with everything that follows a payment: split
 * release dates from the product's guarantee, the approved-payment event,
 * the invoice job and the commission release job.  known (NULL: read from
 * the order) saves reading the guarantee and the sales contribution again,
 * and with view_known the view and the event's data but the order's times
 * and the charge's card (one read by primary keys instead).
 * When view is not NULL and the order moved, *view gets the order as the
 * event showed it (b4_order_json without token; caller deletes).  1 moved,
 * 0 not waiting (already settled), -1 error. */
int b4_order_mark_paid(struct b4_db *db, const char *order_id, const struct b4_order_known *known,
		       cJSON **view);

/* waiting_payment -> refused (declined, acquirers unavailable, antifraud):
 * gives its coupon use back and enqueues refused-payment.  1, 0, -1. */
int b4_order_refuse(struct b4_db *db, const char *order_id);

/* waiting_payment -> expired, when due (expires_at passed) or when `now`
 * (the acquirer says so): gives its coupon use back.  1 moved, 0 not
 * waiting or not due, -1 error. */
int b4_order_expire(struct b4_db *db, const char *order_id, bool now);

/* Sets when a waiting Pix or boleto order expires and enqueues its
 * order.expire job then.  0 or -1. */
int b4_order_set_expiry(struct b4_db *db, const char *order_id, int64_t seconds);

/* Takes one use of coupon_id for order_id, in one statement while the
 * coupon is active and below max_uses, and for a once_per_customer coupon
 * (as the caller read it when it priced the order) one redemption row per
 * (coupon, buyer CPF/CNPJ blind index) and per (coupon, e-mail blind
 * index), unique in the database.  1 taken, 0 used up (or inactive), 2
 * already used by this buyer, -1 error. */
int b4_order_coupon_take(struct b4_db *db, const char *coupon_id, bool once_per_customer,
			 const char *order_id, const char *document_bidx, const char *email);

#endif
