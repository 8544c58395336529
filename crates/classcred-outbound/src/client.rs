//! [`OutboundClient`]: the only place in ClassCred where an HTTP client is built (a test scans
//! the sources for any other). Every request is checked against the [`OutboundPolicy`] when it
//! is made and again, on its final URL, right before it is sent; redirects are never followed
//! (a 3xx is handed back as it is); connect and total timeouts are set; response bodies are
//! read up to a limit, refused from their `Content-Length` or as soon as the bytes read exceed
//! it, never buffered whole.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use url::Url;

use crate::policy::{OutboundPolicy, PolicyError};

/// Time and size bounds of a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest wait for a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Longest a whole request may take, body included.
    pub timeout: Duration,
    /// Largest response body read.
    pub max_response_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            max_response_bytes: 1024 * 1024,
        }
    }
}

/// Why an outbound call failed. Display never contains a URL, a header or a body.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The URL is not allowed; nothing was sent.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// Connection, TLS or timeout error (its URL removed).
    #[error("transport error: {0}")]
    Transport(reqwest::Error),
    /// The response body is larger than the client's limit.
    #[error("response larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client")]
    Build,
}

impl OutboundError {
    /// The transport error, its URL removed.
    pub fn transport(e: reqwest::Error) -> Self {
        Self::Transport(e.without_url())
    }
}

/// The outbound HTTP client. Cheap to clone (one connection pool).
#[derive(Debug, Clone)]
pub struct OutboundClient {
    http: reqwest::Client,
    policy: Arc<OutboundPolicy>,
    limits: Limits,
}

/// A response whose body has not been read yet.
#[derive(Debug)]
pub struct OutboundResponse {
    inner: reqwest::Response,
    limit: usize,
}

impl OutboundResponse {
    pub fn status(&self) -> StatusCode {
        self.inner.status()
    }

    pub fn headers(&self) -> &HeaderMap {
        self.inner.headers()
    }

    /// The body, at most the client's `max_response_bytes`.
    pub async fn bytes(mut self) -> Result<Vec<u8>, OutboundError> {
        let limit = self.limit;
        if self
            .inner
            .content_length()
            .is_some_and(|n| n > limit as u64)
        {
            return Err(OutboundError::TooLarge { limit });
        }
        let mut buf = Vec::new();
        while let Some(chunk) = self.inner.chunk().await.map_err(OutboundError::transport)? {
            if buf.len() + chunk.len() > limit {
                return Err(OutboundError::TooLarge { limit });
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf)
    }
}

impl OutboundClient {
    /// A client that reaches only what `policy` allows.
    pub fn new(policy: OutboundPolicy, limits: Limits) -> Result<Self, OutboundError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.timeout)
            .user_agent(concat!("classcred/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| OutboundError::Build)?;
        Ok(Self {
            http,
            policy: Arc::new(policy),
            limits,
        })
    }

    /// The policy in force.
    pub fn policy(&self) -> &OutboundPolicy {
        &self.policy
    }

    /// The bounds in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// A GET to `url`, refused unless the policy allows it.
    pub fn get(&self, url: &Url) -> Result<RequestBuilder, PolicyError> {
        self.policy.check(url)?;
        Ok(self.http.get(url.clone()))
    }

    /// A POST to `url`, refused unless the policy allows it.
    pub fn post(&self, url: &Url) -> Result<RequestBuilder, PolicyError> {
        self.policy.check(url)?;
        Ok(self.http.post(url.clone()))
    }

    /// A PUT to `url`, refused unless the policy allows it (Matrix sends messages with PUT).
    pub fn put(&self, url: &Url) -> Result<RequestBuilder, PolicyError> {
        self.policy.check(url)?;
        Ok(self.http.put(url.clone()))
    }

    /// Send a request built by [`Self::get`], [`Self::post`] or [`Self::put`]. Its final URL is checked again,
    /// and it is sent by this client whatever built it. Logs the subprocessor and the status
    /// only.
    pub async fn send(&self, request: RequestBuilder) -> Result<OutboundResponse, OutboundError> {
        let (_, request) = request.build_split();
        let request = request.map_err(OutboundError::transport)?;
        let target = self.policy.check(request.url())?.id();
        let response = match self.http.execute(request).await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(target_id = target, "outbound call failed");
                return Err(OutboundError::transport(e));
            }
        };
        tracing::debug!(
            target_id = target,
            status = response.status().as_u16(),
            "outbound call"
        );
        Ok(OutboundResponse {
            inner: response,
            limit: self.limits.max_response_bytes,
        })
    }
}
