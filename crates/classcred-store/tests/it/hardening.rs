//! Review findings of issue 7 on the store: concurrent writers from two processes (SQLite),
//! master-key rotation against running servers, file permissions, tenancy of read methods.

use crate::common;

use std::sync::Arc;

use classcred_crypto::MasterKey;
use classcred_store::jobs::NewJob;
use classcred_store::testing::TestDb;
use classcred_store::{CommunityId, InboxInsert, Store, SystemClock};

fn same_key(key: &MasterKey) -> MasterKey {
    MasterKey::parse(&key.encode()).unwrap()
}

/// What `classcred_service::ingest` does: read the community's data key, store the delivery,
/// enqueue a job, in one transaction.
async fn ingest_like(
    store: &Store,
    community: &CommunityId,
    event_id: String,
) -> classcred_store::Result<()> {
    let mut tx = store.begin().await?;
    let inserted = tx
        .for_community(community)
        .insert_inbox("slack", &event_id, "message", b"{}", 0)
        .await?;
    assert!(matches!(inserted, InboxInsert::Stored(_)));
    tx.enqueue(&NewJob {
        kind: "recognition.drain".into(),
        community_id: Some(community.clone()),
        payload: serde_json::json!({ "community_id": community }),
        dedupe_key: None,
        coalesce_key: None,
        max_attempts: 5,
        run_at: None,
    })
    .await?;
    tx.commit().await
}

/// Finding 11: two processes (here two stores, each with its own connection) on one SQLite
/// file, each ingesting concurrently: no "database is locked".
#[tokio::test]
async fn two_stores_on_one_sqlite_file_ingest_concurrently_without_busy_errors() {
    let db = TestDb::sqlite().await;
    let key = MasterKey::generate();
    let a = db.store_with(same_key(&key), Arc::new(SystemClock)).await;
    let b = db.store_with(same_key(&key), Arc::new(SystemClock)).await;
    let community = common::community(&a, "Physics", "T1").await;
    let mut tasks = Vec::new();
    for (name, store) in [("a", a.clone()), ("b", b.clone())] {
        for i in 0..50 {
            let store = store.clone();
            let community = community.clone();
            tasks.push(tokio::spawn(async move {
                ingest_like(&store, &community, format!("{name}-{i}")).await
            }));
        }
    }
    let mut errors = Vec::new();
    for t in tasks {
        if let Err(e) = t.await.unwrap() {
            errors.push(e.to_string());
        }
    }
    assert!(
        errors.is_empty(),
        "{} errors, first: {:?}",
        errors.len(),
        errors.first()
    );
    let mut tx = a.begin().await.unwrap();
    assert_eq!(
        tx.for_community(&community)
            .pending_inbox_count()
            .await
            .unwrap(),
        100
    );
    tx.commit().await.unwrap();
}

