//! The erasure canary harness: a unique string in every personal field of two members in each
//! of two communities. After a member (or a community) is erased, none of its canaries reads
//! back through the store, none is in the database bytes, and a data backup taken before the
//! erasure, restored after it next to the current key store, reveals none either; the others'
//! data still reads; `reapply_erasures` erases the restored copy again.

use crate::canary::{contains, raw_bytes};
use crate::common;

use std::path::PathBuf;
use std::sync::Arc;

use classcred_crypto::MasterKey;
use classcred_store::registry::{self, Protection};
use classcred_store::testing::TestDb;
use classcred_store::{
    sealed_by, CommunityId, ConnectOptions, MemberProfile, MemberRowId, NewInstallation,
    NewLedgerEntry, NewMember, NewMessage, Role, SealedBy, Store, StoreError, SystemClock,
};
use sqlx::Row;

fn canary(label: &str) -> String {
    format!("canary-{label}-{}", uuid::Uuid::new_v4().simple())
}

/// One member's canaries and ids.
struct Person {
    id: MemberRowId,
    platform_id: String,
    canaries: Vec<String>,
}

/// Two members of one community, each with a canary in every personal field they own, plus
/// the community's own (installation token).
struct Seeded {
    people: Vec<Person>,
    community_canaries: Vec<String>,
}

impl Seeded {
    fn all(&self) -> Vec<String> {
        let mut v = self.community_canaries.clone();
        for p in &self.people {
            v.extend(p.canaries.iter().cloned());
        }
        v
    }
}

