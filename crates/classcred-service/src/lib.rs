//! The recognition service: from a platform adapter's event to stored ledger entries.
//!
//! 1. An adapter calls [`ingest`] with a neutral [`Event`] whose member references are
//!    **platform user ids**. The event is stored (encrypted) in the inbox, once per platform
//!    delivery id, and a `recognition.drain` job for the community is enqueued in the same
//!    transaction.
//! 2. A worker runs [`drain`]: under the community's processing lock it takes the oldest
//!    unprocessed inbox row, resolves platform ids to member ids (creating unknown members as
//!    Students), runs the pure engine against the database (see `state.rs`), writes the whole
//!    outcome and marks the row processed, **all in one transaction**. A crash anywhere before
//!    the commit leaves nothing behind; the retry produces the same result.
//! 3. [`replay`] re-runs every processed event in memory, in processing order, and compares
//!    ledger, balances, badges and levels with what is stored.
//!
//! Processing is serialised per community (the lock is the community row), which makes every
//! check-and-debit atomic on both backends and fixes the order that `replay` reproduces.

mod queries;
mod replay;
mod state;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use classcred_engine::{
    apply, close_week, CommunitySettings, Event, FeedItem, IsoWeek, MemberId, Outcome,
};
use classcred_store::jobs::NewJob;
use classcred_store::{
    InboxInsert, MemberKind, NewLedgerEntry, NewMember, NewMessage, Role, Store, StoreError, Tx,
};
use serde::{Deserialize, Serialize};

pub use queries::{leaderboard, member_summary, MemberSummary, Period};
pub use replay::{replay, ReplayReport};

/// Job kind that processes a community's pending inbox rows.
pub const DRAIN_JOB: &str = "recognition.drain";
/// Job kind that delivers a private notice on the community's platform.
pub const NOTICE_JOB: &str = "notice.deliver";

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
pub async fn settings(tx: &mut Tx<'_>, community_id: &str) -> Result<CommunitySettings> {
    let c = tx.community(community_id).await?;
    CommunitySettings::from_json(&c.settings_json).map_err(|e| ServiceError::Settings {
        community_id: community_id.to_string(),
        problem: e.to_string(),
    })
}

/// Store a platform event for processing, once per `(platform, event_id)`, and enqueue its
/// processing in the same transaction.
pub async fn ingest(
    tx: &mut Tx<'_>,
    community_id: &str,
    platform: &str,
    event_id: &str,
    event: &Event,
) -> Result<InboxInsert> {
    let payload = serde_json::to_vec(event)?;
    let inserted = tx
        .insert_inbox(
            community_id,
            platform,
            event_id,
            event_type(event),
            &payload,
            event.occurred_at().timestamp_millis(),
        )
        .await?;
    if let InboxInsert::Stored(_) = inserted {
        let mut job = NewJob::new(
            DRAIN_JOB,
            serde_json::json!({ "community_id": community_id }),
        );
        job.community_id = Some(community_id.to_string());
        job.max_attempts = 10;
        tx.enqueue(&job).await?;
    }
    Ok(inserted)
}

/// Add or update a member's profile and record their joining as an engine event, so that role
/// and kind replay from the inbox.
pub async fn join_member(
    tx: &mut Tx<'_>,
    community_id: &str,
    platform: &str,
    member: &NewMember,
    occurred_at: chrono::DateTime<chrono::Utc>,
) -> Result<String> {
    let id = tx.upsert_member(community_id, member).await?;
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
        &format!("join:{community_id}:{}", member.platform_user_id),
        &event,
    )
    .await?;
    Ok(id)
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
    }
}

/// Every member reference of an event.
fn member_refs(e: &Event) -> Vec<&MemberId> {
    match e {
        Event::MessagePosted(m) => std::iter::once(&m.author).chain(&m.mentions).collect(),
        Event::MessageEdited(m) => std::iter::once(&m.author).chain(&m.mentions).collect(),
        Event::MessageDeleted(_) => Vec::new(),
        Event::ReactionAdded(r) | Event::ReactionRemoved(r) => vec![&r.reactor, &r.message_author],
        Event::MemberJoined(j) => vec![&j.member],
        Event::ProfileChanged(p) => vec![&p.member],
        Event::RoleChanged(r) => std::iter::once(&r.member).chain(&r.by).collect(),
        Event::PointsAdjusted(a) => vec![&a.by, &a.member],
        Event::BadgeGranted(b) => vec![&b.by, &b.member],
    }
}

