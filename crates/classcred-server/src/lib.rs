//! The ClassCred HTTP server and background workers.
//!
//! [`Application::bind`] binds the listener first (tests use port 0), then
//! [`Application::run_until`] serves until the shutdown future resolves, finishing requests in
//! flight within a deadline. Connections are bounded and timed out ([`HttpLimits`]). Workers
//! ([`worker::Worker`]) claim jobs from the store's queue.

mod connection;
mod evict;
mod layers;
pub mod metrics;
pub mod tls;
pub mod worker;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use classcred_store::Store;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower_http::catch_panic::CatchPanicLayer;

pub use layers::REQUEST_ID;
pub use metrics::Metrics;

use connection::{Connection, Mode, Permit};
use layers::{handler_panicked, request_deadline, track};

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub metrics: Arc<Metrics>,
}

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub tls: Option<TlsFiles>,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
}

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Errors at the HTTP boundary. 5xx answers never carry detail; it goes to the log.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("unauthorized")]
    Unauthorized,
    #[error("service unavailable")]
    Unavailable,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = match &self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Unauthorized => StatusCode::UNAUTHORIZED,
            WebError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let body = match &self {
            WebError::Internal(_) => "internal error".to_string(),
            other => other.to_string(),
        };
        (status, body).into_response()
    }
}

/// The routes every instance serves (`/healthz` and `/metrics`); platform adapters merge theirs
/// into it.
pub fn router(state: AppState) -> Router {
    health_router(state.clone()).merge(metrics_router(state))
}

/// `/healthz` alone.
pub fn health_router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .with_state(state)
}

/// `/metrics` alone (for a separate, private listen address: `metrics_listen`).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> Result<&'static str, WebError> {
    match state.store.ping().await {
        Ok(()) => Ok("ok"),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database did not answer");
            Err(WebError::Unavailable)
        }
    }
}

async fn metrics_handler(State(state): State<AppState>) -> Result<Response, WebError> {
    // Cached for a few seconds, one query at a time: scrapes cannot load the database.
    let counts = state
        .metrics
        .job_counts(&state.store)
        .await
        .map_err(|e| WebError::Internal(e.into()))?;
    // Today's usage statistics (only written when the operator enabled them and visitors
    // accepted): counts per page group, a fixed short list of labels.
    let today = state.store.clock().now().date_naive().to_string();
    let usage = state
        .store
        .usage_counts_since(&today)
        .await
        .map_err(|e| WebError::Internal(e.into()))?;
    state.metrics.set_usage_visitors(
        usage
            .iter()
            .filter(|u| u.day == today)
            .map(|u| (u.page_group.as_str(), u.visitors)),
    );
    let body = state.metrics.render(&counts);
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response())
}

/// Connection limits and timeouts. Every one bounds what a hostile client can hold.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Time to send a request's headers, counted from when the server starts waiting for them:
    /// it also bounds how long a kept-alive connection may sit idle between requests, and the
    /// TLS handshake.
    pub header_timeout: Duration,
    /// Time to send the body and get the answer (the whole request after its headers).
    pub request_timeout: Duration,
    /// A connection on which no byte moves in either direction for this long is closed (for
    /// example a client that stops reading its response). Must exceed the slowest handler.
    pub idle_timeout: Duration,
    /// Connections served at once. At the cap, a new connection takes the slot of the oldest one
    /// that has no request in progress (a half-sent request, an idle keep-alive), which is
    /// closed. When every connection is busy with a request, up to
    /// [`HttpLimits::overflow_connections`] more are accepted that answer only `/healthz`
    /// (everything else 503), with a short header timeout and no keep-alive; beyond those,
    /// connections are closed at once. Open sockets are bounded by the sum.
    pub max_connections: usize,
    /// See [`HttpLimits::max_connections`].
    pub overflow_connections: usize,
    /// After shutdown is requested, connections get this long to finish; then they are closed.
    pub shutdown_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            overflow_connections: 64,
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// A bound server, ready to run.
pub struct Application {
    listener: TcpListener,
    local: SocketAddr,
    config: ServerConfig,
    acceptor: Option<TlsAcceptor>,
    routes: Router,
    metrics: Arc<Metrics>,
    limits: HttpLimits,
}

