//! Community and ledger commands on the demo class.

use crate::support::*;

#[test]
fn ledger_commands_on_the_demo_class() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["demo", "--no-serve"]).status.success());
    let c = community_id(d);
    let o = run(d, &["community", "list"]);
    assert!(
        text(&o).contains("DEMO-CS101") && text(&o).contains("43"),
        "{}",
        text(&o)
    );

    let o = run(
        d,
        &["ledger", "balances", "--community", &c, "--format", "csv"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let csv = String::from_utf8(o.stdout).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("platform_user_id,role,earned,spendable,level,kind")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(
        rows.len(),
        43,
        "an Admin, an Instructor, 40 students and a bot"
    );
    let total: f64 = rows.iter().map(|r| r[2].parse::<f64>().unwrap()).sum();
    assert!(total > 50.0, "the demo's fires were processed: {total}");
    assert!(
        rows.iter()
            .filter(|r| r[1] != "student")
            .all(|r| r[2] == "0"),
        "staff earn nothing in the demo"
    );
    assert_eq!(
        rows.iter().filter(|r| r[5] == "human").count(),
        42,
        "one bot: {rows:?}"
    );

    let o = run(d, &["ledger", "replay", "--community", &c]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("reproduces the stored state"));

    // Adjustments need an Admin and a reason, and are audited.
    let o = run(
        d,
        &[
            "ledger",
            "adjust",
            "--community",
            &c,
            "--by",
            "UDEMO000002",
            "--member",
            "UDEMO000001",
            "--points",
            "2",
            "--reason",
            "x",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("only an Admin"), "{}", text(&o));
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
            "2",
            "--reason",
            " ",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let before = rows.iter().find(|r| r[0] == "UDEMO000001").unwrap()[2]
        .parse::<f64>()
        .unwrap();
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
            "-1.5",
            "--reason",
            "late penalty",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = run(
        d,
        &["ledger", "balances", "--community", &c, "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let after = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["platform_user_id"] == "UDEMO000001")
        .unwrap()["earned"]
        .as_str()
        .unwrap()
        .parse::<f64>()
        .unwrap();
    assert!((before - 1.5 - after).abs() < 1e-9, "{before} → {after}");
    assert!(text(&run(d, &["audit", "verify"])).contains("intact: 10 entries"));
    assert!(run(d, &["ledger", "replay", "--community", &c])
        .status
        .success());

    // A tampered ledger is reported, with a non-zero exit.
    rusqlite_free_update(
        &d.join("classcred.db"),
        "UPDATE ledger_entry SET amount_milli = amount_milli + 1 WHERE kind = 'award'",
    );
    let o = run(d, &["ledger", "replay", "--community", &c]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("DIFFERS"), "{}", text(&o));

    let o = run(d, &["inbox", "retry", "--community", &c]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("0 parked deliveries re-queued"),
        "{}",
        text(&o)
    );

    // A well-formed id of no community (ids that are not UUIDs: see the next test).
    let unknown = "0190b2c4-5d6e-7f80-9a0b-1c2d3e4f5a6b";
    let o = run(d, &["ledger", "balances", "--community", unknown]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains(&format!("community {unknown}")),
        "{}",
        text(&o)
    );
}

/// Finding 20: `classcred ledger balances | head` whose reader has gone away exits quietly
/// (status 141, like a process ended by SIGPIPE), without a panic message.
#[test]
fn balances_into_a_closed_pipe_exit_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["demo", "--no-serve"]).status.success());
    let c = community_id(d);
    let mut child = bin()
        .current_dir(d)
        .args(["ledger", "balances", "--community", &c])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reader closes before the command writes anything.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}

/// Read-only commands never migrate: with migrations pending (an older database) or unknown
/// (a newer binary migrated it) they refuse with a clear message and change nothing.
#[test]
fn read_only_commands_do_not_migrate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["demo", "--no-serve"]).status.success());
    let c = community_id(d);
    let db = d.join("classcred.db");
    // Pretend the last migration was never applied.
    let last: i64 = {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            let mut conn = sqlx::AnyConnection::connect(&format!("sqlite://{}", db.display()))
                .await
                .unwrap();
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
                .fetch_one(&mut conn)
                .await
                .unwrap()
        })
    };
    rusqlite_free_update(
        &db,
        &format!("UPDATE _sqlx_migrations SET version = 9999 WHERE version = {last}"),
    );
    for args in [
        vec!["ledger", "balances", "--community", c.as_str()],
        vec!["ledger", "replay", "--community", c.as_str()],
        vec!["community", "list"],
        vec!["audit", "verify"],
    ] {
        let o = run(d, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains("newer classcred"),
            "{args:?}: {}",
            text(&o)
        );
    }
    rusqlite_free_update(&db, "DELETE FROM _sqlx_migrations WHERE version = 9999");
    let o = run(d, &["ledger", "balances", "--community", &c]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("classcred migrate"), "{}", text(&o));
    assert_eq!(
        rusqlite_free_update(
            &db,
            &format!("DELETE FROM _sqlx_migrations WHERE version = {last}")
        ),
        0,
        "not migrated behind the operator's back"
    );
}

/// Community ids from the command line are parsed before anything runs: a value that is not a
/// UUID is a usage error naming the flag, and no database is opened or created.
#[test]
fn a_community_id_that_is_not_a_uuid_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for args in [
        ["ledger", "balances", "--community", "' OR 1=1 --"],
        ["ledger", "replay", "--community", "c1"],
        ["inbox", "retry", "--community", "T0123ABC"],
        ["slack", "sync", "--community", ""],
    ] {
        let o = run(d, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains("--community") && text(&o).contains("must be a UUID"),
            "{args:?}: {}",
            text(&o)
        );
    }
    assert!(!d.join("classcred.db").exists());
}

/// A read-only command pointed at a database that does not exist says so and creates nothing
/// (it used to leave an empty `classcred.db` behind).
#[test]
fn read_only_commands_never_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["keys", "init"]).status.success());
    for args in [
        vec![
            "ledger",
            "balances",
            "--community",
            "0190aaaa-0000-7000-8000-000000000001",
        ],
        vec!["community", "list"],
        vec!["audit", "verify"],
    ] {
        let o = run(d, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains("there is no database at") && text(&o).contains("classcred migrate"),
            "{args:?}: {}",
            text(&o)
        );
        assert!(!d.join("classcred.db").exists(), "{args:?} created a file");
    }
}
