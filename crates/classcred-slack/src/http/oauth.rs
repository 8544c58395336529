//! OAuth v2 install: `GET /slack/install` redirects to Slack with a signed, expiring `state`
//! bound to the browser by a strictly necessary cookie; `GET /slack/oauth/callback` checks both,
//! exchanges the code with `oauth.v2.access` (HTTP Basic client auth), records the install and
//! syncs the members.

use super::{internal, reject, SlackState};
use crate::oauth::{authorize_url, issue_state, verify_state, OAuthState, DEFAULT_STATE_TTL_SECS};
use crate::scopes::bot_scopes;
use crate::sync::{enqueue_sync, record_install};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

const EP: &str = "oauth";
/// Cookie holding the nonce of the `state` this browser was given (10 minutes, HttpOnly).
pub const STATE_COOKIE: &str = "classcred_slack_oauth";

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body><h1>{t}</h1><p>{x}</p></body></html>",
        t = html_escape(title),
        x = html_escape(text)
    );
    (status, Html(html)).into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn cookie(st: &SlackState, value: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = st
        .config
        .public_base()
        .is_some_and(|b| b.starts_with("https://"));
    let v = format!(
        "{STATE_COOKIE}={value}; Path=/slack/oauth; Max-Age={max_age}; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&v).ok()
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub(super) async fn install(State(st): State<SlackState>) -> Response {
    let (Some(client_id), Some(secret), Some(redirect)) = (
        st.config.client_id.as_deref(),
        st.config.state(),
        st.config.redirect_uri(),
    ) else {
        return reject(&st, EP, StatusCode::NOT_FOUND, "oauth_not_configured");
    };
    let state = issue_state(&secret, st.now_unix(), DEFAULT_STATE_TTL_SECS);
    let nonce = state.split('.').next().unwrap_or_default().to_owned();
    let url = authorize_url(client_id, &bot_scopes(), &redirect, &state);
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(loc) = HeaderValue::from_str(&url) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    if let Some(c) = cookie(&st, &nonce, DEFAULT_STATE_TTL_SECS) {
        resp.headers_mut().insert(header::SET_COOKIE, c);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[derive(Debug, Deserialize)]
pub(super) struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub(super) async fn callback(
    State(st): State<SlackState>,
    headers: HeaderMap,
    query: Result<Query<Callback>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return reject(&st, EP, StatusCode::BAD_REQUEST, "malformed_query");
    };
    let (Some(client_id), Some(client_secret), Some(secret), Some(redirect)) = (
        st.config.client_id.clone(),
        st.config.client_secret.clone(),
        st.config.state(),
        st.config.redirect_uri(),
    ) else {
        return reject(&st, EP, StatusCode::NOT_FOUND, "oauth_not_configured");
    };
    if q.error.is_some() {
        return page(
            StatusCode::BAD_REQUEST,
            "Installation cancelled",
            "ClassCred was not installed. You can close this page.",
        );
    }
    let (Some(code), Some(state)) = (q.code, q.state) else {
        return reject(&st, EP, StatusCode::BAD_REQUEST, "malformed_query");
    };
    let Ok(verified) = verify_state(&secret, &state, st.now_unix()) else {
        return reject(&st, EP, StatusCode::BAD_REQUEST, "bad_state");
    };
    if cookie_value(&headers, STATE_COOKIE) != Some(verified.nonce.as_str()) {
        return reject(&st, EP, StatusCode::BAD_REQUEST, "state_not_bound");
    }
    // Single use: the nonce is recorded until the state expires; a second callback with the
    // same state is refused before anything is exchanged.
    match consume_state(&st, &verified).await {
        Ok(true) => {}
        Ok(false) => return reject(&st, EP, StatusCode::BAD_REQUEST, "state_replayed"),
        Err(e) => return internal(EP, &e),
    }
    let access = match st
        .client
        .oauth_v2_access(&client_id, &client_secret, &code, &redirect)
        .await
    {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "oauth.v2.access failed");
            return page(
                StatusCode::BAD_GATEWAY,
                "Installation failed",
                "Slack did not confirm the installation. Please start again from the install link.",
            );
        }
    };
    if access.team.is_none() || access.is_enterprise_install {
        return page(
            StatusCode::BAD_REQUEST,
            "Installation not supported",
            "ClassCred is installed per workspace; org-wide (Enterprise Grid) installs are not supported. Install it into each workspace instead.",
        );
    }
    let installed = match record_install(&st.store, &access).await {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "install could not be recorded");
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Installation failed",
                "ClassCred could not record this installation because of a problem on this server. Please try again later; if it persists, the server's operator will find the cause in its log.",
            );
        }
    };
    // The member sync (users.list, many pages for a large workspace) runs as a job, not inside
    // this request. Not fatal: unknown members are looked up when first mentioned.
    if let Err(e) = enqueue_sync(&st.store, &installed.community_id).await {
        tracing::warn!(community_id = %installed.community_id, error = %e, "member sync not scheduled");
    }
    let team = access
        .team
        .as_ref()
        .and_then(|t| t.name.clone())
        .unwrap_or_else(|| "your workspace".to_owned());
    let mut resp = page(
        StatusCode::OK,
        "ClassCred is installed",
        &format!("ClassCred is installed in {team}. Type /cred in Slack to get started; you can close this page."),
    );
    if let Some(c) = cookie(&st, "", 0) {
        resp.headers_mut().insert(header::SET_COOKIE, c);
    }
    resp
}

/// Records the state's nonce as used, in one transaction. `false` when it was used before.
async fn consume_state(st: &SlackState, state: &OAuthState) -> anyhow::Result<bool> {
    let mut tx = st.store.begin().await?;
    let fresh = tx
        .consume_nonce(&state.nonce, state.expires_at, st.now_unix())
        .await?;
    tx.commit().await?;
    Ok(fresh)
}
