//! `GET /api/v1/polls`: the community's polls and debates, newest first, with their results
//! (votes per option; debates: members who took part). Anonymous polls have counts only, like
//! every poll here: the API never names voters.

use axum::extract::State;
use axum::Json;
use classcred_engine::PollKind;
use classcred_service::polls::list as poll_list;
use serde::Serialize;
use utoipa::ToSchema;

use super::rfc3339;
use crate::auth::ApiCommunity;
use crate::error::{ApiError, ErrorBody};
use crate::ApiState;

/// One option and its votes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PollOptionResult {
    /// The option's number, from 1 (as members vote in chat).
    pub number: u32,
    pub text: String,
    pub votes: u32,
}

/// One poll or debate.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PollResponse {
    pub poll_id: String,
    /// The number members vote by in chat (`/cred vote 3 2`).
    pub number: i64,
    /// `poll` or `debate`.
    pub kind: String,
    pub question: String,
    pub anonymous: bool,
    /// Whether students see results while it is open.
    pub live_results: bool,
    /// The channel it is posted in.
    pub channel: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub closes_at: Option<String>,
    #[schema(format = DateTime)]
    pub closed_at: Option<String>,
    /// Whether it was posted in its channel.
    pub posted: bool,
    pub options: Vec<PollOptionResult>,
    /// Votes in all (one per member).
    pub votes: u32,
    /// Debates: members who took part (a side chosen or a post in the thread).
    pub participants: Option<u32>,
}

/// The polls.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PollList {
    pub polls: Vec<PollResponse>,
}

/// The community's polls and debates with their results, newest first (at most 200).
#[utoipa::path(
    get, path = "/api/v1/polls", tag = "polls",
    responses(
        (status = 200, description = "Polls and debates, newest first", body = PollList),
        (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<ApiState>,
    auth: ApiCommunity,
) -> Result<Json<PollList>, ApiError> {
    let views = poll_list(&state.store, &auth.community_id).await?;
    let time = |t: chrono::DateTime<chrono::Utc>| rfc3339(t.timestamp_millis());
    Ok(Json(PollList {
        polls: views
            .into_iter()
            .map(|p| PollResponse {
                options: p
                    .options
                    .iter()
                    .enumerate()
                    .map(|(i, o)| PollOptionResult {
                        number: u32::try_from(i + 1).unwrap_or(u32::MAX),
                        text: o.clone(),
                        votes: p.counts.get(i).copied().unwrap_or(0),
                    })
                    .collect(),
                poll_id: p.poll_id,
                number: p.number,
                kind: match p.kind {
                    PollKind::Poll => "poll".into(),
                    PollKind::Debate => "debate".into(),
                },
                question: p.question,
                anonymous: p.anonymous,
                live_results: p.live_results,
                channel: p.channel,
                created_at: time(p.created_at),
                closes_at: p.closes_at.map(time),
                closed_at: p.closed_at.map(time),
                posted: p.posted_message_id.is_some(),
                votes: p.votes,
                participants: p.participants,
            })
            .collect(),
    }))
}
