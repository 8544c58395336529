//! Neutral events: what happened on a chat platform (or in the dashboard), in our own terms.
//!
//! Adapters turn platform payloads into these; the store keeps them (as encrypted JSON) in the
//! inbox, and the engine turns each into an [`crate::Outcome`]. Every time field is the
//! *platform's* timestamp (Slack `ts` / `event_ts`; `edited.ts` for edits), never our processing
//! time, so late and replayed deliveries give the same result.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{BadgeId, MemberId, MemberKind, Role};
use crate::points::Points;
pub use crate::polls::{PollClosed, PollCreated, PollPosted, VoteCast};
use crate::settings::CommunitySettings;
pub use crate::store::{PurchaseCancelled, PurchaseDecided, PurchaseRequested, StoreItemSaved};

/// One neutral event. Serde: internally tagged by `type` in snake_case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A new message (possibly giving fire).
    MessagePosted(MessagePosted),
    /// A message's text changed; carries the full new content.
    MessageEdited(MessageEdited),
    /// A message was deleted.
    MessageDeleted(MessageDeleted),
    /// A reaction was added to a message.
    ReactionAdded(Reaction),
    /// A reaction was removed from a message.
    ReactionRemoved(Reaction),
    /// Someone joined the community (or was first seen).
    MemberJoined(MemberJoined),
    /// A member's profile changed.
    ProfileChanged(ProfileChanged),
    /// An Admin changed a member's role.
    RoleChanged(RoleChanged),
    /// An Admin adjusted a member's points by hand, with a reason.
    PointsAdjusted(PointsAdjusted),
    /// An Admin awarded one of the community's own badges by hand.
    BadgeGranted(BadgeGranted),
    /// An Admin replaced the community's settings (quota, tax, levels, dates...).
    SettingsChanged(SettingsChanged),
    /// An Instructor or Admin created or changed a store item.
    StoreItemSaved(StoreItemSaved),
    /// A student asked to buy a store item.
    PurchaseRequested(PurchaseRequested),
    /// An Instructor or Admin approved or rejected a pending purchase.
    PurchaseDecided(PurchaseDecided),
    /// A student withdrew a pending purchase.
    PurchaseCancelled(PurchaseCancelled),
    /// The asker or an Instructor/Admin accepted an answer to a question.
    AnswerAccepted(AnswerAccepted),
    /// An Instructor or Admin created a poll or debate.
    PollCreated(PollCreated),
    /// The bot posted a poll; its message id (a debate's thread root).
    PollPosted(PollPosted),
    /// A member voted (or changed their vote, or chose a debate side).
    VoteCast(VoteCast),
    /// A poll was closed (by hand or at its closing time).
    PollClosed(PollClosed),
}

impl Event {
    /// The platform timestamp of the event.
    pub fn occurred_at(&self) -> DateTime<Utc> {
        match self {
            Event::MessagePosted(e) => e.occurred_at,
            Event::MessageEdited(e) => e.occurred_at,
            Event::MessageDeleted(e) => e.occurred_at,
            Event::ReactionAdded(e) | Event::ReactionRemoved(e) => e.occurred_at,
            Event::MemberJoined(e) => e.occurred_at,
            Event::ProfileChanged(e) => e.occurred_at,
            Event::RoleChanged(e) => e.occurred_at,
            Event::PointsAdjusted(e) => e.occurred_at,
            Event::BadgeGranted(e) => e.occurred_at,
            Event::SettingsChanged(e) => e.occurred_at,
            Event::StoreItemSaved(e) => e.occurred_at,
            Event::PurchaseRequested(e) => e.occurred_at,
            Event::PurchaseDecided(e) => e.occurred_at,
            Event::PurchaseCancelled(e) => e.occurred_at,
            Event::AnswerAccepted(e) => e.occurred_at,
            Event::PollCreated(e) => e.occurred_at,
            Event::PollPosted(e) => e.occurred_at,
            Event::VoteCast(e) => e.occurred_at,
            Event::PollClosed(e) => e.occurred_at,
        }
    }
}

