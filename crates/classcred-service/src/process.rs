//! Processing one inbox row: resolve members, run the engine against the database until it asks
//! nothing new, write the outcome and mark the row processed, in one transaction.

use std::collections::HashMap;

use classcred_engine::{apply, close_week, Event, FeedItem, MemberId, Outcome};
use classcred_store::jobs::NewJob;
use classcred_store::{
    CommunityId, CommunityTx, MemberRowId, NewFeedItem, NewLedgerEntry, NewMessage, Store,
};

use crate::memo::Memo;
use crate::{
    settings, state, Fault, Payload, Result, ServiceError, MAX_INBOX_ATTEMPTS, MAX_PASSES,
    NOTICE_JOB, RESOLVE_MEMBERS_JOB,
};

/// Every member reference of an event.
pub(crate) fn member_refs(e: &Event) -> Vec<&MemberId> {
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
        Event::SettingsChanged(c) => vec![&c.by],
        Event::StoreItemSaved(e) => vec![&e.by],
        Event::PurchaseRequested(e) => vec![&e.member],
        Event::PurchaseDecided(e) => vec![&e.by],
        Event::PurchaseCancelled(e) => vec![&e.by],
        Event::AnswerAccepted(a) => vec![&a.by],
        Event::PollCreated(e) => vec![&e.by],
        Event::PollPosted(_) => Vec::new(),
        Event::VoteCast(e) => vec![&e.member],
        Event::PollClosed(e) => e.by.iter().collect(),
        Event::RuleSaved(r) => vec![&r.by],
        Event::AnnouncementPosted(_) => Vec::new(),
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
        Event::SettingsChanged(x) => x.by = m(&x.by),
        Event::StoreItemSaved(x) => x.by = m(&x.by),
        Event::PurchaseRequested(x) => x.member = m(&x.member),
        Event::PurchaseDecided(x) => x.by = m(&x.by),
        Event::PurchaseCancelled(x) => x.by = m(&x.by),
        Event::AnswerAccepted(x) => x.by = m(&x.by),
        Event::PollCreated(x) => x.by = m(&x.by),
        Event::PollPosted(_) => {}
        Event::VoteCast(x) => x.member = m(&x.member),
        Event::PollClosed(x) => x.by = x.by.as_ref().map(m),
        Event::RuleSaved(x) => x.by = m(&x.by),
        Event::AnnouncementPosted(_) => {}
    }
    out
}

/// Whether an event still concerns anyone once the platform ids that are not members are left
/// out: `None` when an actor (author, reactor, adjusted or adjusting member…) is not a member
/// (the event then has no effect), else the event with non-member mentions removed. Processing
/// and replay both use it, so they agree on who is a member at each point of the order.
pub(crate) fn without_non_members(
    e: &Event,
    is_member: impl Fn(&MemberId) -> bool,
) -> Option<Event> {
    let mut out = e.clone();
    let keep = match &mut out {
        Event::MessagePosted(m) => {
            m.mentions.retain(&is_member);
            is_member(&m.author)
        }
        Event::MessageEdited(m) => {
            m.mentions.retain(&is_member);
            is_member(&m.author)
        }
        Event::MessageDeleted(_) | Event::MemberJoined(_) => true,
        Event::ReactionAdded(r) | Event::ReactionRemoved(r) => {
            is_member(&r.reactor) && is_member(&r.message_author)
        }
        Event::ProfileChanged(p) => is_member(&p.member),
        Event::RoleChanged(r) => is_member(&r.member) && r.by.as_ref().is_none_or(&is_member),
        Event::PointsAdjusted(a) => is_member(&a.by) && is_member(&a.member),
        Event::BadgeGranted(b) => is_member(&b.by) && is_member(&b.member),
        Event::SettingsChanged(c) => is_member(&c.by),
        Event::StoreItemSaved(e) => is_member(&e.by),
        Event::PurchaseRequested(e) => is_member(&e.member),
        Event::PurchaseDecided(e) => is_member(&e.by),
        Event::PurchaseCancelled(e) => is_member(&e.by),
        Event::AnswerAccepted(a) => is_member(&a.by),
        Event::PollCreated(e) => is_member(&e.by),
        Event::PollPosted(_) => true,
        Event::VoteCast(e) => is_member(&e.member),
        Event::PollClosed(e) => e.by.as_ref().is_none_or(&is_member),
        Event::RuleSaved(r) => is_member(&r.by),
        Event::AnnouncementPosted(_) => true,
    };
    keep.then_some(out)
}

