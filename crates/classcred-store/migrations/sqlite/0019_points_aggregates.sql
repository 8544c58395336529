-- Maintained aggregates of the ledger (issue 13): balances, leaderboards and `/cred me` read
-- these rows instead of summing the ledger. Every ledger insert updates them in the same
-- transaction (`CommunityTx::insert_ledger_entries`); `ledger replay` checks them against the
-- ledger. "Earned" counts every entry except purchases and refunds (as the ledger sums did).

-- Lifetime totals per member.
CREATE TABLE member_points (
    community_id     TEXT NOT NULL REFERENCES community(id),
    member_id        TEXT NOT NULL REFERENCES member(id),
    earned_milli     INTEGER NOT NULL,
    spendable_milli  INTEGER NOT NULL,
    PRIMARY KEY (community_id, member_id)
);

-- Earned points per member per ISO week ('week:2026-W48') and calendar month
-- ('month:2026-11') of the entry's platform time, local to `points_period_zone.timezone`.
-- A leaderboard of a period is one index range: (community_id, period).
CREATE TABLE member_period_points (
    community_id  TEXT NOT NULL REFERENCES community(id),
    period        TEXT NOT NULL,
    member_id     TEXT NOT NULL REFERENCES member(id),
    earned_milli  INTEGER NOT NULL,
    PRIMARY KEY (community_id, period, member_id)
);

-- The timezone the period rows of a community are keyed in. It follows the community's
-- settings: when the timezone changes, the period rows are rebuilt from the ledger in the same
-- transaction. No row (a database from before this migration): the period rows are built by
-- the next ledger write or settings change, and leaderboards read the ledger until then.
CREATE TABLE points_period_zone (
    community_id  TEXT PRIMARY KEY REFERENCES community(id),
    timezone      TEXT NOT NULL
);

-- Tenancy: an aggregate row of one community cannot name a member of another.
CREATE TRIGGER member_points_member_id_same_community_insert BEFORE INSERT ON member_points
WHEN NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: member_points.member_id names a member of another community');
END;
CREATE TRIGGER member_points_member_id_same_community_update BEFORE UPDATE OF community_id, member_id ON member_points
WHEN NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: member_points.member_id names a member of another community');
END;
CREATE TRIGGER member_period_points_member_id_same_community_insert BEFORE INSERT ON member_period_points
WHEN NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: member_period_points.member_id names a member of another community');
END;
CREATE TRIGGER member_period_points_member_id_same_community_update BEFORE UPDATE OF community_id, member_id ON member_period_points
WHEN NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: member_period_points.member_id names a member of another community');
END;

-- Existing ledgers: the lifetime totals now (the period rows need the timezone, see above).
INSERT INTO member_points (community_id, member_id, earned_milli, spendable_milli)
SELECT community_id, member_id,
       COALESCE(SUM(CASE WHEN kind IN ('purchase', 'refund') THEN 0 ELSE amount_milli END), 0),
       COALESCE(SUM(amount_milli), 0)
FROM ledger_entry GROUP BY community_id, member_id;
