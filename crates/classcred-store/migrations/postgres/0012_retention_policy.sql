-- Retention schedule of one community (issue 9). No row means the defaults, which are also the
-- column defaults here: processed inbox payloads 30 days, message and feedback text 180 days
-- after the course end date, members inactive 365 days, a disabled community 30 days.
CREATE TABLE retention_policy (
    community_id                TEXT PRIMARY KEY REFERENCES community(id),
    inbox_days                  BIGINT NOT NULL DEFAULT 30,
    text_days_after_course_end  BIGINT NOT NULL DEFAULT 180,
    inactive_member_days        BIGINT NOT NULL DEFAULT 365,
    disabled_community_days     BIGINT NOT NULL DEFAULT 30,
    updated_at                  BIGINT NOT NULL,
    updated_by                  TEXT NOT NULL
);
