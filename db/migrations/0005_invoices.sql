-- 0005_invoices.sql: NFS-e numbering and CSV report exports.
--
-- invoice_sequences hands out DPS numbers per series: the invoice job locks
-- the series row (SELECT ... FOR UPDATE), takes next_number and inserts the
-- invoice in the same transaction, so numbers are unique, gap-free on
-- success and never reused (uq_invoices_dps also guards it).  An order gets
-- its number once: a later run finds the invoice row (uq_invoices_order).

CREATE TABLE invoice_sequences (
  series       CHAR(5) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  next_number  BIGINT UNSIGNED NOT NULL DEFAULT 1,
  updated_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (series),
  CONSTRAINT ck_invoice_sequences_number CHECK (next_number BETWEEN 1 AND 999999999999999)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- CSV exports of orders for the back-office ("report.export" job).
CREATE TABLE reports (
  id           CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  kind         VARCHAR(32) CHARACTER SET ascii NOT NULL DEFAULT 'orders',
  status       ENUM('pending','running','done','failed') NOT NULL DEFAULT 'pending',
  storage_key  VARCHAR(512) NULL,
  filters      JSON NULL,
  row_count    BIGINT UNSIGNED NULL,
  error        VARCHAR(255) NULL,
  created_by   CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  created_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  finished_at  DATETIME(6) NULL,
  PRIMARY KEY (id),
  KEY ix_reports_status (status, id),
  KEY ix_reports_creator (created_by, id),
  CONSTRAINT fk_reports_creator FOREIGN KEY (created_by) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
