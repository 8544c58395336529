//! Questions on both backends: a question, replies, an accept from the dashboard and from chat,
//! the reward on the ledger, the unanswered list oldest first, deletes reversing, auto-accept,
//! texts encrypted and never in the question tables, export and replay.

use chrono::{DateTime, Duration, Utc};
use classcred_engine::{AnswerAccepted, Event, MemberId, MessageDeleted, MessagePosted};
use classcred_service::changes::{change_settings, ChangeError};
use classcred_service::questions::{accept_answer, list_questions};
use classcred_service::replay;
use classcred_store::recognition::QuestionFilter;
use classcred_store::testing::TestDb;
use classcred_store::{Clock, Role, Store};

use crate::common::*;

fn ask(id: &str, author: &str, text: &str, when: DateTime<Utc>) -> Event {
    Event::MessagePosted(MessagePosted {
        platform_message_id: format!("C1:{id}"),
        author: MemberId::new(author),
        mentions: Vec::new(),
        fire_count: 0,
        text: text.into(),
        thread: None,
        channel: Some("C1".into()),
        occurred_at: when,
        is_question: true,
    })
}

fn reply(id: &str, root: &str, author: &str, text: &str, when: DateTime<Utc>) -> Event {
    Event::MessagePosted(MessagePosted {
        platform_message_id: format!("C1:{id}"),
        author: MemberId::new(author),
        mentions: Vec::new(),
        fire_count: 0,
        text: text.into(),
        thread: Some(format!("C1:{root}")),
        channel: Some("C1".into()),
        occurred_at: when,
        is_question: false,
    })
}

async fn unanswered(store: &Store, w: &World) -> Vec<String> {
    list_questions(
        store,
        &w.community,
        QuestionFilter::Unanswered,
        None,
        w.clock.now(),
    )
    .await
    .unwrap()
    .into_iter()
    .map(|q| q.question_id)
    .collect()
}

async fn ledger_kinds(w: &World) -> Vec<(String, i64)> {
    let mut tx = w.store.begin().await.unwrap();
    let l = tx.for_community(&w.community).ledger().await.unwrap();
    tx.commit().await.unwrap();
    l.into_iter()
        .map(|e| (e.entry.kind, e.entry.amount_milli))
        .collect()
}

