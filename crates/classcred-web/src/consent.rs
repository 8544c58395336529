//! Cookie choice and the optional first-party usage statistics (off unless the operator sets
//! `usage_statistics = true`).
//!
//! Strictly necessary cookies (the session, the sign-in and install state, and the consent
//! answer itself) are set without asking. When statistics are on, every page shows a banner
//! with **Accept** and **Reject**, two plain forms posting to `POST /consent` (CSRF-checked when
//! a session cookie is present, same-origin always; no JavaScript), styled alike; the answer is
//! kept in the strictly necessary `classcred_consent` cookie and can be changed from every
//! page's footer. Only after Accept does the optional `classcred_usage` cookie carry a random
//! visitor id. It is used to count distinct visitors per UTC day and page group: the server
//! remembers, in memory only and for the current day, keyed hashes of the ids it has counted
//! (the key is random per process and day, so they cannot be linked to anything later); the
//! database keeps only the counts (`usage_daily`), shown on `/metrics` as
//! `classcred_usage_visitors{page_group}`. Reject (or changing to reject) deletes the optional
//! cookie (`Max-Age=0`). With statistics off there is no banner, `POST /consent` is 404 and no
//! optional cookie is ever set (a stale one is deleted).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use classcred_store::Store;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::session::{csrf_matches, SessionCookie};
use crate::{WebError, WebState};

/// The strictly necessary cookie that keeps the visitor's answer.
pub const CONSENT_COOKIE: &str = "classcred_consent";
/// The optional cookie carrying the random visitor id (only after Accept).
pub const USAGE_COOKIE: &str = "classcred_usage";
/// Both cookies last 180 days.
const COOKIE_MAX_AGE: u64 = 180 * 86_400;

/// The page groups statistics are counted in (a fixed list: `/metrics` labels stay bounded).
pub const PAGE_GROUPS: &[&str] = &["public", "sign-in", "my-data", "dashboard", "other"];

/// The visitor's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Accept,
    Reject,
}

impl Choice {
    fn as_str(self) -> &'static str {
        match self {
            Choice::Accept => "accept",
            Choice::Reject => "reject",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "accept" => Some(Choice::Accept),
            "reject" => Some(Choice::Reject),
            _ => None,
        }
    }
}

/// Counts distinct consenting visitors per day and page group. In memory: for the current UTC
/// day only, keyed hashes of the visitor ids already counted (the key is random and replaced
/// with the day); in the store: the counts.
pub struct UsageStats {
    seen: Mutex<Seen>,
}

struct Seen {
    day: String,
    key: [u8; 32],
    ids: HashSet<[u8; 32]>,
}

impl Default for UsageStats {
    fn default() -> Self {
        Self::new()
    }
}

impl UsageStats {
    pub fn new() -> Self {
        Self {
            seen: Mutex::new(Seen {
                day: String::new(),
                key: rand::random(),
                ids: HashSet::new(),
            }),
        }
    }

    /// Whether `visitor` is new today in `group`; remembers it.
    fn first_visit(&self, day: &str, group: &str, visitor: &str) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        if seen.day != day {
            seen.day = day.to_owned();
            seen.key = rand::random();
            seen.ids.clear();
        }
        let mut h = Sha256::new();
        h.update(seen.key);
        h.update(group.as_bytes());
        h.update([0]);
        h.update(visitor.as_bytes());
        let digest: [u8; 32] = h.finalize().into();
        seen.ids.insert(digest)
    }

    /// Count `visitor` on a page of `group` today (store clock).
    async fn count(&self, store: &Store, group: &str, visitor: &str) {
        let day = store.clock().now().date_naive().to_string();
        if self.first_visit(&day, group, visitor) {
            if let Err(e) = store.add_usage_visitor(&day, group).await {
                tracing::warn!(error = %e, "usage statistics not counted");
            }
        }
    }
}

