-- Lightning auto-pay over Nostr Wallet Connect: one attempt per invoice,
-- reused by every later run (the same BTCPay invoice and BOLT11, the same
-- signed request event, so a re-run after a crash asks the wallet the
-- very same thing and never makes a second payment).  request_event is
-- the signed kind-23194 event as sent: its content is encrypted to the
-- wallet and it holds no secret.
CREATE TABLE nwc_attempts (
  invoice_id      BIGINT        NOT NULL PRIMARY KEY,
  account_id      BIGINT        NOT NULL,
  btcpay_invoice  VARCHAR(255)  NOT NULL,
  request_id      CHAR(64)      NULL,
  request_event   MEDIUMTEXT    NULL,
  status          VARCHAR(16)   NOT NULL DEFAULT 'new',
  message         VARCHAR(500)  NULL,
  created_at      DATETIME      NOT NULL,
  updated_at      DATETIME      NOT NULL,
  UNIQUE KEY uk_nwc_attempts_request (request_id),
  KEY k_nwc_attempts_btcpay (btcpay_invoice),
  CONSTRAINT fk_nwc_attempts_invoice FOREIGN KEY (invoice_id) REFERENCES invoices (id),
  CONSTRAINT fk_nwc_attempts_account FOREIGN KEY (account_id) REFERENCES accounts (id),
  -- new: BOLT11 chosen; sent: the event stored and (maybe) published;
  -- answered: the wallet said paid, BTCPay has not settled yet;
  -- failed: the wallet refused or did not answer; settled: BTCPay settled.
  CONSTRAINT ck_nwc_attempts_status CHECK (status IN ('new', 'sent',
    'answered', 'failed', 'settled'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
