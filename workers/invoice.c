/* invoice.c - "invoice.issue": one NFS-e DPS (national standard, namespace
 * http://www.sped.fazenda.gov.br/nfse) per paid order; see invoice.h.
 *
 * The invoices row is the claim: it is inserted, with a DPS number taken
 * from invoice_sequences, in one transaction; uq_invoices_order makes a
 * second run (or a concurrent one) find it instead of issuing again.  The
 * XML is a pure function of the committed rows (the Id, the number and
 * dhEmi come from the invoices row), so a run that committed the row but
 * crashed before the object was written rewrites the same document.
 */
#include "invoice.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b4/br.h"
#include "b4/buf.h"
#include "b4/crypto.h"
#include "b4/db.h"
#include "b4/json.h"
#include "b4/log.h"
#include "b4/pii.h"
#include "b4/storage.h"

#define NFSE_NAMESPACE "http://www.sped.fazenda.gov.br/nfse"
#define DPS_ID_LEN     45

const char *worker_nfse_issuer_document = "11222333000181";
const char *worker_nfse_issuer_name = "B4YOU DEMONSTRACAO LTDA";
const char *worker_nfse_municipality = "3550308";
const char *worker_nfse_service_code = "080201";
int64_t worker_nfse_series = 1;
int64_t worker_nfse_environment = 2;

/* The issuer document as it goes into the Id: 14 characters, a CPF
 * zero-padded on the left; and its type digit (1 CPF, 2 CNPJ). */
static char issuer_id_document[B4_BR_CNPJ_LEN + 1];
static char issuer_type_digit;

