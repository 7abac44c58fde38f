-- Coupons: what an operator offers (percent or amount off, for which
-- products, plans and packages, for how many periods, how often, until
-- when), each account's redemption of one, the discount lines they put on
-- invoices, and the bonus credits they add to credit purchases.

CREATE TABLE coupons (
  id                BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
  -- as the operator wrote it, in capitals ("SUMMER-20")
  code              VARCHAR(32)   NOT NULL,
  -- what is compared: capitals without dashes and spaces ("SUMMER20")
  code_key          VARCHAR(32)   NOT NULL,
  name              VARCHAR(200)  NULL,
  percent_off       BIGINT        NULL,
  amount_off        BIGINT        NULL,
  currency          CHAR(3)       NOT NULL,
  -- space-separated "product:ID", "plan:ID", "package:ID"; NULL: all
  applies_to        VARCHAR(4000) NULL,
  duration          VARCHAR(16)   NOT NULL,
  duration_periods  BIGINT        NULL,
  max_redemptions   BIGINT        NULL,
  times_redeemed    BIGINT        NOT NULL DEFAULT 0,
  expires_at        DATETIME      NULL,
  active            TINYINT       NOT NULL DEFAULT 1,
  created_by        VARCHAR(100)  NOT NULL,
  created_at        DATETIME      NOT NULL,
  deactivated_at    DATETIME      NULL,
  UNIQUE KEY uk_coupons_code (code_key),
  CONSTRAINT ck_coupons_kind CHECK ((percent_off IS NULL) <> (amount_off IS NULL)),
  CONSTRAINT ck_coupons_percent CHECK (percent_off IS NULL OR
    (percent_off >= 1 AND percent_off <= 100)),
  CONSTRAINT ck_coupons_amount CHECK (amount_off IS NULL OR amount_off > 0),
  CONSTRAINT ck_coupons_duration CHECK (duration IN ('once', 'repeating',
    'forever')),
  CONSTRAINT ck_coupons_redeemed CHECK (max_redemptions IS NULL OR
    times_redeemed <= max_redemptions)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- One redemption of a coupon per account: on an invoice subscription
-- (subscription_id), on the account's per-resource plans (target 'plans'),
-- or on a credit purchase (purchase_id).  periods_used counts the billing
-- periods it discounted; last_period is the start of the last one.
CREATE TABLE coupon_redemptions (
  id               BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
  coupon_id        BIGINT        NOT NULL,
  account_id       BIGINT        NOT NULL,
  target           VARCHAR(16)   NOT NULL,
  subscription_id  BIGINT        NULL,
  product          VARCHAR(63)   NULL,
  purchase_id      BIGINT        NULL,
  status           VARCHAR(16)   NOT NULL,
  periods_used     BIGINT        NOT NULL DEFAULT 0,
  last_period      BIGINT        NOT NULL DEFAULT 0,
  created_at       DATETIME      NOT NULL,
  ended_at         DATETIME      NULL,
  UNIQUE KEY uk_coupon_redemptions (coupon_id, account_id),
  KEY k_coupon_redemptions_account (account_id, status),
  KEY k_coupon_redemptions_sub (subscription_id, status),
  KEY k_coupon_redemptions_purchase (purchase_id),
  CONSTRAINT fk_coupon_redemptions_coupon FOREIGN KEY (coupon_id) REFERENCES coupons (id),
  CONSTRAINT fk_coupon_redemptions_account FOREIGN KEY (account_id) REFERENCES accounts (id),
  CONSTRAINT ck_coupon_redemptions_target CHECK (target IN ('subscription',
    'plans', 'purchase')),
  CONSTRAINT ck_coupon_redemptions_status CHECK (status IN ('active',
    'ended'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- A discount line names its redemption (NULL for every other line).
ALTER TABLE invoice_items
  ADD COLUMN redemption_id BIGINT NULL,
  ADD KEY k_invoice_items_redemption (redemption_id);

-- A fully discounted invoice has a total of 0 (and is paid at once).
ALTER TABLE invoices
  DROP CONSTRAINT ck_invoices_total,
  ADD CONSTRAINT ck_invoices_total CHECK (total >= 0);

-- The bonus a coupon adds to a credit purchase, credited with it.
ALTER TABLE purchases
  ADD COLUMN bonus_credits BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN coupon_code VARCHAR(32) NULL;

ALTER TABLE ledger
  DROP CONSTRAINT ck_ledger_kind,
  ADD CONSTRAINT ck_ledger_kind CHECK (kind IN ('purchase', 'usage',
    'refund', 'gift_sent', 'gift_received', 'gift_refund', 'subscription',
    'invoice_payment', 'adjustment', 'grant', 'bonus'));
