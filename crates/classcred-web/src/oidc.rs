//! OpenID Connect sign-in for the dashboard: the [`SignInHook`] that `classcred-oidc`'s
//! callback calls with a verified identity. The identity's member claim is matched with
//! members (`classcred_service::identity`):
//!
//! * one member: a new session is started exactly as a login link does (a new random session
//!   id, created in its own transaction) and the browser goes to `/dashboard` or `/me`;
//! * several (the same person in several courses): a page lists the courses, each with a
//!   "Continue" form that carries a fresh single-use login token for that member, consumed by
//!   `POST /dashboard/login` like any login link;
//! * none, or a refused callback (wrong or reused state, expired attempt, provider error): a
//!   page that says so, with no detail of the provider's answer.

use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use classcred_oidc::routes::{SignInHook, SignInRefusal};
use classcred_oidc::VerifiedIdentity;
use classcred_service::identity::{match_identity, IdentityMatch};
use classcred_service::login::issue_login_token;
use classcred_store::{IdentityMember, Role};

use crate::pages::{display_name, Chrome};
use crate::{session, WebError, WebState};

/// The dashboard's answer to a finished OIDC callback.
#[derive(Clone)]
pub struct WebSignIn {
    pub state: WebState,
}

/// One course the person may continue to.
pub struct Choice {
    pub class_name: String,
    pub member_name: String,
    pub token: String,
}

#[derive(Template)]
#[template(path = "oidc_choose.html")]
struct ChoosePage {
    chrome: Chrome,
    choices: Vec<Choice>,
}

fn refusal_page(status: StatusCode, title: &'static str, message: &'static str) -> Response {
    crate::error::error_page(status, Chrome::bare(title), title, message)
}

impl WebSignIn {
    async fn sign_in(&self, identity: VerifiedIdentity) -> Result<Response, WebError> {
        match match_identity(&self.state.store, &identity.member_claim_value).await? {
            IdentityMatch::NoMember => {
                tracing::info!("OIDC sign-in refused: no member for this identity");
                Ok(refusal_page(
                    StatusCode::FORBIDDEN,
                    "No class for this account",
                    "You signed in, but this account is not a member of any class on ClassCred. Join your class's chat first, or ask your instructor for a sign-in link.",
                ))
            }
            IdentityMatch::One(member) => self.start_session(&member).await,
            IdentityMatch::Several(members) => self.choose(&members).await,
        }
    }

    /// A new session for the one member, as a login link starts it.
    async fn start_session(&self, member: &IdentityMember) -> Result<Response, WebError> {
        let mut tx = self.state.store.begin().await?;
        let cookie = session::start(
            &mut tx,
            &self.state,
            &member.community_id,
            &member.member_id,
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            community_id = %member.community_id,
            member_id = %member.member_id,
            "signed in with OpenID Connect"
        );
        let to = match member.role {
            Role::Student => "/me",
            _ => "/dashboard",
        };
        Ok((
            [
                (header::SET_COOKIE, cookie.set_cookie(&self.state)),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            Redirect::to(to),
        )
            .into_response())
    }

    /// The courses this identity belongs to, each with a single-use login token.
    async fn choose(&self, members: &[IdentityMember]) -> Result<Response, WebError> {
        let now = self.state.store.now_ms().div_euclid(1000);
        let mut choices = Vec::with_capacity(members.len());
        let mut tx = self.state.store.begin().await?;
        for m in members {
            let community = tx.community(&m.community_id).await?;
            let member = tx
                .for_community(&m.community_id)
                .member(&m.member_id)
                .await?;
            choices.push(Choice {
                class_name: community.name,
                member_name: display_name(&member),
                token: issue_login_token(&self.state.login_key, &m.community_id, &m.member_id, now),
            });
        }
        tx.commit().await?;
        crate::pages::render(&ChoosePage {
            chrome: Chrome::bare("Choose your class"),
            choices,
        })
    }
}

impl SignInHook for WebSignIn {
    async fn signed_in(&self, identity: VerifiedIdentity) -> Response {
        match self.sign_in(identity).await {
            Ok(response) => response,
            Err(e) => e.into_response(),
        }
    }

    fn refused(&self, refusal: SignInRefusal) -> Response {
        tracing::info!(?refusal, "OIDC sign-in refused");
        let again = "Go back to the start page and sign in again.";
        match refusal {
            SignInRefusal::NoAttempt | SignInRefusal::Expired => refusal_page(
                StatusCode::BAD_REQUEST,
                "This sign-in has expired",
                "The sign-in was started in another browser or too long ago. Go back to the start page and sign in again.",
            ),
            SignInRefusal::WrongState | SignInRefusal::ReplayedState => refusal_page(
                StatusCode::BAD_REQUEST,
                "This sign-in cannot be used",
                "The answer from the sign-in provider does not belong to this sign-in, or was already used. Go back to the start page and sign in again.",
            ),
            SignInRefusal::ProviderDeclined | SignInRefusal::IdentityRejected => refusal_page(
                StatusCode::FORBIDDEN,
                "The sign-in provider did not confirm who you are",
                again,
            ),
            SignInRefusal::Unavailable => refusal_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is unavailable right now",
                "The sign-in provider could not be reached. Please try again in a moment.",
            ),
        }
    }
}
