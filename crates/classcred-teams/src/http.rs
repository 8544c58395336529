//! `POST /teams/messages`: authenticated, parsed, stored durably in the inbox (or a command
//! queued, or an install recorded), then acknowledged.
//!
//! Order of checks: the adapter is configured (else 503); an `Authorization: Bearer` header is
//! present (else 401, before any body byte is read); `Content-Length` within
//! [`MAX_BODY_BYTES`](crate::activity::MAX_BODY_BYTES) (else 413); the body read up to the
//! limit; the token validated against the activity's `channelId` and `serviceUrl` (else 401;
//! 503 when the signing keys cannot be fetched and none are cached); only then is the body
//! parsed (400). A refused request stores nothing and logs its reason only.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use classcred_engine::Event;
use classcred_store::{CommunityState, InboxInsert, MemberRowId};

use crate::activity::{self, Activity, Envelope, MAX_BODY_BYTES};
use crate::auth::{AuthError, Expected};
use crate::{commands, convert, install, TeamsState, PLATFORM};

/// The route (merge into the server's router).
pub fn routes(state: TeamsState) -> axum::Router {
    axum::Router::new()
        .route("/teams/messages", post(handle))
        .with_state(state)
}

fn reject(st: &TeamsState, status: StatusCode, reason: &'static str) -> Response {
    st.metrics.observe_rejection("teams", reason);
    tracing::warn!(reason, status = status.as_u16(), "Teams request refused");
    (status, reason).into_response()
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

async fn read_body(st: &TeamsState, headers: &HeaderMap, body: Body) -> Result<Bytes, Response> {
    let too_large = || reject(st, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    match header(headers, "content-length").map(|v| v.trim().parse::<u64>()) {
        Some(Ok(n)) if n > MAX_BODY_BYTES as u64 => return Err(too_large()),
        Some(Err(_)) => return Err(reject(st, StatusCode::BAD_REQUEST, "unreadable_body")),
        _ => {}
    }
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            let over = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if over {
                too_large()
            } else {
                reject(st, StatusCode::BAD_REQUEST, "unreadable_body")
            }
        })
}

async fn handle(State(st): State<TeamsState>, headers: HeaderMap, body: Body) -> Response {
    if !st.config.is_configured() {
        return reject(&st, StatusCode::SERVICE_UNAVAILABLE, "not_configured");
    }
    let authorization = header(&headers, "authorization");
    if let Err(e) = crate::auth::bearer(authorization) {
        return reject(&st, StatusCode::UNAUTHORIZED, e.reason());
    }
    let body = match read_body(&st, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let envelope = Envelope::peek(&body);
    let now = st.store.clock().now();
    let expected = Expected {
        app_id: st.config.app_id(),
        channel_id: &envelope.channel_id,
        service_url: &envelope.service_url,
        now: now.timestamp(),
    };
    match st.keys.authenticate(authorization, &expected).await {
        Ok(_) => {}
        Err(AuthError::KeysUnavailable) => {
            st.metrics.observe_rejection("teams", "keys_unavailable");
            tracing::warn!("Teams request not verified: signing keys unavailable");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(RETRY_AFTER, "5")],
                "signing keys unavailable",
            )
                .into_response();
        }
        Err(e) => return reject(&st, StatusCode::UNAUTHORIZED, e.reason()),
    }
    let a = match activity::parse(&body) {
        Ok(a) => a,
        Err(_) => return reject(&st, StatusCode::BAD_REQUEST, "malformed_json"),
    };
    match dispatch(&st, &a, now).await {
        Ok(outcome) => {
            tracing::debug!(kind = %a.kind, outcome, "Teams activity acknowledged");
            if a.kind == "invoke" && outcome == "command" {
                // An Adaptive Card invoke is answered with an invoke response.
                return axum::Json(crate::cards::invoke_response()).into_response();
            }
            StatusCode::OK.into_response()
        }
        Err(e) => {
            // Store and service errors carry ids only.
            tracing::error!(kind = %a.kind, error = %e, "Teams activity failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

async fn dispatch(
    st: &TeamsState,
    a: &Activity,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<&'static str> {
    match a.kind.as_str() {
        "message" | "invoke"
            if crate::cards::submitted(&a.kind, a.name.as_deref(), a.value.as_ref()).is_some() =>
        {
            // A card button (Buy, Accept): its command, from a person.
            let from_person = a
                .from
                .as_ref()
                .is_some_and(|f| !f.id.is_empty() && !f.is_bot());
            match crate::cards::submitted(&a.kind, a.name.as_deref(), a.value.as_ref()) {
                Some(args) if from_person => commands::enqueue(st, a, &args).await,
                _ => Ok("ignored"),
            }
        }
        "message" => {
            if let Some(args) = commands::command_args(a) {
                return commands::enqueue(st, a, &args).await;
            }
            store_event(st, a, convert::message_posted(a, now)).await
        }
        "messageUpdate" | "messageDelete" => {
            store_event(st, a, convert::message_changed(a, now)).await
        }
        "messageReaction" => on_reaction(st, a, now).await,
        "conversationUpdate" => on_conversation_update(st, a).await,
        "installationUpdate" => on_installation_update(st, a).await,
        _ => Ok("ignored"),
    }
}

/// The active community of an activity, or why there is none.
async fn active_community(
    st: &TeamsState,
    a: &Activity,
) -> anyhow::Result<Result<classcred_store::Community, &'static str>> {
    let Some(key) = a.community_key() else {
        return Ok(Err("no_community"));
    };
    Ok(match install::community(&st.store, &key).await? {
        None => Err("unknown_community"),
        Some(c) if c.state != CommunityState::Active => Err("disabled"),
        Some(c) => Ok(c),
    })
}

async fn store_event(
    st: &TeamsState,
    a: &Activity,
    event: Option<Event>,
) -> anyhow::Result<&'static str> {
    let Some(event) = event else {
        return Ok("ignored");
    };
    let Some(event_id) = convert::event_id(a) else {
        return Ok("no_id");
    };
    let community = match active_community(st, a).await? {
        Ok(c) => c,
        Err(why) => return Ok(why),
    };
    let mut tx = st.store.begin().await?;
    let r = classcred_service::ingest(&mut tx, &community.id, PLATFORM, &event_id, &event).await?;
    tx.commit().await?;
    Ok(match r {
        InboxInsert::Stored(_) => "stored",
        InboxInsert::Duplicate => "duplicate",
    })
}

/// Who wrote the message a reaction is on: the author the store knows for it, else the bot
/// itself (Teams sends `messageReaction` only for reactions to the bot's own messages).
async fn message_author(
    st: &TeamsState,
    community: &classcred_store::CommunityId,
    message_id: &str,
    bot_id: &str,
) -> anyhow::Result<String> {
    let mut tx = st.store.begin_read().await?;
    let record = tx
        .for_community(community)
        .engine_message(message_id)
        .await?;
    let author = match record
        .as_deref()
        .and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok())
        .and_then(|v| v.get("author").and_then(|a| a.as_str()).map(str::to_owned))
        .and_then(|a| MemberRowId::parse(&a).ok())
    {
        Some(row) => tx.for_community(community).platform_user_id(&row).await?,
        None => None,
    };
    tx.commit().await?;
    Ok(author.unwrap_or_else(|| bot_id.to_owned()))
}

