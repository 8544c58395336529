//! `POST /slack/interactivity`: `block_actions` and `view_submission`, routed to handlers by
//! `action_id` / `callback_id` prefix. Polls, the store and assignments register theirs later;
//! for now only the harmless `classcred_help` button exists. Always an empty 200 (which also
//! closes a submitted modal) once the request is verified.

use super::{bad_payload, content_type, ok_empty, signed_body, SlackState};
use crate::blocks::ephemeral_response;
use crate::interactivity::{parse_interaction_body, Interaction, Router};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

const EP: &str = "interactivity";

/// `action_id` of the help button (an example handler).
pub const HELP_ACTION: &str = "classcred_help";

/// What an interaction is routed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InteractionHandler {
    /// Reply with the `/cred` help through the `response_url`.
    Help,
    /// A store Buy button (`store:buy:<number>`): buy the item for the member who clicked,
    /// then answer through the `response_url`.
    StoreBuy,
    /// The asker's "Accept answer" button: an `answer_accepted` event (see `accept.rs`).
    AcceptAnswer,
    /// A poll's vote button (`poll:vote:<poll id>:<option>`): the member's vote, answered
    /// through the `response_url`.
    PollVote,
}

pub(super) fn default_router() -> Router<InteractionHandler> {
    Router::new()
        .on_action(HELP_ACTION, InteractionHandler::Help)
        .on_action(
            crate::blocks::STORE_BUY_ACTION,
            InteractionHandler::StoreBuy,
        )
        .on_action(
            crate::blocks::ACCEPT_ANSWER_ACTION,
            InteractionHandler::AcceptAnswer,
        )
        .on_action(
            crate::blocks::POLL_VOTE_ACTION,
            InteractionHandler::PollVote,
        )
}

fn team_of(i: &Interaction) -> Option<String> {
    match i {
        Interaction::BlockActions(b) => b
            .team
            .as_ref()
            .map(|t| t.id.clone())
            .or_else(|| b.user.team_id.clone()),
        Interaction::ViewSubmission(v) => v
            .team
            .as_ref()
            .map(|t| t.id.clone())
            .or_else(|| v.user.team_id.clone()),
        Interaction::Unknown(_) => None,
    }
}

pub(super) async fn handle(
    State(st): State<SlackState>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let body = match signed_body(&st, EP, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let interaction = match parse_interaction_body(content_type(&headers), &body) {
        Ok(i) => i,
        Err(e) => return bad_payload(&st, EP, &e),
    };
    let mut community = None;
    match (team_of(&interaction), &interaction) {
        (Some(team), _) => match super::community_for_team(&st, EP, &team).await {
            Ok(c) => community = Some(c),
            Err(r) => return r,
        },
        // Nothing is routed for an unknown interaction type: nothing to scope.
        (None, Interaction::Unknown(_)) => {}
        // Every known interaction names its workspace: one that does not is refused.
        (None, _) => return super::reject(&st, EP, StatusCode::BAD_REQUEST, "missing_team"),
    }
    let routed = st.interactions.route(&interaction);
    if routed.is_empty() {
        tracing::debug!("interaction without a handler ignored");
    }
    for r in routed {
        match r.handler {
            InteractionHandler::Help => {
                let url = match &interaction {
                    Interaction::BlockActions(b) => b.response_url.clone(),
                    _ => None,
                };
                if let Some(url) = url {
                    let client = st.client.clone();
                    tokio::spawn(async move {
                        let body = ephemeral_response(&super::commands::help());
                        if let Err(e) = client.respond(&url, &body).await {
                            tracing::warn!(error = %e, "help reply failed");
                        }
                    });
                }
            }
            InteractionHandler::StoreBuy => {
                let (Interaction::BlockActions(b), Some(community)) = (&interaction, &community)
                else {
                    continue;
                };
                if community.state != classcred_store::CommunityState::Active {
                    continue;
                }
                // The number is the button's own (`store:buy:3`), not a free value.
                let number = r.rest;
                if number.is_empty() || !number.bytes().all(|c| c.is_ascii_digit()) {
                    continue;
                }
                let ctx = classcred_platform::CommandContext {
                    store: &st.store,
                    login: st.login.as_ref(),
                    community,
                    platform_user_id: b.user.id.as_str(),
                    prefix: super::commands::PREFIX,
                    channel: None,
                };
                // Bought (and processed) before the acknowledgement; the answer goes to the
                // response_url.
                let answer = match classcred_platform::store_commands::buy(&ctx, number).await {
                    Ok(doc) => crate::blocks::mrkdwn(&doc),
                    Err(e) => {
                        tracing::error!(community_id = %community.id, error = %e, "store purchase failed");
                        "Sorry, something went wrong. Please try again in a moment.".to_owned()
                    }
                };
                if let Some(url) = b.response_url.clone() {
                    let client = st.client.clone();
                    tokio::spawn(async move {
                        if let Err(e) = client.respond(&url, &ephemeral_response(&answer)).await {
                            tracing::warn!(error = %e, "store reply failed");
                        }
                    });
                }
            }
            InteractionHandler::AcceptAnswer => {
                if let (Some(c), Interaction::BlockActions(b)) = (&community, &interaction) {
                    if let Err(r) = super::accept::accept_answer(&st, c, b, r.action).await {
                        return r;
                    }
                }
            }
            InteractionHandler::PollVote => {
                if let (Some(c), Interaction::BlockActions(b)) = (&community, &interaction) {
                    super::poll_vote::vote(&st, c, b, r.rest, r.action).await;
                }
            }
        }
    }
    ok_empty()
}
