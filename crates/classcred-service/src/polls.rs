//! Polls and debates, for chat, the dashboard and the API: create, post, vote, close, list and
//! results.
//!
//! Every change is an engine event (`PollCreated`, `PollPosted`, `VoteCast`, `PollClosed`)
//! stored in the inbox (staff actions with an audit entry), then processed at once like the
//! store's changes: the engine decides (staff only create and close; one vote per member,
//! replaced until the close; votes after the close refused). The checks made here first only
//! turn the common refusals into form errors.
//!
//! Posting: creating a poll with a channel queues [`POLL_POST_JOB`]; the platform crate posts
//! it through the seam's `NoticeSink::post` and records `PollPosted` with the message id
//! ([`record_posted`]): a debate's discussion thread is that message's thread. A closing time
//! queues [`POLL_CLOSE_JOB`] at that instant ([`close_job`]), which records the scheduled
//! `PollClosed` (its time is the closing time itself, so processing order cannot change it).

use chrono::{DateTime, Utc};
use classcred_engine::{
    Event, MemberId, Outcome, PollClosed, PollCreated, PollDefinition, PollKind, PollPosted,
    PollRecord, VoteCast,
};
use classcred_store::audit::AuditRecord;
use classcred_store::jobs::{ClaimedJob, NewJob};
use classcred_store::polls::{PollRow, Voter};
use classcred_store::{CommunityId, CommunityTx, MemberKind, MemberRowId, Store};
use serde::Serialize;
use serde_json::json;

use crate::announcements::{channel_id, parse_local};
use crate::changes::{acting_staff, settle, Change, ChangeError, CHANGE_PLATFORM};
use crate::{ingest, settings, Result, ServiceError};

/// Job kind: post one poll in its channel (payload: community id, poll id).
pub const POLL_POST_JOB: &str = "poll.post";
/// Job kind: close one poll at its closing time (payload: community id, poll id).
pub const POLL_CLOSE_JOB: &str = "poll.close";
/// Job kind: post a closed poll's results in the channel the poll was posted in (queued by
/// every close, by hand or at the closing time; [`to_post_results`]).
pub const POLL_RESULTS_JOB: &str = "poll.results";
/// Polls shown on the dashboard (and by the API).
pub const LIST_LIMIT: i64 = 200;

/// What the poll form says.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Draft {
    /// `poll` or `debate`.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub question: String,
    /// One option (or side) per line.
    #[serde(default)]
    pub options: String,
    /// A channel id or Slack channel link; empty: the community's own room or conversation
    /// (Matrix, Teams), or not posted (the dashboard only).
    #[serde(default)]
    pub channel: String,
    /// `YYYY-MM-DD HH:MM` in the community's timezone; empty: closed by hand.
    #[serde(default)]
    pub closes_at: String,
    #[serde(default)]
    pub anonymous: Option<String>,
    #[serde(default)]
    pub live_results: Option<String>,
}

/// A poll with its results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PollView {
    pub poll_id: String,
    /// The short number members vote by in chat.
    pub number: i64,
    pub kind: PollKind,
    pub question: String,
    pub options: Vec<String>,
    pub anonymous: bool,
    pub live_results: bool,
    pub channel: Option<String>,
    pub closes_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The platform message of the posted poll (a debate's thread root).
    pub posted_message_id: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Votes per option, in option order.
    pub counts: Vec<u32>,
    /// Votes in all.
    pub votes: u32,
    /// Debates: members who took part (a side chosen or a post in the thread).
    pub participants: Option<u32>,
}

impl PollView {
    /// Whether it takes votes at `at`.
    pub fn open_at(&self, at: DateTime<Utc>) -> bool {
        self.closed_at.is_none() && self.closes_at.is_none_or(|c| at < c)
    }

    /// Whether students may see the results (closed, or live results).
    pub fn results_public(&self) -> bool {
        self.closed_at.is_some() || self.live_results
    }

    /// The share of votes of option `i`, in whole percent.
    pub fn percent(&self, i: usize) -> u32 {
        match self.counts.get(i) {
            Some(n) if self.votes > 0 => {
                u32::try_from(u64::from(*n) * 100 / u64::from(self.votes)).unwrap_or(100)
            }
            _ => 0,
        }
    }
}

