//! `classcred serve`: HTTP, signals, several processes, Slack.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use classcred_store::testing::TestDb;

use crate::support::*;

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
                is_question: false,
                channel: None,
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
            let n = tx
                .for_community(&community)
                .pending_inbox_count()
                .await
                .unwrap();
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
            community.as_str(),
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
            community.as_str(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    drop(pg);
}

/// A minimal Slack Web API on 127.0.0.1 for the binary's member lookups: `users.info` answers
/// that the asked user is a person of workspace T061EG9R6, every other method `{"ok":true}`.
/// Returns its address and how many `users.list` calls it received.
fn fake_web_api() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let lists = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = lists.clone();
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = vec![0u8; 64 * 1024];
            let mut got = 0;
            // Headers and the (small, form-encoded) body arrive in one or a few reads.
            while got < buf.len() {
                match conn.read(&mut buf[got..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got += n,
                }
                let text = String::from_utf8_lossy(&buf[..got]);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break;
                    }
                }
            }
            let text = String::from_utf8_lossy(&buf[..got]).to_string();
            let user = text
                .split(['&', '\n'])
                .find_map(|p| p.trim().strip_prefix("user="))
                .unwrap_or("")
                .to_string();
            if text.contains("users.list") {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            let body = if text.contains("users.info") {
                serde_json::json!({"ok": true, "user": {"id": user, "team_id": "T061EG9R6", "is_bot": false, "deleted": false, "profile": {}}})
            } else {
                serde_json::json!({"ok": true, "members": []})
            }
            .to_string();
            let _ = conn.write_all(
                format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).as_bytes(),
            );
        }
    });
    (addr, lists)
}

