//! Erasure requests: grace period, cancellation, the job after the grace period, overdue
//! requests, receipts, audit. Every backend.

use crate::common::*;

use std::time::Duration;

use classcred_service::erasure::{
    cancel_erasure, erase_now, erasure_request, list_erasures, overdue_erasures, request_erasure,
    run_due_erasures, ErasureError, ErasureOrigin, ErasureState, ErasureTarget, DEFAULT_GRACE,
};
use classcred_service::receipt::{verify, ReceiptSigner};
use classcred_store::testing::TestDb;
use classcred_store::{MemberRowId, Role, Store};

const DAY_MS: i64 = 24 * 3600 * 1000;

async fn actions(store: &Store) -> Vec<String> {
    store
        .audit_entries(None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

async fn puid(w: &World, m: &MemberRowId) -> String {
    let mut tx = w.store.begin().await.unwrap();
    let p = tx
        .for_community(&w.community)
        .platform_user_id(m)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    p
}

#[tokio::test]
async fn a_request_waits_its_grace_and_can_be_cancelled_during_it() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, serde_json::json!({})).await;
        let admin = join(&w, "UADMIN", Role::Admin).await;
        let student = join(&w, "US", Role::Student).await;
        let now = w.store.now_ms();

        let req = request_erasure(
            &w.store,
            &w.community,
            ErasureTarget::Member(student.clone()),
            ErasureOrigin::Admin,
            Some(&admin),
            None,
        )
        .await
        .unwrap();
        assert_eq!(req.state, ErasureState::Pending, "{b}");
        assert_eq!(
            req.grace_until,
            now + 7 * DAY_MS,
            "{b}: default grace 7 days"
        );
        assert_eq!(req.due_at, now + 30 * DAY_MS, "{b}: due in 30 days");
        assert!(req.cancellable(now), "{b}");

        // A second request for the same member while one is pending is refused.
        let again = request_erasure(
            &w.store,
            &w.community,
            ErasureTarget::Member(student.clone()),
            ErasureOrigin::Admin,
            Some(&admin),
            None,
        )
        .await;
        assert!(
            matches!(again, Err(ErasureError::AlreadyRequested { ref id, .. }) if *id == req.id),
            "{b}: {again:?}"
        );

        // The job does nothing during the grace period.
        let signer = ReceiptSigner::generate();
        w.clock.advance(chrono::Duration::days(6));
        assert!(
            run_due_erasures(&w.store, &signer)
                .await
                .unwrap()
                .is_empty(),
            "{b}"
        );
        assert_eq!(puid(&w, &student).await, "US", "{b}: not erased in grace");

        cancel_erasure(&w.store, &w.community, &req.id, &admin)
            .await
            .unwrap();
        let after = erasure_request(&w.store, &w.community, &req.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(after.state, ErasureState::Cancelled, "{b}");
        assert_eq!(after.cancelled_by.as_ref(), Some(&admin), "{b}");

        // Past the grace period, the cancelled request is never run.
        w.clock.advance(chrono::Duration::days(2));
        assert!(
            run_due_erasures(&w.store, &signer)
                .await
                .unwrap()
                .is_empty(),
            "{b}"
        );
        assert_eq!(puid(&w, &student).await, "US", "{b}: cancelled means kept");

        // Cancelling twice is refused.
        let twice = cancel_erasure(&w.store, &w.community, &req.id, &admin).await;
        assert!(
            matches!(twice, Err(ErasureError::NotCancellable { .. })),
            "{b}"
        );

        let acts = actions(&w.store).await;
        assert!(
            acts.contains(&"erasure.request".to_string()),
            "{b}: {acts:?}"
        );
        assert!(
            acts.contains(&"erasure.cancel".to_string()),
            "{b}: {acts:?}"
        );
        assert!(!acts.contains(&"erasure.run".to_string()), "{b}: {acts:?}");
    }
}

