//! Property tests over random event streams with random duplication and reordering.
//!
//! A *scenario* is a canonical stream of distinct platform events (strictly increasing platform
//! timestamps spread over ~2 weeks, so quota days and tax weeks change) plus a *delivery
//! sequence*: every event delivered 1–3 times, the whole sequence shuffled. The claims:
//!
//! (a) **Duplicates change nothing.** Processing the delivery sequence gives exactly the same
//!     state (ledger entries in the same order, balances, records, badges, notices, feed) as
//!     processing its deduplicated version — each event's *first* delivery, in delivery order.
//!     Every redelivery yields an empty outcome, and no outcome ever contains an idempotency key
//!     already in the ledger (the store's unique index is a safety net, never a control path).
//! (a') **Order does not matter where no limit binds.** With quota never binding and tax off,
//!     any delivery order gives every member the same earned points as the canonical order.
//! (b) No limited giver's net quota use on any quota day ever exceeds the daily quota.
//! (c) Balances equal the sum of ledger entries, the quota/weekly counters equal their ledger
//!     sums, and every message's standing units equal that message's ledger sum.
//! (d) Replaying the stored inbox (every delivery, through JSON) into an empty in-memory state
//!     reproduces the live state exactly.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use crate::support::{m, t};
use classcred_engine::*;

const MEMBERS: [&str; 8] = ["s1", "s2", "s3", "s4", "s5", "ta", "admin", "bot"];

#[derive(Debug, Clone)]
enum Op {
    Post {
        author: usize,
        mentions: Vec<usize>,
        fires: u32,
    },
    Edit {
        msg: usize,
        mentions: Vec<usize>,
        fires: u32,
    },
    Delete {
        msg: usize,
    },
    React {
        msg: usize,
        reactor: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let member = 0..MEMBERS.len();
    let mentions = proptest::collection::vec(0..MEMBERS.len(), 0..4);
    prop_oneof![
        4 => (member.clone(), mentions.clone(), 0u32..4)
            .prop_map(|(author, mentions, fires)| Op::Post { author, mentions, fires }),
        2 => (0usize..50, mentions, 0u32..4)
            .prop_map(|(msg, mentions, fires)| Op::Edit { msg, mentions, fires }),
        1 => (0usize..50).prop_map(|msg| Op::Delete { msg }),
        3 => (0usize..50, member).prop_map(|(msg, reactor)| Op::React { msg, reactor }),
    ]
}

fn ids(v: &[usize]) -> Vec<MemberId> {
    v.iter().map(|i| m(MEMBERS[*i])).collect()
}

/// Turns ops into platform events with increasing timestamps; edits, deletes and reactions
/// target messages already posted and not deleted, and reactions toggle on/off.
fn build(ops: &[Op], gaps: &[u32]) -> Vec<Event> {
    let mut at: DateTime<Utc> = t("2025-03-01T06:00:00Z");
    let mut messages: Vec<(String, MemberId, bool)> = Vec::new();
    let mut reacted: HashMap<(usize, usize), bool> = HashMap::new();
    let mut out = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        at += Duration::minutes(i64::from(gaps[i % gaps.len()]));
        let live: Vec<usize> = (0..messages.len()).filter(|k| !messages[*k].2).collect();
        let pick = |n: usize| live.get(n % live.len().max(1)).copied();
        let event = match op {
            Op::Post {
                author,
                mentions,
                fires,
            } => {
                let id = format!("C1:{i}");
                messages.push((id.clone(), m(MEMBERS[*author]), false));
                Event::MessagePosted(MessagePosted {
                    is_question: false,
                    channel: None,
                    platform_message_id: id,
                    author: m(MEMBERS[*author]),
                    mentions: ids(mentions),
                    fire_count: *fires,
                    text: "thanks".into(),
                    thread: None,
                    occurred_at: at,
                })
            }
            Op::Edit {
                msg,
                mentions,
                fires,
            } => {
                let Some(k) = pick(*msg) else { continue };
                Event::MessageEdited(MessageEdited {
                    platform_message_id: messages[k].0.clone(),
                    author: messages[k].1.clone(),
                    mentions: ids(mentions),
                    fire_count: *fires,
                    text: "edited".into(),
                    occurred_at: at,
                })
            }
            Op::Delete { msg } => {
                let Some(k) = pick(*msg) else { continue };
                messages[k].2 = true;
                Event::MessageDeleted(MessageDeleted {
                    platform_message_id: messages[k].0.clone(),
                    occurred_at: at,
                })
            }
            Op::React { msg, reactor } => {
                let Some(k) = pick(*msg) else { continue };
                let on = reacted.entry((k, *reactor)).or_insert(false);
                *on = !*on;
                let r = Reaction {
                    platform_message_id: messages[k].0.clone(),
                    reactor: m(MEMBERS[*reactor]),
                    message_author: messages[k].1.clone(),
                    is_fire: true,
                    occurred_at: at,
                };
                if *on {
                    Event::ReactionAdded(r)
                } else {
                    Event::ReactionRemoved(r)
                }
            }
        };
        out.push(event);
    }
    out
}

