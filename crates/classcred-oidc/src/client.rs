//! [`OidcClient`]: discovery at start-up, then per attempt [`OidcClient::begin`] (authorization
//! URL + [`PendingLogin`]) and [`OidcClient::finish`] (state check, code exchange with the PKCE
//! verifier, ID token validation). The client keeps the provider's JWKS and fetches it again
//! when a token names a `kid` it does not know (key rotation), at most once per minute (so
//! tokens with made-up `kid`s cannot make it hammer the provider).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::Jwk;
use secrecy::ExposeSecret;
use serde::Deserialize;
use tokio::sync::RwLock;
use url::Url;

use crate::attempt::PendingLogin;
use crate::config::{IssuerOrigin, OidcConfig};
use crate::discovery::{ClientAuth, ProviderMetadata};
use crate::http::{form_encode, FormReply, ProviderHttp};
use crate::id_token::{self, Expected};
use crate::{OidcError, VerifiedIdentity};

const JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

struct KeyCache {
    keys: Vec<Jwk>,
    /// When an unknown `kid` last made the client fetch the JWKS again.
    refreshed_at: Option<Instant>,
}

/// A relying party for one provider and one client registration.
pub struct OidcClient {
    config: OidcConfig,
    redirect_uri: Url,
    http: ProviderHttp,
    metadata: ProviderMetadata,
    keys: RwLock<KeyCache>,
}

impl std::fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcClient")
            .field("issuer", &self.metadata.issuer)
            .field("client_id", &self.config.client_id)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
}

impl OidcClient {
    /// Read the provider's discovery document and JWKS. `public_base_url` is where this
    /// deployment is reached (`https://classcred.example.edu`); the redirect URI is it plus
    /// `config.redirect_path`.
    pub async fn discover(config: OidcConfig, public_base_url: &Url) -> Result<Self, OidcError> {
        let origin = IssuerOrigin::parse(&config.issuer)?;
        if !config.redirect_path.starts_with('/') {
            return Err(OidcError::Config(
                "oidc.redirect_path must start with /".into(),
            ));
        }
        if config.client_id.is_empty() {
            return Err(OidcError::Config("oidc.client_id is empty".into()));
        }
        let redirect_uri = public_base_url
            .join(&config.redirect_path)
            .map_err(|_| OidcError::Config("oidc.redirect_path gives no URL".into()))?;
        let http = ProviderHttp::new(origin)?;
        let metadata = ProviderMetadata::fetch(&http, &config.issuer).await?;
        let keys = fetch_keys(&http, &metadata.jwks_uri).await?;
        Ok(Self {
            config,
            redirect_uri,
            http,
            metadata,
            keys: RwLock::new(KeyCache {
                keys,
                refreshed_at: None,
            }),
        })
    }

    /// The redirect URI registered with the provider.
    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// Start an attempt: the URL to send the browser to, and what to remember until the
    /// callback (keep it where only this browser's callback finds it, e.g. a sealed cookie).
    pub fn begin(&self, now: DateTime<Utc>) -> (Url, PendingLogin) {
        let pending = PendingLogin::generate(now);
        let mut url = self.metadata.authorization_endpoint.clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", self.redirect_uri.as_str())
            .append_pair("scope", &self.config.scope_param())
            .append_pair("state", pending.state())
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &pending.pkce_challenge())
            .append_pair("code_challenge_method", "S256");
        (url, pending)
    }

    /// Finish an attempt with what the provider sent back. Refuses an expired attempt or a
    /// state that is not this attempt's, then exchanges the code and validates the ID token.
    /// Single use of `state` is the caller's part (see `routes`: the state is consumed in the
    /// store before this runs).
    pub async fn finish(
        &self,
        pending: &PendingLogin,
        code: &str,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<VerifiedIdentity, OidcError> {
        if pending.expired(now) {
            return Err(OidcError::Expired);
        }
        if !pending.state_matches(state) {
            return Err(OidcError::StateMismatch);
        }
        if code.is_empty() {
            return Err(OidcError::MissingCode);
        }
        let id_token = self.exchange(pending, code).await?;
        self.validate(&id_token, pending, now).await
    }

    async fn exchange(&self, pending: &PendingLogin, code: &str) -> Result<String, OidcError> {
        let secret = self.config.client_secret.expose_secret();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code_verifier", pending.pkce_verifier.as_str()),
        ];
        let (user, password) = (form_encode(&self.config.client_id), form_encode(secret));
        let basic = match self.metadata.client_auth {
            ClientAuth::Basic => Some((user.as_str(), password.as_str())),
            ClientAuth::Post => {
                form.push(("client_id", self.config.client_id.as_str()));
                form.push(("client_secret", secret));
                None
            }
        };
        let answer: FormReply<TokenAnswer> = self
            .http
            .post_form(
                "token endpoint",
                &self.metadata.token_endpoint,
                &form,
                basic,
            )
            .await?;
        match answer {
            FormReply::Answer(TokenAnswer { id_token: Some(t) }) => Ok(t),
            FormReply::Answer(TokenAnswer { id_token: None }) => Err(OidcError::NoIdToken),
            FormReply::Refused(error) => Err(OidcError::TokenRefused { error }),
        }
    }

    async fn validate(
        &self,
        token: &str,
        pending: &PendingLogin,
        now: DateTime<Utc>,
    ) -> Result<VerifiedIdentity, OidcError> {
        let expected = Expected {
            issuer: &self.metadata.issuer,
            client_id: &self.config.client_id,
            nonce: &pending.nonce,
            member_claim: &self.config.member_claim,
            now,
        };
        let first = {
            let cache = self.keys.read().await;
            id_token::validate(token, &cache.keys, &expected)
        };
        match first {
            Err(id_token::IdTokenError::UnknownKey) if id_token::key_id(token)?.is_some() => {
                // A kid we have not seen: the provider may have rotated its keys.
                let mut cache = self.keys.write().await;
                if cache
                    .refreshed_at
                    .is_none_or(|at| at.elapsed() >= JWKS_REFRESH_INTERVAL)
                {
                    cache.refreshed_at = Some(Instant::now());
                    cache.keys = fetch_keys(&self.http, &self.metadata.jwks_uri).await?;
                    tracing::info!(
                        keys = cache.keys.len(),
                        "oidc: fetched the provider's JWKS again"
                    );
                }
                Ok(id_token::validate(token, &cache.keys, &expected)?)
            }
            other => Ok(other?),
        }
    }
}

async fn fetch_keys(http: &ProviderHttp, jwks_uri: &Url) -> Result<Vec<Jwk>, OidcError> {
    let doc: serde_json::Value = http.get_json("JWKS", jwks_uri).await?;
    let keys = id_token::parse_jwks(&doc);
    if keys.is_empty() {
        return Err(OidcError::Metadata(
            "the JWKS has no usable signing key".into(),
        ));
    }
    Ok(keys)
}