/// A message was posted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePosted {
    /// The platform's id of the message (Slack: channel + `ts`), unique in the community.
    pub platform_message_id: String,
    /// Who wrote it.
    pub author: MemberId,
    /// Mentioned members, already resolved from platform user ids (duplicates allowed; the
    /// engine counts each member once).
    pub mentions: Vec<MemberId>,
    /// Fire tokens in the text, from [`crate::count_fire_tokens`].
    pub fire_count: u32,
    /// The feedback text (personal data: the store encrypts it; the engine never reads it).
    pub text: String,
    /// The thread the message belongs to, if any.
    #[serde(default)]
    pub thread: Option<String>,
    /// Where it was posted: the platform's channel, room or conversation id. `None` in events
    /// stored before the field existed, and for platforms without channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The platform timestamp of the message.
    pub occurred_at: DateTime<Utc>,
    /// Whether the text asks a question ([`crate::looks_like_question`], or the `ask`
    /// command); set by the adapter, since the engine never reads text.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_question: bool,
}

/// A message was edited; the fields are its whole new content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageEdited {
    /// The same id as the original post.
    pub platform_message_id: String,
    /// Who wrote the message (needed when the edit is seen before the post).
    pub author: MemberId,
    /// Mentions in the new text.
    pub mentions: Vec<MemberId>,
    /// Fire tokens in the new text.
    pub fire_count: u32,
    /// The new text.
    pub text: String,
    /// The platform timestamp of the edit.
    pub occurred_at: DateTime<Utc>,
}

/// A message was deleted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageDeleted {
    /// The deleted message.
    pub platform_message_id: String,
    /// The platform timestamp of the deletion.
    pub occurred_at: DateTime<Utc>,
}

/// A reaction was added to or removed from a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    /// The message reacted to.
    pub platform_message_id: String,
    /// Who reacted.
    pub reactor: MemberId,
    /// The author of the message reacted to (Slack `item_user`).
    pub message_author: MemberId,
    /// Whether the emoji is 🔥 (others are ignored by the engine).
    pub is_fire: bool,
    /// The platform timestamp of the reaction (Slack `event_ts`).
    pub occurred_at: DateTime<Utc>,
}

/// A member joined or was first seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberJoined {
    /// The member.
    pub member: MemberId,
    /// Person, bot or this app.
    #[serde(default)]
    pub kind: MemberKind,
    /// Starting role: Student unless this is the installing Admin.
    #[serde(default)]
    pub role: Role,
    /// When.
    pub occurred_at: DateTime<Utc>,
}

/// A member's profile changed. The engine only uses `kind`; the name is for the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileChanged {
    /// The member.
    pub member: MemberId,
    /// New display name (personal data; encrypted by the store; unused by the engine).
    #[serde(default)]
    pub display_name: Option<String>,
    /// Person, bot or this app.
    #[serde(default)]
    pub kind: MemberKind,
    /// When.
    pub occurred_at: DateTime<Utc>,
}

/// A member's role changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleChanged {
    /// The member.
    pub member: MemberId,
    /// The new role.
    pub role: Role,
    /// The Admin who changed it (`None`: the system, e.g. at install).
    #[serde(default)]
    pub by: Option<MemberId>,
    /// When.
    pub occurred_at: DateTime<Utc>,
}

/// A manual points adjustment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsAdjusted {
    /// Unique id of this adjustment (its idempotency key).
    pub adjustment_id: String,
    /// The Admin making it.
    pub by: MemberId,
    /// Whose points change.
    pub member: MemberId,
    /// Signed amount.
    pub amount: Points,
    /// Required reason, kept on the ledger entry.
    pub reason: String,
    /// When.
    pub occurred_at: DateTime<Utc>,
}

/// A hand-awarded custom badge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadgeGranted {
    /// The Admin awarding it.
    pub by: MemberId,
    /// The student receiving it.
    pub member: MemberId,
    /// One of the settings' `custom_badges`.
    pub badge: BadgeId,
    /// When.
    pub occurred_at: DateTime<Utc>,
}

/// An Admin replaced the community's settings. Events processed after this one obey the new
/// settings; `ledger replay` starts from the settings the community was created with and
/// applies these in processing order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsChanged {
    /// The whole new settings (the engine refuses them unless they validate).
    pub settings: CommunitySettings,
    /// The Admin making the change.
    pub by: MemberId,
    /// When.
    pub occurred_at: DateTime<Utc>,
}

/// An answer to a question was accepted (from the asker's chat button, the `accept` command
/// or the dashboard). Accepting another answer later moves the acceptance (and the reward).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerAccepted {
    /// The question's platform message id (the thread root).
    pub question: String,
    /// The reply accepted, a platform message id in the question's thread.
    pub answer: String,
    /// The asker, or an Instructor/Admin.
    pub by: MemberId,
    /// When.
    pub occurred_at: DateTime<Utc>,
}