async fn seed(store: &Store, cid: &CommunityId, tag: &str) -> Seeded {
    let mut people = Vec::new();
    let mut tx = store.begin().await.unwrap();
    for n in 0..2 {
        let t = format!("{tag}{n}");
        let mut canaries = Vec::new();
        let mut c = |label: &str| {
            let v = canary(&format!("{t}-{label}"));
            canaries.push(v.clone());
            v
        };
        let platform_id = format!("U{}", t.to_uppercase());
        let profile = MemberProfile {
            name: Some(c("name")),
            display_name: Some(c("display")),
            email: Some(format!("{}@example.edu", c("email"))),
            avatar_url: Some(c("avatar")),
            timezone: Some(c("tz")),
        };
        let text = c("text");
        let note = c("note");
        let posted = c("payload-text");
        let renamed = c("payload-display");
        let mut s = tx.for_community(cid);
        let id = s
            .upsert_member(&NewMember {
                platform_user_id: platform_id.clone(),
                role: Role::Student,
                kind: classcred_store::MemberKind::Human,
                profile,
            })
            .await
            .unwrap();
        s.insert_message(&NewMessage {
            platform_message_id: format!("C1:{t}"),
            channel_id: "C1".into(),
            author_member_id: Some(id.to_string()),
            thread_id: None,
            text,
            posted_at: 1,
        })
        .await
        .unwrap();
        s.insert_ledger_entry(&NewLedgerEntry {
            member_id: id.to_string(),
            kind: "adjustment".into(),
            amount_milli: 1000,
            idempotency_key: format!("adj-{t}"),
            giver_member_id: None,
            giver_role: None,
            source_ref: None,
            quota_day: None,
            iso_week: None,
            quota_units: 0,
            fire_units: 0,
            note: Some(note),
            occurred_at: 1,
        })
        .await
        .unwrap();
        // Inbox rows as the Slack adapter stores them: the platform id and free text.
        let payloads = [
            serde_json::json!({"type": "message_posted", "platform_message_id": format!("C1:{t}"),
                "author": platform_id, "mentions": [], "fire_count": 0, "text": posted,
                "occurred_at": "2026-01-01T00:00:00Z"}),
            serde_json::json!({"type": "profile_changed", "member": platform_id,
                "display_name": renamed, "kind": "human", "occurred_at": "2026-01-01T00:00:00Z"}),
        ];
        for (i, p) in payloads.iter().enumerate() {
            let classcred_store::InboxInsert::Stored(inbox) = s
                .insert_inbox(
                    "slack",
                    &format!("Ev-{t}-{i}"),
                    "x",
                    &serde_json::to_vec(p).unwrap(),
                    1,
                )
                .await
                .unwrap()
            else {
                panic!("stored")
            };
            s.mark_inbox_processed(&inbox).await.unwrap();
        }
        people.push(Person {
            id,
            platform_id,
            canaries,
        });
    }
    let token = canary(&format!("{tag}-token"));
    tx.for_community(cid)
        .save_installation(&NewInstallation {
            platform: "slack".into(),
            platform_team_id: format!("T-{tag}"),
            bot_user_id: Some("B1".into()),
            scopes: "chat:write".into(),
            bot_token: token.clone().into(),
            installed_by_member_id: Some(people[0].id.clone()),
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    Seeded {
        people,
        community_canaries: vec![token],
    }
}

/// Everything the store can still open: every sealed column of every row (any community),
/// through `open_sealed` with the owner `sealed_by` names, plus the member reads.
async fn reveal_all(store: &Store) -> String {
    let mut out = String::new();
    let mut found = Vec::new();
    for (table, column, p) in registry::personal_columns() {
        if p.protection != Protection::Encrypted {
            continue;
        }
        let owner_col = match sealed_by(table, column) {
            Some(SealedBy::Member { owner_column }) => owner_column,
            _ => "NULL",
        };
        let rows = sqlx::query(&format!(
            "SELECT id, community_id, CAST({owner_col} AS TEXT) AS owner, {column} AS v \
             FROM {table} WHERE {column} IS NOT NULL"
        ))
        .fetch_all(store.pool())
        .await
        .unwrap();
        for r in rows {
            let id: String = r.get("id");
            let cid: CommunityId = r.get("community_id");
            let owner: Option<String> = r.get("owner");
            let v: Vec<u8> = r.get("v");
            found.push((table, column, id, cid, owner, v));
        }
    }
    let mut tx = store.begin().await.unwrap();
    for (table, column, id, cid, owner, v) in found {
        if let Some(plain) = tx
            .open_sealed(&cid, table, column, &id, owner.as_deref(), &v)
            .await
            .unwrap()
        {
            out.push_str(&String::from_utf8_lossy(&plain));
            out.push('\n');
        }
    }
    tx.commit().await.unwrap();
    out
}

fn assert_none_of(hay: &[u8], canaries: &[String], what: &str) {
    for c in canaries {
        assert!(!contains(hay, c.as_bytes()), "{what}: {c} is still there");
    }
}

fn assert_all_of(hay: &[u8], canaries: &[String], what: &str) {
    for c in canaries {
        assert!(contains(hay, c.as_bytes()), "{what}: {c} no longer reads");
    }
}

/// A restored copy of a data backup, opened with the CURRENT key store.
struct Restored {
    store: Store,
    _dir: Option<tempfile::TempDir>,
    _db: Option<TestDb>,
}

/// Take a data backup now (SQLite: `backup_data`; PostgreSQL: `pg_dump
/// --exclude-schema=classcred_keys` into a fresh database).
async fn backup(
    db: &TestDb,
    store: &Store,
) -> (Option<(tempfile::TempDir, PathBuf)>, Option<TestDb>) {
    if db.sqlite_path().is_some() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("backup.db");
        store.backup_data(&file).await.unwrap();
        // A data backup holds no key.
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !contains(&bytes, b"data_key"),
            "the data backup holds the key store"
        );
        (Some((dir, file)), None)
    } else {
        assert!(matches!(
            store
                .backup_data(std::path::Path::new("/nonexistent"))
                .await,
            Err(StoreError::Unsupported(_))
        ));
        let target = TestDb::postgres().await.unwrap();
        let dump = std::process::Command::new("pg_dump")
            .args(["--no-owner", "--exclude-schema=classcred_keys", db.url()])
            .output()
            .unwrap();
        assert!(
            dump.status.success(),
            "{}",
            String::from_utf8_lossy(&dump.stderr)
        );
        assert!(!contains(&dump.stdout, b"classcred_keys.data_key"));
        let mut psql = std::process::Command::new("psql")
            .args(["-q", "-v", "ON_ERROR_STOP=1", target.url()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write;
        psql.stdin.take().unwrap().write_all(&dump.stdout).unwrap();
        assert!(psql.wait().unwrap().success());
        (None, Some(target))
    }
}

async fn restore(
    db: &TestDb,
    current: &Store,
    master: &str,
    taken: (Option<(tempfile::TempDir, PathBuf)>, Option<TestDb>),
) -> Restored {
    match taken {
        (Some((dir, file)), None) => {
            let keys = classcred_store::backend::default_key_store_path(&db.sqlite_path().unwrap());
            let store = Store::connect(
                &format!("sqlite://{}", file.display()),
                MasterKey::parse(master).unwrap(),
                Arc::new(SystemClock),
                ConnectOptions {
                    key_store_path: Some(keys),
                    create_sqlite_file: false,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            store.migrate().await.unwrap();
            Restored {
                store,
                _dir: Some(dir),
                _db: None,
            }
        }
        (None, Some(target)) => {
            let store = target
                .store_with(MasterKey::parse(master).unwrap(), Arc::new(SystemClock))
                .await;
            // Attach the current key store: copy its rows (taken after the erasure).
            let rows = sqlx::query(
                "SELECT owner_id, kind, community_id, master_key_id, wrapped, created_at, \
                 rotated_at, destroyed_at FROM classcred_keys.data_key",
            )
            .fetch_all(current.pool())
            .await
            .unwrap();
            sqlx::query("DELETE FROM classcred_keys.data_key")
                .execute(store.pool())
                .await
                .unwrap();
            for r in rows {
                sqlx::query(
                    "INSERT INTO classcred_keys.data_key (owner_id, kind, community_id, \
                     master_key_id, wrapped, created_at, rotated_at, destroyed_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(r.get::<String, _>("owner_id"))
                .bind(r.get::<String, _>("kind"))
                .bind(r.get::<String, _>("community_id"))
                .bind(r.get::<Option<String>, _>("master_key_id"))
                .bind(r.get::<Option<Vec<u8>>, _>("wrapped"))
                .bind(r.get::<i64, _>("created_at"))
                .bind(r.get::<Option<i64>, _>("rotated_at"))
                .bind(r.get::<Option<i64>, _>("destroyed_at"))
                .execute(store.pool())
                .await
                .unwrap();
            }
            Restored {
                store,
                _dir: None,
                _db: Some(target),
            }
        }
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn erase_member_leaves_no_canary_here_or_in_a_restored_backup() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let master = MasterKey::generate().encode();
        let store = db
            .store_with(MasterKey::parse(&master).unwrap(), Arc::new(SystemClock))
            .await;
        let a = common::community(&store, "A", "TA").await;
        let b = common::community(&store, "B", "TB").await;
        let sa = seed(&store, &a, "a").await;
        let sb = seed(&store, &b, "b").await;
        let everything = reveal_all(&store).await;
        // Every canary reads, except the inbox texts: processing scrubbed them.
        for s in [&sa, &sb] {
            for p in &s.people {
                let (inbox, stored): (Vec<String>, Vec<String>) = p
                    .canaries
                    .iter()
                    .cloned()
                    .partition(|c| c.contains("-payload-"));
                assert_all_of(everything.as_bytes(), &stored, backend);
                assert_none_of(everything.as_bytes(), &inbox, "processed inbox");
            }
            assert_all_of(everything.as_bytes(), &s.community_canaries, backend);
        }
        let before = backup(&db, &store).await;

        let ada = &sa.people[0];
        let counts = store.erase_member(&a, &ada.id).await.unwrap();
        for t in ["member", "message", "ledger_entry", "inbox"] {
            assert!(
                counts.tables.get(t).copied().unwrap_or(0) > 0,
                "{backend}: {t} {counts:?}"
            );
        }
        // Idempotent.
        let again = store.erase_member(&a, &ada.id).await.unwrap();
        assert_eq!(again.tables.get("member"), None, "{backend}: {again:?}");

        let now = reveal_all(&store).await;
        assert_none_of(now.as_bytes(), &ada.canaries, backend);
        assert!(
            !now.contains(&ada.platform_id),
            "{backend}: platform id in a payload"
        );
        assert_all_of(now.as_bytes(), &sa.people[1].canaries[..7], backend);
        assert_all_of(now.as_bytes(), &sb.people[0].canaries[..7], backend);
        assert_all_of(now.as_bytes(), &sa.community_canaries, backend);
        let mut tx = store.begin().await.unwrap();
        let m = tx.for_community(&a).member(&ada.id).await.unwrap();
        assert_eq!(m.profile, MemberProfile::default(), "{backend}");
        assert_eq!(m.platform_user_id, format!("erased:{}", ada.id));
        assert!(tx
            .for_community(&a)
            .member_by_platform_id(&ada.platform_id)
            .await
            .unwrap()
            .is_none());
        // Ledger entries stay, without their note.
        let ledger = tx.for_community(&a).ledger().await.unwrap();
        assert_eq!(ledger.len(), 2, "{backend}");
        tx.commit().await.unwrap();
        let raw = raw_bytes(&db, &store).await;
        assert_none_of(&raw, &ada.canaries, backend);

        // The backup from before the erasure, restored next to the current key store.
        let restored = restore(&db, &store, &master, before).await;
        let old = reveal_all(&restored.store).await;
        assert_none_of(
            old.as_bytes(),
            &ada.canaries,
            &format!("{backend} restored"),
        );
        assert_all_of(old.as_bytes(), &sa.people[1].canaries[..7], backend);
        let mut tx = restored.store.begin().await.unwrap();
        let m = tx.for_community(&a).member(&ada.id).await.unwrap();
        assert_eq!(m.profile, MemberProfile::default());
        assert_eq!(m.platform_user_id, ada.platform_id, "not yet re-applied");
        tx.commit().await.unwrap();
        let re = restored.store.reapply_erasures().await.unwrap();
        assert!(re.tables.get("member") == Some(&1), "{backend}: {re:?}");
        let mut tx = restored.store.begin().await.unwrap();
        let m = tx.for_community(&a).member(&ada.id).await.unwrap();
        assert_eq!(m.platform_user_id, format!("erased:{}", ada.id));
        tx.commit().await.unwrap();
        let old = reveal_all(&restored.store).await;
        assert!(!old.contains(&ada.platform_id), "{backend}");
        // Nothing left to re-apply.
        assert_eq!(
            restored.store.reapply_erasures().await.unwrap(),
            Default::default()
        );
        restored.store.close().await;
        store.close().await;
    }
}

#[tokio::test]
async fn erase_community_leaves_a_tombstone_and_nothing_else() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let master = MasterKey::generate().encode();
        let store = db
            .store_with(MasterKey::parse(&master).unwrap(), Arc::new(SystemClock))
            .await;
        let a = common::community(&store, "A", "TA").await;
        let b = common::community(&store, "B", "TB").await;
        let sa = seed(&store, &a, "a").await;
        let sb = seed(&store, &b, "b").await;
        let before = backup(&db, &store).await;

        let mut seen = Vec::new();
        let counts = store
            .erase_community(&a, &mut |d, t| seen.push((d, t)))
            .await
            .unwrap();
        let (last_done, total) = *seen.last().unwrap();
        assert_eq!(last_done, total, "{backend}: {seen:?}");
        assert!(
            total > 0 && counts.tables.get("member") == Some(&2),
            "{counts:?}"
        );
        // Resumable / idempotent.
        store.erase_community(&a, &mut |_, _| {}).await.unwrap();

        let c = {
            let mut tx = store.begin().await.unwrap();
            let c = tx.community(&a).await.unwrap();
            tx.commit().await.unwrap();
            c
        };
        assert_eq!(
            (c.name.as_str(), c.state),
            ("erased community", classcred_store::CommunityState::Erased)
        );
        for t in ["member", "message", "inbox", "ledger_entry", "installation"] {
            let n: i64 = sqlx::query_scalar(&format!(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM {t} WHERE community_id = $1"
            ))
            .bind(&a)
            .fetch_one(store.pool())
            .await
            .unwrap();
            assert_eq!(n, 0, "{backend}: {t}");
        }
        let now = reveal_all(&store).await;
        assert_none_of(now.as_bytes(), &sa.all(), backend);
        assert_all_of(now.as_bytes(), &sb.people[0].canaries[..7], backend);
        let raw = raw_bytes(&db, &store).await;
        assert_none_of(&raw, &sa.all(), backend);

        let restored = restore(&db, &store, &master, before).await;
        let old = reveal_all(&restored.store).await;
        assert_none_of(old.as_bytes(), &sa.all(), &format!("{backend} restored"));
        assert_all_of(old.as_bytes(), &sb.people[1].canaries[..7], backend);
        restored.store.reapply_erasures().await.unwrap();
        let n: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM member WHERE community_id = $1",
        )
        .bind(&a)
        .fetch_one(restored.store.pool())
        .await
        .unwrap();
        assert_eq!(n, 0, "{backend}: reapplied");
        restored.store.close().await;
        store.close().await;
    }
}

/// A database from before 0008 (the wrapped community key in `community_key`, profiles sealed
/// with the community key): migrating moves the key into the key store, re-seals the profile
/// with a member key, and leaves no key material in the data.
#[tokio::test]
async fn migration_moves_keys_to_the_key_store_and_reseals_with_member_keys() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let master = MasterKey::generate();
        let master_text = master.encode();
        let store = Store::connect(
            db.url(),
            MasterKey::parse(&master_text).unwrap(),
            Arc::new(SystemClock),
            Default::default(),
        )
        .await
        .unwrap();
        store.migrate_through(7).await.unwrap();
        let a = common::community(&store, "A", "TA").await;
        let mut tx = store.begin().await.unwrap();
        let m = tx
            .for_community(&a)
            .upsert_member(&common::member("U1", Role::Student, "Ada"))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        // Make it look like 0007 left it.
        let wrapped: Vec<u8> =
            sqlx::query_scalar("SELECT wrapped FROM classcred_keys.data_key WHERE owner_id = $1")
                .bind(&a)
                .fetch_one(store.pool())
                .await
                .unwrap();
        sqlx::query("UPDATE community_key SET wrapped_key = $1 WHERE community_id = $2")
            .bind(&wrapped)
            .bind(&a)
            .execute(store.pool())
            .await
            .unwrap();
        sqlx::query("DELETE FROM classcred_keys.data_key")
            .execute(store.pool())
            .await
            .unwrap();
        let dek = master.unwrap(&wrapped, a.as_str()).unwrap();
        let legacy = dek.seal(
            classcred_crypto::FieldRef {
                community_id: a.as_str(),
                table: "member",
                column: "name_enc",
                row_id: m.as_str(),
            },
            b"Ada Legacy",
        );
        sqlx::query(
            "UPDATE member SET name_enc = $1, display_name_enc = NULL, email_enc = NULL, \
             timezone_enc = NULL WHERE id = $2",
        )
        .bind(legacy)
        .bind(&m)
        .execute(store.pool())
        .await
        .unwrap();

        store.migrate().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let read = tx.for_community(&a).member(&m).await.unwrap();
        assert_eq!(
            read.profile.name.as_deref(),
            Some("Ada Legacy"),
            "{backend}"
        );
        tx.commit().await.unwrap();
        let left: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM community_key WHERE wrapped_key IS NOT NULL",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(left, 0, "{backend}");
        // The profile is now sealed with the member key: erasing the member makes it unreadable
        // although the community key lives on.
        store.erase_member(&a, &m).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let read = tx.for_community(&a).member(&m).await.unwrap();
        assert_eq!(read.profile, MemberProfile::default(), "{backend}");
        tx.commit().await.unwrap();
        store.check_master_key().await.unwrap();
        store.close().await;
    }
}
