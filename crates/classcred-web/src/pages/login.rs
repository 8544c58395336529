//! Sign-in by login link in two steps, so a link unfurler (chat previews, mail scanners) that
//! fetches the link cannot burn it: `GET /dashboard/login?token=…` checks the link WITHOUT
//! consuming it and shows "Continue to <class> as <name>" with a POST form carrying the token;
//! `POST /dashboard/login` (same-origin only) consumes it and starts a new session.
//! `POST /logout` ends the session.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use classcred_service::login::{consume_login_token, LoginError};
use serde::Deserialize;

use super::{display_name, render, Chrome};
use crate::extract::{CsrfForm, Viewer};
use crate::session::{self, SessionCookie};
use crate::{WebError, WebState};

#[derive(Deserialize)]
pub struct LoginQuery {
    token: Option<String>,
}

#[derive(Template)]
#[template(path = "login.html")]
struct Confirm {
    chrome: Chrome,
    class_name: String,
    member_name: String,
    token: String,
}

/// Check the link as the POST would (signature, expiry, member, not used yet) inside a
/// transaction that is rolled back, so nothing is consumed; then ask to continue.
pub async fn confirm(
    State(state): State<WebState>,
    Query(query): Query<LoginQuery>,
) -> Result<Response, WebError> {
    let token = query.token.unwrap_or_default();
    let now = state.store.now_ms().div_euclid(1000);
    let mut tx = state.store.begin().await?;
    let checked = consume_login_token(&mut tx, &state.login_key, &token, now).await?;
    let signed_in = match checked {
        Ok(s) => s,
        Err(refused) => {
            tx.rollback().await?;
            tracing::info!(reason = %refused, "login link refused");
            return Err(WebError::Login(refused));
        }
    };
    let community = tx.community(&signed_in.community_id).await?;
    let member = tx
        .for_community(&signed_in.community_id)
        .member(&signed_in.member_id)
        .await?;
    tx.rollback().await?;
    render(&Confirm {
        chrome: Chrome::bare("Sign in"),
        class_name: community.name,
        member_name: display_name(&member),
        token,
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    token: Option<String>,
}

/// Whether the sign-in POST comes from one of our own pages. `Sec-Fetch-Site`, sent by
/// current browsers, decides when present: only `same-origin`. Without it, `Origin`, when
/// sent, must name the request's own host. (`Origin: null` is what browsers send under our
/// `Referrer-Policy: no-referrer`; it passes only through `Sec-Fetch-Site: same-origin`.)
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    match headers.get(header::ORIGIN) {
        None => true,
        Some(origin) => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
            let origin_host = origin
                .to_str()
                .ok()
                .and_then(|o| o.split_once("://"))
                .map(|(_, rest)| rest.trim_end_matches('/'));
            matches!((host, origin_host), (Some(h), Some(o)) if h.eq_ignore_ascii_case(o))
        }
    }
}

/// Consume the link and sign in. The link's nonce is consumed and the session created in one
/// transaction; a session the browser already had is revoked in it too (a new id at every
/// sign-in). Staff land on `/dashboard`, students on `/me`. Cross-site posts are refused.
pub async fn consume(
    State(state): State<WebState>,
    device: crate::device::ClientDevice,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    if !same_origin(&headers) {
        tracing::info!("cross-site sign-in post refused");
        return Err(WebError::BadRequest(
            "This sign-in did not come from this site. Open your sign-in link again and press Continue.",
        ));
    }
    let token = form.token.unwrap_or_default();
    let now = state.store.now_ms().div_euclid(1000);
    let mut tx = state.store.begin().await?;
    let signed_in = match consume_login_token(&mut tx, &state.login_key, &token, now).await? {
        Ok(s) => s,
        Err(refused) => {
            tx.rollback().await?;
            tracing::info!(reason = %refused, "login link refused");
            return Err(WebError::Login(refused));
        }
    };
    if let Some(old) = SessionCookie::from_headers(&headers, state.tls) {
        tx.revoke_web_session(&old.id_hash()).await?;
    }
    let cookie = session::start(
        &mut tx,
        &state,
        &signed_in.community_id,
        &signed_in.member_id,
    )
    .await
    .map_err(|e| match e {
        classcred_store::StoreError::NotFound { .. } => WebError::Login(LoginError::UnknownMember),
        other => other.into(),
    })?;
    if state.device.enabled {
        // Only the truncated network and the reduced browser reach the store (never the log).
        tx.for_community(&signed_in.community_id)
            .record_sign_in(
                &signed_in.member_id,
                device.network.as_deref(),
                device.agent.as_deref(),
            )
            .await?;
    }
    tx.commit().await?;
    tracing::info!(
        community_id = %signed_in.community_id,
        member_id = %signed_in.member_id,
        "signed in with a login link"
    );
    let to = match signed_in.role {
        classcred_store::Role::Student => "/me",
        _ => "/dashboard",
    };
    Ok((
        [
            (header::SET_COOKIE, cookie.set_cookie(&state)),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Redirect::to(to),
    )
        .into_response())
}

/// The sign-out form has no field but the CSRF token.
#[derive(Deserialize)]
pub struct NoFields {}

/// Revoke the session, clear the cookie, back to `/`.
pub async fn logout(
    State(state): State<WebState>,
    CsrfForm { who, .. }: CsrfForm<Viewer, NoFields>,
) -> Result<Response, WebError> {
    let mut tx = state.store.begin().await?;
    tx.revoke_web_session(&who.session_hash).await?;
    tx.commit().await?;
    tracing::info!(community_id = %who.community_id, member_id = %who.member_id, "signed out");
    Ok((
        [(header::SET_COOKIE, session::clear_cookie(state.tls))],
        Redirect::to("/"),
    )
        .into_response())
}