/// What a vote did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voted {
    pub poll: PollView,
    /// The option voted for, from 0.
    pub option: u32,
    /// Whether the vote is now recorded (`false`: not processed yet, a worker applies it).
    pub counted: bool,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn invalid(field: &str, message: impl Into<String>) -> ChangeError {
    ChangeError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

fn bad_data() -> ServiceError {
    ServiceError::Json {
        category: "unexpected data",
        line: 0,
        column: 0,
    }
}

fn row_id(id: &MemberId) -> Result<MemberRowId> {
    Ok(MemberRowId::parse(id.as_str())?)
}

/// The engine's record of a stored poll.
pub(crate) fn poll_record(row: &PollRow) -> Result<PollRecord> {
    Ok(PollRecord {
        poll_id: row.poll_id.clone(),
        definition: PollDefinition {
            kind: PollKind::parse(&row.kind).ok_or_else(bad_data)?,
            question: row.question.clone(),
            options: row.options.clone(),
            anonymous: row.anonymous,
            live_results: row.live_results,
            channel: row.channel_id.clone(),
            closes_at: row.closes_at.map(at),
        },
        created_by: MemberId::new(row.created_by.to_string()),
        created_at: at(row.created_at),
        posted_message: row.posted_message_id.clone(),
        closed_at: row.closed_at.map(at),
        closed_by: row.closed_by.as_ref().map(|m| MemberId::new(m.to_string())),
    })
}

fn poll_row(p: &PollRecord) -> Result<PollRow> {
    Ok(PollRow {
        poll_id: p.poll_id.clone(),
        number: 0,
        kind: p.definition.kind.as_str().to_string(),
        question: p.definition.question.clone(),
        options: p.definition.options.clone(),
        anonymous: p.definition.anonymous,
        live_results: p.definition.live_results,
        channel_id: p.definition.channel.clone(),
        closes_at: p.definition.closes_at.map(ms),
        created_by: row_id(&p.created_by)?,
        created_at: ms(p.created_at),
        posted_message_id: p.posted_message.clone(),
        closed_at: p.closed_at.map(ms),
        closed_by: p.closed_by.as_ref().map(row_id).transpose()?,
    })
}

/// Write the poll part of an outcome (polls, votes, debate participants) in the processing
/// transaction.
pub(crate) async fn write_poll_outcome(
    tx: &mut CommunityTx<'_, '_>,
    outcome: &Outcome,
) -> Result<()> {
    for p in &outcome.polls {
        tx.upsert_poll(&poll_row(p)?).await?;
    }
    for v in &outcome.votes {
        let member = row_id(&v.member)?;
        let voter = if v.anonymous {
            Voter::Anonymous(&member)
        } else {
            Voter::Member(&member)
        };
        tx.save_poll_vote(&v.poll_id, voter, i64::from(v.option), ms(v.voted_at))
            .await?;
    }
    for d in &outcome.debaters {
        tx.add_debater(&d.poll_id, &row_id(&d.member)?, ms(d.at))
            .await?;
    }
    Ok(())
}

/// The state answer to "this member's vote in this poll".
pub(crate) async fn vote_of(
    tx: &mut CommunityTx<'_, '_>,
    poll_id: &str,
    member: &MemberId,
) -> Result<Option<u32>> {
    let Ok(m) = MemberRowId::parse(member.as_str()) else {
        return Ok(None);
    };
    let voter = match tx.poll_anonymous(poll_id).await? {
        None => return Ok(None),
        Some(true) => Voter::Anonymous(&m),
        Some(false) => Voter::Member(&m),
    };
    Ok(tx
        .poll_vote(poll_id, voter)
        .await?
        .and_then(|p| u32::try_from(p).ok()))
}

async fn view(tx: &mut CommunityTx<'_, '_>, row: PollRow) -> Result<PollView> {
    let record = poll_record(&row)?;
    let number = row.number;
    let mut counts = vec![0u32; row.options.len()];
    for (pos, n) in tx.poll_counts(&row.poll_id).await? {
        if let Some(c) = usize::try_from(pos).ok().and_then(|i| counts.get_mut(i)) {
            *c = u32::try_from(n).unwrap_or(u32::MAX);
        }
    }
    let participants = if record.definition.kind == PollKind::Debate {
        let n = tx
            .debater_counts()
            .await?
            .into_iter()
            .find(|(p, _)| p == &row.poll_id)
            .map_or(0, |(_, n)| n);
        Some(u32::try_from(n).unwrap_or(u32::MAX))
    } else {
        None
    };
    Ok(PollView {
        number,
        votes: counts.iter().sum(),
        counts,
        participants,
        poll_id: record.poll_id,
        kind: record.definition.kind,
        question: record.definition.question,
        options: record.definition.options,
        anonymous: record.definition.anonymous,
        live_results: record.definition.live_results,
        channel: record.definition.channel,
        closes_at: record.definition.closes_at,
        created_at: record.created_at,
        posted_message_id: record.posted_message,
        closed_at: record.closed_at,
    })
}

/// The community's polls with their results, newest first.
pub async fn list(store: &Store, community_id: &CommunityId) -> Result<Vec<PollView>> {
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    let rows = scoped.polls(LIST_LIMIT).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(view(&mut scoped, r).await?);
    }
    tx.rollback().await?;
    Ok(out)
}

