//! `/dashboard/settings/course`: the course's start date, optional end date (not before the
//! start) and timezone (an IANA name such as `America/New_York`). GET for staff (read-only
//! unless Admin), POST for the Admin.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use classcred_engine::{CommunitySettings, Timezone};
use classcred_store::Role;
use serde::Deserialize;

use super::form::{Errors, Field, Submitted};
use crate::extract::{Admin, CsrfForm, Staff, Viewer};
use crate::pages::{render, Chrome};
use crate::{WebError, WebState};

const PATH: &str = "/dashboard/settings/course";

#[derive(Template)]
#[template(path = "settings_course.html")]
struct CoursePage {
    chrome: Chrome,
    admin: bool,
    csrf: String,
    saved: bool,
    /// A refusal that belongs to no single field.
    general: Option<String>,
    start: Field,
    end: Field,
    timezone: Field,
}

fn page_of(viewer: &Viewer, s: &CommunitySettings) -> CoursePage {
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    CoursePage {
        chrome: Chrome::for_viewer(viewer, "Course settings", PATH),
        admin: viewer.role == Role::Admin,
        csrf: viewer.csrf.clone(),
        saved: false,
        general: None,
        start: Field::new("course_start", date(s.course_start)),
        end: Field::new("course_end", date(s.course_end)),
        timezone: Field::new("timezone", s.timezone.name()),
    }
}

#[derive(Deserialize)]
pub struct SavedQuery {
    pub(super) saved: Option<String>,
}

pub async fn page(
    State(state): State<WebState>,
    Staff(viewer): Staff,
    Query(q): Query<SavedQuery>,
) -> Result<Response, WebError> {
    let settings = super::current(&state, &viewer).await?;
    let mut page = page_of(&viewer, &settings);
    page.saved = q.saved.is_some();
    render(&page)
}

/// An optional date from a form field; `Err` carries the message.
fn date(text: &str) -> Result<Option<NaiveDate>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| "Enter a date as YYYY-MM-DD, for example 2026-09-01.".to_owned())
}

/// Parse the form onto the current settings; every problem by field.
fn parse(form: &Submitted, mut s: CommunitySettings) -> Result<CommunitySettings, Errors> {
    let mut errors = Errors::default();
    match date(&form.text("course_start")) {
        Ok(d) => s.course_start = d,
        Err(m) => errors.add("course_start", m),
    }
    match date(&form.text("course_end")) {
        Ok(d) => s.course_end = d,
        Err(m) => errors.add("course_end", m),
    }
    if let (Some(start), Some(end)) = (s.course_start, s.course_end) {
        if end < start {
            errors.add(
                "course_end",
                format!("The end date must be on or after the start date ({start})."),
            );
        }
    }
    let tz = form.text("timezone");
    match Timezone::parse(&tz) {
        Ok(t) => s.timezone = t,
        Err(_) => errors.add(
            "timezone",
            "Not a known timezone. Use an IANA name such as America/New_York, Europe/Berlin or UTC.",
        ),
    }
    if errors.is_empty() {
        Ok(s)
    } else {
        Err(errors)
    }
}

pub async fn save(
    State(state): State<WebState>,
    CsrfForm {
        who: Admin(viewer),
        form,
    }: CsrfForm<Admin, Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let form = Submitted::new(form);
    let current = super::current(&state, &viewer).await?;
    let errors =
        match super::save_parsed(&state, &viewer, parse(&form, current.clone()), PATH).await? {
            Ok(done) => return Ok(done),
            Err(errors) => errors,
        };
    let mut page = page_of(&viewer, &current);
    page.start.value = form.text("course_start");
    page.end.value = form.text("course_end");
    page.timezone.value = form.text("timezone");
    errors.attach(
        &mut [&mut page.start, &mut page.end, &mut page.timezone],
        &mut page.general,
    );
    let mut response = render(&page)?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}