/// The inbox delivery id of a member's joining (one per member and community).
pub(crate) fn join_event_id(community_id: &CommunityId, platform_user_id: &str) -> String {
    format!("join:{community_id}:{platform_user_id}")
}

/// What processing does next in a community.
#[expect(
    clippy::large_enum_variant,
    reason = "one value per processed row, moved once into processing"
)]
pub(crate) enum Next {
    /// Process this row; `members` maps every platform id of the event that is a member to
    /// its member id (ids that are not members are absent).
    Process {
        inbox_id: String,
        payload: Payload,
        members: HashMap<MemberId, MemberId>,
        /// The decrypted payload as stored (scrubbed when the row is marked processed).
        plain: Vec<u8>,
    },
    /// The row mentions platform ids that were never looked up: they must be resolved (by
    /// the platform adapter, outside this transaction) before it can be processed.
    Defer {
        inbox_id: String,
        unknown: Vec<String>,
    },
}

/// Decide what to process, starting from the oldest pending row `head`:
/// - a member's own joining row creates the member if needed (older data, tests) and runs;
/// - when the event refers to a member whose joining row is still pending (it was recorded
///   after this row, e.g. by member resolution), that joining row runs first, so the member's
///   role and kind are in place, and replay (which follows the processing order) sees the same;
/// - a platform id with no member row that is not known as a non-member defers the row;
/// - otherwise the row runs, with non-members left out.
pub(crate) async fn plan(
    tx: &mut CommunityTx<'_, '_>,
    head: String,
    memo: &mut Memo,
) -> Result<Next> {
    let community_id = tx.community_id().clone();
    let mut inbox_id = head;
    // One hop at most: a joining row never hops again.
    for _ in 0..2 {
        let ev = match memo.take_event(&inbox_id) {
            Some(ev) => ev,
            None => tx.inbox_event(&inbox_id).await?,
        };
        let payload = serde_json::from_slice::<Payload>(&ev.payload)?;
        let Payload::Event(event) = &payload else {
            return Ok(Next::Process {
                inbox_id,
                payload,
                members: HashMap::new(),
                plain: ev.payload,
            });
        };
        let mut members = HashMap::new();
        if let Event::MemberJoined(j) = event {
            let id = match tx.member_id_by_platform(j.member.as_str()).await? {
                Some(id) => id,
                None => {
                    tx.insert_bare_member(
                        j.member.as_str(),
                        state::store_role(j.role),
                        state::store_kind(j.kind),
                    )
                    .await?
                }
            };
            members.insert(j.member.clone(), MemberId::new(id));
            return Ok(Next::Process {
                inbox_id,
                payload,
                members,
                plain: ev.payload,
            });
        }
        let mut unknown: Vec<String> = Vec::new();
        let mut join_first = None;
        for pid in member_refs(event) {
            if members.contains_key(pid) || unknown.iter().any(|u| u == pid.as_str()) {
                continue;
            }
            let known = memo.member(pid.as_str()).cloned();
            let found = match known {
                Some(id) => Some(id),
                None => tx
                    .member_id_by_platform(pid.as_str())
                    .await?
                    .map(|id| id.to_string()),
            };
            match found {
                Some(id) => {
                    memo.keep_member(pid.as_str(), &id);
                    if join_first.is_none() && !memo.joined(pid.as_str()) {
                        join_first = tx
                            .pending_inbox_by_event_id(
                                &ev.platform,
                                &join_event_id(&community_id, pid.as_str()),
                            )
                            .await?
                            .filter(|j| *j != inbox_id);
                        if join_first.is_none() {
                            // Not pending (or this very row): processing is the only writer
                            // of joining rows' state, and a member's joining row is never
                            // queued again once processed.
                            memo.keep_joined(pid.as_str());
                        }
                    }
                    members.insert(pid.clone(), MemberId::new(id));
                }
                None => {
                    if !tx.is_platform_non_member(pid.as_str()).await? {
                        unknown.push(pid.to_string());
                    }
                }
            }
        }
        if let Some(j) = join_first {
            inbox_id = j;
            continue;
        }
        if !unknown.is_empty() {
            return Ok(Next::Defer { inbox_id, unknown });
        }
        return Ok(Next::Process {
            inbox_id,
            payload,
            members,
            plain: ev.payload,
        });
    }
    Err(ServiceError::Unsettled { inbox_id })
}

