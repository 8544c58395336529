//! The HTTP server as a client sees it: health, metrics, body limit, graceful shutdown, TLS,
//! request ids, panics; connection limits and timeouts (`limits`); workers (`workers`).
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] fns fail loudly"
)]

mod breaches;
mod limits;
mod workers;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use classcred_server::worker::{Handlers, Worker, WorkerConfig};
use classcred_server::{
    router, AppState, Application, HttpLimits, Metrics, ServerConfig, TlsFiles,
};
use classcred_store::jobs::NewJob;
use classcred_store::testing::TestDb;
use classcred_store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch, Notify};

struct Running {
    base: String,
    addr: std::net::SocketAddr,
    metrics: Arc<Metrics>,
    /// Notified when `/slow` has started handling a request.
    slow_started: Arc<Notify>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start(store: Store, tls: Option<TlsFiles>) -> Running {
    start_with(store, tls, HttpLimits::default(), Metrics::new()).await
}

async fn start_with(
    store: Store,
    tls: Option<TlsFiles>,
    limits: HttpLimits,
    metrics: Metrics,
) -> Running {
    let metrics = Arc::new(metrics);
    let state = AppState {
        store,
        metrics: metrics.clone(),
    };
    let slow_started = Arc::new(Notify::new());
    let started = slow_started.clone();
    let routes = router(state).merge(
        Router::new()
            .route(
                "/echo",
                post(|body: axum::body::Bytes| async move { body.len().to_string() }),
            )
            .route(
                "/boom",
                get(|| async {
                    if std::hint::black_box(true) {
                        panic!("handler bug");
                    }
                    "unreachable"
                }),
            )
            .route(
                "/slow",
                get(move || {
                    let started = started.clone();
                    async move {
                        started.notify_one();
                        tokio::time::sleep(Duration::from_millis(700)).await;
                        "finished"
                    }
                }),
            ),
    );
    let scheme = if tls.is_some() { "https" } else { "http" };
    let app = Application::bind(
        ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            tls,
            body_limit: 1024,
        },
        routes,
        metrics.clone(),
    )
    .await
    .unwrap()
    .with_limits(limits);
    let addr = app.local_addr();
    let base = format!("{scheme}://localhost:{}", addr.port());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    Running {
        base,
        addr,
        metrics,
        slow_started,
        stop: Some(tx),
        task,
    }
}

