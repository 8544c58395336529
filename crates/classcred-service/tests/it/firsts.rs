//! Firsts and announcement responses on both backends: the posted announcement recorded in the
//! same transaction as its state, replies in its thread and answers to a question taking
//! places, the first students earning the bonus once (redeliveries add nothing), the stored
//! rows, the feed, and replay reproducing the ledger and the first responses.

use chrono::Duration;
use classcred_engine::{Event, MemberId, MessagePosted};
use classcred_service::firsts::record_announcement_post;
use classcred_service::replay;
use classcred_store::testing::TestDb;
use classcred_store::Role;

use crate::common::*;

fn reply(id: &str, root: &str, author: &str, when: chrono::DateTime<chrono::Utc>) -> Event {
    Event::MessagePosted(MessagePosted {
        platform_message_id: format!("C1:{id}"),
        author: MemberId::new(author),
        mentions: Vec::new(),
        fire_count: 0,
        text: "here".into(),
        thread: Some(format!("C1:{root}")),
        channel: Some("C1".into()),
        occurred_at: when,
        is_question: false,
    })
}

#[tokio::test]
async fn the_first_students_to_respond_earn_the_bonus_on_both_backends() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(
            &db,
            serde_json::json!({"firsts": {"enabled": true, "count": 2, "points": "2.5"}}),
        )
        .await;
        join(&w, "UT", Role::Instructor).await;
        for s in ["U1", "U2", "U3"] {
            join(&w, s, Role::Student).await;
        }
        let t = at(2026, 3, 2, 9, 0, 0);

        // The posting job's record (twice: a retried job adds nothing).
        for _ in 0..2 {
            let mut tx = w.store.begin().await.unwrap();
            record_announcement_post(&mut tx, &w.community, "ann-1", "C1:100", "C1", t)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        settle(&w).await;

        deliver(
            &w,
            "R1",
            &reply("101", "100", "UT", t + Duration::minutes(1)),
        )
        .await;
        deliver(
            &w,
            "R2",
            &reply("102", "100", "U2", t + Duration::minutes(2)),
        )
        .await;
        deliver(
            &w,
            "R3",
            &reply("103", "100", "U2", t + Duration::minutes(3)),
        )
        .await;
        deliver(
            &w,
            "R4",
            &reply("104", "100", "U1", t + Duration::minutes(4)),
        )
        .await;
        deliver(
            &w,
            "R5",
            &reply("105", "100", "U3", t + Duration::minutes(5)),
        )
        .await;
        // A redelivery under another delivery id: nothing more.
        deliver(
            &w,
            "R4b",
            &reply("104", "100", "U1", t + Duration::minutes(4)),
        )
        .await;
        settle(&w).await;

        assert_eq!(earned(&w, "U2").await, 2500, "{b}");
        assert_eq!(earned(&w, "U1").await, 2500, "{b}");
        assert_eq!(earned(&w, "U3").await, 0, "{b}: third student");
        assert_eq!(earned(&w, "UT").await, 0, "{b}: staff");

        let mut tx = w.store.begin().await.unwrap();
        let mut scoped = tx.for_community(&w.community);
        assert_eq!(
            scoped.announcement_of_message("C1:100").await.unwrap(),
            Some("ann-1".to_string()),
            "{b}"
        );
        let rows = scoped
            .first_responses_to("announcement", "ann-1")
            .await
            .unwrap();
        let places: Vec<(Option<i64>, i64)> =
            rows.iter().map(|r| (r.place, r.bonus_milli)).collect();
        assert_eq!(
            places,
            vec![(Some(1), 2500), (Some(2), 2500), (Some(3), 0), (None, 0)],
            "{b}"
        );
        let ledger = scoped.ledger().await.unwrap();
        let feed = scoped.feed(None, 100).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            ledger
                .iter()
                .filter(|e| e.entry.kind == "first_bonus")
                .count(),
            2,
            "{b}"
        );
        assert!(
            feed.iter().any(|f| f.kind == "announcement_posted"),
            "{b}: community timeline"
        );
        assert!(feed.iter().any(|f| f.kind == "first_bonus"), "{b}");

        let report = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
        assert!(report.matches(), "{b}: {:?}", report.differences);
    }
}

#[tokio::test]
async fn replay_notices_a_first_response_that_was_not_produced() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, serde_json::json!({})).await;
        let s = join(&w, "U1", Role::Student).await;
        let mut tx = w.store.begin().await.unwrap();
        tx.for_community(&w.community)
            .insert_first_response(&classcred_store::recognition::FirstResponseRow {
                target_kind: "question".into(),
                target_id: "C1:1".into(),
                member_id: s,
                place: Some(1),
                bonus_milli: 0,
                occurred_at: 0,
            })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let report = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
        assert!(
            report
                .differences
                .iter()
                .any(|d| d.contains("first response to question C1:1")),
            "{b}: {:?}",
            report.differences
        );
    }
}
