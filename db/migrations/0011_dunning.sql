-- Dunning: the scheduled retries of an invoice whose automatic payment
-- (the cascade of the plan-billing job) failed.
--
-- One row per invoice in dunning, written in the cascade's transaction
-- when it fails.  failed_at is day 0 of billing.dunning_days; attempt is
-- the last retry made (0: none yet); next_at is when the next one is
-- due (NULL: none left), which the dunning job claims with SKIP LOCKED;
-- planned is how many retries the schedule held when it started (those
-- before the invoice's expiry).  reason is the last failure's, as the
-- customer was told.
CREATE TABLE dunning (
  invoice_id  BIGINT        NOT NULL PRIMARY KEY,
  failed_at   DATETIME      NOT NULL,
  attempt     INT           NOT NULL DEFAULT 0,
  planned     INT           NOT NULL,
  next_at     DATETIME      NULL,
  state       VARCHAR(16)   NOT NULL,
  reason      VARCHAR(255)  NOT NULL,
  updated_at  DATETIME      NOT NULL,
  KEY k_dunning_due (next_at),
  CONSTRAINT fk_dunning_invoice FOREIGN KEY (invoice_id) REFERENCES invoices (id),
  CONSTRAINT ck_dunning_state CHECK (state IN ('retrying', 'paid', 'expired',
    'exhausted', 'closed'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Each retry once: the row is taken (invoice, attempt) before the
-- payment is tried, in the same transaction as its payments row, its
-- email and the invoice's new state.
CREATE TABLE dunning_attempts (
  invoice_id  BIGINT        NOT NULL,
  attempt     INT           NOT NULL,
  result      VARCHAR(16)   NOT NULL,
  method      VARCHAR(16)   NULL,
  reason      VARCHAR(255)  NULL,
  created_at  DATETIME      NOT NULL,
  PRIMARY KEY (invoice_id, attempt),
  CONSTRAINT fk_dunning_attempts_invoice FOREIGN KEY (invoice_id) REFERENCES invoices (id),
  CONSTRAINT ck_dunning_attempts_result CHECK (result IN ('started', 'paid',
    'failed'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
