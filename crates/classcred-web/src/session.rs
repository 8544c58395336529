//! Dashboard sessions on the wire: the cookie that carries a random session value, the hash
//! the store keeps instead of it, and the CSRF token derived from it.
//!
//! The cookie value is 32 random bytes (hex). The store keeps `SHA-256(value)` only; the CSRF
//! token of the session is `SHA-256(domain ‖ value)`, so neither a database copy nor a leaked
//! CSRF token gives the cookie. Cookie: `HttpOnly; SameSite=Lax; Path=/`, plus `Secure` and the
//! `__Host-` name prefix when the site is served over TLS.

use axum::http::HeaderMap;
use classcred_store::{MemberRowId, Tx};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::WebState;

/// Cookie name over plain HTTP (loopback, development).
pub const COOKIE_PLAIN: &str = "classcred_session";
/// Cookie name under TLS: the `__Host-` prefix pins it to this host, `Path=/` and `Secure`.
pub const COOKIE_TLS: &str = "__Host-classcred_session";
const CSRF_DOMAIN: &[u8] = b"classcred/csrf/v1\0";

/// The session value from a browser's cookie (never logged, never stored).
pub struct SessionCookie(String);

impl SessionCookie {
    /// A new random value (a new one at every sign-in).
    pub fn generate() -> Self {
        Self(hex::encode(rand::random::<[u8; 32]>()))
    }

    /// The value of our cookie among the request's `Cookie` headers, if it looks like ours.
    pub fn from_headers(headers: &HeaderMap, tls: bool) -> Option<Self> {
        let name = cookie_name(tls);
        headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(|v| Self(v.to_ascii_lowercase()))
    }

    /// What the store keeps: hex SHA-256 of the value.
    pub fn id_hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// The session's CSRF token, put in every form as the hidden field `csrf`.
    pub fn csrf_token(&self) -> String {
        let mut h = Sha256::new();
        h.update(CSRF_DOMAIN);
        h.update(self.0.as_bytes());
        hex::encode(h.finalize())
    }

    /// The `Set-Cookie` value that hands this session to the browser.
    pub fn set_cookie(&self, state: &WebState) -> String {
        format!(
            "{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
            cookie_name(state.tls),
            self.0,
            state.session_ttl.as_secs(),
            if state.tls { "; Secure" } else { "" }
        )
    }
}

/// Whether a submitted CSRF token is the session's, compared in constant time.
pub fn csrf_matches(expected: &str, submitted: &str) -> bool {
    bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
}

/// The `Set-Cookie` value that removes the session cookie (sign-out).
pub fn clear_cookie(tls: bool) -> String {
    format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        cookie_name(tls),
        if tls { "; Secure" } else { "" }
    )
}

/// The cookie's name for this site.
pub fn cookie_name(tls: bool) -> &'static str {
    if tls {
        COOKIE_TLS
    } else {
        COOKIE_PLAIN
    }
}

/// Start a session for `member_id` in `tx` (the transaction that consumed the login link) and
/// return its cookie. The caller commits, then sets the cookie.
pub async fn start(
    tx: &mut Tx<'_>,
    state: &WebState,
    community_id: &classcred_store::CommunityId,
    member_id: &MemberRowId,
) -> Result<SessionCookie, classcred_store::StoreError> {
    let cookie = SessionCookie::generate();
    let ttl_ms = i64::try_from(state.session_ttl.as_millis()).unwrap_or(i64::MAX);
    let expires_at = state.store.now_ms().saturating_add(ttl_ms);
    tx.for_community(community_id)
        .create_web_session(&cookie.id_hash(), member_id, expires_at)
        .await?;
    Ok(cookie)
}
