//! Custom reward rules: "when ⟨trigger⟩ [where ⟨condition⟩] then award ⟨points | badge⟩
//! [at most ⟨n⟩ per ⟨day | week | course⟩]".
//!
//! A [`RewardRule`] is data an Instructor or Admin writes on the dashboard; it reaches the
//! engine as a [`RuleSaved`] event (create, change, enable, disable), so `ledger replay`
//! reproduces every rule and every award. This module holds the model, its validation, its
//! plain-language sentence and the [`RulePreviewer`] (the rule run over a community's past);
//! the evaluation step lives in the engine's `rules` module.
//!
//! ## Evaluation
//! After an event's handler, before levels and badges, every enabled rule is matched against
//! the event's [`Activity`]s. A match earns the member (Students only) the rule's award:
//! points as a `rule_award` ledger entry whose key is built from the rule id and the
//! activity's source (`rule:<rule id>:<source>/<member>/0/rule_award`), so a redelivery (or
//! the same activity seen again, e.g. an answer accepted a second time) adds nothing; a badge
//! (one of the community's own badges) once per student. A cap counts the rule's awards to
//! the member in the activity's local day, ISO week, or ever (the course), in the community's
//! timezone.
//!
//! ## Deleted messages
//! A rule's award **stands** when the message that triggered it is later deleted (decided:
//! unlike fire, which belongs to the message, a rule rewards something the student did at
//! a moment; caps bound what deleting and re-posting could farm, and an Admin can adjust).
//! Fire *received* and then reversed by a deletion is likewise not taken back from a
//! "receives fire" rule. Replay stays exact because awards depend only on the events in
//! processing order.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::activity::{Activity, ActivityKind};
use crate::event::Event;
use crate::ids::{BadgeId, MemberId};
use crate::ledger::EntryKind;
use crate::memory::InMemoryState;
use crate::outcome::Outcome;
use crate::points::Points;
use crate::settings::CommunitySettings;
use crate::time::{IsoWeek, QuotaDay};

/// Most points one award of a rule may give.
pub const MAX_RULE_POINTS: i64 = 100;
/// Highest cap count.
pub const MAX_CAP: u32 = 1_000;
/// Highest "from N classmates".
pub const MAX_GIVERS: u32 = 1_000;
/// Longest rule id, channel id or item id in a rule.
pub const MAX_RULE_ID_LEN: usize = 64;
/// Most rules one community may have.
pub const MAX_RULES: usize = 100;

/// What a member did that a rule rewards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// Posts a message (optionally: in one channel).
    Posted,
    /// Answers someone else's question.
    Answered,
    /// Has an answer accepted.
    AnswerAccepted,
    /// Votes in a poll.
    VotedInPoll,
    /// Takes part in a debate.
    DebatedIn,
    /// Buys from the class store (optionally: one item).
    Bought,
    /// Receives fire from a classmate (optionally: once fire came from N different classmates).
    ReceivedFire,
    /// Replies to an announcement.
    RespondedToAnnouncement,
}

impl Trigger {
    /// Every trigger, in the order the dashboard lists them.
    pub const ALL: [Trigger; 8] = [
        Trigger::Posted,
        Trigger::Answered,
        Trigger::AnswerAccepted,
        Trigger::VotedInPoll,
        Trigger::DebatedIn,
        Trigger::Bought,
        Trigger::ReceivedFire,
        Trigger::RespondedToAnnouncement,
    ];

    /// The form and JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Posted => "posted",
            Trigger::Answered => "answered",
            Trigger::AnswerAccepted => "answer_accepted",
            Trigger::VotedInPoll => "voted_in_poll",
            Trigger::DebatedIn => "debated_in",
            Trigger::Bought => "bought",
            Trigger::ReceivedFire => "received_fire",
            Trigger::RespondedToAnnouncement => "responded_to_announcement",
        }
    }

    /// Parses [`Trigger::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Trigger::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The plain-language phrase: "a student posts a message" ...
    pub fn phrase(self) -> &'static str {
        match self {
            Trigger::Posted => "posts a message",
            Trigger::Answered => "answers a classmate's question",
            Trigger::AnswerAccepted => "has an answer accepted",
            Trigger::VotedInPoll => "votes in a poll",
            Trigger::DebatedIn => "takes part in a debate",
            Trigger::Bought => "buys from the class store",
            Trigger::ReceivedFire => "receives fire from a classmate",
            Trigger::RespondedToAnnouncement => "replies to an announcement",
        }
    }

    /// The trigger an activity is an instance of.
    pub fn of(kind: &ActivityKind) -> Self {
        match kind {
            ActivityKind::Posted { .. } => Trigger::Posted,
            ActivityKind::Answered { .. } => Trigger::Answered,
            ActivityKind::AnswerAccepted { .. } => Trigger::AnswerAccepted,
            ActivityKind::ReceivedFire { .. } => Trigger::ReceivedFire,
            ActivityKind::Bought { .. } => Trigger::Bought,
            ActivityKind::VotedInPoll { .. } => Trigger::VotedInPoll,
            ActivityKind::DebatedIn { .. } => Trigger::DebatedIn,
            ActivityKind::RespondedToAnnouncement { .. } => Trigger::RespondedToAnnouncement,
        }
    }
}

