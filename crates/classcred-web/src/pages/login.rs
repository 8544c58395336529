//! `GET /dashboard/login?token=…` consumes a login link and starts a new session;
//! `POST /logout` ends it.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use classcred_service::login::{consume_login_token, LoginError};
use serde::Deserialize;

use crate::extract::{CsrfForm, Viewer};
use crate::session::{self, SessionCookie};
use crate::{WebError, WebState};

#[derive(Deserialize)]
pub struct LoginQuery {
    token: Option<String>,
}

/// Consume the link and sign in. The link's nonce is consumed and the session created in one
/// transaction; a session the browser already had is revoked in it too (a new id at every
/// sign-in). Staff land on `/dashboard`, students on `/me`.
pub async fn consume(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Result<Response, WebError> {
    let token = query.token.unwrap_or_default();
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
