//! `SlackClient` against a local fake Slack Web API (axum on 127.0.0.1:0) that records calls.

use crate::fixture;
use crate::server::{fake_slack, Call, FakeSlack, Scripted};
use classcred_slack::{
    BotToken, OutboundPolicy, OutgoingMessage, PolicyError, SlackApiError, SlackClient,
    SlackClientConfig, SlackTs, SlackUserId,
};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Harness {
    fake: Arc<FakeSlack>,
    client: SlackClient,
    base: String,
}

impl Harness {
    async fn start() -> Self {
        Self::start_with(|c| c).await
    }

    async fn start_with(tweak: impl FnOnce(SlackClientConfig) -> SlackClientConfig) -> Self {
        let (fake, root) = fake_slack().await;
        let base = format!("{root}/api/");
        let config = tweak(SlackClientConfig {
            api_base_url: base.clone(),
            backoff: Duration::from_millis(10),
            ..SlackClientConfig::default()
        });
        let client = SlackClient::new(config).unwrap();
        Harness { fake, client, base }
    }

    fn script(&self, path: &str, responses: Vec<Scripted>) {
        self.fake.script_raw(path, responses);
    }

    fn calls(&self) -> Vec<Call> {
        self.fake.calls()
    }
}

fn token() -> BotToken {
    BotToken::new("xoxb-test-token")
}

fn uid(s: &str) -> SlackUserId {
    SlackUserId::parse(s).unwrap()
}

fn ok(v: Value) -> Scripted {
    let mut v = v;
    v["ok"] = json!(true);
    (200, None, v.to_string())
}

const JSON_CT: &str = "application/json; charset=utf-8";
const BEARER: &str = "Bearer xoxb-test-token";

#[tokio::test]
async fn post_message_sends_json_with_bearer() {
    let h = Harness::start().await;
    h.script(
        "/api/chat.postMessage",
        vec![ok(json!({"channel": "C1", "ts": "1700000000.000100"}))],
    );
    let posted = h
        .client
        .post_message(
            &token(),
            &OutgoingMessage {
                channel: "C1".into(),
                text: "Poll: which topic?".into(),
                blocks: Some(
                    json!([{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]),
                ),
                thread_ts: Some(SlackTs::parse("1699999999.000001").unwrap()),
            },
        )
        .await
        .unwrap();
    assert_eq!(posted.channel.as_str(), "C1");
    assert_eq!(posted.ts.as_str(), "1700000000.000100");
    let calls = h.calls();
    assert_eq!(calls.len(), 1);
    let c = &calls[0];
    assert_eq!(c.path, "/api/chat.postMessage");
    assert_eq!(c.auth.as_deref(), Some(BEARER));
    assert_eq!(c.content_type.as_deref(), Some(JSON_CT));
    let body = c.json();
    assert_eq!(body["channel"], "C1");
    assert_eq!(body["text"], "Poll: which topic?");
    assert_eq!(body["blocks"][0]["type"], "section");
    assert_eq!(body["thread_ts"], "1699999999.000001");
}

#[tokio::test]
async fn post_ephemeral_and_views() {
    let h = Harness::start().await;
    h.script(
        "/api/chat.postEphemeral",
        vec![ok(json!({"message_ts": "1700000001.000200"}))],
    );
    h.script(
        "/api/views.open",
        vec![ok(json!({"view": {"id": "V123", "type": "modal"}}))],
    );
    let blocks = classcred_slack::blocks::text_blocks("You have 2 :fire: left today.");
    let ts = h
        .client
        .post_ephemeral(
            &token(),
            "C1",
            &uid("U1"),
            "You have 2 left today.",
            Some(&blocks),
        )
        .await
        .unwrap();
    assert_eq!(ts.as_str(), "1700000001.000200");
    let home = classcred_slack::blocks::home_view(&Default::default());
    h.client
        .views_publish(&token(), &uid("U1"), &home)
        .await
        .unwrap();
    let modal =
        classcred_slack::blocks::modal("assignment:submit", "Submit", Some("Send"), "17", vec![]);
    assert_eq!(
        h.client
            .views_open(&token(), "trig.1", &modal)
            .await
            .unwrap(),
        "V123"
    );

    let calls = h.calls();
    let paths: Vec<_> = calls.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/api/chat.postEphemeral",
            "/api/views.publish",
            "/api/views.open"
        ]
    );
    for c in &calls {
        assert_eq!(c.auth.as_deref(), Some(BEARER));
        assert_eq!(c.content_type.as_deref(), Some(JSON_CT));
    }
    let e = calls[0].json();
    assert_eq!(
        (e["channel"].as_str(), e["user"].as_str()),
        (Some("C1"), Some("U1"))
    );
    assert_eq!(e["text"], "You have 2 left today.");
    assert_eq!(e["blocks"], blocks);
    let p = calls[1].json();
    assert_eq!(p["user_id"], "U1");
    assert_eq!(p["view"]["type"], "home");
    let o = calls[2].json();
    assert_eq!(o["trigger_id"], "trig.1");
    assert_eq!(o["view"]["callback_id"], "assignment:submit");
}

