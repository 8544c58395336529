//! Institutions, communities, members, messages, installations, inbox and ledger rows, API tokens.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{new_id, open_opt, seal_opt, CommunityTx, Result, StoreError, Tx};

pub use announcement::{Announcement, AnnouncementState};
pub use api_token::{ApiTokenRecord, API_TOKEN_USE_RESOLUTION_MS};
pub use erasure_request::{ErasureRequestRecord, NewErasureRequest};
pub use identity::IdentityMember;
pub use ids::{CommunityId, MemberRowId};

/// A member's role inside a community.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Instructor,
    Student,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Instructor => "instructor",
            Role::Student => "student",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "admin" => Ok(Role::Admin),
            "instructor" => Ok(Role::Instructor),
            "student" => Ok(Role::Student),
            other => Err(StoreError::Invalid(format!(
                "role must be admin, instructor or student, got {other:?}"
            ))),
        }
    }
}

/// Whether a member is a person, another bot, or this app itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberKind {
    #[default]
    Human,
    Bot,
    App,
}

impl MemberKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberKind::Human => "human",
            MemberKind::Bot => "bot",
            MemberKind::App => "app",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "human" => Ok(MemberKind::Human),
            "bot" => Ok(MemberKind::Bot),
            "app" => Ok(MemberKind::App),
            other => Err(StoreError::Invalid(format!(
                "member kind must be human, bot or app, got {other:?}"
            ))),
        }
    }
}

/// Whether a community is in use or was disabled (uninstalled, tokens revoked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommunityState {
    Active,
    Disabled,
    /// Erased: a tombstone (see `Store::erase_community`); nothing of it is left.
    Erased,
}

