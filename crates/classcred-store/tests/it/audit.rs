//! The audit chain detects edited, deleted, reordered and truncated entries.

use std::sync::Arc;

use classcred_crypto::MasterKey;
use classcred_store::audit::{AuditRecord, ChainError, PublishedHead};
use classcred_store::testing::TestDb;
use classcred_store::{Store, SystemClock};

async fn write_entries(store: &Store, n: usize) {
    for i in 0..n {
        store
            .audit(&AuditRecord {
                community_id: Some(
                    classcred_store::CommunityId::parse("0190b2c4-5d6e-7f80-9a0b-1c2d3e4f5a6b")
                        .unwrap(),
                ),
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

/// What an attacker with write access to the database but without the master key can compute:
/// the old, unkeyed link `SHA-256(prev ‖ "\n" ‖ canonical)`.
fn unkeyed_link(prev: &str, e: &classcred_store::audit::AuditEntry) -> String {
    use sha2::{Digest, Sha256};
    let canonical = serde_json::to_string(&(
        e.seq,
        e.community_id.as_ref().map(|c| c.as_str()),
        &e.actor,
        &e.action,
        e.subject.as_deref(),
        e.at,
        &e.details,
    ))
    .unwrap();
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(canonical.as_bytes());
    hex::encode(h.finalize())
}

/// Rewrite every link from `from` on with the unkeyed formula and fix the head, as an attacker
/// would; `edit` changes the entries first.
async fn relink_unkeyed(store: &Store, edit: impl Fn(&mut classcred_store::audit::AuditEntry)) {
    let mut entries = store.audit_entries(None).await.unwrap();
    let mut prev = classcred_store::audit::GENESIS.to_string();
    for e in entries.iter_mut() {
        edit(e);
        let hash = unkeyed_link(&prev, e);
        sqlx::query(
            "UPDATE audit_entry SET subject = $2, prev_hash = $3, hash = $4 WHERE seq = $1",
        )
        .bind(e.seq)
        .bind(&e.subject)
        .bind(&prev)
        .bind(&hash)
        .execute(store.pool())
        .await
        .unwrap();
        prev = hash;
    }
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&prev)
        .execute(store.pool())
        .await
        .unwrap();
}

/// Finding 8, attack 1: rewrite an entry and recompute every later hash (and the head). The
/// unkeyed chain verified after this; the keyed one names the rewritten entry.
#[tokio::test]
async fn rewriting_an_entry_and_recomputing_every_hash_is_detected() {
    for db in TestDb::all().await {
        let store = fresh(&db).await;
        relink_unkeyed(&store, |e| {
            if e.seq == 3 {
                e.subject = Some("member:someone-else".into());
            }
        })
        .await;
        assert_eq!(
            store.verify_audit().await.unwrap(),
            Err(ChainError::Altered { seq: 1 }),
            "{}",
            db.backend()
        );
        store.close().await;
    }
}

/// Finding 8, attack 2: delete the tail and point `audit_head` at the last remaining entry.
/// Every stored hash is still valid, so only a head published outside the database reveals
/// it: `verify --expect-head` fails, naming the head.
#[tokio::test]
async fn deleting_the_tail_and_fixing_the_head_fails_against_a_published_head() {
    for db in TestDb::all().await {
        let store = fresh(&db).await;
        let published: PublishedHead = format!(
            "6:{}",
            store.verify_audit().await.unwrap().unwrap().head_hash
        )
        .parse()
        .unwrap();
        let entries = store.audit_entries(None).await.unwrap();
        exec(&store, "DELETE FROM audit_entry WHERE seq > 4").await;
        sqlx::query("UPDATE audit_head SET seq = 4, hash = $1 WHERE id = 1")
            .bind(&entries[3].hash)
            .execute(store.pool())
            .await
            .unwrap();
        // The database alone cannot tell (documented): the shortened chain is consistent.
        assert!(store.verify_audit().await.unwrap().is_ok());
        assert_eq!(
            store
                .verify_audit_expecting(Some(&published))
                .await
                .unwrap(),
            Err(ChainError::HeadNotInChain {
                seq: 6,
                hash: published.hash.clone()
            }),
            "{}",
            db.backend()
        );
        // An older published head is still in the chain.
        let older: PublishedHead = format!("4:{}", entries[3].hash).parse().unwrap();
        assert!(store
            .verify_audit_expecting(Some(&older))
            .await
            .unwrap()
            .is_ok());
        store.close().await;
    }
}

/// A database written before chains were keyed: migrations up to 0002 and an unkeyed
/// (version 1) chain of six entries, linked as the old code did.
async fn legacy_store(db: &TestDb) -> Store {
    let store = Store::connect(
        db.url(),
        MasterKey::generate(),
        Arc::new(SystemClock),
        Default::default(),
    )
    .await
    .unwrap();
    store.migrate_through(2).await.unwrap();
    for seq in 1..=6_i64 {
        sqlx::query(
            "INSERT INTO audit_entry (seq, community_id, actor, action, subject, at, details, prev_hash, hash) \
             VALUES ($1, 'c1', 'member:admin-1', 'member.read', $2, $3, '{}', '', '')",
        )
        .bind(seq)
        .bind(format!("member:m{seq}"))
        .bind(1_700_000_000_000_i64 + seq)
        .execute(store.pool())
        .await
        .unwrap();
    }
    exec(&store, "UPDATE audit_head SET seq = 6").await;
    relink_unkeyed(&store, |_| {}).await;
    store
}

/// The upgrade that brings keyed chains (migration 0003) verifies the unkeyed chain as written
/// and keys it, once. After that an unkeyed chain can only be a forgery (a downgrade of
/// `audit_head.chain_version` with every link recomputed the unkeyed way): it is refused, and a
/// later `migrate` (every `serve` start runs one) must not key it, which would launder it.
#[tokio::test]
async fn unkeyed_chains_are_keyed_by_the_upgrade_only_and_never_downgraded() {
    for db in TestDb::all().await {
        let store = legacy_store(&db).await;
        store.migrate().await.unwrap();
        let ok = store.verify_audit().await.unwrap().unwrap();
        assert_eq!(ok.entries, 7, "six entries and audit.chain_keyed");
        let last = store.audit_entries(None).await.unwrap().pop().unwrap();
        assert_eq!(last.action, "audit.chain_keyed");

        // Downgrade attack: rewrite entry 4, recompute the whole chain unkeyed, mark it v1.
        relink_unkeyed(&store, |e| {
            if e.seq == 4 {
                e.subject = Some("member:forged".into());
            }
        })
        .await;
        exec(&store, "UPDATE audit_head SET chain_version = 1").await;
        assert!(matches!(
            store.verify_audit().await.unwrap(),
            Err(ChainError::NotKeyed { .. })
        ));
        store.migrate().await.unwrap();
        assert!(
            matches!(
                store.verify_audit().await.unwrap(),
                Err(ChainError::NotKeyed { .. })
            ),
            "{}: a later migrate must not key (launder) a forged unkeyed chain",
            db.backend()
        );
        store.close().await;

        // A tampered legacy chain is refused by the upgrade, not keyed.
        let db = if db.backend() == "sqlite" {
            TestDb::sqlite().await
        } else {
            TestDb::postgres().await.unwrap()
        };
        let store = legacy_store(&db).await;
        exec(
            &store,
            "UPDATE audit_entry SET subject = 'member:x' WHERE seq = 2",
        )
        .await;
        let err = store.migrate().await.unwrap_err().to_string();
        assert!(
            err.contains("was not keyed") && err.contains("entry 2"),
            "{err}"
        );
        store.close().await;
    }
}

/// A master-key rotation re-links the chain under the new key: it verifies with the new key
/// and no longer with the old one.
#[tokio::test]
async fn rotation_rekeys_the_chain() {
    for db in TestDb::all().await {
        let old = MasterKey::generate();
        let store = db
            .store_with(
                MasterKey::parse(&old.encode()).unwrap(),
                Arc::new(SystemClock),
            )
            .await;
        write_entries(&store, 5).await;
        let new = MasterKey::generate();
        store.rotate_master_key(&new).await.unwrap();
        store.close().await;
        let with_new = db.store_with(new, Arc::new(SystemClock)).await;
        assert_eq!(
            with_new.verify_audit().await.unwrap().unwrap().entries,
            6,
            "five entries and master_key.rotate"
        );
        let last = with_new.audit_entries(None).await.unwrap().pop().unwrap();
        assert_eq!(last.action, "master_key.rotate");
        with_new.close().await;
        let with_old = db.store_with(old, Arc::new(SystemClock)).await;
        assert_eq!(
            with_old.verify_audit().await.unwrap(),
            Err(ChainError::Altered { seq: 1 })
        );
        with_old.close().await;
    }
}

/// Captured log output.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The head is published outside the database every `HEAD_LOG_EVERY` entries, once the entry
/// is committed (a rolled-back entry is never published).
#[tokio::test]
async fn heads_are_published_after_commit() {
    use classcred_store::audit::HEAD_LOG_EVERY;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let db = TestDb::sqlite().await;
    let store = db.store().await;
    let n = usize::try_from(HEAD_LOG_EVERY).unwrap();
    write_entries(&store, n - 1).await;
    // The 100th entry in a transaction that rolls back: not published.
    let mut tx = store.begin().await.unwrap();
    tx.audit(&AuditRecord {
        community_id: None,
        actor: "system".into(),
        action: "x".into(),
        subject: None,
        details: serde_json::json!({}),
    })
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(!text.contains("audit head"), "{text}");
    write_entries(&store, 1).await;
    let ok = store.verify_audit().await.unwrap().unwrap();
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains(&format!("head={HEAD_LOG_EVERY}:{}", ok.head_hash)),
        "{text}"
    );
    store.close().await;
}
