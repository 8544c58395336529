//! The two sign-in routes, for the web crate to mount (it stays in charge of sessions and
//! pages through its [`SignInHook`]):
//!
//! - `GET /auth/oidc/start`: begins an attempt, keeps its [`PendingLogin`] in a cookie sealed
//!   with XChaCha20-Poly1305 (HttpOnly, SameSite=Lax, path of the callback, 10 minutes,
//!   `Secure` when asked), and redirects (303) to the provider.
//! - `GET <redirect_path>` (default `/auth/oidc/callback`): opens the cookie (and clears it),
//!   checks the returned `state`, **consumes it once in the store** (`Tx::consume_nonce` under
//!   `oidc:`), exchanges the code and validates the ID token, then hands the identity to the hook.

use std::future::Future;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use classcred_store::Store;
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox};
use serde::Deserialize;

use crate::{OidcClient, PendingLogin, VerifiedIdentity, ATTEMPT_LIFETIME};

/// Path of the route that starts an attempt.
pub const START_PATH: &str = "/auth/oidc/start";
/// Name of the cookie that carries the sealed attempt.
pub const COOKIE_NAME: &str = "classcred_oidc";
const SEAL_LABEL: &[u8] = b"classcred/oidc-pending/v1";
const NONCE_PREFIX: &str = "oidc:";

/// Why the callback refused a sign-in (the hook turns it into a page). Details go to the log
/// (without personal data), not to the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRefusal {
    /// No attempt cookie, or one that does not open (another browser, a forged cookie).
    NoAttempt,
    /// The attempt is older than [`ATTEMPT_LIFETIME`].
    Expired,
    /// The `state` is missing or not this attempt's.
    WrongState,
    /// The `state` was already used.
    ReplayedState,
    /// The provider answered with an error (e.g. the person declined).
    ProviderDeclined,
    /// The code exchange or the ID token was refused.
    IdentityRejected,
    /// The provider or the store could not be reached.
    Unavailable,
}

/// What the web layer does with the outcome of a callback.
pub trait SignInHook: Clone + Send + Sync + 'static {
    /// A verified identity: map it to members, start a session, redirect.
    fn signed_in(&self, identity: VerifiedIdentity) -> impl Future<Output = Response> + Send;
    /// A refused sign-in: a page that says so.
    fn refused(&self, refusal: SignInRefusal) -> Response;
}

/// Everything the two routes need.
pub struct OidcRoutes<H> {
    pub client: Arc<OidcClient>,
    pub store: Store,
    /// Seals the attempt cookie; derive it from the master key under its own label.
    pub cookie_key: Arc<SecretBox<[u8; 32]>>,
    /// Add `Secure` to the cookie (the deployment is served over TLS).
    pub secure_cookie: bool,
    pub hook: H,
}

impl<H: Clone> Clone for OidcRoutes<H> {
    fn clone(&self) -> Self {
        Self {
            client: self.client.clone(),
            store: self.store.clone(),
            cookie_key: self.cookie_key.clone(),
            secure_cookie: self.secure_cookie,
            hook: self.hook.clone(),
        }
    }
}

/// The router with both routes.
pub fn router<H: SignInHook, S: Clone + Send + Sync + 'static>(routes: OidcRoutes<H>) -> Router<S> {
    let callback_path = routes.client.redirect_uri().path().to_string();
    Router::new()
        .route(START_PATH, get(start::<H>))
        .route(&callback_path, get(callback::<H>))
        .with_state(routes)
}

impl<H> OidcRoutes<H> {
    fn cookie(&self, value: &str, max_age: i64) -> Option<HeaderValue> {
        let secure = if self.secure_cookie { "; Secure" } else { "" };
        let path = self.client.redirect_uri().path();
        HeaderValue::from_str(&format!(
            "{COOKIE_NAME}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
        ))
        .ok()
    }