/// The binary with Slack configured (single workspace): a signed Events API delivery is stored,
/// processed by the workers (who look the mentioned users up with `users.info`) and shows in
/// the balances; an unsigned one is refused.
#[test]
fn serve_with_slack_processes_a_signed_event() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["keys", "init"]).status.success());
    let (fake, lists) = fake_web_api();
    std::fs::write(
        d.join("classcred.toml"),
        r#"
        [slack]
        signing_secret = "8f742231b10e8888abcd99yyyzzz85a5"
        bot_token = "xoxb-test-token"
        team_id = "T061EG9R6"
        api_base_url = "http://{fake}/api/"
        "#
        .replace("{fake}", &fake),
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
    // `/privacy` lists what this configuration turned on: the Web API at the configured origin
    // and response URLs (the signing secret is set); not the OpenID Provider.
    let privacy = rt.block_on(async {
        reqwest::get(format!("http://{addr}/privacy"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert!(privacy.contains("2 subprocessors in use"), "{privacy}");
    assert!(privacy.contains(&format!("<code>http://{fake}</code>")));
    assert!(privacy.contains("<code>https://hooks.slack.com</code>"));
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
    // The single workspace's members were synced (users.list) by a job after start-up.
    while lists.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(std::time::Instant::now() < deadline, "no users.list sync");
        std::thread::sleep(Duration::from_millis(100));
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    // On demand: `classcred slack sync --community ID` calls users.list now.
    let before = lists.load(std::sync::atomic::Ordering::SeqCst);
    let o = run(
        d,
        &[
            "--config",
            "classcred.toml",
            "slack",
            "sync",
            "--community",
            &community,
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("0 members synced"), "{}", text(&o));
    assert!(lists.load(std::sync::atomic::Ordering::SeqCst) > before);
}

/// A `classcred` process started with extra environment, once it printed `ready`.
struct Started {
    child: std::process::Child,
    /// The rest of the `ready` line (an address, usually).
    ready: String,
    stdout: std::io::Lines<BufReader<std::process::ChildStdout>>,
    stderr: std::thread::JoinHandle<String>,
}

fn start_env(dir: &Path, args: &[&str], env: &[(&str, &str)], ready: &str) -> Started {
    let mut cmd = bin();
    cmd.current_dir(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let err = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            s.push_str(&line);
            s.push('\n');
        }
        s
    });
    let mut found = None;
    for line in stdout.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix(ready) {
            found = Some(rest.trim().to_string());
            break;
        }
    }
    let Some(ready) = found else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("no `{ready}` line: {}", stderr.join().unwrap_or_default());
    };
    Started {
        child,
        ready,
        stdout,
        stderr,
    }
}

/// SIGTERM, then wait (bounded, generously: this checks that it exits at all).
fn terminate(mut s: Started) -> (std::process::ExitStatus, String) {
    Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    let until = std::time::Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > until {
            let _ = s.child.kill();
            let _ = s.child.wait();
            panic!(
                "no exit after SIGTERM: {}",
                s.stderr.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status, s.stderr.join().unwrap())
}

/// A migrated SQLite database in `dir` with one community and `events` unprocessed messages.
fn backlog(dir: &Path, events: usize) -> String {
    use chrono::{Duration as Dur, TimeZone, Utc};
    use classcred_engine::{Event, MemberId, MessagePosted};
    use classcred_store::{MemberKind, MemberProfile, NewCommunity, NewMember, Role};

    assert!(run(dir, &["keys", "init"]).status.success());
    assert!(run(dir, &["migrate"]).status.success());
    let key_text = std::fs::read_to_string(dir.join("classcred-master.key")).unwrap();
    let url = format!("sqlite://{}", dir.join("classcred.db").display());
    let rt = tokio::runtime::Runtime::new().unwrap();
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
        let inst = tx.create_institution("U").await.unwrap();
        let c = tx
            .create_community(NewCommunity {
                institution_id: inst.id,
                name: "Backlog".into(),
                platform: "demo".into(),
                platform_team_id: Some("TBL".into()),
                settings_json: r#"{"timezone":"UTC","daily_quota":5}"#.into(),
            })
            .await
            .unwrap()
            .id;
        let joined = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        for u in ["U1", "U2"] {
            let m = NewMember {
                platform_user_id: u.into(),
                role: Role::Student,
                kind: MemberKind::Human,
                profile: MemberProfile::default(),
            };
            classcred_service::join_member(&mut tx, &c, "demo", &m, joined)
                .await
                .unwrap();
        }
        let t = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        for i in 0..events {
            let e = Event::MessagePosted(MessagePosted {
                is_question: false,
                channel: None,
                platform_message_id: format!("C:{i}"),
                author: MemberId::new("U1"),
                mentions: vec![MemberId::new("U2")],
                fire_count: 1,
                text: "thanks :fire:".into(),
                thread: None,
                occurred_at: t + Dur::seconds(i64::try_from(i).unwrap()),
            });
            classcred_service::ingest(&mut tx, &c, "demo", &format!("ev{i}"), &e)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        store.close().await;
        c.to_string()
    })
}

/// Rows of `sql` (one text column, then one integer column) from the SQLite file in `dir`.
fn query_pairs(dir: &Path, sql: &str) -> Vec<(String, i64)> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::{Connection, Row};
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&format!(
            "sqlite://{}",
            dir.join("classcred.db").display()
        ))
        .await
        .unwrap();
        sqlx::query(sql)
            .fetch_all(&mut c)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1)))
            .collect()
    })
}

fn unprocessed(dir: &Path) -> i64 {
    query_pairs(
        dir,
        "SELECT 'n', COUNT(*) FROM inbox WHERE processed_at IS NULL",
    )[0]
    .1
}

