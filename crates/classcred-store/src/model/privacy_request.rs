//! Students' privacy requests (see/export, correct or delete their data) and the Admin's answer.
//!
//! The student's details and the Admin's note are sealed with the key [`sealed_by`] names for
//! them (the requesting member's); every seal and open goes through
//! [`CommunityTx::privacy_request_key`], the one place that picks the key. At most one open
//! request per kind per member: the partial unique index refuses a second, and
//! [`CommunityTx::insert_privacy_request`] answers `None` for it.
//!
//! [`sealed_by`]: crate::sealed_by

use std::sync::Arc;

use classcred_crypto::DataKey;

use super::*;
use crate::MemberRowId;

/// What a student asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrivacyRequestKind {
    /// See / export their data.
    Access,
    /// Correct their data.
    Correction,
    /// Delete their data.
    Deletion,
}

impl PrivacyRequestKind {
    pub const ALL: [PrivacyRequestKind; 3] = [
        PrivacyRequestKind::Access,
        PrivacyRequestKind::Correction,
        PrivacyRequestKind::Deletion,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PrivacyRequestKind::Access => "access",
            PrivacyRequestKind::Correction => "correction",
            PrivacyRequestKind::Deletion => "deletion",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "access" => Ok(PrivacyRequestKind::Access),
            "correction" => Ok(PrivacyRequestKind::Correction),
            "deletion" => Ok(PrivacyRequestKind::Deletion),
            other => Err(StoreError::Invalid(format!(
                "request kind must be access, correction or deletion, got {other:?}"
            ))),
        }
    }
}

/// Where a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrivacyRequestState {
    Open,
    Approved,
    Declined,
    Cancelled,
}

impl PrivacyRequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            PrivacyRequestState::Open => "open",
            PrivacyRequestState::Approved => "approved",
            PrivacyRequestState::Declined => "declined",
            PrivacyRequestState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "open" => Ok(PrivacyRequestState::Open),
            "approved" => Ok(PrivacyRequestState::Approved),
            "declined" => Ok(PrivacyRequestState::Declined),
            "cancelled" => Ok(PrivacyRequestState::Cancelled),
            other => Err(StoreError::Invalid(format!(
                "unknown privacy request state {other:?}"
            ))),
        }
    }
}

/// A stored request, its sealed fields opened (`None` when empty, or when the member's key
/// was destroyed by an erasure).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrivacyRequest {
    pub id: String,
    pub community_id: CommunityId,
    pub member_id: MemberRowId,
    pub kind: PrivacyRequestKind,
    pub details: Option<String>,
    pub state: PrivacyRequestState,
    pub created_at: i64,
    pub due_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: Option<MemberRowId>,
    /// The decline reason, or the Admin's note of what was corrected.
    pub decision_note: Option<String>,
    /// The export job or erasure request an approval started.
    pub result_ref: Option<String>,
}

impl PrivacyRequest {
    /// Still open after its due time.
    pub fn is_overdue(&self, now_ms: i64) -> bool {
        self.state == PrivacyRequestState::Open && self.due_at < now_ms
    }
}

const TABLE: &str = "privacy_request";
const COLUMNS: &str = "id, community_id, member_id, kind, details_enc, state, created_at, due_at, \
     decided_at, decided_by, decision_note_enc, result_ref";

/// The new state of a request, written by [`CommunityTx::decide_privacy_request`].
#[derive(Debug, Clone)]
pub struct PrivacyDecision<'a> {
    pub to: PrivacyRequestState,
    pub by: &'a MemberRowId,
    pub note: Option<&'a str>,
    pub result_ref: Option<&'a str>,
}

impl CommunityTx<'_, '_> {
    /// The key that seals a privacy request's fields, the one place that chooses it: the
    /// requesting member's key (see [`crate::sealed_by`]: `privacy_request.details_enc` and
    /// `decision_note_enc` are sealed by `member_id`). `Erased` once that key is destroyed.
    pub async fn privacy_request_key(&mut self, member_id: &MemberRowId) -> Result<Arc<DataKey>> {
        // The member's own key (see `keys::sealed_by`): erasing the member makes the texts of
        // their requests unreadable, in this database and in every data backup.
        let community_id = self.community_id.clone();
        self.member_key_for_write(&community_id, member_id.as_str())
            .await?
            .ok_or(StoreError::Erased {
                community_id: community_id.to_string(),
            })
    }

