-- Dashboard sessions: one member of one community each. The browser holds a random value in a
-- cookie; only its SHA-256 is stored, so a copy of the database signs nobody in. A session ends
-- at expires_at, or earlier when revoked (sign-out).
CREATE TABLE web_session (
    id_hash       TEXT PRIMARY KEY,
    community_id  TEXT NOT NULL REFERENCES community(id),
    member_id     TEXT NOT NULL REFERENCES member(id),
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);
CREATE INDEX web_session_expiry ON web_session (expires_at);
