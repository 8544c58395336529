//! `GET /me` (any signed-in member): the member's own balance, level, badges, today's quota
//! and recent activity. (What the system stores about them joins it in wave 2.)

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};

use super::{display_name, render, role_label, Chrome};
use crate::extract::Viewer;
use crate::{WebError, WebState};

/// One line of the member's recent activity.
pub struct Activity {
    pub what: String,
    pub when: String,
}

#[derive(Template)]
#[template(path = "me.html")]
struct Me {
    chrome: Chrome,
    name: String,
    role: &'static str,
    earned: String,
    spendable: String,
    level: String,
    badges: Vec<String>,
    quota_left_today: Option<u32>,
    recent: Vec<Activity>,
}

pub async fn page(State(state): State<WebState>, viewer: Viewer) -> Result<Response, WebError> {
    let mut tx = state.store.begin().await?;
    let member = tx
        .for_community(&viewer.community_id)
        .member(&viewer.member_id)
        .await?;
    tx.commit().await?;
    let summary = classcred_service::member_summary(
        &state.store,
        &viewer.community_id,
        &member.platform_user_id,
    )
    .await?
    .ok_or(WebError::NotFound)?;
    render(&Me {
        chrome: Chrome::for_viewer(&viewer, "My data", "/me"),
        name: display_name(&member),
        role: role_label(member.role),
        earned: summary.earned.to_string(),
        spendable: summary.spendable.to_string(),
        level: summary.level_name.clone(),
        badges: summary
            .badges
            .iter()
            .map(|(_, name)| name.clone())
            .collect(),
        quota_left_today: summary.quota_left_today,
        recent: summary
            .recent
            .iter()
            .map(|f| Activity {
                what: f.kind.replace('_', " "),
                when: DateTime::<Utc>::from_timestamp_millis(f.occurred_at)
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default(),
            })
            .collect(),
    })
}
