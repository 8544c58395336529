//! Identifiers and roles: who a member is to the engine.
//!
//! [`MemberId`] is our opaque id for a member of one community (the store maps it to a
//! platform user id); the engine only compares ids. [`Role`] and [`MemberKind`] decide who may
//! give and receive fire. Names and other personal data never appear here.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Our opaque id of a member within one community. Cheap to clone (shared text).
#[derive(Clone, Debug, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MemberId(Arc<str>);

impl PartialEq for MemberId {
    /// Text equality, with a fast path for clones of the same id (the usual case inside one
    /// event: every entry and record holds a clone of the event's ids).
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || text_eq(&self.0, &other.0)
    }
}

/// String equality tuned for short ids: up to 16 bytes it compares with two overlapping word
/// loads instead of calling `memcmp` (ids are compared in every hash lookup and list scan).
#[inline]
pub(crate) fn text_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if (8..=16).contains(&n) {
        word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8)
    } else if (4..8).contains(&n) {
        word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4)
    } else {
        a == b
    }
}

#[inline]
fn word8(s: &[u8], at: usize) -> u64 {
    s.get(at..at + 8)
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
        .map_or(0, u64::from_le_bytes)
}

#[inline]
fn word4(s: &[u8], at: usize) -> u32 {
    s.get(at..at + 4)
        .and_then(|w| <[u8; 4]>::try_from(w).ok())
        .map_or(0, u32::from_le_bytes)
}

impl Hash for MemberId {
    /// Hashes the text, exactly as the derived implementation did.
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

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
#[derive(Clone, Debug, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BadgeId(Cow<'static, str>);

impl PartialEq for BadgeId {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        text_eq(&self.0, &other.0)
    }
}

impl Hash for BadgeId {
    /// Hashes the text, exactly as the derived implementation did.
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_eq_agrees_with_str_eq() {
        let words = [
            "",
            "a",
            "ab",
            "abc",
            "abcd",
            "abce",
            "abcde",
            "xbcde",
            "abcdefg",
            "abcdefh",
            "U0000001",
            "U0000002",
            "V0000001",
            "U00000001",
            "U00000002",
            "U0123456789ABCDE",
            "U0123456789ABCDF",
            "V0123456789ABCDE",
            "U0123456789ABCDEF",
            "U0123456789ABCDEG",
        ];
        for a in words {
            for b in words {
                assert_eq!(text_eq(a, b), a == b, "{a:?} vs {b:?}");
                assert_eq!(MemberId::from(a) == MemberId::from(b), a == b);
            }
        }
    }
}
