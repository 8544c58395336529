//! The recognition service: from a platform adapter's event to stored ledger entries.
//!
//! 1. An adapter calls [`ingest`] with a neutral [`Event`] whose member references are
//!    **platform user ids**. The event is stored (encrypted) in the inbox, once per platform
//!    delivery id, and a `recognition.drain` job for the community is enqueued in the same
//!    transaction (coalesced: at most one queued drain per community, see [`drain_job`]).
//! 2. A worker runs [`drain`]: under the community's processing lock it takes the oldest
//!    unprocessed inbox row, resolves platform ids to member ids (an id never seen defers the
//!    row until the platform adapter has looked it up: [`RESOLVE_MEMBERS_JOB`]), runs the pure engine against the database (see `state.rs`), writes the whole
//!    outcome and marks the row processed, **all in one transaction**. A crash anywhere before
//!    the commit leaves nothing behind; the retry produces the same result.
//! 3. [`replay`] re-runs every processed event in memory, in processing order, and compares
//!    ledger, balances, badges and levels with what is stored.
//!
//! Settings and role changes by an Admin are events too ([`changes`]): stored in the inbox,
//! processed in order, replayed.
//!
//! Processing is serialised per community (the lock is the community row), which makes every
//! check-and-debit atomic on both backends and fixes the order that `replay` reproduces.

pub mod announcements;
pub mod changes;
pub mod dashboard;
pub mod erasure;
pub mod export;
pub mod firsts;
pub mod governance;
pub mod group_commit;
pub mod identity;
pub mod login;
mod memo;
pub mod polls;
pub mod privacy_requests;
mod process;
mod queries;
pub mod questions;
pub mod receipt;
mod replay;
pub mod research;
pub mod retention;
pub mod rules;
mod state;
pub mod store;

use chrono::{DateTime, Utc};
use classcred_engine::{CommunitySettings, Event, IsoWeek, MemberId};
use classcred_store::jobs::NewJob;
use classcred_store::{CommunityId, InboxInsert, MemberRowId, NewMember, Store, StoreError, Tx};
use serde::{Deserialize, Serialize};

pub use process::{drain, process_next, process_step, Processed, Step, BATCH_ROWS};
pub(crate) use process::{join_event_id, map_members, without_non_members};
pub use queries::{leaderboard, member_summary, MemberSummary, Period};
pub use replay::{replay, ReplayReport};

/// Job kind that processes a community's pending inbox rows.
pub const DRAIN_JOB: &str = "recognition.drain";
/// Job kind that delivers a private notice on the community's platform.
pub const NOTICE_JOB: &str = "notice.deliver";
/// Job kind that resolves the platform ids the oldest pending event of a community mentions
/// (payload `{"community_id"}`): the platform adapter looks them up (see
/// [`unresolved_members`], [`record_resolutions`]).
pub const RESOLVE_MEMBERS_JOB: &str = "members.resolve";
/// Job kind that syncs a community's members from its platform (payload `{"community_id"}`).
pub const SYNC_MEMBERS_JOB: &str = "members.sync";

/// Most engine passes for one event (each pass answers the questions the previous one asked).
const MAX_PASSES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Never carries the offending text (it may be a member's message): only where and what kind.
    #[error(
        "stored record or payload is not valid JSON ({category} at line {line}, column {column})"
    )]
    Json {
        category: &'static str,
        line: usize,
        column: usize,
    },
    #[error("community {community_id} has invalid settings: {problem}")]
    Settings {
        community_id: String,
        problem: String,
    },
    #[error("the engine kept asking new questions after {MAX_PASSES} passes (inbox {inbox_id})")]
    Unsettled { inbox_id: String },
    #[error(
        "ledger entry {key} already exists although the engine did not see it (inbox {inbox_id})"
    )]
    Conflict { key: String, inbox_id: String },
    #[error("injected fault after the ledger write (test hook)")]
    Injected,
    /// Writing an export failed (CSV encoding); carries no cell content.
    #[error("export: {0}")]
    Export(String),
    #[error("cannot close week: {0}")]
    Week(#[from] classcred_engine::WeekError),
}

impl From<serde_json::Error> for ServiceError {
    fn from(e: serde_json::Error) -> Self {
        use serde_json::error::Category;
        ServiceError::Json {
            category: match e.classify() {
                Category::Io => "i/o error",
                Category::Syntax => "syntax error",
                Category::Data => "unexpected data",
                Category::Eof => "unexpected end",
            },
            line: e.line(),
            column: e.column(),
        }
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// After this many failed attempts an inbox row is parked (left unprocessed, with its error)
/// so that one bad row cannot block every later event of its community.
pub const MAX_INBOX_ATTEMPTS: i64 = classcred_store::recognition::INBOX_MAX_ATTEMPTS;

/// What an inbox row holds: a platform event, or the closing of a week (which awards the
/// weekly badge). Both replay from the inbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Payload {
    CloseWeek(CloseWeek),
    Event(Event),
}

/// The end of an ISO week in the community timezone, recorded once per week.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CloseWeek {
    pub close_week: IsoWeek,
    /// When the closing was recorded (after the week ended).
    pub at: DateTime<Utc>,
}

