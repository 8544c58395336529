//! # classcred-engine — the pure recognition engine
//!
//! Everything ClassCred decides about fire, quota, gift tax, course dates, edits, deletes,
//! reactions, levels and badges lives here, as pure functions over plain data. There is no
//! I/O, no clock, no async and no database in this crate.
//!
//! ## The contract: event → outcome
//! ```text
//! apply(&CommunitySettings, &impl StateView, &Event) -> Outcome
//! ```
//! * An [`Event`] is a neutral description of what happened (a message posted/edited/deleted,
//!   a reaction added/removed, a member joined, a role changed, an Admin's adjustment, badge
//!   or settings change; a settings change's outcome carries the new settings, which bind every
//!   later event). Its `occurred_at` is the **platform's** timestamp; it alone decides the quota day,
//!   the tax week and the course dates, so a late or replayed delivery gives the same result.
//! * [`StateView`] is the only way the engine reads state. Its methods each ask about a small,
//!   indexed slice (one member, one (giver, day) quota counter, one (giver, recipient, week)
//!   counter, one message record, the reactions on one message, ...), so a database-backed
//!   service loads only the rows one event needs, inside the transaction that writes the result.
//! * The [`Outcome`] holds ledger entries, message/reaction/member records to upsert, badge
//!   awards, level changes, private [`Notice`]s and activity-feed items. The service writes all of
//!   it and marks the inbox row processed in one transaction. [`Outcome::quota_debits`] lists the
//!   net quota change per (giver, day) for an atomic check-and-debit in the store.
//! * [`InMemoryState`] implements [`StateView`] and [`InMemoryState::apply_outcome`], so the
//!   same engine replays an inbox in memory (property tests, `ledger replay`, benchmarks).
//!
//! ## Idempotency
//! Each ledger entry's [`IdempotencyKey`] is (source, recipient, unit index, kind), where the
//! source is the platform message id, a reaction's (message id, reactor), or an adjustment id —
//! never the delivery id. Message and reaction records carry the platform time of the last
//! change applied, so a redelivered post, edit, delete or reaction finds its effect already
//! recorded and produces an **empty outcome**; stale edits (older than one already applied)
//! are ignored; a delete wins for good. Unit indices are never reused, so a fire removed by an
//! edit and added back by a later edit (or a reaction removed and re-added) gets a fresh key.
//!
//! ## How gift tax is represented
//! Every awarded fire unit is an `Award` entry of exactly **+1.000**; if the unit is taxed, a
//! `Tax` entry of **−rate × 1.000** for the same unit follows (−0.500, −0.900 with the default
//! brackets), and the recipient's feed gets a `Taxed` item. Balances are plain sums, so 22 fires
//! in one week from one giver are 22 × 1.000 − 5 × 0.500 − 2 × 0.900 = **17.700**. A `Reversal`
//! takes back one unit's *net* (award minus its tax) in a single entry, and does not re-tax
//! other units. The weekly count that picks a bracket counts units still standing.
//!
//! ## Quota
//! Every award entry stores its quota day and `quota_units = +1`; a reversal on the *same*
//! quota day as the give has `quota_units = −1` (a refund), otherwise 0. Quota used is the sum,
//! so nothing ever "resets": a new local day simply has no entries yet.
//!
//! ## Balances
//! [`Balance`]: *earned* = sum of Award, Tax, Reversal and Adjustment entries (levels,
//! leaderboards); *spendable* = sum of all entries (earned minus purchases plus refunds).
//!
//! ## Module map
//! `points`, `ids`, `time` (domain types) · `settings` · `scanner` (fire tokens in text) ·
//! `event` · `ledger` · `outcome` · `state` (the trait) · `engine` (the rules) · `badges`
//! (catalog) · `weekly` (top recogniser) · `leaderboard` · `memory` (in-memory state) ·
//! `store` (class store items and purchases) · `polls` (polls, debates, votes) · `rules` (custom
//! reward rules and their preview) · `activity` (what members did, for rules and firsts).

#![warn(missing_docs)]

pub mod activity;
pub mod badges;
mod engine;
pub mod event;
pub mod firsts;
pub mod ids;
pub mod leaderboard;
pub mod ledger;
pub mod memory;
pub mod outcome;
pub mod points;
pub mod polls;
pub mod questions;
pub mod rules;
pub mod scanner;
pub mod settings;
pub mod state;
pub mod store;
pub mod time;
pub mod weekly;

pub use activity::{Activity, ActivityKind};
pub use badges::{catalog, BadgeInfo, BuiltinBadge};
pub use engine::{apply, apply_with_activities};
pub use event::AnnouncementPosted;
pub use event::AnswerAccepted;
pub use event::{
    BadgeGranted, Event, MemberJoined, MessageDeleted, MessageEdited, MessagePosted,
    PointsAdjusted, ProfileChanged, Reaction, RoleChanged, SettingsChanged,
};
pub use firsts::{AnnouncementPost, FirstResponse, FirstsSettings, TargetKind};
pub use ids::{BadgeId, MemberId, MemberInfo, MemberKind, Role};
pub use leaderboard::{Leaderboard, Period, Position, Standing};
pub use ledger::{Balance, EntryKind, IdempotencyKey, LedgerEntry, Source};
pub use memory::InMemoryState;
pub use outcome::{
    Audience, BadgeAward, FeedItem, FeedKind, LevelChange, MemberChange, MessageRecord, Notice,
    NoticeKind, Outcome, QuotaDebit, ReactionRecord, RecipientUnits, StandingUnit,
};
pub use points::{ParsePointsError, Points};
pub use polls::{
    DebateParticipant, PollClosed, PollCreated, PollDefinition, PollKind, PollPosted, PollRecord,
    VoteCast, VoteRecord,
};
pub use questions::{looks_like_question, QuestionRecord, QuestionSettings};
pub use rules::{
    Cap, CapPeriod, CapWindow, Condition, PreviewRow, RewardRule, RuleAward, RuleError,
    RulePreview, RulePreviewer, RuleSaved, Trigger,
};
pub use scanner::count_fire_tokens;
pub use settings::{
    CommunitySettings, CourseStatus, CustomBadge, GiftTax, Level, SettingsError, TaxBracket,
};
pub use state::StateView;
pub use store::{
    PurchaseCancelled, PurchaseDecided, PurchaseRecord, PurchaseRequested, PurchaseStatus,
    StoreItem, StoreItemSaved,
};
pub use time::{IsoWeek, ParseTimezoneError, QuotaDay, Timezone};
pub use weekly::{close_week, WeekError};
