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
