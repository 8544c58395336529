//! Validated Slack identifiers and message timestamps.
//!
//! Slack ids are short upper-case alphanumeric strings whose first letter says what they are
//! (`U`/`W` users, `T` workspaces, `E` enterprise grids, `C`/`G`/`D` conversations). Parsing them
//! once here means the rest of ClassCred never handles an unchecked id. Display names are never
//! ids: mentions are always resolved to these.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a string is not a valid Slack id or timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Wrong length, character set or leading letter for this kind of id.
    #[error("not a valid Slack {kind}")]
    Invalid {
        /// Which kind of id was expected.
        kind: &'static str,
    },
}

fn valid_id(s: &str, prefixes: &[u8]) -> bool {
    let b = s.as_bytes();
    (2..=32).contains(&b.len())
        && prefixes.contains(&b[0])
        && b.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

macro_rules! slack_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $prefixes:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses and validates an id.
            pub fn parse(s: &str) -> Result<Self, IdError> {
                if valid_id(s, $prefixes) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(IdError::Invalid { kind: $kind })
                }
            }

            /// The id as Slack spells it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                if valid_id(&s, $prefixes) {
                    Ok(Self(s))
                } else {
                    Err(IdError::Invalid { kind: $kind })
                }
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
    };
}

slack_id!(
    /// A Slack user id: `U…`, or `W…` for Enterprise Grid users. Bot users are `U…` ids too.
    SlackUserId,
    "user id",
    b"UW"
);
slack_id!(
    /// A Slack workspace (`T…`) or Enterprise Grid org (`E…`) id.
    SlackTeamId,
    "team id",
    b"TE"
);
slack_id!(
    /// A Slack conversation id: public channel `C…`, private channel/group `G…`, direct message `D…`.
    SlackChannelId,
    "channel id",
    b"CGD"
);

/// A Slack message timestamp such as `1531420618.000200`: both the message's id within its
/// channel and the moment Slack received it (which decides quota day, tax week and course dates).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SlackTs(String);

fn valid_ts(s: &str) -> bool {
    let (secs, frac) = match s.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let digits = |p: &str, max: usize| {
        !p.is_empty() && p.len() <= max && p.bytes().all(|c| c.is_ascii_digit())
    };
    digits(secs, 12) && frac.is_none_or(|f| digits(f, 9))
}

impl SlackTs {
    /// Parses a timestamp of the form `seconds[.fraction]` (digits only).
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if valid_ts(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdError::Invalid { kind: "timestamp" })
        }
    }

    /// The timestamp exactly as Slack sent it (use this in idempotency keys).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whole Unix seconds (the fraction only orders messages within a second).
    pub fn unix_seconds(&self) -> i64 {
        let secs = self.0.split('.').next().unwrap_or("0");
        secs.parse().unwrap_or(0)
    }
}

impl TryFrom<String> for SlackTs {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        if valid_ts(&s) {
            Ok(Self(s))
        } else {
            Err(IdError::Invalid { kind: "timestamp" })
        }
    }
}

impl From<SlackTs> for String {
    fn from(ts: SlackTs) -> String {
        ts.0
    }
}

impl fmt::Display for SlackTs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SlackTs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SlackTs({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids() {
        assert!(SlackUserId::parse("U123ABC").is_ok());
        assert!(SlackUserId::parse("W0123").is_ok());
        assert!(SlackUserId::parse("USLACKBOT").is_ok());
        for bad in [
            "",
            "U",
            "u123",
            "T123",
            "U12 3",
            "U123|x",
            "Ü12",
            &"U".repeat(40),
        ] {
            assert!(SlackUserId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn other_ids() {
        assert!(SlackTeamId::parse("T1DC2JH3J").is_ok());
        assert!(SlackTeamId::parse("E12345").is_ok());
        assert!(SlackTeamId::parse("U12345").is_err());
        assert!(SlackChannelId::parse("C123").is_ok());
        assert!(SlackChannelId::parse("G8PSS9T3V").is_ok());
        assert!(SlackChannelId::parse("D024BE91L").is_ok());
        assert!(SlackChannelId::parse("X123").is_err());
    }

    #[test]
    fn timestamps() {
        let ts = SlackTs::parse("1531420618.000200").unwrap();
        assert_eq!(ts.unix_seconds(), 1_531_420_618);
        assert_eq!(ts.as_str(), "1531420618.000200");
        assert_eq!(
            SlackTs::parse("1531420618").unwrap().unix_seconds(),
            1_531_420_618
        );
        for bad in [
            "",
            ".",
            "1.",
            ".5",
            "-1",
            "+1",
            "1e9",
            "abc",
            "1.2.3",
            "1234567890123",
        ] {
            assert!(SlackTs::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn serde_validates() {
        let id: Result<SlackUserId, _> = serde_json::from_str("\"nope\"");
        assert!(id.is_err());
        let id: SlackUserId = serde_json::from_str("\"U1\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"U1\"");
    }
}
