//! Identifiers and roles: who a member is to the engine.
//!
//! [`MemberId`] is our opaque id for a member of one community (the store maps it to a
//! platform user id); the engine only compares ids. [`Role`] and [`MemberKind`] decide who may
//! give and receive fire. Names and other personal data never appear here.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Our opaque id of a member within one community: the store's member id, a UUIDv7 string.
/// Cheap to clone (the text is shared).
///
/// Equality, ordering and hashing are those of the text; serde is the plain string; `Debug`
/// prints `MemberId("…")`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

    /// The id's bytes (the UTF-8 of [`MemberId::as_str`]).
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MemberId").field(&self.as_str()).finish()
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for MemberId {
    fn from(s: &str) -> Self {
        MemberId(Arc::from(s))
    }
}

impl Serialize for MemberId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for MemberId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(MemberId::new)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{Hash, Hasher};

    #[test]
    fn member_ids_behave_as_their_text() {
        use std::collections::hash_map::DefaultHasher;
        let hash = |h: &dyn Fn(&mut DefaultHasher)| {
            let mut s = DefaultHasher::new();
            h(&mut s);
            s.finish()
        };
        let words = [
            "",
            "U1",
            "é✓",
            "U0123456789ABCDEF",
            "01936f2e-6b1c-7a3d-9e4f-1a2b3c4d5e6f",
            "01936f2e-6b1c-7a3d-9e4f-1a2b3c4d5e70",
            "01936f2e-6b1d-7a3d-9e4f-1a2b3c4d5e6f",
        ];
        for a in words {
            let m = MemberId::new(a);
            assert_eq!(m.as_str(), a);
            assert_eq!(m.to_string(), a);
            assert_eq!(format!("{m:?}"), format!("MemberId({a:?})"));
            assert_eq!(hash(&|s| m.hash(s)), hash(&|s| a.hash(s)));
            let json = serde_json::to_string(&m).unwrap_or_default();
            assert_eq!(json, serde_json::to_string(a).unwrap_or_default());
            assert_eq!(
                serde_json::from_str::<MemberId>(&json).ok(),
                Some(m.clone())
            );
            for b in words {
                assert_eq!(m == MemberId::from(b), a == b, "{a:?} vs {b:?}");
                assert_eq!(m.cmp(&MemberId::from(b)), a.cmp(b), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn badge_ids_behave_as_their_text() {
        let a = BadgeId::from_static("first_fire");
        assert_eq!(a, BadgeId::new("first_fire"));
        assert_ne!(a, BadgeId::new("first_firE"));
        assert_eq!(a.to_string(), "first_fire");
    }
}
