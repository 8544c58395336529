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
    assert!(
        text(&o).contains("created: 26 members, 80 messages"),
        "{}",
        text(&o)
    );
    let o = run(d, &["demo", "--no-serve"]);
    assert!(text(&o).contains("already present"), "demo is idempotent");

    let o = run(d, &["audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("intact: 1 entries"));

    // Rotation: the old key no longer opens the database; the new one does.
    let old_key = std::fs::read_to_string(d.join("classcred-master.key")).unwrap();
    let o = run(d, &["keys", "rotate"]);
    assert!(o.status.success(), "{}", text(&o));
    let new_key = std::fs::read_to_string(d.join("classcred-master.key")).unwrap();
    assert_ne!(old_key, new_key);
    assert!(!d.join("classcred-master.key.new").exists());
    std::fs::write(d.join("old.key"), &old_key).unwrap();
    let o = run(d, &["--master-key-file", "old.key", "demo", "--no-serve"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("is not the one this database"),
        "{}",
        text(&o)
    );
    let o = run(d, &["demo", "--no-serve"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("26 members"),
        "data still decrypts: {}",
        text(&o)
    );
    let o = run(d, &["audit", "verify"]);
    assert!(
        text(&o).contains("intact: 2 entries"),
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
    assert!(text(&o).contains("created: 26 members"), "{}", text(&o));
    let o = run(dir.path(), &["--database-url", pg.url(), "audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    drop(pg);
}
