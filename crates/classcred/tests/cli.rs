//! The `classcred` binary as an operator uses it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use classcred_store::testing::TestDb;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_classcred"));
    // The tests decide the configuration, not the developer's environment.
    for (k, _) in std::env::vars() {
        if k.starts_with("CLASSCRED_") {
            c.env_remove(k);
        }
    }
    c.env("RUST_LOG", "info");
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    bin()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run classcred")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn help_for_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["demo", "--help"],
        vec!["keys", "--help"],
        vec!["keys", "init", "--help"],
        vec!["keys", "rotate", "--help"],
        vec!["audit", "--help"],
        vec!["audit", "verify", "--help"],
        vec!["registry", "--help"],
        vec!["community", "list", "--help"],
        vec!["ledger", "balances", "--help"],
        vec!["ledger", "replay", "--help"],
        vec!["ledger", "adjust", "--help"],
        vec!["inbox", "retry", "--help"],
    ] {
        let o = run(dir.path(), &args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("Usage: classcred"),
            "{args:?}"
        );
    }
    let o = run(dir.path(), &["no-such-command"]);
    assert!(!o.status.success());
}

#[test]
fn registry_output_is_the_committed_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["registry", "--format", "markdown"]);
    assert!(o.status.success());
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/DATA-INVENTORY.md"
    ))
    .unwrap();
    assert_eq!(String::from_utf8(o.stdout).unwrap(), doc);
    let o = run(dir.path(), &["registry", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.as_array().unwrap().iter().any(|t| t["name"] == "member"));
}

