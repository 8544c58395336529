-- Scheduled announcements (issue 11): an Admin or Instructor writes a post for a channel and a
-- time; a job posts it then. Editable and cancellable until it is sent: each edit bumps
-- `version`, and the job posts only the version it was queued for ('sending' while the post
-- is on its way: no edit then). The text is sealed with
-- the community's key; everything else is ids, states and times.
CREATE TABLE announcement (
    id                   TEXT PRIMARY KEY,
    community_id         TEXT NOT NULL REFERENCES community(id),
    channel              TEXT NOT NULL,
    text_enc             BYTEA NOT NULL,
    post_at              BIGINT NOT NULL,
    state                TEXT NOT NULL CHECK (state IN ('scheduled', 'sending', 'sent', 'cancelled', 'failed')),
    version              BIGINT NOT NULL,
    created_by           TEXT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    sent_at              BIGINT,
    platform_message_id  TEXT,
    FOREIGN KEY (community_id, created_by) REFERENCES member (community_id, id)
);
CREATE INDEX announcement_list ON announcement (community_id, state, post_at);
