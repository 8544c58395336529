//! Bad input: every refusal has the right status, stores nothing, is counted in `/metrics`
//! (`classcred_rejected_requests{source="slack",reason}`) and asks Slack not to retry.

use crate::fixture;
use crate::server::{NowUnix, Server, SECRET};
use chrono::{TimeZone, Utc};
use classcred_slack::{sign, SigningSecret};
use classcred_store::testing::TestDb;

struct Case {
    name: &'static str,
    path: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    /// `None`: no signature headers; `Some(offset)`: signed with the clock plus offset seconds.
    sign_offset: Option<i64>,
    secret: &'static str,
    status: u16,
    reason: &'static str,
}

fn case(
    name: &'static str,
    path: &'static str,
    body: Vec<u8>,
    status: u16,
    reason: &'static str,
) -> Case {
    let content_type = if path == "/slack/events" {
        "application/json"
    } else {
        "application/x-www-form-urlencoded"
    };
    Case {
        name,
        path,
        content_type,
        body,
        sign_offset: Some(0),
        secret: SECRET,
        status,
        reason,
    }
}

fn cases() -> Vec<Case> {
    let msg = fixture("message.json");
    let unknown_team = String::from_utf8(msg.clone())
        .unwrap()
        .replace("T061EG9R6", "T0UNKNOWN1")
        .into_bytes();
    let mut over_limit = b"{\"type\":\"event_callback\",\"pad\":\"".to_vec();
    over_limit.extend(std::iter::repeat_n(
        b'a',
        classcred_slack::body::MAX_BODY_BYTES,
    ));
    over_limit.extend(b"\"}");
    vec![
        Case {
            secret: "not-the-signing-secret",
            ..case(
                "bad signature",
                "/slack/events",
                msg.clone(),
                401,
                "bad_signature",
            )
        },
        Case {
            secret: "not-the-signing-secret",
            ..case(
                "bad signature on url_verification",
                "/slack/events",
                fixture("url_verification.json"),
                401,
                "bad_signature",
            )
        },
        Case {
            sign_offset: None,
            ..case(
                "missing signature",
                "/slack/events",
                msg.clone(),
                401,
                "missing_signature",
            )
        },
        Case {
            sign_offset: Some(-301),
            ..case(
                "stale timestamp",
                "/slack/events",
                msg.clone(),
                401,
                "stale_timestamp",
            )
        },
        Case {
            sign_offset: Some(301),
            ..case(
                "future timestamp",
                "/slack/commands",
                fixture("slash_command.form"),
                401,
                "stale_timestamp",
            )
        },
        case(
            "malformed JSON",
            "/slack/events",
            b"{\"type\":\"event_callback\",".to_vec(),
            400,
            "malformed_json",
        ),
        case(
            "wrong shape",
            "/slack/events",
            br#"{"type":"event_callback","team_id":"T061EG9R6"}"#.to_vec(),
            400,
            "malformed_json",
        ),
        case(
            "invalid UTF-8",
            "/slack/events",
            vec![b'{', 0xff, 0xfe, b'}'],
            400,
            "invalid_utf8",
        ),
        case(
            "body over the limit",
            "/slack/events",
            over_limit,
            413,
            "too_large",
        ),
        case(
            "unknown team",
            "/slack/events",
            unknown_team,
            404,
            "unknown_team",
        ),
        Case {
            content_type: "text/plain",
            ..case(
                "wrong content type",
                "/slack/events",
                msg.clone(),
                415,
                "content_type",
            )
        },
        case(
            "malformed form",
            "/slack/commands",
            b"team_id=T1&team_id=T2".to_vec(),
            400,
            "malformed_form",
        ),
        case(
            "form without user",
            "/slack/commands",
            b"team_id=T061EG9R6&command=%2Fcred".to_vec(),
            400,
            "missing_field",
        ),
        case(
            "invalid UTF-8 form",
            "/slack/commands",
            b"text=%FF".to_vec(),
            400,
            "invalid_utf8",
        ),
        case(
            "interaction without payload",
            "/slack/interactivity",
            b"nothing=here".to_vec(),
            400,
            "missing_field",
        ),
        case(
            "interaction with bad JSON",
            "/slack/interactivity",
            b"payload=%7Bnope".to_vec(),
            400,
            "malformed_json",
        ),
        Case {
            sign_offset: None,
            ..case(
                "unsigned interaction",
                "/slack/interactivity",
                b"payload=%7B%7D".to_vec(),
                401,
                "missing_signature",
            )
        },
    ]
}

