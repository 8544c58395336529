//! The pages. Each page is a handler in its own module plus an askama template under
//! `templates/` that extends `base.html`; its struct carries a [`Chrome`] (class name,
//! navigation, sign-out form) built with [`Chrome::for_viewer`]. To add a page: write the
//! handler (take `Viewer`, `Staff` or `Admin`), the template, and one row in
//! `routes::route_table` (with `.nav("Label")` to list it in the navigation).

pub mod announcements;
pub mod badge_award;
pub mod charts;
pub mod chat_text;
pub mod erasures;
pub mod exports;
pub mod landing;
pub mod leaderboard;
pub mod login;
pub mod me;
pub mod members;
pub mod network;
pub mod overview;
pub mod policy;
pub mod polls;
pub mod privacy;
pub mod privacy_requests;
pub mod questions;
pub mod research;
pub mod rules;
pub mod settings;
pub mod store;
pub mod student;

use std::sync::LazyLock;

use askama::Template;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::extract::Viewer;
use crate::WebError;

/// Where the stylesheet is served (with a version query for caching).
pub const STYLESHEET_PATH: &str = "/static/classcred.css";
const STYLESHEET: &str = include_str!("../../static/classcred.css");
/// The stylesheet's URL with a content hash, so it can be cached for a year.
static STYLESHEET_URL: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(STYLESHEET.as_bytes());
    format!("{STYLESHEET_PATH}?v={}", hex::encode(&digest[..6]))
});

/// `GET /static/classcred.css`.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// One link of the navigation.
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// What the base layout needs: page title, class name, navigation and the sign-out form.
pub struct Chrome {
    pub page_title: String,
    pub class_name: Option<String>,
    pub nav: Vec<NavLink>,
    /// The CSRF token for the sign-out form; `None` when nobody is signed in.
    pub csrf: Option<String>,
    pub stylesheet: &'static str,
    /// The cookie banner / footer choice of this request (statistics on or off).
    pub consent: crate::consent::ConsentChrome,
    /// A privacy-policy version the signed-in Admin has not acknowledged (the banner).
    pub policy_banner: Option<policy::PolicyBanner>,
}

impl Chrome {
    /// For a page nobody needs to be signed in for (no navigation).
    pub fn bare(page_title: &str) -> Self {
        Self {
            page_title: page_title.to_owned(),
            class_name: None,
            nav: Vec::new(),
            csrf: None,
            stylesheet: STYLESHEET_URL.as_str(),
            consent: crate::consent::ConsentChrome::current(),
            policy_banner: None,
        }
    }

    /// For a signed-in member on the page at `current_path`.
    pub fn for_viewer(viewer: &Viewer, page_title: &str, current_path: &str) -> Self {
        let staff = viewer.is_staff();
        let nav = crate::routes::nav_items()
            .iter()
            .filter(|(_, _, staff_only)| staff || !staff_only)
            .map(|&(href, label, _)| NavLink {
                href,
                label,
                current: href == current_path,
            })
            .collect();
        Self {
            page_title: page_title.to_owned(),
            class_name: Some(viewer.community_name.clone()),
            nav,
            csrf: Some(viewer.csrf.clone()),
            stylesheet: STYLESHEET_URL.as_str(),
            consent: crate::consent::ConsentChrome::current(),
            policy_banner: viewer.policy_pending.clone(),
        }
    }
}

/// Render a page template, `Cache-Control: no-store` (pages show personal data).
pub fn render(page: &impl Template) -> Result<Response, WebError> {
    let html = page.render()?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response())
}

/// A member's name for display: full name, else display name, else a neutral label.
pub(crate) fn display_name(member: &classcred_store::Member) -> String {
    member
        .profile
        .shown_name()
        .unwrap_or("(no name)")
        .to_owned()
}

/// A role as shown on pages.
pub(crate) fn role_label(role: classcred_store::Role) -> &'static str {
    match role {
        classcred_store::Role::Admin => "Admin",
        classcred_store::Role::Instructor => "Instructor",
        classcred_store::Role::Student => "Student",
    }
}

/// The class's timezone (from its settings), in which pages show the class's times.
pub(crate) async fn class_timezone(
    state: &crate::WebState,
    viewer: &crate::extract::Viewer,
) -> Result<classcred_engine::Timezone, crate::WebError> {
    let mut tx = state.store.begin().await?;
    let s = classcred_service::settings(&mut tx, &viewer.community_id).await?;
    tx.rollback().await?;
    Ok(s.timezone)
}
