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
    posted_at            BIGINT NOT NULL,
    PRIMARY KEY (community_id, platform_message_id)
);

-- `first_response`: a person's first response to an announcement, question, poll or debate
-- (one row per target and member). `place` is the 1-based place among the students who
-- responded (NULL for staff); `bonus_milli` the firsts bonus earned (0 when none).
CREATE TABLE first_response (
    community_id   TEXT NOT NULL REFERENCES community(id),
    target_kind    TEXT NOT NULL CHECK (target_kind IN ('announcement', 'question', 'poll', 'debate')),
    target_id      TEXT NOT NULL,
    member_id      TEXT NOT NULL,
    place          BIGINT,
    bonus_milli    BIGINT NOT NULL DEFAULT 0,
    occurred_at    BIGINT NOT NULL,
    PRIMARY KEY (community_id, target_kind, target_id, member_id),
    FOREIGN KEY (community_id, member_id) REFERENCES member (community_id, id)
);
CREATE INDEX first_response_member ON first_response (community_id, member_id, target_kind);