/// A test hook: fail at a chosen step, before the commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    #[default]
    None,
    /// Return an error after the ledger entries were written, before anything else.
    AfterLedgerWrite,
}

/// The community's settings, validated.
pub async fn settings(tx: &mut Tx<'_>, community_id: &CommunityId) -> Result<CommunitySettings> {
    let c = tx.community(community_id).await?;
    CommunitySettings::from_json(&c.settings_json).map_err(|e| ServiceError::Settings {
        community_id: community_id.to_string(),
        problem: e.to_string(),
    })
}

/// The job that drains a community's inbox. Coalesced: while one is queued, enqueueing another
/// is a no-op (it will see the new rows); while one runs, a new one is queued, so an event
/// stored after the running drain looked is still processed.
pub fn drain_job(community_id: &CommunityId) -> NewJob {
    let mut job = NewJob::new(
        DRAIN_JOB,
        serde_json::json!({ "community_id": community_id }),
    );
    job.community_id = Some(community_id.clone());
    job.coalesce_key = Some(format!("{DRAIN_JOB}:{community_id}"));
    job.max_attempts = 10;
    job
}

/// Store a platform event for processing, once per `(platform, event_id)`, and enqueue its
/// processing in the same transaction.
pub async fn ingest(
    tx: &mut Tx<'_>,
    community_id: &CommunityId,
    platform: &str,
    event_id: &str,
    event: &Event,
) -> Result<InboxInsert> {
    let payload = serde_json::to_vec(event)?;
    let inserted = tx
        .for_community(community_id)
        .insert_inbox(
            platform,
            event_id,
            event_type(event),
            &payload,
            event.occurred_at().timestamp_millis(),
        )
        .await?;
    if let InboxInsert::Stored(_) = inserted {
        tx.enqueue(&drain_job(community_id)).await?;
    }
    Ok(inserted)
}

/// Add or update a member's profile and record their joining as an engine event, so that role
/// and kind replay from the inbox.
pub async fn join_member(
    tx: &mut Tx<'_>,
    community_id: &CommunityId,
    platform: &str,
    member: &NewMember,
    occurred_at: chrono::DateTime<chrono::Utc>,
) -> Result<MemberRowId> {
    let id = tx.for_community(community_id).upsert_member(member).await?;
    let event = Event::MemberJoined(classcred_engine::MemberJoined {
        member: MemberId::new(member.platform_user_id.clone()),
        kind: state::engine_kind(member.kind),
        role: state::engine_role(member.role),
        occurred_at,
    });
    ingest(
        tx,
        community_id,
        platform,
        &join_event_id(community_id, &member.platform_user_id),
        &event,
    )
    .await?;
    Ok(id)
}

/// The platform ids the oldest pending event of a community waits for: mentioned or acting,
/// with no member row, and not known as non-members. Empty when nothing waits.
pub async fn unresolved_members(store: &Store, community_id: &CommunityId) -> Result<Vec<String>> {
    let mut tx = store.begin().await?;
    let unknown = match tx
        .for_community(community_id)
        .oldest_unprocessed_inbox()
        .await?
    {
        Some(head) => match process::plan(
            &mut tx.for_community(community_id),
            head,
            &mut memo::Memo::none(),
        )
        .await?
        {
            process::Next::Defer { unknown, .. } => unknown,
            process::Next::Process { .. } => Vec::new(),
        },
        None => Vec::new(),
    };
    // `plan` may have created a member for a joining row: nothing of this read stays.
    tx.rollback().await?;
    Ok(unknown)
}

