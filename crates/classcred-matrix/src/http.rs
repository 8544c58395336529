//! The Application Service endpoints the homeserver calls:
//!
//! | route | what |
//! |---|---|
//! | `PUT /_matrix/app/v1/transactions/{txnId}` (and legacy `/transactions/{txnId}`) | events pushed by the homeserver: verified, stored in the inbox in one transaction, then `200 {}` |
//! | `GET /_matrix/app/v1/users/{userId}`, `GET /_matrix/app/v1/rooms/{alias}` | queries for users and aliases: none exist, `404` |
//! | `POST /_matrix/app/v1/ping` | the homeserver's connectivity check: `200 {}` |
//!
//! Every request carries `Authorization: Bearer <hs_token>` (or, from older homeservers,
//! `?access_token=`): compared in constant time; none → `401 M_UNAUTHORIZED`, a wrong one →
//! `403 M_FORBIDDEN`, before any byte of the body is read, and nothing is stored.
//!
//! ## One transaction, once
//! The homeserver sends one transaction at a time and retries the same `txnId` (with the same
//! events, possibly redacted meanwhile) until it gets a 200. Everything a transaction causes is
//! idempotent per event id: inbox rows are unique per (`matrix`, event id), member upserts and
//! installs converge, and command answers and room joins are jobs with a dedupe key per event.
//! So a redelivered transaction stores nothing new, whatever its txnId.
//!
//! Order inside a transaction: (1) invites of the bot create or re-enable communities (each in
//! its own database transaction, idempotent); (2) the authors of reacted messages are looked up
//! (this transaction's messages, the inbox, then the homeserver) outside any write transaction;
//! (3) every other event is stored in ONE database transaction, committed before the `200 {}`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Json;
use classcred_engine::Event;
use classcred_server::Metrics;
use classcred_service::ingest;
use classcred_store::jobs::NewJob;
use classcred_store::{Community, CommunityState, MemberKind, Role, Store, Tx};
use subtle::ConstantTimeEq;

use crate::client::Homeserver;
use crate::config::MatrixConfig;
use crate::convert::{self, Action};
use crate::events::{parse_transaction, Envelope};
use crate::rooms::{self, PLATFORM};

/// Largest transaction body: a homeserver sends at most 100 events of at most 64 KiB each.
pub const MAX_TXN_BYTES: usize = 8 * 1024 * 1024;
/// Job kind: answer a `!cred` command in its room (payload `{community_id, room_id, event_id,
/// sender, args}`).
pub const COMMAND_JOB: &str = "matrix.command";
/// Longest command argument text kept in a job.
const MAX_ARGS: usize = 200;

/// What the routes share.
#[derive(Clone)]
pub struct MatrixState {
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub config: Arc<MatrixConfig>,
    pub homeserver: Homeserver,
    /// Test hook: refuse transactions for a while (see [`TxnHook`]).
    pub hook: Arc<TxnHook>,
    /// Commands, notices and the member directory (the seam's side).
    pub adapter: crate::adapter::MatrixAdapter,
    /// Dashboard sign-in links for `!cred dashboard` (`None`: none handed out).
    pub login: Option<classcred_platform::LoginLinks>,
}

/// A test hook: while `refuse` is set, every transaction is refused with 503 (after
/// authentication), so the homeserver keeps it and retries it later. The ids of refused
/// transactions are recorded, and those accepted later (the homeserver's redeliveries) too.
/// Both lists only grow while refusing, so they stay small.
#[derive(Debug, Default)]
pub struct TxnHook {
    pub refuse: AtomicBool,
    refusals: std::sync::atomic::AtomicUsize,
    refused: std::sync::Mutex<Vec<String>>,
    redelivered: std::sync::Mutex<Vec<String>>,
}

impl TxnHook {
    /// How many times a transaction was refused (retries of one txnId included).
    pub fn refusals(&self) -> usize {
        self.refusals.load(Ordering::SeqCst)
    }

    /// Transaction ids refused so far.
    pub fn refused(&self) -> Vec<String> {
        self.refused.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Refused transaction ids that were accepted later.
    pub fn redelivered(&self) -> Vec<String> {
        self.redelivered
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }

    fn on_refused(&self, txn: &str) {
        self.refusals.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut v) = self.refused.lock() {
            if !v.iter().any(|t| t == txn) {
                v.push(txn.to_owned());
            }
        }
    }

    fn on_accepted(&self, txn: &str) {
        let was_refused = self
            .refused
            .lock()
            .map(|v| v.iter().any(|t| t == txn))
            .unwrap_or(false);
        if was_refused {
            if let Ok(mut v) = self.redelivered.lock() {
                if !v.iter().any(|t| t == txn) {
                    v.push(txn.to_owned());
                }
            }
        }
    }
}

