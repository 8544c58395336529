//! `classcred export grades` on the demo class: the Canvas import and the points CSV agree
//! with `ledger balances`.

use crate::support::*;

/// `(platform id, role, earned)` of every human member, from `ledger balances`.
fn balances(d: &std::path::Path, c: &str) -> Vec<(String, String, String)> {
    let o = run(
        d,
        &["ledger", "balances", "--community", c, "--format", "csv"],
    );
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect::<Vec<_>>())
        .filter(|r| r[5] == "human")
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
        .collect()
}

#[test]
fn grade_exports_match_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["demo", "--no-serve"]).status.success());
    let c = community_id(d);
    let people = balances(d, &c);
    let students: Vec<_> = people.iter().filter(|p| p.1 == "student").collect();
    assert!(!students.is_empty());

    let o = run(
        d,
        &["export", "grades", "--community", &c, "--format", "canvas"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let csv = String::from_utf8(o.stdout).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("Student,ID,SIS User ID,SIS Login ID,Section,ClassCred participation")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), students.len(), "one row per student:\n{csv}");
    let mut canvas_points: Vec<String> = rows
        .iter()
        .map(|r| r.rsplit(',').next().unwrap().to_string())
        .collect();
    let mut ledger_points: Vec<String> = students.iter().map(|s| s.2.clone()).collect();
    canvas_points.sort();
    ledger_points.sort();
    assert_eq!(canvas_points, ledger_points);

    let o = run(
        d,
        &["export", "grades", "--community", &c, "--format", "csv"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let csv = String::from_utf8(o.stdout).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("Student,Platform ID,Role,Earned,Spendable,Level,Level name")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.rsplitn(6, ',').collect()).collect();
    assert_eq!(rows.len(), people.len(), "every person, staff included");
    for (pid, role, earned) in &people {
        // rsplitn: [level name, level, spendable, earned, role, "name,platform id"].
        let row = rows
            .iter()
            .find(|r| r[5].ends_with(&format!(",{pid}")))
            .unwrap_or_else(|| panic!("{pid} missing from\n{csv}"));
        assert_eq!((row[4], row[3]), (role.as_str(), earned.as_str()), "{pid}");
    }

    let o = run(
        d,
        &[
            "export",
            "grades",
            "--community",
            "00000000-0000-7000-8000-000000000000",
            "--format",
            "canvas",
        ],
    );
    assert!(!o.status.success());
    assert!(o.stdout.is_empty());
}
