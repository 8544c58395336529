//! ClassCred's web dashboard, rendered on the server.
//!
//! * [`routes`] builds the axum router from the [`route_table`]: every page and form, its
//!   method and who may use it ([`Access`]). The authorization-matrix test enumerates the same
//!   table, so a new route without an expectation fails it.
//! * Sign-in is by single-use login link (`/dashboard/login?token=…`, see
//!   `classcred_service::login`); it starts a server-side session ([`session`]) whose cookie is
//!   HttpOnly, SameSite=Lax and, under TLS, `Secure` with the `__Host-` prefix.
//! * Handlers name who they serve by type ([`extract`]): [`Viewer`] (any signed-in member),
//!   [`Staff`], [`Admin`]; forms that change state take [`CsrfForm`]. Every failure is one
//!   [`WebError`], answered with an HTML page (5xx never carry detail).
//! * Every response of these routes carries the security headers ([`headers`]).

pub mod consent;
pub mod device;
pub mod error;
pub mod extract;
pub mod headers;
pub mod oidc;
pub mod pages;
pub mod routes;
pub mod session;

use std::sync::Arc;
use std::time::Duration;

use classcred_crypto::LoginKey;
use classcred_store::Store;

pub use error::WebError;
pub use extract::{Admin, CsrfForm, MaybeViewer, SignedIn, Staff, Viewer};
pub use routes::{route_table, routes, Access, Method, Route};

/// How long a dashboard session lasts after sign-in: 12 hours.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// What every dashboard handler can reach.
#[derive(Clone)]
pub struct WebState {
    /// The database.
    pub store: Store,
    /// Verifies login links (`MasterKey::login_key()`).
    pub login_key: Arc<LoginKey>,
    /// The site is served over TLS: cookies are `Secure` with the `__Host-` prefix and
    /// responses carry `Strict-Transport-Security`.
    pub tls: bool,
    /// Session lifetime ([`SESSION_TTL`] unless a test shortens it).
    pub session_ttl: Duration,
    /// When OpenID Connect is configured: the provider's name for "Sign in with <name>" on
    /// the start page (routes from `classcred-oidc`, hook [`oidc::WebSignIn`]).
    pub oidc_provider: Option<String>,
    /// Where full-export archives are built and served from (`export_dir`).
    pub export_dir: std::path::PathBuf,
    /// What approving a privacy request runs (the member's export, an erasure request). `None`:
    /// access and deletion requests cannot be approved on this server (the page says so).
    pub privacy_actions: Option<Arc<dyn classcred_service::privacy_requests::RequestActions>>,
    /// The registry's subprocessors this server's configuration turns on, with the origin each
    /// is reached at (listed on `/privacy`). Empty: none.
    pub subprocessors_in_use: Arc<Vec<classcred_store::registry::InUse>>,
    /// Optional first-party usage statistics (`usage_statistics`); `None`: off, no banner and
    /// no optional cookie (see [`consent`]).
    pub usage_stats: Option<Arc<consent::UsageStats>>,
    /// Device and network data of sign-ins (`device_data`), off by default (see [`device`]).
    pub device: device::DeviceData,
}

impl WebState {
    /// State with the default session lifetime.
    pub fn new(store: Store, login_key: LoginKey, tls: bool) -> Self {
        Self {
            store,
            login_key: Arc::new(login_key),
            tls,
            session_ttl: SESSION_TTL,
            oidc_provider: None,
            export_dir: std::path::PathBuf::from("classcred-exports"),
            privacy_actions: None,
            subprocessors_in_use: Arc::new(Vec::new()),
            usage_stats: None,
            device: device::DeviceData::default(),
        }
    }

    /// The same state with optional usage statistics on (a banner asks every visitor).
    pub fn with_usage_statistics(mut self, enabled: bool) -> Self {
        self.usage_stats = consent::stats(enabled);
        self
    }

    /// The same state with the operator's device-data setting.
    pub fn with_device_data(mut self, device: device::DeviceData) -> Self {
        self.device = device;
        self
    }

    /// The same state with full-export archives in `dir`.
    pub fn with_export_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.export_dir = dir.into();
        self
    }

    /// The same state with what approving a privacy request runs.
    pub fn with_privacy_actions(
        mut self,
        actions: Arc<dyn classcred_service::privacy_requests::RequestActions>,
    ) -> Self {
        self.privacy_actions = Some(actions);
        self
    }

    /// The same state listing these subprocessors as in use on `/privacy`.
    pub fn with_subprocessors_in_use(
        mut self,
        in_use: Vec<classcred_store::registry::InUse>,
    ) -> Self {
        self.subprocessors_in_use = Arc::new(in_use);
        self
    }

    /// The same state with "Sign in with `provider`" on the start page.
    pub fn with_oidc_provider(mut self, provider: impl Into<String>) -> Self {
        self.oidc_provider = Some(provider.into());
        self
    }
}
