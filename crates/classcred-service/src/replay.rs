//! `ledger replay`: rebuild a community's state from its inbox, in memory, and compare.
//!
//! Replay starts from the settings the community was created with and applies each processed
//! `settings_changed` event in order, so a mid-course change (a higher quota from week 3 on)
//! replays exactly as it was processed.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use classcred_engine::{close_week, CommunitySettings, Event, InMemoryState, MemberId};
use classcred_store::recognition::{
    expected_pairs, expected_points, settings_timezone, PointTotals,
};
use classcred_store::{CommunityId, LedgerEntry, MemberRowId, Store};
use serde::Serialize;

use crate::{map_members, without_non_members, Payload, Result, ServiceError};

/// What a replay found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReplayReport {
    pub events: usize,
    pub ledger_entries: usize,
    /// Human-readable differences (ids only); empty when stored state is reproduced exactly.
    pub differences: Vec<String>,
}

impl ReplayReport {
    pub fn matches(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Re-run every processed event of a community in processing order and compare ledger
/// entries, balances, badges and levels with the stored ones. `progress(done, total)` is called
/// after each event.
pub async fn replay(
    store: &Store,
    community_id: &CommunityId,
    mut progress: impl FnMut(usize, usize),
) -> Result<ReplayReport> {
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    let community = scoped.community(community_id).await?;
    let mut s = CommunitySettings::from_json(&community.initial_settings_json).map_err(|e| {
        ServiceError::Settings {
            community_id: community_id.to_string(),
            problem: format!("initial settings: {e}"),
        }
    })?;
    let events = scoped.processed_events().await?;
    let ids: HashMap<MemberId, MemberId> = scoped
        .member_ids_by_platform()
        .await?
        .into_iter()
        .map(|(p, m)| (MemberId::new(p), MemberId::new(m)))
        .collect();
    let stored_ledger = scoped.ledger().await?;
    let stored_balances = scoped.balances().await?;
    let stored_badges = scoped.badges().await?;
    let stored_points = scoped.member_points_rows().await?;
    let (points_zone, stored_periods) = scoped.period_points_rows().await?;
    let stored_pairs = scoped.award_pair_rows().await?;
    let stored_store = crate::store::stored_for_replay(&mut scoped).await?;
    let stored_polls = crate::polls::stored_for_replay(&mut scoped).await?;
    let stored_rules = crate::rules::stored_for_replay(&mut scoped).await?;
    let stored_firsts = crate::firsts::stored(&mut scoped).await?;
    tx.commit().await?;

    let payloads = events
        .iter()
        .map(|e| serde_json::from_slice::<Payload>(&e.payload))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    // Who is a member at each point of the processing order: a member with a joining event is
    // one from that event on (processing takes a pending joining row before any event that
    // refers to the member); a member without one (created before joins were recorded) always
    // was. Ids with no member row never were (looked up and found not to be members).
    let joined: HashSet<&MemberId> = payloads
        .iter()
        .filter_map(|p| match p {
            Payload::Event(Event::MemberJoined(j)) => Some(&j.member),
            _ => None,
        })
        .collect();
    let mut present: HashSet<MemberId> = ids
        .keys()
        .filter(|p| !joined.contains(p))
        .cloned()
        .collect();

    let mut mem = InMemoryState::new();
    let total = events.len();
    for (i, payload) in payloads.iter().enumerate() {
        match payload {
            Payload::Event(event) => {
                if let Event::MemberJoined(j) = event {
                    present.insert(j.member.clone());
                }
                if let Some(e) = without_non_members(event, |p| present.contains(p)) {
                    if let Some(changed) = mem.process(&s, &map_members(&e, &ids)).settings {
                        s = changed;
                    }
                }
            }
            Payload::CloseWeek(c) => {
                let outcome = close_week(&s, &mem, c.close_week, c.at)?;
                mem.apply_outcome(&outcome);
            }
        }
        progress(i + 1, total);
    }

    let mut report = ReplayReport {
        events: total,
        ledger_entries: stored_ledger.len(),
        differences: Vec::new(),
    };
    let diffs = &mut report.differences;

    match CommunitySettings::from_json(&community.settings_json) {
        Ok(stored) if stored == s => {}
        Ok(_) => diffs.push(
            "community settings: stored settings differ from the replayed settings changes"
                .to_string(),
        ),
        Err(e) => diffs.push(format!(
            "community settings: stored settings are invalid ({e})"
        )),
    }

    let stored: BTreeMap<&str, (&str, &str, i64)> = stored_ledger
        .iter()
        .map(|e| &e.entry)
        .map(|e| {
            (
                e.idempotency_key.as_str(),
                (e.member_id.as_str(), e.kind.as_str(), e.amount_milli),
            )
        })
        .collect();
    let replayed: BTreeMap<&str, (&str, &str, i64)> = mem
        .ledger()
        .iter()
        .map(|e| {
            (
                e.key.as_str(),
                (e.member.as_str(), e.kind.as_str(), e.amount.thousandths()),
            )
        })
        .collect();
    for (k, v) in &stored {
        match replayed.get(k) {
            None => diffs.push(format!(
                "ledger entry {k} is stored but replay does not produce it"
            )),
            Some(r) if r != v => {
                diffs.push(format!("ledger entry {k}: stored {v:?}, replayed {r:?}"))
            }
            Some(_) => {}
        }
    }
    for k in replayed.keys().filter(|k| !stored.contains_key(*k)) {
        diffs.push(format!(
            "ledger entry {k} is produced by replay but not stored"
        ));
    }

    for b in &stored_balances {
        let m = MemberId::new(b.member_id.clone());
        let r = mem.balance(&m);
        if r.earned.thousandths() != b.earned_milli
            || r.spendable.thousandths() != b.spendable_milli
        {
            diffs.push(format!(
                "member {}: stored earned/spendable {}/{} thousandths, replayed {}/{}",
                b.member_id,
                b.earned_milli,
                b.spendable_milli,
                r.earned.thousandths(),
                r.spendable.thousandths()
            ));
        }
        let replayed_level = i64::from(classcred_engine::StateView::level(&mem, &m));
        if replayed_level != b.level {
            diffs.push(format!(
                "member {}: stored level {}, replayed {replayed_level}",
                b.member_id, b.level
            ));
        }
    }

    check_aggregates(
        diffs,
        &community.settings_json,
        &stored_ledger,
        &stored_points,
        points_zone.as_deref(),
        &stored_periods,
    );
    check_award_pairs(diffs, &stored_ledger, &stored_pairs);

    let stored_b: BTreeSet<(String, String, String)> = stored_badges
        .into_iter()
        .map(|b| (b.member_id.into(), b.badge_id, b.instance))
        .collect();
    let replayed_b: BTreeSet<(String, String, String)> = mem
        .badges()
        .map(|(m, b, i)| (m.to_string(), b.as_str().to_string(), i.to_string()))
        .collect();
    for b in stored_b.symmetric_difference(&replayed_b) {
        let side = if stored_b.contains(b) {
            "stored only"
        } else {
            "replayed only"
        };
        diffs.push(format!("badge {} of member {} ({}): {side}", b.1, b.0, b.2));
    }
    crate::store::compare_replay(diffs, &stored_store, &mem)?;
    crate::polls::compare_replay(diffs, &stored_polls, &mem)?;
    crate::rules::compare_replay(diffs, &stored_rules, &mem);
    crate::firsts::compare_replay(diffs, &stored_firsts, &mem);
    Ok(report)
}

/// The maintained aggregates (`member_points`, `member_period_points`) against sums over the
/// stored ledger: a row that disagrees is reported like a ledger difference.
fn check_aggregates(
    diffs: &mut Vec<String>,
    settings_json: &str,
    ledger: &[LedgerEntry],
    points: &[(MemberRowId, PointTotals)],
    zone: Option<&str>,
    periods: &[(String, MemberRowId, i64)],
) {
    let tz = settings_timezone(settings_json);
    let (want_totals, want_periods) = expected_points(
        ledger.iter().map(|e| {
            (
                e.entry.member_id.as_str(),
                e.entry.kind.as_str(),
                e.entry.amount_milli,
                e.entry.occurred_at,
            )
        }),
        tz,
    );
    let stored: BTreeMap<String, PointTotals> = points
        .iter()
        .filter(|(_, p)| *p != PointTotals::default())
        .map(|(m, p)| (m.to_string(), *p))
        .collect();
    let members: BTreeSet<&String> = stored.keys().chain(want_totals.keys()).collect();
    for m in members {
        let s = stored.get(m).copied().unwrap_or_default();
        let w = want_totals.get(m).copied().unwrap_or_default();
        if s != w {
            diffs.push(format!(
                "aggregate of member {m}: stored earned/spendable {}/{} thousandths, the ledger sums to {}/{}",
                s.earned_milli, s.spendable_milli, w.earned_milli, w.spendable_milli
            ));
        }
    }
    match zone {
        // Not built yet (a database from before the aggregates): leaderboards read the ledger.
        None if periods.is_empty() => return,
        None => {
            diffs.push(
                "aggregate period points are stored without the timezone they are keyed in"
                    .to_string(),
            );
            return;
        }
        Some(z) if z != tz.name() => {
            diffs.push(format!(
                "aggregate period points are keyed in timezone {z}, the settings say {}",
                tz.name()
            ));
            return;
        }
        Some(_) => {}
    }
    let stored: BTreeMap<(String, String), i64> = periods
        .iter()
        .filter(|(_, _, v)| *v != 0)
        .map(|(p, m, v)| ((p.clone(), m.to_string()), *v))
        .collect();
    let keys: BTreeSet<&(String, String)> = stored.keys().chain(want_periods.keys()).collect();
    for k in keys {
        let s = stored.get(k).copied().unwrap_or(0);
        let w = want_periods.get(k).copied().unwrap_or(0);
        if s != w {
            diffs.push(format!(
                "aggregate {} of member {}: stored {s} thousandths earned, the ledger sums to {w}",
                k.0, k.1
            ));
        }
    }
}

/// The maintained award pairs (`award_pair`) against counts over the stored ledger: a pair
/// row that disagrees (or is missing, or has no awards behind it) is reported.
fn check_award_pairs(
    diffs: &mut Vec<String>,
    ledger: &[LedgerEntry],
    pairs: &[(MemberRowId, MemberRowId, i64)],
) {
    let want = expected_pairs(ledger.iter().map(|e| {
        (
            e.entry.member_id.as_str(),
            e.entry.kind.as_str(),
            e.entry.giver_member_id.as_deref(),
            e.entry.giver_role.as_deref(),
        )
    }));
    let stored: BTreeMap<(String, String), i64> = pairs
        .iter()
        .map(|(g, r, n)| ((g.to_string(), r.to_string()), *n))
        .collect();
    let keys: BTreeSet<&(String, String)> = stored.keys().chain(want.keys()).collect();
    for k in keys {
        let s = stored.get(k).copied().unwrap_or(0);
        let w = want.get(k).copied().unwrap_or(0);
        if s != w {
            diffs.push(format!(
                "aggregate award pair from member {} to member {}: stored {s} student awards, the ledger counts {w}",
                k.0, k.1
            ));
        }
    }
}
