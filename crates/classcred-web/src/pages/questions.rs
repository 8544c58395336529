//! `GET /dashboard/questions` (staff): the questions asked in tracked channels, unanswered
//! first by default, oldest first, with age, channel, asker, answers and texts (one audited
//! read through `classcred_service::questions::list_questions`). Each answer has an Accept
//! button: `POST /dashboard/questions/accept` (CSRF form) stores an `answer_accepted` event
//! through `classcred_service::questions::accept_answer`, which the engine processes (reward,
//! feed, notice) like an accept from chat.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use classcred_engine::Timezone;
use classcred_service::changes::ChangeError;
use classcred_service::questions::{accept_answer, list_questions, QuestionView};
use classcred_store::recognition::QuestionFilter;
use serde::Deserialize;

use super::{render, Chrome};
use crate::extract::{CsrfForm, Staff, Viewer};
use crate::{WebError, WebState};

/// Longest id accepted in the form.
const MAX_ID: usize = 256;

/// One answer as the page shows it.
pub struct AnswerLine {
    pub id: String,
    pub author: String,
    pub posted: String,
    pub text: String,
    pub accepted: bool,
}

/// One question as the page shows it.
pub struct QuestionLine {
    pub id: String,
    pub asker: String,
    pub asker_id: String,
    pub channel: String,
    pub asked: String,
    pub age: String,
    pub text: String,
    pub answer_count: i64,
    pub answered: bool,
    pub answers: Vec<AnswerLine>,
}

#[derive(Template)]
#[template(path = "questions.html")]
struct Questions {
    chrome: Chrome,
    show: &'static str,
    questions: Vec<QuestionLine>,
    timezone: String,
    csrf: String,
    confirmation: Option<String>,
    error: Option<String>,
}

fn age(minutes: i64) -> String {
    match minutes {
        m if m < 60 => format!("{m} min"),
        m if m < 48 * 60 => format!("{} h", m / 60),
        m => format!("{} days", m / (24 * 60)),
    }
}

/// A time as the class reads it: in its timezone, with the zone's abbreviation.
fn local(t: chrono::DateTime<chrono::Utc>, tz: &Timezone) -> String {
    t.with_timezone(&tz.tz())
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

fn line(q: QuestionView, tz: &Timezone) -> QuestionLine {
    let hidden = "(text not available)".to_owned();
    QuestionLine {
        answered: q.accepted_answer_id.is_some(),
        asker: q.asker.name,
        asker_id: q.asker.member_id.to_string(),
        channel: q.channel_id.unwrap_or_else(|| "—".to_owned()),
        asked: local(q.asked_at, tz),
        age: age(q.age_minutes),
        text: q.text.unwrap_or_else(|| hidden.clone()),
        answer_count: q.answer_count,
        answers: q
            .answers
            .into_iter()
            .map(|a| AnswerLine {
                id: a.answer_id,
                author: a.author.name,
                posted: local(a.posted_at, tz),
                text: a.text.unwrap_or_else(|| hidden.clone()),
                accepted: a.accepted,
            })
            .collect(),
        id: q.question_id,
    }
}

#[derive(Deserialize, Default)]
pub struct QuestionsQuery {
    /// `unanswered` (default), `answered` or `all`.
    show: Option<String>,
    /// Set after an accept.
    accepted: Option<String>,
}

fn filter_of(show: Option<&str>) -> Result<(QuestionFilter, &'static str), WebError> {
    match show {
        None | Some("unanswered") => Ok((QuestionFilter::Unanswered, "unanswered")),
        Some("answered") => Ok((QuestionFilter::Answered, "answered")),
        Some("all") => Ok((QuestionFilter::All, "all")),
        Some(_) => Err(WebError::BadRequest(
            "show must be unanswered, answered or all",
        )),
    }
}

async fn page_of(
    state: &WebState,
    viewer: &Viewer,
    show: Option<&str>,
    confirmation: Option<String>,
    error: Option<String>,
) -> Result<Questions, WebError> {
    let (filter, show) = filter_of(show)?;
    let tz = super::class_timezone(state, viewer).await?;
    let now = chrono::DateTime::from_timestamp_millis(state.store.now_ms()).unwrap_or_default();
    let questions = list_questions(
        &state.store,
        &viewer.community_id,
        filter,
        Some(&viewer.member_id),
        now,
    )
    .await?;
    Ok(Questions {
        chrome: Chrome::for_viewer(viewer, "Questions", "/dashboard/questions"),
        show,
        questions: questions.into_iter().map(|q| line(q, &tz)).collect(),
        timezone: tz.to_string(),
        csrf: viewer.csrf.clone(),
        confirmation,
        error,
    })
}

pub async fn page(
    State(state): State<WebState>,
    Staff(viewer): Staff,
    Query(query): Query<QuestionsQuery>,
) -> Result<Response, WebError> {
    let confirmation = query
        .accepted
        .is_some()
        .then(|| "Answer accepted. The answerer was told, and rewarded if a student.".to_owned());
    render(&page_of(&state, &viewer, query.show.as_deref(), confirmation, None).await?)
}

#[derive(Deserialize)]
pub struct AcceptForm {
    question: Option<String>,
    answer: Option<String>,
}

/// `POST /dashboard/questions/accept` (staff).
pub async fn accept(
    State(state): State<WebState>,
    CsrfForm {
        who: Staff(viewer),
        form,
    }: CsrfForm<Staff, AcceptForm>,
) -> Result<Response, WebError> {
    let ok = |s: &Option<String>| {
        s.as_deref()
            .filter(|v| !v.is_empty() && v.len() <= MAX_ID)
            .map(str::to_owned)
    };
    let (Some(question), Some(answer)) = (ok(&form.question), ok(&form.answer)) else {
        return Err(WebError::BadRequest(
            "question and answer are required, at most 256 characters each",
        ));
    };
    let now = chrono::DateTime::from_timestamp_millis(state.store.now_ms()).unwrap_or_default();
    match accept_answer(
        &state.store,
        &viewer.community_id,
        &viewer.member_id,
        &question,
        &answer,
        now,
    )
    .await
    {
        Ok(_) => {
            tracing::info!(community_id = %viewer.community_id, "answer accepted from the dashboard");
            Ok(Redirect::to("/dashboard/questions?accepted=1").into_response())
        }
        Err(ChangeError::Invalid { message, .. }) => {
            let mut response = render(&page_of(&state, &viewer, None, None, Some(message)).await?)?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(ChangeError::NotFound) => Err(WebError::NotFound),
        Err(ChangeError::Forbidden | ChangeError::LastAdmin) => Err(WebError::Forbidden),
        Err(ChangeError::Service(s)) => Err(s.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_ages() {
        assert!(filter_of(Some("bogus")).is_err());
        assert_eq!(filter_of(None).ok().map(|f| f.1), Some("unanswered"));
        assert_eq!(age(59), "59 min");
        assert_eq!(age(60 * 49), "2 days");
    }
}
