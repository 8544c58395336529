//! `GET /`: what ClassCred is and how to sign in; a signed-in member gets a link back to
//! their pages.

use askama::Template;
use axum::response::Response;

use super::{render, Chrome};
use crate::extract::MaybeViewer;
use crate::WebError;

#[derive(Template)]
#[template(path = "landing.html")]
struct Landing {
    chrome: Chrome,
    /// Where a signed-in member continues (`/dashboard` or `/me`).
    continue_to: Option<&'static str>,
}

pub async fn page(MaybeViewer(viewer): MaybeViewer) -> Result<Response, WebError> {
    let page = match &viewer {
        Some(v) => Landing {
            chrome: Chrome::for_viewer(v, "ClassCred", "/"),
            continue_to: Some(if v.is_staff() { "/dashboard" } else { "/me" }),
        },
        None => Landing {
            chrome: Chrome::bare("ClassCred"),
            continue_to: None,
        },
    };
    render(&page)
}
