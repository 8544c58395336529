//! The job queue: transactional enqueue, retries with backoff, no double claims.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use classcred_crypto::MasterKey;
use classcred_store::jobs::{FailOutcome, NewJob};
use classcred_store::testing::TestDb;
use classcred_store::{Clock, ManualClock};

#[tokio::test]
async fn enqueue_in_rolled_back_transaction_leaves_no_job() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let mut tx = store.begin().await.unwrap();
        tx.enqueue(&NewJob::new("demo.noop", serde_json::json!({})))
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert!(
            store.claim_job("w1", 60_000).await.unwrap().is_none(),
            "{}",
            db.backend()
        );
        let mut tx = store.begin().await.unwrap();
        tx.enqueue(&NewJob::new("demo.noop", serde_json::json!({})))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(store.claim_job("w1", 60_000).await.unwrap().is_some());
        // Dedupe keys make enqueueing idempotent.
        let mut job = NewJob::new("demo.noop", serde_json::json!({}));
        job.dedupe_key = Some("once".into());
        assert!(store.enqueue(&job).await.unwrap().is_some());
        assert!(store.enqueue(&job).await.unwrap().is_none());
        store.close().await;
    }
}

#[tokio::test]
async fn failing_job_is_retried_with_backoff_then_marked_failed() {
    for db in TestDb::all().await {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
        let clock = Arc::new(ManualClock::new(t0));
        let store = db.store_with(MasterKey::generate(), clock.clone()).await;
        let mut job = NewJob::new("always.fails", serde_json::json!({"community": "c1"}));
        job.max_attempts = 3;
        let id = store.enqueue(&job).await.unwrap().unwrap();

        let j = store.claim_job("w1", 60_000).await.unwrap().unwrap();
        assert_eq!((j.id.as_str(), j.attempts), (id.as_str(), 1));
        let first = store.fail_job(&j, "w1", "boom").await.unwrap();
        assert_eq!(first, FailOutcome::RetryAt(t0.timestamp_millis() + 1000));
        // Not due before the backoff has passed.
        assert!(store.claim_job("w1", 60_000).await.unwrap().is_none());
        clock.advance(Duration::seconds(1));
        let j = store.claim_job("w1", 60_000).await.unwrap().unwrap();
        assert_eq!(j.attempts, 2);
        assert!(matches!(
            store.fail_job(&j, "w1", "boom").await.unwrap(),
            FailOutcome::RetryAt(_)
        ));
        clock.advance(Duration::seconds(2));
        let j = store.claim_job("w1", 60_000).await.unwrap().unwrap();
        assert_eq!(j.attempts, 3);
        assert_eq!(
            store.fail_job(&j, "w1", "boom").await.unwrap(),
            FailOutcome::Failed
        );
        clock.advance(Duration::hours(1));
        assert!(store.claim_job("w1", 60_000).await.unwrap().is_none());
        let (state, attempts, err) = store.job_status(&id).await.unwrap().unwrap();
        assert_eq!(
            (state.as_str(), attempts, err.as_deref()),
            ("failed", 3, Some("boom"))
        );
        assert_eq!(store.job_counts().await.unwrap().failed, 1);
        store.close().await;
    }
}

#[tokio::test]
async fn expired_lease_makes_job_claimable_again_and_old_worker_cannot_complete() {
    for db in TestDb::all().await {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
        let clock = Arc::new(ManualClock::new(t0));
        let store = db.store_with(MasterKey::generate(), clock.clone()).await;
        store
            .enqueue(&NewJob::new("k", serde_json::json!({})))
            .await
            .unwrap();
        let a = store
            .claim_job("dead-worker", 1_000)
            .await
            .unwrap()
            .unwrap();
        assert!(store.claim_job("w2", 1_000).await.unwrap().is_none());
        clock.advance(Duration::seconds(2));
        let b = store.claim_job("w2", 60_000).await.unwrap().unwrap();
        assert_eq!(a.id, b.id);
        assert!(!store.complete_job(&a.id, "dead-worker").await.unwrap());
        assert!(store.complete_job(&b.id, "w2").await.unwrap());
        assert_eq!(store.job_counts().await.unwrap().done, 1);
        store.close().await;
    }
}

/// Two independent stores (two pools, as two `serve` processes would have) draining one queue
/// never claim the same job.
#[tokio::test]
async fn two_workers_never_take_the_same_job() {
    for db in TestDb::all().await {
        let store1 = db.store().await;
        let key = MasterKey::generate();
        let store2 = db
            .store_with(key, Arc::new(classcred_store::SystemClock))
            .await;
        const N: usize = 200;
        let mut tx = store1.begin().await.unwrap();
        for i in 0..N {
            tx.enqueue(&NewJob::new("count", serde_json::json!({ "i": i })))
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        let mut handles = Vec::new();
        for (w, s) in [
            ("w1", store1.clone()),
            ("w2", store2.clone()),
            ("w3", store1.clone()),
            ("w4", store2.clone()),
        ] {
            handles.push(tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(j) = s.claim_job(w, 60_000).await.unwrap() {
                    assert!(s.complete_job(&j.id, w).await.unwrap());
                    got.push(j.id);
                }
                got
            }));
        }
        let mut all = Vec::new();
        let mut per_worker = Vec::new();
        for h in handles {
            let got = h.await.unwrap();
            per_worker.push(got.len());
            all.extend(got);
        }
        let unique: HashSet<_> = all.iter().collect();
        assert_eq!(
            all.len(),
            N,
            "{}: every job claimed exactly once ({per_worker:?})",
            db.backend()
        );
        assert_eq!(unique.len(), N);
        store1.close().await;
        store2.close().await;
    }
}

