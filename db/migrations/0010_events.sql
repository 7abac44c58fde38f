-- Signed outbound events (README "Events"): the outbox of deliveries.
--
-- One row per (event, endpoint): an event that two endpoints want is two
-- rows with the same event_id and data.  The row is written in the same
-- transaction as the change it reports (so a rolled-back change has none),
-- by one INSERT ... SELECT per event type and batch, and only when some
-- [webhook.NAME] wants the type: the caller passes the JSON array of
-- their names, NULL for none, and then nothing at all is written.
--
-- The scheduler delivers each endpoint's rows in id order, one at a time:
-- the endpoint's row in webhook_endpoints is locked (FOR UPDATE SKIP
-- LOCKED) while its oldest pending delivery is sent, so two schedulers
-- never send to one endpoint at once, and a later row waits while an
-- earlier one is retried.  A resend is a new row (resend_of) at the end of
-- the endpoint's queue.
CREATE TABLE webhook_deliveries (
  id               BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
  event_id         VARCHAR(40)   NOT NULL,
  endpoint         VARCHAR(64)   NOT NULL,
  type             VARCHAR(40)   NOT NULL,
  account_id       BIGINT        NULL,
  -- the event's data object (JSON); the body adds id, type and created
  data             MEDIUMTEXT    NOT NULL,
  -- the event's time (its "created"); queued_at: when this row was made
  created_at       DATETIME      NOT NULL,
  queued_at        DATETIME      NOT NULL,
  status           VARCHAR(16)   NOT NULL DEFAULT 'pending',
  attempts         INT           NOT NULL DEFAULT 0,
  next_attempt_at  DATETIME      NOT NULL,
  last_attempt_at  DATETIME      NULL,
  -- the HTTP status of the last answer; NULL: none (no connection)
  last_status      INT           NULL,
  last_error       VARCHAR(500)  NULL,
  delivered_at     DATETIME      NULL,
  resend_of        BIGINT        NULL,
  KEY k_webhook_queue (endpoint, status, id),
  KEY k_webhook_status (status, id),
  KEY k_webhook_event (event_id),
  CONSTRAINT ck_webhook_status CHECK (status IN ('pending', 'delivered',
    'failed'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- One row per endpoint name the scheduler has seen: its lock.
CREATE TABLE webhook_endpoints (
  name        VARCHAR(64)  NOT NULL PRIMARY KEY,
  created_at  DATETIME     NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- The balance routines of 0007 take one more parameter, p_hooks: the
-- endpoints that want the event of this change (credits.debited for a
-- negative amount, credits.added for a positive one; the caller picks the
-- list by the sign), or NULL.  With NULL they do what they did before.
DROP PROCEDURE IF EXISTS tally_ledger_apply;
DROP PROCEDURE IF EXISTS tally_ledger_refund;
DROP PROCEDURE IF EXISTS tally_account_init;
DROP PROCEDURE IF EXISTS tally_ledger_keyed;

-- The credits.* event of ledger row p_tx, one delivery per endpoint of
-- p_hooks, in the caller's transaction.  The same data as
-- db/db_event.c's EV_LEDGER_KEYS (the recurring charge's batch).
CREATE PROCEDURE tally_ledger_event(
  IN p_hooks TEXT,
  IN p_tx    BIGINT)
BEGIN
  DECLARE v_evt VARCHAR(40) DEFAULT CONCAT('evt_', LOWER(HEX(RANDOM_BYTES(12))));

  INSERT INTO webhook_deliveries (event_id, endpoint, type, account_id, data,
      created_at, queued_at, next_attempt_at)
    SELECT v_evt, h.name, IF(l.amount < 0, 'credits.debited', 'credits.added'),
        l.account_id,
        JSON_OBJECT('user_id', a.user_id, 'balance', l.balance_after,
          'transaction', JSON_OBJECT('id', CAST(l.id AS CHAR), 'kind', l.kind,
            'amount', l.amount, 'balance_after', l.balance_after,
            'operation', l.operation, 'description', l.description,
            'created_at', DATE_FORMAT(l.created_at, '%Y-%m-%dT%H:%i:%sZ'))),
        l.created_at, l.created_at, l.created_at
      FROM ledger l JOIN accounts a ON a.id = l.account_id
        JOIN JSON_TABLE(p_hooks, '$[*]' COLUMNS (
          name VARCHAR(64) CHARACTER SET utf8mb4 PATH '$')) h
      WHERE l.id = p_tx;
END;

CREATE PROCEDURE tally_ledger_keyed(
  IN  p_account_id  BIGINT,
  IN  p_user_id     VARCHAR(255),
  IN  p_kind        VARCHAR(24),
  IN  p_amount      BIGINT,
  IN  p_operation   VARCHAR(100),
  IN  p_description VARCHAR(500),
  IN  p_effect_key  VARCHAR(191),
  IN  p_now         BIGINT,
  IN  p_email       VARCHAR(320),
  IN  p_locale      VARCHAR(15),
  IN  p_hooks       TEXT,
  OUT o_status      INT,
  OUT o_id          BIGINT,
  OUT o_balance     BIGINT,
  OUT o_tx          BIGINT)
BEGIN
  SET o_status = 0, o_tx = 0;
  CALL tally_account_lock(p_account_id, p_user_id, o_id, o_balance);
  IF o_id IS NULL THEN
    SET o_status = 1;
  ELSEIF EXISTS (SELECT 1 FROM ledger WHERE effect_key = p_effect_key) THEN
    SET o_status = 3;
  ELSEIF o_balance + p_amount < 0 THEN
    SET o_status = 2;
  ELSE
    SET o_balance = o_balance + p_amount;
    UPDATE accounts SET balance = o_balance,
        email = IF(p_email IS NULL OR p_email = '', email, p_email),
        locale = IF(p_locale IS NULL OR p_locale = '', locale, p_locale)
      WHERE id = o_id;
    INSERT INTO ledger (account_id, kind, amount, balance_after, operation,
        description, effect_key, created_at)
      VALUES (o_id, p_kind, p_amount, o_balance, p_operation, p_description,
        p_effect_key, FROM_UNIXTIME(p_now));
    SET o_tx = LAST_INSERT_ID();
    IF p_hooks IS NOT NULL THEN
      CALL tally_ledger_event(p_hooks, o_tx);
    END IF;
  END IF;
END;

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
  IN p_own_tx      TINYINT,
  IN p_hooks       TEXT)
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
      -- NULL unless an endpoint wants this event: then the debit pays
      -- for one more statement here, and no more round trips.
      IF p_hooks IS NOT NULL THEN
        CALL tally_ledger_event(p_hooks, v_tx);
      END IF;
    ELSE
      CALL tally_account_lock(p_account_id, p_user_id, v_id, v_balance);
      SET v_status = IF(v_id IS NULL, 1, 2);
    END IF;
  ELSE
    CALL tally_ledger_keyed(p_account_id, p_user_id, p_kind, p_amount,
      p_operation, p_description, p_effect_key, p_now, p_email, p_locale,
      p_hooks, v_status, v_id, v_balance, v_tx);
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
  IN p_own_tx     TINYINT,
  IN p_hooks      TEXT)
BEGIN
  DECLARE v_id      BIGINT DEFAULT NULL;
  DECLARE v_balance BIGINT DEFAULT 0;
  DECLARE v_kind    VARCHAR(24) DEFAULT NULL;
  DECLARE v_amount  BIGINT DEFAULT 0;
  DECLARE v_op      VARCHAR(100) DEFAULT NULL;
  DECLARE v_desc    VARCHAR(500) DEFAULT NULL;
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
    SELECT kind, amount, operation, description
      INTO v_kind, v_amount, v_op, v_desc
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
      CONCAT('refund:', p_tx_id), p_now, NULL, NULL, p_hooks,
      v_status, v_id, v_balance, v_tx);
  END IF;
  IF p_own_tx THEN COMMIT; END IF;

  SELECT v_status, COALESCE(v_id, 0), v_balance, v_tx, 'refund', -v_amount,
      v_balance, v_op, v_desc, p_now;
