//! Scheduled announcements end to end on a real database: schedule (local time in the
//! community's timezone), validation, edit (the older job posts nothing), cancel, the post at
//! its time through the adapter's `NoticeSink::post`, a refusal (failed) and a transient
//! error (scheduled again, editable, retried).

use std::sync::{Arc, Mutex};

use chrono::{Duration, TimeZone, Utc};
use classcred_platform::{
    install, Adapter, Doc, MemberDirectory, NoticeSink, OutgoingNotice, Platform, Platforms, Posted,
};
use classcred_service::announcements::{cancel, edit, list, schedule, Draft, ANNOUNCE_JOB};
use classcred_service::changes::ChangeError;
use classcred_service::Resolved;
use classcred_store::testing::TestDb;
use classcred_store::{AnnouncementState, Clock, Community, ManualClock, MemberRowId, Store};

use crate::{community, room};

/// Records posts; answers with `mode`.
#[derive(Default)]
struct Poster {
    posts: Mutex<Vec<(String, String, String)>>,
    /// 0: sent; 1: refused; 2: transient error.
    mode: Mutex<u8>,
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
        match *self.0.mode.lock().unwrap() {
            0 => {
                let mut posts = self.0.posts.lock().unwrap();
                posts.push((channel.to_owned(), key.to_owned(), doc.plain()));
                Ok(Posted::Sent(Some(format!("$posted{}", posts.len()))))
            }
            1 => Ok(Posted::Refused("no such room".into())),
            _ => anyhow::bail!("homeserver unreachable"),
        }
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

/// Runs every due job of this kind; returns how many failed.
async fn run(store: &Store, p: &Platforms) -> usize {
    let mut failed = 0;
    while let Some(job) = store.claim_job("w", 60_000).await.unwrap() {
        let r = if job.kind == ANNOUNCE_JOB {
            p.post_announcement_job(store, &job).await
        } else {
            Ok(())
        };
        match r {
            Ok(()) => {
                store.complete_job(&job.id, "w").await.unwrap();
            }
            Err(_) => {
                failed += 1;
                store.fail_job(&job, "w", "test").await.unwrap();
            }
        }
    }
    failed
}

async fn state_of(store: &Store, c: &Community, id: &str) -> (AnnouncementState, i64) {
    let mut tx = store.begin().await.unwrap();
    let a = tx
        .for_community(&c.id)
        .announcement(id)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    (a.state, a.version)
}

async fn member(store: &Store, c: &Community, platform_id: &str) -> MemberRowId {
    let mut tx = store.begin().await.unwrap();
    let m = tx
        .for_community(&c.id)
        .member_id_by_platform(platform_id)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    m
}

fn draft(channel: &str, text: &str, at: &str) -> Draft {
    Draft {
        channel: channel.into(),
        text: text.into(),
        post_at: at.into(),
    }
}

fn field(e: ChangeError) -> String {
    match e {
        ChangeError::Invalid { field, .. } => field,
        other => format!("{other:?}"),
    }
}

#[tokio::test]
async fn announcements_are_posted_at_their_local_time_once_and_as_last_edited() {
    for db in TestDb::all().await {
        let b = db.backend();
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap(),
        ));
        let store = db
            .store_with(classcred_crypto::MasterKey::generate(), clock.clone())
            .await;
        let rec = Arc::new(Poster::default());
        let p = Platforms::new().with(Adapter {
            platform: Platform::Matrix,
            notices: Arc::new(Sink(rec.clone())),
            members: Arc::new(Sink(rec.clone())),
        });
        install(
            &store,
            &room(Platform::Matrix, "!bio:localtest", "@teacher:localtest"),
        )
        .await
        .unwrap();
        let c = community(&store, Platform::Matrix, "!bio:localtest").await;
        let teacher = member(&store, &c, "@teacher:localtest").await;
        // The community's clock is Berlin's (UTC+1 in March).
        let mut settings: classcred_engine::CommunitySettings =
            serde_json::from_str(&c.settings_json).unwrap();
        settings.timezone = classcred_engine::time::Timezone::parse("Europe/Berlin").unwrap();
        classcred_service::changes::change_settings(&store, &c.id, &teacher, settings, clock.now())
            .await
            .unwrap();
        let now = clock.now();

        // Refusals, each next to its field.
        let e = schedule(
            &store,
            &c.id,
            &teacher,
            &draft("", "Quiz!", "2026-03-02 11:00"),
            now,
        )
        .await
        .unwrap_err();
        assert_eq!(field(e), "post_at", "{b}: 10:00 UTC has passed");
        let e = schedule(
            &store,
            &c.id,
            &teacher,
            &draft("", "  ", "2026-03-02 14:00"),
            now,
        )
        .await
        .unwrap_err();
        assert_eq!(field(e), "text", "{b}");
        let e = schedule(
            &store,
            &c.id,
            &teacher,
            &draft("my room", "Quiz!", "2026-03-02 14:00"),
            now,
        )
        .await
        .unwrap_err();
        assert_eq!(field(e), "channel", "{b}");
        let e = schedule(
            &store,
            &c.id,
            &teacher,
            &draft("", "Quiz!", "2026-03-29 02:30"),
            now,
        )
        .await
        .unwrap_err();
        assert_eq!(field(e), "post_at", "{b}: a skipped local time");

