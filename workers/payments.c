/* payments.c - the worker's conversations with acquirers.
 *
 * "refund.process": a refund requested by a producer (b4-api)
 * or an admin (b4-backoffice) is sent to the acquirer that took the
 * charge, with the refund id as Idempotency-Key, so a retry after a lost
 * answer never refunds twice.  On success, in one transaction: the refund
 * succeeds, the splits are reversed pro rata (exactly, in cents), the
 * charge and the order move forward (fully refunded -> refunded; a partial
 * refund -> back to paid) and the "refund" webhook event is enqueued.  An
 * acquirer that refuses the refund fails it and gives the order back to
 * paid.
 *
 * "payment.refund_late": a Pix or boleto payment whose callback arrives
 * after its order stopped waiting (expired: the buyer paid at the last
 * minute, or a boleto cleared days later) cannot make the order paid, as
 * orders only move forward; checkout enqueues this job in the transaction
 * that records the payment, and the worker gives the whole amount back
 * (Idempotency-Key late-refund:<charge>) and records a system refund.
 *
 * Settling lost answers: when checkout could not learn a card charge's
 * outcome (timeout, no answer to the lookup), or a Pix/boleto payment
 * callback never arrived, the order still waits; order.expire asks the
 * acquirer by reference before expiring it, so a buyer who was charged
 * gets a paid order, never an expired one. */
#include "handlers.h"

#include "b4/acquirer.h"
#include "b4/db.h"
#include "b4/log.h"
#include "b4/charges.h"
#include "b4/money.h"
#include "b4/orders.h"
#include "b4/prodcheck.h"
#include "b4/refunds.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct b4_acquirers worker_acquirers;
const char *worker_acquirers_setting;

int acquirers_init(const struct b4_settings *settings)
{
	static bool done;

	if (done)
		return 0;
	if (b4_acquirers_parse(&worker_acquirers, worker_acquirers_setting) < 0) {
		fprintf(stderr,
			"b4-worker: B4_ACQUIRERS must be name=http(s)://url[,name=url...]\n");
		return -1;
	}
	if ((worker_acquirers.secret[0] || settings->env == B4_ENV_PRODUCTION) &&
	    strlen(worker_acquirers.secret) < 32) {
		fprintf(stderr, "b4-worker: B4_ACQUIRER_SECRET must be at least 32 bytes\n");
		return -1;
	}
	if (settings->env == B4_ENV_PRODUCTION &&
	    b4_prodcheck_acquirers("b4-worker", "B4_ACQUIRERS", &worker_acquirers, stderr) < 0)
		return -1;
	done = true;
	return 0;
}

/* What refund.process needs of a refund: its status and amount, and the
 * charge that captured the money. */
struct refund {
	char id[37];
	char order_id[37];
	char status[16];
	int64_t amount_cents;
	char acquirer[33];
	char acquirer_charge_id[65];
};

static int load(struct b4_db *db, const char *refund_id, struct refund *r)
{
	struct b4_db_result *res =
	    b4_db_query(db,
			"SELECT r.status, r.amount_cents, r.order_id, c.acquirer,"
			" c.acquirer_charge_id FROM refunds r JOIN orders o ON o.id = r.order_id"
			" LEFT JOIN charges c ON c.order_id = o.id"
			"  AND c.status IN ('approved', 'partially_refunded', 'refunded')"
			" WHERE r.id = ? ORDER BY c.created_at DESC LIMIT 1",
			"s", refund_id);
	int rc;

	if (!res)
		return -1;
	rc = b4_db_rows(res) == 1 ? 1 : 0;
	if (rc) {
		memset(r, 0, sizeof(*r));
		snprintf(r->id, sizeof(r->id), "%s", refund_id);
		snprintf(r->status, sizeof(r->status), "%s", b4_db_str(res, 0, 0));
		r->amount_cents = b4_db_i64(res, 0, 1);
		snprintf(r->order_id, sizeof(r->order_id), "%s", b4_db_str(res, 0, 2));
		snprintf(r->acquirer, sizeof(r->acquirer), "%s", b4_db_str(res, 0, 3));
		snprintf(r->acquirer_charge_id, sizeof(r->acquirer_charge_id), "%s",
			 b4_db_str(res, 0, 4));
	}
	b4_db_result_free(res);
	return rc;
}

struct settle {
	const struct refund *refund;
	const char *acquirer_refund_id;
	bool ok;       /* the acquirer refunded */
	bool moved;    /* this run changed the refund */
	char why[128]; /* when the splits could not be reversed */
};

static int settle_tx(struct b4_db *db, void *arg)
{
	struct settle *s = arg;
	int rc = b4_refund_settle(db, s->refund->id, s->ok, s->acquirer_refund_id, s->why,
				  sizeof(s->why));

	s->moved = rc == 1;
	return rc < 0 ? -1 : 0;
}

enum acquirer_refund_result { REFUND_REFUSED = 0, REFUND_DONE = 1, REFUND_TRY_LATER = -1 };

