//! Events per second through the whole recognition path on a real database: ingest into the
//! inbox (one transaction per delivery, as the HTTP adapter does), then drain (resolve members,
//! run the engine against the database, write the outcome, one transaction per event).
//!
//! `cargo bench -p classcred-service --bench throughput` (SQLite; PostgreSQL too when
//! `CLASSCRED_TEST_POSTGRES_URL` is set). Prints one line per backend.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use classcred_engine::{Event, MemberId, MessagePosted};
use classcred_service::{drain, ingest, join_member};
use classcred_store::testing::TestDb;
use classcred_store::{MemberKind, MemberProfile, NewCommunity, NewMember, Role};

const STUDENTS: usize = 300;
const MESSAGES: usize = 3000;

async fn run(db: TestDb) {
    let store = db.store().await;
    let mut tx = store.begin().await.unwrap();
    let inst = tx.create_institution("Bench U").await.unwrap();
    let c = tx
        .create_community(NewCommunity {
            institution_id: inst.id,
            name: "Bench".into(),
            platform: "demo".into(),
            platform_team_id: Some("BENCH".into()),
            settings_json: r#"{"timezone":"America/New_York","daily_quota":5}"#.into(),
        })
        .await
        .unwrap()
        .id;
    let joined = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    for i in 0..STUDENTS {
        let m = NewMember {
            platform_user_id: format!("U{i:05}"),
            role: Role::Student,
            kind: MemberKind::Human,
            profile: MemberProfile {
                name: Some(format!("Student {i}")),
                ..Default::default()
            },
        };
        join_member(&mut tx, &c, "demo", &m, joined).await.unwrap();
    }
    tx.commit().await.unwrap();
    drain(&store, &c).await.unwrap();

    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 14, 0, 0).unwrap();
    let mut units = 0u64;
    let started = Instant::now();
    for n in 0..MESSAGES {
        let author = n % STUDENTS;
        let to = [(n * 7 + 1) % STUDENTS, (n * 13 + 2) % STUDENTS];
        let fires = 1 + (n % 2) as u32;
        units += (fires as u64) * 2;
        let e = Event::MessagePosted(MessagePosted {
            is_question: false,
            channel: None,
            platform_message_id: format!("C:{n}"),
            author: MemberId::new(format!("U{author:05}")),
            mentions: to
                .iter()
                .map(|t| MemberId::new(format!("U{t:05}")))
                .collect(),
            fire_count: fires,
            text: "thanks :fire:".into(),
            thread: None,
            occurred_at: t0 + Duration::seconds(n as i64 * 20),
        });
        let mut tx = store.begin().await.unwrap();
        ingest(&mut tx, &c, "demo", &format!("ev{n}"), &e)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let ingested = started.elapsed();
    let started = Instant::now();
    let processed = drain(&store, &c).await.unwrap();
    let drained = started.elapsed();
    println!(
        "{:<8} {STUDENTS} students, {MESSAGES} messages ({units} fire units requested): \
         ingest {:.0} deliveries/s, process {:.0} events/s ({processed} events in {:.2} s)",
        db.backend(),
        MESSAGES as f64 / ingested.as_secs_f64(),
        processed as f64 / drained.as_secs_f64(),
        drained.as_secs_f64()
    );
    store.close().await;
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        run(TestDb::sqlite().await).await;
        if let Some(pg) = TestDb::postgres().await {
            run(pg).await;
        }
    });
}
