//! Erasure requests (issue 9), for Admins.
//!
//! - `GET /dashboard/privacy/erasures`: every request of the class — target, origin, when it
//!   was requested, the end of its grace period, its due date, its state (overdue flagged) —
//!   with a cancel button during the grace period, the receipt once done, and a form to
//!   request the erasure of the whole class, confirmed by typing its name.
//! - `POST /dashboard/privacy/erasures` (CSRF): request an erasure, of one member
//!   (`target=member&member_id=…`, the button on a student's page) or of the class
//!   (`target=community&confirm=<class name>`).
//! - `POST /dashboard/privacy/erasures/{id}/cancel` (CSRF): cancel during the grace period.
//!
//! The service (`classcred_service::erasure`) audits each step; the `erasure.run` job carries
//! requests out after their grace period.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use classcred_service::erasure::{
    cancel_erasure, list_erasures, request_erasure, ErasureError, ErasureOrigin, ErasureRequest,
    ErasureState, ErasureTarget,
};

use super::{render, Chrome};
use crate::extract::{member_id_from_path, Admin, CsrfForm, Viewer};
use crate::{WebError, WebState};

/// The page's path.
pub const PATH: &str = "/dashboard/privacy/erasures";

pub struct Row {
    pub id: String,
    pub target: String,
    pub origin: &'static str,
    pub requested: String,
    pub grace_until: String,
    pub due: String,
    pub state: &'static str,
    pub overdue: bool,
    pub cancel_action: Option<String>,
    pub receipt: Option<String>,
}

#[derive(Template)]
#[template(path = "erasures.html")]
struct ErasuresPage {
    chrome: Chrome,
    csrf: String,
    class_name: String,
    rows: Vec<Row>,
    overdue: usize,
    done: Option<&'static str>,
    error: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct PageQuery {
    done: Option<String>,
}

fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

fn origin_label(o: ErasureOrigin) -> &'static str {
    match o {
        ErasureOrigin::Admin => "Admin",
        ErasureOrigin::StudentRequest => "Student's request",
        ErasureOrigin::Retention => "Retention schedule",
        ErasureOrigin::Operator => "Operator",
    }
}

pub async fn page(
    State(state): State<WebState>,
    Admin(viewer): Admin,
    Query(q): Query<PageQuery>,
) -> Result<Response, WebError> {
    let done = match q.done.as_deref() {
        Some("requested") => {
            Some("Erasure requested. It can be cancelled until its grace period ends.")
        }
        Some("cancelled") => Some("Erasure request cancelled."),
        _ => None,
    };
    show(&state, &viewer, done, None).await
}

async fn show(
    state: &WebState,
    viewer: &Viewer,
    done: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, WebError> {
    let list = list_erasures(&state.store, &viewer.community_id)
        .await
        .map_err(web_error)?;
    let roster = classcred_service::dashboard::members(&state.store, &viewer.community_id).await?;
    let now = state.store.now_ms();
    let rows: Vec<Row> = list
        .iter()
        .map(|r: &ErasureRequest| Row {
            id: r.id.clone(),
            target: match &r.target {
                ErasureTarget::Community => "The whole class".to_owned(),
                ErasureTarget::Member(m) => roster
                    .iter()
                    .find(|p| &p.member_id == m)
                    .filter(|_| r.state != ErasureState::Done)
                    .map(|p| format!("Member {}", p.name))
                    .unwrap_or_else(|| "A former member".to_owned()),
            },
            origin: origin_label(r.origin),
            requested: when(r.requested_at),
            grace_until: when(r.grace_until),
            due: when(r.due_at),
            state: r.state.as_str(),
            overdue: r.overdue(now),
            cancel_action: r
                .cancellable(now)
                .then(|| format!("{PATH}/{}/cancel", r.id)),
            receipt: r.receipt.clone(),
        })
        .collect();
    let overdue = rows.iter().filter(|r| r.overdue).count();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut response = render(&ErasuresPage {
        chrome: Chrome::for_viewer(viewer, "Erasure requests", PATH),
        csrf: viewer.csrf.clone(),
        class_name: viewer.community_name.clone(),
        rows,
        overdue,
        done,
        error,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

fn web_error(e: ErasureError) -> WebError {
    match e {
        ErasureError::Store(s) => s.into(),
        ErasureError::NotFound { .. } => WebError::NotFound,
        other => WebError::Internal(Box::new(other)),
    }
}

#[derive(serde::Deserialize)]
pub struct RequestInput {
    #[serde(default)]
    target: String,
    #[serde(default)]
    member_id: String,
    #[serde(default)]
    confirm: String,
}

pub async fn request(
    State(state): State<WebState>,
    CsrfForm {
        who: Admin(viewer),
        form,
    }: CsrfForm<Admin, RequestInput>,
) -> Result<Response, WebError> {
    let target = match form.target.as_str() {
        "member" => ErasureTarget::Member(member_id_from_path(form.member_id.trim())?),
        "community" => {
            if form.confirm.trim() != viewer.community_name.trim() {
                return show(
                    &state,
                    &viewer,
                    None,
                    Some(
                        "Type the class's name exactly to confirm the erasure of the whole class."
                            .into(),
                    ),
                )
                .await;
            }
            ErasureTarget::Community
        }
        _ => return Err(WebError::BadRequest("target must be member or community")),
    };
    let outcome = request_erasure(
        &state.store,
        &viewer.community_id,
        target,
        ErasureOrigin::Admin,
        Some(&viewer.member_id),
        None,
    )
    .await;
    match outcome {
        Ok(req) => {
            tracing::info!(community_id = %viewer.community_id, request_id = %req.id, "erasure requested from the dashboard");
            Ok(Redirect::to(&format!("{PATH}?done=requested")).into_response())
        }
        Err(e @ (ErasureError::AlreadyRequested { .. } | ErasureError::AlreadyErased { .. })) => {
            let message = match e {
                ErasureError::AlreadyRequested { .. } => {
                    "An erasure of this is already requested (see the list below)."
                }
                _ => "This member was already erased.",
            };
            show(&state, &viewer, None, Some(message.into())).await
        }
        Err(e) => Err(web_error(e)),
    }
}

#[derive(serde::Deserialize)]
pub struct CancelInput {}

pub async fn cancel(
    State(state): State<WebState>,
    Path(id): Path<String>,
    CsrfForm {
        who: Admin(viewer),
        form: CancelInput {},
    }: CsrfForm<Admin, CancelInput>,
) -> Result<Response, WebError> {
    if id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(WebError::NotFound);
    }
    match cancel_erasure(&state.store, &viewer.community_id, &id, &viewer.member_id).await {
        Ok(()) => Ok(Redirect::to(&format!("{PATH}?done=cancelled")).into_response()),
        Err(ErasureError::NotCancellable { .. }) => {
            show(
                &state,
                &viewer,
                None,
                Some("This request can no longer be cancelled: its grace period is over or it already ran.".into()),
            )
            .await
        }
        Err(e) => Err(web_error(e)),
    }
}

/// The "Request erasure" button on a member's page (Admins; not on their own page).
pub struct EraseButton {
    pub action: &'static str,
    pub csrf: String,
    pub member_id: String,
}

pub fn button(viewer: &Viewer, subject: &classcred_store::MemberRowId) -> Option<EraseButton> {
    (viewer.role == classcred_store::Role::Admin && *subject != viewer.member_id).then(|| {
        EraseButton {
            action: PATH,
            csrf: viewer.csrf.clone(),
            member_id: subject.to_string(),
        }
    })
}
