//! `SlackClient`: the Web API methods ClassCred calls, over the one outbound client
//! (`classcred-outbound`), which only reaches the Slack subprocessors the privacy registry
//! declares ([`OutboundPolicy`]).
//!
//! Write methods send JSON (`application/json; charset=utf-8`) like the official SDK; reads and
//! `oauth.v2.access` send forms. HTTP 429 is retried after `Retry-After` (bounded attempts; Slack
//! did not process a rate-limited call, so this is safe for writes too); reads are also retried
//! with exponential backoff on transport errors and 5xx. `ok:false` becomes
//! [`SlackApiError::Api`] with Slack's error string. Nothing here logs a request or response
//! body: only method names, attempts and statuses.

mod methods;

use crate::body::PayloadError;
use crate::ids::{SlackChannelId, SlackTs};
use classcred_outbound::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
pub use classcred_outbound::{is_loopback, OutboundPolicy, PolicyError};
use classcred_outbound::{Limits, OutboundClient, OutboundError, OutboundResponse, StatusCode};
use classcred_store::registry::subprocessors::{SLACK_RESPONSE_URL, SLACK_WEB_API};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;
use std::time::Duration;
use url::Url;

/// Slack's Web API base URL.
pub const DEFAULT_API_BASE_URL: &str = "https://slack.com/api/";
const JSON_UTF8: &str = "application/json; charset=utf-8";

/// A bot token (`xoxb-…`). Never printed.
#[derive(Clone)]
pub struct BotToken(SecretString);

