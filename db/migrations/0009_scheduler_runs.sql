-- What the scheduler did, per job, for the metrics (GET /admin/metrics):
-- every scheduler on the database adds to the same rows, so the counts
-- are the installation's, whichever process ran the job.

CREATE TABLE scheduler_runs (
  job              VARCHAR(64)   NOT NULL PRIMARY KEY,
  runs             BIGINT        NOT NULL DEFAULT 0,
  failures         BIGINT        NOT NULL DEFAULT 0,
  -- ticks that found the job's lock held by another scheduler
  skipped          BIGINT        NOT NULL DEFAULT 0,
  total_ms         BIGINT        NOT NULL DEFAULT 0,
  last_ms          BIGINT        NOT NULL DEFAULT 0,
  last_started_at  DATETIME      NULL,
  last_ok_at       DATETIME      NULL,
  last_error       VARCHAR(255)  NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- The jobs' own counts (charged, paused, sent, ...), summed over runs.
CREATE TABLE scheduler_job_counts (
  job    VARCHAR(64)  NOT NULL,
  name   VARCHAR(64)  NOT NULL,
  total  BIGINT       NOT NULL DEFAULT 0,
  PRIMARY KEY (job, name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
