-- A second payment of a paid invoice is made whole, once.
--
-- invoices.paid_ref names the provider payment that paid the invoice (a
-- Stripe PaymentIntent, a BTCPay invoice; NULL for credits and by hand),
-- so that another event about the same payment is told apart from a
-- second payment.
--
-- A second payment gets its own payments row, keyed by a reference derived
-- from the invoice and the provider payment: the row is the exactly-once
-- gate and, for a card, the outbox of the refund still to be asked of
-- Stripe ('refund_pending' until Stripe answered, then 'refunded' or
-- 'refund_failed'); attempts and next_attempt_at pace its retries.  A
-- Lightning payment, which the service cannot send back, is 'credited' to
-- the wallet in the same transaction.

ALTER TABLE invoices
  ADD COLUMN paid_ref VARCHAR(255) NULL;

ALTER TABLE payments
  ADD COLUMN attempts INT NOT NULL DEFAULT 0,
  ADD COLUMN next_attempt_at DATETIME NULL,
  ADD KEY k_payments_due (status, next_attempt_at),
  DROP CONSTRAINT ck_payments_status,
  ADD CONSTRAINT ck_payments_status CHECK (status IN ('succeeded', 'declined',
    'requires_action', 'error', 'skipped', 'refund_pending', 'refunded',
    'refund_failed', 'credited'));
