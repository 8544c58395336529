//! Processing that must not stall or lose work: poison rows parked, drain jobs coalesced,
//! events that wait for their members to be looked up.

use crate::common;
use crate::service::settings;

use chrono::Duration;
use classcred_service::{member_summary, process_next, replay, Fault};
use classcred_store::testing::TestDb;
use classcred_store::Role;
use common::*;

/// A row that can never be processed is retried, then parked with an error that carries no
/// content, and the events after it are processed.
#[tokio::test]
async fn a_poison_row_is_parked_and_does_not_block_the_community() {
    for db in TestDb::all().await {
        let w = world(&db, settings()).await;
        join(&w, "UA", Role::Student).await;
        join(&w, "UB", Role::Student).await;
        settle(&w).await;
        let mut tx = w.store.begin().await.unwrap();
        let poison = br#"{"type":"message_posted","text":"SECRET-STUDENT-TEXT","author":7}"#;
        let classcred_store::InboxInsert::Stored(poison_id) = tx
            .for_community(&w.community)
            .insert_inbox("slack", "poison", "message_posted", poison, 0)
            .await
            .unwrap()
        else {
            panic!("stored")
        };
        tx.commit().await.unwrap();
        deliver(
            &w,
            "after",
            &post("9.1", "UA", &["UB"], 1, at(2026, 3, 2, 9, 0, 0)),
        )
        .await;
        let mut failures = 0;
        loop {
            match process_next(&w.store, &w.community, Fault::None).await {
                Err(e) => {
                    failures += 1;
                    assert!(!e.to_string().contains("SECRET"), "{e}");
                }
                Ok(Some(_)) => continue,
                Ok(None) => break,
            }
            assert!(failures <= classcred_service::MAX_INBOX_ATTEMPTS);
        }
        assert_eq!(
            failures,
            classcred_service::MAX_INBOX_ATTEMPTS,
            "{}",
            db.backend()
        );
        assert_eq!(
            earned(&w, "UB").await,
            1000,
            "the event after the poison row was processed"
        );
        let mut tx = w.store.begin().await.unwrap();
        let ev = tx
            .for_community(&w.community)
            .inbox_event(&poison_id)
            .await
            .unwrap();
        assert!(ev.processed_at.is_none());
        assert_eq!(ev.attempts, classcred_service::MAX_INBOX_ATTEMPTS);
        assert_eq!(
            tx.for_community(&w.community)
                .pending_inbox_count()
                .await
                .unwrap(),
            1,
            "parked, not lost"
        );
        tx.commit().await.unwrap();
        let err: Option<String> = sqlx::query_scalar("SELECT last_error FROM inbox WHERE id = $1")
            .bind(&poison_id)
            .fetch_one(w.store.pool())
            .await
            .unwrap();
        let err = err.unwrap();
        assert!(
            err.contains("not valid JSON") && !err.contains("SECRET"),
            "{err}"
        );
        w.store.close().await;
    }
}

/// Issue 7 §2.7: many ingests leave one queued drain job per community, and an event that
/// arrives while that community's drain runs is not swallowed: a new drain job is queued.
#[tokio::test]
async fn drain_jobs_coalesce_and_an_event_during_a_running_drain_is_still_processed() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, settings()).await;
        join(&w, "UA", Role::Student).await;
        join(&w, "UB", Role::Student).await;
        let t = at(2026, 3, 2, 10, 0, 0);
        for i in 0..30 {
            let e = post(
                &format!("2.{i}"),
                "UA",
                &["UB"],
                0,
                t + Duration::minutes(i),
            );
            assert!(deliver(&w, &format!("Ev{i}"), &e).await);
        }
        let counts = w.store.job_counts().await.unwrap();
        assert_eq!(counts.queued, 1, "{b}: one drain job for 32 ingests");

        let job = w.store.claim_job("w1", 60_000).await.unwrap().unwrap();
        assert_eq!(job.kind, classcred_service::DRAIN_JOB);
        assert_eq!(settle(&w).await, 32, "{b}");
        // The drain has looked at the inbox for the last time but not finished yet.
        let late = post("2.late", "UA", &["UB"], 1, t + Duration::hours(1));
        assert!(deliver(&w, "Ev-late", &late).await);
        assert!(w.store.complete_job(&job.id, "w1").await.unwrap());
        let next = w.store.claim_job("w1", 60_000).await.unwrap();
        assert_eq!(
            next.map(|j| j.kind).as_deref(),
            Some(classcred_service::DRAIN_JOB),
            "{b}: the late event has its own drain job"
        );
        assert_eq!(settle(&w).await, 1, "{b}");
        assert_eq!(earned(&w, "UB").await, 1000, "{b}");
    }
}