/// The same event with every member reference replaced through `map`.
pub(crate) fn map_members(e: &Event, map: &HashMap<MemberId, MemberId>) -> Event {
    let m = |id: &MemberId| map.get(id).cloned().unwrap_or_else(|| id.clone());
    let mut out = e.clone();
    match &mut out {
        Event::MessagePosted(x) => {
            x.author = m(&x.author);
            x.mentions = x.mentions.iter().map(m).collect();
        }
        Event::MessageEdited(x) => {
            x.author = m(&x.author);
            x.mentions = x.mentions.iter().map(m).collect();
        }
        Event::MessageDeleted(_) => {}
        Event::ReactionAdded(x) | Event::ReactionRemoved(x) => {
            x.reactor = m(&x.reactor);
            x.message_author = m(&x.message_author);
        }
        Event::MemberJoined(x) => x.member = m(&x.member),
        Event::ProfileChanged(x) => x.member = m(&x.member),
        Event::RoleChanged(x) => {
            x.member = m(&x.member);
            x.by = x.by.as_ref().map(m);
        }
        Event::PointsAdjusted(x) => {
            x.by = m(&x.by);
            x.member = m(&x.member);
        }
        Event::BadgeGranted(x) => {
            x.by = m(&x.by);
            x.member = m(&x.member);
        }
    }
    out
}

/// Platform ids → member ids, creating members first seen here.
async fn resolve(tx: &mut Tx<'_>, community_id: &str, e: &Event) -> Result<Event> {
    let mut map = HashMap::new();
    for pid in member_refs(e) {
        if map.contains_key(pid) {
            continue;
        }
        let id = match tx.member_id_by_platform(community_id, pid.as_str()).await? {
            Some(id) => id,
            None => {
                let (role, kind) = match e {
                    Event::MemberJoined(j) => {
                        (state::store_role(j.role), state::store_kind(j.kind))
                    }
                    _ => (Role::Student, MemberKind::Human),
                };
                tx.insert_bare_member(community_id, pid.as_str(), role, kind)
                    .await?
            }
        };
        map.insert(pid.clone(), MemberId::new(id));
    }
    Ok(map_members(e, &map))
}

/// Run the engine (`step`) against the database until it asks nothing new.
async fn run_engine(
    tx: &mut Tx<'_>,
    community_id: &str,
    inbox_id: &str,
    step: impl Fn(&state::Recorded) -> Result<Outcome>,
) -> Result<Outcome> {
    let mut known = state::Recorded::default();
    for _ in 0..MAX_PASSES {
        let outcome = step(&known)?;
        let missing = known.take_missing();
        if missing.is_empty() {
            return Ok(outcome);
        }
        for q in missing {
            let a = state::answer(tx, community_id, &q).await?;
            known.insert(q, a);
        }
    }
    Err(ServiceError::Unsettled {
        inbox_id: inbox_id.to_string(),
    })
}

fn role_str(r: classcred_engine::Role) -> &'static str {
    state::store_role(r).as_str()
}

