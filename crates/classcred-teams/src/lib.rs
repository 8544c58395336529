//! # classcred-teams — the Microsoft Teams adapter (Bot Framework protocol)
//!
//! Thin like the Slack adapter: it authenticates activities, parses them into narrow types
//! ([`activity`]), turns them into engine events ([`convert`]) stored through
//! `classcred_service::ingest`, and talks to the Connector API ([`connector`]). Command
//! semantics, notice texts and the install lifecycle are the seam's (`classcred-platform`).
//!
//! ## Wiring (what the binary does)
//! - `[teams]` configured ([`TeamsConfig::is_configured`]): build [`TeamsState::from_config`]
//!   and merge [`routes`] (`POST /teams/messages`).
//! - Register [`commands::COMMAND_JOB`] with [`commands::command_job`], and the
//!   [`directory::TeamsDirectory`] as the Teams adapter of the seam's `Platforms` (notices,
//!   member sync and resolution).
//!
//! ## Inbound
//! Every activity's JWT is validated ([`auth`]) before its body is parsed. Activities:
//! `message` (fire and mentions; commands when the bot is mentioned or in a personal chat),
//! `messageUpdate`/`messageDelete` (`channelData.eventType` `editMessage`/`softDeleteMessage`),
//! `messageReaction` (🔥 only; **Teams sends reactions only for messages the bot itself
//! posted**, so reactions to people's messages never reach ClassCred — giving fire in Teams is
//! done by writing it), `conversationUpdate` (the bot added/removed: install/uninstall; people
//! added: members) and `installationUpdate`. Anything else is answered 200 and ignored.
//!
//! ## Outbound
//! One [`OutboundClient`](classcred_outbound::OutboundClient) whose policy allows the registry's
//! Teams subprocessors only ([`outbound_policy`]): the OpenID metadata's origin, Entra's token
//! endpoint, and the configured `serviceUrl` origins.

pub mod activity;
pub mod auth;
pub mod cards;
pub mod commands;
pub mod config;
pub mod connector;
pub mod convert;
pub mod directory;
pub mod http;
pub mod install;
pub mod render;

use std::sync::Arc;

use classcred_outbound::{Limits, OutboundClient, OutboundPolicy};
use classcred_server::Metrics;
use classcred_store::registry::subprocessors::{TEAMS_CONNECTOR, TEAMS_LOGIN, TEAMS_OPENID};
use classcred_store::Store;

pub use config::TeamsConfig;

/// Registers the Teams job handlers (commands answered through the Connector API).
pub fn register_jobs(h: &mut classcred_server::worker::Handlers, state: &TeamsState) {
    let connector = state.connector.clone();
    let login = state.login.clone();
    h.register(commands::COMMAND_JOB, move |store, job| {
        let connector = connector.clone();
        let login = login.clone();
        async move { commands::command_job(&store, &connector, login.as_deref(), &job).await }
    });
}
pub use http::routes;

/// The `platform` of Teams communities.
pub const PLATFORM: &str = "teams";

/// The outbound allow-list of the adapter: the OpenID metadata's origin, Entra's token
/// endpoint (or the configured loopback fake of it), and each allowed `serviceUrl` origin.
pub fn outbound_policy(cfg: &TeamsConfig) -> anyhow::Result<OutboundPolicy> {
    let mut policy = OutboundPolicy::for_subprocessors(&[TEAMS_LOGIN])?;
    let login = cfg.token_url()?;
    if classcred_outbound::is_loopback(&login) {
        policy = policy.allow_loopback(TEAMS_LOGIN, &login)?;
    }
    policy = policy.configure(TEAMS_OPENID, &cfg.openid_metadata()?)?;
    for origin in cfg.service_origins()? {
        policy = policy.configure(TEAMS_CONNECTOR, &origin)?;
    }
    Ok(policy)
}

/// What the Teams route shares.
#[derive(Clone)]
pub struct TeamsState {
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub config: Arc<TeamsConfig>,
    pub keys: auth::KeySet,
    pub connector: connector::Connector,
    /// Dashboard sign-in links for `dashboard` (none until the composition root gives them).
    pub login: Option<Arc<classcred_platform::LoginLinks>>,
}

impl TeamsState {
    /// State built from `[teams]`: one outbound client for keys, tokens and the Connector.
    pub fn from_config(
        store: Store,
        metrics: Arc<Metrics>,
        config: TeamsConfig,
    ) -> anyhow::Result<Self> {
        config.check()?;
        let http = OutboundClient::new(outbound_policy(&config)?, Limits::default())?;
        let keys = auth::KeySet::new(http.clone(), config.openid_metadata()?);
        let connector = connector::Connector::new(
            http,
            config.token_url()?,
            config.app_id(),
            config
                .app_password
                .clone()
                .unwrap_or_else(|| secrecy::SecretString::from(String::new())),
        );
        Ok(Self {
            store,
            metrics,
            config: Arc::new(config),
            keys,
            connector,
            login: None,
        })
    }

    /// Hand out dashboard sign-in links (`dashboard`).
    pub fn with_login_links(mut self, links: classcred_platform::LoginLinks) -> Self {
        self.login = Some(Arc::new(links));
        self
    }

    /// The seam's adapter: notices and member look-ups for Teams communities.
    pub fn adapter(&self) -> classcred_platform::Adapter {
        let d = Arc::new(self.directory());
        classcred_platform::Adapter {
            platform: classcred_platform::Platform::Teams,
            notices: d.clone(),
            members: d,
        }
    }

    /// The seam's notice sink and member directory for Teams.
    pub fn directory(&self) -> directory::TeamsDirectory {
        directory::TeamsDirectory {
            connector: self.connector.clone(),
        }
    }
}