/// One poll with its results.
pub async fn get(
    store: &Store,
    community_id: &CommunityId,
    poll_id: &str,
) -> Result<Option<PollView>> {
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    let out = match scoped.poll(poll_id).await? {
        Some(r) => Some(view(&mut scoped, r).await?),
        None => None,
    };
    tx.rollback().await?;
    Ok(out)
}

/// The poll with this chat number.
pub async fn by_number(
    store: &Store,
    community_id: &CommunityId,
    number: i64,
) -> Result<Option<PollView>> {
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    let out = match scoped.poll_by_number(number).await? {
        Some(r) => Some(view(&mut scoped, r).await?),
        None => None,
    };
    tx.rollback().await?;
    Ok(out)
}

/// A member's votes in polls that are not anonymous: `(poll, option)`, newest first.
pub async fn member_votes(
    store: &Store,
    community_id: &CommunityId,
    member: &MemberRowId,
) -> Result<Vec<(PollView, u32)>> {
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    let votes = scoped.member_votes(member).await?;
    let mut out = Vec::with_capacity(votes.len());
    for v in votes {
        if let Some(r) = scoped.poll(&v.poll_id).await? {
            let option = u32::try_from(v.position).unwrap_or(0);
            out.push((view(&mut scoped, r).await?, option));
        }
    }
    tx.rollback().await?;
    Ok(out)
}

fn job(kind: &str, community_id: &CommunityId, poll_id: &str) -> NewJob {
    let mut job = NewJob::new(
        kind,
        json!({ "community_id": community_id, "poll_id": poll_id }),
    );
    job.community_id = Some(community_id.clone());
    job.dedupe_key = Some(format!("{kind}:{poll_id}"));
    job.max_attempts = 8;
    job
}

/// Parses a form into a definition (field errors name the form's fields).
async fn definition(
    tx: &mut classcred_store::Tx<'_>,
    community_id: &CommunityId,
    draft: &Draft,
    now: DateTime<Utc>,
) -> std::result::Result<PollDefinition, ChangeError> {
    let community = tx.community(community_id).await?;
    let tz = settings(tx, community_id).await?.timezone.tz();
    let kind = match draft.kind.trim() {
        "" | "poll" => PollKind::Poll,
        "debate" => PollKind::Debate,
        _ => return Err(invalid("kind", "Choose poll or debate.")),
    };
    let mut channel = channel_id(&draft.channel).map_err(|m| invalid("channel", m))?;
    if channel.is_empty() {
        if let ("matrix" | "teams", Some(home)) =
            (community.platform.as_str(), community.platform_team_id)
        {
            channel = home;
        }
    }
    let closes_at = match draft.closes_at.trim() {
        "" => None,
        t => Some(parse_local(t, tz).map_err(|m| invalid("closes_at", m))?),
    };
    let on = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty() && v != "false");
    let def = PollDefinition {
        kind,
        question: draft.question.trim().to_string(),
        options: draft
            .options
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        anonymous: on(&draft.anonymous),
        live_results: on(&draft.live_results),
        channel: (!channel.is_empty()).then_some(channel),
        closes_at,
    };
    def.validate(now).map_err(|e| invalid(e.field, e.message))?;
    Ok(def)
}