/* Asks the acquirer that took a charge to refund amount of it, with idem as
 * Idempotency-Key, so asking again after a lost answer never refunds twice.
 * REFUND_DONE fills acquirer_refund_id (empty if the acquirer gave none);
 * REFUND_TRY_LATER (unconfigured, unreachable, 5xx, 429) writes err. */
static enum acquirer_refund_result
acquirer_refund(const char *acquirer, const char *acquirer_charge_id, int64_t amount_cents,
		const char *idem, char acquirer_refund_id[65], char *err, size_t errcap)
{
	const struct b4_acquirer *acq = b4_acquirers_find(&worker_acquirers, acquirer);
	struct b4_httpc_response resp;
	char path[160], body[64];
	bool ok;
	cJSON *answer;

	acquirer_refund_id[0] = '\0';
	if (!acq) {
		snprintf(err, errcap, "acquirer %s is not configured (B4_ACQUIRERS)", acquirer);
		return REFUND_TRY_LATER;
	}
	snprintf(path, sizeof(path), "/v1/charges/%s/refunds", acquirer_charge_id);
	snprintf(body, sizeof(body), "{\"amount_cents\":%lld}", (long long)amount_cents);
	if (b4_acquirer_call(&worker_acquirers, acq, "POST", path, idem, body, &resp) < 0 ||
	    resp.status >= 500 || resp.status == 429) {
		snprintf(err, errcap, "acquirer %s: %s", acq->name,
			 resp.status ? "unavailable" : resp.error);
		b4_httpc_response_cleanup(&resp);
		return REFUND_TRY_LATER;
	}
	ok = resp.status == 200 || resp.status == 201;
	answer = cJSON_Parse(resp.body);
	if (ok) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(answer, "id");
		if (cJSON_IsString(id))
			snprintf(acquirer_refund_id, 65, "%s", id->valuestring);
	} else {
		b4_log_warn("acquirer refused a refund", B4_LS("idempotency_key", idem),
			    B4_LS("acquirer", acq->name), B4_LI("status", resp.status));
	}
	cJSON_Delete(answer);
	b4_httpc_response_cleanup(&resp);
	return ok ? REFUND_DONE : REFUND_REFUSED;
}

int refund_process_job(struct worker_ctx *ctx, const struct b4_job *job, char *err, size_t errcap)
{
	struct refund r;
	struct settle s = {.refund = &r};
	char idem[64], refund_id[37], acquirer_refund_id[65] = "";
	int found;

	if (worker_payload_id(job, "refund_id", refund_id, err, errcap) < 0)
		return WORKER_FATAL;
	found = load(ctx->db, refund_id, &r);
	if (found < 0)
		return worker_db_failed(ctx, err, errcap);
	if (!found) {
		snprintf(err, errcap, "no such refund");
		return WORKER_FATAL;
	}
	if (strcmp(r.status, "requested") != 0 && strcmp(r.status, "processing") != 0)
		return WORKER_DONE; /* already settled: a replayed job changes nothing */
	if (!r.acquirer[0] || !r.acquirer_charge_id[0]) {
		/* nothing was captured (or the charge was charged back): refuse */
		s.ok = false;
	} else {
		enum acquirer_refund_result got;
		snprintf(idem, sizeof(idem), "refund:%s", r.id);
		got = acquirer_refund(r.acquirer, r.acquirer_charge_id, r.amount_cents, idem,
				      acquirer_refund_id, err, errcap);
		if (got == REFUND_TRY_LATER)
			return WORKER_RETRY; /* same key next time: never two refunds */
		s.ok = got == REFUND_DONE;
	}
	s.acquirer_refund_id = acquirer_refund_id[0] ? acquirer_refund_id : NULL;
	if (b4_db_tx(ctx->db, settle_tx, &s) < 0) {
		if (s.why[0]) {
			snprintf(err, errcap, "%s", s.why);
			return WORKER_FATAL;
		}
		return worker_db_failed(ctx, err, errcap);
	}
	if (s.moved)
		b4_log_info(s.ok ? "refund succeeded" : "refund failed", B4_LS("refund_id", r.id),
			    B4_LS("order_id", r.order_id), B4_LI("amount_cents", r.amount_cents));
	return WORKER_DONE;
}

/* A payment captured for an order that no longer waits for it. */
struct late_payment {
	char order_id[37];
	char order_status[24];
	char charge_id[37];
	char acquirer[33];
	char acquirer_charge_id[65];
	int64_t amount_cents;
	const char *acquirer_refund_id;
	bool moved;
};

static int late_refund_tx(struct b4_db *db, void *arg)
{
	struct late_payment *p = arg;
	int rc = b4_refund_record_late(db, p->order_id, p->charge_id, p->amount_cents,
				       p->acquirer_refund_id);

	p->moved = rc == 1;
	return rc < 0 ? -1 : 0;
}