/// Write an outcome in the caller's transaction.
async fn write_outcome(
    tx: &mut Tx<'_>,
    community_id: &str,
    inbox_id: &str,
    outcome: &Outcome,
    source: Option<&str>,
    fault: Fault,
) -> Result<()> {
    for e in &outcome.entries {
        let inserted = tx
            .insert_ledger_entry(
                community_id,
                &NewLedgerEntry {
                    member_id: e.member.to_string(),
                    kind: e.kind.as_str().to_string(),
                    amount_milli: e.amount.thousandths(),
                    idempotency_key: e.key.as_str().to_string(),
                    giver_member_id: e.giver.as_ref().map(ToString::to_string),
                    giver_role: e.giver_role.map(|r| role_str(r).to_string()),
                    source_ref: e.platform_message_id.as_ref().map(ToString::to_string),
                    quota_day: e.quota_day.map(|d| d.to_string()),
                    iso_week: e.iso_week.map(|w| w.to_string()),
                    quota_units: i64::from(e.quota_units),
                    fire_units: i64::from(e.fire_units),
                    note: e.reason.clone(),
                    occurred_at: e.occurred_at.timestamp_millis(),
                },
            )
            .await?;
        if !inserted {
            return Err(ServiceError::Conflict {
                key: e.key.to_string(),
                inbox_id: inbox_id.to_string(),
            });
        }
    }
    if fault == Fault::AfterLedgerWrite {
        return Err(ServiceError::Injected);
    }
    for m in &outcome.messages {
        tx.upsert_engine_message(
            community_id,
            &m.platform_message_id,
            m.author.as_ref().map(MemberId::as_str),
            &serde_json::to_string(m)?,
        )
        .await?;
    }
    for r in &outcome.reactions {
        tx.upsert_engine_reaction(
            community_id,
            &r.platform_message_id,
            r.reactor.as_str(),
            &serde_json::to_string(r)?,
        )
        .await?;
    }
    for m in &outcome.members {
        tx.set_member_role_kind(
            community_id,
            m.member.as_str(),
            state::store_role(m.info.role),
            state::store_kind(m.info.kind),
        )
        .await?;
    }
    for b in &outcome.badges {
        tx.insert_badge(
            community_id,
            b.member.as_str(),
            b.badge.as_str(),
            &b.instance,
            b.by.as_ref().map(MemberId::as_str),
            b.occurred_at.timestamp_millis(),
        )
        .await?;
    }
    for l in &outcome.levels {
        tx.set_member_level(community_id, l.member.as_str(), i64::from(l.level))
            .await?;
    }
    for item in &outcome.feed {
        write_feed_item(tx, community_id, item).await?;
    }
    for n in &outcome.notices {
        // `source`: the platform message the notice is about, so the adapter can answer where
        // the member acted (e.g. an ephemeral message in that channel).
        let mut job = NewJob::new(
            NOTICE_JOB,
            serde_json::json!({ "community_id": community_id, "notice": n, "source": source }),
        );
        job.community_id = Some(community_id.to_string());
        tx.enqueue(&job).await?;
    }
    Ok(())
}

async fn write_feed_item(tx: &mut Tx<'_>, community_id: &str, item: &FeedItem) -> Result<()> {
    let payload = serde_json::to_value(&item.kind)?;
    let kind = payload
        .get("type")
        .and_then(|t| t.as_str())
        .unwrap_or("event")
        .to_string();
    let member = match &item.audience {
        classcred_engine::Audience::Member(m) => Some(m.as_str()),
        classcred_engine::Audience::Community => None,
    };
    tx.insert_feed_item(
        community_id,
        member,
        &kind,
        &payload.to_string(),
        item.occurred_at.timestamp_millis(),
    )
    .await?;
    Ok(())
}

/// The platform message an event is about.
fn message_ref(e: &Event) -> Option<&str> {
    match e {
        Event::MessagePosted(m) => Some(&m.platform_message_id),
        Event::MessageEdited(m) => Some(&m.platform_message_id),
        Event::MessageDeleted(m) => Some(&m.platform_message_id),
        Event::ReactionAdded(r) | Event::ReactionRemoved(r) => Some(&r.platform_message_id),
        _ => None,
    }
}

/// Keep the message text (encrypted) for feeds and dashboards.
async fn record_message(tx: &mut Tx<'_>, community_id: &str, e: &Event) -> Result<()> {
    if let Event::MessagePosted(m) = e {
        let channel = m
            .platform_message_id
            .split_once(':')
            .map_or("", |(c, _)| c)
            .to_string();
        tx.insert_message(
            community_id,
            &NewMessage {
                platform_message_id: m.platform_message_id.clone(),
                channel_id: channel,
                author_member_id: Some(m.author.to_string()),
                thread_id: m.thread.clone(),
                text: m.text.clone(),
                posted_at: m.occurred_at.timestamp_millis(),
            },
        )
        .await?;
    }
    Ok(())
}

/// What processing one inbox row did.
#[derive(Debug, Clone)]
pub struct Processed {
    pub inbox_id: String,
    pub seq: i64,
    pub entries: usize,
    pub notices: usize,
}

