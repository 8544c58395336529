//! `[teams]` configuration: the Azure Bot's app registration and where the adapter may call.
//!
//! ```toml
//! [teams]
//! app_id = "00000000-0000-0000-0000-000000000000"   # Microsoft App ID of the Azure Bot
//! app_password = "…"                                 # its client secret (at least 32 bytes)
//! tenant = "contoso.onmicrosoft.com"                 # single-tenant bots; default botframework.com
//! # openid_metadata_url = "https://login.botframework.com/v1/.well-known/openidconfiguration"
//! # service_url_origins = ["https://smba.trafficmanager.net"]
//! ```

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

/// The Bot Framework's OpenID metadata (public cloud).
pub const DEFAULT_OPENID_METADATA_URL: &str =
    "https://login.botframework.com/v1/.well-known/openidconfiguration";
/// Where Teams' Connector API is served (its `serviceUrl`s: `https://smba.trafficmanager.net/amer/`,
/// `…/emea/`, `…/teams/`, …).
pub const DEFAULT_SERVICE_URL_ORIGIN: &str = "https://smba.trafficmanager.net";
/// Microsoft Entra ID (the client-credentials token endpoint's origin).
pub const DEFAULT_LOGIN_URL: &str = "https://login.microsoftonline.com";
/// The tenant of multi-tenant bots' tokens.
pub const DEFAULT_TENANT: &str = "botframework.com";
/// Shortest `app_password` accepted, in bytes (Entra client secrets are 40 characters).
pub const MIN_SECRET_BYTES: usize = 32;

fn strong_secret<'de, D>(d: D) -> Result<Option<SecretString>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    classcred_platform::strong_secret(d, MIN_SECRET_BYTES, "are required (an Entra client secret)")
}

/// The `[teams]` section. The adapter is mounted only when `app_id` and `app_password` are set.
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TeamsConfig {
    /// The bot's Microsoft App ID: tokens must name it as their audience.
    pub app_id: Option<String>,
    /// The app's client secret, for the client-credentials token of replies.
    #[serde(deserialize_with = "strong_secret")]
    pub app_password: Option<SecretString>,
    /// Single-tenant bots: the tenant (id or domain) tokens are requested from; default
    /// `botframework.com` (multi-tenant).
    pub tenant: Option<String>,
    /// The Bot Framework OpenID metadata document; default [`DEFAULT_OPENID_METADATA_URL`].
    pub openid_metadata_url: Option<String>,
    /// Exact origins (`https://host[:port]`) a `serviceUrl` may have; replies, notices and
    /// member look-ups go nowhere else. Default `[`[`DEFAULT_SERVICE_URL_ORIGIN`]`]`.
    pub service_url_origins: Option<Vec<String>>,
    /// Entra's login origin for the token request; default [`DEFAULT_LOGIN_URL`] (tests point
    /// it at a loopback fake).
    pub login_url: Option<String>,
}

impl std::fmt::Debug for TeamsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeamsConfig")
            .field("app_id", &self.app_id)
            .field(
                "app_password",
                &self.app_password.as_ref().map(|_| "[REDACTED]"),
            )
            .field("tenant", &self.tenant)
            .field("openid_metadata_url", &self.openid_metadata_url)
            .field("service_url_origins", &self.service_url_origins)
            .field("login_url", &self.login_url)
            .finish()
    }
}

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("teams.{key}: {reason}")]
pub struct ConfigError {
    pub key: &'static str,
    pub reason: String,
}

fn err(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        key,
        reason: reason.into(),
    }
}

/// An origin: `https://host[:port]` (or `http://` on loopback), nothing after it.
pub fn parse_origin(key: &'static str, s: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(s.trim_end_matches('/')).map_err(|_| err(key, "not a URL"))?;
    let https = url.scheme() == "https";
    let local_http = url.scheme() == "http" && classcred_outbound::is_loopback(&url);
    if !(https || local_http) {
        return Err(err(key, "https only (http on a loopback host for tests)"));
    }
    if url.path() != "/" || url.query().is_some() || !url.username().is_empty() {
        return Err(err(key, "an origin only: scheme, host and port"));
    }
    Ok(url)
}