#[tokio::test]
async fn bad_input_is_refused_counted_and_stores_nothing() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let s = Server::start(db, Utc.timestamp_opt(1_700_001_000, 0).unwrap(), true).await;
        let tables = [
            "inbox",
            "member",
            "community",
            "ledger_entry",
            "job",
            "installation",
        ];
        let mut before = Vec::new();
        for t in tables {
            before.push(s.count(t).await);
        }
        for c in cases() {
            let was = s.rejections(c.reason).await;
            let mut req = s
                .http
                .post(format!("{}{}", s.base, c.path))
                .header("content-type", c.content_type);
            if let Some(off) = c.sign_offset {
                let ts = (s.clock.now_unix() + off).to_string();
                let sig = sign(&SigningSecret::new(c.secret), &ts, &c.body);
                req = req
                    .header("x-slack-request-timestamp", ts)
                    .header("x-slack-signature", sig);
            }
            let r = req.body(c.body.clone()).send().await.unwrap();
            assert_eq!(r.status().as_u16(), c.status, "{backend}: {}", c.name);
            assert_eq!(
                r.headers()
                    .get("x-slack-no-retry")
                    .map(|v| v.to_str().unwrap()),
                Some("1"),
                "{}",
                c.name
            );
            let text = r.text().await.unwrap();
            assert!(
                !text.contains("STUDENT") && !text.contains("fire"),
                "{}: no payload echoed",
                c.name
            );
            assert_eq!(
                s.rejections(c.reason).await,
                was + 1,
                "{backend}: {} counted",
                c.name
            );
        }
        for (t, b) in tables.iter().zip(before) {
            assert_eq!(s.count(t).await, b, "{backend}: nothing stored in {t}");
        }
    }
}

#[tokio::test]
async fn without_a_signing_secret_everything_is_refused() {
    let s = Server::start(
        TestDb::sqlite().await,
        Utc.timestamp_opt(1_700_001_000, 0).unwrap(),
        false,
    )
    .await;
    // A server whose config has no signing secret: build one directly.
    let mut config = s.config.clone();
    config.signing_secret = None;
    let state =
        classcred_slack::SlackState::from_config(s.store.clone(), s.metrics.clone(), config)
            .unwrap();
    let app = classcred_slack::routes(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let ts = s.clock.now_unix().to_string();
    let body = fixture("url_verification.json");
    let r = s
        .http
        .post(format!("http://{addr}/slack/events"))
        .header("content-type", "application/json")
        .header("x-slack-request-timestamp", &ts)
        .header(
            "x-slack-signature",
            sign(&SigningSecret::new(SECRET), &ts, &body),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
}

/// Finding 16: the signature headers are checked before the body is read, and an unsigned or
/// badly signed body is never parsed or acted on.
#[tokio::test]
async fn headers_are_checked_before_the_body_is_read_or_parsed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = Server::start(
        TestDb::sqlite().await,
        Utc.timestamp_opt(1_700_001_000, 0).unwrap(),
        true,
    )
    .await;
    // `ssl_check=1` with a signature that does not match: refused, not answered as a probe.
    let ts = s.clock.now_unix().to_string();
    let sig = sign(
        &SigningSecret::new("another-secret-of-32-bytes-000000"),
        &ts,
        b"ssl_check=1&token=x",
    );
    let r = s
        .http
        .post(format!("{}/slack/commands", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", &ts)
        .header("x-slack-signature", sig)
        .body("ssl_check=1&token=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(s.rejections("bad_signature").await, 1);

    // An unsigned request that announces 500 KB and sends 10 bytes is refused at once: the
    // server does not wait for (or read) the body.
    let addr = s.base.trim_start_matches("http://").to_owned();
    for path in ["/slack/events", "/slack/commands", "/slack/interactivity"] {
        let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 500000\r\n\r\n{{\"type\":"
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 256];
        // Guards against a hang only (the old code waited for the rest of the body).
        let n = tokio::time::timeout(std::time::Duration::from_secs(30), conn.read(&mut buf))
            .await
            .expect("answered before the body was sent")
            .unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(text.starts_with("HTTP/1.1 401"), "{path}: {text}");
    }

    // Signed headers but a Content-Length over the limit: 413 before reading.
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let big = classcred_slack::body::MAX_BODY_BYTES + 1;
    let head = format!(
        "POST /slack/events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-slack-request-timestamp: {ts}\r\nx-slack-signature: v0={}\r\ncontent-length: {big}\r\n\r\n",
        "0".repeat(64)
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 256];
    let n = tokio::time::timeout(std::time::Duration::from_secs(30), conn.read(&mut buf))
        .await
        .expect("answered before the body was sent")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
}

/// Finding 18: a lone surrogate escape in Slack's JSON (a message cut inside an emoji) is
/// stored with U+FFFD, not refused with "do not retry".
#[tokio::test]
async fn a_lone_surrogate_in_an_event_is_stored_not_refused() {
    let s = Server::start(
        TestDb::sqlite().await,
        Utc.timestamp_opt(1_700_001_000, 0).unwrap(),
        true,
    )
    .await;
    let inbox = s.count("inbox").await;
    let body = String::from_utf8(fixture("message.json"))
        .unwrap()
        .replacen("\"text\": \"", "\"text\": \"\\ud83d cut \\ud800 ", 1);
    assert!(body.contains("\\ud800"), "the fixture was changed");
    let r = s.event(body.into_bytes()).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("x-slack-no-retry").is_none());
    assert_eq!(s.count("inbox").await, inbox + 1);
}
