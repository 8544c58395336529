//! Polls and debates through the service, on every backend: create (staff only, field
//! errors), vote and change the vote, refusals after the close, anonymous votes (counts only,
//! no voter stored), the badge for 5 polls from database answers, a debate's thread posts,
//! the scheduled close job, replay, and replay after erasing a voter.

use crate::common::*;

use chrono::Duration;
use classcred_engine::{BuiltinBadge, Event, MemberId, MessagePosted};
use classcred_service::changes::ChangeError;
use classcred_service::polls::{
    close, close_job, create, get, list, member_votes, record_posted, vote, Draft,
};
use classcred_service::replay;
use classcred_store::jobs::ClaimedJob;
use classcred_store::testing::TestDb;
use classcred_store::{MemberRowId, Role};
use serde_json::json;
use sqlx::Row;

fn settings() -> serde_json::Value {
    json!({ "timezone": "Europe/Berlin", "course_start": "2026-01-05" })
}

fn draft(kind: &str, question: &str) -> Draft {
    Draft {
        kind: kind.into(),
        question: question.into(),
        options: "Graphs\nTrees\n\nHeaps\n".into(),
        channel: "C1".into(),
        ..Draft::default()
    }
}

struct Class {
    w: World,
    ta: MemberRowId,
    ana: MemberRowId,
    ben: MemberRowId,
}

async fn class(db: &TestDb) -> Class {
    let w = world(db, settings()).await;
    join(&w, "UADMIN", Role::Admin).await;
    let ta = join(&w, "UTA", Role::Instructor).await;
    let ana = join(&w, "UANA", Role::Student).await;
    let ben = join(&w, "UBEN", Role::Student).await;
    settle(&w).await;
    Class { w, ta, ana, ben }
}

async fn assert_replays(w: &World, b: &str) {
    let report = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
    assert!(report.matches(), "{b}: {:?}", report.differences);
}

#[tokio::test]
async fn create_vote_change_close_and_replay() {
    for db in TestDb::all().await {
        let b = db.backend();
        let Class { w, ta, ana, ben } = class(&db).await;
        let now = at(2026, 3, 2, 12, 0, 0);

        // Students cannot create; form errors name their field.
        let refused = create(&w.store, &w.community, &ana, &draft("poll", "Q?"), now).await;
        assert!(matches!(refused, Err(ChangeError::Forbidden)), "{b}");
        let mut one = draft("poll", "Q?");
        one.options = "Only one".into();
        let bad = create(&w.store, &w.community, &ta, &one, now).await;
        assert!(
            matches!(bad, Err(ChangeError::Invalid { ref field, .. }) if field == "options"),
            "{b}: {bad:?}"
        );
        let bad = create(&w.store, &w.community, &ta, &draft("poll", " "), now).await;
        assert!(
            matches!(bad, Err(ChangeError::Invalid { ref field, .. }) if field == "question"),
            "{b}"
        );
        let mut past = draft("poll", "Q?");
        past.closes_at = "2026-03-01 09:00".into();
        let bad = create(&w.store, &w.community, &ta, &past, now).await;
        assert!(
            matches!(bad, Err(ChangeError::Invalid { ref field, .. }) if field == "closes_at"),
            "{b}: {bad:?}"
        );

        let (id, change) = create(
            &w.store,
            &w.community,
            &ta,
            &draft("poll", "Which topic next?"),
            now,
        )
        .await
        .unwrap();
        assert!(change.applied, "{b}");
        let p = get(&w.store, &w.community, &id).await.unwrap().unwrap();
        assert_eq!(p.options, vec!["Graphs", "Trees", "Heaps"], "{b}");
        assert_eq!((p.number, p.votes), (1, 0), "{b}");

        // Votes by number or by text; a new vote replaces the old one.
        let v = vote(&w.store, &w.community, &ana, &id, "2", None, now)
            .await
            .unwrap();
        assert!(v.counted, "{b}");
        let v = vote(&w.store, &w.community, &ana, &id, "heaps", None, now)
            .await
            .unwrap();
        assert!(v.counted && v.option == 2, "{b}");
        vote(&w.store, &w.community, &ben, &id, "#3", None, now)
            .await
            .unwrap();
        let p = get(&w.store, &w.community, &id).await.unwrap().unwrap();
        assert_eq!((p.counts.clone(), p.votes), (vec![0, 0, 2], 2), "{b}");
        let bad = vote(&w.store, &w.community, &ana, &id, "7", None, now).await;
        assert!(
            matches!(bad, Err(ChangeError::Invalid { ref field, .. }) if field == "option"),
            "{b}"
        );
        // A redelivered click (same delivery id) is stored once.
        for _ in 0..2 {
            vote(&w.store, &w.community, &ben, &id, "1", Some("d1"), now)
                .await
                .unwrap();
        }
        let mine = member_votes(&w.store, &w.community, &ben).await.unwrap();
        assert_eq!(mine.len(), 1, "{b}");
        assert_eq!(mine[0].1, 0, "{b}");

        // Only staff close; then votes are refused and the results stay.
        assert!(matches!(
            close(&w.store, &w.community, &ana, &id, now).await,
            Err(ChangeError::Forbidden)
        ));
        let c = close(&w.store, &w.community, &ta, &id, now + Duration::minutes(5))
            .await
            .unwrap();
        assert!(c.applied, "{b}");
        let late = vote(
            &w.store,
            &w.community,
            &ana,
            &id,
            "1",
            None,
            now + Duration::minutes(6),
        )
        .await;
        assert!(
            matches!(late, Err(ChangeError::Invalid { ref field, .. }) if field == "poll"),
            "{b}"
        );
        let p = get(&w.store, &w.community, &id).await.unwrap().unwrap();
        assert_eq!(p.counts, vec![1, 0, 1], "{b}");
        assert!(p.results_public(), "{b}");
        assert_replays(&w, b).await;
    }
}

