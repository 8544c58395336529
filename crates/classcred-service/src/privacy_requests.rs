//! Students' privacy requests, answered by the community's Admins.
//!
//! A member opens a request ([`open_request`]): see/export their data (`access`), correct it
//! (`correction`) or delete it (`deletion`), with optional details (at most
//! [`DETAILS_MAX_CHARS`], sealed). It is due [`DUE_AFTER_DAYS`] days later. A member has at
//! most one open request per kind, and may cancel their own open request ([`cancel_request`]).
//! Each Admin of the community is told (a chat notice, job `notice.deliver`) and sees the
//! request in the dashboard queue ([`queue`]), oldest first, overdue ones flagged.
//!
//! An Admin approves ([`approve_request`]) or declines with a reason ([`decline_request`], at
//! most [`NOTE_MAX_CHARS`]). Approval runs what was asked, through [`RequestActions`] (the
//! member's own export for `access`, an erasure request for `deletion`); a `correction` is
//! approved with the Admin's note of what they corrected (profiles come from the chat
//! platform). The student is told either way (chat notice; the decision and reason are on
//! "my data"). Every step is in the audit chain with ids only, never the details or reason.
//!
//! A member only ever reaches their own requests: every call names the member, and a request
//! of another member or community is "not found".

use std::future::Future;
use std::pin::Pin;

use chrono::{TimeZone, Utc};
use classcred_engine::{MemberId, Notice, NoticeKind};
use classcred_store::audit::AuditRecord;
use classcred_store::jobs::NewJob;
use classcred_store::{
    CommunityId, CommunityTx, MemberRowId, PrivacyDecision, PrivacyRequest, PrivacyRequestKind,
    PrivacyRequestState, Role, Store, StoreError,
};
use serde::Serialize;
use serde_json::json;

use crate::{ServiceError, NOTICE_JOB};

/// Most characters of a request's details.
pub const DETAILS_MAX_CHARS: usize = 2000;
/// Most characters of an Admin's decline reason or correction note.
pub const NOTE_MAX_CHARS: usize = 500;
/// A request is due this many days after it was made.
pub const DUE_AFTER_DAYS: i64 = 30;
const DAY_MS: i64 = 86_400_000;
/// How many answered requests the queue page shows under the open ones.
pub const RECENTLY_ANSWERED: i64 = 20;

/// Audit actions, one per step.
pub const AUDIT_OPENED: &str = "privacy_request.opened";
pub const AUDIT_CANCELLED: &str = "privacy_request.cancelled";
pub const AUDIT_APPROVED: &str = "privacy_request.approved";
pub const AUDIT_DECLINED: &str = "privacy_request.declined";

/// Why a request step was refused. Nothing was changed. Messages carry no personal data.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The member already has an open request of this kind.
    #[error("you already have an open {} request; wait for the answer or cancel it first", .0.as_str())]
    Duplicate(PrivacyRequestKind),
    /// A value that is not allowed; `field` is the form field.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// No such request (or member) in this community, or not the caller's.
    #[error("no such request")]
    NotFound,
    /// The acting member is not an Admin of this community.
    #[error("only an Admin of this community can answer privacy requests")]
    Forbidden,
    /// The request was already answered or cancelled.
    #[error("this request is already {}", .0.as_str())]
    NotOpen(PrivacyRequestState),
    /// The export or erasure an approval starts could not be started; the request stays open.
    #[error("the {what} could not be started ({message}); the request is still open")]
    Action { what: &'static str, message: String },
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl RequestError {
    /// The form field the error belongs next to, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            RequestError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<StoreError> for RequestError {
    fn from(e: StoreError) -> Self {
        RequestError::Service(ServiceError::Store(e))
    }
}

/// What an action returns: the id of what it started, or an error (ids only in its message).
pub type ActionResult = Result<String, Box<dyn std::error::Error + Send + Sync>>;
/// The future of an action.
pub type ActionFuture<'a> = Pin<Box<dyn Future<Output = ActionResult> + Send + 'a>>;

/// What an approval runs. The application implements it with
/// `classcred_service::export::start_export(store, cid, ExportSubject::Member(m), &m)` (the
/// export job id) and `classcred_service::erasure::request_erasure(store, cid,
/// ErasureTarget::Member(m), ErasureOrigin::StudentRequest, Some(admin), None)` (the erasure
/// request id).
pub trait RequestActions: Send + Sync {
    /// Start the member's own export, downloadable by them.
    fn start_member_export<'a>(
        &'a self,
        store: &'a Store,
        community: &'a CommunityId,
        member: &'a MemberRowId,
    ) -> ActionFuture<'a>;

    /// Request the member's erasure, made by `admin` on the member's request.
    fn request_member_erasure<'a>(
        &'a self,
        store: &'a Store,
        community: &'a CommunityId,
        member: &'a MemberRowId,
        admin: &'a MemberRowId,
    ) -> ActionFuture<'a>;
}

