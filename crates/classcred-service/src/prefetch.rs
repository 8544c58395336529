//! Read for a whole batch what its rows will ask, in a few queries (issue 13): the rows'
//! payloads, which platform ids are members (and whether their joining rows are done), the
//! members' role, kind, level, points, badges and award pairs, and the messages the rows are
//! about. The answers go into the batch's [`Memo`], which forgets each one that a row's
//! outcome changes, so a row still sees exactly what it would see if processed alone. A
//! question the prefetch did not answer is read on its own, as before.

use std::collections::{HashMap, HashSet};

use classcred_engine::time::{IsoWeek, QuotaDay};
use classcred_engine::{MemberId, MemberInfo};
use classcred_store::{CommunityTx, MemberRowId};

use crate::memo::Memo;
use crate::process::{join_event_id, member_refs, message_ref};
use crate::state::{self, Answer, Question};
use crate::{Payload, Result};

/// Read ahead for these pending rows (the batch's next heads, in pick order).
pub(crate) async fn prefetch(
    tx: &mut CommunityTx<'_, '_>,
    memo: &mut Memo,
    heads: &[String],
) -> Result<()> {
    if !memo.enabled() || heads.is_empty() {
        return Ok(());
    }
    let community_id = tx.community_id().clone();
    let events = tx.inbox_events(heads).await?;
    let mut platform_ids: Vec<String> = Vec::new();
    let mut seen_pids: HashSet<String> = HashSet::new();
    let mut message_ids: Vec<String> = Vec::new();
    let mut platforms: HashSet<String> = HashSet::new();
    let mut times: Vec<chrono::DateTime<chrono::Utc>> = Vec::new();
    for ev in &events {
        // A payload that does not parse fails its own row (plan reads it again): nothing to
        // read ahead for it.
        if let Ok(Payload::Event(e)) = serde_json::from_slice::<Payload>(&ev.payload) {
            platforms.insert(ev.platform.clone());
            times.push(e.occurred_at());
            for pid in member_refs(&e) {
                if seen_pids.insert(pid.to_string()) {
                    platform_ids.push(pid.to_string());
                }
            }
            if let Some(m) = message_ref(&e) {
                message_ids.push(m.to_string());
            }
        }
    }
    for ev in events {
        memo.keep_event(ev);
    }
    // Members, by platform id; then whether their joining rows are still pending.
    let found = tx.member_ids_for_platform_ids(&platform_ids).await?;
    let mut row_of: HashMap<String, MemberRowId> = HashMap::new();
    for (pid, id) in found {
        memo.keep_member(&pid, id.as_str());
        row_of.insert(pid, id);
    }
    let join_ids: Vec<String> = row_of
        .keys()
        .map(|pid| join_event_id(&community_id, pid))
        .collect();
    let mut pending: HashSet<String> = HashSet::new();
    for platform in &platforms {
        for (event_id, _) in tx.pending_inbox_by_event_ids(platform, &join_ids).await? {
            pending.insert(event_id);
        }
    }
    // With several platforms in one community a joining row could be pending on another
    // platform than the one checked; then nothing is remembered (plan asks per row).
    if platforms.len() == 1 {
        for pid in row_of.keys() {
            if !pending.contains(&join_event_id(&community_id, pid)) {
                memo.keep_joined(pid);
            }
        }
    }
    // What the engine asks about those members.
    let ids: Vec<MemberRowId> = row_of.values().cloned().collect();
    let engine_id = |id: &MemberRowId| MemberId::new(id.as_str());
    for f in tx.member_facts(&ids).await? {
        let m = engine_id(&f.id);
        memo.keep_answer(
            &Question::Member(m.clone()),
            &Answer::Member(Some(MemberInfo {
                role: state::engine_role(f.role),
                kind: state::engine_kind(f.kind),
            })),
        );
        memo.keep_answer(
            &Question::Level(m.clone()),
            &Answer::Count(u32::try_from(f.level.max(0)).unwrap_or(u32::MAX)),
        );
        if let Some(ledger) = memo.ledger_mut() {
            ledger.cover_points(m, f.earned_milli, f.spendable_milli);
        }
    }
    let mut held: HashMap<MemberId, HashSet<(String, String)>> = ids
        .iter()
        .map(|id| (engine_id(id), HashSet::new()))
        .collect();
    for (m, badge, instance) in tx.badges_of(&ids).await? {
        held.entry(engine_id(&m))
            .or_default()
            .insert((badge, instance));
    }
    for (m, set) in held {
        memo.keep_badges(m, set);
    }
    // Award pairs of those members, and what they gave on the rows' days and weeks.
    let all_pairs = tx.award_pairs_of(&ids).await?;
    let settings = match memo.settings() {
        Some(s) => s.clone(),
        None => {
            let s = crate::settings(tx, &community_id).await?;
            memo.keep_settings(&s);
            s
        }
    };
    let tz = &settings.timezone;
    let mut days: Vec<QuotaDay> = Vec::new();
    let mut weeks: Vec<IsoWeek> = Vec::new();
    for at in &times {
        let day = QuotaDay::of(*at, tz);
        // A five-day streak looks four days either side.
        for k in -4..=4 {
            days.push(day.plus_days(k));
        }
        weeks.push(IsoWeek::of(*at, tz));
    }
    days.sort();
    days.dedup();
    weeks.sort();
    weeks.dedup();
    let day_of: HashMap<String, QuotaDay> = days.iter().map(|d| (d.to_string(), *d)).collect();
    let week_of: HashMap<String, IsoWeek> = weeks.iter().map(|w| (w.to_string(), *w)).collect();
    let day_keys: Vec<String> = day_of.keys().cloned().collect();
    let week_keys: Vec<String> = week_of.keys().cloned().collect();
    let by_day = tx
        .giving_by_day(&ids, &day_keys)
        .await?
        .into_iter()
        .filter_map(|(g, d, units, gave)| Some((engine_id(&g), *day_of.get(&d)?, units, gave)))
        .collect();
    let fire = tx
        .fire_by_week(&ids, &week_keys)
        .await?
        .into_iter()
        .filter_map(|(g, r, w, units)| {
            Some((engine_id(&g), engine_id(&r), *week_of.get(&w)?, units))
        })
        .collect();
    if let Some(ledger) = memo.ledger_mut() {
        let members: Vec<MemberId> = ids.iter().map(engine_id).collect();
        ledger.cover_pairs(
            &members,
            all_pairs
                .iter()
                .map(|(g, r)| (engine_id(g), engine_id(r)))
                .collect(),
        );
        ledger.cover_giving(&members, &days, &weeks, by_day, fire);
    }
    // The messages the rows are about (a new post has no record yet).
    message_ids.sort();
    message_ids.dedup();
    let mut records: HashMap<String, String> = tx
        .engine_messages(&message_ids)
        .await?
        .into_iter()
        .collect();
    for id in message_ids {
        let record = match records.remove(&id) {
            Some(json) => Some(serde_json::from_str(&json)?),
            None => None,
        };
        memo.keep_answer(&Question::Message(id), &Answer::Message(record));
    }
    Ok(())
}