#[tokio::test]
async fn after_the_grace_the_job_erases_signs_a_receipt_and_cancel_is_refused() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, serde_json::json!({})).await;
        let admin = join(&w, "UADMIN", Role::Admin).await;
        let first = join(&w, "UA", Role::Student).await;
        let second = join(&w, "UB", Role::Student).await;
        let other = join(&w, "UC", Role::Student).await;
        let signer = ReceiptSigner::generate();

        // The second request has a shorter grace, so it is due to run first; both are past
        // grace when the job runs, and the earlier due date goes first.
        let r1 = request_erasure(
            &w.store,
            &w.community,
            ErasureTarget::Member(first.clone()),
            ErasureOrigin::Admin,
            Some(&admin),
            None,
        )
        .await
        .unwrap();
        w.clock.advance(chrono::Duration::days(1));
        let r2 = request_erasure(
            &w.store,
            &w.community,
            ErasureTarget::Member(second.clone()),
            ErasureOrigin::StudentRequest,
            Some(&admin),
            Some(Duration::from_secs(3600)),
        )
        .await
        .unwrap();
        w.clock
            .advance(chrono::Duration::days(6) + chrono::Duration::seconds(1));

        let late = cancel_erasure(&w.store, &w.community, &r1.id, &admin).await;
        assert!(
            matches!(late, Err(ErasureError::NotCancellable { ref why, .. }) if why.contains("grace")),
            "{b}: {late:?}"
        );

        let receipts = run_due_erasures(&w.store, &signer).await.unwrap();
        let ids: Vec<&str> = receipts.iter().map(|r| r.request_id.as_str()).collect();
        assert_eq!(
            ids,
            vec![r1.id.as_str(), r2.id.as_str()],
            "{b}: oldest due first"
        );
        assert_eq!(puid(&w, &first).await, format!("erased:{first}"), "{b}");
        assert_eq!(puid(&w, &second).await, format!("erased:{second}"), "{b}");
        assert_eq!(puid(&w, &other).await, "UC", "{b}: others untouched");

        // The receipt: ids only, verifiable, stored on the request.
        let r = &receipts[0];
        assert_eq!(r.target.kind, "member", "{b}");
        assert_eq!(r.target.member_id.as_deref(), Some(first.as_str()), "{b}");
        assert_eq!(r.origin, "admin", "{b}");
        assert_eq!(receipts[1].origin, "student_request", "{b}");
        assert_eq!(r.tables.get("member"), Some(&1), "{b}");
        let text = r.to_file_text();
        assert!(!text.contains("UA\""), "{b}: no platform ids");
        let stored = erasure_request(&w.store, &w.community, &r1.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.state, ErasureState::Done, "{b}");
        assert_eq!(stored.receipt.as_deref(), Some(text.as_str()), "{b}");
        verify(stored.receipt.unwrap().as_bytes(), &signer.public_key()).unwrap();

        // Nothing left to do; a request for an erased member is refused.
        assert!(
            run_due_erasures(&w.store, &signer)
                .await
                .unwrap()
                .is_empty(),
            "{b}"
        );
        let again = request_erasure(
            &w.store,
            &w.community,
            ErasureTarget::Member(first.clone()),
            ErasureOrigin::Admin,
            Some(&admin),
            None,
        )
        .await;
        assert!(
            matches!(again, Err(ErasureError::AlreadyErased { .. })),
            "{b}"
        );

        let acts = actions(&w.store).await;
        for a in ["erasure.request", "erasure.run", "erasure.done"] {
            assert!(acts.contains(&a.to_string()), "{b}: {a} in {acts:?}");
        }
        let list = list_erasures(&w.store, &w.community).await.unwrap();
        assert_eq!(list.len(), 2, "{b}");
    }
}

