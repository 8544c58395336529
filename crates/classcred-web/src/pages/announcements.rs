//! `GET /dashboard/announcements` (staff): schedule a post for a channel and a local time, and
//! the list of announcements (scheduled ones soonest first, with Edit and Cancel). Every form is
//! CSRF-checked and goes through `classcred_service::announcements`; a refusal shows the form
//! again (422) with the message next to its field; success redirects with a confirmation.
//!
//! - `POST /dashboard/announcements`: schedule;
//! - `GET /dashboard/announcements/{id}`: the same page with the form filled for an edit;
//! - `POST /dashboard/announcements/{id}`: save the edit;
//! - `POST /dashboard/announcements/{id}/cancel`: cancel.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use classcred_service::announcements::{self, Draft, MAX_TEXT_CHARS};
use classcred_service::changes::ChangeError;
use classcred_store::{Announcement, AnnouncementState};
use serde::Deserialize;

use super::settings::form::Field;
use super::{render, Chrome};
use crate::extract::{CsrfForm, Staff, Viewer};
use crate::{WebError, WebState};

const PATH: &str = "/dashboard/announcements";

/// One row of the list.
pub struct Row {
    pub id: String,
    pub when: String,
    pub channel: String,
    pub text: String,
    pub state: &'static str,
    pub editable: bool,
}

#[derive(Template)]
#[template(path = "announcements.html")]
struct Page {
    chrome: Chrome,
    csrf: String,
    timezone: String,
    /// Where the form posts (new, or the announcement being edited).
    action: String,
    editing: bool,
    channel: Field,
    text: Field,
    post_at: Field,
    max_text: usize,
    general: Option<String>,
    confirmation: Option<&'static str>,
    rows: Vec<Row>,
}

fn state_label(s: AnnouncementState) -> &'static str {
    match s {
        AnnouncementState::Scheduled => "Scheduled",
        AnnouncementState::Sending => "Being posted",
        AnnouncementState::Sent => "Posted",
        AnnouncementState::Cancelled => "Cancelled",
        AnnouncementState::Failed => "Not posted (the chat refused it)",
    }
}

fn local(ms: i64, tz: Tz, format: &str) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.with_timezone(&tz).format(format).to_string())
        .unwrap_or_default()
}

fn preview(text: &str) -> String {
    const MAX: usize = 120;
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= MAX {
        one_line
    } else {
        format!("{}…", one_line.chars().take(MAX).collect::<String>())
    }
}

async fn timezone(state: &WebState, viewer: &Viewer) -> Result<Tz, WebError> {
    let mut tx = state.store.begin().await?;
    let s = classcred_service::settings(&mut tx, &viewer.community_id).await?;
    tx.commit().await?;
    Ok(s.timezone.tz())
}

fn row(a: &Announcement, tz: Tz) -> Row {
    Row {
        id: a.id.clone(),
        when: local(a.post_at, tz, "%Y-%m-%d %H:%M"),
        channel: a.channel.clone(),
        text: preview(&a.text),
        state: state_label(a.state),
        editable: a.state == AnnouncementState::Scheduled,
    }
}

/// What the form shows: the draft and the refusal, if any.
struct FormState {
    action: String,
    editing: bool,
    draft: Draft,
    error: Option<ChangeError>,
}

