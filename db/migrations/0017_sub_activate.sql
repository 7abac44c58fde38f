-- A credit subscription's activation in two round trips.
--
-- It used to be six: the auth layer's account read, START TRANSACTION,
-- the locking read of account and subscription, the INSERT or UPDATE of
-- the subscription, the charge (CALL tally_ledger_apply) and COMMIT.  One
-- routine cannot do it all: the state machine that decides from the
-- locked row what to write stays in C (core_sub_on_activate,
-- core_period_bounds), so the transaction spans two CALLs, with the C's
-- decision in between:
--
--   1. tally_sub_activate_lock: the token's email and locale stored, the
--      transaction started, the account (by user id) and its subscription
--      of the product locked and answered;
--   2. tally_sub_activate_write: the row the C computed written (INSERT
--      for a new one, UPDATE), the first period charged through
--      tally_ledger_keyed (the effect key built here from the row's id),
--      the events written, and COMMIT; or, when the credits are short,
--      ROLLBACK of the whole transaction ("nothing was changed").
--
-- The row locks taken by the first CALL are held until the second ends
-- it, so the decision cannot race: a user's concurrent activations wait
-- on the account row, as they did behind the locking read.
--
-- p_own_tx = 1: the first routine starts the transaction and the second
-- commits or rolls it back; the responder sends nothing else (db_call in
-- db/db.c runs the pair again on a deadlock or lock wait timeout, and
-- rolls an open transaction back when the C gives up between the calls).
-- p_own_tx = 0: both run inside the caller's transaction (a request with
-- an Idempotency-Key, whose stored response commits with the effect).
-- Errors roll an own transaction back and reach the caller unchanged, as
-- in the routines of 0007.

-- The subscription.* event of subscription p_sub, one delivery per
-- endpoint of p_hooks, in the caller's transaction: the same event id and
-- data as db/db_event.c's EV_SUB writes for one id (op_event_tx), whose
-- SUB_DATA this must follow.
CREATE PROCEDURE tally_sub_event(
  IN p_hooks TEXT,
  IN p_type  VARCHAR(40),
  IN p_nonce VARCHAR(64),
  IN p_sub   BIGINT,
  IN p_now   BIGINT)
BEGIN
  INSERT INTO webhook_deliveries (event_id, endpoint, type, account_id, data,
      created_at, queued_at, next_attempt_at)
    SELECT CONCAT('evt_', LEFT(SHA2(CONCAT(p_nonce, ':', 1), 256), 24)),
        h.name, p_type, a.id,
        JSON_OBJECT('user_id', a.user_id, 'subscription',
          JSON_OBJECT('id', CAST(x.id AS CHAR), 'product', x.product,
            'status', x.status, 'interval', x.billing_interval,
            'current_period_start',
              DATE_FORMAT(x.current_period_start, '%Y-%m-%dT%H:%i:%sZ'),
            'current_period_end',
              DATE_FORMAT(x.current_period_end, '%Y-%m-%dT%H:%i:%sZ'),
            'next_charge_at',
              DATE_FORMAT(x.next_charge_at, '%Y-%m-%dT%H:%i:%sZ'),
            'cancel_at_period_end', x.cancel_at_period_end <> 0,
            'paused_at', DATE_FORMAT(x.paused_at, '%Y-%m-%dT%H:%i:%sZ'),
            'ended_at', DATE_FORMAT(x.ended_at, '%Y-%m-%dT%H:%i:%sZ'))),
        FROM_UNIXTIME(p_now), FROM_UNIXTIME(p_now), FROM_UNIXTIME(p_now)
      FROM subscriptions x JOIN accounts a ON a.id = x.account_id
        JOIN JSON_TABLE(p_hooks, '$[*]' COLUMNS (
          name VARCHAR(64) CHARACTER SET utf8mb4 PATH '$')) h
      WHERE x.id = p_sub;
END;

