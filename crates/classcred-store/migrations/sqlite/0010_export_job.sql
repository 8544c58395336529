-- Full exports of a community's or of one member's data (an archive built by a job), and who
-- may download it. The archive lives in the export directory, not in the database; it is
-- purged (file deleted, state 'expired', purged_at set) once expires_at has passed.
CREATE TABLE export_job (
    id                   TEXT PRIMARY KEY,
    community_id         TEXT NOT NULL REFERENCES community(id),
    kind                 TEXT NOT NULL CHECK (kind IN ('community', 'member')),
    member_id            TEXT REFERENCES member(id),
    recipient_member_id  TEXT NOT NULL REFERENCES member(id),
    requested_by         TEXT,
    state                TEXT NOT NULL DEFAULT 'queued'
                         CHECK (state IN ('queued', 'running', 'done', 'failed', 'expired')),
    progress_done        INTEGER NOT NULL DEFAULT 0,
    progress_total       INTEGER NOT NULL DEFAULT 0,
    file_name            TEXT,
    sha256               TEXT,
    size                 INTEGER,
    created_at           INTEGER NOT NULL,
    finished_at          INTEGER,
    expires_at           INTEGER NOT NULL,
    purged_at            INTEGER
);
CREATE INDEX export_job_community ON export_job (community_id, created_at);
CREATE INDEX export_job_expiry ON export_job (state, expires_at);