/// A small, validated condition on the trigger.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Condition {
    /// Posts: only in this channel (the platform's channel id).
    Channel {
        /// Channel, room or conversation id.
        channel: String,
    },
    /// Purchases: only of this store item.
    Item {
        /// Store item id.
        item: String,
    },
    /// Fire received: once fire came from at least `n` different classmates (ever); the rule
    /// then awards once per student.
    Givers {
        /// Distinct student givers.
        n: u32,
    },
}

/// What a rule awards.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RuleAward {
    /// Points, above zero and at most [`MAX_RULE_POINTS`].
    Points {
        /// Points per award.
        points: Points,
    },
    /// One of the community's own badges, once per student.
    Badge {
        /// A custom badge id from the settings.
        badge: BadgeId,
    },
}

/// The period a cap counts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapPeriod {
    /// The local day (the quota day).
    Day,
    /// The ISO week (Monday to Sunday, local time).
    Week,
    /// The whole course (ever).
    Course,
}

impl CapPeriod {
    /// The form and JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            CapPeriod::Day => "day",
            CapPeriod::Week => "week",
            CapPeriod::Course => "course",
        }
    }

    /// Parses [`CapPeriod::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [CapPeriod::Day, CapPeriod::Week, CapPeriod::Course]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// "At most `n` per `per`".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cap {
    /// Most awards per period (1 ..= [`MAX_CAP`]).
    pub n: u32,
    /// The period.
    pub per: CapPeriod,
}

/// The window one award is counted in for a cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CapWindow {
    /// One local day.
    Day(QuotaDay),
    /// One ISO week.
    Week(IsoWeek),
    /// Ever.
    Course,
}

/// One custom reward rule (the current version).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardRule {
    /// Our id (a UUID chosen by the service).
    pub rule_id: String,
    /// 1 when created; each change is the next version.
    pub version: u32,
    /// When.
    pub trigger: Trigger,
    /// Where (optional).
    #[serde(default)]
    pub condition: Option<Condition>,
    /// What.
    pub award: RuleAward,
    /// At most (optional).
    #[serde(default)]
    pub cap: Option<Cap>,
    /// Whether it awards now.
    pub enabled: bool,
    /// Set by the engine: the time of the save that enabled the rule (kept while it stays
    /// enabled). Only activities at or after it are rewarded, so a late redelivery of
    /// something done before the rule was on earns nothing. `None`: not enabled, or (in a
    /// preview) enabled from the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled_since: Option<DateTime<Utc>>,
}

/// A problem with a rule, next to the form field it concerns.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct RuleError {
    /// `rule_id`, `version`, `condition`, `points`, `badge`, `cap`.
    pub field: &'static str,
    /// What is wrong, in plain words.
    pub message: String,
}

fn rule_error(field: &'static str, message: impl Into<String>) -> RuleError {
    RuleError {
        field,
        message: message.into(),
    }
}

