//! Typed ids of tenancy: [`CommunityId`] and [`MemberRowId`].
//!
//! Both are the text of a UUID issued by the store (`Uuid::now_v7`, lowercase hyphenated). They
//! are made in exactly two ways: by the store from a row it read or a row it created
//! (crate-private), or by [`CommunityId::parse`] / [`MemberRowId::parse`] (also `TryFrom<&str>`,
//! `FromStr` and serde deserialisation), which refuse anything that is not a UUID. Every
//! boundary that receives an id from outside (CLI arguments, job payloads, HTTP, platform
//! state) goes through the parse, so a garbage or injected id is refused before any query.
//!
//! How they map to the engine: `classcred_engine::MemberId` is an opaque `Arc<str>` the engine
//! only compares; inside the engine it is a member's *row* id (after the service resolves
//! platform user ids) and, before resolution, may be a platform user id (`U…`). A
//! [`MemberRowId`] is only ever a row id of the `member` table. Platform user ids (Slack
//! `U…`) stay plain strings (`Member::platform_user_id`) and are never a [`MemberRowId`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::StoreError;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        ///
        /// SQL binds and decodes it as its text (`sqlx(transparent)`): decoding is how the
        /// store makes one from a row it read.
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, sqlx::Type)]
        #[serde(try_from = "String", into = "String")]
        #[sqlx(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parse an id received from outside (CLI, job payload, HTTP): a UUID, in any
            /// of its textual forms, normalised to the lowercase hyphenated form the store
            /// issues. Anything else is refused.
            pub fn parse(s: &str) -> Result<Self, StoreError> {
                uuid::Uuid::try_parse(s.trim())
                    .map(|u| Self(u.hyphenated().to_string()))
                    .map_err(|_| {
                        StoreError::Invalid(format!(
                            concat!($what, " id must be a UUID, got {} characters"),
                            s.chars().count()
                        ))
                    })
            }

            /// An id read from a row of the database (or issued for a new row).
            pub(crate) fn from_db(s: String) -> Self {
                Self(s)
            }

            /// A new id for a row about to be inserted.
            pub(crate) fn new_row() -> Self {
                Self(crate::new_id())
            }

            /// The id as text (for SQL binds, logs and messages).
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl FromStr for $name {
            type Err = StoreError;
            fn from_str(s: &str) -> Result<Self, StoreError> {
                Self::parse(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = StoreError;
            fn try_from(s: &str) -> Result<Self, StoreError> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = StoreError;
            fn try_from(s: String) -> Result<Self, StoreError> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

uuid_id!(
    /// The id of a community (a tenant): the `community.id` of its row.
    CommunityId,
    "community"
);

uuid_id!(
    /// The row id of a member of one community (`member.id`); never a platform user id.
    /// The engine sees the same text as a `classcred_engine::MemberId`.
    MemberRowId,
    "member"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_uuids_and_normalises() {
        let id = CommunityId::parse("0190B2C4-5D6E-7F80-9A0B-1C2D3E4F5A6B").unwrap();
        assert_eq!(id.as_str(), "0190b2c4-5d6e-7f80-9a0b-1c2d3e4f5a6b");
        let m: MemberRowId = "0190b2c45d6e7f809a0b1c2d3e4f5a6b".parse().unwrap();
        assert_eq!(m.as_str(), "0190b2c4-5d6e-7f80-9a0b-1c2d3e4f5a6b");
    }

    #[test]
    fn parse_refuses_garbage() {
        for bad in [
            "",
            "c1",
            "U0123ABC",
            "' OR 1=1 --",
            "0190b2c4-5d6e-7f80-9a0b-1c2d3e4f5a6",
        ] {
            assert!(CommunityId::parse(bad).is_err(), "{bad:?}");
            assert!(MemberRowId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn serde_is_the_plain_string_and_validates() {
        let id = CommunityId::parse("0190b2c4-5d6e-7f80-9a0b-1c2d3e4f5a6b").unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"0190b2c4-5d6e-7f80-9a0b-1c2d3e4f5a6b\"");
        assert_eq!(serde_json::from_str::<CommunityId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<CommunityId>("\"not-a-uuid\"").is_err());
    }
}