#[tokio::test]
async fn anonymous_votes_store_no_voter_and_earn_nothing() {
    for db in TestDb::all().await {
        let b = db.backend();
        let Class { w, ta, ana, ben } = class(&db).await;
        let now = at(2026, 3, 2, 12, 0, 0);
        let mut d = draft("poll", "How hard was the exam?");
        d.anonymous = Some("on".into());
        let (id, _) = create(&w.store, &w.community, &ta, &d, now).await.unwrap();
        for (who, option) in [(&ana, "1"), (&ana, "2"), (&ben, "2")] {
            assert!(
                vote(&w.store, &w.community, who, &id, option, None, now)
                    .await
                    .unwrap()
                    .counted,
                "{b}"
            );
        }
        let p = get(&w.store, &w.community, &id).await.unwrap().unwrap();
        assert_eq!(p.counts, vec![0, 2, 0], "{b}");
        assert!(member_votes(&w.store, &w.community, &ana)
            .await
            .unwrap()
            .is_empty());
        let rows = sqlx::query("SELECT member_id, voted_at FROM poll_vote")
            .fetch_all(w.store.pool())
            .await
            .unwrap();
        assert_eq!(rows.len(), 2, "{b}");
        for r in rows {
            assert!(r
                .try_get::<Option<String>, _>("member_id")
                .unwrap()
                .is_none());
            assert!(r.try_get::<Option<i64>, _>("voted_at").unwrap().is_none());
        }
        // No member feed item tells who voted.
        let mut tx = w.store.begin().await.unwrap();
        let feed = tx
            .for_community(&w.community)
            .feed(Some(&ana), 50)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert!(feed.iter().all(|f| f.kind != "voted"), "{b}");
        assert_replays(&w, b).await;
    }
}

