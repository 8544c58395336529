//! Workers: retries, failures, panicking handlers, shutdown.

use super::*;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_fails_its_job_and_the_worker_goes_on() {
    let db = TestDb::sqlite().await;
    let store = db.store().await;
    let srv = start(store.clone(), None).await;
    let runs = Arc::new(AtomicUsize::new(0));
    let mut handlers = Handlers::new();
    handlers.register("panics", |_store, _job| async {
        if std::hint::black_box(true) {
            panic!("handler bug");
        }
        Ok(())
    });
    let counter = runs.clone();
    handlers.register("count", move |_store, _job| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    });
    let mut bad = NewJob::new("panics", serde_json::json!({}));
    bad.max_attempts = 1;
    let bad_id = store.enqueue(&bad).await.unwrap().unwrap();
    store
        .enqueue(&NewJob::new("count", serde_json::json!({})))
        .await
        .unwrap();
    let worker = Worker::new(
        store.clone(),
        handlers,
        srv.metrics.clone(),
        WorkerConfig::default(),
    );
    while worker.run_once().await.unwrap() {}
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the worker went on");
    let (state, _, error) = store.job_status(&bad_id).await.unwrap().unwrap();
    assert_eq!(state, "failed");
    assert_eq!(error.as_deref(), Some("job handler panicked"));
    let r = reqwest::get(format!("{}/healthz", srv.base)).await.unwrap();
    assert_eq!(r.status(), 200);
    let text = srv.metrics.render(&Default::default());
    assert!(
        text.contains(r#"classcred_job_panics_total{kind="panics"} 1"#),
        "{text}"
    );
}

#[tokio::test]
async fn a_stopping_worker_abandons_a_long_job_to_the_queue() {
    let db = TestDb::sqlite().await;
    let store = db.store().await;
    let started = Arc::new(Notify::new());
    let mut handlers = Handlers::new();
    let s = started.clone();
    handlers.register("forever", move |_store, _job| {
        let s = s.clone();
        async move {
            s.notify_one();
            std::future::pending::<()>().await;
            Ok(())
        }
    });
    let id = store
        .enqueue(&NewJob::new("forever", serde_json::json!({})))
        .await
        .unwrap()
        .unwrap();
    let worker = Worker::new(
        store.clone(),
        handlers,
        Arc::new(Metrics::new()),
        WorkerConfig {
            shutdown_timeout: Duration::from_millis(100),
            ..WorkerConfig::default()
        },
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let running = tokio::spawn(worker.run(stop_rx));
    started.notified().await;
    stop_tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(60), running)
        .await
        .expect("the worker stops at its shutdown deadline")
        .unwrap();
    let (state, attempts, _) = store.job_status(&id).await.unwrap().unwrap();
    assert_eq!(
        (state.as_str(), attempts),
        ("queued", 0),
        "back in the queue, attempt not counted"
    );
}
