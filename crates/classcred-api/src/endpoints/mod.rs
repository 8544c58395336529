//! The handlers, one module per resource, and the small types they share. Every response type
//! is this crate's own (`ToSchema`), independent of the store's and service's structs.

pub mod announcements;
pub mod balances;
pub mod feed;
pub mod leaderboard;
pub mod ledger;
pub mod members;
pub mod network;
pub mod polls;
pub mod questions;
pub mod rules;
pub mod settings;
pub mod store;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// A member's role in the community.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    Admin,
    Instructor,
    Student,
}

impl From<classcred_store::Role> for RoleName {
    fn from(r: classcred_store::Role) -> Self {
        match r {
            classcred_store::Role::Admin => RoleName::Admin,
            classcred_store::Role::Instructor => RoleName::Instructor,
            classcred_store::Role::Student => RoleName::Student,
        }
    }
}

impl From<classcred_engine::Role> for RoleName {
    fn from(r: classcred_engine::Role) -> Self {
        match r {
            classcred_engine::Role::Admin => RoleName::Admin,
            classcred_engine::Role::Instructor => RoleName::Instructor,
            classcred_engine::Role::Student => RoleName::Student,
        }
    }
}

/// Whether a member is a person, another bot, or this app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KindName {
    Human,
    Bot,
    App,
}

impl From<classcred_store::MemberKind> for KindName {
    fn from(k: classcred_store::MemberKind) -> Self {
        match k {
            classcred_store::MemberKind::Human => KindName::Human,
            classcred_store::MemberKind::Bot => KindName::Bot,
            classcred_store::MemberKind::App => KindName::App,
        }
    }
}

/// Milliseconds since the epoch as RFC 3339 UTC (`2026-03-02T12:00:00.000Z`).
pub fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}
