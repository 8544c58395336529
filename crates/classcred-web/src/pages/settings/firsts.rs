//! `/dashboard/settings/firsts`: the firsts bonus — on/off, how many students per
//! announcement, poll, debate or question (1 to 50), and the points each earns (0 to 100).
//! GET for staff (read-only unless Admin), POST for the Admin; the engine validates the whole
//! settings again.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use classcred_engine::firsts::{MAX_FIRSTS_COUNT, MAX_FIRST_BONUS};
use classcred_engine::{CommunitySettings, Points};
use classcred_store::Role;

use super::course::SavedQuery;
use super::form::{Check, Errors, Field, Submitted};
use crate::extract::{Admin, CsrfForm, Staff, Viewer};
use crate::pages::{render, Chrome};
use crate::{WebError, WebState};

const PATH: &str = "/dashboard/settings/firsts";

#[derive(Template)]
#[template(path = "settings_firsts.html")]
struct FirstsPage {
    chrome: Chrome,
    admin: bool,
    csrf: String,
    saved: bool,
    general: Option<String>,
    enabled: Check,
    count: Field,
    points: Field,
}

fn page_of(viewer: &Viewer, s: &CommunitySettings) -> FirstsPage {
    FirstsPage {
        chrome: Chrome::for_viewer(viewer, "Firsts", PATH),
        admin: viewer.role == Role::Admin,
        csrf: viewer.csrf.clone(),
        saved: false,
        general: None,
        enabled: Check {
            name: "firsts.enabled".into(),
            label: "Give the first students to respond a bonus".into(),
            checked: s.firsts.enabled,
        },
        count: Field::new("firsts.count", s.firsts.count.to_string()),
        points: Field::new("firsts.points", s.firsts.points.to_string()),
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
    s.firsts.enabled = form.checked("firsts.enabled");
    match form.text("firsts.count").trim().parse::<u32>() {
        Ok(n) if (1..=MAX_FIRSTS_COUNT).contains(&n) => s.firsts.count = n,
        _ => errors.add(
            "firsts.count",
            format!("Enter a whole number from 1 to {MAX_FIRSTS_COUNT}."),
        ),
    }
    match form.text("firsts.points").parse::<Points>() {
        Ok(p) if p >= Points::ZERO && p <= MAX_FIRST_BONUS => s.firsts.points = p,
        _ => errors.add(
            "firsts.points",
            format!("Enter points from 0 to {MAX_FIRST_BONUS}, for example 1 or 0.5."),
        ),
    }
    if errors.is_empty() {
        if let Some((field, problem)) = s.firsts.problem() {
            errors.add(format!("firsts.{field}"), format!("Not saved: {problem}."));
        }
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
    page.enabled.checked = form.checked("firsts.enabled");
    page.count.value = form.text("firsts.count");
    page.points.value = form.text("firsts.points");
    errors.attach(&mut [&mut page.count, &mut page.points], &mut page.general);
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
    fn parses_switch_count_and_points() {
        let s = parse(
            &form(&[
                ("firsts.enabled", "on"),
                ("firsts.count", "5"),
                ("firsts.points", "2.5"),
            ]),
            CommunitySettings::default(),
        )
        .ok()
        .unwrap_or_default();
        assert!(s.firsts.enabled);
        assert_eq!(s.firsts.count, 5);
        assert_eq!(s.firsts.points, Points::from_thousandths(2500));
        for (count, points) in [
            ("0", "1"),
            ("51", "1"),
            ("x", "1"),
            ("3", "-1"),
            ("3", "101"),
            ("3", "abc"),
        ] {
            assert!(
                parse(
                    &form(&[("firsts.count", count), ("firsts.points", points)]),
                    CommunitySettings::default()
                )
                .is_err(),
                "{count} {points}"
            );
        }
        // Unchecked: off, the numbers kept.
        let s = parse(
            &form(&[("firsts.count", "2"), ("firsts.points", "1")]),
            CommunitySettings::default(),
        )
        .ok()
        .unwrap_or_default();
        assert!(!s.firsts.enabled);
        assert_eq!(s.firsts.count, 2);
    }
}