/// (canonical events, delivery order as indices into them)
fn scenario() -> impl Strategy<Value = (Vec<Event>, Vec<usize>)> {
    (
        proptest::collection::vec(op(), 1..60),
        proptest::collection::vec(1u32..720, 1..20),
    )
        .prop_flat_map(|(ops, gaps)| {
            let events = build(&ops, &gaps);
            let n = events.len();
            (Just(events), proptest::collection::vec(0usize..3, n))
        })
        .prop_flat_map(|(events, dups)| {
            let deliveries: Vec<usize> = dups
                .iter()
                .enumerate()
                .flat_map(|(i, d)| std::iter::repeat_n(i, 1 + d))
                .collect();
            (Just(events), Just(deliveries).prop_shuffle())
        })
}

fn roster() -> Vec<Event> {
    let at = t("2025-01-01T00:00:00Z");
    let join = |id: &str, role, kind| {
        Event::MemberJoined(MemberJoined {
            member: m(id),
            kind,
            role,
            occurred_at: at,
        })
    };
    let mut v: Vec<Event> = ["s1", "s2", "s3", "s4", "s5"]
        .iter()
        .map(|s| join(s, Role::Student, MemberKind::Human))
        .collect();
    v.push(join("ta", Role::Instructor, MemberKind::Human));
    v.push(join("admin", Role::Admin, MemberKind::Human));
    v.push(join("bot", Role::Student, MemberKind::Bot));
    v
}

fn fresh(settings: &CommunitySettings) -> InMemoryState {
    let mut s = InMemoryState::new();
    for e in roster() {
        s.process(settings, &e);
    }
    s
}

/// Processes deliveries, checking per step that no outcome re-emits an existing key and that
/// the quota is never exceeded (claim b).
fn run(
    settings: &CommunitySettings,
    events: &[Event],
    order: &[usize],
) -> Result<InMemoryState, TestCaseError> {
    let mut state = fresh(settings);
    for &i in order {
        let outcome = apply(settings, &state, &events[i]);
        for e in &outcome.entries {
            prop_assert!(!state.has_entry(&e.key), "re-emitted key {}", e.key);
        }
        state.apply_outcome(&outcome);
        for ((giver, day), used) in state.quota_counters() {
            let limited = state.member(giver).is_some_and(|i| i.role == Role::Student);
            prop_assert!(*used >= 0, "negative quota use for {giver} on {day}");
            if limited {
                prop_assert!(
                    *used <= i64::from(settings.daily_quota),
                    "{giver} used {used} on {day}"
                );
            }
        }
    }
    Ok(state)
}

fn first_deliveries(order: &[usize]) -> Vec<usize> {
    let mut seen = std::collections::HashSet::new();
    order.iter().copied().filter(|i| seen.insert(*i)).collect()
}

