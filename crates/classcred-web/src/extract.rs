//! Who is asking, by type. A handler that takes [`Viewer`] serves any signed-in member,
//! [`Staff`] an Admin or Instructor, [`Admin`] an Admin only; the extractor refuses everyone
//! else before the handler runs (anonymous → 303 to `/`, wrong role → 403). Every one of them
//! carries the member's community, so the handler's store calls go through
//! `tx.for_community(&viewer.community_id)` and an id of another community answers 404.
//! [`CsrfForm`] is the body of every state-changing form: it checks the session's CSRF token
//! in constant time before the form is even parsed.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use classcred_store::{CommunityId, MemberRowId, Role};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::session::{csrf_matches, SessionCookie};
use crate::{WebError, WebState};

/// Any signed-in member of one community.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub community_id: CommunityId,
    /// The class name shown in the header.
    pub community_name: String,
    pub member_id: MemberRowId,
    /// The role now (a role change applies at the next request).
    pub role: Role,
    /// The session's CSRF token, for the hidden `csrf` field of forms.
    pub csrf: String,
    /// Store key of the session (hash of the cookie value), for sign-out.
    pub(crate) session_hash: String,
    /// A published privacy-policy version this member (an Admin) has not acknowledged yet:
    /// the banner on every dashboard page.
    pub policy_pending: Option<crate::pages::policy::PolicyBanner>,
}

impl Viewer {
    /// Admin or Instructor.
    pub fn is_staff(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Instructor)
    }

    /// The session of the request, if there is a live one.
    pub async fn find(parts: &Parts, state: &WebState) -> Result<Option<Viewer>, WebError> {
        let Some(cookie) = SessionCookie::from_headers(&parts.headers, state.tls) else {
            return Ok(None);
        };
        let session_hash = cookie.id_hash();
        let mut tx = state.store.begin().await?;
        let Some(session) = tx.web_session(&session_hash).await? else {
            tx.commit().await?;
            return Ok(None);
        };
        let community = tx.community(&session.community_id).await?;
        let policy_pending = tx
            .pending_policy_acks(&session.community_id, &session.member_id)
            .await?
            .into_iter()
            .next()
            .map(crate::pages::policy::PolicyBanner::from);
        tx.commit().await?;
        if community.state != classcred_store::CommunityState::Active {
            return Ok(None);
        }
        Ok(Some(Viewer {
            community_id: session.community_id,
            community_name: community.name,
            member_id: session.member_id,
            role: session.role,
            csrf: cookie.csrf_token(),
            session_hash,
            policy_pending,
        }))
    }
}

/// The signed-in member behind an extractor ([`Viewer`], [`Staff`], [`Admin`]).
pub trait SignedIn {
    fn viewer(&self) -> &Viewer;
}

impl SignedIn for Viewer {
    fn viewer(&self) -> &Viewer {
        self
    }
}

impl FromRequestParts<WebState> for Viewer {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, WebError> {
        Viewer::find(parts, state).await?.ok_or(WebError::SignedOut)
    }
}

/// The viewer if signed in, for public pages that greet members differently.
#[derive(Debug, Clone)]
pub struct MaybeViewer(pub Option<Viewer>);

impl FromRequestParts<WebState> for MaybeViewer {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, WebError> {
        Ok(MaybeViewer(Viewer::find(parts, state).await?))
    }
}

/// An Admin or Instructor of the viewer's community.
#[derive(Debug, Clone)]
pub struct Staff(pub Viewer);

impl SignedIn for Staff {
    fn viewer(&self) -> &Viewer {
        &self.0
    }
}

impl FromRequestParts<WebState> for Staff {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, WebError> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        if viewer.is_staff() {
            Ok(Staff(viewer))
        } else {
            Err(WebError::Forbidden)
        }
    }
}

/// An Admin of the viewer's community.
#[derive(Debug, Clone)]
pub struct Admin(pub Viewer);

impl SignedIn for Admin {
    fn viewer(&self) -> &Viewer {
        &self.0
    }
}

impl FromRequestParts<WebState> for Admin {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, WebError> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        if viewer.role == Role::Admin {
            Ok(Admin(viewer))
        } else {
            Err(WebError::Forbidden)
        }
    }
}

/// A member id from a path: anything that is not an id answers 404, like an id of another
/// community does once the store looks it up through `for_community`.
pub fn member_id_from_path(text: &str) -> Result<MemberRowId, WebError> {
    MemberRowId::parse(text).map_err(|_| WebError::NotFound)
}

/// Most bytes a dashboard form may send.
const FORM_LIMIT: usize = 64 * 1024;

#[derive(Deserialize)]
struct CsrfField {
    csrf: Option<String>,
}

/// A state-changing form (`application/x-www-form-urlencoded`) from `A` (one of [`Viewer`],
/// [`Staff`], [`Admin`]) whose hidden `csrf` field matched the session's token. Refusals in
/// order: not signed in (303), wrong role (403), missing or wrong token (403), unreadable form
/// (400).
pub struct CsrfForm<A, T> {
    pub who: A,
    pub form: T,
}

impl<A, T> FromRequest<WebState> for CsrfForm<A, T>
where
    A: FromRequestParts<WebState, Rejection = WebError> + SignedIn + Send,
    T: DeserializeOwned + Send,
{
    type Rejection = WebError;
    async fn from_request(req: Request, state: &WebState) -> Result<Self, WebError> {
        let (mut parts, body) = req.into_parts();
        let who = A::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, FORM_LIMIT)
            .await
            .map_err(|_| WebError::BadRequest("The form is too large."))?;
        let submitted = serde_urlencoded::from_bytes::<CsrfField>(&bytes)
            .ok()
            .and_then(|f| f.csrf)
            .unwrap_or_default();
        if !csrf_matches(&who.viewer().csrf, &submitted) {
            return Err(WebError::Csrf);
        }
        let form = serde_urlencoded::from_bytes::<T>(&bytes)
            .map_err(|_| WebError::BadRequest("The form could not be read."))?;
        Ok(CsrfForm { who, form })
    }
}