/// The page group of a path.
pub fn page_group(path: &str) -> &'static str {
    if path == "/" || path == "/privacy" || path.starts_with("/privacy/") {
        "public"
    } else if path.starts_with("/dashboard/login") || path.starts_with("/auth/") {
        "sign-in"
    } else if path == "/me" || path.starts_with("/me/") {
        "my-data"
    } else if path == "/dashboard" || path.starts_with("/dashboard/") {
        "dashboard"
    } else {
        "other"
    }
}

/// What the layout shows: the banner (no answer yet) or the footer's current answer.
#[derive(Debug, Clone, Default)]
pub struct ConsentChrome {
    /// Statistics are on: show the banner or the footer choice.
    pub enabled: bool,
    /// The visitor's answer, if any.
    pub choice: Option<Choice>,
    /// CSRF token for the forms when the browser has a session cookie.
    pub csrf: Option<String>,
    /// Where the forms bring the visitor back to (this page's path).
    pub back: String,
}

impl ConsentChrome {
    /// The chrome of the request being served (the layer sets it); off outside one.
    pub fn current() -> Self {
        CURRENT.try_with(Clone::clone).unwrap_or_default()
    }

    /// No answer yet: show the banner.
    pub fn show_banner(&self) -> bool {
        self.enabled && self.choice.is_none()
    }

    pub fn accepted(&self) -> bool {
        self.choice == Some(Choice::Accept)
    }

    pub fn rejected(&self) -> bool {
        self.choice == Some(Choice::Reject)
    }
}

tokio::task_local! {
    static CURRENT: ConsentChrome;
}

/// A cookie's value among the request's `Cookie` headers.
fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn choice_of(headers: &HeaderMap) -> Option<Choice> {
    cookie_value(headers, CONSENT_COOKIE).and_then(Choice::parse)
}

/// A visitor id that looks like ours (32 hex characters).
fn visitor_of(headers: &HeaderMap) -> Option<&str> {
    cookie_value(headers, USAGE_COOKIE)
        .filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn secure(state: &WebState) -> &'static str {
    if state.tls {
        "; Secure"
    } else {
        ""
    }
}

fn consent_cookie(state: &WebState, choice: Choice) -> String {
    format!(
        "{CONSENT_COOKIE}={}; Path=/; Max-Age={COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax{}",
        choice.as_str(),
        secure(state)
    )
}

fn usage_cookie(state: &WebState, visitor: &str) -> String {
    format!(
        "{USAGE_COOKIE}={visitor}; Path=/; Max-Age={COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax{}",
        secure(state)
    )
}

/// The `Set-Cookie` that deletes the optional cookie.
pub fn delete_usage_cookie(state: &WebState) -> String {
    format!(
        "{USAGE_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{}",
        secure(state)
    )
}

/// Middleware on every dashboard and public page: makes the banner/footer state available to
/// the layout, and after the page — only when statistics are on and the visitor accepted —
/// gives the visitor an id if they have none and counts them. Without consent (or with
/// statistics off) an optional cookie the browser still has is deleted.
pub async fn layer(State(state): State<WebState>, request: Request, next: Next) -> Response {
    let headers = request.headers().clone();
    let path = request.uri().path().to_owned();
    let is_get = request.method() == Method::GET;
    let enabled = state.usage_stats.is_some();
    let choice = choice_of(&headers);
    let chrome = ConsentChrome {
        enabled,
        choice,
        csrf: SessionCookie::from_headers(&headers, state.tls).map(|c| c.csrf_token()),
        back: path.clone(),
    };
    let mut response = CURRENT.scope(chrome, next.run(request)).await;
    let has_cookie = cookie_value(&headers, USAGE_COOKIE).is_some();
    let consented = enabled && choice == Some(Choice::Accept);
    if !consented {
        if has_cookie && !set_cookie_names(&response).any(|n| n == USAGE_COOKIE) {
            append_cookie(&mut response, &delete_usage_cookie(&state));
        }
        return response;
    }
    let Some(stats) = state.usage_stats.as_ref() else {
        return response;
    };
    let is_page = response.status() == StatusCode::OK
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
    if !is_get || !is_page {
        return response;
    }
    let visitor = match visitor_of(&headers) {
        Some(v) => v.to_owned(),
        None => {
            let v = hex::encode(rand::random::<[u8; 16]>());
            append_cookie(&mut response, &usage_cookie(&state, &v));
            v
        }
    };
    stats.count(&state.store, page_group(&path), &visitor).await;
    response
}

