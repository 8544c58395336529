-- The class store (issue 11, item 1): items an Instructor defines and students' purchases.
-- Both are written only by event processing (the engine's outcome), so `ledger replay`
-- reproduces them. Points move in the ledger (`purchase` reserves, `refund` gives back).

-- One item: the engine's whole definition as JSON (`record`: name, description, price,
-- stock, limit, window, flags), plus the columns queries and guards need. `sold` counts
-- pending and approved purchases; the CHECK is the atomic guard against overselling: two
-- writers can never both take the last unit (the second UPDATE re-reads the row it waited
-- for and fails the check).
CREATE TABLE store_item (
    id            TEXT PRIMARY KEY,
    community_id  TEXT NOT NULL REFERENCES community(id),
    number        BIGINT NOT NULL,
    record        TEXT NOT NULL,
    stock         BIGINT,
    sold          BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (community_id, number),
    CHECK (sold >= 0),
    CHECK (stock IS NULL OR sold <= stock)
);

-- One purchase request. `reason_enc`: why it was refused or rejected, sealed with the
-- buyer's member key (an Instructor's words about a student).
CREATE TABLE store_purchase (
    id             TEXT PRIMARY KEY,
    community_id   TEXT NOT NULL REFERENCES community(id),
    member_id      TEXT NOT NULL,
    store_item_id  TEXT NOT NULL,
    price_milli    BIGINT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'cancelled', 'refused')),
    reason_enc     BYTEA,
    decided_by     TEXT,
    requested_at   BIGINT NOT NULL,
    decided_at     BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    FOREIGN KEY (community_id, member_id) REFERENCES member (community_id, id),
    FOREIGN KEY (community_id, decided_by) REFERENCES member (community_id, id)
);
CREATE INDEX store_purchase_member_item ON store_purchase (community_id, member_id, store_item_id, status);
CREATE INDEX store_purchase_status ON store_purchase (community_id, status, requested_at);
