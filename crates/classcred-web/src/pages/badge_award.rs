//! An Admin awards one of the class's own badges to a student, from the student's page:
//! `POST /dashboard/students/{member_id}/badges` (Admin, CSRF) →
//! `classcred_service::changes::grant_badge` (an inbox event the engine processes, audited).
//! Success redirects back to the page (`?badge=awarded`); a refusal shows the page again
//! (422) with the message next to the badge field.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use classcred_engine::{BadgeId, CommunitySettings};
use classcred_service::changes::{grant_badge, ChangeError};
use classcred_service::dashboard::Profile;
use classcred_store::{MemberKind, Role};

use crate::extract::{member_id_from_path, Admin, CsrfForm, Viewer};
use crate::{WebError, WebState};

/// What the form said last.
pub enum Flash {
    Done(&'static str),
    Refused(String),
}

/// The form on a student's page (only for an Admin, only when there is a badge to give).
pub struct AwardForm {
    pub action: String,
    pub csrf: String,
    /// `(badge id, name)` of the class's own badges that are switched on and not yet held.
    pub options: Vec<(String, String)>,
    pub done: Option<&'static str>,
    pub error: Option<String>,
}

/// The form for `viewer` on `profile`'s page, if it has a place there.
pub fn form(
    viewer: &Viewer,
    settings: &CommunitySettings,
    profile: &Profile,
    flash: Option<&Flash>,
) -> Option<AwardForm> {
    let student = profile.member.role == Role::Student && profile.member.kind == MemberKind::Human;
    if viewer.role != Role::Admin || !student {
        return None;
    }
    let options: Vec<(String, String)> = settings
        .custom_badges
        .iter()
        .filter(|b| settings.badge_enabled(&b.id))
        .filter(|b| !profile.badges.iter().any(|h| h.badge_id == b.id.as_str()))
        .map(|b| (b.id.as_str().to_owned(), b.name.clone()))
        .collect();
    let (done, error) = match flash {
        Some(Flash::Done(m)) => (Some(*m), None),
        Some(Flash::Refused(m)) => (None, Some(m.clone())),
        None => (None, None),
    };
    if options.is_empty() && done.is_none() && error.is_none() {
        return None;
    }
    Some(AwardForm {
        action: format!("/dashboard/students/{}/badges", profile.member.member_id),
        csrf: viewer.csrf.clone(),
        options,
        done,
        error,
    })
}

#[derive(serde::Deserialize)]
pub struct AwardInput {
    #[serde(default)]
    badge: String,
}

pub async fn award(
    State(state): State<WebState>,
    Path(member_id): Path<String>,
    CsrfForm {
        who: Admin(viewer),
        form,
    }: CsrfForm<Admin, AwardInput>,
) -> Result<Response, WebError> {
    let member = member_id_from_path(&member_id)?;
    let now = state.store.clock().now();
    let badge = BadgeId::new(form.badge.trim());
    match grant_badge(
        &state.store,
        &viewer.community_id,
        &viewer.member_id,
        &member,
        badge.as_str(),
        now,
    )
    .await
    {
        Ok(change) => {
            let outcome = if change.event_id.is_some() {
                "awarded"
            } else {
                "held"
            };
            tracing::info!(community_id = %viewer.community_id, member_id = %member, "badge awarded by hand");
            Ok(
                Redirect::to(&format!("/dashboard/students/{member}?badge={outcome}"))
                    .into_response(),
            )
        }
        Err(ChangeError::Invalid { message, .. }) => {
            super::student::show(&state, &viewer, &member, Some(Flash::Refused(message))).await
        }
        Err(ChangeError::NotFound) => Err(WebError::NotFound),
        Err(ChangeError::Forbidden) => Err(WebError::Forbidden),
        Err(ChangeError::LastAdmin) => Err(WebError::Forbidden),
        Err(ChangeError::Service(e)) => Err(e.into()),
    }
}
