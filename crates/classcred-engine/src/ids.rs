//! Identifiers and roles: who a member is to the engine.
//!
//! [`MemberId`] is our opaque id for a member of one community (the store maps it to a
//! platform user id); the engine only compares ids. [`Role`] and [`MemberKind`] decide who may
//! give and receive fire. Names and other personal data never appear here.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Our opaque id of a member within one community. Cheap to clone: ids of up to
/// [`MemberId::INLINE`] bytes (every platform user id we know of) are stored inline, so a clone
/// is a plain copy with no reference count to touch; longer ids share their text.
///
/// Equality, ordering and hashing are those of the text (hashing feeds the hasher exactly what
/// `str` does); serde is the plain string; `Debug` prints `MemberId("…")`.
#[derive(Clone)]
pub struct MemberId(Repr);

#[derive(Clone)]
enum Repr {
    /// A short id: its bytes, zero-padded, then its length in the last byte.
    Inline(InlineId),
    /// A longer id.
    Shared(Arc<str>),
}

/// A short id's bytes, zero-padded, then its length in the last byte; word-aligned so that
/// copies and comparisons are whole-word moves.
#[derive(Clone, Copy)]
#[repr(align(8))]
struct InlineId([u8; MemberId::INLINE + 1]);

/// The `at`th to `at + 8`th byte of an inline id, as one word.
#[inline(always)]
fn inline_word(id: &InlineId, at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&id.0[at..at + 8]);
    u64::from_le_bytes(w)
}

impl MemberId {
    /// The longest id stored inline.
    pub const INLINE: usize = 23;

    /// Wraps an id already issued by the store or an adapter.
    pub fn new(id: impl Into<String>) -> Self {
        let id = id.into();
        match Self::inline(&id) {
            Some(m) => m,
            None => MemberId(Repr::Shared(Arc::from(id))),
        }
    }

    fn inline(s: &str) -> Option<Self> {
        let len = u8::try_from(s.len())
            .ok()
            .filter(|n| usize::from(*n) <= Self::INLINE)?;
        let mut buf = [0u8; Self::INLINE + 1];
        buf.get_mut(..s.len())?.copy_from_slice(s.as_bytes());
        buf[Self::INLINE] = len;
        Some(MemberId(Repr::Inline(InlineId(buf))))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Always valid: the bytes were copied from a `str` whole.
            Repr::Inline(..) => std::str::from_utf8(self.bytes()).unwrap_or_default(),
            Repr::Shared(s) => s,
        }
    }

    /// The id's bytes (the UTF-8 of [`MemberId::as_str`]).
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline(InlineId(buf)) => buf
                .get(..usize::from(buf[Self::INLINE]))
                .unwrap_or_default(),
            Repr::Shared(s) => s.as_bytes(),
        }
    }
}

impl PartialEq for MemberId {
    /// Text equality; two inline ids (length included) compare as three words.
    #[inline(always)]
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Repr::Inline(a), Repr::Inline(b)) => {
                (inline_word(a, 0) ^ inline_word(b, 0))
                    | (inline_word(a, 8) ^ inline_word(b, 8))
                    | (inline_word(a, 16) ^ inline_word(b, 16))
                    == 0
            }
            _ => shared_eq(&self.0, &other.0),
        }
    }
}

/// Equality when at least one id is long (shared).
#[cold]
#[inline(never)]
fn shared_eq(a: &Repr, b: &Repr) -> bool {
    match (a, b) {
        (Repr::Shared(a), Repr::Shared(b)) => Arc::ptr_eq(a, b) || text_eq(a, b),
        // Every constructor stores ids of up to `INLINE` bytes inline and only longer ones
        // shared, so the same text never has both forms.
        _ => false,
    }
}

impl Eq for MemberId {}

impl PartialOrd for MemberId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for MemberId {
    /// The order of the text (bytewise, as `str` orders).
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.bytes().cmp(other.bytes())
    }
}

impl Hash for MemberId {
    /// Feeds the hasher exactly what `str`'s `Hash` does (the bytes, then `0xff`), so hash
    /// values are those of the text.
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.bytes());
        state.write_u8(0xff);
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
        match Self::inline(s) {
            Some(m) => m,
            None => MemberId(Repr::Shared(Arc::from(s))),
        }
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
                assert_eq!(MemberId::from(a).cmp(&MemberId::from(b)), a.cmp(b));
            }
        }
    }

    #[test]
    fn inline_and_shared_ids_behave_as_their_text() {
        use std::collections::hash_map::DefaultHasher;
        let hash = |h: &dyn Fn(&mut DefaultHasher)| {
            let mut s = DefaultHasher::new();
            h(&mut s);
            s.finish()
        };
        let long = "U".repeat(MemberId::INLINE + 5);
        for text in ["", "U1", "é✓", &"x".repeat(MemberId::INLINE), &long] {
            let m = MemberId::new(text);
            assert_eq!(m.as_str(), text);
            assert_eq!(m, MemberId::from(text));
            assert_eq!(m.to_string(), text);
            assert_eq!(format!("{m:?}"), format!("MemberId({text:?})"));
            assert_eq!(hash(&|s| m.hash(s)), hash(&|s| text.hash(s)));
            let json = serde_json::to_string(&m).unwrap_or_default();
            assert_eq!(json, serde_json::to_string(text).unwrap_or_default());
            assert_eq!(
                serde_json::from_str::<MemberId>(&json).ok(),
                Some(m.clone())
            );
        }
    }
}
