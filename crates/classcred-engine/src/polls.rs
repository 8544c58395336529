//! Polls and debates: their definitions, votes and the events that change them.
//!
//! The rules (who may create and close, when a vote counts, what a debate's thread counts)
//! live in the engine's `polls` rules module; this module holds plain data and validation.
//!
//! ## One vote per member
//! A member has at most one vote per poll: the vote record is keyed by (poll, member), and a
//! new vote before the close replaces the old one. A vote seen again (a redelivery, or the
//! same option clicked twice) changes nothing.
//!
//! ## Anonymous polls
//! An anonymous poll records no activity and no member feed item for its votes: a
//! participation reward (a badge, a custom reward rule, a first) would tell who voted. Its
//! results show counts only; the store keeps a keyed blind index of the voter instead of the
//! member id (enough to keep one vote per member, useless for saying who voted). Debates are
//! never anonymous: their discussion thread is public anyway.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::MemberId;

/// Fewest options (or sides).
pub const MIN_OPTIONS: usize = 2;
/// Most options (or sides).
pub const MAX_OPTIONS: usize = 10;
/// Longest question, in characters.
pub const MAX_QUESTION_CHARS: usize = 300;
/// Longest option, in characters.
pub const MAX_OPTION_CHARS: usize = 100;
/// Longest poll id.
pub const MAX_POLL_ID_LEN: usize = 64;

/// A plain poll, or a debate (sides plus a discussion thread whose posts count).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PollKind {
    /// Options to vote for.
    Poll,
    /// Sides to choose, and a discussion thread.
    Debate,
}

impl PollKind {
    /// The lowercase name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            PollKind::Poll => "poll",
            PollKind::Debate => "debate",
        }
    }

    /// Parses [`PollKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "poll" => Some(PollKind::Poll),
            "debate" => Some(PollKind::Debate),
            _ => None,
        }
    }
}

/// A poll's definition, as an Instructor or Admin wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollDefinition {
    /// Poll or debate.
    pub kind: PollKind,
    /// The question (or motion) asked; instructor-written.
    pub question: String,
    /// The options (debate: sides), 2 to 10, numbered from 1 in chat.
    pub options: Vec<String>,
    /// Whether the votes are anonymous (polls only).
    #[serde(default)]
    pub anonymous: bool,
    /// Whether results show while the poll is open (otherwise only once it is closed).
    #[serde(default)]
    pub live_results: bool,
    /// Where it is posted: the platform's channel, room or conversation id.
    #[serde(default)]
    pub channel: Option<String>,
    /// When it closes by itself, if ever.
    #[serde(default)]
    pub closes_at: Option<DateTime<Utc>>,
}

/// A problem with a poll definition, next to the form field it concerns.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PollError {
    /// `question`, `options`, `anonymous`, `closes_at` or `poll_id`.
    pub field: &'static str,
    /// What is wrong, in plain words.
    pub message: String,
}

fn poll_error(field: &'static str, message: impl Into<String>) -> PollError {
    PollError {
        field,
        message: message.into(),
    }
}

/// Whether a poll id is 1–64 characters of letters, digits, `-` and `_`.
pub fn valid_poll_id(id: &str) -> bool {
    crate::store::valid_id(id)
}

impl PollDefinition {
    /// Checks every limit of a definition created at `at`.
    pub fn validate(&self, at: DateTime<Utc>) -> Result<(), PollError> {
        let q = self.question.trim();
        if q.is_empty() {
            return Err(poll_error("question", "write the question"));
        }
        if q != self.question {
            return Err(poll_error(
                "question",
                "remove the spaces around the question",
            ));
        }
        if self.question.chars().count() > MAX_QUESTION_CHARS {
            return Err(poll_error(
                "question",
                format!("at most {MAX_QUESTION_CHARS} characters"),
            ));
        }
        if self.question.chars().any(char::is_control) {
            return Err(poll_error(
                "question",
                "one line, without control characters",
            ));
        }
        let n = self.options.len();
        if !(MIN_OPTIONS..=MAX_OPTIONS).contains(&n) {
            return Err(poll_error(
                "options",
                format!("give {MIN_OPTIONS} to {MAX_OPTIONS} options, one per line"),
            ));
        }
        for (i, o) in self.options.iter().enumerate() {
            if o.trim().is_empty() || o.trim() != o {
                return Err(poll_error(
                    "options",
                    format!("option {} is empty or has spaces around it", i + 1),
                ));
            }
            if o.chars().count() > MAX_OPTION_CHARS || o.chars().any(char::is_control) {
                return Err(poll_error(
                    "options",
                    format!(
                        "option {} must be one line of at most {MAX_OPTION_CHARS} characters",
                        i + 1
                    ),
                ));
            }
            if self.options[..i].iter().any(|p| p.eq_ignore_ascii_case(o)) {
                return Err(poll_error(
                    "options",
                    format!("option {} repeats an earlier one", i + 1),
                ));
            }
        }
        if self.anonymous && self.kind == PollKind::Debate {
            return Err(poll_error(
                "anonymous",
                "debates are not anonymous (their discussion thread is public)",
            ));
        }
        if self.closes_at.is_some_and(|c| c <= at) {
            return Err(poll_error("closes_at", "the closing time has passed"));
        }
        Ok(())
    }

