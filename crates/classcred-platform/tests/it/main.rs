//! The platform seam against a real database (SQLite, and PostgreSQL when configured): the
//! install lifecycle, commands, notice dispatch and member look-ups, with fake adapters that
//! record what the seam hands them.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions unwrap: a failed set-up fails the test"
)]

use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use classcred_crypto::MasterKey;
use classcred_engine::{Event, MemberId, MessagePosted};
use classcred_platform::{
    install, run_command, uninstall, Adapter, CommandContext, Install, MemberDirectory, NoticeSink,
    OutgoingNotice, Platform, Platforms,
};
use classcred_service::Resolved;

mod announce;
mod ask;
use classcred_store::testing::TestDb;
use classcred_store::{Community, ManualClock, MemberKind, MemberProfile, NewMember, Role, Store};

async fn stores() -> Vec<(TestDb, Store)> {
    let mut out = Vec::new();
    for db in TestDb::all().await {
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap(),
        ));
        let store = db.store_with(MasterKey::generate(), clock).await;
        out.push((db, store));
    }
    out
}

fn person(id: &str, name: &str) -> NewMember {
    NewMember {
        platform_user_id: id.into(),
        role: Role::Student,
        kind: MemberKind::Human,
        profile: MemberProfile {
            display_name: Some(name.into()),
            ..MemberProfile::default()
        },
    }
}

fn room(platform: Platform, team: &str, installer: &str) -> Install {
    Install {
        platform,
        team_id: team.into(),
        name: "Biology 101".into(),
        installer: Some(person(installer, "Teacher")),
        app_member: Some(NewMember {
            platform_user_id: "@classcred:localtest".into(),
            role: Role::Student,
            kind: MemberKind::App,
            profile: MemberProfile::default(),
        }),
        installation: None,
    }
}

async fn community(store: &Store, platform: Platform, team: &str) -> Community {
    let mut tx = store.begin().await.unwrap();
    let c = tx
        .community_by_team(platform.as_str(), team)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    c
}

