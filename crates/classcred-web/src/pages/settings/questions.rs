//! `/dashboard/settings/questions`: the question settings — the reward for an accepted answer
//! (points, 0 = off), auto-accept of the first reply by someone else, and the tracked channels
//! (channel ids separated by commas or spaces; empty = every channel). GET for staff (read-only
//! unless Admin), POST for the Admin; the engine validates the whole settings again.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use classcred_engine::questions::{MAX_ANSWER_REWARD, MAX_TRACKED_CHANNELS};
use classcred_engine::{CommunitySettings, Points};
use classcred_store::Role;

use super::course::SavedQuery;
use super::form::{Check, Errors, Field, Submitted};
use crate::extract::{Admin, CsrfForm, Staff, Viewer};
use crate::pages::{render, Chrome};
use crate::{WebError, WebState};

const PATH: &str = "/dashboard/settings/questions";

#[derive(Template)]
#[template(path = "settings_questions.html")]
struct QuestionsPage {
    chrome: Chrome,
    admin: bool,
    csrf: String,
    saved: bool,
    general: Option<String>,
    reward: Field,
    channels: Field,
    auto_accept: Check,
}

fn page_of(viewer: &Viewer, s: &CommunitySettings) -> QuestionsPage {
    QuestionsPage {
        chrome: Chrome::for_viewer(viewer, "Question settings", PATH),
        admin: viewer.role == Role::Admin,
        csrf: viewer.csrf.clone(),
        saved: false,
        general: None,
        reward: Field::new("questions.reward", s.questions.reward.to_string()),
        channels: Field::new(
            "questions.tracked_channels",
            s.questions.tracked_channels.join(", "),
        ),
        auto_accept: Check {
            name: "questions.auto_accept".into(),
            label: "Accept the first reply by someone else automatically (until the asker or an Instructor accepts another)".into(),
            checked: s.questions.auto_accept,
        },
    }
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

/// Parse the form onto the current settings; every problem by field.
fn parse(form: &Submitted, mut s: CommunitySettings) -> Result<CommunitySettings, Errors> {
    let mut errors = Errors::default();
    match form.text("questions.reward").parse::<Points>() {
        Ok(p) if p >= Points::ZERO && p <= MAX_ANSWER_REWARD => s.questions.reward = p,
        _ => errors.add(
            "questions.reward",
            format!("Enter points from 0 to {MAX_ANSWER_REWARD}, for example 1 or 0.5 (0 switches the reward off)."),
        ),
    }
    let text = form.text("questions.tracked_channels");
    let channels: Vec<String> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    if channels.len() > MAX_TRACKED_CHANNELS {
        errors.add(
            "questions.tracked_channels",
            format!("At most {MAX_TRACKED_CHANNELS} channels."),
        );
    } else {
        s.questions.tracked_channels = channels;
    }
    s.questions.auto_accept = form.checked("questions.auto_accept");
    if let Some((field, problem)) = s.questions.problem() {
        let field = if field.starts_with("tracked_channels") {
            "questions.tracked_channels".to_owned()
        } else {
            format!("questions.{field}")
        };
        errors.add(field, format!("Not saved: {problem}."));
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
    page.reward.value = form.text("questions.reward");
    page.channels.value = form.text("questions.tracked_channels");
    page.auto_accept.checked = form.checked("questions.auto_accept");
    errors.attach(
        &mut [&mut page.reward, &mut page.channels],
        &mut page.general,
    );
    let mut response = render(&page)?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Submitted {
        Submitted::new(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn parses_reward_channels_and_auto_accept() {
        let s = parse(
            &form(&[
                ("questions.reward", "2.5"),
                ("questions.tracked_channels", "C1, C2  C3"),
                ("questions.auto_accept", "on"),
            ]),
            CommunitySettings::default(),
        )
        .ok()
        .unwrap_or_default();
        assert_eq!(s.questions.reward, Points::from_thousandths(2500));
        assert_eq!(s.questions.tracked_channels, ["C1", "C2", "C3"]);
        assert!(s.questions.auto_accept);
        for bad in ["-1", "abc", "101"] {
            assert!(parse(
                &form(&[("questions.reward", bad)]),
                CommunitySettings::default()
            )
            .is_err());
        }
        assert!(parse(
            &form(&[
                ("questions.reward", "1"),
                ("questions.tracked_channels", "C1 C1")
            ]),
            CommunitySettings::default()
        )
        .is_err());
    }
}
