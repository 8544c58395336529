-- Published versions of the privacy policy (install-wide, public) and each Admin's
-- acknowledgement of a version (per community). A version is told to every Admin of every
-- active community when it is published: one row per Admin, pending until acknowledged;
-- publishing a newer version supersedes the older pending rows (never acknowledged).
CREATE TABLE policy_version (
    id            TEXT PRIMARY KEY,
    version       TEXT NOT NULL UNIQUE,
    body          TEXT NOT NULL,
    body_sha256   TEXT NOT NULL,
    published_at  INTEGER NOT NULL,
    published_by  TEXT NOT NULL
);
CREATE INDEX policy_version_published ON policy_version (published_at);

CREATE TABLE policy_ack (
    id                 TEXT PRIMARY KEY,
    community_id       TEXT NOT NULL REFERENCES community(id),
    member_id          TEXT NOT NULL REFERENCES member(id),
    policy_version_id  TEXT NOT NULL REFERENCES policy_version(id),
    notified_at        INTEGER NOT NULL,
    acknowledged_at    INTEGER,
    superseded_at      INTEGER
);
CREATE UNIQUE INDEX policy_ack_one ON policy_ack (community_id, member_id, policy_version_id);
CREATE INDEX policy_ack_pending ON policy_ack (community_id, member_id, acknowledged_at, superseded_at);
