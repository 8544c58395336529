//! Inbound authentication: the Bot Framework's JWT on every activity (`Authorization: Bearer`).
//!
//! The rules, as botframework-connector's `ChannelValidation` applies them (PLATFORMS.md §3.2):
//! the signing key is found by the token's `kid` in the keys named by the OpenID metadata's
//! `jwks_uri`; the key's `endorsements` contain the activity's `channelId`; the algorithm is
//! RS256, RS384 or RS512; `iss` is exactly `https://api.botframework.com`; `aud` is exactly the
//! bot's app id; `exp`/`nbf` hold with five minutes of leeway; the `serviceurl` claim equals the
//! activity's `serviceUrl`. Deliberately stricter than the reference in two places: a key with
//! no endorsements at all, and an activity without a `channelId`, are refused (the reference lets
//! both through), and `exp` is required.
//!
//! [`KeySet`] fetches and caches the keys through the one outbound client: kept a day, fetched
//! again at most once an hour when a token names a key not in the cache.

use std::sync::Arc;
use std::time::{Duration, Instant};

use classcred_outbound::{OutboundClient, Url};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The issuer of tokens the Bot Framework sends to bots.
pub const ISSUER: &str = "https://api.botframework.com";
/// Clock tolerance on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECONDS: u64 = 300;
/// How long fetched keys are used before they are fetched again.
pub const KEYS_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// Shortest time between two fetches caused by an unknown `kid`.
pub const UNKNOWN_KID_REFETCH: Duration = Duration::from_secs(3600);

/// Why a request was refused (the metric and log reason; no token content).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no Authorization: Bearer header")]
    MissingToken,
    #[error("not a well-formed JWT")]
    Malformed,
    #[error("the token names no key, or a key the Bot Framework does not publish")]
    UnknownKey,
    #[error("the signing key is not endorsed for the activity's channel")]
    NotEndorsed,
    #[error("algorithm other than RS256/RS384/RS512")]
    Algorithm,
    #[error("bad signature")]
    BadSignature,
    #[error("expired")]
    Expired,
    #[error("not valid yet")]
    NotYetValid,
    #[error("wrong issuer")]
    WrongIssuer,
    #[error("wrong audience")]
    WrongAudience,
    #[error("the serviceurl claim is not the activity's serviceUrl")]
    ServiceUrlMismatch,
    #[error("the signing keys could not be fetched")]
    KeysUnavailable,
}

impl AuthError {
    /// The fixed word counted in `classcred_rejected_requests{source="teams",reason}`.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::MissingToken => "missing_token",
            AuthError::Malformed => "malformed_token",
            AuthError::UnknownKey => "unknown_key",
            AuthError::NotEndorsed => "not_endorsed",
            AuthError::Algorithm => "bad_algorithm",
            AuthError::BadSignature => "bad_signature",
            AuthError::Expired => "expired",
            AuthError::NotYetValid => "not_yet_valid",
            AuthError::WrongIssuer => "wrong_issuer",
            AuthError::WrongAudience => "wrong_audience",
            AuthError::ServiceUrlMismatch => "serviceurl_mismatch",
            AuthError::KeysUnavailable => "keys_unavailable",
        }
    }
}

/// One published signing key.
#[derive(Clone)]
pub struct BotKey {
    pub kid: String,
    pub endorsements: Vec<String>,
    key: DecodingKey,
}

impl std::fmt::Debug for BotKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotKey")
            .field("kid", &self.kid)
            .field("endorsements", &self.endorsements)
            .finish()
    }
}

#[derive(Deserialize)]
struct RawKey {
    #[serde(default)]
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    endorsements: Vec<String>,
}

/// The RSA signing keys of a JWKS document (others are left out).
pub fn parse_jwks(doc: &Value) -> Vec<BotKey> {
    let Some(keys) = doc.get("keys").and_then(Value::as_array) else {
        return Vec::new();
    };
    keys.iter()
        .filter_map(|k| serde_json::from_value::<RawKey>(k.clone()).ok())
        .filter(|k| k.kty == "RSA" && k.use_.as_deref().is_none_or(|u| u == "sig"))
        .filter_map(|k| {
            let key = DecodingKey::from_rsa_components(k.n.as_deref()?, k.e.as_deref()?).ok()?;
            Some(BotKey {
                kid: k.kid?,
                endorsements: k.endorsements,
                key,
            })
        })
        .collect()
}

/// What the token must say about this delivery.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The bot's app id (`aud`).
    pub app_id: &'a str,
    /// The activity's `channelId` (`msteams`).
    pub channel_id: &'a str,
    /// The activity's `serviceUrl`.
    pub service_url: &'a str,
    /// Now, Unix seconds.
    pub now: i64,
}

/// The bearer token of an `Authorization` header value (`Bearer <jwt>`, scheme as written).
pub fn bearer(header: Option<&str>) -> Result<&str, AuthError> {
    let h = header.ok_or(AuthError::MissingToken)?;
    match h.split_once(' ') {
        Some(("Bearer", token)) if !token.is_empty() && !token.contains(' ') => Ok(token),
        _ => Err(AuthError::MissingToken),
    }
}

/// The `kid` of a token's header.
pub fn key_id(token: &str) -> Result<String, AuthError> {
    jsonwebtoken::decode_header(token)
        .map_err(|_| AuthError::Malformed)?
        .kid
        .ok_or(AuthError::UnknownKey)
}

