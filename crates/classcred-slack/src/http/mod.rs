//! The Slack HTTP endpoints, to be merged into the server's router:
//!
//! | route | what |
//! |---|---|
//! | `POST /slack/events` | Events API: verify, parse, store in the inbox (durable), then 200 |
//! | `POST /slack/commands` | `/cred help \| me \| top [week\|month\|all] \| dashboard` (private answers) |
//! | `POST /slack/interactivity` | `block_actions` / `view_submission`, routed by id |
//! | `GET /slack/install` | redirect to Slack's OAuth authorize page with a signed `state` |
//! | `GET /slack/oauth/callback` | finish the OAuth install, sync members |
//!
//! Every refused request (bad or missing signature, stale timestamp, malformed body, body over
//! the limit, unknown workspace) gets a 4xx with `X-Slack-No-Retry: 1`, stores nothing, counts
//! in `classcred_rejected_requests{source="slack",reason}` and writes one log line with the
//! endpoint and reason only, never the payload.

mod accept;
mod commands;
mod events;
mod home;
mod interactivity;
mod oauth;
mod poll_vote;

pub use oauth::STATE_COOKIE;

use crate::body::{PayloadError, MAX_BODY_BYTES};
use crate::client::SlackClient;
use crate::config::SlackConfig;
use crate::events::NO_RETRY_HEADER;
use crate::interactivity::Router as InteractionRouter;
use crate::signature::{SignatureError, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use axum::body::Body;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use classcred_server::Metrics;
use classcred_store::{Community, CommunityId, Store};
use std::sync::Arc;

pub use interactivity::InteractionHandler;

/// What the Slack routes share.
#[derive(Clone)]
pub struct SlackState {
    /// The database.
    pub store: Store,
    /// Process metrics (`/metrics`).
    pub metrics: Arc<Metrics>,
    /// The `[slack]` configuration.
    pub config: Arc<SlackConfig>,
    /// The Web API client (its base URL is `config.api_base_url`).
    pub client: SlackClient,
    /// Interactivity handlers by `action_id` / `callback_id` prefix.
    pub interactions: Arc<InteractionRouter<InteractionHandler>>,
    /// Dashboard sign-in links (`/cred dashboard`, the App Home button); `None` until the
    /// composition root gives them ([`SlackState::with_login_links`]).
    pub login: Option<LoginLinks>,
    /// Group commit of Events API deliveries (started by [`SlackState::new`] on a tokio
    /// runtime; `None`: one transaction per request).
    pub ingest: Option<classcred_service::group_commit::IngestQueue>,
}

/// Dashboard sign-in links, shared by every platform (`classcred_platform::LoginLinks`).
pub use classcred_platform::LoginLinks;

impl SlackState {
    /// State with the default interaction handlers.
    pub fn new(
        store: Store,
        metrics: Arc<Metrics>,
        config: SlackConfig,
        client: SlackClient,
    ) -> Self {
        let ingest = tokio::runtime::Handle::try_current().is_ok().then(|| {
            classcred_service::group_commit::IngestQueue::start(
                store.clone(),
                classcred_service::group_commit::GroupCommitConfig::default(),
            )
        });
        Self {
            store,
            metrics,
            config: Arc::new(config),
            client,
            interactions: Arc::new(interactivity::default_router()),
            login: None,
            ingest,
        }
    }

    /// State whose client is built from `config` (`api_base_url`).
    pub fn from_config(
        store: Store,
        metrics: Arc<Metrics>,
        config: SlackConfig,
    ) -> Result<Self, crate::client::SlackApiError> {
        let client = SlackClient::new(config.client_config())?;
        Ok(Self::new(store, metrics, config, client))
    }

    /// Group commit with these limits (replaces the default one).
    pub fn with_group_commit(
        mut self,
        config: classcred_service::group_commit::GroupCommitConfig,
    ) -> Self {
        self.ingest = Some(classcred_service::group_commit::IngestQueue::start(
            self.store.clone(),
            config,
        ));
        self
    }

    /// Hand out dashboard sign-in links signed with `key`, pointing at `public_url`.
    pub fn with_login_links(
        mut self,
        key: classcred_crypto::LoginKey,
        public_url: impl Into<String>,
    ) -> Self {
        self.login = Some(LoginLinks::new(key, public_url));
        self
    }

    fn now_unix(&self) -> i64 {
        self.store.clock().now().timestamp()
    }
}

/// The Slack routes (see the module docs). Merge into the server's router before
/// `classcred_server::Application::bind`, which adds the body limit and request metrics.
pub fn routes(state: SlackState) -> axum::Router {
    axum::Router::new()
        .route("/slack/events", post(events::handle))
        .route("/slack/commands", post(commands::handle))
        .route("/slack/interactivity", post(interactivity::handle))
        .route("/slack/install", get(oauth::install))
        .route("/slack/oauth/callback", get(oauth::callback))
        .with_state(state)
}

/// A refused request: count it, log the reason (no payload), answer with `status`.
fn reject(
    st: &SlackState,
    endpoint: &'static str,
    status: StatusCode,
    reason: &'static str,
) -> Response {
    st.metrics.observe_rejection("slack", reason);
    tracing::warn!(
        endpoint,
        reason,
        status = status.as_u16(),
        "Slack request refused"
    );
    let mut resp = (status, reason).into_response();
    resp.headers_mut()
        .insert(NO_RETRY_HEADER, HeaderValue::from_static("1"));
    resp
}

fn internal(endpoint: &'static str, e: &dyn std::fmt::Display) -> Response {
    // Store and service errors carry ids only, never personal data.
    tracing::error!(endpoint, error = %e, "Slack request failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn content_type(h: &HeaderMap) -> Option<&str> {
    header(h, "content-type")
}

/// The refusal for a signature problem (401), or 503 when no signing secret is configured.
fn signature_refusal(st: &SlackState, endpoint: &'static str, e: &SignatureError) -> Response {
    let reason = match e {
        SignatureError::MissingHeader(_) => "missing_signature",
        SignatureError::BadTimestamp => "bad_timestamp",
        SignatureError::Stale { .. } => "stale_timestamp",
        SignatureError::MalformedSignature => "malformed_signature",
        SignatureError::Mismatch => "bad_signature",
    };
    reject(st, endpoint, StatusCode::UNAUTHORIZED, reason)
}

/// The body of a request that must be signed, in this order: a signing secret is configured
/// (503), the signature headers are present, well-formed and fresh (401), the declared
/// `Content-Length` is within the limit (413); only then is the body read (at most the limit)
/// and its signature verified (401). Nothing of an unsigned body is read or parsed.
async fn signed_body(
    st: &SlackState,
    endpoint: &'static str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Bytes, Response> {
    let Some(secret) = st.config.signing() else {
        return Err(reject(
            st,
            endpoint,
            StatusCode::SERVICE_UNAVAILABLE,
            "not_configured",
        ));
    };
    let signed = crate::signature::SignedHeaders::check(
        header(headers, TIMESTAMP_HEADER),
        header(headers, SIGNATURE_HEADER),
        st.now_unix(),
    )
    .map_err(|e| signature_refusal(st, endpoint, &e))?;
    let body = read_body(st, endpoint, headers, body, MAX_BODY_BYTES).await?;
    signed
        .verify_body(&secret, &body)
        .map_err(|e| signature_refusal(st, endpoint, &e))?;
    Ok(body)
}

/// Reads at most `limit` bytes of body: 413 when `Content-Length` says more (before reading)
/// or the body turns out longer.
async fn read_body(
    st: &SlackState,
    endpoint: &'static str,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, Response> {
    let too_large = || reject(st, endpoint, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    let declared = header(headers, "content-length").map(|v| v.trim().parse::<u64>());
    match declared {
        Some(Ok(n)) if n > limit as u64 => return Err(too_large()),
        Some(Err(_)) => {
            return Err(reject(
                st,
                endpoint,
                StatusCode::BAD_REQUEST,
                "unreadable_body",
            ))
        }
        _ => {}
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        // Over the limit, or the client went away mid-body.
        let over = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if over {
            too_large()
        } else {
            reject(st, endpoint, StatusCode::BAD_REQUEST, "unreadable_body")
        }
    })
}

/// 400 (or 413/415) for a body that does not parse.
fn bad_payload(st: &SlackState, endpoint: &'static str, e: &PayloadError) -> Response {
    let (status, reason) = match e {
        PayloadError::WrongContentType { .. } => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "content_type")
        }
        PayloadError::InvalidUtf8 => (StatusCode::BAD_REQUEST, "invalid_utf8"),
        PayloadError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        PayloadError::MalformedJson { .. } => (StatusCode::BAD_REQUEST, "malformed_json"),
        PayloadError::MalformedForm => (StatusCode::BAD_REQUEST, "malformed_form"),
        PayloadError::MissingField(_) => (StatusCode::BAD_REQUEST, "missing_field"),
        PayloadError::InvalidField(_) => (StatusCode::BAD_REQUEST, "invalid_field"),
    };
    reject(st, endpoint, status, reason)
}