async fn on_reaction(
    st: &TeamsState,
    a: &Activity,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<&'static str> {
    let (Some(target), Some(bot)) = (convert::reaction_target(a), a.bot_id()) else {
        return Ok("ignored");
    };
    // Only 🔥 matters: look nothing up for other reactions.
    if convert::reaction(a, bot, now).is_none() {
        return Ok("ignored");
    }
    let community = match active_community(st, a).await? {
        Ok(c) => c,
        Err(why) => return Ok(why),
    };
    let author = message_author(st, &community.id, &target, bot).await?;
    store_event(st, a, convert::reaction(a, &author, now)).await
}

async fn on_conversation_update(st: &TeamsState, a: &Activity) -> anyhow::Result<&'static str> {
    let (Some(key), Some(bot)) = (a.community_key(), a.bot_id()) else {
        // A personal chat: no community.
        return Ok("ignored");
    };
    if a.members_removed.iter().any(|m| m.id == bot) {
        let c = install::uninstall(&st.store, &key).await?;
        tracing::info!(community_id = ?c.as_ref().map(ToString::to_string), "Teams bot removed: community disabled");
        return Ok("uninstalled");
    }
    if a.members_added.iter().any(|m| m.id == bot) {
        let c = install::install(&st.store, a, &key, bot).await?;
        tracing::info!(community_id = %c, "Teams bot added: community installed");
        // Read the roster in the background (a job), not in this request.
        enqueue_sync(&st.store, &c).await?;
        return Ok("installed");
    }
    let joined: Vec<_> = a.members_added.iter().filter_map(install::person).collect();
    if joined.is_empty() {
        return Ok("ignored");
    }
    let community = match active_community(st, a).await? {
        Ok(c) => c,
        Err(why) => return Ok(why),
    };
    let at = a.timestamp.unwrap_or_else(|| st.store.clock().now());
    let mut tx = st.store.begin().await?;
    for m in &joined {
        // A member we know keeps their role and profile.
        if tx
            .for_community(&community.id)
            .member_id_by_platform(&m.platform_user_id)
            .await?
            .is_none()
        {
            classcred_service::join_member(&mut tx, &community.id, PLATFORM, m, at).await?;
        }
    }
    tx.commit().await?;
    Ok("members")
}

async fn on_installation_update(st: &TeamsState, a: &Activity) -> anyhow::Result<&'static str> {
    let (Some(key), Some(bot)) = (a.community_key(), a.bot_id()) else {
        return Ok("ignored");
    };
    match a.action.as_deref() {
        Some(act) if act.starts_with("add") => {
            let c = install::install(&st.store, a, &key, bot).await?;
            enqueue_sync(&st.store, &c).await?;
            Ok("installed")
        }
        Some(act) if act.starts_with("remove") => {
            install::uninstall(&st.store, &key).await?;
            Ok("uninstalled")
        }
        _ => Ok("ignored"),
    }
}

/// Queue a member sync of a community (job `classcred_service::SYNC_MEMBERS_JOB`).
pub async fn enqueue_sync(
    store: &classcred_store::Store,
    community_id: &classcred_store::CommunityId,
) -> anyhow::Result<()> {
    let mut job = classcred_store::jobs::NewJob::new(
        classcred_service::SYNC_MEMBERS_JOB,
        serde_json::json!({ "community_id": community_id }),
    );
    job.community_id = Some(community_id.clone());
    job.max_attempts = 10;
    store.enqueue(&job).await?;
    Ok(())
}
