//! The demo class's shape, read from the stored fire edges: who recognises whom.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::*;

/// (giver, recipient) platform ids of every fire still standing or ever awarded.
fn fire_edges(db: &std::path::Path) -> BTreeSet<(String, String)> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::{Connection, Row};
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::query(
            "SELECT g.platform_user_id AS giver, r.platform_user_id AS recipient \
             FROM ledger_entry l JOIN member g ON g.id = l.giver_member_id \
             JOIN member r ON r.id = l.member_id WHERE l.kind = 'award'",
        )
        .fetch_all(&mut c)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<String, _>("giver"), r.get::<String, _>("recipient")))
        .collect()
    })
}

#[test]
fn the_demo_class_has_isolated_students_and_one_closed_pair_and_replays() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = run(d, &["demo", "--no-serve"]);
    assert!(o.status.success(), "{}", text(&o));
    let c = community_id(d);
    let o = run(d, &["ledger", "replay", "--community", &c]);
    assert!(
        text(&o).contains("reproduces the stored state"),
        "{}",
        text(&o)
    );

    let o = run(
        d,
        &["ledger", "balances", "--community", &c, "--format", "json"],
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    let students: Vec<String> = rows
        .iter()
        .filter(|r| r["role"] == "student" && r["kind"] == "human")
        .map(|r| r["platform_user_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(students.len(), 40);
    assert_eq!(rows.iter().filter(|r| r["role"] == "admin").count(), 1);
    assert_eq!(rows.iter().filter(|r| r["role"] == "instructor").count(), 1);
    assert_eq!(rows.iter().filter(|r| r["kind"] == "bot").count(), 1);

    let edges = fire_edges(&d.join("classcred.db"));
    let mut peers: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (g, r) in &edges {
        peers.entry(g).or_default().insert(r);
        peers.entry(r).or_default().insert(g);
    }
    let isolated: Vec<&String> = students
        .iter()
        .filter(|s| !peers.contains_key(s.as_str()))
        .collect();
    assert_eq!(isolated.len(), 3, "{isolated:?}");

    // A closed pair: two students who recognise each other and nobody else, and whom nobody
    // else recognises.
    let pairs: Vec<(&str, &str)> = peers
        .iter()
        .filter_map(|(a, ps)| {
            let b = *ps.iter().next()?;
            let closed = ps.len() == 1
                && peers
                    .get(b)
                    .is_some_and(|bs| bs.len() == 1 && bs.contains(a))
                && *a < b;
            closed.then_some((*a, b))
        })
        .collect();
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    let (a, b) = pairs[0];
    assert!(edges.contains(&(a.to_string(), b.to_string())));
    assert!(edges.contains(&(b.to_string(), a.to_string())));

    // Gifts were taxed, fires reversed (edits/deletes), the quota raise is one event, and
    // the ended weeks were closed.
    let db = d.join("classcred.db");
    assert!(count(&db, "SELECT COUNT(*) FROM ledger_entry WHERE kind = 'tax'") > 0);
    assert!(
        count(
            &db,
            "SELECT COUNT(*) FROM ledger_entry WHERE kind = 'reversal'"
        ) > 0
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM inbox WHERE event_type = 'settings_changed'"
        ),
        1
    );
    assert!(
        count(
            &db,
            "SELECT COUNT(*) FROM inbox WHERE event_type = 'week_closed'"
        ) >= 6
    );
    assert!(
        count(
            &db,
            "SELECT COUNT(*) FROM inbox WHERE event_type = 'message_edited'"
        ) > 0
    );
    assert!(
        count(
            &db,
            "SELECT COUNT(*) FROM inbox WHERE event_type = 'reaction_added'"
        ) > 0
    );
    // Questions: some answered (the answerer rewarded), some still open.
    let answered = "SELECT COUNT(*) FROM question WHERE accepted_answer_id IS NOT NULL";
    assert!(count(&db, answered) > 0);
    let open = "SELECT COUNT(*) FROM question WHERE deleted = 0 AND accepted_answer_id IS NULL";
    assert!(count(&db, open) > 0);
    assert!(
        count(
            &db,
            "SELECT COUNT(*) FROM ledger_entry WHERE kind = 'answer_reward'"
        ) > 0
    );
    // Firsts: the posted announcement's first three student responders earned the bonus (the
    // fourth did not, the Instructor took no place); a question asked through the bot is
    // tracked and answered.
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM first_response WHERE target_kind = 'announcement' \
             AND bonus_milli > 0"
        ),
        3
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM first_response WHERE target_kind = 'announcement' \
             AND place IS NULL"
        ),
        1
    );
    assert!(
        count(
            &db,
            "SELECT COUNT(*) FROM ledger_entry WHERE kind = 'first_bonus'"
        ) > 3
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM answer WHERE question_message_id = 'demo-asked-1'"
        ),
        2
    );
}

fn count(db: &std::path::Path, sql: &str) -> i64 {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    })
}