#[test]
fn keys_demo_audit_and_rotation_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Without a key, serving commands explain what to do.
    let o = run(d, &["migrate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("classcred keys init"), "{}", text(&o));

    let o = run(d, &["keys", "init"]);
    assert!(o.status.success(), "{}", text(&o));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("classcred-master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let o = run(d, &["keys", "init"]);
    assert!(!o.status.success(), "init never overwrites a key");
    assert!(text(&o).contains("refusing to overwrite"));

    assert!(run(d, &["migrate"]).status.success());
    let o = run(d, &["demo", "--no-serve"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("created: 26 members, 80 messages"),
        "{}",
        text(&o)
    );
    let o = run(d, &["demo", "--no-serve"]);
    assert!(text(&o).contains("already present"), "demo is idempotent");

    let o = run(d, &["audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("intact: 1 entries"));

    // Rotation: the old key no longer opens the database; the new one does.
    let old_key = std::fs::read_to_string(d.join("classcred-master.key")).unwrap();
    let o = run(d, &["keys", "rotate"]);
    assert!(o.status.success(), "{}", text(&o));
    let new_key = std::fs::read_to_string(d.join("classcred-master.key")).unwrap();
    assert_ne!(old_key, new_key);
    assert!(!d.join("classcred-master.key.new").exists());
    std::fs::write(d.join("old.key"), &old_key).unwrap();
    let o = run(d, &["--master-key-file", "old.key", "demo", "--no-serve"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("is not the one this database"),
        "{}",
        text(&o)
    );
    let o = run(d, &["demo", "--no-serve"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("26 members"),
        "data still decrypts: {}",
        text(&o)
    );
    let o = run(d, &["audit", "verify"]);
    assert!(
        text(&o).contains("intact: 2 entries"),
        "rotation is audited: {}",
        text(&o)
    );

    // Tampering with the audit log is caught and the entry named.
    let db = d.join("classcred.db");
    let conn = rusqlite_free_update(
        &db,
        "UPDATE audit_entry SET actor = 'someone' WHERE seq = 1",
    );
    assert_eq!(conn, 1);
    let o = run(d, &["audit", "verify"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("audit entry 1 was altered"),
        "{}",
        text(&o)
    );
}

/// Run one statement against a SQLite file through the store's driver.
fn rusqlite_free_update(db: &Path, sql: &str) -> u64 {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::query(sql)
            .execute(&mut c)
            .await
            .unwrap()
            .rows_affected()
    })
}

#[test]
fn demo_on_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(pg) = rt.block_on(TestDb::postgres()) else {
        eprintln!("note: PostgreSQL not configured; skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        dir.path(),
        &["--database-url", pg.url(), "demo", "--no-serve"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("created: 26 members"), "{}", text(&o));
    let o = run(dir.path(), &["--database-url", pg.url(), "audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    drop(pg);
}

struct Server {
    child: std::process::Child,
    addr: String,
    stderr: std::thread::JoinHandle<String>,
}

fn start_server(dir: &Path, listen: &str) -> Server {
    let mut child = bin()
        .current_dir(dir)
        .args(["serve", "--listen", listen])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let err = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            s.push_str(&line);
            s.push('\n');
        }
        s
    });
    let mut addr = String::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(a) = line.strip_prefix("classcred listening on ") {
            addr = a.to_string();
            break;
        }
    }
    assert!(!addr.is_empty(), "server announced its address");
    Server {
        child,
        addr,
        stderr,
    }
}

fn stop(mut s: Server) -> (std::process::ExitStatus, String) {
    Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    let status = s.child.wait().unwrap();
    (status, s.stderr.join().unwrap())
}

#[test]
fn serve_answers_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run(dir.path(), &["keys", "init"]).status.success());
    let srv = start_server(dir.path(), "127.0.0.1:0");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = format!("http://{}/healthz", srv.addr);
    let r = rt.block_on(async { reqwest::get(&url).await.unwrap() });
    assert_eq!(r.status(), 200);
    let m = rt.block_on(async {
        reqwest::get(format!("http://{}/metrics", srv.addr))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert!(m.contains("classcred_http_requests_total"));
    std::thread::sleep(Duration::from_millis(100));
    let (status, stderr) = stop(srv);
    assert!(status.success(), "clean exit on SIGTERM: {stderr}");
    assert!(stderr.contains("shutdown requested"), "{stderr}");
    assert!(
        stderr.contains("worker stopped"),
        "workers stop too: {stderr}"
    );
    assert!(!stderr.contains("beyond loopback"));
}

#[test]
fn warns_when_listening_beyond_loopback_without_tls() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run(dir.path(), &["keys", "init"]).status.success());
    let srv = start_server(dir.path(), "0.0.0.0:0");
    let (_, stderr) = stop(srv);
    assert!(
        stderr.contains("listening beyond loopback without TLS"),
        "{stderr}"
    );
}

fn community_id(dir: &Path) -> String {
    let o = run(dir, &["community", "list", "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v[0]["id"].as_str().unwrap().to_string()
}

#[test]
fn ledger_commands_on_the_demo_class() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["demo", "--no-serve"]).status.success());
    let c = community_id(d);
    let o = run(d, &["community", "list"]);
    assert!(
        text(&o).contains("DEMO-CS101") && text(&o).contains("26"),
        "{}",
        text(&o)
    );

    let o = run(
        d,
        &["ledger", "balances", "--community", &c, "--format", "csv"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let csv = String::from_utf8(o.stdout).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("platform_user_id,role,earned,spendable,level")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 26);
    let total: f64 = rows.iter().map(|r| r[2].parse::<f64>().unwrap()).sum();
    assert!(total > 50.0, "the demo's fires were processed: {total}");
    assert!(
        rows.iter()
            .filter(|r| r[1] != "student")
            .all(|r| r[2] == "0"),
        "staff earn nothing in the demo"
    );

    let o = run(d, &["ledger", "replay", "--community", &c]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("reproduces the stored state"));

    // Adjustments need an Admin and a reason, and are audited.
    let o = run(
        d,
        &[
            "ledger",
            "adjust",
            "--community",
            &c,
            "--by",
            "UDEMO000002",
            "--member",
            "UDEMO000001",
            "--points",
            "2",
            "--reason",
            "x",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("only an Admin"), "{}", text(&o));
    let o = run(
        d,
        &[
            "ledger",
            "adjust",
            "--community",
            &c,
            "--by",
            "UDEMO0ADMIN",
            "--member",
            "UDEMO000001",
            "--points",
            "2",
            "--reason",
            " ",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let before = rows.iter().find(|r| r[0] == "UDEMO000001").unwrap()[2]
        .parse::<f64>()
        .unwrap();
    let o = run(
        d,
        &[
            "ledger",
            "adjust",
            "--community",
            &c,
            "--by",
            "UDEMO0ADMIN",
            "--member",
            "UDEMO000001",
            "--points",
            "-1.5",
            "--reason",
            "late penalty",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = run(
        d,
        &["ledger", "balances", "--community", &c, "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let after = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["platform_user_id"] == "UDEMO000001")
        .unwrap()["earned"]
        .as_str()
        .unwrap()
        .parse::<f64>()
        .unwrap();
    assert!((before - 1.5 - after).abs() < 1e-9, "{before} → {after}");
    assert!(text(&run(d, &["audit", "verify"])).contains("intact: 2 entries"));
    assert!(run(d, &["ledger", "replay", "--community", &c])
        .status
        .success());

    // A tampered ledger is reported, with a non-zero exit.
    rusqlite_free_update(
        &d.join("classcred.db"),
        "UPDATE ledger_entry SET amount_milli = amount_milli + 1 WHERE kind = 'award'",
    );
    let o = run(d, &["ledger", "replay", "--community", &c]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("DIFFERS"), "{}", text(&o));

    let o = run(d, &["inbox", "retry", "--community", &c]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("0 parked deliveries re-queued"),
        "{}",
        text(&o)
    );

    let o = run(d, &["ledger", "balances", "--community", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("community nope"), "{}", text(&o));
}

/// Two `classcred serve` processes on one PostgreSQL database drain one backlog: every event is
/// processed once and the quota is never overspent.
#[test]
fn two_serve_processes_share_one_postgres_queue() {
    use chrono::{Duration as Dur, TimeZone, Utc};
    use classcred_engine::{Event, MemberId, MessagePosted};
    use classcred_store::{MemberKind, MemberProfile, NewCommunity, NewMember, Role};

    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(pg) = rt.block_on(TestDb::postgres()) else {
        eprintln!("note: PostgreSQL not configured; skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["keys", "init"]).status.success());
    let key_text = std::fs::read_to_string(d.join("classcred-master.key")).unwrap();
    let key = classcred_crypto::MasterKey::parse(&key_text).unwrap();
    let community = rt.block_on(async {
        let store = pg
            .store_with(key, std::sync::Arc::new(classcred_store::SystemClock))
            .await;
        let mut tx = store.begin().await.unwrap();
        let inst = tx.create_institution("U").await.unwrap();
        let c = tx
            .create_community(NewCommunity {
                institution_id: inst.id,
                name: "Two workers".into(),
                platform: "demo".into(),
                platform_team_id: Some("T2W".into()),
                settings_json: r#"{"timezone":"UTC","daily_quota":5}"#.into(),
            })
            .await
            .unwrap()
            .id;
        let users: Vec<String> = (0..12).map(|i| format!("U{i:02}")).collect();
        let joined = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        for u in &users {
            let m = NewMember {
                platform_user_id: u.clone(),
                role: Role::Student,
                kind: MemberKind::Human,
                profile: MemberProfile::default(),
            };
            classcred_service::join_member(&mut tx, &c, "demo", &m, joined)
                .await
                .unwrap();
        }
        let t = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        let mut n = 0;
        let mut post = |author: &str, to: &str, i: i64| {
            n += 1;
            Event::MessagePosted(MessagePosted {
                platform_message_id: format!("C:{author}.{i}"),
                author: MemberId::new(author),
                mentions: vec![MemberId::new(to)],
                fire_count: 1,
                text: "thanks :fire:".into(),
                thread: None,
                occurred_at: t + Dur::minutes(i),
            })
        };
        let mut events = Vec::new();
        // U00 tries 20 single fires to U01 in one day: only 5 may count.
        for i in 0..20 {
            events.push(post("U00", "U01", i));
        }
        // Ten others give 3 fires each to U11: all count.
        for giver in &users[1..11] {
            for i in 0..3 {
                events.push(post(giver, "U11", 100 + i));
            }
        }
        for (i, e) in events.iter().enumerate() {
            classcred_service::ingest(&mut tx, &c, "demo", &format!("ev{i}"), e)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        store.close().await;
        c
    });

    let url = pg.url().to_string();
    let start = |d: &Path| {
        let mut child = bin()
            .current_dir(d)
            .args(["--database-url", &url, "serve", "--listen", "127.0.0.1:0"])
            .env("CLASSCRED_WORKERS", "2")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        for line in stdout.lines() {
            if line.unwrap().starts_with("classcred listening on ") {
                break;
            }
        }
        child
    };
    let a = start(d);
    let b = start(d);
    // Wait (bounded) until the backlog is processed.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let pending = || {
        rt.block_on(async {
            let store = classcred_store::Store::connect(
                &url,
                classcred_crypto::MasterKey::parse(&key_text).unwrap(),
                std::sync::Arc::new(classcred_store::SystemClock),
                Default::default(),
            )
            .await
            .unwrap();
            let mut tx = store.begin().await.unwrap();
            let n = tx.pending_inbox_count(&community).await.unwrap();
            tx.commit().await.unwrap();
            store.close().await;
            n
        })
    };
    while pending() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "backlog not drained in time"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for mut child in [a, b] {
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(child.wait().unwrap().success());
    }
    let o = run(
        d,
        &[
            "--database-url",
            &url,
            "ledger",
            "balances",
            "--community",
            &community,
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let earned = |u: &str| -> String {
        v.as_array()
            .unwrap()
            .iter()
            .find(|r| r["platform_user_id"] == u)
            .unwrap()["earned"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(earned("U01"), "5", "the quota held across two processes");
    assert_eq!(earned("U11"), "30");
    let o = run(
        d,
        &[
            "--database-url",
            &url,
            "ledger",
            "replay",
            "--community",
            &community,
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    drop(pg);
}

/// Logs are JSON when asked, carry ids, and never personal data, even at debug level.
#[test]
fn json_logs_carry_no_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["keys", "init"]).status.success());
    let o = bin()
        .current_dir(d)
        .args(["--log-format", "json", "demo", "--no-serve"])
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let stderr = String::from_utf8(o.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > 10, "debug logs were written: {}", lines.len());
    for l in &lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(v.get("level").is_some());
    }
    assert!(stderr.contains("community_id"), "ids are fields");
    for personal in [
        "Okafor",
        "Grace",
        "Hopper",
        "riverbend.example.edu",
        "avatars.example.edu",
        "thanks for",
        ":fire:",
    ] {
        assert!(
            !stderr.contains(personal),
            "log contains personal data {personal:?}"
        );
    }
}

/// The binary with Slack configured (single workspace): a signed Events API delivery is stored,
/// processed by the workers and shows in the balances; an unsigned one is refused.
#[test]
fn serve_with_slack_processes_a_signed_event() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["keys", "init"]).status.success());
    std::fs::write(
        d.join("classcred.toml"),
        r#"
        [slack]
        signing_secret = "8f742231b10e8888abcd99yyyzzz85a5"
        bot_token = "xoxb-test-token"
        team_id = "T061EG9R6"
        api_base_url = "http://127.0.0.1:9/api/"
        "#,
    )
    .unwrap();
    let mut child = bin()
        .current_dir(d)
        .args([
            "--config",
            "classcred.toml",
            "serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut addr = String::new();
    for line in stdout.lines() {
        if let Some(a) = line.unwrap().strip_prefix("classcred listening on ") {
            addr = a.to_string();
            break;
        }
    }
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../classcred-slack/tests/fixtures/message.json"
    ))
    .unwrap();
    let secret = classcred_slack::SigningSecret::new("8f742231b10e8888abcd99yyyzzz85a5");
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let sig = classcred_slack::sign(&secret, &ts, &body);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = format!("http://{addr}/slack/events");
    let (signed, unsigned) = rt.block_on(async {
        let http = reqwest::Client::new();
        let unsigned = http
            .post(&url)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap()
            .status();
        let signed = http
            .post(&url)
            .header("content-type", "application/json")
            .header("x-slack-request-timestamp", &ts)
            .header("x-slack-signature", &sig)
            .body(body.clone())
            .send()
            .await
            .unwrap()
            .status();
        (signed, unsigned)
    });
    assert_eq!(unsigned, 401);
    assert_eq!(signed, 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let community = loop {
        let o = run(d, &["community", "list", "--format", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        if let Some(id) = v.get(0).and_then(|c| c["id"].as_str()) {
            break id.to_string();
        }
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(100));
    };
    loop {
        let o = run(
            d,
            &[
                "ledger",
                "balances",
                "--community",
                &community,
                "--format",
                "csv",
            ],
        );
        let csv = String::from_utf8_lossy(&o.stdout).to_string();
        if csv.contains("U0STUDENT2,student,2,2,0") && csv.contains("U0STUDENT3,student,2,2,0") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "event not processed: {csv}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn every_cookie_the_server_sets_is_declared() {
    let c = classcred_store::registry::cookie(classcred_slack::http::STATE_COOKIE)
        .expect("the Slack OAuth cookie is declared in the privacy registry");
    assert!(c.strictly_necessary);
}