/// The real actions: the member's own export (downloadable by them) and an erasure request
/// on their behalf, with the usual grace period in which the Admin can still cancel it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServiceActions;

impl RequestActions for ServiceActions {
    fn start_member_export<'a>(
        &'a self,
        store: &'a Store,
        community: &'a CommunityId,
        member: &'a MemberRowId,
    ) -> ActionFuture<'a> {
        Box::pin(async move {
            let job = crate::export::start_export(
                store,
                community,
                crate::export::ExportSubject::Member(member.clone()),
                member,
            )
            .await?;
            Ok(job.id)
        })
    }

    fn request_member_erasure<'a>(
        &'a self,
        store: &'a Store,
        community: &'a CommunityId,
        member: &'a MemberRowId,
        admin: &'a MemberRowId,
    ) -> ActionFuture<'a> {
        Box::pin(async move {
            let request = crate::erasure::request_erasure(
                store,
                community,
                crate::erasure::ErasureTarget::Member(member.clone()),
                crate::erasure::ErasureOrigin::StudentRequest,
                Some(admin),
                None,
            )
            .await?;
            Ok(request.id)
        })
    }
}

/// Trim a free text; empty is `None`; refuse control characters other than line breaks and
/// tabs, and more than `max` characters.
fn clean_text(
    field: &'static str,
    text: Option<&str>,
    max: usize,
) -> Result<Option<String>, RequestError> {
    let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let n = t.chars().count();
    if n > max {
        return Err(RequestError::Invalid {
            field,
            message: format!("at most {max} characters (this is {n})"),
        });
    }
    if t.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(RequestError::Invalid {
            field,
            message: "contains control characters".into(),
        });
    }
    Ok(Some(t.to_owned()))
}

fn notice_job(
    community_id: &CommunityId,
    to: &MemberRowId,
    request: &PrivacyRequest,
    event: &str,
) -> NewJob {
    let due = Utc
        .timestamp_millis_opt(request.due_at)
        .single()
        .unwrap_or_default()
        .date_naive();
    let notice = Notice {
        to: MemberId::new(to.as_str()),
        kind: NoticeKind::PrivacyRequest {
            request_id: request.id.clone(),
            kind: request.kind.as_str().to_owned(),
            event: event.to_owned(),
            due,
        },
    };
    let mut job = NewJob::new(
        NOTICE_JOB,
        json!({ "community_id": community_id, "notice": notice, "source": null }),
    );
    job.community_id = Some(community_id.clone());
    job
}

async fn audit(
    tx: &mut CommunityTx<'_, '_>,
    actor: &MemberRowId,
    action: &str,
    request: &PrivacyRequest,
) -> Result<(), RequestError> {
    let community_id = tx.community_id().clone();
    tx.audit(&AuditRecord {
        community_id: Some(community_id),
        actor: format!("member:{actor}"),
        action: action.into(),
        subject: Some(format!("member:{}", request.member_id)),
        details: json!({
            "request_id": request.id,
            "kind": request.kind.as_str(),
            "result_ref": request.result_ref,
        }),
    })
    .await?;
    Ok(())
}

async fn require_admin(tx: &mut CommunityTx<'_, '_>, by: &MemberRowId) -> Result<(), RequestError> {
    match tx.member_role_kind(by).await? {
        Some((Role::Admin, _)) => Ok(()),
        Some(_) => Err(RequestError::Forbidden),
        None => Err(RequestError::NotFound),
    }
}

/// `member` opens a request of `kind` with optional `details`. Tells every Admin.
pub async fn open_request(
    store: &Store,
    community_id: &CommunityId,
    member: &MemberRowId,
    kind: PrivacyRequestKind,
    details: Option<&str>,
) -> Result<PrivacyRequest, RequestError> {
    let details = clean_text("details", details, DETAILS_MAX_CHARS)?;
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    if scoped.platform_user_id(member).await?.is_none() {
        return Err(RequestError::NotFound);
    }
    let due_at = store.now_ms().saturating_add(DUE_AFTER_DAYS * DAY_MS);
    let Some(request) = scoped
        .insert_privacy_request(member, kind, details.as_deref(), due_at)
        .await?
    else {
        return Err(RequestError::Duplicate(kind));
    };
    audit(&mut scoped, member, AUDIT_OPENED, &request).await?;
    for admin in scoped.human_member_ids_with_role(Role::Admin).await? {
        scoped
            .enqueue(&notice_job(community_id, &admin, &request, "opened"))
            .await?;
    }
    tx.commit().await?;
    tracing::info!(community_id = %community_id, request_id = %request.id, kind = request.kind.as_str(), "privacy request opened");
    Ok(request)
}

