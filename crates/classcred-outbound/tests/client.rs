//! The outbound client against loopback servers: what is not declared is refused before any
//! connection, plain http only on the explicitly allowed loopback origin, redirects are handed
//! back (never followed), bodies are bounded, a silent server times out.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use classcred_outbound::{Limits, OutboundClient, OutboundError, OutboundPolicy, PolicyError, Url};
use classcred_store::registry::subprocessors::{OIDC_PROVIDER, SLACK_RESPONSE_URL, SLACK_WEB_API};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A server that answers every request with `answer` and counts the connections it accepted.
async fn server(answer: String) -> (Url, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut read = Vec::new();
                while !read.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = sock.write_all(answer.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (Url::parse(&format!("http://{addr}/")).unwrap(), hits)
}

fn ok_answer(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn slack_policy() -> OutboundPolicy {
    OutboundPolicy::for_subprocessors(&[SLACK_WEB_API, SLACK_RESPONSE_URL]).unwrap()
}

fn client(policy: OutboundPolicy) -> OutboundClient {
    OutboundClient::new(policy, Limits::default()).unwrap()
}

#[tokio::test]
async fn undeclared_hosts_are_refused_before_connecting() {
    let (base, hits) = server(ok_answer("{}")).await;
    // The loopback server is running, but nothing declares it.
    let c = client(slack_policy());
    let err = c.get(&base.join("api/x").unwrap()).unwrap_err();
    assert_eq!(err, PolicyError::Scheme("http".into()));
    for (url, expected) in [
        (
            "https://evil.example/api/x",
            PolicyError::Host("evil.example".into()),
        ),
        (
            "https://slack.com.evil.example/api/x",
            PolicyError::Host("slack.com.evil.example".into()),
        ),
        (
            "https://10.0.0.1/api/",
            PolicyError::Host("10.0.0.1".into()),
        ),
    ] {
        let url = Url::parse(url).unwrap();
        assert_eq!(c.post(&url).unwrap_err(), expected, "{url}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing reached the server");
}

#[tokio::test]
async fn plain_http_is_refused_even_on_loopback_unless_allowed_explicitly() {
    let (base, hits) = server(ok_answer(r#"{"ok":true}"#)).await;
    let refused = client(slack_policy());
    assert!(matches!(
        refused.post(&base.join("api/chat.postMessage").unwrap()),
        Err(PolicyError::Scheme(_))
    ));
    // A request built elsewhere (by a client allowed to) is checked again by the one that sends it.
    let allowed = client(slack_policy().allow_loopback(SLACK_WEB_API, &base).unwrap());
    let smuggled = allowed
        .post(&base.join("api/chat.postMessage").unwrap())
        .unwrap();
    match refused.send(smuggled).await {
        Err(OutboundError::Policy(PolicyError::Scheme(s))) => assert_eq!(s, "http"),
        other => panic!("{other:?}"),
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0);

    // With the explicit allowance, that exact origin is reached.
    let request = allowed
        .post(&base.join("api/chat.postMessage").unwrap())
        .unwrap()
        .body("{}");
    let response = allowed.send(request).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.bytes().await.unwrap(), br#"{"ok":true}"#);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // Another port of the same loopback host stays refused.
    let mut other = base.clone();
    other.set_port(Some(base.port().unwrap() + 1)).unwrap();
    assert!(allowed.get(&other).is_err());
}

#[tokio::test]
async fn a_configured_origin_is_reached_and_nothing_else() {
    let (issuer, hits) = server(ok_answer(r#"{"keys":[]}"#)).await;
    let c = client(
        OutboundPolicy::none()
            .configure(OIDC_PROVIDER, &issuer)
            .unwrap(),
    );
    let jwks = issuer.join("jwks").unwrap();
    let body = c
        .send(c.get(&jwks).unwrap())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body, br#"{"keys":[]}"#);
    assert!(c
        .get(&Url::parse("https://slack.com/api/x").unwrap())
        .is_err());
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn redirects_are_never_followed() {
    let (elsewhere, elsewhere_hits) = server(ok_answer("{}")).await;
    let (base, _) = server(format!(
        "HTTP/1.1 302 Found\r\nlocation: {elsewhere}stolen\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    ))
    .await;
    let c = client(
        OutboundPolicy::none()
            .configure(OIDC_PROVIDER, &base)
            .unwrap(),
    );
    let response = c
        .send(c.get(&base.join("token").unwrap()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 302, "handed back as it is");
    assert_eq!(elsewhere_hits.load(Ordering::SeqCst), 0, "not followed");
}

#[tokio::test]
async fn bodies_are_bounded() {
    let big = "x".repeat(4096);
    let (declared, _) = server(ok_answer(&big)).await;
    // No Content-Length: the limit is found while reading.
    let (undeclared_length, _) =
        server(format!("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{big}")).await;
    for base in [declared, undeclared_length] {
        let c = OutboundClient::new(
            OutboundPolicy::none()
                .configure(OIDC_PROVIDER, &base)
                .unwrap(),
            Limits {
                max_response_bytes: 1024,
                ..Limits::default()
            },
        )
        .unwrap();
        let response = c.send(c.get(&base).unwrap()).await.unwrap();
        match response.bytes().await {
            Err(OutboundError::TooLarge { limit: 1024 }) => {}
            other => panic!("{base}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_silent_server_times_out() {
    // Accepts and reads, never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let base = Url::parse(&format!("http://{addr}/")).unwrap();
    let c = OutboundClient::new(
        OutboundPolicy::none()
            .configure(OIDC_PROVIDER, &base)
            .unwrap(),
        Limits {
            timeout: Duration::from_millis(300),
            ..Limits::default()
        },
    )
    .unwrap();
    match c.send(c.get(&base).unwrap()).await {
        Err(OutboundError::Transport(e)) => {
            assert!(e.is_timeout(), "{e}");
            assert!(
                !e.to_string().contains("127.0.0.1"),
                "no URL in errors: {e}"
            );
        }
        other => panic!("{other:?}"),
    }
}