impl CommunityState {
    pub fn as_str(self) -> &'static str {
        match self {
            CommunityState::Active => "active",
            CommunityState::Disabled => "disabled",
            CommunityState::Erased => "erased",
        }
    }
    fn parse(s: &str) -> Result<Self> {
        match s {
            "active" => Ok(CommunityState::Active),
            "disabled" => Ok(CommunityState::Disabled),
            "erased" => Ok(CommunityState::Erased),
            other => Err(StoreError::Invalid(format!(
                "unknown community state {other:?}"
            ))),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Institution {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewCommunity {
    pub institution_id: String,
    pub name: String,
    /// `slack`, `teams`, `discord`, `matrix` or `demo`.
    pub platform: String,
    /// The platform's workspace/team id, when there is one.
    pub platform_team_id: Option<String>,
    /// Community settings as JSON (the engine owns their shape).
    pub settings_json: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Community {
    pub id: CommunityId,
    pub institution_id: String,
    pub name: String,
    pub platform: String,
    pub platform_team_id: Option<String>,
    /// The current settings (JSON), as the last processed settings change left them.
    pub settings_json: String,
    /// The settings the community was created with: where `ledger replay` starts.
    pub initial_settings_json: String,
    pub state: CommunityState,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
}

/// The personal profile fields of a member. All of them are encrypted at rest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberProfile {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub avatar_url: Option<String>,
    pub timezone: Option<String>,
}

impl MemberProfile {
    /// The name to show a teacher: the full name, else the chat display name (a handle on
    /// Slack), else `None`. Blank values count as missing.
    pub fn shown_name(&self) -> Option<&str> {
        [&self.name, &self.display_name]
            .into_iter()
            .filter_map(|n| n.as_deref())
            .find(|n| !n.trim().is_empty())
    }
}

#[derive(Debug, Clone)]
pub struct NewMember {
    pub platform_user_id: String,
    pub role: Role,
    pub kind: MemberKind,
    pub profile: MemberProfile,
}

#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub id: MemberRowId,
    pub community_id: CommunityId,
    pub platform_user_id: String,
    pub role: Role,
    pub kind: MemberKind,
    /// Highest level announced to the member.
    pub level: i64,
    pub profile: MemberProfile,
    pub joined_at: i64,
    pub updated_at: i64,
}

/// A feed item to write (see [`crate::CommunityTx::insert_feed_items`]).
#[derive(Debug, Clone)]
pub struct NewFeedItem {
    /// The member it is for; `None`: the community's feed.
    pub member_id: Option<MemberRowId>,
    pub kind: String,
    /// JSON.
    pub payload: String,
    pub occurred_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewMessage {
    pub platform_message_id: String,
    pub channel_id: String,
    pub author_member_id: Option<String>,
    pub thread_id: Option<String>,
    pub text: String,
    pub posted_at: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub id: String,
    pub community_id: CommunityId,
    pub platform_message_id: String,
    pub channel_id: String,
    pub author_member_id: Option<String>,
    pub thread_id: Option<String>,
    pub text: Option<String>,
    pub posted_at: i64,
    pub edited_at: Option<i64>,
    pub deleted_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewInstallation {
    pub platform: String,
    pub platform_team_id: String,
    pub bot_user_id: Option<String>,
    pub scopes: String,
    pub bot_token: SecretString,
    pub installed_by_member_id: Option<MemberRowId>,
}

/// Outcome of storing a platform delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxInsert {
    /// Stored for processing, with this inbox id.
    Stored(String),
    /// The same platform event id was already stored; nothing was written.
    Duplicate,
}

#[derive(Debug, Clone)]
pub struct InboxEvent {
    pub id: String,
    pub community_id: CommunityId,
    pub platform: String,
    pub event_id: String,
    pub event_type: String,
    /// The narrow, parsed event (JSON), decrypted.
    pub payload: Vec<u8>,
    pub occurred_at: i64,
    pub processed_at: Option<i64>,
    pub attempts: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewLedgerEntry {
    pub member_id: String,
    pub kind: String,
    pub amount_milli: i64,
    pub idempotency_key: String,
    pub giver_member_id: Option<String>,
    /// `admin`, `instructor` or `student`: the giver's role when the fire was given.
    pub giver_role: Option<String>,
    pub source_ref: Option<String>,
    pub quota_day: Option<String>,
    pub iso_week: Option<String>,
    /// +1 for a quota debit, −1 for a same-day refund.
    pub quota_units: i64,
    /// +1 for an awarded fire unit, −1 for a reversed one.
    pub fire_units: i64,
    /// Free text (feedback, adjustment reason); encrypted.
    pub note: Option<String>,
    pub occurred_at: i64,
}

/// A stored ledger entry: what was written, plus where and when.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerEntry {
    pub id: String,
    pub community_id: CommunityId,
    #[serde(flatten)]
    pub entry: NewLedgerEntry,
    pub created_at: i64,
}

fn community_from_row(r: &AnyRow) -> Result<Community> {
    Ok(Community {
        id: CommunityId::from_db(r.try_get("id")?),
        institution_id: r.try_get("institution_id")?,
        name: r.try_get("name")?,
        platform: r.try_get("platform")?,
        platform_team_id: r.try_get("platform_team_id")?,
        settings_json: r.try_get("settings")?,
        initial_settings_json: r.try_get("initial_settings")?,
        state: CommunityState::parse(&r.try_get::<String, _>("state")?)?,
        disabled_at: r.try_get("disabled_at")?,
        created_at: r.try_get("created_at")?,
    })
}

const COMMUNITY_COLUMNS: &str =
    "id, institution_id, name, platform, platform_team_id, settings, initial_settings, state, \
     disabled_at, created_at";
const MEMBER_COLUMNS: &str = "id, community_id, platform_user_id, role, kind, level, name_enc, \
     display_name_enc, email_enc, avatar_url_enc, timezone_enc, joined_at, updated_at";
const LEDGER_COLUMNS: &str = "id, community_id, member_id, kind, amount_milli, idempotency_key, \
     giver_member_id, giver_role, source_ref, quota_day, iso_week, quota_units, fire_units, note_enc, \
     occurred_at, created_at";

/// Lowercased, trimmed email: the form the blind index is computed over.
fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

mod announcement;
mod api_token;
mod community;
mod erasure_request;
mod identity;
mod ids;
pub(crate) mod inbox;
mod ledger;
mod member;
mod message;
mod nonce;
mod privacy_request;
mod session;

pub use privacy_request::{
    PrivacyDecision, PrivacyRequest, PrivacyRequestKind, PrivacyRequestState,
};
pub use session::WebSession;
