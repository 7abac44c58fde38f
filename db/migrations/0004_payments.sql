-- Card and Lightning payments: purchase details, saved payment methods,
-- webhook deduplication, and every provider payment attempt.

ALTER TABLE purchases
  ADD COLUMN checkout_url VARCHAR(1024) NULL,
  ADD COLUMN payment_ref VARCHAR(255) NULL,
  ADD COLUMN expires_at DATETIME NULL,
  ADD COLUMN refunded_amount BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN credits_reversed BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN credits_unrecovered BIGINT NOT NULL DEFAULT 0,
  ADD KEY k_purchases_payment (payment_ref),
  ADD KEY k_purchases_due (status, expires_at);

-- One row per account that has a provider customer or a saved method.
-- nwc_sealed is AES-256-GCM ciphertext (auth.encryption_key), never plain.
CREATE TABLE billing_profiles (
  account_id       BIGINT        NOT NULL PRIMARY KEY,
  stripe_customer  VARCHAR(255)  NULL,
  card_pm          VARCHAR(255)  NULL,
  card_brand       VARCHAR(32)   NULL,
  card_last4       CHAR(4)       NULL,
  nwc_sealed       TEXT          NULL,
  updated_at       DATETIME      NOT NULL,
  UNIQUE KEY uk_billing_profiles_customer (stripe_customer),
  CONSTRAINT fk_billing_profiles_account FOREIGN KEY (account_id) REFERENCES accounts (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- A webhook's effect commits with its row here: a redelivered event finds
-- its id taken and changes nothing.
CREATE TABLE webhook_events (
  provider     VARCHAR(16)   NOT NULL,
  event_id     VARCHAR(255)  NOT NULL,
  type         VARCHAR(64)   NOT NULL,
  received_at  DATETIME      NOT NULL,
  PRIMARY KEY (provider, event_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Every attempt to take money through a provider, keyed by the caller's
-- reference, which is also the provider's idempotency key.
CREATE TABLE payments (
  id            BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id    BIGINT        NOT NULL,
  reference     VARCHAR(191)  NOT NULL,
  method        VARCHAR(16)   NOT NULL,
  amount        BIGINT        NOT NULL,
  currency      CHAR(3)       NOT NULL,
  status        VARCHAR(24)   NOT NULL,
  provider_ref  VARCHAR(255)  NULL,
  message       VARCHAR(500)  NULL,
  created_at    DATETIME      NOT NULL,
  UNIQUE KEY uk_payments_reference (reference),
  KEY k_payments_account (account_id, id),
  CONSTRAINT fk_payments_account FOREIGN KEY (account_id) REFERENCES accounts (id),
  CONSTRAINT ck_payments_status CHECK (status IN ('succeeded', 'declined',
    'requires_action', 'error'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