/// An Admin or Instructor creates a poll or debate: posted in its channel by a job, closed at
/// its closing time by another.
pub async fn create(
    store: &Store,
    community_id: &CommunityId,
    by: &MemberRowId,
    draft: &Draft,
    now: DateTime<Utc>,
) -> std::result::Result<(String, Change), ChangeError> {
    let mut tx = store.begin().await?;
    let staff = acting_staff(&mut tx.for_community(community_id), by).await?;
    let def = definition(&mut tx, community_id, draft, now).await?;
    let poll_id = uuid::Uuid::now_v7().to_string();
    let event_id = format!("poll:{poll_id}");
    let event = Event::PollCreated(PollCreated {
        poll_id: poll_id.clone(),
        definition: def.clone(),
        by: MemberId::new(staff),
        occurred_at: now,
    });
    ingest(&mut tx, community_id, CHANGE_PLATFORM, &event_id, &event).await?;
    if def.channel.is_some() {
        tx.enqueue(&job(POLL_POST_JOB, community_id, &poll_id))
            .await?;
    }
    if let Some(c) = def.closes_at {
        let mut close = job(POLL_CLOSE_JOB, community_id, &poll_id);
        close.run_at = Some(ms(c));
        tx.enqueue(&close).await?;
    }
    tx.audit(&AuditRecord {
        community_id: Some(community_id.clone()),
        actor: format!("member:{by}"),
        action: format!("{}.create", def.kind.as_str()),
        subject: Some(format!("poll:{poll_id}")),
        details: json!({ "event_id": event_id, "options": def.options.len(),
            "anonymous": def.anonymous }),
    })
    .await?;
    tx.commit().await?;
    settle(store, community_id).await;
    let mut tx = store.begin().await?;
    let applied = tx
        .for_community(community_id)
        .poll_anonymous(&poll_id)
        .await?
        .is_some();
    tx.rollback().await?;
    Ok((
        poll_id,
        Change {
            event_id: Some(event_id),
            applied,
        },
    ))
}

/// An Admin or Instructor closes an open poll.
pub async fn close(
    store: &Store,
    community_id: &CommunityId,
    by: &MemberRowId,
    poll_id: &str,
    now: DateTime<Utc>,
) -> std::result::Result<Change, ChangeError> {
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    let staff = acting_staff(&mut scoped, by).await?;
    let p = scoped.poll(poll_id).await?.ok_or(ChangeError::NotFound)?;
    if p.closed_at.is_some() {
        return Err(invalid("poll", "This poll is already closed."));
    }
    let event_id = format!("poll_close:{poll_id}");
    let event = Event::PollClosed(PollClosed {
        poll_id: poll_id.to_string(),
        by: Some(MemberId::new(staff)),
        occurred_at: now,
    });
    ingest(&mut tx, community_id, CHANGE_PLATFORM, &event_id, &event).await?;
    if p.posted_message_id.is_some() {
        tx.enqueue(&job(POLL_RESULTS_JOB, community_id, poll_id))
            .await?;
    }
    tx.audit(&AuditRecord {
        community_id: Some(community_id.clone()),
        actor: format!("member:{by}"),
        action: format!("{}.close", p.kind),
        subject: Some(format!("poll:{poll_id}")),
        details: json!({ "event_id": event_id }),
    })
    .await?;
    tx.commit().await?;
    settle(store, community_id).await;
    let mut tx = store.begin().await?;
    let now_row = tx.for_community(community_id).poll(poll_id).await?;
    tx.rollback().await?;
    Ok(Change {
        event_id: Some(event_id),
        applied: now_row.is_some_and(|p| p.closed_at.is_some()),
    })
}