        // 14:00 in Berlin is 13:00 UTC; an empty channel is the community's own room.
        let a = schedule(
            &store,
            &c.id,
            &teacher,
            &draft("", "Quiz on Friday!\r\nBring a pencil.", "2026-03-02T14:00"),
            now,
        )
        .await
        .unwrap();
        assert_eq!(
            a.post_at,
            Utc.with_ymd_and_hms(2026, 3, 2, 13, 0, 0)
                .unwrap()
                .timestamp_millis()
        );
        assert_eq!(a.channel, "!bio:localtest");
        assert_eq!((a.state, a.version), (AnnouncementState::Scheduled, 1));
        // The text is sealed at rest.
        let raw: Vec<u8> = sqlx::query_scalar("SELECT text_enc FROM announcement WHERE id = $1")
            .bind(&a.id)
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("Quiz"), "{b}");

        // Not due yet: nothing posted.
        assert_eq!(run(&store, &p).await, 0);
        assert!(rec.posts.lock().unwrap().is_empty(), "{b}");

        // Edited before its time: version 2, a new job; the old job posts nothing.
        let a2 = edit(
            &store,
            &c.id,
            &teacher,
            &a.id,
            &draft(
                "!bio:localtest",
                "Quiz moved to Monday.",
                "2026-03-02 14:30",
            ),
            now,
        )
        .await
        .unwrap();
        assert_eq!(a2.version, 2);
        clock.set(Utc.with_ymd_and_hms(2026, 3, 2, 13, 0, 0).unwrap());
        assert_eq!(run(&store, &p).await, 0);
        assert!(
            rec.posts.lock().unwrap().is_empty(),
            "{b}: version 1 is not posted"
        );
        clock.set(Utc.with_ymd_and_hms(2026, 3, 2, 13, 30, 0).unwrap());
        assert_eq!(run(&store, &p).await, 0);
        assert_eq!(
            *rec.posts.lock().unwrap(),
            vec![(
                "!bio:localtest".to_owned(),
                format!("announce.{}.2", a.id),
                "Quiz moved to Monday.".to_owned()
            )],
            "{b}"
        );
        assert_eq!(
            state_of(&store, &c, &a.id).await,
            (AnnouncementState::Sent, 2)
        );
        // The engine learnt the posted message (in the same transaction), so replies in its
        // thread respond to the announcement; the community timeline says it was posted.
        let mut tx = store.begin().await.unwrap();
        let mut scoped = tx.for_community(&c.id);
        assert_eq!(
            scoped.announcement_of_message("$posted1").await.unwrap(),
            Some(a.id.clone()),
            "{b}"
        );
        let feed = scoped.feed(None, 50).await.unwrap();
        tx.commit().await.unwrap();
        assert!(
            feed.iter().any(|f| f.kind == "announcement_posted"),
            "{b}: {feed:?}"
        );
        // Sent: no more edits or cancelling; running again posts nothing.
        let later = clock.now();
        let e = edit(
            &store,
            &c.id,
            &teacher,
            &a.id,
            &draft("", "x", "2026-03-03 10:00"),
            later,
        )
        .await
        .unwrap_err();
        assert_eq!(field(e), "state", "{b}");
        assert_eq!(
            field(cancel(&store, &c.id, &teacher, &a.id).await.unwrap_err()),
            "state"
        );
        assert_eq!(run(&store, &p).await, 0);
        assert_eq!(rec.posts.lock().unwrap().len(), 1, "{b}");

        // Cancelled before its time: never posted.
        let c2 = schedule(
            &store,
            &c.id,
            &teacher,
            &draft("", "Party!", "2026-03-02 15:00"),
            later,
        )
        .await
        .unwrap();
        cancel(&store, &c.id, &teacher, &c2.id).await.unwrap();
        clock.set(Utc.with_ymd_and_hms(2026, 3, 2, 15, 0, 0).unwrap());
        assert_eq!(run(&store, &p).await, 0);
        assert_eq!(rec.posts.lock().unwrap().len(), 1, "{b}");
        assert_eq!(
            state_of(&store, &c, &c2.id).await.0,
            AnnouncementState::Cancelled
        );

        // A transient error: scheduled again (editable), the job retried; then a refusal.
        let now = clock.now();
        let t = schedule(
            &store,
            &c.id,
            &teacher,
            &draft("", "Office hours", "2026-03-02 16:05"),
            now,
        )
        .await
        .unwrap();
        clock.set(Utc.with_ymd_and_hms(2026, 3, 2, 15, 5, 0).unwrap());
        *rec.mode.lock().unwrap() = 2;
        assert_eq!(run(&store, &p).await, 1, "{b}: the failure fails the job");
        assert_eq!(
            state_of(&store, &c, &t.id).await,
            (AnnouncementState::Scheduled, 1)
        );
        *rec.mode.lock().unwrap() = 1;
        clock.advance(Duration::hours(1));
        assert_eq!(run(&store, &p).await, 0);
        assert_eq!(
            state_of(&store, &c, &t.id).await.0,
            AnnouncementState::Failed,
            "{b}"
        );

        // Only Admins and Instructors schedule.
        let student = classcred_store::NewMember {
            platform_user_id: "@ana:localtest".into(),
            role: classcred_store::Role::Student,
            kind: classcred_store::MemberKind::Human,
            profile: Default::default(),
        };
        let mut tx = store.begin().await.unwrap();
        classcred_service::join_member(&mut tx, &c.id, "matrix", &student, clock.now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let ana = member(&store, &c, "@ana:localtest").await;
        let e = schedule(
            &store,
            &c.id,
            &ana,
            &draft("", "Hi", "2026-03-05 10:00"),
            clock.now(),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, ChangeError::Forbidden), "{b}: {e:?}");

        // The list: scheduled first (none left), then the rest, latest first.
        let all = list(&store, &c.id).await.unwrap();
        assert_eq!(all.len(), 3, "{b}");
        assert!(all.iter().all(|x| x.state != AnnouncementState::Scheduled));
    }
}
