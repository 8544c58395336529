//! `[slack]` configuration: every key optional, secrets typed so they never print.
//!
//! Two ways to connect a workspace:
//! - **single workspace** (self-hosters): `signing_secret`, `bot_token` and `team_id`;
//!   [`crate::ensure_single_workspace`] creates the community once at start;
//! - **OAuth** (many workspaces): `signing_secret`, `client_id`, `client_secret`, `state_secret`
//!   and `public_url`; admins install through `GET /slack/install`.

use crate::client::{BotToken, SlackClientConfig, DEFAULT_API_BASE_URL};
use crate::oauth::StateSecret;
use crate::signature::SigningSecret;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// How a successful give is confirmed to the giver.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfirmStyle {
    /// A 🔥 reaction on the message (needs the notice to name its message; until the engine's
    /// notices carry one, confirmations are not sent in this style).
    Reaction,
    /// A private message only the giver sees (default).
    #[default]
    Ephemeral,
    /// No confirmation (refusals and quota notices are still sent).
    None,
}

/// Shortest secret accepted for `signing_secret` and `state_secret`, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// A secret of at least [`MIN_SECRET_BYTES`] bytes. The error names the rule and the length,
/// never the value; the configuration loader adds the key (`slack.state_secret`).
fn strong_secret<'de, D>(d: D) -> Result<Option<SecretString>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    classcred_platform::strong_secret(d, MIN_SECRET_BYTES, "random bytes are required")
}

/// The `[slack]` section of the configuration.
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlackConfig {
    /// The app's signing secret (Basic Information → App Credentials). Required for every
    /// `/slack/*` request; without it they are refused with 503. At least
    /// [`MIN_SECRET_BYTES`] bytes (Slack's are 32 hex characters).
    #[serde(deserialize_with = "strong_secret")]
    pub signing_secret: Option<SecretString>,
    /// Single-workspace mode: the bot token (`xoxb-…`).
    pub bot_token: Option<SecretString>,
    /// Single-workspace mode: the workspace id (`T…`).
    pub team_id: Option<String>,
    /// OAuth: the app's client id.
    pub client_id: Option<String>,
    /// OAuth: the app's client secret.
    pub client_secret: Option<SecretString>,
    /// Signs OAuth `state` values (at least [`MIN_SECRET_BYTES`] random bytes; a short one
    /// could be guessed from one signed value, so it is refused).
    #[serde(deserialize_with = "strong_secret")]
    pub state_secret: Option<SecretString>,
    /// Web API base URL; default `https://slack.com/api/` (tests point it at a local fake).
    pub api_base_url: Option<String>,
    /// Public base URL of this server (`https://classcred.example.org`), for the OAuth
    /// redirect URI and links in chat.
    pub public_url: Option<String>,
    /// How successful gives are confirmed: `reaction`, `ephemeral` (default) or `none`.
    pub confirm: ConfirmStyle,
}

impl std::fmt::Debug for SlackConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |o: &Option<SecretString>| if o.is_some() { "[REDACTED]" } else { "unset" };
        f.debug_struct("SlackConfig")
            .field("signing_secret", &set(&self.signing_secret))
            .field("bot_token", &set(&self.bot_token))
            .field("team_id", &self.team_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &set(&self.client_secret))
            .field("state_secret", &set(&self.state_secret))
            .field("api_base_url", &self.api_base_url)
            .field("public_url", &self.public_url)
            .field("confirm", &self.confirm)
            .finish()
    }
}

impl SlackConfig {
    /// The signing secret, if configured.
    pub fn signing(&self) -> Option<SigningSecret> {
        self.signing_secret
            .as_ref()
            .map(|s| SigningSecret::new(s.expose_secret()))
    }

    /// The secret for OAuth states and login links, if configured.
    pub fn state(&self) -> Option<StateSecret> {
        self.state_secret
            .as_ref()
            .filter(|s| !s.expose_secret().is_empty())
            .map(|s| StateSecret::new(s.expose_secret().as_bytes().to_vec()))
    }

