-- ClassCred initial schema (PostgreSQL). Times are milliseconds since the Unix epoch (UTC).
-- Every column is classified in src/registry.rs; a test fails on any column that is not.
CREATE TABLE institution (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE community (
    id                TEXT PRIMARY KEY,
    institution_id    TEXT NOT NULL REFERENCES institution(id),
    name              TEXT NOT NULL,
    platform          TEXT NOT NULL,
    platform_team_id  TEXT,
    settings          TEXT NOT NULL DEFAULT '{}',
    state             TEXT NOT NULL DEFAULT 'active',
    disabled_at       BIGINT,
    event_seq         BIGINT NOT NULL DEFAULT 0,
    created_at        BIGINT NOT NULL,
    UNIQUE (platform, platform_team_id)
);

CREATE TABLE community_key (
    community_id   TEXT PRIMARY KEY REFERENCES community(id),
    master_key_id  TEXT NOT NULL,
    wrapped_key    BYTEA,
    created_at     BIGINT NOT NULL,
    rotated_at     BIGINT,
    destroyed_at   BIGINT
);

CREATE TABLE member (
    id                TEXT PRIMARY KEY,
    community_id      TEXT NOT NULL REFERENCES community(id),
    platform_user_id  TEXT NOT NULL,
    role              TEXT NOT NULL,
    kind              TEXT NOT NULL DEFAULT 'human',
    level             BIGINT NOT NULL DEFAULT 0,
    name_enc          BYTEA,
    display_name_enc  BYTEA,
    email_enc         BYTEA,
    email_bidx        BYTEA,
    avatar_url_enc    BYTEA,
    timezone_enc      BYTEA,
    joined_at         BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (community_id, platform_user_id)
);
CREATE INDEX member_email_bidx ON member (community_id, email_bidx);

CREATE TABLE message (
    id                   TEXT PRIMARY KEY,
    community_id         TEXT NOT NULL REFERENCES community(id),
    platform_message_id  TEXT NOT NULL,
    channel_id           TEXT NOT NULL,
    author_member_id     TEXT REFERENCES member(id),
    thread_id            TEXT,
    text_enc             BYTEA,
    posted_at            BIGINT NOT NULL,
    edited_at            BIGINT,
    deleted_at           BIGINT,
    UNIQUE (community_id, platform_message_id)
);

CREATE TABLE installation (
    id                      TEXT PRIMARY KEY,
    community_id            TEXT NOT NULL REFERENCES community(id),
    platform                TEXT NOT NULL,
    platform_team_id        TEXT NOT NULL,
    bot_user_id             TEXT,
    scopes                  TEXT NOT NULL DEFAULT '',
    bot_token_enc           BYTEA NOT NULL,
    installed_by_member_id  TEXT REFERENCES member(id),
    installed_at            BIGINT NOT NULL,
    revoked_at              BIGINT
);

CREATE TABLE inbox (
    id            TEXT PRIMARY KEY,
    community_id  TEXT NOT NULL REFERENCES community(id),
    platform      TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    event_type    TEXT NOT NULL,
    payload_enc   BYTEA NOT NULL,
    occurred_at   BIGINT NOT NULL,
    received_at   BIGINT NOT NULL,
    processed_at  BIGINT,
    seq           BIGINT,
    attempts      BIGINT NOT NULL DEFAULT 0,
    last_error    TEXT,
    UNIQUE (platform, event_id)
);
CREATE INDEX inbox_pending ON inbox (community_id, processed_at, occurred_at);

CREATE TABLE ledger_entry (
    id               TEXT PRIMARY KEY,
    community_id     TEXT NOT NULL REFERENCES community(id),
    member_id        TEXT NOT NULL REFERENCES member(id),
    kind             TEXT NOT NULL,
    amount_milli     BIGINT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    giver_member_id  TEXT REFERENCES member(id),
    giver_role       TEXT,
    source_ref       TEXT,
    quota_day        TEXT,
    iso_week         TEXT,
    quota_units      BIGINT NOT NULL DEFAULT 0,
    fire_units       BIGINT NOT NULL DEFAULT 0,
    note_enc         BYTEA,
    occurred_at      BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    UNIQUE (community_id, idempotency_key)
);
CREATE INDEX ledger_member ON ledger_entry (community_id, member_id);
CREATE INDEX ledger_giver_day ON ledger_entry (community_id, giver_member_id, quota_day);
CREATE INDEX ledger_giver_week ON ledger_entry (community_id, giver_member_id, iso_week, member_id);

-- What the engine remembers about a message that gave fire (recipients and units standing).
CREATE TABLE engine_message (
    community_id         TEXT NOT NULL REFERENCES community(id),
    platform_message_id  TEXT NOT NULL,
    author_member_id     TEXT REFERENCES member(id),
    record               TEXT NOT NULL,
    PRIMARY KEY (community_id, platform_message_id)
);

-- What the engine remembers about one reactor's fire reaction on one message.
CREATE TABLE engine_reaction (
    community_id         TEXT NOT NULL REFERENCES community(id),
    platform_message_id  TEXT NOT NULL,
    reactor_member_id    TEXT NOT NULL REFERENCES member(id),
    record               TEXT NOT NULL,
    PRIMARY KEY (community_id, platform_message_id, reactor_member_id)
);

CREATE TABLE member_badge (
    community_id  TEXT NOT NULL REFERENCES community(id),
    member_id     TEXT NOT NULL REFERENCES member(id),
    badge_id      TEXT NOT NULL,
    instance      TEXT NOT NULL,
    awarded_by    TEXT REFERENCES member(id),
    awarded_at    BIGINT NOT NULL,
    PRIMARY KEY (community_id, member_id, badge_id, instance)
);

CREATE TABLE feed_item (
    id            TEXT PRIMARY KEY,
    community_id  TEXT NOT NULL REFERENCES community(id),
    member_id     TEXT REFERENCES member(id),
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    occurred_at   BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX feed_member ON feed_item (community_id, member_id, occurred_at);

CREATE TABLE audit_entry (
    seq           BIGINT PRIMARY KEY,
    community_id  TEXT,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    subject       TEXT,
    at            BIGINT NOT NULL,
    details       TEXT NOT NULL DEFAULT '{}',
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
);

CREATE TABLE audit_head (
    id    BIGINT PRIMARY KEY CHECK (id = 1),
    seq   BIGINT NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE job (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    community_id  TEXT REFERENCES community(id),
    payload       TEXT NOT NULL DEFAULT '{}',
    dedupe_key    TEXT UNIQUE,
    state         TEXT NOT NULL DEFAULT 'queued',
    attempts      BIGINT NOT NULL DEFAULT 0,
    max_attempts  BIGINT NOT NULL DEFAULT 5,
    run_at        BIGINT NOT NULL,
    locked_by     TEXT,
    locked_until  BIGINT,
    last_error    TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX job_ready ON job (state, run_at);
