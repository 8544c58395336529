//! The maintained award pairs (migration 0022): the engine's `has_recognised`,
//! `distinct_givers` and `distinct_recipients` read `award_pair`, which every ledger insert
//! updates in the same transaction; `replay` reports a pair row that disagrees with the ledger.

use crate::common;

use std::collections::BTreeMap;

use chrono::Duration;
use classcred_engine::{Event, MessageDeleted, MessageEdited};
use classcred_service::replay;
use classcred_store::recognition::expected_pairs;
use classcred_store::testing::TestDb;
use classcred_store::{MemberRowId, Role};
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

const USERS: [&str; 6] = ["UA", "UB", "UC", "UD", "UE", "UT"];

/// A seeded stream of gives, fire reactions (added and removed), edits and deletions (the
/// last three reverse awards) over two weeks.
fn activity(seed: u64, n: usize) -> Vec<Event> {
    let mut rng = StdRng::seed_from_u64(seed);
    let base = at(2026, 3, 2, 8, 0, 0);
    let mut out = Vec::with_capacity(n);
    for k in 0..n {
        let when = base + Duration::minutes(k as i64 * 37);
        let msg = rng.gen_range(0..20);
        let author = USERS[rng.gen_range(0..USERS.len())];
        let to: Vec<&str> = (0..rng.gen_range(1..3))
            .map(|_| USERS[rng.gen_range(0..USERS.len())])
            .collect();
        let e = match rng.gen_range(0..10) {
            0..=4 => post(&format!("m{msg}"), author, &to, rng.gen_range(1..4), when),
            5 => Event::MessageEdited(MessageEdited {
                platform_message_id: format!("C1:m{msg}"),
                author: classcred_engine::MemberId::new(author),
                mentions: to
                    .iter()
                    .map(|u| classcred_engine::MemberId::new(*u))
                    .collect(),
                fire_count: rng.gen_range(0..3),
                text: "edited".into(),
                occurred_at: when,
            }),
            6 => Event::MessageDeleted(MessageDeleted {
                platform_message_id: format!("C1:m{msg}"),
                occurred_at: when,
            }),
            r => {
                let reactor = USERS[rng.gen_range(0..USERS.len())];
                let x = reaction(&format!("m{msg}"), reactor, author, when);
                if r == 9 {
                    Event::ReactionRemoved(x)
                } else {
                    Event::ReactionAdded(x)
                }
            }
        };
        out.push(e);
    }
    out
}

/// The three questions answered straight from the ledger (the queries the pairs replace).
async fn from_ledger(w: &World, g: &MemberRowId, r: &MemberRowId) -> (bool, i64, i64) {
    let c = w.community.as_str();
    let one = |sql: &'static str, a: String| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .bind(c)
            .bind(a)
            .fetch_one(w.store.pool())
            .await
            .unwrap()
    };
    let recognised: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM ledger_entry WHERE community_id = $1 AND giver_member_id = $2 \
         AND member_id = $3 AND kind = 'award' AND giver_role = 'student'",
    )
    .bind(c)
    .bind(g.as_str())
    .bind(r.as_str())
    .fetch_one(w.store.pool())
    .await
    .unwrap();
    let givers = one(
        "SELECT COUNT(DISTINCT giver_member_id) FROM ledger_entry WHERE community_id = $1 \
         AND member_id = $2 AND kind = 'award' AND giver_role = 'student'",
        r.to_string(),
    )
    .await;
    let recipients = one(
        "SELECT COUNT(DISTINCT member_id) FROM ledger_entry WHERE community_id = $1 \
         AND giver_member_id = $2 AND kind = 'award' AND giver_role = 'student'",
        g.to_string(),
    )
    .await;
    (recognised > 0, givers, recipients)
}

#[tokio::test]
async fn award_pairs_equal_the_ledger_after_random_activity_and_a_tampered_row_is_reported() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(
            &db,
            json!({ "timezone": "Europe/Berlin", "daily_quota": 4, "limit_instructors": false }),
        )
        .await;
        let mut ids = Vec::new();
        for u in USERS {
            let role = if u == "UT" {
                Role::Instructor
            } else {
                Role::Student
            };
            ids.push(join(&w, u, role).await);
        }
        for (i, e) in activity(13, 160).iter().enumerate() {
            deliver(&w, &format!("ev{i}"), e).await;
        }
        settle(&w).await;
        w.clock.set(at(2026, 3, 20, 12, 0, 0));

        let mut tx = w.store.begin().await.unwrap();
        let mut s = tx.for_community(&w.community);
        let ledger = s.ledger().await.unwrap();
        let pairs = s.award_pair_rows().await.unwrap();
        tx.commit().await.unwrap();
        // The activity gave student awards, instructor awards and reversals.
        let kinds: std::collections::BTreeSet<&str> =
            ledger.iter().map(|e| e.entry.kind.as_str()).collect();
        assert!(kinds.contains("award"), "{b}: {kinds:?}");
        assert!(
            ledger.iter().any(|e| e.entry.amount_milli < 0),
            "{b}: no reversal in {kinds:?}"
        );
        assert!(
            ledger.iter().any(
                |e| e.entry.kind == "award" && e.entry.giver_role.as_deref() != Some("student")
            ),
            "{b}: no award by the instructor"
        );

        // Row for row what the ledger counts.
        let want = expected_pairs(ledger.iter().map(|e| {
            (
                e.entry.member_id.as_str(),
                e.entry.kind.as_str(),
                e.entry.giver_member_id.as_deref(),
                e.entry.giver_role.as_deref(),
            )
        }));
        let got: BTreeMap<(String, String), i64> = pairs
            .iter()
            .map(|(g, r, n)| ((g.to_string(), r.to_string()), *n))
            .collect();
        assert!(got.len() >= 8, "{b}: {got:?}");
        assert_eq!(got, want, "{b}");

        // The store's answers (from the pairs) equal the ledger's, for every pair of members.
        for g in &ids {
            for r in &ids {
                let mut tx = w.store.begin().await.unwrap();
                let mut s = tx.for_community(&w.community);
                let answers = (
                    s.has_recognised(g, r).await.unwrap(),
                    s.distinct_givers(r).await.unwrap(),
                    s.distinct_recipients(g).await.unwrap(),
                );
                tx.commit().await.unwrap();
                assert_eq!(answers, from_ledger(&w, g, r).await, "{b}: {g} → {r}");
            }
        }
        let report = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
        assert!(report.matches(), "{b}: {:?}", report.differences);

        // A tampered count is reported, naming both members.
        let ((g, r), _) = got.iter().next().unwrap();
        sqlx::query(
            "UPDATE award_pair SET awards = awards + 1 WHERE giver_member_id = $1 AND recipient_member_id = $2",
        )
        .bind(g)
        .bind(r)
        .execute(w.store.pool())
        .await
        .unwrap();
        let report = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
        assert!(
            report.differences.iter().any(|d| d.contains("award pair")
                && d.contains(g.as_str())
                && d.contains(r.as_str())),
            "{b}: {:?}",
            report.differences
        );
        // A missing row is reported too.
        sqlx::query(
            "DELETE FROM award_pair WHERE giver_member_id = $1 AND recipient_member_id = $2",
        )
        .bind(g)
        .bind(r)
        .execute(w.store.pool())
        .await
        .unwrap();
        let report = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
        assert!(
            report.differences.iter().any(|d| d.contains("award pair")
                && d.contains(g.as_str())
                && d.contains("stored 0")),
            "{b}: {:?}",
            report.differences
        );
        w.store.close().await;
    }
}