impl MatrixState {
    pub fn new(store: Store, metrics: Arc<Metrics>, config: MatrixConfig) -> anyhow::Result<Self> {
        let homeserver = Homeserver::new(&config)?;
        let config = Arc::new(config);
        Ok(Self {
            store,
            metrics,
            adapter: crate::adapter::MatrixAdapter::new(homeserver.clone(), config.clone()),
            config,
            homeserver,
            hook: Arc::new(TxnHook::default()),
            login: None,
        })
    }

    /// Hand out dashboard sign-in links (`!cred dashboard`) signed with `key`, pointing at
    /// `public_url`.
    pub fn with_login_links(
        mut self,
        key: classcred_crypto::LoginKey,
        public_url: impl Into<String>,
    ) -> Self {
        self.login = Some(classcred_platform::LoginLinks::new(key, public_url));
        self
    }
}

/// The Application Service routes.
pub fn routes(state: MatrixState) -> axum::Router {
    axum::Router::new()
        .route("/_matrix/app/v1/transactions/{txn_id}", put(transaction))
        .route("/transactions/{txn_id}", put(transaction))
        .route("/_matrix/app/v1/users/{user_id}", get(not_found))
        .route("/_matrix/app/v1/rooms/{alias}", get(not_found))
        .route("/_matrix/app/v1/ping", post(ping))
        .with_state(state)
}

fn matrix_error(status: StatusCode, errcode: &'static str, error: &'static str) -> Response {
    (
        status,
        Json(serde_json::json!({ "errcode": errcode, "error": error })),
    )
        .into_response()
}

fn reject(st: &MatrixState, status: StatusCode, reason: &'static str) -> Response {
    st.metrics.observe_rejection("matrix", reason);
    tracing::warn!(reason, status = status.as_u16(), "Matrix request refused");
    match status {
        StatusCode::UNAUTHORIZED => matrix_error(status, "M_UNAUTHORIZED", "missing token"),
        StatusCode::FORBIDDEN => matrix_error(status, "M_FORBIDDEN", "invalid token"),
        StatusCode::PAYLOAD_TOO_LARGE => matrix_error(status, "M_TOO_LARGE", "too large"),
        StatusCode::SERVICE_UNAVAILABLE => matrix_error(status, "M_UNKNOWN", "retry later"),
        _ => matrix_error(status, "M_BAD_JSON", "malformed transaction"),
    }
}

/// The homeserver's token from `Authorization: Bearer …`, else `?access_token=`.
fn presented_token(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    if let Some(v) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        let (scheme, token) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned());
    }
    uri.query().and_then(|q| {
        q.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == "access_token").then(|| {
                percent_encoding::percent_decode_str(v)
                    .decode_utf8_lossy()
                    .into_owned()
            })
        })
    })
}

/// `None` when the homeserver's token is right, else the refusal.
fn authenticate(st: &MatrixState, headers: &HeaderMap, uri: &Uri) -> Option<Response> {
    let Some(token) = presented_token(headers, uri) else {
        return Some(reject(st, StatusCode::UNAUTHORIZED, "missing_token"));
    };
    let expected = st.config.hs_token.expose().as_bytes();
    if bool::from(token.as_bytes().ct_eq(expected)) {
        None
    } else {
        Some(reject(st, StatusCode::FORBIDDEN, "bad_token"))
    }
}

async fn not_found(State(st): State<MatrixState>, headers: HeaderMap, uri: Uri) -> Response {
    if let Some(r) = authenticate(&st, &headers, &uri) {
        return r;
    }
    matrix_error(
        StatusCode::NOT_FOUND,
        "M_NOT_FOUND",
        "ClassCred provides no users or rooms",
    )
}

async fn ping(State(st): State<MatrixState>, headers: HeaderMap, uri: Uri) -> Response {
    if let Some(r) = authenticate(&st, &headers, &uri) {
        return r;
    }
    Json(serde_json::json!({})).into_response()
}

async fn read_body(st: &MatrixState, headers: &HeaderMap, body: Body) -> Result<Bytes, Response> {
    let declared = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().parse::<u64>());
    match declared {
        Some(Ok(n)) if n > MAX_TXN_BYTES as u64 => {
            return Err(reject(st, StatusCode::PAYLOAD_TOO_LARGE, "too_large"))
        }
        Some(Err(_)) => return Err(reject(st, StatusCode::BAD_REQUEST, "unreadable_body")),
        _ => {}
    }
    axum::body::to_bytes(body, MAX_TXN_BYTES)
        .await
        .map_err(|e| {
            let over = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if over {
                reject(st, StatusCode::PAYLOAD_TOO_LARGE, "too_large")
            } else {
                reject(st, StatusCode::BAD_REQUEST, "unreadable_body")
            }
        })
}