END;

CREATE PROCEDURE tally_account_init(
  IN p_user_id VARCHAR(255),
  IN p_email   VARCHAR(320),
  IN p_credits BIGINT,
  IN p_now     BIGINT,
  IN p_own_tx  TINYINT,
  IN p_hooks   TEXT)
BEGIN
  DECLARE v_id      BIGINT DEFAULT NULL;
  DECLARE v_balance BIGINT DEFAULT 0;
  DECLARE v_flag    TINYINT DEFAULT 1;
  DECLARE v_status  INT DEFAULT 0;
  DECLARE v_tx      BIGINT DEFAULT 0;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    IF p_own_tx THEN ROLLBACK; END IF;
    RESIGNAL;
  END;

  IF p_own_tx THEN START TRANSACTION; END IF;
  -- Concurrent first calls: the unique user_id makes one insert win and
  -- the others update nothing.
  INSERT INTO accounts (user_id, email, balance, created_at, updated_at)
    VALUES (p_user_id, NULLIF(p_email, ''), 0, FROM_UNIXTIME(p_now),
      FROM_UNIXTIME(p_now))
    ON DUPLICATE KEY UPDATE
      updated_at = IF(p_email IS NULL OR p_email = '' OR
        email <=> p_email, updated_at, FROM_UNIXTIME(p_now)),
      email = IF(p_email IS NULL OR p_email = '', email, p_email);
  SELECT id, balance, signup_granted INTO v_id, v_balance, v_flag
    FROM accounts WHERE user_id = p_user_id FOR UPDATE;
  IF v_flag = 0 THEN
    UPDATE accounts SET signup_granted = 1 WHERE id = v_id;
    IF p_credits > 0 THEN
      -- Granted before under the same key (status 3): nothing to do.
      CALL tally_ledger_keyed(v_id, NULL, 'grant', p_credits, 'signup',
        'Signup credits', CONCAT('grant:signup:', v_id), p_now, NULL, NULL,
        p_hooks,
        v_status, v_id, v_balance, v_tx);
    END IF;
  END IF;
  IF p_own_tx THEN COMMIT; END IF;

  SELECT v_tx > 0, a.id, a.user_id, a.email, v_balance,
      UNIX_TIMESTAMP(a.created_at), v_tx
    FROM accounts a WHERE a.id = v_id;
END;
