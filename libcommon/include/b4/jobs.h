/* jobs.h - the job contracts: every job type the services and the worker
 * exchange, and the typed functions that enqueue them.
 *
 * The producer of a job writes its whole payload, once: a job never
 * rewrites its own payload.  Webhook events carry their event_id and
 * created_at from the moment they are enqueued (b4_queue_webhook_event).
 * Every function enqueues inside the caller's transaction (outbox) and is
 * idempotent through its dedup key.  Each returns 0, or -1 on a database
 * error (the caller rolls back).
 *
 * Payloads:
 *   webhook.event        {event, event_id, created_at, owner_id,
 *                         affiliate_id?, product_id?, data}
 *                        one job per recipient (owner_id), data cut to
 *                        what it may see: b4_job_order_event,
 *                        b4_job_abandoned_cart
 *   invoice.issue        {order_id}            dedup invoice:<order>
 *   invoice.cancel       {order_id}            dedup invoice-cancel:<order>
 *   commission.release   {order_id}            dedup commission:<order>
 *   order.expire         {order_id}            dedup expire:<order>
 *   payment.refund_late  {order_id}            dedup late-refund:<order>
 *   refund.process       {refund_id, order_id, amount_cents, requested_by}
 *                                              dedup refund:<refund>
 *   report.export        {report_id, filters}  dedup report:<report>
 */
#ifndef B4_JOBS_H
#define B4_JOBS_H

#include <cjson/cJSON.h>
#include <stdint.h>

struct b4_db;

#define B4_JOB_WEBHOOK_EVENT	  "webhook.event"
#define B4_JOB_WEBHOOK_DELIVER	  "webhook.deliver"
#define B4_JOB_INVOICE_ISSUE	  "invoice.issue"
#define B4_JOB_INVOICE_CANCEL	  "invoice.cancel"
#define B4_JOB_COMMISSION_RELEASE "commission.release"
#define B4_JOB_ORDER_EXPIRE	  "order.expire"
#define B4_JOB_LATE_REFUND	  "payment.refund_late"
#define B4_JOB_REFUND_PROCESS	  "refund.process"
#define B4_JOB_REPORT_EXPORT	  "report.export"

/* Enqueues one of the order jobs above ({order_id}, dedup
 * "<prefix>:<order id>") runnable after delay_seconds.  -1 also for a type
 * that is not an order job. */
int b4_job_order(struct b4_db *db, const char *type, const char *order_id, int64_t delay_seconds);

/* Enqueues refund.process for a refund just requested; requested_by may be
 * NULL (the system). */
int b4_job_refund_process(struct b4_db *db, const char *refund_id, const char *order_id,
			  int64_t amount_cents, const char *requested_by);

/* Enqueues report.export for the reports row report_id; filters_json is
 * the report's order filters as a JSON object (b4_order_filters_to_json). */
int b4_job_report_export(struct b4_db *db, const char *report_id, const char *filters_json);

/* Enqueues the webhook event `event` of an order, one webhook.event job per
 * recipient, each with what that recipient may see:
 *   - the producer: the order as API.md shows it plus the buyer (name,
 *     e-mail, phone, document masked as the sales API shows it), dedup key
 *     dedup_key;
 *   - the affiliate and each co-producer: their own role and amount, the
 *     product and the order's id, status and dates, never totals, buyer or
 *     card data; dedup key "<dedup_key>:<user id>".
 * dedup_key NULL means "<event>:<order id>". */
int b4_job_order_event(struct b4_db *db, const char *event, const char *order_id,
		       const char *dedup_key);

/* b4_job_order_event that also gives the order's view (b4_order_json
 * without access token, as of the caller's transaction) in *view: read
 * once for the webhooks and the caller's answer.  Caller deletes *view
 * (NULL on failure). */
int b4_job_order_event_view(struct b4_db *db, const char *event, const char *order_id,
			    const char *dedup_key, cJSON **view);

struct b4_queue_batch;
/* b4_job_order_event_view whose jobs are added to batch: the caller
 * enqueues them with its own (b4_queue_flush). */
int b4_job_order_event_into(struct b4_db *db, struct b4_queue_batch *batch, const char *event,
			    const char *order_id, const char *dedup_key, cJSON **view);
struct b4_order_known;
/* b4_job_order_event_into for the order k describes (k->view_known), with
 * view its order view: no read.  The same jobs and payloads as the read
 * gives for a new order (the splits as written, nothing reversed). */
int b4_job_order_event_known_into(struct b4_queue_batch *batch, const char *event,
				  const struct b4_order_known *k, const cJSON *view,
				  const char *dedup_key);
/* b4_job_order added to batch. */
int b4_job_order_into(struct b4_queue_batch *batch, const char *type, const char *order_id,
		      int64_t delay_seconds);

/* Enqueues abandoned-cart for the checkout session session_id, one
 * webhook.event job per recipient, each with what that recipient may see:
 *   - the producer: {lead: {email, full_name (null unless an order of the
 *     session named the buyer)}, cart: {session_id, offer_code, offer_name,
 *     price_cents, currency, product: {id, name}, affiliate_id,
 *     utm_source, utm_medium, utm_campaign, created_at}}, dedup key
 *     "abandoned-cart:<session id>";
 *   - the session's approved affiliate and each current co-producer of the
 *     product: {role, product: {id, name}, commission_bps} - its own share
 *     of what the sale would have paid it, never the lead or the cart;
 *     dedup key "abandoned-cart:<session id>:<user id>".
 * A session that does not exist enqueues nothing (returns 0). */
int b4_job_abandoned_cart(struct b4_db *db, const char *session_id);

#endif
