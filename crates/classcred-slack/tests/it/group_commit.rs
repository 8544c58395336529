//! Group commit of `/slack/events`: deliveries share a commit, and none is acknowledged before
//! the commit that carries its row; a full queue answers 503 with `Retry-After`.

use crate::server::{Server, TEAM};
use chrono::{TimeZone, Utc};
use classcred_service::group_commit::GroupCommitConfig;
use classcred_store::testing::TestDb;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

fn now() -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_700_001_000, 0).unwrap()
}

fn message(event_id: &str, n: usize) -> Vec<u8> {
    let ts = format!("1700000{n:03}.000100");
    json!({
        "token": "XXYYZZ", "team_id": TEAM, "api_app_id": "A0PNCHHK2", "type": "event_callback",
        "event_id": event_id, "event_time": 1_700_000_000,
        "event": {"type": "message", "channel": "C0CLASS001", "user": "UCLS001",
                  "text": "<@UCLS002> thanks :fire:", "ts": ts, "event_ts": ts, "channel_type": "channel"},
        "authorizations": [{"team_id": TEAM, "user_id": "U0BOTUSER", "is_bot": true, "is_enterprise_install": false}]
    })
    .to_string()
    .into_bytes()
}

/// Reads the inbox from a connection of its own (what a crash would leave: committed rows only).
async fn committed(url: &str, event_id: &str) -> i64 {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE event_id = $1")
        .bind(event_id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let _ = conn.close().await;
    n
}

fn held(capacity: usize) -> (GroupCommitConfig, Arc<Semaphore>) {
    let gate = Arc::new(Semaphore::new(0));
    (
        GroupCommitConfig {
            capacity,
            commit_gate: Some(gate.clone()),
            ..GroupCommitConfig::default()
        },
        gate,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_delivery_is_acknowledged_before_the_commit_that_carries_its_row() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let url = db.url().to_owned();
        let (gc, gate) = held(64);
        let s = Arc::new(Server::start_with(db, now(), true, Some(gc)).await);
        let ids: Vec<String> = (0..6).map(|i| format!("EvGC{i:04}")).collect();
        let mut pending = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let (s, body) = (s.clone(), message(id, i));
            pending.push((
                id.clone(),
                tokio::spawn(async move { s.event(body).await.status() }),
            ));
        }
        // The committer wrote the first batch and holds its commit: nobody has an answer, and
        // nothing is durable.
        tokio::time::sleep(Duration::from_millis(400)).await;
        for (id, h) in &pending {
            assert!(
                !h.is_finished(),
                "{backend}: {id} answered before any commit"
            );
            assert_eq!(committed(&url, id).await, 0, "{backend}: {id}");
        }
        // One commit at a time: whoever is answered has its row committed.
        let mut answered = 0;
        for _ in 0..50 {
            gate.add_permits(1);
            tokio::time::sleep(Duration::from_millis(150)).await;
            let mut still = Vec::new();
            for (id, h) in pending {
                if h.is_finished() {
                    assert_eq!(h.await.unwrap(), 200, "{backend}: {id}");
                    assert_eq!(
                        committed(&url, &id).await,
                        1,
                        "{backend}: {id} answered, not durable"
                    );
                    answered += 1;
                } else {
                    still.push((id, h));
                }
            }
            pending = still;
            if pending.is_empty() {
                break;
            }
        }
        assert_eq!(answered, ids.len(), "{backend}");
        // The batch enqueued one drain job for the community, not one per delivery.
        let mut tx = s.store.begin().await.unwrap();
        let n = tx
            .for_community(s.community())
            .pending_inbox_count()
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(n, ids.len() as i64, "{backend}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_503_with_retry_after_and_stores_nothing() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let url = db.url().to_owned();
        let (mut gc, gate) = held(1);
        // Held before its transaction begins: the community lookup of C must not wait for it.
        gc.gate_before_begin = true;
        let s = Arc::new(Server::start_with(db, now(), true, Some(gc)).await);
        // A: taken by the committer, its commit held. B: waits in the queue (capacity 1).
        let (sa, sb) = (s.clone(), s.clone());
        let a = tokio::spawn(async move { sa.event(message("EvFullA", 1)).await.status() });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let b = tokio::spawn(async move { sb.event(message("EvFullB", 2)).await.status() });
        tokio::time::sleep(Duration::from_millis(300)).await;
        // C: refused at once.
        let r = s.event(message("EvFullC", 3)).await;
        assert_eq!(r.status(), 503, "{backend}");
        assert_eq!(
            r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
            Some("1"),
            "{backend}"
        );
        assert!(
            r.headers().get("x-slack-no-retry").is_none(),
            "{backend}: Slack must retry"
        );
        gate.add_permits(100);
        assert_eq!(a.await.unwrap(), 200, "{backend}");
        assert_eq!(b.await.unwrap(), 200, "{backend}");
        assert_eq!(committed(&url, "EvFullC").await, 0, "{backend}");
        // Slack's retry of C gets through.
        assert_eq!(
            s.event(message("EvFullC", 3)).await.status(),
            200,
            "{backend}"
        );
        assert_eq!(committed(&url, "EvFullC").await, 1, "{backend}");
    }
}
