-- The breach register (install-wide): when a breach was reported, its scope (every community
-- or one), the operator's description, and the notification deadline (reported_at + 72 h,
-- absolute milliseconds). breach_notice records each notice sent to an affected Admin: who,
-- when, on which channel (chat message or email text).
CREATE TABLE breach (
    id                  TEXT PRIMARY KEY,
    reported_at         BIGINT NOT NULL,
    deadline_at         BIGINT NOT NULL,
    scope               TEXT NOT NULL CHECK (scope IN ('all', 'community')),
    scope_community_id  TEXT REFERENCES community(id),
    description         TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('open', 'notified', 'closed')),
    recorded_at         BIGINT NOT NULL,
    recorded_by         TEXT NOT NULL,
    notified_at         BIGINT,
    closed_at           BIGINT,
    closed_by           TEXT,
    CHECK ((scope = 'all' AND scope_community_id IS NULL)
        OR (scope = 'community' AND scope_community_id IS NOT NULL))
);
CREATE INDEX breach_state ON breach (state, deadline_at);

CREATE TABLE breach_notice (
    id            TEXT PRIMARY KEY,
    breach_id     TEXT NOT NULL REFERENCES breach(id),
    community_id  TEXT NOT NULL REFERENCES community(id),
    member_id     TEXT NOT NULL,
    channel       TEXT NOT NULL CHECK (channel IN ('chat', 'email')),
    sent_at       BIGINT NOT NULL,
    sent_by       TEXT NOT NULL,
    job_id        TEXT,
    FOREIGN KEY (community_id, member_id) REFERENCES member (community_id, id)
);
CREATE UNIQUE INDEX breach_notice_once ON breach_notice (breach_id, community_id, member_id, channel);
