//! The badge catalog: built-in badges with their published rules, plus the community's own.
//!
//! Built-in badges are won automatically by the engine (see `engine/rewards.rs`), except
//! "top recogniser of the week", which is decided for a closed week by
//! [`crate::close_week`]. Custom badges are awarded by hand by an Admin
//! ([`crate::Event::BadgeGranted`]). Any badge can be disabled in the settings. Admins and
//! Instructors never win badges.

use serde::Serialize;

use crate::ids::BadgeId;
use crate::settings::CommunitySettings;

/// Instance name of one-time badges.
pub const ONCE: &str = "once";

/// How many distinct classmates make "recognised by 10" and "gave fire to 10".
pub const DISTINCT_PEOPLE: u32 = 10;
/// How many polls make "voted in 5 polls".
pub const POLLS_VOTED: u32 = 5;
/// How many consecutive quota days make the streak badge.
pub const STREAK_DAYS: i64 = 5;
/// How many different classmates' questions make "answered 5 questions".
pub const ANSWERED_QUESTIONS: u32 = 5;

/// The built-in badges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BuiltinBadge {
    /// First fire received.
    FirstFire,
    /// Recognised by 10 different classmates.
    RecognisedByTen,
    /// Gave fire on 5 consecutive quota days.
    FiveDayStreak,
    /// Gave fire to 10 different classmates.
    GaveToTen,
    /// Top recogniser of a week (repeatable, one instance per ISO week).
    TopRecogniser,
    /// Voted in 5 polls or debates (anonymous polls do not count).
    VotedInFive,
    /// Answered 5 different classmates' questions (accepted or not).
    AnsweredFive,
}

impl BuiltinBadge {
    /// Every built-in badge, in catalog order.
    pub const ALL: [BuiltinBadge; 7] = [
        BuiltinBadge::FirstFire,
        BuiltinBadge::RecognisedByTen,
        BuiltinBadge::FiveDayStreak,
        BuiltinBadge::GaveToTen,
        BuiltinBadge::TopRecogniser,
        BuiltinBadge::VotedInFive,
        BuiltinBadge::AnsweredFive,
    ];

    /// The stable id.
    pub fn id_str(self) -> &'static str {
        match self {
            BuiltinBadge::FirstFire => "first_fire",
            BuiltinBadge::RecognisedByTen => "recognised_by_10",
            BuiltinBadge::FiveDayStreak => "five_day_streak",
            BuiltinBadge::GaveToTen => "gave_to_10",
            BuiltinBadge::TopRecogniser => "top_recogniser",
            BuiltinBadge::VotedInFive => "voted_in_5_polls",
            BuiltinBadge::AnsweredFive => "answered_5_questions",
        }
    }

    /// The stable id as a [`BadgeId`].
    pub fn id(self) -> BadgeId {
        BadgeId::from_static(self.id_str())
    }

    /// The built-in badge with this id, if any.
    pub fn from_id(id: &BadgeId) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.id_str() == id.as_str())
    }

    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            BuiltinBadge::FirstFire => "First Spark",
            BuiltinBadge::RecognisedByTen => "Recognised by Ten",
            BuiltinBadge::FiveDayStreak => "Five-Day Streak",
            BuiltinBadge::GaveToTen => "Generous Ten",
            BuiltinBadge::TopRecogniser => "Top Recogniser of the Week",
            BuiltinBadge::VotedInFive => "Voice of the Class",
            BuiltinBadge::AnsweredFive => "Helpful Five",
        }
    }

    /// The published rule, shown to students.
    pub fn rule(self) -> &'static str {
        match self {
            BuiltinBadge::FirstFire => "Receive your first fire.",
            BuiltinBadge::RecognisedByTen => {
                "Receive fire from 10 different classmates (fire given while they were students)."
            }
            BuiltinBadge::FiveDayStreak => {
                "Give fire on 5 consecutive days (days in the course's timezone)."
            }
            BuiltinBadge::GaveToTen => "Give fire to 10 different members of the class.",
            BuiltinBadge::TopRecogniser => {
                "Give the most fire in a week (Monday to Sunday, course timezone), counting fire \
                 still standing when the week closes; ties all win; at least one fire. \
                 Decided after the week ends."
            }
            BuiltinBadge::VotedInFive => {
                "Vote in 5 different polls or debates (anonymous polls do not count: their \
                 votes are never tied to you)."
            }
            BuiltinBadge::AnsweredFive => {
                "Answer 5 different classmates' questions (a reply in the question's thread; \
                 it counts whether or not the answer is accepted)."
            }
        }
    }
}

/// One catalog row, for the dashboard and `/cred help`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BadgeInfo {
    /// Id.
    pub id: BadgeId,
    /// Name.
    pub name: String,
    /// Rule text (for custom badges: the Admin's description).
    pub rule: String,
    /// Enabled in this community.
    pub enabled: bool,
    /// Admin-made (awarded by hand).
    pub custom: bool,
}

/// The community's badge catalog: built-ins then custom badges.
pub fn catalog(settings: &CommunitySettings) -> Vec<BadgeInfo> {
    let builtin = BuiltinBadge::ALL.into_iter().map(|b| BadgeInfo {
        id: b.id(),
        name: b.name().to_owned(),
        rule: b.rule().to_owned(),
        enabled: settings.badge_enabled(&b.id()),
        custom: false,
    });
    let custom = settings.custom_badges.iter().map(|c| BadgeInfo {
        id: c.id.clone(),
        name: c.name.clone(),
        rule: format!("Awarded by hand. {}", c.description)
            .trim()
            .to_owned(),
        enabled: settings.badge_enabled(&c.id),
        custom: true,
    });
    builtin.chain(custom).collect()
}

/// The display name of any badge in this community.
pub fn badge_name(settings: &CommunitySettings, id: &BadgeId) -> String {
    if let Some(b) = BuiltinBadge::from_id(id) {
        return b.name().to_owned();
    }
    settings
        .custom_badges
        .iter()
        .find(|c| &c.id == id)
        .map_or_else(|| id.to_string(), |c| c.name.clone())
}
