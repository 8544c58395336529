//! `POST /slack/events`: verified, parsed, stored durably in the inbox, then acknowledged.

use super::{bad_payload, content_type, header, internal, ok_empty, signed_body, SlackState};
use crate::convert;
use crate::events::{
    parse_events_body, Envelope, Event as SlackEvent, EventCallback, RETRY_NUM_HEADER,
};
use crate::ids::SlackUserId;
use crate::sync::PLATFORM;
use axum::extract::State;
use axum::http::header::RETRY_AFTER;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use classcred_engine::{Event, MemberId, ProfileChanged};
use classcred_service::group_commit::IngestError;
use classcred_service::ingest;
use classcred_store::{CommunityId, CommunityState, MemberKind, Role};

const EP: &str = "events";

pub(super) async fn handle(
    State(st): State<SlackState>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let body = match signed_body(&st, EP, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let envelope = match parse_events_body(content_type(&headers), &body) {
        Ok(e) => e,
        Err(e) => return bad_payload(&st, EP, &e),
    };
    match envelope {
        Envelope::UrlVerification { challenge } => {
            Json(serde_json::json!({ "challenge": challenge })).into_response()
        }
        Envelope::AppRateLimited(r) => {
            st.metrics.observe_rejection("slack", "app_rate_limited");
            tracing::warn!(
                team_id = %r.team_id,
                minute = r.minute_rate_limited,
                "Slack is dropping events for this workspace (app_rate_limited)"
            );
            ok_empty()
        }
        Envelope::Unknown(kind) => {
            tracing::debug!(envelope = %kind, "unknown Slack envelope ignored");
            ok_empty()
        }
        Envelope::EventCallback(cb) => {
            let retry = header(&headers, RETRY_NUM_HEADER).and_then(|r| r.parse::<u8>().ok());
            on_callback(&st, *cb, retry).await
        }
    }
}

fn engine_kind(k: MemberKind) -> classcred_engine::MemberKind {
    match k {
        MemberKind::Human => classcred_engine::MemberKind::Human,
        MemberKind::Bot => classcred_engine::MemberKind::Bot,
        MemberKind::App => classcred_engine::MemberKind::App,
    }
}

async fn on_callback(st: &SlackState, cb: EventCallback, retry: Option<u8>) -> Response {
    let community = match super::community_for_team(st, EP, cb.team_id.as_str()).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let c = &community.id;
    if community.state != CommunityState::Active {
        tracing::debug!(community_id = %c, event_id = %cb.event_id, "event for a disabled community ignored");
        return ok_empty();
    }
    let app_user: Option<SlackUserId> = cb
        .authorizations
        .iter()
        .find(|a| a.is_bot)
        .map(|a| a.user_id.clone());
    let event_time: DateTime<Utc> = DateTime::from_timestamp(cb.event_time, 0).unwrap_or_default();
    let result: anyhow::Result<&'static str> = async {
        match &cb.event {
            SlackEvent::Message(m) => {
                store_event(
                    st,
                    c,
                    &cb.event_id,
                    convert::message_event(m, app_user.as_ref()),
                )
                .await
            }
            SlackEvent::ReactionAdded(r) => {
                store_event(st, c, &cb.event_id, convert::reaction_event(r, true)).await
            }
            SlackEvent::ReactionRemoved(r) => {
                store_event(st, c, &cb.event_id, convert::reaction_event(r, false)).await
            }
            SlackEvent::TeamJoin { user } | SlackEvent::UserChange { user } => {
                if !crate::sync::same_team(user, community.platform_team_id.as_deref()) {
                    // A user of another workspace (e.g. a shared channel) is not a member.
                    return Ok("other_workspace");
                }
                let member = convert::new_member(user, Role::Student, app_user.as_ref());
                let version = user.updated.unwrap_or(cb.event_time);
                let mut tx = st.store.begin().await?;
                let mut new_delivery = false;
                if matches!(cb.event, SlackEvent::UserChange { .. }) {
                    // Replays the kind (person / bot) from the inbox when it changes later.
                    let change = Event::ProfileChanged(ProfileChanged {
                        member: MemberId::new(user.id.as_str()),
                        display_name: None,
                        kind: engine_kind(member.kind),
                        occurred_at: event_time,
                    });
                    let r = ingest(&mut tx, c, PLATFORM, &cb.event_id, &change).await?;
                    if r == classcred_store::InboxInsert::Duplicate {
                        // A redelivery: applied the first time.
                        tx.rollback().await?;
                        return Ok("duplicate");
                    }
                    new_delivery = true;
                }
                let applied = crate::sync::apply_profile(
                    &mut tx,
                    c,
                    &member,
                    version,
                    new_delivery,
                    event_time,
                )
                .await?;
                if !applied {
                    // Older than the profile we have (out of order): neither the profile nor
                    // its kind change is applied.
                    tx.rollback().await?;
                    return Ok("stale");
                }
                tx.commit().await?;
                Ok("member")
            }
            // Joining a channel says nothing about the workspace (in a shared channel it may be
            // someone of another workspace): an unknown user is looked up when they first act
            // or are mentioned, never created here.
            SlackEvent::MemberJoinedChannel(_) => Ok("ignored"),
            SlackEvent::AppHomeOpened(h) => {
                if h.tab.as_deref().is_none_or(|t| t == "home") {
                    super::home::spawn_publish(st.clone(), community.clone(), h.user.clone());
                }
                Ok("home")
            }
            SlackEvent::AppUninstalled => disable(st, c).await,
            SlackEvent::TokensRevoked(t) if !t.bot.is_empty() => disable(st, c).await,
            SlackEvent::TokensRevoked(_) => Ok("ignored"),
            SlackEvent::Unknown(_) => Ok("ignored"),
        }
    }
    .await;
    match result {
        Ok(outcome) => {
            tracing::debug!(community_id = %c, event_id = %cb.event_id, retry, outcome, "Slack event acknowledged");
            ok_empty()
        }
        Err(e) if matches!(e.downcast_ref::<IngestError>(), Some(IngestError::Busy)) => {
            // The ingest queue is full: Slack delivers again after a moment.
            st.metrics.observe_rejection("slack", "busy");
            tracing::warn!(community_id = %c, event_id = %cb.event_id, "ingest queue full: 503");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(RETRY_AFTER, "1")],
                "busy, retry shortly",
            )
                .into_response()
        }
        Err(e) => internal(EP, &e),
    }
}