static bool all_digits(const char *text, size_t len)
{
	if (strlen(text) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (text[i] < '0' || text[i] > '9')
			return false;
	return true;
}

int invoice_init(const struct b4_settings *settings)
{
	char normalized[B4_BR_CNPJ_LEN + 1];
	enum b4_br_document_type type;

	if (b4_br_document_normalize(worker_nfse_issuer_document, normalized, sizeof(normalized),
				     &type) < 0) {
		fprintf(stderr, "b4-worker: B4_NFSE_ISSUER_CNPJ: not a valid CNPJ or CPF\n");
		return -1;
	}
	snprintf(issuer_id_document, sizeof(issuer_id_document), "%14s", normalized);
	for (char *p = issuer_id_document; *p == ' '; p++)
		*p = '0';
	issuer_type_digit = type == B4_BR_DOCUMENT_CPF ? '1' : '2';
	if (!all_digits(worker_nfse_municipality, 7)) {
		fprintf(stderr, "b4-worker: B4_NFSE_MUNICIPALITY: the IBGE code, 7 digits\n");
		return -1;
	}
	if (!all_digits(worker_nfse_service_code, 6)) {
		fprintf(stderr, "b4-worker: B4_NFSE_SERVICE_CODE: the national code, 6 digits\n");
		return -1;
	}
	if (!b4_json_text_is_valid(worker_nfse_issuer_name, 150, NULL) ||
	    !*worker_nfse_issuer_name) {
		fprintf(stderr, "b4-worker: B4_NFSE_ISSUER_NAME: 1 to 150 characters\n");
		return -1;
	}
	if (!b4_pii_ready() && b4_pii_init("b4-worker") < 0)
		return -1;
	return report_init(settings); /* the same object storage */
}

/* ---- the DPS document ---------------------------------------------------- */

/* Appends text with the XML special characters escaped; control
 * characters XML 1.0 cannot carry are dropped. */
static void xml_escape(struct b4_buf *out, const char *text)
{
	for (const char *p = text; *p; p++) {
		unsigned char c = (unsigned char)*p;
		switch (c) {
		case '&':
			b4_buf_puts(out, "&amp;");
			break;
		case '<':
			b4_buf_puts(out, "&lt;");
			break;
		case '>':
			b4_buf_puts(out, "&gt;");
			break;
		case '"':
			b4_buf_puts(out, "&quot;");
			break;
		case '\'':
			b4_buf_puts(out, "&apos;");
			break;
		default:
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				break;
			b4_buf_append(out, p, 1);
		}
	}
}

static void xml_element(struct b4_buf *out, const char *name, const char *text)
{
	b4_buf_printf(out, "<%s>", name);
	xml_escape(out, text);
	b4_buf_printf(out, "</%s>", name);
}

static void xml_money(struct b4_buf *out, const char *name, int64_t cents)
{
	b4_buf_printf(out, "<%s>%lld.%02lld</%s>", name, (long long)(cents / 100),
		      (long long)(cents % 100), name);
}

/* What the document says, read from the committed rows. */
struct dps_data {
	char order_id[40];
	char dps_id[DPS_ID_LEN + 1];
	char issued_at[32];  /* "2026-11-29T03:20:00" (UTC) */
	char issued_day[16]; /* "2026-11-29" */
	int64_t subtotal_cents, discount_cents, interest_cents, total_cents;
	char taker_type[8];   /* "CPF" | "CNPJ" */
	char *taker_document; /* plain; wiped with b4_pii_free */
	char *taker_name;
	char *taker_email;
	char *product_name;
};

static void dps_data_cleanup(struct dps_data *d)
{
	b4_pii_free(d->taker_document);
	free(d->taker_name);
	free(d->taker_email);
	free(d->product_name);
	memset(d, 0, sizeof(*d));
}

/* Builds the DPS XML (malloc'd, *len bytes).  The Id carries the issuer,
 * series and number that were fixed when the invoice row was created. */
static char *dps_xml(const struct dps_data *d, size_t *len)
{
	struct b4_buf x;
	char municipality[8], series_digits[6], series[6], number[16], issuer[15];
	const char *id = d->dps_id;

	/* "DPS" + municipality(7) + type(1) + document(14) + series(5) + number(15) */
	snprintf(municipality, sizeof(municipality), "%.7s", id + 3);
	snprintf(issuer, sizeof(issuer), "%.14s", id + 11);
	snprintf(series_digits, sizeof(series_digits), "%.5s", id + 25);
	snprintf(series, sizeof(series), "%lld", atoll(series_digits));
	snprintf(number, sizeof(number), "%lld", atoll(id + 30));

	b4_buf_init(&x);
	b4_buf_puts(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	b4_buf_puts(&x, "<DPS xmlns=\"" NFSE_NAMESPACE "\" versao=\"1.00\">");
	b4_buf_printf(&x, "<infDPS Id=\"%s\">", id);
	b4_buf_printf(&x, "<tpAmb>%lld</tpAmb>", (long long)worker_nfse_environment);
	b4_buf_printf(&x, "<dhEmi>%s+00:00</dhEmi>", d->issued_at);
	b4_buf_puts(&x, "<verAplic>b4you-1.0</verAplic>");
	b4_buf_printf(&x, "<serie>%s</serie>", series);
	b4_buf_printf(&x, "<nDPS>%s</nDPS>", number);
	b4_buf_printf(&x, "<dCompet>%s</dCompet>", d->issued_day);
	b4_buf_puts(&x, "<tpEmit>1</tpEmit>");
	b4_buf_printf(&x, "<cLocEmi>%s</cLocEmi>", municipality);

	b4_buf_puts(&x, "<prest>");
	if (id[10] == '1')
		b4_buf_printf(&x, "<CPF>%.11s</CPF>", issuer + 3);
	else
		b4_buf_printf(&x, "<CNPJ>%s</CNPJ>", issuer);
	xml_element(&x, "xNome", worker_nfse_issuer_name);
	b4_buf_puts(&x, "<regTrib><opSimpNac>1</opSimpNac><regEspTrib>0</regEspTrib></regTrib>");
	b4_buf_puts(&x, "</prest>");

	b4_buf_puts(&x, "<toma>");
	xml_element(&x, d->taker_type, d->taker_document);
	xml_element(&x, "xNome", d->taker_name);
	xml_element(&x, "email", d->taker_email);
	b4_buf_puts(&x, "</toma>");

	b4_buf_puts(&x, "<serv>");
	b4_buf_printf(&x, "<locPrest><cLocPrestacao>%s</cLocPrestacao></locPrest>", municipality);
	b4_buf_puts(&x, "<cServ>");
	xml_element(&x, "cTribNac", worker_nfse_service_code);
	b4_buf_puts(&x, "<xDescServ>");
	xml_escape(&x, d->product_name);
	b4_buf_puts(&x, " - pedido ");
	xml_escape(&x, d->order_id);
	b4_buf_puts(&x, "</xDescServ>");
	b4_buf_puts(&x, "</cServ>");
	b4_buf_puts(&x, "</serv>");

	/* vServ less the unconditional discount is what the buyer paid */
	b4_buf_puts(&x, "<valores><vServPrest>");
	xml_money(&x, "vServ", d->subtotal_cents + d->interest_cents);
	b4_buf_puts(&x, "</vServPrest>");
	if (d->discount_cents > 0) {
		b4_buf_puts(&x, "<vDescCondIncond>");
		xml_money(&x, "vDescIncond", d->discount_cents);
		b4_buf_puts(&x, "</vDescCondIncond>");
	}
	b4_buf_puts(&x, "<trib><tribMun><tribISSQN>1</tribISSQN><tpRetISSQN>1</tpRetISSQN>"
			"</tribMun><totTrib><indTotTrib>0</indTotTrib></totTrib></trib>");
	b4_buf_puts(&x, "</valores>");
	b4_buf_puts(&x, "</infDPS></DPS>\n");
	if (b4_buf_failed(&x)) {
		b4_buf_cleanup(&x);
		return NULL;
	}
	return b4_buf_steal(&x, len);
}

/* ---- the claim ----------------------------------------------------------- */

enum claim_outcome {
	CLAIM_ISSUED,	 /* the invoice row exists (now or before) */
	CLAIM_NOT_FOUND, /* no such order */
	CLAIM_NOT_PAID,	 /* never paid: the job should not exist */
	CLAIM_SKIPPED,	 /* refunded/charged back before the invoice */
	CLAIM_WAIT,	 /* guarantee period not over yet */
	CLAIM_DUPLICATE, /* a concurrent run inserted it first */
};

struct claim {
	const char *order_id;
	enum claim_outcome outcome;
	int64_t wait_seconds;
	char status[32];
};

/* The series' next number, moved on in one statement that hands the new
 * value back (LAST_INSERT_ID(expr)); the row is created the first time.
 * Taken just before the invoice's insert: every invoice updates this one
 * row, locked from here to the commit.  The number, or -1. */
static int64_t take_number(struct b4_db *db, const char *series)
{
	for (int pass = 0; pass < 2; pass++) {
		int64_t n = b4_db_exec(db,
				       "UPDATE invoice_sequences"
				       " SET next_number = LAST_INSERT_ID(next_number + 1)"
				       " WHERE series = ?",
				       "s", series);
		if (n < 0)
			return -1;
		if (n == 1) {
			int64_t next = (int64_t)b4_db_insert_id(db);
			return next >= 2 ? next - 1 : -1;
		}
		if (pass == 0 &&
		    b4_db_exec(db, "INSERT IGNORE INTO invoice_sequences (series) VALUES (?)", "s",
			       series) < 0)
			return -1;
	}
	return -1;
}

static int claim_tx(struct b4_db *db, void *arg)
{
	struct claim *c = arg;
	struct b4_db_result *res;
	char invoice_id[37], dps_id[DPS_ID_LEN + 1], series[6];
	int64_t number, total_cents;
	bool has_paid_at;

	res = b4_db_query(db, "SELECT 1 FROM invoices WHERE order_id = ?", "s", c->order_id);
	if (!res)
		return -1;
	if (b4_db_rows(res) > 0) {
		b4_db_result_free(res);
		c->outcome = CLAIM_ISSUED;
		return 0;
	}
	b4_db_result_free(res);

	res = b4_db_query(db,
			  "SELECT o.status, o.paid_at IS NOT NULL, o.total_cents, p.invoice_on,"
			  " TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(6),"
			  "  o.paid_at + INTERVAL p.guarantee_days DAY)"
			  " FROM orders o JOIN products p ON p.id = o.product_id"
			  " WHERE o.id = ?",
			  "s", c->order_id);
	if (!res)
		return -1;
	if (b4_db_rows(res) == 0) {
		b4_db_result_free(res);
		c->outcome = CLAIM_NOT_FOUND;
		return 0;
	}
	snprintf(c->status, sizeof(c->status), "%s", b4_db_str(res, 0, 0));
	has_paid_at = b4_db_i64(res, 0, 1) != 0;
	total_cents = b4_db_i64(res, 0, 2);
	c->wait_seconds = b4_db_i64(res, 0, 4);
	if (strcmp(c->status, "paid") != 0) {
		c->outcome = has_paid_at ? CLAIM_SKIPPED : CLAIM_NOT_PAID;
		b4_db_result_free(res);
		return 0;
	}
	if (strcmp(b4_db_str(res, 0, 3), "guarantee_end") == 0 && c->wait_seconds > 0) {
		c->outcome = CLAIM_WAIT;
		b4_db_result_free(res);
		return 0;
	}
	b4_db_result_free(res);

	snprintf(series, sizeof(series), "%05lld", (long long)worker_nfse_series);
	number = take_number(db, series);
	if (number < 1 || number > 999999999999999LL)
		return -1;

	snprintf(dps_id, sizeof(dps_id), "DPS%s%c%s%s%015lld", worker_nfse_municipality,
		 issuer_type_digit, issuer_id_document, series, (long long)number);
	if (b4_crypto_uuid7(invoice_id) < 0)
		return -1;
	if (b4_db_exec(db,
		       "INSERT INTO invoices (id, order_id, dps_id, amount_cents, storage_key)"
		       " VALUES (?, ?, ?, ?, CONCAT('invoices/', ?, '.xml'))",
		       "sssis", invoice_id, c->order_id, dps_id, total_cents, c->order_id) < 0) {
		if (b4_db_is_duplicate(db))
			c->outcome = CLAIM_DUPLICATE;
		return -1;
	}
	c->outcome = CLAIM_ISSUED;
	return 0;
}

/* Reads what the document says from the committed invoice and order. */
static int load_dps_data(struct b4_db *db, const char *order_id, struct dps_data *d, char *err,
			 size_t errcap)
{
	struct b4_db_result *res;
	char normalized[B4_BR_CNPJ_LEN + 1];
	enum b4_br_document_type type;
	int rc = -1;

	res = b4_db_query(db,
			  "SELECT i.dps_id, DATE_FORMAT(i.created_at, '%Y-%m-%dT%H:%i:%s'),"
			  " DATE_FORMAT(i.created_at, '%Y-%m-%d'), o.subtotal_cents,"
			  " o.discount_cents, o.interest_cents, o.total_cents, c.document_enc,"
			  " c.document_type, c.full_name, c.email, p.name"
			  " FROM invoices i JOIN orders o ON o.id = i.order_id"
			  " JOIN customers c ON c.id = o.customer_id"
			  " JOIN products p ON p.id = o.product_id WHERE i.order_id = ?",
			  "s", order_id);
	if (!res) {
		snprintf(err, errcap, "database: %s", b4_db_error(db));
		return -1;
	}
	if (b4_db_rows(res) == 0) {
		snprintf(err, errcap, "invoice row vanished");
		goto out_free_result;
	}
	snprintf(d->order_id, sizeof(d->order_id), "%s", order_id);
	snprintf(d->dps_id, sizeof(d->dps_id), "%s", b4_db_str(res, 0, 0));
	snprintf(d->issued_at, sizeof(d->issued_at), "%s", b4_db_str(res, 0, 1));
	snprintf(d->issued_day, sizeof(d->issued_day), "%s", b4_db_str(res, 0, 2));
	d->subtotal_cents = b4_db_i64(res, 0, 3);
	d->discount_cents = b4_db_i64(res, 0, 4);
	d->interest_cents = b4_db_i64(res, 0, 5);
	d->total_cents = b4_db_i64(res, 0, 6);
	if (strlen(d->dps_id) != DPS_ID_LEN) {
		snprintf(err, errcap, "stored DPS id is malformed");
		goto out_free_result;
	}
	d->taker_document = b4_pii_decrypt("customers.document_enc", b4_db_str(res, 0, 7));
	if (!d->taker_document) {
		snprintf(err, errcap, "the taker document cannot be decrypted (B4_FIELD_KEYS)");
		goto out_free_result;
	}
	if (b4_br_document_normalize(d->taker_document, normalized, sizeof(normalized), &type) <
	    0) {
		snprintf(err, errcap, "the taker document is not a valid CPF or CNPJ");
		goto out_free_result;
	}
	/* normalized is never longer than the decrypted text */
	memcpy(d->taker_document, normalized, strlen(normalized) + 1);
	snprintf(d->taker_type, sizeof(d->taker_type), "%s",
		 type == B4_BR_DOCUMENT_CPF ? "CPF" : "CNPJ");
	d->taker_name = strdup(b4_db_str(res, 0, 9));
	d->taker_email = strdup(b4_db_str(res, 0, 10));
	d->product_name = strdup(b4_db_str(res, 0, 11));
	if (!d->taker_name || !d->taker_email || !d->product_name) {
		snprintf(err, errcap, "out of memory");
		goto out_free_result;
	}
	rc = 0;
out_free_result:
	b4_db_result_free(res);
	return rc;
}

bool worker_id_is_valid(const char *id, size_t max_len)
{
	size_t len = strlen(id);

	if (len == 0 || len > max_len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

int invoice_issue_job(struct worker_ctx *ctx, const struct b4_job *job, char *err, size_t errcap)
{
	struct claim claim = {0};
	struct dps_data data = {0};
	struct b4_storage *st;
	const cJSON *order_item;
	cJSON *payload = cJSON_Parse(job->payload ? job->payload : "");
	char key[80], order_id[40];
	char *xml = NULL;
	size_t xml_len = 0;
	int exists, rc = WORKER_RETRY;

	order_item = payload ? cJSON_GetObjectItemCaseSensitive(payload, "order_id") : NULL;
	if (!cJSON_IsString(order_item) || !worker_id_is_valid(order_item->valuestring, 36)) {
		snprintf(err, errcap, "payload needs order_id (a UUID)");
		cJSON_Delete(payload);
		return WORKER_FATAL;
	}
	snprintf(order_id, sizeof(order_id), "%s", order_item->valuestring);
	cJSON_Delete(payload);
	claim.order_id = order_id;
	if (!ctx->db) {
		snprintf(err, errcap, "no database");
		return WORKER_RETRY;
	}
	st = b4_storage_default();
	if (!st) {
		snprintf(err, errcap, "storage not configured (B4_STORAGE ...)");
		return WORKER_RETRY;
	}

	if (b4_db_tx(ctx->db, claim_tx, &claim) < 0) {
		if (claim.outcome != CLAIM_DUPLICATE) {
			snprintf(err, errcap, "database: %s", b4_db_error(ctx->db));
			return WORKER_RETRY;
		}
		claim.outcome = CLAIM_ISSUED; /* another run holds it: finish its object */
	}
	switch (claim.outcome) {
	case CLAIM_NOT_FOUND:
		snprintf(err, errcap, "order %s not found", order_id);
		return WORKER_FATAL;
	case CLAIM_NOT_PAID:
		snprintf(err, errcap, "order %s is not paid (%s)", order_id, claim.status);
		return WORKER_FATAL;
	case CLAIM_SKIPPED:
		b4_log_info("invoice not issued: order no longer paid", B4_LS("order_id", order_id),
			    B4_LS("status", claim.status));
		return WORKER_DONE;
	case CLAIM_WAIT:
		ctx->retry_seconds = (double)claim.wait_seconds + 1;
		snprintf(err, errcap, "invoice waits for the end of the guarantee (%lld s)",
			 (long long)claim.wait_seconds);
		return WORKER_RETRY;
	case CLAIM_ISSUED:
	case CLAIM_DUPLICATE:
		break;
	}

	snprintf(key, sizeof(key), "invoices/%s.xml", order_id);
	exists = b4_storage_exists(st, key);
	if (exists == 1)
		return WORKER_DONE; /* issued by an earlier run */
	if (exists < 0) {
		snprintf(err, errcap, "storage unavailable");
		return WORKER_RETRY;
	}
	if (load_dps_data(ctx->db, order_id, &data, err, errcap) < 0)
		goto out_cleanup;
	xml = dps_xml(&data, &xml_len);
	if (!xml) {
		snprintf(err, errcap, "out of memory");
		goto out_cleanup;
	}
	if (b4_storage_put(st, key, xml, xml_len, "application/xml") < 0) {
		snprintf(err, errcap, "storage put failed");
		goto out_free_xml;
	}
	b4_log_info("invoice issued", B4_LS("order_id", order_id), B4_LS("dps_id", data.dps_id),
		    B4_LI("amount_cents", data.total_cents), B4_LS("storage_key", key));
	rc = WORKER_DONE;
out_free_xml:
	b4_crypto_secret_free(xml, xml_len); /* it holds the taker's document */
out_cleanup:
	dps_data_cleanup(&data);
	return rc;
}
