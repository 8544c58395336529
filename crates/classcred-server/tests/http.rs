//! The HTTP server as a client sees it: health, metrics, body limit, graceful shutdown, TLS.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use classcred_server::worker::{Handlers, Worker, WorkerConfig};
use classcred_server::{router, AppState, Application, Metrics, ServerConfig, TlsFiles};
use classcred_store::jobs::NewJob;
use classcred_store::testing::TestDb;
use classcred_store::Store;
use tokio::sync::oneshot;

struct Running {
    base: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start(store: Store, tls: Option<TlsFiles>) -> Running {
    let metrics = Arc::new(Metrics::new());
    let state = AppState {
        store,
        metrics: metrics.clone(),
    };
    let routes = router(state).merge(
        Router::new()
            .route(
                "/echo",
                post(|body: axum::body::Bytes| async move { body.len().to_string() }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(700)).await;
                    "finished"
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
        metrics,
    )
    .await
    .unwrap();
    let base = format!("{scheme}://localhost:{}", app.local_addr().port());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    Running {
        base,
        stop: Some(tx),
        task,
    }
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

    let text = http
        .get(format!("{}/metrics", srv.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
    tokio::time::sleep(Duration::from_millis(200)).await;
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
async fn workers_run_retry_and_fail_jobs() {
    let db = TestDb::sqlite().await;
    let store = db.store().await;
    let runs = Arc::new(AtomicUsize::new(0));
    let mut handlers = Handlers::new();
    let counter = runs.clone();
    handlers.register("count", move |_store, _job| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    });
    handlers.register("fail", |_store, _job| async { anyhow::bail!("refused") });
    for _ in 0..3 {
        store
            .enqueue(&NewJob::new("count", serde_json::json!({})))
            .await
            .unwrap();
    }
    let mut failing = NewJob::new("fail", serde_json::json!({}));
    failing.max_attempts = 1;
    store.enqueue(&failing).await.unwrap();
    let mut unknown = NewJob::new("nobody.handles.this", serde_json::json!({}));
    unknown.max_attempts = 1;
    store.enqueue(&unknown).await.unwrap();

    let metrics = Arc::new(Metrics::new());
    let worker = Worker::new(
        store.clone(),
        handlers,
        metrics.clone(),
        WorkerConfig::default(),
    );
    while worker.run_once().await.unwrap() {}
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    let counts = store.job_counts().await.unwrap();
    assert_eq!((counts.done, counts.failed, counts.queued), (3, 2, 0));
    let text = metrics.render(&counts);
    assert!(
        text.contains(r#"classcred_jobs_processed_total{kind="count",outcome="done"} 3"#),
        "{text}"
    );
    assert!(text.contains(r#"classcred_jobs_processed_total{kind="fail",outcome="failed"} 1"#));
}
