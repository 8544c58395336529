-- Issue 9: erasure requests. An erasure (one member, or a whole community) starts as a request
-- with a grace period during which an Admin can cancel it, and a due date 30 days after it was
-- made; the `erasure.run` job carries it out after the grace period and stores the signed
-- receipt here. Member ids are row ids (pseudonymous), never names. No foreign key on the
-- member columns: the request outlives what it erased (it is the proof of the erasure).
CREATE TABLE erasure_request (
    id            TEXT PRIMARY KEY,
    community_id  TEXT NOT NULL REFERENCES community(id),
    target_kind   TEXT NOT NULL CHECK (target_kind IN ('member', 'community')),
    member_id     TEXT,
    origin        TEXT NOT NULL CHECK (origin IN ('admin', 'student_request', 'retention', 'operator')),
    requested_by  TEXT,
    requested_at  BIGINT NOT NULL,
    grace_until   BIGINT NOT NULL,
    due_at        BIGINT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'cancelled', 'running', 'done', 'failed')),
    cancelled_by  TEXT,
    started_at    BIGINT,
    finished_at   BIGINT,
    last_error    TEXT,
    receipt       TEXT,
    CHECK ((target_kind = 'member') = (member_id IS NOT NULL))
);
CREATE INDEX erasure_request_community ON erasure_request (community_id, requested_at);
CREATE INDEX erasure_request_due ON erasure_request (state, grace_until, due_at);