/// Process the oldest pending inbox row of a community, in one transaction. `None` when
/// nothing is pending. On failure nothing of the attempt stays; the row's attempt count and
/// error are recorded, and after [`MAX_INBOX_ATTEMPTS`] the row is parked.
pub async fn process_next(
    store: &Store,
    community_id: &str,
    fault: Fault,
) -> Result<Option<Processed>> {
    let mut tx = store.begin().await?;
    let seq = tx.next_event_seq(community_id).await?;
    let Some(inbox_id) = tx.oldest_unprocessed_inbox(community_id).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    match process_in(&mut tx, community_id, &inbox_id, seq, fault).await {
        Ok(processed) => {
            tx.commit().await?;
            tracing::debug!(
                community_id,
                inbox_id,
                seq,
                entries = processed.entries,
                "event processed"
            );
            Ok(Some(processed))
        }
        Err(e) => {
            tx.rollback().await?;
            let mut tx = store.begin().await?;
            let attempts = tx.record_inbox_failure(&inbox_id, &e.to_string()).await?;
            tx.commit().await?;
            if attempts >= MAX_INBOX_ATTEMPTS {
                tracing::error!(community_id, inbox_id, attempts, error = %e, "inbox row parked after repeated failures");
            }
            Err(e)
        }
    }
}

async fn process_in(
    tx: &mut Tx<'_>,
    community_id: &str,
    inbox_id: &str,
    seq: i64,
    fault: Fault,
) -> Result<Processed> {
    let ev = tx.inbox_event(inbox_id).await?;
    let settings = settings(tx, community_id).await?;
    let mut source = None;
    let outcome = match serde_json::from_slice::<Payload>(&ev.payload)? {
        Payload::Event(platform_event) => {
            source = message_ref(&platform_event).map(str::to_string);
            let event = resolve(tx, community_id, &platform_event).await?;
            let outcome = run_engine(tx, community_id, inbox_id, |s| {
                Ok(apply(&settings, s, &event))
            })
            .await?;
            record_message(tx, community_id, &event).await?;
            outcome
        }
        Payload::CloseWeek(c) => {
            run_engine(tx, community_id, inbox_id, |s| {
                Ok(close_week(&settings, s, c.close_week, c.at)?)
            })
            .await?
        }
    };
    write_outcome(
        tx,
        community_id,
        inbox_id,
        &outcome,
        source.as_deref(),
        fault,
    )
    .await?;
    tx.mark_inbox_processed_at_seq(inbox_id, seq).await?;
    Ok(Processed {
        inbox_id: inbox_id.to_string(),
        seq,
        entries: outcome.entries.len(),
        notices: outcome.notices.len(),
    })
}

/// Record the closing of the last ISO week that has ended (in the community timezone), once.
/// Returns the week when it was newly recorded. Safe to call from any number of instances:
/// the inbox keeps one row per week.
pub async fn schedule_week_closing(store: &Store, community_id: &str) -> Result<Option<IsoWeek>> {
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
    let payload = serde_json::to_vec(&Payload::CloseWeek(CloseWeek {
        close_week: last_week,
        at: now,
    }))?;
    let inserted = tx
        .insert_inbox(
            community_id,
            "classcred",
            &format!("close_week:{community_id}:{last_week}"),
            "week_closed",
            &payload,
            now.timestamp_millis(),
        )
        .await?;
    let fresh = matches!(inserted, InboxInsert::Stored(_));
    if fresh {
        let mut job = NewJob::new(
            DRAIN_JOB,
            serde_json::json!({ "community_id": community_id }),
        );
        job.community_id = Some(community_id.to_string());
        tx.enqueue(&job).await?;
    }
    tx.commit().await?;
    Ok(fresh.then_some(last_week))
}

/// Give a community's parked inbox rows another round of attempts, and schedule processing.
/// Returns how many rows were re-queued.
pub async fn retry_parked(store: &Store, community_id: &str) -> Result<u64> {
    let mut tx = store.begin().await?;
    tx.community(community_id).await?;
    let n = tx.requeue_parked_inbox(community_id).await?;
    if n > 0 {
        let mut job = NewJob::new(
            DRAIN_JOB,
            serde_json::json!({ "community_id": community_id }),
        );
        job.community_id = Some(community_id.to_string());
        tx.enqueue(&job).await?;
    }
    tx.commit().await?;
    Ok(n)
}

/// Process every pending inbox row of a community, oldest first. Returns how many.
pub async fn drain(store: &Store, community_id: &str) -> Result<usize> {
    let mut n = 0;
    while process_next(store, community_id, Fault::None)
        .await?
        .is_some()
    {
        n += 1;
    }
    Ok(n)
}
