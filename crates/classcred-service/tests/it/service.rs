//! The recognition service against real databases: SQLite always, PostgreSQL when configured.

use crate::common;

use std::sync::Arc;

use chrono::Duration;
use classcred_crypto::MasterKey;
use classcred_engine::{Event, MemberId, MessageDeleted, MessageEdited};
use classcred_service::{
    leaderboard, member_summary, process_next, replay, Fault, Period, ServiceError,
};
use classcred_store::testing::TestDb;
use classcred_store::{Role, Store};
use common::*;
use serde_json::json;

pub(crate) fn settings() -> serde_json::Value {
    json!({ "timezone": "Europe/Berlin", "course_start": "2026-01-05", "daily_quota": 5 })
}

#[tokio::test]
async fn fire_quota_duplicates_and_replay_on_every_backend() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, settings()).await;
        join(&w, "UA", Role::Student).await;
        join(&w, "UB", Role::Student).await;
        join(&w, "UC", Role::Student).await;
        join(&w, "UT", Role::Instructor).await;
        let t = at(2026, 3, 2, 10, 0, 0);

        // Two fires to two recipients: 2 each, 4 units of A's quota.
        assert!(deliver(&w, "Ev1", &post("1.1", "UA", &["UB", "UC", "UB"], 2, t)).await);
        // The same delivery again (Slack retry) is not stored; the same message under a new
        // delivery id is stored but awards nothing.
        assert!(!deliver(&w, "Ev1", &post("1.1", "UA", &["UB", "UC"], 2, t)).await);
        assert!(deliver(&w, "Ev1-dup", &post("1.1", "UA", &["UB", "UC"], 2, t)).await);
        // Asking for 2 more when 1 is left gives nothing.
        assert!(
            deliver(
                &w,
                "Ev2",
                &post("1.2", "UA", &["UB"], 2, t + Duration::minutes(1))
            )
            .await
        );
        // Self-fire and fire from an instructor (unlimited, untaxed).
        assert!(
            deliver(
                &w,
                "Ev3",
                &post("1.3", "UB", &["UB"], 1, t + Duration::minutes(2))
            )
            .await
        );
        assert!(
            deliver(
                &w,
                "Ev4",
                &post("1.4", "UT", &["UA"], 3, t + Duration::minutes(3))
            )
            .await
        );
        assert_eq!(
            settle(&w).await,
            4 + 5,
            "{b}: 4 joins and 5 deliveries processed"
        );

        assert_eq!(earned(&w, "UB").await, 2000, "{b}");
        assert_eq!(earned(&w, "UC").await, 2000, "{b}");
        assert_eq!(earned(&w, "UA").await, 3000, "{b}");
        w.clock.set(t + Duration::days(1));
        let a = member_summary(&w.store, &w.community, "UA")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            a.quota_left_today,
            Some(5),
            "{b}: a new local day has the full quota"
        );
        w.clock.set(t + Duration::hours(2));
        let a = member_summary(&w.store, &w.community, "UA")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(a.quota_left_today, Some(1), "{b}");
        assert!(
            a.badges.iter().any(|(id, _)| id == "first_fire"),
            "{b}: {:?}",
            a.badges
        );
        let t_sum = member_summary(&w.store, &w.community, "UT")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            t_sum.quota_left_today, None,
            "instructors give without limit"
        );

        // Notices were queued for delivery: quota exceeded, self-fire refused, etc.
        let counts = w.store.job_counts().await.unwrap();
        assert!(counts.queued >= 3, "{b}: {counts:?}");

        // Leaderboard: students only.
        let lb = leaderboard(&w.store, &w.community, Period::Week)
            .await
            .unwrap();
        assert_eq!(
            lb.rows.len(),
            3,
            "{b}: three students, the instructor excluded"
        );
        assert_eq!(lb.rows[0].points.to_string(), "3");

        let report = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
        assert!(report.matches(), "{b}: {:?}", report.differences);
        assert_eq!(report.events, 9);
        w.store.close().await;
    }
}