#[tokio::test]
async fn five_polls_win_the_badge_from_stored_votes() {
    for db in TestDb::all().await {
        let b = db.backend();
        let Class { w, ta, ana, .. } = class(&db).await;
        let now = at(2026, 3, 2, 12, 0, 0);
        let badge = BuiltinBadge::VotedInFive.id();
        let has = |w: &World| {
            let store = w.store.clone();
            let community = w.community.clone();
            let ana = ana.clone();
            let badge = badge.clone();
            async move {
                let mut tx = store.begin().await.unwrap();
                let held = tx.for_community(&community).badges().await.unwrap();
                tx.rollback().await.unwrap();
                held.iter()
                    .any(|h| h.member_id == ana && h.badge_id == badge.as_str())
            }
        };
        for n in 0..5 {
            assert!(!has(&w).await, "{b}: badge before the 5th poll");
            let (id, _) = create(
                &w.store,
                &w.community,
                &ta,
                &draft(if n == 4 { "debate" } else { "poll" }, "Q?"),
                now,
            )
            .await
            .unwrap();
            vote(&w.store, &w.community, &ana, &id, "1", None, now)
                .await
                .unwrap();
            // A changed vote does not count twice.
            vote(&w.store, &w.community, &ana, &id, "2", None, now)
                .await
                .unwrap();
        }
        assert!(has(&w).await, "{b}");
        assert_replays(&w, b).await;
    }
}

#[tokio::test]
async fn debate_threads_scheduled_close_and_erasure() {
    for db in TestDb::all().await {
        let b = db.backend();
        let Class { w, ta, ana, ben } = class(&db).await;
        let now = at(2026, 3, 2, 12, 0, 0);
        let mut d = draft("debate", "Pairs for the final project?");
        d.options = "Yes\nNo".into();
        d.closes_at = "2026-03-02 15:00".into(); // Berlin: 14:00 UTC
        let (id, _) = create(&w.store, &w.community, &ta, &d, now).await.unwrap();
        record_posted(&w.store, &w.community, &id, "C1:100.0", now)
            .await
            .unwrap();
        let p = get(&w.store, &w.community, &id).await.unwrap().unwrap();
        assert_eq!(p.posted_message_id.as_deref(), Some("C1:100.0"), "{b}");
        assert_eq!(p.closes_at, Some(at(2026, 3, 2, 14, 0, 0)), "{b}");

        // Ana posts twice in the thread, Ben chooses a side: two participants.
        for (n, who) in [(1, "UANA"), (2, "UANA")] {
            let e = Event::MessagePosted(MessagePosted {
                is_question: false,
                channel: Some("C1".into()),
                platform_message_id: format!("C1:10{n}.0"),
                author: MemberId::new(who),
                mentions: vec![],
                fire_count: 0,
                text: "I think pairs help".into(),
                thread: Some("C1:100.0".into()),
                occurred_at: now + Duration::minutes(n),
            });
            deliver(&w, &format!("m{n}"), &e).await;
        }
        settle(&w).await;
        vote(&w.store, &w.community, &ben, &id, "No", None, now)
            .await
            .unwrap();
        let p = get(&w.store, &w.community, &id).await.unwrap().unwrap();
        assert_eq!(p.participants, Some(2), "{b}");

        // The close job at the closing time closes it, at exactly that time.
        let job = ClaimedJob {
            id: "j1".into(),
            kind: classcred_service::polls::POLL_CLOSE_JOB.into(),
            community_id: Some(w.community.clone()),
            payload: json!({ "community_id": w.community, "poll_id": id }),
            attempts: 1,
            max_attempts: 8,
        };
        close_job(&w.store, &job).await.unwrap();
        let p = get(&w.store, &w.community, &id).await.unwrap().unwrap();
        assert_eq!(p.closed_at, Some(at(2026, 3, 2, 14, 0, 0)), "{b}");
        // Run again: nothing changes.
        close_job(&w.store, &job).await.unwrap();
        assert_eq!(list(&w.store, &w.community).await.unwrap().len(), 1);
        assert_replays(&w, b).await;

        // Erasing a voter removes their vote and participation; replay still matches.
        w.store.erase_member(&w.community, &ben).await.unwrap();
        w.store.erase_member(&w.community, &ana).await.unwrap();
        let p = get(&w.store, &w.community, &id).await.unwrap().unwrap();
        assert_eq!((p.votes, p.participants), (0, Some(0)), "{b}");
        assert_replays(&w, b).await;
    }
}