/// Member resolution, platform-neutral: an event mentioning ids never seen waits (no member is
/// created, no attempt counted) until the adapter records what the platform said; a bot then
/// joins as a bot and gets nothing, a non-member never becomes a member, and neither costs the
/// giver quota. Replay reproduces it, including the joining rows recorded after the event.
#[tokio::test]
async fn unknown_ids_wait_for_resolution_and_never_receive_fire_unless_people() {
    use classcred_service::{process_step, record_resolutions, unresolved_members, Resolved, Step};
    use classcred_store::{MemberKind, MemberProfile, NewMember};
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, settings()).await;
        join(&w, "UA", Role::Student).await;
        settle(&w).await;
        let t = at(2026, 3, 2, 10, 0, 0);
        // 5 recipients × 1 fire = the whole daily quota if everyone counted.
        let mentions = ["UBOT", "UGONE", "UNEW", "UX1", "UX2"];
        assert!(deliver(&w, "Ev1", &post("1.1", "UA", &mentions, 1, t)).await);
        let members_before = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM member")
            .fetch_one(w.store.pool())
            .await
            .unwrap();
        let step = process_step(&w.store, &w.community, Fault::None)
            .await
            .unwrap();
        assert!(
            matches!(step, Step::Deferred { unknown: 5, .. }),
            "{b}: {step:?}"
        );
        assert_eq!(
            settle(&w).await,
            0,
            "{b}: nothing processed while ids are unknown"
        );
        let members_after = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM member")
            .fetch_one(w.store.pool())
            .await
            .unwrap();
        assert_eq!(
            members_before, members_after,
            "{b}: no member created unresolved"
        );
        let unknown = unresolved_members(&w.store, &w.community).await.unwrap();
        assert_eq!(unknown, mentions, "{b}");
        let person = |id: &str, kind| NewMember {
            platform_user_id: id.into(),
            role: Role::Student,
            kind,
            profile: MemberProfile::default(),
        };
        // The platform answers for some ids now; the others stay unknown (still waiting).
        record_resolutions(
            &w.store,
            &w.community,
            "slack",
            &[
                (
                    "UBOT".into(),
                    Resolved::Member(person("UBOT", MemberKind::Bot)),
                ),
                ("UGONE".into(), Resolved::NotMember("deactivated")),
                (
                    "UNEW".into(),
                    Resolved::Member(person("UNEW", MemberKind::Human)),
                ),
            ],
        )
        .await
        .unwrap();
        assert_eq!(
            settle(&w).await,
            2,
            "{b}: the joins run, the message still waits"
        );
        assert_eq!(
            unresolved_members(&w.store, &w.community).await.unwrap(),
            ["UX1", "UX2"]
        );
        let queued_drains: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM job WHERE kind = 'recognition.drain' AND state = 'queued'",
        )
        .fetch_one(w.store.pool())
        .await
        .unwrap();
        assert_eq!(
            queued_drains, 1,
            "{b}: recording resolutions coalesces with the queued drain"
        );
        record_resolutions(
            &w.store,
            &w.community,
            "slack",
            &[
                ("UX1".into(), Resolved::NotMember("other_workspace")),
                ("UX2".into(), Resolved::NotMember("not_found")),
            ],
        )
        .await
        .unwrap();
        assert_eq!(settle(&w).await, 1, "{b}");
        assert_eq!(earned(&w, "UNEW").await, 1000, "{b}");
        assert_eq!(earned(&w, "UBOT").await, 0, "{b}");
        let summary = member_summary(&w.store, &w.community, "UA")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            summary.quota_left_today,
            Some(4),
            "{b}: one unit spent, on UNEW only"
        );
        for id in ["UGONE", "UX1", "UX2"] {
            let mut tx = w.store.begin().await.unwrap();
            assert!(tx
                .for_community(&w.community)
                .member_id_by_platform(id)
                .await
                .unwrap()
                .is_none());
            tx.commit().await.unwrap();
        }
        let r = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
        assert!(r.matches(), "{b}: {:?}", r.differences);
    }
}