/// Whether an id is 1–64 characters of letters, digits and `-`, `_`, `.`, `:`.
fn valid_ref(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_RULE_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Whether a rule id is 1–64 lowercase hex digits and dashes (a UUID's text form).
pub fn valid_rule_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_RULE_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-')
}

impl RewardRule {
    /// Checks the rule on its own and against the community's settings (its badge must be one
    /// of the community's own, enabled badges).
    pub fn validate(&self, settings: &CommunitySettings) -> Result<(), RuleError> {
        if !valid_rule_id(&self.rule_id) {
            return Err(rule_error("rule_id", "not a valid rule id"));
        }
        if self.version == 0 {
            return Err(rule_error("version", "versions start at 1"));
        }
        match (&self.condition, self.trigger) {
            (None, _) => {}
            (Some(Condition::Channel { channel }), Trigger::Posted) => {
                if !valid_ref(channel) {
                    return Err(rule_error(
                        "condition",
                        "a channel id is letters, digits, '-', '_', '.' or ':' (at most 64)",
                    ));
                }
            }
            (Some(Condition::Item { item }), Trigger::Bought) => {
                if !crate::store::valid_id(item) {
                    return Err(rule_error("condition", "not a valid store item id"));
                }
            }
            (Some(Condition::Givers { n }), Trigger::ReceivedFire) => {
                if *n < 1 || *n > MAX_GIVERS {
                    return Err(rule_error(
                        "condition",
                        format!("the number of classmates is 1 to {MAX_GIVERS}"),
                    ));
                }
            }
            (Some(_), t) => {
                return Err(rule_error(
                    "condition",
                    format!(
                        "this condition does not apply to \"{}\"{}",
                        t.phrase(),
                        match t {
                            Trigger::Posted => " (posts take a channel)",
                            Trigger::Bought => " (purchases take a store item)",
                            Trigger::ReceivedFire =>
                                " (fire takes a number of different classmates)",
                            _ => " (it takes no condition)",
                        }
                    ),
                ))
            }
        }
        match &self.award {
            RuleAward::Points { points } => {
                if *points <= Points::ZERO {
                    return Err(rule_error("points", "award more than 0 points"));
                }
                if *points > Points::from_whole(MAX_RULE_POINTS) {
                    return Err(rule_error(
                        "points",
                        format!("at most {MAX_RULE_POINTS} points per award"),
                    ));
                }
            }
            RuleAward::Badge { badge } => {
                if !settings.custom_badges.iter().any(|b| &b.id == badge) {
                    return Err(rule_error(
                        "badge",
                        "choose one of the community's own badges",
                    ));
                }
                if !settings.badge_enabled(badge) {
                    return Err(rule_error("badge", "this badge is disabled"));
                }
                if self.cap.is_some() {
                    return Err(rule_error(
                        "cap",
                        "a badge is won once per student; leave the cap empty",
                    ));
                }
            }
        }
        if matches!(self.condition, Some(Condition::Givers { .. })) && self.cap.is_some() {
            return Err(rule_error(
                "cap",
                "reaching a number of classmates is rewarded once; leave the cap empty",
            ));
        }
        if let Some(cap) = self.cap {
            if cap.n < 1 || cap.n > MAX_CAP {
                return Err(rule_error("cap", format!("the cap is 1 to {MAX_CAP}")));
            }
        }
        Ok(())
    }

    /// The rule as one plain-language sentence, e.g. "When a student answers a classmate's
    /// question, they earn 1 point, at most 3 times per week." `badge_name` names a badge id.
    pub fn sentence(&self, badge_name: impl Fn(&BadgeId) -> String) -> String {
        let mut s = format!("When a student {}", self.trigger.phrase());
        match &self.condition {
            None => {}
            Some(Condition::Channel { channel }) => s.push_str(&format!(" in channel {channel}")),
            Some(Condition::Item { item }) => s.push_str(&format!(" (item {item})")),
            Some(Condition::Givers { n }) => {
                s = format!(
                    "When a student has received fire from {n} different classmate{}",
                    if *n == 1 { "" } else { "s" }
                );
            }
        }
        match &self.award {
            RuleAward::Points { points } => s.push_str(&format!(
                ", they earn {points} point{}",
                if *points == Points::ONE { "" } else { "s" }
            )),
            RuleAward::Badge { badge } => s.push_str(&format!(
                ", they win the badge \u{201c}{}\u{201d} (once)",
                badge_name(badge)
            )),
        }
        if let Some(cap) = self.cap {
            s.push_str(&format!(
                ", at most {} time{} per {}",
                cap.n,
                if cap.n == 1 { "" } else { "s" },
                cap.per.as_str()
            ));
        }
        s.push('.');
        s
    }

    /// Whether two versions define the same rule (everything but `enabled_since`, which the
    /// engine derives).
    pub fn same_as(&self, other: &RewardRule) -> bool {
        let mut a = self.clone();
        a.enabled_since = other.enabled_since;
        a == *other
    }

    /// Whether an activity matches the trigger and the condition (for the "N classmates"
    /// condition the engine also checks the count).
    pub fn matches(&self, kind: &ActivityKind) -> bool {
        if Trigger::of(kind) != self.trigger {
            return false;
        }
        match (&self.condition, kind) {
            (None, _) | (Some(Condition::Givers { .. }), _) => true,
            (Some(Condition::Channel { channel }), ActivityKind::Posted { channel: c, .. }) => {
                c.as_deref() == Some(channel.as_str())
            }
            (Some(Condition::Item { item }), ActivityKind::Bought { item: i, .. }) => {
                &**i == item.as_str()
            }
            _ => false,
        }
    }

    /// The start of the source part of this rule's keys: `rule:<rule id>:`.
    pub fn key_prefix(&self) -> String {
        rule_key_prefix(&self.rule_id)
    }
}

/// The start of every key a rule's awards have: `rule:<rule id>:`.
pub fn rule_key_prefix(rule_id: &str) -> String {
    format!("rule:{rule_id}:")
}

/// The rule's part of an activity's key: what makes one activity distinct.
pub(crate) fn activity_source(a: &Activity) -> String {
    match &a.kind {
        ActivityKind::Posted { message, .. } => format!("post:{message}"),
        ActivityKind::Answered { answer, .. } => format!("answer:{answer}"),
        ActivityKind::AnswerAccepted { answer, .. } => format!("accepted:{answer}"),
        ActivityKind::ReceivedFire { giver, message } => format!("fire:{message}:{giver}"),
        ActivityKind::Bought { purchase, .. } => format!("purchase:{purchase}"),
        ActivityKind::VotedInPoll { poll } => format!("vote:{poll}"),
        ActivityKind::DebatedIn { debate } => format!("debate:{debate}"),
        ActivityKind::RespondedToAnnouncement { announcement } => {
            format!("announcement:{announcement}")
        }
    }
}

/// An Instructor or Admin created or changed a rule (enable and disable are changes).
///
/// `rule.version` is the version this save makes: 1 for a new rule, the current version + 1
/// for a change. A save made from an older version (someone changed the rule meanwhile) is
/// refused; a redelivered save (the stored rule is already exactly this one) changes nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSaved {
    /// The whole rule as saved.
    pub rule: RewardRule,
    /// The Instructor or Admin saving it.
    pub by: MemberId,
    /// When.
    pub occurred_at: DateTime<Utc>,
}

