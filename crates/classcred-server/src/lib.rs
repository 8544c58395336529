//! The ClassCred HTTP server and background workers.
//!
//! [`Application::bind`] binds the listener first (tests use port 0), then
//! [`Application::run_until`] serves until the shutdown future resolves, finishing requests in
//! flight. Workers ([`worker::Worker`]) claim jobs from the store's queue.

pub mod metrics;
pub mod tls;
pub mod worker;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use classcred_store::Store;
use tokio::net::TcpListener;

pub use metrics::Metrics;

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

/// The routes every instance serves; platform adapters merge theirs into it.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
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
    let counts = state
        .store
        .job_counts()
        .await
        .map_err(|e| WebError::Internal(e.into()))?;
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

async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_string();
    // The route pattern, never the raw path: paths may carry ids and must not explode labels.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let started = Instant::now();
    let response = next.run(req).await;
    metrics.observe_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// A bound server, ready to run.
pub struct Application {
    listener: TcpListener,
    config: ServerConfig,
    app: Router,
}

impl Application {
    /// Bind the listener and assemble `routes` (use [`router`] plus adapters) with request
    /// metrics and the body limit.
    pub async fn bind(
        config: ServerConfig,
        routes: Router,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        if config.tls.is_none() && !addr.ip().is_loopback() {
            tracing::warn!(
                %addr,
                "listening beyond loopback without TLS: personal data would cross the network in clear; \
                 configure tls_cert_file and tls_key_file, or put a TLS-terminating proxy in front"
            );
        }
        let app = routes
            .layer(DefaultBodyLimit::max(config.body_limit))
            .layer(middleware::from_fn_with_state(metrics, track));
        Ok(Self {
            listener,
            config,
            app,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serve until `shutdown` resolves; requests in flight are finished first.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = self.local_addr();
        match &self.config.tls {
            Some(files) => {
                let acceptor = tls::acceptor(files)?;
                tracing::info!(%addr, "listening with TLS");
                let listener = tls::TlsListener::new(self.listener, acceptor);
                axum::serve(listener, self.app)
                    .with_graceful_shutdown(shutdown)
                    .await?;
            }
            None => {
                tracing::info!(%addr, "listening");
                axum::serve(self.listener, self.app)
                    .with_graceful_shutdown(shutdown)
                    .await?;
            }
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
