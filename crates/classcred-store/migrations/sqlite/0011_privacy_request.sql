-- Students' privacy requests (access/export, correction, deletion), answered by an Admin.
-- The student's details and the Admin's note (decline reason, or what was corrected) are
-- sealed; everything else is ids, kinds, states and times. At most one open request per kind
-- per member (partial unique index).
CREATE TABLE privacy_request (
    id                 TEXT PRIMARY KEY,
    community_id       TEXT NOT NULL REFERENCES community(id),
    member_id          TEXT NOT NULL REFERENCES member(id),
    kind               TEXT NOT NULL CHECK (kind IN ('access', 'correction', 'deletion')),
    details_enc        BLOB,
    state              TEXT NOT NULL CHECK (state IN ('open', 'approved', 'declined', 'cancelled')),
    created_at         INTEGER NOT NULL,
    due_at             INTEGER NOT NULL,
    decided_at         INTEGER,
    decided_by         TEXT REFERENCES member(id),
    decision_note_enc  BLOB,
    result_ref         TEXT
);
CREATE UNIQUE INDEX privacy_request_one_open ON privacy_request (community_id, member_id, kind)
    WHERE state = 'open';
CREATE INDEX privacy_request_queue ON privacy_request (community_id, state, created_at);
CREATE INDEX privacy_request_due ON privacy_request (state, due_at);

CREATE TRIGGER privacy_request_member_id_same_community_insert BEFORE INSERT ON privacy_request
WHEN NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: privacy_request.member_id names a member of another community');
END;
CREATE TRIGGER privacy_request_member_id_same_community_update BEFORE UPDATE OF community_id, member_id ON privacy_request
WHEN NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: privacy_request.member_id names a member of another community');
END;
CREATE TRIGGER privacy_request_decided_by_same_community_insert BEFORE INSERT ON privacy_request
WHEN NEW.decided_by IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.decided_by AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: privacy_request.decided_by names a member of another community');
END;
CREATE TRIGGER privacy_request_decided_by_same_community_update BEFORE UPDATE OF community_id, decided_by ON privacy_request
WHEN NEW.decided_by IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.decided_by AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: privacy_request.decided_by names a member of another community');
END;