/// The `/metrics` page of the server at `base`.
async fn metrics_text(http: &reqwest::Client, base: &str) -> String {
    http.get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Read until the server closes the connection; what it sent.
async fn read_to_close(conn: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    // A reset also counts as closed.
    let _ = tokio::time::timeout(Duration::from_secs(60), conn.read_to_end(&mut buf))
        .await
        .expect("the server closed the connection");
    String::from_utf8_lossy(&buf).into_owned()
}

#[tokio::test]
async fn health_metrics_and_body_limit() {
    let db = TestDb::sqlite().await;
    let store = db.store().await;
    store
        .enqueue(&NewJob::new("k", serde_json::json!({})))
        .await
        .unwrap();
    let srv = start(store.clone(), None).await;
    let http = reqwest::Client::new();

    let r = http
        .get(format!("{}/healthz", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .post(format!("{}/echo", srv.base))
        .body(vec![b'x'; 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .post(format!("{}/echo", srv.base))
        .body(vec![b'x'; 1025])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413, "bodies over the limit are refused");
    let r = http
        .get(format!("{}/no/such/page", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let text = metrics_text(&http, &srv.base).await;
    assert!(
        text.contains(
            r#"classcred_http_requests_total{method="GET",route="/healthz",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(text
        .contains(r#"classcred_http_requests_total{method="POST",route="/echo",status="413"} 1"#));
    assert!(
        text.contains(r#"route="unmatched",status="404""#),
        "unknown paths are one label"
    );
    assert!(text.contains("classcred_http_request_duration_seconds_bucket"));
    assert!(
        text.contains(r#"classcred_jobs_queue{state="queued"} 1"#),
        "{text}"
    );

    // Health follows the database.
    store.close().await;
    let r = http
        .get(format!("{}/healthz", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    drop(srv.stop);
    srv.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn graceful_shutdown_finishes_requests_in_flight() {
    let db = TestDb::sqlite().await;
    let mut srv = start(db.store().await, None).await;
    let url = format!("{}/slow", srv.base);
    let inflight =
        tokio::spawn(async move { reqwest::get(url).await.unwrap().text().await.unwrap() });
    // Stop only once the request is being handled (no sleep: a slow machine would race it).
    srv.slow_started.notified().await;
    srv.stop.take().unwrap().send(()).unwrap();
    assert_eq!(inflight.await.unwrap(), "finished");
    tokio::time::timeout(Duration::from_secs(5), srv.task)
        .await
        .expect("server stops")
        .unwrap()
        .unwrap();
    // New connections are refused once stopped.
    assert!(reqwest::get(format!("{}/healthz", srv.base)).await.is_err());
}

#[tokio::test]
async fn tls_is_built_in() {
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    let db = TestDb::sqlite().await;
    let srv = start(db.store().await, Some(TlsFiles { cert, key })).await;
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ck.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let r = client
        .get(format!("{}/healthz", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ok");
    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = srv.base.replace("https://", "http://");
    assert!(reqwest::get(format!("{plain}/healthz")).await.is_err());
    drop(srv.stop);
    srv.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn bad_tls_files_are_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, "not a certificate").unwrap();
    let err = classcred_server::tls::acceptor(&TlsFiles {
        cert,
        key: dir.path().join("missing.pem"),
    })
    .err()
    .unwrap();
    assert!(format!("{err:#}").contains("tls_cert_file"), "{err:#}");
}

#[tokio::test]
async fn invented_methods_share_one_label() {
    let db = TestDb::sqlite().await;
    let srv = start(db.store().await, None).await;
    let http = reqwest::Client::new();
    for i in 0..50 {
        let method = reqwest::Method::from_bytes(format!("INVENTED{i}").as_bytes()).unwrap();
        let r = http
            .request(method, format!("{}/healthz", srv.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405);
    }
    let text = metrics_text(&http, &srv.base).await;
    assert!(!text.contains("INVENTED"), "{text}");
    assert!(
        text.contains(
            r#"classcred_http_requests_total{method="other",route="/healthz",status="405"} 50"#
        ),
        "{text}"
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let db = TestDb::sqlite().await;
    let srv = start(db.store().await, None).await;
    let mut ids = std::collections::HashSet::new();
    for path in ["/healthz", "/healthz", "/no/such/page"] {
        let r = reqwest::get(format!("{}{path}", srv.base)).await.unwrap();
        let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
        assert_eq!(id.len(), 32, "{id}");
        assert!(ids.insert(id), "ids are unique");
    }
}

/// A handler that panics answers 500 (the client is not left with a reset connection, which
/// Slack would retry as a lost delivery); the server and its other routes go on.
#[tokio::test]
async fn a_panicking_request_handler_answers_500_and_the_server_goes_on() {
    let db = TestDb::sqlite().await;
    let srv = start(db.store().await, None).await;
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let r = client
            .get(format!("{}/boom", srv.base))
            .send()
            .await
            .expect("an answer, not a dropped connection");
        assert_eq!(r.status(), 500);
        assert!(r.headers().contains_key("x-request-id"));
        assert_eq!(r.text().await.unwrap(), "internal error");
    }
    let r = client
        .get(format!("{}/healthz", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = metrics_text(&client, &srv.base).await;
    assert!(
        text.contains("route=\"/boom\"") && text.contains("status=\"500\""),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_counts_come_from_the_cache() {
    let db = TestDb::sqlite().await;
    let store = db.store().await;
    store
        .enqueue(&NewJob::new("k", serde_json::json!({})))
        .await
        .unwrap();
    let cached = start_with(
        store.clone(),
        None,
        HttpLimits::default(),
        Metrics::new().with_counts_ttl(Duration::from_secs(3600)),
    )
    .await;
    let uncached = start_with(
        store.clone(),
        None,
        HttpLimits::default(),
        Metrics::new().with_counts_ttl(Duration::ZERO),
    )
    .await;
    let scrape = |base: String| async move {
        reqwest::get(format!("{base}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    assert!(scrape(cached.base.clone())
        .await
        .contains(r#"classcred_jobs_queue{state="queued"} 1"#));
    store
        .enqueue(&NewJob::new("k", serde_json::json!({})))
        .await
        .unwrap();
    let again = scrape(cached.base.clone()).await;
    assert!(
        again.contains(r#"classcred_jobs_queue{state="queued"} 1"#),
        "served from the cache: {again}"
    );
    assert!(scrape(uncached.base.clone())
        .await
        .contains(r#"classcred_jobs_queue{state="queued"} 2"#));
}

/// `classcred_privacy_requests_overdue`: open requests past their due date, every community,
/// one number (no label). Answered requests and requests not yet due do not count.
#[tokio::test]
async fn metrics_count_overdue_privacy_requests() {
    use classcred_store::{
        MemberKind, MemberProfile, NewCommunity, NewMember, PrivacyDecision, PrivacyRequestKind,
        PrivacyRequestState, Role,
    };
    for db in TestDb::all().await {
        let store = db.store().await;
        let now = store.now_ms();
        let mut tx = store.begin().await.unwrap();
        let inst = tx.create_institution("U").await.unwrap();
        for team in ["T1", "T2"] {
            let c = tx
                .create_community(NewCommunity {
                    institution_id: inst.id.clone(),
                    name: team.into(),
                    platform: "slack".into(),
                    platform_team_id: Some(team.into()),
                    settings_json: "{}".into(),
                })
                .await
                .unwrap();
            let mut scoped = tx.for_community(&c.id);
            let m = scoped
                .upsert_member(&NewMember {
                    platform_user_id: "U1".into(),
                    role: Role::Student,
                    kind: MemberKind::Human,
                    profile: MemberProfile::default(),
                })
                .await
                .unwrap();
            // Overdue, not yet due, and overdue but answered.
            scoped
                .insert_privacy_request(&m, PrivacyRequestKind::Access, None, now - 1)
                .await
                .unwrap()
                .unwrap();
            scoped
                .insert_privacy_request(&m, PrivacyRequestKind::Deletion, None, now + 60_000)
                .await
                .unwrap()
                .unwrap();
            let answered = scoped
                .insert_privacy_request(&m, PrivacyRequestKind::Correction, None, now - 1)
                .await
                .unwrap()
                .unwrap();
            assert!(scoped
                .decide_privacy_request(
                    &answered.id,
                    &PrivacyDecision {
                        to: PrivacyRequestState::Declined,
                        by: &m,
                        note: Some("no"),
                        result_ref: None,
                    },
                )
                .await
                .unwrap());
        }
        tx.commit().await.unwrap();
        let srv = start_with(
            store.clone(),
            None,
            HttpLimits::default(),
            Metrics::new().with_counts_ttl(Duration::ZERO),
        )
        .await;
        let text = metrics_text(&reqwest::Client::new(), &srv.base).await;
        assert!(
            text.contains("\nclasscred_privacy_requests_overdue 2\n"),
            "{}: {text}",
            db.backend()
        );
    }
}
