-- Cheap queue metrics, coalesced drain jobs, pruning of done jobs.

-- At most one queued job per coalesce key (e.g. one pending inbox drain per community); a job
-- already running does not count, so it never swallows newer work.
ALTER TABLE job ADD COLUMN coalesce_key TEXT;
CREATE UNIQUE INDEX job_coalesce_queued ON job (coalesce_key) WHERE state = 'queued';

-- /metrics counts live jobs and the unprocessed inbox without scanning done/processed rows;
-- pruning finds old done jobs by their last change.
CREATE INDEX job_live ON job (state) WHERE state <> 'done';
CREATE INDEX job_done ON job (updated_at) WHERE state = 'done';
CREATE INDEX inbox_unprocessed ON inbox (attempts) WHERE processed_at IS NULL;