fn member(id: &str) -> Value {
    json!({"id": id, "team_id": "T1", "name": id.to_lowercase(), "real_name": "R",
           "profile": {"display_name": "d", "email": "e@x.edu", "image_72": "https://a/72.png", "phone": "1"},
           "tz": "Europe/Berlin", "is_bot": false, "deleted": false})
}

#[tokio::test]
async fn users_info_is_form_encoded() {
    let h = Harness::start().await;
    h.script("/api/users.info", vec![ok(json!({"user": member("U7")}))]);
    let u = h.client.users_info(&token(), &uid("U7")).await.unwrap();
    assert_eq!(u.id.as_str(), "U7");
    assert_eq!(u.profile.email.as_deref(), Some("e@x.edu"));
    assert_eq!(u.tz.as_deref(), Some("Europe/Berlin"));
    let c = &h.calls()[0];
    assert_eq!(c.auth.as_deref(), Some(BEARER));
    assert_eq!(
        c.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(c.form()["user"], "U7");
}

#[tokio::test]
async fn users_list_follows_cursors_to_the_end() {
    let h = Harness::start().await;
    h.script(
        "/api/users.list",
        vec![
            ok(json!({"members": [member("U1"), member("U2")], "response_metadata": {"next_cursor": "dXNlcjpVMDYx"}})),
            ok(json!({"members": [member("U3"), {"id": "not valid"}], "response_metadata": {"next_cursor": "dXNlcjpVMDYy"}})),
            ok(json!({"members": [member("W4")], "response_metadata": {"next_cursor": ""}})),
        ],
    );
    let users = h.client.users_list(&token()).await.unwrap();
    let ids: Vec<_> = users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(
        ids,
        ["U1", "U2", "U3", "W4"],
        "all pages; the malformed member skipped"
    );
    let calls = h.calls();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0].form().get("cursor"), None);
    assert_eq!(calls[0].form()["limit"], "200");
    assert_eq!(calls[1].form()["cursor"], "dXNlcjpVMDYx");
    assert_eq!(calls[2].form()["cursor"], "dXNlcjpVMDYy");
}

#[tokio::test]
async fn users_list_stops_on_a_repeated_cursor() {
    let h = Harness::start().await;
    let page = ok(json!({"members": [member("U1")], "response_metadata": {"next_cursor": "same"}}));
    h.script("/api/users.list", vec![page.clone(), page.clone(), page]);
    assert!(matches!(
        h.client.users_list(&token()).await,
        Err(SlackApiError::Pagination { .. })
    ));
}

#[tokio::test]
async fn oauth_access_uses_basic_auth_and_a_form() {
    let h = Harness::start().await;
    let body = String::from_utf8(fixture("oauth_v2_access.json")).unwrap();
    h.script("/api/oauth.v2.access", vec![(200, None, body)]);
    let access = h
        .client
        .oauth_v2_access(
            "4242.1337",
            &SecretString::from("s3cr3t".to_owned()),
            "code-abc",
            "https://classcred.example.org/slack/oauth/callback",
        )
        .await
        .unwrap();
    assert_eq!(access.team.as_ref().unwrap().id.as_str(), "T061EG9R6");
    assert_eq!(
        access.team.as_ref().unwrap().name.as_deref(),
        Some("CS 101")
    );
    assert_eq!(access.bot_user_id.as_str(), "U0BOTUSER");
    assert_eq!(access.authed_user.id.as_str(), "U0TEACHER1");
    assert!(access.scopes().any(|s| s == "users:read.email"));
    assert!(access.access_token.expose().starts_with("xoxb-"));
    let c = &h.calls()[0];
    assert_eq!(c.path, "/api/oauth.v2.access");
    // base64("4242.1337:s3cr3t")
    assert_eq!(c.auth.as_deref(), Some("Basic NDI0Mi4xMzM3OnMzY3IzdA=="));
    assert_eq!(
        c.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let f = c.form();
    assert_eq!(f["code"], "code-abc");
    assert_eq!(
        f["redirect_uri"],
        "https://classcred.example.org/slack/oauth/callback"
    );
    assert!(
        !f.contains_key("client_secret"),
        "secret only in the Authorization header"
    );
}

#[tokio::test]
async fn rate_limit_waits_retry_after_then_succeeds() {
    let h = Harness::start().await;
    h.script(
        "/api/chat.postMessage",
        vec![
            (
                429,
                Some("1"),
                r#"{"ok":false,"error":"ratelimited"}"#.into(),
            ),
            ok(json!({"channel": "C1", "ts": "1.2"})),
        ],
    );
    let start = Instant::now();
    let msg = OutgoingMessage {
        channel: "C1".into(),
        text: "t".into(),
        ..Default::default()
    };
    h.client.post_message(&token(), &msg).await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "honoured Retry-After: 1"
    );
    let calls = h.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].body, calls[1].body, "same request retried");
}

