//! `ask` through the seam on both backends: usage for an empty question and a refusal outside
//! a channel; a question queues one job (the text sealed in its payload) that posts "Question
//! from NAME: TEXT" with the adapter's `NoticeSink::post` and stores the student's question
//! under the posted message's id; a reply in its thread is an answer; the Matrix help names
//! `buy`, `accept` and `ask`.

use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use classcred_engine::{Event, MemberId, MessagePosted};
use classcred_platform::ask::ASK_JOB;
use classcred_platform::{
    install, run_command, Adapter, CommandContext, Doc, MemberDirectory, NoticeSink,
    OutgoingNotice, Platform, Platforms, Posted,
};
use classcred_service::Resolved;
use classcred_store::{Community, Store};

use crate::{community, person, room, stores};

#[derive(Default)]
struct Poster {
    posts: Mutex<Vec<(String, String, String)>>,
}

struct Sink(Arc<Poster>);

#[async_trait::async_trait]
impl NoticeSink for Sink {
    async fn send(&self, _: &Store, _: &OutgoingNotice) -> anyhow::Result<()> {
        Ok(())
    }
    async fn post(
        &self,
        _: &Store,
        _: &Community,
        channel: &str,
        key: &str,
        doc: &Doc,
    ) -> anyhow::Result<Posted> {
        let mut posts = self.0.posts.lock().unwrap();
        posts.push((channel.to_owned(), key.to_owned(), doc.plain()));
        Ok(Posted::Sent(Some(format!("$asked{}", posts.len()))))
    }
}

#[async_trait::async_trait]
impl MemberDirectory for Sink {
    async fn sync_members(&self, _: &Store, _: &Community) -> anyhow::Result<usize> {
        Ok(0)
    }
    async fn resolve(
        &self,
        _: &Store,
        _: &Community,
        _: &[String],
    ) -> anyhow::Result<Vec<(String, Resolved)>> {
        Ok(Vec::new())
    }
}

/// Runs the due `ask` jobs (others are completed unrun); returns how many ran.
async fn run_asks(store: &Store, p: &Platforms) -> usize {
    let mut n = 0;
    while let Some(job) = store.claim_job("w", 60_000).await.unwrap() {
        if job.kind == ASK_JOB {
            // The question's text is sealed in the payload.
            assert!(!job.payload.to_string().contains("osmosis"));
            p.ask_question_job(store, &job).await.unwrap();
            n += 1;
        }
        store.complete_job(&job.id, "w").await.unwrap();
    }
    n
}

#[tokio::test]
async fn ask_posts_the_question_and_the_engine_tracks_it() {
    for (db, store) in stores().await {
        let b = db.backend();
        let rec = Arc::new(Poster::default());
        let p = Platforms::new().with(Adapter {
            platform: Platform::Matrix,
            notices: Arc::new(Sink(rec.clone())),
            members: Arc::new(Sink(rec.clone())),
        });
        install(
            &store,
            &room(Platform::Matrix, "!ask:localtest", "@t:localtest"),
        )
        .await
        .unwrap();
        let c = community(&store, Platform::Matrix, "!ask:localtest").await;
        let mut tx = store.begin().await.unwrap();
        for (id, name) in [("@s1:localtest", "Ana"), ("@s2:localtest", "Ben")] {
            classcred_service::join_member(&mut tx, &c.id, "matrix", &person(id, name), Utc::now())
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        classcred_service::drain(&store, &c.id).await.unwrap();
        let ctx = |who: &'static str, channel: Option<&'static str>| CommandContext {
            store: &store,
            login: None,
            community: &c,
            platform_user_id: who,
            prefix: "!cred",
            channel,
        };
        let in_room = Some("!ask:localtest");

        let usage = run_command(&ctx("@s1:localtest", in_room), "ask")
            .await
            .plain();
        assert!(usage.contains("!cred ask YOUR QUESTION"), "{b}: {usage}");
        let nowhere = run_command(&ctx("@s1:localtest", None), "ask Why?")
            .await
            .plain();
        assert!(
            nowhere.contains("ask in the class channel"),
            "{b}: {nowhere}"
        );
        let stranger = run_command(&ctx("@nobody:localtest", in_room), "ask Why?")
            .await
            .plain();
        assert!(stranger.contains("does not know you"), "{b}: {stranger}");
        assert_eq!(run_asks(&store, &p).await, 0, "{b}: nothing queued");

        let queued = run_command(
            &ctx("@s1:localtest", in_room),
            "ask What is osmosis, exactly",
        )
        .await
        .plain();
        assert!(queued.contains("will be posted"), "{b}: {queued}");
        assert_eq!(run_asks(&store, &p).await, 1, "{b}");
        let posts = rec.posts.lock().unwrap().clone();
        assert_eq!(posts.len(), 1, "{b}");
        assert_eq!(posts[0].0, "!ask:localtest");
        assert!(posts[0].1.starts_with("ask."), "{b}: a stable key");
        assert_eq!(
            posts[0].2, "Question from Ana: What is osmosis, exactly",
            "{b}"
        );

        // Tracked as Ana's question (asked with the command, so no "?" is needed).
        let mut tx = store.begin().await.unwrap();
        let mut scoped = tx.for_community(&c.id);
        let q = scoped.question("$asked1").await.unwrap().expect("tracked");
        let ana = scoped.member_id_by_platform("@s1:localtest").await.unwrap();
        assert_eq!(Some(q.asker_member_id), ana, "{b}");
        tx.commit().await.unwrap();

        // A reply in its thread is an answer.
        let mut tx = store.begin().await.unwrap();
        let reply = Event::MessagePosted(MessagePosted {
            platform_message_id: "$reply".into(),
            author: MemberId::new("@s2:localtest"),
            mentions: Vec::new(),
            fire_count: 0,
            text: "Water through a membrane.".into(),
            thread: Some("$asked1".into()),
            channel: Some("!ask:localtest".into()),
            occurred_at: Utc.with_ymd_and_hms(2026, 3, 2, 12, 5, 0).unwrap(),
            is_question: false,
        });
        classcred_service::ingest(&mut tx, &c.id, "matrix", "reply-1", &reply)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        classcred_service::drain(&store, &c.id).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let answers = tx.for_community(&c.id).answers("$asked1").await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(answers.len(), 1, "{b}");

        // Matrix has no buttons: the help names the commands that do their work.
        let help = run_command(&ctx("@s1:localtest", in_room), "help")
            .await
            .plain();
        for cmd in [
            "!cred buy <number>",
            "!cred accept ANSWER_ID",
            "!cred ask QUESTION",
        ] {
            assert!(help.contains(cmd), "{b}: {cmd} in {help}");
        }
    }
}