/// What a rule would have awarded one member over a history.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PreviewRow {
    /// Points (sum of the rule's awards).
    pub points: Points,
    /// Badges won by the rule.
    pub badges: Vec<BadgeId>,
    /// Awards made.
    pub awards: u32,
    /// Times the cap stopped an award.
    pub capped: u32,
}

/// The result of a preview: per member, what the rule would have awarded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RulePreview {
    /// Events run.
    pub events: usize,
    /// Members the rule would have rewarded (or capped), by member id.
    pub members: BTreeMap<MemberId, PreviewRow>,
}

/// Runs one rule over a community's history in memory, enabled from the start: feed it the
/// history in processing order with [`RulePreviewer::process`] (and week closes through
/// [`RulePreviewer::state`] / [`RulePreviewer::apply_outcome`]), then [`RulePreviewer::finish`].
///
/// Saves of rules in the history are skipped: the candidate stays as it is, and other rules
/// never change what this one awards (each rule's keys and caps are its own).
pub struct RulePreviewer {
    rule: RewardRule,
    prefix: Arc<str>,
    state: InMemoryState,
    preview: RulePreview,
}

impl RulePreviewer {
    /// A previewer of `rule` (enabled whatever its flag says).
    pub fn new(rule: &RewardRule) -> Self {
        let mut rule = rule.clone();
        rule.enabled = true;
        rule.enabled_since = None;
        let mut state = InMemoryState::new();
        state.apply_outcome(&Outcome {
            rules: vec![rule.clone()],
            ..Outcome::default()
        });
        RulePreviewer {
            prefix: rule.key_prefix().into(),
            rule,
            state,
            preview: RulePreview::default(),
        }
    }

    /// The state so far (for a week close).
    pub fn state(&self) -> &InMemoryState {
        &self.state
    }

    /// Applies an outcome made outside [`RulePreviewer::process`] (a week close).
    pub fn apply_outcome(&mut self, outcome: &Outcome) {
        self.state.apply_outcome(outcome);
    }

    /// Runs one event; returns its outcome (the caller follows settings changes).
    pub fn process(&mut self, settings: &CommunitySettings, event: &Event) -> Outcome {
        self.preview.events += 1;
        if matches!(event, Event::RuleSaved(_)) {
            return Outcome::default();
        }
        let run = crate::engine::apply_full(settings, &self.state, event);
        for e in &run.outcome.entries {
            if e.kind == EntryKind::RuleAward && e.key.as_str().starts_with(&*self.prefix) {
                let row = self.preview.members.entry(e.member.clone()).or_default();
                row.points += e.amount;
                row.awards += 1;
            }
        }
        if let RuleAward::Badge { badge } = &self.rule.award {
            for b in run.outcome.badges.iter().filter(|b| {
                &b.badge == badge && b.by.is_none() && b.instance == crate::badges::ONCE
            }) {
                // Only this rule awards a custom badge automatically.
                let row = self.preview.members.entry(b.member.clone()).or_default();
                row.badges.push(b.badge.clone());
                row.awards += 1;
            }
        }
        for (rule, member) in &run.capped {
            if **rule == *self.rule.rule_id {
                self.preview
                    .members
                    .entry(member.clone())
                    .or_default()
                    .capped += 1;
            }
        }
        self.state.apply_outcome(&run.outcome);
        run.outcome
    }

    /// What the rule would have awarded.
    pub fn finish(self) -> RulePreview {
        self.preview
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
