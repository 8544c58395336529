//! `classcred policy|breach|legal-request …` on the demo class: publish (duplicate and
//! non-increasing versions refused), the breach clock (hours left, OVERDUE, a DST change shown
//! in a time zone), notices drafted and recorded, the legal-request register, and the audit
//! entries each writes.

use std::path::Path;

use chrono::{Duration, SecondsFormat, Utc};

use crate::support::*;

/// One number from the SQLite database of the test directory.
fn scalar(dir: &Path, sql: &str) -> i64 {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&format!(
            "sqlite://{}",
            dir.join("classcred.db").display()
        ))
        .await
        .unwrap();
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&mut c)
            .await
            .unwrap()
    })
}

fn ok(d: &Path, args: &[&str]) -> String {
    let o = run(d, args);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    text(&o)
}

fn refused(d: &Path, args: &[&str]) -> String {
    let o = run(d, args);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
    text(&o)
}

#[test]
fn policy_publish_asks_each_admin_and_refuses_old_versions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["demo", "--no-serve"]).status.success());
    let admins = scalar(
        d,
        "SELECT COUNT(*) FROM member WHERE role = 'admin' AND kind = 'human'",
    );
    assert!(admins >= 1);
    std::fs::write(d.join("POLICY.md"), "# Privacy policy\n\nVersion one.\n").unwrap();

    let out = ok(d, &["policy", "list"]);
    assert!(out.contains("no policy version published yet"), "{out}");
    let out = ok(
        d,
        &[
            "policy",
            "publish",
            "--version",
            "1.0",
            "--file",
            "POLICY.md",
        ],
    );
    assert!(out.contains("policy version 1.0 published"), "{out}");
    assert!(out.contains(&format!("{admins} Admin(s) asked")), "{out}");
    let err = refused(
        d,
        &[
            "policy",
            "publish",
            "--version",
            "1.0",
            "--file",
            "POLICY.md",
        ],
    );
    assert!(err.contains("already published"), "{err}");
    let err = refused(
        d,
        &[
            "policy",
            "publish",
            "--version",
            "0.9",
            "--file",
            "POLICY.md",
        ],
    );
    assert!(
        err.contains("not greater than the published version 1.0"),
        "{err}"
    );

    let o = run(d, &["policy", "list", "--format", "json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["version"], "1.0");
    assert_eq!(v[0]["pending"], admins);
    assert_eq!(v[0]["acknowledged"], 0);
    // One notice job per Admin, and the publication audited.
    assert_eq!(
        scalar(
            d,
            "SELECT COUNT(*) FROM job WHERE kind = 'notice.deliver' AND payload LIKE '%policy_published%'"
        ),
        admins
    );
    assert_eq!(
        scalar(
            d,
            "SELECT COUNT(*) FROM audit_entry WHERE action = 'policy.publish'"
        ),
        1
    );
    std::fs::write(d.join("POLICY.md"), "# Privacy policy\n\nVersion two.\n").unwrap();
    ok(
        d,
        &[
            "policy",
            "publish",
            "--version",
            "1.1",
            "--file",
            "POLICY.md",
        ],
    );
    let out = ok(d, &["policy", "list"]);
    assert!(out.contains("1.1 (current)"), "{out}");
    ok(d, &["audit", "verify"]);
}

#[test]
fn breach_record_list_notify_close() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["demo", "--no-serve"]).status.success());
    let c = community_id(d);
    let admins = scalar(
        d,
        "SELECT COUNT(*) FROM member WHERE role = 'admin' AND kind = 'human'",
    );

    let err = refused(
        d,
        &[
            "breach",
            "record",
            "--reported-at",
            "2026-01-01T00:00:00Z",
            "--scope",
            "everything",
            "--description",
            "x",
        ],
    );
    assert!(
        err.contains("scope must be `all` or `community:ID`"),
        "{err}"
    );

    // Reported the day before London's clocks went forward: 72 elapsed hours end at 10:00
    // BST on the wall clock.
    let out = ok(
        d,
        &[
            "breach",
            "record",
            "--reported-at",
            "2026-03-28 09:00",
            "--tz",
            "Europe/London",
            "--scope",
            &format!("community:{c}"),
            "--description",
            "analytics export copied to a public bucket",
        ],
    );
    assert!(out.contains("by 2026-03-31 10:00 BST"), "{out}");
    // An hour ago: 71 hours left (70 h and some minutes, shown as whole hours).
    let an_hour_ago = (Utc::now() - Duration::hours(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let out = ok(
        d,
        &[
            "breach",
            "record",
            "--reported-at",
            &an_hour_ago,
            "--scope",
            "all",
            "--description",
            "stolen operator laptop",
        ],
    );
    let recent = out.split_whitespace().nth(1).unwrap().to_string();
    assert!(out.contains("70 h left"), "{out}");

    let out = ok(d, &["breach", "list", "--tz", "Europe/London"]);
    assert!(
        out.contains("reported 2026-03-28 09:00 GMT  deadline 2026-03-31 10:00 BST  OVERDUE by"),
        "{out}"
    );
    assert!(out.contains(&format!("{recent}  open")), "{out}");
    assert!(out.contains("70 h left"), "{out}");
    let o = run(d, &["breach", "list", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let old = v
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] != recent.as_str())
        .unwrap();
    assert_eq!(old["overdue"], true);
    assert!(old["hours_left"].as_i64().unwrap() < 0);
    assert_eq!(
        old["deadline_at"].as_i64().unwrap() - old["reported_at"].as_i64().unwrap(),
        72 * 3_600_000
    );

    // Notify: an email text per Admin in --out, a chat notice each; every sending recorded.
    let out = ok(d, &["breach", "notify", &recent, "--out", "notices"]);
    let files: Vec<_> = std::fs::read_dir(d.join("notices"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len() as i64, admins, "{out}");
    let draft = std::fs::read_to_string(&files[0]).unwrap();
    assert!(draft.contains("stolen operator laptop"), "{draft}");
    assert!(draft.contains(&recent), "{draft}");
    assert!(out.contains("chat notice queued for Admin"), "{out}");
    assert!(
        out.contains(&format!("breach {recent} is notified")),
        "{out}"
    );
    assert_eq!(
        scalar(
            d,
            &format!("SELECT COUNT(*) FROM breach_notice WHERE breach_id = '{recent}'")
        ),
        2 * admins
    );
    // Again: nobody is notified twice.
    let out = ok(d, &["breach", "notify", &recent]);
    assert!(out.contains("was already notified"), "{out}");
    assert_eq!(
        scalar(
            d,
            &format!("SELECT COUNT(*) FROM breach_notice WHERE breach_id = '{recent}'")
        ),
        2 * admins
    );
    // Notified: the clock stopped; listed until closed.
    let out = ok(d, &["breach", "list"]);
    assert!(out.contains(&format!("{recent}  notified")), "{out}");

    ok(d, &["breach", "close", &recent]);
    let out = ok(d, &["breach", "list"]);
    assert!(!out.contains(&recent), "{out}");
    let out = ok(d, &["breach", "list", "--all"]);
    assert!(out.contains(&format!("{recent}  closed")), "{out}");
    let err = refused(d, &["breach", "close", &recent]);
    assert!(err.contains("already closed"), "{err}");
    let err = refused(
        d,
        &["breach", "notify", "0190c1f2-0000-7000-8000-000000000000"],
    );
    assert!(err.contains("not found"), "{err}");
    assert_eq!(
        scalar(
            d,
            "SELECT COUNT(*) FROM audit_entry WHERE action IN \
             ('breach.record', 'breach.notice', 'breach.notified', 'breach.close')"
        ),
        2 + admins + 1 + 1
    );
    ok(d, &["audit", "verify"]);
}

#[test]
fn legal_request_record_list_close() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["demo", "--no-serve"]).status.success());
    let c = community_id(d);
    let out = ok(
        d,
        &[
            "legal-request",
            "record",
            "--received-at",
            "2026-11-30 14:00",
            "--tz",
            "America/New_York",
            "--requester",
            "District court clerk",
            "--authority",
            "subpoena 26-CV-0042",
            "--scope",
            "ledger of one member row",
            "--community",
            &c,
        ],
    );
    let id = out.split_whitespace().nth(2).unwrap().to_string();
    let out = ok(d, &["legal-request", "list", "--tz", "America/New_York"]);
    assert!(out.contains(&id), "{out}");
    assert!(out.contains("received 2026-11-30 14:00 EST"), "{out}");
    assert!(out.contains("requester: District court clerk"), "{out}");
    assert!(out.contains("decision pending"), "{out}");

    let err = refused(
        d,
        &[
            "legal-request",
            "close",
            &id,
            "--decision",
            "refused",
            "--disclosed",
            "ledger rows",
        ],
    );
    assert!(err.contains("refused request discloses nothing"), "{err}");
    let out = ok(
        d,
        &[
            "legal-request",
            "close",
            &id,
            "--decision",
            "complied",
            "--disclosed",
            "ledger rows of one member row, March",
            "--disclosed-at",
            "2026-12-01T09:00:00Z",
        ],
    );
    assert!(
        out.contains("closed: complied, disclosure at 2026-12-01 09:00 UTC"),
        "{out}"
    );
    let err = refused(d, &["legal-request", "close", &id, "--decision", "refused"]);
    assert!(err.contains("no open legal request"), "{err}");
    let out = ok(d, &["legal-request", "list"]);
    assert!(out.contains("no open legal request"), "{out}");
    let out = ok(d, &["legal-request", "list", "--all"]);
    assert!(
        out.contains("disclosed 2026-12-01 09:00 UTC: ledger rows of one member row"),
        "{out}"
    );
    assert_eq!(
        scalar(
            d,
            &format!(
                "SELECT COUNT(*) FROM audit_entry WHERE subject = 'legal_request:{id}' AND \
                 community_id = '{c}' AND action IN ('legal_request.record', \
                 'legal_request.decide', 'legal_request.disclose', 'legal_request.close')"
            )
        ),
        4
    );
    ok(d, &["audit", "verify"]);
}
