//! The audit chain detects edited, deleted, reordered and truncated entries.

use classcred_store::audit::{AuditRecord, ChainError};
use classcred_store::testing::TestDb;
use classcred_store::Store;

async fn write_entries(store: &Store, n: usize) {
    for i in 0..n {
        store
            .audit(&AuditRecord {
                community_id: Some("c1".into()),
                actor: "member:admin-1".into(),
                action: "member.read".into(),
                subject: Some(format!("member:m{i}")),
                details: serde_json::json!({ "i": i }),
            })
            .await
            .unwrap();
    }
}

async fn fresh(db: &TestDb) -> Store {
    let store = db.store().await;
    write_entries(&store, 6).await;
    assert_eq!(store.verify_audit().await.unwrap().unwrap().entries, 6);
    store
}

async fn exec(store: &Store, sql: &str) {
    sqlx::query(sql).execute(store.pool()).await.unwrap();
}

#[tokio::test]
async fn verify_detects_every_kind_of_tampering() {
    for backend in ["sqlite", "postgres"] {
        let make = || async {
            if backend == "sqlite" {
                Some(TestDb::sqlite().await)
            } else {
                TestDb::postgres().await
            }
        };
        let Some(db) = make().await else { continue };
        // Edited content.
        let store = fresh(&db).await;
        exec(
            &store,
            "UPDATE audit_entry SET subject = 'member:someone-else' WHERE seq = 3",
        )
        .await;
        assert_eq!(
            store.verify_audit().await.unwrap(),
            Err(ChainError::Altered { seq: 3 }),
            "{backend}"
        );
        store.close().await;

        // Edited content with a recomputed own hash still breaks the next link.
        let db = make().await.unwrap();
        let store = fresh(&db).await;
        exec(&store, "UPDATE audit_entry SET hash = 'ff' WHERE seq = 2").await;
        let err = store.verify_audit().await.unwrap().unwrap_err();
        assert_eq!(err, ChainError::Altered { seq: 2 }, "{backend}");
        store.close().await;

        // Deleted entry in the middle.
        let db = make().await.unwrap();
        let store = fresh(&db).await;
        exec(&store, "DELETE FROM audit_entry WHERE seq = 4").await;
        assert_eq!(
            store.verify_audit().await.unwrap(),
            Err(ChainError::Missing {
                expected: 4,
                found: 5
            }),
            "{backend}"
        );
        store.close().await;

        // Reordered: entries 2 and 3 swap places.
        let db = make().await.unwrap();
        let store = fresh(&db).await;
        exec(&store, "UPDATE audit_entry SET seq = 100 WHERE seq = 2").await;
        exec(&store, "UPDATE audit_entry SET seq = 2 WHERE seq = 3").await;
        exec(&store, "UPDATE audit_entry SET seq = 3 WHERE seq = 100").await;
        assert_eq!(
            store.verify_audit().await.unwrap(),
            Err(ChainError::BrokenLink { seq: 2, prev: 1 }),
            "{backend}"
        );
        store.close().await;

        // Truncated: the last two entries removed.
        let db = make().await.unwrap();
        let store = fresh(&db).await;
        exec(&store, "DELETE FROM audit_entry WHERE seq > 4").await;
        assert_eq!(
            store.verify_audit().await.unwrap(),
            Err(ChainError::Truncated { last: 4, head: 6 }),
            "{backend}"
        );
        store.close().await;

        // Everything removed.
        let db = make().await.unwrap();
        let store = fresh(&db).await;
        exec(&store, "DELETE FROM audit_entry").await;
        assert_eq!(
            store.verify_audit().await.unwrap(),
            Err(ChainError::Truncated { last: 0, head: 6 }),
            "{backend}"
        );
        // Appending after tampering does not hide it.
        write_entries(&store, 1).await;
        assert!(store.verify_audit().await.unwrap().is_err());
        store.close().await;
    }
}

#[tokio::test]
async fn concurrent_appends_keep_one_chain() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let s = store.clone();
            tasks.push(tokio::spawn(async move { write_entries(&s, 10).await }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            store.verify_audit().await.unwrap().unwrap().entries,
            80,
            "{}",
            db.backend()
        );
        store.close().await;
    }
}