/// Run the engine (`step`) against the database until it asks nothing new.
async fn run_engine(
    tx: &mut CommunityTx<'_, '_>,
    inbox_id: &str,
    memo: &mut Memo,
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
            let a = match memo.answer(&q) {
                Some(a) => a,
                None => {
                    let a = state::answer(tx, &q).await?;
                    memo.keep_answer(&q, &a);
                    a
                }
            };
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

/// A member id of an outcome as a member row id. The engine only writes about members the
/// service resolved to row ids; any other id would name no member row (the schema's foreign
/// keys refuse it too), so it is an error.
fn row(id: &MemberId) -> Result<MemberRowId> {
    Ok(MemberRowId::parse(id.as_str())?)
}

/// Write an outcome in the caller's transaction.
async fn write_outcome(
    tx: &mut CommunityTx<'_, '_>,
    inbox_id: &str,
    outcome: &Outcome,
    source: Option<&str>,
    channel: Option<&str>,
    fault: Fault,
    memo: &mut Memo,
) -> Result<()> {
    let community_id = tx.community_id().clone();
    // One multi-row insert for the outcome's entries; the store updates the maintained
    // aggregates (balances, period points) in this transaction.
    let entries = outcome
        .entries
        .iter()
        .map(|e| NewLedgerEntry {
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
        })
        .collect::<Vec<_>>();
    let written = tx.insert_ledger_entries(&entries).await?;
    if let Some(i) = written.iter().position(|w| !w) {
        return Err(ServiceError::Conflict {
            key: entries[i].idempotency_key.clone(),
            inbox_id: inbox_id.to_string(),
        });
    }
    if fault == Fault::AfterLedgerWrite {
        return Err(ServiceError::Injected);
    }
    for m in &outcome.messages {
        tx.upsert_engine_message(
            &m.platform_message_id,
            m.author.as_ref().map(row).transpose()?.as_ref(),
            &serde_json::to_string(m)?,
        )
        .await?;
    }
    for r in &outcome.reactions {
        tx.upsert_engine_reaction(
            &r.platform_message_id,
            &row(&r.reactor)?,
            &serde_json::to_string(r)?,
        )
        .await?;
    }
    for m in &outcome.members {
        tx.set_member_role_kind(
            &row(&m.member)?,
            state::store_role(m.info.role),
            state::store_kind(m.info.kind),
        )
        .await?;
    }
    for b in &outcome.badges {
        tx.insert_badge(
            &row(&b.member)?,
            b.badge.as_str(),
            &b.instance,
            b.by.as_ref().map(row).transpose()?.as_ref(),
            b.occurred_at.timestamp_millis(),
        )
        .await?;
    }
    for l in &outcome.levels {
        tx.set_member_level(&row(&l.member)?, i64::from(l.level))
            .await?;
    }
    if let Some(settings) = &outcome.settings {
        tx.set_settings_from_engine(&serde_json::to_string(settings)?)
            .await?;
    }
    crate::store::write_store_outcome(tx, outcome).await?;
    crate::polls::write_poll_outcome(tx, outcome).await?;
    for item in &outcome.feed {
        memo.write_feed(feed_item(item)?);
    }
    for q in &outcome.questions {
        tx.upsert_question(&crate::questions::upsert(q)?).await?;
    }
    for r in &outcome.rules {
        tx.save_reward_rule(
            &r.rule_id,
            i64::from(r.version),
            r.enabled,
            &serde_json::to_string(r)?,
        )
        .await?;
    }
    crate::firsts::write_firsts_outcome(tx, outcome).await?;
    for n in &outcome.notices {
        // `source`: the platform message the notice is about, and `channel` where it was
        // posted, so the adapter can answer where the member acted (e.g. an ephemeral message
        // in that channel).
        let mut payload =
            serde_json::json!({ "community_id": community_id, "notice": n, "source": source });
        if let Some(c) = channel {
            payload["channel"] = serde_json::Value::from(c);
        }
        let mut job = NewJob::new(NOTICE_JOB, payload);
        job.community_id = Some(community_id.clone());
        memo.write_job(job);
    }
    Ok(())
}

fn feed_item(item: &FeedItem) -> Result<NewFeedItem> {
    let payload = serde_json::to_value(&item.kind)?;
    let kind = payload
        .get("type")
        .and_then(|t| t.as_str())
        .unwrap_or("event")
        .to_string();
    let member = match &item.audience {
        classcred_engine::Audience::Member(m) => Some(row(m)?),
        classcred_engine::Audience::Community => None,
    };
    Ok(NewFeedItem {
        member_id: member,
        kind,
        payload: payload.to_string(),
        occurred_at: item.occurred_at.timestamp_millis(),
    })
}

/// The platform message an event is about.
pub(crate) fn message_ref(e: &Event) -> Option<&str> {
    match e {
        Event::MessagePosted(m) => Some(&m.platform_message_id),
        Event::MessageEdited(m) => Some(&m.platform_message_id),
        Event::MessageDeleted(m) => Some(&m.platform_message_id),
        Event::ReactionAdded(r) | Event::ReactionRemoved(r) => Some(&r.platform_message_id),
        Event::AnswerAccepted(a) => Some(&a.answer),
        _ => None,
    }
}

/// Keep the message text (encrypted) for feeds and dashboards. Thread replies without fire or
/// mentions are kept only when they answer a question.
async fn record_message(tx: &mut CommunityTx<'_, '_>, e: &Event, outcome: &Outcome) -> Result<()> {
    if let Event::MessagePosted(m) = e {
        let about_questions = outcome.questions.iter().any(|q| {
            q.platform_message_id == m.platform_message_id
                || q.answers
                    .iter()
                    .any(|a| a.platform_message_id == m.platform_message_id)
        });
        if m.thread.is_some() && m.fire_count == 0 && m.mentions.is_empty() && !about_questions {
            return Ok(());
        }
        tx.insert_message(&NewMessage {
            platform_message_id: m.platform_message_id.clone(),
            // The adapter names the channel (events stored before it did have none).
            channel_id: m.channel.clone().unwrap_or_default(),
            author_member_id: Some(m.author.to_string()),
            thread_id: m.thread.clone(),
            text: m.text.clone(),
            posted_at: m.occurred_at.timestamp_millis(),
        })
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

/// One step of processing a community.
#[derive(Debug, Clone)]
pub enum Step {
    /// A row was processed.
    Processed(Processed),
    /// The oldest pending row waits for the platform ids it mentions to be resolved; a
    /// [`RESOLVE_MEMBERS_JOB`] was scheduled. Not a failure: the row is not charged an attempt.
    Deferred { inbox_id: String, unknown: usize },
    /// Nothing is pending.
    Idle,
}

/// Process the oldest pending inbox row of a community, in one transaction. `None` when
/// nothing is pending or the row waits for member resolution (see [`process_step`]). On
/// failure nothing of the attempt stays; the row's attempt count and error are recorded, and
/// after [`MAX_INBOX_ATTEMPTS`] the row is parked.
pub async fn process_next(
    store: &Store,
    community_id: &CommunityId,
    fault: Fault,
) -> Result<Option<Processed>> {
    Ok(match process_step(store, community_id, fault).await? {
        Step::Processed(p) => Some(p),
        Step::Deferred { .. } | Step::Idle => None,
    })
}

/// Like [`process_next`], saying why nothing was processed.
pub async fn process_step(store: &Store, community_id: &CommunityId, fault: Fault) -> Result<Step> {
    let mut tx = store.begin().await?;
    let seq = tx.for_community(community_id).next_event_seq().await?;
    let Some(head) = tx
        .for_community(community_id)
        .oldest_unprocessed_inbox()
        .await?
    else {
        tx.rollback().await?;
        return Ok(Step::Idle);
    };
    let next = match plan(
        &mut tx.for_community(community_id),
        head.clone(),
        &mut Memo::none(),
    )
    .await
    {
        Ok(next) => next,
        Err(e) => {
            tx.rollback().await?;
            return Err(record_failure(store, community_id, &head, e).await);
        }
    };
    let (inbox_id, payload, members, plain) = match next {
        Next::Process {
            inbox_id,
            payload,
            members,
            plain,
        } => (inbox_id, payload, members, plain),
        Next::Defer { inbox_id, unknown } => {
            tx.rollback().await?;
            let mut tx = store.begin().await?;
            let mut job = NewJob::new(
                RESOLVE_MEMBERS_JOB,
                serde_json::json!({ "community_id": community_id }),
            );
            job.community_id = Some(community_id.clone());
            // At most one resolution per row, set of unknown ids and hour: drains that meet
            // the same waiting row do not pile up lookups, and a lookup that failed for good
            // (Slack unreachable for hours) is tried again by the next drain an hour later.
            let hour = store.clock().now().timestamp() / 3600;
            job.dedupe_key = Some(format!(
                "{RESOLVE_MEMBERS_JOB}:{inbox_id}:{}:{}:{hour}",
                unknown.len(),
                unknown.first().map_or("", String::as_str)
            ));
            job.max_attempts = 30;
            tx.enqueue(&job).await?;
            tx.commit().await?;
            tracing::debug!(
                community_id = %community_id,
                inbox_id,
                unknown = unknown.len(),
                "event waits for member resolution"
            );
            return Ok(Step::Deferred {
                inbox_id,
                unknown: unknown.len(),
            });
        }
    };
    let mut memo = Memo::none();
    let done = match process_in(
        &mut tx.for_community(community_id),
        &inbox_id,
        seq,
        (payload, &plain),
        &members,
        fault,
        &mut memo,
    )
    .await
    {
        Ok(processed) => memo
            .flush(&mut tx.for_community(community_id))
            .await
            .map(|()| processed),
        Err(e) => Err(e),
    };
    match done {
        Ok(processed) => {
            tx.commit().await?;
            tracing::debug!(
                community_id = %community_id,
                inbox_id,
                seq,
                entries = processed.entries,
                "event processed"
            );
            Ok(Step::Processed(processed))
        }
        Err(e) => {
            tx.rollback().await?;
            Err(record_failure(store, community_id, &inbox_id, e).await)
        }
    }
}

/// Record a failed attempt on the row (parked after [`MAX_INBOX_ATTEMPTS`]); returns the error.
async fn record_failure(
    store: &Store,
    community_id: &CommunityId,
    inbox_id: &str,
    e: ServiceError,
) -> ServiceError {
    let recorded = async {
        let mut tx = store.begin().await?;
        let attempts = tx
            .for_community(community_id)
            .record_inbox_failure(inbox_id, &e.to_string())
            .await?;
        tx.commit().await?;
        Ok::<_, ServiceError>(attempts)
    }
    .await;
    match recorded {
        Ok(attempts) if attempts >= MAX_INBOX_ATTEMPTS => {
            tracing::error!(community_id = %community_id, inbox_id, attempts, error = %e, "inbox row parked after repeated failures");
            e
        }
        Ok(_) => e,
        Err(record_error) => {
            tracing::error!(community_id = %community_id, inbox_id, error = %e, record_error = %record_error, "inbox failure not recorded");
            e
        }
    }
}

async fn process_in(
    tx: &mut CommunityTx<'_, '_>,
    inbox_id: &str,
    seq: i64,
    (payload, plain): (Payload, &[u8]),
    members: &HashMap<MemberId, MemberId>,
    fault: Fault,
    memo: &mut Memo,
) -> Result<Processed> {
    let community_id = tx.community_id().clone();
    let settings = match memo.settings() {
        Some(s) => s.clone(),
        None => {
            let s = settings(tx, &community_id).await?;
            memo.keep_settings(&s);
            s
        }
    };
    let mut source = None;
    let mut channel = None;
    let outcome = match payload {
        Payload::Event(platform_event) => {
            source = message_ref(&platform_event).map(str::to_string);
            if let Event::MessagePosted(m) = &platform_event {
                channel.clone_from(&m.channel);
            }
            match without_non_members(&platform_event, |p| members.contains_key(p)) {
                Some(e) => {
                    let event = map_members(&e, members);
                    let outcome =
                        run_engine(tx, inbox_id, memo, |s| Ok(apply(&settings, s, &event))).await?;
                    record_message(tx, &event, &outcome).await?;
                    outcome
                }
                // An actor is not a member (another workspace, unknown, deactivated).
                None => Outcome::default(),
            }
        }
        Payload::CloseWeek(c) => {
            run_engine(tx, inbox_id, memo, |s| {
                Ok(close_week(&settings, s, c.close_week, c.at)?)
            })
            .await?
        }
    };
    write_outcome(
        tx,
        inbox_id,
        &outcome,
        source.as_deref(),
        channel.as_deref(),
        fault,
        memo,
    )
    .await?;
    memo.forget(&outcome);
    tx.mark_inbox_processed_scrubbed(inbox_id, seq, plain)
        .await?;
    Ok(Processed {
        inbox_id: inbox_id.to_string(),
        seq,
        entries: outcome.entries.len(),
        notices: outcome.notices.len(),
    })
}

/// Most inbox rows processed in one transaction by [`drain`].
pub const BATCH_ROWS: usize = 500;

/// Rows a batch picks and reads ahead at a time ([`crate::prefetch`]).
const READ_AHEAD_ROWS: usize = 100;

/// A batch stops taking rows after this long, so that it does not hold SQLite's single writer
/// (which the ingest committer needs to acknowledge deliveries) for seconds on a slow machine.
const BATCH_TIME: std::time::Duration = std::time::Duration::from_millis(250);

/// How a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BatchEnd {
    /// The batch is full (rows or time); more may be pending.
    Full,
    /// Nothing is pending any more.
    Idle,
    /// The oldest pending row waits for member resolution (left to [`process_step`], which
    /// schedules the resolution).
    Deferred,
}

/// Process up to `max` pending rows of a community (fewer once [`BATCH_TIME`] has passed; at
/// least one), oldest first, in ONE transaction (one
/// commit, one fsync): each row runs exactly as in [`process_step`] — its own sequence number,
/// plan, engine run against the transaction's current state (which includes the rows processed
/// before it in the batch), outcome and mark — so the order, the outcomes and replay are those
/// of row-by-row processing. Any error rolls the whole batch back (nothing of it stays) and is
/// returned; the caller then processes the same rows one by one, which isolates a poison row.
async fn process_batch(
    store: &Store,
    community_id: &CommunityId,
    max: usize,
    budget: std::time::Duration,
) -> Result<(usize, BatchEnd)> {
    let mut tx = store.begin().await?;
    // The time budget counts from after the first pick and read-ahead: a slow pick
    // (PostgreSQL before its inbox statistics are refreshed, see `drain`) must not leave the
    // batch no time for its rows.
    let mut started = None::<std::time::Instant>;
    let mut n = 0;
    let mut end = BatchEnd::Full;
    // The first sequence number also takes the community's processing lock (see
    // `next_event_seq`), held until the commit; the batch numbers its further rows itself
    // and records the last number used before it commits.
    let first_seq = tx.for_community(community_id).next_event_seq().await?;
    let mut seq = first_seq;
    // The batch's rows in pick order, read with one query (then again when they run out):
    // the same rows, in the same order, as picking the oldest pending row before each one,
    // since nothing else processes this community while the batch holds its lock. A row
    // processed out of turn (a joining row taken before the row that refers to the member)
    // is skipped when its turn comes.
    let mut heads = std::collections::VecDeque::new();
    let mut taken = std::collections::HashSet::new();
    let mut memo = Memo::for_batch();
    while n < max && started.is_none_or(|t| t.elapsed() < budget) {
        while heads.front().is_some_and(|h| taken.contains(h)) {
            heads.pop_front();
        }
        if heads.is_empty() {
            // Read ahead a slice at a time: a slow batch (PostgreSQL under load) must not pay
            // the read-ahead of 500 rows to process a few.
            let want = i64::try_from((max - n).min(READ_AHEAD_ROWS)).unwrap_or(i64::MAX);
            heads = tx
                .for_community(community_id)
                .oldest_unprocessed_inbox_rows(want)
                .await?
                .into();
            let ahead: Vec<String> = heads.iter().cloned().collect();
            crate::prefetch::prefetch(&mut tx.for_community(community_id), &mut memo, &ahead)
                .await?;
            // The rows' time starts after the first pick and read-ahead.
            started.get_or_insert_with(std::time::Instant::now);
        }
        let Some(head) = heads.front().cloned() else {
            end = BatchEnd::Idle;
            break;
        };
        let this_seq = seq;
        let (inbox_id, payload, members, plain) =
            match plan(&mut tx.for_community(community_id), head, &mut memo).await? {
                Next::Process {
                    inbox_id,
                    payload,
                    members,
                    plain,
                } => (inbox_id, payload, members, plain),
                Next::Defer { .. } => {
                    end = BatchEnd::Deferred;
                    break;
                }
            };
        process_in(
            &mut tx.for_community(community_id),
            &inbox_id,
            this_seq,
            (payload, &plain),
            &members,
            Fault::None,
            &mut memo,
        )
        .await?;
        taken.insert(inbox_id);
        n += 1;
        seq += 1;
    }
    if n == 0 {
        // Nothing processed: leave no sequence number taken.
        tx.rollback().await?;
    } else {
        memo.flush(&mut tx.for_community(community_id)).await?;
        if seq - 1 > first_seq {
            tx.for_community(community_id)
                .set_event_seq(seq - 1)
                .await?;
        }
        tx.commit().await?;
        tracing::debug!(community_id = %community_id, rows = n, "inbox batch processed");
    }
    Ok((n, end))
}

/// Process up to `max` pending rows of a community in one transaction, with no time budget,
/// as one batch of [`drain`] does (tests show with it what a batch remembers across its rows;
/// an error rolls the whole batch back). Returns how many were processed.
pub async fn drain_one_batch(
    store: &Store,
    community_id: &CommunityId,
    max: usize,
) -> Result<usize> {
    let (n, _) = process_batch(store, community_id, max, std::time::Duration::MAX).await?;
    Ok(n)
}

/// Process every pending inbox row of a community, oldest first, until none is pending or
/// the oldest waits for member resolution. Returns how many were processed.
///
/// Rows go in batches of up to [`BATCH_ROWS`] per transaction ([`process_batch`]). When a
/// batch fails, its rows are processed one transaction each ([`process_step`]): the rows
/// before a poison row are processed, the poison row's attempt is recorded (and it is parked
/// after repeated failures) and its error returned, exactly as without batches.
pub async fn drain(store: &Store, community_id: &CommunityId) -> Result<usize> {
    let mut n = 0;
    loop {
        match process_batch(store, community_id, BATCH_ROWS, BATCH_TIME).await {
            Ok((done, BatchEnd::Full)) => {
                n += done;
                // A backlog: make sure the planner knows it (PostgreSQL; throttled).
                if let Err(e) = store.refresh_inbox_statistics().await {
                    tracing::warn!(community_id = %community_id, error = %e, "inbox statistics not refreshed");
                }
            }
            Ok((done, BatchEnd::Idle)) => return Ok(n + done),
            Ok((done, BatchEnd::Deferred)) => {
                n += done;
                // Row by row from here: schedules the resolution of the waiting row (or
                // processes a row that became ready meanwhile).
                match process_step(store, community_id, Fault::None).await? {
                    Step::Processed(_) => n += 1,
                    Step::Deferred { .. } | Step::Idle => return Ok(n),
                }
            }
            Err(e) => {
                tracing::warn!(community_id = %community_id, error = %e, "inbox batch failed; processing its rows one by one");
                for _ in 0..BATCH_ROWS {
                    match process_step(store, community_id, Fault::None).await? {
                        Step::Processed(_) => n += 1,
                        Step::Deferred { .. } | Step::Idle => return Ok(n),
                    }
                }
            }
        }
    }
}
