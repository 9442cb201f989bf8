/* invoice.h - NFS-e service invoices (job "invoice.issue") and the CSV
 * export of orders (job "report.export"); see invoice.c and export.c. */
#ifndef WORKERS_INVOICE_H
#define WORKERS_INVOICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handlers.h"

/* Settings of the NFS-e issuer (targets of worker_handler_opts[]). */
extern const char *worker_nfse_issuer_document; /* B4_NFSE_ISSUER_CNPJ (CNPJ or CPF) */
extern const char *worker_nfse_issuer_name;	/* B4_NFSE_ISSUER_NAME */
extern const char *worker_nfse_municipality;	/* B4_NFSE_MUNICIPALITY, IBGE 7 digits */
extern const char *worker_nfse_service_code;	/* B4_NFSE_SERVICE_CODE, cTribNac 6 digits */
extern int64_t worker_nfse_series;		/* B4_NFSE_SERIES, 1..99999 */
extern int64_t worker_nfse_environment;		/* B4_NFSE_ENVIRONMENT, 1 prod, 2 homologation */

/* Checks the issuer settings, loads the PII keys (the taker's document is
 * decrypted) and the storage settings.  -1 (one line printed) stops
 * start-up. */
int invoice_init(const struct b4_settings *settings);

/* "invoice.issue" {"order_id"}: writes the order's DPS XML to storage under
 * invoices/<order_id>.xml and records one invoices row.  Idempotent: a
 * second run for the same order issues nothing new.  Orders whose product
 * says invoice_on=guarantee_end wait (WORKER_RETRY with retry_seconds)
 * until paid_at + guarantee_days. */
b4_job_fn invoice_issue_job;

/* "invoice.cancel" {"order_id"} (invoice_cancel.c): after a full refund or
 * a chargeback, writes the cancellation event of the order's NFS-e to
 * storage (invoices/<order_id>-cancel.xml) and marks the invoice
 * cancelled.  Idempotent; nothing issued, nothing to do. */
b4_job_fn invoice_cancel_job;

/* Checks the storage settings (S3 in production; invoice.issue shares
 * them).  -1 (one line printed) stops start-up. */
int report_init(const struct b4_settings *settings);

/* "report.export" {"report_id", "filters": {status, payment_method,
 * producer_id, affiliate_id, email, from, to}}: writes the matching orders
 * as CSV to reports/<report_id>.csv and marks the reports row done. */
b4_job_fn report_export_job;

/* Is id 1..max_len characters of [A-Za-z0-9_-] (an id that is safe in a
 * storage key or a URL path)? */
bool worker_id_is_valid(const char *id, size_t max_len);

#endif
