-- Issue 7: findings 4 and 8, and tenancy constraints.

-- The audit chain's version: 1 = unkeyed SHA-256 links (before this migration), 2 = links
-- are HMAC-SHA256 under a key derived from the master key. An empty chain starts keyed; an
-- existing chain is verified and re-linked under the key by `Store::migrate` (it needs the
-- master key, which SQL does not have) and stays version 1 until then.
ALTER TABLE audit_head ADD COLUMN chain_version INTEGER NOT NULL DEFAULT 1;
UPDATE audit_head SET chain_version = 2 WHERE seq = 0;

-- One row per running `classcred serve` process, refreshed while it runs. `keys rotate`
-- refuses while any lease is live.
CREATE TABLE server_lease (
    id             TEXT PRIMARY KEY,
    master_key_id  TEXT NOT NULL,
    started_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);

-- A single row that rotation, data-key creation and server registration update first, so
-- that they serialise (PostgreSQL row lock; SQLite write lock).
CREATE TABLE keyring (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    rotations  INTEGER NOT NULL
);
INSERT INTO keyring (id, rotations) VALUES (1, 0);

-- Tenancy in the schema: a row of community C may only name members of community C. Every
-- query already filters on community_id; these constraints make a bug that mixes communities
-- fail instead of linking data across tenants.
-- SQLite can only add a foreign key by rebuilding the table (create, copy, drop, rename), for
-- seven tables including the ledger. Triggers give the same guarantee on insert and update
-- (one primary-key lookup per write) without a rebuild; `ON DELETE` is already covered by the
-- single-column foreign keys.
CREATE TRIGGER message_author_member_id_same_community_insert BEFORE INSERT ON message
WHEN NEW.author_member_id IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.author_member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: message.author_member_id names a member of another community');
END;
CREATE TRIGGER message_author_member_id_same_community_update BEFORE UPDATE OF community_id, author_member_id ON message
WHEN NEW.author_member_id IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.author_member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: message.author_member_id names a member of another community');
END;
CREATE TRIGGER installation_installed_by_member_id_same_community_insert BEFORE INSERT ON installation
WHEN NEW.installed_by_member_id IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.installed_by_member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: installation.installed_by_member_id names a member of another community');
END;
CREATE TRIGGER installation_installed_by_member_id_same_community_update BEFORE UPDATE OF community_id, installed_by_member_id ON installation
WHEN NEW.installed_by_member_id IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.installed_by_member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: installation.installed_by_member_id names a member of another community');
END;
CREATE TRIGGER ledger_entry_member_id_same_community_insert BEFORE INSERT ON ledger_entry
WHEN NEW.member_id IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: ledger_entry.member_id names a member of another community');
END;
CREATE TRIGGER ledger_entry_member_id_same_community_update BEFORE UPDATE OF community_id, member_id ON ledger_entry
WHEN NEW.member_id IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: ledger_entry.member_id names a member of another community');
END;
CREATE TRIGGER ledger_entry_giver_member_id_same_community_insert BEFORE INSERT ON ledger_entry
WHEN NEW.giver_member_id IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.giver_member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: ledger_entry.giver_member_id names a member of another community');
END;
CREATE TRIGGER ledger_entry_giver_member_id_same_community_update BEFORE UPDATE OF community_id, giver_member_id ON ledger_entry
WHEN NEW.giver_member_id IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.giver_member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: ledger_entry.giver_member_id names a member of another community');
END;
CREATE TRIGGER engine_message_author_member_id_same_community_insert BEFORE INSERT ON engine_message
WHEN NEW.author_member_id IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.author_member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: engine_message.author_member_id names a member of another community');
END;
CREATE TRIGGER engine_message_author_member_id_same_community_update BEFORE UPDATE OF community_id, author_member_id ON engine_message
WHEN NEW.author_member_id IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.author_member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: engine_message.author_member_id names a member of another community');
END;
CREATE TRIGGER engine_reaction_reactor_member_id_same_community_insert BEFORE INSERT ON engine_reaction
WHEN NEW.reactor_member_id IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.reactor_member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: engine_reaction.reactor_member_id names a member of another community');
END;
CREATE TRIGGER engine_reaction_reactor_member_id_same_community_update BEFORE UPDATE OF community_id, reactor_member_id ON engine_reaction
WHEN NEW.reactor_member_id IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.reactor_member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: engine_reaction.reactor_member_id names a member of another community');
END;
CREATE TRIGGER member_badge_member_id_same_community_insert BEFORE INSERT ON member_badge
WHEN NEW.member_id IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: member_badge.member_id names a member of another community');
END;
CREATE TRIGGER member_badge_member_id_same_community_update BEFORE UPDATE OF community_id, member_id ON member_badge
WHEN NEW.member_id IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: member_badge.member_id names a member of another community');
END;
CREATE TRIGGER member_badge_awarded_by_same_community_insert BEFORE INSERT ON member_badge
WHEN NEW.awarded_by IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.awarded_by AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: member_badge.awarded_by names a member of another community');
END;
CREATE TRIGGER member_badge_awarded_by_same_community_update BEFORE UPDATE OF community_id, awarded_by ON member_badge
WHEN NEW.awarded_by IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.awarded_by AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: member_badge.awarded_by names a member of another community');
END;
CREATE TRIGGER feed_item_member_id_same_community_insert BEFORE INSERT ON feed_item
WHEN NEW.member_id IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: feed_item.member_id names a member of another community');
END;
CREATE TRIGGER feed_item_member_id_same_community_update BEFORE UPDATE OF community_id, member_id ON feed_item
WHEN NEW.member_id IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: feed_item.member_id names a member of another community');
END;