#[tokio::test]
async fn twenty_two_fires_in_a_week_earn_exactly_17_7_through_the_database() {
    for db in TestDb::all().await {
        let w = world(
            &db,
            json!({ "timezone": "America/New_York", "daily_quota": 25 }),
        )
        .await;
        join(&w, "UA", Role::Student).await;
        join(&w, "UB", Role::Student).await;
        let t = at(2026, 3, 3, 15, 0, 0); // a Tuesday
        for i in 0..22 {
            let e = post(
                &format!("2.{i}"),
                "UA",
                &["UB"],
                1,
                t + Duration::minutes(i),
            );
            deliver(&w, &format!("Ev{i}"), &e).await;
        }
        settle(&w).await;
        assert_eq!(earned(&w, "UB").await, 17_700, "{}", db.backend());
        let mut tx = w.store.begin().await.unwrap();
        let taxes = tx
            .for_community(&w.community)
            .ledger()
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.entry.kind == "tax")
            .count();
        let feed = tx
            .for_community(&w.community)
            .feed(None, 100)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(taxes, 7);
        assert!(!feed.is_empty());
        let ub = member_summary(&w.store, &w.community, "UB")
            .await
            .unwrap()
            .unwrap();
        assert!(
            ub.recent.iter().any(|f| f.kind == "taxed"),
            "the recipient's feed shows the tax"
        );
        assert!(replay(&w.store, &w.community, |_, _| {})
            .await
            .unwrap()
            .matches());
        w.store.close().await;
    }
}

#[tokio::test]
async fn edits_deletes_and_reactions_are_diffed_and_reversed() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, settings()).await;
        for u in ["UA", "UB", "UC", "UD"] {
            join(&w, u, Role::Student).await;
        }
        let t = at(2026, 3, 2, 9, 0, 0);
        deliver(&w, "E1", &post("3.1", "UA", &["UB", "UC"], 1, t)).await;
        settle(&w).await;
        assert_eq!(
            (earned(&w, "UB").await, earned(&w, "UC").await),
            (1000, 1000)
        );
        // Edit: C removed, D added.
        let edit = Event::MessageEdited(MessageEdited {
            platform_message_id: "C1:3.1".into(),
            author: MemberId::new("UA"),
            mentions: vec![MemberId::new("UB"), MemberId::new("UD")],
            fire_count: 1,
            text: "thanks UB UD :fire:".into(),
            occurred_at: t + Duration::minutes(5),
        });
        deliver(&w, "E2", &edit).await;
        // A reaction from B on A's message gives A one fire; removing it reverses it.
        deliver(
            &w,
            "E3",
            &Event::ReactionAdded(reaction("3.1", "UB", "UA", t + Duration::minutes(6))),
        )
        .await;
        settle(&w).await;
        assert_eq!(
            (
                earned(&w, "UB").await,
                earned(&w, "UC").await,
                earned(&w, "UD").await,
                earned(&w, "UA").await
            ),
            (1000, 0, 1000, 1000),
            "{b}"
        );
        deliver(
            &w,
            "E4",
            &Event::ReactionRemoved(reaction("3.1", "UB", "UA", t + Duration::minutes(7))),
        )
        .await;
        // Delete reverses everything the message still awards.
        deliver(
            &w,
            "E5",
            &Event::MessageDeleted(MessageDeleted {
                platform_message_id: "C1:3.1".into(),
                occurred_at: t + Duration::minutes(8),
            }),
        )
        .await;
        settle(&w).await;
        for u in ["UA", "UB", "UC", "UD"] {
            assert_eq!(earned(&w, u).await, 0, "{b}: {u}");
        }
        // Same-day reversals refunded A's quota.
        w.clock.set(t + Duration::hours(1));
        let a = member_summary(&w.store, &w.community, "UA")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(a.quota_left_today, Some(5), "{b}");
        assert!(replay(&w.store, &w.community, |_, _| {})
            .await
            .unwrap()
            .matches());
        w.store.close().await;
    }
}

