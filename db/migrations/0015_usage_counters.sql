-- Quotas: units used per user, product, metric and subscription period
-- (the period's start names it, so a renewal starts from zero).  The gate
-- adds its "requests" here in batches, one multi-row upsert per responder
-- process every http.quota_flush_ms, not one write per request
-- (core/ops/quota.c); POST /internal/usage/record adds an app's own.
CREATE TABLE usage_counters (
  user_id       VARCHAR(255)  NOT NULL,
  product       VARCHAR(63)   NOT NULL,
  metric        VARCHAR(63)   NOT NULL,
  period_start  DATETIME      NOT NULL,
  used          BIGINT        NOT NULL,
  updated_at    DATETIME      NOT NULL,
  PRIMARY KEY (user_id, product, metric, period_start),
  KEY k_usage_counters_updated (updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
