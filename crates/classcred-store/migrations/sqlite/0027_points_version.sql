-- A version of each community's leaderboard inputs (issue 13: leaderboards at p99 <= 2 ms).
-- `points_period_zone.points_version` changes in the same transaction as every write that can
-- change a leaderboard: ledger inserts (the maintained aggregates), a rebuild of the period
-- rows, and (triggers below) a member joining, leaving or changing role or kind. A process may
-- keep a board in memory and reuse it while the version it was read at is still the
-- database's (one primary-key read), so a board is never stale after a commit, whichever
-- process committed. Each change draws a new random version rather than counting, so no version
-- is ever seen twice: not after a rolled-back write (whose version a process may have kept
-- with the rows it read inside that transaction), nor after a community's rows were purged
-- and rebuilt.
ALTER TABLE points_period_zone ADD COLUMN points_version INTEGER NOT NULL DEFAULT 0;
UPDATE points_period_zone SET points_version = random();

CREATE TRIGGER member_points_version_insert AFTER INSERT ON member
BEGIN
    UPDATE points_period_zone SET points_version = random()
    WHERE community_id = NEW.community_id;
END;

CREATE TRIGGER member_points_version_update AFTER UPDATE OF community_id, role, kind ON member
BEGIN
    UPDATE points_period_zone SET points_version = random()
    WHERE community_id IN (OLD.community_id, NEW.community_id);
END;

CREATE TRIGGER member_points_version_delete AFTER DELETE ON member
BEGIN
    UPDATE points_period_zone SET points_version = random()
    WHERE community_id = OLD.community_id;
END;
