-- Maintained aggregate of the ledger (issue 13): how many student awards each giver made to
-- each recipient. The engine's questions `has_recognised`, `distinct_givers` and
-- `distinct_recipients` read these rows (a primary-key read, or a count of one member's pair
-- rows) instead of a member's whole ledger history on every give. Every ledger insert updates
-- them in the same transaction (`CommunityTx::insert_ledger_entries`); `ledger replay` checks
-- them against the ledger. Counted: entries of kind 'award' with giver_role 'student' and a
-- giver (a reversal is an entry of its own kind and does not uncount, as in the ledger query).
CREATE TABLE award_pair (
    community_id         TEXT NOT NULL REFERENCES community(id),
    giver_member_id      TEXT NOT NULL REFERENCES member(id),
    recipient_member_id  TEXT NOT NULL REFERENCES member(id),
    awards               INTEGER NOT NULL,
    PRIMARY KEY (community_id, giver_member_id, recipient_member_id)
);
-- distinct_givers: the pair rows of one recipient.
CREATE INDEX award_pair_recipient ON award_pair (community_id, recipient_member_id);

-- Tenancy: a pair row of one community cannot name a member of another.
CREATE TRIGGER award_pair_giver_member_id_same_community_insert BEFORE INSERT ON award_pair
WHEN NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.giver_member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: award_pair.giver_member_id names a member of another community');
END;
CREATE TRIGGER award_pair_giver_member_id_same_community_update BEFORE UPDATE OF community_id, giver_member_id ON award_pair
WHEN NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.giver_member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: award_pair.giver_member_id names a member of another community');
END;
CREATE TRIGGER award_pair_recipient_member_id_same_community_insert BEFORE INSERT ON award_pair
WHEN NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.recipient_member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: award_pair.recipient_member_id names a member of another community');
END;
CREATE TRIGGER award_pair_recipient_member_id_same_community_update BEFORE UPDATE OF community_id, recipient_member_id ON award_pair
WHEN NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.recipient_member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: award_pair.recipient_member_id names a member of another community');
END;

-- Existing ledgers.
INSERT INTO award_pair (community_id, giver_member_id, recipient_member_id, awards)
SELECT community_id, giver_member_id, member_id, COUNT(*)
FROM ledger_entry
WHERE kind = 'award' AND giver_role = 'student' AND giver_member_id IS NOT NULL
GROUP BY community_id, giver_member_id, member_id;

-- The job claim (`Store::claim_job`) reads the first queued job in (run_at, id) order: with
-- `job_ready (state, run_at)` every claim sorted every due job (a backlog of 100,000 events
-- queues tens of thousands of notice jobs, so delivering them cost O(n²)). This index gives
-- the order directly; it also serves everything `job_ready` did (its prefix).
DROP INDEX job_ready;
CREATE INDEX job_claim_order ON job (state, run_at, id);