/// Finding 4: a rotation while a server runs is refused; after the server released its lease
/// it goes through.
#[tokio::test]
async fn rotation_is_refused_while_a_server_holds_a_lease() {
    for db in TestDb::all().await {
        let key = MasterKey::generate();
        let server = db.store_with(same_key(&key), Arc::new(SystemClock)).await;
        let operator = db.store_with(same_key(&key), Arc::new(SystemClock)).await;
        common::community(&server, "Physics", "T1").await;
        let lease = server
            .register_server(std::time::Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(operator.live_server_leases().await.unwrap(), 1);
        let new = MasterKey::generate();
        let err = operator.rotate_master_key(&new).await.unwrap_err();
        assert!(
            matches!(
                err,
                classcred_store::StoreError::ServersRunning { count: 1 }
            ),
            "{}: {err}",
            db.backend()
        );
        assert!(err.to_string().contains("stop every server"), "{err}");
        // Nothing changed: the server still works with its key.
        server.check_master_key().await.unwrap();
        lease.release().await.unwrap();
        assert_eq!(operator.live_server_leases().await.unwrap(), 0);
        let report = operator.rotate_master_key(&new).await.unwrap();
        assert_eq!(report.rewrapped, 1, "{}", db.backend());
        server.close().await;
        operator.close().await;
    }
}

/// Finding 4: a process still running with the old key after a rotation cannot wrap a new
/// community's data key with it, and a database whose live data keys are wrapped by several
/// master keys is refused at start with a clear message.
#[tokio::test]
async fn stale_key_cannot_create_communities_and_mixed_keys_are_refused_at_start() {
    for db in TestDb::all().await {
        let old = MasterKey::generate();
        let stale = db.store_with(same_key(&old), Arc::new(SystemClock)).await;
        common::community(&stale, "Physics", "T1").await;
        let operator = db.store_with(same_key(&old), Arc::new(SystemClock)).await;
        let new = MasterKey::generate();
        operator.rotate_master_key(&new).await.unwrap();
        operator.close().await;

        // The stale process (no lease: e.g. an old binary) tries to create a community.
        let mut tx = stale.begin().await.unwrap();
        let inst = tx.create_institution("U").await.unwrap();
        let err = tx
            .create_community(classcred_store::NewCommunity {
                institution_id: inst.id,
                name: "Chemistry".into(),
                platform: "slack".into(),
                platform_team_id: Some("T2".into()),
                settings_json: "{}".into(),
            })
            .await
            .unwrap_err();
        assert!(
            matches!(err, classcred_store::StoreError::WrongMasterKey { .. }),
            "{}: {err}",
            db.backend()
        );
        tx.rollback().await.unwrap();
        stale.close().await;

        // A database left mixed by an older binary: one data key still under the old key.
        let current = db.store_with(same_key(&new), Arc::new(SystemClock)).await;
        current.check_master_key().await.unwrap();
        let c2 = common::community(&current, "Biology", "T3").await;
        let wrapped = old.wrap(&classcred_crypto::DataKey::generate(), c2.as_str());
        sqlx::query(
            "UPDATE classcred_keys.data_key SET master_key_id = $1, wrapped = $2 WHERE owner_id = $3",
        )
        .bind(old.id())
        .bind(wrapped)
        .bind(&c2)
        .execute(current.pool())
        .await
        .unwrap();
        let err = current.check_master_key().await.unwrap_err();
        assert!(
            matches!(err, classcred_store::StoreError::MixedMasterKeys { .. }),
            "{}: {err}",
            db.backend()
        );
        let msg = err.to_string();
        assert!(msg.contains(&old.id()) && msg.contains(&new.id()), "{msg}");
        // A destroyed key does not count.
        let mut tx = current.begin().await.unwrap();
        tx.destroy_data_key(&c2).await.unwrap();
        tx.commit().await.unwrap();
        current.check_master_key().await.unwrap();
        // The wrong key alone is refused too.
        let wrong = db
            .store_with(MasterKey::generate(), Arc::new(SystemClock))
            .await;
        assert!(matches!(
            wrong.check_master_key().await,
            Err(classcred_store::StoreError::WrongMasterKey { .. })
        ));
        current.close().await;
    }
}

/// Finding 17: the SQLite database and its WAL are created readable by their owner only.
#[cfg(unix)]
#[tokio::test]
async fn sqlite_files_are_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let db = TestDb::sqlite().await;
    let store = db.store().await;
    common::community(&store, "Physics", "T1").await;
    let path = db.sqlite_path().unwrap();
    let with = |suffix: &str| {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        std::path::PathBuf::from(p)
    };
    for p in [path.clone(), with("-wal"), with("-shm")] {
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} has mode {mode:o}", p.display());
    }
    store.close().await;
}

/// Finding 17: the key check fails on a database error instead of passing; only a database
/// with no schema at all passes (nothing to check).
#[tokio::test]
async fn master_key_check_fails_on_database_errors() {
    for db in TestDb::all().await {
        let fresh = Store::connect(
            db.url(),
            MasterKey::generate(),
            Arc::new(SystemClock),
            Default::default(),
        )
        .await
        .unwrap();
        assert_eq!(
            fresh.schema_state().await.unwrap(),
            classcred_store::SchemaState::Fresh
        );
        assert!(fresh.require_current_schema().await.is_err());
        fresh.migrate().await.unwrap();
        assert_eq!(
            fresh.schema_state().await.unwrap(),
            classcred_store::SchemaState::Current
        );
        fresh.require_current_schema().await.unwrap();
        // A migration this binary does not know: a newer binary migrated the database.
        sqlx::query("UPDATE _sqlx_migrations SET version = 99 WHERE version = 3")
            .execute(fresh.pool())
            .await
            .unwrap();
        assert_eq!(
            fresh.schema_state().await.unwrap(),
            classcred_store::SchemaState::Newer { unknown: vec![99] }
        );
        let err = fresh
            .require_current_schema()
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("newer classcred"), "{err}");
        sqlx::query("DROP TABLE classcred_keys.data_key")
            .execute(fresh.pool())
            .await
            .unwrap();
        assert!(fresh.check_master_key().await.is_err());
        fresh.close().await;
    }
}

