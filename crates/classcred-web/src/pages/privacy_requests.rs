//! Students' privacy requests.
//!
//! * `GET /dashboard/privacy/requests` (Admin): the queue, open requests oldest first with
//!   their due date, overdue ones flagged, each with an approve form (a note: required for a
//!   correction, saying what was corrected) and a decline form (a reason, required); then the
//!   most recently answered requests.
//! * `POST /dashboard/privacy/requests/{id}/approve|decline` (Admin, CSRF).
//! * `POST /me/privacy-requests` (any member, CSRF): open a request from "my data";
//!   `POST /me/privacy-requests/{id}/cancel`: cancel one's own open request.
//!
//! Read and rules: `classcred_service::privacy_requests`. A request of another member or
//! community is "not found".

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{TimeZone, Utc};
use classcred_service::privacy_requests::{
    self as requests, RequestError, DETAILS_MAX_CHARS, NOTE_MAX_CHARS,
};
use classcred_store::{PrivacyRequest, PrivacyRequestKind, PrivacyRequestState};

use super::{render, Chrome};
use crate::extract::{Admin, CsrfForm, Viewer};
use crate::{WebError, WebState};

/// `YYYY-MM-DD` (UTC) of a time in milliseconds.
pub(crate) fn day(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// How a kind reads on the pages.
pub(crate) fn kind_label(kind: PrivacyRequestKind) -> &'static str {
    match kind {
        PrivacyRequestKind::Access => "See / export my data",
        PrivacyRequestKind::Correction => "Correct my data",
        PrivacyRequestKind::Deletion => "Delete my data",
    }
}

pub(crate) fn state_label(state: PrivacyRequestState) -> &'static str {
    match state {
        PrivacyRequestState::Open => "Open",
        PrivacyRequestState::Approved => "Approved",
        PrivacyRequestState::Declined => "Declined",
        PrivacyRequestState::Cancelled => "Cancelled",
    }
}

/// One request as a row of the queue.
pub struct QueueRow {
    pub id: String,
    pub member_id: String,
    pub member: String,
    pub kind: &'static str,
    pub is_correction: bool,
    pub details: Option<String>,
    pub state: &'static str,
    pub created: String,
    pub due: String,
    pub overdue: bool,
    pub decided: String,
    pub note: Option<String>,
    pub result_ref: Option<String>,
}

#[derive(Template)]
#[template(path = "privacy_requests.html")]
struct QueuePage {
    chrome: Chrome,
    csrf: String,
    open: Vec<QueueRow>,
    answered: Vec<QueueRow>,
    overdue: usize,
    done: Option<&'static str>,
    error: Option<(String, String)>,
    note_max: usize,
}

fn row(item: requests::QueueItem) -> QueueRow {
    let r = item.request;
    QueueRow {
        id: r.id,
        member_id: r.member_id.to_string(),
        member: item.member_name,
        kind: kind_label(r.kind),
        is_correction: r.kind == PrivacyRequestKind::Correction,
        details: r.details,
        state: state_label(r.state),
        created: day(r.created_at),
        due: day(r.due_at),
        overdue: item.overdue,
        decided: r.decided_at.map(day).unwrap_or_default(),
        note: r.decision_note,
        result_ref: r.result_ref,
    }
}

