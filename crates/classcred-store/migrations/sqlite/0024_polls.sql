-- Polls and debates (issue 11, item 3). Written only by event processing (the engine's
-- outcome), so `ledger replay` reproduces them. The question and the options are
-- instructor-written text that can name people: sealed with the community key.

-- One poll or debate. `number`: the short number members vote by in chat (`vote 3 2`), given
-- in processing order. `posted_message_id`: the platform message the bot posted (a debate's
-- discussion thread root). `closed_by` is empty for a scheduled close.
CREATE TABLE poll (
    id                 TEXT PRIMARY KEY,
    community_id       TEXT NOT NULL REFERENCES community(id),
    number             INTEGER NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('poll', 'debate')),
    question_enc       BLOB NOT NULL,
    anonymous          INTEGER NOT NULL DEFAULT 0,
    live_results       INTEGER NOT NULL DEFAULT 0,
    channel_id         TEXT,
    closes_at          INTEGER,
    created_by         TEXT NOT NULL REFERENCES member(id),
    created_at         INTEGER NOT NULL,
    posted_message_id  TEXT,
    closed_at          INTEGER,
    closed_by          TEXT REFERENCES member(id),
    updated_at         INTEGER NOT NULL
);
CREATE UNIQUE INDEX poll_number ON poll (community_id, number);
CREATE INDEX poll_created ON poll (community_id, created_at);
CREATE INDEX poll_posted ON poll (community_id, posted_message_id);

-- The options (a debate's sides), numbered from 0 in `position`.
CREATE TABLE poll_option (
    id            TEXT PRIMARY KEY,
    community_id  TEXT NOT NULL REFERENCES community(id),
    poll_id       TEXT NOT NULL REFERENCES poll(id),
    position      INTEGER NOT NULL,
    text_enc      BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
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
    member_id     TEXT REFERENCES member(id),
    voter_bidx    BLOB,
    position      INTEGER NOT NULL,
    voted_at      INTEGER,
    CHECK ((member_id IS NULL) <> (voter_bidx IS NULL))
);
CREATE UNIQUE INDEX poll_vote_member ON poll_vote (poll_id, member_id);
CREATE UNIQUE INDEX poll_vote_bidx ON poll_vote (poll_id, voter_bidx);
CREATE INDEX poll_vote_by_member ON poll_vote (community_id, member_id);

-- Each member counted once as a debate's participant (a side chosen or a post in its thread).
CREATE TABLE poll_debater (
    id            TEXT PRIMARY KEY,
    community_id  TEXT NOT NULL REFERENCES community(id),
    poll_id       TEXT NOT NULL REFERENCES poll(id),
    member_id     TEXT NOT NULL REFERENCES member(id),
    joined_at     INTEGER NOT NULL,
    UNIQUE (poll_id, member_id)
);
CREATE INDEX poll_debater_member ON poll_debater (community_id, member_id);

CREATE TRIGGER poll_created_by_same_community_insert BEFORE INSERT ON poll
WHEN NEW.created_by IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.created_by AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: poll.created_by names a member of another community');
END;
CREATE TRIGGER poll_created_by_same_community_update BEFORE UPDATE OF community_id, created_by ON poll
WHEN NEW.created_by IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.created_by AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: poll.created_by names a member of another community');
END;
CREATE TRIGGER poll_closed_by_same_community_insert BEFORE INSERT ON poll
WHEN NEW.closed_by IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.closed_by AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: poll.closed_by names a member of another community');
END;
CREATE TRIGGER poll_closed_by_same_community_update BEFORE UPDATE OF community_id, closed_by ON poll
WHEN NEW.closed_by IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.closed_by AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: poll.closed_by names a member of another community');
END;
CREATE TRIGGER poll_vote_member_id_same_community_insert BEFORE INSERT ON poll_vote
WHEN NEW.member_id IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: poll_vote.member_id names a member of another community');
END;
CREATE TRIGGER poll_vote_member_id_same_community_update BEFORE UPDATE OF community_id, member_id ON poll_vote
WHEN NEW.member_id IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: poll_vote.member_id names a member of another community');
END;
CREATE TRIGGER poll_debater_member_id_same_community_insert BEFORE INSERT ON poll_debater
WHEN NEW.member_id IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: poll_debater.member_id names a member of another community');
END;
CREATE TRIGGER poll_debater_member_id_same_community_update BEFORE UPDATE OF community_id, member_id ON poll_debater
WHEN NEW.member_id IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: poll_debater.member_id names a member of another community');
END;
