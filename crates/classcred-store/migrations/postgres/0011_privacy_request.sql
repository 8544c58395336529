-- Students' privacy requests (access/export, correction, deletion), answered by an Admin.
-- The student's details and the Admin's note (decline reason, or what was corrected) are
-- sealed; everything else is ids, kinds, states and times. At most one open request per kind
-- per member (partial unique index).
CREATE TABLE privacy_request (
    id                 TEXT PRIMARY KEY,
    community_id       TEXT NOT NULL REFERENCES community(id),
    member_id          TEXT NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('access', 'correction', 'deletion')),
    details_enc        BYTEA,
    state              TEXT NOT NULL CHECK (state IN ('open', 'approved', 'declined', 'cancelled')),
    created_at         BIGINT NOT NULL,
    due_at             BIGINT NOT NULL,
    decided_at         BIGINT,
    decided_by         TEXT,
    decision_note_enc  BYTEA,
    result_ref         TEXT,
    FOREIGN KEY (community_id, member_id) REFERENCES member (community_id, id),
    FOREIGN KEY (community_id, decided_by) REFERENCES member (community_id, id)
);
CREATE UNIQUE INDEX privacy_request_one_open ON privacy_request (community_id, member_id, kind)
    WHERE state = 'open';
CREATE INDEX privacy_request_queue ON privacy_request (community_id, state, created_at);
CREATE INDEX privacy_request_due ON privacy_request (state, due_at);