#[tokio::test]
async fn install_uninstall_reinstall() {
    for (db, store) in stores().await {
        let b = db.backend();
        let first = install(
            &store,
            &room(Platform::Matrix, "!r:localtest", "@t:localtest"),
        )
        .await
        .unwrap();
        assert!(first.created, "{b}");
        let c = community(&store, Platform::Matrix, "!r:localtest").await;
        assert_eq!(
            (c.platform.as_str(), c.name.as_str()),
            ("matrix", "Biology 101")
        );
        let mut tx = store.begin().await.unwrap();
        let admin = tx
            .for_community(&c.id)
            .member(first.installer_member_id.as_ref().unwrap())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            admin.role,
            Role::Admin,
            "{b}: the installer of a new community"
        );

        // Removing disables; installing again re-enables and grants nothing to a newcomer.
        assert_eq!(
            uninstall(&store, Platform::Matrix, "!r:localtest")
                .await
                .unwrap(),
            Some(c.id.clone())
        );
        let off = community(&store, Platform::Matrix, "!r:localtest").await;
        assert_ne!(off.state, classcred_store::CommunityState::Active, "{b}");
        let again = install(
            &store,
            &room(Platform::Matrix, "!r:localtest", "@eve:localtest"),
        )
        .await
        .unwrap();
        assert!(!again.created && again.community_id == c.id, "{b}");
        let on = community(&store, Platform::Matrix, "!r:localtest").await;
        assert_eq!(on.state, classcred_store::CommunityState::Active, "{b}");
        let mut tx = store.begin().await.unwrap();
        let eve = tx
            .for_community(&c.id)
            .member(again.installer_member_id.as_ref().unwrap())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(eve.role, Role::Student, "{b}: a re-install grants nothing");

        // The same team id on another platform is another community.
        let teams = install(&store, &room(Platform::Teams, "!r:localtest", "29:t"))
            .await
            .unwrap();
        assert!(teams.created && teams.community_id != c.id, "{b}");
        assert_eq!(
            uninstall(&store, Platform::Slack, "T-unknown")
                .await
                .unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn commands_answer_with_the_platforms_prefix() {
    for (db, store) in stores().await {
        let b = db.backend();
        install(
            &store,
            &room(Platform::Matrix, "!r:localtest", "@t:localtest"),
        )
        .await
        .unwrap();
        let c = community(&store, Platform::Matrix, "!r:localtest").await;
        let ctx = CommandContext {
            store: &store,
            login: None,
            community: &c,
            platform_user_id: "@t:localtest",
            prefix: "!cred",
            channel: None,
        };
        let help = run_command(&ctx, "help").await.plain();
        assert!(
            help.contains("!cred me") && !help.contains("/cred"),
            "{b}: {help}"
        );
        assert_eq!(run_command(&ctx, "what").await, run_command(&ctx, "").await);
        let me = run_command(&ctx, "me").await.plain();
        assert!(me.contains("Points: 0 earned"), "{b}: {me}");
        let top = run_command(&ctx, "top month").await.plain();
        assert!(top.starts_with("Leaderboard — this month"), "{b}: {top}");
        let usage = run_command(&ctx, "top decade").await.plain();
        assert_eq!(usage, "Usage: !cred top [week|month|all]", "{b}");
        let dash = run_command(&ctx, "dashboard").await.plain();
        assert!(dash.contains("not available on this server"), "{b}: {dash}");
        let stranger = CommandContext {
            platform_user_id: "@nobody:localtest",
            ..ctx
        };
        let sent = run_command(&stranger, "privacy delete").await.plain();
        assert!(sent.contains("does not know you"), "{b}: {sent}");
        let asked = run_command(&ctx, "privacy correct my name is wrong")
            .await
            .plain();
        assert!(
            asked.contains("request to correct your data was sent"),
            "{b}: {asked}"
        );

        uninstall(&store, Platform::Matrix, "!r:localtest")
            .await
            .unwrap();
        let off = community(&store, Platform::Matrix, "!r:localtest").await;
        let ctx = CommandContext {
            community: &off,
            ..ctx
        };
        assert!(run_command(&ctx, "me")
            .await
            .plain()
            .contains("switched off"));
    }
}

#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<OutgoingNotice>>,
    asked: Mutex<Vec<Vec<String>>>,
    /// `(channel, text)` of every post (polls).
    posted: Mutex<Vec<(String, String)>>,
}

struct Fake(Arc<Recorder>);

#[async_trait::async_trait]
impl NoticeSink for Fake {
    async fn send(&self, _: &Store, n: &OutgoingNotice) -> anyhow::Result<()> {
        self.0.sent.lock().unwrap().push(n.clone());
        Ok(())
    }
    async fn post(
        &self,
        _: &Store,
        _: &Community,
        channel: &str,
        _: &str,
        doc: &classcred_platform::Doc,
    ) -> anyhow::Result<classcred_platform::Posted> {
        let mut posted = self.0.posted.lock().unwrap();
        posted.push((channel.to_owned(), doc.plain()));
        Ok(classcred_platform::Posted::Sent(Some(format!(
            "$posted{}",
            posted.len()
        ))))
    }
}

#[async_trait::async_trait]
impl MemberDirectory for Fake {
    async fn sync_members(&self, _: &Store, _: &Community) -> anyhow::Result<usize> {
        Ok(0)
    }
    async fn resolve(
        &self,
        _: &Store,
        _: &Community,
        ids: &[String],
    ) -> anyhow::Result<Vec<(String, Resolved)>> {
        self.0.asked.lock().unwrap().push(ids.to_vec());
        // Knows @bob; says @ghost is nobody; cannot answer for @later yet; tries to slip in an
        // id nobody asked about.
        let mut out = Vec::new();
        for id in ids {
            match id.as_str() {
                "@bob:localtest" => {
                    out.push((id.clone(), Resolved::Member(person(id, "Bob"))));
                }
                "@ghost:localtest" => out.push((id.clone(), Resolved::NotMember("not_found"))),
                _ => {}
            }
        }
        out.push((
            "@intruder:localtest".into(),
            Resolved::Member(person("@intruder:localtest", "X")),
        ));
        Ok(out)
    }
}

fn platforms(rec: &Arc<Recorder>) -> Platforms {
    Platforms::new().with(Adapter {
        platform: Platform::Matrix,
        notices: Arc::new(Fake(rec.clone())),
        members: Arc::new(Fake(rec.clone())),
    })
}

async fn run_jobs(store: &Store, p: &Platforms) -> Vec<String> {
    let mut failures = Vec::new();
    loop {
        let Some(job) = store.claim_job("test-worker", 60_000).await.unwrap() else {
            break;
        };
        let r = match job.kind.as_str() {
            classcred_service::DRAIN_JOB => {
                classcred_service::drain(store, &job.payload_community_id().unwrap())
                    .await
                    .map(|_| ())
                    .map_err(anyhow::Error::from)
            }
            classcred_service::NOTICE_JOB => p.deliver_notice(store, &job).await,
            classcred_service::RESOLVE_MEMBERS_JOB => p.resolve_members_job(store, &job).await,
            classcred_service::SYNC_MEMBERS_JOB => p.sync_members_job(store, &job).await,
            classcred_service::polls::POLL_POST_JOB => p.post_poll_job(store, &job).await,
            classcred_service::polls::POLL_RESULTS_JOB => {
                p.post_poll_results_job(store, &job).await
            }
            _ => Ok(()),
        };
        match r {
            Ok(()) => {
                store.complete_job(&job.id, "test-worker").await.unwrap();
            }
            Err(e) => {
                failures.push(format!("{}: {e}", job.kind));
                // Retried later (backoff on the manual clock): not claimed again in this loop.
                store.fail_job(&job, "test-worker", "test").await.unwrap();
            }
        }
    }
    failures
}

#[tokio::test]
async fn unknown_members_are_looked_up_and_notices_reach_the_adapter() {
    for (db, store) in stores().await {
        let b = db.backend();
        let rec = Arc::new(Recorder::default());
        let p = platforms(&rec);
        install(
            &store,
            &room(Platform::Matrix, "!r:localtest", "@t:localtest"),
        )
        .await
        .unwrap();
        let c = community(&store, Platform::Matrix, "!r:localtest").await;
        let give = |id: &str, to: &[&str]| {
            Event::MessagePosted(MessagePosted {
                is_question: false,
                platform_message_id: id.into(),
                author: MemberId::new("@t:localtest"),
                mentions: to.iter().map(|m| MemberId::new(*m)).collect(),
                fire_count: 1,
                text: "thanks 🔥".into(),
                thread: None,
                channel: Some("!r:localtest".into()),
                occurred_at: Utc.with_ymd_and_hms(2026, 3, 2, 11, 0, 0).unwrap(),
            })
        };
        let mut tx = store.begin().await.unwrap();
        classcred_service::ingest(
            &mut tx,
            &c.id,
            "matrix",
            "$e1",
            &give(
                "$e1",
                &["@bob:localtest", "@ghost:localtest", "@later:localtest"],
            ),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let failures = run_jobs(&store, &p).await;
        assert!(
            failures
                .iter()
                .any(|f| f.contains("could not be looked up")),
            "{b}: an id the platform could not answer fails the job: {failures:?}"
        );
        let asked = rec.asked.lock().unwrap().clone();
        assert!(asked[0].contains(&"@later:localtest".to_string()), "{b}");
        let mut tx = store.begin().await.unwrap();
        let scoped = &mut tx.for_community(&c.id);
        assert!(scoped
            .member_id_by_platform("@bob:localtest")
            .await
            .unwrap()
            .is_some());
        assert!(
            scoped
                .member_id_by_platform("@intruder:localtest")
                .await
                .unwrap()
                .is_none(),
            "{b}: an adapter cannot add members nobody asked about"
        );
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn notices_go_to_the_adapter_with_where_the_member_acted() {
    for (db, store) in stores().await {
        let b = db.backend();
        let rec = Arc::new(Recorder::default());
        let p = platforms(&rec);
        install(
            &store,
            &room(Platform::Matrix, "!r:localtest", "@t:localtest"),
        )
        .await
        .unwrap();
        let c = community(&store, Platform::Matrix, "!r:localtest").await;
        let mut tx = store.begin().await.unwrap();
        classcred_service::join_member(
            &mut tx,
            &c.id,
            "matrix",
            &person("@bob:localtest", "Bob"),
            Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
        )
        .await
        .unwrap();
        // The teacher gives to themself: the engine answers with a private notice.
        let ev = Event::MessagePosted(MessagePosted {
            is_question: false,
            platform_message_id: "$self".into(),
            author: MemberId::new("@t:localtest"),
            mentions: vec![MemberId::new("@t:localtest")],
            fire_count: 1,
            text: "me 🔥".into(),
            thread: None,
            channel: Some("!r:localtest".into()),
            occurred_at: Utc.with_ymd_and_hms(2026, 3, 2, 11, 0, 0).unwrap(),
        });
        classcred_service::ingest(&mut tx, &c.id, "matrix", "$self", &ev)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let failures = run_jobs(&store, &p).await;
        assert!(failures.is_empty(), "{b}: {failures:?}");
        let sent = rec.sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 1, "{b}: {sent:?}");
        let n = &sent[0];
        assert_eq!(n.platform_user_id, "@t:localtest");
        assert_eq!(n.doc.plain(), "You can't give fire to yourself.");
        let src = n.source.as_ref().unwrap();
        assert_eq!(
            (src.message_id.as_str(), src.channel.as_deref()),
            ("$self", Some("!r:localtest")),
            "{b}: the channel is the event's, not parsed from an id"
        );
        // The message row names its channel too.
        let mut tx = store.begin().await.unwrap();
        let messages = tx.for_community(&c.id).list_messages().await.unwrap();
        tx.commit().await.unwrap();
        let m = messages
            .iter()
            .find(|m| m.platform_message_id == "$self")
            .unwrap();
        assert_eq!(m.channel_id, "!r:localtest", "{b}");
    }
}

#[tokio::test]
async fn questions_and_accept_through_the_seam() {
    for (db, store) in stores().await {
        let b = db.backend();
        install(
            &store,
            &room(Platform::Matrix, "!q:localtest", "@t:localtest"),
        )
        .await
        .unwrap();
        let c = community(&store, Platform::Matrix, "!q:localtest").await;
        let mut tx = store.begin().await.unwrap();
        for (id, name) in [
            ("@s1:localtest", "Ana"),
            ("@s2:localtest", "Ben"),
            ("@s3:localtest", "Cy"),
        ] {
            classcred_service::join_member(&mut tx, &c.id, "matrix", &person(id, name), Utc::now())
                .await
                .unwrap();
        }
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        let post = |id: &str, who: &str, text: &str, thread: Option<&str>| {
            Event::MessagePosted(MessagePosted {
                platform_message_id: id.into(),
                author: MemberId::new(who),
                mentions: Vec::new(),
                fire_count: 0,
                text: text.into(),
                thread: thread.map(str::to_owned),
                channel: Some("!q:localtest".into()),
                occurred_at: at,
                is_question: classcred_engine::looks_like_question(text),
            })
        };
        for (n, e) in [
            post("$q", "@s1:localtest", "What is osmosis?", None),
            post(
                "$a",
                "@s2:localtest",
                "Water moving through a membrane.",
                Some("$q"),
            ),
        ]
        .iter()
        .enumerate()
        {
            classcred_service::ingest(&mut tx, &c.id, "matrix", &format!("ev{n}"), e)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        classcred_service::drain(&store, &c.id).await.unwrap();
        let ctx = |who: &'static str| CommandContext {
            store: &store,
            login: None,
            community: &c,
            platform_user_id: who,
            prefix: "!cred",
            channel: None,
        };
        let staff = run_command(&ctx("@t:localtest"), "questions").await.plain();
        assert!(staff.contains("Unanswered questions (1)"), "{b}: {staff}");
        assert!(
            staff.contains("asked by Ana") && staff.contains("What is osmosis?"),
            "{b}: {staff}"
        );
        let own = run_command(&ctx("@s1:localtest"), "questions")
            .await
            .plain();
        assert!(own.contains("Your unanswered questions (1)"), "{b}: {own}");
        let none = run_command(&ctx("@s3:localtest"), "questions")
            .await
            .plain();
        assert!(
            none.contains("Your unanswered questions (0)"),
            "{b}: {none}"
        );
        let refused = run_command(&ctx("@s3:localtest"), "accept $a")
            .await
            .plain();
        assert!(refused.contains("only the asker"), "{b}: {refused}");
        let usage = run_command(&ctx("@s1:localtest"), "accept").await.plain();
        assert!(usage.contains("!cred accept ANSWER_ID"), "{b}: {usage}");
        let done = run_command(&ctx("@s1:localtest"), "accept $a")
            .await
            .plain();
        assert!(done.contains("Answer accepted"), "{b}: {done}");
        let staff = run_command(&ctx("@t:localtest"), "questions").await.plain();
        assert!(staff.contains("Unanswered questions (0)"), "{b}: {staff}");
    }
}

#[tokio::test]
async fn polls_through_the_seam() {
    for (db, store) in stores().await {
        let b = db.backend();
        install(
            &store,
            &room(Platform::Matrix, "!p:localtest", "@t:localtest"),
        )
        .await
        .unwrap();
        let c = community(&store, Platform::Matrix, "!p:localtest").await;
        let mut tx = store.begin().await.unwrap();
        classcred_service::join_member(
            &mut tx,
            &c.id,
            "matrix",
            &person("@s1:localtest", "Ana"),
            Utc::now(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        classcred_service::drain(&store, &c.id).await.unwrap();
        let ctx = |who: &'static str| CommandContext {
            store: &store,
            login: None,
            community: &c,
            platform_user_id: who,
            prefix: "!cred",
            channel: Some("!p:localtest"),
        };
        let said = |doc: classcred_platform::Doc| doc.plain();

        // Students cannot create; the Admin can, and the poll is posted where they asked.
        let t = said(run_command(&ctx("@s1:localtest"), "poll Q? | a | b").await);
        assert!(t.contains("Only Instructors and Admins"), "{b}: {t}");
        let t = said(run_command(&ctx("@t:localtest"), "poll Which topic? | Graphs").await);
        assert!(t.starts_with("Usage: !cred poll"), "{b}: {t}");
        let t = said(run_command(&ctx("@t:localtest"), "poll Which topic? | Graphs | Trees").await);
        assert!(t.contains("is created"), "{b}: {t}");
        let rec = Arc::new(Recorder::default());
        assert_eq!(
            run_jobs(&store, &platforms(&rec)).await,
            Vec::<String>::new()
        );
        let posted = rec.posted.lock().unwrap().clone();
        assert_eq!(posted.len(), 1, "{b}");
        assert_eq!(posted[0].0, "!p:localtest", "{b}");
        assert!(
            posted[0].1.contains("Poll #1: Which topic?") && posted[0].1.contains("!cred vote 1"),
            "{b}: {}",
            posted[0].1
        );
        let p = classcred_service::polls::by_number(&store, &c.id, 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.posted_message_id.as_deref(), Some("$posted1"), "{b}");

        // Listing, voting (by number or text, changeable), refusals, closing.
        let t = said(run_command(&ctx("@s1:localtest"), "polls").await);
        assert!(
            t.contains("Poll #1: Which topic?") && t.contains("Trees"),
            "{b}: {t}"
        );
        let t = said(run_command(&ctx("@s1:localtest"), "vote 1 2").await);
        assert!(t.contains("Your vote in poll #1 is Trees"), "{b}: {t}");
        let t = said(run_command(&ctx("@s1:localtest"), "vote 1 graphs").await);
        assert!(t.contains("is Graphs"), "{b}: {t}");
        let t = said(run_command(&ctx("@s1:localtest"), "vote 1 9").await);
        assert!(t.contains("Not counted"), "{b}: {t}");
        let t = said(run_command(&ctx("@s1:localtest"), "vote 7 1").await);
        assert!(t.contains("There is no poll #7"), "{b}: {t}");
        let t = said(run_command(&ctx("@s1:localtest"), "close 1").await);
        assert!(t.contains("Only Instructors and Admins"), "{b}: {t}");
        let t = said(run_command(&ctx("@t:localtest"), "close 1").await);
        assert!(t.contains("Poll #1 is closed"), "{b}: {t}");
        assert!(t.contains("Graphs — 1 vote (100%)"), "{b}: {t}");
        // The results are posted where the poll was, once.
        assert_eq!(
            run_jobs(&store, &platforms(&rec)).await,
            Vec::<String>::new()
        );
        let posted = rec.posted.lock().unwrap().clone();
        assert_eq!(posted.len(), 2, "{b}: {posted:?}");
        assert_eq!(posted[1].0, "!p:localtest", "{b}");
        assert!(
            posted[1].1.contains("Poll #1: Which topic?")
                && posted[1].1.contains("Graphs — 1 vote (100%)")
                && posted[1].1.contains("closed")
                && !posted[1].1.contains("!cred vote"),
            "{b}: {}",
            posted[1].1
        );
        assert_eq!(
            run_jobs(&store, &platforms(&rec)).await,
            Vec::<String>::new()
        );
        assert_eq!(rec.posted.lock().unwrap().len(), 2, "{b}: posted once");
        let t = said(run_command(&ctx("@s1:localtest"), "vote 1 2").await);
        assert!(t.contains("closed"), "{b}: {t}");
        let t = said(run_command(&ctx("@s1:localtest"), "polls").await);
        assert!(t.contains("no open poll"), "{b}: {t}");
    }
}