fn coalesced(key: &str) -> NewJob {
    let mut job = NewJob::new("drain", serde_json::json!({}));
    job.coalesce_key = Some(key.into());
    job
}

/// At most one *queued* job per coalesce key; a running one does not swallow new work.
#[tokio::test]
async fn coalesce_key_keeps_one_queued_job_but_never_swallows_work_behind_a_running_one() {
    for db in TestDb::all().await {
        let b = db.backend();
        let store = db.store().await;
        let first = store.enqueue(&coalesced("c1")).await.unwrap();
        assert!(first.is_some(), "{b}");
        for _ in 0..20 {
            assert!(
                store.enqueue(&coalesced("c1")).await.unwrap().is_none(),
                "{b}"
            );
        }
        assert_eq!(store.job_counts().await.unwrap().queued, 1, "{b}");
        // Once the c1 job runs, new work queues one job again (and only one).
        let running = store.claim_job("w1", 60_000).await.unwrap().unwrap();
        assert_eq!(Some(&running.id), first.as_ref());
        let second = store.enqueue(&coalesced("c1")).await.unwrap();
        assert!(second.is_some(), "{b}: queued behind the running job");
        assert!(store.enqueue(&coalesced("c1")).await.unwrap().is_none());
        // The running job fails: it cannot go back to the queue beside the queued one; the
        // queued one covers its work.
        store.fail_job(&running, "w1", "boom").await.unwrap();
        let (state, _, _) = store.job_status(&running.id).await.unwrap().unwrap();
        assert_eq!(state, "done", "{b}: superseded");
        let counts = store.job_counts().await.unwrap();
        assert_eq!((counts.queued, counts.running), (1, 0), "{b}");
        // Released at shutdown with no sibling: back in the queue, attempt not counted.
        let j = store.claim_job("w2", 60_000).await.unwrap().unwrap();
        assert_eq!(Some(&j.id), second.as_ref());
        assert!(store.release_job(&j, "w2").await.unwrap());
        let (state, attempts, _) = store.job_status(&j.id).await.unwrap().unwrap();
        assert_eq!((state.as_str(), attempts), ("queued", 0), "{b}");
        // Another key is independent.
        assert!(store.enqueue(&coalesced("c2")).await.unwrap().is_some());
        assert!(store.enqueue(&coalesced("c1")).await.unwrap().is_none());
        // Plain dedupe keys still mean "once ever".
        let mut once = NewJob::new("k", serde_json::json!({}));
        once.dedupe_key = Some("once".into());
        let id = store.enqueue(&once).await.unwrap().unwrap();
        let j = loop {
            let j = store.claim_job("w3", 60_000).await.unwrap().unwrap();
            if j.id == id {
                break j;
            }
        };
        store.complete_job(&j.id, "w3").await.unwrap();
        assert!(store.enqueue(&once).await.unwrap().is_none(), "{b}");
        store.close().await;
    }
}

#[tokio::test]
async fn done_jobs_older_than_the_retention_are_pruned() {
    for db in TestDb::all().await {
        let b = db.backend();
        let t0 = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
        let clock = Arc::new(ManualClock::new(t0));
        let store = db.store_with(MasterKey::generate(), clock.clone()).await;
        // One done and one failed at t0; one done a week later; one queued.
        for _ in 0..2 {
            store
                .enqueue(&NewJob::new("k", serde_json::json!({})))
                .await
                .unwrap();
        }
        let j = store.claim_job("w", 60_000).await.unwrap().unwrap();
        store.complete_job(&j.id, "w").await.unwrap();
        let mut failing = store.claim_job("w", 60_000).await.unwrap().unwrap();
        failing.max_attempts = 1;
        store.fail_job(&failing, "w", "boom").await.unwrap();
        clock.advance(Duration::days(7));
        store
            .enqueue(&NewJob::new("k", serde_json::json!({})))
            .await
            .unwrap();
        let recent = store.claim_job("w", 60_000).await.unwrap().unwrap();
        store.complete_job(&recent.id, "w").await.unwrap();
        store
            .enqueue(&NewJob::new("k", serde_json::json!({})))
            .await
            .unwrap();
        let cutoff = (clock.now() - Duration::days(3)).timestamp_millis();
        assert_eq!(store.prune_done_jobs(cutoff).await.unwrap(), 1, "{b}");
        let c = store.job_counts().await.unwrap();
        assert_eq!((c.done, c.failed, c.queued), (1, 1, 1), "{b}");
        assert!(store.job_status(&j.id).await.unwrap().is_none(), "{b}");
        store.close().await;
    }
}
