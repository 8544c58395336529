//! Erasure requests (issue 9): one member or a whole community, pending through a grace period
//! in which an Admin can cancel, carried out by the `erasure.run` job, due 30 days after the
//! request. Ids only: the member columns are row ids, the receipt has no personal data.
//! The rules (who may cancel, when) are the service's; this is storage.

use super::*;

/// A stored erasure request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasureRequestRecord {
    pub id: String,
    pub community_id: CommunityId,
    /// `member` or `community`.
    pub target_kind: String,
    pub member_id: Option<MemberRowId>,
    /// `admin`, `student_request`, `retention` or `operator`.
    pub origin: String,
    pub requested_by: Option<MemberRowId>,
    pub requested_at: i64,
    pub grace_until: i64,
    pub due_at: i64,
    /// `pending`, `cancelled`, `running`, `done` or `failed`.
    pub state: String,
    pub cancelled_by: Option<MemberRowId>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub last_error: Option<String>,
    /// The signed receipt (JSON), once done.
    pub receipt: Option<String>,
}

/// What to store for a new request.
#[derive(Debug, Clone)]
pub struct NewErasureRequest {
    pub target_kind: &'static str,
    pub member_id: Option<MemberRowId>,
    pub origin: &'static str,
    pub requested_by: Option<MemberRowId>,
    pub grace_until: i64,
    pub due_at: i64,
}

const ERASURE_COLUMNS: &str = "id, community_id, target_kind, member_id, origin, requested_by, \
     requested_at, grace_until, due_at, state, cancelled_by, started_at, finished_at, last_error, receipt";

fn erasure_from_row(r: &AnyRow) -> Result<ErasureRequestRecord> {
    let member = |c: &str| -> Result<Option<MemberRowId>> {
        Ok(r.try_get::<Option<String>, _>(c)?.map(MemberRowId::from_db))
    };
    Ok(ErasureRequestRecord {
        id: r.try_get("id")?,
        community_id: CommunityId::from_db(r.try_get("community_id")?),
        target_kind: r.try_get("target_kind")?,
        member_id: member("member_id")?,
        origin: r.try_get("origin")?,
        requested_by: member("requested_by")?,
        requested_at: r.try_get("requested_at")?,
        grace_until: r.try_get("grace_until")?,
        due_at: r.try_get("due_at")?,
        state: r.try_get("state")?,
        cancelled_by: member("cancelled_by")?,
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
        last_error: r.try_get("last_error")?,
        receipt: r.try_get("receipt")?,
    })
}

impl CommunityTx<'_, '_> {
    /// Store a new pending request of this community, made now.
    pub async fn insert_erasure_request(
        &mut self,
        new: &NewErasureRequest,
    ) -> Result<ErasureRequestRecord> {
        let community_id = self.community_id.clone();
        let id = new_id();
        let now = self.now_ms();
        sqlx::query(
            "INSERT INTO erasure_request (id, community_id, target_kind, member_id, origin, \
             requested_by, requested_at, grace_until, due_at, state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending')",
        )
        .bind(&id)
        .bind(&community_id)
        .bind(new.target_kind)
        .bind(&new.member_id)
        .bind(new.origin)
        .bind(&new.requested_by)
        .bind(now)
        .bind(new.grace_until)
        .bind(new.due_at)
        .execute(&mut *self.tx)
        .await?;
        self.erasure_request(&id)
            .await?
            .ok_or(StoreError::NotFound {
                what: "erasure request",
                id,
            })
    }

    /// One request of this community (`None` for an unknown id or another community's).
    pub async fn erasure_request(&mut self, id: &str) -> Result<Option<ErasureRequestRecord>> {
        let community_id = self.community_id.clone();
        let sql = format!(
            "SELECT {ERASURE_COLUMNS} FROM erasure_request WHERE community_id = $1 AND id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(&community_id)
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(erasure_from_row).transpose()
    }

    /// This community's requests, newest first.
    pub async fn list_erasure_requests(&mut self) -> Result<Vec<ErasureRequestRecord>> {
        let community_id = self.community_id.clone();
        let sql = format!(
            "SELECT {ERASURE_COLUMNS} FROM erasure_request WHERE community_id = $1 \
             ORDER BY requested_at DESC, id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(&community_id)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(erasure_from_row).collect()
    }

    /// A pending or running request of this community for the same target, if any.
    pub async fn open_erasure_request_for(
        &mut self,
        member_id: Option<&MemberRowId>,
    ) -> Result<Option<ErasureRequestRecord>> {
        let community_id = self.community_id.clone();
        let target = match member_id {
            Some(_) => "target_kind = 'member' AND member_id = $2",
            None => "target_kind = 'community'",
        };
        let sql = format!(
            "SELECT {ERASURE_COLUMNS} FROM erasure_request WHERE community_id = $1 \
             AND state IN ('pending', 'running') AND {target} ORDER BY requested_at LIMIT 1"
        );
        let mut q = sqlx::query(&sql).bind(&community_id);
        if let Some(m) = member_id {
            q = q.bind(m);
        }
        let row = q.fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(erasure_from_row).transpose()
    }

    /// Cancel a pending request of this community whose grace period has not ended at `now`.
    /// `false` when there is no such request.
    pub async fn cancel_erasure_request(
        &mut self,
        id: &str,
        by: &MemberRowId,
        now: i64,
    ) -> Result<bool> {
        let community_id = self.community_id.clone();
        let done = sqlx::query(
            "UPDATE erasure_request SET state = 'cancelled', cancelled_by = $3, finished_at = $4 \
             WHERE community_id = $1 AND id = $2 AND state = 'pending' AND grace_until > $4",
        )
        .bind(&community_id)
        .bind(id)
        .bind(by)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Tx<'_> {
    /// The next request to carry out at `now`: pending past its grace period (or left running
    /// by a worker that died), oldest due date first. Any community.
    pub async fn next_due_erasure_request(
        &mut self,
        now: i64,
    ) -> Result<Option<ErasureRequestRecord>> {
        let sql = format!(
            "SELECT {ERASURE_COLUMNS} FROM erasure_request \
             WHERE state IN ('pending', 'running') AND grace_until <= $1 \
             ORDER BY due_at, requested_at, id LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .bind(now)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(erasure_from_row).transpose()
    }

    /// Mark a request running (from pending, or running again after a crash). `false` when it
    /// is cancelled, done or failed.
    pub async fn start_erasure_request(&mut self, id: &str, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE erasure_request SET state = 'running', started_at = COALESCE(started_at, $2) \
             WHERE id = $1 AND state IN ('pending', 'running')",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Record a finished erasure and its signed receipt.
    pub async fn finish_erasure_request(
        &mut self,
        id: &str,
        finished_at: i64,
        receipt: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE erasure_request SET state = 'done', finished_at = $2, receipt = $3, \
             last_error = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(finished_at)
        .bind(receipt)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Record a failed erasure (ids only in `error`).
    pub async fn fail_erasure_request(&mut self, id: &str, error: &str) -> Result<()> {
        sqlx::query("UPDATE erasure_request SET state = 'failed', last_error = $2 WHERE id = $1")
            .bind(id)
            .bind(error)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Requests still not done at `now` past their due date (all communities).
    pub async fn overdue_erasure_requests(&mut self, now: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM erasure_request \
             WHERE state IN ('pending', 'running', 'failed') AND due_at < $1",
        )
        .bind(now)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    /// The state of a community row, read without parsing it (an erased community has the
    /// state `erased`). `None` for an unknown community.
    pub async fn community_state(&mut self, id: &CommunityId) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT state FROM community WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *self.tx)
                .await?,
        )
    }
}
