-- Platform ids that were looked up and are not members of the community (a user of another
-- workspace, an id the platform does not know, a deactivated account first seen in a mention):
-- they never receive fire and are not looked up again.
CREATE TABLE platform_non_member (
    community_id      TEXT NOT NULL REFERENCES community(id),
    platform_user_id  TEXT NOT NULL,
    reason            TEXT NOT NULL,
    resolved_at       BIGINT NOT NULL,
    PRIMARY KEY (community_id, platform_user_id)
);

-- OAuth install `state` nonces already used, until the state expires (single use).
CREATE TABLE oauth_state_used (
    nonce       TEXT PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX oauth_state_used_expiry ON oauth_state_used (expires_at);

-- The platform's modification time (Slack: `user.updated`, else the event time) of the profile
-- last applied to a member: a redelivered or out-of-order older profile is not applied over it.
ALTER TABLE member ADD COLUMN profile_version BIGINT;