    /// The option a member names: its number (`2`, `#2`) or its text (any case).
    pub fn find_option(&self, what: &str) -> Option<u32> {
        let what = what.trim();
        if let Ok(n) = what.trim_start_matches('#').parse::<usize>() {
            return (1..=self.options.len())
                .contains(&n)
                .then(|| u32::try_from(n - 1).ok())
                .flatten();
        }
        self.options
            .iter()
            .position(|o| o.eq_ignore_ascii_case(what))
            .and_then(|i| u32::try_from(i).ok())
    }
}

/// What the engine remembers about one poll.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollRecord {
    /// The poll id (made by the service).
    pub poll_id: String,
    /// The definition.
    pub definition: PollDefinition,
    /// Who created it.
    pub created_by: MemberId,
    /// When.
    pub created_at: DateTime<Utc>,
    /// The platform message id of the posted poll (a debate's thread root), once posted.
    #[serde(default)]
    pub posted_message: Option<String>,
    /// When it closed (by hand or at its closing time).
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
    /// Who closed it (`None`: not closed, or closed at its scheduled time).
    #[serde(default)]
    pub closed_by: Option<MemberId>,
}

impl PollRecord {
    /// Whether votes are refused at `at`: closed, or past its closing time.
    pub fn closed_at_time(&self, at: DateTime<Utc>) -> bool {
        self.closed_at.is_some() || self.definition.closes_at.is_some_and(|c| at >= c)
    }
}

/// One member's vote in one poll (the option is an index from 0).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteRecord {
    /// The poll.
    pub poll_id: String,
    /// The voter.
    pub member: MemberId,
    /// The option chosen, from 0.
    pub option: u32,
    /// When the vote (or its last change) was cast.
    pub voted_at: DateTime<Utc>,
    /// Whether the poll is anonymous (the store keeps a blind index instead of the member).
    #[serde(default)]
    pub anonymous: bool,
}

/// One member counted once as a debate's participant (side chosen or post in its thread).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebateParticipant {
    /// The debate.
    pub poll_id: String,
    /// Who.
    pub member: MemberId,
    /// When they first took part.
    pub at: DateTime<Utc>,
}

/// An Instructor or Admin created a poll or debate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollCreated {
    /// A fresh id (UUID made by the service).
    pub poll_id: String,
    /// The definition.
    pub definition: PollDefinition,
    /// Who created it.
    pub by: MemberId,
    /// When.
    pub occurred_at: DateTime<Utc>,
}

/// The bot posted the poll: its platform message id (a debate's discussion thread root).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollPosted {
    /// The poll.
    pub poll_id: String,
    /// The platform message id of the posted poll.
    pub platform_message_id: String,
    /// When.
    pub occurred_at: DateTime<Utc>,
}

/// A member voted (or changed their vote).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteCast {
    /// The poll.
    pub poll_id: String,
    /// The voter.
    pub member: MemberId,
    /// The option, from 0.
    pub option: u32,
    /// When (the platform's time of the click or command).
    pub occurred_at: DateTime<Utc>,
}

/// A poll was closed, by hand (`by`) or at its scheduled time (`by` `None`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollClosed {
    /// The poll.
    pub poll_id: String,
    /// The Instructor or Admin who closed it; `None`: the scheduled close.
    #[serde(default)]
    pub by: Option<MemberId>,
    /// When.
    pub occurred_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def() -> PollDefinition {
        PollDefinition {
            kind: PollKind::Poll,
            question: "Which topic next?".into(),
            options: vec!["Graphs".into(), "Trees".into()],
            anonymous: false,
            live_results: false,
            channel: None,
            closes_at: None,
        }
    }

    #[test]
    fn validation_names_the_field() {
        let at = DateTime::UNIX_EPOCH;
        assert_eq!(def().validate(at), Ok(()));
        let bad = |f: fn(&mut PollDefinition)| {
            let mut d = def();
            f(&mut d);
            d.validate(at).unwrap_err().field
        };
        assert_eq!(bad(|d| d.question = " ".into()), "question");
        assert_eq!(bad(|d| d.options.truncate(1)), "options");
        assert_eq!(bad(|d| d.options = vec!["a".into(); 11]), "options");
        assert_eq!(bad(|d| d.options[1] = "graphs".into()), "options");
        assert_eq!(
            bad(|d| {
                d.kind = PollKind::Debate;
                d.anonymous = true;
            }),
            "anonymous"
        );
        assert_eq!(
            bad(|d| d.closes_at = Some(DateTime::UNIX_EPOCH)),
            "closes_at"
        );
    }

    #[test]
    fn options_are_named_by_number_or_text() {
        let d = def();
        assert_eq!(d.find_option("1"), Some(0));
        assert_eq!(d.find_option("#2"), Some(1));
        assert_eq!(d.find_option("trees"), Some(1));
        assert_eq!(d.find_option("3"), None);
        assert_eq!(d.find_option("0"), None);
        assert_eq!(d.find_option("maps"), None);
    }
}