fn seconds(claims: &Map<String, Value>, name: &str) -> Option<i64> {
    let v = claims.get(name)?;
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

/// Validates `token` with `keys` (see the module docs). Returns the claims.
pub fn validate(
    token: &str,
    keys: &[BotKey],
    expected: &Expected<'_>,
) -> Result<Map<String, Value>, AuthError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
    let kid = header.kid.as_deref().ok_or(AuthError::UnknownKey)?;
    let key = keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or(AuthError::UnknownKey)?;
    if expected.channel_id.is_empty() || !key.endorsements.iter().any(|e| e == expected.channel_id)
    {
        return Err(AuthError::NotEndorsed);
    }
    if !matches!(
        header.alg,
        Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512
    ) {
        return Err(AuthError::Algorithm);
    }
    let mut validation = Validation::new(header.alg);
    // Checked below, against the caller's clock and exactly.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => AuthError::BadSignature,
            _ => AuthError::Malformed,
        })?
        .claims;
    let leeway = LEEWAY_SECONDS as i64;
    let exp = seconds(&claims, "exp").ok_or(AuthError::Expired)?;
    if expected.now > exp + leeway {
        return Err(AuthError::Expired);
    }
    if seconds(&claims, "nbf").is_some_and(|nbf| nbf > expected.now + leeway) {
        return Err(AuthError::NotYetValid);
    }
    if seconds(&claims, "iat").is_some_and(|iat| iat > expected.now + leeway) {
        return Err(AuthError::NotYetValid);
    }
    if claims.get("iss").and_then(Value::as_str) != Some(ISSUER) {
        return Err(AuthError::WrongIssuer);
    }
    // A string, exactly the app id (an audience list is refused, as by the reference).
    if expected.app_id.is_empty()
        || claims.get("aud").and_then(Value::as_str) != Some(expected.app_id)
    {
        return Err(AuthError::WrongAudience);
    }
    if claims.get("serviceurl").and_then(Value::as_str) != Some(expected.service_url) {
        return Err(AuthError::ServiceUrlMismatch);
    }
    Ok(claims)
}

struct Cache {
    keys: Arc<Vec<BotKey>>,
    fetched_at: Option<Instant>,
    /// The last fetch, successful or not (a failing provider is not asked on every request).
    attempted_at: Option<Instant>,
}

/// Shortest time between two fetches after a failed one.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(60);

/// The Bot Framework's signing keys, fetched through the outbound client and cached.
#[derive(Clone)]
pub struct KeySet {
    client: OutboundClient,
    metadata_url: Url,
    cache: Arc<tokio::sync::Mutex<Cache>>,
}

impl KeySet {
    /// Keys from the OpenID metadata at `metadata_url`; `client` must allow its origin (and
    /// the `jwks_uri`'s).
    pub fn new(client: OutboundClient, metadata_url: Url) -> Self {
        Self {
            client,
            metadata_url,
            cache: Arc::new(tokio::sync::Mutex::new(Cache {
                keys: Arc::new(Vec::new()),
                fetched_at: None,
                attempted_at: None,
            })),
        }
    }

    async fn get_json(&self, url: &Url) -> anyhow::Result<Value> {
        let req = self.client.get(url)?;
        let resp = self.client.send(req).await?;
        if !resp.status().is_success() {
            anyhow::bail!("status {}", resp.status().as_u16());
        }
        Ok(serde_json::from_slice(&resp.bytes().await?)?)
    }

    async fn fetch(&self) -> anyhow::Result<Vec<BotKey>> {
        let metadata = self.get_json(&self.metadata_url).await?;
        let jwks_uri = metadata
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow::anyhow!("metadata without jwks_uri"))?;
        let jwks_uri = Url::parse(jwks_uri)?;
        // The outbound policy refuses any origin not declared (the metadata's own, normally).
        let keys = parse_jwks(&self.get_json(&jwks_uri).await?);
        if keys.is_empty() {
            anyhow::bail!("no RSA signing keys");
        }
        Ok(keys)
    }

    /// The keys to check a token with key id `kid`: cached ones, fetched when none are cached
    /// or they are a day old, and again when `kid` is unknown and the last fetch is an hour old.
    pub async fn keys_for(&self, kid: &str) -> Result<Arc<Vec<BotKey>>, AuthError> {
        let mut cache = self.cache.lock().await;
        let since = |t: Option<Instant>, d: Duration| t.is_none_or(|t| t.elapsed() >= d);
        let stale =
            since(cache.fetched_at, KEYS_MAX_AGE) && since(cache.attempted_at, RETRY_AFTER_FAILURE);
        let unknown = !cache.keys.iter().any(|k| k.kid == kid)
            && since(cache.attempted_at, UNKNOWN_KID_REFETCH);
        if stale || unknown {
            cache.attempted_at = Some(Instant::now());
            match self.fetch().await {
                Ok(keys) => {
                    tracing::info!(keys = keys.len(), "Bot Framework signing keys fetched");
                    cache.keys = Arc::new(keys);
                    cache.fetched_at = Some(Instant::now());
                }
                Err(e) => {
                    tracing::warn!(error = %e, "Bot Framework signing keys not fetched");
                    if cache.keys.is_empty() {
                        return Err(AuthError::KeysUnavailable);
                    }
                }
            }
        }
        if cache.keys.is_empty() {
            return Err(AuthError::KeysUnavailable);
        }
        Ok(cache.keys.clone())
    }

    /// Validates the `Authorization` header of a delivery.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
        expected: &Expected<'_>,
    ) -> Result<Map<String, Value>, AuthError> {
        let token = bearer(authorization)?;
        let kid = key_id(token)?;
        let keys = self.keys_for(&kid).await?;
        validate(token, &keys, expected)
    }
}
