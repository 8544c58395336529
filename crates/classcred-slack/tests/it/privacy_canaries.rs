//! The privacy canary harness end to end, on both backends: a unique string in every personal
//! field, profiles arriving the two ways Slack sends them (a `team_join` event, and the Web API's
//! `users.info` when a mention names someone unknown) and texts through signed message events.
//! The community export holds every canary; after the member's erasure none of theirs is left
//! in the store, the raw database (SQLite file and WAL, or a `pg_dump`), the export directory or
//! the logs; the other member keeps everything and `ledger replay` still matches.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use classcred_service::erasure::{erase_now, ErasureTarget};
use classcred_service::export::{self, ExportSubject};
use classcred_service::receipt::ReceiptSigner;
use classcred_store::testing::TestDb;
use classcred_store::MemberRowId;
use serde_json::{json, Value};

use crate::server::{Server, TEAM};

fn canary(label: &str) -> String {
    format!("canary{label}{}", uuid_like())
}

/// A random suffix (no uuid dependency in this crate's tests).
fn uuid_like() -> String {
    use rand::Rng;
    let mut r = rand::thread_rng();
    (0..16)
        .map(|_| char::from(b'a' + r.gen_range(0..26u8)))
        .collect()
}

/// One member's canaries: field → value.
fn canaries_for(who: &str) -> BTreeMap<&'static str, String> {
    let mut c = BTreeMap::new();
    for field in ["name", "display", "email", "avatar", "tz", "text"] {
        c.insert(field, canary(&format!("{who}{field}")));
    }
    c
}

fn slack_user(id: &str, c: &BTreeMap<&'static str, String>) -> Value {
    json!({
        "id": id, "team_id": TEAM, "name": "student", "deleted": false, "is_bot": false,
        "real_name": c["name"], "tz": c["tz"], "updated": 1_700_000_100,
        "profile": {
            "real_name": c["name"], "display_name": c["display"], "email": c["email"],
            "image_72": format!("https://avatars.example.com/{}.png", c["avatar"]),
        }
    })
}

fn envelope(event_id: &str, event: Value) -> Vec<u8> {
    json!({
        "token": "x", "team_id": TEAM, "api_app_id": "A1", "type": "event_callback",
        "event_id": event_id, "event_time": 1_700_000_200, "event": event
    })
    .to_string()
    .into_bytes()
}

/// A `tracing` writer that keeps everything in memory.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Every byte of every file under `dir`; a zip is opened and its entries' bytes are added too.
fn dir_bytes(dir: &std::path::Path) -> (Vec<u8>, usize) {
    let mut all = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        files += 1;
        if let Ok(mut z) = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())) {
            for i in 0..z.len() {
                let mut f = z.by_index(i).unwrap();
                f.read_to_end(&mut all).unwrap();
            }
        }
        all.extend(bytes);
    }
    (all, files)
}