/// `member` cancels their own open request.
pub async fn cancel_request(
    store: &Store,
    community_id: &CommunityId,
    member: &MemberRowId,
    request_id: &str,
) -> Result<PrivacyRequest, RequestError> {
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    let request = match scoped.privacy_request(request_id).await? {
        Some(r) if &r.member_id == member => r,
        _ => return Err(RequestError::NotFound),
    };
    if request.state != PrivacyRequestState::Open {
        return Err(RequestError::NotOpen(request.state));
    }
    let decision = PrivacyDecision {
        to: PrivacyRequestState::Cancelled,
        by: member,
        note: None,
        result_ref: None,
    };
    if !scoped.decide_privacy_request(request_id, &decision).await? {
        return Err(RequestError::NotFound);
    }
    let request = scoped
        .privacy_request(request_id)
        .await?
        .ok_or(RequestError::NotFound)?;
    audit(&mut scoped, member, AUDIT_CANCELLED, &request).await?;
    tx.commit().await?;
    tracing::info!(community_id = %community_id, request_id = %request_id, "privacy request cancelled");
    Ok(request)
}

/// `admin` approves an open request: `access` starts the member's export, `deletion` requests
/// their erasure (both through `actions`), `correction` needs `note` (what was corrected).
/// When the action cannot be started the request stays open and the error says so.
pub async fn approve_request(
    store: &Store,
    actions: &dyn RequestActions,
    community_id: &CommunityId,
    admin: &MemberRowId,
    request_id: &str,
    note: Option<&str>,
) -> Result<PrivacyRequest, RequestError> {
    let note = clean_text("note", note, NOTE_MAX_CHARS)?;
    // Claim the request (open → approved) first, so two Admins cannot both run its action;
    // the action runs outside any transaction (it opens its own).
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    require_admin(&mut scoped, admin).await?;
    let request = scoped
        .privacy_request(request_id)
        .await?
        .ok_or(RequestError::NotFound)?;
    if request.state != PrivacyRequestState::Open {
        return Err(RequestError::NotOpen(request.state));
    }
    if request.kind == PrivacyRequestKind::Correction && note.is_none() {
        return Err(RequestError::Invalid {
            field: "note",
            message: "say what you corrected (the student sees this note)".into(),
        });
    }
    let decision = PrivacyDecision {
        to: PrivacyRequestState::Approved,
        by: admin,
        note: note.as_deref(),
        result_ref: None,
    };
    if !scoped.decide_privacy_request(request_id, &decision).await? {
        return Err(RequestError::NotOpen(request.state));
    }
    tx.commit().await?;

    let started = match request.kind {
        PrivacyRequestKind::Access => Some((
            "export",
            actions
                .start_member_export(store, community_id, &request.member_id)
                .await,
        )),
        PrivacyRequestKind::Deletion => Some((
            "erasure",
            actions
                .request_member_erasure(store, community_id, &request.member_id, admin)
                .await,
        )),
        PrivacyRequestKind::Correction => None,
    };
    let result_ref = match started {
        None => None,
        Some((_, Ok(id))) => Some(id),
        Some((what, Err(e))) => {
            let mut tx = store.begin().await?;
            tx.for_community(community_id)
                .reopen_privacy_request(request_id)
                .await?;
            tx.commit().await?;
            tracing::warn!(community_id = %community_id, request_id = %request_id, error = %e, "privacy request approval: action failed, request reopened");
            return Err(RequestError::Action {
                what,
                message: e.to_string(),
            });
        }
    };

    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    if let Some(r) = &result_ref {
        scoped.set_privacy_request_result(request_id, r).await?;
    }
    let request = scoped
        .privacy_request(request_id)
        .await?
        .ok_or(RequestError::NotFound)?;
    audit(&mut scoped, admin, AUDIT_APPROVED, &request).await?;
    scoped
        .enqueue(&notice_job(
            community_id,
            &request.member_id,
            &request,
            "approved",
        ))
        .await?;
    tx.commit().await?;
    tracing::info!(community_id = %community_id, request_id = %request_id, kind = request.kind.as_str(), "privacy request approved");
    Ok(request)
}