-- Trip 1.  The answer, one row: status (0 found, 1 no account: nothing
-- was locked and no transaction is left open), the account's id, then
-- the subscription's columns as db/db_sub.c's SUB_COLS reads them (all
-- NULL when the account has none of p_product).  Not the balance: the
-- charge in trip 2 checks it, under the same lock.
CREATE PROCEDURE tally_sub_activate_lock(
  IN p_user_id VARCHAR(255),
  IN p_product VARCHAR(63),
  IN p_email   VARCHAR(320),
  IN p_locale  VARCHAR(15),
  IN p_now     BIGINT,
  IN p_own_tx  TINYINT)
BEGIN
  DECLARE v_id BIGINT DEFAULT NULL;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    IF p_own_tx THEN ROLLBACK; END IF;
    RESIGNAL;
  END;

  -- The token's email and locale, stored as op_account_ensure stores
  -- them for the auth layer (only a given value that differs; the other
  -- one kept, an empty one as NULL).  Before START TRANSACTION on
  -- purpose: it commits by itself, as the auth layer's update did,
  -- whatever becomes of the activation.
  UPDATE accounts SET
      email = COALESCE(NULLIF(p_email, ''), NULLIF(email, '')),
      locale = COALESCE(NULLIF(p_locale, ''), NULLIF(locale, '')),
      updated_at = FROM_UNIXTIME(p_now)
    WHERE user_id = p_user_id
      AND ((p_email <> '' AND p_email <> COALESCE(email, ''))
        OR (p_locale <> '' AND p_locale <> COALESCE(locale, '')));
  IF p_own_tx THEN START TRANSACTION; END IF;
  SELECT id INTO v_id FROM accounts WHERE user_id = p_user_id FOR UPDATE;
  IF v_id IS NULL THEN
    IF p_own_tx THEN ROLLBACK; END IF;
    SELECT 1, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
        NULL, NULL, NULL;
  ELSE
    SELECT 0, a.id, s.id, s.account_id, s.product, s.status,
        s.billing_interval, UNIX_TIMESTAMP(s.anchor_at), s.end_months,
        UNIX_TIMESTAMP(s.current_period_start),
        UNIX_TIMESTAMP(s.current_period_end),
        UNIX_TIMESTAMP(s.next_charge_at), s.cancel_at_period_end,
        UNIX_TIMESTAMP(s.paused_at), s.run_no
      FROM accounts a LEFT JOIN subscriptions s
        ON s.account_id = a.id AND s.product = p_product
      WHERE a.id = v_id FOR UPDATE;
  END IF;
END;

