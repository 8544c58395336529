-- Device and network data (off unless the operator sets `device_data = true`): one row per
-- dashboard sign-in, with the network the member signed in from truncated before storage
-- (IPv4 /24, IPv6 /48) and the browser reduced to family and OS, both sealed with the
-- community's data key. Shown to the member on /me; purged after 30 days by the retention job.
CREATE TABLE sign_in_record (
    id            TEXT PRIMARY KEY,
    community_id  TEXT NOT NULL REFERENCES community(id),
    member_id     TEXT NOT NULL REFERENCES member(id),
    signed_in_at  INTEGER NOT NULL,
    network_enc   BLOB,
    agent_enc     BLOB
);
CREATE INDEX sign_in_record_member ON sign_in_record (community_id, member_id, signed_in_at);
CREATE INDEX sign_in_record_age ON sign_in_record (signed_in_at);

-- Optional first-party usage statistics (off unless `usage_statistics = true`, and only for
-- visitors who accepted): distinct consenting visitors per UTC day and page group. Counts
-- only; the random visitor id lives in the visitor's cookie and is never stored.
CREATE TABLE usage_daily (
    day         TEXT NOT NULL,
    page_group  TEXT NOT NULL,
    visitors    INTEGER NOT NULL,
    PRIMARY KEY (day, page_group)
);
