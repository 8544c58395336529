-- Issue 7: findings 4 and 8, and tenancy constraints.

-- The audit chain's version: 1 = unkeyed SHA-256 links (before this migration), 2 = links
-- are HMAC-SHA256 under a key derived from the master key. An empty chain starts keyed; an
-- existing chain is verified and re-linked under the key by `Store::migrate` (it needs the
-- master key, which SQL does not have) and stays version 1 until then.
ALTER TABLE audit_head ADD COLUMN chain_version BIGINT NOT NULL DEFAULT 1;
UPDATE audit_head SET chain_version = 2 WHERE seq = 0;

-- One row per running `classcred serve` process, refreshed while it runs. `keys rotate`
-- refuses while any lease is live.
CREATE TABLE server_lease (
    id             TEXT PRIMARY KEY,
    master_key_id  TEXT NOT NULL,
    started_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);

-- A single row that rotation, data-key creation and server registration update first, so
-- that they serialise (PostgreSQL row lock; SQLite write lock).
CREATE TABLE keyring (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    rotations  BIGINT NOT NULL
);
INSERT INTO keyring (id, rotations) VALUES (1, 0);

-- Tenancy in the schema: a row of community C may only name members of community C. Every
-- query already filters on community_id; these constraints make a bug that mixes communities
-- fail instead of linking data across tenants.
ALTER TABLE member ADD CONSTRAINT member_community_id UNIQUE (community_id, id);
ALTER TABLE message ADD CONSTRAINT message_author_member_id_same_community
    FOREIGN KEY (community_id, author_member_id) REFERENCES member (community_id, id);
ALTER TABLE installation ADD CONSTRAINT installation_installed_by_member_id_same_community
    FOREIGN KEY (community_id, installed_by_member_id) REFERENCES member (community_id, id);
ALTER TABLE ledger_entry ADD CONSTRAINT ledger_entry_member_id_same_community
    FOREIGN KEY (community_id, member_id) REFERENCES member (community_id, id);
ALTER TABLE ledger_entry ADD CONSTRAINT ledger_entry_giver_member_id_same_community
    FOREIGN KEY (community_id, giver_member_id) REFERENCES member (community_id, id);
ALTER TABLE engine_message ADD CONSTRAINT engine_message_author_member_id_same_community
    FOREIGN KEY (community_id, author_member_id) REFERENCES member (community_id, id);
ALTER TABLE engine_reaction ADD CONSTRAINT engine_reaction_reactor_member_id_same_community
    FOREIGN KEY (community_id, reactor_member_id) REFERENCES member (community_id, id);
ALTER TABLE member_badge ADD CONSTRAINT member_badge_member_id_same_community
    FOREIGN KEY (community_id, member_id) REFERENCES member (community_id, id);
ALTER TABLE member_badge ADD CONSTRAINT member_badge_awarded_by_same_community
    FOREIGN KEY (community_id, awarded_by) REFERENCES member (community_id, id);
ALTER TABLE feed_item ADD CONSTRAINT feed_item_member_id_same_community
    FOREIGN KEY (community_id, member_id) REFERENCES member (community_id, id);
