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

/// Every file of a zip archive, by path.
fn unzip(path: &std::path::Path) -> std::collections::BTreeMap<String, String> {
    use std::io::Read;
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = std::collections::BTreeMap::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        out.insert(f.name().to_owned(), s);
    }
    out
}

#[test]
fn full_exports_of_the_demo_class_and_of_one_member() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["demo", "--no-serve"]).status.success());
    let c = community_id(d);
    let people = balances(d, &c);
    let student = people.iter().find(|p| p.1 == "student").unwrap().0.clone();
    let other = people
        .iter()
        .find(|p| p.1 == "student" && p.0 != student)
        .unwrap()
        .0
        .clone();

    let out = d.join("class.zip");
    let o = run(
        d,
        &[
            "export",
            "community",
            "--community",
            &c,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let files = unzip(&out);
    let manifest: serde_json::Value = serde_json::from_str(&files["manifest.json"]).unwrap();
    assert_eq!(manifest["community_id"], c.as_str());
    assert_eq!(manifest["subject"], "community");
    for f in manifest["files"].as_array().unwrap() {
        let path = f["path"].as_str().unwrap();
        assert!(files.contains_key(path), "{path} listed and present");
    }
    let members = &files["tables/member.ndjson"];
    assert_eq!(
        members.lines().count(),
        people.len() + {
            // bots are members too
            members
                .lines()
                .filter(|l| l.contains("\"kind\":\"bot\""))
                .count()
        }
    );
    assert!(members.contains(&format!("\"platform_user_id\":\"{student}\"")));
    assert!(files["index.html"].contains("<table>"));
    assert!(!files["index.html"].contains("<script"));
    assert!(files.contains_key("csv/ledger_entry.csv"));

    // No overwrite without --force.
    let o = run(
        d,
        &[
            "export",
            "community",
            "--community",
            &c,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("--force"), "{}", text(&o));
    let o = run(
        d,
        &[
            "export",
            "community",
            "--community",
            &c,
            "--out",
            out.to_str().unwrap(),
            "--force",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));

    // One member: their row, not the other student's.
    let out = d.join("student.zip");
    let o = run(
        d,
        &[
            "export",
            "member",
            "--community",
            &c,
            "--member",
            &student,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let files = unzip(&out);
    let members = &files["tables/member.ndjson"];
    assert_eq!(members.lines().count(), 1);
    assert!(members.contains(&student));
    assert!(!members.contains(&other));
    let manifest: serde_json::Value = serde_json::from_str(&files["manifest.json"]).unwrap();
    assert!(manifest["subject"].as_str().unwrap().starts_with("member:"));

    // An unknown member is a clear error.
    let o = run(
        d,
        &[
            "export",
            "member",
            "--community",
            &c,
            "--member",
            "UNOBODY",
            "--out",
            d.join("x.zip").to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    assert!(!d.join("x.zip").exists());
}