    async fn open_privacy_request(&mut self, r: &AnyRow) -> Result<PrivacyRequest> {
        let community_id = self.community_id.clone();
        let id: String = r.try_get("id")?;
        let member_id: MemberRowId = r.try_get("member_id")?;
        let details: Option<Vec<u8>> = r.try_get("details_enc")?;
        let note: Option<Vec<u8>> = r.try_get("decision_note_enc")?;
        let (details, decision_note) = if details.is_none() && note.is_none() {
            (None, None)
        } else {
            match self.privacy_request_key(&member_id).await {
                Ok(dek) => (
                    open_opt(&dek, r, &community_id, TABLE, "details_enc", &id)?,
                    open_opt(&dek, r, &community_id, TABLE, "decision_note_enc", &id)?,
                ),
                // The member (or community) was erased: the texts are gone.
                Err(StoreError::Erased { .. }) => (None, None),
                Err(e) => return Err(e),
            }
        };
        Ok(PrivacyRequest {
            id,
            community_id,
            member_id,
            kind: PrivacyRequestKind::parse(&r.try_get::<String, _>("kind")?)?,
            details,
            state: PrivacyRequestState::parse(&r.try_get::<String, _>("state")?)?,
            created_at: r.try_get("created_at")?,
            due_at: r.try_get("due_at")?,
            decided_at: r.try_get("decided_at")?,
            decided_by: r.try_get("decided_by")?,
            decision_note,
            result_ref: r.try_get("result_ref")?,
        })
    }