    fn seal(&self, pending: &PendingLogin) -> Option<String> {
        let cipher = XChaCha20Poly1305::new(Key::from_slice(self.cookie_key.expose_secret()));
        let mut nonce = [0u8; 24];
        OsRng.fill_bytes(&mut nonce);
        let plain = serde_json::to_vec(pending).ok()?;
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: SEAL_LABEL,
                },
            )
            .ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Some(URL_SAFE_NO_PAD.encode(out))
    }

    fn open(&self, headers: &HeaderMap) -> Option<PendingLogin> {
        let value = headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|h| h.to_str().ok())
            .flat_map(|h| h.split(';'))
            .find_map(|c| c.trim().strip_prefix(COOKIE_NAME)?.strip_prefix('='))?;
        let bytes = URL_SAFE_NO_PAD.decode(value).ok()?;
        if bytes.len() < 24 {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(24);
        let cipher = XChaCha20Poly1305::new(Key::from_slice(self.cookie_key.expose_secret()));
        let plain = cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: SEAL_LABEL,
                },
            )
            .ok()?;
        serde_json::from_slice(&plain).ok()
    }
}

async fn start<H: SignInHook>(State(routes): State<OidcRoutes<H>>) -> Response {
    let now = routes.store.clock().now();
    let (url, pending) = routes.client.begin(now);
    let cookie = routes
        .seal(&pending)
        .and_then(|v| routes.cookie(&v, ATTEMPT_LIFETIME.num_seconds()));
    let (Some(cookie), Ok(location)) = (cookie, HeaderValue::from_str(url.as_str())) else {
        tracing::error!("oidc: cannot seal the attempt cookie");
        return routes.hook.refused(SignInRefusal::Unavailable);
    };
    let mut response = StatusCode::SEE_OTHER.into_response();
    response.headers_mut().insert(LOCATION, location);
    response.headers_mut().insert(SET_COOKIE, cookie);
    response
}

#[derive(Debug, Deserialize)]
struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback<H: SignInHook>(
    State(routes): State<OidcRoutes<H>>,
    headers: HeaderMap,
    Query(params): Query<CallbackParams>,
) -> Response {
    let mut response = outcome(&routes, &headers, params).await;
    if let Some(clear) = routes.cookie("", 0) {
        response.headers_mut().append(SET_COOKIE, clear);
    }
    response
}

async fn outcome<H: SignInHook>(
    routes: &OidcRoutes<H>,
    headers: &HeaderMap,
    params: CallbackParams,
) -> Response {
    let refuse = |refusal: SignInRefusal| {
        tracing::warn!(?refusal, "oidc: sign-in refused");
        routes.hook.refused(refusal)
    };
    let Some(pending) = routes.open(headers) else {
        return refuse(SignInRefusal::NoAttempt);
    };
    if params.error.is_some() {
        return refuse(SignInRefusal::ProviderDeclined);
    }
    let Some(state) = params.state.filter(|s| pending.state_matches(s)) else {
        return refuse(SignInRefusal::WrongState);
    };
    let now = routes.store.clock().now();
    if pending.expired(now) {
        return refuse(SignInRefusal::Expired);
    }
    match consume_state(&routes.store, &pending, now.timestamp()).await {
        Ok(true) => {}
        Ok(false) => return refuse(SignInRefusal::ReplayedState),
        Err(e) => {
            tracing::error!(error = %e, "oidc: cannot record the state as used");
            return refuse(SignInRefusal::Unavailable);
        }
    }
    let code = params.code.unwrap_or_default();
    match routes.client.finish(&pending, &code, &state, now).await {
        Ok(identity) => routes.hook.signed_in(identity).await,
        Err(e) if e.is_unavailable() => {
            tracing::error!(error = %e, "oidc: provider unavailable");
            refuse(SignInRefusal::Unavailable)
        }
        Err(e) => {
            tracing::warn!(error = %e, "oidc: identity rejected");
            refuse(SignInRefusal::IdentityRejected)
        }
    }
}

/// Record the attempt's state as used (until the attempt expires). `false`: used before.
async fn consume_state(
    store: &Store,
    pending: &PendingLogin,
    now: i64,
) -> Result<bool, classcred_store::StoreError> {
    let mut tx = store.begin().await?;
    let fresh = tx
        .consume_nonce(
            &format!("{NONCE_PREFIX}{}", pending.state()),
            pending.expires_at(),
            now,
        )
        .await?;
    tx.commit().await?;
    Ok(fresh)
}