/// Communities A and B, and Ada, a Student of A: what the tenancy tests cross.
async fn two_communities(
    store: &classcred_store::Store,
) -> (
    classcred_store::CommunityId,
    classcred_store::CommunityId,
    classcred_store::MemberRowId,
) {
    let a = common::community(store, "A", "TA").await;
    let b = common::community(store, "B", "TB").await;
    let mut tx = store.begin().await.unwrap();
    let ada = tx
        .for_community(&a)
        .upsert_member(&common::member("UA", classcred_store::Role::Student, "Ada"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (a, b, ada)
}

/// Tenancy: every method that takes a row id answers "not found" (or nothing) for a row of
/// another community.
#[tokio::test]
async fn row_ids_of_another_community_are_not_found() {
    use classcred_store::{Role, StoreError};
    for db in TestDb::all().await {
        let store = db.store().await;
        let (a, b, member_a) = two_communities(&store).await;
        let mut tx = store.begin().await.unwrap();
        tx.for_community(&b)
            .upsert_member(&common::member("UB", Role::Student, "Bob"))
            .await
            .unwrap();
        let InboxInsert::Stored(inbox_a) = tx
            .for_community(&a)
            .insert_inbox("slack", "EvA", "message", b"{}", 0)
            .await
            .unwrap()
        else {
            panic!("stored")
        };
        tx.for_community(&a)
            .upsert_engine_message("msgA", Some(&member_a), "{}")
            .await
            .unwrap();
        tx.for_community(&a)
            .upsert_engine_reaction("msgA", &member_a, "{}")
            .await
            .unwrap();
        tx.for_community(&a)
            .insert_badge(&member_a, "first-fire", "1", None, 0)
            .await
            .unwrap();
        tx.for_community(&a)
            .insert_feed_item(Some(&member_a), "badge", "{}", 0)
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let nf = |r: Result<(), StoreError>| matches!(r, Err(StoreError::NotFound { .. }));
        let mut tx = store.begin().await.unwrap();
        let backend = db.backend();
        // Inbox: reads and the three writes that address a row by id.
        assert!(tx.for_community(&a).inbox_event(&inbox_a).await.is_ok());
        assert!(
            nf(tx.for_community(&b).inbox_event(&inbox_a).await.map(|_| ())),
            "{backend}"
        );
        assert!(
            nf(tx.for_community(&b).mark_inbox_processed(&inbox_a).await),
            "{backend}"
        );
        assert!(
            nf(tx
                .for_community(&b)
                .mark_inbox_processed_at_seq(&inbox_a, 1)
                .await),
            "{backend}"
        );
        assert!(
            nf(tx
                .for_community(&b)
                .record_inbox_failure(&inbox_a, "x")
                .await
                .map(|_| ())),
            "{backend}"
        );
        let untouched = tx.for_community(&a).inbox_event(&inbox_a).await.unwrap();
        assert_eq!((untouched.processed_at, untouched.attempts), (None, 0));
        // Members.
        assert!(
            nf(tx.for_community(&b).member(&member_a).await.map(|_| ())),
            "{backend}"
        );
        assert_eq!(
            tx.for_community(&b)
                .platform_user_id(&member_a)
                .await
                .unwrap(),
            None
        );
        assert!(tx
            .for_community(&b)
            .member_by_platform_id("UA")
            .await
            .unwrap()
            .is_none());
        assert!(tx
            .for_community(&b)
            .member_by_email("ada@example.edu")
            .await
            .unwrap()
            .is_none());
        assert!(tx
            .for_community(&a)
            .member_by_email("ada@example.edu")
            .await
            .unwrap()
            .is_some());
        // Engine records and points.
        assert_eq!(
            tx.for_community(&b).engine_message("msgA").await.unwrap(),
            None
        );
        assert!(tx
            .for_community(&a)
            .engine_message("msgA")
            .await
            .unwrap()
            .is_some());
        assert_eq!(
            tx.for_community(&b)
                .engine_reaction("msgA", &member_a)
                .await
                .unwrap(),
            None
        );
        assert!(tx
            .for_community(&a)
            .engine_reaction("msgA", &member_a)
            .await
            .unwrap()
            .is_some());
        assert!(tx
            .for_community(&b)
            .engine_reactions_on("msgA")
            .await
            .unwrap()
            .is_empty());
        assert!(tx
            .for_community(&a)
            .has_badge(&member_a, "first-fire", "1")
            .await
            .unwrap());
        assert!(!tx
            .for_community(&b)
            .has_badge(&member_a, "first-fire", "1")
            .await
            .unwrap());
        assert_eq!(
            tx.for_community(&a)
                .feed(Some(&member_a), 10)
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(tx
            .for_community(&b)
            .feed(Some(&member_a), 10)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(tx.for_community(&b).earned(&member_a).await.unwrap(), 0);
        tx.commit().await.unwrap();
        store.close().await;
    }
}

/// Tenancy in the schema (migration 0003): a row of one community cannot name a member of
/// another (composite foreign keys on PostgreSQL, equivalent triggers on SQLite).
#[tokio::test]
async fn rows_cannot_name_members_of_another_community() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let (a, b, member_a) = two_communities(&store).await;
        let mut tx = store.begin().await.unwrap();
        tx.for_community(&a)
            .upsert_engine_message("m1", Some(&member_a), "{}")
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        let err = tx
            .for_community(&b)
            .upsert_engine_message("m2", Some(&member_a), "{}")
            .await
            .unwrap_err();
        assert!(
            err.to_string().to_lowercase().contains("foreign key"),
            "{}: {err}",
            db.backend()
        );
        tx.rollback().await.unwrap();

        // Moving a row to another community is refused too.
        let moved = sqlx::query(
            "UPDATE engine_message SET community_id = $1 WHERE platform_message_id = 'm1'",
        )
        .bind(&b)
        .execute(store.pool())
        .await;
        assert!(moved.is_err(), "{}", db.backend());
        store.close().await;
    }
}

/// Tenancy of every other read of one community's data (the reads that take no row id, and
/// the writes that address a member by id): community A holds one of everything, community B
/// nothing; every read through B's scope comes back empty, and every read through A's scope
/// finds what was seeded (so the B assertions can fail).
#[tokio::test]
async fn every_community_read_stays_in_its_community() {
    use classcred_store::recognition::INBOX_MAX_ATTEMPTS;
    use classcred_store::{MemberKind, NewInstallation, NewLedgerEntry, NewMessage, Role};
    for db in TestDb::all().await {
        let backend = db.backend();
        let store = db.store().await;
        let a = common::community(&store, "A", "TA").await;
        let b = common::community(&store, "B", "TB").await;
        let mut tx = store.begin().await.unwrap();
        let mut sa = tx.for_community(&a);
        let ada = sa
            .upsert_member(&common::member("UA", Role::Student, "Ada"))
            .await
            .unwrap();
        let gus = sa
            .upsert_member(&common::member("UG", Role::Student, "Gus"))
            .await
            .unwrap();
        assert!(sa
            .insert_ledger_entry(&NewLedgerEntry {
                member_id: ada.to_string(),
                kind: "award".into(),
                amount_milli: 1000,
                idempotency_key: "k1".into(),
                giver_member_id: Some(gus.to_string()),
                giver_role: Some("student".into()),
                source_ref: Some("C1:1".into()),
                quota_day: Some("2026-03-02".into()),
                iso_week: Some("2026-W10".into()),
                quota_units: 1,
                fire_units: 1,
                note: Some("thanks".into()),
                occurred_at: 1,
            })
            .await
            .unwrap());
        sa.insert_message(&NewMessage {
            platform_message_id: "C1:1".into(),
            channel_id: "C1".into(),
            author_member_id: Some(gus.to_string()),
            thread_id: None,
            text: "hello".into(),
            posted_at: 1,
        })
        .await
        .unwrap();
        sa.save_installation(&NewInstallation {
            platform: "slack".into(),
            platform_team_id: "TA".into(),
            bot_user_id: Some("B1".into()),
            scopes: "chat:write".into(),
            bot_token: "xoxb-a".to_owned().into(),
            installed_by_member_id: Some(ada.clone()),
        })
        .await
        .unwrap();
        let stored = |r| match r {
            InboxInsert::Stored(id) => id,
            InboxInsert::Duplicate => panic!("stored"),
        };
        let done = stored(
            sa.insert_inbox("slack", "Ev1", "message", b"{}", 1)
                .await
                .unwrap(),
        );
        let seq = sa.next_event_seq().await.unwrap();
        sa.mark_inbox_processed_at_seq(&done, seq).await.unwrap();
        let parked = stored(
            sa.insert_inbox("slack", "Ev2", "message", b"{}", 2)
                .await
                .unwrap(),
        );
        for _ in 0..INBOX_MAX_ATTEMPTS {
            sa.record_inbox_failure(&parked, "x").await.unwrap();
        }
        sa.insert_inbox("slack", "Ev3", "message", b"{}", 3)
            .await
            .unwrap();
        sa.mark_platform_non_member("UX", "deleted").await.unwrap();
        sa.set_member_profile_version("UA", 7).await.unwrap();
        sa.set_member_level(&ada, 2).await.unwrap();
        sa.insert_badge(&ada, "first-fire", "1", None, 0)
            .await
            .unwrap();
        sa.insert_feed_item(None, "week", "{}", 0).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        // Writes that address A's member by row id through B's scope change nothing in A.
        let mut sb = tx.for_community(&b);
        let _ = sb.set_member_level(&ada, 9).await;
        let _ = sb
            .set_member_role_kind(&ada, Role::Admin, MemberKind::Bot)
            .await;
        assert_eq!(sb.requeue_parked_inbox().await.unwrap(), 0, "{backend}");

        // Each read, first through A (finds the seed), then through B (finds nothing).
        for (scope, own) in [(&a, true), (&b, false)] {
            let mut s = tx.for_community(scope);
            let msg = format!("{backend}, own community: {own}");
            assert_eq!(
                s.list_members().await.unwrap().len(),
                2 * own as usize,
                "{msg}"
            );
            assert_eq!(
                s.member_ids_by_platform().await.unwrap().len(),
                2 * own as usize,
                "{msg}"
            );
            assert_eq!(
                s.member_id_by_platform("UA").await.unwrap().is_some(),
                own,
                "{msg}"
            );
            assert_eq!(
                s.member_role_kind(&ada).await.unwrap(),
                own.then_some((Role::Student, MemberKind::Human)),
                "{msg}"
            );
            assert_eq!(
                s.member_level(&ada).await.unwrap(),
                if own { 2 } else { 0 },
                "{msg}"
            );
            assert_eq!(
                s.member_profile_version("UA").await.unwrap(),
                own.then_some(7),
                "{msg}"
            );
            assert_eq!(s.is_platform_non_member("UX").await.unwrap(), own, "{msg}");
            assert_eq!(s.ledger().await.unwrap().len(), own as usize, "{msg}");
            assert_eq!(
                s.ledger_totals().await.unwrap().len(),
                own as usize,
                "{msg}"
            );
            assert_eq!(s.ledger_key_exists("k1").await.unwrap(), own, "{msg}");
            let n = i64::from(own);
            assert_eq!(s.quota_used(&gus, "2026-03-02").await.unwrap(), n, "{msg}");
            assert_eq!(
                s.weekly_fire(&gus, &ada, "2026-W10").await.unwrap(),
                n,
                "{msg}"
            );
            assert_eq!(
                s.weekly_fire_by_giver("2026-W10").await.unwrap().len(),
                own as usize,
                "{msg}"
            );
            assert_eq!(s.has_recognised(&gus, &ada).await.unwrap(), own, "{msg}");
            assert_eq!(s.distinct_givers(&ada).await.unwrap(), n, "{msg}");
            assert_eq!(s.distinct_recipients(&gus).await.unwrap(), n, "{msg}");
            assert_eq!(s.gave_on(&gus, "2026-03-02").await.unwrap(), own, "{msg}");
            assert_eq!(s.earned(&ada).await.unwrap(), 1000 * n, "{msg}");
            assert_eq!(
                s.balances()
                    .await
                    .unwrap()
                    .iter()
                    .map(|m| m.earned_milli)
                    .sum::<i64>(),
                1000 * n,
                "{msg}"
            );
            assert_eq!(
                s.student_earned_totals(None, None)
                    .await
                    .unwrap()
                    .iter()
                    .map(|(_, e)| e)
                    .sum::<i64>(),
                1000 * n,
                "{msg}"
            );
            assert_eq!(
                s.list_messages().await.unwrap().len(),
                own as usize,
                "{msg}"
            );
            assert_eq!(s.bot_token().await.unwrap().is_some(), own, "{msg}");
            assert_eq!(
                s.processed_events().await.unwrap().len(),
                own as usize,
                "{msg}"
            );
            assert_eq!(
                s.oldest_unprocessed_inbox().await.unwrap().is_some(),
                own,
                "{msg}"
            );
            assert_eq!(s.pending_inbox_count().await.unwrap(), 2 * n, "{msg}");
            assert_eq!(
                s.pending_inbox_by_event_id("slack", "Ev3")
                    .await
                    .unwrap()
                    .is_some(),
                own,
                "{msg}"
            );
            assert_eq!(s.badges().await.unwrap().len(), own as usize, "{msg}");
            assert_eq!(s.feed(None, 10).await.unwrap().len(), own as usize, "{msg}");
        }
        tx.rollback().await.unwrap();
        store.close().await;
    }
}

/// A single-use nonce is accepted once; once expired it is forgotten (the table stays small).
#[tokio::test]
async fn a_nonce_is_consumed_once_and_forgotten_after_it_expires() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let mut tx = store.begin().await.unwrap();
        assert!(tx.consume_nonce("n1", 1_000, 500).await.unwrap());
        assert!(
            !tx.consume_nonce("n1", 1_000, 600).await.unwrap(),
            "replayed"
        );
        assert!(tx.consume_nonce("n2", 3_000, 2_000).await.unwrap());
        tx.commit().await.unwrap();
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM oauth_state_used")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(left, 1, "{}: n1 expired and was forgotten", db.backend());
        store.close().await;
    }
}

