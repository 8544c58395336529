-- The legal-request register (install-wide): requests from authorities for data, who asked,
-- under what authority, the scope, the decision, and what was disclosed and when.
CREATE TABLE legal_request (
    id             TEXT PRIMARY KEY,
    received_at    BIGINT NOT NULL,
    requester      TEXT NOT NULL,
    authority      TEXT NOT NULL,
    scope          TEXT NOT NULL,
    community_id   TEXT REFERENCES community(id),
    state          TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    decision       TEXT NOT NULL CHECK (decision IN ('pending', 'complied', 'partially_complied', 'refused')),
    decision_note  TEXT,
    decided_at     BIGINT,
    disclosed      TEXT,
    disclosed_at   BIGINT,
    recorded_at    BIGINT NOT NULL,
    recorded_by    TEXT NOT NULL,
    closed_at      BIGINT,
    closed_by      TEXT
);
CREATE INDEX legal_request_state ON legal_request (state, received_at);