/// Issue 7 §2.6: a client holding a partial request open no longer keeps SIGTERM waiting.
#[test]
fn sigterm_with_a_partial_request_open_exits_at_the_deadline() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    assert!(run(dir.path(), &["keys", "init"]).status.success());
    let srv = start_env(
        dir.path(),
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("CLASSCRED_SHUTDOWN_TIMEOUT_MS", "300"),
            ("CLASSCRED_HTTP_HEADER_TIMEOUT_MS", "600000"),
            ("CLASSCRED_HTTP_IDLE_TIMEOUT_MS", "600000"),
        ],
        "classcred listening on ",
    );
    let mut conn = std::net::TcpStream::connect(&srv.ready).unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    // A complete request after it: the partial one has been accepted by then.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let r = rt.block_on(reqwest::get(format!("http://{}/healthz", srv.ready)));
    assert_eq!(r.unwrap().status(), 200);
    let (status, stderr) = terminate(srv);
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("shutdown deadline passed"), "{stderr}");
    drop(conn);
}

/// Issue 7 §2.6: `serve --workers-only` stops within its deadline while draining a backlog; the
/// drain in hand is abandoned to the queue (its transaction rolls back) and finishes later.
#[test]
fn workers_only_stops_at_the_deadline_while_draining_a_backlog() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    backlog(d, 3000);
    let drains = |d: &Path| {
        query_pairs(
            d,
            "SELECT state, attempts FROM job WHERE kind = 'recognition.drain' ORDER BY created_at",
        )
    };
    assert_eq!(
        drains(d),
        vec![("queued".to_string(), 0)],
        "3000 ingests, one coalesced drain job"
    );
    let env = [
        ("CLASSCRED_WORKERS", "1"),
        ("CLASSCRED_SHUTDOWN_TIMEOUT_MS", "200"),
    ];
    let workers = start_env(
        d,
        &["serve", "--workers-only"],
        &env,
        "classcred workers started",
    );
    let until = std::time::Instant::now() + Duration::from_secs(120);
    // 3002 rows (two joins), perhaps one more for a week closing: wait for progress.
    while unprocessed(d) > 2990 {
        assert!(std::time::Instant::now() < until, "the drain never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (status, stderr) = terminate(workers);
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("job abandoned at shutdown"), "{stderr}");
    assert!(stderr.contains("worker stopped"), "{stderr}");
    assert!(unprocessed(d) > 0, "stopped mid-backlog");
    let jobs = drains(d);
    assert!(
        !jobs.iter().any(|(state, _)| state == "running"),
        "{jobs:?}"
    );
    assert_eq!(
        jobs.iter()
            .filter(|(state, _)| state == "queued")
            .collect::<Vec<_>>(),
        vec![&("queued".to_string(), 0)],
        "the drain is queued again, its attempt not counted: {jobs:?}"
    );
}

/// `metrics_listen`: `/metrics` moves to its own address; the public one no longer serves it.
#[test]
fn metrics_listen_serves_metrics_apart() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run(dir.path(), &["keys", "init"]).status.success());
    let mut srv = start_env(
        dir.path(),
        &["serve", "--listen", "127.0.0.1:0"],
        &[("CLASSCRED_METRICS_LISTEN", "127.0.0.1:0")],
        "classcred listening on ",
    );
    let line = srv.stdout.next().unwrap().unwrap();
    let metrics_addr = line
        .strip_prefix("classcred metrics listening on ")
        .unwrap()
        .to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = |url: String| rt.block_on(async { reqwest::get(url).await.unwrap().status() });
    assert_eq!(status(format!("http://{}/metrics", srv.ready)), 404);
    assert_eq!(status(format!("http://{}/healthz", srv.ready)), 200);
    assert_eq!(status(format!("http://{metrics_addr}/metrics")), 200);
    assert_eq!(status(format!("http://{metrics_addr}/healthz")), 200);
    let (status, stderr) = terminate(srv);
    assert!(status.success(), "{stderr}");
}