impl TeamsConfig {
    /// Whether the adapter is configured (`app_id` and `app_password`).
    pub fn is_configured(&self) -> bool {
        self.app_id.as_deref().is_some_and(|a| !a.trim().is_empty()) && self.app_password.is_some()
    }

    /// The app id.
    pub fn app_id(&self) -> &str {
        self.app_id.as_deref().unwrap_or_default()
    }

    /// The client secret.
    pub fn password(&self) -> &str {
        self.app_password
            .as_ref()
            .map(ExposeSecret::expose_secret)
            .map_or("", |s| s)
    }

    /// The OpenID metadata URL.
    pub fn openid_metadata(&self) -> Result<Url, ConfigError> {
        let s = self
            .openid_metadata_url
            .as_deref()
            .unwrap_or(DEFAULT_OPENID_METADATA_URL);
        let url = Url::parse(s).map_err(|_| err("openid_metadata_url", "not a URL"))?;
        parse_origin(
            "openid_metadata_url",
            url.origin().ascii_serialization().as_str(),
        )?;
        Ok(url)
    }

    /// The allowed `serviceUrl` origins.
    pub fn service_origins(&self) -> Result<Vec<Url>, ConfigError> {
        let list = match &self.service_url_origins {
            Some(l) => l.clone(),
            None => vec![DEFAULT_SERVICE_URL_ORIGIN.to_owned()],
        };
        list.iter()
            .map(|o| parse_origin("service_url_origins", o))
            .collect()
    }

    /// The token endpoint: `{login}/{tenant}/oauth2/v2.0/token`.
    pub fn token_url(&self) -> Result<Url, ConfigError> {
        let login = parse_origin(
            "login_url",
            self.login_url.as_deref().unwrap_or(DEFAULT_LOGIN_URL),
        )?;
        let tenant = self
            .tenant
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or(DEFAULT_TENANT);
        if !tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        {
            return Err(err("tenant", "a tenant id or domain"));
        }
        login
            .join(&format!("{tenant}/oauth2/v2.0/token"))
            .map_err(|_| err("tenant", "a tenant id or domain"))
    }

    /// Every URL setting checked (at start, so a mistake stops the server with a clear error).
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.app_id.is_some() != self.app_password.is_some() {
            return Err(err(
                "app_id",
                "app_id and app_password must be set together",
            ));
        }
        self.openid_metadata()?;
        self.service_origins()?;
        self.token_url()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_secrets_and_origins() {
        let c: TeamsConfig = serde_json::from_str("{}").unwrap();
        assert!(!c.is_configured());
        assert_eq!(
            c.openid_metadata().unwrap().as_str(),
            DEFAULT_OPENID_METADATA_URL
        );
        assert_eq!(
            c.token_url().unwrap().as_str(),
            "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token"
        );
        let pw = "p".repeat(40);
        let c: TeamsConfig = serde_json::from_value(serde_json::json!({
            "app_id": "app-1", "app_password": pw, "tenant": "contoso.onmicrosoft.com",
            "service_url_origins": ["https://smba.trafficmanager.net/", "http://127.0.0.1:9"]
        }))
        .unwrap();
        assert!(c.is_configured());
        c.check().unwrap();
        assert!(!format!("{c:?}").contains(&pw));
        assert_eq!(
            c.token_url().unwrap().as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(c.service_origins().unwrap().len(), 2);
        let short =
            serde_json::from_value::<TeamsConfig>(serde_json::json!({"app_password": "short"}))
                .unwrap_err()
                .to_string();
        assert!(
            short.contains("at least 32") && !short.contains("short\""),
            "{short}"
        );
        for bad in [
            "http://smba.trafficmanager.net",
            "https://smba.trafficmanager.net/amer/",
            "ftp://x",
            "https://u:p@x.example",
        ] {
            let c = TeamsConfig {
                service_url_origins: Some(vec![bad.into()]),
                ..TeamsConfig::default()
            };
            assert!(c.check().is_err(), "{bad}");
        }
        let c = TeamsConfig {
            tenant: Some("evil/../x".into()),
            ..TeamsConfig::default()
        };
        assert!(c.token_url().is_err());
        let c = TeamsConfig {
            app_id: Some("a".into()),
            ..TeamsConfig::default()
        };
        assert!(c.check().is_err());
    }
}
