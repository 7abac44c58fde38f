-- Usage statistics: per account, UTC day and operation, how many debits
-- (uses) and how many credits they took, kept in the same transaction as
-- the debit by a trigger on the ledger (one upsert more per debit, on a
-- row the account lock already serialises; whichever path writes the
-- ledger row); a refund of a debit takes it back from the day and
-- operation it counted for.
-- GET /credits/usage and /admin/usage read it; a year of a user's days is
-- at most 366 x operations rows, whatever the number of debits.
CREATE TABLE usage_daily (
  account_id  BIGINT        NOT NULL,
  day         DATE          NOT NULL,
  operation   VARCHAR(100)  NOT NULL,
  uses        BIGINT        NOT NULL,
  credits     BIGINT        NOT NULL,
  PRIMARY KEY (account_id, day, operation),
  -- No foreign key: the rows are derived from ledger rows, which have
  -- theirs, and the check would cost every debit ~15 us of MariaDB CPU.
  KEY k_usage_day (day, operation)
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

-- Every ledger row of a debit counts; a refund (effect key "refund:ID")
-- takes its debit back.  Times are UTC: tally's sessions run in +00:00.
CREATE TRIGGER tally_usage_count AFTER INSERT ON ledger FOR EACH ROW
BEGIN
  DECLARE v_day DATE DEFAULT NULL;
  DECLARE v_op  VARCHAR(100) DEFAULT NULL;
  IF NEW.kind = 'usage' THEN
    INSERT INTO usage_daily (account_id, day, operation, uses, credits)
      VALUES (NEW.account_id, DATE(NEW.created_at),
        COALESCE(NEW.operation, ''), 1, -NEW.amount)
      ON DUPLICATE KEY UPDATE uses = uses + 1,
        credits = credits + VALUES(credits);
  ELSEIF NEW.kind = 'refund' AND NEW.effect_key LIKE 'refund:%' THEN
    SELECT DATE(u.created_at), COALESCE(u.operation, '') INTO v_day, v_op
      FROM ledger u
      WHERE u.id = CAST(SUBSTRING(NEW.effect_key, 8) AS UNSIGNED)
        AND u.kind = 'usage';
    IF v_day IS NOT NULL THEN
      UPDATE usage_daily SET uses = uses - 1, credits = credits - NEW.amount
        WHERE account_id = NEW.account_id AND day = v_day
          AND operation = v_op;
    END IF;
  END IF;
END;
