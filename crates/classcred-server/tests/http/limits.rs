//! Connection limits and timeouts: what a hostile client can hold, and for how long.

use super::*;

#[tokio::test]
async fn half_sent_headers_are_closed_after_the_header_timeout() {
    let db = TestDb::sqlite().await;
    let limits = HttpLimits {
        header_timeout: Duration::from_millis(300),
        ..HttpLimits::default()
    };
    let srv = start_with(db.store().await, None, limits, Metrics::new()).await;
    let mut conn = TcpStream::connect(srv.addr).await.unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut conn).await;
    assert!(!answer.contains("200 OK"), "{answer}");
    // The server is still fine.
    let r = reqwest::get(format!("{}/healthz", srv.base)).await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn trickled_body_gets_408_and_the_connection_closes() {
    let db = TestDb::sqlite().await;
    let limits = HttpLimits {
        request_timeout: Duration::from_millis(300),
        ..HttpLimits::default()
    };
    let srv = start_with(db.store().await, None, limits, Metrics::new()).await;
    let mut conn = TcpStream::connect(srv.addr).await.unwrap();
    conn.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b")
        .await
        .unwrap();
    let answer = read_to_close(&mut conn).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn idle_connection_is_closed() {
    let db = TestDb::sqlite().await;
    // Headers may take long, but a connection on which nothing moves is closed.
    let limits = HttpLimits {
        header_timeout: Duration::from_secs(600),
        idle_timeout: Duration::from_millis(300),
        ..HttpLimits::default()
    };
    let srv = start_with(db.store().await, None, limits, Metrics::new()).await;
    let mut conn = TcpStream::connect(srv.addr).await.unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    read_to_close(&mut conn).await;
}

/// Every regular slot busy with a request in progress: past the cap, health still answers (on
/// an overflow connection) and everything else is refused.
#[tokio::test]
async fn past_the_connection_cap_health_still_answers() {
    let db = TestDb::sqlite().await;
    let limits = HttpLimits {
        header_timeout: Duration::from_secs(600),
        idle_timeout: Duration::from_secs(600),
        max_connections: 3,
        overflow_connections: 4,
        ..HttpLimits::default()
    };
    let srv = start_with(db.store().await, None, limits, Metrics::new()).await;
    // Three hostile clients hold every regular slot with requests in progress: headers sent,
    // the handler waiting for a body that never comes ("100 Continue" proves it started).
    let mut hostile = Vec::new();
    for _ in 0..3 {
        let mut c = TcpStream::connect(srv.addr).await.unwrap();
        c.write_all(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
        )
        .await
        .unwrap();
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(60), c.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&buf[..n]).contains("100 Continue"),
            "the request is in progress"
        );
        hostile.push(c);
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let r = http
        .get(format!("{}/healthz", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "health answers past the cap");
    let r = http
        .post(format!("{}/echo", srv.base))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503, "everything else is refused past the cap");
    let text = srv.metrics.render(&Default::default());
    assert!(
        text.contains(r#"reason="connection_limit_health_only"} 2"#),
        "{text}"
    );
    drop(hostile);
}

/// Review finding: one client holding cap + overflow half-sent requests (and reopening them)
/// kept `/healthz` down. At the cap, the oldest connection with no request in progress makes
/// room, so a client hoarding half-open connections only ever evicts its own.
#[tokio::test]
async fn half_open_connections_past_the_cap_make_room_oldest_first() {
    let db = TestDb::sqlite().await;
    let limits = HttpLimits {
        header_timeout: Duration::from_secs(600),
        idle_timeout: Duration::from_secs(600),
        max_connections: 3,
        overflow_connections: 2,
        ..HttpLimits::default()
    };
    let srv = start_with(db.store().await, None, limits, Metrics::new()).await;
    let mut hostile = Vec::new();
    for _ in 0..20 {
        let mut c = TcpStream::connect(srv.addr).await.unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-a: ")
            .await
            .unwrap();
        hostile.push(c);
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for _ in 0..3 {
        let r = http
            .get(format!("{}/healthz", srv.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            200,
            "health answers while half-open ones are held"
        );
        let r = http
            .post(format!("{}/echo", srv.base))
            .body("xyz")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "and so does everything else");
    }
    // The first hostile connection was the first to go.
    let closed = read_to_close(&mut hostile[0]).await;
    assert!(closed.is_empty(), "closed without an answer: {closed:?}");
    let text = srv.metrics.render(&Default::default());
    assert!(text.contains(r#"reason="connection_evicted""#), "{text}");
    drop(hostile);
}

#[tokio::test]
async fn shutdown_does_not_wait_forever_for_a_partial_request() {
    let db = TestDb::sqlite().await;
    let limits = HttpLimits {
        header_timeout: Duration::from_secs(600),
        idle_timeout: Duration::from_secs(600),
        shutdown_timeout: Duration::from_millis(200),
        ..HttpLimits::default()
    };
    let mut srv = start_with(db.store().await, None, limits, Metrics::new()).await;
    let mut conn = TcpStream::connect(srv.addr).await.unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    // Make sure the server holds the connection before stopping it.
    let r = reqwest::get(format!("{}/healthz", srv.base)).await.unwrap();
    assert_eq!(r.status(), 200);
    srv.stop.take().unwrap().send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(60), srv.task)
        .await
        .expect("the server stops at its shutdown deadline")
        .unwrap()
        .unwrap();
    read_to_close(&mut conn).await;
}