/// What the platform said about a platform id.
#[derive(Debug, Clone)]
pub enum Resolved {
    /// A member of the community (a person, or a bot with kind `Bot`/`App`).
    Member(NewMember),
    /// Not a member (`reason`, a fixed word: `other_workspace`, `not_found`, `deactivated`):
    /// never receives fire, costs no quota, not looked up again.
    NotMember(&'static str),
}

/// Record the platform's answers for looked-up ids, in one transaction: members join (through
/// [`join_member`], so their role and kind replay from the inbox), non-members are remembered,
/// and processing is scheduled again.
pub async fn record_resolutions(
    store: &Store,
    community_id: &CommunityId,
    platform: &str,
    resolved: &[(String, Resolved)],
) -> Result<()> {
    let now = store.clock().now();
    let mut tx = store.begin().await?;
    for (pid, r) in resolved {
        match r {
            Resolved::Member(m) => {
                join_member(&mut tx, community_id, platform, m, now).await?;
            }
            Resolved::NotMember(reason) => {
                if tx
                    .for_community(community_id)
                    .member_id_by_platform(pid)
                    .await?
                    .is_none()
                {
                    tx.for_community(community_id)
                        .mark_platform_non_member(pid, reason)
                        .await?;
                }
            }
        }
    }
    // Coalesced with any drain already queued (review: an uncoalesced one here made two
    // drains of one community run side by side and starve notices).
    tx.enqueue(&drain_job(community_id)).await?;
    tx.commit().await?;
    Ok(())
}

fn event_type(e: &Event) -> &'static str {
    match e {
        Event::MessagePosted(_) => "message_posted",
        Event::MessageEdited(_) => "message_edited",
        Event::MessageDeleted(_) => "message_deleted",
        Event::ReactionAdded(_) => "reaction_added",
        Event::ReactionRemoved(_) => "reaction_removed",
        Event::MemberJoined(_) => "member_joined",
        Event::ProfileChanged(_) => "profile_changed",
        Event::RoleChanged(_) => "role_changed",
        Event::PointsAdjusted(_) => "points_adjusted",
        Event::BadgeGranted(_) => "badge_granted",
        Event::SettingsChanged(_) => "settings_changed",
        Event::StoreItemSaved(_) => "store_item_saved",
        Event::PurchaseRequested(_) => "purchase_requested",
        Event::PurchaseDecided(_) => "purchase_decided",
        Event::PurchaseCancelled(_) => "purchase_cancelled",
        Event::AnswerAccepted(_) => "answer_accepted",
        Event::PollCreated(_) => "poll_created",
        Event::PollPosted(_) => "poll_posted",
        Event::VoteCast(_) => "vote_cast",
        Event::PollClosed(_) => "poll_closed",
        Event::RuleSaved(_) => "rule_saved",
        Event::AnnouncementPosted(_) => "announcement_posted",
    }
}

/// Record the closing of the last ISO week that has ended (in the community timezone), once.
/// Returns the week when it was newly recorded. Safe to call from any number of instances:
/// the inbox keeps one row per week.
pub async fn schedule_week_closing(
    store: &Store,
    community_id: &CommunityId,
) -> Result<Option<IsoWeek>> {
    let mut tx = store.begin().await?;
    let s = settings(&mut tx, community_id).await?;
    let now = store.clock().now();
    let last_week = IsoWeek::of(now - chrono::Duration::days(7), &s.timezone);
    let ended = last_week
        .end_instant(&s.timezone)
        .is_some_and(|end| end <= now);
    if !ended {
        tx.rollback().await?;
        return Ok(None);
    }
    let fresh = record_week_closing(&mut tx, community_id, last_week, now).await?;
    tx.commit().await?;
    Ok(fresh.then_some(last_week))
}

/// Record the closing of `week` at `at` (after the week ended) in the inbox, once per week and
/// community, and schedule processing. Returns whether it was newly recorded. The scheduler
/// calls it for the week just ended; the demo for each week of its past course.
pub async fn record_week_closing(
    tx: &mut Tx<'_>,
    community_id: &CommunityId,
    week: IsoWeek,
    at: DateTime<Utc>,
) -> Result<bool> {
    let payload = serde_json::to_vec(&Payload::CloseWeek(CloseWeek {
        close_week: week,
        at,
    }))?;
    let inserted = tx
        .for_community(community_id)
        .insert_inbox(
            "classcred",
            &format!("close_week:{community_id}:{week}"),
            "week_closed",
            &payload,
            at.timestamp_millis(),
        )
        .await?;
    let fresh = matches!(inserted, InboxInsert::Stored(_));
    if fresh {
        tx.enqueue(&drain_job(community_id)).await?;
    }
    Ok(fresh)
}

/// Give a community's parked inbox rows another round of attempts, and schedule processing.
/// Returns how many rows were re-queued.
pub async fn retry_parked(store: &Store, community_id: &CommunityId) -> Result<u64> {
    let mut tx = store.begin().await?;
    tx.community(community_id).await?;
    let n = tx
        .for_community(community_id)
        .requeue_parked_inbox()
        .await?;
    if n > 0 {
        tx.enqueue(&drain_job(community_id)).await?;
    }
    tx.commit().await?;
    Ok(n)
}
