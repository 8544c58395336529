-- Scheduled announcements (issue 11): an Admin or Instructor writes a post for a channel and a
-- time; a job posts it then. Editable and cancellable until it is sent: each edit bumps
-- `version`, and the job posts only the version it was queued for ('sending' while the post
-- is on its way: no edit then). The text is sealed with
-- the community's key; everything else is ids, states and times.
CREATE TABLE announcement (
    id                   TEXT PRIMARY KEY,
    community_id         TEXT NOT NULL REFERENCES community(id),
    channel              TEXT NOT NULL,
    text_enc             BLOB NOT NULL,
    post_at              INTEGER NOT NULL,
    state                TEXT NOT NULL CHECK (state IN ('scheduled', 'sending', 'sent', 'cancelled', 'failed')),
    version              INTEGER NOT NULL,
    created_by           TEXT REFERENCES member(id),
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    sent_at              INTEGER,
    platform_message_id  TEXT
);
CREATE INDEX announcement_list ON announcement (community_id, state, post_at);