/// A member votes (or changes their vote, or chooses a debate side): `what` is the option's
/// number (from 1) or its text. `delivery` names the platform delivery when there is one (a
/// redelivered click is then stored once); `None` makes a fresh one.
pub async fn vote(
    store: &Store,
    community_id: &CommunityId,
    member: &MemberRowId,
    poll_id: &str,
    what: &str,
    delivery: Option<&str>,
    now: DateTime<Utc>,
) -> std::result::Result<Voted, ChangeError> {
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    let row = scoped.poll(poll_id).await?.ok_or_else(|| {
        invalid(
            "poll",
            "There is no such poll; the polls command lists the open ones.",
        )
    })?;
    let record = poll_record(&row)?;
    let Some(option) = record.definition.find_option(what) else {
        return Err(invalid(
            "option",
            format!(
                "Choose an option from 1 to {}.",
                record.definition.options.len()
            ),
        ));
    };
    if record.closed_at_time(now) {
        return Err(invalid(
            "poll",
            "This poll is closed; your vote was not counted.",
        ));
    }
    match scoped.member_role_kind(member).await? {
        Some((_, MemberKind::Human)) => {}
        Some(_) => return Err(ChangeError::Forbidden),
        None => return Err(ChangeError::NotFound),
    }
    let platform_id = scoped
        .platform_user_id(member)
        .await?
        .ok_or(ChangeError::NotFound)?;
    let event = Event::VoteCast(VoteCast {
        poll_id: poll_id.to_string(),
        member: MemberId::new(platform_id),
        option,
        occurred_at: now,
    });
    let event_id = match delivery {
        Some(d) => format!("vote:{d}"),
        None => format!("vote:{}", uuid::Uuid::now_v7()),
    };
    ingest(&mut tx, community_id, CHANGE_PLATFORM, &event_id, &event).await?;
    tx.commit().await?;
    settle(store, community_id).await;
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    let counted =
        vote_of(&mut scoped, poll_id, &MemberId::new(member.to_string())).await? == Some(option);
    let row = scoped.poll(poll_id).await?.ok_or(ChangeError::NotFound)?;
    let poll = view(&mut scoped, row).await?;
    tx.rollback().await?;
    Ok(Voted {
        poll,
        option,
        counted,
    })
}

/// The poll id of a poll job.
fn job_poll_id(job: &ClaimedJob) -> Result<&str> {
    job.payload
        .get("poll_id")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| {
            ServiceError::Store(classcred_store::StoreError::Invalid(format!(
                "poll job {} without a poll id",
                job.id
            )))
        })
}

/// The poll of a job is not processed yet (the job fails and is retried).
fn not_processed(poll_id: &str) -> ServiceError {
    ServiceError::Store(classcred_store::StoreError::NotFound {
        what: "poll",
        id: poll_id.to_string(),
    })
}

/// Records that the bot posted a poll: `platform_message_id` is the posted message (a
/// debate's thread root).
pub async fn record_posted(
    store: &Store,
    community_id: &CommunityId,
    poll_id: &str,
    platform_message_id: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut tx = store.begin().await?;
    let event = Event::PollPosted(PollPosted {
        poll_id: poll_id.to_string(),
        platform_message_id: platform_message_id.to_string(),
        occurred_at: now,
    });
    ingest(
        &mut tx,
        community_id,
        CHANGE_PLATFORM,
        &format!("poll_posted:{poll_id}"),
        &event,
    )
    .await?;
    tx.commit().await?;
    settle(store, community_id).await;
    Ok(())
}

/// [`POLL_CLOSE_JOB`]: record the scheduled close, at the poll's closing time.
pub async fn close_job(store: &Store, job: &ClaimedJob) -> Result<()> {
    let community_id = job.payload_community_id()?;
    let poll_id = job_poll_id(job)?;
    let mut tx = store.begin().await?;
    let Some(p) = tx.for_community(&community_id).poll(poll_id).await? else {
        // Not processed yet: try again later.
        return Err(not_processed(poll_id));
    };
    let Some(closes_at) = p.closes_at else {
        return Ok(());
    };
    if p.closed_at.is_some() {
        return Ok(());
    }
    let event = Event::PollClosed(PollClosed {
        poll_id: poll_id.to_string(),
        by: None,
        occurred_at: at(closes_at),
    });
    ingest(
        &mut tx,
        &community_id,
        CHANGE_PLATFORM,
        &format!("poll_close:{poll_id}"),
        &event,
    )
    .await?;
    if p.posted_message_id.is_some() {
        tx.enqueue(&self::job(POLL_RESULTS_JOB, &community_id, poll_id))
            .await?;
    }
    tx.commit().await?;
    settle(store, &community_id).await;
    tracing::info!(community_id = %community_id, poll_id, "poll closed at its time");
    Ok(())
}

/// A poll to post, for [`POLL_POST_JOB`]: `None` when there is nothing to post (already
/// posted, closed, or no channel).
pub async fn to_post(store: &Store, job: &ClaimedJob) -> Result<Option<PollView>> {
    let community_id = job.payload_community_id()?;
    let poll_id = job_poll_id(job)?;
    let Some(p) = get(store, &community_id, poll_id).await? else {
        return Err(not_processed(poll_id));
    };
    if p.posted_message_id.is_some() || p.closed_at.is_some() || p.channel.is_none() {
        return Ok(None);
    }
    Ok(Some(p))
}

