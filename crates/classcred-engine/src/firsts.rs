//! Firsts (PRODUCT §3): the first N students to respond to an announcement, poll, debate or
//! question earn bonus points; and the records the engine keeps for it.
//!
//! - A *response* is an [`crate::Activity`] about a target: a reply in a posted announcement's
//!   thread ([`crate::ActivityKind::RespondedToAnnouncement`]), an answer to a question
//!   ([`crate::ActivityKind::Answered`]), a first vote in a poll
//!   ([`crate::ActivityKind::VotedInPoll`]), taking part in a debate
//!   ([`crate::ActivityKind::DebatedIn`]).
//! - The first response of each person to each target is kept as a [`FirstResponse`]; later
//!   ones by the same member add nothing. Students get a *place* (1, 2, 3 … in processing
//!   order, which is deterministic); Instructors and Admins respond without taking a place.
//! - Places are counted whether or not firsts are switched on, so switching them on later
//!   does not make the twelfth responder "first".
//! - When firsts are on and the place is within `count`, the student earns `points`
//!   (ledger [`crate::EntryKind::FirstBonus`], key from the target and the member: a
//!   redelivery adds nothing), with a notice and feed items.
//! - A bonus stands when the response is later deleted (an answer removed, a vote changed): it
//!   rewards having been among the first, and reversing it would hand the place to someone who
//!   was not. Replay derives the same places and bonuses from the same events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::MemberId;
use crate::points::Points;

/// Most students one target can reward (`count`).
pub const MAX_FIRSTS_COUNT: u32 = 50;
/// Largest bonus.
pub const MAX_FIRST_BONUS: Points = Points::from_whole(100);

/// The community's firsts settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FirstsSettings {
    /// Whether first responders earn a bonus. Default off: a bonus changes what students earn
    /// for replying, which the class's instructor decides (like every reward beyond fire).
    pub enabled: bool,
    /// How many students per target earn it (1 to 50). Default 3: a podium.
    pub count: u32,
    /// Points each earns (0 to 100). Default 1, the worth of one fire.
    pub points: Points,
}

impl Default for FirstsSettings {
    fn default() -> Self {
        FirstsSettings {
            enabled: false,
            count: 3,
            points: Points::from_whole(1),
        }
    }
}

impl FirstsSettings {
    /// The first problem, as (field under `firsts.`, problem).
    pub fn problem(&self) -> Option<(String, String)> {
        if self.count == 0 || self.count > MAX_FIRSTS_COUNT {
            return Some((
                "count".into(),
                format!("must be between 1 and {MAX_FIRSTS_COUNT}"),
            ));
        }
        if self.points < Points::ZERO || self.points > MAX_FIRST_BONUS {
            return Some((
                "points".into(),
                format!("must be between 0 and {MAX_FIRST_BONUS}"),
            ));
        }
        None
    }

    /// The bonus of a student in `place` (1-based), if any.
    pub fn bonus_for(&self, place: u32) -> Option<Points> {
        (self.enabled && place >= 1 && place <= self.count && self.points > Points::ZERO)
            .then_some(self.points)
    }
}

/// What was responded to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A posted announcement (by announcement id).
    Announcement,
    /// A question (by its platform message id).
    Question,
    /// A poll (by poll id).
    Poll,
    /// A debate (by its poll id).
    Debate,
}

impl TargetKind {
    /// The lowercase name used in keys, rows and feeds.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Announcement => "announcement",
            TargetKind::Question => "question",
            TargetKind::Poll => "poll",
            TargetKind::Debate => "debate",
        }
    }

    /// The kind named by [`TargetKind::as_str`].
    pub fn parse(s: &str) -> Option<TargetKind> {
        Some(match s {
            "announcement" => TargetKind::Announcement,
            "question" => TargetKind::Question,
            "poll" => TargetKind::Poll,
            "debate" => TargetKind::Debate,
            _ => return None,
        })
    }

    /// "an announcement", "a question" …
    pub fn with_article(self) -> &'static str {
        match self {
            TargetKind::Announcement => "an announcement",
            TargetKind::Question => "a question",
            TargetKind::Poll => "a poll",
            TargetKind::Debate => "a debate",
        }
    }
}

/// A person's first response to one target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstResponse {
    /// What kind of target.
    pub kind: TargetKind,
    /// The target's id.
    pub target: String,
    /// Who responded.
    pub member: MemberId,
    /// 1-based place among the students who responded; `None` for a member who was not a
    /// Student then.
    pub place: Option<u32>,
    /// The bonus earned (zero when none).
    pub bonus: Points,
    /// When (the event's platform time).
    pub occurred_at: DateTime<Utc>,
}

/// A scheduled announcement as posted to the chat platform: replies in the thread of
/// `platform_message_id` respond to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnouncementPost {
    /// The announcement's id.
    pub announcement_id: String,
    /// The posted message (the same form as the adapter's message ids).
    pub platform_message_id: String,
    /// Where it was posted.
    pub channel: String,
    /// When the post was confirmed.
    pub posted_at: DateTime<Utc>,
}
