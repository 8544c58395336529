//! [`StateView`]: the questions the engine asks about the current state.
//!
//! Each method reads a small, indexed slice of state, so a database-backed service can
//! implement it by loading only the rows one event needs (inside the same transaction that
//! then writes the outcome). All counters are sums over ledger columns (see [`crate::ledger`]).

use crate::firsts::TargetKind;
use crate::ids::{BadgeId, MemberId, MemberInfo};
use crate::ledger::IdempotencyKey;
use crate::outcome::{MessageRecord, ReactionRecord};
use crate::points::Points;
use crate::polls::PollRecord;
use crate::questions::QuestionRecord;
use crate::rules::{CapWindow, RewardRule};
use crate::store::{PurchaseRecord, StoreItem};
use crate::time::{IsoWeek, QuotaDay};

/// Read access to one community's state.
pub trait StateView {
    /// Role and kind of a member; `None` if never seen (treated as a human Student).
    fn member(&self, id: &MemberId) -> Option<MemberInfo>;

    /// Quota units used by `giver` on `day`: `SUM(quota_units) WHERE giver = ? AND quota_day = ?`.
    fn quota_used(&self, giver: &MemberId, day: QuotaDay) -> u32;

    /// Fire units standing from `giver` to `recipient` given in `week`:
    /// `SUM(fire_units) WHERE giver = ? AND member = ? AND iso_week = ?`.
    fn weekly_fire(&self, giver: &MemberId, recipient: &MemberId, week: IsoWeek) -> u32;

    /// The record of a message with fire, or a tombstone of a deleted one.
    fn message(&self, platform_message_id: &str) -> Option<MessageRecord>;

    /// The record of one reactor's 🔥 on one message.
    fn reaction(&self, platform_message_id: &str, reactor: &MemberId) -> Option<ReactionRecord>;

    /// Every reaction record on a message (used when the message is deleted).
    fn reactions_on(&self, platform_message_id: &str) -> Vec<ReactionRecord>;

    /// Whether a ledger entry with this key exists.
    fn has_entry(&self, key: &IdempotencyKey) -> bool;

    /// Lifetime earned points of a member.
    fn earned(&self, member: &MemberId) -> Points;

    /// Highest level index announced to a member (0 if none).
    fn level(&self, member: &MemberId) -> u32;

    /// Whether a member holds a badge instance (`"once"` or an ISO week like `"2025-W03"`).
    fn has_badge(&self, member: &MemberId, badge: &BadgeId, instance: &str) -> bool;

    /// Whether `giver`, as a Student, was ever awarded fire to `recipient` (any award entry).
    fn has_recognised(&self, giver: &MemberId, recipient: &MemberId) -> bool;

    /// Distinct students who were ever awarded fire to `recipient`.
    fn distinct_givers(&self, recipient: &MemberId) -> u32;

    /// Distinct members `giver` was ever awarded fire to while a Student.
    fn distinct_recipients(&self, giver: &MemberId) -> u32;

    /// Whether `giver` had fire awarded on `day` (any award entry with that quota day).
    fn gave_on(&self, giver: &MemberId, day: QuotaDay) -> bool;

    /// Per student giver, fire units standing that were given in `week` (for the weekly badge).
    fn weekly_fire_by_giver(&self, week: IsoWeek) -> Vec<(MemberId, u32)>;

    /// A store item's current definition.
    fn store_item(&self, item_id: &str) -> Option<StoreItem>;

    /// A member's spendable points (sum of all their ledger entries).
    fn spendable(&self, member: &MemberId) -> Points;

    /// Purchases of an item that are pending or approved.
    fn item_sold(&self, item_id: &str) -> u32;

    /// One member's purchases of an item that are pending or approved.
    fn member_item_count(&self, member: &MemberId, item_id: &str) -> u32;

    /// A purchase's record.
    fn purchase(&self, purchase_id: &str) -> Option<PurchaseRecord>;
    /// The record of a question (by its platform message id), if it was asked.
    fn question(&self, platform_message_id: &str) -> Option<QuestionRecord>;

    /// The question a reply answers, by the reply's platform message id.
    fn question_of_answer(&self, answer_message_id: &str) -> Option<String>;

    /// A poll's record.
    fn poll(&self, poll_id: &str) -> Option<PollRecord>;

    /// A member's current vote in a poll (the option index), if any.
    fn vote(&self, poll_id: &str, member: &MemberId) -> Option<u32>;

    /// The debate whose posted message is this thread root, if any.
    fn debate_of_thread(&self, platform_message_id: &str) -> Option<String>;

    /// Whether a member is already counted as a participant of a debate.
    fn is_debater(&self, poll_id: &str, member: &MemberId) -> bool;

    /// Polls (and debates) that are not anonymous in which a member has a vote.
    fn polls_voted(&self, member: &MemberId) -> u32;
    /// A custom reward rule's current version.
    fn reward_rule(&self, rule_id: &str) -> Option<RewardRule>;

    /// Every enabled custom reward rule (by rule id).
    fn enabled_rules(&self) -> Vec<RewardRule>;

    /// How many custom reward rules the community has (enabled or not).
    fn rule_count(&self) -> usize;

    /// Points awards a rule made to a member in a cap window: `COUNT(*) WHERE kind =
    /// 'rule_award' AND source_ref = rule AND member = ? [AND quota_day | iso_week = ?]`.
    fn rule_awards(&self, rule_id: &str, member: &MemberId, window: CapWindow) -> u32;
    /// The announcement posted as this platform message, if any.
    fn announcement_of_message(&self, platform_message_id: &str) -> Option<String>;

    /// Whether `member` already responded to this target ([`crate::firsts`]).
    fn first_response(&self, kind: TargetKind, target: &str, member: &MemberId) -> bool;

    /// How many students responded to this target (the places taken).
    fn first_places(&self, kind: TargetKind, target: &str) -> u32;

    /// How many targets of this kind `member` responded to as a Student (for "answered 5
    /// questions": the questions they answered).
    fn responses_by(&self, member: &MemberId, kind: TargetKind) -> u32;
}