impl BotToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(SecretString::from(token.into()))
    }

    /// The token, for storing it encrypted. Do not log it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BotToken([REDACTED])")
    }
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct SlackClientConfig {
    /// Web API base URL (`slack.api_base_url`); a loopback URL (tests) also allows plain http.
    pub api_base_url: String,
    /// Most attempts per call, counting the first.
    pub max_attempts: u32,
    /// First backoff for retried reads; doubles each attempt.
    pub backoff: Duration,
    /// Longest `Retry-After` we honour; a longer one fails the call as rate limited.
    pub max_retry_after: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Largest response body read; a longer one is refused while it is read (never buffered
    /// whole).
    pub max_response_bytes: usize,
}

impl Default for SlackClientConfig {
    fn default() -> Self {
        Self {
            api_base_url: DEFAULT_API_BASE_URL.to_owned(),
            max_attempts: 3,
            backoff: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            max_response_bytes: crate::body::MAX_BODY_BYTES,
        }
    }
}

/// Why a Web API call failed. Display never contains tokens, bodies or full URLs.
#[derive(Debug, thiserror::Error)]
pub enum SlackApiError {
    /// The URL is not allowed by the [`OutboundPolicy`]; nothing was sent.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// Slack answered `ok:false`.
    #[error("{method}: Slack error {error}")]
    Api {
        /// Web API method.
        method: String,
        /// Slack's error string, e.g. `channel_not_found`.
        error: String,
    },
    /// Still rate limited after the last attempt (or `Retry-After` too long).
    #[error("{method}: rate limited (Retry-After {retry_after_secs} s) after {attempts} attempts")]
    RateLimited {
        /// Web API method.
        method: String,
        /// The last `Retry-After`.
        retry_after_secs: u64,
        /// Attempts made.
        attempts: u32,
    },
    /// A non-2xx status other than 429.
    #[error("{method}: HTTP {status}")]
    Status {
        /// Web API method.
        method: String,
        /// The status code.
        status: u16,
    },
    /// Connection, TLS or timeout error.
    #[error("{method}: transport error: {source}")]
    Transport {
        /// Web API method.
        method: String,
        /// The cause (its URL removed).
        source: classcred_outbound::TransportError,
    },
    /// The response is not the JSON we expect.
    #[error("{method}: unexpected response: {source}")]
    Decode {
        /// Web API method.
        method: String,
        /// What was wrong (no content).
        source: PayloadError,
    },
    /// A paginated method returned the same cursor twice or too many pages.
    #[error("{method}: pagination did not end")]
    Pagination {
        /// Web API method.
        method: String,
    },
    /// The HTTP client could not be built.
    #[error("could not build HTTP client")]
    Build,
}

enum Auth<'a> {
    None,
    Bearer(&'a BotToken),
    Basic {
        client_id: &'a str,
        client_secret: &'a SecretString,
    },
}

enum Body {
    Json(Value),
    Form(Vec<(&'static str, String)>),
}

/// A message to post.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutgoingMessage {
    /// Channel (or user id for a DM).
    pub channel: String,
    /// Fallback text; always set, also when sending blocks.
    pub text: String,
    /// Block Kit blocks (a JSON array), if any.
    pub blocks: Option<Value>,
    /// Reply in this thread.
    pub thread_ts: Option<SlackTs>,
}

/// Where a posted message landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedMessageRef {
    /// Channel id.
    pub channel: SlackChannelId,
    /// Message ts.
    pub ts: SlackTs,
}

/// The Slack Web API client.
#[derive(Debug, Clone)]
pub struct SlackClient {
    http: OutboundClient,
    base: Url,
    config: SlackClientConfig,
}

/// The registry's Slack subprocessors: the Web API and response URLs.
pub fn default_policy() -> Result<OutboundPolicy, PolicyError> {
    OutboundPolicy::for_subprocessors(&[SLACK_WEB_API, SLACK_RESPONSE_URL])
}

impl SlackClient {
    /// A client with the registry's Slack subprocessors (`https://slack.com/api/…`,
    /// `https://hooks.slack.com/commands|actions/…`; plus exactly the base URL's origin when it
    /// is on loopback, a local fake). Fails if the base URL itself is not allowed.
    pub fn new(config: SlackClientConfig) -> Result<Self, SlackApiError> {
        Self::with_policy(config, default_policy()?)
    }

    /// A client with an explicit policy (a loopback base URL's exact origin is still added,
    /// explicitly, as standing in for the Web API).
    pub fn with_policy(
        config: SlackClientConfig,
        mut policy: OutboundPolicy,
    ) -> Result<Self, SlackApiError> {
        let mut base_str = config.api_base_url.clone();
        if !base_str.ends_with('/') {
            base_str.push('/');
        }
        let base = Url::parse(&base_str).map_err(|_| PolicyError::InvalidUrl)?;
        if is_loopback(&base) {
            policy = policy.allow_loopback(SLACK_WEB_API, &base)?;
        }
        policy.check(&base)?;
        let http = OutboundClient::new(
            policy,
            Limits {
                timeout: config.timeout,
                max_response_bytes: config.max_response_bytes,
                ..Limits::default()
            },
        )
        .map_err(|_| SlackApiError::Build)?;
        Ok(Self { http, base, config })
    }

    /// The policy in force.
    pub fn policy(&self) -> &OutboundPolicy {
        self.http.policy()
    }

    async fn call(
        &self,
        method: &str,
        auth: Auth<'_>,
        body: Body,
        idempotent_read: bool,
    ) -> Result<Value, SlackApiError> {
        let url = self
            .base
            .join(method)
            .map_err(|_| PolicyError::InvalidUrl)?;
        self.send(method, url, auth, body, idempotent_read).await
    }

    async fn send(
        &self,
        method: &str,
        url: Url,
        auth: Auth<'_>,
        body: Body,
        idempotent_read: bool,
    ) -> Result<Value, SlackApiError> {
        self.policy().check(&url)?;
        let max = self.config.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = self.http.post(&url)?;
            req = match &auth {
                Auth::None => req,
                Auth::Bearer(t) => req.bearer_auth(t.0.expose_secret()),
                Auth::Basic {
                    client_id,
                    client_secret,
                } => req.basic_auth(client_id, Some(client_secret.expose_secret())),
            };
            req = match &body {
                Body::Json(v) => req
                    .header(CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8))
                    .body(v.to_string()),
                Body::Form(f) => req.form(f),
            };
            let resp = match self.http.send(req).await {
                Ok(r) => r,
                Err(OutboundError::Policy(e)) => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(slack.method = method, attempt, "Slack call failed");
                    if idempotent_read && attempt < max {
                        tokio::time::sleep(self.backoff(attempt)).await;
                        continue;
                    }
                    return Err(transport(method, e));
                }
            };
            let status = resp.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                let secs = retry_after_secs(resp.headers().get(RETRY_AFTER));
                tracing::warn!(
                    slack.method = method,
                    attempt,
                    retry_after = secs,
                    "rate limited"
                );
                let wait = Duration::from_secs(secs);
                if attempt < max && wait <= self.config.max_retry_after {
                    tokio::time::sleep(wait).await;
                    continue;
                }
                return Err(SlackApiError::RateLimited {
                    method: method.to_owned(),
                    retry_after_secs: secs,
                    attempts: attempt,
                });
            }
            if status.is_server_error() && idempotent_read && attempt < max {
                tracing::warn!(
                    slack.method = method,
                    attempt,
                    status = status.as_u16(),
                    "retrying"
                );
                tokio::time::sleep(self.backoff(attempt)).await;
                continue;
            }
            if !status.is_success() {
                return Err(SlackApiError::Status {
                    method: method.to_owned(),
                    status: status.as_u16(),
                });
            }
            let bytes = self.read_bounded(method, resp).await?;
            tracing::debug!(slack.method = method, attempt, "Slack call done");
            return check_ok(method, &bytes);
        }
    }

    /// The response body, at most `max_response_bytes`: refused from its `Content-Length`
    /// before reading, or as soon as the chunks read exceed the limit (the outbound client).
    async fn read_bounded(
        &self,
        method: &str,
        resp: OutboundResponse,
    ) -> Result<Vec<u8>, SlackApiError> {
        resp.bytes().await.map_err(|e| match e {
            OutboundError::TooLarge { limit } => SlackApiError::Decode {
                method: method.to_owned(),
                source: PayloadError::TooLarge { limit },
            },
            other => outbound(method, other),
        })
    }

    fn backoff(&self, attempt: u32) -> Duration {
        self.config
            .backoff
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
    }
}