/// Issue 13: `drain` processes rows in batches (one transaction per batch). A poison row in
/// the middle of a batch does not lose the rows around it: the failed batch is rolled back
/// and processed row by row, so the rows before the poison are processed at once, the poison
/// row is charged one attempt per drain and parked, and the rows after it are processed.
#[tokio::test]
async fn a_poison_row_inside_a_batch_is_isolated() {
    for db in TestDb::all().await {
        let w = world(&db, settings()).await;
        join(&w, "UA", Role::Student).await;
        join(&w, "UB", Role::Student).await;
        settle(&w).await;
        for i in 0..5 {
            deliver(
                &w,
                &format!("before-{i}"),
                &post(&format!("8.{i}"), "UA", &["UB"], 1, at(2026, 3, 2, 9, 0, i)),
            )
            .await;
        }
        let mut tx = w.store.begin().await.unwrap();
        let poison = br#"{"type":"message_posted","text":"SECRET-STUDENT-TEXT","author":7}"#;
        let classcred_store::InboxInsert::Stored(poison_id) = tx
            .for_community(&w.community)
            .insert_inbox("slack", "poison", "message_posted", poison, 0)
            .await
            .unwrap()
        else {
            panic!("stored")
        };
        tx.commit().await.unwrap();
        for i in 0..3 {
            deliver(
                &w,
                &format!("after-{i}"),
                &post(
                    &format!("9.{i}"),
                    "UA",
                    &["UB"],
                    1,
                    at(2026, 3, 2, 10, 0, i),
                ),
            )
            .await;
        }
        // First drain: the batch fails on the poison row; row by row, the five rows before it
        // are processed and the poison row's failure is returned.
        let e = classcred_service::drain(&w.store, &w.community)
            .await
            .unwrap_err();
        assert!(!e.to_string().contains("SECRET"), "{e}");
        assert_eq!(
            pending(&w).await,
            4,
            "{}: the five rows before it",
            db.backend()
        );
        let mut drains = 1;
        while classcred_service::drain(&w.store, &w.community)
            .await
            .is_err()
        {
            drains += 1;
            assert!(drains <= classcred_service::MAX_INBOX_ATTEMPTS);
        }
        assert_eq!(
            drains,
            classcred_service::MAX_INBOX_ATTEMPTS,
            "{}",
            db.backend()
        );
        assert_eq!(
            pending(&w).await,
            1,
            "{}: parked, the rows after it processed",
            db.backend()
        );
        let mut tx = w.store.begin().await.unwrap();
        let ev = tx
            .for_community(&w.community)
            .inbox_event(&poison_id)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(ev.processed_at.is_none());
        assert_eq!(ev.attempts, classcred_service::MAX_INBOX_ATTEMPTS);
        w.store.close().await;
    }
}

/// Issue 13: more pending rows than one batch are all processed, in order, by one drain.
#[tokio::test]
async fn a_drain_crosses_batch_boundaries() {
    for db in TestDb::all().await {
        let w = world(&db, settings()).await;
        join(&w, "UA", Role::Student).await;
        join(&w, "UB", Role::Student).await;
        settle(&w).await;
        let n = classcred_service::BATCH_ROWS + 7;
        for i in 0..n {
            // One fire per message, two messages per minute: the daily quota is never reached.
            let t = at(2026, 3, 2, 8, 0, 0) + Duration::seconds(30 * i as i64);
            deliver(
                &w,
                &format!("m-{i}"),
                &post(&format!("7.{i}"), "UB", &["UA"], 0, t),
            )
            .await;
        }
        let processed = classcred_service::drain(&w.store, &w.community)
            .await
            .unwrap();
        assert_eq!(processed, n, "{}", db.backend());
        assert_eq!(pending(&w).await, 0, "{}", db.backend());
        if db.backend() == "postgres" {
            // A backlog of more than one batch refreshed the planner's statistics of the
            // inbox (never analysed before: `reltuples` is -1), so the next picks read the
            // head of the pick-order index instead of sorting every pending row.
            let reltuples: f64 = sqlx::query_scalar(
                "SELECT CAST(reltuples AS DOUBLE PRECISION) FROM pg_class WHERE relname = 'inbox'",
            )
            .fetch_one(w.store.pool())
            .await
            .unwrap();
            assert!(reltuples >= 0.0, "inbox never analysed: {reltuples}");
        }
        w.store.close().await;
    }
}

async fn pending(w: &World) -> i64 {
    let mut tx = w.store.begin().await.unwrap();
    let n = tx
        .for_community(&w.community)
        .pending_inbox_count()
        .await
        .unwrap();
    tx.commit().await.unwrap();
    n
}
