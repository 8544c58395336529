//! Keys, demo data, audit verification and rotation.

use classcred_store::testing::TestDb;

use crate::support::*;

#[test]
fn keys_demo_audit_and_rotation_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Without a key, serving commands explain what to do.
    let o = run(d, &["migrate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("classcred keys init"), "{}", text(&o));

    let o = run(d, &["keys", "init"]);
    assert!(o.status.success(), "{}", text(&o));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("classcred-master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let o = run(d, &["keys", "init"]);
    assert!(!o.status.success(), "init never overwrites a key");
    assert!(text(&o).contains("refusing to overwrite"));

    assert!(run(d, &["migrate"]).status.success());
    let o = run(d, &["demo", "--no-serve"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("created: 43 members, "), "{}", text(&o));
    let o = run(d, &["demo", "--no-serve"]);
    assert!(text(&o).contains("already present"), "demo is idempotent");

    let o = run(d, &["audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    // The quota raise (made through the dashboard's path), the store's three items and three
    // purchase decisions, the reward rule, and the demo's creation.
    assert!(text(&o).contains("intact: 9 entries"), "{}", text(&o));

    // Rotation: the old key no longer opens the database; the new one does.
    let old_key = std::fs::read_to_string(d.join("classcred-master.key")).unwrap();
    let o = run(d, &["keys", "rotate"]);
    assert!(o.status.success(), "{}", text(&o));
    let new_key = std::fs::read_to_string(d.join("classcred-master.key")).unwrap();
    assert_ne!(old_key, new_key);
    assert!(!d.join("classcred-master.key.new").exists());
    std::fs::write(d.join("old.key"), &old_key).unwrap();
    chmod(&d.join("old.key"), 0o600);
    let o = run(d, &["--master-key-file", "old.key", "demo", "--no-serve"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("is not the one this database")
            && text(&o).contains("Point master_key_file (now old.key)"),
        "the error says what to do: {}",
        text(&o)
    );
    let o = run(d, &["demo", "--no-serve"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("43 members"),
        "data still decrypts: {}",
        text(&o)
    );
    let o = run(d, &["audit", "verify"]);
    assert!(
        text(&o).contains("intact: 10 entries"),
        "rotation is audited: {}",
        text(&o)
    );

    // Tampering with the audit log is caught and the entry named.
    let db = d.join("classcred.db");
    let conn = rusqlite_free_update(
        &db,
        "UPDATE audit_entry SET actor = 'someone' WHERE seq = 1",
    );
    assert_eq!(conn, 1);
    let o = run(d, &["audit", "verify"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("audit entry 1 was altered"),
        "{}",
        text(&o)
    );
}

#[test]
fn demo_on_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(pg) = rt.block_on(TestDb::postgres()) else {
        eprintln!("note: PostgreSQL not configured; skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        dir.path(),
        &["--database-url", pg.url(), "demo", "--no-serve"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("created: 43 members"), "{}", text(&o));
    let o = run(dir.path(), &["--database-url", pg.url(), "audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(
        dir.path(),
        &["--database-url", pg.url(), "community", "list"],
    );
    let c = text(&o)
        .lines()
        .find(|l| l.contains("DEMO-CS101"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    let o = run(
        dir.path(),
        &[
            "--database-url",
            pg.url(),
            "ledger",
            "replay",
            "--community",
            &c,
        ],
    );
    assert!(
        text(&o).contains("reproduces the stored state"),
        "{}",
        text(&o)
    );
    drop(pg);
}

#[cfg(unix)]
fn chmod(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
fn chmod(_path: &std::path::Path, _mode: u32) {}

/// Finding 17: a master key file readable by group or others is refused, saying `chmod 600`;
/// the SQLite database is created readable by its owner only.
#[cfg(unix)]
#[test]
fn key_file_mode_is_checked_and_database_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["keys", "init"]).status.success());
    chmod(&d.join("classcred-master.key"), 0o644);
    let o = run(d, &["migrate"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("chmod 600") && text(&o).contains("mode 644"),
        "{}",
        text(&o)
    );
    assert!(
        !d.join("classcred.db").exists(),
        "nothing done with an exposed key"
    );
    chmod(&d.join("classcred-master.key"), 0o600);
    let o = run(d, &["migrate"]);
    assert!(o.status.success(), "{}", text(&o));
    let mode = std::fs::metadata(d.join("classcred.db"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// Finding 4: `keys rotate` refuses while a server runs, and works once it stopped.
#[test]
fn rotation_is_refused_while_serve_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["demo", "--no-serve"]).status.success());
    let server = start_server(d, "127.0.0.1:0");
    let o = run(d, &["keys", "rotate"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("stop every server"), "{}", text(&o));
    assert!(!d.join("classcred-master.key.new").exists());
    let (status, _) = stop(server);
    assert!(status.success());
    let o = run(d, &["keys", "rotate"]);
    assert!(o.status.success(), "{}", text(&o));
}

/// Finding 8: `audit verify --expect-head` fails when entries were removed from the end and
/// the head row fixed up, which the database alone cannot reveal.
#[test]
fn audit_verify_expect_head_catches_a_truncated_tail() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["demo", "--no-serve"]).status.success());
    let c = community_id(d);
    for points in ["1", "2"] {
        let o = run(
            d,
            &[
                "ledger",
                "adjust",
                "--community",
                &c,
                "--by",
                "UDEMO0ADMIN",
                "--member",
                "UDEMO000001",
                "--points",
                points,
                "--reason",
                "test",
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = run(d, &["audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    let head = out
        .split("head ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    // The demo's quota raise, store (three items, three decisions), reward rule and creation,
    // then the two adjustments.
    assert!(head.starts_with("11:"), "{out}");
    let o = run(d, &["audit", "verify", "--expect-head", &head]);
    assert!(o.status.success(), "{}", text(&o));

    // The attacker removes the last entry and points the head at the one before.
    let db = d.join("classcred.db");
    rusqlite_free_update(&db, "DELETE FROM audit_entry WHERE seq = 11");
    rusqlite_free_update(
        &db,
        "UPDATE audit_head SET seq = 10, hash = (SELECT hash FROM audit_entry WHERE seq = 10)",
    );
    let o = run(d, &["audit", "verify"]);
    assert!(
        o.status.success(),
        "undetectable inside the database: {}",
        text(&o)
    );
    let o = run(d, &["audit", "verify", "--expect-head", &head]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("does not contain the published head 11:"),
        "{}",
        text(&o)
    );
    let o = run(d, &["audit", "verify", "--expect-head", "nonsense"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

/// Finding 4: a database whose live data keys are wrapped by two master keys (a rotation raced
/// a server creating a community) is refused at start, naming both keys.
#[test]
fn mixed_master_keys_are_refused_at_start() {
    use classcred_crypto::{DataKey, MasterKey};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["demo", "--no-serve"]).status.success());
    let key_text = std::fs::read_to_string(d.join("classcred-master.key")).unwrap();
    let key = MasterKey::parse(&key_text).unwrap();
    let stray = MasterKey::generate();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = classcred_store::Store::connect(
            &format!("sqlite://{}", d.join("classcred.db").display()),
            MasterKey::parse(&key_text).unwrap(),
            std::sync::Arc::new(classcred_store::SystemClock),
            Default::default(),
        )
        .await
        .unwrap();
        let mut tx = store.begin().await.unwrap();
        let inst = tx.create_institution("U").await.unwrap();
        let c2 = tx
            .create_community(classcred_store::NewCommunity {
                institution_id: inst.id,
                name: "Second".into(),
                platform: "slack".into(),
                platform_team_id: Some("T2".into()),
                settings_json: "{}".into(),
            })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        sqlx::query(
            "UPDATE classcred_keys.data_key SET master_key_id = $1, wrapped = $2 WHERE owner_id = $3",
        )
        .bind(stray.id())
        .bind(stray.wrap(&DataKey::generate(), c2.id.as_str()))
        .bind(&c2.id)
        .execute(store.pool())
        .await
        .unwrap();
        store.close().await;
    });
    for args in [vec!["community", "list"], vec!["migrate"]] {
        let o = run(d, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        let t = text(&o);
        assert!(
            t.contains("several master keys") && t.contains(&key.id()) && t.contains(&stray.id()),
            "{args:?}: {t}"
        );
    }
}

/// `keys backup` copies the key store alone (mode 600, refuses to overwrite); the key store is
/// its own file beside the database, and the data file holds no wrapped key.
#[test]
fn keys_backup_copies_the_key_store_alone() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["keys", "init"]).status.success());
    assert!(run(d, &["migrate"]).status.success());
    let o = run(d, &["demo", "--no-serve"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(d.join("classcred-keys.db").exists());
    let o = run(d, &["keys", "backup", "--out", "keys-backup.db"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("30 days"), "{}", text(&o));
    let backup = std::fs::read(d.join("keys-backup.db")).unwrap();
    assert!(backup.windows(8).any(|w| w == b"data_key"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("keys-backup.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let o = run(d, &["keys", "backup", "--out", "keys-backup.db"]);
    assert!(!o.status.success(), "never overwrites");
    assert!(text(&o).contains("already exists"), "{}", text(&o));
    // The data file holds no wrapped key (they moved to the key store).
    assert_eq!(
        rusqlite_free_update(
            &d.join("classcred.db"),
            "UPDATE community_key SET rotated_at = rotated_at WHERE wrapped_key IS NOT NULL",
        ),
        0
    );
}
