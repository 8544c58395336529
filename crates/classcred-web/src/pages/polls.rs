//! `GET /dashboard/polls` (staff): create a poll or a debate (question, options one per line,
//! channel, closing time, anonymous, live results), the list of polls with their results as
//! numbers and an accessible bar chart (a `<meter>` per option, its value also in the text),
//! and Close. Every form is CSRF-checked and goes through `classcred_service::polls`; a refusal
//! shows the form again (422) with the message next to its field.
//!
//! - `POST /dashboard/polls`: create;
//! - `POST /dashboard/polls/{poll_id}/close`: close (results shown to everyone).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use classcred_engine::PollKind;
use classcred_service::changes::ChangeError;
use classcred_service::polls::{self, Draft, PollView};
use serde::Deserialize;

use super::settings::form::Field;
use super::{render, Chrome};
use crate::extract::{CsrfForm, Staff, Viewer};
use crate::{WebError, WebState};

const PATH: &str = "/dashboard/polls";

/// One option's result.
pub struct Bar {
    pub label: String,
    pub votes: u32,
    pub percent: u32,
}

/// One poll of the list.
pub struct Row {
    pub id: String,
    pub number: i64,
    pub kind: &'static str,
    pub question: String,
    pub facts: String,
    pub open: bool,
    pub votes: u32,
    pub participants: Option<u32>,
    pub bars: Vec<Bar>,
}

#[derive(Template)]
#[template(path = "polls.html")]
struct Page {
    chrome: Chrome,
    csrf: String,
    timezone: String,
    kind: String,
    question: Field,
    options: Field,
    channel: Field,
    closes_at: Field,
    anonymous: bool,
    live_results: bool,
    general: Option<String>,
    confirmation: Option<&'static str>,
    rows: Vec<Row>,
}

fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

async fn timezone(state: &WebState, viewer: &Viewer) -> Result<Tz, WebError> {
    let mut tx = state.store.begin().await?;
    let s = classcred_service::settings(&mut tx, &viewer.community_id).await?;
    tx.commit().await?;
    Ok(s.timezone.tz())
}

/// The results of a poll as bars.
pub fn bars(p: &PollView) -> Vec<Bar> {
    p.options
        .iter()
        .enumerate()
        .map(|(i, o)| Bar {
            label: format!("{}. {o}", i + 1),
            votes: p.counts.get(i).copied().unwrap_or(0),
            percent: p.percent(i),
        })
        .collect()
}

fn row(p: &PollView, tz: Tz, now: DateTime<Utc>) -> Row {
    let open = p.open_at(now);
    let mut facts = vec![format!("created {}", local(p.created_at, tz))];
    if p.anonymous {
        facts.push("anonymous".into());
    }
    facts.push(if p.live_results {
        "live results".into()
    } else {
        "results at close".into()
    });
    match (p.closed_at, p.closes_at) {
        (Some(c), _) => facts.push(format!("closed {}", local(c, tz))),
        (None, Some(c)) if c <= now => facts.push(format!("closed {}", local(c, tz))),
        (None, Some(c)) => facts.push(format!("closes {}", local(c, tz))),
        (None, None) => facts.push("open until closed".into()),
    }
    match (&p.channel, &p.posted_message_id) {
        (Some(c), Some(_)) => facts.push(format!("posted in {c}")),
        (Some(c), None) => facts.push(format!("to be posted in {c}")),
        (None, _) => facts.push("not posted in chat".into()),
    }
    Row {
        id: p.poll_id.clone(),
        number: p.number,
        kind: match p.kind {
            PollKind::Poll => "Poll",
            PollKind::Debate => "Debate",
        },
        question: p.question.clone(),
        facts: facts.join(" · "),
        open,
        votes: p.votes,
        participants: p.participants,
        bars: bars(p),
    }
}