fn transport(method: &str, e: OutboundError) -> SlackApiError {
    outbound(method, e)
}

/// An outbound client error as a Web API error.
fn outbound(method: &str, e: OutboundError) -> SlackApiError {
    match e {
        OutboundError::Policy(p) => SlackApiError::Policy(p),
        OutboundError::Transport(source) => SlackApiError::Transport {
            method: method.to_owned(),
            source,
        },
        OutboundError::TooLarge { limit } => SlackApiError::Decode {
            method: method.to_owned(),
            source: PayloadError::TooLarge { limit },
        },
        OutboundError::Build => SlackApiError::Build,
    }
}

fn retry_after_secs(h: Option<&HeaderValue>) -> u64 {
    h.and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(1)
}

fn check_ok(method: &str, bytes: &[u8]) -> Result<Value, SlackApiError> {
    // `response_url` may answer with a plain `ok`; treat any non-JSON 2xx there as success.
    if method == "response_url" && serde_json::from_slice::<Value>(bytes).is_err() {
        return Ok(Value::Null);
    }
    let v: Value = crate::body::parse_json(bytes).map_err(|source| SlackApiError::Decode {
        method: method.to_owned(),
        source,
    })?;
    match v.get("ok") {
        Some(Value::Bool(true)) => Ok(v),
        _ if method == "response_url" && v.get("ok").is_none() => Ok(v),
        _ => Err(SlackApiError::Api {
            method: method.to_owned(),
            error: v
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("unknown_error")
                .to_owned(),
        }),
    }
}

fn decode<T: serde::de::DeserializeOwned>(method: &str, v: Value) -> Result<T, SlackApiError> {
    serde_json::from_value(v).map_err(|e| SlackApiError::Decode {
        method: method.to_owned(),
        source: e.into(),
    })
}

impl<'de> Deserialize<'de> for BotToken {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(BotToken::new)
    }
}
