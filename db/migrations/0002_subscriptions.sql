-- Subscriptions (credit and invoice billed) and the email outbox.

CREATE TABLE subscriptions (
  id                    BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id            BIGINT       NOT NULL,
  product               VARCHAR(63)  NOT NULL,
  status                VARCHAR(24)  NOT NULL,
  billing_interval      VARCHAR(16)  NOT NULL,
  -- Periods are computed from the anchor, never by adding days: the
  -- current run started at anchor_at and the current period ends
  -- end_months calendar months after it.
  anchor_at             DATETIME     NOT NULL,
  end_months            INT          NOT NULL,
  -- Counts the runs (activations that charge); part of each charge's
  -- effect key, so a run restarted within the same second is charged too.
  run_no                INT          NOT NULL DEFAULT 1,
  current_period_start  DATETIME     NOT NULL,
  current_period_end    DATETIME     NOT NULL,
  next_charge_at        DATETIME     NULL,
  cancel_at_period_end  TINYINT      NOT NULL DEFAULT 0,
  paused_at             DATETIME     NULL,
  ended_at              DATETIME     NULL,
  created_at            DATETIME     NOT NULL,
  updated_at            DATETIME     NOT NULL,
  UNIQUE KEY uk_subscriptions_account_product (account_id, product),
  KEY k_subscriptions_due (status, next_charge_at),
  CONSTRAINT fk_subscriptions_account FOREIGN KEY (account_id) REFERENCES accounts (id),
  CONSTRAINT ck_subscriptions_status CHECK (status IN ('active', 'paused',
    'canceled', 'expired', 'pending_activation')),
  CONSTRAINT ck_subscriptions_interval CHECK (billing_interval IN ('monthly',
    'quarterly', 'yearly'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Emails, written in the same transaction as the change they announce and
-- delivered by the scheduler.  dedupe_key names the notice (kind, object,
-- period or event) so the same notice is never queued twice.
CREATE TABLE outbox (
  id               BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
  dedupe_key       VARCHAR(191)  NOT NULL,
  template         VARCHAR(32)   NOT NULL,
  locale           VARCHAR(15)   NOT NULL,
  recipient        VARCHAR(320)  NOT NULL,
  params           TEXT          NOT NULL,
  status           VARCHAR(16)   NOT NULL DEFAULT 'pending',
  attempts         INT           NOT NULL DEFAULT 0,
  next_attempt_at  DATETIME      NOT NULL,
  last_error       VARCHAR(500)  NULL,
  created_at       DATETIME      NOT NULL,
  sent_at          DATETIME      NULL,
  UNIQUE KEY uk_outbox_dedupe (dedupe_key),
  KEY k_outbox_due (status, next_attempt_at),
  CONSTRAINT ck_outbox_status CHECK (status IN ('pending', 'sent', 'failed'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
