//! The settings pages (`/dashboard/settings/rewards`, `/dashboard/settings/course`): staff read
//! them, an Admin changes them. A form is parsed into a whole new `CommunitySettings`; any bad
//! field is shown next to itself (`aria-invalid`, `aria-describedby`) with what the user typed
//! kept, and nothing is saved. A valid form is one `changes::change_settings` call (an engine
//! event through the inbox plus an audit entry), so a change is all or nothing.

pub mod course;
pub mod firsts;
pub mod form;
pub mod questions;
pub mod retention;
pub mod rewards;

use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use classcred_engine::CommunitySettings;
use classcred_service::changes::{change_settings, ChangeError};

use crate::extract::Viewer;
use crate::{WebError, WebState};

/// The community's settings now.
pub(crate) async fn current(
    state: &WebState,
    viewer: &Viewer,
) -> Result<CommunitySettings, WebError> {
    let mut tx = state.store.begin().await?;
    let settings = classcred_service::settings(&mut tx, &viewer.community_id).await?;
    tx.commit().await?;
    Ok(settings)
}

pub(crate) fn now(state: &WebState) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(state.store.now_ms()).unwrap_or_default()
}

/// Saves what a form parsed: the redirect back when saved; else the refusals to show next to
/// the fields (the form's own, or the engine's for one field).
pub(crate) async fn save_parsed(
    state: &WebState,
    viewer: &Viewer,
    parsed: Result<CommunitySettings, form::Errors>,
    back: &str,
) -> Result<Result<Response, form::Errors>, WebError> {
    let new = match parsed {
        Ok(new) => new,
        Err(errors) => return Ok(Err(errors)),
    };
    Ok(save(state, viewer, new, back)
        .await?
        .map_err(|(field, message)| {
            let mut e = form::Errors::default();
            e.add(field, message);
            e
        }))
}

/// Save `new` as the Admin's change. `Ok(Err((field, message)))`: the engine's rules refused a
/// field (nothing saved); `Ok(Ok(response))`: saved, redirect to `back` with `?saved=1`.
pub(crate) async fn save(
    state: &WebState,
    viewer: &Viewer,
    new: CommunitySettings,
    back: &str,
) -> Result<Result<Response, (String, String)>, WebError> {
    match change_settings(
        &state.store,
        &viewer.community_id,
        &viewer.member_id,
        new,
        now(state),
    )
    .await
    {
        Ok(change) => {
            tracing::info!(
                community_id = %viewer.community_id,
                member_id = %viewer.member_id,
                applied = change.applied,
                "settings changed"
            );
            Ok(Ok(Redirect::to(&format!("{back}?saved=1")).into_response()))
        }
        Err(ChangeError::Invalid { field, message }) => Ok(Err((field, message))),
        Err(ChangeError::Forbidden) => Err(WebError::Forbidden),
        Err(ChangeError::NotFound) => Err(WebError::NotFound),
        Err(ChangeError::LastAdmin) => Err(WebError::Forbidden),
        Err(ChangeError::Service(e)) => Err(e.into()),
    }
}
