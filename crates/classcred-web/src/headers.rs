//! Security headers on every response of the dashboard's routes (pages, redirects, errors and
//! static files): a Content-Security-Policy without inline script or style, no framing,
//! no referrer, no MIME sniffing, and HSTS when the site is served over TLS.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::WebState;

/// The Content-Security-Policy of every dashboard response.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                       img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; \
                       form-action 'self'";
/// `Strict-Transport-Security` under TLS: one year.
pub const HSTS: &str = "max-age=31536000";

/// The middleware (`axum::middleware::from_fn_with_state`).
pub async fn security_headers(
    State(state): State<WebState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let mut set = |name: HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(axum::http::header::CONTENT_SECURITY_POLICY, CSP);
    set(axum::http::header::REFERRER_POLICY, "no-referrer");
    set(axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(axum::http::header::X_FRAME_OPTIONS, "DENY");
    if state.tls {
        set(axum::http::header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    response
}