async fn transaction(
    State(st): State<MatrixState>,
    Path(txn_id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    if let Some(r) = authenticate(&st, &headers, &uri) {
        return r;
    }
    let txn_id: String = txn_id.chars().take(128).collect();
    if st.hook.refuse.load(Ordering::SeqCst) {
        st.hook.on_refused(&txn_id);
        return reject(&st, StatusCode::SERVICE_UNAVAILABLE, "refused_by_test_hook");
    }
    let body = match read_body(&st, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let txn = match parse_transaction(&body) {
        Ok(t) => t,
        Err(_) => return reject(&st, StatusCode::BAD_REQUEST, "malformed_json"),
    };
    let txn_len = txn.events.len();
    match handle(&st, txn.events).await {
        Ok(stored) => {
            st.hook.on_accepted(&txn_id);
            tracing::debug!(
                txn_len,
                skipped = txn.skipped,
                stored,
                txn = %txn_id,
                "Matrix transaction acknowledged"
            );
            Json(serde_json::json!({})).into_response()
        }
        Err(e) => {
            // Ids only (store and homeserver errors never carry payloads).
            tracing::error!(error = %e, "Matrix transaction failed: the homeserver will retry");
            matrix_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "M_UNKNOWN",
                "internal error",
            )
        }
    }
}

/// Communities by room id, read once per transaction.
struct Rooms(HashMap<String, Option<Community>>);

impl Rooms {
    async fn get(&mut self, store: &Store, room_id: &str) -> anyhow::Result<Option<Community>> {
        if let Some(c) = self.0.get(room_id) {
            return Ok(c.clone());
        }
        let mut tx = store.begin_read().await?;
        let c = tx.community_by_team(PLATFORM, room_id).await?;
        tx.commit().await?;
        self.0.insert(room_id.to_owned(), c.clone());
        Ok(c)
    }
}

/// The author of a message ClassCred stored (posted or edited), from an inbox payload.
fn author_of(event: &Event) -> Option<String> {
    match event {
        Event::MessagePosted(m) => Some(m.author.as_str().to_owned()),
        Event::MessageEdited(m) => Some(m.author.as_str().to_owned()),
        _ => None,
    }
}

/// The stored engine event of a delivery of `community`, if any.
async fn stored_event(
    tx: &mut Tx<'_>,
    community: &Community,
    event_id: &str,
) -> anyhow::Result<Option<Event>> {
    let row = tx
        .for_community(&community.id)
        .inbox_event_by_event_id(PLATFORM, event_id)
        .await?;
    Ok(row.and_then(|r| serde_json::from_slice::<Event>(&r.payload).ok()))
}

/// Processes one transaction's events; returns how many inbox rows were stored.
async fn handle(st: &MatrixState, events: Vec<Envelope>) -> anyhow::Result<usize> {
    let cfg = &st.config;
    let bot = cfg.bot_user_id();
    let ours = |u: &str| cfg.is_ours(u);
    let actions: Vec<Action> = events.iter().map(|e| convert::classify(e, ours)).collect();
    let mut rooms = Rooms(HashMap::new());

    // (1) Invites of the bot: the room becomes (or is again) a community.
    for (env, action) in events.iter().zip(&actions) {
        if let Action::Member(m) = action {
            if m.user_id == bot && m.membership == "invite" && !m.is_direct && !ours(&env.sender) {
                rooms::install_room(
                    &st.store,
                    &env.room_id,
                    m.room_name.as_deref(),
                    &env.sender,
                    &bot,
                    &env.event_id,
                )
                .await?;
                rooms.0.remove(&env.room_id);
            }
        }
    }

    // (2) Authors of reacted messages, outside any write transaction.
    let mut authors: HashMap<String, Option<String>> = HashMap::new();
    for (env, action) in events.iter().zip(&actions) {
        if let Action::Store(Event::MessagePosted(m)) = action {
            authors.insert(env.event_id.clone(), Some(m.author.as_str().to_owned()));
        }
    }
    for (env, action) in events.iter().zip(&actions) {
        let Action::FireReaction { target } = action else {
            continue;
        };
        if authors.contains_key(target) {
            continue;
        }
        let Some(c) = rooms.get(&st.store, &env.room_id).await? else {
            continue;
        };
        if c.state != CommunityState::Active {
            continue;
        }
        let mut tx = st.store.begin_read().await?;
        let known = stored_event(&mut tx, &c, target).await?;
        tx.commit().await?;
        let author = match known.as_ref().and_then(author_of) {
            Some(a) => Some(a),
            // The homeserver knows every message, also those without fire that ClassCred
            // did not store. A transient failure fails the transaction: it is retried.
            None => st.homeserver.event_sender(&env.room_id, target).await?,
        };
        authors.insert(target.clone(), author);
    }

    // (3) Everything else, in one database transaction.
    let mut tx = st.store.begin().await?;
    let mut batch: HashMap<String, Event> = HashMap::new();
    let mut stored = 0usize;
    for (env, action) in events.iter().zip(actions) {
        let Some(c) = rooms.get(&st.store, &env.room_id).await? else {
            continue;
        };
        let active = c.state == CommunityState::Active;
        let event = match action {
            Action::Ignore(_) => None,
            Action::Member(m) => {
                if member_event(&mut tx, &c, env, &m, &bot, ours).await? {
                    // Later events of this transaction see the community switched off.
                    if let Some(Some(cached)) = rooms.0.get_mut(&env.room_id) {
                        cached.state = CommunityState::Disabled;
                    }
                }
                None
            }
            _ if !active => None,
            Action::Store(e) => Some(e),
            Action::EditIfKnown { original, event } => {
                let known = batch.contains_key(&original)
                    || stored_event(&mut tx, &c, &original).await?.is_some();
                known.then_some(event)
            }
            Action::FireReaction { target } => authors
                .get(&target)
                .cloned()
                .flatten()
                .map(|author| convert::reaction_event(env, &target, &author)),
            Action::Redaction { redacts } => {
                let was = match batch.get(&redacts) {
                    Some(e) => Some(e.clone()),
                    None => stored_event(&mut tx, &c, &redacts).await?,
                };
                Some(convert::redaction_event(env, &redacts, was.as_ref()))
            }
            Action::Command { args } => {
                enqueue_command(&mut tx, &c, env, &args).await?;
                None
            }
        };
        if let Some(event) = event {
            let r = ingest(&mut tx, &c.id, PLATFORM, &env.event_id, &event).await?;
            if matches!(r, classcred_store::InboxInsert::Stored(_)) {
                stored += 1;
            }
            batch.insert(env.event_id.clone(), event);
        }
    }
    tx.commit().await?;
    Ok(stored)
}

async fn member_event(
    tx: &mut Tx<'_>,
    c: &Community,
    env: &Envelope,
    m: &crate::events::Membership,
    bot: &str,
    ours: impl Fn(&str) -> bool,
) -> anyhow::Result<bool> {
    let joined = matches!(m.membership.as_str(), "join" | "invite");
    if m.user_id == bot {
        // The bot's own invite was handled before; its leaving disables the community.
        if matches!(m.membership.as_str(), "leave" | "ban") && c.state == CommunityState::Active {
            rooms::disable_room(tx, &c.id).await?;
            return Ok(true);
        }
        return Ok(false);
    }
    if !joined || c.state != CommunityState::Active {
        // Leaving keeps the member (see `rooms`).
        return Ok(false);
    }
    let kind = if ours(&m.user_id) {
        MemberKind::App
    } else {
        MemberKind::Human
    };
    let member = rooms::new_member(&m.user_id, m.displayname.as_deref(), Role::Student, kind);
    rooms::apply_member(
        tx,
        &c.id,
        &member,
        env.origin_server_ts,
        convert::time_of(env),
    )
    .await?;
    Ok(false)
}

async fn enqueue_command(
    tx: &mut Tx<'_>,
    c: &Community,
    env: &Envelope,
    args: &str,
) -> anyhow::Result<()> {
    let args: String = args.chars().take(MAX_ARGS).collect();
    // The argument text can hold personal data (`privacy correct …`): sealed, never in clear.
    let args = tx.store().seal_job_text(COMMAND_JOB, &env.event_id, &args);
    let mut job = NewJob::new(
        COMMAND_JOB,
        serde_json::json!({
            "community_id": c.id,
            "room_id": env.room_id,
            "event_id": env.event_id,
            "sender": env.sender,
            "args": args,
        }),
    );
    job.community_id = Some(c.id.clone());
    job.dedupe_key = Some(format!("{COMMAND_JOB}:{}", env.event_id));
    job.max_attempts = 5;
    tx.enqueue(&job).await?;
    Ok(())
}
