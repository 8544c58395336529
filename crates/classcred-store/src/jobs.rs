//! Jobs are rows. A job is enqueued inside the transaction of the change it follows, so a
//! rolled-back change leaves no job. Workers claim one job at a time with a lease
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL), and a failed job is retried with exponential
//! backoff until `max_attempts`, then marked failed. Handlers must be idempotent: a job whose
//! worker died is claimed again after its lease ends.
//!
//! A job with a `coalesce_key` is enqueued only when no *queued* job with that key exists
//! (a partial unique index): one pending `recognition.drain` per community however many events
//! arrive, while a drain already running never swallows a newer event. Done jobs are pruned
//! after a retention period ([`Store::prune_done_jobs`]).

use serde::Serialize;
use sqlx::Row;

use crate::{new_id, CommunityId, Result, Store, Tx};

#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub community_id: Option<CommunityId>,
    /// Ids only: never personal values.
    pub payload: serde_json::Value,
    /// At most one job with this key exists; enqueueing again is a no-op.
    pub dedupe_key: Option<String>,
    /// At most one *queued* job with this key exists: enqueueing while one waits is a no-op,
    /// enqueueing while one runs adds one. For work that covers everything due when it starts.
    pub coalesce_key: Option<String>,
    pub max_attempts: i64,
    /// Earliest run time (ms since epoch); `None` means now.
    pub run_at: Option<i64>,
}

impl NewJob {
    pub fn new(kind: impl Into<String>, payload: serde_json::Value) -> Self {
        Self {
            kind: kind.into(),
            community_id: None,
            payload,
            dedupe_key: None,
            coalesce_key: None,
            max_attempts: 5,
            run_at: None,
        }
    }
}

/// A job a worker holds.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: String,
    pub kind: String,
    pub community_id: Option<CommunityId>,
    pub payload: serde_json::Value,
    /// Attempts including this one.
    pub attempts: i64,
    pub max_attempts: i64,
}

impl ClaimedJob {
    /// The `community_id` of the job's payload, parsed: a payload is a boundary (it was
    /// written as JSON and read back), so its id goes through [`CommunityId::parse`].
    pub fn payload_community_id(&self) -> Result<CommunityId> {
        let text = self
            .payload
            .get("community_id")
            .and_then(|c| c.as_str())
            .ok_or_else(|| {
                crate::StoreError::Invalid(format!(
                    "{} job {} without community_id",
                    self.kind, self.id
                ))
            })?;
        CommunityId::parse(text)
    }
}

/// What happened to a failed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailOutcome {
    RetryAt(i64),
    Failed,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JobCounts {
    pub queued: i64,
    pub running: i64,
    pub done: i64,
    pub failed: i64,
    /// Platform deliveries waiting in the inbox (all communities).
    pub inbox_pending: i64,
    /// Inbox rows parked after repeated failures (see `classcred-service`).
    pub inbox_parked: i64,
    /// Erasure requests past their due date and not done (issue 9).
    pub erasure_overdue: i64,
    /// Students' privacy requests still open after their due date (all communities).
    pub privacy_requests_overdue: i64,
    /// Breaches whose 72-hour notification clock runs (recorded, not yet notified or closed).
    pub breaches_open: i64,
    /// Of those, the ones past their deadline.
    pub breaches_overdue: i64,
    /// Whole hours left before the earliest open breach's deadline (negative when overdue);
    /// `None` without an open breach.
    pub breach_hours_left: Option<i64>,
}

/// Backoff before attempt `attempts + 1`: 1 s, 2 s, 4 s … capped at 10 minutes.
pub fn backoff_ms(attempts: i64) -> i64 {
    let exp = attempts.clamp(1, 20) - 1;
    (1000_i64 << exp).min(600_000)
}

