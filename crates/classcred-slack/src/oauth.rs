//! OAuth v2 install helpers: the authorize URL, a signed expiring `state`, and the
//! `oauth.v2.access` response (the exchange itself is [`crate::SlackClient::oauth_v2_access`]).
//!
//! The `state` is `nonce.expiry.mac` with `mac = HMAC-SHA256(server secret, domain ‖ nonce ‖
//! expiry)`. It proves we issued it and that it is fresh; making it single-use (remembering the
//! nonce until it expires: the callback records it in `oauth_state_used`) and binding it to the
//! browser (a cookie) are the server's job.

use crate::client::BotToken;
use crate::ids::{SlackTeamId, SlackUserId};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use serde::Deserialize;
use sha2::Sha256;
use std::fmt;
use url::Url;

/// Slack's authorize endpoint.
pub const AUTHORIZE_URL: &str = "https://slack.com/oauth/v2/authorize";
/// Default lifetime of a `state`: 10 minutes.
pub const DEFAULT_STATE_TTL_SECS: i64 = 600;
const STATE_DOMAIN: &[u8] = b"classcred/slack-oauth-state/v1\0";

/// Builds the URL to send an installing admin to. `scopes` are bot scopes (joined with commas).
pub fn authorize_url(client_id: &str, scopes: &[&str], redirect_uri: &str, state: &str) -> String {
    let mut url = match Url::parse(AUTHORIZE_URL) {
        Ok(u) => u,
        Err(_) => return AUTHORIZE_URL.to_owned(),
    };
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("scope", &scopes.join(","))
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state);
    url.into()
}

/// The server secret that signs `state` values. Never printed.
#[derive(Clone)]
pub struct StateSecret(SecretSlice<u8>);

impl StateSecret {
    /// Wraps secret key bytes (use at least 32 random bytes).
    pub fn new(key: Vec<u8>) -> Self {
        Self(SecretSlice::from(key))
    }

    /// A fresh HMAC-SHA256 keyed with this secret (callers add their own domain string).
    #[expect(clippy::expect_used, reason = "HMAC accepts keys of any length")]
    pub(crate) fn keyed(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(self.0.expose_secret())
            .expect("HMAC accepts keys of any length")
    }

    fn mac(&self, nonce: &str, expires_at: i64) -> Hmac<Sha256> {
        let mut mac = self.keyed();
        mac.update(STATE_DOMAIN);
        mac.update(nonce.as_bytes());
        mac.update(b".");
        mac.update(expires_at.to_string().as_bytes());
        mac
    }
}

impl fmt::Debug for StateSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StateSecret([REDACTED])")
    }
}

/// A verified `state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthState {
    /// Random nonce (hex); remember it until `expires_at` to make the state single-use.
    pub nonce: String,
    /// Unix seconds after which the state is refused.
    pub expires_at: i64,
}

/// Why a `state` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// Not of the form `nonce.expiry.mac`.
    #[error("malformed OAuth state")]
    Malformed,
    /// Not signed by us (or altered).
    #[error("OAuth state signature mismatch")]
    BadSignature,
    /// Expired.
    #[error("OAuth state expired")]
    Expired,
}

/// Issues a fresh `state` valid for `ttl_secs` from `now_unix`.
pub fn issue_state(secret: &StateSecret, now_unix: i64, ttl_secs: i64) -> String {
    let nonce = hex::encode(rand::random::<[u8; 16]>());
    issue_state_with_nonce(secret, &nonce, now_unix.saturating_add(ttl_secs))
}

fn issue_state_with_nonce(secret: &StateSecret, nonce: &str, expires_at: i64) -> String {
    let tag = secret.mac(nonce, expires_at).finalize().into_bytes();
    format!("{nonce}.{expires_at}.{}", hex::encode(tag))
}

/// Verifies a `state` from the OAuth callback.
pub fn verify_state(
    secret: &StateSecret,
    state: &str,
    now_unix: i64,
) -> Result<OAuthState, StateError> {
    let mut parts = state.split('.');
    let (Some(nonce), Some(exp), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(StateError::Malformed);
    };
    let hexish = |s: &str, len: usize| s.len() == len && s.bytes().all(|c| c.is_ascii_hexdigit());
    if !hexish(nonce, 32) || !hexish(tag, 64) || exp.is_empty() || exp.len() > 15 {
        return Err(StateError::Malformed);
    }
    if !exp.bytes().all(|c| c.is_ascii_digit()) {
        return Err(StateError::Malformed);
    }
    let expires_at: i64 = exp.parse().map_err(|_| StateError::Malformed)?;
    let tag = hex::decode(tag).map_err(|_| StateError::Malformed)?;
    secret
        .mac(nonce, expires_at)
        .verify_slice(&tag)
        .map_err(|_| StateError::BadSignature)?;
    if now_unix > expires_at {
        return Err(StateError::Expired);
    }
    Ok(OAuthState {
        nonce: nonce.to_owned(),
        expires_at,
    })
}

