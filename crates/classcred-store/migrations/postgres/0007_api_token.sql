-- Per-community API tokens for the JSON API (/api/v1). Only the SHA-256 of a token is kept;
-- the token itself is shown once, when it is created.
CREATE TABLE api_token (
    id            TEXT PRIMARY KEY,
    community_id  TEXT NOT NULL REFERENCES community(id),
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);
CREATE INDEX api_token_community ON api_token (community_id, created_at);
