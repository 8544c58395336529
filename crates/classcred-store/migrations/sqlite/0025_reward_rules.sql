-- Custom reward rules (issue 11, item 6): "when <trigger> [where <condition>] then award
-- <points | badge> [at most <n> per <day | week | course>]". Written only by event processing
-- (the engine's outcome of a `rule_saved` event), so `ledger replay` reproduces them. A rule's
-- points are `rule_award` ledger entries (`source_ref` = the rule id); caps count those.

-- The current version of each rule: the engine's whole definition as JSON (`record`: trigger,
-- condition, award, cap, enabled; ids and numbers only, no free text), plus the columns
-- queries need.
CREATE TABLE reward_rule (
    id            TEXT PRIMARY KEY,
    community_id  TEXT NOT NULL REFERENCES community(id),
    version       INTEGER NOT NULL,
    enabled       INTEGER NOT NULL,
    record        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CHECK (version >= 1),
    CHECK (enabled IN (0, 1))
);
CREATE INDEX reward_rule_enabled ON reward_rule (community_id, enabled);

-- Every version ever saved (the dashboard's history of a rule).
CREATE TABLE reward_rule_version (
    community_id  TEXT NOT NULL REFERENCES community(id),
    rule_id       TEXT NOT NULL,
    version       INTEGER NOT NULL,
    record        TEXT NOT NULL,
    saved_at      INTEGER NOT NULL,
    PRIMARY KEY (community_id, rule_id, version)
);

-- Caps count a rule's awards to one member in a day or week.
CREATE INDEX ledger_rule_awards ON ledger_entry (community_id, source_ref, member_id, quota_day)
    WHERE kind = 'rule_award';