#[tokio::test]
async fn a_request_not_done_by_its_due_date_is_overdue() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, serde_json::json!({})).await;
        let admin = join(&w, "UADMIN", Role::Admin).await;
        let student = join(&w, "US", Role::Student).await;
        let req = request_erasure(
            &w.store,
            &w.community,
            ErasureTarget::Member(student.clone()),
            ErasureOrigin::Admin,
            Some(&admin),
            Some(DEFAULT_GRACE),
        )
        .await
        .unwrap();
        w.clock.advance(chrono::Duration::days(29));
        assert_eq!(overdue_erasures(&w.store).await.unwrap(), 0, "{b}");
        w.clock
            .advance(chrono::Duration::days(1) + chrono::Duration::seconds(1));
        assert_eq!(overdue_erasures(&w.store).await.unwrap(), 1, "{b}");
        let now = w.store.now_ms();
        let listed = list_erasures(&w.store, &w.community).await.unwrap();
        assert!(listed[0].overdue(now), "{b}");
        assert_eq!(listed[0].id, req.id, "{b}");

        run_due_erasures(&w.store, &ReceiptSigner::generate())
            .await
            .unwrap();
        assert_eq!(
            overdue_erasures(&w.store).await.unwrap(),
            0,
            "{b}: done is not overdue"
        );
    }
}

#[tokio::test]
async fn erase_now_erases_a_community_with_a_receipt_and_leaves_a_tombstone() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, serde_json::json!({})).await;
        join(&w, "UADMIN", Role::Admin).await;
        let other = community(&w.store, serde_json::json!({}), "T2").await;
        let signer = ReceiptSigner::generate();
        let mut calls = Vec::new();
        let receipt = erase_now(
            &w.store,
            &signer,
            &w.community,
            ErasureTarget::Community,
            &mut |done, total| calls.push((done, total)),
        )
        .await
        .unwrap();
        assert_eq!(receipt.target.kind, "community", "{b}");
        assert_eq!(receipt.target.member_id, None, "{b}");
        assert_eq!(receipt.origin, "operator", "{b}");
        assert!(!calls.is_empty(), "{b}: progress reported");
        verify(receipt.to_file_text().as_bytes(), &signer.public_key()).unwrap();

        let mut tx = w.store.begin().await.unwrap();
        assert_eq!(
            tx.community_state(&w.community).await.unwrap().as_deref(),
            Some("erased"),
            "{b}: tombstone"
        );
        assert_eq!(
            tx.community_state(&other).await.unwrap().as_deref(),
            Some("active"),
            "{b}: the other community is untouched"
        );
        tx.commit().await.unwrap();

        let again = erase_now(
            &w.store,
            &signer,
            &w.community,
            ErasureTarget::Community,
            &mut |_, _| {},
        )
        .await;
        assert!(
            matches!(again, Err(ErasureError::CommunityErased { .. })),
            "{b}"
        );
    }
}

#[tokio::test]
async fn members_of_other_communities_and_unknown_ids_are_refused() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, serde_json::json!({})).await;
        let admin = join(&w, "UADMIN", Role::Admin).await;
        let other = community(&w.store, serde_json::json!({}), "T2").await;
        let mut tx = w.store.begin().await.unwrap();
        let stranger = classcred_service::join_member(
            &mut tx,
            &other,
            "slack",
            &classcred_store::NewMember {
                platform_user_id: "UX".into(),
                role: Role::Student,
                kind: classcred_store::MemberKind::Human,
                profile: Default::default(),
            },
            at(2026, 1, 1, 0, 0, 0),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let r = request_erasure(
            &w.store,
            &w.community,
            ErasureTarget::Member(stranger),
            ErasureOrigin::Admin,
            Some(&admin),
            None,
        )
        .await;
        assert!(
            matches!(r, Err(ErasureError::NotFound { what: "member", .. })),
            "{b}: {r:?}"
        );
        let r = cancel_erasure(&w.store, &w.community, "no-such-request", &admin).await;
        assert!(matches!(r, Err(ErasureError::NotFound { .. })), "{b}");
        let r = request_erasure(
            &w.store,
            &w.community,
            ErasureTarget::Community,
            ErasureOrigin::Admin,
            Some(&admin),
            Some(Duration::from_secs(31 * 24 * 3600)),
        )
        .await;
        assert!(
            matches!(r, Err(ErasureError::Invalid(_))),
            "{b}: grace beyond due"
        );
    }
}
