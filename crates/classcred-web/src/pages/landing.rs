//! `GET /`: what ClassCred is and how to sign in; a signed-in member gets a link back to
//! their pages.

use askama::Template;
use axum::response::Response;

use super::{render, Chrome};
use axum::extract::State;

use crate::extract::MaybeViewer;
use crate::{WebError, WebState};

#[derive(Template)]
#[template(path = "landing.html")]
struct Landing {
    chrome: Chrome,
    /// Where a signed-in member continues (`/dashboard` or `/me`).
    continue_to: Option<&'static str>,
    /// "Sign in with <provider>" when OpenID Connect is configured.
    oidc_provider: Option<String>,
}

pub async fn page(
    State(state): State<WebState>,
    MaybeViewer(viewer): MaybeViewer,
) -> Result<Response, WebError> {
    let oidc_provider = state.oidc_provider.clone();
    let page = match &viewer {
        Some(v) => Landing {
            chrome: Chrome::for_viewer(v, "ClassCred", "/"),
            continue_to: Some(if v.is_staff() { "/dashboard" } else { "/me" }),
            oidc_provider,
        },
        None => Landing {
            chrome: Chrome::bare("ClassCred"),
            continue_to: None,
            oidc_provider,
        },
    };
    render(&page)
}
