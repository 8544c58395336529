//! Erasure requests (issue 9): erase one member or a whole community.
//!
//! An erasure starts as a request: pending, with a grace period (default 7 days) in which an
//! Admin can cancel it, and a due date 30 days after it was made (the policy's promise). After
//! the grace period the `erasure.run` job ([`ERASURE_JOB`], enqueued with the request for the
//! end of its grace period, and periodically by the scheduler) carries out every pending
//! request past its grace, oldest due date first ([`run_due_erasures`]), through the store's
//! erasure primitives, and stores a signed [`Receipt`] on the request. Operators can run one
//! at once ([`erase_now`]). Requests still not done after their due date are overdue (the
//! Admin page and the `classcred_erasure_requests_overdue` gauge show them). Every step is
//! audited with ids only.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat};
use classcred_store::audit::AuditRecord;
use classcred_store::jobs::NewJob;
use classcred_store::{
    CommunityId, ErasureRequestRecord, MemberRowId, NewErasureRequest, Store, StoreError,
};
use serde::Serialize;
use serde_json::json;

use crate::receipt::{Receipt, ReceiptSigner, ReceiptTarget, RECEIPT_VERSION};

/// Job kind that carries out the erasure requests whose grace period is over.
pub const ERASURE_JOB: &str = "erasure.run";
/// Default grace period, during which an Admin can cancel a request.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(7 * 24 * 3600);
/// An erasure is due this long after it was requested.
pub const DUE_AFTER: Duration = Duration::from_secs(30 * 24 * 3600);

/// What to erase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "member_id", rename_all = "lowercase")]
pub enum ErasureTarget {
    Member(MemberRowId),
    Community,
}

impl ErasureTarget {
    pub fn kind(&self) -> &'static str {
        match self {
            ErasureTarget::Member(_) => "member",
            ErasureTarget::Community => "community",
        }
    }

    pub fn member(&self) -> Option<&MemberRowId> {
        match self {
            ErasureTarget::Member(m) => Some(m),
            ErasureTarget::Community => None,
        }
    }
}

/// Who started the erasure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErasureOrigin {
    Admin,
    StudentRequest,
    Retention,
    Operator,
}

impl ErasureOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            ErasureOrigin::Admin => "admin",
            ErasureOrigin::StudentRequest => "student_request",
            ErasureOrigin::Retention => "retention",
            ErasureOrigin::Operator => "operator",
        }
    }

    fn parse(s: &str) -> Result<Self, ErasureError> {
        Ok(match s {
            "admin" => ErasureOrigin::Admin,
            "student_request" => ErasureOrigin::StudentRequest,
            "retention" => ErasureOrigin::Retention,
            "operator" => ErasureOrigin::Operator,
            other => return Err(ErasureError::Invalid(format!("unknown origin {other:?}"))),
        })
    }
}

/// Where a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ErasureState {
    Pending,
    Cancelled,
    Running,
    Done,
    Failed,
}

impl ErasureState {
    pub fn as_str(self) -> &'static str {
        match self {
            ErasureState::Pending => "pending",
            ErasureState::Cancelled => "cancelled",
            ErasureState::Running => "running",
            ErasureState::Done => "done",
            ErasureState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self, ErasureError> {
        Ok(match s {
            "pending" => ErasureState::Pending,
            "cancelled" => ErasureState::Cancelled,
            "running" => ErasureState::Running,
            "done" => ErasureState::Done,
            "failed" => ErasureState::Failed,
            other => return Err(ErasureError::Invalid(format!("unknown state {other:?}"))),
        })
    }
}

/// An erasure request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasureRequest {
    pub id: String,
    pub community_id: CommunityId,
    pub target: ErasureTarget,
    pub origin: ErasureOrigin,
    pub requested_by: Option<MemberRowId>,
    /// Milliseconds since the epoch.
    pub requested_at: i64,
    pub grace_until: i64,
    pub due_at: i64,
    pub state: ErasureState,
    pub cancelled_by: Option<MemberRowId>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// Why the last attempt failed (ids only).
    pub last_error: Option<String>,
    /// The signed receipt's file text, once done.
    pub receipt: Option<String>,
}

impl ErasureRequest {
    /// Whether an Admin can still cancel it at `now_ms`.
    pub fn cancellable(&self, now_ms: i64) -> bool {
        self.state == ErasureState::Pending && now_ms < self.grace_until
    }

