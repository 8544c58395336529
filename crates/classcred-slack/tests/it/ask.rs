//! `/cred ask` over Slack, with a signed slash command: an empty question gets the usage, a
//! question queues a job that posts "Question from NAME: TEXT" to the channel with
//! `chat.postMessage` and stores it as the student's question under the posted message's id,
//! so the fixture reply in its thread is an answer; the text is sealed in `message`, never
//! stored in plain.

use crate::fixture;
use crate::server::{command_form, Server};
use chrono::{TimeZone, Utc};
use classcred_server::worker::{Handlers, Worker, WorkerConfig};
use classcred_store::testing::TestDb;
use classcred_store::{MemberKind, MemberProfile, Role};
use serde_json::json;

fn now() -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_700_001_000, 0).unwrap()
}

/// Runs the queued `ask` jobs through the platform seam with the Slack adapter (and the
/// drains they queue); returns how many `ask` jobs ran.
async fn run_ask_jobs(s: &Server) -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let platforms = classcred_platform::Platforms::new()
        .with(classcred_slack::adapter(s.client.clone(), s.config.clone()));
    let asks = std::sync::Arc::new(AtomicUsize::new(0));
    let mut h = Handlers::new();
    let counter = asks.clone();
    h.register(classcred_platform::ask::ASK_JOB, move |store, job| {
        let p = platforms.clone();
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            p.ask_question_job(&store, &job).await
        }
    });
    h.register(classcred_service::DRAIN_JOB, |store, job| async move {
        let c = job.payload_community_id()?;
        classcred_service::drain(&store, &c).await?;
        Ok(())
    });
    let w = Worker::new(
        s.store.clone(),
        h,
        s.metrics.clone(),
        WorkerConfig::default(),
    );
    while w.run_once().await.unwrap() {}
    assert_eq!(
        s.store.job_counts().await.unwrap().failed,
        0,
        "no job failed"
    );
    asks.load(Ordering::SeqCst)
}

#[tokio::test]
async fn ask_posts_the_question_and_tracks_it_on_both_backends() {
    for db in TestDb::all().await {
        let b = db.backend();
        let s = Server::start(db, now(), true).await;
        let c = s.community().to_owned();
        let mut tx = s.store.begin().await.unwrap();
        for (u, name) in [
            ("U0STUDENT1", "Alice Example"),
            ("U0STUDENT2", "Bob Example"),
        ] {
            classcred_service::join_member(
                &mut tx,
                &c,
                "slack",
                &classcred_store::NewMember {
                    platform_user_id: u.into(),
                    role: Role::Student,
                    kind: MemberKind::Human,
                    profile: MemberProfile {
                        display_name: Some(name.into()),
                        ..Default::default()
                    },
                },
                now(),
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        s.run_jobs().await;

        let usage = s.command(&command_form("ask", "U0STUDENT1")).await;
        let text =
            usage["text"].as_str().unwrap_or_default().to_owned() + &usage["blocks"].to_string();
        assert!(text.contains("Usage"), "{b}: {usage}");
        assert_eq!(run_ask_jobs(&s).await, 0, "{b}: nothing queued");

        s.fake.script(
            "/api/chat.postMessage",
            vec![
                json!({"ok": true, "channel": "C0LAN2Q65", "ts": "1700000100.000100"}).to_string(),
            ],
        );
        let answer = s
            .command(&command_form(
                "ask How do I start part 2 SECRET-ASK-7?",
                "U0STUDENT1",
            ))
            .await;
        assert!(
            answer
                .to_string()
                .contains("will be posted in this channel"),
            "{b}: {answer}"
        );
        assert_eq!(run_ask_jobs(&s).await, 1, "{b}");
        let posts = s.fake.calls_to("/api/chat.postMessage");
        let posted = posts.last().unwrap().json();
        assert_eq!(posted["channel"], "C0LAN2Q65", "{b}");
        assert!(
            posted["text"]
                .as_str()
                .unwrap_or_default()
                .contains("Question from Alice Example:"),
            "{b}: {posted}"
        );
        assert!(posted.to_string().contains("SECRET-ASK-7"), "{b}");
        s.run_jobs().await;
        assert_eq!(s.count("question").await, 1, "{b}");
        let mut tx = s.store.begin().await.unwrap();
        let mut scoped = tx.for_community(&c);
        let q = scoped
            .question("C0LAN2Q65:1700000100.000100")
            .await
            .unwrap()
            .expect("tracked under the posted message's id");
        let asker = scoped.member_id_by_platform("U0STUDENT1").await.unwrap();
        assert_eq!(Some(q.asker_member_id), asker, "{b}: the student asked");
        assert_eq!(
            scoped
                .message_text("C0LAN2Q65:1700000100.000100")
                .await
                .unwrap()
                .as_deref(),
            Some("How do I start part 2 SECRET-ASK-7?"),
            "{b}"
        );
        tx.commit().await.unwrap();
        // Sealed: the plain text is in no message row.
        let plain: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM message WHERE CAST(text_enc AS TEXT) LIKE '%SECRET-ASK-7%'",
        )
        .fetch_one(s.store.pool())
        .await
        .unwrap_or(0);
        assert_eq!(plain, 0, "{b}");

        // The fixture reply in its thread is an answer.
        assert_eq!(s.event(fixture("message_answer.json")).await.status(), 200);
        s.run_jobs().await;
        assert_eq!(s.count("answer").await, 1, "{b}");
    }
}
