//! The platform seam: everything a chat adapter (Slack, Microsoft Teams, Matrix, …) shares.
//!
//! An adapter only *verifies* a request (signature, token), *parses* it into its own narrow
//! types, *translates* it into the neutral [`classcred_engine::Event`]s that
//! [`classcred_service::ingest`] stores, and *renders* what this crate answers:
//!
//! - [`commands`]: the semantics of `me`, `top`, `dashboard`, `privacy`, `help` and their
//!   answers, as a [`Doc`] the adapter renders (Block Kit mrkdwn, Matrix HTML, Teams markdown);
//! - [`store_commands`]: `store` and `buy ITEM` (the class store);
//! - [`polls`]: `polls`, `vote`, `poll`, `debate`, `close`, and posting a poll (job
//!   `poll.post`) through [`NoticeSink::post_poll`];
//! - [`notice`]: the neutral half of delivering the engine's private notices (job
//!   [`classcred_service::NOTICE_JOB`]); the adapter implements [`NoticeSink`] to send one;
//! - [`members`]: member sync and look-up of unknown platform ids through one
//!   [`MemberDirectory`] trait (jobs [`classcred_service::SYNC_MEMBERS_JOB`] and
//!   [`classcred_service::RESOLVE_MEMBERS_JOB`]);
//! - the install lifecycle ([`lifecycle`]): install (create or re-enable the community of a
//!   workspace, team or room) and uninstall, one transaction each;
//! - [`LoginLinks`]: the private dashboard sign-in links commands hand out;
//! - [`Platforms`]: the adapters of a build, which the binary's job handlers dispatch to by the
//!   community's `platform`.

pub mod announce;
pub mod ask;
pub mod commands;
pub mod lifecycle;
pub mod members;
pub mod notice;
pub mod polls;
pub mod questions;
pub mod store_commands;
mod text;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use classcred_store::CommunityId;

pub use commands::{run_command, CommandContext};
pub use lifecycle::{install, uninstall, Install, Installed};
pub use members::MemberDirectory;
pub use notice::{MessageRef, NoticeSink, OutgoingNotice, Posted};
pub use text::{Doc, Line, Span};

/// A chat platform ClassCred connects to. Its [`Platform::as_str`] is the `platform` column of
/// community and inbox rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Platform {
    Slack,
    Teams,
    Matrix,
}

impl Platform {
    /// Every platform, in a fixed order.
    pub const ALL: [Platform; 3] = [Platform::Slack, Platform::Teams, Platform::Matrix];

    /// The stored name: `slack`, `teams`, `matrix`.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Slack => "slack",
            Platform::Teams => "teams",
            Platform::Matrix => "matrix",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A platform name that is none of [`Platform::ALL`] (e.g. `demo`, which has no chat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPlatform(pub String);

impl fmt::Display for UnknownPlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a chat platform: {:?}", self.0)
    }
}

impl std::error::Error for UnknownPlatform {}

impl FromStr for Platform {
    type Err = UnknownPlatform;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPlatform(s.to_owned()))
    }
}

/// What ClassCred needs to hand out dashboard sign-in links (`classcred_service::login`).
#[derive(Clone)]
pub struct LoginLinks {
    /// `MasterKey::login_key()`.
    pub key: Arc<classcred_crypto::LoginKey>,
    /// Where the dashboard is served, without a trailing slash.
    pub public_url: String,
}

impl LoginLinks {
    /// Links signed with `key`, pointing at `public_url` (a trailing slash is dropped).
    pub fn new(key: classcred_crypto::LoginKey, public_url: impl Into<String>) -> Self {
        Self {
            key: Arc::new(key),
            public_url: public_url.into().trim_end_matches('/').to_owned(),
        }
    }

    /// A link for `member_id` of `community_id`, valid 5 minutes from `now_unix`.
    pub fn link(
        &self,
        community_id: &CommunityId,
        member_id: &classcred_store::MemberRowId,
        now_unix: i64,
    ) -> String {
        classcred_service::login::issue_login_link(
            &self.key,
            &self.public_url,
            community_id,
            member_id,
            now_unix,
        )
    }
}

/// One adapter's side of the seam.
#[derive(Clone)]
pub struct Adapter {
    pub platform: Platform,
    pub notices: Arc<dyn NoticeSink>,
    pub members: Arc<dyn MemberDirectory>,
}

/// The adapters of a build, by platform. The binary's job handlers call
/// [`Platforms::deliver_notice`], [`Platforms::sync_members_job`] and
/// [`Platforms::resolve_members_job`], which do the neutral part and hand the platform part to
/// the community's adapter.
#[derive(Clone, Default)]
pub struct Platforms {
    adapters: BTreeMap<Platform, Adapter>,
}

impl Platforms {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the adapter of `adapter.platform`.
    pub fn with(mut self, adapter: Adapter) -> Self {
        self.adapters.insert(adapter.platform, adapter);
        self
    }

    /// The adapter of a stored platform name; `None` for a community without a chat platform
    /// (`demo`, `cli`) or a platform not configured in this build.
    pub fn get(&self, platform: &str) -> Option<&Adapter> {
        platform
            .parse::<Platform>()
            .ok()
            .and_then(|p| self.adapters.get(&p))
    }

    /// The configured platforms.
    pub fn platforms(&self) -> impl Iterator<Item = Platform> + '_ {
        self.adapters.keys().copied()
    }
}

/// Reads an optional secret of at least `min` bytes, for the platforms' configuration sections.
/// The error names the rule and the length (`too short: N bytes, at least {min} {rule}`), never
/// the value; the configuration loader adds the key.
pub fn strong_secret<'de, D>(
    d: D,
    min: usize,
    rule: &str,
) -> Result<Option<secrecy::SecretString>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize;
    let Some(s) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    if s.len() < min {
        return Err(serde::de::Error::custom(format_args!(
            "too short: {} bytes, at least {min} {rule}",
            s.len()
        )));
    }
    Ok(Some(secrecy::SecretString::from(s)))
}
