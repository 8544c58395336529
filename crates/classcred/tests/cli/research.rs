//! `classcred research-export` on the demo class: the release's files and README.txt, no
//! name or platform id of the class in it, a second release shares no pseudonym, a non-empty
//! --out and a k below 5 are refused, the release is audited.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::*;

const TABLES: [&str; 4] = [
    "fires_per_week_by_role.csv",
    "participation_per_week.csv",
    "level_distribution.csv",
    "members.csv",
];

fn pseudonyms(dir: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(dir.join("members.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_owned())
        .collect()
}

#[test]
fn research_export_of_the_demo_class() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["demo", "--no-serve"]).status.success());
    let c = community_id(d);

    let out = d.join("release-1");
    let o = run(
        d,
        &[
            "research-export",
            "--community",
            &c,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let log = text(&o);
    assert!(o.status.success(), "{log}");
    for step in ["[1/4]", "[2/4]", "[3/4]", "[4/4]", "passed"] {
        assert!(log.contains(step), "progress {step}: {log}");
    }

    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = TABLES.iter().map(|s| s.to_string()).collect();
    expected.push("README.txt".into());
    expected.sort();
    assert_eq!(names, expected);

    let readme = std::fs::read_to_string(out.join("README.txt")).unwrap();
    for needle in [
        "HMAC-SHA256",
        "discarded",
        "ISO week",
        "fewer than 10 distinct people",
        "k = 5",
        "rows suppressed:",
        "Privacy registry version:",
        "members.csv (record-level)",
    ] {
        assert!(readme.contains(needle), "README says {needle:?}:\n{readme}");
    }

    // Headers as declared; the demo class (40 students over six weeks) releases rows.
    let fires = std::fs::read_to_string(out.join("fires_per_week_by_role.csv")).unwrap();
    assert!(fires.starts_with("iso_week,giver_role,recipient_role,fires,givers,recipients\n"));
    assert!(fires.lines().count() > 1, "{fires}");
    let members = std::fs::read_to_string(out.join("members.csv")).unwrap();
    assert!(
        members.starts_with("pseudonym,role,level_band,weeks_active,fires_given,fires_received\n")
    );
    assert!(pseudonyms(&out).len() >= 30, "{members}");

    // Nothing of the class's names or platform ids: every name and id the grade export shows.
    let o = run(
        d,
        &["export", "grades", "--community", &c, "--format", "csv"],
    );
    assert!(o.status.success());
    let grades = String::from_utf8(o.stdout).unwrap();
    let mut personal: Vec<String> = Vec::new();
    for line in grades.lines().skip(1) {
        let cells: Vec<&str> = line.rsplitn(6, ',').collect();
        let (name, pid) = cells[5].rsplit_once(',').unwrap();
        personal.push(name.trim_matches('"').to_owned());
        personal.push(pid.to_owned());
    }
    assert!(personal.len() > 60);
    let all: String = TABLES
        .iter()
        .map(|t| std::fs::read_to_string(out.join(t)).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
        + &readme;
    for p in &personal {
        assert!(!all.contains(p.as_str()), "{p:?} leaked into the release");
    }
    assert!(!all.contains(&c), "no community id");
    assert!(!all.contains("UDEMO"), "no demo platform id");

    // A second release of the same class cannot be joined to the first.
    let out2 = d.join("release-2");
    let o = run(
        d,
        &[
            "research-export",
            "--community",
            &c,
            "--out",
            out2.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let (a, b) = (pseudonyms(&out), pseudonyms(&out2));
    assert_eq!(a.len(), b.len());
    assert!(a.is_disjoint(&b), "pseudonyms in common");

    // The validator over the written release: it passes; a changed copy is refused, naming the
    // rule and the column.
    let o = run(d, &["research-validate", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("passed"), "{}", text(&o));
    let bad = d.join("tampered");
    std::fs::create_dir(&bad).unwrap();
    for t in TABLES {
        std::fs::copy(out.join(t), bad.join(t)).unwrap();
    }
    let mut members = std::fs::read_to_string(bad.join("members.csv")).unwrap();
    let first = members.lines().nth(1).unwrap().to_owned();
    let mut cells: Vec<String> = first.split(',').map(str::to_owned).collect();
    cells[1] = "she never answers my questions".into();
    cells[4] = "U0123ABCD".into();
    members.push_str(&cells.join(","));
    members.push('\n');
    std::fs::write(bad.join("members.csv"), members).unwrap();
    let o = run(d, &["research-validate", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let said = text(&o);
    assert!(said.contains("REFUSED"), "{said}");
    assert!(
        said.contains("free-text") && said.contains("role"),
        "{said}"
    );
    assert!(said.contains("fires_given"), "{said}");
    assert!(
        !said.contains("she never answers"),
        "the value is not repeated: {said}"
    );

    // Refusals: a non-empty --out, a k below 5.
    let o = run(
        d,
        &[
            "research-export",
            "--community",
            &c,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("not empty"), "{}", text(&o));
    let o = run(
        d,
        &[
            "research-export",
            "--community",
            &c,
            "--out",
            d.join("release-3").to_str().unwrap(),
            "--k",
            "2",
        ],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("at least 5"), "{}", text(&o));
    assert!(!d.join("release-3").exists());

    // Audited (twice), and the chain is intact.
    let o = run(d, &["audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    let details = audit_details(&d.join("classcred.db"));
    assert_eq!(details.len(), 2, "{details:?}");
    for det in &details {
        let v: serde_json::Value = serde_json::from_str(det).unwrap();
        assert_eq!(v["k"], 5);
        assert!(
            v["tables"]["members"]["rows"].as_u64().unwrap() >= 30,
            "{det}"
        );
        for p in &personal {
            assert!(!det.contains(p.as_str()), "{p:?} in the audit entry");
        }
    }
}

/// The details of every `research.release` audit entry.
fn audit_details(db: &Path) -> Vec<String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::{Connection, Row};
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::query(
            "SELECT details FROM audit_entry WHERE action = 'research.release' ORDER BY seq",
        )
        .fetch_all(&mut c)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("details"))
        .collect()
    })
}