fn append_cookie(response: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Names of the cookies a response sets.
fn set_cookie_names(response: &Response) -> impl Iterator<Item = &str> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split_once('=').map(|(n, _)| n.trim()))
}

/// The banner's and footer's form.
#[derive(Deserialize)]
pub struct ConsentForm {
    choice: Option<String>,
    csrf: Option<String>,
    back: Option<String>,
}

/// A path on this site to go back to (never another origin).
fn safe_back(back: Option<&str>) -> &str {
    match back {
        Some(b) if b.starts_with('/') && !b.starts_with("//") && !b.contains('\\') => b,
        _ => "/",
    }
}

/// `POST /consent`: remember the answer (strictly necessary cookie), delete the optional cookie
/// on Reject, back to the page. 404 when statistics are off. Cross-site posts are refused; a
/// browser with a session cookie must send that session's CSRF token.
pub async fn choose(
    State(state): State<WebState>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<ConsentForm>,
) -> Result<Response, WebError> {
    if state.usage_stats.is_none() {
        return Err(WebError::NotFound);
    }
    if !crate::pages::login::same_origin(&headers) {
        return Err(WebError::BadRequest(
            "This choice did not come from this site. Go back and choose again.",
        ));
    }
    if let Some(session) = SessionCookie::from_headers(&headers, state.tls) {
        if !csrf_matches(
            &session.csrf_token(),
            form.csrf.as_deref().unwrap_or_default(),
        ) {
            return Err(WebError::Csrf);
        }
    }
    let choice = form
        .choice
        .as_deref()
        .and_then(Choice::parse)
        .ok_or(WebError::BadRequest("Choose accept or reject."))?;
    let mut response = Redirect::to(safe_back(form.back.as_deref())).into_response();
    append_cookie(&mut response, &consent_cookie(&state, choice));
    if choice == Choice::Reject {
        append_cookie(&mut response, &delete_usage_cookie(&state));
    }
    tracing::info!(choice = choice.as_str(), "cookie choice recorded");
    Ok(response)
}

/// The statistics switch as [`WebState`] carries it (`None`: off).
pub fn stats(enabled: bool) -> Option<Arc<UsageStats>> {
    enabled.then(|| Arc::new(UsageStats::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_groups_are_the_fixed_list() {
        for p in [
            "/",
            "/privacy",
            "/dashboard/login",
            "/me",
            "/me/x",
            "/dashboard",
            "/dashboard/members",
            "/static/x.css",
            "/x",
        ] {
            assert!(PAGE_GROUPS.contains(&page_group(p)), "{p}");
        }
        assert_eq!(page_group("/dashboard/login"), "sign-in");
        assert_eq!(page_group("/dashboard/network"), "dashboard");
        assert_eq!(page_group("/me"), "my-data");
    }

    #[test]
    fn a_visitor_counts_once_per_day_and_group() {
        let s = UsageStats::new();
        assert!(s.first_visit("2026-12-01", "dashboard", "a"));
        assert!(!s.first_visit("2026-12-01", "dashboard", "a"));
        assert!(s.first_visit("2026-12-01", "my-data", "a"));
        assert!(s.first_visit("2026-12-01", "dashboard", "b"));
        assert!(s.first_visit("2026-12-02", "dashboard", "a"));
    }

    #[test]
    fn back_stays_on_this_site() {
        assert_eq!(safe_back(Some("/me")), "/me");
        assert_eq!(safe_back(Some("//evil.example")), "/");
        assert_eq!(safe_back(Some("https://evil.example")), "/");
        assert_eq!(safe_back(Some("/\\evil")), "/");
        assert_eq!(safe_back(None), "/");
    }
}
