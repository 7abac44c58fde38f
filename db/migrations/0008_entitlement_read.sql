-- The entitlement read (the gate, the internal status) in one table.
--
-- "Is this user's product active?" used to join accounts to find the
-- user's account.  The user id of an account never changes, so each
-- subscription now carries it: the read is one index lookup in one
-- table, and (with query_cache_type = DEMAND, see deploy/mariadb.cnf) its
-- SQL_CACHE result stays cached until a subscription changes.  A debit
-- writes accounts, not subscriptions, so money traffic does not empty the
-- cache; any committed change to subscriptions does, so an answer is
-- never stale.
ALTER TABLE subscriptions ADD COLUMN user_id VARCHAR(255) NULL AFTER account_id;
UPDATE subscriptions s JOIN accounts a ON a.id = s.account_id
  SET s.user_id = a.user_id;
ALTER TABLE subscriptions MODIFY user_id VARCHAR(255) NOT NULL,
  ADD UNIQUE KEY uk_subscriptions_user_product (user_id, product);