    async fn open_privacy_requests(&mut self, rows: &[AnyRow]) -> Result<Vec<PrivacyRequest>> {
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.open_privacy_request(r).await?);
        }
        Ok(out)
    }

    /// Open a request for `member_id`, due at `due_at`. `None` when the member already has an
    /// open request of this kind (nothing written).
    pub async fn insert_privacy_request(
        &mut self,
        member_id: &MemberRowId,
        kind: PrivacyRequestKind,
        details: Option<&str>,
        due_at: i64,
    ) -> Result<Option<PrivacyRequest>> {
        let community_id = self.community_id.clone();
        let id = new_id();
        let now = self.now_ms();
        let sealed = match details {
            Some(_) => {
                let dek = self.privacy_request_key(member_id).await?;
                seal_opt(&dek, &community_id, TABLE, "details_enc", &id, details)
            }
            None => None,
        };
        let stored: Option<String> = sqlx::query_scalar(
            "INSERT INTO privacy_request (id, community_id, member_id, kind, details_enc, state, \
             created_at, due_at) VALUES ($1, $2, $3, $4, $5, 'open', $6, $7) \
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(&id)
        .bind(&community_id)
        .bind(member_id)
        .bind(kind.as_str())
        .bind(sealed)
        .bind(now)
        .bind(due_at)
        .fetch_optional(&mut *self.tx)
        .await?;
        if stored.is_none() {
            return Ok(None);
        }
        Ok(Some(PrivacyRequest {
            id,
            community_id,
            member_id: member_id.clone(),
            kind,
            details: details.map(str::to_owned),
            state: PrivacyRequestState::Open,
            created_at: now,
            due_at,
            decided_at: None,
            decided_by: None,
            decision_note: None,
            result_ref: None,
        }))
    }

    /// One request of this community; `None` for an unknown id or another community's.
    pub async fn privacy_request(&mut self, id: &str) -> Result<Option<PrivacyRequest>> {
        let community_id = self.community_id.clone();
        let sql =
            format!("SELECT {COLUMNS} FROM privacy_request WHERE community_id = $1 AND id = $2");
        let row = sqlx::query(&sql)
            .bind(&community_id)
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        match row {
            Some(r) => Ok(Some(self.open_privacy_request(&r).await?)),
            None => Ok(None),
        }
    }

    /// One member's requests, newest first.
    pub async fn privacy_requests_of_member(
        &mut self,
        member_id: &MemberRowId,
    ) -> Result<Vec<PrivacyRequest>> {
        let community_id = self.community_id.clone();
        let sql = format!(
            "SELECT {COLUMNS} FROM privacy_request WHERE community_id = $1 AND member_id = $2 \
             ORDER BY created_at DESC, id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(&community_id)
            .bind(member_id)
            .fetch_all(&mut *self.tx)
            .await?;
        self.open_privacy_requests(&rows).await
    }

    /// This community's requests in one state, oldest first (the Admin's queue for `Open`).
    pub async fn privacy_requests_in_state(
        &mut self,
        state: PrivacyRequestState,
        limit: i64,
    ) -> Result<Vec<PrivacyRequest>> {
        let community_id = self.community_id.clone();
        let order = if state == PrivacyRequestState::Open {
            "created_at, id"
        } else {
            "decided_at DESC, id DESC"
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM privacy_request WHERE community_id = $1 AND state = $2 \
             ORDER BY {order} LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(&community_id)
            .bind(state.as_str())
            .bind(limit)
            .fetch_all(&mut *self.tx)
            .await?;
        self.open_privacy_requests(&rows).await
    }

    /// Open requests of this community past their due time.
    pub async fn overdue_privacy_request_count(&mut self) -> Result<i64> {
        let community_id = self.community_id.clone();
        let now = self.now_ms();
        Ok(sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM privacy_request \
             WHERE community_id = $1 AND state = 'open' AND due_at < $2",
        )
        .bind(&community_id)
        .bind(now)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    /// Move an open request to `decision.to`, sealing the note. `false` when this community
    /// has no open request with that id (unknown, another community's, or already answered).
    pub async fn decide_privacy_request(
        &mut self,
        id: &str,
        decision: &PrivacyDecision<'_>,
    ) -> Result<bool> {
        let community_id = self.community_id.clone();
        let member_id: Option<MemberRowId> = sqlx::query_scalar(
            "SELECT member_id FROM privacy_request \
             WHERE community_id = $1 AND id = $2 AND state = 'open'",
        )
        .bind(&community_id)
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await?;
        let Some(member_id) = member_id else {
            return Ok(false);
        };
        let note = match decision.note {
            Some(_) => {
                let dek = self.privacy_request_key(&member_id).await?;
                seal_opt(
                    &dek,
                    &community_id,
                    TABLE,
                    "decision_note_enc",
                    id,
                    decision.note,
                )
            }
            None => None,
        };
        let now = self.now_ms();
        let done = sqlx::query(
            "UPDATE privacy_request SET state = $3, decided_at = $4, decided_by = $5, \
             decision_note_enc = $6, result_ref = $7 \
             WHERE community_id = $1 AND id = $2 AND state = 'open'",
        )
        .bind(&community_id)
        .bind(id)
        .bind(decision.to.as_str())
        .bind(now)
        .bind(decision.by)
        .bind(note)
        .bind(decision.result_ref)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Record what an approval started (export job id, erasure request id).
    pub async fn set_privacy_request_result(&mut self, id: &str, result_ref: &str) -> Result<bool> {
        let community_id = self.community_id.clone();
        let done = sqlx::query(
            "UPDATE privacy_request SET result_ref = $3 WHERE community_id = $1 AND id = $2",
        )
        .bind(&community_id)
        .bind(id)
        .bind(result_ref)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Put an approved request back to open (the action it started failed).
    pub async fn reopen_privacy_request(&mut self, id: &str) -> Result<bool> {
        let community_id = self.community_id.clone();
        let done = sqlx::query(
            "UPDATE privacy_request SET state = 'open', decided_at = NULL, decided_by = NULL, \
             decision_note_enc = NULL, result_ref = NULL \
             WHERE community_id = $1 AND id = $2 AND state = 'approved'",
        )
        .bind(&community_id)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl CommunityTx<'_, '_> {
    /// Ids of this community's human members with `role` (who to tell about a new request),
    /// without decrypting anything.
    pub async fn human_member_ids_with_role(&mut self, role: Role) -> Result<Vec<MemberRowId>> {
        let community_id = self.community_id.clone();
        Ok(sqlx::query_scalar(
            "SELECT id FROM member WHERE community_id = $1 AND role = $2 AND kind = 'human' \
             ORDER BY id",
        )
        .bind(&community_id)
        .bind(role.as_str())
        .fetch_all(&mut *self.tx)
        .await?)
    }
}

impl Tx<'_> {
    /// Open requests past their due time, in every community (the `/metrics` gauge).
    pub async fn overdue_privacy_requests(&mut self) -> Result<i64> {
        let now = self.now_ms();
        Ok(sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM privacy_request \
             WHERE state = 'open' AND due_at < $1",
        )
        .bind(now)
        .fetch_one(&mut *self.tx)
        .await?)
    }
}
