-- Lightning payments through BTCPay Server, shared by credit purchases and
-- invoices: one row per BTCPay invoice, the subject it pays, and where the
-- payer pays it.

CREATE TABLE lightning_payments (
  btcpay_invoice  VARCHAR(255)   NOT NULL PRIMARY KEY,
  subject_type    VARCHAR(16)    NOT NULL,
  subject_id      BIGINT         NOT NULL,
  account_id      BIGINT         NOT NULL,
  amount          BIGINT         NOT NULL,
  currency        CHAR(3)        NOT NULL,
  bolt11          VARCHAR(4096)  NOT NULL,
  checkout_url    VARCHAR(1024)  NOT NULL,
  status          VARCHAR(16)    NOT NULL DEFAULT 'new',
  expires_at      DATETIME       NOT NULL,
  created_at      DATETIME       NOT NULL,
  KEY k_lightning_subject (subject_type, subject_id, created_at),
  KEY k_lightning_open (status, created_at),
  CONSTRAINT fk_lightning_account FOREIGN KEY (account_id) REFERENCES accounts (id),
  CONSTRAINT ck_lightning_subject CHECK (subject_type IN ('purchase', 'invoice')),
  CONSTRAINT ck_lightning_status CHECK (status IN ('new', 'settled',
    'expired', 'invalid'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