/// The community of a Slack workspace, or the 404 refusal for an unknown one.
async fn community_for_team(
    st: &SlackState,
    endpoint: &'static str,
    team_id: &str,
) -> Result<Community, Response> {
    let found = async {
        // A read-only transaction: the lookup of every delivery must not take (or wait for)
        // SQLite's write lock, which the ingest committer holds for its batches.
        let mut tx = st.store.begin_read().await?;
        let c = tx.community_by_team(crate::sync::PLATFORM, team_id).await?;
        tx.commit().await?;
        Ok::<_, classcred_store::StoreError>(c)
    }
    .await
    .map_err(|e| internal(endpoint, &e))?;
    found.ok_or_else(|| reject(st, endpoint, StatusCode::NOT_FOUND, "unknown_team"))
}

/// The bot token for a community: the stored installation's, else the single-workspace one
/// when the community is that workspace.
async fn bot_token(
    st: &SlackState,
    community_id: &CommunityId,
) -> anyhow::Result<Option<crate::client::BotToken>> {
    use secrecy::ExposeSecret;
    let mut tx = st.store.begin().await?;
    let stored = tx.for_community(community_id).bot_token().await?;
    let team = tx.community(community_id).await?.platform_team_id;
    tx.commit().await?;
    Ok(stored
        .map(|t| crate::client::BotToken::new(t.expose_secret()))
        .or_else(|| st.config.single_bot_token_for(team.as_deref())))
}

fn ok_empty() -> Response {
    StatusCode::OK.into_response()
}
