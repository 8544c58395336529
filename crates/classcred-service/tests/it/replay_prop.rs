//! Property: for random event streams, delivered with duplicates (same or new delivery ids) and
//! in shuffled order, processing through the database never overspends a quota, and
//! `replay` reproduces the stored ledger, balances, badges and levels.

use crate::common;

use chrono::Duration;
use classcred_engine::{Event, MemberId, MessageDeleted, MessageEdited};
use classcred_service::replay;
use classcred_store::testing::TestDb;
use classcred_store::Role;
use common::*;
use proptest::prelude::*;
use serde_json::json;

const USERS: [&str; 5] = ["UA", "UB", "UC", "UD", "UT"];

#[derive(Debug, Clone)]
enum Op {
    Post {
        msg: u8,
        author: usize,
        to: Vec<usize>,
        fires: u32,
        minute: i64,
    },
    Edit {
        msg: u8,
        author: usize,
        to: Vec<usize>,
        fires: u32,
        minute: i64,
    },
    Delete {
        msg: u8,
        minute: i64,
    },
    React {
        msg: u8,
        reactor: usize,
        author: usize,
        add: bool,
        minute: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..USERS.len();
    let to = prop::collection::vec(0..USERS.len(), 1..3);
    let minute = 0..(60 * 24 * 9i64);
    prop_oneof![
        4 => (0..12u8, who.clone(), to.clone(), 1..4u32, minute.clone())
            .prop_map(|(msg, author, to, fires, minute)| Op::Post { msg, author, to, fires, minute }),
        1 => (0..12u8, who.clone(), to, 0..4u32, minute.clone())
            .prop_map(|(msg, author, to, fires, minute)| Op::Edit { msg, author, to, fires, minute }),
        1 => (0..12u8, minute.clone()).prop_map(|(msg, minute)| Op::Delete { msg, minute }),
        2 => (0..12u8, who.clone(), who, any::<bool>(), minute)
            .prop_map(|(msg, reactor, author, add, minute)| Op::React { msg, reactor, author, add, minute }),
    ]
}

fn to_event(op: &Op) -> Event {
    let base = at(2026, 3, 2, 0, 0, 0);
    let ids = |v: &[usize]| {
        v.iter()
            .map(|i| MemberId::new(USERS[*i]))
            .collect::<Vec<_>>()
    };
    match op {
        Op::Post {
            msg,
            author,
            to,
            fires,
            minute,
        } => {
            let mut e = post(
                &format!("m{msg}"),
                USERS[*author],
                &[],
                *fires,
                base + Duration::minutes(*minute),
            );
            if let Event::MessagePosted(p) = &mut e {
                p.mentions = ids(to);
            }
            e
        }
        Op::Edit {
            msg,
            author,
            to,
            fires,
            minute,
        } => Event::MessageEdited(MessageEdited {
            platform_message_id: format!("C1:m{msg}"),
            author: MemberId::new(USERS[*author]),
            mentions: ids(to),
            fire_count: *fires,
            text: "edited".into(),
            occurred_at: base + Duration::minutes(*minute),
        }),
        Op::Delete { msg, minute } => Event::MessageDeleted(MessageDeleted {
            platform_message_id: format!("C1:m{msg}"),
            occurred_at: base + Duration::minutes(*minute),
        }),
        Op::React {
            msg,
            reactor,
            author,
            add,
            minute,
        } => {
            let r = reaction(
                &format!("m{msg}"),
                USERS[*reactor],
                USERS[*author],
                base + Duration::minutes(*minute),
            );
            if *add {
                Event::ReactionAdded(r)
            } else {
                Event::ReactionRemoved(r)
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn database_processing_replays_and_respects_quota(
        ops in prop::collection::vec(op(), 1..40),
        dup_mask in prop::collection::vec(0..4u8, 40),
        seed in any::<u64>(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let db = TestDb::sqlite().await;
            let w = world(&db, json!({ "timezone": "Europe/Berlin", "daily_quota": 3, "limit_instructors": false })).await;
            for u in USERS {
                join(&w, u, if u == "UT" { Role::Instructor } else { Role::Student }).await;
            }
            // Deliveries: each op once, some again with the same id (dropped by the inbox) or a
            // new id (stopped by idempotency keys), in a shuffled order.
            let mut deliveries: Vec<(String, Event)> = Vec::new();
            for (i, op) in ops.iter().enumerate() {
                let e = to_event(op);
                deliveries.push((format!("ev{i}"), e.clone()));
                match dup_mask[i % dup_mask.len()] {
                    1 => deliveries.push((format!("ev{i}"), e)),
                    2 => deliveries.push((format!("ev{i}-again"), e)),
                    _ => {}
                }
            }
            let mut s = seed;
            for i in (1..deliveries.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                deliveries.swap(i, (s >> 33) as usize % (i + 1));
            }
            for (id, e) in &deliveries {
                deliver(&w, id, e).await;
            }
            settle(&w).await;

            let report = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
            prop_assert!(report.matches(), "{:?}", report.differences);

            // No student ever used more than the quota on one day.
            let over: Vec<(String, String, i64)> = {
                use sqlx::Row;
                sqlx::query(
                    "SELECT l.giver_member_id AS g, l.quota_day AS d, CAST(SUM(l.quota_units) AS BIGINT) AS used \
                     FROM ledger_entry l JOIN member m ON m.id = l.giver_member_id \
                     WHERE m.role = 'student' AND l.quota_day IS NOT NULL \
                     GROUP BY l.giver_member_id, l.quota_day HAVING SUM(l.quota_units) > 3",
                )
                .fetch_all(w.store.pool())
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get("g"), r.get("d"), r.get("used")))
                .collect()
            };
            prop_assert!(over.is_empty(), "quota overspent: {over:?}");
            w.store.close().await;
            Ok(())
        })?;
    }
}