#[tokio::test]
async fn rate_limit_gives_up_after_bounded_attempts() {
    let h = Harness::start_with(|c| SlackClientConfig {
        max_attempts: 2,
        ..c
    })
    .await;
    let limited: Scripted = (429, Some("1"), "{}".into());
    h.script(
        "/api/users.info",
        vec![limited.clone(), limited.clone(), limited],
    );
    let err = h.client.users_info(&token(), &uid("U1")).await.unwrap_err();
    assert!(
        matches!(
            err,
            SlackApiError::RateLimited {
                attempts: 2,
                retry_after_secs: 1,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(h.calls().len(), 2);
    // A Retry-After beyond the configured maximum fails at once instead of sleeping.
    h.script("/api/users.info", vec![(429, Some("3600"), "{}".into())]);
    let err = h.client.users_info(&token(), &uid("U1")).await.unwrap_err();
    assert!(matches!(
        err,
        SlackApiError::RateLimited {
            retry_after_secs: 3600,
            attempts: 1,
            ..
        }
    ));
}

#[tokio::test]
async fn ok_false_is_a_typed_error_with_slacks_string() {
    let h = Harness::start().await;
    h.script(
        "/api/chat.postEphemeral",
        vec![(
            200,
            None,
            r#"{"ok":false,"error":"channel_not_found"}"#.into(),
        )],
    );
    let err = h
        .client
        .post_ephemeral(&token(), "C404", &uid("U1"), "x", None)
        .await
        .unwrap_err();
    match &err {
        SlackApiError::Api { method, error } => {
            assert_eq!(method, "chat.postEphemeral");
            assert_eq!(error, "channel_not_found");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "chat.postEphemeral: Slack error channel_not_found"
    );
    assert_eq!(h.calls().len(), 1, "ok:false is not retried");
}

#[tokio::test]
async fn reads_retry_server_errors_writes_do_not() {
    let h = Harness::start().await;
    h.script(
        "/api/users.info",
        vec![
            (500, None, "oops".into()),
            (503, None, "".into()),
            ok(json!({"user": member("U1")})),
        ],
    );
    assert_eq!(
        h.client
            .users_info(&token(), &uid("U1"))
            .await
            .unwrap()
            .id
            .as_str(),
        "U1"
    );
    assert_eq!(h.calls().len(), 3);

    h.script("/api/chat.postMessage", vec![(500, None, "oops".into())]);
    let msg = OutgoingMessage {
        channel: "C1".into(),
        text: "t".into(),
        ..Default::default()
    };
    let err = h.client.post_message(&token(), &msg).await.unwrap_err();
    assert!(
        matches!(err, SlackApiError::Status { status: 500, .. }),
        "{err}"
    );
    assert_eq!(h.calls().len(), 4, "a write is never retried after a 5xx");
}

#[tokio::test]
async fn non_json_answers_are_decode_errors() {
    let h = Harness::start().await;
    h.script("/api/views.publish", vec![(200, None, "<html>".into())]);
    let err = h
        .client
        .views_publish(&token(), &uid("U1"), &json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err, SlackApiError::Decode { .. }), "{err}");
}

#[tokio::test]
async fn response_url_replies_go_through_the_policy() {
    let h = Harness::start().await;
    let url = format!("{}../hooks/commands/T1/1/abc", h.base);
    let reply = classcred_slack::blocks::ephemeral_response("Here is the help.");
    h.client.respond(&url, &reply).await.unwrap();
    let c = &h.calls()[0];
    assert_eq!(c.path, "/hooks/commands/T1/1/abc");
    assert_eq!(c.auth, None, "no token sent to response_url");
    assert_eq!(c.json()["response_type"], "ephemeral");
}

#[tokio::test]
async fn undeclared_hosts_are_refused_before_connecting() {
    let h = Harness::start().await;
    let reply = json!({"text": "x"});
    for (url, expected) in [
        (
            "https://evil.example/hook",
            PolicyError::Host("evil.example".into()),
        ),
        (
            "http://hooks.slack.com/commands/1",
            PolicyError::Scheme("http".into()),
        ),
        (
            "https://10.0.0.1/hook",
            PolicyError::Host("10.0.0.1".into()),
        ),
        ("not a url", PolicyError::InvalidUrl),
    ] {
        match h.client.respond(url, &reply).await {
            Err(SlackApiError::Policy(e)) => assert_eq!(e, expected, "{url}"),
            other => panic!("{url}: {other:?}"),
        }
    }
    assert!(h.calls().is_empty());

    // A client whose base URL is not a declared host cannot be built.
    for base in [
        "https://evil.example/api/",
        "http://slack.com/api/",
        "https://slack.com.evil.example/api/",
    ] {
        let err = SlackClient::new(SlackClientConfig {
            api_base_url: base.into(),
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(err, SlackApiError::Policy(_)), "{base}: {err}");
        assert!(
            err.to_string().contains("refused") || err.to_string().contains("not a declared host")
        );
    }
    // Only the privacy registry declares hosts: a policy cannot name another one.
    assert_eq!(
        OutboundPolicy::for_subprocessors(&["slack.example.edu"]),
        Err(PolicyError::Undeclared("slack.example.edu".into()))
    );
    let err = SlackClient::with_policy(
        SlackClientConfig {
            api_base_url: "https://slack.example.edu/api".into(),
            ..Default::default()
        },
        classcred_slack::client::default_policy().unwrap(),
    )
    .unwrap_err();
    assert!(
        matches!(err, SlackApiError::Policy(PolicyError::Host(_))),
        "{err}"
    );
    assert!(SlackClient::new(SlackClientConfig::default()).is_ok());
}

#[tokio::test]
async fn transport_errors_on_reads_are_retried_then_reported() {
    // Bind then drop a listener, so the port refuses connections.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = SlackClient::new(SlackClientConfig {
        api_base_url: format!("http://127.0.0.1:{port}/api/"),
        backoff: Duration::from_millis(5),
        ..Default::default()
    })
    .unwrap();
    let err = client.users_info(&token(), &uid("U1")).await.unwrap_err();
    assert!(matches!(err, SlackApiError::Transport { .. }), "{err}");
    assert!(
        !err.to_string().contains("127.0.0.1"),
        "no URL in errors: {err}"
    );
}

#[test]
fn tokens_do_not_print() {
    assert_eq!(format!("{:?}", token()), "BotToken([REDACTED])");
}

/// A server that answers every request with an endless JSON body (no `Content-Length`, or a
/// huge declared one) and counts the bytes it managed to send, up to `total`.
async fn endless_server(declare: Option<u64>, total: usize) -> (String, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut req = vec![0u8; 16 * 1024];
                let _ = conn.read(&mut req).await;
                let head = match declare {
                    Some(n) => format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {n}\r\n\r\n"),
                    None => "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n".to_owned(),
                };
                if conn.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let mut chunk = b"{\"ok\":true,\"pad\":\"".to_vec();
                chunk.resize(64 * 1024, b'a');
                while counter.load(Ordering::SeqCst) < total {
                    if conn.write_all(&chunk).await.is_err() {
                        return;
                    }
                    counter.fetch_add(chunk.len(), Ordering::SeqCst);
                }
            });
        }
    });
    (format!("http://{addr}/api/"), sent)
}

/// Finding 19: an oversized response is refused while it is read, not buffered whole first.
#[tokio::test]
async fn oversized_responses_are_refused_while_reading() {
    const TOTAL: usize = 64 * 1024 * 1024;
    for declare in [None, Some(TOTAL as u64)] {
        let (base, sent) = endless_server(declare, TOTAL).await;
        let client = SlackClient::new(SlackClientConfig {
            api_base_url: base,
            max_attempts: 1,
            timeout: Duration::from_secs(60),
            ..Default::default()
        })
        .unwrap();
        let err = client.users_info(&token(), &uid("U1")).await.unwrap_err();
        assert!(
            matches!(
                err,
                SlackApiError::Decode {
                    source: classcred_slack::PayloadError::TooLarge { .. },
                    ..
                }
            ),
            "{declare:?}: {err}"
        );
        // The client stopped reading near the limit (1 MiB), far from the 64 MiB on offer.
        let n = sent.load(Ordering::SeqCst);
        assert!(n < TOTAL / 4, "{declare:?}: {n} bytes sent");
    }
}
