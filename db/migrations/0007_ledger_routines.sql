-- Balance changes in one round trip.
--
-- A debit used to be five round trips (look the account up, START
-- TRANSACTION, UPDATE, INSERT, COMMIT); the server is on the same cores as
-- the responders, so each trip costs twice.  These routines do the whole
-- transaction on the server and answer with one row; the responder sends
-- one CALL.  The rules stay where they were: the C caller decides the
-- amount, the kind and the effect key; the routine only applies them
-- exactly (row lock, balance >= 0, overflow is an error, one ledger row,
-- one effect per key).
--
-- p_account_id 0 (or NULL) names the account by p_user_id instead.
-- p_own_tx = 1: the routine starts and commits its own transaction (the
-- caller sent no START TRANSACTION).  p_own_tx = 0: it runs inside the
-- caller's transaction and leaves COMMIT to it (a request with an
-- Idempotency-Key stores its response in the same transaction).
--
-- The answer, one row (ledger_result):
--   status   0 done, 1 no such account, 2 not enough credits,
--            3 effect done before (effect_key exists), 4 no such ledger row,
--            5 that row cannot be refunded (not a usage)
--   account_id, balance (after the change; the unchanged one otherwise),
--   and the new ledger row: id, kind, amount, balance_after, operation,
--   description, created_at (unix seconds).
-- Errors (deadlock 1213, lock wait 1205, BIGINT overflow 1690) roll the
-- routine's own transaction back and reach the caller unchanged.
--
-- tally_account_lock and tally_ledger_keyed are the routines' own
-- building blocks (OUT parameters, no answer row); tally calls the three
-- after them.

-- The account (by id, or by user id when p_account_id is 0), its row
-- locked for this transaction.  OUT: its id (NULL: none) and balance.
CREATE PROCEDURE tally_account_lock(
  IN  p_account_id BIGINT,
  IN  p_user_id    VARCHAR(255),
  OUT o_id         BIGINT,
  OUT o_balance    BIGINT)
BEGIN
  SET o_id = NULL, o_balance = 0;
  IF p_account_id IS NULL OR p_account_id = 0 THEN
    SELECT id, balance INTO o_id, o_balance
      FROM accounts WHERE user_id = p_user_id FOR UPDATE;
  ELSE
    SELECT id, balance INTO o_id, o_balance
      FROM accounts WHERE id = p_account_id FOR UPDATE;
  END IF;
END;

-- An effect with a key (a refund, a grant, a subscription period), in the
-- caller's transaction: lock the row, see whether the effect happened
-- before, check the balance, write.  The account row lock serialises
-- every change of the account, and an effect key names one account's
-- effect, so the check cannot race.  OUT: status (0, 1, 2 or 3 as
-- above), the account's id, its balance after, the ledger row's id.
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
    ELSE
      CALL tally_account_lock(p_account_id, p_user_id, v_id, v_balance);
      SET v_status = IF(v_id IS NULL, 1, 2);
    END IF;
  ELSE
    CALL tally_ledger_keyed(p_account_id, p_user_id, p_kind, p_amount,
      p_operation, p_description, p_effect_key, p_now, p_email, p_locale,
      v_status, v_id, v_balance, v_tx);
  END IF;
  IF p_own_tx THEN COMMIT; END IF;

  SELECT v_status, COALESCE(v_id, 0), v_balance, v_tx, p_kind, p_amount,
      v_balance, p_operation, p_description, p_now;
END;

-- Refund usage row p_tx_id of the account (by id, or by user_id when
-- p_account_id is 0), once: the effect key is "refund:<row id>".
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
      CONCAT('refund:', p_tx_id), p_now, NULL, NULL,
      v_status, v_id, v_balance, v_tx);
  END IF;
  IF p_own_tx THEN COMMIT; END IF;

  SELECT v_status, COALESCE(v_id, 0), v_balance, v_tx, 'refund', -v_amount,
      v_balance, v_op, v_desc, p_now;
END;

-- A user's wallet, made if missing, with billing.signup_credits granted
-- once (the signup_granted flag under the row lock, and the ledger's key
-- "grant:signup:<account id>"): /internal/credits/init in one trip.
-- p_email, when given, is stored.  The answer, one row: granted (0/1), the
-- account's id, user_id, email, balance (after), created_at (unix), and the
-- grant's ledger row id (0 if none).
CREATE PROCEDURE tally_account_init(
  IN p_user_id VARCHAR(255),
  IN p_email   VARCHAR(320),
  IN p_credits BIGINT,
  IN p_now     BIGINT,
  IN p_own_tx  TINYINT)
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
        v_status, v_id, v_balance, v_tx);
    END IF;
  END IF;
  IF p_own_tx THEN COMMIT; END IF;

  SELECT v_tx > 0, a.id, a.user_id, a.email, v_balance,
      UNIX_TIMESTAMP(a.created_at), v_tx
    FROM accounts a WHERE a.id = v_id;
END;
