-- Questions and answers (issue 11, item 2). Ids and times only: the text of a question or an
-- answer stays in `message.text_enc`, sealed like every message. `record` is the engine's JSON
-- record of the question (facts: answers, accepts, rewards standing); the other columns are
-- copies of it for the dashboard's lists.
CREATE TABLE question (
    community_id         TEXT NOT NULL REFERENCES community(id),
    platform_message_id  TEXT NOT NULL,
    asker_member_id      TEXT NOT NULL REFERENCES member(id),
    channel_id           TEXT,
    asked_at             INTEGER NOT NULL,
    deleted              INTEGER NOT NULL DEFAULT 0,
    accepted_answer_id   TEXT,
    answer_count         INTEGER NOT NULL DEFAULT 0,
    record               TEXT NOT NULL,
    updated_at           INTEGER NOT NULL,
    PRIMARY KEY (community_id, platform_message_id)
);
-- The unanswered list, oldest first: one index range.
CREATE INDEX question_open ON question (community_id, deleted, accepted_answer_id, asked_at);
CREATE INDEX question_asker ON question (community_id, asker_member_id);

-- One reply to a question by someone other than the asker.
CREATE TABLE answer (
    community_id          TEXT NOT NULL REFERENCES community(id),
    platform_message_id   TEXT NOT NULL,
    question_message_id   TEXT NOT NULL,
    author_member_id      TEXT NOT NULL REFERENCES member(id),
    posted_at             INTEGER NOT NULL,
    deleted               INTEGER NOT NULL DEFAULT 0,
    accepted              INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (community_id, platform_message_id)
);
CREATE INDEX answer_question ON answer (community_id, question_message_id, posted_at);
CREATE INDEX answer_author ON answer (community_id, author_member_id);
