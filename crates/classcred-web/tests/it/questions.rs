//! The Questions page and the question settings over HTTP: staff see the unanswered questions
//! oldest first with their texts and answers (an audited read), accept an answer with the
//! CSRF form (the answerer is rewarded through the engine), students are refused; the settings
//! form validates and saves.

use axum::http::StatusCode;
use chrono::{Duration, TimeZone, Utc};
use classcred_engine::{Event, MemberId, MessagePosted};
use classcred_service::{drain, ingest};
use classcred_store::testing::TestDb;
use classcred_store::Role;

use crate::support::{member, World};

fn msg(id: &str, author: &str, text: &str, thread: Option<&str>, min: i64) -> Event {
    Event::MessagePosted(MessagePosted {
        platform_message_id: id.into(),
        author: MemberId::new(author),
        mentions: Vec::new(),
        fire_count: 0,
        text: text.into(),
        thread: thread.map(str::to_owned),
        channel: Some("C1".into()),
        occurred_at: Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap() + Duration::minutes(min),
        is_question: thread.is_none(),
    })
}

#[tokio::test]
async fn staff_see_and_accept_answers_students_are_refused() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = World::new(&db, false).await;
        member(&w.store, &w.a, "UQA", Role::Student).await;
        member(&w.store, &w.a, "UQB", Role::Student).await;
        member(&w.store, &w.a, "UQC", Role::Student).await;
        let mut tx = w.store.begin().await.unwrap();
        for (n, e) in [
            msg("C1:2", "UQC", "Is the exam <b>open book</b>?", None, 30),
            msg("C1:1", "UQA", "How do I balance this equation?", None, 0),
            msg(
                "C1:3",
                "UQB",
                "Count the atoms on each side first.",
                Some("C1:1"),
                40,
            ),
        ]
        .iter()
        .enumerate()
        {
            ingest(&mut tx, &w.a, "slack", &format!("Q{n}"), e)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        drain(&w.store, &w.a).await.unwrap();

        let student = w.sign_in(&w.a, &w.student_a).await;
        let r = w.get("/dashboard/questions", Some(&student)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}");

        // Times are shown in the class's timezone, as on the other class pages.
        sqlx::query("UPDATE community SET settings = $1 WHERE id = $2")
            .bind(r#"{"timezone": "Europe/Berlin"}"#)
            .bind(w.a.as_str())
            .execute(w.store.pool())
            .await
            .unwrap();
        let teacher = w.sign_in(&w.a, &w.instructor_a).await;
        let r = w.get("/dashboard/questions", Some(&teacher)).await;
        assert_eq!(r.status, StatusCode::OK, "{b}");
        assert!(
            r.body.contains("2026-03-02 10:00 CET") && r.body.contains("times in Europe/Berlin"),
            "{b}: asked 09:00 UTC, shown in the class's time"
        );
        let first = r.body.find("How do I balance").expect("question 1");
        let second = r.body.find("open book").expect("question 2");
        assert!(first < second, "{b}: oldest first");
        assert!(
            r.body.contains("Person UQA") && r.body.contains("Count the atoms"),
            "{b}"
        );
        assert!(!r.body.contains("<b>open book</b>"), "{b}: texts escaped");
        assert!(
            r.body.contains("action=\"/dashboard/questions/accept\""),
            "{b}"
        );
        let audited = w.store.audit_entries(Some(&w.a)).await.unwrap();
        assert!(audited.iter().any(|e| e.action == "questions.read"), "{b}");

        let r = w
            .get("/dashboard/questions?show=bogus", Some(&teacher))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b}");

        // Accept: a wrong pair is a 422 with a message, the right one redirects.
        let csrf = w.csrf(&teacher).await;
        let r = w
            .post(
                "/dashboard/questions/accept",
                Some(&teacher),
                &format!("csrf={csrf}&question=C1%3A2&answer=C1%3A3"),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert!(r.body.contains("not an answer to this question"), "{b}");
        let r = w
            .post(
                "/dashboard/questions/accept",
                Some(&teacher),
                "csrf=wrong&question=C1%3A1&answer=C1%3A3",
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}: CSRF");
        let r = w
            .post(
                "/dashboard/questions/accept",
                Some(&teacher),
                &format!("csrf={csrf}&question=C1%3A1&answer=C1%3A3"),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.body);
        let mut tx = w.store.begin().await.unwrap();
        let balances = tx.for_community(&w.a).balances().await.unwrap();
        tx.commit().await.unwrap();
        let earned = balances
            .iter()
            .find(|x| x.platform_user_id == "UQB")
            .map_or(0, |x| x.earned_milli);
        assert_eq!(earned, 1000, "{b}");
        let r = w.get("/dashboard/questions", Some(&teacher)).await;
        assert!(
            !r.body.contains("How do I balance") && r.body.contains("open book"),
            "{b}"
        );
        let r = w
            .get("/dashboard/questions?show=answered", Some(&teacher))
            .await;
        assert!(
            r.body.contains("How do I balance") && r.body.contains("Accepted"),
            "{b}"
        );
    }
}

#[tokio::test]
async fn question_settings_validate_and_save() {
    let db = TestDb::sqlite().await;
    let w = World::new(&db, false).await;
    let admin = w.sign_in(&w.a, &w.admin_a).await;
    let r = w.get("/dashboard/settings/questions", Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK);
    let csrf = w.csrf(&admin).await;
    let r = w
        .post(
            "/dashboard/settings/questions",
            Some(&admin),
            &format!("csrf={csrf}&questions.reward=-2&questions.tracked_channels=C1"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("aria-invalid=\"true\""));
    let r = w
        .post(
            "/dashboard/settings/questions",
            Some(&admin),
            &format!(
                "csrf={csrf}&questions.reward=2&questions.tracked_channels=C1%2C+C2&questions.auto_accept=on"
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mut tx = w.store.begin().await.unwrap();
    let s = classcred_service::settings(&mut tx, &w.a).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(s.questions.reward, classcred_engine::Points::from_whole(2));
    assert_eq!(s.questions.tracked_channels, ["C1", "C2"]);
    assert!(s.questions.auto_accept);
}

#[tokio::test]
async fn firsts_settings_validate_and_save_on_both_backends() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = World::new(&db, false).await;
        let admin = w.sign_in(&w.a, &w.admin_a).await;
        let r = w.get("/dashboard/settings/firsts", Some(&admin)).await;
        assert_eq!(r.status, StatusCode::OK, "{b}");
        assert!(r.body.contains("name=\"firsts.count\""), "{b}");
        let csrf = w.csrf(&admin).await;
        let r = w
            .post(
                "/dashboard/settings/firsts",
                Some(&admin),
                &format!("csrf={csrf}&firsts.enabled=on&firsts.count=0&firsts.points=1"),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert!(r.body.contains("aria-invalid=\"true\""), "{b}");
        let r = w
            .post(
                "/dashboard/settings/firsts",
                Some(&admin),
                &format!("csrf={csrf}&firsts.enabled=on&firsts.count=4&firsts.points=1.5"),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.body);
        let mut tx = w.store.begin().await.unwrap();
        let s = classcred_service::settings(&mut tx, &w.a).await.unwrap();
        tx.commit().await.unwrap();
        assert!(s.firsts.enabled, "{b}");
        assert_eq!(s.firsts.count, 4, "{b}");
        assert_eq!(
            s.firsts.points,
            classcred_engine::Points::from_thousandths(1500),
            "{b}"
        );
    }
}