/// `admin` declines an open request; `reason` is required (the student sees it).
pub async fn decline_request(
    store: &Store,
    community_id: &CommunityId,
    admin: &MemberRowId,
    request_id: &str,
    reason: &str,
) -> Result<PrivacyRequest, RequestError> {
    let Some(reason) = clean_text("reason", Some(reason), NOTE_MAX_CHARS)? else {
        return Err(RequestError::Invalid {
            field: "reason",
            message: "a reason is required (the student sees it)".into(),
        });
    };
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    require_admin(&mut scoped, admin).await?;
    let request = scoped
        .privacy_request(request_id)
        .await?
        .ok_or(RequestError::NotFound)?;
    if request.state != PrivacyRequestState::Open {
        return Err(RequestError::NotOpen(request.state));
    }
    let decision = PrivacyDecision {
        to: PrivacyRequestState::Declined,
        by: admin,
        note: Some(&reason),
        result_ref: None,
    };
    if !scoped.decide_privacy_request(request_id, &decision).await? {
        return Err(RequestError::NotOpen(request.state));
    }
    let request = scoped
        .privacy_request(request_id)
        .await?
        .ok_or(RequestError::NotFound)?;
    audit(&mut scoped, admin, AUDIT_DECLINED, &request).await?;
    scoped
        .enqueue(&notice_job(
            community_id,
            &request.member_id,
            &request,
            "declined",
        ))
        .await?;
    tx.commit().await?;
    tracing::info!(community_id = %community_id, request_id = %request_id, "privacy request declined");
    Ok(request)
}

/// The member's own requests, newest first.
pub async fn my_requests(
    store: &Store,
    community_id: &CommunityId,
    member: &MemberRowId,
) -> Result<Vec<PrivacyRequest>, RequestError> {
    let mut tx = store.begin().await?;
    let list = tx
        .for_community(community_id)
        .privacy_requests_of_member(member)
        .await?;
    tx.commit().await?;
    Ok(list)
}

/// One request in the Admin's queue, with the name to show for its member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueItem {
    pub request: PrivacyRequest,
    pub member_name: String,
    pub overdue: bool,
}

/// The Admin's queue: open requests oldest first, then the most recently answered ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Queue {
    pub open: Vec<QueueItem>,
    pub answered: Vec<QueueItem>,
    pub overdue: usize,
}

/// The queue of `community_id`, for `admin` (refused for anyone else).
pub async fn queue(
    store: &Store,
    community_id: &CommunityId,
    admin: &MemberRowId,
) -> Result<Queue, RequestError> {
    let now = store.now_ms();
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    require_admin(&mut scoped, admin).await?;
    let open = scoped
        .privacy_requests_in_state(PrivacyRequestState::Open, 1000)
        .await?;
    let mut answered = Vec::new();
    for state in [
        PrivacyRequestState::Approved,
        PrivacyRequestState::Declined,
        PrivacyRequestState::Cancelled,
    ] {
        answered.extend(
            scoped
                .privacy_requests_in_state(state, RECENTLY_ANSWERED)
                .await?,
        );
    }
    answered.sort_by(|a, b| b.decided_at.cmp(&a.decided_at).then(b.id.cmp(&a.id)));
    answered.truncate(usize::try_from(RECENTLY_ANSWERED).unwrap_or(20));
    let names: std::collections::HashMap<MemberRowId, String> = match scoped.list_members().await {
        Ok(members) => members
            .iter()
            .map(|m| (m.id.clone(), crate::dashboard::display_name(m)))
            .collect(),
        Err(StoreError::Erased { .. }) => Default::default(),
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    let item = |r: PrivacyRequest| QueueItem {
        member_name: names
            .get(&r.member_id)
            .cloned()
            .unwrap_or_else(|| "former member".into()),
        overdue: r.is_overdue(now),
        request: r,
    };
    let open: Vec<QueueItem> = open.into_iter().map(item).collect();
    let overdue = open.iter().filter(|i| i.overdue).count();
    Ok(Queue {
        open,
        answered: answered.into_iter().map(item).collect(),
        overdue,
    })
}

/// Open requests past due in one community (the overview's flag).
pub async fn overdue_in_community(
    store: &Store,
    community_id: &CommunityId,
) -> Result<i64, RequestError> {
    let mut tx = store.begin().await?;
    let n = tx
        .for_community(community_id)
        .overdue_privacy_request_count()
        .await?;
    tx.commit().await?;
    Ok(n)
}

/// Open requests past due in every community (`classcred_privacy_requests_overdue`).
pub async fn overdue_total(store: &Store) -> Result<i64, RequestError> {
    let mut tx = store.begin().await?;
    let n = tx.overdue_privacy_requests().await?;
    tx.commit().await?;
    Ok(n)
}