/// Issue 7 §2.5: the whole `serve` (HTTP and workers) under load, with debug-level tracing and
/// clients that drop their connections mid-request, never panics, and drains everything.
#[test]
fn serve_under_load_with_debug_tracing_does_not_panic() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    backlog(d, 400);
    let srv = start_env(
        d,
        &["serve", "--listen", "127.0.0.1:0"],
        &[("RUST_LOG", "debug"), ("CLASSCRED_WORKERS", "4")],
        "classcred listening on ",
    );
    let addr = srv.ready.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let mut tasks = Vec::new();
        for t in 0..32 {
            let http = http.clone();
            let addr = addr.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..30 {
                    let path = if (t + i) % 3 == 0 {
                        "metrics"
                    } else {
                        "healthz"
                    };
                    let r = http
                        .get(format!("http://{addr}/{path}"))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200);
                    if i % 10 == 0 {
                        // A client that gives up mid-request.
                        let mut c = std::net::TcpStream::connect(&addr).unwrap();
                        let _ =
                            c.write_all(b"POST /healthz HTTP/1.1\r\nContent-Length: 50\r\n\r\nab");
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    let until = std::time::Instant::now() + Duration::from_secs(300);
    while unprocessed(d) > 0 {
        assert!(std::time::Instant::now() < until, "backlog not drained");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, stderr) = terminate(srv);
    assert!(status.success(), "clean exit");
    assert!(!stderr.contains("panicked"), "no panic under load");
    assert!(
        stderr.contains("request_id"),
        "requests are traced with their ids"
    );
}

/// Unusable TLS files stop `serve` at start, naming the key, instead of leaving a process that
/// listens but never serves.
#[test]
fn bad_tls_files_stop_serve_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["keys", "init"]).status.success());
    std::fs::write(d.join("cert.pem"), "not a certificate").unwrap();
    std::fs::write(d.join("key.pem"), "not a key").unwrap();
    let mut cmd = bin();
    let o = cmd
        .current_dir(d)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("CLASSCRED_TLS_CERT_FILE", d.join("cert.pem"))
        .env("CLASSCRED_TLS_KEY_FILE", d.join("key.pem"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let out = text(&o);
    assert!(out.contains("tls_cert_file"), "{out}");
    assert!(!out.contains("classcred listening on"), "{out}");
}

/// The scheduler of `serve` prunes done jobs older than `job_retention_days`, and only those.
#[test]
fn serve_prunes_old_done_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["keys", "init"]).status.success());
    assert!(run(d, &["migrate"]).status.success());
    let db = d.join("classcred.db");
    let day_ms: i64 = 86_400_000;
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    for (id, state, age_days) in [
        ("old-done", "done", 10),
        ("new-done", "done", 1),
        ("old-failed", "failed", 10),
    ] {
        let at = now_ms - age_days * day_ms;
        rusqlite_free_update(
            &db,
            &format!(
                "INSERT INTO job (id, kind, payload, state, attempts, max_attempts, run_at, created_at, updated_at) \
                 VALUES ('{id}', 'k', '{{}}', '{state}', 1, 5, {at}, {at}, {at})"
            ),
        );
    }
    let workers = start_env(
        d,
        &["serve", "--workers-only"],
        &[("CLASSCRED_JOB_RETENTION_DAYS", "7")],
        "classcred workers started",
    );
    let until = std::time::Instant::now() + Duration::from_secs(120);
    let ids = || {
        // The scheduler's own jobs (the daily retention run, the export purge, erasure runs)
        // are not among these.
        query_pairs(
            d,
            "SELECT id, attempts FROM job \
             WHERE kind NOT IN ('retention.run', 'export.purge', 'erasure.run') ORDER BY id",
        )
        .into_iter()
        .map(|(id, _)| id)
        .collect::<Vec<_>>()
    };
    while ids().contains(&"old-done".to_string()) {
        assert!(std::time::Instant::now() < until, "old done job not pruned");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, stderr) = terminate(workers);
    assert!(status.success(), "{stderr}");
    assert_eq!(
        ids(),
        vec!["new-done".to_string(), "old-failed".to_string()]
    );
    // The same tick enqueued today's retention run, once.
    let retention = query_pairs(
        d,
        "SELECT kind, attempts FROM job WHERE kind = 'retention.run'",
    );
    assert_eq!(retention.len(), 1, "{retention:?}");
}
