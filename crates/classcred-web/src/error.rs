//! [`WebError`]: every way a dashboard request fails, each answered with a status and an HTML
//! page in the site's layout. Server errors are logged by kind and ids only and shown without
//! detail.

use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use classcred_service::login::LoginError;

/// A failed dashboard request.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No (live) session: pages redirect (303) to `/`.
    #[error("not signed in")]
    SignedOut,
    /// Signed in, but the role may not use this page.
    #[error("forbidden for this role")]
    Forbidden,
    /// Nothing here for this community (also: an id of another community).
    #[error("not found")]
    NotFound,
    /// The form's CSRF token is missing or wrong.
    #[error("CSRF check failed")]
    Csrf,
    /// Bad input; the message is shown to the user and must not echo it.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// A login link was refused.
    #[error("login link refused: {0}")]
    Login(LoginError),
    /// Anything on our side; logged, never shown.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<classcred_store::StoreError> for WebError {
    fn from(e: classcred_store::StoreError) -> Self {
        match e {
            classcred_store::StoreError::NotFound { .. } => WebError::NotFound,
            other => WebError::Internal(Box::new(other)),
        }
    }
}

impl From<classcred_service::ServiceError> for WebError {
    fn from(e: classcred_service::ServiceError) -> Self {
        match e {
            classcred_service::ServiceError::Store(s) => s.into(),
            other => WebError::Internal(Box::new(other)),
        }
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::Internal(Box::new(e))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: crate::pages::Chrome,
    title: &'static str,
    message: &'static str,
}

impl WebError {
    /// Status, title and the sentence shown to the user.
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            WebError::SignedOut => (
                StatusCode::SEE_OTHER,
                "Signed out",
                "Please sign in again.",
            ),
            WebError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Not for your role",
                "This page is for the course's instructors and administrators.",
            ),
            WebError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here for your class.",
            ),
            WebError::Csrf => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form could not be checked (it may be from another tab or an older sign-in). Go back, reload the page and try again.",
            ),
            WebError::BadRequest(why) => (StatusCode::BAD_REQUEST, "Bad request", why),
            WebError::Login(e) => login_refusal(*e),
            WebError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Something went wrong on our side. Please try again in a moment.",
            ),
        }
    }
}

fn login_refusal(e: LoginError) -> (StatusCode, &'static str, &'static str) {
    match e {
        LoginError::Malformed | LoginError::BadSignature => (
            StatusCode::BAD_REQUEST,
            "This sign-in link is not valid",
            "The link is incomplete or was changed. Ask for a new one with /cred dashboard in your class chat.",
        ),
        LoginError::Expired => (
            StatusCode::FORBIDDEN,
            "This sign-in link has expired",
            "Sign-in links work for 5 minutes. Ask for a new one with /cred dashboard in your class chat.",
        ),
        LoginError::Reused => (
            StatusCode::FORBIDDEN,
            "This sign-in link was already used",
            "Each sign-in link works once. Ask for a new one with /cred dashboard in your class chat.",
        ),
        LoginError::UnknownMember => (
            StatusCode::FORBIDDEN,
            "This sign-in link is not for this class",
            "The link does not name a member of its class. Ask for a new one with /cred dashboard in your class chat.",
        ),
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let WebError::SignedOut = self {
            return Redirect::to("/").into_response();
        }
        if let WebError::Internal(e) = &self {
            // The error's kind only: store and service errors carry ids, never personal data.
            tracing::error!(error = %e, "dashboard request failed");
        }
        let (status, title, message) = self.parts();
        let mut response = error_page(status, crate::pages::Chrome::bare(title), title, message);
        response
            .extensions_mut()
            .insert(ErrorShown { title, message });
        response
    }
}

/// An error page in the site's layout, `no-store`.
pub(crate) fn error_page(
    status: StatusCode,
    chrome: crate::pages::Chrome,
    title: &'static str,
    message: &'static str,
) -> Response {
    let page = ErrorPage {
        chrome,
        title,
        message,
    };
    match page.render() {
        Ok(html) => (
            status,
            [(header::CACHE_CONTROL, "no-store")],
            axum::response::Html(html),
        )
            .into_response(),
        Err(_) => (status, title).into_response(),
    }
}

/// What an error page said, kept on the response so [`with_viewer_chrome`] can show it again
/// inside the signed-in layout.
#[derive(Clone, Copy)]
struct ErrorShown {
    title: &'static str,
    message: &'static str,
}

/// Middleware: an error page answered to a signed-in member keeps their navigation and Sign out
/// (the error itself is made where the viewer is not known). The status and the message stay.
pub async fn with_viewer_chrome(
    axum::extract::State(state): axum::extract::State<crate::WebState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut probe = axum::http::Request::new(());
    *probe.headers_mut() = request.headers().clone();
    let (probe, ()) = probe.into_parts();
    let response = next.run(request).await;
    let Some(shown) = response.extensions().get::<ErrorShown>().copied() else {
        return response;
    };
    match crate::extract::Viewer::find(&probe, &state).await {
        Ok(Some(viewer)) => error_page(
            response.status(),
            crate::pages::Chrome::for_viewer(&viewer, shown.title, ""),
            shown.title,
            shown.message,
        ),
        _ => response,
    }
}