/// Processing killed after the ledger write: nothing stays, and the retry awards exactly once.
#[tokio::test]
async fn crash_after_ledger_write_then_retry_awards_once() {
    for db in TestDb::all().await {
        let w = world(&db, settings()).await;
        join(&w, "UA", Role::Student).await;
        join(&w, "UB", Role::Student).await;
        classcred_service::drain(&w.store, &w.community)
            .await
            .unwrap();
        deliver(
            &w,
            "X1",
            &post("4.1", "UA", &["UB"], 3, at(2026, 3, 2, 9, 0, 0)),
        )
        .await;
        let err = process_next(&w.store, &w.community, Fault::AfterLedgerWrite)
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::Injected));
        assert_eq!(
            earned(&w, "UB").await,
            0,
            "{}: the failed attempt left nothing",
            db.backend()
        );
        // The delivery is retried (same event id is refused by the inbox, the row is still there).
        assert!(
            !deliver(
                &w,
                "X1",
                &post("4.1", "UA", &["UB"], 3, at(2026, 3, 2, 9, 0, 0))
            )
            .await
        );
        assert_eq!(settle(&w).await, 1);
        assert_eq!(earned(&w, "UB").await, 3000);
        assert_eq!(settle(&w).await, 0, "nothing left to process");
        assert_eq!(earned(&w, "UB").await, 3000);
        assert!(replay(&w.store, &w.community, |_, _| {})
            .await
            .unwrap()
            .matches());
        w.store.close().await;
    }
}

/// Two processors (separate connection pools, as two `serve` processes have) spend the last unit
/// of one giver's quota at the same time: exactly one wins.
#[tokio::test]
async fn concurrent_spend_of_the_last_unit_has_one_winner() {
    for db in TestDb::all().await {
        let w = world(&db, settings()).await;
        for u in ["UA", "UB", "UC", "UD"] {
            join(&w, u, Role::Student).await;
        }
        let t = at(2026, 3, 2, 9, 0, 0);
        deliver(&w, "P0", &post("5.0", "UA", &["UB"], 4, t)).await;
        settle(&w).await;
        for round in 0..5 {
            let t = t + Duration::days(round + 1);
            deliver(
                &w,
                &format!("R{round}a"),
                &post(&format!("5.{round}a"), "UA", &["UB"], 4, t),
            )
            .await;
            settle(&w).await;
            // Two messages each asking for the last unit.
            deliver(
                &w,
                &format!("R{round}b"),
                &post(&format!("5.{round}b"), "UA", &["UC"], 1, t),
            )
            .await;
            deliver(
                &w,
                &format!("R{round}c"),
                &post(&format!("5.{round}c"), "UA", &["UD"], 1, t),
            )
            .await;
            let other = Store::connect(
                db.url(),
                MasterKey::parse(&w.key_text).unwrap(),
                Arc::new(classcred_store::SystemClock),
                Default::default(),
            )
            .await
            .unwrap();
            let (s1, s2, c) = (w.store.clone(), other.clone(), w.community.clone());
            let c2 = c.clone();
            let h1 = tokio::spawn(async move { process_next(&s1, &c, Fault::None).await.unwrap() });
            let h2 =
                tokio::spawn(async move { process_next(&s2, &c2, Fault::None).await.unwrap() });
            let (r1, r2) = (h1.await.unwrap(), h2.await.unwrap());
            assert!(
                r1.is_some() && r2.is_some(),
                "each processor took one message"
            );
            other.close().await;
            let mut tx = w.store.begin().await.unwrap();
            let day = t
                .with_timezone(&chrono_tz::Europe::Berlin)
                .date_naive()
                .to_string();
            let a = tx
                .for_community(&w.community)
                .member_id_by_platform("UA")
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                tx.for_community(&w.community)
                    .quota_used(&a, &day)
                    .await
                    .unwrap(),
                5,
                "{}",
                db.backend()
            );
            tx.commit().await.unwrap();
        }
        // Exactly one of C and D got each contested unit.
        assert_eq!(
            earned(&w, "UC").await + earned(&w, "UD").await,
            5000,
            "{}",
            db.backend()
        );
        assert!(replay(&w.store, &w.community, |_, _| {})
            .await
            .unwrap()
            .matches());
        w.store.close().await;
    }
}

