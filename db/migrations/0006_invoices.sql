-- The invoice engine: invoices, their items (outstanding until claimed),
-- per-resource activities, plan renewals, and gap-free numbering.

ALTER TABLE accounts
  ADD COLUMN billing_anchor DATETIME NULL,
  ADD COLUMN invoice_seq BIGINT NOT NULL DEFAULT 0;

CREATE TABLE invoices (
  id               BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id       BIGINT        NOT NULL,
  seq              BIGINT        NOT NULL,
  number           VARCHAR(32)   NOT NULL,
  status           VARCHAR(16)   NOT NULL,
  kind             VARCHAR(16)   NOT NULL,
  currency         CHAR(3)       NOT NULL,
  total            BIGINT        NOT NULL,
  period_start     DATETIME      NULL,
  period_end       DATETIME      NULL,
  expires_at       DATETIME      NULL,
  paid_at          DATETIME      NULL,
  paid_via         VARCHAR(16)   NULL,
  subscription_id  BIGINT        NULL,
  -- One renewal invoice per subscription cycle: "renew:SUB:RUN:START".
  cycle_key        VARCHAR(191)  NULL,
  cascade_done     TINYINT       NOT NULL DEFAULT 0,
  created_at       DATETIME      NOT NULL,
  UNIQUE KEY uk_invoices_number (account_id, seq),
  UNIQUE KEY uk_invoices_cycle (cycle_key),
  KEY k_invoices_account (account_id, id),
  KEY k_invoices_due (status, expires_at),
  CONSTRAINT fk_invoices_account FOREIGN KEY (account_id) REFERENCES accounts (id),
  CONSTRAINT ck_invoices_status CHECK (status IN ('pending', 'paid',
    'expired', 'void')),
  CONSTRAINT ck_invoices_total CHECK (total > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- An item is outstanding while invoice_id is NULL.  source_key is the
-- natural key of what caused it ("activity:ID", "renewal:ACC:RES:START",
-- "sub:...") so each cause yields one item.
CREATE TABLE invoice_items (
  id            BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id    BIGINT        NOT NULL,
  invoice_id    BIGINT        NULL,
  description   VARCHAR(500)  NOT NULL,
  amount        BIGINT        NOT NULL,
  resource_id   VARCHAR(255)  NULL,
  plan          VARCHAR(63)   NULL,
  source_key    VARCHAR(191)  NULL,
  created_at    DATETIME      NOT NULL,
  UNIQUE KEY uk_invoice_items_source (source_key),
  KEY k_invoice_items_open (account_id, invoice_id),
  KEY k_invoice_items_invoice (invoice_id),
  CONSTRAINT fk_invoice_items_account FOREIGN KEY (account_id) REFERENCES accounts (id),
  CONSTRAINT fk_invoice_items_invoice FOREIGN KEY (invoice_id) REFERENCES invoices (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- The life of each resource as the app reports it; idempotent by
-- (account, resource, type, at).
CREATE TABLE activities (
  id           BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id   BIGINT        NOT NULL,
  resource_id  VARCHAR(255)  NOT NULL,
  type         VARCHAR(16)   NOT NULL,
  plan         VARCHAR(63)   NULL,
  at           DATETIME      NOT NULL,
  created_at   DATETIME      NOT NULL,
  UNIQUE KEY uk_activities (account_id, resource_id, type, at),
  KEY k_activities_account (account_id, at, id),
  CONSTRAINT fk_activities_account FOREIGN KEY (account_id) REFERENCES accounts (id),
  CONSTRAINT ck_activities_type CHECK (type IN ('create', 'update',
    'activate', 'deactivate'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Each (account, period start) is renewed once, whatever runs in parallel.
CREATE TABLE plan_renewals (
  account_id    BIGINT    NOT NULL,
  period_start  DATETIME  NOT NULL,
  created_at    DATETIME  NOT NULL,
  PRIMARY KEY (account_id, period_start),
  CONSTRAINT fk_plan_renewals_account FOREIGN KEY (account_id) REFERENCES accounts (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

ALTER TABLE payments
  DROP CONSTRAINT ck_payments_status,
  ADD CONSTRAINT ck_payments_status CHECK (status IN ('succeeded', 'declined',
    'requires_action', 'error', 'skipped'));