async fn show(
    state: &WebState,
    viewer: &Viewer,
    draft: Draft,
    error: Option<ChangeError>,
    confirmation: Option<&'static str>,
) -> Result<Response, WebError> {
    let tz = timezone(state, viewer).await?;
    let now = state.store.clock().now();
    let list = polls::list(&state.store, &viewer.community_id).await?;
    let mut question = Field::new("question", draft.question.clone());
    let mut options = Field::new("options", draft.options.clone());
    let mut channel = Field::new("channel", draft.channel.clone());
    let mut closes_at = Field::new("closes_at", draft.closes_at.clone());
    let mut general = None;
    let refused = error.is_some();
    if let Some(ChangeError::Invalid { field, message }) = error {
        match field.as_str() {
            "question" => question.error = Some(message),
            "options" => options.error = Some(message),
            "channel" => channel.error = Some(message),
            "closes_at" => closes_at.error = Some(message),
            _ => general = Some(message),
        }
    }
    let on = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
    let page = Page {
        chrome: Chrome::for_viewer(viewer, "Polls", PATH),
        csrf: viewer.csrf.clone(),
        timezone: tz.name().to_owned(),
        kind: if draft.kind == "debate" {
            "debate".into()
        } else {
            "poll".into()
        },
        question,
        options,
        channel,
        closes_at,
        anonymous: on(&draft.anonymous),
        live_results: on(&draft.live_results),
        general,
        confirmation,
        rows: list.iter().map(|p| row(p, tz, now)).collect(),
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
        ChangeError::Invalid { .. } => WebError::BadRequest("the poll change was refused"),
    }
}

#[derive(Deserialize)]
pub struct Done {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /dashboard/polls`.
pub async fn page(
    State(state): State<WebState>,
    Staff(viewer): Staff,
    Query(q): Query<Done>,
) -> Result<Response, WebError> {
    let confirmation = match q.done.as_deref() {
        Some("created") => Some("Created. It is posted in its channel in a moment."),
        Some("closed") => Some("Closed: the results are final."),
        _ => None,
    };
    show(&state, &viewer, Draft::default(), None, confirmation).await
}

/// `POST /dashboard/polls`.
pub async fn create(
    State(state): State<WebState>,
    CsrfForm {
        who: Staff(viewer),
        form,
    }: CsrfForm<Staff, Draft>,
) -> Result<Response, WebError> {
    let now = state.store.clock().now();
    match polls::create(
        &state.store,
        &viewer.community_id,
        &viewer.member_id,
        &form,
        now,
    )
    .await
    {
        Ok((id, _)) => {
            tracing::info!(community_id = %viewer.community_id, poll_id = %id, "poll created");
            Ok(Redirect::to(&format!("{PATH}?done=created")).into_response())
        }
        Err(e @ ChangeError::Invalid { .. }) => show(&state, &viewer, form, Some(e), None).await,
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

#[derive(Deserialize)]
pub struct Empty {}

/// `POST /dashboard/polls/{poll_id}/close`.
pub async fn close(
    State(state): State<WebState>,
    Path(id): Path<String>,
    CsrfForm {
        who: Staff(viewer),
        form: Empty {},
    }: CsrfForm<Staff, Empty>,
) -> Result<Response, WebError> {
    let id = checked_id(&id)?;
    let now = state.store.clock().now();
    match polls::close(
        &state.store,
        &viewer.community_id,
        &viewer.member_id,
        id,
        now,
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("{PATH}?done=closed")).into_response()),
        Err(e @ ChangeError::Invalid { .. }) => {
            show(&state, &viewer, Draft::default(), Some(e), None).await
        }
        Err(e) => Err(change_error(e)),
    }
}

/// A member's own votes for "My data": `(poll, option chosen)`.
pub struct MyVote {
    pub what: String,
    pub option: String,
    pub status: &'static str,
}

/// The member's votes in polls that are not anonymous, newest first.
pub(crate) async fn my_votes(state: &WebState, viewer: &Viewer) -> Result<Vec<MyVote>, WebError> {
    let votes = polls::member_votes(&state.store, &viewer.community_id, &viewer.member_id).await?;
    Ok(votes
        .into_iter()
        .map(|(p, o)| MyVote {
            what: format!(
                "{} #{}: {}",
                match p.kind {
                    PollKind::Poll => "Poll",
                    PollKind::Debate => "Debate",
                },
                p.number,
                p.question
            ),
            option: p
                .options
                .get(usize::try_from(o).unwrap_or(usize::MAX))
                .cloned()
                .unwrap_or_default(),
            status: if p.closed_at.is_some() {
                "closed"
            } else {
                "open"
            },
        })
        .collect())
}