/// Claim (c): balances, counters and message records all agree with the ledger.
fn check_ledger_sums(state: &InMemoryState) -> Result<(), TestCaseError> {
    let ledger = state.ledger();
    let mut members: Vec<&MemberId> = ledger.iter().map(|e| &e.member).collect();
    members.sort();
    members.dedup();
    for member in members {
        let from_ledger = Balance::of(member, ledger);
        prop_assert_eq!(state.balance(member), from_ledger);
        let earned: Points = ledger
            .iter()
            .filter(|e| {
                &e.member == member && e.kind != EntryKind::Purchase && e.kind != EntryKind::Refund
            })
            .map(|e| e.amount)
            .sum();
        prop_assert_eq!(from_ledger.earned, earned);
    }
    let mut quota: BTreeMap<(MemberId, QuotaDay), i64> = BTreeMap::new();
    let mut weekly: BTreeMap<(MemberId, MemberId, IsoWeek), i64> = BTreeMap::new();
    let mut per_message: BTreeMap<String, Points> = BTreeMap::new();
    for e in ledger {
        if let (Some(g), Some(d)) = (&e.giver, e.quota_day) {
            *quota.entry((g.clone(), d)).or_default() += i64::from(e.quota_units);
        }
        if let (Some(g), Some(w)) = (&e.giver, e.iso_week) {
            *weekly.entry((g.clone(), e.member.clone(), w)).or_default() += i64::from(e.fire_units);
        }
        if let Some(id) = &e.platform_message_id {
            *per_message.entry(id.to_string()).or_default() += e.amount;
        }
    }
    for ((g, d), used) in &quota {
        prop_assert_eq!(state.quota_used_on(g, *d), *used);
    }
    for ((g, r, w), n) in &weekly {
        prop_assert!(*n >= 0);
        prop_assert_eq!(i64::from(state.weekly_fire(g, r, *w)), *n);
    }
    for (id, total) in per_message {
        let mut standing = Points::ZERO;
        if let Some(rec) = state.message(&id) {
            standing += rec
                .recipients
                .iter()
                .flat_map(|r| &r.standing)
                .map(|u| u.net)
                .sum();
        }
        for rr in state.reactions_on(&id) {
            standing += rr.standing.map_or(Points::ZERO, |u| u.net);
        }
        prop_assert_eq!(standing, total, "message {} standing vs ledger", id);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn duplicates_change_nothing_and_sums_hold((events, order) in scenario()) {
        let settings = CommunitySettings::default();
        let live = run(&settings, &events, &order)?;
        let dedup = run(&settings, &events, &first_deliveries(&order))?;
        // (a): the whole state, ledger first for a readable failure.
        prop_assert_eq!(live.ledger(), dedup.ledger());
        prop_assert_eq!(&live, &dedup);
        // (c)
        check_ledger_sums(&live)?;
        // (d): the inbox holds every delivery as JSON; replay it from scratch.
        let inbox: Vec<String> = order
            .iter()
            .map(|i| serde_json::to_string(&events[*i]))
            .collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut replayed = fresh(&settings);
        for row in &inbox {
            let e: Event = serde_json::from_str(row).map_err(|e| TestCaseError::fail(e.to_string()))?;
            replayed.process(&settings, &e);
        }
        prop_assert_eq!(&replayed, &live);
    }

    #[test]
    fn tight_quota_is_never_exceeded((events, order) in scenario(), quota in 0u32..4, limit in any::<bool>()) {
        let settings = CommunitySettings {
            daily_quota: quota,
            limit_instructors: limit,
            ..CommunitySettings::default()
        };
        let live = run(&settings, &events, &order)?; // (b) checked at every step
        check_ledger_sums(&live)?;
        if limit {
            for ((giver, day), used) in live.quota_counters() {
                prop_assert!(*used <= i64::from(quota), "{giver} used {used} on {day}");
            }
        }
    }

    #[test]
    fn order_does_not_matter_when_no_limit_binds((events, order) in scenario()) {
        let mut settings = CommunitySettings { daily_quota: 1000, ..CommunitySettings::default() };
        settings.gift_tax.enabled = false;
        let canonical: Vec<usize> = (0..events.len()).collect();
        let a = run(&settings, &events, &canonical)?;
        let b = run(&settings, &events, &order)?;
        for who in MEMBERS {
            prop_assert_eq!(a.balance(&m(who)), b.balance(&m(who)), "{}", who);
        }
        check_ledger_sums(&b)?;
    }
}
