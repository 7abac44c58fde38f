-- Usage statistics: per account, UTC day and operation, how many debits
-- (uses) and how many credits they took, kept in the same transaction as
-- the debit (the routines below add one upsert to a debit; a refund of a
-- debit takes it back from the day and operation it counted for).
-- GET /credits/usage and /admin/usage read it; a year of a user's days is
-- at most 366 x operations rows, whatever the number of debits.
CREATE TABLE usage_daily (
  account_id  BIGINT        NOT NULL,
  day         DATE          NOT NULL,
  operation   VARCHAR(100)  NOT NULL,
  uses        BIGINT        NOT NULL,
  credits     BIGINT        NOT NULL,
  PRIMARY KEY (account_id, day, operation),
  KEY k_usage_day (day, operation),
  CONSTRAINT fk_usage_account FOREIGN KEY (account_id) REFERENCES accounts (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- What the ledger holds already: its debits, less those refunded.
INSERT INTO usage_daily (account_id, day, operation, uses, credits)
  SELECT u.account_id, DATE(u.created_at), COALESCE(u.operation, ''),
      COUNT(*), -SUM(u.amount)
    FROM ledger u
    WHERE u.kind = 'usage'
      AND NOT EXISTS (SELECT 1 FROM ledger r
        WHERE r.effect_key = CONCAT('refund:', u.id))
    GROUP BY u.account_id, DATE(u.created_at), COALESCE(u.operation, '');

-- Add uses and credits to an account's day (p_at, unix seconds, UTC) and
-- operation.
CREATE PROCEDURE tally_usage_add(
  IN p_account_id BIGINT,
  IN p_at         BIGINT,
  IN p_operation  VARCHAR(100),
  IN p_uses       BIGINT,
  IN p_credits    BIGINT)
BEGIN
  INSERT INTO usage_daily (account_id, day, operation, uses, credits)
    VALUES (p_account_id, DATE(FROM_UNIXTIME(p_at)),
      COALESCE(p_operation, ''), p_uses, p_credits)
    ON DUPLICATE KEY UPDATE uses = uses + VALUES(uses),
      credits = credits + VALUES(credits);
END;

-- tally_ledger_apply and tally_ledger_refund of migration 0007, with the
-- usage statistics added (the debit's fast path inlines the upsert: no
-- nested CALL on the hot path).
DROP PROCEDURE tally_ledger_apply;
DROP PROCEDURE tally_ledger_refund;

CREATE PROCEDURE tally_ledger_apply(
  IN p_account_id  BIGINT,
  IN p_user_id     VARCHAR(255),
  IN p_kind        VARCHAR(24),
  IN p_amount      BIGINT,
  IN p_operation   VARCHAR(100),
  IN p_description VARCHAR(500),
  IN p_effect_key  VARCHAR(191),
  IN p_now         BIGINT,
  IN p_email       VARCHAR(320),
  IN p_locale      VARCHAR(15),
  IN p_own_tx      TINYINT)
BEGIN
  DECLARE v_id      BIGINT DEFAULT NULL;
  DECLARE v_balance BIGINT DEFAULT 0;
  DECLARE v_status  INT DEFAULT 0;
  DECLARE v_tx      BIGINT DEFAULT 0;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    IF p_own_tx THEN ROLLBACK; END IF;
    RESIGNAL;
  END;

  IF p_own_tx THEN START TRANSACTION; END IF;
  IF p_effect_key IS NULL THEN
    -- The hot path (a debit): one UPDATE finds, checks and changes the
    -- row; the new balance and the row's id come back in session
    -- variables, assigned while this UPDATE holds the row lock.  Only a
    -- refusal pays for a second look, to say which refusal it is.  (Kept
    -- apart from tally_ledger_keyed on purpose: it saves the locking
    -- SELECT and a nested CALL on every debit.)
    SET @tally_id = NULL, @tally_balance = NULL;
    IF p_account_id IS NULL OR p_account_id = 0 THEN
      UPDATE accounts SET balance = (@tally_balance := balance + p_amount),
          email = IF(p_email IS NULL OR p_email = '', email, p_email),
          locale = IF(p_locale IS NULL OR p_locale = '', locale, p_locale)
        WHERE user_id = p_user_id AND (@tally_id := id) > 0
          AND balance + p_amount >= 0;
    ELSE
      UPDATE accounts SET balance = (@tally_balance := balance + p_amount),
          email = IF(p_email IS NULL OR p_email = '', email, p_email),
          locale = IF(p_locale IS NULL OR p_locale = '', locale, p_locale)
        WHERE id = p_account_id AND (@tally_id := id) > 0
          AND balance + p_amount >= 0;
    END IF;
    IF ROW_COUNT() = 1 THEN
      SET v_id = @tally_id, v_balance = @tally_balance;
      INSERT INTO ledger (account_id, kind, amount, balance_after, operation,
          description, effect_key, created_at)
        VALUES (v_id, p_kind, p_amount, v_balance, p_operation,
          p_description, NULL, FROM_UNIXTIME(p_now));
      SET v_tx = LAST_INSERT_ID();
      IF p_kind = 'usage' THEN
        INSERT INTO usage_daily (account_id, day, operation, uses, credits)
          VALUES (v_id, DATE(FROM_UNIXTIME(p_now)), COALESCE(p_operation, ''),
            1, -p_amount)
          ON DUPLICATE KEY UPDATE uses = uses + 1,
            credits = credits + VALUES(credits);
      END IF;
    ELSE
      CALL tally_account_lock(p_account_id, p_user_id, v_id, v_balance);
      SET v_status = IF(v_id IS NULL, 1, 2);
    END IF;
  ELSE
    CALL tally_ledger_keyed(p_account_id, p_user_id, p_kind, p_amount,
      p_operation, p_description, p_effect_key, p_now, p_email, p_locale,
      v_status, v_id, v_balance, v_tx);
    IF v_status = 0 AND p_kind = 'usage' THEN
      CALL tally_usage_add(v_id, p_now, p_operation, 1, -p_amount);
    END IF;
  END IF;
  IF p_own_tx THEN COMMIT; END IF;

  SELECT v_status, COALESCE(v_id, 0), v_balance, v_tx, p_kind, p_amount,
      v_balance, p_operation, p_description, p_now;
END;

CREATE PROCEDURE tally_ledger_refund(
  IN p_account_id BIGINT,
  IN p_user_id    VARCHAR(255),
  IN p_tx_id      BIGINT,
  IN p_now        BIGINT,
  IN p_own_tx     TINYINT)
BEGIN
  DECLARE v_id      BIGINT DEFAULT NULL;
  DECLARE v_balance BIGINT DEFAULT 0;
  DECLARE v_kind    VARCHAR(24) DEFAULT NULL;
  DECLARE v_amount  BIGINT DEFAULT 0;
  DECLARE v_op      VARCHAR(100) DEFAULT NULL;
  DECLARE v_desc    VARCHAR(500) DEFAULT NULL;
  DECLARE v_at      BIGINT DEFAULT 0;
  DECLARE v_status  INT DEFAULT 0;
  DECLARE v_tx      BIGINT DEFAULT 0;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    IF p_own_tx THEN ROLLBACK; END IF;
    RESIGNAL;
  END;

  IF p_own_tx THEN START TRANSACTION; END IF;
  CALL tally_account_lock(p_account_id, p_user_id, v_id, v_balance);
  IF v_id IS NOT NULL THEN
    SELECT kind, amount, operation, description, UNIX_TIMESTAMP(created_at)
      INTO v_kind, v_amount, v_op, v_desc, v_at
      FROM ledger WHERE id = p_tx_id AND account_id = v_id;
  END IF;
  IF v_id IS NULL THEN
    SET v_status = 1;
  ELSEIF v_kind IS NULL THEN
    SET v_status = 4;
  ELSEIF v_kind <> 'usage' THEN
    SET v_status = 5;
  ELSE
    CALL tally_ledger_keyed(v_id, NULL, 'refund', -v_amount, v_op, v_desc,
      CONCAT('refund:', p_tx_id), p_now, NULL, NULL,
      v_status, v_id, v_balance, v_tx);
    -- The use is taken back from the day and operation it counted for.
    IF v_status = 0 THEN
      CALL tally_usage_add(v_id, v_at, v_op, -1, v_amount);
    END IF;
  END IF;
  IF p_own_tx THEN COMMIT; END IF;

  SELECT v_status, COALESCE(v_id, 0), v_balance, v_tx, 'refund', -v_amount,
      v_balance, v_op, v_desc, p_now;
END;
