-- Accounts, the credit ledger, idempotency keys, the audit log, purchases.
-- Times are UTC DATETIMEs; money and credits are BIGINT minor units.

CREATE TABLE accounts (
  id              BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id         VARCHAR(255) NOT NULL,
  email           VARCHAR(320) NULL,
  locale          VARCHAR(15)  NULL,
  balance         BIGINT       NOT NULL DEFAULT 0,
  signup_granted  TINYINT      NOT NULL DEFAULT 0,
  created_at      DATETIME     NOT NULL,
  updated_at      DATETIME     NOT NULL,
  UNIQUE KEY uk_accounts_user (user_id),
  KEY k_accounts_email (email),
  CONSTRAINT ck_accounts_balance CHECK (balance >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Every balance change is one row here, written in the same transaction.
-- effect_key is the natural key of the effect that caused it ("refund:42",
-- later "purchase:7", "sub:3:2026-11-01"): the database, not luck, keeps
-- each effect to one row.
CREATE TABLE ledger (
  id             BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id     BIGINT       NOT NULL,
  kind           VARCHAR(24)  NOT NULL,
  amount         BIGINT       NOT NULL,
  balance_after  BIGINT       NOT NULL,
  operation      VARCHAR(100) NULL,
  description    VARCHAR(500) NULL,
  effect_key     VARCHAR(191) NULL,
  created_at     DATETIME     NOT NULL,
  UNIQUE KEY uk_ledger_effect (effect_key),
  KEY k_ledger_account (account_id, id),
  CONSTRAINT fk_ledger_account FOREIGN KEY (account_id) REFERENCES accounts (id),
  CONSTRAINT ck_ledger_kind CHECK (kind IN ('purchase', 'usage', 'refund',
    'gift_sent', 'gift_received', 'gift_refund', 'subscription',
    'invoice_payment', 'adjustment', 'grant')),
  CONSTRAINT ck_ledger_balance CHECK (balance_after >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Stored responses of POSTs sent with Idempotency-Key, for 24 hours.
CREATE TABLE idempotency_keys (
  caller        VARCHAR(300)  NOT NULL,
  idem_key      VARCHAR(255)  NOT NULL,
  request_hash  CHAR(64)      NOT NULL,
  status        SMALLINT      NOT NULL,
  response      MEDIUMTEXT    NOT NULL,
  created_at    DATETIME      NOT NULL,
  PRIMARY KEY (caller, idem_key),
  KEY k_idempotency_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE audit_log (
  id          BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
  actor       VARCHAR(100)  NOT NULL,
  action      VARCHAR(64)   NOT NULL,
  target      VARCHAR(255)  NOT NULL,
  details     TEXT          NOT NULL,
  created_at  DATETIME      NOT NULL,
  KEY k_audit_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Credit package purchases (card and Lightning providers fill them in).
CREATE TABLE purchases (
  id            BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id    BIGINT       NOT NULL,
  package       VARCHAR(63)  NOT NULL,
  credits       BIGINT       NOT NULL,
  amount        BIGINT       NOT NULL,
  currency      CHAR(3)      NOT NULL,
  method        VARCHAR(16)  NOT NULL,
  status        VARCHAR(16)  NOT NULL,
  provider_ref  VARCHAR(255) NULL,
  created_at    DATETIME     NOT NULL,
  completed_at  DATETIME     NULL,
  KEY k_purchases_account (account_id, id),
  UNIQUE KEY uk_purchases_provider (method, provider_ref),
  CONSTRAINT fk_purchases_account FOREIGN KEY (account_id) REFERENCES accounts (id),
  CONSTRAINT ck_purchases_status CHECK (status IN ('pending', 'succeeded',
    'failed', 'expired'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
