//! What every request passes through: its trace span and id, metrics, the request deadline,
//! and the answer when a handler panics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::metrics::{self, Metrics};

/// Every request gets a span with a generated id (returned as `x-request-id`), is counted by
/// route pattern and normalised method, and is timed.
pub(crate) async fn track(
    State(metrics): State<Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let method = metrics::method_label(req.method().as_str());
    // The route pattern, never the raw path: paths may carry ids and must not explode labels.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    // Our own id: a client-supplied one is not trusted (every request is hostile).
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let span = tracing::info_span!("request", request_id = %request_id, method, route = %route);
    let started = Instant::now();
    let mut response = next.run(req).instrument(span).await;
    metrics.observe_request(
        method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// The response header carrying the request id (also the `request_id` field of the trace span).
pub const REQUEST_ID: &str = "x-request-id";

/// Reading the body and handling a request must finish within the limit; a client that trickles
/// its body gets 408 and its connection is closed.
pub(crate) async fn request_deadline(
    State(limit): State<Duration>,
    req: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::debug!("request deadline passed");
            (
                StatusCode::REQUEST_TIMEOUT,
                [(header::CONNECTION, "close")],
                "request timeout",
            )
                .into_response()
        }
    }
}

/// The answer when a request handler panics. The panic message may carry request data, so only
/// the fact is logged (inside the request's span, which has its id and route).
pub(crate) fn handler_panicked(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("request handler panicked");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}
