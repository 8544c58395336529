//! `classcred retention show|set|preview` on the demo class: the defaults, a validated change,
//! and a dry run that lists what would go (ids and counts, no names) without removing it.

use crate::support::*;

#[test]
fn retention_show_set_and_preview() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["demo", "--no-serve"]).status.success());
    let c = community_id(d);

    let o = run(d, &["retention", "show", "--community", &c]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("inbox_days = 30"), "{out}");
    assert!(out.contains("inactive_member_days = 365"), "{out}");
    assert!(out.contains("the defaults"), "{out}");

    // Out of range: a clear error per value, exit 2, nothing saved.
    let o = run(
        d,
        &[
            "retention",
            "set",
            "--community",
            &c,
            "--inbox-days",
            "0",
            "--disabled-community-days",
            "90",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = text(&o);
    assert!(
        err.contains("--inbox-days: 0 days is out of range"),
        "{err}"
    );
    assert!(err.contains("--disabled-community-days"), "{err}");
    let o = run(d, &["retention", "show", "--community", &c]);
    assert!(text(&o).contains("the defaults"), "{}", text(&o));

    let o = run(
        d,
        &[
            "retention",
            "set",
            "--community",
            &c,
            "--inactive-member-days",
            "30",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = run(
        d,
        &["retention", "show", "--community", &c, "--format", "json"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["values"]["inactive_member_days"], 30);
    assert_eq!(v["values"]["inbox_days"], 30);
    assert_eq!(v["updated_by"], "operator");

    // Ten years on, every demo member has been inactive for 30 days: each is listed by row id.
    let o = run(
        d,
        &[
            "retention",
            "preview",
            "--community",
            &c,
            "--at",
            "2036-01-01T00:00:00Z",
            "--format",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let members = plan["inactive"]["members"].as_array().unwrap();
    assert!(members.len() >= 40, "{plan}");
    assert!(plan["inbox"]["payloads"].as_u64().unwrap() > 0, "{plan}");
    assert_eq!(plan["community"]["due"], false);

    let o = run(
        d,
        &[
            "retention",
            "preview",
            "--community",
            &c,
            "--at",
            "2036-01-01T00:00:00Z",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("Retention preview of community"), "{out}");
    assert!(
        out.contains(&format!("erase member {}", members[0].as_str().unwrap())),
        "{out}"
    );
    // Ids only: no member's name is printed (names from the grades export).
    let grades = run(
        d,
        &["export", "grades", "--community", &c, "--format", "csv"],
    );
    assert!(grades.status.success(), "{}", text(&grades));
    let grades = String::from_utf8(grades.stdout).unwrap();
    let names: Vec<&str> = grades
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .filter(|n| n.len() > 3)
        .collect();
    assert!(!names.is_empty(), "{grades}");
    for n in names {
        assert!(!out.contains(n), "{n} printed in\n{out}");
    }

    // A dry run: a second preview lists the same members (nothing was erased).
    let o = run(
        d,
        &[
            "retention",
            "preview",
            "--community",
            &c,
            "--at",
            "2036-01-01T00:00:00Z",
            "--format",
            "json",
        ],
    );
    let again: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(again["inactive"]["members"], plan["inactive"]["members"]);

    // A bad time is refused clearly.
    let o = run(
        d,
        &[
            "retention",
            "preview",
            "--community",
            &c,
            "--at",
            "tomorrow",
        ],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("RFC 3339"), "{}", text(&o));
}
