//! Privacy policy versions (issue 12).
//!
//! * `GET /privacy/policy` (public, no sign-in): the current version's text — shown as text,
//!   HTML-escaped in a `<pre>`, never interpreted as HTML — and the history of versions with
//!   their publication dates.
//! * The banner on every dashboard page ([`PolicyBanner`], carried by the `Viewer` and the
//!   `Chrome`) while the signed-in Admin has a pending acknowledgement, with the form:
//! * `POST /dashboard/policy/acknowledge` (Admin, CSRF): acknowledge that version (recorded
//!   with its time and audited, `classcred_service::governance::acknowledge_policy`).

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use classcred_store::governance::PolicyAck;
use serde::Deserialize;

use super::privacy_requests::day;
use super::{render, Chrome};
use crate::extract::{Admin, CsrfForm, MaybeViewer};
use crate::{WebError, WebState};

/// What the banner shows: the version to acknowledge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyBanner {
    pub version_id: String,
    pub version: String,
    /// `YYYY-MM-DD` (UTC).
    pub published: String,
}

impl From<PolicyAck> for PolicyBanner {
    fn from(a: PolicyAck) -> Self {
        Self {
            version_id: a.policy_version_id,
            version: a.version,
            published: day(a.published_at),
        }
    }
}

/// One row of the version history.
pub struct HistoryRow {
    pub version: String,
    pub published: String,
    pub sha256: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage {
    chrome: Chrome,
    current: Option<(String, String, String)>,
    history: Vec<HistoryRow>,
}

/// `GET /privacy/policy`.
pub async fn public_page(
    State(state): State<WebState>,
    MaybeViewer(viewer): MaybeViewer,
) -> Result<Response, WebError> {
    let mut tx = state.store.begin().await?;
    let versions = tx.policy_versions().await?;
    tx.commit().await?;
    let current = versions
        .first()
        .map(|v| (v.version.clone(), day(v.published_at), v.body.clone()));
    let history = versions
        .iter()
        .enumerate()
        .map(|(i, v)| HistoryRow {
            version: v.version.clone(),
            published: day(v.published_at),
            sha256: v.body_sha256.clone(),
            current: i == 0,
        })
        .collect();
    let chrome = match &viewer {
        Some(v) => Chrome::for_viewer(v, "Privacy policy", "/privacy/policy"),
        None => Chrome::bare("Privacy policy"),
    };
    render(&PolicyPage {
        chrome,
        current,
        history,
    })
}

#[derive(Deserialize)]
pub struct AckForm {
    version_id: String,
}

/// `POST /dashboard/policy/acknowledge`: 303 to the overview once recorded; 404 when the
/// Admin has no pending acknowledgement of that version.
pub async fn acknowledge(
    State(state): State<WebState>,
    CsrfForm {
        who: Admin(viewer),
        form,
    }: CsrfForm<Admin, AckForm>,
) -> Result<Response, WebError> {
    match classcred_service::governance::acknowledge_policy(
        &state.store,
        &viewer.community_id,
        &viewer.member_id,
        &form.version_id,
    )
    .await?
    {
        Some(_) => Ok(Redirect::to("/dashboard?policy=acknowledged").into_response()),
        None => Err(WebError::NotFound),
    }
}
