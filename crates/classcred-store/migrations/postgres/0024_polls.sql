-- Polls and debates (issue 11, item 3). Written only by event processing (the engine's
-- outcome), so `ledger replay` reproduces them. The question and the options are
-- instructor-written text that can name people: sealed with the community key.

-- One poll or debate. `number`: the short number members vote by in chat (`vote 3 2`), given
-- in processing order. `posted_message_id`: the platform message the bot posted (a debate's
-- discussion thread root). `closed_by` is empty for a scheduled close.
CREATE TABLE poll (
    id                 TEXT PRIMARY KEY,
    community_id       TEXT NOT NULL REFERENCES community(id),
    number             BIGINT NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('poll', 'debate')),
    question_enc       BYTEA NOT NULL,
    anonymous          BIGINT NOT NULL DEFAULT 0,
    live_results       BIGINT NOT NULL DEFAULT 0,
    channel_id         TEXT,
    closes_at          BIGINT,
    created_by         TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    posted_message_id  TEXT,
    closed_at          BIGINT,
    closed_by          TEXT,
    updated_at         BIGINT NOT NULL,
    FOREIGN KEY (community_id, created_by) REFERENCES member (community_id, id),
    FOREIGN KEY (community_id, closed_by) REFERENCES member (community_id, id)
);
CREATE UNIQUE INDEX poll_number ON poll (community_id, number);
CREATE INDEX poll_created ON poll (community_id, created_at);
CREATE INDEX poll_posted ON poll (community_id, posted_message_id);

-- The options (a debate's sides), numbered from 0 in `position`.
CREATE TABLE poll_option (
    id            TEXT PRIMARY KEY,
    community_id  TEXT NOT NULL REFERENCES community(id),
    poll_id       TEXT NOT NULL REFERENCES poll(id),
    position      BIGINT NOT NULL,
    text_enc      BYTEA NOT NULL,
    created_at    BIGINT NOT NULL,
    UNIQUE (poll_id, position)
);

-- One vote per member and poll. A poll that is not anonymous names the voter (`member_id`)
-- and the time; an anonymous one holds only `voter_bidx`, a keyed blind index of (poll,
-- member) made with the community key: enough to keep one vote per member, useless for
-- saying who voted (and different in every poll, so votes cannot be linked across polls).
-- The id is random (not time-ordered) and an anonymous vote has no time.
CREATE TABLE poll_vote (
    id            TEXT PRIMARY KEY,
    community_id  TEXT NOT NULL REFERENCES community(id),
    poll_id       TEXT NOT NULL REFERENCES poll(id),
    member_id     TEXT,
    voter_bidx    BYTEA,
    position      BIGINT NOT NULL,
    voted_at      BIGINT,
    CHECK ((member_id IS NULL) <> (voter_bidx IS NULL)),
    FOREIGN KEY (community_id, member_id) REFERENCES member (community_id, id)
);
CREATE UNIQUE INDEX poll_vote_member ON poll_vote (poll_id, member_id);
CREATE UNIQUE INDEX poll_vote_bidx ON poll_vote (poll_id, voter_bidx);
CREATE INDEX poll_vote_by_member ON poll_vote (community_id, member_id);

-- Each member counted once as a debate's participant (a side chosen or a post in its thread).
CREATE TABLE poll_debater (
    id            TEXT PRIMARY KEY,
    community_id  TEXT NOT NULL REFERENCES community(id),
    poll_id       TEXT NOT NULL REFERENCES poll(id),
    member_id     TEXT NOT NULL,
    joined_at     BIGINT NOT NULL,
    UNIQUE (poll_id, member_id),
    FOREIGN KEY (community_id, member_id) REFERENCES member (community_id, id)
);
CREATE INDEX poll_debater_member ON poll_debater (community_id, member_id);