#[derive(serde::Deserialize, Default)]
pub struct QueueQuery {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /dashboard/privacy/requests`.
pub async fn queue(
    State(state): State<WebState>,
    Admin(viewer): Admin,
    Query(q): Query<QueueQuery>,
) -> Result<Response, WebError> {
    let done = match q.done.as_deref() {
        Some("approved") => Some("Approved. The student is told."),
        Some("declined") => Some("Declined. The student is told, with your reason."),
        _ => None,
    };
    show_queue(&state, &viewer, done, None).await
}

async fn show_queue(
    state: &WebState,
    viewer: &Viewer,
    done: Option<&'static str>,
    error: Option<(String, String)>,
) -> Result<Response, WebError> {
    let q = requests::queue(&state.store, &viewer.community_id, &viewer.member_id)
        .await
        .map_err(web_error)?;
    let failed = error.is_some();
    let mut response = render(&QueuePage {
        chrome: Chrome::for_viewer(viewer, "Privacy requests", "/dashboard/privacy/requests"),
        csrf: viewer.csrf.clone(),
        overdue: q.overdue,
        open: q.open.into_iter().map(row).collect(),
        answered: q.answered.into_iter().map(row).collect(),
        done,
        error,
        note_max: NOTE_MAX_CHARS,
    })?;
    if failed {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

/// Errors that are no form message.
fn web_error(e: RequestError) -> WebError {
    match e {
        RequestError::NotFound => WebError::NotFound,
        RequestError::Forbidden => WebError::Forbidden,
        RequestError::Service(s) => s.into(),
        other => WebError::Internal(Box::new(other)),
    }
}

/// A refusal the form shows again (422), or the error page.
fn form_message(e: RequestError) -> Result<String, WebError> {
    match e {
        RequestError::Invalid { .. }
        | RequestError::Duplicate(_)
        | RequestError::NotOpen(_)
        | RequestError::Action { .. } => Ok(e.to_string()),
        other => Err(web_error(other)),
    }
}

#[derive(serde::Deserialize)]
pub struct DecisionInput {
    #[serde(default)]
    note: String,
    #[serde(default)]
    reason: String,
}

/// A server without exports and erasure wired in: approving an access or deletion request
/// fails with this message and the request stays open (corrections still work).
struct NotConfigured;

impl requests::RequestActions for NotConfigured {
    fn start_member_export<'a>(
        &'a self,
        _: &'a classcred_store::Store,
        _: &'a classcred_store::CommunityId,
        _: &'a classcred_store::MemberRowId,
    ) -> requests::ActionFuture<'a> {
        Box::pin(async { Err("exports are not available on this server".into()) })
    }

    fn request_member_erasure<'a>(
        &'a self,
        _: &'a classcred_store::Store,
        _: &'a classcred_store::CommunityId,
        _: &'a classcred_store::MemberRowId,
        _: &'a classcred_store::MemberRowId,
    ) -> requests::ActionFuture<'a> {
        Box::pin(async { Err("erasure is not available on this server".into()) })
    }
}

/// `POST /dashboard/privacy/requests/{id}/approve`.
pub async fn approve(
    State(state): State<WebState>,
    Path(id): Path<String>,
    CsrfForm {
        who: Admin(viewer),
        form,
    }: CsrfForm<Admin, DecisionInput>,
) -> Result<Response, WebError> {
    let actions: &dyn requests::RequestActions = match &state.privacy_actions {
        Some(actions) => actions.as_ref(),
        None => &NotConfigured,
    };
    let result = requests::approve_request(
        &state.store,
        actions,
        &viewer.community_id,
        &viewer.member_id,
        &id,
        Some(&form.note),
    )
    .await;
    match result {
        Ok(_) => Ok(Redirect::to("/dashboard/privacy/requests?done=approved").into_response()),
        Err(e) => {
            let message = form_message(e)?;
            show_queue(&state, &viewer, None, Some((id, message))).await
        }
    }
}

/// `POST /dashboard/privacy/requests/{id}/decline`.
pub async fn decline(
    State(state): State<WebState>,
    Path(id): Path<String>,
    CsrfForm {
        who: Admin(viewer),
        form,
    }: CsrfForm<Admin, DecisionInput>,
) -> Result<Response, WebError> {
    match requests::decline_request(
        &state.store,
        &viewer.community_id,
        &viewer.member_id,
        &id,
        &form.reason,
    )
    .await
    {
        Ok(_) => Ok(Redirect::to("/dashboard/privacy/requests?done=declined").into_response()),
        Err(e) => {
            let message = form_message(e)?;
            show_queue(&state, &viewer, None, Some((id, message))).await
        }
    }
}

/// One of the member's own requests on "my data".
pub struct MyRequest {
    pub id: String,
    pub kind: &'static str,
    pub details: Option<String>,
    pub state: &'static str,
    pub open: bool,
    pub created: String,
    pub due: String,
    pub decided: String,
    pub declined: bool,
    pub note: Option<String>,
    pub export_ready: bool,
}

pub(crate) fn my_request(r: PrivacyRequest) -> MyRequest {
    MyRequest {
        open: r.state == PrivacyRequestState::Open,
        declined: r.state == PrivacyRequestState::Declined,
        export_ready: r.state == PrivacyRequestState::Approved
            && r.kind == PrivacyRequestKind::Access,
        id: r.id,
        kind: kind_label(r.kind),
        details: r.details,
        state: state_label(r.state),
        created: day(r.created_at),
        due: day(r.due_at),
        decided: r.decided_at.map(day).unwrap_or_default(),
        note: r.decision_note,
    }
}

/// The "Your privacy rights" section of "my data".
pub struct RequestSection {
    pub csrf: String,
    pub requests: Vec<MyRequest>,
    pub done: Option<&'static str>,
    pub error: Option<String>,
    pub details_max: usize,
    /// The member's own exports ready to download: (link, expiry) — the link works only in
    /// their own signed-in session and until the expiry.
    pub downloads: Vec<(String, String)>,
}

pub(crate) async fn section(
    state: &WebState,
    viewer: &Viewer,
    done: Option<&'static str>,
    error: Option<String>,
) -> Result<RequestSection, WebError> {
    let mine = requests::my_requests(&state.store, &viewer.community_id, &viewer.member_id)
        .await
        .map_err(web_error)?;
    let downloads = classcred_service::export::my_ready_exports(
        &state.store,
        &viewer.community_id,
        &viewer.member_id,
    )
    .await
    .map_err(|e| WebError::Internal(Box::new(e)))?
    .into_iter()
    .map(|(job, url)| {
        let expires = chrono::DateTime::from_timestamp_millis(job.expires_at)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        (url, expires)
    })
    .collect();
    Ok(RequestSection {
        csrf: viewer.csrf.clone(),
        requests: mine.into_iter().map(my_request).collect(),
        done,
        error,
        details_max: DETAILS_MAX_CHARS,
        downloads,
    })
}

#[derive(serde::Deserialize)]
pub struct OpenInput {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    details: String,
}

/// `POST /me/privacy-requests`.
pub async fn open(
    State(state): State<WebState>,
    CsrfForm { who: viewer, form }: CsrfForm<Viewer, OpenInput>,
) -> Result<Response, WebError> {
    let result = match PrivacyRequestKind::parse(form.kind.trim()) {
        Ok(kind) => {
            requests::open_request(
                &state.store,
                &viewer.community_id,
                &viewer.member_id,
                kind,
                Some(&form.details),
            )
            .await
        }
        Err(_) => Err(RequestError::Invalid {
            field: "kind",
            message: "choose what you are asking for".into(),
        }),
    };
    match result {
        Ok(_) => Ok(Redirect::to("/me?privacy=opened#privacy-requests").into_response()),
        Err(e) => {
            let message = form_message(e)?;
            let mut response = super::me::show(&state, &viewer, None, Some(message)).await?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}

/// A form with nothing but its CSRF token.
#[derive(serde::Deserialize)]
pub struct NoFields {}

/// `POST /me/privacy-requests/{id}/cancel`.
pub async fn cancel(
    State(state): State<WebState>,
    Path(id): Path<String>,
    CsrfForm { who: viewer, .. }: CsrfForm<Viewer, NoFields>,
) -> Result<Response, WebError> {
    match requests::cancel_request(&state.store, &viewer.community_id, &viewer.member_id, &id).await
    {
        Ok(_) => Ok(Redirect::to("/me?privacy=cancelled#privacy-requests").into_response()),
        Err(e) => {
            let message = form_message(e)?;
            let mut response = super::me::show(&state, &viewer, None, Some(message)).await?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}