impl Application {
    /// Bind the listener. `routes` (use [`router`] plus adapters) get request ids, metrics, the
    /// body limit and the [`HttpLimits`] (defaults unless [`Application::with_limits`]).
    pub async fn bind(
        config: ServerConfig,
        routes: Router,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.listen).await?;
        let local = listener.local_addr()?;
        if config.tls.is_none() && !local.ip().is_loopback() {
            tracing::warn!(
                addr = %local,
                "listening beyond loopback without TLS: personal data would cross the network in clear; \
                 configure tls_cert_file and tls_key_file, or put a TLS-terminating proxy in front"
            );
        }
        // Bad TLS files fail here, before anything announces readiness.
        let acceptor = config.tls.as_ref().map(tls::acceptor).transpose()?;
        Ok(Self {
            listener,
            local,
            config,
            acceptor,
            routes,
            metrics,
            limits: HttpLimits::default(),
        })
    }

    /// Replace the default limits.
    pub fn with_limits(mut self, limits: HttpLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Serve until `shutdown` resolves. Then no new connection is accepted, requests in flight
    /// get [`HttpLimits::shutdown_timeout`] to finish, and what is still open after it is closed.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Application {
            listener,
            local,
            config,
            acceptor,
            routes,
            metrics,
            limits,
        } = self;
        let app = routes
            // Innermost: a handler that panics answers 500 through the layers below (request id,
            // metrics), instead of dropping the connection.
            .layer(CatchPanicLayer::custom(handler_panicked))
            .layer(DefaultBodyLimit::max(config.body_limit))
            .layer(middleware::from_fn_with_state(
                limits.request_timeout,
                request_deadline,
            ))
            .layer(middleware::from_fn_with_state(metrics.clone(), track));
        match acceptor {
            Some(_) => tracing::info!(addr = %local, "listening with TLS"),
            None => tracing::info!(addr = %local, "listening"),
        }
        let full = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        let overflow = Arc::new(Semaphore::new(limits.overflow_connections));
        let tracker = Arc::new(evict::Tracker::default());
        let (closing_tx, closing_rx) = watch::channel(false);
        let mut connections = JoinSet::new();
        let shutdown = shutdown;
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                () = &mut shutdown => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
                accepted = listener.accept() => match accepted {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of descriptors, typically: wait instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let (permit, mode) = if let Ok(p) = full.clone().try_acquire_owned() {
                (Permit::Held(p), Mode::Full)
            } else if tracker.evict_oldest_idle() {
                metrics.observe_rejection("http", "connection_evicted");
                (Permit::Freed(full.clone()), Mode::Full)
            } else if let Ok(p) = overflow.clone().try_acquire_owned() {
                metrics.observe_rejection("http", "connection_limit_health_only");
                (Permit::Held(p), Mode::HealthOnly)
            } else {
                metrics.observe_rejection("http", "connection_limit");
                drop(stream);
                continue;
            };
            let conn = Connection {
                app: app.clone(),
                tracker: tracker.clone(),
                mode,
                limits: limits.clone(),
                closing: closing_rx.clone(),
                peer,
            };
            connections.spawn(conn.serve(stream, acceptor.clone(), permit));
        }
        drop(listener);
        let open = connections.len();
        tracing::info!(open, "server stopping: no new connections");
        let _ = closing_tx.send(true);
        let drained = tokio::time::timeout(limits.shutdown_timeout, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                open = connections.len(),
                deadline = ?limits.shutdown_timeout,
                "shutdown deadline passed: closing the connections still open"
            );
            connections.shutdown().await;
        }
        tracing::info!("server stopped");
        Ok(())
    }
}

/// A future that resolves on Ctrl-C or SIGTERM. The SIGTERM handler is installed when this is
/// called, not when the future is first polled, so call it before announcing readiness: a
/// SIGTERM that arrives early then still shuts down cleanly instead of killing the process.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async {
            match term.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            _ = term => {},
        }
        tracing::info!("shutdown requested");
    }
}