/// The raw database: the SQLite file with its WAL, or a plain `pg_dump` of the PostgreSQL
/// database (both schemas).
fn raw_database(db: &TestDb) -> Vec<u8> {
    if let Some(path) = db.sqlite_path() {
        let mut all = Vec::new();
        for suffix in ["", "-wal", "-shm"] {
            if let Ok(b) = std::fs::read(format!("{}{suffix}", path.display())) {
                all.extend(b);
            }
        }
        assert!(all.len() > 4096, "the SQLite file was read");
        all
    } else {
        let out = std::process::Command::new("pg_dump")
            .args(["--no-owner", "--dbname", db.url()])
            .output()
            .expect("pg_dump runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.len() > 4096, "a dump was written");
        out.stdout
    }
}

async fn build(s: &Server, dir: &std::path::Path, subject: ExportSubject, to: &MemberRowId) {
    let c = s.community().clone();
    let job = export::start_export(&s.store, &c, subject, to)
        .await
        .unwrap();
    export::run_build(&s.store, dir, &c, &job.id).await.unwrap();
}

async fn member_id(s: &Server, platform_id: &str) -> MemberRowId {
    let mut tx = s.store.begin().await.unwrap();
    let m = tx
        .for_community(s.community())
        .member_by_platform_id(platform_id)
        .await
        .unwrap()
        .expect("a member");
    tx.commit().await.unwrap();
    m.id
}

#[tokio::test]
async fn canaries_through_slack_are_exported_then_erased_everywhere() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "debug,hyper=info,hyper_util=info,reqwest=info,h2=info",
        ))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    for db in TestDb::all().await {
        let backend = db.backend();
        let s = Server::start(db, Utc.timestamp_opt(1_700_000_000, 0).unwrap(), true).await;
        let c = s.community().clone();
        let (ada, bo) = ("U0CANARYA", "U0CANARYB");
        let ca = canaries_for("ada");
        let cb = canaries_for("bo");

        // Ada joins (profile in the event); Bo is only known from a mention, so the worker
        // asks the (fake) Web API with users.info.
        let r = s
            .event(envelope(
                "EvJOIN1",
                json!({"type": "team_join", "user": slack_user(ada, &ca), "event_ts": "1700000100.000100"}),
            ))
            .await;
        assert_eq!(r.status(), 200);
        s.fake
            .user_info(bo, json!({"ok": true, "user": slack_user(bo, &cb)}));
        for (i, (from, to, text)) in [(ada, bo, &ca["text"]), (bo, ada, &cb["text"])]
            .into_iter()
            .enumerate()
        {
            let ts = format!("1700000{}00.000100", 2 + i);
            let r = s
                .event(envelope(
                    &format!("EvMSG{i}"),
                    json!({"type": "message", "channel": "C0CLASS001", "user": from,
                           "text": format!("<@{to}> {text} :fire:"), "ts": ts, "event_ts": ts,
                           "channel_type": "channel"}),
                ))
                .await;
            assert_eq!(r.status(), 200);
            s.run_jobs().await;
        }
        let balances = s.balances(&c).await;
        assert!(
            balances[ada] > 0 && balances[bo] > 0,
            "{backend}: {balances:?}"
        );

        // The community export (for Bo) and Ada's own export hold every canary.
        let exports = tempfile::tempdir().unwrap();
        let (ada_id, bo_id) = (member_id(&s, ada).await, member_id(&s, bo).await);
        build(&s, exports.path(), ExportSubject::Community, &bo_id).await;
        build(
            &s,
            exports.path(),
            ExportSubject::Member(ada_id.clone()),
            &ada_id,
        )
        .await;
        let (files, n) = dir_bytes(exports.path());
        assert_eq!(n, 2, "{backend}: two archives");
        for (field, v) in ca.iter().chain(cb.iter()) {
            assert!(contains(&files, v), "{backend}: {field} canary exported");
        }
        let raw = raw_database(&s.db);
        for v in ca.values().chain(cb.values()) {
            assert!(!contains(&raw, v), "{backend}: a canary stored in clear");
        }

        // Erase Ada; the archives built before hold her data and go with her.
        let receipt = erase_now(
            &s.store,
            &ReceiptSigner::generate(),
            &c,
            ErasureTarget::Member(ada_id.clone()),
            &mut |_, _| {},
        )
        .await
        .unwrap();
        assert!(receipt.tables.get("export_job").copied().unwrap_or(0) >= 2);
        let purged = export::run_purge(&s.store, exports.path()).await.unwrap();
        assert!(purged >= 2, "{backend}: {purged} archives purged");

        // A new community export: everything the store can still read, decrypted.
        build(&s, exports.path(), ExportSubject::Community, &bo_id).await;
        let (files, n) = dir_bytes(exports.path());
        assert_eq!(n, 1, "{backend}: only the new archive is left");
        for (field, v) in &ca {
            assert!(
                !contains(&files, v),
                "{backend}: Ada's {field} still exported"
            );
        }
        for (field, v) in &cb {
            assert!(contains(&files, v), "{backend}: Bo's {field} lost");
        }
        let raw = raw_database(&s.db);
        for (field, v) in &ca {
            assert!(
                !contains(&raw, v),
                "{backend}: Ada's {field} in the database"
            );
        }
        let after = s.balances(&c).await;
        assert_eq!(after.get(bo), balances.get(bo), "{backend}: Bo unchanged");
        assert!(
            !after.contains_key(ada),
            "{backend}: Ada is a former member"
        );
        let report = classcred_service::replay(&s.store, &c, |_, _| {})
            .await
            .unwrap();
        assert!(report.matches(), "{backend}: {:?}", report.differences);
    }

    // Logs carry ids, never personal data: no canary of anyone, before or after the erasure.
    let text = logs.0.lock().unwrap().clone();
    assert!(text.len() > 1000, "logs were captured");
    let text = String::from_utf8_lossy(&text);
    assert!(
        !text.contains("canary"),
        "personal data in the logs: {}",
        text.lines()
            .find(|l| l.contains("canary"))
            .unwrap_or_default()
    );
}
