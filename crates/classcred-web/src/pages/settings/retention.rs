//! `/dashboard/settings/retention`: how long the community keeps what (issue 9). Staff read
//! the schedule and the preview of the next daily run; the Admin changes the schedule (CSRF
//! form, every value in whole days within its range, audited by
//! `classcred_service::retention::set_policy`). Bad values are shown next to their field with
//! what was typed, and nothing is saved.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};
use classcred_service::retention::{self, when, Changer, Plan, RetentionError, LIMITS};
use classcred_store::{RetentionValues, Role};

use super::course::SavedQuery;
use super::form::{Errors, Field, Submitted};
use crate::extract::{Admin, CsrfForm, Staff, Viewer};
use crate::pages::{render, Chrome};
use crate::{WebError, WebState};

const PATH: &str = "/dashboard/settings/retention";

/// One rule of the preview, in words.
struct PreviewRow {
    rule: &'static str,
    now: String,
    next: String,
}

#[derive(Template)]
#[template(path = "settings_retention.html")]
struct RetentionPage {
    chrome: Chrome,
    admin: bool,
    csrf: String,
    saved: bool,
    defaults: bool,
    general: Option<String>,
    inbox: Field,
    text: Field,
    inactive: Field,
    disabled: Field,
    /// Plain-language help per field, with its range.
    hints: [String; 4],
    run_at: String,
    preview: Vec<PreviewRow>,
    /// Member row ids the next run erases (links to their pages).
    members: Vec<String>,
}

fn web_err(e: RetentionError) -> WebError {
    match e {
        RetentionError::Store(s) => s.into(),
        other => WebError::Internal(Box::new(other)),
    }
}