/// Stores one converted event in the inbox and commits before the 200.
pub(super) async fn store_event(
    st: &SlackState,
    community_id: &CommunityId,
    event_id: &str,
    event: Option<Event>,
) -> anyhow::Result<&'static str> {
    let Some(event) = event else {
        return Ok("ignored");
    };
    if let Some(queue) = &st.ingest {
        // Shares a transaction and its commit with the deliveries arriving meanwhile; returns
        // after that commit.
        let r = queue
            .submit(community_id, PLATFORM, event_id, &event)
            .await?;
        return Ok(match r {
            classcred_store::InboxInsert::Stored(_) => "stored",
            classcred_store::InboxInsert::Duplicate => "duplicate",
        });
    }
    let mut tx = st.store.begin().await?;
    let r = ingest(&mut tx, community_id, PLATFORM, event_id, &event).await?;
    tx.commit().await?;
    Ok(match r {
        classcred_store::InboxInsert::Stored(_) => "stored",
        classcred_store::InboxInsert::Duplicate => "duplicate",
    })
}

async fn disable(st: &SlackState, community_id: &CommunityId) -> anyhow::Result<&'static str> {
    let mut tx = st.store.begin().await?;
    classcred_platform::lifecycle::disable(&mut tx, community_id).await?;
    tx.commit().await?;
    tracing::info!(community_id = %community_id, "Slack app removed: community disabled");
    Ok("disabled")
}