/// The parts of an `oauth.v2.access` response ClassCred keeps. `Debug` never shows the token.
#[derive(Debug, Clone, Deserialize)]
pub struct OAuthAccess {
    /// The bot token (store it encrypted).
    pub access_token: BotToken,
    /// `bot`.
    #[serde(default)]
    pub token_type: Option<String>,
    /// Granted bot scopes, comma-separated.
    #[serde(default)]
    pub scope: String,
    /// The app's bot user.
    pub bot_user_id: SlackUserId,
    /// The app.
    #[serde(default)]
    pub app_id: Option<String>,
    /// The workspace (absent for org-wide Enterprise Grid installs).
    #[serde(default)]
    pub team: Option<OAuthTeam>,
    /// The Enterprise Grid org, if any.
    #[serde(default)]
    pub enterprise: Option<OAuthEnterprise>,
    /// Org-wide install.
    #[serde(default)]
    pub is_enterprise_install: bool,
    /// The installing user (becomes the community's Admin).
    pub authed_user: AuthedUser,
}

impl OAuthAccess {
    /// The granted bot scopes.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

/// Workspace of an install.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OAuthTeam {
    /// Workspace id.
    pub id: SlackTeamId,
    /// Workspace name.
    #[serde(default)]
    pub name: Option<String>,
}

/// Enterprise Grid org of an install.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OAuthEnterprise {
    /// Org id.
    pub id: String,
    /// Org name.
    #[serde(default)]
    pub name: Option<String>,
}

/// The installing user.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AuthedUser {
    /// Their id.
    pub id: SlackUserId,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> StateSecret {
        StateSecret::new(vec![7; 32])
    }

    #[test]
    fn authorize_url_has_all_parameters() {
        let u = authorize_url(
            "123.456",
            &["chat:write", "commands"],
            "https://classcred.example.org/slack/oauth/callback",
            "n.1.t",
        );
        let parsed = Url::parse(&u).unwrap();
        assert_eq!(parsed.host_str(), Some("slack.com"));
        assert_eq!(parsed.path(), "/oauth/v2/authorize");
        let q: std::collections::BTreeMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(q["client_id"], "123.456");
        assert_eq!(q["scope"], "chat:write,commands");
        assert_eq!(
            q["redirect_uri"],
            "https://classcred.example.org/slack/oauth/callback"
        );
        assert_eq!(q["state"], "n.1.t");
    }

    #[test]
    fn state_roundtrip_and_expiry() {
        let s = issue_state(&secret(), 1000, 600);
        let v = verify_state(&secret(), &s, 1000).unwrap();
        assert_eq!(v.expires_at, 1600);
        assert_eq!(v.nonce.len(), 32);
        assert!(verify_state(&secret(), &s, 1600).is_ok());
        assert_eq!(verify_state(&secret(), &s, 1601), Err(StateError::Expired));
        assert_ne!(issue_state(&secret(), 1000, 600), s, "nonces differ");
    }

    #[test]
    fn state_tampering_refused() {
        let s = issue_state(&secret(), 1000, 600);
        let other = StateSecret::new(vec![8; 32]);
        assert_eq!(
            verify_state(&other, &s, 1000),
            Err(StateError::BadSignature)
        );
        // Extend the expiry: the MAC no longer matches.
        let parts: Vec<&str> = s.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], 999_999, parts[2]);
        assert_eq!(
            verify_state(&secret(), &forged, 1000),
            Err(StateError::BadSignature)
        );
        // Flip one nonce digit.
        let mut n = parts[0].to_owned();
        let c = if n.starts_with('0') { "1" } else { "0" };
        n.replace_range(0..1, c);
        let forged = format!("{n}.{}.{}", parts[1], parts[2]);
        assert_eq!(
            verify_state(&secret(), &forged, 1000),
            Err(StateError::BadSignature)
        );
        for bad in [
            "",
            "a.b.c",
            "x",
            &format!("{s}.x"),
            &s.replace('.', ":"),
            &format!("{}.-1.{}", parts[0], parts[2]),
        ] {
            assert_eq!(
                verify_state(&secret(), bad, 1000),
                Err(StateError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn access_response_parses_and_hides_token() {
        let body = r#"{"ok":true,"access_token":"xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy","token_type":"bot","scope":"commands,incoming-webhook","bot_user_id":"U0KRQLJ9H","app_id":"A0KRD7HC3","team":{"id":"T9TK3CUKW","name":"Slack Softball Team"},"enterprise":{"id":"E12345678","name":"slack-sports"},"authed_user":{"id":"U1234","scope":"chat:write","access_token":"xoxp-1234","token_type":"user"},"is_enterprise_install":false}"#;
        let a: OAuthAccess = serde_json::from_str(body).unwrap();
        assert_eq!(a.team.as_ref().unwrap().id.as_str(), "T9TK3CUKW");
        assert_eq!(
            a.team.as_ref().unwrap().name.as_deref(),
            Some("Slack Softball Team")
        );
        assert_eq!(a.bot_user_id.as_str(), "U0KRQLJ9H");
        assert_eq!(a.authed_user.id.as_str(), "U1234");
        assert_eq!(
            a.scopes().collect::<Vec<_>>(),
            ["commands", "incoming-webhook"]
        );
        assert!(a.access_token.expose().starts_with("xoxb-"));
        let dbg = format!("{a:?}");
        assert!(!dbg.contains("xoxb") && !dbg.contains("xoxp"), "{dbg}");
    }
}