#[tokio::test]
async fn replay_reports_a_tampered_ledger() {
    let db = TestDb::sqlite().await;
    let w = world(&db, settings()).await;
    join(&w, "UA", Role::Student).await;
    join(&w, "UB", Role::Student).await;
    deliver(
        &w,
        "T1",
        &post("6.1", "UA", &["UB"], 2, at(2026, 3, 2, 9, 0, 0)),
    )
    .await;
    settle(&w).await;
    sqlx::query("UPDATE ledger_entry SET amount_milli = 5000 WHERE kind = 'award'")
        .execute(w.store.pool())
        .await
        .unwrap();
    let mut calls = 0;
    let report = replay(&w.store, &w.community, |done, total| {
        calls += 1;
        assert!(done <= total);
    })
    .await
    .unwrap();
    assert_eq!(calls, report.events);
    assert!(!report.matches());
    assert!(
        report
            .differences
            .iter()
            .any(|d| d.contains("stored") && d.contains("award")),
        "{:?}",
        report.differences
    );
}

#[tokio::test]
async fn outside_course_dates_nothing_is_awarded() {
    let db = TestDb::sqlite().await;
    let w = world(
        &db,
        json!({ "timezone": "Europe/Berlin", "course_start": "2026-03-02", "course_end": "2026-03-06" }),
    )
    .await;
    join(&w, "UA", Role::Student).await;
    join(&w, "UB", Role::Student).await;
    // 23:30 UTC on 1 March is 00:30 on 2 March in Berlin: inside. 22:59:59 UTC is 23:59:59 local: outside.
    deliver(
        &w,
        "D1",
        &post("7.1", "UA", &["UB"], 1, at(2026, 3, 1, 22, 59, 59)),
    )
    .await;
    deliver(
        &w,
        "D2",
        &post("7.2", "UA", &["UB"], 1, at(2026, 3, 1, 23, 0, 0)),
    )
    .await;
    deliver(
        &w,
        "D3",
        &post("7.3", "UA", &["UB"], 1, at(2026, 3, 6, 23, 0, 0)),
    )
    .await;
    settle(&w).await;
    assert_eq!(earned(&w, "UB").await, 1000);
}

#[tokio::test]
async fn closing_a_week_awards_the_top_recogniser_once_and_replays() {
    for db in TestDb::all().await {
        let w = world(&db, settings()).await;
        for u in ["UA", "UB", "UC"] {
            join(&w, u, Role::Student).await;
        }
        let t = at(2026, 3, 3, 9, 0, 0); // Tuesday of 2026-W10
        deliver(&w, "W1", &post("8.1", "UA", &["UC"], 3, t)).await;
        deliver(&w, "W2", &post("8.2", "UB", &["UC"], 1, t)).await;
        settle(&w).await;
        w.clock.set(at(2026, 3, 6, 12, 0, 0));
        assert_eq!(
            classcred_service::schedule_week_closing(&w.store, &w.community)
                .await
                .unwrap()
                .map(|w| w.to_string()),
            Some("2026-W09".to_string()),
            "only weeks that have ended are closed"
        );
        // Monday 00:30 in Berlin is Sunday 23:30 UTC: W10 has ended there.
        w.clock.set(at(2026, 3, 8, 23, 30, 0));
        let closed = classcred_service::schedule_week_closing(&w.store, &w.community)
            .await
            .unwrap();
        assert_eq!(
            closed.map(|w| w.to_string()),
            Some("2026-W10".to_string()),
            "{}",
            db.backend()
        );
        assert_eq!(
            classcred_service::schedule_week_closing(&w.store, &w.community)
                .await
                .unwrap(),
            None
        );
        settle(&w).await;
        let a = member_summary(&w.store, &w.community, "UA")
            .await
            .unwrap()
            .unwrap();
        let b = member_summary(&w.store, &w.community, "UB")
            .await
            .unwrap()
            .unwrap();
        let top = classcred_engine::BuiltinBadge::TopRecogniser.id_str();
        assert!(a.badges.iter().any(|(id, _)| id == top), "{:?}", a.badges);
        assert!(!b.badges.iter().any(|(id, _)| id == top));
        assert!(replay(&w.store, &w.community, |_, _| {})
            .await
            .unwrap()
            .matches());
        w.store.close().await;
    }
}
