//! The provider's metadata (`/.well-known/openid-configuration`), checked once at start-up:
//! the issuer must be exactly the configured one, every endpoint on the issuer's origin, the
//! code flow and PKCE S256 offered.

use serde::Deserialize;
use url::Url;

use crate::config::IssuerOrigin;
use crate::http::ProviderHttp;
use crate::OidcError;

/// How this client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientAuth {
    Basic,
    Post,
}

/// The checked metadata this client uses.
#[derive(Debug, Clone)]
pub(crate) struct ProviderMetadata {
    pub(crate) issuer: String,
    pub(crate) authorization_endpoint: Url,
    pub(crate) token_endpoint: Url,
    pub(crate) jwks_uri: Url,
    pub(crate) client_auth: ClientAuth,
}

#[derive(Deserialize)]
struct RawMetadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    response_types_supported: Vec<String>,
    code_challenge_methods_supported: Option<Vec<String>>,
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

impl ProviderMetadata {
    pub(crate) async fn fetch(http: &ProviderHttp, issuer: &str) -> Result<Self, OidcError> {
        let url = http.origin().discovery_url()?;
        let raw: RawMetadata = http.get_json("discovery document", &url).await?;
        Self::check(raw, http.origin(), issuer)
    }

    fn check(raw: RawMetadata, origin: &IssuerOrigin, issuer: &str) -> Result<Self, OidcError> {
        if raw.issuer != issuer {
            return Err(OidcError::Metadata(
                "the discovery document names another issuer".into(),
            ));
        }
        if !raw.response_types_supported.iter().any(|t| t == "code") {
            return Err(OidcError::Metadata(
                "the provider does not offer the authorization code flow".into(),
            ));
        }
        // Absent means "not advertised"; most providers that omit it still accept S256.
        if let Some(methods) = &raw.code_challenge_methods_supported {
            if !methods.iter().any(|m| m == "S256") {
                return Err(OidcError::Metadata(
                    "the provider does not offer PKCE with S256".into(),
                ));
            }
        }
        // Default when absent is client_secret_basic (Discovery 1.0, section 3).
        let client_auth =
            match &raw.token_endpoint_auth_methods_supported {
                None => ClientAuth::Basic,
                Some(m) if m.iter().any(|m| m == "client_secret_basic") => ClientAuth::Basic,
                Some(m) if m.iter().any(|m| m == "client_secret_post") => ClientAuth::Post,
                Some(_) => return Err(OidcError::Metadata(
                    "the token endpoint accepts neither client_secret_basic nor client_secret_post"
                        .into(),
                )),
            };
        Ok(Self {
            authorization_endpoint: origin
                .same_origin("authorization_endpoint", &raw.authorization_endpoint)?,
            token_endpoint: origin.same_origin("token_endpoint", &raw.token_endpoint)?,
            jwks_uri: origin.same_origin("jwks_uri", &raw.jwks_uri)?,
            issuer: raw.issuer,
            client_auth,
        })
    }
}