/// The start of the next UTC day: the daily run is enqueued at the first scheduler tick of a day.
fn next_run(now: DateTime<Utc>) -> DateTime<Utc> {
    (now.date_naive() + Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .map_or(now, |t| t.and_utc())
}

fn rows(p: &Plan) -> (Vec<PreviewRow>, Vec<String>) {
    let mut rows = vec![PreviewRow {
        rule: "Processed chat deliveries",
        now: format!(
            "{} processed before {}",
            p.inbox.payloads,
            when(p.inbox.cut_ms)
        ),
        next: p.inbox.next_ms.map_or_else(|| "—".into(), when),
    }];
    rows.push(PreviewRow {
        rule: "Message and feedback text",
        now: match p.text.cut_ms {
            Some(_) => format!(
                "{} messages and {} feedback notes. {}",
                p.text.counts.messages, p.text.counts.notes, p.text.note
            ),
            None => format!("Nothing. {}", p.text.note),
        },
        next: p
            .text
            .starts_ms
            .filter(|t| *t > p.at_ms)
            .map_or_else(|| "—".into(), when),
    });
    rows.push(PreviewRow {
        rule: "Inactive members",
        now: format!(
            "{} members without activity since {} are erased",
            p.inactive.members.len(),
            when(p.inactive.since_ms)
        ),
        next: "—".into(),
    });
    rows.push(PreviewRow {
        rule: "Disabled community",
        now: if p.community.due {
            "The community is disabled: all of its data is erased".into()
        } else if p.community.erase_at_ms.is_some() {
            "The community is disabled".into()
        } else {
            "The community is active: nothing".into()
        },
        next: p
            .community
            .erase_at_ms
            .filter(|_| !p.community.due)
            .map_or_else(|| "—".into(), |t| format!("{} unless re-enabled", when(t))),
    });
    let members = p.inactive.members.iter().map(ToString::to_string).collect();
    (rows, members)
}

fn hints() -> [String; 4] {
    let help = [
        "Chat deliveries are kept for this many days after they were processed, then their text is removed.",
        "Message text and written feedback are removed this many days after the course end date (set on the Course page). Points stay.",
        "A member with no message, no points given or received and no sign-in for this many days is erased.",
        "A disabled (uninstalled) community is erased this many days after it was disabled, unless it is re-enabled.",
    ];
    let mut out: [String; 4] = Default::default();
    for (i, ((_, _, min, max), h)) in LIMITS.iter().zip(help).enumerate() {
        out[i] = format!("{h} In days, from {min} to {max}.");
    }
    out
}

async fn page_of(
    state: &WebState,
    viewer: &Viewer,
) -> Result<(RetentionPage, RetentionValues), WebError> {
    let p = retention::policy(&state.store, &viewer.community_id)
        .await
        .map_err(web_err)?;
    let run_at = next_run(state.store.clock().now());
    let plan = retention::preview(&state.store, &viewer.community_id, run_at)
        .await
        .map_err(web_err)?;
    let (preview, members) = rows(&plan);
    let v = p.values;
    let page = RetentionPage {
        chrome: Chrome::for_viewer(viewer, "Retention", PATH),
        admin: viewer.role == Role::Admin,
        csrf: viewer.csrf.clone(),
        saved: false,
        defaults: !p.stored,
        general: None,
        inbox: Field::new("inbox_days", v.inbox_days.to_string()),
        text: Field::new(
            "text_days_after_course_end",
            v.text_days_after_course_end.to_string(),
        ),
        inactive: Field::new("inactive_member_days", v.inactive_member_days.to_string()),
        disabled: Field::new(
            "disabled_community_days",
            v.disabled_community_days.to_string(),
        ),
        hints: hints(),
        run_at: when(run_at.timestamp_millis()),
        preview,
        members,
    };
    Ok((page, v))
}

pub async fn page(
    State(state): State<WebState>,
    Staff(viewer): Staff,
    Query(q): Query<SavedQuery>,
) -> Result<Response, WebError> {
    let (mut page, _) = page_of(&state, &viewer).await?;
    page.saved = q.saved.is_some();
    render(&page)
}

/// Whole days from a form field.
fn days(form: &Submitted, name: &str, errors: &mut Errors) -> i64 {
    match form.text(name).parse::<i64>() {
        Ok(n) => n,
        Err(_) => {
            errors.add(name, "Enter a whole number of days, for example 30.");
            0
        }
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
    let mut errors = Errors::default();
    let values = RetentionValues {
        inbox_days: days(&form, "inbox_days", &mut errors),
        text_days_after_course_end: days(&form, "text_days_after_course_end", &mut errors),
        inactive_member_days: days(&form, "inactive_member_days", &mut errors),
        disabled_community_days: days(&form, "disabled_community_days", &mut errors),
    };
    if errors.is_empty() {
        match retention::set_policy(
            &state.store,
            &viewer.community_id,
            &values,
            &Changer::Member(viewer.member_id.clone()),
        )
        .await
        {
            Ok(()) => {
                tracing::info!(
                    community_id = %viewer.community_id,
                    member_id = %viewer.member_id,
                    "retention schedule changed"
                );
                return Ok(Redirect::to(&format!("{PATH}?saved=1")).into_response());
            }
            Err(RetentionError::Invalid(fields)) => {
                for f in fields {
                    let (_, label, min, max) = LIMITS
                        .iter()
                        .find(|l| l.0 == f.field)
                        .copied()
                        .unwrap_or((f.field, f.field, 0, 0));
                    errors.add(
                        f.field,
                        format!("{label}: enter between {min} and {max} days."),
                    );
                }
            }
            Err(e) => return Err(web_err(e)),
        }
    }
    let (mut page, _) = page_of(&state, &viewer).await?;
    page.inbox.value = form.text("inbox_days");
    page.text.value = form.text("text_days_after_course_end");
    page.inactive.value = form.text("inactive_member_days");
    page.disabled.value = form.text("disabled_community_days");
    errors.attach(
        &mut [
            &mut page.inbox,
            &mut page.text,
            &mut page.inactive,
            &mut page.disabled,
        ],
        &mut page.general,
    );
    let mut response = render(&page)?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}