int late_payment_refund_job(struct worker_ctx *ctx, const struct b4_job *job, char *err,
			    size_t errcap)
{
	struct late_payment p;
	struct b4_db_result *res;
	char idem[64], acquirer_refund_id[65];
	enum acquirer_refund_result got;

	memset(&p, 0, sizeof(p));
	if (worker_payload_id(job, "order_id", p.order_id, err, errcap) < 0)
		return WORKER_FATAL;
	/* only money the order never took: a paid order keeps its charge */
	res = b4_db_query(ctx->db,
			  "SELECT c.id, c.acquirer, c.acquirer_charge_id, c.amount_cents, o.status"
			  " FROM charges c JOIN orders o ON o.id = c.order_id"
			  " WHERE c.order_id = ? AND c.status = 'approved'"
			  " AND c.method IN ('pix', 'boleto') AND c.acquirer_charge_id IS NOT NULL"
			  " AND o.status IN ('expired', 'refused')",
			  "s", p.order_id);
	if (!res)
		return worker_db_failed(ctx, err, errcap);
	if (b4_db_rows(res) == 0) {
		b4_db_result_free(res);
		return WORKER_DONE; /* refunded by an earlier run, or nothing to give back */
	}
	snprintf(p.charge_id, sizeof(p.charge_id), "%s", b4_db_str(res, 0, 0));
	snprintf(p.acquirer, sizeof(p.acquirer), "%s", b4_db_str(res, 0, 1));
	snprintf(p.acquirer_charge_id, sizeof(p.acquirer_charge_id), "%s", b4_db_str(res, 0, 2));
	p.amount_cents = b4_db_i64(res, 0, 3);
	snprintf(p.order_status, sizeof(p.order_status), "%s", b4_db_str(res, 0, 4));
	b4_db_result_free(res);

	snprintf(idem, sizeof(idem), "late-refund:%s", p.charge_id);
	got = acquirer_refund(p.acquirer, p.acquirer_charge_id, p.amount_cents, idem,
			      acquirer_refund_id, err, errcap);
	if (got == REFUND_TRY_LATER)
		return WORKER_RETRY;
	if (got == REFUND_REFUSED) {
		/* dead at once: it shows among the back-office's dead jobs,
		 * where an admin sees the buyer is owed this money */
		snprintf(err, errcap, "acquirer %s refused to refund a late payment of %lld cents",
			 p.acquirer, (long long)p.amount_cents);
		return WORKER_FATAL;
	}
	p.acquirer_refund_id = acquirer_refund_id[0] ? acquirer_refund_id : NULL;
	if (b4_db_tx(ctx->db, late_refund_tx, &p) < 0)
		return worker_db_failed(ctx, err, errcap);
	if (p.moved)
		b4_log_info("late payment refunded", B4_LS("order_id", p.order_id),
			    B4_LS("order_status", p.order_status),
			    B4_LI("amount_cents", p.amount_cents));
	return WORKER_DONE;
}

static int card_outcome_tx(struct b4_db *db, void *arg)
{
	return b4_charge_settle(db, arg);
}

int worker_settle_card_order(struct worker_ctx *ctx, const char *order_id, char *err, size_t errcap)
{
	struct b4_db_result *res;
	int settled = 0;

	res = b4_db_query(ctx->db,
			  "SELECT c.id, c.acquirer, c.method FROM charges c"
			  " JOIN orders o ON o.id = c.order_id"
			  " WHERE c.order_id = ? AND c.status = 'pending'"
			  " AND o.status = 'waiting_payment'",
			  "s", order_id);
	if (!res)
		return worker_db_failed(ctx, err, errcap);
	for (size_t i = 0; i < b4_db_rows(res) && settled == 0; i++) {
		const struct b4_acquirer *acq =
		    b4_acquirers_find(&worker_acquirers, b4_db_str(res, i, 1));
		struct b4_charge_result r;
		cJSON *charge = NULL;

		if (!acq) {
			snprintf(err, errcap, "acquirer %s is not configured",
				 b4_db_str(res, i, 1));
			settled = WORKER_RETRY;
			break;
		}
		memset(&r, 0, sizeof(r));
		r.order_id = order_id;
		r.charge_id = b4_db_str(res, i, 0);
		r.method = b4_db_str(res, i, 2);
		r.answer = b4_charge_lookup(&worker_acquirers, acq, order_id, r.method, &charge);
		r.charge = charge;
		if (r.answer == B4_ANSWER_UNKNOWN && !charge) {
			/* cannot tell: never expire an order that may have been charged */
			snprintf(err, errcap, "acquirer %s cannot tell the charge's outcome",
				 acq->name);
			ctx->retry_seconds = 60;
			settled = WORKER_RETRY;
		} else if (r.answer == B4_ANSWER_APPROVED || r.answer == B4_ANSWER_DECLINED) {
			/* still pending or absent there: the normal expiry applies */
			if (b4_db_tx(ctx->db, card_outcome_tx, &r) < 0)
				settled = worker_db_failed(ctx, err, errcap);
			else
				settled = 1;
			cJSON_Delete(r.view);
			b4_log_info("charge settled by reference", B4_LS("order_id", order_id),
				    B4_LS("acquirer", acq->name),
				    B4_LS("outcome", b4_charge_answer_name(r.answer)));
		}
		cJSON_Delete(charge);
	}
	b4_db_result_free(res);
	return settled;
}