#[tokio::test]
async fn questions_answers_accepts_rewards_and_deletes_on_both_backends() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, serde_json::json!({})).await;
        let teacher = join(&w, "UT", Role::Instructor).await;
        let asker = join(&w, "UA", Role::Student).await;
        let other = join(&w, "UO", Role::Student).await;
        join(&w, "UB", Role::Student).await;
        join(&w, "UC", Role::Student).await;
        let t = at(2026, 3, 2, 9, 0, 0);

        // Two questions (the later first in delivery), a reply by the asker (not an answer),
        // answers by classmates, a thread reply to a non-question (not kept).
        deliver(
            &w,
            "E2",
            &ask(
                "2",
                "UC",
                "Is the quiz open book?",
                t + Duration::minutes(30),
            ),
        )
        .await;
        deliver(&w, "E1", &ask("1", "UA", "How do I start part 2? <@UT>", t)).await;
        deliver(
            &w,
            "E3",
            &reply("3", "1", "UA", "anyone?", t + Duration::minutes(40)),
        )
        .await;
        deliver(
            &w,
            "E4",
            &reply(
                "4",
                "1",
                "UB",
                "Read chapter SECRET-ANSWER-4 first",
                t + Duration::minutes(41),
            ),
        )
        .await;
        deliver(
            &w,
            "E5",
            &reply(
                "5",
                "1",
                "UC",
                "Ask in office hours",
                t + Duration::minutes(42),
            ),
        )
        .await;
        deliver(
            &w,
            "E6",
            &post("6", "UB", &[], 0, t + Duration::minutes(43)),
        )
        .await;
        deliver(
            &w,
            "E7",
            &reply(
                "7",
                "6",
                "UC",
                "SECRET-NOT-AN-ANSWER",
                t + Duration::minutes(44),
            ),
        )
        .await;
        settle(&w).await;
        // Oldest first by the time asked, whatever the delivery order.
        assert_eq!(unanswered(&w.store, &w).await, ["C1:1", "C1:2"], "{b}");
        let listed = list_questions(
            &w.store,
            &w.community,
            QuestionFilter::Unanswered,
            Some(&teacher),
            t + Duration::hours(2),
        )
        .await
        .unwrap();
        assert_eq!(
            listed[0].answer_count, 2,
            "{b}: the asker's own reply is not an answer"
        );
        assert_eq!(listed[0].age_minutes, 120, "{b}");
        assert_eq!(listed[0].asker.name, "Name of UA", "{b}");
        assert_eq!(
            listed[0].text.as_deref(),
            Some("How do I start part 2? <@UT>"),
            "{b}"
        );
        assert_eq!(listed[0].answers.len(), 2, "{b}");

        // A classmate may not accept; the asker may; the reward lands on the ledger.
        let refused = accept_answer(
            &w.store,
            &w.community,
            &other,
            "C1:1",
            "C1:4",
            t + Duration::hours(1),
        )
        .await;
        assert!(matches!(refused, Err(ChangeError::Forbidden)), "{b}");
        let refused = accept_answer(
            &w.store,
            &w.community,
            &asker,
            "C1:1",
            "C1:3",
            t + Duration::hours(1),
        )
        .await;
        assert!(
            matches!(refused, Err(ChangeError::Invalid { .. })),
            "{b}: own reply"
        );
        let done = accept_answer(
            &w.store,
            &w.community,
            &asker,
            "C1:1",
            "C1:4",
            t + Duration::hours(1),
        )
        .await
        .unwrap();
        assert!(done.applied, "{b}");
        assert_eq!(earned(&w, "UB").await, 1000, "{b}");
        assert_eq!(unanswered(&w.store, &w).await, ["C1:2"], "{b}");

        // An Instructor moves the acceptance from chat (an event, as the Slack button stores
        // it); redelivered, it changes nothing.
        let accept = Event::AnswerAccepted(AnswerAccepted {
            question: "C1:1".into(),
            answer: "C1:5".into(),
            by: MemberId::new("UT"),
            occurred_at: t + Duration::hours(2),
        });
        deliver(&w, "accept:UT:C1:5:1", &accept).await;
        deliver(&w, "accept:UT:C1:5:1", &accept).await;
        settle(&w).await;
        assert_eq!(
            (earned(&w, "UB").await, earned(&w, "UC").await),
            (0, 1000),
            "{b}"
        );

        // Deleting the accepted answer: the earlier accept stands again.
        let del = |id: &str, when| {
            Event::MessageDeleted(MessageDeleted {
                platform_message_id: format!("C1:{id}"),
                occurred_at: when,
            })
        };
        deliver(&w, "E8", &del("5", t + Duration::hours(3))).await;
        settle(&w).await;
        assert_eq!(
            (earned(&w, "UB").await, earned(&w, "UC").await),
            (1000, 0),
            "{b}"
        );
        // Deleting the question: off every list, reward reversed.
        deliver(&w, "E9", &del("1", t + Duration::hours(4))).await;
        settle(&w).await;
        assert_eq!(earned(&w, "UB").await, 0, "{b}");
        assert!(
            list_questions(
                &w.store,
                &w.community,
                QuestionFilter::All,
                None,
                w.clock.now()
            )
            .await
            .unwrap()
            .iter()
            .all(|q| q.question_id != "C1:1"),
            "{b}"
        );
        let kinds = ledger_kinds(&w).await;
        assert_eq!(kinds.iter().map(|k| k.1).sum::<i64>(), 0, "{b}: {kinds:?}");
        assert!(
            kinds.iter().any(|k| k.0 == "answer_reward") && kinds.iter().any(|k| k.0 == "reversal"),
            "{b}"
        );

        // Auto-accept: the first reply by someone else is accepted, with the configured reward.
        let mut s = classcred_service::settings(&mut w.store.begin().await.unwrap(), &w.community)
            .await
            .unwrap();
        s.questions.auto_accept = true;
        s.questions.reward = "2".parse().unwrap();
        let admin = join(&w, "UADMIN", Role::Admin).await;
        change_settings(&w.store, &w.community, &admin, s, t + Duration::hours(5))
            .await
            .unwrap();
        deliver(
            &w,
            "E10",
            &reply("10", "2", "UO", "Yes, open book", t + Duration::hours(6)),
        )
        .await;
        settle(&w).await;
        assert_eq!(earned(&w, "UO").await, 2000, "{b}");
        assert!(unanswered(&w.store, &w).await.is_empty(), "{b}");

        // Texts are sealed: neither the database bytes nor the question tables hold them, and
        // a thread reply to a non-question was not kept at all.
        let raw = db.raw_bytes(&w.store).await;
        let raw = String::from_utf8_lossy(&raw);
        assert!(!raw.contains("SECRET-ANSWER-4"), "{b}");
        assert!(!raw.contains("SECRET-NOT-AN-ANSWER"), "{b}");
        let mut tx = w.store.begin().await.unwrap();
        let kept = tx
            .for_community(&w.community)
            .list_messages()
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(kept.iter().all(|m| m.platform_message_id != "C1:7"), "{b}");
        assert!(kept.iter().any(|m| m.platform_message_id == "C1:4"), "{b}");

        // Replay reproduces every reward.
        let report = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
        assert!(report.matches(), "{b}: {:?}", report.differences);
    }
}