/// A closed poll whose results to post, for [`POLL_RESULTS_JOB`]: `None` when there is
/// nothing to post (never posted, or no channel). A close not processed yet is an error, so
/// the job is tried again.
pub async fn to_post_results(store: &Store, job: &ClaimedJob) -> Result<Option<PollView>> {
    let community_id = job.payload_community_id()?;
    let poll_id = job_poll_id(job)?;
    let Some(p) = get(store, &community_id, poll_id).await? else {
        return Err(not_processed(poll_id));
    };
    if p.closed_at.is_none() {
        return Err(not_processed(poll_id));
    }
    if p.posted_message_id.is_none() || p.channel.is_none() {
        return Ok(None);
    }
    Ok(Some(p))
}

/// The polls' rows as `ledger replay` compares them.
pub(crate) struct StoredPolls {
    polls: Vec<PollRow>,
    votes: Vec<classcred_store::polls::StoredVote>,
    debaters: Vec<(String, i64)>,
    erased: std::collections::HashSet<String>,
}

pub(crate) async fn stored_for_replay(tx: &mut CommunityTx<'_, '_>) -> Result<StoredPolls> {
    let polls = tx.polls(i64::MAX).await?;
    let erased = match tx.list_members().await {
        Ok(members) => members
            .into_iter()
            .filter(|m| m.platform_user_id.starts_with("erased:"))
            .map(|m| m.id.to_string())
            .collect(),
        Err(classcred_store::StoreError::Erased { .. }) => Default::default(),
        Err(e) => return Err(e.into()),
    };
    Ok(StoredPolls {
        polls,
        votes: tx.stored_votes().await?,
        debaters: tx.debater_counts().await?,
        erased,
    })
}

/// Polls (definition, post, close), votes (one per member; anonymous ones as counts) and
/// debate participants as stored against the replayed ones; each difference is a line (ids
/// only). Votes and participation of erased members were deleted with them: they are left
/// out of the comparison.
pub(crate) fn compare_replay(
    diffs: &mut Vec<String>,
    stored: &StoredPolls,
    mem: &classcred_engine::InMemoryState,
) -> Result<()> {
    use classcred_engine::StateView;
    use std::collections::BTreeMap;
    let mut replayed: BTreeMap<&str, &PollRecord> = mem
        .polls()
        .into_iter()
        .map(|p| (p.poll_id.as_str(), p))
        .collect();
    for row in &stored.polls {
        let p = poll_record(row)?;
        match replayed.remove(row.poll_id.as_str()) {
            None => diffs.push(format!(
                "poll {} is stored but replay does not produce it",
                row.poll_id
            )),
            Some(r) if poll_record(&poll_row(r)?)? != p => diffs.push(format!(
                "poll {}: stored record differs from the replayed one",
                row.poll_id
            )),
            Some(_) => {}
        }
        let mut counts = vec![0u32; p.definition.options.len()];
        for v in stored.votes.iter().filter(|v| v.poll_id == row.poll_id) {
            if let Some(c) = usize::try_from(v.position)
                .ok()
                .and_then(|i| counts.get_mut(i))
            {
                *c += 1;
            }
            if let Some(m) = &v.member_id {
                let replayed = mem.vote(&row.poll_id, &MemberId::new(m.to_string()));
                if replayed != u32::try_from(v.position).ok() {
                    diffs.push(format!(
                        "poll {}: vote of member {m} stored {}, replayed {replayed:?}",
                        row.poll_id, v.position
                    ));
                }
            }
        }
        if stored.erased.is_empty() && counts != mem.poll_counts(&row.poll_id) {
            diffs.push(format!(
                "poll {}: stored vote counts {counts:?}, replayed {:?}",
                row.poll_id,
                mem.poll_counts(&row.poll_id)
            ));
        }
        if p.definition.kind == PollKind::Debate && stored.erased.is_empty() {
            let n = stored
                .debaters
                .iter()
                .find(|(id, _)| id == &row.poll_id)
                .map_or(0, |(_, n)| *n);
            if n != i64::from(mem.debater_count(&row.poll_id)) {
                diffs.push(format!(
                    "debate {}: stored {n} participants, replayed {}",
                    row.poll_id,
                    mem.debater_count(&row.poll_id)
                ));
            }
        }
    }
    for id in replayed.keys() {
        diffs.push(format!("poll {id} is produced by replay but not stored"));
    }
    Ok(())
}
