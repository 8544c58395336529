-- Issue 7, findings 4 and 8.

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
