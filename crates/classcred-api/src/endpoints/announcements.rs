//! `GET /api/v1/announcements`: the community's scheduled and past announcements (scheduled
//! ones soonest first, then the others latest first; at most 200).

use axum::extract::State;
use axum::Json;
use classcred_store::{Announcement, AnnouncementState};
use serde::Serialize;
use utoipa::ToSchema;

use super::rfc3339;
use crate::auth::ApiCommunity;
use crate::error::{ApiError, ErrorBody};
use crate::ApiState;

/// Where an announcement is.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AnnouncementStateName {
    Scheduled,
    Sending,
    Sent,
    Cancelled,
    Failed,
}

impl From<AnnouncementState> for AnnouncementStateName {
    fn from(s: AnnouncementState) -> Self {
        match s {
            AnnouncementState::Scheduled => Self::Scheduled,
            AnnouncementState::Sending => Self::Sending,
            AnnouncementState::Sent => Self::Sent,
            AnnouncementState::Cancelled => Self::Cancelled,
            AnnouncementState::Failed => Self::Failed,
        }
    }
}

/// A post scheduled for a channel.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnnouncementItem {
    pub id: String,
    /// The platform's channel, room or conversation id.
    pub channel: String,
    pub text: String,
    /// When it is (or was) to be posted (RFC 3339).
    #[schema(format = DateTime)]
    pub post_at: String,
    pub state: AnnouncementStateName,
    /// Bumped by each edit.
    pub version: i64,
    /// Member id of its author (absent when unknown).
    pub created_by: Option<String>,
    /// When it was posted (RFC 3339).
    #[schema(format = DateTime)]
    pub sent_at: Option<String>,
}

/// The announcements.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnnouncementList {
    pub items: Vec<AnnouncementItem>,
}

fn item(a: Announcement) -> AnnouncementItem {
    AnnouncementItem {
        id: a.id,
        channel: a.channel,
        text: a.text,
        post_at: rfc3339(a.post_at),
        state: a.state.into(),
        version: a.version,
        created_by: a.created_by.map(|m| m.to_string()),
        sent_at: a.sent_at.map(rfc3339),
    }
}

/// The community's announcements.
#[utoipa::path(
    get, path = "/api/v1/announcements", tag = "announcements",
    responses(
        (status = 200, description = "Scheduled ones soonest first, then the others latest first (at most 200)", body = AnnouncementList),
        (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<ApiState>,
    auth: ApiCommunity,
) -> Result<Json<AnnouncementList>, ApiError> {
    let mut tx = state.store.begin().await?;
    let rows = tx
        .for_community(&auth.community_id)
        .announcements(classcred_service::announcements::LIST_LIMIT)
        .await?;
    tx.commit().await?;
    Ok(Json(AnnouncementList {
        items: rows.into_iter().map(item).collect(),
    }))
}
