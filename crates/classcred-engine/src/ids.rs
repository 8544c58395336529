//! Identifiers and roles: who a member is to the engine.
//!
//! [`MemberId`] is our opaque id for a member of one community (the store maps it to a
//! platform user id); the engine only compares ids. [`Role`] and [`MemberKind`] decide who may
//! give and receive fire. Names and other personal data never appear here.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Our opaque id of a member within one community. Cheap to clone (shared text).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MemberId(Arc<str>);

impl MemberId {
    /// Wraps an id already issued by the store or an adapter.
    pub fn new(id: impl Into<String>) -> Self {
        MemberId(Arc::from(id.into()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for MemberId {
    fn from(s: &str) -> Self {
        MemberId(Arc::from(s))
    }
}

/// A member's role in a community (PRODUCT.md §1).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Whoever installed the app; sees everything in the community.
    Admin,
    /// Assigned by an Admin (e.g. a TA).
    Instructor,
    /// The default for every new member.
    #[default]
    Student,
}

impl Role {
    /// Admins and Instructors: excluded from badges and leaderboards.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Admin | Role::Instructor)
    }
}

/// Whether a member is a person, another bot, or this app itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberKind {
    /// A person.
    #[default]
    Human,
    /// Some other bot or integration in the workspace.
    Bot,
    /// ClassCred itself.
    App,
}

/// What the engine knows about a member.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemberInfo {
    /// The member's role.
    pub role: Role,
    /// Person, bot or app.
    pub kind: MemberKind,
}

impl MemberInfo {
    /// Whether this member may ever receive fire (people only).
    pub fn can_receive(self) -> bool {
        self.kind == MemberKind::Human
    }

    /// Whether this member may give fire (people only; other bots and the app never give).
    pub fn can_give(self) -> bool {
        self.kind == MemberKind::Human
    }

    /// Students only (people with the Student role): badges, leaderboards, level-up notices.
    pub fn is_student(self) -> bool {
        self.kind == MemberKind::Human && self.role == Role::Student
    }
}

/// A badge id: a built-in one (see [`crate::badges`]) or an Admin-made one from the settings.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BadgeId(Cow<'static, str>);

impl BadgeId {
    /// Wraps a badge id.
    pub fn new(id: impl Into<String>) -> Self {
        BadgeId(Cow::Owned(id.into()))
    }

    /// A badge id from static text (no allocation).
    pub const fn from_static(id: &'static str) -> Self {
        BadgeId(Cow::Borrowed(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BadgeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