    /// Not done, cancelled, and past its due date at `now_ms`.
    pub fn overdue(&self, now_ms: i64) -> bool {
        matches!(
            self.state,
            ErasureState::Pending | ErasureState::Running | ErasureState::Failed
        ) && self.due_at < now_ms
    }

    fn from_record(r: ErasureRequestRecord) -> Result<Self, ErasureError> {
        let target = match (r.target_kind.as_str(), r.member_id) {
            ("member", Some(m)) => ErasureTarget::Member(m),
            ("community", None) => ErasureTarget::Community,
            (kind, _) => {
                return Err(ErasureError::Invalid(format!(
                    "erasure request {} has an inconsistent target {kind:?}",
                    r.id
                )))
            }
        };
        Ok(Self {
            target,
            origin: ErasureOrigin::parse(&r.origin)?,
            state: ErasureState::parse(&r.state)?,
            id: r.id,
            community_id: r.community_id,
            requested_by: r.requested_by,
            requested_at: r.requested_at,
            grace_until: r.grace_until,
            due_at: r.due_at,
            cancelled_by: r.cancelled_by,
            started_at: r.started_at,
            finished_at: r.finished_at,
            last_error: r.last_error,
            receipt: r.receipt,
        })
    }
}

/// Errors of erasure requests. Messages carry ids, never personal data.
#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{what} {id} not found in this community")]
    NotFound { what: &'static str, id: String },
    #[error("an erasure of this target is already requested (request {id}, {state})")]
    AlreadyRequested { id: String, state: &'static str },
    #[error("erasure request {id} can no longer be cancelled: {why}")]
    NotCancellable { id: String, why: String },
    #[error("member {id} was already erased")]
    AlreadyErased { id: String },
    #[error("community {id} was already erased")]
    CommunityErased { id: String },
    #[error("the erasure of request {id} failed: {why}")]
    Failed { id: String, why: String },
    #[error("invalid: {0}")]
    Invalid(String),
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn actor(origin: ErasureOrigin, by: Option<&MemberRowId>) -> String {
    match (by, origin) {
        (Some(m), _) => format!("member:{m}"),
        (None, ErasureOrigin::Operator) => "operator:cli".into(),
        (None, _) => "system".into(),
    }
}

fn subject(community: &CommunityId, target: &ErasureTarget) -> String {
    match target {
        ErasureTarget::Member(m) => format!("member:{m}"),
        ErasureTarget::Community => format!("community:{community}"),
    }
}

/// Request an erasure: pending, cancellable until `now + grace` (default 7 days, at most the
/// 30-day due date), due 30 days from now. An `erasure.run` job is enqueued for the end of the
/// grace period. Refused for an unknown or already erased target, and while another request
/// for the same target is pending or running.
pub async fn request_erasure(
    store: &Store,
    community: &CommunityId,
    target: ErasureTarget,
    origin: ErasureOrigin,
    requested_by: Option<&MemberRowId>,
    grace: Option<Duration>,
) -> Result<ErasureRequest, ErasureError> {
    let grace = grace.unwrap_or(DEFAULT_GRACE);
    if grace > DUE_AFTER {
        return Err(ErasureError::Invalid(
            "the grace period cannot be longer than the 30 days in which an erasure is due".into(),
        ));
    }
    let now = store.now_ms();
    let mut tx = store.begin().await?;
    match tx.community_state(community).await? {
        None => {
            return Err(ErasureError::NotFound {
                what: "community",
                id: community.to_string(),
            })
        }
        Some(s) if s == "erased" => {
            return Err(ErasureError::CommunityErased {
                id: community.to_string(),
            })
        }
        Some(_) => {}
    }
    let mut ctx = tx.for_community(community);
    if let Some(by) = requested_by {
        if ctx.platform_user_id(by).await?.is_none() {
            return Err(ErasureError::NotFound {
                what: "member",
                id: by.to_string(),
            });
        }
    }
    if let ErasureTarget::Member(m) = &target {
        match ctx.platform_user_id(m).await? {
            None => {
                return Err(ErasureError::NotFound {
                    what: "member",
                    id: m.to_string(),
                })
            }
            Some(p) if p.starts_with("erased:") => {
                return Err(ErasureError::AlreadyErased { id: m.to_string() })
            }
            Some(_) => {}
        }
    }
    if let Some(open) = ctx.open_erasure_request_for(target.member()).await? {
        let state = if open.state == "running" {
            "running"
        } else {
            "pending"
        };
        return Err(ErasureError::AlreadyRequested { id: open.id, state });
    }
    let record = ctx
        .insert_erasure_request(&NewErasureRequest {
            target_kind: target.kind(),
            member_id: target.member().cloned(),
            origin: origin.as_str(),
            requested_by: requested_by.cloned(),
            grace_until: now.saturating_add(ms(grace)),
            due_at: now.saturating_add(ms(DUE_AFTER)),
        })
        .await?;
    tx.audit(&AuditRecord {
        community_id: Some(community.clone()),
        actor: actor(origin, requested_by),
        action: "erasure.request".into(),
        subject: Some(subject(community, &target)),
        details: json!({
            "request_id": record.id,
            "target": target.kind(),
            "origin": origin.as_str(),
            "grace_until": record.grace_until,
            "due_at": record.due_at,
        }),
    })
    .await?;
    let mut job = NewJob::new(
        ERASURE_JOB,
        json!({ "community_id": community, "request_id": record.id }),
    );
    job.community_id = Some(community.clone());
    job.dedupe_key = Some(format!("{ERASURE_JOB}:{}", record.id));
    job.run_at = Some(record.grace_until);
    tx.enqueue(&job).await?;
    tx.commit().await?;
    tracing::info!(request_id = %record.id, community_id = %community, target = target.kind(), "erasure requested");
    ErasureRequest::from_record(record)
}

/// Cancel a pending request during its grace period (audited). After the grace period, or
/// once it ran, it cannot be cancelled.
pub async fn cancel_erasure(
    store: &Store,
    community: &CommunityId,
    request_id: &str,
    by: &MemberRowId,
) -> Result<(), ErasureError> {
    let now = store.now_ms();
    let mut tx = store.begin().await?;
    let mut ctx = tx.for_community(community);
    let Some(req) = ctx.erasure_request(request_id).await? else {
        return Err(ErasureError::NotFound {
            what: "erasure request",
            id: request_id.to_string(),
        });
    };
    let req = ErasureRequest::from_record(req)?;
    if !req.cancellable(now) {
        let why = if req.state != ErasureState::Pending {
            format!("it is {}", req.state.as_str())
        } else {
            "its grace period is over".to_string()
        };
        return Err(ErasureError::NotCancellable { id: req.id, why });
    }
    if !ctx.cancel_erasure_request(request_id, by, now).await? {
        return Err(ErasureError::NotCancellable {
            id: req.id,
            why: "it changed meanwhile".into(),
        });
    }
    tx.audit(&AuditRecord {
        community_id: Some(community.clone()),
        actor: format!("member:{by}"),
        action: "erasure.cancel".into(),
        subject: Some(subject(community, &req.target)),
        details: json!({ "request_id": req.id }),
    })
    .await?;
    tx.commit().await?;
    tracing::info!(request_id = %req.id, community_id = %community, "erasure cancelled");
    Ok(())
}

/// One community's requests, newest first.
pub async fn list_erasures(
    store: &Store,
    community: &CommunityId,
) -> Result<Vec<ErasureRequest>, ErasureError> {
    let mut tx = store.begin().await?;
    let rows = tx.for_community(community).list_erasure_requests().await?;
    tx.commit().await?;
    rows.into_iter().map(ErasureRequest::from_record).collect()
}

/// One request of a community.
pub async fn erasure_request(
    store: &Store,
    community: &CommunityId,
    id: &str,
) -> Result<Option<ErasureRequest>, ErasureError> {
    let mut tx = store.begin().await?;
    let row = tx.for_community(community).erasure_request(id).await?;
    tx.commit().await?;
    row.map(ErasureRequest::from_record).transpose()
}

/// Requests past their due date and not done (all communities): the metrics gauge.
pub async fn overdue_erasures(store: &Store) -> Result<i64, ErasureError> {
    let now = store.now_ms();
    let mut tx = store.begin().await?;
    let n = tx.overdue_erasure_requests(now).await?;
    tx.commit().await?;
    Ok(n)
}

/// The job: carry out every pending request whose grace period is over, oldest due date
/// first, and return their receipts. A failed erasure is recorded on its request (state
/// `failed`, flagged overdue after its due date) and logged; the others still run.
pub async fn run_due_erasures(
    store: &Store,
    signer: &ReceiptSigner,
) -> Result<Vec<Receipt>, ErasureError> {
    let mut receipts = Vec::new();
    loop {
        let now = store.now_ms();
        let mut tx = store.begin().await?;
        let next = tx.next_due_erasure_request(now).await?;
        tx.commit().await?;
        let Some(next) = next else { break };
        let req = ErasureRequest::from_record(next)?;
        match execute(store, signer, &req, &mut |_, _| {}).await {
            Ok(r) => receipts.push(r),
            Err(e) => {
                tracing::warn!(request_id = %req.id, community_id = %req.community_id, error = %e, "erasure failed");
            }
        }
    }
    Ok(receipts)
}

/// Erase at once (operators: `classcred erase … --now --yes`): the pending request for this
/// target if there is one, else a new `operator` request with no grace period, carried out
/// now with progress.
pub async fn erase_now(
    store: &Store,
    signer: &ReceiptSigner,
    community: &CommunityId,
    target: ErasureTarget,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Receipt, ErasureError> {
    let req = match request_erasure(
        store,
        community,
        target.clone(),
        ErasureOrigin::Operator,
        None,
        Some(Duration::ZERO),
    )
    .await
    {
        Ok(r) => r,
        Err(ErasureError::AlreadyRequested { id, .. }) => erasure_request(store, community, &id)
            .await?
            .ok_or(ErasureError::NotFound {
                what: "erasure request",
                id,
            })?,
        Err(e) => return Err(e),
    };
    execute(store, signer, &req, progress).await
}

/// Carry out one request: mark it running, erase, sign and store the receipt.
async fn execute(
    store: &Store,
    signer: &ReceiptSigner,
    req: &ErasureRequest,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Receipt, ErasureError> {
    let community = &req.community_id;
    let started = store.now_ms();
    let mut tx = store.begin().await?;
    if !tx.start_erasure_request(&req.id, started).await? {
        return Err(ErasureError::Failed {
            id: req.id.clone(),
            why: "it is no longer pending".into(),
        });
    }
    tx.audit(&AuditRecord {
        community_id: Some(community.clone()),
        actor: "system".into(),
        action: "erasure.run".into(),
        subject: Some(subject(community, &req.target)),
        details: json!({ "request_id": req.id, "target": req.target.kind() }),
    })
    .await?;
    tx.commit().await?;
    let started_at = req.started_at.unwrap_or(started);
    let outcome = match &req.target {
        ErasureTarget::Member(m) => store.erase_member(community, m).await,
        ErasureTarget::Community => store.erase_community(community, progress).await,
    };
    let counts = match outcome {
        Ok(c) => c,
        Err(e) => {
            let why = e.to_string();
            let mut tx = store.begin().await?;
            tx.fail_erasure_request(&req.id, &why).await?;
            tx.audit(&AuditRecord {
                community_id: Some(community.clone()),
                actor: "system".into(),
                action: "erasure.failed".into(),
                subject: Some(subject(community, &req.target)),
                details: json!({ "request_id": req.id }),
            })
            .await?;
            tx.commit().await?;
            return Err(ErasureError::Failed {
                id: req.id.clone(),
                why,
            });
        }
    };
    let finished = store.now_ms();
    let receipt = signer.sign(Receipt {
        version: RECEIPT_VERSION,
        request_id: req.id.clone(),
        community_id: community.to_string(),
        target: ReceiptTarget {
            kind: req.target.kind().into(),
            member_id: req.target.member().map(|m| m.to_string()),
        },
        origin: req.origin.as_str().into(),
        tables: counts.tables.into_iter().collect::<BTreeMap<_, _>>(),
        requested_at: rfc3339(req.requested_at),
        started_at: rfc3339(started_at),
        finished_at: rfc3339(finished),
        signing_key_id: String::new(),
        signature: String::new(),
    });
    let mut tx = store.begin().await?;
    tx.finish_erasure_request(&req.id, finished, &receipt.to_file_text())
        .await?;
    tx.audit(&AuditRecord {
        community_id: Some(community.clone()),
        actor: "system".into(),
        action: "erasure.done".into(),
        subject: Some(subject(community, &req.target)),
        details: json!({
            "request_id": req.id,
            "tables": receipt.tables,
            "signing_key_id": receipt.signing_key_id,
        }),
    })
    .await?;
    tx.commit().await?;
    // Archives built before the erasure hold what was erased: their rows are gone, and the
    // purge job deletes the files now rather than at their expiry.
    crate::export::enqueue_purge(store).await?;
    tracing::info!(request_id = %req.id, community_id = %community, target = req.target.kind(), "erasure done");
    Ok(receipt)
}