-- Trip 2, in the transaction trip 1 left open: write the subscription row
-- the C decided on (p_sub_id 0: INSERT, else UPDATE of that row; the
-- columns as db/db_sub.c's SUB_INSERT and SUB_UPDATE write them; times in
-- unix seconds, 0 for NULL).  p_price > 0: a new run, whose first period
-- is charged now through tally_ledger_keyed (kind p_kind, operation
-- p_product, effect key "sub:<id>:<run_no>:<period start>", the format of
-- core/ops/subscription.c's charge_text, which the scheduler's renewals
-- use), and whose p_type event goes to the endpoints of p_sub_hooks
-- (the charge's credits.debited to those of p_debit_hooks).  A period
-- charged before (its key exists) counts as paid, as in charge_period.
-- The answer, one row: status (0 done; 2 not enough credits: an own
-- transaction rolled back, nothing kept; without p_own_tx the caller must
-- roll back), the subscription's id, the balance after the charge and
-- the ledger row's id (both 0 without a charge).
CREATE PROCEDURE tally_sub_activate_write(
  IN p_sub_id      BIGINT,
  IN p_account_id  BIGINT,
  IN p_product     VARCHAR(63),
  IN p_status      VARCHAR(24),
  IN p_interval    VARCHAR(16),
  IN p_anchor      BIGINT,
  IN p_end_months  INT,
  IN p_start       BIGINT,
  IN p_end         BIGINT,
  IN p_next        BIGINT,
  IN p_cancel      TINYINT,
  IN p_paused      BIGINT,
  IN p_run_no      INT,
  IN p_price       BIGINT,
  IN p_kind        VARCHAR(24),
  IN p_description VARCHAR(500),
  IN p_now         BIGINT,
  IN p_debit_hooks TEXT,
  IN p_sub_hooks   TEXT,
  IN p_type        VARCHAR(40),
  IN p_nonce       VARCHAR(64),
  IN p_own_tx      TINYINT)
BEGIN
  DECLARE v_id      BIGINT DEFAULT p_sub_id;
  DECLARE v_status  INT DEFAULT 0;
  DECLARE v_acct    BIGINT DEFAULT NULL;
  DECLARE v_balance BIGINT DEFAULT 0;
  DECLARE v_tx      BIGINT DEFAULT 0;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    IF p_own_tx THEN ROLLBACK; END IF;
    RESIGNAL;
  END;

  -- Without the transaction of trip 1 its locks are gone, and what the C
  -- decided may no longer hold: refuse rather than write in autocommit.
  IF p_own_tx AND @@in_transaction = 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
      'tally_sub_activate_write: no open transaction';
  END IF;
  IF p_sub_id = 0 THEN
    INSERT INTO subscriptions (account_id, user_id, product, status,
        billing_interval, anchor_at, end_months, current_period_start,
        current_period_end, next_charge_at, cancel_at_period_end, paused_at,
        run_no, created_at, updated_at)
      VALUES (p_account_id,
        (SELECT user_id FROM accounts WHERE id = p_account_id), p_product,
        p_status, p_interval, FROM_UNIXTIME(p_anchor), p_end_months,
        FROM_UNIXTIME(p_start), FROM_UNIXTIME(p_end),
        FROM_UNIXTIME(NULLIF(p_next, 0)), p_cancel,
        FROM_UNIXTIME(NULLIF(p_paused, 0)), p_run_no, FROM_UNIXTIME(p_now),
        FROM_UNIXTIME(p_now));
    SET v_id = LAST_INSERT_ID();
  ELSE
    UPDATE subscriptions SET status = p_status, billing_interval = p_interval,
        anchor_at = FROM_UNIXTIME(p_anchor), end_months = p_end_months,
        current_period_start = FROM_UNIXTIME(p_start),
        current_period_end = FROM_UNIXTIME(p_end),
        next_charge_at = FROM_UNIXTIME(NULLIF(p_next, 0)),
        cancel_at_period_end = p_cancel,
        paused_at = FROM_UNIXTIME(NULLIF(p_paused, 0)), run_no = p_run_no,
        ended_at = IF(p_status IN ('canceled', 'expired'),
          COALESCE(ended_at, FROM_UNIXTIME(p_now)), NULL),
        updated_at = FROM_UNIXTIME(p_now)
      WHERE id = p_sub_id;
  END IF;
  IF p_price > 0 THEN
    CALL tally_ledger_keyed(p_account_id, NULL, p_kind, -p_price, p_product,
      p_description, CONCAT('sub:', v_id, ':', p_run_no, ':', p_start), p_now,
      NULL, NULL, p_debit_hooks, v_status, v_acct, v_balance, v_tx);
    IF v_status = 3 THEN
      SET v_status = 0;
    END IF;
    IF v_status = 0 AND p_sub_hooks IS NOT NULL THEN
      CALL tally_sub_event(p_sub_hooks, p_type, p_nonce, v_id, p_now);
    END IF;
  END IF;
  IF v_status <> 0 THEN
    IF p_own_tx THEN ROLLBACK; END IF;
  ELSEIF p_own_tx THEN
    COMMIT;
  END IF;

  SELECT v_status, v_id, v_balance, v_tx;
END;
