//! ClassCred's OpenID Connect relying party ("Sign in with Slack", Microsoft, any provider that
//! publishes discovery). No pages: the web layer mounts [`routes::router`] and decides, through
//! its [`routes::SignInHook`], what a verified identity becomes (a session, a choice of course,
//! a refusal).
//!
//! - `config`: the `[oidc]` section; the issuer's origin.
//! - `http`: outbound HTTP, only to that origin, bounded in time and size.
//! - `discovery`: the checked provider metadata.
//! - `attempt`: state, nonce and PKCE verifier of one attempt ([`PendingLogin`]).
//! - `id_token`: ID token validation against the JWKS.
//! - `client`: [`OidcClient`] (`discover`, `begin`, `finish`).
//! - `routes`: `/auth/oidc/start` and the callback, with the attempt in a sealed cookie and the
//!   state consumed once in the store.

mod attempt;
mod client;
mod config;
mod discovery;
mod http;
mod id_token;
pub mod routes;

pub use attempt::{PendingLogin, ATTEMPT_LIFETIME};
pub use client::OidcClient;
pub use config::OidcConfig;
pub use http::MAX_BODY_BYTES;
pub use id_token::{IdTokenError, LEEWAY_SECONDS};

/// Who the provider vouched for, after every check passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    /// The issuer identifier (`iss`).
    pub issuer: String,
    /// The provider's subject (`sub`).
    pub subject: String,
    /// The value of the configured member claim: compared with members' platform user ids.
    pub member_claim_value: String,
}

/// Why discovery or a login attempt failed. Never carries a token, a claim value or a body.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("OIDC configuration: {0}")]
    Config(String),
    #[error("the provider's {what} is not on the issuer's origin")]
    ForeignOrigin { what: &'static str },
    #[error("request for the provider's {0} failed")]
    Http(&'static str),
    #[error("the provider's {what} answered HTTP {status}")]
    Status { what: &'static str, status: u16 },
    #[error("the provider's {what} is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge { what: &'static str },
    #[error("provider metadata: {0}")]
    Metadata(String),
    #[error("the login attempt expired")]
    Expired,
    #[error("the returned state is not this attempt's")]
    StateMismatch,
    #[error("the provider returned no authorization code")]
    MissingCode,
    #[error("the token endpoint refused the code ({error})")]
    TokenRefused { error: String },
    #[error("the token endpoint returned no ID token")]
    NoIdToken,
    #[error("ID token refused: {0}")]
    IdToken(#[from] IdTokenError),
}

impl OidcError {
    /// True when the provider could not be reached or answered badly (retry later), false when
    /// the attempt itself was refused.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::Http(_) | Self::Status { .. } | Self::TooLarge { .. } | Self::Metadata(_)
        )
    }
}