    /// The single-workspace bot token, if configured.
    pub fn single_bot_token(&self) -> Option<BotToken> {
        self.bot_token
            .as_ref()
            .map(|t| BotToken::new(t.expose_secret()))
    }

    /// The single-workspace bot token, only for its own workspace (`team_id`): a community of
    /// any other workspace never gets it.
    pub fn single_bot_token_for(&self, team_id: Option<&str>) -> Option<BotToken> {
        match (self.team_id.as_deref(), team_id) {
            (Some(configured), Some(team)) if configured == team => self.single_bot_token(),
            _ => None,
        }
    }

    /// Whether single-workspace mode is configured (`team_id` and `bot_token`).
    pub fn is_single_workspace(&self) -> bool {
        self.team_id.is_some() && self.bot_token.is_some()
    }

    /// `public_url` without a trailing slash.
    pub fn public_base(&self) -> Option<&str> {
        self.public_url
            .as_deref()
            .map(|u| u.trim_end_matches('/'))
            .filter(|u| !u.is_empty())
    }

    /// The OAuth redirect URI: `{public_url}/slack/oauth/callback`.
    pub fn redirect_uri(&self) -> Option<String> {
        self.public_base()
            .map(|b| format!("{b}/slack/oauth/callback"))
    }

    /// Settings for [`crate::SlackClient::new`].
    pub fn client_config(&self) -> SlackClientConfig {
        SlackClientConfig {
            api_base_url: self
                .api_base_url
                .clone()
                .unwrap_or_else(|| DEFAULT_API_BASE_URL.to_owned()),
            ..SlackClientConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_keys_optional_and_secrets_hidden() {
        let c: SlackConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c.confirm, ConfirmStyle::Ephemeral);
        assert!(!c.is_single_workspace());
        let c: SlackConfig = serde_json::from_value(serde_json::json!({
            "signing_secret": "s3cr3t-sign-0123456789abcdef01234",
            "bot_token": "xoxb-very-secret",
            "team_id": "T1",
            "client_secret": "client-s3cr3t",
            "state_secret": "state-s3cr3t-0123456789abcdef0123",
            "public_url": "https://cc.example.org/",
            "confirm": "none"
        }))
        .unwrap();
        assert!(c.is_single_workspace());
        assert_eq!(c.confirm, ConfirmStyle::None);
        assert_eq!(
            c.redirect_uri().as_deref(),
            Some("https://cc.example.org/slack/oauth/callback")
        );
        let dbg = format!("{c:?}");
        for secret in ["s3cr3t", "xoxb"] {
            assert!(!dbg.contains(secret), "{dbg}");
        }
        assert!(serde_json::from_str::<SlackConfig>(r#"{"nope":1}"#).is_err());
        assert!(serde_json::from_str::<SlackConfig>(r#"{"confirm":"loud"}"#).is_err());
    }

    /// Finding 9: a short state or signing secret is refused when the configuration is read,
    /// and the error does not echo it.
    #[test]
    fn short_secrets_are_refused() {
        for key in ["state_secret", "signing_secret"] {
            let err = serde_json::from_value::<SlackConfig>(serde_json::json!({ key: "x" }))
                .unwrap_err()
                .to_string();
            assert!(err.contains("at least 32"), "{key}: {err}");
            let short = "k".repeat(MIN_SECRET_BYTES - 1);
            let err = serde_json::from_value::<SlackConfig>(serde_json::json!({ key: short }))
                .unwrap_err()
                .to_string();
            assert!(
                !err.contains(&short),
                "{key}: the value is not echoed: {err}"
            );
            let real = "8f742231b10e8888abcd99yyyzzz85a5"; // Slack's format: 32 hex characters
            assert!(
                serde_json::from_value::<SlackConfig>(serde_json::json!({ key: real })).is_ok()
            );
        }
    }
}
