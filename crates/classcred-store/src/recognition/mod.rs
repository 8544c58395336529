//! Storage for the recognition engine: the indexed questions it asks about one community's state
//! and the writes of its outcomes. Values are plain (ids, numbers, JSON records); the service
//! crate maps them to the engine's types.

use serde::Serialize;
use sqlx::Row;

use crate::{new_id, CommunityTx, MemberKind, MemberRowId, Result, Role, StoreError};

/// One member's balances, as stored in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberBalance {
    pub member_id: MemberRowId,
    pub platform_user_id: String,
    pub role: Role,
    pub kind: MemberKind,
    /// Lifetime earned points, thousandths.
    pub earned_milli: i64,
    /// Earned minus spent, thousandths.
    pub spendable_milli: i64,
    pub level: i64,
}

/// A processed inbox event, in processing order (for replay).
#[derive(Debug, Clone)]
pub struct ProcessedEvent {
    pub inbox_id: String,
    pub seq: i64,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BadgeRow {
    pub member_id: MemberRowId,
    pub badge_id: String,
    pub instance: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FeedRow {
    pub member_id: Option<MemberRowId>,
    pub kind: String,
    pub payload: String,
    pub occurred_at: i64,
}

/// A feed item with its id (the tie-breaker of feed pages).
#[derive(Debug, Clone, Serialize)]
pub struct FeedPageItem {
    pub id: String,
    #[serde(flatten)]
    pub row: FeedRow,
}

/// After this many failed processing attempts an inbox row is parked: left unprocessed, with
/// its error, so that one bad row cannot block every later event of its community.
pub const INBOX_MAX_ATTEMPTS: i64 = 10;

pub use pairs::{
    counts_as_student_award, expected_pairs, DISTINCT_GIVERS_SQL, DISTINCT_RECIPIENTS_SQL,
    HAS_RECOGNISED_SQL,
};

pub use dashboard::{FireEdge, FireExchange, MemberActivity, PendingCounts};

pub use aggregates::{
    counts_as_earned, expected_points, local_date, month_period, settings_timezone, week_period,
    PointTotals, PointsPeriod,
};

mod aggregates;
mod board_cache;
pub use board_cache::{BoardCache, BOARD_CACHE_ENTRIES};
mod dashboard;
mod members;
mod pairs;
mod prefetch;
pub use prefetch::MemberFacts;
mod processing;
pub use processing::PICK_INBOX_ROWS_SQL;
mod questions;
mod records;
mod reports;

mod question_rows;
pub use question_rows::{AnswerRow, QuestionFilter, QuestionRow, QuestionUpsert};

mod first_rows;
pub use first_rows::{AnnouncementPostRow, FirstResponseRow};