/// Tenancy of the privacy-governance and device-data rows (0014, 0015, 0017; SQLite triggers in
/// 0018): a policy acknowledgement, a breach notice or a sign-in record of one community cannot
/// name a member of another, on insert or by moving the row.
#[tokio::test]
async fn governance_and_device_rows_cannot_name_members_of_another_community() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let store = db.store().await;
        let (a, b, member_a) = two_communities(&store).await;
        let exec = |sql: &'static str, community: &classcred_store::CommunityId, id: &str| {
            sqlx::query(sql)
                .bind(id.to_owned())
                .bind(community.to_string())
                .bind(member_a.to_string())
                .execute(store.pool())
        };
        sqlx::query(
            "INSERT INTO policy_version (id, version, body, body_sha256, published_at, published_by) \
             VALUES ('pv1', '1', 'text', 'h', 1, 'operator')",
        )
        .execute(store.pool())
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO breach (id, reported_at, deadline_at, scope, description, state, \
             recorded_at, recorded_by) VALUES ('br1', 1, 2, 'all', 'd', 'open', 1, 'operator')",
        )
        .execute(store.pool())
        .await
        .unwrap();
        let inserts: [(&str, &'static str); 3] = [
            (
                "policy_ack",
                "INSERT INTO policy_ack (id, community_id, member_id, policy_version_id, notified_at) \
                 VALUES ($1, $2, $3, 'pv1', 1)",
            ),
            (
                "breach_notice",
                "INSERT INTO breach_notice (id, breach_id, community_id, member_id, channel, sent_at, \
                 sent_by) VALUES ($1, 'br1', $2, $3, 'chat', 1, 'operator')",
            ),
            (
                "sign_in_record",
                "INSERT INTO sign_in_record (id, community_id, member_id, signed_in_at) \
                 VALUES ($1, $2, $3, 1)",
            ),
        ];
        for (table, sql) in inserts {
            // Its own community: accepted (so the refusal below can fail).
            exec(sql, &a, &format!("{table}-a")).await.unwrap();
            let err = exec(sql, &b, &format!("{table}-b")).await.unwrap_err();
            assert!(
                err.to_string().to_lowercase().contains("foreign key"),
                "{backend}: {table}: {err}"
            );
            let moved = sqlx::query(&format!(
                "UPDATE {table} SET community_id = $1 WHERE id = $2"
            ))
            .bind(b.to_string())
            .bind(format!("{table}-a"))
            .execute(store.pool())
            .await;
            assert!(
                moved.is_err(),
                "{backend}: {table} moved to another community"
            );
        }
        store.close().await;
    }
}
