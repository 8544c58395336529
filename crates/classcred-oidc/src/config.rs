//! The `[oidc]` configuration section and the issuer's origin, the only place this crate talks to.

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use crate::OidcError;

/// `[oidc]` in the configuration file.
///
/// ```toml
/// [oidc]
/// issuer = "https://slack.com"
/// client_id = "123.456"
/// client_secret = "…"              # or CLASSCRED_OIDC__CLIENT_SECRET
/// redirect_path = "/auth/oidc/callback"
/// scopes = ["openid", "profile"]
/// member_claim = "https://slack.com/user_id"   # Microsoft: "oid"; default "sub"
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The issuer identifier, exactly as the provider writes it in its discovery document and
    /// ID tokens. `https://`, or `http://` on a loopback host (tests, local providers).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Where the provider sends the browser back, below the public base URL.
    #[serde(default = "default_redirect_path")]
    pub redirect_path: String,
    /// Scopes to ask for; `openid` is always sent, whether listed or not.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The ID token claim whose value is a member's platform user id.
    #[serde(default = "default_member_claim")]
    pub member_claim: String,
}

fn default_redirect_path() -> String {
    "/auth/oidc/callback".into()
}

fn default_scopes() -> Vec<String> {
    vec!["openid".into()]
}

fn default_member_claim() -> String {
    "sub".into()
}

impl OidcConfig {
    /// The configuration with the defaults for everything but the provider and client.
    pub fn new(issuer: &str, client_id: &str, client_secret: SecretString) -> Self {
        Self {
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret,
            redirect_path: default_redirect_path(),
            scopes: default_scopes(),
            member_claim: default_member_claim(),
        }
    }

    /// The scopes as sent: `openid` first, then the others once each.
    pub(crate) fn scope_param(&self) -> String {
        let mut scopes = vec!["openid"];
        for s in &self.scopes {
            if !s.is_empty() && !scopes.contains(&s.as_str()) {
                scopes.push(s);
            }
        }
        scopes.join(" ")
    }
}

/// The issuer's URL, checked: https (or http on loopback), no query, no fragment, no userinfo.
#[derive(Debug, Clone)]
pub(crate) struct IssuerOrigin {
    issuer: Url,
}

impl IssuerOrigin {
    pub(crate) fn parse(issuer: &str) -> Result<Self, OidcError> {
        let url =
            Url::parse(issuer).map_err(|_| OidcError::Config("oidc.issuer is not a URL".into()))?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(OidcError::Config(
                "oidc.issuer must not have a query or fragment".into(),
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(OidcError::Config(
                "oidc.issuer must not carry credentials".into(),
            ));
        }
        let loopback = matches!(
            url.host(),
            Some(url::Host::Ipv4(a)) if a.is_loopback()
        ) || matches!(url.host(), Some(url::Host::Ipv6(a)) if a.is_loopback())
            || url.host_str() == Some("localhost");
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => {
                return Err(OidcError::Config(
                    "oidc.issuer must be https:// (http:// only on a loopback host)".into(),
                ))
            }
        }
        Ok(Self { issuer: url })
    }

    /// The issuer URL (its origin is what the outbound client may call).
    pub(crate) fn url(&self) -> &Url {
        &self.issuer
    }

    /// `<issuer>/.well-known/openid-configuration` (OpenID Connect Discovery 1.0, section 4).
    pub(crate) fn discovery_url(&self) -> Result<Url, OidcError> {
        let base = self.issuer.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}/.well-known/openid-configuration"))
            .map_err(|_| OidcError::Config("oidc.issuer gives no discovery URL".into()))
    }

    /// Parse `url` and refuse it unless it is on the issuer's origin (scheme, host and port).
    pub(crate) fn same_origin(&self, what: &'static str, url: &str) -> Result<Url, OidcError> {
        let parsed =
            Url::parse(url).map_err(|_| OidcError::Metadata(format!("{what} is not a URL")))?;
        if parsed.origin() != self.issuer.origin()
            || !parsed.username().is_empty()
            || parsed.password().is_some()
        {
            return Err(OidcError::ForeignOrigin { what });
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_issuers_origin_is_accepted() {
        let o = IssuerOrigin::parse("https://login.example.com/tenant/v2.0").unwrap();
        assert_eq!(
            o.discovery_url().unwrap().as_str(),
            "https://login.example.com/tenant/v2.0/.well-known/openid-configuration"
        );
        assert!(o
            .same_origin("jwks_uri", "https://login.example.com/keys")
            .is_ok());
        assert!(o
            .same_origin("jwks_uri", "https://login.example.com:443/keys")
            .is_ok());
        for foreign in [
            "https://evil.example/keys",
            "http://login.example.com/keys",
            "https://login.example.com:8443/keys",
            "https://login.example.com.evil.example/keys",
            "https://user@login.example.com/keys",
            "not a url",
        ] {
            assert!(o.same_origin("jwks_uri", foreign).is_err(), "{foreign}");
        }
    }

    #[test]
    fn issuers_must_be_https_or_loopback_http() {
        for ok in [
            "https://slack.com",
            "http://127.0.0.1:8080",
            "http://[::1]:1",
            "http://localhost:3000/",
        ] {
            assert!(IssuerOrigin::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://slack.com",
            "ftp://127.0.0.1",
            "https://idp.example/?x=1",
            "https://idp.example/#f",
            "https://u:p@idp.example",
            "idp.example",
        ] {
            assert!(IssuerOrigin::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn openid_is_always_the_first_scope() {
        let mut c = OidcConfig::new("https://idp.example", "c", SecretString::from("s"));
        c.scopes = vec![
            "profile".into(),
            "openid".into(),
            "profile".into(),
            String::new(),
        ];
        assert_eq!(c.scope_param(), "openid profile");
    }
}
