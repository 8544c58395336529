-- Firsts and announcement responses (issue 11, items 4 and 5). Ids, places, points and times
-- only.
--
-- `announcement_post`: the platform message each posted announcement became (from the
-- engine's `announcement_posted` event), so a reply in its thread responds to it.
CREATE TABLE announcement_post (
    community_id         TEXT NOT NULL REFERENCES community(id),
    platform_message_id  TEXT NOT NULL,
    announcement_id      TEXT NOT NULL,
    channel              TEXT NOT NULL,
    posted_at            INTEGER NOT NULL,
    PRIMARY KEY (community_id, platform_message_id)
);

-- `first_response`: a person's first response to an announcement, question, poll or debate
-- (one row per target and member). `place` is the 1-based place among the students who
-- responded (NULL for staff); `bonus_milli` the firsts bonus earned (0 when none).
CREATE TABLE first_response (
    community_id   TEXT NOT NULL REFERENCES community(id),
    target_kind    TEXT NOT NULL CHECK (target_kind IN ('announcement', 'question', 'poll', 'debate')),
    target_id      TEXT NOT NULL,
    member_id      TEXT NOT NULL REFERENCES member(id),
    place          INTEGER,
    bonus_milli    INTEGER NOT NULL DEFAULT 0,
    occurred_at    INTEGER NOT NULL,
    PRIMARY KEY (community_id, target_kind, target_id, member_id)
);
CREATE INDEX first_response_member ON first_response (community_id, member_id, target_kind);

CREATE TRIGGER first_response_member_id_same_community_insert BEFORE INSERT ON first_response
WHEN NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: first_response.member_id names a member of another community');
END;
CREATE TRIGGER first_response_member_id_same_community_update BEFORE UPDATE OF community_id, member_id ON first_response
WHEN NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: first_response.member_id names a member of another community');
END;
