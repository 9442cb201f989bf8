/* invoice_cancel.c - "invoice.cancel" {order_id}: a refunded or charged
 * back order's NFS-e is cancelled.  Like the issue path, the document goes
 * to storage first (invoices/<order_id>-cancel.xml, a cancellation event
 * naming the DPS) and the row is marked after it, so a run that dies in
 * between finds the object and only marks the row.  Nothing issued yet:
 * nothing to cancel (the issue job skips an order that is no longer
 * paid). */
#include "invoice.h"

#include "b4/buf.h"
#include "b4/db.h"
#include "b4/log.h"
#include "b4/storage.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The cancellation event (NFS-e Nacional event 101101, cancellation by
 * the issuer) for dps_id. */
static bool cancel_xml(struct b4_buf *out, const char *order_id, const char *dps_id,
		       const char *status)
{
	char now[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* ids are UUIDs and DPS ids are letters and digits: nothing to escape */
	b4_buf_printf(out,
		      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		      "<pedRegEvento versao=\"1.00\"><infPedReg>"
		      "<tpAmb>%lld</tpAmb><dhEvento>%s</dhEvento>"
		      "<chDPS>%s</chDPS><xPed>%s</xPed>"
		      "<e101101><xDesc>Cancelamento de NFS-e</xDesc><cMotivo>2</cMotivo>"
		      "<xMotivo>Servico nao prestado: pedido %s</xMotivo></e101101>"
		      "</infPedReg></pedRegEvento>\n",
		      (long long)worker_nfse_environment, now, dps_id, order_id,
		      strcmp(status, "chargeback") == 0 ? "contestado" : "reembolsado");
	return !b4_buf_failed(out);
}

int invoice_cancel_job(struct worker_ctx *ctx, const struct b4_job *job, char *err, size_t errcap)
{
	struct b4_storage *st = b4_storage_default();
	struct b4_db_result *res;
	struct b4_buf xml;
	char order_id[37], key[96], invoice_id[37], dps_id[64], status[24];
	int exists, rc = WORKER_RETRY;

	if (worker_payload_id(job, "order_id", order_id, err, errcap) < 0)
		return WORKER_FATAL;
	if (!st) {
		snprintf(err, errcap, "storage not configured (B4_STORAGE ...)");
		return WORKER_RETRY;
	}
	res = b4_db_query(ctx->db,
			  "SELECT i.id, i.dps_id, o.status FROM invoices i"
			  " JOIN orders o ON o.id = i.order_id"
			  " WHERE i.order_id = ? AND i.status = 'issued'",
			  "s", order_id);
	if (!res)
		return worker_db_failed(ctx, err, errcap);
	if (b4_db_rows(res) == 0) {
		b4_db_result_free(res);
		return WORKER_DONE; /* never issued, or cancelled by an earlier run */
	}
	snprintf(invoice_id, sizeof(invoice_id), "%s", b4_db_str(res, 0, 0));
	snprintf(dps_id, sizeof(dps_id), "%s", b4_db_str(res, 0, 1));
	snprintf(status, sizeof(status), "%s", b4_db_str(res, 0, 2));
	b4_db_result_free(res);

	snprintf(key, sizeof(key), "invoices/%s-cancel.xml", order_id);
	exists = b4_storage_exists(st, key);
	if (exists < 0) {
		snprintf(err, errcap, "storage unavailable");
		return WORKER_RETRY;
	}
	b4_buf_init(&xml);
	if (exists == 0) {
		if (!cancel_xml(&xml, order_id, dps_id, status)) {
			snprintf(err, errcap, "out of memory");
			goto out_free;
		}
		if (b4_storage_put(st, key, xml.data, xml.len, "application/xml") < 0) {
			snprintf(err, errcap, "storage put failed");
			goto out_free;
		}
	}
	if (b4_db_exec(
		ctx->db,
		"UPDATE invoices SET status = 'cancelled' WHERE id = ? AND status = 'issued'", "s",
		invoice_id) < 0) {
		rc = worker_db_failed(ctx, err, errcap);
		goto out_free;
	}
	b4_log_info("invoice cancelled", B4_LS("order_id", order_id), B4_LS("dps_id", dps_id),
		    B4_LS("storage_key", key));
	rc = WORKER_DONE;
out_free:
	b4_buf_cleanup(&xml);
	return rc;
}
