-- Gift codes and the failed-redemption counter behind the brute-force guard.

CREATE TABLE gifts (
  id                  BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
  code                CHAR(18)      NOT NULL,
  creator_account_id  BIGINT        NOT NULL,
  credits             BIGINT        NOT NULL,
  type                VARCHAR(16)   NOT NULL,
  -- trimmed and lower-cased; compared, never shown publicly
  target_email        VARCHAR(320)  NULL,
  message             VARCHAR(500)  NULL,
  status              VARCHAR(16)   NOT NULL,
  redeemed_by         BIGINT        NULL,
  created_at          DATETIME      NOT NULL,
  redeemed_at         DATETIME      NULL,
  canceled_at         DATETIME      NULL,
  UNIQUE KEY uk_gifts_code (code),
  KEY k_gifts_creator (creator_account_id, id),
  KEY k_gifts_redeemer (redeemed_by, id),
  KEY k_gifts_target (target_email, status),
  CONSTRAINT fk_gifts_creator FOREIGN KEY (creator_account_id) REFERENCES accounts (id),
  CONSTRAINT fk_gifts_redeemer FOREIGN KEY (redeemed_by) REFERENCES accounts (id),
  CONSTRAINT ck_gifts_credits CHECK (credits > 0),
  CONSTRAINT ck_gifts_type CHECK (type IN ('simple', 'personalized')),
  CONSTRAINT ck_gifts_status CHECK (status IN ('active', 'redeemed', 'canceled'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE gift_redeem_failures (
  id          BIGINT    NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id  BIGINT    NOT NULL,
  failed_at   DATETIME  NOT NULL,
  KEY k_gift_failures_account (account_id, failed_at),
  KEY k_gift_failures_time (failed_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