impl Tx<'_> {
    /// Enqueue a job in this transaction. Returns its id, or `None` when a job with the same
    /// dedupe key exists, or a queued one with the same coalesce key.
    pub async fn enqueue(&mut self, job: &NewJob) -> Result<Option<String>> {
        let id = new_id();
        let now = self.now_ms();
        // No conflict target: either unique index (dedupe_key, or coalesce_key among queued
        // jobs) makes the insert a no-op.
        let inserted: Option<String> = sqlx::query_scalar(
            "INSERT INTO job (id, kind, community_id, payload, dedupe_key, coalesce_key, state, attempts, \
             max_attempts, run_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, $8, $9, $9) \
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(&id)
        .bind(&job.kind)
        .bind(&job.community_id)
        .bind(serde_json::to_string(&job.payload)?)
        .bind(&job.dedupe_key)
        .bind(&job.coalesce_key)
        .bind(job.max_attempts.max(1))
        .bind(job.run_at.unwrap_or(now))
        .bind(now)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(inserted)
    }
}

impl Tx<'_> {
    /// [`Tx::enqueue`] for many jobs, one statement per 100 (a processing batch queues its
    /// rows' notices together). A job that a unique key makes a duplicate is skipped, as
    /// [`Tx::enqueue`] skips it.
    pub async fn enqueue_many(&mut self, jobs: &[NewJob]) -> Result<()> {
        const COLS: usize = 12;
        let now = self.now_ms();
        for chunk in jobs.chunks(100) {
            let mut sql = String::from(
                "INSERT INTO job (id, kind, community_id, payload, dedupe_key, coalesce_key, \
                 state, attempts, max_attempts, run_at, created_at, updated_at) VALUES ",
            );
            crate::push_value_rows(&mut sql, chunk.len(), COLS);
            sql.push_str(" ON CONFLICT DO NOTHING");
            let mut q = sqlx::query(&sql);
            for job in chunk {
                q = q
                    .bind(new_id())
                    .bind(&job.kind)
                    .bind(&job.community_id)
                    .bind(serde_json::to_string(&job.payload)?)
                    .bind(&job.dedupe_key)
                    .bind(&job.coalesce_key)
                    .bind("queued")
                    .bind(0_i64)
                    .bind(job.max_attempts.max(1))
                    .bind(job.run_at.unwrap_or(now))
                    .bind(now)
                    .bind(now);
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }
}

impl Store {
    /// Enqueue a job on its own (for work that follows no other change).
    pub async fn enqueue(&self, job: &NewJob) -> Result<Option<String>> {
        let mut tx = self.begin().await?;
        let id = tx.enqueue(job).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Claim the next due job for `worker_id`, holding it for `lease_ms`. Jobs whose lease ran
    /// out (their worker died) are due again.
    pub async fn claim_job(&self, worker_id: &str, lease_ms: i64) -> Result<Option<ClaimedJob>> {
        let now = self.now_ms();
        let sql = self.claim_job_sql();
        let row = sqlx::query(&sql)
            .bind(worker_id)
            .bind(now + lease_ms)
            .bind(now)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(ClaimedJob {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                community_id: r.try_get("community_id")?,
                payload: serde_json::from_str(&r.try_get::<String, _>("payload")?)?,
                attempts: r.try_get("attempts")?,
                max_attempts: r.try_get("max_attempts")?,
            })
        })
        .transpose()
    }

    /// The statement of [`Store::claim_job`] on this backend (public for the query-plan test).
    pub fn claim_job_sql(&self) -> String {
        // The first due job in (run_at, id) order among the queued ones and the first among
        // those whose lease ran out, whichever comes first. Each arm reads the head of the
        // index `job_claim_order (state, run_at, id)` (migration 0022): a claim costs the same
        // with ten or a hundred thousand queued jobs (one `OR` over both made every claim sort
        // every due job, and a backlog queues a notice job per few events).
        let lock = self.inner.backend.claim_lock_clause();
        format!(
            "UPDATE job SET state = 'running', locked_by = $1, locked_until = $2, \
             attempts = attempts + 1, updated_at = $3 \
             WHERE id = (SELECT id FROM ( \
                 SELECT id, run_at FROM (SELECT id, run_at FROM job \
                     WHERE state = 'queued' AND run_at <= $3 ORDER BY run_at, id LIMIT 1 {lock}) AS due \
                 UNION ALL \
                 SELECT id, run_at FROM (SELECT id, run_at FROM job \
                     WHERE state = 'running' AND locked_until < $3 ORDER BY run_at, id LIMIT 1 {lock}) AS expired \
             ) AS next ORDER BY run_at, id LIMIT 1) \
             RETURNING id, kind, community_id, payload, attempts, max_attempts"
        )
    }

    /// Mark a job done. Returns false when the worker no longer held it (lease lost).
    pub async fn complete_job(&self, job_id: &str, worker_id: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE job SET state = 'done', locked_by = NULL, locked_until = NULL, last_error = NULL, \
             updated_at = $3 WHERE id = $1 AND locked_by = $2 AND state = 'running'",
        )
        .bind(job_id)
        .bind(worker_id)
        .bind(self.now_ms())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Record a failure: retry later with backoff, or give up after `max_attempts`.
    /// `error` must not contain personal data (our errors carry ids only).
    pub async fn fail_job(
        &self,
        job: &ClaimedJob,
        worker_id: &str,
        error: &str,
    ) -> Result<FailOutcome> {
        let now = self.now_ms();
        let outcome = if job.attempts >= job.max_attempts {
            FailOutcome::Failed
        } else {
            FailOutcome::RetryAt(now + backoff_ms(job.attempts))
        };
        let (state, run_at) = match outcome {
            FailOutcome::Failed => ("failed", None),
            FailOutcome::RetryAt(at) => ("queued", Some(at)),
        };
        let truncated: String = error.chars().take(500).collect();
        // Back to the queue unless a queued job with the same coalesce key already waits (it
        // covers this one's work).
        let updated = sqlx::query(
            "UPDATE job SET state = $3, run_at = COALESCE($4, run_at), locked_by = NULL, locked_until = NULL, \
             last_error = $5, updated_at = $6 WHERE id = $1 AND locked_by = $2 \
             AND ($3 <> 'queued' OR NOT EXISTS (SELECT 1 FROM job q WHERE q.coalesce_key = job.coalesce_key \
             AND q.state = 'queued'))",
        )
        .bind(&job.id)
        .bind(worker_id)
        .bind(state)
        .bind(run_at)
        .bind(&truncated)
        .bind(now)
        .execute(self.pool())
        .await?;
        if updated.rows_affected() == 0 && state == "queued" {
            self.supersede_job(&job.id, worker_id, &truncated).await?;
        }
        Ok(outcome)
    }

    /// Put a job its worker gives up on (at shutdown) back in the queue, due now, without
    /// counting the attempt. Returns false when the worker no longer held it.
    pub async fn release_job(&self, job: &ClaimedJob, worker_id: &str) -> Result<bool> {
        let now = self.now_ms();
        let released = sqlx::query(
            "UPDATE job SET state = 'queued', attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, \
             run_at = $3, locked_by = NULL, locked_until = NULL, updated_at = $3 \
             WHERE id = $1 AND locked_by = $2 AND state = 'running' \
             AND NOT EXISTS (SELECT 1 FROM job q WHERE q.coalesce_key = job.coalesce_key AND q.state = 'queued')",
        )
        .bind(&job.id)
        .bind(worker_id)
        .bind(now)
        .execute(self.pool())
        .await?;
        if released.rows_affected() == 1 {
            return Ok(true);
        }
        self.supersede_job(&job.id, worker_id, "released at shutdown")
            .await
    }

    /// A held job whose work a queued job with the same coalesce key will do: mark it done.
    async fn supersede_job(&self, job_id: &str, worker_id: &str, error: &str) -> Result<bool> {
        let note: String =
            format!("superseded by a queued job with the same coalesce key; {error}")
                .chars()
                .take(500)
                .collect();
        let done = sqlx::query(
            "UPDATE job SET state = 'done', locked_by = NULL, locked_until = NULL, last_error = $3, \
             updated_at = $4 WHERE id = $1 AND locked_by = $2 AND state = 'running'",
        )
        .bind(job_id)
        .bind(worker_id)
        .bind(note)
        .bind(self.now_ms())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Delete done jobs last changed before `before_ms`. Returns how many were deleted.
    pub async fn prune_done_jobs(&self, before_ms: i64) -> Result<u64> {
        let deleted = sqlx::query("DELETE FROM job WHERE state = 'done' AND updated_at < $1")
            .bind(before_ms)
            .execute(self.pool())
            .await?;
        Ok(deleted.rows_affected())
    }

    /// Jobs by state, and the inbox backlog, for `/metrics`.
    pub async fn job_counts(&self) -> Result<JobCounts> {
        // Live states from a partial index; done jobs (the bulk, pruned after the retention
        // period) from their own partial index.
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n FROM job WHERE state <> 'done' GROUP BY state",
        )
        .fetch_all(self.pool())
        .await?;
        let mut c = JobCounts {
            done: sqlx::query_scalar("SELECT COUNT(*) FROM job WHERE state = 'done'")
                .fetch_one(self.pool())
                .await?,
            ..JobCounts::default()
        };
        for r in rows {
            let n: i64 = r.try_get("n")?;
            match r.try_get::<String, _>("state")?.as_str() {
                "queued" => c.queued = n,
                "running" => c.running = n,
                "failed" => c.failed = n,
                _ => {}
            }
        }
        let inbox = sqlx::query(
            "SELECT CAST(COALESCE(SUM(CASE WHEN attempts < $1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS pending, \
             CAST(COALESCE(SUM(CASE WHEN attempts >= $1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS parked \
             FROM inbox WHERE processed_at IS NULL",
        )
        .bind(crate::recognition::INBOX_MAX_ATTEMPTS)
        .fetch_one(self.pool())
        .await?;
        c.inbox_pending = inbox.try_get("pending")?;
        c.inbox_parked = inbox.try_get("parked")?;
        let mut tx = self.begin().await?;
        c.erasure_overdue = tx.overdue_erasure_requests(self.now_ms()).await?;
        tx.commit().await?;
        c.privacy_requests_overdue = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM privacy_request WHERE state = 'open' AND due_at < $1",
        )
        .bind(self.now_ms())
        .fetch_one(self.pool())
        .await?;
        let now = self.now_ms();
        let (open, overdue, earliest): (i64, i64, Option<i64>) = sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN deadline_at < $1 THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(MIN(deadline_at) AS BIGINT) FROM breach WHERE state = 'open'",
        )
        .bind(now)
        .fetch_one(self.pool())
        .await?;
        c.breaches_open = open;
        c.breaches_overdue = overdue;
        c.breach_hours_left = earliest.map(|d| (d - now).div_euclid(3_600_000));
        Ok(c)
    }

    /// State, attempts and last error of one job.
    pub async fn job_status(&self, job_id: &str) -> Result<Option<(String, i64, Option<String>)>> {
        let row = sqlx::query("SELECT state, attempts, last_error FROM job WHERE id = $1")
            .bind(job_id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok((
                r.try_get("state")?,
                r.try_get("attempts")?,
                r.try_get("last_error")?,
            ))
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreError;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(super::backoff_ms(1), 1000);
        assert_eq!(super::backoff_ms(2), 2000);
        assert_eq!(super::backoff_ms(4), 8000);
        assert_eq!(super::backoff_ms(30), 600_000);
    }

    fn claimed(payload: serde_json::Value) -> ClaimedJob {
        ClaimedJob {
            id: "j1".into(),
            kind: "inbox.drain".into(),
            community_id: None,
            payload,
            attempts: 1,
            max_attempts: 5,
        }
    }

    #[test]
    fn payload_community_ids_are_parsed() {
        let id = "0190b2c4-5d6e-7f80-9a0b-1c2d3e4f5a6b";
        let job = claimed(serde_json::json!({ "community_id": id }));
        assert_eq!(job.payload_community_id().unwrap().as_str(), id);
        for bad in [
            serde_json::json!({}),
            serde_json::json!({ "community_id": 7 }),
            serde_json::json!({ "community_id": "c1" }),
            serde_json::json!({ "community_id": "' OR 1=1 --" }),
        ] {
            assert!(
                matches!(
                    claimed(bad.clone()).payload_community_id(),
                    Err(StoreError::Invalid(_))
                ),
                "{bad}"
            );
        }
    }
}
