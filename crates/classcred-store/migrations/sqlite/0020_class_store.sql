-- The class store (issue 11, item 1): items an Instructor defines and students' purchases.
-- Both are written only by event processing (the engine's outcome), so `ledger replay`
-- reproduces them. Points move in the ledger (`purchase` reserves, `refund` gives back).

-- One item: the engine's whole definition as JSON (`record`: name, description, price,
-- stock, limit, window, flags), plus the columns queries and guards need. `sold` counts
-- pending and approved purchases; the CHECK is the atomic guard against overselling: two
-- writers can never both take the last unit.
CREATE TABLE store_item (
    id            TEXT PRIMARY KEY,
    community_id  TEXT NOT NULL REFERENCES community(id),
    number        INTEGER NOT NULL,
    record        TEXT NOT NULL,
    stock         INTEGER,
    sold          INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (community_id, number),
    CHECK (sold >= 0),
    CHECK (stock IS NULL OR sold <= stock)
);

-- One purchase request. `reason_enc`: why it was refused or rejected, sealed with the
-- buyer's member key (an Instructor's words about a student).
CREATE TABLE store_purchase (
    id             TEXT PRIMARY KEY,
    community_id   TEXT NOT NULL REFERENCES community(id),
    member_id      TEXT NOT NULL REFERENCES member(id),
    store_item_id  TEXT NOT NULL,
    price_milli    INTEGER NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'cancelled', 'refused')),
    reason_enc     BLOB,
    decided_by     TEXT REFERENCES member(id),
    requested_at   INTEGER NOT NULL,
    decided_at     INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX store_purchase_member_item ON store_purchase (community_id, member_id, store_item_id, status);
CREATE INDEX store_purchase_status ON store_purchase (community_id, status, requested_at);

CREATE TRIGGER store_purchase_member_id_same_community_insert BEFORE INSERT ON store_purchase
WHEN NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: store_purchase.member_id names a member of another community');
END;
CREATE TRIGGER store_purchase_member_id_same_community_update BEFORE UPDATE OF community_id, member_id ON store_purchase
WHEN NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: store_purchase.member_id names a member of another community');
END;
CREATE TRIGGER store_purchase_decided_by_same_community_insert BEFORE INSERT ON store_purchase
WHEN NEW.decided_by IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.decided_by AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: store_purchase.decided_by names a member of another community');
END;
CREATE TRIGGER store_purchase_decided_by_same_community_update BEFORE UPDATE OF community_id, decided_by ON store_purchase
WHEN NEW.decided_by IS NOT NULL AND NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.decided_by AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: store_purchase.decided_by names a member of another community');
END;