async fn show(
    state: &WebState,
    viewer: &Viewer,
    form: FormState,
    confirmation: Option<&'static str>,
) -> Result<Response, WebError> {
    let tz = timezone(state, viewer).await?;
    let list = announcements::list(&state.store, &viewer.community_id)
        .await
        .map_err(change_error)?;
    let mut channel = Field::new("channel", form.draft.channel.clone());
    let mut text = Field::new("text", form.draft.text.clone());
    let mut post_at = Field::new("post_at", form.draft.post_at.clone());
    let mut general = None;
    let refused = form.error.is_some();
    if let Some(ChangeError::Invalid { field, message }) = form.error {
        match field.as_str() {
            "channel" => channel.error = Some(message),
            "text" => text.error = Some(message),
            "post_at" => post_at.error = Some(message),
            _ => general = Some(message),
        }
    }
    let page = Page {
        chrome: Chrome::for_viewer(viewer, "Announcements", PATH),
        csrf: viewer.csrf.clone(),
        timezone: tz.name().to_owned(),
        action: form.action,
        editing: form.editing,
        channel,
        text,
        post_at,
        max_text: MAX_TEXT_CHARS,
        general,
        confirmation,
        rows: list.iter().map(|a| row(a, tz)).collect(),
    };
    let mut response = render(&page)?;
    if refused {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

fn change_error(e: ChangeError) -> WebError {
    match e {
        ChangeError::NotFound => WebError::NotFound,
        ChangeError::Forbidden | ChangeError::LastAdmin => WebError::Forbidden,
        ChangeError::Service(e) => e.into(),
        ChangeError::Invalid { .. } => WebError::BadRequest("the announcement was refused"),
    }
}

fn new_form() -> FormState {
    FormState {
        action: PATH.to_owned(),
        editing: false,
        draft: Draft::default(),
        error: None,
    }
}

#[derive(Deserialize)]
pub struct Done {
    #[serde(default)]
    done: Option<String>,
}

fn confirmation(q: &Done) -> Option<&'static str> {
    match q.done.as_deref() {
        Some("scheduled") => Some("Announcement scheduled."),
        Some("saved") => Some("Announcement changed."),
        Some("cancelled") => Some("Announcement cancelled; it will not be posted."),
        _ => None,
    }
}

/// `GET /dashboard/announcements`.
pub async fn page(
    State(state): State<WebState>,
    Staff(viewer): Staff,
    Query(q): Query<Done>,
) -> Result<Response, WebError> {
    show(&state, &viewer, new_form(), confirmation(&q)).await
}

/// `POST /dashboard/announcements`.
pub async fn create(
    State(state): State<WebState>,
    CsrfForm {
        who: Staff(viewer),
        form,
    }: CsrfForm<Staff, Draft>,
) -> Result<Response, WebError> {
    let now = state.store.clock().now();
    match announcements::schedule(
        &state.store,
        &viewer.community_id,
        &viewer.member_id,
        &form,
        now,
    )
    .await
    {
        Ok(a) => {
            tracing::info!(community_id = %viewer.community_id, announcement_id = %a.id, "announcement scheduled");
            Ok(Redirect::to(&format!("{PATH}?done=scheduled")).into_response())
        }
        Err(e @ ChangeError::Invalid { .. }) => {
            let f = FormState {
                draft: form,
                error: Some(e),
                ..new_form()
            };
            show(&state, &viewer, f, None).await
        }
        Err(e) => Err(change_error(e)),
    }
}

fn checked_id(id: &str) -> Result<&str, WebError> {
    let ok =
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    if ok {
        Ok(id)
    } else {
        Err(WebError::NotFound)
    }
}

/// `GET /dashboard/announcements/{id}`: the form filled for an edit.
pub async fn edit_page(
    State(state): State<WebState>,
    Path(id): Path<String>,
    Staff(viewer): Staff,
) -> Result<Response, WebError> {
    let id = checked_id(&id)?;
    let tz = timezone(&state, &viewer).await?;
    let mut tx = state.store.begin().await?;
    let a = tx
        .for_community(&viewer.community_id)
        .announcement(id)
        .await?
        .ok_or(WebError::NotFound)?;
    tx.commit().await?;
    if a.state != AnnouncementState::Scheduled {
        return Ok(Redirect::to(PATH).into_response());
    }
    let f = FormState {
        action: format!("{PATH}/{id}"),
        editing: true,
        draft: Draft {
            channel: a.channel.clone(),
            text: a.text.clone(),
            post_at: local(a.post_at, tz, "%Y-%m-%dT%H:%M"),
        },
        error: None,
    };
    show(&state, &viewer, f, None).await
}

/// `POST /dashboard/announcements/{id}`: save an edit.
pub async fn save(
    State(state): State<WebState>,
    Path(id): Path<String>,
    CsrfForm {
        who: Staff(viewer),
        form,
    }: CsrfForm<Staff, Draft>,
) -> Result<Response, WebError> {
    let id = checked_id(&id)?;
    let now = state.store.clock().now();
    match announcements::edit(
        &state.store,
        &viewer.community_id,
        &viewer.member_id,
        id,
        &form,
        now,
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("{PATH}?done=saved")).into_response()),
        Err(e @ ChangeError::Invalid { .. }) => {
            let f = FormState {
                action: format!("{PATH}/{id}"),
                editing: true,
                draft: form,
                error: Some(e),
            };
            show(&state, &viewer, f, None).await
        }
        Err(e) => Err(change_error(e)),
    }
}

#[derive(Deserialize)]
pub struct Empty {}

/// `POST /dashboard/announcements/{id}/cancel`.
pub async fn cancel(
    State(state): State<WebState>,
    Path(id): Path<String>,
    CsrfForm {
        who: Staff(viewer),
        form: Empty {},
    }: CsrfForm<Staff, Empty>,
) -> Result<Response, WebError> {
    let id = checked_id(&id)?;
    match announcements::cancel(&state.store, &viewer.community_id, &viewer.member_id, id).await {
        Ok(()) => Ok(Redirect::to(&format!("{PATH}?done=cancelled")).into_response()),
        Err(e @ ChangeError::Invalid { .. }) => {
            show(
                &state,
                &viewer,
                FormState {
                    error: Some(e),
                    ..new_form()
                },
                None,
            )
            .await
        }
        Err(e) => Err(change_error(e)),
    }
}
